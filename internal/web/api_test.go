package web

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"

	"roster"
)

// testEnv is the real server on a real store, with the OpenAPI document it
// serves; every response a test gets is validated against that document.
type testEnv struct {
	store  roster.Store
	svc    *roster.Service
	srv    *httptest.Server
	logs   *syncBuffer
	doc    *openapi3.T
	router routers.Router
}

func newTestEnv(t *testing.T, store roster.Store, edit ...func(*Options)) *testEnv {
	t.Helper()
	return newTestEnvConfig(t, store, nil, edit...)
}

// newTestEnvWith is newTestEnv with a clock (nil: the system's) and options
// beyond the secret.
func newTestEnvWith(t *testing.T, store roster.Store, clock roster.Clock, opts Options) *testEnv {
	t.Helper()
	return newTestEnvConfig(t, store, []func(*roster.Config){func(c *roster.Config) { c.Clock = clock }},
		func(o *Options) { opts.Secret = o.Secret; *o = opts })
}

// newTestEnvConfig is newTestEnv with changes to the service configuration.
func newTestEnvConfig(t *testing.T, store roster.Store, mods []func(*roster.Config), edit ...func(*Options)) *testEnv {
	t.Helper()
	cfg := roster.Config{StaffDomains: []string{"tatacommunications.com"}, Secret: make([]byte, 32)}
	for _, m := range mods {
		m(&cfg)
	}
	svc := roster.NewService(store, cfg)
	logs := &syncBuffer{}
	opts := Options{Secret: make([]byte, 32)}
	for _, f := range edit {
		f(&opts)
	}
	srv := httptest.NewServer(NewServer(slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})), svc, opts))
	t.Cleanup(srv.Close)
	e := &testEnv{store: store, svc: svc, srv: srv, logs: logs}

	res, err := srv.Client().Get(srv.URL + "/api/v1/openapi.json")
	if err != nil {
		t.Fatalf("GET /api/v1/openapi.json: %v", err)
	}
	data, err := io.ReadAll(res.Body)
	res.Body.Close()
	if err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("GET /api/v1/openapi.json = %d, %v", res.StatusCode, err)
	}
	e.doc = mustLoadDocument(t, data)
	if e.router, err = gorillamux.NewRouter(e.doc); err != nil {
		t.Fatalf("gorillamux.NewRouter: %v", err)
	}
	return e
}

// syncBuffer is a log sink the server's goroutines can share.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// request is one API call. body is sent raw; contentType defaults to
// application/json when there is a body, and "-" sends none.
type request struct {
	method, path, key string
	body              string
	contentType       string
	header            map[string]string
}

func (rq request) String() string { return rq.method + " " + rq.path }

type response struct {
	status int
	header http.Header
	body   []byte
}

// jsonBody marshals v for a request body.
func jsonBody(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("json.Marshal(%v): %v", v, err)
	}
	return string(b)
}

// do sends rq to the server and validates the response against the OpenAPI
// document: its status must be documented for the operation, and its headers
// and body must match the schemas. A request the server accepted must match
// the document too.
func (e *testEnv) do(t *testing.T, rq request) *response {
	t.Helper()
	req, err := http.NewRequest(rq.method, e.srv.URL+rq.path, strings.NewReader(rq.body))
	if err != nil {
		t.Fatalf("NewRequest(%s): %v", rq, err)
	}
	if rq.body == "" {
		req.Body, req.ContentLength = http.NoBody, 0
	}
	if rq.key != "" {
		req.Header.Set("Authorization", "Bearer "+rq.key)
	}
	switch {
	case rq.contentType == "-":
	case rq.contentType != "":
		req.Header.Set("Content-Type", rq.contentType)
	case rq.body != "":
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range rq.header {
		req.Header.Set(k, v)
	}
	res, err := e.srv.Client().Do(req)
	if err != nil {
		t.Fatalf("%s: %v", rq, err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("%s: reading the body: %v", rq, err)
	}
	out := &response{status: res.StatusCode, header: res.Header, body: body}
	e.validate(t, rq, req, out)
	return out
}

func (e *testEnv) validate(t *testing.T, rq request, req *http.Request, res *response) {
	t.Helper()
	ctx := context.Background()
	if res.status >= 400 {
		if ct := res.header.Get("Content-Type"); ct != "application/problem+json" {
			t.Errorf("%s = %d with Content-Type %q, want application/problem+json", rq, res.status, ct)
		}
		var v any
		if err := json.Unmarshal(res.body, &v); err != nil {
			t.Errorf("%s: problem body %q is not JSON: %v", rq, res.body, err)
		} else if err := e.doc.Components.Schemas["Problem"].Value.VisitJSON(v, openapi3.EnableJSONSchema2020()); err != nil {
			t.Errorf("%s: body %s does not match the Problem schema: %v", rq, res.body, err)
		}
		if p := res.problem(t); p.Status != res.status {
			t.Errorf("%s = %d but the problem says status %d", rq, res.status, p.Status)
		}
	}
	route, params, err := e.router.FindRoute(req)
	if err != nil {
		// Only requests for no route or a wrong method are outside the document.
		if res.status != http.StatusNotFound && res.status != http.StatusMethodNotAllowed {
			t.Errorf("%s = %d, but openapi.json has no such operation: %v", rq, res.status, err)
		}
		return
	}
	in := &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route,
		Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc, MultiError: true}}
	if res.status < 300 {
		req.Body = io.NopCloser(strings.NewReader(rq.body))
		if err := openapi3filter.ValidateRequest(ctx, in); err != nil {
			t.Errorf("%s was accepted (%d) but does not match openapi.json: %v", rq, res.status, err)
		}
	}
	out := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: res.status, Header: res.header,
		Options: &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true}}
	out.SetBodyBytes(res.body)
	if err := openapi3filter.ValidateResponse(ctx, out); err != nil {
		t.Errorf("%s = %d %s\ndoes not match openapi.json: %v", rq, res.status, res.body, err)
	}
}

