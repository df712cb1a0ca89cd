package web

import (
	"context"
	"html"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"roster"
	"roster/internal/testdb"
)

// BenchmarkUsersPage measures the server time of the Users listing page on
// an account of 100,000 users (ROSTER_BENCH_USERS to change it): the whole
// handler (session, account, list, template) called directly, one request
// at a time, for the first page by name, a search, two filters (one Is
// Not) and a page half-way down the list. It reports the median and the
// 99th percentile of the requests, the process CPU per request and the
// page's size. Run with
//
//	go test -run '^$' -bench UsersPage -benchtime 2000x ./internal/web/
//
// (with ROSTER_TEST_DATABASE_URL set for PostgreSQL too).
func BenchmarkUsersPage(b *testing.B) {
	n := 100000
	if v := os.Getenv("ROSTER_BENCH_USERS"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n < 1 {
			b.Fatalf("ROSTER_BENCH_USERS=%q: want a positive number", v)
		}
	}
	testdb.EachBench(b, func(b *testing.B, store roster.Store) {
		h, cookies, acct := usersPageServer(b, store, n)
		list := usersPagePath(acct)
		cases := []struct{ name, path string }{
			{"first_page", list},
			{"search", list + "?q=ann"},
			{"filters", list + "?filter=status:is:active&filter=role:is_not:admin"},
			{"later_page", halfWay(b, h, cookies, list, n)},
		}
		for _, c := range cases {
			b.Run(c.name, func(b *testing.B) {
				var took []time.Duration
				size := 0
				cpu0 := testdb.ProcessCPU() // on a busy machine the wall time says less
				for b.Loop() {
					req := httptest.NewRequest(http.MethodGet, c.path, nil)
					for _, ck := range cookies {
						req.AddCookie(ck)
					}
					rec := httptest.NewRecorder()
					start := time.Now()
					h.ServeHTTP(rec, req)
					took = append(took, time.Since(start))
					if rec.Code != http.StatusOK {
						b.Fatalf("GET %s = %d", c.path, rec.Code)
					}
					size = rec.Body.Len()
				}
				slices.Sort(took)
				ms := func(q float64) float64 {
					return float64(took[int(q*float64(len(took)-1))]) / float64(time.Millisecond)
				}
				b.ReportMetric(ms(.5), "p50-ms")
				b.ReportMetric(ms(.99), "p99-ms")
				b.ReportMetric(float64(size), "html-bytes")
				b.ReportMetric(float64(testdb.ProcessCPU()-cpu0)/float64(time.Millisecond)/float64(b.N), "cpu-ms/op")
			})
		}
	})
}

// usersPageServer seeds an account of n users besides its Admin, signs the
// Admin in and returns the handler, the browser's cookies and the account.
func usersPageServer(b *testing.B, store roster.Store, n int) (http.Handler, []*http.Cookie, string) {
	ctx := context.Background()
	svc := roster.NewService(store, roster.Config{StaffDomains: []string{"tatacommunications.com"},
		Secret: make([]byte, 32), Passwords: freePasswords{}})
	const email, pw = "alice@bench.example.com", "correct horse battery staple"
	acct, _, err := svc.CreateAccount(ctx, roster.CreateAccountInput{Name: "Bench", AdminEmail: email,
		AdminFirstName: "Alice", AdminLastName: "Admin", AdminPassword: pw},
		func(p string) (string, error) { return "plain:" + p, nil })
	if err != nil {
		b.Fatal(err)
	}
	all := testdb.Users(acct.ID, n, 1)
	for len(all) > 0 {
		batch := all[:min(10000, len(all))]
		all = all[len(batch):]
		if err := store.(roster.BulkLoader).BulkInsertUsers(ctx, batch); err != nil {
			b.Fatal(err)
		}
	}
	if a, ok := store.(interface{ Analyze(context.Context) error }); ok {
		if err := a.Analyze(ctx); err != nil {
			b.Fatal(err)
		}
	}
	h := NewServer(slog.New(slog.NewTextHandler(io.Discard, nil)), svc, Options{Secret: make([]byte, 32)})

	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/sign-in", nil))
	m := csrfRE.FindStringSubmatch(rec.Body.String())
	if m == nil {
		b.Fatal("no CSRF token on /sign-in")
	}
	cookies := rec.Result().Cookies()
	req := httptest.NewRequest(http.MethodPost, "/sign-in",
		strings.NewReader(url.Values{"csrf": {m[1]}, "email": {email}, "password": {pw}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for _, c := range cookies {
		req.AddCookie(c)
	}
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusSeeOther {
		b.Fatalf("POST /sign-in = %d", rec.Code)
	}
	return h, append(cookies, rec.Result().Cookies()...), acct.ID
}

var nextLinkRE = regexp.MustCompile(`<a href="([^"]*)" rel="next">`)

// halfWay follows the page's Next links, 200 rows a page, to the middle of
// the list of n users and returns that page's address with the default
// page size.
func halfWay(b *testing.B, h http.Handler, cookies []*http.Cookie, list string, n int) string {
	path := list + "?limit=200"
	for range n / 400 {
		req := httptest.NewRequest(http.MethodGet, path, nil)
		for _, c := range cookies {
			req.AddCookie(c)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		m := nextLinkRE.FindStringSubmatch(rec.Body.String())
		if m == nil {
			b.Fatalf("GET %s = %d without a Next link", path, rec.Code)
		}
		path = html.UnescapeString(m[1])
	}
	return strings.Replace(path, "limit=200&", "", 1)
}
