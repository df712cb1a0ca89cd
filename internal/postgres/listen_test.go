package postgres_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"roster"
	"roster/internal/postgres"
	"roster/internal/testdb"
)

// TestListenAuthChanges: the listener wakes its caller on connecting, on a
// committed change and, after its connection was killed, when it is back.
func TestListenAuthChanges(t *testing.T) {
	url := testdb.URL(t)
	ctx := t.Context()
	db, err := postgres.Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	wakes := make(chan struct{}, 16)
	lctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- postgres.ListenAuthChanges(lctx, url, nil, func() { wakes <- struct{}{} }) }()
	wait := func(what string) {
		t.Helper()
		select {
		case <-wakes:
		case <-time.After(time.Minute): // a hang guard, not a timing assertion
			t.Fatalf("no wake after %s", what)
		}
	}
	wait("connecting")

	now := time.Now()
	a := &roster.Account{ID: roster.NewID(now), Name: "Listen", CreatedAt: now, UpdatedAt: now}
	if err := db.Update(ctx, func(tx roster.Tx) error { return tx.InsertAccount(ctx, a) }); err != nil {
		t.Fatal(err)
	}
	rename := func() {
		t.Helper()
		a.Name += "!"
		if err := db.Update(ctx, func(tx roster.Tx) error { return tx.UpdateAccount(ctx, a) }); err != nil {
			t.Fatal(err)
		}
		wait("a committed change")
	}
	rename()

	pid := listenerPID(t, db)
	var killed bool
	if err := db.SQL().QueryRowContext(ctx, `SELECT pg_terminate_backend($1)`, pid).Scan(&killed); err != nil || !killed {
		t.Fatalf("pg_terminate_backend(%d) = %v, %v", pid, killed, err)
	}
	wait("reconnecting")
	if again := listenerPID(t, db); again == pid {
		t.Errorf("listener pid %d after reconnecting, the killed one's", again)
	}
	rename()

	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("ListenAuthChanges after cancel = %v, want context.Canceled", err)
	}
}

// listenerPID returns the backend of the LISTEN connection.
func listenerPID(t *testing.T, db *postgres.DB) int {
	t.Helper()
	var pid int
	err := db.SQL().QueryRowContext(t.Context(), `SELECT pid FROM pg_stat_activity
		WHERE application_name = $1 AND datname = current_database()`, postgres.ListenApplicationName).Scan(&pid)
	if err != nil {
		t.Fatalf("listener backend: %v", err)
	}
	return pid
}

func TestListenAuthChangesBadURL(t *testing.T) {
	err := postgres.ListenAuthChanges(t.Context(), "postgres://%zz", nil, func() {})
	if err == nil || errors.Is(err, context.Canceled) {
		t.Errorf("ListenAuthChanges(bad url) = %v, want a parse error", err)
	}
}
