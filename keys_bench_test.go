package roster_test

import (
	"net/netip"
	"testing"
	"time"

	"roster"
	"roster/internal/testdb"
)

// BenchmarkVerifyKey measures the gateway check in process, as it is now:
// one store read of the key and its creator per call, the decision, and
// the recorded use; with a scope, an allow-list and a permission to check.
// Run with
//
//	go test -run '^$' -bench VerifyKey -benchmem .
//
// (with ROSTER_TEST_DATABASE_URL set for PostgreSQL too).
func BenchmarkVerifyKey(b *testing.B) {
	testdb.EachBench(b, func(b *testing.B, s roster.Store) {
		e := newEnv(b, s)
		_, secret, err := e.svc.CreateKey(e.ctx, e.admin, e.acct.ID, roster.KeyInput{Name: "bench",
			AllowedIPs: []string{"192.0.2.0/24", "2001:db8::/32"}, Scope: []string{"logs.view", "usage.view"}})
		if err != nil {
			b.Fatal(err)
		}
		b.Run("serial", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				v, err := e.svc.VerifyKey(e.ctx, secret, "logs.view", "192.0.2.7")
				if err != nil || !v.Valid {
					b.Fatalf("VerifyKey = %+v, %v", v, err)
				}
			}
		})
		b.Run("parallel", func(b *testing.B) {
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					v, err := e.svc.VerifyKey(e.ctx, secret, "logs.view", "192.0.2.7")
					if err != nil || !v.Valid {
						b.Errorf("VerifyKey = %+v, %v", v, err)
						return
					}
				}
			})
		})
		b.Run("malformed", func(b *testing.B) {
			b.ReportAllocs()
			bad := secret[:len(secret)-1] + "a"
			if bad == secret {
				bad = secret[:len(secret)-1] + "b"
			}
			for b.Loop() {
				if v, _ := e.svc.VerifyKey(e.ctx, bad, "", ""); v.Reason != roster.KeyMalformed {
					b.Fatalf("VerifyKey(bad checksum) = %+v", v)
				}
			}
		})
	})
}

// BenchmarkDecideKey measures the decision alone, over a key and creator
// already in memory: what a check costs once a cache holds them.
func BenchmarkDecideKey(b *testing.B) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	u := &roster.User{ID: roster.NewID(now), AccountID: roster.NewID(now), Roles: roster.NewRoleSet(roster.RoleCommunicationManager),
		Status: roster.StatusActive}
	k := &roster.APIKey{ID: roster.NewID(now), AccountID: u.AccountID, UserID: u.ID,
		AllowedIPs: []string{"198.51.100.0/24", "192.0.2.0/24"}, Scope: []string{"logs.view", "usage.view"}}
	ip := netip.MustParseAddr("192.0.2.7")
	b.ReportAllocs()
	for b.Loop() {
		if v := roster.DecideKey(k, u, now, "logs.view", ip); !v.Valid {
			b.Fatalf("DecideKey = %+v", v)
		}
	}
}
