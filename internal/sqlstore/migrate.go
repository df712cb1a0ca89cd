package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Migration is one numbered, forward-only schema change.
type Migration struct {
	Version int64
	Name    string // file name, e.g. 0001_init.sql
	SQL     string
	// Go, when set, runs after SQL in the same transaction: the part of a
	// migration SQL cannot do (hashing).
	Go func(ctx context.Context, tx *sql.Tx) error
}

// goSteps are the Go parts of migrations, by file name; both engines name
// the migration alike.
var goSteps = map[string]func(ctx context.Context, tx *sql.Tx) error{
	"0004_audit_chain.sql": chainAuditEvents,
}

// Migrations reads the files NNNN_name.sql in dir of fsys, ordered by number.
func Migrations(fsys fs.FS, dir string) ([]Migration, error) {
	entries, err := fs.ReadDir(fsys, dir)
	if err != nil {
		return nil, fmt.Errorf("read migrations: %w", err)
	}
	var ms []Migration
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || !strings.HasSuffix(name, ".sql") {
			continue
		}
		num, _, ok := strings.Cut(name, "_")
		v, err := strconv.ParseInt(num, 10, 64)
		if !ok || err != nil || v <= 0 {
			return nil, fmt.Errorf("migration %s: name must start with a positive number and an underscore", name)
		}
		b, err := fs.ReadFile(fsys, path.Join(dir, name))
		if err != nil {
			return nil, fmt.Errorf("read migration %s: %w", name, err)
		}
		ms = append(ms, Migration{Version: v, Name: name, SQL: string(b), Go: goSteps[name]})
	}
	slices.SortFunc(ms, func(a, b Migration) int { return int(a.Version - b.Version) })
	for i := 1; i < len(ms); i++ {
		if ms[i].Version == ms[i-1].Version {
			return nil, fmt.Errorf("migrations %s and %s have the same number", ms[i-1].Name, ms[i].Name)
		}
	}
	return ms, nil
}

// Migrate applies the migrations db has not applied yet, each in its own
// transaction that also records it in schema_migrations. With a
// MigrationLock (PostgreSQL) several processes may migrate at once: each
// transaction takes the lock and checks again that its migration is still
// pending. A database migrated by a newer release keeps its extra versions.
func Migrate(ctx context.Context, db *sql.DB, d *Dialect, ms []Migration) error {
	applied, err := appliedVersions(ctx, db)
	if err != nil {
		// First run: create the table, under the lock like every migration.
		err = inMigrationTx(ctx, db, d, func(tx *sql.Tx) error {
			_, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
				version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)`)
			return err
		})
		if err != nil {
			return fmt.Errorf("create schema_migrations: %w", err)
		}
		if applied, err = appliedVersions(ctx, db); err != nil {
			return err
		}
	}
	for _, m := range ms {
		if applied[m.Version] {
			continue
		}
		err := inMigrationTx(ctx, db, d, func(tx *sql.Tx) error {
			var done int
			if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM schema_migrations WHERE version = $1`, m.Version).Scan(&done); err != nil {
				return err
			}
			if done > 0 {
				return nil // another process applied it meanwhile
			}
			if _, err := tx.ExecContext(ctx, m.SQL); err != nil {
				return err
			}
			if m.Go != nil {
				if err := m.Go(ctx, tx); err != nil {
					return err
				}
			}
			_, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)`,
				m.Version, m.Name, time.Now().UnixMicro())
			return err
		})
		if err != nil {
			return fmt.Errorf("migration %s: %w", m.Name, err)
		}
	}
	return nil
}

func appliedVersions(ctx context.Context, db *sql.DB) (map[int64]bool, error) {
	rows, err := db.QueryContext(ctx, `SELECT version FROM schema_migrations`)
	if err != nil {
		return nil, fmt.Errorf("read schema_migrations: %w", err)
	}
	defer rows.Close()
	applied := map[int64]bool{}
	for rows.Next() {
		var v int64
		if err := rows.Scan(&v); err != nil {
			return nil, err
		}
		applied[v] = true
	}
	return applied, rows.Err()
}

func inMigrationTx(ctx context.Context, db *sql.DB, d *Dialect, fn func(*sql.Tx) error) (err error) {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			_ = tx.Rollback()
		}
	}()
	if d.MigrationLock != "" {
		if _, err := tx.ExecContext(ctx, d.MigrationLock); err != nil {
			return err
		}
	}
	if err := fn(tx); err != nil {
		return err
	}
	return tx.Commit()
}
