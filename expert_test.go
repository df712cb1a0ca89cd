package roster_test

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"roster"
	"roster/internal/testdb"
)

// expertIn makes an invitation an Expert's: a staff email, the level and
// a deadline after from the clock's now.
func (e *env) expertIn(level roster.AccessLevel, after time.Duration) func(*roster.InviteInput) {
	return func(in *roster.InviteInput) {
		in.Email = fmt.Sprintf("expert%d@%s", seq.Add(1), staffDomain)
		in.Roles, in.ExpertAccess = roles(roster.RoleExpert), level
		in.AccessUntil = new(e.clock.Now().Add(after))
	}
}

func TestAccessLevelPermissions(t *testing.T) {
	t.Parallel()
	never := []string{"team.manage", "api_keys.manage", "billing.manage", "usage.view", "recharges.manage",
		"campaigns.manage", "numbers.manage", "whatsapp.channel", "whatsapp.campaigns"}
	readOnly := []string{"logs.view", "analytics.view", "numbers.view", "flows.view", "platform.view"}
	write := []string{"flows.manage", "platform.configure", "tools.use"}
	for _, tc := range []struct {
		level     roster.AccessLevel
		can, cant []string
	}{
		{roster.AccessReadOnly, readOnly, append(slices.Clone(never), write...)},
		{roster.AccessLimitedWrite, append(slices.Clone(readOnly), write...), never},
		// A missing or unknown level is read-only, never more.
		{"", readOnly, append(slices.Clone(never), write...)},
		{"root", readOnly, append(slices.Clone(never), write...)},
	} {
		a := &roster.Actor{AccountID: "a", Roles: roster.NewRoleSet(roster.RoleExpert), ExpertAccess: tc.level}
		for _, p := range tc.can {
			if !a.Can(p) {
				t.Errorf("an Expert at level %q cannot %s", tc.level, p)
			}
		}
		for _, p := range tc.cant {
			if a.Can(p) {
				t.Errorf("an Expert at level %q can %s", tc.level, p)
			}
		}
	}
	// Every permission is in the catalogue, and the roles union over their sets.
	for _, l := range roster.AccessLevels {
		for _, p := range l.Permissions {
			if !slices.ContainsFunc(roster.Permissions, func(c roster.Permission) bool { return c.ID == p }) {
				t.Errorf("level %s grants %s, which is not in the catalogue", l.ID, p)
			}
		}
	}
	both := roster.Access{Roles: roster.NewRoleSet(roster.RoleSupport, roster.RoleExpert), Expert: roster.AccessReadOnly}
	if !both.Can("usage.view") || !both.Can("flows.view") || both.Can("flows.manage") {
		t.Error("Support and a read-only Expert: want the union of both sets")
	}
	var byExpert []string
	for _, g := range both.Grants() {
		if slices.Contains(g.GrantedBy, roster.RoleExpert) {
			byExpert = append(byExpert, g.ID)
			if g.ExpertAccess != roster.AccessReadOnly {
				t.Errorf("grant %s: ExpertAccess = %q, want read_only", g.ID, g.ExpertAccess)
			}
		} else if g.ExpertAccess != "" {
			t.Errorf("grant %s not by the Expert carries the level %q", g.ID, g.ExpertAccess)
		}
	}
	slices.Sort(byExpert)
	want := slices.Sorted(slices.Values(readOnly))
	if !slices.Equal(byExpert, want) {
		t.Errorf("grants by the read-only Expert = %v, want %v", byExpert, want)
	}
	if got := roster.RoleLabel(roster.RoleExpert, roster.AccessLimitedWrite); got != "Expert (limited write)" {
		t.Errorf("RoleLabel = %q", got)
	}
}

func TestMayGive(t *testing.T) {
	t.Parallel()
	admin := &roster.Actor{Roles: roster.NewRoleSet(roster.RoleAdmin)}
	manager := &roster.Actor{Roles: roster.NewRoleSet(roster.RoleCommunicationManager)}
	for _, tc := range []struct {
		actor *roster.Actor
		role  roster.RoleID
		level roster.AccessLevel
		want  bool
	}{
		{admin, roster.RoleAdmin, "", true},
		{admin, roster.RoleExpert, roster.AccessLimitedWrite, true},
		{roster.OperatorActor(), roster.RoleAdmin, "", true},
		{manager, roster.RoleSupport, "", true},
		{manager, roster.RoleAdmin, "", false},
		// The manager lacks numbers.view and platform.view.
		{manager, roster.RoleExpert, roster.AccessReadOnly, false},
		{manager, roster.RoleWhatsAppOnly, "", false},
	} {
		if got := tc.actor.MayGive(tc.role, tc.level); got != tc.want {
			t.Errorf("%v MayGive(%s, %q) = %v, want %v", tc.actor.Roles, tc.role, tc.level, got, tc.want)
		}
	}
}

