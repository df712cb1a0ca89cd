package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"roster"
)

const sessionCols = `id, identity_id, token_hash, created_at, last_seen_at, expires_at, ip, device`

func errSessionNotFound() error {
	return roster.Errorf(roster.CodeNotFound, "No session with this id exists.")
}

func scanSession(row scanner) (*roster.Session, error) {
	var s roster.Session
	var created, seen, expires int64
	if err := row.Scan(&s.ID, &s.IdentityID, &s.TokenHash, &created, &seen, &expires, &s.IP, &s.Device); err != nil {
		return nil, err
	}
	s.CreatedAt, s.LastSeenAt, s.ExpiresAt = roster.FromMicros(created), roster.FromMicros(seen), roster.FromMicros(expires)
	return &s, nil
}

// SessionByHashSQL finds a session by its token's hash, through the unique
// index on token_hash, with its identity and whether that identity has a
// user that may act at $2: everything a signed-in request needs to know
// of its sender in one round trip. Exported for the query-plan tests.
var SessionByHashSQL = `SELECT ` + qualify(identityCols, "i") + `, ` + qualify(sessionCols, "s") + `,
	EXISTS (SELECT 1 FROM users WHERE identity_id = i.id AND identity_id <> '' AND ` + mayActAt2 + `)
	FROM sessions s JOIN identities i ON i.id = s.identity_id WHERE s.token_hash = $1`

// SessionByHash finds a session by the hash of its token with its identity
// and whether the identity may act somewhere at now; CodeNotFound when
// missing.
func (s *Store) SessionByHash(ctx context.Context, hash []byte, now time.Time) (*roster.Session, *roster.Identity, bool, error) {
	var sess roster.Session
	var created, seen, expires int64
	var can bool
	ident, err := scanIdentity(s.read.QueryRowContext(ctx, SessionByHashSQL, hash, roster.Micros(now)),
		&sess.ID, &sess.IdentityID, &sess.TokenHash, &created, &seen, &expires, &sess.IP, &sess.Device, &can)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil, false, errSessionNotFound()
	}
	if err != nil {
		return nil, nil, false, fmt.Errorf("get session: %w", err)
	}
	sess.CreatedAt, sess.LastSeenAt, sess.ExpiresAt = roster.FromMicros(created), roster.FromMicros(seen), roster.FromMicros(expires)
	return &sess, ident, can, nil
}

