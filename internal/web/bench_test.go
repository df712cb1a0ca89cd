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
			srv := httptest.NewServer(NewServer(slog.New(slog.NewTextHandler(io.Discard, nil)), svc))
			defer srv.Close()
			url := srv.URL + userPath(acct.ID, admin.ID)
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
						b.Errorf("GET user = %d", res.StatusCode)
						return
					}
				}
			})
		})
	}
}
