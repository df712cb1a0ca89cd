package sqlite_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"roster"
	"roster/internal/sqlstore"
	"roster/internal/testdb"
)

// TestQueryPlans explains the exact statements ListUsers runs, with their
// bound arguments (SQLite plans some statements differently for literal
// values), on a seeded and analysed database, and checks that each is
// served by the index meant for it.
func TestQueryPlans(t *testing.T) {
	if testing.Short() {
		t.Skip("seeds 40,000 users")
	}
	ctx := context.Background()
	db := testdb.SQLite(t)
	accts := testdb.Seed(t, db, 2, 20000)
	acct := accts[1]
	t.Run("permanent admins", func(t *testing.T) {
		plan, err := db.Explain(ctx, sqlstore.CountPermanentAdminsSQL, acct)
		if err != nil || !strings.Contains(plan, "USING INDEX users_active_admins") && !strings.Contains(plan, "USING COVERING INDEX users_active_admins") {
			t.Errorf("last-Admin count plan = %v, %q; want the partial index users_active_admins", err, plan)
		}
	})
	t.Run("deadline job", func(t *testing.T) {
		now := roster.Micros(time.Now())
		for _, c := range []struct {
			name, query, index string
			args               []any
		}{
			{"due deadlines", sqlstore.DueDeadlinesSQL, "users_deadlines_due", []any{now + 1, now, now + 1, 100}},
			{"account admins", sqlstore.AccountAdminsSQL, "users_active_admins", []any{acct}},
		} {
			plan, err := db.Explain(ctx, c.query, c.args...)
			if err != nil || !strings.Contains(plan, "INDEX "+c.index) {
				t.Errorf("%s plan = %v, %q; want the partial index %s", c.name, err, plan, c.index)
			}
		}
	})
	t.Run("sign-in", func(t *testing.T) {
		id, now := roster.NewID(time.Now()), roster.Micros(time.Now())
		for _, c := range []struct {
			name, query string
			args        []any
			want        string
		}{
			{"session by hash", sqlstore.SessionByHashSQL, []any{[]byte("h"), int64(0)}, "SEARCH s USING INDEX"},
			{"identity by email", sqlstore.IdentityByEmailSQL, []any{"a@example.com"}, "SEARCH identities USING INDEX"},
			{"sign-in identity", sqlstore.SignInIdentitySQL, []any{"a@example.com", now}, "SEARCH users USING INDEX users_identity (identity_id=?)"},
			{"user by identity", sqlstore.UserByIdentitySQL, []any{id, acct}, "SEARCH users USING INDEX users_identity (identity_id=? AND account_id=?)"},
			{"can sign in", sqlstore.CanSignInSQL, []any{id, now}, "SEARCH users USING INDEX users_identity (identity_id=?)"},
			{"memberships", sqlstore.MembershipsSQL, []any{id}, "SEARCH u USING INDEX users_identity (identity_id=?)"},
			{"invitation delivery", sqlstore.InvitationDeliverySQL, []any{acct, id, acct, roster.MailInvitation},
				"SEARCH o USING INDEX outbox_ref (account_id=? AND ref=?)"},
		} {
			plan, err := db.Explain(ctx, c.query, c.args...)
			if err != nil {
				t.Fatalf("%s: %v", c.name, err)
			}
			scans := strings.Contains(strings.ReplaceAll(plan, "SCAN m\n", ""), "SCAN ") // m: CanSignIn's subquery
			if !strings.Contains(plan, c.want) || scans {
				t.Errorf("%s: plan lacks %q or scans a table:\n%s", c.name, c.want, plan)
			}
		}
	})
	for _, analyzed := range []bool{false, true} {
		if analyzed {
			if err := db.Analyze(ctx); err != nil {
				t.Fatal(err)
			}
		}
		cursor := &roster.Cursor{ID: roster.NewID(time.Now()), Key: "m", Int: 1}
		type check struct {
			name string
			q    roster.ListQuery
			want []string // substrings of the plan
		}
		var checks []check
		for _, f := range roster.SortFields {
			index := map[roster.SortField]string{roster.SortName: "users_name", roster.SortEmail: "users_email",
				roster.SortStatus: "users_status", roster.SortLastLogin: "users_last_login", roster.SortInvitedAt: "users_invited"}[f]
			for _, desc := range []bool{false, true} {
				sort := roster.Sort{Field: f, Desc: desc}
				c := *cursor
				c.Sort = sort.String()
				checks = append(checks,
					check{"list " + sort.String(), roster.ListQuery{Sort: sort, Limit: 100},
						[]string{"SEARCH users USING INDEX " + index + " (account_id=?)", "SEARCH user_counts USING PRIMARY KEY (account_id=?)"}},
					check{"list " + sort.String() + " after cursor", roster.ListQuery{Sort: sort, Limit: 100, After: &c},
						[]string{"SEARCH users USING INDEX " + index + " (account_id=? AND ", "SEARCH user_counts"}},
					check{"list " + sort.String() + " before cursor", roster.ListQuery{Sort: sort, Limit: 100, Before: &c},
						[]string{"SEARCH users USING INDEX " + index + " (account_id=? AND ", "SEARCH user_counts"}},
				)
			}
		}
		byName := roster.Sort{Field: roster.SortName}
		checks = append(checks,
			check{"filtered list", roster.ListQuery{Sort: byName, Limit: 100,
				Filters: []roster.Filter{{Role: roster.RoleSupport}, {Status: roster.StatusActive}}},
				[]string{"SEARCH users USING INDEX users_name (account_id=?)", "SEARCH user_counts USING PRIMARY KEY (account_id=?"}},
			// Expired access counts as inactive: the total moves the
			// expired users across, counted through users_deadlines.
			check{"inactive with expired", roster.ListQuery{Sort: byName, Limit: 100, Now: time.Now(),
				Filters: []roster.Filter{{Role: roster.RoleSupport}, {Status: roster.StatusInactive}}},
				[]string{"SEARCH users USING INDEX users_name (account_id=?)", "SEARCH user_counts USING PRIMARY KEY (account_id=?",
					"USING INDEX users_deadlines (account_id=? AND access_until<?)"}},
			check{"search", roster.ListQuery{Q: "ann", Sort: byName, Limit: 100},
				[]string{"SCAN f VIRTUAL TABLE INDEX 0:M1><", "SEARCH users USING INTEGER PRIMARY KEY (rowid=?)"}},
			check{"search with filters", roster.ListQuery{Q: "tomás tanaka", Sort: byName, Limit: 100,
				Filters: []roster.Filter{{Role: roster.RoleSupport}, {Status: roster.StatusActive}}},
				[]string{"SCAN f VIRTUAL TABLE INDEX 0:M1><", "SEARCH users USING INTEGER PRIMARY KEY (rowid=?)"}},
			check{"email", roster.ListQuery{Q: "someone@example.com", Email: true, Sort: byName, Limit: 100},
				[]string{"SEARCH users USING INDEX users_email (account_id=? AND email_key=?)"}},
		)
		for _, c := range checks {
			st, err := db.ListUsersStatements(acct, c.q)
			if err != nil {
				t.Fatalf("%s: %v", c.name, err)
			}
			plan, err := db.Explain(ctx, st.Page, st.Args...)
			if err != nil {
				t.Fatalf("%s: %v", c.name, err)
			}
			for _, w := range c.want {
				if !strings.Contains(plan, w) {
					t.Errorf("analyzed=%v %s: plan lacks %q:\n%s\n%s", analyzed, c.name, w, st.Page, plan)
				}
			}
			if c.q.Q == "" && strings.Contains(plan, "TEMP B-TREE") {
				t.Errorf("analyzed=%v %s: plan sorts instead of reading the index in order:\n%s", analyzed, c.name, plan)
			}
			for _, bad := range []string{"SCAN users\n", "SCAN users ", "users_invited (account_id=?)\n"} {
				if c.q.Sort.Field != roster.SortInvitedAt && strings.Contains(plan, bad) {
					t.Errorf("analyzed=%v %s: plan reads every user of the account (%q):\n%s", analyzed, c.name, bad, plan)
				}
			}
			if c.q.Q != "" && !c.q.Email && strings.Contains(plan, "USING INDEX users_") {
				t.Errorf("analyzed=%v %s: search walks an account index instead of the trigram index:\n%s", analyzed, c.name, plan)
			}
		}
	}
}

