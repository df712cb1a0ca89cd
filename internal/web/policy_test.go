package web

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"roster"
	"roster/internal/outbox"
	"roster/internal/testdb"
)

// TestEveryRouteHasAPolicy lists the routes the server registers and fails
// for one without an entry in the policy table, or with an entry that is
// neither a rule nor a permission of the catalogue; and for an entry no
// route uses.
func TestEveryRouteHasAPolicy(t *testing.T) {
	s := newServer(slog.New(slog.DiscardHandler), nil, Options{Mailbox: emptyMailbox{}})
	if len(s.patterns) < 30 {
		t.Fatalf("the server registers %d routes; the test cannot see them", len(s.patterns))
	}
	registered := map[string]bool{}
	for _, p := range s.patterns {
		registered[p] = true
		rl, ok := policy[p]
		switch {
		case !ok:
			t.Errorf("route %q has no entry in the policy table (policy.go)", p)
		case !rl.valid():
			t.Errorf("route %q: policy %q is neither a rule nor a permission of the catalogue", p, rl)
		}
	}
	for p := range policy {
		if !registered[p] {
			t.Errorf("the policy table has %q, which no route registers", p)
		}
	}
}

// TestRouteWithoutPolicyIsRefused checks that a route the table forgot is
// closed to everyone rather than open.
func TestRouteWithoutPolicyIsRefused(t *testing.T) {
	s := newServer(slog.New(slog.DiscardHandler), nil, Options{})
	called := false
	s.handle("GET /api/v1/forgotten", func(rule) http.Handler {
		return http.HandlerFunc(func(http.ResponseWriter, *http.Request) { called = true })
	})
	w := httptest.NewRecorder()
	s.mux.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/api/v1/forgotten", nil))
	if w.Code != http.StatusForbidden || called {
		t.Errorf("a route without a policy answered %d (handler called: %v), want 403 without calling it", w.Code, called)
	}
}

type emptyMailbox struct{}

func (emptyMailbox) Recent(context.Context, int) ([]outbox.Preview, error) { return nil, nil }

// matrixCaller is one kind of caller the matrix sends every route as.
type matrixCaller struct {
	name   string
	kind   callerKind
	access roster.Access // member: the role they hold in the account
	userID string
	key    string   // API key, or the operator token
	b      *browser // signed in, except for anonymous and operator
}

type callerKind int

const (
	isMember  callerKind = iota // a user of the account, with one role
	other                       // an Admin of another account
	ended                       // revoked, expired or deleted: was an Admin or Expert
	anonymous                   // no credentials
	operatorCaller
	gatewayCaller
)

