package web

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"roster"
	"roster/internal/testdb"
)

func TestHealth(t *testing.T) {
	testdb.Each(t, func(t *testing.T, s roster.Store) {
		e := newTestEnv(t, s)
		for _, path := range []string{"/healthz", "/readyz"} {
			rq := request{method: http.MethodGet, path: path}
			res := e.do(t, rq)
			res.wantStatus(t, rq, http.StatusOK)
			if got := strings.TrimSpace(string(res.body)); got != `{"status":"ok"}` {
				t.Errorf("%s = %s, want {\"status\":\"ok\"}", rq, got)
			}
		}
	})
}

// errDatabaseDown stands for a driver error whose text must stay in the log.
var errDatabaseDown = errors.New("dial tcp 10.9.8.7:5432: connect: connection refused (internal-detail)")

// brokenStore is a real store whose Ping and user list fail the way a lost
// database does; everything else, authentication included, works.
type brokenStore struct{ roster.Store }

func (brokenStore) Ping(context.Context) error { return errDatabaseDown }

func (brokenStore) ListUsers(context.Context, string, roster.ListQuery) (*roster.UserPage, error) {
	return nil, errDatabaseDown
}

func TestInternalErrorsAreLoggedNotShown(t *testing.T) {
	testdb.Each(t, func(t *testing.T, s roster.Store) {
		e := newTestEnv(t, brokenStore{s})
		a := e.mustAccount(t, "Acme")
		for _, tc := range []struct {
			rq     request
			status int
		}{
			{request{method: http.MethodGet, path: usersPath(a.id), key: a.key}, http.StatusInternalServerError},
			{request{method: http.MethodGet, path: "/readyz"}, http.StatusServiceUnavailable},
			{request{method: http.MethodGet, path: "/healthz"}, http.StatusOK},
		} {
			before := strings.Count(e.logs.String(), "internal-detail")
			res := e.do(t, tc.rq)
			res.wantStatus(t, tc.rq, tc.status)
			if strings.Contains(string(res.body), "internal-detail") || strings.Contains(string(res.body), "10.9.8.7") {
				t.Errorf("%s = %s, which shows the internal error", tc.rq, res.body)
			}
			if after := strings.Count(e.logs.String(), "internal-detail"); tc.status >= 500 && after <= before {
				t.Errorf("%s = %d, but the log does not have the real error:\n%s", tc.rq, res.status, e.logs.String())
			}
		}
	})
}

func TestPanicBecomesProblem(t *testing.T) {
	logs := &syncBuffer{}
	s := &server{logger: slog.New(slog.NewTextHandler(logs, nil))}
	h := s.logRequests(s.recoverPanics(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
		panic("kaboom internal-detail")
	})))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/api/v1/boom", nil))
	if rec.Code != http.StatusInternalServerError || rec.Header().Get("Content-Type") != "application/problem+json" {
		t.Errorf("panicking handler = %d %q, want 500 application/problem+json", rec.Code, rec.Header().Get("Content-Type"))
	}
	if strings.Contains(rec.Body.String(), "kaboom") {
		t.Errorf("panicking handler answered %s, which shows the panic", rec.Body)
	}
	if l := logs.String(); !strings.Contains(l, "kaboom internal-detail") || !strings.Contains(l, "status=500") {
		t.Errorf("log after a panic = %s, want the panic and a status=500 request line", l)
	}
}

func TestPanicOnAPageBecomesErrorPage(t *testing.T) {
	logs := &syncBuffer{}
	s := &server{logger: slog.New(slog.NewTextHandler(logs, nil)), pages: mustParsePages()}
	h := s.logRequests(s.recoverPanics(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
		panic("kaboom internal-detail")
	})))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/sessions", nil))
	if rec.Code != http.StatusInternalServerError || rec.Header().Get("Content-Type") != "text/html; charset=utf-8" {
		t.Errorf("panicking page = %d %q, want 500 text/html", rec.Code, rec.Header().Get("Content-Type"))
	}
	if strings.Contains(rec.Body.String(), "kaboom") || !strings.Contains(rec.Body.String(), "Sorry, something went wrong") {
		t.Errorf("panicking page answered %s, want a generic error page", rec.Body)
	}
	if l := logs.String(); !strings.Contains(l, "kaboom internal-detail") {
		t.Errorf("log after a panic = %s, want the panic", l)
	}
}

