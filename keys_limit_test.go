package roster_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"roster"
	"roster/internal/postgres"
	"roster/internal/testdb"
)

// ctxKey marks the context of one of two concurrent creations.
type ctxKey struct{}

// pausingStore runs transactions through pausingTx.
type pausingStore struct {
	roster.Store
	wrap func(roster.Tx) roster.Tx
}

func (p pausingStore) Update(ctx context.Context, fn func(roster.Tx) error) error {
	return p.Store.Update(ctx, func(tx roster.Tx) error { return fn(p.wrap(tx)) })
}

// pausingTx holds the first creation after it counted the owner's keys
// until the second one has ended or is about to wait for the owner's row.
type pausingTx struct {
	roster.Tx
	counted func(ctx context.Context)
	locking func(ctx context.Context)
}

func (p pausingTx) CountAPIKeys(ctx context.Context, accountID, userID string) (int64, error) {
	n, err := p.Tx.CountAPIKeys(ctx, accountID, userID)
	p.counted(ctx)
	return n, err
}

func (p pausingTx) UserForUpdate(ctx context.Context, accountID, userID string) (*roster.User, error) {
	p.locking(ctx)
	return p.Tx.UserForUpdate(ctx, accountID, userID)
}

// TestKeyLimitUnderConcurrency creates a user's last allowed key twice at
// once: one creation must be refused. On PostgreSQL the first creation
// is held between counting the keys and inserting its own while the
// second runs; SQLite has one writer at a time, so there the two simply
// follow each other.
func TestKeyLimitUnderConcurrency(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, s roster.Store) {
		e := newEnv(t, s)
		for range roster.MaxKeysPerUser - 1 {
			e.key(t, e.admin, roster.KeyInput{})
		}
		_, pg := s.(*postgres.DB)
		var once sync.Once
		counted := make(chan struct{}) // the first creation counted the keys
		second := make(chan struct{})  // the second creation ended or waits for the first
		release := func(ctx context.Context) {
			if ctx.Value(ctxKey{}) == 2 {
				once.Do(func() { close(second) })
			}
		}
		svc := roster.NewService(pausingStore{Store: s, wrap: func(tx roster.Tx) roster.Tx {
			return pausingTx{Tx: tx, locking: release, counted: func(ctx context.Context) {
				if pg && ctx.Value(ctxKey{}) == 1 {
					close(counted)
					<-second
				}
			}}
		}}, roster.Config{Clock: e.clock})
		create := func(n int) error {
			ctx := context.WithValue(e.ctx, ctxKey{}, n)
			_, _, err := svc.CreateKey(ctx, e.admin, e.acct.ID, roster.KeyInput{Name: fmt.Sprintf("last %d", n)})
			if n == 2 {
				release(ctx)
			}
			return err
		}
		first := make(chan error, 1)
		go func() { first <- create(1) }()
		if pg {
			<-counted
		} else {
			err := <-first
			first <- err
		}
		err2 := create(2)
		err1 := <-first
		keys, err := e.svc.APIKeys(e.ctx, e.admin, e.acct.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(keys) != roster.MaxKeysPerUser || (err1 == nil) == (err2 == nil) {
			t.Errorf("two creations of the last key: errors %v, %v; %d keys, want one refused and %d keys",
				err1, err2, len(keys), roster.MaxKeysPerUser)
		}
	})
}