// TestAuditQueryPlans explains the exact statements AuditEvents runs for
// each filter, before and after ANALYZE, on an account of 20,000 events
// beside another of 5,000, and checks that each reads the index meant for
// it in order: no table scan, no sort.
func TestAuditQueryPlans(t *testing.T) {
	if testing.Short() {
		t.Skip("seeds 25,000 audit events")
	}
	ctx := context.Background()
	db := testdb.SQLite(t)
	accts := testdb.Seed(t, db, 2, 10)
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	testdb.SeedAudit(t, db, accts[0], 5000, start)
	actor, target := testdb.SeedAudit(t, db, accts[1], 20000, start)
	acct := accts[1]
	for _, analyzed := range []bool{false, true} {
		if analyzed {
			if err := db.Analyze(ctx); err != nil {
				t.Fatal(err)
			}
		}
		for _, c := range testdb.AuditPlanCases(start, actor, target) {
			c.Q.Limit = 100
			st := db.AuditEventsStatement(acct, c.Q)
			plan, err := db.Explain(ctx, st.Query, st.Args...)
			if err != nil {
				t.Fatalf("%s: %v", c.Name, err)
			}
			if want := "USING INDEX " + c.Index + " " + c.SQLite; !strings.Contains(plan, strings.TrimSpace(want)) {
				t.Errorf("analyzed=%v %s: plan lacks %q:\n%s\n%s", analyzed, c.Name, want, st.Query, plan)
			}
			if strings.Contains(plan, "SCAN audit_events") {
				t.Errorf("analyzed=%v %s: plan reads the whole table:\n%s", analyzed, c.Name, plan)
			}
			if !c.Sorted && strings.Contains(plan, "TEMP B-TREE") {
				t.Errorf("analyzed=%v %s: plan sorts instead of reading the index in order:\n%s", analyzed, c.Name, plan)
			}
		}
	}
}
