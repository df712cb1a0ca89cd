package sqlstore_test

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"roster"
	"roster/internal/testdb"
)

// These are quick smoke tests of the shared SQL on both engines; the full
// contract is internal/storetest's.

var t0 = time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC)

func mustAccount(t *testing.T, s roster.Store) *roster.Account {
	t.Helper()
	a := &roster.Account{ID: roster.NewID(t0), Name: "Acme", AllowedDomains: []string{"acme.com", "acme.in"}, CreatedAt: t0, UpdatedAt: t0}
	if err := s.Update(context.Background(), func(tx roster.Tx) error { return tx.InsertAccount(context.Background(), a) }); err != nil {
		t.Fatalf("InsertAccount: %v", err)
	}
	return a
}

func newUser(accountID, first, last, email string, roles roster.RoleSet, st roster.Status) *roster.User {
	u := &roster.User{ID: roster.NewID(t0), AccountID: accountID, FirstName: first, LastName: last, Email: email,
		Roles: roles, Status: st, InvitedAt: t0, UpdatedAt: t0, Version: 1}
	u.Keys()
	return u
}

func mustInsert(t *testing.T, s roster.Store, us ...*roster.User) {
	t.Helper()
	ctx := context.Background()
	err := s.Update(ctx, func(tx roster.Tx) error {
		for _, u := range us {
			if err := tx.InsertUser(ctx, u); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("InsertUser: %v", err)
	}
}

func ids(us []*roster.User) []string {
	var out []string
	for _, u := range us {
		out = append(out, u.FirstName)
	}
	return out
}

func TestSmoke(t *testing.T) {
	testdb.Each(t, func(t *testing.T, s roster.Store) {
		ctx := context.Background()
		a := mustAccount(t, s)
		got, err := s.Account(ctx, a.ID)
		if err != nil || got.Name != "Acme" || !slices.Equal(got.AllowedDomains, a.AllowedDomains) || !got.CreatedAt.Equal(t0) {
			t.Fatalf("Account = %+v, %v", got, err)
		}
		if _, err := s.Account(ctx, roster.NewID(t0)); roster.ErrorCode(err) != roster.CodeNotFound {
			t.Errorf("Account(missing) error = %v, want not found", err)
		}
		if _, err := s.Account(ctx, "nope"); roster.ErrorCode(err) != roster.CodeNotFound {
			t.Errorf("Account(invalid id) error = %v, want not found", err)
		}

		admin := roster.NewRoleSet(roster.RoleAdmin)
		support := roster.NewRoleSet(roster.RoleSupport)
		ann := newUser(a.ID, "Ann", "Lee", "ann@acme.com", admin, roster.StatusActive)
		ann.LastLoginAt = t0.Add(time.Hour)
		bob := newUser(a.ID, "Bob", "Banner", "bob@acme.com", support, roster.StatusInvited)
		joanna := newUser(a.ID, "Joanna", "Hanna", "jo@acme.com", admin|support, roster.StatusInactive)
		joanna.LastLoginAt = t0
		mustInsert(t, s, ann, bob, joanna)

		u, err := s.User(ctx, a.ID, ann.ID)
		if err != nil || u.Email != "ann@acme.com" || u.Roles != admin || !u.LastLoginAt.Equal(ann.LastLoginAt) || u.SearchKey != ann.SearchKey {
			t.Fatalf("User = %+v, %v", u, err)
		}
		other := mustAccount(t, s)
		if _, err := s.User(ctx, other.ID, ann.ID); roster.ErrorMessage(err) != "No user with this id exists in this account." {
			t.Errorf("User(other account) error = %v", err)
		}
		if u, err := s.UserByEmail(ctx, a.ID, "bob@acme.com"); err != nil || u.ID != bob.ID {
			t.Errorf("UserByEmail = %v, %v", u, err)
		}

		dup := newUser(a.ID, "Ann", "Again", "ANN@acme.com", admin, roster.StatusInvited)
		err = s.Update(ctx, func(tx roster.Tx) error { return tx.InsertUser(ctx, dup) })
		if roster.ErrorCode(err) != roster.CodeConflict {
			t.Errorf("InsertUser(duplicate email) error = %v, want conflict", err)
		}
		orphan := newUser(roster.NewID(t0), "Ann", "Orphan", "o@acme.com", admin, roster.StatusInvited)
		err = s.Update(ctx, func(tx roster.Tx) error { return tx.InsertUser(ctx, orphan) })
		if roster.ErrorCode(err) != roster.CodeNotFound {
			t.Errorf("InsertUser(missing account) error = %v, want not found", err)
		}
		mustInsert(t, s, newUser(other.ID, "Ann", "Elsewhere", "ann@acme.com", admin, roster.StatusActive))

		tests := []struct {
			q         roster.ListQuery
			want      []string
			wantTotal int64
		}{
			{roster.ListQuery{}, []string{"Ann", "Bob", "Joanna"}, 3},
			{roster.ListQuery{Sort: roster.Sort{Field: roster.SortName, Desc: true}}, []string{"Joanna", "Bob", "Ann"}, 3},
			{roster.ListQuery{Sort: roster.Sort{Field: roster.SortEmail, Desc: true}}, []string{"Joanna", "Bob", "Ann"}, 3},
			{roster.ListQuery{Sort: roster.Sort{Field: roster.SortStatus}}, []string{"Ann", "Joanna", "Bob"}, 3},
			{roster.ListQuery{Sort: roster.Sort{Field: roster.SortLastLogin, Desc: true}}, []string{"Ann", "Joanna", "Bob"}, 3},
			{roster.ListQuery{Q: "ann"}, []string{"Ann", "Bob", "Joanna"}, 3}, // banner
			{roster.ListQuery{Q: "anna"}, []string{"Joanna"}, 1},
			{roster.ListQuery{Q: "ann", Limit: 1}, []string{"Ann"}, 3},
			{roster.ListQuery{Q: "an"}, []string{"Ann", "Bob", "Joanna"}, 3},
			{roster.ListQuery{Q: "ann lee"}, []string{"Ann"}, 1},
			{roster.ListQuery{Q: "b@acme"}, []string{"Bob"}, 1},
			{roster.ListQuery{Q: "bob@acme.com", Email: true}, []string{"Bob"}, 1},
			{roster.ListQuery{Q: "%"}, nil, 0},
			{roster.ListQuery{Q: `a"n`}, nil, 0},
			{roster.ListQuery{Filters: []roster.Filter{{Role: roster.RoleAdmin}}}, []string{"Ann", "Joanna"}, 2},
			{roster.ListQuery{Filters: []roster.Filter{{Role: roster.RoleAdmin, Not: true}}}, []string{"Bob"}, 1},
			{roster.ListQuery{Filters: []roster.Filter{{Role: roster.RoleSupport}, {Status: roster.StatusActive, Not: true}}}, []string{"Bob", "Joanna"}, 2},
			{roster.ListQuery{Q: "ann", Filters: []roster.Filter{{Status: roster.StatusActive}}}, []string{"Ann"}, 1},
			{roster.ListQuery{Limit: 2}, []string{"Ann", "Bob"}, 3},
		}
		for _, tt := range tests {
			p, err := s.ListUsers(ctx, a.ID, tt.q)
			if err != nil {
				t.Errorf("ListUsers(%+v): %v", tt.q, err)
				continue
			}
			if got := ids(p.Items); !slices.Equal(got, tt.want) || p.Total != tt.wantTotal {
				t.Errorf("ListUsers(%+v) = %v total %d, want %v total %d", tt.q, got, p.Total, tt.want, tt.wantTotal)
			}
		}

		// Paging through every sort, both directions, one row a page.
		for _, f := range roster.SortFields {
			for _, desc := range []bool{false, true} {
				sort := roster.Sort{Field: f, Desc: desc}
				full, err := s.ListUsers(ctx, a.ID, roster.ListQuery{Sort: sort})
				if err != nil {
					t.Fatal(err)
				}
				var paged []*roster.User
				q := roster.ListQuery{Sort: sort, Limit: 1}
				for i := 0; i < 5; i++ {
					p, err := s.ListUsers(ctx, a.ID, q)
					if err != nil {
						t.Fatalf("ListUsers(%v page %d): %v", sort, i, err)
					}
					if p.Total != 3 {
						t.Errorf("ListUsers(%v page %d) total = %d, want 3", sort, i, p.Total)
					}
					paged = append(paged, p.Items...)
					if p.NextCursor == nil {
						break
					}
					q.After = p.NextCursor
				}
				if !slices.Equal(ids(paged), ids(full.Items)) {
					t.Errorf("paging %v = %v, want %v", sort, ids(paged), ids(full.Items))
				}
			}
		}

		// Updates move counts and search text.
		err = s.Update(ctx, func(tx roster.Tx) error {
			u, err := tx.UserForUpdate(ctx, a.ID, bob.ID)
			if err != nil {
				return err
			}
			u.Status, u.Roles, u.FirstName = roster.StatusActive, admin, "Robert"
			u.Version++
			u.Keys()
			return tx.UpdateUser(ctx, u)
		})
		if err != nil {
			t.Fatalf("UpdateUser: %v", err)
		}
		err = s.Update(ctx, func(tx roster.Tx) error {
			for _, c := range []struct {
				st    roster.Status
				roles roster.RoleSet
				want  int64
			}{{roster.StatusActive, admin, 2}, {roster.StatusActive, 0, 2}, {roster.StatusInvited, 0, 0}, {"", support, 1}} {
				n, err := tx.CountUsers(ctx, a.ID, c.st, c.roles)
				if err != nil {
					return err
				}
				if n != c.want {
					t.Errorf("CountUsers(%q, %v) = %d, want %d", c.st, c.roles, n, c.want)
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if p, err := s.ListUsers(ctx, a.ID, roster.ListQuery{Q: "rober"}); err != nil || len(p.Items) != 1 || p.Total != 1 {
			t.Errorf("search after rename = %v, %v", p, err)
		}
		if p, err := s.ListUsers(ctx, a.ID, roster.ListQuery{Q: "bob b"}); err != nil || len(p.Items) != 0 {
			t.Errorf("search old name after rename = %v, %v", p, err)
		}

		// Keys, invitations, outbox, audit; delete cascades.
		key := &roster.APIKey{ID: roster.NewID(t0), AccountID: a.ID, UserID: ann.ID, Name: "ci", Hint: "abcd",
			Hash: roster.HashSecret("k1"), CreatedAt: t0}
		expired := &roster.APIKey{ID: roster.NewID(t0), AccountID: a.ID, UserID: ann.ID, Name: "old", Hint: "efgh",
			Hash: roster.HashSecret("k2"), CreatedAt: t0, ExpiresAt: t0.Add(time.Minute)}
		inv := &roster.Invitation{ID: roster.NewID(t0), AccountID: a.ID, UserID: ann.ID, TokenHash: roster.HashSecret("t"), CreatedAt: t0}
		err = s.Update(ctx, func(tx roster.Tx) error {
			for _, k := range []*roster.APIKey{key, expired} {
				if err := tx.InsertAPIKey(ctx, k); err != nil {
					return err
				}
			}
			if err := tx.InsertInvitation(ctx, inv); err != nil {
				return err
			}
			if err := tx.InsertOutbox(ctx, &roster.OutboxMessage{ID: roster.NewID(t0), AccountID: a.ID, Kind: roster.MailInvitation,
				Ref: inv.ID, To: ann.Email, CreatedAt: t0}); err != nil {
				return err
			}
			for i := 0; i < 3; i++ {
				e := &roster.AuditEvent{ID: roster.NewID(t0.Add(time.Duration(i) * time.Second)), AccountID: a.ID, At: t0,
					Action: roster.ActionUserInvited, TargetID: ann.ID, Details: map[string]any{"n": float64(i)}}
				if err := tx.InsertAudit(ctx, e); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatalf("inserts: %v", err)
		}
		if k, err := s.APIKeyByHash(ctx, roster.HashSecret("k1")); err != nil || k.ID != key.ID || k.Disabled {
			t.Errorf("APIKeyByHash = %+v, %v", k, err)
		}
		if n, err := s.CountActiveAPIKeys(ctx, a.ID, ann.ID, t0.Add(time.Hour)); err != nil || n != 1 {
			t.Errorf("CountActiveAPIKeys = %d, %v, want 1", n, err)
		}
		err = s.Update(ctx, func(tx roster.Tx) error {
			if n, err := tx.CountInvitationsSince(ctx, a.ID, ann.ID, t0); err != nil || n != 1 {
				t.Errorf("CountInvitationsSince = %d, %v, want 1", n, err)
			}
			return tx.SupersedeInvitations(ctx, a.ID, ann.ID)
		})
		if err != nil {
			t.Fatal(err)
		}
		p1, err := s.AuditEvents(ctx, a.ID, roster.AuditQuery{Limit: 2})
		if err != nil || len(p1.Items) != 2 || p1.NextCursor == nil || p1.Items[0].Details["n"] != float64(2) {
			t.Fatalf("AuditEvents page 1 = %+v, %v", p1, err)
		}
		p2, err := s.AuditEvents(ctx, a.ID, roster.AuditQuery{Limit: 2, After: p1.NextCursor})
		if err != nil || len(p2.Items) != 1 || p2.NextCursor != nil || p2.Items[0].Details["n"] != float64(0) {
			t.Fatalf("AuditEvents page 2 = %+v, %v", p2, err)
		}

		var keys int64
		err = s.Update(ctx, func(tx roster.Tx) error {
			keys, err = tx.DeleteUser(ctx, a.ID, ann.ID)
			return err
		})
		if err != nil || keys != 2 {
			t.Fatalf("DeleteUser = %d, %v, want 2 keys", keys, err)
		}
		if _, err := s.APIKeyByHash(ctx, roster.HashSecret("k1")); roster.ErrorCode(err) != roster.CodeNotFound {
			t.Errorf("APIKeyByHash after delete: %v, want not found", err)
		}
		if p, err := s.ListUsers(ctx, a.ID, roster.ListQuery{Q: "ann"}); err != nil || !slices.Equal(ids(p.Items), []string{"Joanna", "Robert"}) || p.Total != 2 {
			t.Errorf("search after delete = %v, %v", p, err)
		}
		if p, err := s.ListUsers(ctx, a.ID, roster.ListQuery{}); err != nil || p.Total != 2 {
			t.Errorf("total after delete = %v, %v", p, err)
		}
		err = s.Update(ctx, func(tx roster.Tx) error {
			_, err := tx.DeleteUser(ctx, a.ID, ann.ID)
			return err
		})
		if roster.ErrorCode(err) != roster.CodeNotFound {
			t.Errorf("DeleteUser twice: %v, want not found", err)
		}
		if p, err := s.AuditEvents(ctx, a.ID, roster.AuditQuery{}); err != nil || len(p.Items) != 3 {
			t.Errorf("audit after delete = %v, %v", p, err)
		}
	})
}

func TestBulkInsertUsers(t *testing.T) {
	testdb.Each(t, func(t *testing.T, s roster.Store) {
		ctx := context.Background()
		a, b := mustAccount(t, s), mustAccount(t, s)
		mustInsert(t, s, newUser(a.ID, "First", "Single", "first@acme.com", roster.NewRoleSet(roster.RoleAdmin), roster.StatusActive))
		users := append(testdb.Users(a.ID, 1200, 1), testdb.Users(b.ID, 300, 2)...)
		if err := s.(roster.BulkLoader).BulkInsertUsers(ctx, users); err != nil {
			t.Fatalf("BulkInsertUsers: %v", err)
		}
		mustInsert(t, s, newUser(a.ID, "Last", "Single", "last@acme.com", roster.NewRoleSet(roster.RoleAdmin), roster.StatusActive))
		var wantAnn, wantActive int64
		for _, u := range users[:1200] {
			if strings.Contains(u.SearchKey, "ann") {
				wantAnn++
			}
			if u.Status == roster.StatusActive && u.Roles.Has(roster.RoleSupport) {
				wantActive++
			}
		}
		for _, c := range []struct {
			q    roster.ListQuery
			want int64
		}{
			{roster.ListQuery{}, 1202},
			{roster.ListQuery{Q: "ann"}, wantAnn},
			{roster.ListQuery{Filters: []roster.Filter{{Status: roster.StatusActive}, {Role: roster.RoleSupport}}}, wantActive},
		} {
			p, err := s.ListUsers(ctx, a.ID, c.q)
			if err != nil {
				t.Errorf("ListUsers(%+v): %v", c.q, err)
			} else if p.Total != c.want {
				t.Errorf("ListUsers(%+v) total = %d, want %d", c.q, p.Total, c.want)
			}
		}
		if p, err := s.ListUsers(ctx, b.ID, roster.ListQuery{}); err != nil || p.Total != 300 {
			t.Errorf("second account total = %v, %v", p, err)
		}
		dup := testdb.Users(a.ID, 1, 1)
		if err := s.(roster.BulkLoader).BulkInsertUsers(ctx, dup); roster.ErrorCode(err) != roster.CodeConflict {
			t.Errorf("BulkInsertUsers(duplicate) = %v, want conflict", err)
		}
	})
}

// TestConcurrentCounts changes one account's users from many goroutines at
// once; the kept counts (sharded on PostgreSQL) must add up exactly.
func TestConcurrentCounts(t *testing.T) {
	testdb.Each(t, func(t *testing.T, s roster.Store) {
		ctx := context.Background()
		a := mustAccount(t, s)
		users := testdb.Users(a.ID, 48, 3)
		run := func(fn func(u *roster.User) error) {
			t.Helper()
			var wg sync.WaitGroup
			errs := make(chan error, len(users))
			for _, u := range users {
				wg.Add(1)
				go func() {
					defer wg.Done()
					errs <- fn(u)
				}()
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				if err != nil {
					t.Fatal(err)
				}
			}
		}
		run(func(u *roster.User) error {
			return s.Update(ctx, func(tx roster.Tx) error { return tx.InsertUser(ctx, u) })
		})
		run(func(u *roster.User) error {
			return s.Update(ctx, func(tx roster.Tx) error {
				cur, err := tx.UserForUpdate(ctx, a.ID, u.ID)
				if err != nil {
					return err
				}
				cur.Status, cur.Roles = roster.StatusActive, cur.Roles|roster.NewRoleSet(roster.RoleAdmin)
				return tx.UpdateUser(ctx, cur)
			})
		})
		err := s.Update(ctx, func(tx roster.Tx) error {
			n, err := tx.CountUsers(ctx, a.ID, roster.StatusActive, roster.NewRoleSet(roster.RoleAdmin))
			if err == nil && n != int64(len(users)) {
				t.Errorf("CountUsers(active admins) = %d, want %d", n, len(users))
			}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		run(func(u *roster.User) error {
			return s.Update(ctx, func(tx roster.Tx) error { _, err := tx.DeleteUser(ctx, a.ID, u.ID); return err })
		})
		p, err := s.ListUsers(ctx, a.ID, roster.ListQuery{})
		if err != nil || p.Total != 0 {
			t.Errorf("total after deleting everyone = %v, %v; want 0", p, err)
		}
	})
}
