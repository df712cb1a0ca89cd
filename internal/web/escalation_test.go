package web

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"roster"
	"roster/internal/testdb"
)

// TestNoEscalationThroughTheAPI checks that the API answers a role beyond the
// caller's permissions, and a change of one's own roles or deadline, with a
// problem that says why, and changes nothing. Only Admin manages the team
// with the built-in roles, and Admin holds every permission, so the test
// gives Support team.manage for its duration (the service tests do the same
// for every case); it changes the shared catalogue and must not be parallel.
func TestNoEscalationThroughTheAPI(t *testing.T) {
	i := slices.IndexFunc(roster.Roles, func(r roster.Role) bool { return r.ID == roster.RoleSupport })
	saved := roster.Roles[i].Permissions
	roster.Roles[i].Permissions = append(slices.Clone(saved), "team.manage")
	t.Cleanup(func() { roster.Roles[i].Permissions = saved })

	testdb.Each(t, func(t *testing.T, s roster.Store) {
		e := newTestEnv(t, s)
		a := e.mustAccount(t, "Acme")
		lead, leadKey := e.mustActiveUser(t, a.id, "Lee", "Lead", "lee@acme.example.com", roster.RoleSupport)
		target := e.mustInvite(t, a.id, "Ajay", "Kumar", "ajay@acme.example.com", roster.RoleSupport)
		const adminRefusal = "You cannot give the Admin role: it grants api_keys.manage, billing.manage, recharges.manage and 11 more permissions you do not have."
		const ownRefusal = "You cannot change your own roles or access deadline; ask another Admin."
		for _, tc := range []struct {
			rq     request
			status int
			detail string
		}{
			{request{method: "POST", path: usersPath(a.id), key: leadKey,
				body: `{"first_name": "Eve", "last_name": "Evans", "email": "eve@acme.example.com", "roles": ["support", "admin"]}`}, 403, adminRefusal},
			{request{method: "PATCH", path: userPath(a.id, target.ID), key: leadKey, body: `{"roles": ["admin"]}`}, 403, adminRefusal},
			{request{method: "PATCH", path: userPath(a.id, lead.ID), key: leadKey, body: `{"roles": ["support", "admin"]}`}, 409, ownRefusal},
			{request{method: "PATCH", path: userPath(a.id, a.admin.ID), key: a.key, body: `{"roles": ["admin", "support"]}`}, 409, ownRefusal},
			{request{method: "PATCH", path: userPath(a.id, a.admin.ID), key: a.key,
				body: `{"access_until": "` + time.Now().Add(24*time.Hour).UTC().Format(time.RFC3339) + `"}`}, 409, ownRefusal},
		} {
			before := e.snapshot(t, a.id)
			res := e.do(t, tc.rq)
			res.wantStatus(t, tc.rq, tc.status)
			if got := res.problem(t).Detail; got != tc.detail {
				t.Errorf("%s %s: detail %q, want %q", tc.rq, tc.rq.body, got, tc.detail)
			}
			if after := e.snapshot(t, a.id); after != before {
				t.Errorf("%s %s changed the account:\n%s\nwant\n%s", tc.rq, tc.rq.body, after, before)
			}
		}
		// Within the lead's own permissions the same calls succeed.
		rq := request{method: "PATCH", path: userPath(a.id, target.ID), key: leadKey, body: `{"roles": ["support"], "access_until": null}`}
		e.do(t, rq).wantStatus(t, rq, 200)
	})
}

// TestBodiesCannotSetProtectedFields sends, on invite and on edit, each field
// of a user that the caller may not set, next to an otherwise valid body:
// each is refused as unknown under its own name, and nothing changes.
func TestBodiesCannotSetProtectedFields(t *testing.T) {
	testdb.Each(t, func(t *testing.T, s roster.Store) {
		e := newTestEnv(t, s)
		a := e.mustAccount(t, "Acme")
		other := e.mustAccount(t, "Other")
		target := e.mustInvite(t, a.id, "Ajay", "Kumar", "ajay@acme.example.com", roster.RoleSupport)
		values := map[string]string{
			"id": `"` + missingID + `"`, "account_id": `"` + other.id + `"`, "status": `"active"`,
			"invited_by": `{"user_id": null, "name": "Operator"}`, "invited_by_name": `"Operator"`, "version": `7`,
			"invited_at": `"2020-01-01T00:00:00Z"`, "joined_at": `"2020-01-01T00:00:00Z"`, "updated_at": `"2020-01-01T00:00:00Z"`,
			"last_login_at": `"2020-01-01T00:00:00Z"`, "last_login_ip": `"192.0.2.1"`, "last_login_device": `"curl"`,
			"revoked_at": `null`, "revoke_reason": `"other"`, "revoke_note": `"x"`, "active_api_keys": `0`,
			"password": `"hunter2hunter2"`, "permissions": `["billing.manage"]`,
		}
		edit := map[string]string{"email": `"mallory@acme.example.com"`, "first_name": `"Mallory"`, "last_name": `"Mallet"`}
		for name, value := range values {
			edit[name] = value
		}
		invite := `{"first_name": "Nina", "last_name": "Novak", "email": "nina@acme.example.com", "roles": ["support"], `
		for _, tc := range []struct {
			path, method, body string
			fields             map[string]string
		}{
			{usersPath(a.id), "POST", invite, values},
			{userPath(a.id, target.ID), "PATCH", `{"roles": ["support", "communication_manager"], `, edit},
		} {
			for name, value := range tc.fields {
				rq := request{method: tc.method, path: tc.path, key: a.key, body: fmt.Sprintf(`%s"%s": %s}`, tc.body, name, value)}
				before, beforeOther := e.snapshot(t, a.id), e.snapshot(t, other.id)
				res := e.do(t, rq)
				res.wantStatus(t, rq, 422)
				p := res.problem(t)
				if len(p.Errors) != 1 || p.Errors[0].Field != name || !strings.HasPrefix(p.Errors[0].Message, fmt.Sprintf("Unknown field %q", name)) {
					t.Errorf("%s %s: errors = %+v, want one naming %s as unknown", rq, rq.body, p.Errors, name)
				}
				if after := e.snapshot(t, a.id); after != before {
					t.Errorf("%s %s changed the account:\n%s\nwant\n%s", rq, rq.body, after, before)
				}
				if after := e.snapshot(t, other.id); after != beforeOther {
					t.Errorf("%s %s changed the other account:\n%s\nwant\n%s", rq, rq.body, after, beforeOther)
				}
			}
		}
	})
}