// Sessions returns an identity's sessions, newest first.
func (s *Store) Sessions(ctx context.Context, identityID string) ([]*roster.Session, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT `+sessionCols+` FROM sessions WHERE identity_id = $1
		ORDER BY created_at DESC, id DESC`, identityID)
	if err != nil {
		return nil, fmt.Errorf("list sessions: %w", err)
	}
	defer rows.Close()
	var out []*roster.Session
	for rows.Next() {
		sess, err := scanSession(rows)
		if err != nil {
			return nil, fmt.Errorf("list sessions: %w", err)
		}
		out = append(out, sess)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list sessions: %w", err)
	}
	return out, nil
}

// InsertSession adds a session; CodeConflict when its id or token hash
// exists, CodeNotFound when its identity is missing.
func (t *tx) InsertSession(ctx context.Context, s *roster.Session) error {
	_, err := t.q.ExecContext(ctx, `INSERT INTO sessions (`+sessionCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
		s.ID, s.IdentityID, s.TokenHash, roster.Micros(s.CreatedAt), roster.Micros(s.LastSeenAt), roster.Micros(s.ExpiresAt),
		s.IP, s.Device)
	return t.s.translate(err, "insert session", "This session already exists.")
}

// TouchSession sets a session's LastSeenAt; CodeNotFound when the session
// is gone (it ended meanwhile).
func (t *tx) TouchSession(ctx context.Context, sessionID string, at time.Time) error {
	return execOne(ctx, t.q, "touch session", errSessionNotFound(), `UPDATE sessions SET last_seen_at = $2 WHERE id = $1`, sessionID, roster.Micros(at))
}

// DeleteSession ends one session of an identity; CodeNotFound when the
// identity has no such session.
func (t *tx) DeleteSession(ctx context.Context, identityID, sessionID string) error {
	return execOne(ctx, t.q, "delete session", errSessionNotFound(), `DELETE FROM sessions WHERE id = $1 AND identity_id = $2`, sessionID, identityID)
}

// DeleteSessions ends every session of an identity but except ("" for none).
func (t *tx) DeleteSessions(ctx context.Context, identityID, except string) error {
	if _, err := t.q.ExecContext(ctx, `DELETE FROM sessions WHERE identity_id = $1 AND id <> $2`, identityID, except); err != nil {
		return fmt.Errorf("delete sessions: %w", err)
	}
	return nil
}

// LoginFailures returns the failures recorded under a throttle key and the
// time of the last; 0 and the zero time when none.
func (s *Store) LoginFailures(ctx context.Context, key []byte) (int, time.Time, error) {
	var n int
	var last int64
	err := s.read.QueryRowContext(ctx, `SELECT count, last_at FROM login_failures WHERE key = $1`, key).Scan(&n, &last)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, time.Time{}, nil
	}
	if err != nil {
		return 0, time.Time{}, fmt.Errorf("get login failures: %w", err)
	}
	return n, roster.FromMicros(last), nil
}

// ReserveLoginAttempt moves a throttle key's count from seen to next in
// one statement outside any transaction (one round trip: it sits before
// every password check): an insert when there is no row, or an update of
// the row only while its count is still seen. Rows never hold a count of 0,
// so seen 0 matches only a missing row. Of concurrent attempts that saw the
// same count exactly one succeeds.
func (s *Store) ReserveLoginAttempt(ctx context.Context, key []byte, seen, next int, at time.Time) (bool, error) {
	res, err := s.writeDB.ExecContext(ctx, `INSERT INTO login_failures (key, count, first_at, last_at) VALUES ($1, $2, $3, $3)
		ON CONFLICT (key) DO UPDATE SET count = excluded.count, last_at = excluded.last_at
		WHERE login_failures.count = $4 AND $4 > 0`, key, next, roster.Micros(at), seen)
	if err != nil {
		return false, fmt.Errorf("reserve login attempt: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("reserve login attempt: %w", err)
	}
	return n == 1, nil
}

// ClearLoginFailures forgets a throttle key's failures.
func (t *tx) ClearLoginFailures(ctx context.Context, key []byte) error {
	if _, err := t.q.ExecContext(ctx, `DELETE FROM login_failures WHERE key = $1`, key); err != nil {
		return fmt.Errorf("clear login failures: %w", err)
	}
	return nil
}

// Prune deletes sessions past their absolute limit (expires_at at or
// before now) or idle (last seen before idleBefore), login failures last
// seen before failuresBefore, setup tokens expired at now and access change
// log entries older than AuthChangesKept by the database's clock. It returns how many rows went.
func (t *tx) Prune(ctx context.Context, now, idleBefore, failuresBefore time.Time) (int64, error) {
	var total int64
	for _, st := range []struct {
		op, query string
		args      []any
	}{
		{"sessions", `DELETE FROM sessions WHERE expires_at <= $1 OR last_seen_at < $2`,
			[]any{roster.Micros(now), roster.Micros(idleBefore)}},
		{"login failures", `DELETE FROM login_failures WHERE last_at < $1`, []any{roster.Micros(failuresBefore)}},
		{"setup tokens", `DELETE FROM setup_tokens WHERE expires_at <= $1`, []any{roster.Micros(now)}},
		// By the database's clock, which wrote changed_at: an instance
		// whose clock runs ahead would delete entries others have not read.
		{"auth changes", `DELETE FROM auth_changes WHERE changed_at < ` + t.s.d.nowMicros() + ` - $1`,
			[]any{AuthChangesKept.Microseconds()}},
	} {
		res, err := t.q.ExecContext(ctx, st.query, st.args...)
		if err != nil {
			return total, fmt.Errorf("prune %s: %w", st.op, err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return total, fmt.Errorf("prune %s: %w", st.op, err)
		}
		total += n
	}
	return total, nil
}

// startSessionCTE is StartSession in one statement, for engines with
// data-modifying WITH clauses.
var startSessionCTE = `WITH cleared AS (DELETE FROM login_failures WHERE key = $9),
	logged AS (` + recordLoginSQL("$2", "$4", "$7", "$8") + `)
	INSERT INTO sessions (` + sessionCols + `) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`

// StartSession writes a sign-in's session, records the sign-in on the
// identity's active users and forgets the throttle key's attempts, all or
// nothing: one statement where the engine allows (a sign-in's writes then
// cost one round trip), a transaction otherwise.
func (s *Store) StartSession(ctx context.Context, sess *roster.Session, throttleKey []byte) error {
	if s.d.WriteCTE {
		_, err := s.writeDB.ExecContext(ctx, startSessionCTE, sess.ID, sess.IdentityID, sess.TokenHash,
			roster.Micros(sess.CreatedAt), roster.Micros(sess.LastSeenAt), roster.Micros(sess.ExpiresAt), sess.IP, sess.Device,
			throttleKey)
		return s.translate(err, "start session", "This session already exists.")
	}
	return s.Update(ctx, func(rtx roster.Tx) error {
		if err := rtx.ClearLoginFailures(ctx, throttleKey); err != nil {
			return err
		}
		if err := rtx.InsertSession(ctx, sess); err != nil {
			return err
		}
		return rtx.RecordLogin(ctx, sess.IdentityID, sess.CreatedAt, sess.IP, sess.Device)
	})
}
