package sqlstore

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"roster"
)

// sortColumn returns the users column of a sort field and whether its cursor
// key is an integer.
func sortColumn(f roster.SortField) (col string, isInt bool, ok bool) {
	switch f {
	case roster.SortName:
		return "name_key", false, true
	case roster.SortEmail:
		return "email_key", false, true
	case roster.SortStatus:
		return "status", false, true
	case roster.SortLastLogin:
		return "last_login_at", true, true
	case roster.SortInvitedAt:
		return "invited_at", true, true
	}
	return "", false, false
}

// ListStatements are the statements ListUsers runs for one query. Page
// selects listCols plus the total as a last column; Count is run on its own
// only when the page comes back empty after a cursor (an empty first page
// means a total of 0). Page takes Args, Count the first CountArgs of them.
// Args may start with the Dialect's PlanPerExecution.
type ListStatements struct {
	Page      string
	Count     string
	Args      []any
	CountArgs int
	Limit     int
}

// ListUsersStatements builds the SQL of ListUsers; query-plan tests explain
// exactly these statements with exactly these arguments.
//
// Each sort has an index on (account_id, column, id), so that with the
// keyset condition (column, id) > (key, id) a page is read straight off the
// index and page 400 costs what page 1 costs. Without search text the total
// is a sum over user_counts, whose rows are (status, role_mask) groups: the
// filters test the same columns there, so the same condition serves both
// tables and counting reads no user row. With search text the matches are
// read once, into m, which gives both the total and the page.
func (s *Store) ListUsersStatements(accountID string, q roster.ListQuery) (*ListStatements, error) {
	if q.Sort.Field == "" {
		q.Sort.Field = roster.SortName
	}
	col, isInt, ok := sortColumn(q.Sort.Field)
	if !ok {
		return nil, badList("sort", fmt.Sprintf("Unknown sort %q.", q.Sort.Field))
	}
	limit := q.Limit
	if limit <= 0 {
		limit = roster.DefaultLimit
	}
	limit = min(limit, roster.MaxLimit)

	var a args
	acct := a.add(accountID)
	// The filters as conditions on users rows (filterSQL) and on
	// user_counts (countSQL), which has the stored status only; roleSQL
	// holds the role conditions alone, valid on both.
	var filterSQL, countSQL, roleSQL string
	var statuses []roster.Filter
	now := ""
	for _, f := range q.Filters {
		switch {
		case f.Role != "":
			bit, ok := roster.RoleBit(f.Role)
			if !ok {
				return nil, badList("filter", fmt.Sprintf("Unknown role %q in filter.", f.Role))
			}
			op := "<>"
			if f.Not {
				op = "="
			}
			c := " AND (role_mask & " + a.add(int64(bit)) + ") " + op + " 0"
			filterSQL, countSQL, roleSQL = filterSQL+c, countSQL+c, roleSQL+c
		case f.Status != "":
			op := "="
			if f.Not {
				op = "<>"
			}
			p := a.add(string(f.Status))
			countSQL += " AND status " + op + " " + p
			statuses = append(statuses, f)
			if q.Now.IsZero() || f.Status == roster.StatusInvited {
				filterSQL += " AND status " + op + " " + p
				continue
			}
			if now == "" {
				now = a.add(roster.Micros(q.Now))
			}
			filterSQL += " AND " + effectiveStatus(f, p, now)
		default:
			return nil, badList("filter", "A filter needs a role or a status.")
		}
	}

	// A page before a cursor is the page after it in the opposite order,
	// read off the same index backwards; ListUsers puts its rows back in
	// the list's order.
	cursor, back := q.After, false
	if q.Before != nil {
		if q.After != nil {
			return nil, badList("cursor", "A list page continues after one cursor or ends before one, not both.")
		}
		cursor, back = q.Before, true
	}
	dir, cmp := "", ">"
	if q.Sort.Desc != back {
		dir, cmp = " DESC", "<"
	}
	// keyset returns the condition that continues past the cursor, on the
	// sort key column k; order returns the ORDER BY list. email_key is unique
	// in an account: it orders alone and its index is the unique one, so no
	// second email index is needed.
	var cursorKey any
	if c := cursor; c != nil {
		if c.Sort != q.Sort.String() || !roster.ValidID(c.ID) {
			return nil, badList("cursor", "The cursor is not valid: pass next_cursor from a previous page unchanged.")
		}
		cursorKey = c.Key
		if isInt {
			cursorKey = c.Int
		}
	}
	keyset := func(k string) string {
		switch {
		case cursor == nil:
			return ""
		case q.Sort.Field == roster.SortEmail:
			return " AND " + k + " " + cmp + " " + a.add(cursorKey)
		}
		return " AND (" + k + ", id) " + cmp + " (" + a.add(cursorKey) + ", " + a.add(cursor.ID) + ")"
	}
	order := func(k string) string {
		if q.Sort.Field == roster.SortEmail {
			return k + dir
		}
		id := "id"
		if t, _, ok := strings.Cut(k, "."); ok {
			id = t + ".id"
		}
		return k + dir + ", " + id + dir
	}

	st := &ListStatements{Limit: limit}
	switch {
	case q.Q == "":
		st.Count = "SELECT coalesce(sum(n), 0) FROM user_counts WHERE account_id = " + acct + countSQL
		// user_counts counts an expired user under their stored status,
		// active: where the filters treat active and inactive apart, the
		// expired users of the role filters are moved from one to the
		// other, counted through users_deadlines.
		if now != "" {
			as := func(st roster.Status) bool {
				for _, f := range statuses {
					if (f.Status == st) == f.Not {
						return false
					}
				}
				return true
			}
			expired := "SELECT count(*) FROM users WHERE account_id = " + acct +
				" AND status = 'active' AND access_until <> 0 AND access_until <= " + now + roleSQL
			switch in, out := as(roster.StatusInactive), as(roster.StatusActive); {
			case in && !out:
				st.Count = "SELECT (" + st.Count + ") + (" + expired + ")"
			case out && !in:
				st.Count = "SELECT (" + st.Count + ") - (" + expired + ")"
			}
		}
		st.CountArgs = len(a)
		st.Page = "SELECT " + listCols + ", (" + st.Count + ") FROM users WHERE account_id = " + acct + filterSQL +
			keyset(col) + " ORDER BY " + order(col) + " LIMIT " + a.add(int64(limit+1))
	case q.Email:
		where := "account_id = " + acct + " AND email_key = " + a.add(q.Q) + filterSQL
		st.Count = "SELECT count(*) FROM users WHERE " + where
		st.CountArgs = len(a)
		st.Page = "SELECT " + listCols + ", (" + st.Count + ") FROM users WHERE " + where +
			keyset(col) + " ORDER BY " + order(col) + " LIMIT " + a.add(int64(limit+1))
	default:
		// Every match must be read once anyway, to count it and to apply
		// the filters: m holds the matches' sort keys, the total counts m
		// and the page sorts m's keys, so that only the rows of the page
		// are read in full.
		from, where := s.d.Search(a.add, acct, q.Q)
		where += filterSQL
		st.Count = "SELECT count(*) FROM " + from + " WHERE " + where
		st.CountArgs = len(a)
		// CROSS JOIN makes SQLite read the page first and then its rows,
		// rather than walk an account index in order and test every id.
		st.Page = "WITH m AS MATERIALIZED (SELECT id, " + col + " AS k FROM " + from + " WHERE " + where + ") " +
			"SELECT " + listColsOf("u") + ", (SELECT count(*) FROM m) FROM (SELECT id, k FROM m WHERE TRUE" +
			keyset("k") + " ORDER BY " + order("k") + " LIMIT " + a.add(int64(limit+1)) + ") p " +
			"CROSS JOIN users u WHERE u.id = p.id ORDER BY " + order("p.k")
	}
	st.Args = a
	if q.Q != "" && !q.Email && s.d.PlanPerExecution != nil {
		st.Args = append([]any{s.d.PlanPerExecution}, a...)
		st.CountArgs++
	}
	return st, nil
}

