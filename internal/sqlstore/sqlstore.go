// Package sqlstore implements roster.Store once, in SQL shared by SQLite and
// PostgreSQL. The SQL uses $1-style placeholders, which both drivers bind by
// number; a small Dialect covers what differs between the engines: row
// locks, the substring search, the clustering of SQLite's user rows and the
// translation of driver errors. internal/sqlite and internal/postgres open
// the connections, own the schema (their migrations) and fill in the Dialect.
package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"

	"roster"
)

// ErrorKind classifies a driver error, so that translation never depends on
// error text.
type ErrorKind int

// The kinds of driver errors the store translates.
const (
	ErrOther      ErrorKind = iota
	ErrUnique               // a unique or primary-key constraint failed
	ErrForeignKey           // a foreign-key constraint failed
)

// Dialect is what differs between the SQL engines.
type Dialect struct {
	// Name is "sqlite" or "postgres".
	Name string
	// ForUpdate ends a SELECT that locks the rows it reads; "" when the
	// engine has a single writer anyway.
	ForUpdate string
	// SkipLocked ends a SELECT that locks the rows it reads and skips rows
	// other transactions hold; "" when the engine has a single writer.
	SkipLocked string
	// UserSeq reports that users carry an integer seq that clusters an
	// account's users in one rowid range (SQLite): the store assigns it.
	UserSeq bool
	// Search returns the rows to read (a FROM clause) and the condition
	// (a WHERE clause) that select the users of an account whose
	// search_key contains q, a folded, non-empty string. account is the
	// placeholder of the account id; add binds further arguments and
	// returns their placeholders. The users columns must be reachable
	// unqualified. Owning the FROM clause lets an engine drive the query
	// from its search index.
	Search func(add func(any) string, account, q string) (from, where string)
	// Param, when set, returns the placeholder of the nth argument in
	// statements that bind every argument once and in order (bulk inserts).
	// SQLite looks named parameters such as $N up by a linear scan, which
	// makes a statement with thousands of them quadratic to prepare; its
	// anonymous ? costs nothing.
	Param func(n int) string
	// PlanPerExecution, when not nil, goes before the arguments of
	// statements whose best plan depends on their values (searches), to
	// have the driver plan them for each execution.
	PlanPerExecution any
	// Classify tells unique and foreign-key violations from other errors.
	Classify func(error) ErrorKind
	// WriteCTE reports that one statement may write several tables through
	// data-modifying WITH clauses (PostgreSQL): the sign-in's writes then
	// cost one round trip instead of a transaction's five.
	WriteCTE bool
	// CacheStatements keeps the prepared statements of reads for reuse
	// (SQLite; pgx caches PostgreSQL's statements itself).
	CacheStatements bool
	// Explain is the statement prefix that returns a query plan.
	Explain string
	// BulkBegin and BulkEnd run in the transaction of BulkInsertUsers,
	// before and after the rows.
	BulkBegin, BulkEnd []string
	// MigrationLock, when not empty, runs first in every migration
	// transaction to serialise concurrent migrators.
	MigrationLock string
}

// Store implements roster.Store and roster.BulkLoader on database/sql.
type Store struct {
	d       *Dialect
	readDB  *sql.DB // reads outside transactions
	writeDB *sql.DB // write transactions; may be the same pool as read
	read    *pool
}

var (
	_ roster.Store      = (*Store)(nil)
	_ roster.BulkLoader = (*Store)(nil)
)

// New returns a store that reads through read and writes through write,
// which may be the same pool.
func New(d *Dialect, read, write *sql.DB) *Store {
	s := &Store{d: d, readDB: read, writeDB: write, read: &pool{db: read}}
	if d.CacheStatements {
		// Only reads: a write transaction holds SQLite's one writer
		// connection, so a statement could not be prepared on the pool
		// while it runs.
		s.read.cache = &stmtCache{db: read}
	}
	return s
}

// Dialect returns the store's dialect.
func (s *Store) Dialect() *Dialect { return s.d }

// ReadDB returns the pool used for reads outside transactions.
func (s *Store) ReadDB() *sql.DB { return s.readDB }

// WriteDB returns the pool used for write transactions.
func (s *Store) WriteDB() *sql.DB { return s.writeDB }

