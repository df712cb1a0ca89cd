package postgres_test

import (
	"context"
	"errors"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"roster"
	"roster/internal/postgres"
	"roster/internal/testdb"
)

// TestConcurrentMigrate starts several instances on one empty database at
// once: the advisory lock lets exactly one apply each migration.
func TestConcurrentMigrate(t *testing.T) {
	ctx := context.Background()
	url := testdb.URL(t)
	const instances = 4
	dbs := make([]*postgres.DB, instances)
	for i := range dbs {
		db, err := postgres.Open(ctx, url)
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		t.Cleanup(func() { db.Close() })
		dbs[i] = db
	}
	var wg sync.WaitGroup
	errs := make([]error, instances)
	for i, db := range dbs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = db.Migrate(ctx)
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("instance %d: Migrate: %v", i, err)
		}
	}
	var versions int
	if err := dbs[0].SQL().QueryRow("SELECT count(*) FROM schema_migrations").Scan(&versions); err != nil || versions != migrationFiles(t) {
		t.Errorf("schema_migrations rows = %d, %v; want one per migration file (%d)", versions, err, migrationFiles(t))
	}
}

// TestRowLocks checks that LockAccount and UserForUpdate hold row locks
// until the transaction ends: another session cannot take them meanwhile.
func TestRowLocks(t *testing.T) {
	ctx := context.Background()
	db := testdb.Postgres(t)
	accts := testdb.Seed(t, db, 1, 1)
	p, err := db.ListUsers(ctx, accts[0], roster.ListQuery{})
	if err != nil || len(p.Items) != 1 {
		t.Fatalf("ListUsers: %v", err)
	}
	user := p.Items[0]
	tryLock := func(query, id string) error {
		_, err := db.SQL().ExecContext(ctx, query+" FOR UPDATE NOWAIT", id)
		return err
	}
	for _, c := range []struct {
		name  string
		lock  func(tx roster.Tx) error
		query string
		id    string
	}{
		{"LockAccount", func(tx roster.Tx) error { _, err := tx.LockAccount(ctx, accts[0]); return err },
			"SELECT 1 FROM accounts WHERE id = $1", accts[0]},
		{"UserForUpdate", func(tx roster.Tx) error { _, err := tx.UserForUpdate(ctx, accts[0], user.ID); return err },
			"SELECT 1 FROM users WHERE id = $1", user.ID},
	} {
		err := db.Update(ctx, func(tx roster.Tx) error {
			if err := c.lock(tx); err != nil {
				return err
			}
			var pgErr *pgconn.PgError
			if err := tryLock(c.query, c.id); !errors.As(err, &pgErr) || pgErr.Code != "55P03" {
				t.Errorf("%s: another session locked the row too (err %v)", c.name, err)
			}
			return nil
		})
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if err := tryLock(c.query, c.id); err != nil {
			t.Errorf("%s: row still locked after the transaction: %v", c.name, err)
		}
	}
}

// TestInvalidIDs checks that ids that are not UUIDs read as missing rather
// than as PostgreSQL errors.
func TestInvalidIDs(t *testing.T) {
	ctx := context.Background()
	db := testdb.Postgres(t)
	if _, err := db.Account(ctx, "not-a-uuid"); roster.ErrorCode(err) != roster.CodeNotFound {
		t.Errorf("Account(invalid) = %v, want not found", err)
	}
	if _, err := db.User(ctx, "x", "y"); roster.ErrorCode(err) != roster.CodeNotFound {
		t.Errorf("User(invalid) = %v, want not found", err)
	}
	if p, err := db.ListUsers(ctx, "x", roster.ListQuery{Q: "ann"}); err != nil || len(p.Items) != 0 || p.Total != 0 {
		t.Errorf("ListUsers(invalid) = %v, %v; want an empty page", p, err)
	}
	if p, err := db.AuditEvents(ctx, "x", roster.AuditQuery{}); err != nil || len(p.Items) != 0 {
		t.Errorf("AuditEvents(invalid) = %v, %v; want an empty page", p, err)
	}
	err := db.Update(ctx, func(tx roster.Tx) error {
		_, err := tx.UserForUpdate(ctx, roster.NewID(time.Now()), "nope")
		return err
	})
	if roster.ErrorCode(err) != roster.CodeNotFound {
		t.Errorf("UserForUpdate(invalid) = %v, want not found", err)
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
