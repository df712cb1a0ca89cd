package sqlstore

import (
	"context"
	"fmt"
	"time"

	"roster"
)

// InsertInvitation adds an invitation; CodeNotFound when its user is missing.
func (t *tx) InsertInvitation(ctx context.Context, inv *roster.Invitation) error {
	if !roster.ValidID(inv.AccountID) || !roster.ValidID(inv.UserID) {
		return errUserNotFound()
	}
	_, err := t.q.ExecContext(ctx, `INSERT INTO invitations (id, account_id, user_id, token_hash, created_at, sent_at,
		used_at, superseded) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
		inv.ID, inv.AccountID, inv.UserID, inv.TokenHash, roster.Micros(inv.CreatedAt), roster.Micros(inv.SentAt),
		roster.Micros(inv.UsedAt), inv.Superseded)
	return t.s.translate(err, "insert invitation", "This invitation already exists.")
}

// SupersedeInvitations kills every unused invitation of a user.
func (t *tx) SupersedeInvitations(ctx context.Context, accountID, userID string) error {
	if !roster.ValidID(accountID) || !roster.ValidID(userID) {
		return nil
	}
	_, err := t.q.ExecContext(ctx, `UPDATE invitations SET superseded = TRUE
		WHERE user_id = $1 AND account_id = $2 AND used_at = 0 AND NOT superseded`, userID, accountID)
	if err != nil {
		return fmt.Errorf("supersede invitations: %w", err)
	}
	return nil
}

// CountInvitationsSince counts a user's invitations created at or after since.
func (t *tx) CountInvitationsSince(ctx context.Context, accountID, userID string, since time.Time) (int64, error) {
	if !roster.ValidID(accountID) || !roster.ValidID(userID) {
		return 0, nil
	}
	var n int64
	err := t.q.QueryRowContext(ctx, `SELECT count(*) FROM invitations WHERE user_id = $1 AND account_id = $2
		AND created_at >= $3`, userID, accountID, roster.Micros(since)).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("count invitations: %w", err)
	}
	return n, nil
}

// OldestInvitationSince returns the creation time of the user's oldest
// invitation created at or after since, or the zero time.
func (t *tx) OldestInvitationSince(ctx context.Context, accountID, userID string, since time.Time) (time.Time, error) {
	if !roster.ValidID(accountID) || !roster.ValidID(userID) {
		return time.Time{}, nil
	}
	var oldest int64
	err := t.q.QueryRowContext(ctx, `SELECT coalesce(min(created_at), 0) FROM invitations WHERE user_id = $1
		AND account_id = $2 AND created_at >= $3`, userID, accountID, roster.Micros(since)).Scan(&oldest)
	if err != nil {
		return time.Time{}, fmt.Errorf("oldest invitation: %w", err)
	}
	return roster.FromMicros(oldest), nil
}

// InsertOutbox adds an email to send; the mail worker's columns (state,
// attempts, lease) start at their defaults.
func (t *tx) InsertOutbox(ctx context.Context, m *roster.OutboxMessage) error {
	if !roster.ValidID(m.AccountID) {
		return errAccountNotFound()
	}
	_, err := t.q.ExecContext(ctx, `INSERT INTO outbox (id, account_id, kind, ref, to_addr, created_at)
		VALUES ($1, $2, $3, $4, $5, $6)`, m.ID, m.AccountID, m.Kind, m.Ref, m.To, roster.Micros(m.CreatedAt))
	return t.s.translate(err, "insert outbox", "This message already exists.")
}
