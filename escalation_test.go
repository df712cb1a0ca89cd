package roster_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"roster"
	"roster/internal/testdb"
)

// supportManagesTeam gives the Support role team.manage for the rest of t.
// With the built-in roles only Admin manages the team, and Admin holds every
// permission, so no real caller could give a role beyond their own; this
// makes one who can: a team manager with only logs.view and usage.view
// besides. It changes the shared catalogue, so its tests must not be
// parallel (parallel tests start only after every sequential one is done).
func supportManagesTeam(t *testing.T) {
	t.Helper()
	i := slices.IndexFunc(roster.Roles, func(r roster.Role) bool { return r.ID == roster.RoleSupport })
	saved := roster.Roles[i].Permissions
	roster.Roles[i].Permissions = append(slices.Clone(saved), "team.manage")
	t.Cleanup(func() { roster.Roles[i].Permissions = saved })
}

// TestNoGrantBeyondOwnPermissions checks that a team manager gives only roles
// whose every permission they hold, on invite and on edit; that keeping or
// removing roles they could not give is fine; and that Admins and the
// operator give anything.
func TestNoGrantBeyondOwnPermissions(t *testing.T) {
	supportManagesTeam(t)
	testdb.Each(t, func(t *testing.T, s roster.Store) {
		e := newEnv(t, s)
		_, lead := e.member(t, e.tenant, roles(roster.RoleSupport))
		staff := func(in *roster.InviteInput) {
			in.Email = fmt.Sprintf("staff%d@%s", seq.Add(1), staffDomain)
			in.AccessUntil = new(e.clock.Now().Add(24 * time.Hour))
		}
		const adminRefusal = "You cannot give the Admin role: it grants api_keys.manage, billing.manage, recharges.manage and 11 more permissions you do not have."
		const managerRefusal = "You cannot give the Communication Manager role: it grants flows.view, flows.manage, campaigns.manage and 2 more permissions you do not have."

		invites := []struct {
			name string
			in   roster.InviteInput
			want string
		}{
			{"Admin", roster.InviteInput{FirstName: "Eve", LastName: "Evans", Email: "eve@acme.example", Roles: roles(roster.RoleAdmin)}, adminRefusal},
			{"Support and Admin", roster.InviteInput{FirstName: "Eve", LastName: "Evans", Email: "eve@acme.example", Roles: roles(roster.RoleSupport, roster.RoleAdmin)}, adminRefusal},
			{"Communication Manager", roster.InviteInput{FirstName: "Eve", LastName: "Evans", Email: "eve@acme.example", Roles: roles(roster.RoleCommunicationManager)}, managerRefusal},
			{"Expert", roster.InviteInput{FirstName: "Eve", LastName: "Evans", Email: "eve@" + staffDomain, Roles: roles(roster.RoleExpert),
				AccessUntil: new(e.clock.Now().Add(24 * time.Hour)), ExpertAccess: roster.AccessLimitedWrite},
				"You cannot give the Expert (limited write) role: it grants analytics.view, flows.view, numbers.view and 4 more permissions you do not have."},
			// Fixing the other fields would not make it allowed, so the
			// refusal comes first.
			{"Admin with bad names", roster.InviteInput{FirstName: "", LastName: "x", Email: "eve@acme.example", Roles: roles(roster.RoleAdmin)}, adminRefusal},
		}
		for _, tc := range invites {
			before := e.snapshot(t, e.acct.ID)
			_, err := e.svc.InviteUser(e.ctx, lead, e.acct.ID, tc.in)
			wantError(t, err, roster.CodeForbidden)
			if got := roster.ErrorMessage(err); got != tc.want {
				t.Errorf("invite %s: message %q, want %q", tc.name, got, tc.want)
			}
			e.unchanged(t, before, "inviting "+tc.name+" beyond one's permissions")
		}
		if _, err := e.svc.InviteUser(e.ctx, lead, e.acct.ID, roster.InviteInput{FirstName: "Sue", LastName: "Smith",
			Email: "sue@acme.example", Roles: roles(roster.RoleSupport)}); err != nil {
			t.Errorf("inviting a role within one's permissions = %v", err)
		}

		support, _ := e.member(t, e.tenant, roles(roster.RoleSupport))
		admin, _ := e.member(t, e.tenant, roles(roster.RoleAdmin, roster.RoleSupport))
		expert, _ := e.member(t, e.tenant, roles(roster.RoleExpert), staff)
		for _, tc := range []struct {
			target *roster.User
			roles  []roster.RoleID
			want   string
		}{
			{support, roles(roster.RoleSupport, roster.RoleAdmin), adminRefusal},
			{support, roles(roster.RoleCommunicationManager), managerRefusal},
			// Keeping Admin does not allow adding another role beyond one's own.
			{admin, roles(roster.RoleAdmin, roster.RoleSupport, roster.RoleCommunicationManager), managerRefusal},
			{expert, roles(roster.RoleExpert, roster.RoleAdmin), adminRefusal},
		} {
			before := e.snapshot(t, e.acct.ID)
			_, err := e.svc.UpdateUser(e.ctx, lead, e.acct.ID, tc.target.ID, roster.UpdateInput{Roles: &tc.roles}, "")
			wantError(t, err, roster.CodeForbidden)
			if got := roster.ErrorMessage(err); got != tc.want {
				t.Errorf("update %s to %v: message %q, want %q", tc.target.Email, tc.roles, got, tc.want)
			}
			e.unchanged(t, before, "an update beyond one's permissions")
		}
		// Roles kept or removed do not count, nor does the deadline.
		for _, tc := range []struct {
			target *roster.User
			in     roster.UpdateInput
		}{
			{admin, roster.UpdateInput{Roles: new(roles(roster.RoleAdmin))}},
			{admin, roster.UpdateInput{Roles: new(roles(roster.RoleAdmin, roster.RoleSupport))}},
			{expert, roster.UpdateInput{AccessUntil: new(e.clock.Now().Add(48 * time.Hour))}},
			{expert, roster.UpdateInput{Roles: new(roles(roster.RoleSupport))}},
			{admin, roster.UpdateInput{Roles: new(roles(roster.RoleSupport))}},
		} {
			if _, err := e.svc.UpdateUser(e.ctx, lead, e.acct.ID, tc.target.ID, tc.in, ""); err != nil {
				t.Errorf("UpdateUser(%s, %+v) keeping or removing roles = %v", tc.target.Email, tc.in, err)
			}
		}

		// An Admin holds every permission and the operator acts for the
		// platform: both give any role.
		for _, a := range []*roster.Actor{e.admin, roster.OperatorActor()} {
			if _, err := e.svc.InviteUser(e.ctx, a, e.acct.ID, roster.InviteInput{FirstName: "Max", LastName: "Power",
				Email: fmt.Sprintf("max%d@acme.example", seq.Add(1)), Roles: roles(roster.RoleAdmin, roster.RoleCommunicationManager)}); err != nil {
				t.Errorf("InviteUser(Admin) by %s = %v", a.Name, err)
			}
			if _, err := e.svc.UpdateUser(e.ctx, a, e.acct.ID, support.ID, roster.UpdateInput{Roles: new(roles(roster.RoleAdmin, roster.RoleSupport))}, ""); err != nil {
				t.Errorf("UpdateUser(+Admin) by %s = %v", a.Name, err)
			}
			if _, err := e.svc.UpdateUser(e.ctx, a, e.acct.ID, support.ID, roster.UpdateInput{Roles: new(roles(roster.RoleSupport))}, ""); err != nil {
				t.Errorf("UpdateUser(-Admin) by %s = %v", a.Name, err)
			}
		}
	})
}

