// Package postgres is Roster's store on PostgreSQL (github.com/jackc/pgx/v5
// through database/sql). The SQL itself lives in internal/sqlstore; this
// package opens the pool, owns the schema and says how PostgreSQL searches,
// locks and reports errors. Several Roster instances may share a database:
// migrations take an advisory lock and invariants that span rows lock rows.
package postgres

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"runtime"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"

	"roster"
	"roster/internal/sqlstore"
)

//go:embed migrations/*.sql
var migrations embed.FS

// DB is the PostgreSQL store. It implements roster.Store and roster.BulkLoader.
type DB struct {
	*sqlstore.Store
}

var (
	_ roster.Store      = (*DB)(nil)
	_ roster.BulkLoader = (*DB)(nil)
)

// migrationLockID is the pg_advisory_xact_lock key that serialises
// migrations of Roster instances sharing a database.
const migrationLockID = 0x726f73746572 // "roster"

// Dialect is PostgreSQL's sqlstore.Dialect.
var Dialect = &sqlstore.Dialect{
	Name:       "postgres",
	ForUpdate:  " FOR UPDATE",
	SkipLocked: " FOR UPDATE SKIP LOCKED",
	WriteCTE:   true,
	Search:     search,
	// A search's best plan depends on its text (a rare term reads the
	// trigram index, a two-letter one cannot use it), which a cached generic
	// plan would not know: searches run as unnamed statements, which
	// PostgreSQL plans for each execution's values. Everything else keeps
	// pgx's prepared statements and PostgreSQL's plan cache.
	PlanPerExecution: pgx.QueryExecModeCacheDescribe,
	// A bulk load collects its trigram entries in a large pending list and
	// merges them into the index in one sorted pass at the end, rather than
	// in many small flushes (several times faster), and leaves no pending
	// list behind for searches to scan.
	BulkBegin:     []string{"SET LOCAL gin_pending_list_limit = '64MB'"},
	BulkEnd:       []string{"SELECT gin_clean_pending_list('users_search'::regclass)"},
	Classify:      classify,
	Explain:       "EXPLAIN (FORMAT JSON)",
	MigrationLock: fmt.Sprintf("SELECT pg_advisory_xact_lock(%d)", migrationLockID),
}

// Open connects to the database named by url (postgres://...). Call
// Migrate before use.
func Open(ctx context.Context, url string) (*DB, error) {
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	// New users' trigrams wait in the search index's pending list until it
	// holds this much, and every search reads the whole list: the server's
	// default of 4 MB would add milliseconds to each search under a steady
	// stream of invitations, a small list costs an invitation a little.
	if _, ok := cfg.RuntimeParams["gin_pending_list_limit"]; !ok {
		cfg.RuntimeParams["gin_pending_list_limit"] = "256kB"
	}
	db := stdlib.OpenDB(*cfg)
	n := max(8, 4*runtime.GOMAXPROCS(0))
	db.SetMaxOpenConns(n)
	db.SetMaxIdleConns(n)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("postgres: connect: %w", err)
	}
	return &DB{Store: sqlstore.New(Dialect, db, db)}, nil
}

// Migrate applies the embedded migrations the database lacks. Instances
// starting at once are safe: each migration runs under an advisory lock.
func (db *DB) Migrate(ctx context.Context) error {
	ms, err := Migrations()
	if err != nil {
		return err
	}
	if err := sqlstore.Migrate(ctx, db.WriteDB(), Dialect, ms); err != nil {
		return fmt.Errorf("postgres: %w", err)
	}
	return nil
}

// Migrations returns the embedded migrations, in order. Tests apply a
// prefix of them to check how a later one upgrades existing data.
func Migrations() ([]sqlstore.Migration, error) {
	ms, err := sqlstore.Migrations(migrations, "migrations")
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	return ms, nil
}

// Analyze refreshes the planner's statistics and vacuums, which after a
// bulk load also sets the rows' visibility once instead of on first read.
// Autovacuum does the same in time; `roster dev seed` need not wait for it.
func (db *DB) Analyze(ctx context.Context) error {
	if _, err := db.WriteDB().ExecContext(ctx, "VACUUM (ANALYZE)"); err != nil {
		return fmt.Errorf("postgres: analyze: %w", err)
	}
	return nil
}

// SQL returns the connection pool.
func (db *DB) SQL() *sql.DB { return db.WriteDB() }

// classify reads SQLSTATE codes.
func classify(err error) sqlstore.ErrorKind {
	var e *pgconn.PgError
	if !errors.As(err, &e) {
		return sqlstore.ErrOther
	}
	switch e.Code {
	case "23505": // unique_violation
		return sqlstore.ErrUnique
	case "23503": // foreign_key_violation
		return sqlstore.ErrForeignKey
	}
	return sqlstore.ErrOther
}

var likeEscaper = strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)

// search matches q anywhere in search_key with LIKE, which the GIN trigram
// index on (account_id, search_key) answers for three characters or more.
func search(add func(any) string, account, q string) (from, where string) {
	return "users", "account_id = " + account + " AND search_key LIKE " + add("%"+likeEscaper.Replace(q)+"%")
}
