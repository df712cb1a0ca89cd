package storetest

import (
	"context"
	"database/sql"
	"strconv"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"roster"
	"roster/internal/sqlstore"
)

// OlderSchema migrates db to the schema of the releases before version
// (ms are the engine's migrations) and returns a function that runs a
// statement on it, to write data the way those releases did.
func OlderSchema(t *testing.T, db *sql.DB, d *sqlstore.Dialect, ms []sqlstore.Migration, version int64) func(query string, args ...any) error {
	t.Helper()
	ctx := context.Background()
	var before []sqlstore.Migration
	for _, m := range ms {
		if m.Version < version {
			before = append(before, m)
		}
	}
	if err := sqlstore.Migrate(ctx, db, d, before); err != nil {
		t.Fatal(err)
	}
	return func(query string, args ...any) error {
		_, err := db.ExecContext(ctx, query, args...)
		return err
	}
}

// UpgradeIdentities checks migration 0003_identities on data written before
// it. exec runs a statement on a database migrated up to 0002; userSeq says
// that users need an explicit seq (SQLite). migrate then applies the
// remaining migrations, and s reads the result.
//
// Before: Ann has a password in two accounts (one identity results, linked
// to both users), Bob is invited without one (no identity), and an
// invitation email waits in the outbox (kept through the rebuild).
func UpgradeIdentities(t *testing.T, exec func(query string, args ...any) error, userSeq bool, migrate func() error, s roster.Store) {
	t.Helper()
	ctx := context.Background()
	acme, beta := roster.NewID(t0), roster.NewID(t0)
	ann1, ann2, bob := roster.NewID(t0), roster.NewID(t0), roster.NewID(t0)
	outboxID := roster.NewID(t0)
	seq := func(n int) string {
		if !userSeq {
			return ""
		}
		return "(SELECT seq << 32 FROM accounts WHERE id = $2) + " + strconv.Itoa(n) + ", "
	}
	seqCol := ""
	if userSeq {
		seqCol = "seq, "
	}
	user := func(n int, id, acct, email, status, hash string) error {
		return exec(`INSERT INTO users (`+seqCol+`id, account_id, first_name, last_name, email, email_key, name_key, search_key,
			status, password_hash, invited_at, joined_at) VALUES (`+seq(n)+`$1, $2, 'Ann', 'Lee', $3, $4, 'ann lee', $5, $6, $7, $8, $9)`,
			id, acct, email, roster.Fold(email), "ann lee\n"+roster.Fold(email), status, hash,
			roster.Micros(t0), roster.Micros(t0.Add(time.Duration(n)*time.Second)))
	}
	steps := []error{
		exec(`INSERT INTO accounts (id, name) VALUES ($1, 'Zeta Corp')`, acme),
		exec(`INSERT INTO accounts (id, name) VALUES ($1, 'Alpha Inc')`, beta),
		user(1, ann1, acme, "Ann.Lee@Example.com", "active", "$argon2id$hash-one"),
		user(2, ann2, beta, "ann.lee@example.com", "inactive", "$argon2id$hash-two"),
		user(3, bob, acme, "bob@example.com", "invited", ""),
		exec(`INSERT INTO outbox (id, account_id, kind, ref, to_addr, created_at) VALUES ($1, $2, 'invitation', 'ref', 'bob@example.com', $3)`,
			outboxID, acme, roster.Micros(t0)),
	}
	for _, err := range steps {
		if err != nil {
			t.Fatalf("data before 0003: %v", err)
		}
	}
	if err := migrate(); err != nil {
		t.Fatalf("migrate to 0003: %v", err)
	}

	id, err := s.IdentityByEmail(ctx, roster.CanonicalEmail("ANN.LEE@example.com"))
	if err != nil {
		t.Fatalf("IdentityByEmail(Ann) after the upgrade = %v", err)
	}
	if !roster.ValidID(id.ID) || id.EmailKey != "ann.lee@example.com" ||
		id.PasswordHash != "$argon2id$hash-one" && id.PasswordHash != "$argon2id$hash-two" {
		t.Errorf("Ann's identity = %+v; want a valid id, her email key and one of her hashes", id)
	}
	ms, err := s.Memberships(ctx, id.ID)
	if err != nil || len(ms) != 2 || ms[0].User.ID != ann2 || ms[0].AccountName != "Alpha Inc" || ms[1].User.ID != ann1 {
		t.Errorf("Memberships(Ann) after the upgrade = %+v, %v; want her users in Alpha Inc and Zeta Corp", ms, err)
	}
	if u, err := s.User(ctx, acme, bob); err != nil || u.IdentityID != "" {
		t.Errorf("invited Bob after the upgrade = %+v, %v; want no identity", u, err)
	}
	if _, err := s.IdentityByEmail(ctx, "bob@example.com"); roster.ErrorCode(err) != roster.CodeNotFound {
		t.Errorf("IdentityByEmail(Bob) = %v, want not found", err)
	}
	if done, err := s.SetupDone(ctx); err != nil || !done {
		t.Errorf("SetupDone on a database with accounts = %v, %v; want true", done, err)
	}
	got, err := s.RecentOutbox(ctx, 10)
	want := []*roster.OutboxMessage{{ID: outboxID, AccountID: acme, Kind: roster.MailInvitation, Ref: "ref",
		To: "bob@example.com", CreatedAt: t0, State: roster.OutboxPending}}
	if d := cmp.Diff(want, got); err != nil || d != "" {
		t.Errorf("outbox after the rebuild = %v (-want +got):\n%s", err, d)
	}
	err = s.Update(ctx, func(tx roster.Tx) error {
		return tx.InsertOutbox(ctx, &roster.OutboxMessage{ID: roster.NewID(t0), Kind: roster.MailPasswordReset,
			Ref: roster.NewID(t0), To: "ann.lee@example.com", CreatedAt: t0})
	})
	if err != nil {
		t.Errorf("InsertOutbox without an account after the upgrade = %v", err)
	}
}
