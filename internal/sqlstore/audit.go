package sqlstore

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"

	"roster"
)

// auditCols are the columns of an event; auditPageCols add its seq and
// hash, which the log shows; auditChainCols add prev_hash too, which only
// verification reads.
const (
	auditCols = `id, account_id, at, actor_id, actor_name, actor_email, action, target_id, target_name,
	target_email, details, ip`
	auditPageCols  = auditCols + `, seq, hash`
	auditChainCols = auditCols + `, seq, prev_hash, hash`
)

// What scanAudit reads besides auditCols.
const (
	scanPage  = iota // seq and hash
	scanChain        // seq, prev_hash and hash, with details' numbers as json.Number
)

// InsertAudit appends an audit event to its account's chain (docs/audit.md);
// its details are stored as JSON text. The first statement locks the
// account's row in audit_heads (creating it for the first event) and reads
// the newest event's seq and hash; the trigger audit_events_head moves the
// head to the new event. Of two transactions appending to one account the
// second waits for the first to end and then chains to its event.
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
	var seq int64
	var prev []byte
	err := t.q.QueryRowContext(ctx, `INSERT INTO audit_heads (account_id, seq, hash) VALUES ($1, 0, $2)
		ON CONFLICT (account_id) DO UPDATE SET seq = audit_heads.seq RETURNING seq, hash`,
		e.AccountID, roster.AuditGenesis(e.AccountID)).Scan(&seq, &prev)
	if err != nil {
		return t.s.translate(err, "insert audit: chain head", "")
	}
	e.Seq, e.PrevHash = seq+1, prev
	if e.Hash, err = roster.AuditHash(prev, e); err != nil {
		return fmt.Errorf("insert audit: %w", err)
	}
	_, err = t.q.ExecContext(ctx, `INSERT INTO audit_events (`+auditChainCols+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)`,
		e.ID, e.AccountID, roster.Micros(e.At), e.ActorID, e.ActorName, e.ActorEmail, e.Action, e.TargetID,
		e.TargetName, e.TargetEmail, string(details), e.IP, e.Seq, e.PrevHash, e.Hash)
	return t.s.translate(err, "insert audit", "This audit event already exists.")
}

// AuditHead returns the newest event's seq and hash as audit_heads recorded it.
func (s *Store) AuditHead(ctx context.Context, accountID string) (int64, []byte, error) {
	if !roster.ValidID(accountID) {
		return 0, nil, nil
	}
	var seq int64
	var hash []byte
	err := s.read.QueryRowContext(ctx, `SELECT seq, hash FROM audit_heads WHERE account_id = $1`, accountID).Scan(&seq, &hash)
	if err == sql.ErrNoRows {
		return 0, nil, nil
	}
	if err != nil {
		return 0, nil, fmt.Errorf("audit head: %w", err)
	}
	return seq, hash, nil
}

// AuditChain returns events of an account after afterSeq in seq order,
// through the unique index (account_id, seq).
func (s *Store) AuditChain(ctx context.Context, accountID string, afterSeq int64, limit int) ([]*roster.AuditEvent, error) {
	if !roster.ValidID(accountID) {
		return nil, nil
	}
	return s.readAudit(ctx, scanChain, `SELECT `+auditChainCols+` FROM audit_events WHERE account_id = $1 AND seq > $2
		ORDER BY seq LIMIT $3`, accountID, afterSeq, int64(limit))
}

// readAudit runs a query of auditPageCols, or with scanChain of
// auditChainCols, which also decodes numbers in details as json.Number, as
// the chain hashes them, where the page has float64 like any JSON read into
// Go.
func (s *Store) readAudit(ctx context.Context, mode int, query string, arg ...any) ([]*roster.AuditEvent, error) {
	rows, err := s.read.QueryContext(ctx, query, arg...)
	if err != nil {
		return nil, fmt.Errorf("audit events: %w", err)
	}
	defer rows.Close()
	var out []*roster.AuditEvent
	for rows.Next() {
		e, err := scanAudit(rows, mode)
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("audit events: %w", err)
	}
	return out, nil
}

func scanAudit(rows interface{ Scan(...any) error }, mode int) (*roster.AuditEvent, error) {
	var e roster.AuditEvent
	var at int64
	var details []byte
	dest := []any{&e.ID, &e.AccountID, &at, &e.ActorID, &e.ActorName, &e.ActorEmail, &e.Action,
		&e.TargetID, &e.TargetName, &e.TargetEmail, &details, &e.IP}
	if mode == scanChain {
		dest = append(dest, &e.Seq, &e.PrevHash, &e.Hash)
	} else {
		dest = append(dest, &e.Seq, &e.Hash)
	}
	if err := rows.Scan(dest...); err != nil {
		return nil, fmt.Errorf("audit events: %w", err)
	}
	e.At = roster.FromMicros(at)
	if len(details) > 0 && string(details) != "{}" && string(details) != "null" {
		dec := json.NewDecoder(bytes.NewReader(details))
		if mode == scanChain {
			dec.UseNumber()
		}
		if err := dec.Decode(&e.Details); err != nil {
			return nil, fmt.Errorf("audit event %s details: %w", e.ID, err)
		}
	}
	return &e, nil
}

// chainAuditEvents hashes the events written before migration 0004, which
// numbered them by id within their account (UUIDv7: the order they were
// written in), and records each account's head. It runs in the migration's
// transaction: the chain then covers every event from the upgrade on.
func chainAuditEvents(ctx context.Context, tx *sql.Tx) error {
	type head struct {
		seq  int64
		hash []byte
	}
	heads := map[string]*head{}
	var order []string
	lastAccount, lastSeq := "", int64(0)
	for {
		// Pages, read whole before writing: a connection cannot write
		// while it still streams rows (pgx).
		var a args
		query := `SELECT ` + auditChainCols + ` FROM audit_events`
		if lastAccount != "" {
			query += ` WHERE account_id > ` + a.add(lastAccount) + ` OR account_id = $1 AND seq > ` + a.add(lastSeq)
		}
		rows, err := tx.QueryContext(ctx, query+` ORDER BY account_id, seq LIMIT 1000`, a...)
		if err != nil {
			return fmt.Errorf("chain audit events: %w", err)
		}
		var page []*roster.AuditEvent
		for rows.Next() {
			e, err := scanAudit(rows, scanChain)
			if err != nil {
				rows.Close()
				return err
			}
			page = append(page, e)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("chain audit events: %w", err)
		}
		if len(page) == 0 {
			break
		}
		for _, e := range page {
			h := heads[e.AccountID]
			if h == nil {
				h = &head{hash: roster.AuditGenesis(e.AccountID)}
				heads[e.AccountID] = h
				order = append(order, e.AccountID)
			}
			e.PrevHash = h.hash
			if e.Hash, err = roster.AuditHash(h.hash, e); err != nil {
				return fmt.Errorf("chain audit event %s: %w", e.ID, err)
			}
			if _, err := tx.ExecContext(ctx, `UPDATE audit_events SET prev_hash = $1, hash = $2 WHERE id = $3`,
				e.PrevHash, e.Hash, e.ID); err != nil {
				return fmt.Errorf("chain audit event %s: %w", e.ID, err)
			}
			h.seq, h.hash = e.Seq, e.Hash
			lastAccount, lastSeq = e.AccountID, e.Seq
		}
	}
	for _, id := range order {
		if _, err := tx.ExecContext(ctx, `INSERT INTO audit_heads (account_id, seq, hash) VALUES ($1, $2, $3)`,
			id, heads[id].seq, heads[id].hash); err != nil {
			return fmt.Errorf("chain audit events of account %s: %w", id, err)
		}
	}
	return nil
}
