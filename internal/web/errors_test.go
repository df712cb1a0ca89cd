package web

import (
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"roster"
	"roster/internal/testdb"
)

// missingID is a well-formed id that names nothing.
const missingID = "01900000-0000-7000-8000-000000000000"

// TestBadInput sends every class of bad input and checks that each gets its
// 4xx, a problem naming the fields at fault, and changes nothing.
func TestBadInput(t *testing.T) {
	testdb.Each(t, func(t *testing.T, s roster.Store) {
		e := newTestEnv(t, s)
		a := e.mustAccount(t, "Acme")
		target := e.mustInvite(t, a.id, "Ajay", "Kumar", "ajay@acme.example.com", roster.RoleSupport)
		active, _ := e.mustActiveUser(t, a.id, "Anna", "Bell", "anna@acme.example.com", roster.RoleSupport)
		other := e.mustAccount(t, "Other")
		stranger := e.mustInvite(t, other.id, "Sven", "Stranger", "sven@other.example.com", roster.RoleSupport)

		users := usersPath(a.id)
		user := userPath(a.id, target.ID)
		revoke := userPath(a.id, active.ID) + "/revoke"
		audit := "/api/v1/accounts/" + a.id + "/audit-events"
		valid := `{"first_name": "Nina", "last_name": "Novak", "email": "nina@acme.example.com", "roles": ["support"]}`
		huge := `{"first_name": "` + strings.Repeat("x", 65<<10) + `"}`
		past := time.Now().Add(-time.Hour).UTC().Format(time.RFC3339)
		future := time.Now().Add(24 * time.Hour).UTC().Format(time.RFC3339)

		for _, tc := range []struct {
			name      string
			rq        request
			status    int
			fields    []string // errors[].field, sorted; nil for none
			detailHas string
		}{
			// Bodies that are not one JSON object.
			{name: "not JSON", rq: request{method: "POST", path: users, body: `first_name=Nina`}, status: 400, detailHas: "not valid JSON"},
			{name: "truncated JSON", rq: request{method: "POST", path: users, body: `{"first_name": "Nina"`}, status: 400, detailHas: "not valid JSON"},
			{name: "trailing object", rq: request{method: "POST", path: users, body: valid + ` {}`}, status: 400, detailHas: "after the JSON object"},
			{name: "trailing garbage", rq: request{method: "POST", path: users, body: valid + `x`}, status: 400, detailHas: "after the JSON object"},
			{name: "invalid UTF-8", rq: request{method: "POST", path: users, body: "{\"first_name\": \"Ni\xffna\", \"last_name\": \"Novak\", \"email\": \"nina@acme.example.com\", \"roles\": [\"support\"]}"}, status: 400, detailHas: "UTF-8"},
			{name: "deeply nested", rq: request{method: "POST", path: users, body: `{"roles": ` + strings.Repeat("[", 20000) + strings.Repeat("]", 20000) + `}`}, status: 400, detailHas: "not valid JSON"},
			{name: "array body", rq: request{method: "POST", path: users, body: `[` + valid + `]`}, status: 422, detailHas: "JSON object"},
			{name: "missing body", rq: request{method: "POST", path: users}, status: 400, detailHas: "needs a JSON object"},
			{name: "blank body", rq: request{method: "POST", path: users, body: "  \n"}, status: 400, detailHas: "needs a JSON object"},
			{name: "missing body on revoke", rq: request{method: "POST", path: revoke}, status: 400, detailHas: "needs a JSON object"},
			{name: "text/plain", rq: request{method: "POST", path: users, body: valid, contentType: "text/plain"}, status: 415},
			{name: "form content type", rq: request{method: "POST", path: users, body: valid, contentType: "application/x-www-form-urlencoded"}, status: 415},
			{name: "no content type", rq: request{method: "POST", path: users, body: valid, contentType: "-"}, status: 415},
			{name: "latin-1 JSON", rq: request{method: "POST", path: users, body: valid, contentType: "application/json; charset=iso-8859-1"}, status: 415},
			{name: "body over 64 KiB", rq: request{method: "POST", path: users, body: huge}, status: 413},
			{name: "PATCH body over 64 KiB", rq: request{method: "PATCH", path: user, body: huge}, status: 413},

			// Members of the wrong type, unknown or repeated.
			{name: "roles is a string", rq: request{method: "POST", path: users, body: `{"first_name": "Nina", "last_name": "Novak", "email": "nina@acme.example.com", "roles": "admin"}`},
				status: 422, fields: []string{"roles"}},
			{name: "first_name is a number", rq: request{method: "POST", path: users, body: `{"first_name": 5, "last_name": "Novak", "email": "nina@acme.example.com", "roles": ["support"]}`},
				status: 422, fields: []string{"first_name"}},
			{name: "role is a number", rq: request{method: "POST", path: users, body: `{"first_name": "Nina", "last_name": "Novak", "email": "nina@acme.example.com", "roles": ["support", 7]}`},
				status: 422, fields: []string{"roles"}},
			{name: "email is an object", rq: request{method: "POST", path: users, body: `{"first_name": "Nina", "last_name": "Novak", "email": {"address": "nina@acme.example.com"}, "roles": ["support"]}`},
				status: 422, fields: []string{"email"}},
			{name: "first_name is null", rq: request{method: "POST", path: users, body: `{"first_name": null, "last_name": "Novak", "email": "nina@acme.example.com", "roles": ["support"]}`},
				status: 422, fields: []string{"first_name"}},
			{name: "unknown field", rq: request{method: "POST", path: users, body: `{"first_name": "Nina", "last_name": "Novak", "email": "nina@acme.example.com", "roles": ["support"], "password": "x"}`},
				status: 422, fields: []string{"password"}},
			{name: "field in other case", rq: request{method: "POST", path: users, body: `{"First_Name": "Nina", "last_name": "Novak", "email": "nina@acme.example.com", "roles": ["support"]}`},
				status: 422, fields: []string{"First_Name"}},
			{name: "repeated field", rq: request{method: "POST", path: users, body: `{"first_name": "Nina", "first_name": "Mallory", "last_name": "Novak", "email": "nina@acme.example.com", "roles": ["support"]}`},
				status: 422, fields: []string{"first_name"}},
			{name: "several bad types at once", rq: request{method: "POST", path: users, body: `{"first_name": 1, "last_name": true, "email": [], "roles": "admin", "x": 0}`},
				status: 422, fields: []string{"email", "first_name", "last_name", "roles", "x"}},
			{name: "access_until not RFC 3339", rq: request{method: "POST", path: users, body: `{"first_name": "Nina", "last_name": "Novak", "email": "nina@acme.example.com", "roles": ["support"], "access_until": "tomorrow"}`},
				status: 422, fields: []string{"access_until"}},
			{name: "access_until a date only", rq: request{method: "POST", path: users, body: `{"first_name": "Nina", "last_name": "Novak", "email": "nina@acme.example.com", "roles": ["support"], "access_until": "2031-01-01"}`},
				status: 422, fields: []string{"access_until"}},
			{name: "access_until a number", rq: request{method: "POST", path: users, body: `{"first_name": "Nina", "last_name": "Novak", "email": "nina@acme.example.com", "roles": ["support"], "access_until": 1893456000}`},
				status: 422, fields: []string{"access_until"}},

			// Values that break the rules.
			{name: "short names", rq: request{method: "POST", path: users, body: `{"first_name": " Al ", "last_name": "Bo", "email": "nina@acme.example.com", "roles": ["support"]}`},
				status: 422, fields: []string{"first_name", "last_name"}},
			{name: "control character in name", rq: request{method: "POST", path: users, body: `{"first_name": "Nina\u0007", "last_name": "Novak", "email": "nina@acme.example.com", "roles": ["support"]}`},
				status: 422, fields: []string{"first_name"}},
			{name: "name too long", rq: request{method: "POST", path: users, body: `{"first_name": "` + strings.Repeat("é", 65) + `", "last_name": "Novak", "email": "nina@acme.example.com", "roles": ["support"]}`},
				status: 422, fields: []string{"first_name"}},
			{name: "bad email", rq: request{method: "POST", path: users, body: `{"first_name": "Nina", "last_name": "Novak", "email": "Nina <nina@acme>", "roles": ["support"]}`},
				status: 422, fields: []string{"email"}},
			{name: "no roles", rq: request{method: "POST", path: users, body: `{"first_name": "Nina", "last_name": "Novak", "email": "nina@acme.example.com", "roles": []}`},
				status: 422, fields: []string{"roles"}},
			{name: "unknown role", rq: request{method: "POST", path: users, body: `{"first_name": "Nina", "last_name": "Novak", "email": "nina@acme.example.com", "roles": ["owner"]}`},
				status: 422, fields: []string{"roles"}},
			{name: "additional role not enabled", rq: request{method: "POST", path: users, body: `{"first_name": "Nina", "last_name": "Novak", "email": "nina@acme.example.com", "roles": ["whatsapp_only"]}`},
				status: 422, fields: []string{"roles"}},
			{name: "expert outside staff, no deadline", rq: request{method: "POST", path: users, body: `{"first_name": "Nina", "last_name": "Novak", "email": "nina@acme.example.com", "roles": ["expert"]}`},
				status: 422, fields: []string{"access_until", "expert_access", "roles"}},
			{name: "access level without the Expert role", rq: request{method: "POST", path: users, body: `{"first_name": "Nina", "last_name": "Novak", "email": "nina@acme.example.com", "roles": ["support"], "expert_access": "read_only"}`},
				status: 422, fields: []string{"expert_access"}},
			{name: "unknown access level", rq: request{method: "POST", path: users, body: `{"first_name": "Nina", "last_name": "Novak", "email": "nina@tatacommunications.com", "roles": ["expert"], "access_until": "` + future + `", "expert_access": "admin"}`},
				status: 422, fields: []string{"expert_access"}},
			{name: "access level not a string", rq: request{method: "POST", path: users, body: `{"first_name": "Nina", "last_name": "Novak", "email": "nina@tatacommunications.com", "roles": ["expert"], "access_until": "` + future + `", "expert_access": 1}`},
				status: 422, fields: []string{"expert_access"}},
			{name: "deadline in the past", rq: request{method: "POST", path: users, body: `{"first_name": "Nina", "last_name": "Novak", "email": "nina@acme.example.com", "roles": ["support"], "access_until": "` + past + `"}`},
				status: 422, fields: []string{"access_until"}},
			{name: "everything wrong", rq: request{method: "POST", path: users, body: `{"first_name": "", "last_name": "x", "email": "nope", "roles": []}`},
				status: 422, fields: []string{"email", "first_name", "last_name", "roles"}},
			{name: "duplicate email in other case", rq: request{method: "POST", path: users, body: `{"first_name": "Ajay", "last_name": "Again", "email": "AJAY@acme.example.com", "roles": ["support"]}`},
				status: 409, fields: []string{"email"}},

			// Edit User.
			{name: "PATCH roles is a string", rq: request{method: "PATCH", path: user, body: `{"roles": "admin"}`}, status: 422, fields: []string{"roles"}},
			{name: "PATCH roles is null", rq: request{method: "PATCH", path: user, body: `{"roles": null}`}, status: 422, fields: []string{"roles"}},
			{name: "PATCH empty roles", rq: request{method: "PATCH", path: user, body: `{"roles": []}`}, status: 422, fields: []string{"roles"}},
			{name: "PATCH bad deadline", rq: request{method: "PATCH", path: user, body: `{"access_until": "31/12/2030"}`}, status: 422, fields: []string{"access_until"}},
			{name: "PATCH unknown field", rq: request{method: "PATCH", path: user, body: `{"status": "active"}`}, status: 422, fields: []string{"status"}},
			{name: "PATCH stale If-Match", rq: request{method: "PATCH", path: user, body: `{"roles": ["admin"]}`, header: map[string]string{"If-Match": `"999"`}}, status: 412},
			{name: "PATCH not JSON", rq: request{method: "PATCH", path: user, body: `roles=admin`}, status: 400},
			{name: "PATCH expert role for a non-staff email", rq: request{method: "PATCH", path: user, body: `{"roles": ["expert"], "access_until": "` + future + `", "expert_access": "read_only"}`}, status: 422, fields: []string{"roles"}},

			// Revoke Access.
			{name: "revoke unknown reason", rq: request{method: "POST", path: revoke, body: `{"reason": "bored"}`}, status: 422, fields: []string{"reason"}},
			{name: "revoke without reason", rq: request{method: "POST", path: revoke, body: `{"note": "x"}`}, status: 422, fields: []string{"reason"}},
			{name: "revoke other without note", rq: request{method: "POST", path: revoke, body: `{"reason": "other"}`}, status: 422, fields: []string{"note"}},
			{name: "revoke note is a number", rq: request{method: "POST", path: revoke, body: `{"reason": "other", "note": 5}`}, status: 422, fields: []string{"note"}},
			{name: "revoke note too long", rq: request{method: "POST", path: revoke, body: `{"reason": "other", "note": "` + strings.Repeat("n", 501) + `"}`}, status: 422, fields: []string{"note"}},
			{name: "revoke reason is an array", rq: request{method: "POST", path: revoke, body: `{"reason": ["other"]}`}, status: 422, fields: []string{"reason"}},

			// Query parameters.
			{name: "bad filter", rq: request{method: "GET", path: users + "?filter=status:was:active"}, status: 400, fields: []string{"filter"}},
			{name: "bad filter shape", rq: request{method: "GET", path: users + "?filter=active"}, status: 400, fields: []string{"filter"}},
			{name: "bad sort", rq: request{method: "GET", path: users + "?sort=password"}, status: 400, fields: []string{"sort"}},
			{name: "limit zero", rq: request{method: "GET", path: users + "?limit=0"}, status: 400, fields: []string{"limit"}},
			{name: "limit too big", rq: request{method: "GET", path: users + "?limit=201"}, status: 400, fields: []string{"limit"}},
			{name: "limit not a number", rq: request{method: "GET", path: users + "?limit=ten"}, status: 400, fields: []string{"limit"}},
			{name: "bad cursor", rq: request{method: "GET", path: users + "?cursor=not-a-cursor"}, status: 400, fields: []string{"cursor"}},
			{name: "control character in q", rq: request{method: "GET", path: users + "?q=an%00n"}, status: 400, fields: []string{"q"}},
			{name: "unknown parameter", rq: request{method: "GET", path: users + "?page=2"}, status: 400, fields: []string{"page"}},
			{name: "repeated q", rq: request{method: "GET", path: users + "?q=a&q=b"}, status: 400, fields: []string{"q"}},
			{name: "malformed query string", rq: request{method: "GET", path: users + "?q=%zz"}, status: 400},
			{name: "several bad parameters", rq: request{method: "GET", path: users + "?sort=x&limit=-1&filter=role:is:owner"}, status: 400, fields: []string{"filter", "limit", "sort"}},
			{name: "audit limit too big", rq: request{method: "GET", path: audit + "?limit=500"}, status: 400, fields: []string{"limit"}},
			{name: "audit bad cursor", rq: request{method: "GET", path: audit + "?cursor=zzz"}, status: 400, fields: []string{"cursor"}},
			{name: "audit unknown parameter", rq: request{method: "GET", path: audit + "?q=x"}, status: 400, fields: []string{"q"}},
			{name: "parameter on a single user", rq: request{method: "GET", path: user + "?fields=email"}, status: 400, fields: []string{"fields"}},

			// Ids: malformed, missing and of another account all read alike.
			{name: "user id not a UUID", rq: request{method: "GET", path: users + "/not-a-uuid"}, status: 404},
			{name: "missing user", rq: request{method: "GET", path: users + "/" + missingID}, status: 404},
			{name: "another account's user", rq: request{method: "GET", path: users + "/" + stranger.ID}, status: 404},
			{name: "PATCH another account's user", rq: request{method: "PATCH", path: users + "/" + stranger.ID, body: `{"roles": ["admin"]}`}, status: 404},
			{name: "DELETE user id not a UUID", rq: request{method: "DELETE", path: users + "/" + strings.ToUpper(target.ID)}, status: 404},
			{name: "account id not a UUID", rq: request{method: "GET", path: usersPath("acme")}, status: 404},
			{name: "another account", rq: request{method: "POST", path: usersPath(other.id), body: valid}, status: 404},

			// Routing.
			{name: "method not allowed", rq: request{method: "PUT", path: user, body: `{}`}, status: 405},
			{name: "unknown route", rq: request{method: "GET", path: "/api/v1/accounts/" + a.id + "/groups"}, status: 404},
			{name: "unknown version", rq: request{method: "GET", path: "/api/v2/roles"}, status: 404},
		} {
			t.Run(tc.name, func(t *testing.T) {
				tc.rq.key = a.key
				before, beforeOther := e.snapshot(t, a.id), e.snapshot(t, other.id)
				res := e.do(t, tc.rq)
				res.wantStatus(t, tc.rq, tc.status)
				p := res.problem(t)
				if got := res.fields(t); !slices.Equal(got, tc.fields) {
					t.Errorf("%s: errors[].field = %q, want %q\n%s", tc.rq, got, tc.fields, res.body)
				}
				if !strings.Contains(p.Detail, tc.detailHas) {
					t.Errorf("%s: detail = %q, want it to say %q", tc.rq, p.Detail, tc.detailHas)
				}
				for _, f := range p.Errors {
					if f.Message == "" {
						t.Errorf("%s: field %s has no message", tc.rq, f.Field)
					}
				}
				if tc.status == http.StatusMethodNotAllowed && res.header.Get("Allow") != "DELETE, GET, HEAD, PATCH" {
					t.Errorf("%s: Allow = %q, want DELETE, GET, HEAD, PATCH", tc.rq, res.header.Get("Allow"))
				}
				if after := e.snapshot(t, a.id); after != before {
					t.Errorf("%s changed the account:\n%s\nwant\n%s", tc.rq, after, before)
				}
				if after := e.snapshot(t, other.id); after != beforeOther {
					t.Errorf("%s changed the other account:\n%s\nwant\n%s", tc.rq, after, beforeOther)
				}
			})
		}
	})
}

