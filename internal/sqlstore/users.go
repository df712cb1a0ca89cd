package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"roster"
)

// listCols lists the users columns of a list row, in the order
// scanListUser reads them: what the Users page shows and what a cursor needs.
// Every column read costs (on SQLite, per column and row), so lists read
// these 14 rather than all 25.
const listCols = `id, account_id, first_name, last_name, email, email_key, name_key, role_mask, status,
	access_until, invited_at, joined_at, last_login_at, expert_access`

// userCols lists every users column, in the order scanUser reads and
// userValues writes them: a list row's columns first.
const userCols = listCols + `, search_key, invited_by, invited_by_name, last_login_ip, last_login_device,
	revoked_at, revoke_reason, revoke_note, identity_id, version, updated_at`

// userColCount is the number of columns in userCols.
const userColCount = 25

// userColsOf returns userCols qualified by a table alias.
func userColsOf(alias string) string { return qualify(userCols, alias) }

// listColsOf returns listCols qualified by a table alias.
func listColsOf(alias string) string { return qualify(listCols, alias) }

// qualify prefixes each column of a comma-separated list with alias.
func qualify(cols, alias string) string {
	list := strings.Split(cols, ",")
	for i, c := range list {
		list[i] = alias + "." + strings.TrimSpace(c)
	}
	return strings.Join(list, ", ")
}

// updateUserSQL sets every column of userCols but id and account_id ($1
// and $2, which select the row) from userValues.
var updateUserSQL = func() string {
	cols := strings.Split(userCols, ",")
	set := make([]string, 0, len(cols)-2)
	for i, c := range cols[2:] {
		set = append(set, fmt.Sprintf("%s = $%d", strings.TrimSpace(c), i+3))
	}
	return "UPDATE users SET " + strings.Join(set, ", ") + " WHERE id = $1 AND account_id = $2"
}()

const msgEmailTaken = "A user with this email already exists in this account."

type scanner interface{ Scan(dest ...any) error }

// listRow receives the listCols of one row into a user.
type listRow struct {
	roles, accessUntil, invitedAt, joinedAt, lastLogin int64
	status, level                                      string
}

// dest returns the scan destinations of listCols, filling u.
func (r *listRow) dest(u *roster.User) []any {
	return []any{&u.ID, &u.AccountID, &u.FirstName, &u.LastName, &u.Email, &u.EmailKey, &u.NameKey,
		&r.roles, &r.status, &r.accessUntil, &r.invitedAt, &r.joinedAt, &r.lastLogin, &r.level}
}

// fill converts the scanned values into u's fields.
func (r *listRow) fill(u *roster.User) {
	u.Roles = roster.RoleSet(r.roles)
	u.Status = roster.Status(r.status)
	u.AccessUntil = roster.FromMicros(r.accessUntil)
	u.InvitedAt = roster.FromMicros(r.invitedAt)
	u.JoinedAt = roster.FromMicros(r.joinedAt)
	u.LastLoginAt = roster.FromMicros(r.lastLogin)
	u.ExpertAccess = roster.AccessLevel(r.level)
}

// scanListUser reads the listCols of one row; extra receives columns that follow.
func scanListUser(row scanner, extra ...any) (*roster.User, error) {
	var u roster.User
	var r listRow
	if err := row.Scan(append(r.dest(&u), extra...)...); err != nil {
		return nil, err
	}
	r.fill(&u)
	return &u, nil
}

// scanUser reads the userCols of one row; extra receives columns that follow.
func scanUser(row scanner, extra ...any) (*roster.User, error) {
	var u roster.User
	var r listRow
	var revokedAt, updatedAt int64
	var reason string
	dest := append(r.dest(&u), &u.SearchKey, &u.InvitedBy, &u.InvitedByName, &u.LastLoginIP, &u.LastLoginDevice,
		&revokedAt, &reason, &u.RevokeNote, &u.IdentityID, &u.Version, &updatedAt)
	if err := row.Scan(append(dest, extra...)...); err != nil {
		return nil, err
	}
	r.fill(&u)
	u.RevokedAt = roster.FromMicros(revokedAt)
	u.RevokeReason = roster.RevokeReason(reason)
	u.UpdatedAt = roster.FromMicros(updatedAt)
	return &u, nil
}

// userValues returns the values of userCols for u.
func userValues(u *roster.User) []any {
	return []any{u.ID, u.AccountID, u.FirstName, u.LastName, u.Email, u.EmailKey, u.NameKey,
		int64(u.Roles), string(u.Status), roster.Micros(u.AccessUntil), roster.Micros(u.InvitedAt),
		roster.Micros(u.JoinedAt), roster.Micros(u.LastLoginAt), string(u.ExpertAccess),
		u.SearchKey, u.InvitedBy, u.InvitedByName, u.LastLoginIP, u.LastLoginDevice, roster.Micros(u.RevokedAt),
		string(u.RevokeReason), u.RevokeNote, u.IdentityID, u.Version, roster.Micros(u.UpdatedAt)}
}

