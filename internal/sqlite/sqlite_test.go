package sqlite_test

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"roster"
	"roster/internal/sqlite"
	"roster/internal/testdb"
)

func mustOpen(t *testing.T, dir string) *sqlite.DB {
	t.Helper()
	ctx := context.Background()
	db, err := sqlite.Open(ctx, dir)
	if err != nil {
		t.Fatalf("Open(%q): %v", dir, err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.Migrate(ctx); err != nil {
		t.Fatalf("Migrate: %v", err)
	}
	return db
}

func TestOpenMigrateReopen(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "a", "b")
	db := mustOpen(t, dir)
	if _, err := os.Stat(filepath.Join(dir, sqlite.FileName)); err != nil {
		t.Fatalf("database file: %v", err)
	}
	if err := db.Migrate(ctx); err != nil {
		t.Fatalf("second Migrate: %v", err)
	}
	var versions int
	if err := db.ReadDB().QueryRow("SELECT count(*) FROM schema_migrations").Scan(&versions); err != nil || versions != migrationFiles(t) {
		t.Fatalf("schema_migrations rows = %d, %v; want one per migration file (%d)", versions, err, migrationFiles(t))
	}
	for _, c := range []struct {
		pool, pragma, want string
	}{
		{"read", "journal_mode", "wal"}, {"read", "foreign_keys", "1"}, {"read", "query_only", "1"},
		{"write", "journal_mode", "wal"}, {"write", "foreign_keys", "1"}, {"write", "synchronous", "1"},
		{"write", "query_only", "0"},
	} {
		pool := db.ReadDB()
		if c.pool == "write" {
			pool = db.WriteDB()
		}
		var got string
		if err := pool.QueryRow("PRAGMA " + c.pragma).Scan(&got); err != nil || got != c.want {
			t.Errorf("%s PRAGMA %s = %q, %v; want %q", c.pool, c.pragma, got, err, c.want)
		}
	}
	if _, err := db.ReadDB().Exec("DELETE FROM accounts"); err == nil {
		t.Errorf("a read connection accepted a write")
	}

	a := &roster.Account{ID: roster.NewID(time.Now()), Name: "Kept"}
	if err := db.Update(ctx, func(tx roster.Tx) error { return tx.InsertAccount(ctx, a) }); err != nil {
		t.Fatal(err)
	}
	db.Close()
	db = mustOpen(t, dir)
	if got, err := db.Account(ctx, a.ID); err != nil || got.Name != "Kept" {
		t.Errorf("Account after reopen = %v, %v", got, err)
	}
}

// TestConcurrentWrites checks that writers queue for the one write
// connection instead of failing with SQLITE_BUSY, and that the per-account
// user numbering stays unique under concurrency.
func TestConcurrentWrites(t *testing.T) {
	ctx := context.Background()
	db := testdb.SQLite(t)
	a := &roster.Account{ID: roster.NewID(time.Now()), Name: "Busy"}
	if err := db.Update(ctx, func(tx roster.Tx) error { return tx.InsertAccount(ctx, a) }); err != nil {
		t.Fatal(err)
	}
	users := testdb.Users(a.ID, 64, 7)
	var wg sync.WaitGroup
	errs := make(chan error, len(users))
	for _, u := range users {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- db.Update(ctx, func(tx roster.Tx) error { return tx.InsertUser(ctx, u) })
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("InsertUser: %v", err)
		}
	}
	p, err := db.ListUsers(ctx, a.ID, roster.ListQuery{Limit: 100})
	if err != nil || p.Total != int64(len(users)) || len(p.Items) != len(users) {
		t.Fatalf("ListUsers = %d items, total %d, %v; want %d", len(p.Items), p.Total, err, len(users))
	}
}

// TestUserSeq checks the rowid layout the search relies on: each account's
// users number from (account seq << 32) + 1 upwards.
func TestUserSeq(t *testing.T) {
	db := testdb.SQLite(t)
	accts := testdb.Seed(t, db, 2, 3)
	for _, id := range accts {
		rows, err := db.ReadDB().Query(`SELECT u.seq - (a.seq << 32) FROM users u JOIN accounts a ON a.id = u.account_id
			WHERE a.id = ? ORDER BY u.seq`, id)
		if err != nil {
			t.Fatal(err)
		}
		var got []int64
		for rows.Next() {
			var n int64
			if err := rows.Scan(&n); err != nil {
				t.Fatal(err)
			}
			got = append(got, n)
		}
		rows.Close()
		if len(got) != 3 || got[0] != 1 || got[1] != 2 || got[2] != 3 {
			t.Errorf("account %s user numbers = %v, want [1 2 3]", id, got)
		}
	}
}

// migrationFiles counts the package's migration files.
func migrationFiles(t *testing.T) int {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("migrations", "*.sql"))
	if err != nil || len(files) == 0 {
		t.Fatalf("migration files: %v, %v", files, err)
	}
	return len(files)
}
