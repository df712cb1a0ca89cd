package postgres_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"roster"
	"roster/internal/sqlstore"
	"roster/internal/testdb"
)

// planNode is the part of EXPLAIN (FORMAT JSON) output the checks read.
type planNode struct {
	NodeType     string     `json:"Node Type"`
	RelationName string     `json:"Relation Name"`
	IndexName    string     `json:"Index Name"`
	Plans        []planNode `json:"Plans"`
}

// nodes lists the plan's nodes depth first, one "Type relation index" line each.
func (n planNode) nodes() []string {
	out := []string{strings.Join(strings.Fields(fmt.Sprintf("%s %s %s", n.NodeType, n.RelationName, n.IndexName)), " ")}
	for _, c := range n.Plans {
		out = append(out, c.nodes()...)
	}
	return out
}

func has(nodes []string, prefix string) bool {
	for _, n := range nodes {
		if strings.HasPrefix(n, prefix) {
			return true
		}
	}
	return false
}

// TestQueryPlans explains the exact statements ListUsers runs, with their
// bound arguments, on a seeded and analysed database, and checks that each
// is served by the index meant for it.
func TestQueryPlans(t *testing.T) {
	if testing.Short() {
		t.Skip("seeds 100,000 users")
	}
	ctx := context.Background()
	db := testdb.Postgres(t)
	// The account is a fifth of the table, as one large customer among
	// others: the planner weighs indexes against scanning the table.
	accts := testdb.Seed(t, db, 5, 20000)
	if err := db.Analyze(ctx); err != nil {
		t.Fatal(err)
	}
	acct := accts[1]
	cursor := &roster.Cursor{ID: roster.NewID(time.Now()), Key: "m", Int: 1}
	type check struct {
		name string
		q    roster.ListQuery
		want []string // prefixes of plan nodes
	}
	var checks []check
	for _, f := range roster.SortFields {
		index := map[roster.SortField]string{roster.SortName: "users_name", roster.SortEmail: "users_email",
			roster.SortStatus: "users_status", roster.SortLastLogin: "users_last_login", roster.SortInvitedAt: "users_invited"}[f]
		for _, desc := range []bool{false, true} {
			sort := roster.Sort{Field: f, Desc: desc}
			scan := "Index Scan users " + index // forward or backward
			c := *cursor
			c.Sort = sort.String()
			checks = append(checks,
				check{"list " + sort.String(), roster.ListQuery{Sort: sort, Limit: 100}, []string{scan, "user_counts"}},
				check{"list " + sort.String() + " after cursor", roster.ListQuery{Sort: sort, Limit: 100, After: &c}, []string{scan, "user_counts"}},
				check{"list " + sort.String() + " before cursor", roster.ListQuery{Sort: sort, Limit: 100, Before: &c}, []string{scan, "user_counts"}},
			)
		}
	}
	byName := roster.Sort{Field: roster.SortName}
	checks = append(checks,
		check{"filtered list", roster.ListQuery{Sort: byName, Limit: 100,
			Filters: []roster.Filter{{Role: roster.RoleSupport}, {Status: roster.StatusActive}}},
			[]string{"Index Scan users users_name", "user_counts"}},
		// Expired access counts as inactive: the total moves the expired
		// users across, counted through users_deadlines.
		check{"inactive with expired", roster.ListQuery{Sort: byName, Limit: 100, Now: time.Now(),
			Filters: []roster.Filter{{Role: roster.RoleSupport}, {Status: roster.StatusInactive}}},
			[]string{"Index Scan users users_name", "user_counts", "Index Scan users users_deadlines"}},
		check{"search", roster.ListQuery{Q: "ann", Sort: byName, Limit: 100},
			[]string{"Bitmap Index Scan users_search"}},
		check{"rare search", roster.ListQuery{Q: "kowa", Sort: byName, Limit: 100},
			[]string{"Bitmap Index Scan users_search"}},
		check{"search with filters", roster.ListQuery{Q: "tomás tanaka", Sort: byName, Limit: 100,
			Filters: []roster.Filter{{Role: roster.RoleSupport}, {Status: roster.StatusActive}}},
			[]string{"Bitmap Index Scan users_search"}},
		check{"email", roster.ListQuery{Q: "someone@example.com", Email: true, Sort: byName, Limit: 100},
			[]string{"Index Scan users users_email"}},
	)
	for _, c := range checks {
		st, err := db.ListUsersStatements(acct, c.q)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		out, err := db.Explain(ctx, st.Page, st.Args...)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		var plans []struct{ Plan planNode }
		if err := json.Unmarshal([]byte(out), &plans); err != nil || len(plans) != 1 {
			t.Fatalf("%s: plan %q: %v", c.name, out, err)
		}
		nodes := plans[0].Plan.nodes()
		for _, w := range c.want {
			if w == "user_counts" {
				if !strings.Contains(strings.Join(nodes, "\n"), " user_counts") {
					t.Errorf("%s: the total does not read user_counts:\n%s", c.name, strings.Join(nodes, "\n"))
				}
				continue
			}
			if !has(nodes, w) {
				t.Errorf("%s: plan lacks %q:\n%s\n%s", c.name, w, st.Page, strings.Join(nodes, "\n"))
			}
		}
		if c.q.Q == "" && has(nodes, "Sort") {
			t.Errorf("%s: plan sorts instead of reading the index in order:\n%s", c.name, strings.Join(nodes, "\n"))
		}
		if has(nodes, "Seq Scan users") {
			t.Errorf("%s: plan reads the whole users table:\n%s", c.name, strings.Join(nodes, "\n"))
		}
	}

	// An identity's users among 100,000 (the seed has no sessions,
	// identities or mail: on those empty tables the planner rightly reads
	// the one page rather than the unique index).
	id, now := roster.NewID(time.Now()), roster.Micros(time.Now())
	for _, c := range []struct {
		name, query string
		args        []any
		want        string
	}{
		{"user by identity", sqlstore.UserByIdentitySQL, []any{id, acct}, "Index Scan users users_identity"},
		{"can sign in", sqlstore.CanSignInSQL, []any{id, now}, "Index Scan users users_identity"},
		{"sign-in identity", sqlstore.SignInIdentitySQL, []any{"a@example.com", now}, "Index Scan users users_identity"},
		{"memberships", sqlstore.MembershipsSQL, []any{id}, "Index Scan users users_identity"},
	} {
		out, err := db.Explain(ctx, c.query, c.args...)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		var plans []struct{ Plan planNode }
		if err := json.Unmarshal([]byte(out), &plans); err != nil || len(plans) != 1 {
			t.Fatalf("%s: plan %q: %v", c.name, out, err)
		}
		nodes := plans[0].Plan.nodes()
		if !has(nodes, c.want) || has(nodes, "Seq Scan users") {
			t.Errorf("%s: plan lacks %q or reads the whole users table:\n%s", c.name, c.want, strings.Join(nodes, "\n"))
		}
	}

	out, err := db.Explain(ctx, sqlstore.CountPermanentAdminsSQL, acct)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "users_active_admins") {
		t.Errorf("last-Admin count does not use the partial index users_active_admins:\n%s", out)
	}

	// The deadline job reads its work and an account's Admins through
	// partial indexes, however many users there are.
	now = roster.Micros(time.Now())
	for _, c := range []struct {
		name, query, index string
		args               []any
	}{
		{"due deadlines", sqlstore.DueDeadlinesSQL, "users_deadlines_due", []any{now + 1, now, now + 1, 100}},
		{"account admins", sqlstore.AccountAdminsSQL, "users_active_admins", []any{acct}},
	} {
		out, err := db.Explain(ctx, c.query, c.args...)
		if err != nil || !strings.Contains(out, c.index) {
			t.Errorf("%s does not use the partial index %s: %v\n%s", c.name, c.index, err, out)
		}
	}
}

