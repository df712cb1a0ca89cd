package testdb_test

import (
	"context"
	"database/sql"
	"os"
	"testing"

	"roster"
	"roster/internal/testdb"
)

// TestPostgresDropsDatabase checks that a test's database is gone once the
// test ends.
func TestPostgresDropsDatabase(t *testing.T) {
	var name string
	t.Run("inner", func(t *testing.T) {
		db := testdb.Postgres(t)
		if err := db.SQL().QueryRow("SELECT current_database()").Scan(&name); err != nil {
			t.Fatal(err)
		}
	})
	if name == "" {
		t.Skip("no PostgreSQL")
	}
	admin, err := sql.Open("pgx", os.Getenv(testdb.EnvDatabaseURL))
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	var n int
	if err := admin.QueryRow("SELECT count(*) FROM pg_database WHERE datname = $1", name).Scan(&n); err != nil || n != 0 {
		t.Errorf("database %s still exists after its test (%d, %v)", name, n, err)
	}
}

func TestEach(t *testing.T) {
	var ran []string
	testdb.Each(t, func(t *testing.T, s roster.Store) {
		if err := s.Ping(context.Background()); err != nil {
			t.Fatalf("Ping: %v", err)
		}
		ran = append(ran, t.Name())
	})
	if len(ran) == 0 && os.Getenv(testdb.EnvStore) != "postgres" {
		t.Errorf("Each ran no store")
	}
}

func TestUsersDeterministic(t *testing.T) {
	a, b := testdb.Users("acct", 50, 9), testdb.Users("acct", 50, 9)
	for i := range a {
		if a[i].Email != b[i].Email || a[i].Status != b[i].Status || a[i].Roles != b[i].Roles {
			t.Fatalf("Users(seed 9)[%d] differs between calls: %+v vs %+v", i, a[i], b[i])
		}
		if a[i].SearchKey == "" || a[i].Roles == 0 {
			t.Fatalf("Users()[%d] = %+v: keys or roles missing", i, a[i])
		}
	}
}
