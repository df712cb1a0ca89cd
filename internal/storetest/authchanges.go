package storetest

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"roster"
	"roster/internal/sqlstore"
)

// authChanges holds the access change log to its contract: triggers record
// every committed update and delete of users, API keys and accounts but
// sign-in and last-use bookkeeping, in commit order, and Prune forgets them
// after sqlstore.AuthChangesKept.
func authChanges(t *testing.T, setup func(*testing.T) *fixture) {
	t.Run("AuthChanges", func(t *testing.T) {
		t.Parallel()
		t.Run("Triggers", func(t *testing.T) {
			t.Parallel()
			f := setup(t)
			before := time.Now().Add(-time.Minute) // the triggers read the database's clock
			a := f.account()
			identity := roster.NewID(t0)
			u := f.user(a, func(u *roster.User) { u.IdentityID = identity })
			other := f.user(a)
			k1, k2 := f.apiKey(u), f.apiKey(u)
			f.apiKey(other)
			f.wantChanges(0, nil, "inserts")

			// Bookkeeping of sign-ins and key use changes nothing.
			f.update(func(tx roster.Tx) error {
				return tx.RecordLogin(f.ctx, identity, t0.Add(time.Hour), "192.0.2.1", "Firefox")
			})
			if got := f.mustUser(a.ID, u.ID); !got.LastLoginAt.Equal(t0.Add(time.Hour)) {
				t.Fatalf("RecordLogin did not record: LastLoginAt = %v", got.LastLoginAt)
			}
			f.exec(`UPDATE api_keys SET last_used_at = last_used_at + 1 WHERE id = $1`, k1.ID)
			// Writing a user's row unchanged is no change.
			same := f.mustUser(a.ID, u.ID)
			f.update(func(tx roster.Tx) error { return tx.UpdateUser(f.ctx, same) })
			// A rolled-back change leaves nothing.
			revoked := *same
			revoked.Status = roster.StatusInactive
			errRollback := errors.New("roll back")
			if err := f.s.Update(f.ctx, func(tx roster.Tx) error {
				if err := tx.UpdateUser(f.ctx, &revoked); err != nil {
					return err
				}
				return errRollback
			}); !errors.Is(err, errRollback) {
				t.Fatalf("Update = %v, want the rollback", err)
			}
			f.wantChanges(0, nil, "sign-in, key use, an unchanged row and a rollback")

			f.update(func(tx roster.Tx) error { return tx.UpdateUser(f.ctx, &revoked) })
			a.Name += " renamed"
			f.update(func(tx roster.Tx) error { return tx.UpdateAccount(f.ctx, a) })
			f.exec(`UPDATE api_keys SET disabled = NOT disabled WHERE id = $1`, k2.ID)
			f.exec(`UPDATE api_keys SET expires_at = 1 WHERE id = $1`, k2.ID)
			want := []roster.AuthChange{
				{AccountID: a.ID, UserID: u.ID},
				{AccountID: a.ID},
				{AccountID: a.ID, UserID: u.ID, KeyID: k2.ID},
				{AccountID: a.ID, UserID: u.ID, KeyID: k2.ID},
			}
			last := f.wantChanges(0, want, "revoke, account and key updates")

			f.deleteUser(a.ID, u.ID)
			got := f.authChanges(last, 100)
			slices.SortFunc(got, func(x, y roster.AuthChange) int { return strings.Compare(x.KeyID, y.KeyID) })
			keys := []string{k1.ID, k2.ID}
			slices.Sort(keys)
			want = []roster.AuthChange{{AccountID: a.ID, UserID: u.ID}}
			for _, k := range keys {
				want = append(want, roster.AuthChange{AccountID: a.ID, UserID: u.ID, KeyID: k})
			}
			if d := cmp.Diff(want, stripChanges(got)); d != "" {
				t.Errorf("AuthChangesSince after DeleteUser (-want +got):\n%s", d)
			}

			all := f.authChanges(0, 100)
			for i, c := range all {
				if i > 0 && c.Seq <= all[i-1].Seq {
					t.Errorf("AuthChangesSince(0): seq %d after %d", c.Seq, all[i-1].Seq)
				}
				if c.At.Before(before) || c.At.After(time.Now().Add(time.Minute)) {
					t.Errorf("change %d At = %v, want about now", c.Seq, c.At)
				}
			}
			if head, err := f.s.AuthChangeHead(f.ctx); err != nil || head != all[len(all)-1].Seq {
				t.Errorf("AuthChangeHead = %d, %v; want %d", head, err, all[len(all)-1].Seq)
			}
			if page := f.authChanges(0, 2); len(page) != 2 || page[1].Seq != all[1].Seq {
				t.Errorf("AuthChangesSince(0, limit 2) = %v, want the first two of %v", page, all)
			}
		})

		t.Run("EveryColumn", func(t *testing.T) {
			// A column added later is covered (PostgreSQL compares whole
			// rows; SQLite's triggers list the columns, and this fails when
			// one is missing).
			t.Parallel()
			f := setup(t)
			a := f.account()
			u := f.user(a)
			k := f.apiKey(u)
			for _, tc := range []struct {
				table, id string
				quiet     []string // columns whose change is not recorded
				want      roster.AuthChange
			}{
				{"users", u.ID, []string{"last_login_at", "last_login_ip", "last_login_device"},
					roster.AuthChange{AccountID: a.ID, UserID: u.ID}},
				{"api_keys", k.ID, []string{"last_used_at"}, roster.AuthChange{AccountID: a.ID, UserID: u.ID, KeyID: k.ID}},
				{"accounts", a.ID, nil, roster.AuthChange{AccountID: a.ID}},
			} {
				for _, col := range f.columns(tc.table) {
					if col.name == "id" || col.name == "seq" || strings.HasSuffix(col.name, "_id") && tc.table != "users" ||
						col.name == "account_id" {
						continue // keys and references: never updated
					}
					head, err := f.s.AuthChangeHead(f.ctx)
					if err != nil {
						t.Fatal(err)
					}
					set := changeColumn(t, f.dialect(), col)
					f.exec(fmt.Sprintf(`UPDATE %s SET %s WHERE id = $1`, tc.table, set), tc.id)
					var want []roster.AuthChange
					if !slices.Contains(tc.quiet, col.name) {
						want = []roster.AuthChange{tc.want}
					}
					f.wantChanges(head, want, tc.table+"."+col.name)
				}
			}
		})

		t.Run("CommitOrder", func(t *testing.T) {
			// A poller that reads after the last seq it saw must miss
			// nothing however writers interleave their commits.
			t.Parallel()
			f := setup(t)
			a := f.account()
			const writers, rounds = 6, 15
			users := make([]*roster.User, writers)
			for i := range users {
				users[i] = f.user(a)
			}
			stop := make(chan struct{})
			var seen []roster.AuthChange
			var pollErr error
			var wg sync.WaitGroup
			wg.Go(func() {
				var last int64
				for {
					select {
					case <-stop:
						return
					default:
					}
					got, err := f.s.AuthChangesSince(f.ctx, last, 7)
					if err != nil {
						pollErr = err
						return
					}
					if len(got) > 0 {
						last = got[len(got)-1].Seq
						seen = append(seen, got...)
					}
				}
			})
			errs := race(writers, func(i int) error {
				u := *users[i]
				for range rounds {
					u.Version++
					err := f.s.Update(f.ctx, func(tx roster.Tx) error {
						if err := tx.UpdateUser(f.ctx, &u); err != nil {
							return err
						}
						// More work after the change, so that commits
						// overtake one another.
						_, err := tx.CountUsers(f.ctx, a.ID, roster.StatusActive, 0)
						return err
					})
					if err != nil {
						return err
					}
				}
				return nil
			})
			close(stop)
			wg.Wait()
			if err := errors.Join(append(errs, pollErr)...); err != nil {
				t.Fatal(err)
			}
			var last int64
			if len(seen) > 0 {
				last = seen[len(seen)-1].Seq
			}
			seen = append(seen, f.authChanges(last, writers*rounds)...)
			all := f.authChanges(0, 2*writers*rounds)
			if len(all) != writers*rounds {
				t.Fatalf("%d changes recorded, want %d", len(all), writers*rounds)
			}
			if d := cmp.Diff(all, seen); d != "" {
				t.Errorf("a poller following seq saw (-all +seen):\n%s", d)
			}
		})

		t.Run("Prune", func(t *testing.T) {
			t.Parallel()
			f := setup(t)
			a := f.account()
			u := f.user(a)
			f.deleteUser(a.ID, u.ID)
			kept := f.authChanges(0, 10)
			if len(kept) != 1 {
				t.Fatalf("changes after a delete = %v, want 1", kept)
			}
			prune := func(now time.Time) int64 {
				var n int64
				f.update(func(tx roster.Tx) (err error) {
					n, err = tx.Prune(f.ctx, now, now.Add(-time.Hour), now.Add(-time.Hour))
					return err
				})
				return n
			}
			if n := prune(time.Now()); n != 0 {
				t.Errorf("Prune now = %d rows, want 0", n)
			}
			// The log is kept by the database's clock, which wrote
			// changed_at: an instance whose clock runs ahead must not
			// delete entries other instances have not read yet.
			if n := prune(time.Now().Add(sqlstore.AuthChangesKept + time.Hour)); n != 0 {
				t.Errorf("Prune by a clock %v ahead = %d rows, want 0", sqlstore.AuthChangesKept+time.Hour, n)
			}
			// Written AuthChangesKept + 1 min ago by the database's clock.
			if _, err := f.sqlDB().ExecContext(f.ctx, `UPDATE auth_changes SET changed_at = changed_at - $1`,
				(sqlstore.AuthChangesKept + time.Minute).Microseconds()); err != nil {
				t.Fatal(err)
			}
			if n := prune(time.Now()); n != 1 {
				t.Errorf("Prune %v later = %d rows, want 1", sqlstore.AuthChangesKept+time.Minute, n)
			}
			if got := f.authChanges(0, 10); len(got) != 0 {
				t.Errorf("changes after Prune = %v, want none", got)
			}
			// A seq is never used twice, even when the table was emptied.
			f.deleteUser(a.ID, f.user(a).ID)
			if got := f.authChanges(kept[0].Seq, 10); len(got) != 1 {
				t.Errorf("changes after seq %d = %v, want the new one", kept[0].Seq, got)
			}
		})
	})
}

