package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
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
		last_used_at, expires_at, disabled, allowed_ips, scope) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
		k.ID, k.AccountID, k.UserID, k.Name, k.Hint, k.Hash, roster.Micros(k.CreatedAt), roster.Micros(k.LastUsedAt),
		roster.Micros(k.ExpiresAt), k.Disabled, joinList(k.AllowedIPs), joinList(k.Scope))
	return t.s.translate(err, "insert api key", "This API key already exists.")
}

// joinList stores a list as its items separated by spaces; none of the
// items (addresses, ranges, permission ids) contains one.
func joinList(items []string) string { return strings.Join(items, " ") }

// splitList reads what joinList stored; nil for "".
func splitList(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, " ")
}

// APIKeyByHash finds a key by the hash of its secret; CodeNotFound when missing.
func (s *Store) APIKeyByHash(ctx context.Context, hash []byte) (*roster.APIKey, error) {
	var k roster.APIKey
	var created, used, expires int64
	var ips, scope string
	err := s.read.QueryRowContext(ctx, `SELECT id, account_id, user_id, name, hint, hash, created_at, last_used_at,
		expires_at, disabled, allowed_ips, scope FROM api_keys WHERE hash = $1`, hash).
		Scan(&k.ID, &k.AccountID, &k.UserID, &k.Name, &k.Hint, &k.Hash, &created, &used, &expires, &k.Disabled, &ips, &scope)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errAPIKeyNotFound()
	}
	if err != nil {
		return nil, fmt.Errorf("get api key: %w", err)
	}
	k.CreatedAt, k.LastUsedAt, k.ExpiresAt = roster.FromMicros(created), roster.FromMicros(used), roster.FromMicros(expires)
	k.AllowedIPs, k.Scope = splitList(ips), splitList(scope)
	return &k, nil
}

// APIKeyOwner finds a key by the hash of its secret together with the user
// who created it, in one query; CodeNotFound when missing. It reads only what
// authentication and the gateway check need (each column costs, on SQLite
// especially): the key's ID, AccountID, UserID, ExpiresAt, Disabled,
// AllowedIPs and Scope, and the user's ID, AccountID, names, Email, Roles,
// ExpertAccess, Status and AccessUntil.
func (s *Store) APIKeyOwner(ctx context.Context, hash []byte) (*roster.APIKey, *roster.User, error) {
	var k roster.APIKey
	var u roster.User
	var expires, roles, until int64
	var status, ips, scope, level string
	err := s.read.QueryRowContext(ctx, `SELECT k.id, k.account_id, k.user_id, k.expires_at, k.disabled, k.allowed_ips, k.scope,
		u.first_name, u.last_name, u.email, u.role_mask, u.status, u.access_until, u.expert_access
		FROM api_keys k JOIN users u ON u.id = k.user_id AND u.account_id = k.account_id WHERE k.hash = $1`, hash).
		Scan(&k.ID, &k.AccountID, &k.UserID, &expires, &k.Disabled, &ips, &scope,
			&u.FirstName, &u.LastName, &u.Email, &roles, &status, &until, &level)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil, errAPIKeyNotFound()
	}
	if err != nil {
		return nil, nil, fmt.Errorf("get api key owner: %w", err)
	}
	k.ExpiresAt = roster.FromMicros(expires)
	k.AllowedIPs, k.Scope = splitList(ips), splitList(scope)
	u.ID, u.AccountID = k.UserID, k.AccountID
	u.Roles, u.Status, u.AccessUntil = roster.RoleSet(roles), roster.Status(status), roster.FromMicros(until)
	u.ExpertAccess = roster.AccessLevel(level)
	return &k, &u, nil
}

// keyCols are the columns of a key as the list shows it, with its owner;
// scanKey reads them.
const keyCols = `k.id, k.account_id, k.user_id, k.name, k.hint, k.created_at, k.last_used_at, k.expires_at, k.disabled,
	k.allowed_ips, k.scope, u.first_name, u.last_name, u.email, u.role_mask, u.status, u.access_until, u.expert_access`

const keyFrom = ` FROM api_keys k JOIN users u ON u.id = k.user_id AND u.account_id = k.account_id`

func scanKey(row scanner) (*roster.APIKey, error) {
	var k roster.APIKey
	u := &roster.User{}
	var created, used, expires, roles, until int64
	var ips, scope, status, level string
	if err := row.Scan(&k.ID, &k.AccountID, &k.UserID, &k.Name, &k.Hint, &created, &used, &expires, &k.Disabled,
		&ips, &scope, &u.FirstName, &u.LastName, &u.Email, &roles, &status, &until, &level); err != nil {
		return nil, err
	}
	k.CreatedAt, k.LastUsedAt, k.ExpiresAt = roster.FromMicros(created), roster.FromMicros(used), roster.FromMicros(expires)
	k.AllowedIPs, k.Scope = splitList(ips), splitList(scope)
	u.ID, u.AccountID = k.UserID, k.AccountID
	u.Roles, u.Status, u.AccessUntil = roster.RoleSet(roles), roster.Status(status), roster.FromMicros(until)
	u.ExpertAccess = roster.AccessLevel(level)
	k.Owner = u
	return &k, nil
}