func TestRequestLog(t *testing.T) {
	testdb.Each(t, func(t *testing.T, s roster.Store) {
		e := newTestEnv(t, s)
		a := e.mustAccount(t, "Acme")
		rq := request{method: http.MethodPost, path: usersPath(a.id), key: a.key,
			body: `{"first_name": "Priya", "last_name": "Private", "email": "priya.private@acme.example.com", "roles": ["support"]}`}
		res := e.do(t, rq)
		res.wantStatus(t, rq, http.StatusCreated)
		rq = request{method: http.MethodGet, path: res.header.Get("Location"), key: a.key}
		e.do(t, rq).wantStatus(t, rq, http.StatusOK)
		rq = request{method: http.MethodGet, path: "/api/v1/roles", header: map[string]string{"Authorization": "Bearer wrong-key"}}
		e.do(t, rq).wantStatus(t, rq, http.StatusUnauthorized)

		logs := e.logs.String()
		for _, want := range []string{
			"level=INFO msg=request method=POST pattern=/api/v1/accounts/{account_id}/users status=201 duration=",
			"level=DEBUG msg=request method=GET pattern=/api/v1/accounts/{account_id}/users/{user_id} status=200 duration=",
			"level=INFO msg=request method=GET pattern=/api/v1/roles status=401 duration=",
		} {
			if !strings.Contains(logs, want) {
				t.Errorf("log does not have %q:\n%s", want, logs)
			}
		}
		for _, secret := range []string{a.key, "wrong-key", "Bearer", "Priya", "priya.private", a.id} {
			if strings.Contains(logs, secret) {
				t.Errorf("log has %q, which it must never show:\n%s", secret, logs)
			}
		}
	})
}

func TestCrossOriginProtection(t *testing.T) {
	testdb.Each(t, func(t *testing.T, s roster.Store) {
		e := newTestEnv(t, s)
		a := e.mustAccount(t, "Acme")
		invite := `{"first_name": "Carl", "last_name": "Cross", "email": "carl@acme.example.com", "roles": ["admin"]}`
		before := e.snapshot(t, a.id)
		for _, header := range []map[string]string{
			{"Sec-Fetch-Site": "cross-site"},
			{"Origin": "https://evil.example"},
		} {
			rq := request{method: http.MethodPost, path: usersPath(a.id), key: a.key, body: invite, header: header}
			res := e.do(t, rq)
			res.wantStatus(t, rq, http.StatusForbidden)
			if p := res.problem(t); p.Code != roster.CodeForbidden || !strings.Contains(p.Detail, "Cross-origin") {
				t.Errorf("%s with %v = %s, want a forbidden problem about cross-origin requests", rq, header, res.body)
			}
		}
		if after := e.snapshot(t, a.id); after != before {
			t.Errorf("a cross-origin request changed the account:\n%s\nwant\n%s", after, before)
		}
		// Reads stay possible, and same-origin writes pass.
		rq := request{method: http.MethodGet, path: usersPath(a.id), key: a.key, header: map[string]string{"Sec-Fetch-Site": "cross-site"}}
		e.do(t, rq).wantStatus(t, rq, http.StatusOK)
		rq = request{method: http.MethodPost, path: usersPath(a.id), key: a.key, body: invite, header: map[string]string{"Sec-Fetch-Site": "same-origin"}}
		e.do(t, rq).wantStatus(t, rq, http.StatusCreated)
	})
}

func TestOpenAPIServed(t *testing.T) {
	testdb.Each(t, func(t *testing.T, s roster.Store) {
		e := newTestEnv(t, s)
		rq := request{method: http.MethodGet, path: "/api/v1/openapi.json"}
		res := e.do(t, rq)
		res.wantStatus(t, rq, http.StatusOK)
		if ct := res.header.Get("Content-Type"); ct != "application/json" {
			t.Errorf("%s: Content-Type = %q, want application/json", rq, ct)
		}
		if string(res.body) != string(openAPIDocument) {
			t.Errorf("%s does not serve the embedded openapi.json", rq)
		}
	})
}