// TestTypeErrorMessages checks that a mistyped member's message names the
// member and the type it needs.
func TestTypeErrorMessages(t *testing.T) {
	testdb.Each(t, func(t *testing.T, s roster.Store) {
		e := newTestEnv(t, s)
		a := e.mustAccount(t, "Acme")
		for _, tc := range []struct{ body, field, want string }{
			{`{"first_name": 5, "last_name": "Novak", "email": "n@acme.example.com", "roles": ["support"]}`, "first_name", "first_name must be a string."},
			{`{"first_name": "Nina", "last_name": "Novak", "email": "n@acme.example.com", "roles": "admin"}`, "roles", "roles must be an array of role ids (strings)."},
			{`{"first_name": "Nina", "last_name": "Novak", "email": "n@acme.example.com", "roles": ["support"], "access_until": "soon"}`, "access_until", "access_until must be an RFC 3339 date-time"},
			{`{"first_name": "Nina", "last_name": "Novak", "email": "n@acme.example.com", "roles": ["support"], "nick": "N"}`, "nick", `Unknown field "nick": this request accepts only first_name, last_name, email, roles, access_until, expert_access.`},
		} {
			rq := request{method: http.MethodPost, path: usersPath(a.id), key: a.key, body: tc.body}
			res := e.do(t, rq)
			res.wantStatus(t, rq, http.StatusUnprocessableEntity)
			p := res.problem(t)
			if len(p.Errors) != 1 || p.Errors[0].Field != tc.field || !strings.HasPrefix(p.Errors[0].Message, tc.want) {
				t.Errorf("POST %s: errors = %+v, want one for %s starting %q", tc.body, p.Errors, tc.field, tc.want)
			}
		}
	})
}

