package main

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"unicode"

	"roster"
	"roster/internal/password"
	"roster/internal/postgres"
	"roster/internal/sqlite"
)

// Defaults of the server configuration.
const (
	defaultAddr        = "127.0.0.1:8080"
	defaultDataDir     = "./roster-data"
	defaultStaffDomain = "tatacommunications.com"
	minSecretLen       = 32
	secretFileName     = "secret"
)

// store is what the commands need of a database: the domain's Store, bulk
// loading for the seeder, and migrations.
type store interface {
	roster.Store
	roster.BulkLoader
	Migrate(ctx context.Context) error
}

var (
	_ store = (*sqlite.DB)(nil)
	_ store = (*postgres.DB)(nil)
)

// dbFlags are the flags that choose the database and the server secret,
// shared by every command that opens the database.
type dbFlags struct {
	dataDir     *string
	databaseURL *string
	secret      *string
}

func addDBFlags(fs *flagSet, withSecret bool) *dbFlags {
	f := &dbFlags{
		dataDir: fs.EnvString("data-dir", defaultDataDir,
			"directory for the SQLite database (roster.db) and the generated secret file"),
		databaseURL: fs.EnvString("database-url", "",
			"a postgres:// or postgresql:// URL to use PostgreSQL instead of SQLite in --data-dir"),
	}
	if withSecret {
		f.secret = fs.EnvString("secret", "",
			"secret (at least 32 characters) from which invitation and reset links, CSRF tokens and sign-in throttle keys are derived; "+
				"unset: generated once into <data-dir>/secret. Set the same value on every instance that shares a PostgreSQL database")
	}
	return f
}

func (f *dbFlags) postgres() bool {
	u := strings.ToLower(*f.databaseURL)
	return strings.HasPrefix(u, "postgres://") || strings.HasPrefix(u, "postgresql://")
}

// check reports flag values that cannot work, before anything is opened.
func (f *dbFlags) check() error {
	if *f.databaseURL != "" && !f.postgres() {
		return usageErrorf("--database-url: use a postgres:// or postgresql:// URL, or leave it empty for SQLite in --data-dir")
	}
	if !f.postgres() && strings.TrimSpace(*f.dataDir) == "" {
		return usageErrorf("--data-dir: give a directory for the SQLite database")
	}
	if f.secret != nil && *f.secret != "" && len(*f.secret) < minSecretLen {
		return usageErrorf("--secret: must be at least %d characters; generate one with: openssl rand -hex 32", minSecretLen)
	}
	return nil
}

// storeName names the kind of database, for logs.
func (f *dbFlags) storeName() string {
	if f.postgres() {
		return "postgres"
	}
	return "sqlite"
}

// connect opens the database without migrating it.
func (f *dbFlags) connect(ctx context.Context) (store, error) {
	var (
		st  store
		err error
	)
	if f.postgres() {
		st, err = postgres.Open(ctx, *f.databaseURL)
	} else {
		st, err = sqlite.Open(ctx, *f.dataDir)
	}
	if err != nil {
		return nil, fmt.Errorf("open %s database: %w", f.storeName(), err)
	}
	return st, nil
}

// open opens the database and applies the migrations it lacks.
func (f *dbFlags) open(ctx context.Context) (store, error) {
	st, err := f.connect(ctx)
	if err != nil {
		return nil, err
	}
	if err := st.Migrate(ctx); err != nil {
		st.Close()
		return nil, fmt.Errorf("migrate %s database: %w", f.storeName(), err)
	}
	return st, nil
}

// loadSecret returns the --secret value, or else the secret in
// <data-dir>/secret, generating that file on first use. Several instances
// sharing one PostgreSQL database must share the secret, or an invitation
// link made by one is refused by another; so on PostgreSQL a generated
// secret is logged as a warning.
func (f *dbFlags) loadSecret(logger *slog.Logger) ([]byte, error) {
	if *f.secret != "" {
		return []byte(*f.secret), nil
	}
	path := filepath.Join(*f.dataDir, secretFileName)
	secret, created, err := readOrCreateSecret(path)
	if err != nil {
		return nil, err
	}
	if created {
		logger.Info("generated a new secret", "path", path)
	}
	if f.postgres() {
		logger.Warn("no --secret set: using the secret in the data directory; "+
			"every instance that shares this PostgreSQL database must use the same secret, "+
			"so set --secret (or ROSTER_SECRET) to the same value on all of them", "path", path)
	}
	return secret, nil
}

// readOrCreateSecret reads the secret file, creating it with 32 random bytes
// (hex-encoded, mode 0600) if it does not exist. The file's text is the
// secret itself, so it can be copied into --secret on another instance.
func readOrCreateSecret(path string) (secret []byte, created bool, err error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		created, err = createSecret(path)
		if err != nil {
			return nil, false, err
		}
		b, err = os.ReadFile(path)
	}
	if err != nil {
		return nil, false, fmt.Errorf("read secret: %w", err)
	}
	s := strings.TrimSpace(string(b))
	if len(s) < minSecretLen {
		return nil, false, fmt.Errorf("the secret in %s is shorter than %d characters; remove the file to generate a new one (invitation links sent so far will stop working)", path, minSecretLen)
	}
	return []byte(s), created, nil
}