func TestExpertAccessLevelRules(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, s roster.Store) {
		e := newEnv(t, s)
		t.Run("invite", func(t *testing.T) {
			for _, tc := range []struct {
				name   string
				mod    func(*roster.InviteInput)
				fields []string
			}{
				{"expert without a level", func(in *roster.InviteInput) { in.ExpertAccess = "" }, []string{"expert_access"}},
				{"unknown level", func(in *roster.InviteInput) { in.ExpertAccess = "everything" }, []string{"expert_access"}},
				{"level without the Expert role", func(in *roster.InviteInput) { in.Roles = roles(roster.RoleSupport) }, []string{"expert_access"}},
			} {
				in := roster.InviteInput{FirstName: "Eve", LastName: "Evans"}
				e.expertIn(roster.AccessReadOnly, 24*time.Hour)(&in)
				tc.mod(&in)
				before := e.snapshot(t, e.acct.ID)
				_, err := e.svc.InviteUser(e.ctx, e.admin, e.acct.ID, in)
				wantError(t, err, roster.CodeInvalid, tc.fields...)
				e.unchanged(t, before, tc.name)
			}
			in := roster.InviteInput{FirstName: "Eve", LastName: "Evans"}
			e.expertIn(roster.AccessReadOnly, 24*time.Hour)(&in)
			u, err := e.svc.InviteUser(e.ctx, e.admin, e.acct.ID, in)
			if err != nil {
				t.Fatal(err)
			}
			if got := e.user(t, u.AccountID, u.ID); got.ExpertAccess != roster.AccessReadOnly {
				t.Errorf("stored level = %q, want read_only", got.ExpertAccess)
			}
		})
		t.Run("update", func(t *testing.T) {
			u, _ := e.member(t, e.tenant, nil, e.expertIn(roster.AccessReadOnly, 10*24*time.Hour))
			before := e.auditIDs(t, e.acct.ID)
			got, err := e.svc.UpdateUser(e.ctx, e.admin, e.acct.ID, u.ID, roster.UpdateInput{ExpertAccess: new(roster.AccessLimitedWrite)}, "")
			if err != nil || got.ExpertAccess != roster.AccessLimitedWrite {
				t.Fatalf("raise the level = %+v, %v", got, err)
			}
			wantEvent(t, e.lastEvent(t, e.acct.ID, before), e.admin, got, roster.ActionUserUpdated, e.clock.Now(),
				map[string]any{"expert_access_from": "read_only", "expert_access_to": "limited_write"})
			for _, tc := range []struct {
				name   string
				in     roster.UpdateInput
				fields []string
			}{
				{"clear the level of an Expert", roster.UpdateInput{ExpertAccess: new(roster.AccessLevel(""))}, []string{"expert_access"}},
				{"unknown level", roster.UpdateInput{ExpertAccess: new(roster.AccessLevel("root"))}, []string{"expert_access"}},
				{"a level for a Support", roster.UpdateInput{Roles: new(roles(roster.RoleSupport)), ExpertAccess: new(roster.AccessReadOnly)}, []string{"expert_access"}},
			} {
				before := e.snapshot(t, e.acct.ID)
				_, err := e.svc.UpdateUser(e.ctx, e.admin, e.acct.ID, u.ID, tc.in, "")
				wantError(t, err, roster.CodeInvalid, tc.fields...)
				e.unchanged(t, before, tc.name)
			}
			// Removing the Expert role takes the level with it.
			got, err = e.svc.UpdateUser(e.ctx, e.admin, e.acct.ID, u.ID, roster.UpdateInput{Roles: new(roles(roster.RoleSupport))}, "")
			if err != nil || got.ExpertAccess != "" || e.user(t, u.AccountID, u.ID).ExpertAccess != "" {
				t.Fatalf("Expert becomes Support = %+v, %v; want the level cleared", got, err)
			}
			// Giving it back needs a level again.
			_, err = e.svc.UpdateUser(e.ctx, e.admin, e.acct.ID, u.ID, roster.UpdateInput{Roles: new(roles(roster.RoleExpert))}, "")
			wantError(t, err, roster.CodeInvalid, "expert_access")
		})
	})
}