// effectiveStatus is the condition of status filter f (its status bound as
// p) on users rows, where a user whose access deadline has passed by now
// (bound as now) counts as inactive: active means active and before any
// deadline.
func effectiveStatus(f roster.Filter, p, now string) string {
	ended := "access_until <> 0 AND access_until <= " + now
	var c string
	switch f.Status {
	case roster.StatusActive:
		c = "(status = " + p + " AND NOT (" + ended + "))"
	default: // inactive
		c = "(status = " + p + " OR status = 'active' AND " + ended + ")"
	}
	if f.Not {
		return "NOT " + c
	}
	return c
}

func badList(field, msg string) error {
	return &roster.Error{Code: roster.CodeBadRequest, Message: "Some list parameters are not valid; see errors.",
		Fields: []roster.FieldError{{Field: field, Message: msg}}}
}

// ListUsers returns one page of an account's users and the total of every
// match, forwards after q.After or backwards before q.Before. An unknown
// account has no users.
func (s *Store) ListUsers(ctx context.Context, accountID string, q roster.ListQuery) (*roster.UserPage, error) {
	if q.Sort.Field == "" {
		q.Sort.Field = roster.SortName
	}
	st, err := s.ListUsersStatements(accountID, q)
	if err != nil {
		return nil, err
	}
	page := &roster.UserPage{Items: make([]*roster.User, 0, min(st.Limit, 64))}
	if !roster.ValidID(accountID) {
		return page, nil
	}
	rows, err := s.read.QueryContext(ctx, st.Page, st.Args...)
	if err != nil {
		return nil, fmt.Errorf("list users: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		u, err := scanListUser(rows, &page.Total)
		if err != nil {
			return nil, fmt.Errorf("list users: %w", err)
		}
		page.Items = append(page.Items, u)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list users: %w", err)
	}
	more := len(page.Items) > st.Limit
	if more {
		page.Items = page.Items[:st.Limit]
	}
	if n := len(page.Items); n > 0 {
		if q.Before == nil {
			if more {
				page.NextCursor = roster.CursorFor(q.Sort, page.Items[n-1])
			}
			if q.After != nil {
				page.PrevCursor = roster.CursorBefore(q.Sort, page.Items[0])
			}
		} else {
			// Read backwards, the row beyond the limit is the one before
			// the page; the rows from the cursor on come after it.
			slices.Reverse(page.Items)
			if more {
				page.PrevCursor = roster.CursorBefore(q.Sort, page.Items[0])
			}
			page.NextCursor = roster.CursorFor(q.Sort, page.Items[n-1])
		}
	}
	if len(page.Items) == 0 && (q.After != nil || q.Before != nil) {
		if err := s.read.QueryRowContext(ctx, st.Count, st.Args[:st.CountArgs]...).Scan(&page.Total); err != nil {
			return nil, fmt.Errorf("count users: %w", err)
		}
	}
	return page, nil
}
