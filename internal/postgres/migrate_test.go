package postgres_test

import (
	"context"
	"testing"

	"roster/internal/postgres"
	"roster/internal/sqlstore"
	"roster/internal/storetest"
	"roster/internal/testdb"
)

// TestUpgradeIdentities applies the migrations before 0003, writes data the
// way those releases did, and checks what 0003 makes of it.
func TestUpgradeIdentities(t *testing.T) {
	ctx := context.Background()
	db, err := postgres.Open(ctx, testdb.URL(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	ms, err := postgres.Migrations()
	if err != nil {
		t.Fatal(err)
	}
	var before []sqlstore.Migration
	for _, m := range ms {
		if m.Version < 3 {
			before = append(before, m)
		}
	}
	if err := sqlstore.Migrate(ctx, db.WriteDB(), postgres.Dialect, before); err != nil {
		t.Fatal(err)
	}
	exec := func(query string, args ...any) error {
		_, err := db.WriteDB().ExecContext(ctx, query, args...)
		return err
	}
	storetest.UpgradeIdentities(t, exec, false, func() error { return db.Migrate(ctx) }, db)
}
