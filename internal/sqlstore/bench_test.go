package sqlstore_test

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"roster"
	"roster/internal/testdb"
)

// benchUsers is the size of the benchmarked account (ROSTER_BENCH_USERS,
// default 20,000); four more accounts of the same size share the database,
// so that the account is a fifth of the table, as one large customer among
// others (PostgreSQL's planner weighs an index against scanning the table).
func benchUsers(b *testing.B) int {
	if v := os.Getenv("ROSTER_BENCH_USERS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			b.Fatalf("ROSTER_BENCH_USERS=%q: want a positive number", v)
		}
		return n
	}
	return 20000
}

// BenchmarkListUsers measures the list, search and look-up queries of the
// Users page on each engine. "deep" is the last page of the account reached
// through the cursor; it should cost what "page1" costs.
//
//	go test -run '^$' -bench ListUsers ./internal/sqlstore/
//	ROSTER_BENCH_USERS=100000 ROSTER_TEST_DATABASE_URL=postgres://... go test -run '^$' -bench ListUsers ./internal/sqlstore/
func BenchmarkListUsers(b *testing.B) {
	only := os.Getenv(testdb.EnvStore)
	if only != "postgres" {
		b.Run("sqlite", func(b *testing.B) { benchListUsers(b, testdb.SQLite(b)) })
	}
	if only != "sqlite" {
		b.Run("postgres", func(b *testing.B) { benchListUsers(b, testdb.Postgres(b)) })
	}
}

func benchListUsers(b *testing.B, s roster.Store) {
	ctx := context.Background()
	n := benchUsers(b)
	accts := testdb.Seed(b, s, 5, n)
	if a, ok := s.(interface{ Analyze(context.Context) error }); ok {
		if err := a.Analyze(ctx); err != nil {
			b.Fatal(err)
		}
	}
	acct := accts[1]
	byName := roster.Sort{Field: roster.SortName}

	// Walk to the last page once, for the deep cursor.
	q := roster.ListQuery{Sort: byName, Limit: 100}
	var deep *roster.Cursor
	for pages := 0; ; pages++ {
		p, err := s.ListUsers(ctx, acct, q)
		if err != nil {
			b.Fatal(err)
		}
		if p.NextCursor == nil {
			b.Logf("%d users, %d pages of 100", p.Total, pages+1)
			deep = q.After
			break
		}
		q.After = p.NextCursor
	}
	some, err := s.ListUsers(ctx, acct, roster.ListQuery{Sort: byName, Limit: 1, After: deep})
	if err != nil || len(some.Items) == 0 {
		b.Fatalf("ListUsers: %v", err)
	}
	user := some.Items[0]
	filters := []roster.Filter{{Role: roster.RoleSupport}, {Status: roster.StatusActive}}

	for _, c := range []struct {
		name string
		q    roster.ListQuery
	}{
		{"page1", roster.ListQuery{Sort: byName, Limit: 100}},
		{"deep", roster.ListQuery{Sort: byName, Limit: 100, After: deep}},
		{"page1_last_login_desc", roster.ListQuery{Sort: roster.Sort{Field: roster.SortLastLogin, Desc: true}, Limit: 100}},
		{"filtered", roster.ListQuery{Sort: byName, Limit: 100, Filters: filters}},
		{"search_common", roster.ListQuery{Q: "ann", Sort: byName, Limit: 100, Filters: filters}},
		{"search_common_nofilter", roster.ListQuery{Q: "ann", Sort: byName, Limit: 100}},
		{"search_rare", roster.ListQuery{Q: "tomás tanaka", Sort: byName, Limit: 100, Filters: filters}},
		{"search_short", roster.ListQuery{Q: "zo", Sort: byName, Limit: 100}},
		{"email", roster.ListQuery{Q: user.EmailKey, Email: true, Sort: byName, Limit: 100}},
	} {
		b.Run(c.name, func(b *testing.B) {
			var total int64
			cpu := testdb.ProcessCPU()
			for b.Loop() {
				p, err := s.ListUsers(ctx, acct, c.q)
				if err != nil {
					b.Fatal(err)
				}
				total = p.Total
			}
			reportCPU(b, cpu)
			b.ReportMetric(float64(total), "total")
		})
	}
	b.Run("get", func(b *testing.B) {
		cpu := testdb.ProcessCPU()
		for b.Loop() {
			if _, err := s.User(ctx, acct, user.ID); err != nil {
				b.Fatal(err)
			}
		}
		reportCPU(b, cpu)
	})
}

