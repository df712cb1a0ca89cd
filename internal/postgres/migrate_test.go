package postgres_test

import (
	"context"
	"testing"

	"roster/internal/postgres"
	"roster/internal/storetest"
	"roster/internal/testdb"
)

// olderDB opens a fresh database with the schema of the releases before
// version and returns it with a function that writes data the way they did.
func olderDB(t *testing.T, version int64) (*postgres.DB, func(query string, args ...any) error) {
	t.Helper()
	db, err := postgres.Open(context.Background(), testdb.URL(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	ms, err := postgres.Migrations()
	if err != nil {
		t.Fatal(err)
	}
	return db, storetest.OlderSchema(t, db.WriteDB(), postgres.Dialect, ms, version)
}

// TestUpgradeIdentities applies the migrations before 0003, writes data the
// way those releases did, and checks what 0003 makes of it.
func TestUpgradeIdentities(t *testing.T) {
	db, exec := olderDB(t, 3)
	storetest.UpgradeIdentities(t, exec, false, func() error { return db.Migrate(context.Background()) }, db)
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
	storetest.UpgradeExpertAccess(t, exec, false, func() error { return db.Migrate(context.Background()) }, db)
}
