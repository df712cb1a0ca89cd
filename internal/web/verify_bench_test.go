package web

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"roster"
	"roster/internal/testdb"
)

// BenchmarkVerifyKeyHandler is the server's own work for one gateway check
// when the key check cache answers (as in roster serve once warm): the
// whole handler chain, from the request line parsed to the answer written,
// without the network or the database. Its CPU per check is what the HTTP
// benchmark's "srv CPU ms/req" adds to the ceiling's.
func BenchmarkVerifyKeyHandler(b *testing.B) {
	store := testdb.SQLite(b)
	var mu sync.Mutex
	cached := map[string][2]any{}
	svc := roster.NewService(store, roster.Config{StaffDomains: []string{"tatacommunications.com"}, Secret: make([]byte, 32),
		KeyOwner: func(ctx context.Context, hash []byte) (*roster.APIKey, *roster.User, error) {
			mu.Lock()
			defer mu.Unlock()
			if v, ok := cached[string(hash)]; ok {
				return v[0].(*roster.APIKey), v[1].(*roster.User), nil
			}
			k, u, err := store.APIKeyOwner(ctx, hash)
			if err == nil {
				cached[string(hash)] = [2]any{k, u}
			}
			return k, u, err
		}})
	key := benchKey(b, svc)
	h := NewServer(slog.New(slog.NewTextHandler(io.Discard, nil)), svc, Options{Secret: make([]byte, 32), GatewayToken: testGatewayToken})
	body := `{"key":"` + key + `","permission":"logs.view","client_ip":"192.0.2.7"}`
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			req := httptest.NewRequest(http.MethodPost, "/api/v1/keys/verify", strings.NewReader(body))
			req.Header.Set("Authorization", "Bearer "+testGatewayToken)
			req.Header.Set("Content-Type", "application/json")
			w := httptest.NewRecorder()
			h.ServeHTTP(w, req)
			if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), `"valid":true`) {
				b.Fatalf("verify = %d %s", w.Code, w.Body)
			}
		}
	})
}

// benchKey creates an account whose Admin has a key scoped to logs.view and
// usage.view from 192.0.2.0/24, the key the check benchmarks verify.
func benchKey(b *testing.B, svc *roster.Service) string {
	b.Helper()
	ctx := context.Background()
	acct, admin, err := svc.CreateAccount(ctx, roster.CreateAccountInput{Name: "Bench", AdminEmail: "alice@bench.example.com",
		AdminFirstName: "Alice", AdminLastName: "Admin", AdminPassword: "unused"}, fakeHash)
	if err != nil {
		b.Fatal(err)
	}
	_, key, err := svc.CreateKey(ctx, roster.OperatorActor(), acct.ID, roster.KeyInput{Name: "bench", UserEmail: admin.Email,
		Scope: []string{"logs.view", "usage.view"}, AllowedIPs: []string{"192.0.2.0/24"}})
	if err != nil {
		b.Fatal(err)
	}
	return key
}