// APIKeys returns an account's keys with their owners, newest first; only
// userID's unless userID is "".
func (s *Store) APIKeys(ctx context.Context, accountID, userID string) ([]*roster.APIKey, error) {
	if !roster.ValidID(accountID) || userID != "" && !roster.ValidID(userID) {
		return nil, nil
	}
	q, a := `SELECT `+keyCols+keyFrom+` WHERE k.account_id = $1`, []any{accountID}
	if userID != "" {
		q, a = q+` AND k.user_id = $2`, append(a, userID)
	}
	rows, err := s.read.QueryContext(ctx, q+` ORDER BY k.id DESC`, a...)
	if err != nil {
		return nil, fmt.Errorf("list api keys: %w", err)
	}
	defer rows.Close()
	var out []*roster.APIKey
	for rows.Next() {
		k, err := scanKey(rows)
		if err != nil {
			return nil, fmt.Errorf("list api keys: %w", err)
		}
		out = append(out, k)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list api keys: %w", err)
	}
	return out, nil
}

func getAPIKey(ctx context.Context, q querier, lock, accountID, keyID string) (*roster.APIKey, error) {
	if !roster.ValidID(accountID) || !roster.ValidID(keyID) {
		return nil, errAPIKeyNotFound()
	}
	k, err := scanKey(q.QueryRowContext(ctx, `SELECT `+keyCols+keyFrom+` WHERE k.id = $1 AND k.account_id = $2`+lock,
		keyID, accountID))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errAPIKeyNotFound()
	}
	if err != nil {
		return nil, fmt.Errorf("get api key: %w", err)
	}
	return k, nil
}

// APIKey returns one key of an account with its owner; CodeNotFound when
// missing or in another account.
func (s *Store) APIKey(ctx context.Context, accountID, keyID string) (*roster.APIKey, error) {
	return getAPIKey(ctx, s.read, "", accountID, keyID)
}

// APIKeyForUpdate is APIKey inside a transaction, locking the key's row
// only: a change of the key never waits on its owner's row, so it cannot
// deadlock with a change of the owner, which deletes their keys.
func (t *tx) APIKeyForUpdate(ctx context.Context, accountID, keyID string) (*roster.APIKey, error) {
	lock := ""
	if t.s.d.ForUpdate != "" {
		lock = t.s.d.ForUpdate + " OF k"
	}
	return getAPIKey(ctx, t.q, lock, accountID, keyID)
}

// UpdateAPIKey writes a key's name and whether it is disabled.
func (t *tx) UpdateAPIKey(ctx context.Context, k *roster.APIKey) error {
	if !roster.ValidID(k.AccountID) || !roster.ValidID(k.ID) {
		return errAPIKeyNotFound()
	}
	return execOne(ctx, t.q, "update api key", errAPIKeyNotFound(),
		`UPDATE api_keys SET name = $1, disabled = $2 WHERE id = $3 AND account_id = $4`, k.Name, k.Disabled, k.ID, k.AccountID)
}

// DeleteAPIKey removes a key of an account.
func (t *tx) DeleteAPIKey(ctx context.Context, accountID, keyID string) error {
	if !roster.ValidID(accountID) || !roster.ValidID(keyID) {
		return errAPIKeyNotFound()
	}
	return execOne(ctx, t.q, "delete api key", errAPIKeyNotFound(),
		`DELETE FROM api_keys WHERE id = $1 AND account_id = $2`, keyID, accountID)
}

// CountAPIKeys counts every key a user created in an account.
func (t *tx) CountAPIKeys(ctx context.Context, accountID, userID string) (int64, error) {
	var n int64
	err := t.q.QueryRowContext(ctx, `SELECT count(*) FROM api_keys WHERE user_id = $1 AND account_id = $2`,
		userID, accountID).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("count api keys: %w", err)
	}
	return n, nil
}

// TouchAPIKeys records when keys were last used, in one transaction, in
// key order so that two instances flushing at once lock rows in the same
// order. A time never moves backwards.
func (s *Store) TouchAPIKeys(ctx context.Context, uses map[string]time.Time) error {
	if len(uses) == 0 {
		return nil
	}
	return s.Update(ctx, func(rt roster.Tx) error {
		t := rt.(*tx)
		for _, id := range slices.Sorted(maps.Keys(uses)) {
			if !roster.ValidID(id) {
				continue
			}
			at := roster.Micros(uses[id])
			if _, err := t.q.ExecContext(ctx, `UPDATE api_keys SET last_used_at = $1 WHERE id = $2 AND last_used_at < $1`,
				at, id); err != nil {
				return fmt.Errorf("touch api key: %w", err)
			}
		}
		return nil
	})
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
