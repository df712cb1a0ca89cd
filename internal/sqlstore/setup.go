package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"roster"
)

// SetupDone reports whether the first account was created, through a setup
// link or the operator CLI.
func (s *Store) SetupDone(ctx context.Context) (bool, error) {
	var done int64
	err := s.read.QueryRowContext(ctx, `SELECT done_at FROM setup_state WHERE id = 1`).Scan(&done)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("setup state: %w", err)
	}
	return done != 0, nil
}

// SetupTokenByHash returns a setup token's expiry and use time;
// CodeNotFound when missing.
func (s *Store) SetupTokenByHash(ctx context.Context, hash []byte) (expires, used time.Time, err error) {
	var e, u int64
	err = s.read.QueryRowContext(ctx, `SELECT expires_at, used_at FROM setup_tokens WHERE token_hash = $1`, hash).Scan(&e, &u)
	if errors.Is(err, sql.ErrNoRows) {
		return time.Time{}, time.Time{}, errSetupTokenNotFound()
	}
	if err != nil {
		return time.Time{}, time.Time{}, fmt.Errorf("get setup token: %w", err)
	}
	return roster.FromMicros(e), roster.FromMicros(u), nil
}

func errSetupTokenNotFound() error {
	return roster.Errorf(roster.CodeNotFound, "This setup link is unknown, used or expired.")
}

// InsertSetupToken stores the hash of a first-run setup link.
func (t *tx) InsertSetupToken(ctx context.Context, hash []byte, created, expires time.Time) error {
	_, err := t.q.ExecContext(ctx, `INSERT INTO setup_tokens (token_hash, created_at, expires_at) VALUES ($1, $2, $3)`,
		hash, roster.Micros(created), roster.Micros(expires))
	return t.s.translate(err, "insert setup token", "This setup link already exists.")
}

// ClaimSetup marks the platform set up, then the token used. The first
// UPDATE takes the row of setup_state: a concurrent claim waits for it
// (PostgreSQL; SQLite serialises writers) and then finds setup done. A
// token that does not qualify returns CodeNotFound after setup_state
// changed: the caller's transaction rolls both back.
func (t *tx) ClaimSetup(ctx context.Context, hash []byte, now time.Time) error {
	at := roster.Micros(now)
	if err := execOne(ctx, t.q, "claim setup",
		roster.Errorf(roster.CodeConflict, "Roster is already set up: sign in, or ask an Admin for an invitation."),
		`UPDATE setup_state SET done_at = $1 WHERE id = 1 AND done_at = 0`, max(at, 1)); err != nil {
		return err
	}
	return execOne(ctx, t.q, "claim setup", errSetupTokenNotFound(), `UPDATE setup_tokens SET used_at = $1
		WHERE token_hash = $2 AND used_at = 0 AND expires_at > $1`, at, hash)
}

// MarkSetupDone records that the first account exists, unless setup was
// already done.
func (t *tx) MarkSetupDone(ctx context.Context, at time.Time) error {
	if _, err := t.q.ExecContext(ctx, `UPDATE setup_state SET done_at = $1 WHERE id = 1 AND done_at = 0`,
		max(roster.Micros(at), 1)); err != nil {
		return fmt.Errorf("mark setup done: %w", err)
	}
	return nil
}