// stripChanges returns changes without their Seq and At, for comparison.
func stripChanges(changes []roster.AuthChange) []roster.AuthChange {
	if len(changes) == 0 {
		return nil
	}
	out := make([]roster.AuthChange, len(changes))
	for i, c := range changes {
		out[i] = roster.AuthChange{AccountID: c.AccountID, UserID: c.UserID, KeyID: c.KeyID}
	}
	return out
}

func (f *fixture) authChanges(after int64, limit int) []roster.AuthChange {
	f.t.Helper()
	got, err := f.s.AuthChangesSince(f.ctx, after, limit)
	if err != nil {
		f.t.Fatalf("AuthChangesSince(%d) = %v", after, err)
	}
	return got
}

// wantChanges checks the changes after seq after, in order, and returns the
// last seq.
func (f *fixture) wantChanges(after int64, want []roster.AuthChange, what string) int64 {
	f.t.Helper()
	got := f.authChanges(after, 100)
	if d := cmp.Diff(want, stripChanges(got)); d != "" {
		f.t.Errorf("AuthChangesSince after %s (-want +got):\n%s", what, d)
	}
	if len(got) == 0 {
		return after
	}
	return got[len(got)-1].Seq
}

// sqlDB returns the store's write pool, for statements the Store has no
// method for; the test is skipped for a store without one.
func (f *fixture) sqlDB() *sql.DB {
	f.t.Helper()
	d, ok := f.s.(interface{ WriteDB() *sql.DB })
	if !ok {
		f.t.Skipf("%T has no WriteDB", f.s)
	}
	return d.WriteDB()
}

