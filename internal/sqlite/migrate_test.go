package sqlite_test

import (
	"context"
	"path/filepath"
	"testing"

	"roster/internal/sqlite"
	"roster/internal/storetest"
)

// olderDB opens a fresh database with the schema of the releases before
// version and returns it with a function that writes data the way they did.
func olderDB(t *testing.T, version int64) (*sqlite.DB, func(query string, args ...any) error) {
	t.Helper()
	db, err := sqlite.OpenFile(context.Background(), filepath.Join(t.TempDir(), sqlite.FileName))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	ms, err := sqlite.Migrations()
	if err != nil {
		t.Fatal(err)
	}
	return db, storetest.OlderSchema(t, db.WriteDB(), sqlite.Dialect, ms, version)
}

// TestUpgradeIdentities applies the migrations before 0003, writes data the
// way those releases did, and checks what 0003 makes of it.
func TestUpgradeIdentities(t *testing.T) {
	ctx := context.Background()
	db, exec := olderDB(t, 3)
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

// TestUpgradeAuditChain writes audit events the way releases before 0004
// did and checks that 0004 chains them.
func TestUpgradeAuditChain(t *testing.T) {
	db, exec := olderDB(t, 4)
	storetest.UpgradeAuditChain(t, exec, func() error { return db.Migrate(context.Background()) }, db)
}

// TestUpgradeExpertAccess writes Experts the way releases before 0005 did
// and checks their access level and the deadline job's record.
func TestUpgradeExpertAccess(t *testing.T) {
	db, exec := olderDB(t, 5)
	storetest.UpgradeExpertAccess(t, exec, true, func() error { return db.Migrate(context.Background()) }, db)
}
