package sqlstore_test

import (
	"context"
	"os"
	"testing"
	"time"

	"roster"
	"roster/internal/testdb"
)

// BenchmarkAuditEvents measures the audit log's pages on each engine, on
// an account of 20,000 events beside another of 20,000: the newest page,
// a deep page through its cursor (it should cost what the first costs),
// each filter, and a CSV export's batch of 1,000.
//
//	go test -run '^$' -bench AuditEvents ./internal/sqlstore/
func BenchmarkAuditEvents(b *testing.B) {
	only := os.Getenv(testdb.EnvStore)
	if only != "postgres" {
		b.Run("sqlite", func(b *testing.B) { benchAuditEvents(b, testdb.SQLite(b)) })
	}
	if only != "sqlite" {
		b.Run("postgres", func(b *testing.B) { benchAuditEvents(b, testdb.Postgres(b)) })
	}
}

func benchAuditEvents(b *testing.B, s roster.Store) {
	ctx := context.Background()
	accts := testdb.Seed(b, s, 2, 1)
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	testdb.SeedAudit(b, s, accts[0], 20000, start)
	actor, target := testdb.SeedAudit(b, s, accts[1], 20000, start)
	if a, ok := s.(interface{ Analyze(context.Context) error }); ok {
		if err := a.Analyze(ctx); err != nil {
			b.Fatal(err)
		}
	}
	acct := accts[1]
	deep := &roster.AuditCursor{At: roster.Micros(start.Add(100 * time.Minute)), Seq: 100}
	for _, c := range []struct {
		name string
		q    roster.AuditQuery
	}{
		{"page1", roster.AuditQuery{Limit: 25}},
		{"deep", roster.AuditQuery{Limit: 25, After: deep}},
		{"actor", roster.AuditQuery{Limit: 25, ActorID: actor}},
		{"target", roster.AuditQuery{Limit: 25, TargetID: target}},
		{"action", roster.AuditQuery{Limit: 25, Actions: []string{roster.ActionUserDeleted}}},
		{"actor-range", roster.AuditQuery{Limit: 25, ActorID: actor, Since: start.Add(1000 * time.Minute), Until: start.Add(3000 * time.Minute)}},
		{"export-batch", roster.AuditQuery{Limit: roster.AuditExportBatch}},
	} {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				p, err := s.AuditEvents(ctx, acct, c.q)
				if err != nil || len(p.Items) == 0 {
					b.Fatalf("AuditEvents = %d events, %v", len(p.Items), err)
				}
			}
		})
	}
}
