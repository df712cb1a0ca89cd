package web

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"roster"
	"roster/internal/testdb"
)

// expertOut is what these tests read of a user.
type expertOut struct {
	ID            string   `json:"id"`
	Roles         []string `json:"roles"`
	Status        string   `json:"status"`
	ExpertAccess  *string  `json:"expert_access"`
	AccessExpired bool     `json:"access_expired"`
}

// TestExpertAccessAPI follows an Expert through the API with the clock
// injected: the level on invite and PATCH, the permissions with the level,
// and expiry (access_expired, the Inactive filter, the deadline rules).
func TestExpertAccessAPI(t *testing.T) {
	testdb.Each(t, func(t *testing.T, s roster.Store) {
		clock := testdb.NewClock(time.Date(2025, 6, 2, 10, 0, 0, 0, time.UTC))
		e := newTestEnvConfig(t, s, []func(*roster.Config){func(c *roster.Config) { c.Clock = clock }})
		a := e.mustAccount(t, "Acme")
		until := clock.Now().Add(48 * time.Hour)
		rq := request{method: http.MethodPost, path: usersPath(a.id), key: a.key, body: jsonBody(t, map[string]any{
			"first_name": "Esha", "last_name": "Expert", "email": "esha@tatacommunications.com",
			"roles": []string{"expert"}, "access_until": until.Format(time.RFC3339), "expert_access": "read_only"})}
		res := e.do(t, rq)
		res.wantStatus(t, rq, http.StatusCreated)
		var u expertOut
		res.decode(t, &u)
		if u.ExpertAccess == nil || *u.ExpertAccess != "read_only" || u.AccessExpired {
			t.Fatalf("%s = %s, want expert_access read_only", rq, res.body)
		}
		// Active, as registration makes them.
		ctx := context.Background()
		if err := e.store.Update(ctx, func(tx roster.Tx) error {
			v, err := tx.UserForUpdate(ctx, a.id, u.ID)
			if err != nil {
				return err
			}
			v.Status, v.Version = roster.StatusActive, v.Version+1
			return tx.UpdateUser(ctx, v)
		}); err != nil {
			t.Fatal(err)
		}

		// The features with the level that decides them.
		rq = request{method: http.MethodGet, path: userPath(a.id, u.ID) + "/permissions", key: a.key}
		res = e.do(t, rq)
		res.wantStatus(t, rq, http.StatusOK)
		var grants struct {
			Items []struct {
				ID           string   `json:"id"`
				GrantedBy    []string `json:"granted_by"`
				ExpertAccess string   `json:"expert_access"`
			} `json:"items"`
		}
		res.decode(t, &grants)
		var ids []string
		for _, g := range grants.Items {
			ids = append(ids, g.ID)
			if g.ExpertAccess != "read_only" {
				t.Errorf("%s: %s granted by %v at level %q, want read_only", rq, g.ID, g.GrantedBy, g.ExpertAccess)
			}
		}
		if got := strings.Join(ids, ","); got != "logs.view,analytics.view,flows.view,numbers.view,platform.view" {
			t.Errorf("%s = %s, want the read-only features", rq, got)
		}

		rq = request{method: http.MethodPatch, path: userPath(a.id, u.ID), key: a.key, body: `{"expert_access": "limited_write"}`}
		res = e.do(t, rq)
		res.wantStatus(t, rq, http.StatusOK)
		res.decode(t, &u)
		if u.ExpertAccess == nil || *u.ExpertAccess != "limited_write" {
			t.Errorf("%s = %s, want limited_write", rq, res.body)
		}
		rq = request{method: http.MethodPatch, path: userPath(a.id, u.ID), key: a.key, body: `{"expert_access": null}`}
		e.do(t, rq).wantStatus(t, rq, http.StatusUnprocessableEntity)

		// At the deadline: access_expired, found under Inactive and not
		// under Active, totals included.
		clock.Advance(until.Sub(clock.Now()))
		list := func(filter string, want int) []expertOut {
			t.Helper()
			rq := request{method: http.MethodGet, path: usersPath(a.id) + "?filter=" + filter, key: a.key}
			res := e.do(t, rq)
			res.wantStatus(t, rq, http.StatusOK)
			var out struct {
				Items []expertOut `json:"items"`
				Total int         `json:"total"`
			}
			res.decode(t, &out)
			if len(out.Items) != want || out.Total != want {
				t.Errorf("%s = %d items, total %d; want %d", rq, len(out.Items), out.Total, want)
			}
			return out.Items
		}
		if got := list("status:is:inactive", 1); len(got) == 1 && (!got[0].AccessExpired || got[0].Status != "active" || got[0].ID != u.ID) {
			t.Errorf("the expired Expert in the list = %+v, want access_expired with the stored status active", got[0])
		}
		list("status:is:active", 1) // the Admin only
		list("status:is_not:inactive", 1)

		// Expired: only a new deadline is accepted.
		rq = request{method: http.MethodPatch, path: userPath(a.id, u.ID), key: a.key, body: `{"roles": ["expert", "support"]}`}
		res = e.do(t, rq)
		res.wantStatus(t, rq, http.StatusConflict)
		if !strings.Contains(string(res.body), "Extend the access deadline first") {
			t.Errorf("%s = %s, want it to say to extend first", rq, res.body)
		}
		rq = request{method: http.MethodPost, path: userPath(a.id, u.ID) + "/revoke", key: a.key, body: `{"reason": "issue_resolved"}`}
		e.do(t, rq).wantStatus(t, rq, http.StatusConflict)
		rq = request{method: http.MethodPatch, path: userPath(a.id, u.ID), key: a.key, body: jsonBody(t, map[string]any{
			"access_until": clock.Now().Add(24 * time.Hour).Format(time.RFC3339)})}
		res = e.do(t, rq)
		res.wantStatus(t, rq, http.StatusOK)
		res.decode(t, &u)
		if u.AccessExpired {
			t.Errorf("%s = %s, want access resumed", rq, res.body)
		}
		list("status:is:inactive", 0)
	})
}

