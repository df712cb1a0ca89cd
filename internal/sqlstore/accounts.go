package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"roster"
)

const accountCols = `id, name, enabled_roles, allowed_domains, created_at, updated_at`

// Domain names cannot contain commas, so the allowed domains are stored as
// one comma-separated text; "" is the empty list.
func joinDomains(ds []string) string { return strings.Join(ds, ",") }

func splitDomains(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, ",")
}

func getAccount(ctx context.Context, q querier, forUpdate, id string) (*roster.Account, error) {
	if !roster.ValidID(id) {
		return nil, errAccountNotFound()
	}
	var a roster.Account
	var roles, created, updated int64
	var domains string
	err := q.QueryRowContext(ctx, `SELECT `+accountCols+` FROM accounts WHERE id = $1`+forUpdate, id).
		Scan(&a.ID, &a.Name, &roles, &domains, &created, &updated)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errAccountNotFound()
	}
	if err != nil {
		return nil, fmt.Errorf("get account: %w", err)
	}
	a.EnabledRoles = roster.RoleSet(roles)
	a.AllowedDomains = splitDomains(domains)
	a.CreatedAt, a.UpdatedAt = roster.FromMicros(created), roster.FromMicros(updated)
	return &a, nil
}

// Account returns an account; CodeNotFound when missing.
func (s *Store) Account(ctx context.Context, id string) (*roster.Account, error) {
	return getAccount(ctx, s.read, "", id)
}

// LockAccount returns an account and holds a lock on its row until the
// transaction ends (on SQLite the single writer already serialises).
func (t *tx) LockAccount(ctx context.Context, id string) (*roster.Account, error) {
	return getAccount(ctx, t.q, t.s.d.ForUpdate, id)
}

// InsertAccount adds an account; CodeConflict when the id exists.
func (t *tx) InsertAccount(ctx context.Context, a *roster.Account) error {
	_, err := t.q.ExecContext(ctx, `INSERT INTO accounts (`+accountCols+`) VALUES ($1, $2, $3, $4, $5, $6)`,
		a.ID, a.Name, int64(a.EnabledRoles), joinDomains(a.AllowedDomains), roster.Micros(a.CreatedAt), roster.Micros(a.UpdatedAt))
	return t.s.translate(err, "insert account", "An account with this id already exists.")
}

// UpdateAccount writes an account's name, enabled roles and allowed domains.
func (t *tx) UpdateAccount(ctx context.Context, a *roster.Account) error {
	if !roster.ValidID(a.ID) {
		return errAccountNotFound()
	}
	return execOne(ctx, t.q, "update account", errAccountNotFound(), `UPDATE accounts SET name = $2, enabled_roles = $3, allowed_domains = $4, updated_at = $5
		WHERE id = $1`, a.ID, a.Name, int64(a.EnabledRoles), joinDomains(a.AllowedDomains), roster.Micros(a.UpdatedAt))
}

// HasAccounts reports whether any account exists.
func (s *Store) HasAccounts(ctx context.Context) (bool, error) {
	var n int
	if err := s.read.QueryRowContext(ctx, "SELECT count(*) FROM (SELECT 1 FROM accounts LIMIT 1) a").Scan(&n); err != nil {
		return false, fmt.Errorf("has accounts: %w", err)
	}
	return n > 0, nil
}
