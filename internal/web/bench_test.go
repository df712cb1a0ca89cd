package web

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"

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
	stores := map[string]func(testing.TB) roster.Store{
		"sqlite": func(tb testing.TB) roster.Store { return testdb.SQLite(tb) },
	}
	if os.Getenv(testdb.EnvDatabaseURL) != "" {
		stores["postgres"] = func(tb testing.TB) roster.Store { return testdb.Postgres(tb) }
	}
	for name, open := range stores {
		b.Run(name, func(b *testing.B) {
			svc := roster.NewService(open(b), roster.Config{StaffDomains: []string{"tatacommunications.com"}, Secret: make([]byte, 32)})
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
}