// TestDeadlineExactly checks the deadline with the injected clock: access
// through a session and through an API key works 1ns before the deadline
// and stops exactly at it and after it, on the next request, with no job.
func TestDeadlineExactly(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, s roster.Store) {
		e := newEnv(t, s)
		u, in := e.register(t, e.tenant, e.expertIn(roster.AccessLimitedWrite, 30*time.Minute))
		deadline := u.AccessUntil
		_, key, err := e.svc.CreateAPIKey(e.ctx, roster.OperatorActor(), e.acct.ID, u.Email, "expert key")
		if err != nil {
			t.Fatal(err)
		}
		e.clockTo(deadline.Add(-time.Nanosecond))
		sess, ident, err := e.svc.Authenticate(e.ctx, in.Token, browser)
		if err != nil {
			t.Fatalf("1ns before the deadline: Authenticate = %v", err)
		}
		actor, err := e.svc.ActorFor(e.ctx, ident, e.acct.ID, browser)
		if err != nil || !actor.Can("flows.manage") || actor.ExpertAccess != roster.AccessLimitedWrite {
			t.Fatalf("1ns before the deadline: ActorFor = %+v, %v", actor, err)
		}
		if a, err := e.svc.AuthenticateAPIKey(e.ctx, key, "203.0.113.1"); err != nil || !a.Can("platform.configure") {
			t.Fatalf("1ns before the deadline: AuthenticateAPIKey = %+v, %v", a, err)
		}
		_ = sess

		for _, at := range []time.Time{deadline, deadline.Add(time.Nanosecond)} {
			e.clockTo(at)
			if _, err := e.svc.ActorFor(e.ctx, ident, e.acct.ID, browser); roster.ErrorCode(err) != roster.CodeNotFound {
				t.Errorf("at %v: ActorFor = %v, want not found", at.Sub(deadline), err)
			}
			if _, err := e.svc.AuthenticateAPIKey(e.ctx, key, "203.0.113.1"); roster.ErrorCode(err) != roster.CodeUnauthorized {
				t.Errorf("at %v: AuthenticateAPIKey = %v, want unauthorized", at.Sub(deadline), err)
			}
			if _, _, err := e.svc.Authenticate(e.ctx, in.Token, browser); roster.ErrorCode(err) != roster.CodeUnauthorized {
				t.Errorf("at %v: Authenticate = %v, want unauthorized (the session ends)", at.Sub(deadline), err)
			}
			if got := e.user(t, u.AccountID, u.ID); !got.AccessExpired(at) || got.CanSignIn(at) {
				t.Errorf("at %v: AccessExpired = %v, CanSignIn = %v", at.Sub(deadline), got.AccessExpired(at), got.CanSignIn(at))
			}
		}

		// Extending gives access back at once: the key works again; the
		// session ended and they sign in anew.
		if _, err := e.svc.UpdateUser(e.ctx, e.admin, e.acct.ID, u.ID, roster.UpdateInput{AccessUntil: new(e.clock.Now().Add(24 * time.Hour))}, ""); err != nil {
			t.Fatalf("extend = %v", err)
		}
		if _, err := e.svc.AuthenticateAPIKey(e.ctx, key, "203.0.113.1"); err != nil {
			t.Errorf("after the extension: AuthenticateAPIKey = %v", err)
		}
		if _, err := e.svc.SignIn(e.ctx, u.Email, goodPassword, browser); err != nil {
			t.Errorf("after the extension: SignIn = %v", err)
		}
	})
}