// TestTenantIsolation checks that a key of account B reads nothing of
// account A: every endpoint answers 404, byte for byte the same as for an id
// that exists nowhere, and A is unchanged.
func TestTenantIsolation(t *testing.T) {
	testdb.Each(t, func(t *testing.T, s roster.Store) {
		e := newTestEnv(t, s)
		a := e.mustAccount(t, "Alpha")
		aUser, _ := e.mustActiveUser(t, a.id, "Anna", "Bell", "anna@alpha.example.com", roster.RoleSupport)
		aInvited := e.mustInvite(t, a.id, "Ajay", "Kumar", "ajay@alpha.example.com", roster.RoleSupport)
		b := e.mustAccount(t, "Beta")
		e.mustInvite(t, b.id, "Bob", "Jones", "bob@beta.example.com", roster.RoleSupport)

		type call struct{ method, suffix, body string }
		userCalls := []call{
			{"GET", "", ""},
			{"PATCH", "", `{"roles": ["admin"]}`},
			{"DELETE", "", ""},
			{"POST", "/revoke", `{"reason": "issue_resolved"}`},
			{"POST", "/restore", ""},
			{"POST", "/resend-invitation", ""},
			{"GET", "/permissions", ""},
		}
		accountCalls := []call{
			{"GET", "/users", ""},
			{"POST", "/users", `{"first_name": "Eve", "last_name": "Intruder", "email": "eve@beta.example.com", "roles": ["admin"]}`},
			{"GET", "/audit-events", ""},
		}
		before := e.snapshot(t, a.id)
		compare := func(t *testing.T, got, want request) {
			t.Helper()
			g, w := e.do(t, got), e.do(t, want)
			g.wantStatus(t, got, http.StatusNotFound)
			if string(g.body) != string(w.body) || g.header.Get("Content-Type") != w.header.Get("Content-Type") {
				t.Errorf("%s = %s\nwant the same bytes as %s = %s", got, g.body, want, w.body)
			}
		}
		for _, c := range accountCalls {
			compare(t, request{method: c.method, path: "/api/v1/accounts/" + a.id + c.suffix, key: b.key, body: c.body},
				request{method: c.method, path: "/api/v1/accounts/" + missingID + c.suffix, key: b.key, body: c.body})
		}
		for _, c := range userCalls {
			for _, id := range []string{aUser.ID, aInvited.ID} {
				// A's user under A's account, and under B's own account.
				compare(t, request{method: c.method, path: userPath(a.id, id) + c.suffix, key: b.key, body: c.body},
					request{method: c.method, path: userPath(missingID, missingID) + c.suffix, key: b.key, body: c.body})
				compare(t, request{method: c.method, path: userPath(b.id, id) + c.suffix, key: b.key, body: c.body},
					request{method: c.method, path: userPath(b.id, missingID) + c.suffix, key: b.key, body: c.body})
				compare(t, request{method: c.method, path: userPath(b.id, "x"+id) + c.suffix, key: b.key, body: c.body},
					request{method: c.method, path: userPath(b.id, missingID) + c.suffix, key: b.key, body: c.body})
			}
		}
		if after := e.snapshot(t, a.id); after != before {
			t.Errorf("account B's key changed account A:\n%s\nwant\n%s", after, before)
		}
	})
}