// createSecret writes a new secret file atomically: to a temporary file,
// then linked into place, so that two commands starting at once agree on
// one secret and neither reads a half-written file.
func createSecret(path string) (bool, error) {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return false, fmt.Errorf("create data directory: %w", err)
	}
	var raw [32]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return false, fmt.Errorf("generate secret: %w", err)
	}
	tmp, err := os.CreateTemp(dir, ".secret-*")
	if err != nil {
		return false, fmt.Errorf("create secret: %w", err)
	}
	defer os.Remove(tmp.Name())
	// CreateTemp makes the file with mode 0600.
	if _, err := io.WriteString(tmp, hex.EncodeToString(raw[:])+"\n"); err != nil {
		tmp.Close()
		return false, fmt.Errorf("write secret: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return false, fmt.Errorf("write secret: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return false, fmt.Errorf("write secret: %w", err)
	}
	if err := os.Link(tmp.Name(), path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return false, nil // another process won the race; use its secret
		}
		return false, fmt.Errorf("create secret: %w", err)
	}
	return true, nil
}

// logFlags choose the log level and format.
type logFlags struct {
	level  *string
	format *string
}

func addLogFlags(fs *flagSet, level string) *logFlags {
	return &logFlags{
		level:  fs.EnvString("log-level", level, "least severe log level shown: debug, info, warn or error"),
		format: fs.EnvString("log-format", "text", "log format: text or json"),
	}
}

// logger returns a logger writing to w.
func (f *logFlags) logger(w io.Writer) (*slog.Logger, error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(*f.level)); err != nil {
		return nil, usageErrorf("--log-level: use debug, info, warn or error, not %q", *f.level)
	}
	opts := &slog.HandlerOptions{Level: level}
	switch *f.format {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, usageErrorf("--log-format: use text or json, not %q", *f.format)
}

// staffDomains validates the --staff-domain values.
func staffDomains(l *listFlag) ([]string, error) {
	if len(l.values) == 0 {
		return nil, usageErrorf("--staff-domain: give at least one domain of the operator's staff, such as %s", defaultStaffDomain)
	}
	out := make([]string, 0, len(l.values))
	for _, v := range l.values {
		d, ok := roster.CleanDomain(v)
		if !ok {
			return nil, usageErrorf("--staff-domain: %q is not a domain name such as %s", v, defaultStaffDomain)
		}
		out = append(out, d)
	}
	return out, nil
}

// service opens the database and returns a service over it, for the
// operator commands; the caller closes the store. With existing, a missing
// SQLite database is an error rather than created: a command that acts on
// an account cannot succeed on a new database, and a mistyped --data-dir
// should not leave one behind.
func (f *dbFlags) service(ctx context.Context, e *env, staff []string, existing bool) (*roster.Service, store, error) {
	if err := f.check(); err != nil {
		return nil, nil, err
	}
	if existing && !f.postgres() {
		path := filepath.Join(*f.dataDir, sqlite.FileName)
		if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
			return nil, nil, usageErrorf("--data-dir: there is no database at %s; give the --data-dir of the server", path)
		}
	}
	logger := slog.New(slog.NewTextHandler(e.stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	var secret []byte
	if f.secret != nil {
		var err error
		if secret, err = f.loadSecret(logger); err != nil {
			return nil, nil, err
		}
	}
	st, err := f.open(ctx)
	if err != nil {
		return nil, nil, err
	}
	svc := roster.NewService(st, roster.Config{StaffDomains: staff, Secret: secret, Passwords: password.Default()})
	return svc, st, nil
}

// sqlDB is implemented by the stores (through internal/sqlstore); migrate
// uses it to count the rows of schema_migrations.
type sqlDB interface{ ReadDB() *sql.DB }

// migrate opens the database, applies its pending migrations and returns
// how many it applied.
func (f *dbFlags) migrate(ctx context.Context) (int, error) {
	st, err := f.connect(ctx)
	if err != nil {
		return 0, err
	}
	defer st.Close()
	before, err := appliedMigrations(ctx, st)
	if err != nil {
		return 0, err
	}
	if err := st.Migrate(ctx); err != nil {
		return 0, fmt.Errorf("migrate %s database: %w", f.storeName(), err)
	}
	after, err := appliedMigrations(ctx, st)
	if err != nil {
		return 0, err
	}
	return after - before, nil
}

// appliedMigrations counts the migrations recorded in the database; 0 when
// it has none yet.
func appliedMigrations(ctx context.Context, st store) (int, error) {
	db, ok := st.(sqlDB)
	if !ok {
		return 0, errors.New("the store does not expose its database to count migrations")
	}
	var exists int
	// A database without the table has no migration applied; the query
	// differs by engine only in where the catalogue lives.
	q := `SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'`
	if _, isPG := st.(*postgres.DB); isPG {
		q = `SELECT count(*) FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = 'schema_migrations'`
	}
	if err := db.ReadDB().QueryRowContext(ctx, q).Scan(&exists); err != nil {
		return 0, fmt.Errorf("count migrations: %w", err)
	}
	if exists == 0 {
		return 0, nil
	}
	var n int
	if err := db.ReadDB().QueryRowContext(ctx, `SELECT count(*) FROM schema_migrations`).Scan(&n); err != nil {
		return 0, fmt.Errorf("count migrations: %w", err)
	}
	return n, nil
}

// minGatewayTokenLen is the shortest --gateway-token accepted: the token
// guards the key check, which tells whether any key is valid.
const minGatewayTokenLen = 32

// checkGatewayToken validates --gateway-token: unset, or long enough and
// without whitespace (it travels in a header).
func checkGatewayToken(token string) error {
	switch {
	case token == "":
	case len(token) < minGatewayTokenLen:
		return usageErrorf("--gateway-token: must be at least %d characters; generate one with: openssl rand -hex 32", minGatewayTokenLen)
	case strings.ContainsFunc(token, unicode.IsSpace):
		return usageErrorf("--gateway-token: must not contain spaces or line breaks")
	}
	return nil
}
