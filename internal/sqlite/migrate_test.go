package sqlite_test

import (
	"context"
	"path/filepath"
	"testing"

	"roster/internal/sqlite"
	"roster/internal/storetest"
)

// TestUpgradeIdentities applies the migrations before 0003, writes data the
// way those releases did, and checks what 0003 makes of it.
func TestUpgradeIdentities(t *testing.T) {
	ctx := context.Background()
	db, err := sqlite.OpenFile(ctx, filepath.Join(t.TempDir(), sqlite.FileName))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	ms, err := sqlite.Migrations()
	if err != nil {
		t.Fatal(err)
	}
	exec := storetest.OlderSchema(t, db.WriteDB(), sqlite.Dialect, ms, 3)
	storetest.UpgradeIdentities(t, exec, true, func() error { return db.Migrate(ctx) }, db)
	// The rebuilt outbox is a table like any other: the schema still checks.
	var check string
	if err := db.ReadDB().QueryRowContext(ctx, "PRAGMA integrity_check").Scan(&check); err != nil || check != "ok" {
		t.Errorf("integrity_check = %q, %v", check, err)
	}
	var violations int
	if err := db.ReadDB().QueryRowContext(ctx, "SELECT count(*) FROM pragma_foreign_key_check").Scan(&violations); err != nil || violations != 0 {
		t.Errorf("foreign_key_check = %d violations, %v; want none", violations, err)
	}
}
