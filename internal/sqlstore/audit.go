package sqlstore

import (
	"context"
	"encoding/json"
	"fmt"

	"roster"
)

const auditCols = `id, account_id, at, actor_id, actor_name, actor_email, action, target_id, target_name,
	target_email, details, ip`

// InsertAudit adds an audit event; its details are stored as JSON text.
func (t *tx) InsertAudit(ctx context.Context, e *roster.AuditEvent) error {
	if !roster.ValidID(e.AccountID) {
		return errAccountNotFound()
	}
	details := []byte("{}")
	if len(e.Details) > 0 {
		var err error
		if details, err = json.Marshal(e.Details); err != nil {
			return fmt.Errorf("insert audit: %w", err)
		}
	}
	_, err := t.q.ExecContext(ctx, `INSERT INTO audit_events (`+auditCols+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
		e.ID, e.AccountID, roster.Micros(e.At), e.ActorID, e.ActorName, e.ActorEmail, e.Action, e.TargetID,
		e.TargetName, e.TargetEmail, string(details), e.IP)
	return t.s.translate(err, "insert audit", "This audit event already exists.")
}

// AuditEvents returns a page of an account's audit log, newest first. Ids
// are UUIDv7, ordered by time, so the page is a keyset on id alone.
func (s *Store) AuditEvents(ctx context.Context, accountID string, q roster.AuditQuery) (*roster.AuditPage, error) {
	page := &roster.AuditPage{Items: []*roster.AuditEvent{}}
	if !roster.ValidID(accountID) || q.BeforeID != "" && !roster.ValidID(q.BeforeID) {
		return page, nil
	}
	limit := q.Limit
	if limit <= 0 {
		limit = roster.DefaultLimit
	}
	limit = min(limit, roster.MaxLimit)
	var a args
	query := `SELECT ` + auditCols + ` FROM audit_events WHERE account_id = ` + a.add(accountID)
	if q.BeforeID != "" {
		query += ` AND id < ` + a.add(q.BeforeID)
	}
	query += ` ORDER BY id DESC LIMIT ` + a.add(int64(limit+1))
	rows, err := s.read.QueryContext(ctx, query, a...)
	if err != nil {
		return nil, fmt.Errorf("audit events: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var e roster.AuditEvent
		var at int64
		var details []byte
		if err := rows.Scan(&e.ID, &e.AccountID, &at, &e.ActorID, &e.ActorName, &e.ActorEmail, &e.Action,
			&e.TargetID, &e.TargetName, &e.TargetEmail, &details, &e.IP); err != nil {
			return nil, fmt.Errorf("audit events: %w", err)
		}
		e.At = roster.FromMicros(at)
		if len(details) > 0 && string(details) != "{}" && string(details) != "null" {
			if err := json.Unmarshal(details, &e.Details); err != nil {
				return nil, fmt.Errorf("audit event %s details: %w", e.ID, err)
			}
		}
		page.Items = append(page.Items, &e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("audit events: %w", err)
	}
	if len(page.Items) > limit {
		page.Items = page.Items[:limit]
		page.NextCursor = page.Items[limit-1].ID
	}
	return page, nil
}