func getUser(ctx context.Context, q querier, forUpdate, accountID, userID string) (*roster.User, error) {
	if !roster.ValidID(accountID) || !roster.ValidID(userID) {
		return nil, errUserNotFound()
	}
	u, err := scanUser(q.QueryRowContext(ctx,
		`SELECT `+userCols+` FROM users WHERE id = $1 AND account_id = $2`+forUpdate, userID, accountID))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errUserNotFound()
	}
	if err != nil {
		return nil, fmt.Errorf("get user: %w", err)
	}
	return u, nil
}

// User returns a user of an account; CodeNotFound when missing or in another account.
func (s *Store) User(ctx context.Context, accountID, userID string) (*roster.User, error) {
	return getUser(ctx, s.read, "", accountID, userID)
}

// UserDetails returns a user with the number of their API keys active at
// now, in one query; CodeNotFound when missing or in another account.
func (s *Store) UserDetails(ctx context.Context, accountID, userID string, now time.Time) (*roster.UserDetails, error) {
	if !roster.ValidID(accountID) || !roster.ValidID(userID) {
		return nil, errUserNotFound()
	}
	var keys int64
	u, err := scanUser(s.read.QueryRowContext(ctx, `SELECT `+userCols+`, (SELECT count(*) FROM api_keys k
		WHERE k.user_id = users.id AND k.account_id = users.account_id AND NOT k.disabled
		AND (k.expires_at = 0 OR k.expires_at > $3)) FROM users WHERE id = $1 AND account_id = $2`,
		userID, accountID, roster.Micros(now)), &keys)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errUserNotFound()
	}
	if err != nil {
		return nil, fmt.Errorf("get user details: %w", err)
	}
	d := &roster.UserDetails{User: u, ActiveAPIKeys: keys}
	if u.Status == roster.StatusInvited {
		if d.Invitation, err = invitationDelivery(ctx, s.read, accountID, userID); err != nil {
			return nil, err
		}
	}
	return d, nil
}

// InvitationDeliverySQL reads the outbox row of a user's newest invitation:
// the invitation through invitations_user, its email through outbox_ref.
// outbox.account_id is text, so the account is bound twice ($1 for
// invitations, $3 for the outbox). Exported for the query-plan tests.
const InvitationDeliverySQL = `SELECT o.state, o.sent_at, o.attempts, o.last_error FROM outbox o
	WHERE o.account_id = $3 AND o.kind = $4 AND o.ref = (SELECT CAST(i.id AS TEXT) FROM invitations i
		WHERE i.user_id = $2 AND i.account_id = $1 ORDER BY i.created_at DESC, i.id DESC LIMIT 1)
	ORDER BY o.created_at DESC, o.id DESC LIMIT 1`

// invitationDelivery returns the delivery of a user's newest invitation
// email; nil when there is none.
func invitationDelivery(ctx context.Context, q querier, accountID, userID string) (*roster.InvitationDelivery, error) {
	var d roster.InvitationDelivery
	var sent int64
	err := q.QueryRowContext(ctx, InvitationDeliverySQL, accountID, userID, accountID, roster.MailInvitation).
		Scan(&d.State, &sent, &d.Attempts, &d.LastError)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("get invitation delivery: %w", err)
	}
	d.SentAt = roster.FromMicros(sent)
	return &d, nil
}

// UserByEmail finds a user of an account by folded email; CodeNotFound when missing.
func (s *Store) UserByEmail(ctx context.Context, accountID, emailKey string) (*roster.User, error) {
	if !roster.ValidID(accountID) {
		return nil, errUserNotFound()
	}
	u, err := scanUser(s.read.QueryRowContext(ctx,
		`SELECT `+userCols+` FROM users WHERE account_id = $1 AND email_key = $2`, accountID, emailKey))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, roster.Errorf(roster.CodeNotFound, "No user with this email exists in this account.")
	}
	if err != nil {
		return nil, fmt.Errorf("get user by email: %w", err)
	}
	return u, nil
}

// UserForUpdate returns a user and locks its row until the transaction ends.
func (t *tx) UserForUpdate(ctx context.Context, accountID, userID string) (*roster.User, error) {
	return getUser(ctx, t.q, t.s.d.ForUpdate, accountID, userID)
}

