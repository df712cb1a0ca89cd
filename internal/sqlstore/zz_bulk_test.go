package sqlstore_test

import (
	"context"
	"os"
	"strconv"
	"testing"
	"time"

	"roster"
	"roster/internal/testdb"
)

func TestZZBulk(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("ZZ_BULK"))
	if n == 0 {
		t.Skip()
	}
	testdb.Each(t, func(t *testing.T, s roster.Store) {
		ctx := context.Background()
		start, c0 := time.Now(), processCPU()
		for i := 0; i < n/100000; i++ {
			testdb.Seed(t, s, 1, 100000)
			t.Logf("%d00k users: %v wall, %v cpu", i+1, time.Since(start).Round(time.Millisecond), (processCPU() - c0).Round(time.Millisecond))
		}
		_ = ctx
	})
}