// decode unmarshals the body into v.
func (r *response) decode(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("decoding %s: %v", r.body, err)
	}
}

func (r *response) problem(t *testing.T) problemJSON {
	t.Helper()
	var p problemJSON
	r.decode(t, &p)
	return p
}

// fields lists the errors[].field of a problem, sorted.
func (r *response) fields(t *testing.T) []string {
	t.Helper()
	var out []string
	for _, f := range r.problem(t).Errors {
		out = append(out, f.Field)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// wantStatus fails the test unless the response has status.
func (r *response) wantStatus(t *testing.T, rq request, status int) {
	t.Helper()
	if r.status != status {
		t.Fatalf("%s = %d %s, want %d", rq, r.status, r.body, status)
	}
}

// account is a test account with its first Admin and their API key.
type account struct {
	id    string
	admin *roster.User
	key   string
}

func fakeHash(pw string) (string, error) { return "test-hash:" + pw, nil }

func (e *testEnv) mustAccount(t *testing.T, name string) account {
	t.Helper()
	domain := strings.ToLower(name) + ".example.com"
	acct, admin, err := e.svc.CreateAccount(context.Background(), roster.CreateAccountInput{Name: name,
		AdminEmail: "alice@" + domain, AdminFirstName: "Alice", AdminLastName: "Admin", AdminPassword: "unused"}, fakeHash)
	if err != nil {
		t.Fatalf("CreateAccount(%q) = %v", name, err)
	}
	return account{id: acct.ID, admin: admin, key: e.mustKey(t, acct.ID, admin.Email)}
}

func (e *testEnv) mustKey(t *testing.T, accountID, email string) string {
	t.Helper()
	_, secret, err := e.svc.CreateAPIKey(context.Background(), roster.OperatorActor(), accountID, email, "test key")
	if err != nil {
		t.Fatalf("CreateAPIKey(%s) = %v", email, err)
	}
	return secret
}

// mustInvite invites a user as the operator.
func (e *testEnv) mustInvite(t *testing.T, accountID, first, last, email string, roles ...roster.RoleID) *roster.User {
	t.Helper()
	u, err := e.svc.InviteUser(context.Background(), roster.OperatorActor(), accountID,
		roster.InviteInput{FirstName: first, LastName: last, Email: email, Roles: roles})
	if err != nil {
		t.Fatalf("InviteUser(%s) = %v", email, err)
	}
	return u
}

// mustActiveUser invites a user, activates them the way registration will,
// and gives them an API key.
func (e *testEnv) mustActiveUser(t *testing.T, accountID, first, last, email string, roles ...roster.RoleID) (*roster.User, string) {
	t.Helper()
	u := e.mustInvite(t, accountID, first, last, email, roles...)
	ctx := context.Background()
	err := e.store.Update(ctx, func(tx roster.Tx) error {
		v, err := tx.UserForUpdate(ctx, accountID, u.ID)
		if err != nil {
			return err
		}
		v.Status, v.JoinedAt, v.UpdatedAt = roster.StatusActive, e.svc.Now(), e.svc.Now()
		v.Version++
		u = v
		return tx.UpdateUser(ctx, v)
	})
	if err != nil {
		t.Fatalf("activating %s: %v", email, err)
	}
	return u, e.mustKey(t, accountID, email)
}

// snapshot describes everything a failed request must leave unchanged in an
// account: every user with its version, and the audit log.
func (e *testEnv) snapshot(t *testing.T, accountID string) string {
	t.Helper()
	return snapshot(t, e.svc, accountID)
}

// snapshot describes an account as testEnv.snapshot does.
func snapshot(t *testing.T, svc *roster.Service, accountID string) string {
	t.Helper()
	ctx, op := context.Background(), roster.OperatorActor()
	page, err := svc.ListUsers(ctx, op, accountID, roster.ListQuery{Sort: roster.Sort{Field: roster.SortName}, Limit: roster.MaxLimit})
	if err != nil {
		t.Fatalf("ListUsers: %v", err)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "total %d\n", page.Total)
	for _, u := range page.Items {
		fmt.Fprintf(&b, "%s %s %s v%d %s %s\n", u.ID, u.Email, u.Status, u.Version, u.Roles, u.AccessUntil.Format(time.RFC3339))
	}
	events, err := svc.AuditEvents(ctx, op, accountID, roster.AuditQuery{Limit: roster.MaxLimit})
	if err != nil {
		t.Fatalf("AuditEvents: %v", err)
	}
	for _, ev := range events.Items {
		fmt.Fprintf(&b, "event %s %s\n", ev.ID, ev.Action)
	}
	return b.String()
}

func usersPath(accountID string) string { return "/api/v1/accounts/" + accountID + "/users" }

func userPath(accountID, userID string) string { return usersPath(accountID) + "/" + userID }