// TestAuthentication checks every way a caller can fail to authenticate.
func TestAuthentication(t *testing.T) {
	testdb.Each(t, func(t *testing.T, s roster.Store) {
		e := newTestEnv(t, s)
		a := e.mustAccount(t, "Acme")
		users := usersPath(a.id)
		for _, tc := range []struct {
			name   string
			header string
		}{
			{"no header", ""},
			{"basic auth", "Basic YWxpY2U6c2VjcmV0"},
			{"bearer without key", "Bearer"},
			{"bearer blank", "Bearer   "},
			{"not a key", "Bearer hunter2"},
			{"key with bad checksum", "Bearer " + a.key[:len(a.key)-1] + flip(a.key[len(a.key)-1])},
			{"well-formed unknown key", "Bearer " + roster.NewAPIKeySecret()},
			{"key without scheme", a.key},
		} {
			t.Run(tc.name, func(t *testing.T) {
				for _, path := range []string{users, "/api/v1/roles", userPath(a.id, a.admin.ID)} {
					rq := request{method: http.MethodGet, path: path}
					if tc.header != "" {
						rq.header = map[string]string{"Authorization": tc.header}
					}
					res := e.do(t, rq)
					res.wantStatus(t, rq, http.StatusUnauthorized)
					if got := res.header.Get("WWW-Authenticate"); got != "Bearer" {
						t.Errorf("%s: WWW-Authenticate = %q, want Bearer", rq, got)
					}
				}
			})
		}
		// The scheme is case-insensitive (RFC 9110 §11.1).
		rq := request{method: http.MethodGet, path: "/api/v1/roles", header: map[string]string{"Authorization": "bearer " + a.key}}
		e.do(t, rq).wantStatus(t, rq, http.StatusOK)
	})
}