// TestPolicyMatrix runs every route of the server as every role, as an
// Admin of another account, as a revoked user, an expired Expert, with a
// deleted user's key and session, with no credentials and with the
// operator token, and checks each answer against the policy table:
//   - a member whose roles grant the permission gets through (whatever the
//     handler then says of the empty request), and one whose roles do not
//     gets 403;
//   - another account's caller gets 404, byte for byte the answer for an
//     account that does not exist, and changes nothing;
//   - an ended user's key or session, and no credentials, get 401 (API) or
//     the sign-in page (pages), and change nothing;
//   - the operator API takes the operator token and nothing else.
//
// Routes of one user are called on a fresh user of the account each time,
// so that a delete or revoke let through does not change the next answer.
func TestPolicyMatrix(t *testing.T) {
	testdb.Each(t, func(t *testing.T, s roster.Store) {
		const opToken = "operator-api-token-for-the-policy-matrix-0123456789"
		const gwToken = "gateway-token-for-the-policy-matrix-0123456789abcdef"
		e := newPageEnv(t, s, func(o *Options) { o.OperatorToken, o.GatewayToken = opToken, gwToken })
		acct := e.mustSetup(t)
		if _, err := e.svc.UpdateAccount(e.ctx, acct, roster.UpdateAccountInput{
			EnableRoles: []roster.RoleID{roster.RoleWhatsAppOnly, roster.RoleNumbersReadOnly}}); err != nil {
			t.Fatal(err)
		}
		n := 0
		// person invites a user to account with roles, registers them,
		// signs a browser in and creates an API key.
		person := func(accountID, email string, until time.Duration, level roster.AccessLevel, roles ...roster.RoleID) (*roster.User, *browser, string) {
			t.Helper()
			n++
			in := roster.InviteInput{FirstName: "Person", LastName: fmt.Sprintf("Number%d", n), Email: email, Roles: roles, ExpertAccess: level}
			if until > 0 {
				at := e.clock.Now().Add(until)
				in.AccessUntil = &at
			}
			u, err := e.svc.InviteUser(e.ctx, roster.OperatorActor(), accountID, in)
			if err != nil {
				t.Fatalf("InviteUser(%s) = %v", email, err)
			}
			m := e.newestMail(t, roster.MailInvitation, email, accountID)
			e.markInvitationSent(t, accountID, m.Ref)
			e.mustRegister(t, invitation{user: u, id: m.Ref, token: roster.InvitationToken(e.secret, m.Ref)}, newPassword)
			b := e.browser(t)
			b.ip = fmt.Sprintf("198.51.100.%d", n)
			b.signIn(t, email, newPassword)
			_, key, err := e.svc.CreateAPIKey(e.ctx, roster.OperatorActor(), accountID, email, "matrix")
			if err != nil {
				t.Fatalf("CreateAPIKey(%s) = %v", email, err)
			}
			return u, b, key
		}

		var callers []*matrixCaller
		for _, r := range roster.Roles {
			if r.StaffOnly {
				for _, l := range roster.AccessLevels {
					a := roster.Access{Roles: roster.NewRoleSet(r.ID), Expert: l.ID}
					u, b, key := person(acct, "expert-"+string(l.ID)+"@tatacommunications.com", 30*24*time.Hour, l.ID, r.ID)
					callers = append(callers, &matrixCaller{name: roster.RoleLabel(r.ID, l.ID), kind: isMember, access: a, userID: u.ID, key: key, b: b})
				}
				continue
			}
			u, b, key := person(acct, string(r.ID)+"@acme.example.com", 0, "", r.ID)
			callers = append(callers, &matrixCaller{name: string(r.ID), kind: isMember, access: roster.Access{Roles: roster.NewRoleSet(r.ID)}, userID: u.ID, key: key, b: b})
		}
		globex, _, err := e.svc.CreateAccount(e.ctx, roster.CreateAccountInput{Name: "Globex", AdminEmail: "first@globex.example.com",
			AdminFirstName: "Gina", AdminLastName: "First"}, nil)
		if err != nil {
			t.Fatal(err)
		}
		_, gb, gkey := person(globex.ID, "admin@globex.example.com", 0, "", roster.RoleAdmin)
		callers = append(callers, &matrixCaller{name: "admin of another account", kind: other, key: gkey, b: gb})

		revoked, rb, rkey := person(acct, "revoked@acme.example.com", 0, "", roster.RoleAdmin)
		if _, err := e.svc.RevokeUser(e.ctx, roster.OperatorActor(), acct, revoked.ID, roster.RevokeInput{Reason: roster.RevokeReason("other"), Note: "matrix"}); err != nil {
			t.Fatal(err)
		}
		deleted, db, dkey := person(acct, "deleted@acme.example.com", 0, "", roster.RoleAdmin)
		if err := e.svc.DeleteUser(e.ctx, roster.OperatorActor(), acct, deleted.ID); err != nil {
			t.Fatal(err)
		}
		expired, xb, xkey := person(acct, "expired@tatacommunications.com", 30*time.Minute, roster.AccessLimitedWrite, roster.RoleExpert)
		callers = append(callers,
			&matrixCaller{name: "revoked admin", kind: ended, userID: revoked.ID, key: rkey, b: rb},
			&matrixCaller{name: "deleted admin", kind: ended, userID: deleted.ID, key: dkey, b: db},
			&matrixCaller{name: "expired expert", kind: ended, userID: expired.ID, key: xkey, b: xb})
		anon := e.browser(t)
		anon.ip = "203.0.113.7"
		anon.get(t, "/sign-in").want(t, http.StatusOK)
		callers = append(callers, &matrixCaller{name: "anonymous", kind: anonymous, b: anon},
			&matrixCaller{name: "operator token", kind: operatorCaller, key: opToken, b: anon},
			&matrixCaller{name: "gateway token", kind: gatewayCaller, key: gwToken, b: anon})
		// The expired Expert's deadline passes; everyone else's sessions
		// stay well within their idle limit.
		e.clock.Advance(31 * time.Minute)

		// Signing out last, so that every other route sees the sessions.
		patterns := slices.Clone(e.server.patterns)
		slices.SortStableFunc(patterns, func(a, b string) int {
			return boolInt(a == "POST /sign-out") - boolInt(b == "POST /sign-out")
		})
		targets := 0
		for _, pattern := range patterns {
			_, path, _ := strings.Cut(pattern, " ")
			for _, c := range callers {
				if !isAPIPath(path) && (c.kind == operatorCaller || c.kind == gatewayCaller) {
					continue // the operator and the gateway have no pages
				}
				targets++
				matrixCheck(t, e, acct, pattern, c, targets)
			}
		}
		// Every member reads their own user, whatever their roles.
		self := selfRoutes()
		if len(self) == 0 {
			t.Fatal("no route lets a member read their own user")
		}
		for _, pattern := range self {
			method, path, _ := strings.Cut(pattern, " ")
			for _, c := range callers {
				if c.kind != isMember {
					continue
				}
				p := strings.NewReplacer("{account_id}", acct, "{user_id}", c.userID).Replace(path)
				if got := matrixCall(t, e, c, method, p); got.status != http.StatusOK {
					t.Errorf("%s as %s on their own user = %d, want 200:\n%s", pattern, c.name, got.status, got.body)
				}
			}
		}
	})
}