func (f *fixture) exec(query string, args ...any) {
	f.t.Helper()
	if _, err := f.sqlDB().ExecContext(f.ctx, query, args...); err != nil {
		f.t.Fatalf("%s: %v", query, err)
	}
}

func (f *fixture) dialect() string {
	f.t.Helper()
	d, ok := f.s.(interface{ Dialect() *sqlstore.Dialect })
	if !ok {
		f.t.Skipf("%T has no Dialect", f.s)
	}
	return d.Dialect().Name
}

type column struct{ name, typ string }

// columns lists a table's columns with their declared types, lower case.
func (f *fixture) columns(table string) []column {
	f.t.Helper()
	query := `SELECT name, lower(type) FROM pragma_table_info($1)`
	if f.dialect() == "postgres" {
		query = `SELECT column_name, data_type FROM information_schema.columns
			WHERE table_schema = current_schema() AND table_name = $1 ORDER BY ordinal_position`
	}
	rows, err := f.sqlDB().QueryContext(context.WithoutCancel(f.ctx), query, table)
	if err != nil {
		f.t.Fatal(err)
	}
	defer rows.Close()
	var cols []column
	for rows.Next() {
		var c column
		if err := rows.Scan(&c.name, &c.typ); err != nil {
			f.t.Fatal(err)
		}
		cols = append(cols, c)
	}
	if err := rows.Err(); err != nil || len(cols) == 0 {
		f.t.Fatalf("columns of %s: %v, %v", table, cols, err)
	}
	return cols
}

// changeColumn returns a SET clause that changes a column's value.
func changeColumn(t *testing.T, dialect string, c column) string {
	t.Helper()
	switch c.typ {
	case "integer", "bigint", "smallint":
		return c.name + " = " + c.name + " + 1"
	case "text":
		return c.name + " = " + c.name + " || 'x'"
	case "boolean":
		return c.name + " = NOT " + c.name
	case "blob":
		return c.name + " = randomblob(32)"
	case "bytea":
		return c.name + ` = ` + c.name + ` || '\x00'::bytea`
	case "uuid":
		return c.name + " = gen_random_uuid()"
	}
	t.Fatalf("column %s has type %s: teach changeColumn (%s) to change it", c.name, c.typ, dialect)
	return ""
}