func TestDeadlineRules(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, s roster.Store) {
		e := newEnv(t, s)
		t.Run("revoked Expert: deadline fixed until restored", func(t *testing.T) {
			u, _ := e.member(t, e.tenant, nil, e.expertIn(roster.AccessReadOnly, 5*24*time.Hour))
			if _, err := e.svc.RevokeUser(e.ctx, e.admin, e.acct.ID, u.ID, roster.RevokeInput{Reason: roster.ReasonIssueResolved}); err != nil {
				t.Fatal(err)
			}
			before := e.snapshot(t, e.acct.ID)
			_, err := e.svc.UpdateUser(e.ctx, e.admin, e.acct.ID, u.ID, roster.UpdateInput{AccessUntil: new(e.clock.Now().Add(20 * 24 * time.Hour))}, "")
			if re := wantCode(t, err, roster.CodeConflict, "change a revoked Expert's deadline"); !strings.Contains(re.Message, "restore their access first") {
				t.Errorf("message %q does not say to restore first", re.Message)
			}
			e.unchanged(t, before, "a revoked Expert's deadline")
			// Their level may still change, since that is not the deadline.
			if _, err := e.svc.UpdateUser(e.ctx, e.admin, e.acct.ID, u.ID, roster.UpdateInput{ExpertAccess: new(roster.AccessLimitedWrite)}, ""); err != nil {
				t.Errorf("level of a revoked Expert = %v", err)
			}
			if _, err := e.svc.RestoreUser(e.ctx, e.admin, e.acct.ID, u.ID); err != nil {
				t.Fatal(err)
			}
			if _, err := e.svc.UpdateUser(e.ctx, e.admin, e.acct.ID, u.ID, roster.UpdateInput{AccessUntil: new(e.clock.Now().Add(20 * 24 * time.Hour))}, ""); err != nil {
				t.Errorf("deadline after restoring = %v", err)
			}
			// Nor can a revoked user be made an Expert with a deadline:
			// that too sets the deadline of a revoked Expert.
			staff, _ := e.member(t, e.tenant, nil, e.expertIn(roster.AccessReadOnly, 5*24*time.Hour),
				func(in *roster.InviteInput) {
					in.Roles, in.ExpertAccess, in.AccessUntil = roles(roster.RoleSupport), "", nil
				})
			if _, err := e.svc.RevokeUser(e.ctx, e.admin, e.acct.ID, staff.ID, roster.RevokeInput{Reason: roster.ReasonIssueResolved}); err != nil {
				t.Fatal(err)
			}
			before = e.snapshot(t, e.acct.ID)
			_, err = e.svc.UpdateUser(e.ctx, e.admin, e.acct.ID, staff.ID, roster.UpdateInput{Roles: new(roles(roster.RoleExpert)),
				ExpertAccess: new(roster.AccessReadOnly), AccessUntil: new(e.clock.Now().Add(20 * 24 * time.Hour))}, "")
			if re := wantCode(t, err, roster.CodeConflict, "make a revoked user an Expert with a deadline"); !strings.Contains(re.Message, "restore their access first") {
				t.Errorf("message %q does not say to restore first", re.Message)
			}
			e.unchanged(t, before, "a revoked user made an Expert")
		})
		t.Run("expired Expert: extend or delete", func(t *testing.T) {
			u, _ := e.member(t, e.tenant, nil, e.expertIn(roster.AccessReadOnly, time.Hour))
			other, _ := e.member(t, e.tenant, nil, e.expertIn(roster.AccessReadOnly, time.Hour))
			e.clock.Advance(time.Hour)
			for name, in := range map[string]roster.UpdateInput{
				"change the roles":                 {Roles: new(roles(roster.RoleExpert, roster.RoleSupport))},
				"change the level":                 {ExpertAccess: new(roster.AccessLimitedWrite)},
				"extend and change the roles":      {Roles: new(roles(roster.RoleSupport)), AccessUntil: new(e.clock.Now().Add(time.Hour))},
				"roles unchanged, level different": {Roles: new(roles(roster.RoleExpert)), ExpertAccess: new(roster.AccessLimitedWrite)},
			} {
				before := e.snapshot(t, e.acct.ID)
				_, err := e.svc.UpdateUser(e.ctx, e.admin, e.acct.ID, u.ID, in, "")
				if re := wantCode(t, err, roster.CodeConflict, name); !strings.Contains(re.Message, "Extend the access deadline first") {
					t.Errorf("%s: message %q does not say to extend first", name, re.Message)
				}
				e.unchanged(t, before, name+" of an expired Expert")
			}
			before := e.snapshot(t, e.acct.ID)
			_, err := e.svc.RevokeUser(e.ctx, e.admin, e.acct.ID, u.ID, roster.RevokeInput{Reason: roster.ReasonIssueResolved})
			wantCode(t, err, roster.CodeConflict, "revoke an expired Expert")
			e.unchanged(t, before, "revoking an expired Expert")
			// A deadline in the past is still not a deadline.
			_, err = e.svc.UpdateUser(e.ctx, e.admin, e.acct.ID, u.ID, roster.UpdateInput{AccessUntil: new(e.clock.Now().Add(-time.Minute))}, "")
			wantError(t, err, roster.CodeInvalid, "access_until")
			// Extending (same roles and level sent along) gives access back.
			got, err := e.svc.UpdateUser(e.ctx, e.admin, e.acct.ID, u.ID, roster.UpdateInput{Roles: new(roles(roster.RoleExpert)),
				ExpertAccess: new(roster.AccessReadOnly), AccessUntil: new(e.clock.Now().Add(48 * time.Hour))}, "")
			if err != nil || !got.CanSignIn(e.clock.Now()) {
				t.Fatalf("extend = %+v, %v", got, err)
			}
			// Then anything else may change again.
			if _, err := e.svc.UpdateUser(e.ctx, e.admin, e.acct.ID, u.ID, roster.UpdateInput{ExpertAccess: new(roster.AccessLimitedWrite)}, ""); err != nil {
				t.Errorf("change the level after extending = %v", err)
			}
			if err := e.svc.DeleteUser(e.ctx, e.admin, e.acct.ID, other.ID); err != nil {
				t.Errorf("delete an expired Expert = %v", err)
			}
		})
	})
}

