package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"time"

	"roster"
)

// AuditStatement is the SQL AuditEvents runs for a query, and the page size.
type AuditStatement struct {
	Query string
	Args  []any
	Limit int
}

// auditWhere returns the condition of q's filters on audit_events.
//
// The log is ordered by (at, seq), and each filter has an index that leads
// with it and ends with that order (migration 0006): (account_id, at, seq)
// for the whole log and a time range, (account_id, actor_id, at, seq),
// (account_id, target_id, at, seq) and (account_id, action, at, seq). An
// equality on the filter and a range on at read one stretch of one index,
// in order, so a page costs the same at any depth and any age.
func auditWhere(a *args, accountID string, q roster.AuditQuery) string {
	where := "account_id = " + a.add(accountID)
	switch {
	case q.Operator:
		where += " AND actor_id = ''"
	case q.ActorID != "":
		where += " AND actor_id = " + a.add(q.ActorID)
	}
	if q.TargetID != "" {
		where += " AND target_id = " + a.add(q.TargetID)
	}
	switch len(q.Actions) {
	case 0:
	case 1:
		where += " AND action = " + a.add(q.Actions[0])
	default:
		where += " AND action IN ("
		for i, act := range q.Actions {
			if i > 0 {
				where += ", "
			}
			where += a.add(act)
		}
		where += ")"
	}
	// Times are whole microseconds, so [since, until) is BETWEEN since
	// AND until-1; SQLite 3.54 plans the two bounds of a BETWEEN on the
	// filter's index, where with >= and < it walks the time index
	// testing each row's actor (TestAuditQueryPlans).
	since, until := roster.Micros(q.Since), roster.Micros(q.Until)
	switch {
	case !q.Since.IsZero() && !q.Until.IsZero():
		where += " AND at BETWEEN " + a.add(since) + " AND " + a.add(until-1)
	case !q.Since.IsZero():
		where += " AND at >= " + a.add(since)
	case !q.Until.IsZero():
		where += " AND at < " + a.add(until)
	}
	return where
}

// AuditEventsStatement builds the SQL of AuditEvents; the query-plan tests
// explain exactly this statement with exactly these arguments. A page
// before a cursor is read oldest first off the same index, and AuditEvents
// puts it back newest first.
func (s *Store) AuditEventsStatement(accountID string, q roster.AuditQuery) *AuditStatement {
	limit := q.Limit
	if limit <= 0 {
		limit = roster.DefaultLimit
	}
	limit = min(limit, roster.AuditExportBatch)
	var a args
	where := auditWhere(&a, accountID, q)
	dir := " DESC"
	switch {
	case q.Before != nil:
		where += " AND (at, seq) > (" + a.add(q.Before.At) + ", " + a.add(q.Before.Seq) + ")"
		dir = ""
	case q.After != nil:
		where += " AND (at, seq) < (" + a.add(q.After.At) + ", " + a.add(q.After.Seq) + ")"
	}
	query := "SELECT " + auditPageCols + " FROM audit_events WHERE " + where +
		" ORDER BY at" + dir + ", seq" + dir + " LIMIT " + a.add(int64(limit+1))
	return &AuditStatement{Query: query, Args: a, Limit: limit}
}

// AuditEvents returns the page of an account's audit log that q selects,
// newest first. An unknown account has no events.
func (s *Store) AuditEvents(ctx context.Context, accountID string, q roster.AuditQuery) (*roster.AuditPage, error) {
	page := &roster.AuditPage{Items: []*roster.AuditEvent{}}
	if !roster.ValidID(accountID) {
		return page, nil
	}
	st := s.AuditEventsStatement(accountID, q)
	items, err := s.readAudit(ctx, scanPage, st.Query, st.Args...)
	if err != nil {
		return nil, err
	}
	more := len(items) > st.Limit
	if more {
		items = items[:st.Limit]
	}
	if n := len(items); n > 0 {
		if q.Before == nil {
			if more {
				page.NextCursor = roster.AuditCursorAfter(items[n-1])
			}
			if q.After != nil {
				page.PrevCursor = roster.AuditCursorBefore(items[0])
			}
		} else {
			// Read oldest first, the row beyond the limit is newer than
			// the page: there is a page before.
			slices.Reverse(items)
			if more {
				page.PrevCursor = roster.AuditCursorBefore(items[0])
			}
			page.NextCursor = roster.AuditCursorAfter(items[n-1])
		}
	}
	if items != nil {
		page.Items = items
	}
	return page, nil
}