func TestRolePickerOffersOnlyWhatOneMayGive(t *testing.T) {
	acct := &roster.Account{EnabledRoles: roster.NewRoleSet(roster.RoleWhatsAppOnly)}
	offered := func(p rolePicker) (ids []string, levels []string) {
		for _, c := range append(p.Roles, p.Additional...) {
			ids = append(ids, string(c.ID))
			if c.Deadline != nil {
				for _, l := range c.Deadline.Levels.Options {
					levels = append(levels, string(l.ID))
				}
			}
		}
		return ids, levels
	}
	admin := &roster.Actor{Roles: roster.NewRoleSet(roster.RoleAdmin)}
	ids, levels := offered(newRolePicker(acct, admin, newForm(addUserFields), 0, roster.Access{}, nil, 0))
	if got := strings.Join(ids, ","); got != "admin,communication_manager,support,expert,whatsapp_only" {
		t.Errorf("an Admin is offered %s, want every role the account has enabled", got)
	}
	if got := strings.Join(levels, ","); got != "read_only,limited_write" {
		t.Errorf("an Admin is offered the levels %s", got)
	}
	// A Communication Manager lacks numbers.view and platform.view (no
	// Expert level), and everything of Admin and WhatsApp Only.
	manager := &roster.Actor{Roles: roster.NewRoleSet(roster.RoleCommunicationManager)}
	ids, _ = offered(newRolePicker(acct, manager, newForm(addUserFields), 0, roster.Access{}, nil, 0))
	if got := strings.Join(ids, ","); got != "communication_manager,support" {
		t.Errorf("a Communication Manager is offered %s", got)
	}
	// What the user holds stays offered, so that saving keeps it.
	held := roster.Access{Roles: roster.NewRoleSet(roster.RoleExpert), Expert: roster.AccessLimitedWrite}
	ids, levels = offered(newRolePicker(acct, manager, newForm(editUserFields), held.Roles, held, nil, 0))
	if got := strings.Join(ids, ","); got != "communication_manager,support,expert" || strings.Join(levels, ",") != "limited_write" {
		t.Errorf("editing a limited-write Expert, a Communication Manager is offered %s and the levels %v", got, levels)
	}
}

// TestEditExpiredExpertPage: the Edit page of an Expert whose access
// expired says so, accepts a later Access till (access resumes) and
// refuses other changes until then, in words.
func TestEditExpiredExpertPage(t *testing.T) {
	testdb.Each(t, func(t *testing.T, s roster.Store) {
		e := newPageEnv(t, s)
		acct := e.mustSetup(t)
		until := e.clock.Now().Add(2 * time.Hour)
		inv := e.mustInvite(t, acct, "Eve", "Expert", "eve@tatacommunications.com", &until)
		if _, err := e.svc.UpdateUser(e.ctx, roster.OperatorActor(), acct, inv.user.ID, roster.UpdateInput{
			Roles: &[]roster.RoleID{roster.RoleExpert}, ExpertAccess: new(roster.AccessReadOnly)}, ""); err != nil {
			t.Fatal(err)
		}
		e.mustRegister(t, inv, newPassword)
		e.clock.Advance(3 * time.Hour)
		b := e.browser(t)
		b.signIn(t, adminEmail, adminPassword)
		path := "/accounts/" + acct + "/users/" + inv.user.ID + "/edit"
		p := b.get(t, path).want(t, http.StatusOK).has(t, "<dd>Inactive (access expired)</dd>",
			"Eve Expert's access expired on 2 Jun 2025. Set a later Access till to give it back; other changes wait until then.",
			`value="read_only" checked`, `id="role-permissions"`, `data-was-level="read_only"`)
		b.post(t, path, url.Values{"version": {p.version(t)}, "roles": {"expert"}, "expert_access": {"limited_write"},
			"access_until": {"2025-06-02"}}).want(t, http.StatusConflict).has(t, "Extend the access deadline first")
		later := e.clock.Now().AddDate(0, 0, 5).Format(time.DateOnly)
		b.followFlash(t, b.post(t, path, url.Values{"version": {p.version(t)}, "roles": {"expert"}, "expert_access": {"read_only"},
			"access_until": {later}}).redirects(t, "/accounts/"+acct+"/users"), "Access deadline of Eve Expert updated. Their access now ends 7 Jun 2025, 23:59 UTC.")
		if u := e.mustUser(t, acct, inv.user.Email); !u.CanSignIn(e.clock.Now()) || u.ExpertAccess != roster.AccessReadOnly {
			t.Errorf("after extending: %+v, want access back at the same level", u)
		}
		b.get(t, path).want(t, http.StatusOK).lacks(t, "access expired")
	})
}