// Ping checks that the database answers.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.readDB.PingContext(ctx); err != nil {
		return fmt.Errorf("ping: %w", err)
	}
	var one int
	if err := s.read.QueryRowContext(ctx, "SELECT 1").Scan(&one); err != nil {
		return fmt.Errorf("ping: %w", err)
	}
	return nil
}

// Close closes the connection pools.
func (s *Store) Close() error {
	s.read.cache.close()
	err := s.readDB.Close()
	if s.writeDB != s.readDB {
		err = errors.Join(err, s.writeDB.Close())
	}
	return err
}

// querier is what both *sql.DB and *sql.Tx offer.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// Update runs fn in a write transaction and commits it when fn returns nil.
func (s *Store) Update(ctx context.Context, fn func(roster.Tx) error) (err error) {
	sqlTx, err := s.writeDB.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	defer func() {
		if p := recover(); p != nil {
			_ = sqlTx.Rollback()
			panic(p)
		}
		if err != nil {
			_ = sqlTx.Rollback()
		}
	}()
	if err := fn(&tx{s: s, q: sqlTx}); err != nil {
		return err
	}
	if err := sqlTx.Commit(); err != nil {
		return s.translate(err, "commit", "")
	}
	return nil
}

// tx implements roster.Tx.
type tx struct {
	s *Store
	q *sql.Tx
}

var _ roster.Tx = (*tx)(nil)

// translate turns a driver error into a *roster.Error when it has a meaning
// for the domain: a unique violation is a conflict with message conflict, a
// foreign-key violation means that a referenced row is missing. Other errors
// are wrapped with op.
func (s *Store) translate(err error, op, conflict string) error {
	if err == nil {
		return nil
	}
	var re *roster.Error
	if errors.As(err, &re) {
		return err
	}
	switch s.d.Classify(err) {
	case ErrUnique:
		if conflict == "" {
			conflict = "This record already exists."
		}
		return &roster.Error{Code: roster.CodeConflict, Message: conflict}
	case ErrForeignKey:
		return roster.Errorf(roster.CodeNotFound, "A record this change refers to does not exist.")
	}
	return fmt.Errorf("%s: %w", op, err)
}

// args collects the arguments of a statement and hands out their $N
// placeholders.
type args []any

func (a *args) add(v any) string {
	*a = append(*a, v)
	return "$" + strconv.Itoa(len(*a))
}

// Messages of missing rows; the same for a row of another account.
func errUserNotFound() error {
	return roster.Errorf(roster.CodeNotFound, "No user with this id exists in this account.")
}

func errAccountNotFound() error {
	return roster.Errorf(roster.CodeNotFound, "No account with this id exists.")
}

func errAPIKeyNotFound() error {
	return roster.Errorf(roster.CodeNotFound, "No API key with this id exists.")
}

// Explain returns the query plan of a statement with bound arguments, in the
// engine's own format (SQLite: one "id parent detail" line per node;
// PostgreSQL: JSON). Query-plan tests use it on the exact SQL the store runs.
func (s *Store) Explain(ctx context.Context, query string, arg ...any) (string, error) {
	rows, err := s.readDB.QueryContext(ctx, s.d.Explain+" "+query, arg...)
	if err != nil {
		return "", fmt.Errorf("explain: %w", err)
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return "", err
	}
	var out []byte
	vals := make([]any, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return "", err
		}
		for i, v := range vals {
			if i > 0 {
				out = append(out, ' ')
			}
			switch v := v.(type) {
			case []byte:
				out = append(out, v...)
			default:
				out = fmt.Append(out, v)
			}
		}
		out = append(out, '\n')
	}
	return string(out), rows.Err()
}

// execer runs a statement: a pool, a connection or a transaction.
type execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// execOne runs a statement that must change a row, returning none when it
// changed nothing (the row is missing, or no longer in the state the
// statement requires) and naming op in any other error.
func execOne(ctx context.Context, q execer, op string, none error, query string, args ...any) error {
	res, err := q.ExecContext(ctx, query, args...)
	if err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("%s: %w", op, err)
	} else if n == 0 {
		return none
	}
	return nil
}
