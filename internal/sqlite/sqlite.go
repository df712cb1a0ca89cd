// Package sqlite is Roster's store on an embedded SQLite database
// (modernc.org/sqlite, pure Go). The SQL itself lives in internal/sqlstore;
// this package opens the database, owns its schema and says how SQLite
// searches and reports errors.
//
// Writes go through one connection in BEGIN IMMEDIATE transactions, reads
// through a pool of read-only connections that WAL mode lets run alongside
// the writer.
//
// Durability: synchronous=NORMAL in WAL mode never corrupts the database
// and survives a crash of the process, but a power loss or operating-system
// crash may roll back the transactions committed since the last checkpoint
// of the WAL. FULL would fsync the WAL on every commit: on the development
// machine it cost about 10% of invitation throughput (16 concurrent
// writers), more on disks with slow fsync. Roster takes NORMAL on SQLite,
// its single-machine store; PostgreSQL is the store where that window
// matters.
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"unicode/utf8"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"roster"
	"roster/internal/sqlstore"
)

//go:embed migrations/*.sql
var migrations embed.FS

// FileName is the database file Open uses in its data directory.
const FileName = "roster.db"

// DB is the SQLite store. It implements roster.Store and roster.BulkLoader.
type DB struct {
	*sqlstore.Store
	path string
}

var (
	_ roster.Store      = (*DB)(nil)
	_ roster.BulkLoader = (*DB)(nil)
)

// Dialect is SQLite's sqlstore.Dialect.
var Dialect = &sqlstore.Dialect{
	Name:    "sqlite",
	UserSeq: true,
	// modernc.org/sqlite binds $N by number itself; bulk inserts use ?.
	Param:    func(int) string { return "?" },
	Search:   search,
	Classify: classify,
	// modernc.org/sqlite would prepare every statement anew.
	CacheStatements: true,
	Explain:         "EXPLAIN QUERY PLAN",
}

// Open opens (creating the directory and the file when missing)
// dataDir/roster.db.
func Open(ctx context.Context, dataDir string) (*DB, error) {
	if err := os.MkdirAll(dataDir, 0o750); err != nil {
		return nil, fmt.Errorf("sqlite: create data directory: %w", err)
	}
	return OpenFile(ctx, filepath.Join(dataDir, FileName))
}

// OpenFile opens (creating when missing) the database file at path. Call
// Migrate before use.
func OpenFile(ctx context.Context, path string) (*DB, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("sqlite: %w", err)
	}
	// Every connection: foreign keys on, wait for locks rather than fail,
	// sub-journals and sort trees in memory, and reads straight from the
	// file's pages mapped in memory (up to SQLite's 2 GB limit): no read
	// system call per page, and the pages are shared by every connection
	// through the operating system's cache instead of copied into each.
	base := "file:" + (&url.URL{Path: abs}).EscapedPath() + "?_pragma=busy_timeout(10000)&_pragma=foreign_keys(1)" +
		"&_pragma=synchronous(NORMAL)&_pragma=temp_store(MEMORY)&_pragma=mmap_size(2147418112)"
	// The writer is opened first: it switches the file to WAL, which
	// persists, before any reader connects. BEGIN IMMEDIATE takes the write
	// lock at the start of a transaction, so a transaction never fails
	// halfway on a lock. Its page cache holds the index pages a batch of
	// writes dirties; the WAL file is cut back to 64 MB after checkpoints.
	write, err := sql.Open("sqlite", base+"&_pragma=journal_mode(WAL)&_txlock=immediate"+
		"&_pragma=cache_size(-65536)&_pragma=journal_size_limit(67108864)")
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	// One writer: SQLite serialises writes anyway, and queueing for this
	// connection in Go is cheaper than retrying on SQLITE_BUSY.
	write.SetMaxOpenConns(1)
	write.SetMaxIdleConns(1)
	write.SetConnMaxLifetime(0)
	write.SetConnMaxIdleTime(0)
	if err := write.PingContext(ctx); err != nil {
		write.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	// Readers see committed data and run beside the writer in WAL mode.
	read, err := sql.Open("sqlite", base+"&_pragma=query_only(1)")
	if err != nil {
		write.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	n := max(4, 2*runtime.GOMAXPROCS(0))
	read.SetMaxOpenConns(n)
	read.SetMaxIdleConns(n)
	read.SetConnMaxLifetime(0)
	read.SetConnMaxIdleTime(0)
	db := &DB{Store: sqlstore.New(Dialect, read, write), path: abs}
	if err := read.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	return db, nil
}

// Path returns the database file's absolute path.
func (db *DB) Path() string { return db.path }

// Migrate applies the embedded migrations the database lacks.
func (db *DB) Migrate(ctx context.Context) error {
	ms, err := Migrations()
	if err != nil {
		return err
	}
	if err := sqlstore.Migrate(ctx, db.WriteDB(), Dialect, ms); err != nil {
		return fmt.Errorf("sqlite: %w", err)
	}
	return nil
}

// Migrations returns the embedded migrations, in order. Tests apply a
// prefix of them to check how a later one upgrades existing data.
func Migrations() ([]sqlstore.Migration, error) {
	ms, err := sqlstore.Migrations(migrations, "migrations")
	if err != nil {
		return nil, fmt.Errorf("sqlite: %w", err)
	}
	return ms, nil
}

// Analyze refreshes the planner's statistics (ANALYZE). The plans Roster
// relies on do not need them; with them SQLite also picks a status index
// for a rare status filter.
func (db *DB) Analyze(ctx context.Context) error {
	if _, err := db.WriteDB().ExecContext(ctx, "ANALYZE"); err != nil {
		return fmt.Errorf("sqlite: analyze: %w", err)
	}
	return nil
}

// classify reads SQLite's extended result codes.
func classify(err error) sqlstore.ErrorKind {
	var e *sqlite.Error
	if !errors.As(err, &e) {
		return sqlstore.ErrOther
	}
	switch e.Code() {
	case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
		return sqlstore.ErrUnique
	case sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY:
		return sqlstore.ErrForeignKey
	}
	return sqlstore.ErrOther
}

// search matches q anywhere in search_key. Queries of three characters or
// more read the trigram index for one phrase, restricted to the rowid range
// of the account (FTS5 honours rowid bounds, so other accounts' matches are
// never visited), and then each match's row by its rowid; CROSS JOIN fixes
// that order. Shorter queries have no trigram: they read every row of the
// account and test it with instr, a documented limitation.
func search(add func(any) string, account, q string) (from, where string) {
	if utf8.RuneCountInString(q) < 3 {
		return "users", "account_id = " + account + " AND instr(search_key, " + add(q) + ") > 0"
	}
	phrase := add(`"` + strings.ReplaceAll(q, `"`, `""`) + `"`)
	return "users_fts f CROSS JOIN users ON users.seq = f.rowid",
		"f.users_fts MATCH " + phrase +
			" AND f.rowid > (SELECT seq << 32 FROM accounts WHERE id = " + account + ")" +
			" AND f.rowid < (SELECT (seq + 1) << 32 FROM accounts WHERE id = " + account + ")" +
			" AND account_id = " + account
}
