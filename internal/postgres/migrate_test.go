package postgres_test

import (
	"context"
	"testing"

	"roster/internal/postgres"
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
	exec := storetest.OlderSchema(t, db.WriteDB(), postgres.Dialect, ms, 3)
	storetest.UpgradeIdentities(t, exec, false, func() error { return db.Migrate(ctx) }, db)
}
