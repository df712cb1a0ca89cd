package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"roster"
)

const identityCols = `id, email, email_key, password_hash, created_at, updated_at, password_changed_at`

func errIdentityNotFound() error {
	return roster.Errorf(roster.CodeNotFound, "No identity with this id or email exists.")
}

func scanIdentity(row scanner, extra ...any) (*roster.Identity, error) {
	var id roster.Identity
	var created, updated, changed int64
	dest := []any{&id.ID, &id.Email, &id.EmailKey, &id.PasswordHash, &created, &updated, &changed}
	if err := row.Scan(append(dest, extra...)...); err != nil {
		return nil, err
	}
	id.CreatedAt, id.UpdatedAt, id.PasswordChangedAt = roster.FromMicros(created), roster.FromMicros(updated), roster.FromMicros(changed)
	return &id, nil
}

func getIdentity(ctx context.Context, q querier, query, op string, arg any) (*roster.Identity, error) {
	id, err := scanIdentity(q.QueryRowContext(ctx, query, arg))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errIdentityNotFound()
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	return id, nil
}

// IdentityByEmailSQL finds an identity by its unique email key. Exported
// for the query-plan tests.
const IdentityByEmailSQL = `SELECT ` + identityCols + ` FROM identities WHERE email_key = $1`

// Identity returns an identity by id; CodeNotFound when missing.
func (s *Store) Identity(ctx context.Context, id string) (*roster.Identity, error) {
	return getIdentity(ctx, s.read, `SELECT `+identityCols+` FROM identities WHERE id = $1`, "get identity", id)
}

// IdentityByEmail finds an identity by CanonicalEmail; CodeNotFound when missing.
func (s *Store) IdentityByEmail(ctx context.Context, emailKey string) (*roster.Identity, error) {
	return getIdentity(ctx, s.read, IdentityByEmailSQL, "get identity by email", emailKey)
}

// mayActAt2 is the condition on a user row that it may act at $2: active,
// and before its access deadline if it has one.
const mayActAt2 = `status = 'active' AND (access_until = 0 OR access_until > $2)`

// SignInIdentitySQL finds an identity by email key with whether it has a
// user that may act at $2 (CanSignInSQL's condition), in one query. The
// redundant test that identity_id is not empty lets the partial index
// users_identity serve the subquery.
const SignInIdentitySQL = `SELECT ` + identityCols + `, EXISTS (SELECT 1 FROM users WHERE identity_id = identities.id
	AND identity_id <> '' AND ` + mayActAt2 + `) FROM identities WHERE email_key = $1`

// SignInIdentity finds the identity of a sign-in and whether it may act
// somewhere at now; nil when there is none.
func (s *Store) SignInIdentity(ctx context.Context, emailKey string, now time.Time) (*roster.Identity, bool, error) {
	var can bool
	id, err := scanIdentity(s.read.QueryRowContext(ctx, SignInIdentitySQL, emailKey, roster.Micros(now)), &can)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("get identity for sign-in: %w", err)
	}
	return id, can, nil
}

// InsertIdentity adds an identity; CodeConflict when its id or EmailKey exists.
func (t *tx) InsertIdentity(ctx context.Context, id *roster.Identity) error {
	_, err := t.q.ExecContext(ctx, `INSERT INTO identities (`+identityCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
		id.ID, id.Email, id.EmailKey, id.PasswordHash, roster.Micros(id.CreatedAt), roster.Micros(id.UpdatedAt),
		roster.Micros(id.PasswordChangedAt))
	return t.s.translate(err, "insert identity", "Someone with this email can already sign in.")
}

// SetPassword replaces an identity's password hash; CodeNotFound when the
// identity is missing.
func (t *tx) SetPassword(ctx context.Context, identityID, hash string, at time.Time) error {
	return execOne(ctx, t.q, "set password", errIdentityNotFound(), `UPDATE identities SET password_hash = $2, password_changed_at = $3, updated_at = $3
		WHERE id = $1`, identityID, hash, roster.Micros(at))
}