// TestNobodyChangesTheirOwnAccess completes TestNobodyActsOnThemselves: an
// Admin whose access ends cannot extend or remove their own deadline, nor
// drop or keep their roles through an edit of themselves, and a team
// manager cannot give themselves a role they could not give others.
func TestNobodyChangesTheirOwnAccess(t *testing.T) {
	supportManagesTeam(t)
	testdb.Each(t, func(t *testing.T, s roster.Store) {
		e := newEnv(t, s)
		_, timed := e.member(t, e.tenant, roles(roster.RoleAdmin), func(in *roster.InviteInput) {
			in.AccessUntil = new(e.clock.Now().Add(24 * time.Hour))
		})
		_, lead := e.member(t, e.tenant, roles(roster.RoleSupport))
		for _, tc := range []struct {
			name  string
			actor *roster.Actor
			in    roster.UpdateInput
		}{
			{"extend own deadline", timed, roster.UpdateInput{AccessUntil: new(e.clock.Now().Add(30 * 24 * time.Hour))}},
			{"remove own deadline", timed, roster.UpdateInput{AccessUntil: new(time.Time{})}},
			{"drop own role", e.admin, roster.UpdateInput{Roles: new(roles(roster.RoleSupport))}},
			{"give oneself Admin", lead, roster.UpdateInput{Roles: new(roles(roster.RoleSupport, roster.RoleAdmin))}},
			{"same roles and deadline", timed, roster.UpdateInput{Roles: new(roles(roster.RoleAdmin))}},
		} {
			before := e.snapshot(t, e.acct.ID)
			_, err := e.svc.UpdateUser(e.ctx, tc.actor, e.acct.ID, tc.actor.UserID, tc.in, "")
			wantError(t, err, roster.CodeConflict)
			if got := roster.ErrorMessage(err); !strings.Contains(got, "You cannot change your own roles or access deadline") {
				t.Errorf("%s: message %q does not say why", tc.name, got)
			}
			e.unchanged(t, before, tc.name)
		}
	})
}