// TestAuditQueryPlans explains the exact statements AuditEvents runs for
// each filter on an analysed database where the account holds 20,000 of
// 30,000 events, and checks that each is an index scan of the index meant
// for it, in order: no sequential scan, no sort.
func TestAuditQueryPlans(t *testing.T) {
	if testing.Short() {
		t.Skip("seeds 30,000 audit events")
	}
	ctx := context.Background()
	db := testdb.Postgres(t)
	accts := testdb.Seed(t, db, 2, 10)
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	testdb.SeedAudit(t, db, accts[0], 10000, start)
	actor, target := testdb.SeedAudit(t, db, accts[1], 20000, start)
	if err := db.Analyze(ctx); err != nil {
		t.Fatal(err)
	}
	acct := accts[1]
	for _, c := range testdb.AuditPlanCases(start, actor, target) {
		c.Q.Limit = 100
		st := db.AuditEventsStatement(acct, c.Q)
		out, err := db.Explain(ctx, st.Query, st.Args...)
		if err != nil {
			t.Fatalf("%s: %v", c.Name, err)
		}
		var plans []struct{ Plan planNode }
		if err := json.Unmarshal([]byte(out), &plans); err != nil || len(plans) != 1 {
			t.Fatalf("%s: plan %q: %v", c.Name, out, err)
		}
		nodes := plans[0].Plan.nodes()
		all := strings.Join(nodes, "\n")
		if want := "Index Scan audit_events " + c.Index; c.Index != "" && !has(nodes, want) {
			t.Errorf("%s: plan lacks %q:\n%s\n%s", c.Name, want, st.Query, all)
		}
		if has(nodes, "Seq Scan") {
			t.Errorf("%s: plan reads the whole table:\n%s", c.Name, all)
		}
		if !c.Sorted && has(nodes, "Sort") {
			t.Errorf("%s: plan sorts instead of reading the index in order:\n%s", c.Name, all)
		}
	}
}