// insertUserSQL returns the INSERT of one user. On SQLite the user's seq is
// the next free number in the account's range (accounts.seq << 32): writes
// are serialised there, so max+1 cannot race. Selecting from accounts makes
// a missing account insert nothing.
func (s *Store) insertUserSQL() string {
	if !s.d.UserSeq {
		return `INSERT INTO users (` + userCols + `) VALUES (` + placeholders(1, userColCount) + `)`
	}
	return `INSERT INTO users (seq, ` + userCols + `)
		SELECT coalesce((SELECT u.seq FROM users u WHERE u.seq > a.seq << 32 AND u.seq < (a.seq + 1) << 32
			ORDER BY u.seq DESC LIMIT 1), a.seq << 32) + 1, ` + placeholders(1, userColCount) + `
		FROM accounts a WHERE a.id = $2`
}

// placeholders returns "$from, ..., $(from+n-1)".
func placeholders(from, n int) string { return params(nil, from, n) }

// params returns the placeholders of n arguments from from on, by param
// when not nil.
func params(param func(int) string, from, n int) string {
	var b strings.Builder
	for i := 0; i < n; i++ {
		if i > 0 {
			b.WriteString(", ")
		}
		if param != nil {
			b.WriteString(param(from + i))
		} else {
			fmt.Fprintf(&b, "$%d", from+i)
		}
	}
	return b.String()
}

// InsertUser adds a user; CodeConflict when the account already has a user
// with the same folded email, CodeNotFound when the account is missing.
func (t *tx) InsertUser(ctx context.Context, u *roster.User) error {
	if !roster.ValidID(u.AccountID) {
		return errAccountNotFound()
	}
	res, err := t.q.ExecContext(ctx, t.s.insertUserSQL(), userValues(u)...)
	if err != nil {
		return t.s.translate(err, "insert user", msgEmailTaken)
	}
	if n, err := res.RowsAffected(); err == nil && n == 0 {
		return errAccountNotFound()
	}
	return nil
}

// UpdateUser writes every mutable field of u and its Version.
func (t *tx) UpdateUser(ctx context.Context, u *roster.User) error {
	if !roster.ValidID(u.AccountID) || !roster.ValidID(u.ID) {
		return errUserNotFound()
	}
	res, err := t.q.ExecContext(ctx, updateUserSQL, userValues(u)...)
	if err != nil {
		return t.s.translate(err, "update user", msgEmailTaken)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("update user: %w", err)
	} else if n == 0 {
		return errUserNotFound()
	}
	return nil
}

// DeleteUser removes a user, their invitations (and the unsent emails of
// those invitations) and every API key they created in the account; audit
// events stay. It returns how many keys were deleted.
func (t *tx) DeleteUser(ctx context.Context, accountID, userID string) (int64, error) {
	if !roster.ValidID(accountID) || !roster.ValidID(userID) {
		return 0, errUserNotFound()
	}
	res, err := t.q.ExecContext(ctx, `DELETE FROM api_keys WHERE user_id = $1 AND account_id = $2`, userID, accountID)
	if err != nil {
		return 0, fmt.Errorf("delete user keys: %w", err)
	}
	keys, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("delete user keys: %w", err)
	}
	// An unsent invitation email of a deleted user would carry a dead link.
	// outbox.account_id is text (mail to an identity has none), so the
	// account is bound once per column type.
	if _, err := t.q.ExecContext(ctx, `DELETE FROM outbox WHERE account_id = $3 AND state = 'pending' AND ref IN
		(SELECT CAST(id AS TEXT) FROM invitations WHERE user_id = $1 AND account_id = $2)`, userID, accountID, accountID); err != nil {
		return 0, fmt.Errorf("delete user mail: %w", err)
	}
	if _, err := t.q.ExecContext(ctx, `DELETE FROM invitations WHERE user_id = $1 AND account_id = $2`, userID, accountID); err != nil {
		return 0, fmt.Errorf("delete user invitations: %w", err)
	}
	res, err = t.q.ExecContext(ctx, `DELETE FROM users WHERE id = $1 AND account_id = $2`, userID, accountID)
	if err != nil {
		return 0, t.s.translate(err, "delete user", "")
	}
	if n, err := res.RowsAffected(); err != nil {
		return 0, fmt.Errorf("delete user: %w", err)
	} else if n == 0 {
		return 0, errUserNotFound()
	}
	return keys, nil
}