// matrixCheck calls the route of pattern as c, on a fresh user (number n)
// and a fresh API key of the account where the route names one, and checks
// the answer against the policy table.
func matrixCheck(t *testing.T, e *pageEnv, acct, pattern string, c *matrixCaller, n int) {
	t.Helper()
	rl := policy[pattern]
	method, path, _ := strings.Cut(pattern, " ")
	target, key := missingID, missingID
	if strings.Contains(path, "{user_id}") {
		u, err := e.svc.InviteUser(e.ctx, roster.OperatorActor(), acct, roster.InviteInput{FirstName: "Target",
			LastName: fmt.Sprintf("Number%d", n), Email: fmt.Sprintf("target%d@acme.example.com", n),
			Roles: []roster.RoleID{roster.RoleSupport}})
		if err != nil {
			t.Fatal(err)
		}
		target = u.ID
	}
	if strings.Contains(path, "{key_id}") {
		k, _, err := e.svc.CreateAPIKey(e.ctx, roster.OperatorActor(), acct, adminEmail, "target")
		if err != nil {
			t.Fatal(err)
		}
		key = k.ID
		// One user holds at most 100 keys: each call's goes after it.
		defer func() {
			if err := e.svc.DeleteAPIKey(e.ctx, roster.OperatorActor(), acct, key); err != nil && roster.ErrorCode(err) != roster.CodeNotFound {
				t.Fatal(err)
			}
		}()
	}
	fill := func(accountID string) string {
		return strings.NewReplacer("{account_id}", accountID, "{user_id}", target, "{key_id}", key,
			"{role_id}", string(roster.RoleNumbersReadOnly), "{$}", "").Replace(path)
	}
	name := fmt.Sprintf("%s as %s", pattern, c.name)
	before := snapshot(t, e.svc, acct)
	got := matrixCall(t, e, c, method, fill(acct))
	refused := got.status == 401 || got.status == 403 || rl != anyone && (got.status == 404 && rl.permission() != "" ||
		got.status == http.StatusSeeOther && strings.HasPrefix(got.header.Get("Location"), "/sign-in"))
	switch {
	case got.status >= 500:
		t.Errorf("%s = %d:\n%s", name, got.status, got.body)
		return
	case matrixAllows(rl, c):
		if refused {
			t.Errorf("%s = %d %s, want it let through (policy %q)", name, got.status, got.header.Get("Location"), rl)
		}
		return
	}
	if after := snapshot(t, e.svc, acct); after != before {
		t.Errorf("%s (refused) changed the account:\n%s\nwant\n%s", name, after, before)
	}
	switch want := matrixRefusal(rl, c, isAPIPath(path)); {
	case want == http.StatusSeeOther:
		if got.status != want || !strings.HasPrefix(got.header.Get("Location"), "/sign-in") {
			t.Errorf("%s = %d %s, want the sign-in page (policy %q)", name, got.status, got.header.Get("Location"), rl)
		}
	case got.status != want:
		t.Errorf("%s = %d, want %d (policy %q):\n%s", name, got.status, want, rl, got.body)
	case want == http.StatusNotFound && strings.Contains(path, "{account_id}"):
		missing := matrixCall(t, e, c, method, fill(missingID))
		if missing.status != got.status || missing.body != got.body {
			t.Errorf("%s = %d\n%s\nwant the same answer as for an account that does not exist: %d\n%s",
				name, got.status, got.body, missing.status, missing.body)
		}
	}
}