// CountAuditEvents counts the events q's filters select, off the same
// indexes as the page.
func (s *Store) CountAuditEvents(ctx context.Context, accountID string, q roster.AuditQuery) (int64, error) {
	if !roster.ValidID(accountID) {
		return 0, nil
	}
	var a args
	where := auditWhere(&a, accountID, q)
	var n int64
	if err := s.read.QueryRowContext(ctx, "SELECT count(*) FROM audit_events WHERE "+where, a...).Scan(&n); err != nil {
		return 0, fmt.Errorf("count audit events: %w", err)
	}
	return n, nil
}

// AccountIDs returns up to limit account ids after after, in order, off the
// primary key.
func (s *Store) AccountIDs(ctx context.Context, after string, limit int) ([]string, error) {
	var a args
	query := "SELECT id FROM accounts"
	if after != "" {
		if !roster.ValidID(after) {
			return nil, roster.Errorf(roster.CodeBadRequest, "The account id to continue after is not valid.")
		}
		query += " WHERE id > " + a.add(after)
	}
	query += " ORDER BY id LIMIT " + a.add(int64(max(limit, 1)))
	rows, err := s.read.QueryContext(ctx, query, a...)
	if err != nil {
		return nil, fmt.Errorf("account ids: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("account ids: %w", err)
		}
		out = append(out, id)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("account ids: %w", err)
	}
	return out, nil
}

const expertEndCols = `id, account_id, user_id, name, email, reason, ended_at`

// InsertExpertAccessEnd records the end of an Expert's access.
func (t *tx) InsertExpertAccessEnd(ctx context.Context, e *roster.ExpertAccessEnd) error {
	_, err := t.q.ExecContext(ctx, `INSERT INTO expert_access_ends (`+expertEndCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
		e.ID, e.AccountID, e.UserID, e.Name, e.Email, e.Reason, roster.Micros(e.EndedAt))
	return t.s.translate(err, "insert expert access end", "This end of access is already recorded.")
}

// ExpertAccessEnd returns a recorded end of an Expert's access.
func (s *Store) ExpertAccessEnd(ctx context.Context, accountID, id string) (*roster.ExpertAccessEnd, error) {
	notFound := roster.Errorf(roster.CodeNotFound, "No such end of an Expert's access exists in this account.")
	if !roster.ValidID(accountID) || !roster.ValidID(id) {
		return nil, notFound
	}
	var e roster.ExpertAccessEnd
	var ended int64
	err := s.read.QueryRowContext(ctx, `SELECT `+expertEndCols+` FROM expert_access_ends WHERE id = $1 AND account_id = $2`,
		id, accountID).Scan(&e.ID, &e.AccountID, &e.UserID, &e.Name, &e.Email, &e.Reason, &ended)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound
	}
	if err != nil {
		return nil, fmt.Errorf("expert access end: %w", err)
	}
	e.EndedAt = roster.FromMicros(ended)
	return &e, nil
}

// ActiveAdmins returns the account's active Admins at now, oldest invited
// first; Admin is bit 0 of role_mask (roster.Roles is append-only).
func (t *tx) ActiveAdmins(ctx context.Context, accountID string, now time.Time) ([]*roster.User, error) {
	rows, err := t.q.QueryContext(ctx, `SELECT `+userCols+` FROM users WHERE account_id = $1 AND status = 'active'
		AND (role_mask & 1) <> 0 AND (access_until = 0 OR access_until > $2) ORDER BY invited_at, id`, accountID, roster.Micros(now))
	if err != nil {
		return nil, fmt.Errorf("active admins: %w", err)
	}
	defer rows.Close()
	var out []*roster.User
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, fmt.Errorf("active admins: %w", err)
		}
		out = append(out, u)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("active admins: %w", err)
	}
	return out, nil
}
