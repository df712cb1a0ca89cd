package postgres_test

import (
	"testing"

	"roster"
	"roster/internal/storetest"
	"roster/internal/testdb"
)

func TestStore(t *testing.T) {
	storetest.Run(t, func(t *testing.T) roster.Store { return testdb.Postgres(t) })
}
