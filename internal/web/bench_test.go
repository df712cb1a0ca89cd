package web

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"roster"
	"roster/internal/testdb"
)

// BenchmarkGetUser measures the hottest read, GET one user, through the
// whole HTTP stack (authentication, routing, logging, JSON) in parallel.
func BenchmarkGetUser(b *testing.B) {
	benchRead(b, func(acct, admin string) string { return userPath(acct, admin) })
}

// BenchmarkListUsers measures a page of 100 users sorted by name, with
// its total, through the whole HTTP stack.
func BenchmarkListUsers(b *testing.B) {
	benchRead(b, func(acct, _ string) string { return usersPath(acct) + "?limit=100&sort=name" })
}

// benchRead runs GET path(account, admin) in parallel, 16 at a time, on
// an account of 300 users.
func benchRead(b *testing.B, path func(acct, admin string) string) {
	testdb.EachBench(b, func(b *testing.B, store roster.Store) {
		svc := roster.NewService(store, roster.Config{StaffDomains: []string{"tatacommunications.com"}, Secret: make([]byte, 32)})
		ctx := context.Background()
		acct, admin, err := svc.CreateAccount(ctx, roster.CreateAccountInput{Name: "Bench", AdminEmail: "alice@bench.example.com",
			AdminFirstName: "Alice", AdminLastName: "Admin", AdminPassword: "unused"}, fakeHash)
		if err != nil {
			b.Fatal(err)
		}
		_, key, err := svc.CreateAPIKey(ctx, roster.OperatorActor(), acct.ID, admin.Email, "bench")
		if err != nil {
			b.Fatal(err)
		}
		if err := svc.Store().(roster.BulkLoader).BulkInsertUsers(ctx, testdb.Users(acct.ID, 300, 1)); err != nil {
			b.Fatal(err)
		}
		srv := httptest.NewServer(NewServer(slog.New(slog.NewTextHandler(io.Discard, nil)), svc, Options{Secret: make([]byte, 32)}))
		defer srv.Close()
		url := srv.URL + path(acct.ID, admin.ID)
		client := srv.Client()
		client.Transport.(*http.Transport).MaxIdleConnsPerHost = 64
		b.SetParallelism(8) // 16 concurrent requests on 2 cores, as in the load target
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				req, _ := http.NewRequest(http.MethodGet, url, nil)
				req.Header.Set("Authorization", "Bearer "+key)
				res, err := client.Do(req)
				if err != nil {
					b.Error(err)
					return
				}
				_, _ = io.Copy(io.Discard, res.Body)
				res.Body.Close()
				if res.StatusCode != http.StatusOK {
					b.Errorf("GET %s = %d", url, res.StatusCode)
					return
				}
			}
		})
	})
}

// freePasswords hashes for free: "plain:" + the password. With it a sign-in
// costs only what surrounds the hash, which BenchmarkSignInOverhead measures.
type freePasswords struct{}

type freeWork struct{}

func (freePasswords) Admit() (roster.PasswordWork, error) { return freeWork{}, nil }
func (freePasswords) Check(string, ...string) error       { return nil }
func (freePasswords) Busy(error) bool                     { return false }
func (freeWork) Hash(_ context.Context, pw string) (string, error) {
	return "plain:" + pw, nil
}
func (freeWork) Verify(_ context.Context, pw, encoded string) (bool, error) {
	return encoded == "plain:"+pw, nil
}
func (freeWork) Done() {}

// BenchmarkSignInOverhead measures everything a sign-in costs besides the
// password hash, which is made free: POST /sign-in through the whole HTTP
// stack (CSRF check, throttles, the store's reads and writes, the session,
// the redirect), one at a time. The budget for it is 2 ms. Run with
//
//	go test -run '^$' -bench SignInOverhead -count 6 ./internal/web | benchstat -
//
// (with ROSTER_TEST_DATABASE_URL set for PostgreSQL too).
func BenchmarkSignInOverhead(b *testing.B) {
	testdb.EachBench(b, func(b *testing.B, store roster.Store) {
		svc := roster.NewService(store, roster.Config{StaffDomains: []string{"tatacommunications.com"},
			Secret: make([]byte, 32), Passwords: freePasswords{}})
		ctx := context.Background()
		const email, pw = "alice@bench.example.com", "correct horse battery staple"
		if _, _, err := svc.CreateAccount(ctx, roster.CreateAccountInput{Name: "Bench", AdminEmail: email,
			AdminFirstName: "Alice", AdminLastName: "Admin", AdminPassword: pw},
			func(p string) (string, error) { return "plain:" + p, nil }); err != nil {
			b.Fatal(err)
		}
		srv := httptest.NewServer(NewServer(slog.New(slog.NewTextHandler(io.Discard, nil)), svc, Options{Secret: make([]byte, 32)}))
		defer srv.Close()
		client := srv.Client()
		client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
		// The browser's CSRF cookie and form token, from the page.
		res, err := client.Get(srv.URL + "/sign-in")
		if err != nil {
			b.Fatal(err)
		}
		page, _ := io.ReadAll(res.Body)
		res.Body.Close()
		m := csrfRE.FindSubmatch(page)
		if m == nil || len(res.Cookies()) == 0 {
			b.Fatal("no CSRF token on /sign-in")
		}
		cookie := res.Cookies()[0]
		form := url.Values{"csrf": {string(m[1])}, "email": {email}, "password": {pw}}.Encode()
		cpu0 := testdb.ProcessCPU() // client and server: this process does both
		for b.Loop() {
			req, _ := http.NewRequest(http.MethodPost, srv.URL+"/sign-in", strings.NewReader(form))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.AddCookie(cookie)
			res, err := client.Do(req)
			if err != nil {
				b.Fatal(err)
			}
			_, _ = io.Copy(io.Discard, res.Body)
			res.Body.Close()
			if res.StatusCode != http.StatusSeeOther {
				b.Fatalf("POST /sign-in = %d", res.StatusCode)
			}
		}
		b.ReportMetric(float64(testdb.ProcessCPU()-cpu0)/float64(time.Millisecond)/float64(b.N), "cpu-ms/op")
	})
}
