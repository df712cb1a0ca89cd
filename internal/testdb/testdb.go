// Package testdb gives tests fresh, migrated databases: a SQLite file per
// test, and a PostgreSQL database per test on the server named by
// ROSTER_TEST_DATABASE_URL, dropped when the test ends.
package testdb

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver

	"roster"
	"roster/internal/postgres"
	"roster/internal/sqlite"
)

// Environment variables that steer the tests.
const (
	// EnvDatabaseURL names a PostgreSQL server where tests may create and
	// drop databases, e.g. postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable.
	EnvDatabaseURL = "ROSTER_TEST_DATABASE_URL"
	// EnvStore limits Each to one store ("sqlite" or "postgres"); with
	// "postgres", a missing EnvDatabaseURL fails instead of skipping.
	EnvStore = "ROSTER_TEST_STORE"
)

// SQLite returns a fresh migrated database in t.TempDir(), closed when the
// test ends.
func SQLite(t testing.TB) *sqlite.DB {
	t.Helper()
	ctx := context.Background()
	db, err := sqlite.OpenFile(ctx, filepath.Join(t.TempDir(), sqlite.FileName))
	if err != nil {
		t.Fatalf("testdb: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.Migrate(ctx); err != nil {
		t.Fatalf("testdb: %v", err)
	}
	return db
}

// Postgres returns a fresh migrated database roster_test_<random> on the
// server named by ROSTER_TEST_DATABASE_URL, dropped WITH (FORCE) when the
// test ends. Without the variable the test is skipped, unless
// ROSTER_TEST_STORE=postgres asks for PostgreSQL, which fails it.
func Postgres(t testing.TB) *postgres.DB {
	t.Helper()
	dbURL := URL(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	db, err := postgres.Open(ctx, dbURL)
	if err != nil {
		t.Fatalf("testdb: %v", err)
	}
	t.Cleanup(func() { db.Close() }) // runs before the drop
	if err := db.Migrate(ctx); err != nil {
		t.Fatalf("testdb: %v", err)
	}
	return db
}

// URL creates a fresh, empty (unmigrated) PostgreSQL database that is
// dropped WITH (FORCE) when the test ends, and returns its URL, e.g. for
// --database-url. It skips or fails like Postgres when
// ROSTER_TEST_DATABASE_URL is unset.
func URL(t testing.TB) string {
	t.Helper()
	admin := os.Getenv(EnvDatabaseURL)
	if admin == "" {
		const example = "=postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"
		if os.Getenv(EnvStore) == "postgres" {
			t.Fatal("testdb: " + EnvStore + "=postgres needs a server: set " + EnvDatabaseURL + example)
		}
		t.Skip("testdb: PostgreSQL tests skipped; set " + EnvDatabaseURL + example + " to run them")
	}
	u, err := url.Parse(admin)
	if err != nil {
		t.Fatalf("testdb: %s: %v", EnvDatabaseURL, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	adminDB, err := sql.Open("pgx", admin)
	if err != nil {
		t.Fatalf("testdb: %v", err)
	}
	name := "roster_test_" + randomHex(8)
	if _, err := adminDB.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		adminDB.Close()
		t.Fatalf("testdb: create database: %v", err)
	}
	t.Cleanup(func() {
		defer adminDB.Close()
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if _, err := adminDB.ExecContext(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			t.Errorf("testdb: drop database %s: %v", name, err)
		}
	})
	u.Path = "/" + name
	return u.String()
}

// Each runs fn as the subtests "sqlite" and "postgres", each on a fresh
// database. ROSTER_TEST_STORE=sqlite or =postgres runs only that one.
func Each(t *testing.T, fn func(t *testing.T, s roster.Store)) {
	t.Helper()
	only := os.Getenv(EnvStore)
	if only != "postgres" {
		t.Run("sqlite", func(t *testing.T) { fn(t, SQLite(t)) })
	}
	if only != "sqlite" {
		t.Run("postgres", func(t *testing.T) { fn(t, Postgres(t)) })
	}
}

// EachBench runs fn as the sub-benchmarks "sqlite" and, when
// ROSTER_TEST_DATABASE_URL names a server, "postgres", each on a fresh
// database: a benchmark on a laptop without PostgreSQL still measures
// SQLite.
func EachBench(b *testing.B, fn func(b *testing.B, s roster.Store)) {
	b.Helper()
	b.Run("sqlite", func(b *testing.B) { fn(b, SQLite(b)) })
	if os.Getenv(EnvDatabaseURL) != "" {
		b.Run("postgres", func(b *testing.B) { fn(b, Postgres(b)) })
	}
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