// reportCPU reports the process CPU time per operation since start: on a
// busy machine it says more than the wall time. On PostgreSQL it leaves out
// the server's share.
func reportCPU(b *testing.B, start time.Duration) {
	if d := testdb.ProcessCPU() - start; d > 0 {
		b.ReportMetric(float64(d.Nanoseconds())/float64(b.N), "cpu-ns/op")
	}
}

// BenchmarkInvite measures the write transaction of an invitation (user,
// invitation, outbox message, audit event) from 16 goroutines at once, on
// an account of ROSTER_BENCH_USERS users.
func BenchmarkInvite(b *testing.B) {
	only := os.Getenv(testdb.EnvStore)
	if only != "postgres" {
		b.Run("sqlite", func(b *testing.B) { benchInvite(b, testdb.SQLite(b)) })
	}
	if only != "sqlite" {
		b.Run("postgres", func(b *testing.B) { benchInvite(b, testdb.Postgres(b)) })
	}
}

func benchInvite(b *testing.B, s roster.Store) {
	ctx := context.Background()
	acct := testdb.Seed(b, s, 1, benchUsers(b))[0]
	var seq atomic.Int64
	b.SetParallelism(8) // 16 goroutines on 2 CPUs
	cpu := testdb.ProcessCPU()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			now := time.Now()
			u := &roster.User{ID: roster.NewID(now), AccountID: acct, FirstName: "Bench", LastName: "Invitee",
				Email: fmt.Sprintf("bench.%d@example.org", seq.Add(1)), Roles: roster.NewRoleSet(roster.RoleSupport),
				Status: roster.StatusInvited, InvitedAt: now, UpdatedAt: now, Version: 1}
			u.Keys()
			err := s.Update(ctx, func(tx roster.Tx) error {
				if err := tx.InsertUser(ctx, u); err != nil {
					return err
				}
				inv := &roster.Invitation{ID: roster.NewID(now), AccountID: acct, UserID: u.ID,
					TokenHash: roster.HashSecret(u.ID), CreatedAt: now}
				if err := tx.InsertInvitation(ctx, inv); err != nil {
					return err
				}
				if err := tx.InsertOutbox(ctx, &roster.OutboxMessage{ID: roster.NewID(now), AccountID: acct,
					Kind: roster.MailInvitation, Ref: inv.ID, To: u.Email, CreatedAt: now}); err != nil {
					return err
				}
				return tx.InsertAudit(ctx, &roster.AuditEvent{ID: roster.NewID(now), AccountID: acct, At: now,
					Action: roster.ActionUserInvited, TargetID: u.ID, TargetName: u.FullName(), TargetEmail: u.Email,
					Details: map[string]any{"roles": u.Roles.IDs()}})
			})
			if err != nil {
				b.Error(err)
				return
			}
		}
	})
	reportCPU(b, cpu)
}

// BenchmarkBulkInsertUsers loads batches of 10,000 users, as `roster dev
// seed` does, into a growing database.
func BenchmarkBulkInsertUsers(b *testing.B) {
	only := os.Getenv(testdb.EnvStore)
	if only != "postgres" {
		b.Run("sqlite", func(b *testing.B) { benchBulk(b, testdb.SQLite(b)) })
	}
	if only != "sqlite" {
		b.Run("postgres", func(b *testing.B) { benchBulk(b, testdb.Postgres(b)) })
	}
}

func benchBulk(b *testing.B, s roster.Store) {
	ctx := context.Background()
	const batch = 10000
	acct := testdb.Seed(b, s, 1, 1)[0]
	cpu := testdb.ProcessCPU()
	i := 0
	for b.Loop() {
		b.StopTimer()
		users := testdb.Users(acct, batch, uint64(i+100))
		for j, u := range users {
			u.Email = fmt.Sprintf("bulk.%d.%d@example.org", i, j)
			u.Keys()
		}
		i++
		b.StartTimer()
		if err := s.(roster.BulkLoader).BulkInsertUsers(ctx, users); err != nil {
			b.Fatal(err)
		}
	}
	reportCPU(b, cpu)
	b.ReportMetric(float64(batch*b.N)/b.Elapsed().Seconds(), "users/s")
}