// CountUsers counts users of an account in a status ("" for any) holding
// every role of roles (0: any roles), from the counts the triggers keep.
func (t *tx) CountUsers(ctx context.Context, accountID string, status roster.Status, roles roster.RoleSet) (int64, error) {
	if !roster.ValidID(accountID) {
		return 0, nil
	}
	var a args
	query := `SELECT coalesce(sum(n), 0) FROM user_counts WHERE account_id = ` + a.add(accountID)
	if status != "" {
		query += ` AND status = ` + a.add(string(status))
	}
	if roles != 0 {
		p := a.add(int64(roles))
		query += ` AND (role_mask & ` + p + `) = ` + p
	}
	var n int64
	if err := t.q.QueryRowContext(ctx, query, a...).Scan(&n); err != nil {
		return 0, fmt.Errorf("count users: %w", err)
	}
	return n, nil
}

// CountPermanentAdminsSQL counts an account's active Admins without a
// deadline. Its predicate repeats the partial index users_active_admins
// literally, so that both planners use it; Admin is bit 0 (roster.Roles is
// append-only). Exported for the query-plan tests.
const CountPermanentAdminsSQL = `SELECT count(*) FROM users WHERE account_id = $1 AND access_until = 0
	AND status = 'active' AND (role_mask & 1) <> 0`

// CountPermanentAdmins counts the account's active Admins without an access
// deadline, through the partial index users_active_admins.
func (t *tx) CountPermanentAdmins(ctx context.Context, accountID string) (int64, error) {
	var n int64
	if err := t.q.QueryRowContext(ctx, CountPermanentAdminsSQL, accountID).Scan(&n); err != nil {
		return 0, fmt.Errorf("count permanent admins: %w", err)
	}
	return n, nil
}

// bulkRows is how many users one INSERT of BulkInsertUsers carries: 26
// parameters each (with seq), below SQLite's and PostgreSQL's limits.
const bulkRows = 500

// BulkInsertUsers inserts users in one transaction with multi-row INSERTs.
// The triggers keep counts and the search index as for single inserts:
// maintaining them explicitly after the rows was measured no faster on
// SQLite (nor were single-row INSERTs), and PostgreSQL's statement-level
// triggers already update each count once per statement.
func (s *Store) BulkInsertUsers(ctx context.Context, users []*roster.User) error {
	const perStmt = bulkRows
	return s.Update(ctx, func(rtx roster.Tx) error {
		t := rtx.(*tx)
		cols := userCols
		n := userColCount
		var seqs map[string]int64 // next seq per account (SQLite)
		if s.d.UserSeq {
			cols, n = "seq, "+userCols, userColCount+1
			seqs = map[string]int64{}
			for _, u := range users {
				if _, ok := seqs[u.AccountID]; ok {
					continue
				}
				var next int64
				err := t.q.QueryRowContext(ctx, `SELECT coalesce((SELECT u.seq FROM users u
					WHERE u.seq > a.seq << 32 AND u.seq < (a.seq + 1) << 32 ORDER BY u.seq DESC LIMIT 1), a.seq << 32) + 1
					FROM accounts a WHERE a.id = $1`, u.AccountID).Scan(&next)
				if errors.Is(err, sql.ErrNoRows) {
					return errAccountNotFound()
				}
				if err != nil {
					return fmt.Errorf("bulk insert users: %w", err)
				}
				seqs[u.AccountID] = next
			}
		}
		var stmt *sql.Stmt
		var stmtRows int
		defer func() {
			if stmt != nil {
				stmt.Close()
			}
		}()
		for _, q := range s.d.BulkBegin {
			if _, err := t.q.ExecContext(ctx, q); err != nil {
				return fmt.Errorf("bulk insert users: %w", err)
			}
		}
		vals := make([]any, 0, perStmt*n)
		for len(users) > 0 {
			batch := users[:min(perStmt, len(users))]
			users = users[len(batch):]
			if len(batch) != stmtRows {
				var b strings.Builder
				b.WriteString(`INSERT INTO users (` + cols + `) VALUES `)
				for i := range batch {
					if i > 0 {
						b.WriteString(", ")
					}
					b.WriteString("(" + params(s.d.Param, i*n+1, n) + ")")
				}
				if stmt != nil {
					stmt.Close()
				}
				var err error
				if stmt, err = t.q.PrepareContext(ctx, b.String()); err != nil {
					return fmt.Errorf("bulk insert users: %w", err)
				}
				stmtRows = len(batch)
			}
			vals = vals[:0]
			for _, u := range batch {
				if seqs != nil {
					vals = append(vals, seqs[u.AccountID])
					seqs[u.AccountID]++
				}
				vals = append(vals, userValues(u)...)
			}
			if _, err := stmt.ExecContext(ctx, vals...); err != nil {
				return s.translate(err, "bulk insert users", msgEmailTaken)
			}
		}
		for _, q := range s.d.BulkEnd {
			if _, err := t.q.ExecContext(ctx, q); err != nil {
				return fmt.Errorf("bulk insert users: %w", err)
			}
		}
		return nil
	})
}
