package sqlstore

import (
	"context"
	"fmt"
	"time"

	"roster"
)

// AuthChangesKept is how long the access change log keeps an entry before
// Prune deletes it. A watcher reads entries a fraction of a second old; one
// that fell further behind empties its cache and starts again from the head
// (internal/authcache), so this only bounds the table's size.
const AuthChangesKept = 10 * time.Minute

// AuthChangesSince returns up to limit entries of the access change log
// with seq after afterSeq, in seq order.
func (s *Store) AuthChangesSince(ctx context.Context, afterSeq int64, limit int) ([]roster.AuthChange, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT seq, account_id, user_id, key_id, changed_at FROM auth_changes
		WHERE seq > $1 ORDER BY seq LIMIT $2`, afterSeq, limit)
	if err != nil {
		return nil, fmt.Errorf("auth changes: %w", err)
	}
	defer rows.Close()
	var out []roster.AuthChange
	for rows.Next() {
		var c roster.AuthChange
		var at int64
		if err := rows.Scan(&c.Seq, &c.AccountID, &c.UserID, &c.KeyID, &at); err != nil {
			return nil, fmt.Errorf("auth changes: %w", err)
		}
		c.At = roster.FromMicros(at)
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("auth changes: %w", err)
	}
	return out, nil
}

// AuthChangeHead returns the highest seq of the access change log, 0 when
// it is empty. It reads committed rows, never the sequence itself: on
// PostgreSQL a sequence also counts seqs drawn by transactions that have
// not committed yet, which a watcher starting there would skip.
func (s *Store) AuthChangeHead(ctx context.Context) (int64, error) {
	var head int64
	if err := s.read.QueryRowContext(ctx, `SELECT COALESCE(max(seq), 0) FROM auth_changes`).Scan(&head); err != nil {
		return 0, fmt.Errorf("auth change head: %w", err)
	}
	return head, nil
}

// nowMicros is the database's clock in Unix microseconds, as the access
// change log's triggers write changed_at (migration 0008).
func (d *Dialect) nowMicros() string {
	if d.Name == "postgres" {
		return `(extract(epoch FROM clock_timestamp()) * 1000000)::bigint`
	}
	return `CAST(unixepoch('subsec') * 1000000 AS INTEGER)`
}