// selfRoutes returns the patterns a member may use on their own user.
func selfRoutes() []string {
	var out []string
	for p, rl := range policy {
		if rl == selfOrTeam {
			out = append(out, p)
		}
	}
	slices.Sort(out)
	return out
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func isAPIPath(path string) bool {
	return strings.HasPrefix(path, "/api/") || path == "/healthz" || path == "/readyz"
}

// matrixAllows says whether the policy lets caller c use a route of rule rl.
func matrixAllows(rl rule, c *matrixCaller) bool {
	switch rl {
	case anyone:
		return true
	case operator:
		return c.kind == operatorCaller
	case gateway:
		return c.kind == gatewayCaller
	case signedIn:
		return c.kind == isMember || c.kind == other
	}
	return c.kind == isMember && c.access.Can(rl.permission())
}

// matrixRefusal is the answer a refused caller gets.
func matrixRefusal(rl rule, c *matrixCaller, api bool) int {
	switch {
	case rl == operator || rl == gateway || c.kind == ended || c.kind == anonymous || c.kind == operatorCaller || c.kind == gatewayCaller:
		if api {
			return http.StatusUnauthorized
		}
		return http.StatusSeeOther
	case c.kind == other:
		return http.StatusNotFound
	}
	return http.StatusForbidden
}

// matrixCall sends one request as c: on the API with c's key (a change
// carries an empty JSON object), on a page from c's browser (a form with
// only its CSRF field).
func matrixCall(t *testing.T, e *pageEnv, c *matrixCaller, method, path string) *page {
	t.Helper()
	var body io.Reader
	req, err := http.NewRequest(method, e.srv.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	client := http.DefaultClient
	switch {
	case !isAPIPath(path):
		client = c.b.client
		req.Header.Set("X-Forwarded-For", c.b.ip)
		if method == http.MethodPost {
			// A fresh CSRF field, as a browser has from the form's page.
			c.b.get(t, "/forgot-password").want(t, http.StatusOK)
			body = strings.NewReader(url.Values{"csrf": {c.b.csrf}}.Encode())
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
	case method != http.MethodGet && method != http.MethodDelete:
		body = strings.NewReader("{}")
		req.Header.Set("Content-Type", "application/json")
	}
	if body != nil {
		req.Body = io.NopCloser(body)
	}
	if c.key != "" && isAPIPath(path) {
		req.Header.Set("Authorization", "Bearer "+c.key)
	}
	res, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	data, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return &page{rq: method + " " + path, status: res.StatusCode, header: res.Header, body: string(data)}
}
