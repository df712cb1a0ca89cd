package sqlstore_test

import (
	"context"
	"os"
	"strconv"
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
			cpu := processCPU()
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
		cpu := processCPU()
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
	if d := processCPU() - start; d > 0 {
		b.ReportMetric(float64(d.Nanoseconds())/float64(b.N), "cpu-ns/op")
	}
}
