package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"roster"
)

// InsertAPIKey adds an API key; CodeConflict when its id or hash exists,
// CodeNotFound when its user is missing.
func (t *tx) InsertAPIKey(ctx context.Context, k *roster.APIKey) error {
	if !roster.ValidID(k.AccountID) || !roster.ValidID(k.UserID) {
		return errUserNotFound()
	}
	_, err := t.q.ExecContext(ctx, `INSERT INTO api_keys (id, account_id, user_id, name, hint, hash, created_at,
		last_used_at, expires_at, disabled) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
		k.ID, k.AccountID, k.UserID, k.Name, k.Hint, k.Hash, roster.Micros(k.CreatedAt), roster.Micros(k.LastUsedAt),
		roster.Micros(k.ExpiresAt), k.Disabled)
	return t.s.translate(err, "insert api key", "This API key already exists.")
}

// APIKeyByHash finds a key by the hash of its secret; CodeNotFound when missing.
func (s *Store) APIKeyByHash(ctx context.Context, hash []byte) (*roster.APIKey, error) {
	var k roster.APIKey
	var created, used, expires int64
	err := s.read.QueryRowContext(ctx, `SELECT id, account_id, user_id, name, hint, hash, created_at, last_used_at,
		expires_at, disabled FROM api_keys WHERE hash = $1`, hash).
		Scan(&k.ID, &k.AccountID, &k.UserID, &k.Name, &k.Hint, &k.Hash, &created, &used, &expires, &k.Disabled)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errAPIKeyNotFound()
	}
	if err != nil {
		return nil, fmt.Errorf("get api key: %w", err)
	}
	k.CreatedAt, k.LastUsedAt, k.ExpiresAt = roster.FromMicros(created), roster.FromMicros(used), roster.FromMicros(expires)
	return &k, nil
}

// APIKeyOwner finds a key by the hash of its secret together with the user
// who created it, in one query; CodeNotFound when missing. It reads only what
// authentication needs (each column costs, on SQLite especially): the key's
// ID, AccountID, UserID, ExpiresAt and Disabled, and the user's ID,
// AccountID, names, Email, Roles, ExpertAccess, Status and AccessUntil.
func (s *Store) APIKeyOwner(ctx context.Context, hash []byte) (*roster.APIKey, *roster.User, error) {
	var k roster.APIKey
	var u roster.User
	var expires, roles, until int64
	var status, level string
	err := s.read.QueryRowContext(ctx, `SELECT k.id, k.account_id, k.user_id, k.expires_at, k.disabled,
		u.first_name, u.last_name, u.email, u.role_mask, u.status, u.access_until, u.expert_access
		FROM api_keys k JOIN users u ON u.id = k.user_id AND u.account_id = k.account_id WHERE k.hash = $1`, hash).
		Scan(&k.ID, &k.AccountID, &k.UserID, &expires, &k.Disabled, &u.FirstName, &u.LastName, &u.Email, &roles, &status, &until, &level)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil, errAPIKeyNotFound()
	}
	if err != nil {
		return nil, nil, fmt.Errorf("get api key owner: %w", err)
	}
	k.ExpiresAt = roster.FromMicros(expires)
	u.ID, u.AccountID = k.UserID, k.AccountID
	u.Roles, u.Status, u.AccessUntil = roster.RoleSet(roles), roster.Status(status), roster.FromMicros(until)
	u.ExpertAccess = roster.AccessLevel(level)
	return &k, &u, nil
}

// CountActiveAPIKeys counts a user's keys that are enabled and unexpired at now.
func (s *Store) CountActiveAPIKeys(ctx context.Context, accountID, userID string, now time.Time) (int64, error) {
	if !roster.ValidID(accountID) || !roster.ValidID(userID) {
		return 0, nil
	}
	var n int64
	err := s.read.QueryRowContext(ctx, `SELECT count(*) FROM api_keys WHERE user_id = $1 AND account_id = $2
		AND NOT disabled AND (expires_at = 0 OR expires_at > $3)`, userID, accountID, roster.Micros(now)).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("count api keys: %w", err)
	}
	return n, nil
}
