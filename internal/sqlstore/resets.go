package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"roster"
)

const resetCols = `id, identity_id, token_hash, created_at, sent_at, used_at, superseded`

func errResetNotFound() error {
	return roster.Errorf(roster.CodeNotFound, "No password reset link with this id exists.")
}

func scanReset(row scanner, extra ...any) (*roster.PasswordReset, error) {
	var r roster.PasswordReset
	var created, sent, used int64
	dest := []any{&r.ID, &r.IdentityID, &r.TokenHash, &created, &sent, &used, &r.Superseded}
	if err := row.Scan(append(dest, extra...)...); err != nil {
		return nil, err
	}
	r.CreatedAt, r.SentAt, r.UsedAt = roster.FromMicros(created), roster.FromMicros(sent), roster.FromMicros(used)
	return &r, nil
}

// PasswordResetByHash finds a reset link by the hash of its token;
// CodeNotFound when missing.
func (s *Store) PasswordResetByHash(ctx context.Context, hash []byte) (*roster.PasswordReset, error) {
	r, err := scanReset(s.read.QueryRowContext(ctx, `SELECT `+resetCols+` FROM password_resets WHERE token_hash = $1`, hash))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errResetNotFound()
	}
	if err != nil {
		return nil, fmt.Errorf("get password reset: %w", err)
	}
	return r, nil
}

// ResetMail returns a reset link with its identity; CodeNotFound when
// either is gone.
func (s *Store) ResetMail(ctx context.Context, resetID string) (*roster.ResetMail, error) {
	var m roster.ResetMail
	var created, updated, changed int64
	id := new(roster.Identity)
	r, err := scanReset(s.read.QueryRowContext(ctx, `SELECT `+qualify(resetCols, "r")+`, `+qualify(identityCols, "i")+`
		FROM password_resets r JOIN identities i ON i.id = r.identity_id WHERE r.id = $1`, resetID),
		&id.ID, &id.Email, &id.EmailKey, &id.PasswordHash, &created, &updated, &changed)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errResetNotFound()
	}
	if err != nil {
		return nil, fmt.Errorf("get reset mail: %w", err)
	}
	id.CreatedAt, id.UpdatedAt, id.PasswordChangedAt = roster.FromMicros(created), roster.FromMicros(updated), roster.FromMicros(changed)
	m.Reset, m.Identity = r, id
	return &m, nil
}

// InsertPasswordReset adds a reset link; CodeConflict when its id or token
// hash exists, CodeNotFound when its identity is missing.
func (t *tx) InsertPasswordReset(ctx context.Context, r *roster.PasswordReset) error {
	_, err := t.q.ExecContext(ctx, `INSERT INTO password_resets (`+resetCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
		r.ID, r.IdentityID, r.TokenHash, roster.Micros(r.CreatedAt), roster.Micros(r.SentAt), roster.Micros(r.UsedAt), r.Superseded)
	return t.s.translate(err, "insert password reset", "This password reset link already exists.")
}

// SupersedePasswordResets kills every unused reset link of an identity.
func (t *tx) SupersedePasswordResets(ctx context.Context, identityID string) error {
	_, err := t.q.ExecContext(ctx, `UPDATE password_resets SET superseded = TRUE
		WHERE identity_id = $1 AND used_at = 0 AND NOT superseded`, identityID)
	if err != nil {
		return fmt.Errorf("supersede password resets: %w", err)
	}
	return nil
}

// CountPasswordResetsSince counts an identity's reset links created at or after since.
func (t *tx) CountPasswordResetsSince(ctx context.Context, identityID string, since time.Time) (int64, error) {
	var n int64
	err := t.q.QueryRowContext(ctx, `SELECT count(*) FROM password_resets WHERE identity_id = $1 AND created_at >= $2`,
		identityID, roster.Micros(since)).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("count password resets: %w", err)
	}
	return n, nil
}

// UsePasswordReset marks a reset link used; CodeConflict when it is already
// used or superseded, CodeNotFound when missing. The condition is in the
// UPDATE, so of concurrent uses exactly one changes the row.
func (t *tx) UsePasswordReset(ctx context.Context, resetID string, at time.Time) error {
	return useLink(ctx, t.q, "password_resets", resetID, at, errResetNotFound,
		"This password reset link was already used or a newer one was sent.")
}

// MarkPasswordResetSent sets a reset link's send time once.
func (t *tx) MarkPasswordResetSent(ctx context.Context, resetID string, at time.Time) error {
	_, err := t.q.ExecContext(ctx, `UPDATE password_resets SET sent_at = $1 WHERE id = $2 AND sent_at = 0`,
		roster.Micros(at), resetID)
	if err != nil {
		return fmt.Errorf("mark password reset sent: %w", err)
	}
	return nil
}

// useLink marks the unused, live row id of table (invitations or
// password_resets) used at at: CodeConflict when it is used or superseded,
// notFound when missing.
func useLink(ctx context.Context, q querier, table, id string, at time.Time, notFound func() error, conflict string) error {
	res, err := q.ExecContext(ctx, `UPDATE `+table+` SET used_at = $2 WHERE id = $1 AND used_at = 0 AND NOT superseded`,
		id, roster.Micros(at))
	if err != nil {
		return fmt.Errorf("use %s: %w", table, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("use %s: %w", table, err)
	}
	if n > 0 {
		return nil
	}
	var exists int
	if err := q.QueryRowContext(ctx, `SELECT count(*) FROM `+table+` WHERE id = $1`, id).Scan(&exists); err != nil {
		return fmt.Errorf("use %s: %w", table, err)
	}
	if exists == 0 {
		return notFound()
	}
	return roster.Errorf(roster.CodeConflict, "%s", conflict)
}
