package sqlstore

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"roster"
)

// DueDeadlinesSQL reads the deadline job's work, across accounts, through
// the partial index users_deadlines_due, whose predicate it repeats
// literally. $1 is the reminder horizon (now + the first lead), $2 now, $3
// now + the last lead. Exported for the query-plan tests.
const DueDeadlinesSQL = `SELECT ` + userCols + `, reminder_stage, reminder_until FROM users
	WHERE status = 'active' AND access_until <> 0 AND access_end_reported_until <> access_until
	AND access_until <= $1
	AND (access_until <= $2 OR reminder_until <> access_until OR (reminder_stage < 2 AND access_until <= $3))
	ORDER BY access_until LIMIT $4`

// DueDeadlines returns the users the deadline job has work for; see
// roster.Store.
func (s *Store) DueDeadlines(ctx context.Context, now time.Time, remindFirst, remindLast time.Duration, limit int) ([]*roster.DueDeadline, error) {
	rows, err := s.read.QueryContext(ctx, DueDeadlinesSQL, roster.Micros(now.Add(remindFirst)), roster.Micros(now),
		roster.Micros(now.Add(remindLast)), limit)
	if err != nil {
		return nil, fmt.Errorf("due deadlines: %w", err)
	}
	defer rows.Close()
	var out []*roster.DueDeadline
	for rows.Next() {
		var d roster.DueDeadline
		var until int64
		u, err := scanUser(rows, &d.ReminderStage, &until)
		if err != nil {
			return nil, fmt.Errorf("due deadlines: %w", err)
		}
		d.User, d.ReminderUntil = u, roster.FromMicros(until)
		out = append(out, &d)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("due deadlines: %w", err)
	}
	return out, nil
}

// AccountAdminsSQL reads an account's active Admins through the partial
// index users_active_admins, whose predicate it repeats; the (always true)
// range on access_until, the index's second column, makes SQLite rate it
// above the index of the account's statuses. Admins are few, so
// AccountAdmins leaves out those past their deadline and sorts them: an
// ORDER BY here would make SQLite walk the email index of the whole
// account. Exported for the query-plan tests.
const AccountAdminsSQL = `SELECT ` + userCols + ` FROM users WHERE account_id = $1
	AND status = 'active' AND (role_mask & 1) <> 0 AND access_until >= 0`

// AccountAdmins returns the account's Admins who may act at now, by email.
func (t *tx) AccountAdmins(ctx context.Context, accountID string, now time.Time) ([]*roster.User, error) {
	if !roster.ValidID(accountID) {
		return nil, nil
	}
	rows, err := t.q.QueryContext(ctx, AccountAdminsSQL, accountID)
	if err != nil {
		return nil, fmt.Errorf("account admins: %w", err)
	}
	defer rows.Close()
	var out []*roster.User
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, fmt.Errorf("account admins: %w", err)
		}
		if u.CanSignIn(now) {
			out = append(out, u)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("account admins: %w", err)
	}
	slices.SortFunc(out, func(a, b *roster.User) int { return strings.Compare(a.EmailKey, b.EmailKey) })
	return out, nil
}

// ClaimExpertReminder records reminder stage of the deadline until, once;
// see roster.Tx.
func (t *tx) ClaimExpertReminder(ctx context.Context, accountID, userID string, until time.Time, stage int) (bool, error) {
	return t.claim(ctx, "claim expert reminder", `UPDATE users SET reminder_stage = $4, reminder_until = $3
		WHERE id = $1 AND account_id = $2 AND status = 'active' AND access_until = $3
		AND NOT (reminder_until = $3 AND reminder_stage >= $4)`, accountID, userID, roster.Micros(until), stage)
}

// ClaimAccessEnd records that the end of access at until is reported, once;
// see roster.Tx.
func (t *tx) ClaimAccessEnd(ctx context.Context, accountID, userID string, until time.Time) (bool, error) {
	return t.claim(ctx, "claim access end", `UPDATE users SET access_end_reported_until = $3
		WHERE id = $1 AND account_id = $2 AND access_until = $3 AND access_end_reported_until <> $3`,
		accountID, userID, roster.Micros(until))
}

// claim runs a conditional UPDATE of one user ($1 the user, $2 the account)
// and reports whether it changed the row.
func (t *tx) claim(ctx context.Context, what, query, accountID, userID string, more ...any) (bool, error) {
	if !roster.ValidID(accountID) || !roster.ValidID(userID) {
		return false, nil
	}
	res, err := t.q.ExecContext(ctx, query, append([]any{userID, accountID}, more...)...)
	if err != nil {
		return false, fmt.Errorf("%s: %w", what, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("%s: %w", what, err)
	}
	return n == 1, nil
}