// TestRunDeadlines checks the deadline job's claims on the store: each
// reminder stage once per deadline, and the end of access once per ended
// period, also with several instances at once.
func TestRunDeadlines(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, s roster.Store) {
		e := newEnv(t, s)
		tn := e.newTenant(t)
		run := func(what string, reminders, ended int) {
			t.Helper()
			r, n, err := e.svc.RunDeadlines(e.ctx)
			if err != nil || r != reminders || n != ended {
				t.Fatalf("%s: RunDeadlines = %d reminders, %d ended, %v; want %d, %d", what, r, n, err, reminders, ended)
			}
		}
		run("nothing due", 0, 0)
		// Two Admins who may act get the reminders: the first Admin and a
		// second; an invited Admin and a revoked one do not.
		e.member(t, tn, roles(roster.RoleAdmin))
		e.invite(t, tn, func(in *roster.InviteInput) { in.Roles = roles(roster.RoleAdmin) })
		gone, _ := e.member(t, tn, roles(roster.RoleAdmin))
		if _, err := e.svc.RevokeUser(e.ctx, tn.admin, tn.acct.ID, gone.ID, roster.RevokeInput{Reason: roster.ReasonIssueResolved}); err != nil {
			t.Fatal(err)
		}
		u, _ := e.member(t, tn, nil, e.expertIn(roster.AccessReadOnly, 10*24*time.Hour))
		deadline := u.AccessUntil
		// A Support with a deadline is no Expert: no reminder, no report.
		e.member(t, tn, roles(roster.RoleSupport), func(in *roster.InviteInput) { in.AccessUntil = new(deadline) })

		e.clockTo(deadline.Add(-roster.ExpertReminderFirst - time.Nanosecond))
		run("1ns before 7 days", 0, 0)
		e.clockTo(deadline.Add(-roster.ExpertReminderFirst))
		// Several instances at once: each reminder is queued once.
		var wg sync.WaitGroup
		var mu sync.Mutex
		total := 0
		for range 4 {
			wg.Go(func() {
				r, _, err := e.svc.RunDeadlines(e.ctx)
				if err != nil {
					t.Error(err)
				}
				mu.Lock()
				total += r
				mu.Unlock()
			})
		}
		wg.Wait()
		if total != 2 {
			t.Fatalf("7 days before, 4 instances queued %d reminders, want 2 (one per Admin who may act)", total)
		}
		run("7-day reminder already queued", 0, 0)
		e.clockTo(deadline.Add(-roster.ExpertReminderLast))
		run("1 day before", 2, 0)
		run("1-day reminder already queued", 0, 0)
		e.clockTo(deadline.Add(-time.Nanosecond))
		run("1ns before the deadline", 0, 0)
		e.clockTo(deadline)
		run("at the deadline: access ended (the Support's and the Expert's)", 0, 2)
		run("the end already recorded", 0, 0)

		// Extending starts afresh: a new deadline gets its reminders and
		// its end.
		setDeadline := func(at time.Time) {
			t.Helper()
			if _, err := e.svc.UpdateUser(e.ctx, tn.admin, tn.acct.ID, u.ID, roster.UpdateInput{AccessUntil: &at}, ""); err != nil {
				t.Fatal(err)
			}
		}
		next := e.clock.Now().Add(8 * 24 * time.Hour)
		setDeadline(next)
		run("8 days before the new deadline", 0, 0)
		e.clockTo(next.Add(-roster.ExpertReminderFirst))
		run("7 days before the new deadline", 2, 0)
		// Moved again inside the window: the 7-day reminder is due again
		// for the new deadline.
		moved := e.clock.Now().Add(3 * 24 * time.Hour)
		setDeadline(moved)
		run("deadline moved to 3 days ahead", 2, 0)
		// Jumping straight into the last day queues the last reminder only.
		e.clockTo(moved.Add(-time.Hour))
		run("an hour before", 2, 0)
		e.clockTo(moved.Add(time.Hour))
		run("after the deadline", 0, 1)
	})
}

// clockTo moves the test clock forward to at.
func (e *env) clockTo(at time.Time) { e.clock.Advance(at.Sub(e.clock.Now())) }
