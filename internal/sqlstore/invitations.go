package sqlstore

import (
	"context"
	"database/sql"
	"errors"
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
// attempts, lease) start at their defaults. AccountID is "" for mail that
// belongs to no account (a password reset).
func (t *tx) InsertOutbox(ctx context.Context, m *roster.OutboxMessage) error {
	if m.AccountID != "" && !roster.ValidID(m.AccountID) {
		return errAccountNotFound()
	}
	_, err := t.q.ExecContext(ctx, `INSERT INTO outbox (id, account_id, kind, ref, to_addr, created_at)
		VALUES ($1, $2, $3, $4, $5, $6)`, m.ID, m.AccountID, m.Kind, m.Ref, m.To, roster.Micros(m.CreatedAt))
	return t.s.translate(err, "insert outbox", "This message already exists.")
}

const invitationCols = `id, account_id, user_id, token_hash, created_at, sent_at, used_at, superseded`

func errInvitationNotFound() error {
	return roster.Errorf(roster.CodeNotFound, "No invitation with this id exists.")
}

// invitationRow receives the invitationCols of one row.
type invitationRow struct {
	inv                 roster.Invitation
	created, sent, used int64
}

func (r *invitationRow) dest() []any {
	return []any{&r.inv.ID, &r.inv.AccountID, &r.inv.UserID, &r.inv.TokenHash, &r.created, &r.sent, &r.used, &r.inv.Superseded}
}

func (r *invitationRow) invitation() *roster.Invitation {
	inv := r.inv
	inv.CreatedAt, inv.SentAt, inv.UsedAt = roster.FromMicros(r.created), roster.FromMicros(r.sent), roster.FromMicros(r.used)
	return &inv
}

func scanInvitation(row scanner) (*roster.Invitation, error) {
	var r invitationRow
	if err := row.Scan(r.dest()...); err != nil {
		return nil, err
	}
	return r.invitation(), nil
}

// InvitationByHash finds an invitation by the hash of its token;
// CodeNotFound when missing.
func (s *Store) InvitationByHash(ctx context.Context, hash []byte) (*roster.Invitation, error) {
	inv, err := scanInvitation(s.read.QueryRowContext(ctx, `SELECT `+invitationCols+` FROM invitations WHERE token_hash = $1`, hash))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errInvitationNotFound()
	}
	if err != nil {
		return nil, fmt.Errorf("get invitation: %w", err)
	}
	return inv, nil
}

// UseInvitation marks an invitation used at at; CodeConflict when it is
// already used or superseded, CodeNotFound when missing. The condition is
// in the UPDATE, so of concurrent uses exactly one changes the row (on
// PostgreSQL the others wait for its lock and then see it used).
func (t *tx) UseInvitation(ctx context.Context, invitationID string, at time.Time) error {
	if !roster.ValidID(invitationID) {
		return errInvitationNotFound()
	}
	return useLink(ctx, t.q, "invitations", invitationID, at, errInvitationNotFound,
		"This invitation was already used or a newer one was sent.")
}

// InvitationMail returns an invitation with its user and account, in one
// query; CodeNotFound when any of them is gone.
func (s *Store) InvitationMail(ctx context.Context, accountID, invitationID string) (*roster.InvitationMail, error) {
	if !roster.ValidID(accountID) || !roster.ValidID(invitationID) {
		return nil, errInvitationNotFound()
	}
	var r invitationRow
	var a roster.Account
	var roles, acreated, aupdated int64
	var domains string
	u, err := scanUser(s.read.QueryRowContext(ctx, `SELECT `+userColsOf("u")+`, `+qualify(invitationCols, "i")+`,
		`+qualify(accountCols, "a")+` FROM invitations i
		JOIN users u ON u.id = i.user_id AND u.account_id = i.account_id
		JOIN accounts a ON a.id = i.account_id
		WHERE i.id = $1 AND i.account_id = $2`, invitationID, accountID),
		append(r.dest(), &a.ID, &a.Name, &roles, &domains, &acreated, &aupdated)...)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errInvitationNotFound()
	}
	if err != nil {
		return nil, fmt.Errorf("get invitation mail: %w", err)
	}
	a.EnabledRoles = roster.RoleSet(roles)
	a.AllowedDomains = splitDomains(domains)
	a.CreatedAt, a.UpdatedAt = roster.FromMicros(acreated), roster.FromMicros(aupdated)
	return &roster.InvitationMail{Invitation: r.invitation(), User: u, Account: &a}, nil
}
