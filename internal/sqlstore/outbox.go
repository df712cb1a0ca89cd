package sqlstore

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"roster"
)

// ClaimOutbox leases due, unleased pending messages to owner. On
// PostgreSQL the inner SELECT skips rows another worker is claiming at the
// same moment; SQLite serialises writers, so the UPDATE sees the other
// worker's lease.
func (s *Store) ClaimOutbox(ctx context.Context, owner string, now, leaseUntil time.Time, limit int) ([]*roster.OutboxMessage, error) {
	var out []*roster.OutboxMessage
	err := s.Update(ctx, func(rtx roster.Tx) error {
		t := rtx.(*tx)
		rows, err := t.q.QueryContext(ctx, `UPDATE outbox SET lease_owner = $1, lease_until = $2, attempts = attempts + 1
			WHERE id IN (SELECT id FROM outbox WHERE state = 'pending' AND next_attempt_at <= $3 AND lease_until <= $3
				ORDER BY next_attempt_at, id LIMIT $4`+s.d.SkipLocked+`)
			RETURNING id, account_id, kind, ref, to_addr, created_at, state, attempts, next_attempt_at, sent_at, last_error`,
			owner, roster.Micros(leaseUntil), roster.Micros(now), limit)
		if err != nil {
			return fmt.Errorf("claim outbox: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			m, err := scanOutbox(rows)
			if err != nil {
				return fmt.Errorf("claim outbox: %w", err)
			}
			out = append(out, m)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, err
	}
	// RETURNING gives no order; hand out the oldest first.
	slices.SortFunc(out, func(a, b *roster.OutboxMessage) int {
		if c := a.NextAttemptAt.Compare(b.NextAttemptAt); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return out, nil
}

// FinishOutbox records an attempt's outcome if owner still holds the lease.
func (t *tx) FinishOutbox(ctx context.Context, m *roster.OutboxMessage, owner string) error {
	lost := roster.Errorf(roster.CodeConflict, "The lease on this message was lost to another worker.")
	return execOne(ctx, t.q, "finish outbox", lost, `UPDATE outbox SET state = $1, next_attempt_at = $2, sent_at = $3, last_error = $4,
		lease_owner = '', lease_until = 0 WHERE id = $5 AND lease_owner = $6`,
		m.State, roster.Micros(m.NextAttemptAt), roster.Micros(m.SentAt), m.LastError, m.ID, owner)
}

// MarkInvitationSent sets an invitation's send time once.
func (t *tx) MarkInvitationSent(ctx context.Context, accountID, invitationID string, at time.Time) error {
	if !roster.ValidID(accountID) || !roster.ValidID(invitationID) {
		return nil
	}
	_, err := t.q.ExecContext(ctx, `UPDATE invitations SET sent_at = $1 WHERE id = $2 AND account_id = $3 AND sent_at = 0`,
		roster.Micros(at), invitationID, accountID)
	if err != nil {
		return fmt.Errorf("mark invitation sent: %w", err)
	}
	return nil
}

// RecentOutbox returns the newest outbox messages, newest first.
func (s *Store) RecentOutbox(ctx context.Context, limit int) ([]*roster.OutboxMessage, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT id, account_id, kind, ref, to_addr, created_at, state, attempts,
		next_attempt_at, sent_at, last_error FROM outbox ORDER BY created_at DESC, id DESC LIMIT $1`, limit)
	if err != nil {
		return nil, fmt.Errorf("recent outbox: %w", err)
	}
	defer rows.Close()
	var out []*roster.OutboxMessage
	for rows.Next() {
		m, err := scanOutbox(rows)
		if err != nil {
			return nil, fmt.Errorf("recent outbox: %w", err)
		}
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("recent outbox: %w", err)
	}
	return out, nil
}

// scanOutbox reads id, account_id, kind, ref, to_addr, created_at, state,
// attempts, next_attempt_at, sent_at and last_error.
func scanOutbox(row scanner) (*roster.OutboxMessage, error) {
	var m roster.OutboxMessage
	var created, next, sent int64
	if err := row.Scan(&m.ID, &m.AccountID, &m.Kind, &m.Ref, &m.To, &created, &m.State, &m.Attempts, &next,
		&sent, &m.LastError); err != nil {
		return nil, err
	}
	m.CreatedAt, m.NextAttemptAt, m.SentAt = roster.FromMicros(created), roster.FromMicros(next), roster.FromMicros(sent)
	return &m, nil
}
