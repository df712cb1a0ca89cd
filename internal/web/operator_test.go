package web

import (
	"net/http"
	"slices"
	"strings"
	"testing"

	"roster"
	"roster/internal/testdb"
)

const testOperatorToken = "an-operator-token-of-at-least-32-characters"

// TestOperatorAPI enables and disables additional roles through the
// operator API, refused while users hold a role.
func TestOperatorAPI(t *testing.T) {
	testdb.Each(t, func(t *testing.T, s roster.Store) {
		e := newTestEnv(t, s, func(o *Options) { o.OperatorToken = testOperatorToken })
		a := e.mustAccount(t, "Acme")
		acct := "/api/operator/v1/accounts/" + a.id
		role := acct + "/roles/whatsapp_only"
		var got roster.AccountSettings
		get := request{method: "GET", path: acct, key: testOperatorToken}
		e.do(t, get).wantStatus(t, get, http.StatusOK)

		// Enabling is idempotent and lets Admins give the role.
		for range 2 {
			rq := request{method: "PUT", path: role, key: testOperatorToken}
			res := e.do(t, rq)
			res.wantStatus(t, rq, http.StatusOK)
			res.decode(t, &got)
			if !slices.Equal(got.EnabledRoles, []roster.RoleID{roster.RoleWhatsAppOnly}) {
				t.Fatalf("%s: enabled_roles = %v, want [whatsapp_only]", rq, got.EnabledRoles)
			}
		}
		wa, _ := e.mustActiveUser(t, a.id, "Wanda", "Apps", "wanda@acme.example.com", roster.RoleWhatsAppOnly)
		walt := e.mustInvite(t, a.id, "Walt", "Apps", "walt@acme.example.com", roster.RoleWhatsAppOnly, roster.RoleSupport)

		// Disabling a held role is refused, saying how many hold it.
		before := e.snapshot(t, a.id)
		rq := request{method: "DELETE", path: role, key: testOperatorToken}
		res := e.do(t, rq)
		res.wantStatus(t, rq, http.StatusConflict)
		if d := res.problem(t).Detail; !strings.Contains(d, "2 user(s) still hold the WhatsApp Only role") {
			t.Errorf("%s: detail = %q, want it to say 2 users hold the role", rq, d)
		}
		if after := e.snapshot(t, a.id); after != before {
			t.Errorf("a refused disable changed the account:\n%s\nwant\n%s", after, before)
		}
		// Once nobody holds it, it goes.
		if err := e.svc.DeleteUser(t.Context(), roster.OperatorActor(), a.id, wa.ID); err != nil {
			t.Fatal(err)
		}
		support := []roster.RoleID{roster.RoleSupport}
		if _, err := e.svc.UpdateUser(t.Context(), roster.OperatorActor(), a.id, walt.ID, roster.UpdateInput{Roles: &support}, ""); err != nil {
			t.Fatal(err)
		}
		res = e.do(t, rq)
		res.wantStatus(t, rq, http.StatusOK)
		res.decode(t, &got)
		if len(got.EnabledRoles) != 0 {
			t.Errorf("%s: enabled_roles = %v, want none", rq, got.EnabledRoles)
		}
		events, err := e.svc.AuditEvents(t.Context(), roster.OperatorActor(), a.id, roster.AuditQuery{Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, ev := range events.Items {
			if ev.Action == roster.ActionAccountUpdated {
				n++
			}
		}
		if n != 3 {
			t.Errorf("%d account.updated events, want 3 (two enables, one disable)", n)
		}

		for _, tc := range []struct {
			name string
			rq   request
			want int
		}{
			{"an account's Admin key", request{method: "PUT", path: role, key: a.key}, http.StatusUnauthorized},
			{"no token", request{method: "PUT", path: role}, http.StatusUnauthorized},
			{"a wrong token", request{method: "PUT", path: role, key: testOperatorToken + "x"}, http.StatusUnauthorized},
			{"a base role", request{method: "PUT", path: acct + "/roles/admin", key: testOperatorToken}, http.StatusNotFound},
			{"an unknown role", request{method: "PUT", path: acct + "/roles/owner", key: testOperatorToken}, http.StatusNotFound},
			{"a missing account", request{method: "PUT", path: "/api/operator/v1/accounts/" + missingID + "/roles/whatsapp_only", key: testOperatorToken}, http.StatusNotFound},
			{"a malformed account id", request{method: "GET", path: "/api/operator/v1/accounts/nope", key: testOperatorToken}, http.StatusNotFound},
		} {
			before := e.snapshot(t, a.id)
			e.do(t, tc.rq).wantStatus(t, tc.rq, tc.want)
			if after := e.snapshot(t, a.id); after != before {
				t.Errorf("%s changed the account", tc.name)
			}
		}
	})
}

// TestOperatorAPIOff checks that without a token the operator API is off,
// whatever is sent.
func TestOperatorAPIOff(t *testing.T) {
	testdb.Each(t, func(t *testing.T, s roster.Store) {
		e := newTestEnv(t, s)
		a := e.mustAccount(t, "Acme")
		for _, key := range []string{"", "x", a.key} {
			rq := request{method: "PUT", path: "/api/operator/v1/accounts/" + a.id + "/roles/whatsapp_only", key: key}
			res := e.do(t, rq)
			res.wantStatus(t, rq, http.StatusNotFound)
			if d := res.problem(t).Detail; !strings.Contains(d, "--operator-token") {
				t.Errorf("%s: detail = %q, want it to say how to turn the operator API on", rq, d)
			}
		}
	})
}