func flip(c byte) string {
	if c == 'a' {
		return "b"
	}
	return "a"
}

// TestForbidden checks that a user without team.manage reads only their own
// details and the role catalogue, and changes nothing.
func TestForbidden(t *testing.T) {
	testdb.Each(t, func(t *testing.T, s roster.Store) {
		e := newTestEnv(t, s)
		a := e.mustAccount(t, "Acme")
		support, key := e.mustActiveUser(t, a.id, "Sam", "Support", "sam@acme.example.com", roster.RoleSupport)
		before := e.snapshot(t, a.id)
		for _, tc := range []struct {
			rq     request
			status int
		}{
			{request{method: "GET", path: "/api/v1/roles"}, 200},
			{request{method: "GET", path: userPath(a.id, support.ID)}, 200},
			{request{method: "GET", path: userPath(a.id, support.ID) + "/permissions"}, 200},
			{request{method: "GET", path: usersPath(a.id)}, 403},
			{request{method: "GET", path: userPath(a.id, a.admin.ID)}, 403},
			{request{method: "GET", path: userPath(a.id, a.admin.ID) + "/permissions"}, 403},
			{request{method: "POST", path: usersPath(a.id), body: `{"first_name": "Eve", "last_name": "Evans", "email": "eve@acme.example.com", "roles": ["admin"]}`}, 403},
			{request{method: "PATCH", path: userPath(a.id, support.ID), body: `{"roles": ["admin"]}`}, 403},
			{request{method: "POST", path: userPath(a.id, a.admin.ID) + "/revoke", body: `{"reason": "other", "note": "mutiny"}`}, 403},
			{request{method: "DELETE", path: userPath(a.id, a.admin.ID)}, 403},
			{request{method: "GET", path: "/api/v1/accounts/" + a.id + "/audit-events"}, 403},
		} {
			tc.rq.key = key
			res := e.do(t, tc.rq)
			res.wantStatus(t, tc.rq, tc.status)
			if tc.status == http.StatusForbidden && !strings.Contains(res.problem(t).Detail, "team.manage") {
				t.Errorf("%s: detail = %q, want it to name the team.manage permission", tc.rq, res.problem(t).Detail)
			}
		}
		if after := e.snapshot(t, a.id); after != before {
			t.Errorf("a Support user changed the account:\n%s\nwant\n%s", after, before)
		}
	})
}