// The queries on an identity's users repeat the predicate of the partial
// index users_identity (identity_id <> '') literally, so that both
// planners use it, and so that "" (an invited user's identity) matches no
// one.

// MembershipsSQL lists an identity's users with their accounts' names.
// Exported for the query-plan tests.
var MembershipsSQL = `SELECT ` + userColsOf("u") + `, a.name FROM users u JOIN accounts a ON a.id = u.account_id
	WHERE u.identity_id = $1 AND u.identity_id <> '' ORDER BY a.name, a.id`

// UserByIdentitySQL finds an identity's user in an account. Exported for
// the query-plan tests.
const UserByIdentitySQL = `SELECT ` + userCols + ` FROM users
	WHERE identity_id = $1 AND identity_id <> '' AND account_id = $2`

// CanSignInSQL tells whether an identity has a user that may act at $2.
// Exported for the query-plan tests.
const CanSignInSQL = `SELECT count(*) FROM (SELECT 1 FROM users WHERE identity_id = $1 AND identity_id <> ''
	AND ` + mayActAt2 + ` LIMIT 1) m`

// Memberships returns every user of an identity with its account's name,
// ordered by account name.
func (s *Store) Memberships(ctx context.Context, identityID string) ([]*roster.Membership, error) {
	rows, err := s.read.QueryContext(ctx, MembershipsSQL, identityID)
	if err != nil {
		return nil, fmt.Errorf("memberships: %w", err)
	}
	defer rows.Close()
	var out []*roster.Membership
	for rows.Next() {
		var m roster.Membership
		if m.User, err = scanUser(rows, &m.AccountName); err != nil {
			return nil, fmt.Errorf("memberships: %w", err)
		}
		out = append(out, &m)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("memberships: %w", err)
	}
	return out, nil
}

// UserByIdentity returns the identity's user in an account; CodeNotFound
// when it is not a member.
func (s *Store) UserByIdentity(ctx context.Context, accountID, identityID string) (*roster.User, error) {
	if !roster.ValidID(accountID) {
		return nil, errUserNotFound()
	}
	u, err := scanUser(s.read.QueryRowContext(ctx, UserByIdentitySQL, identityID, accountID))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, roster.Errorf(roster.CodeNotFound, "You are not a member of this account.")
	}
	if err != nil {
		return nil, fmt.Errorf("get user by identity: %w", err)
	}
	return u, nil
}

// CanSignIn reports whether the identity has an active user before its
// access deadline, if any, at now.
func (s *Store) CanSignIn(ctx context.Context, identityID string, now time.Time) (bool, error) {
	var n int
	if err := s.read.QueryRowContext(ctx, CanSignInSQL, identityID, roster.Micros(now)).Scan(&n); err != nil {
		return false, fmt.Errorf("can sign in: %w", err)
	}
	return n > 0, nil
}

// recordLoginSQL is the UPDATE of RecordLogin, with the placeholders of the
// identity, the time, the IP and the device; StartSession embeds it.
func recordLoginSQL(identity, at, ip, device string) string {
	return `UPDATE users SET last_login_at = ` + at + `, last_login_ip = ` + ip + `, last_login_device = ` + device + `
		WHERE identity_id = ` + identity + ` AND identity_id <> '' AND status = 'active'`
}

// RecordLogin sets the last login of every active user of the identity,
// leaving Version (the ETag) and UpdatedAt as they are: signing in changes
// nothing an Admin edits.
func (t *tx) RecordLogin(ctx context.Context, identityID string, at time.Time, ip, device string) error {
	_, err := t.q.ExecContext(ctx, recordLoginSQL("$1", "$2", "$3", "$4"), identityID, roster.Micros(at), ip, device)
	if err != nil {
		return fmt.Errorf("record login: %w", err)
	}
	return nil
}
