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

// apiKeyCols lists the api_keys columns scanAPIKey reads, in order.
const apiKeyCols = `k.id, k.account_id, k.user_id, k.name, k.hint, k.hash, k.created_at, k.last_used_at, k.expires_at, k.disabled`

// apiKeyRow receives the apiKeyCols of one row.
type apiKeyRow struct {
	k                      roster.APIKey
	created, used, expires int64
}

// dest returns the scan destinations of apiKeyCols.
func (r *apiKeyRow) dest() []any {
	return []any{&r.k.ID, &r.k.AccountID, &r.k.UserID, &r.k.Name, &r.k.Hint, &r.k.Hash, &r.created, &r.used, &r.expires, &r.k.Disabled}
}

// key returns the scanned key.
func (r *apiKeyRow) key() *roster.APIKey {
	r.k.CreatedAt, r.k.LastUsedAt, r.k.ExpiresAt = roster.FromMicros(r.created), roster.FromMicros(r.used), roster.FromMicros(r.expires)
	return &r.k
}

// APIKeyByHash finds a key by the hash of its secret; CodeNotFound when missing.
func (s *Store) APIKeyByHash(ctx context.Context, hash []byte) (*roster.APIKey, error) {
	var r apiKeyRow
	err := s.read.QueryRowContext(ctx, `SELECT `+apiKeyCols+` FROM api_keys k WHERE k.hash = $1`, hash).Scan(r.dest()...)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errAPIKeyNotFound()
	}
	if err != nil {
		return nil, fmt.Errorf("get api key: %w", err)
	}
	return r.key(), nil
}

// APIKeyOwner finds a key by the hash of its secret together with the user
// who created it, in one query; CodeNotFound when missing.
func (s *Store) APIKeyOwner(ctx context.Context, hash []byte) (*roster.APIKey, *roster.User, error) {
	row := s.read.QueryRowContext(ctx, `SELECT `+userColsOf("u")+`, `+apiKeyCols+` FROM api_keys k
		JOIN users u ON u.id = k.user_id AND u.account_id = k.account_id WHERE k.hash = $1`, hash)
	var r apiKeyRow
	u, err := scanUser(row, r.dest()...)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil, errAPIKeyNotFound()
	}
	if err != nil {
		return nil, nil, fmt.Errorf("get api key owner: %w", err)
	}
	return r.key(), u, nil
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
