package authcache_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"slices"
	"testing"
	"time"

	"roster"
	"roster/internal/authcache"
	"roster/internal/postgres"
	"roster/internal/sqlite"
	"roster/internal/testdb"
)

// instances returns n stores on one fresh database, each with its own
// connection pools, as n Roster instances would have, and the PostgreSQL
// URL ("" for SQLite). ROSTER_TEST_STORE limits the engines like testdb.Each.
func eachEngine(t *testing.T, n int, fn func(t *testing.T, stores []roster.Store, url string)) {
	t.Helper()
	only := os.Getenv(testdb.EnvStore)
	if only != "postgres" {
		t.Run("sqlite", func(t *testing.T) {
			first := testdb.SQLite(t)
			stores := []roster.Store{first}
			for range n - 1 {
				db, err := sqlite.OpenFile(t.Context(), first.Path())
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { db.Close() })
				stores = append(stores, db)
			}
			fn(t, stores, "")
		})
	}
	if only != "sqlite" {
		t.Run("postgres", func(t *testing.T) {
			url := testdb.URL(t)
			var stores []roster.Store
			for i := range n {
				db, err := postgres.Open(t.Context(), url)
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { db.Close() })
				if i == 0 {
					if err := db.Migrate(t.Context()); err != nil {
						t.Fatal(err)
					}
				}
				stores = append(stores, db)
			}
			fn(t, stores, url)
		})
	}
}

// loader reads a key and its creator from s, as the key check would.
func loader(s roster.Store, hash []byte) func(ctx context.Context) (authcache.Entry[authcache.KeyOwner], error) {
	return func(ctx context.Context) (authcache.Entry[authcache.KeyOwner], error) {
		k, u, err := s.APIKeyOwner(ctx, hash)
		if err != nil {
			return authcache.Entry[authcache.KeyOwner]{}, err
		}
		return authcache.OwnerEntry(k, u), nil
	}
}

// world is an account on the shared database, changed through instance 1.
type world struct {
	t       *testing.T
	ctx     context.Context
	s       roster.Store // instance 1
	account *roster.Account
}

func newWorld(t *testing.T, s roster.Store) *world {
	w := &world{t: t, ctx: t.Context(), s: s}
	now := time.Now()
	w.account = &roster.Account{ID: roster.NewID(now), Name: "Propagation", CreatedAt: now, UpdatedAt: now}
	w.update(func(tx roster.Tx) error { return tx.InsertAccount(w.ctx, w.account) })
	return w
}

func (w *world) update(fn func(tx roster.Tx) error) {
	w.t.Helper()
	if err := w.s.Update(w.ctx, fn); err != nil {
		w.t.Fatalf("Update = %v", err)
	}
}

var userSeq int

// userWithKey creates an active Admin with one API key and returns them and
// the key's hash.
func (w *world) userWithKey() (*roster.User, *roster.APIKey) {
	w.t.Helper()
	userSeq++
	now := time.Now()
	u := &roster.User{ID: roster.NewID(now), AccountID: w.account.ID, FirstName: "Key", LastName: "Holder",
		Email: fmt.Sprintf("holder%d@example.com", userSeq), Roles: roster.NewRoleSet(roster.RoleAdmin, roster.RoleSupport),
		Status: roster.StatusActive, InvitedAt: now, UpdatedAt: now, Version: 1}
	u.Keys()
	secret := roster.NewAPIKeySecret()
	k := &roster.APIKey{ID: roster.NewID(now), AccountID: u.AccountID, UserID: u.ID, Name: "k", Hint: secret[len(secret)-4:],
		Hash: roster.HashSecret(secret), CreatedAt: now}
	w.update(func(tx roster.Tx) error { return errors.Join(tx.InsertUser(w.ctx, u), tx.InsertAPIKey(w.ctx, k)) })
	return u, k
}

// changes are the ways a key loses its access through instance 1.
var changes = []struct {
	name string
	do   func(w *world, u *roster.User, k *roster.APIKey)
}{
	{"delete user", func(w *world, u *roster.User, k *roster.APIKey) {
		w.update(func(tx roster.Tx) error { _, err := tx.DeleteUser(w.ctx, u.AccountID, u.ID); return err })
	}},
	{"revoke user", func(w *world, u *roster.User, k *roster.APIKey) {
		w.updateUser(u, func(u *roster.User) { u.Status = roster.StatusInactive })
	}},
	{"remove role", func(w *world, u *roster.User, k *roster.APIKey) {
		w.updateUser(u, func(u *roster.User) { u.Roles = roster.NewRoleSet(roster.RoleSupport) })
	}},
	{"disable key", func(w *world, u *roster.User, k *roster.APIKey) {
		if _, err := w.s.(interface{ WriteDB() *sql.DB }).WriteDB().ExecContext(w.ctx,
			`UPDATE api_keys SET disabled = NOT disabled WHERE id = $1`, k.ID); err != nil {
			w.t.Fatal(err)
		}
	}},
}

func (w *world) updateUser(u *roster.User, mod func(*roster.User)) {
	w.t.Helper()
	w.update(func(tx roster.Tx) error {
		cur, err := tx.UserForUpdate(w.ctx, u.AccountID, u.ID)
		if err != nil {
			return err
		}
		mod(cur)
		cur.Version++
		return tx.UpdateUser(w.ctx, cur)
	})
}

// run starts c.Run until the test ends.
func run[V any](t *testing.T, c *authcache.Cache[V]) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = c.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
}

// appliedTo returns an OnApply hook and a function that waits until a
// change of a user or key has been applied, returning when it saw it.
func appliedTo(t *testing.T) (func([]roster.AuthChange), func(userID, keyID string) time.Time) {
	ch := make(chan roster.AuthChange, 1<<16)
	hook := func(cs []roster.AuthChange) {
		for _, c := range cs {
			ch <- c
		}
	}
	wait := func(userID, keyID string) time.Time {
		t.Helper()
		deadline := time.After(time.Minute) // a hang guard, not a timing assertion
		for {
			select {
			case c := <-ch:
				if c.UserID == userID && (keyID == "" || c.KeyID == keyID) {
					return time.Now()
				}
			case <-deadline:
				t.Fatalf("no change of user %s key %q applied within a minute", userID, keyID)
			}
		}
	}
	return hook, wait
}

func mustLoad(t *testing.T, c *authcache.Cache[authcache.KeyOwner], s roster.Store, k *roster.APIKey) {
	t.Helper()
	// A change applied between the ticket and the Put (another test's, or
	// the previous round's last ones) refuses the Put; load again then.
	for range 100 {
		if _, err := c.Load(t.Context(), k.Hash, loader(s, k.Hash)); err != nil {
			t.Fatalf("Load = %v", err)
		}
		if _, ok := c.Get(k.Hash); ok {
			return
		}
		if err := c.Sync(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
	t.Fatal("the key never stayed cached")
}

// TestEvictsChangesOfAnotherInstance changes a key's access through one
// store and watches another store's cache forget it, by each kind of
// change.
func TestEvictsChangesOfAnotherInstance(t *testing.T) {
	eachEngine(t, 2, func(t *testing.T, stores []roster.Store, url string) {
		hook, wait := appliedTo(t)
		opt := authcache.Options{OnApply: hook}
		if url != "" {
			opt.Listen = postgres.AuthListener(url, nil)
		}
		c := authcache.New[authcache.KeyOwner](stores[1], opt)
		run(t, c)
		if err := c.Sync(t.Context()); err != nil {
			t.Fatal(err)
		}
		w := newWorld(t, stores[0])
		for _, ch := range changes {
			t.Run(ch.name, func(t *testing.T) {
				u, k := w.userWithKey()
				mustLoad(t, c, stores[1], k)
				ch.do(w, u, k)
				keyID := ""
				if ch.name == "disable key" {
					keyID = k.ID
				}
				wait(u.ID, keyID)
				if v, ok := c.Get(k.Hash); ok {
					t.Errorf("Get after %s = %+v, want a miss", ch.name, v)
				}
				v, err := c.Load(t.Context(), k.Hash, loader(stores[1], k.Hash))
				switch {
				case ch.name == "delete user" && roster.ErrorCode(err) != roster.CodeNotFound:
					t.Errorf("Load after delete = %+v, %v; want not found", v, err)
				case ch.name != "delete user" && err != nil:
					t.Errorf("Load after %s = %v", ch.name, err)
				case ch.name == "revoke user" && v.User.Status != roster.StatusInactive:
					t.Errorf("Load after revoke = %+v, %v; want inactive", v, err)
				case ch.name == "remove role" && v.User.Roles.Has(roster.RoleAdmin):
					t.Errorf("Load after removing Admin = %+v, %v; want Support only", v, err)
				}
			})
		}
	})
}

// TestSyncIsExactAtOnce: the instance that made a change and called Sync
// never serves the old entry, with no poll and no notification.
func TestSyncIsExactAtOnce(t *testing.T) {
	eachEngine(t, 1, func(t *testing.T, stores []roster.Store, _ string) {
		// A stopped clock: the entry would be served for ever but for Sync.
		c, _ := newCache[authcache.KeyOwner](t, stores[0], authcache.Options{})
		w := newWorld(t, stores[0])
		for _, ch := range changes {
			u, k := w.userWithKey()
			mustLoad(t, c, stores[0], k)
			ch.do(w, u, k)
			if _, ok := c.Get(k.Hash); !ok {
				t.Fatalf("%s: the entry went before Sync; this test shows nothing", ch.name)
			}
			if err := c.Sync(t.Context()); err != nil {
				t.Fatal(err)
			}
			if v, ok := c.Get(k.Hash); ok {
				t.Errorf("Get after %s and Sync = %+v, want a miss", ch.name, v)
			}
		}
	})
}

// TestDatabaseUnreachable closes the pools of the instance whose cache
// holds an entry: the cache stops serving hits and empties itself.
func TestDatabaseUnreachable(t *testing.T) {
	eachEngine(t, 2, func(t *testing.T, stores []roster.Store, _ string) {
		flushed := make(chan error, 1)
		c, clock := newCache[authcache.KeyOwner](t, stores[1], authcache.Options{OnFlush: func(err error) { flushed <- err }})
		run(t, c)
		w := newWorld(t, stores[0])
		_, k := w.userWithKey()
		mustLoad(t, c, stores[1], k)

		stores[1].Close()
		// Until the clock passes MaxStale since the last confirmation the
		// entry is within the bound; after it, it is refused.
		if _, ok := c.Get(k.Hash); !ok {
			t.Fatal("entry refused before MaxStale")
		}
		clock.Advance(authcache.DefaultMaxStale)
		if v, ok := c.Get(k.Hash); ok {
			t.Errorf("Get after MaxStale without a poll = %+v, want a miss", v)
		}
		c.Wake()
		if err := <-flushed; err == nil {
			t.Error("flushed without an error")
		}
		if n := c.Len(); n != 0 {
			t.Errorf("Len after the flush = %d", n)
		}
		if c.Fresh() {
			t.Error("Fresh with the database closed")
		}
	})
}

// TestPropagation measures, over many rounds on three instances, the time
// from a change answered by instance 1 to its eviction by the caches of
// instances 2 and 3. It asserts only that every eviction happens; the
// delays are logged (docs/key-cache.md quotes them).
func TestPropagation(t *testing.T) {
	rounds := 100
	if testing.Short() {
		rounds = 10
	}
	eachEngine(t, 3, func(t *testing.T, stores []roster.Store, url string) {
		type follower struct {
			c    *authcache.Cache[authcache.KeyOwner]
			wait func(userID, keyID string) time.Time
		}
		var fs []follower
		for _, s := range stores[1:] {
			hook, wait := appliedTo(t)
			opt := authcache.Options{OnApply: hook}
			if url != "" {
				opt.Listen = postgres.AuthListener(url, nil)
			}
			c := authcache.New[authcache.KeyOwner](s, opt)
			run(t, c)
			if err := c.Sync(t.Context()); err != nil {
				t.Fatal(err)
			}
			fs = append(fs, follower{c, wait})
		}
		w := newWorld(t, stores[0])
		var delays []time.Duration
		for i := range rounds {
			ch := changes[i%len(changes)]
			u, k := w.userWithKey()
			for j, f := range fs {
				mustLoad(t, f.c, stores[j+1], k)
			}
			ch.do(w, u, k)
			answered := time.Now()
			keyID := ""
			if ch.name == "disable key" {
				keyID = k.ID
			}
			for _, f := range fs {
				at := f.wait(u.ID, keyID)
				if v, ok := f.c.Get(k.Hash); ok {
					t.Fatalf("round %d (%s): Get after the eviction = %+v", i, ch.name, v)
				}
				delays = append(delays, at.Sub(answered))
			}
		}
		slices.Sort(delays)
		how := "polling every " + authcache.DefaultInterval.String()
		if url != "" {
			how = "LISTEN/NOTIFY and polling"
		}
		t.Logf("%d rounds, %d evictions on 2 followers (%s): median %v, p99 %v, worst %v", rounds, len(delays), how,
			delays[len(delays)/2], delays[len(delays)*99/100], delays[len(delays)-1])
	})
}

// TestListenBroken: with LISTEN failing for good, polls still evict.
func TestListenBroken(t *testing.T) {
	eachEngine(t, 2, func(t *testing.T, stores []roster.Store, url string) {
		if url == "" {
			t.Skip("SQLite has no LISTEN; it always polls")
		}
		hook, wait := appliedTo(t)
		c := authcache.New[authcache.KeyOwner](stores[1], authcache.Options{OnApply: hook,
			Listen: postgres.AuthListener("postgres://roster@127.0.0.1:1/none?sslmode=disable&connect_timeout=1", nil)})
		run(t, c)
		if err := c.Sync(t.Context()); err != nil {
			t.Fatal(err)
		}
		w := newWorld(t, stores[0])
		u, k := w.userWithKey()
		mustLoad(t, c, stores[1], k)
		changes[1].do(w, u, k) // revoke
		wait(u.ID, "")
		if v, ok := c.Get(k.Hash); ok {
			t.Errorf("Get after revoke = %+v, want a miss", v)
		}
	})
}

// TestSyncAfterUpdate: through the wrapped store, every committed Update is
// followed by a Sync, without the caller asking.
func TestSyncAfterUpdate(t *testing.T) {
	eachEngine(t, 1, func(t *testing.T, stores []roster.Store, _ string) {
		c, _ := newCache[authcache.KeyOwner](t, stores[0], authcache.Options{})
		w := newWorld(t, authcache.SyncAfterUpdate(stores[0], c.Sync))
		u, k := w.userWithKey()
		gotKey, gotUser, err := authcache.Owner(t.Context(), c, k.Hash, stores[0].APIKeyOwner)
		if err != nil || gotKey.ID != k.ID || gotUser.ID != u.ID {
			t.Fatalf("Owner = %v, %v, %v; want key %s of %s", gotKey, gotUser, err, k.ID, u.ID)
		}
		if _, ok := c.Get(k.Hash); !ok {
			t.Fatal("Owner did not cache the key")
		}
		w.updateUser(u, func(u *roster.User) { u.Status = roster.StatusInactive })
		if v, ok := c.Get(k.Hash); ok {
			t.Errorf("Get after a revoke through the wrapped store = %+v, want a miss", v)
		}
		_, gotUser, err = authcache.Owner(t.Context(), c, k.Hash, stores[0].APIKeyOwner)
		if err != nil || gotUser.Status != roster.StatusInactive {
			t.Errorf("Owner after the revoke = %v, %v; want the inactive user", gotUser, err)
		}
	})
}

// BenchmarkSync measures one poll of a log with nothing new: what each
// instance pays every Interval, and what SyncAfterUpdate adds to a write.
func BenchmarkSync(b *testing.B) {
	testdb.EachBench(b, func(b *testing.B, s roster.Store) {
		c := authcache.New[authcache.KeyOwner](s, authcache.Options{})
		b.ReportAllocs()
		for b.Loop() {
			if err := c.Sync(b.Context()); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// TestLiveTraffic verifies one key continuously from several clients on
// instance 2 while instance 1 deletes its creator, and counts the checks
// that accepted the key although they started after the delete was
// answered: none may have started a bound (MaxStale) after it.
func TestLiveTraffic(t *testing.T) {
	eachEngine(t, 2, func(t *testing.T, stores []roster.Store, url string) {
		opt := authcache.Options{}
		if url != "" {
			opt.Listen = postgres.AuthListener(url, nil)
		}
		c := authcache.New[authcache.KeyOwner](stores[1], opt)
		run(t, c)
		if err := c.Sync(t.Context()); err != nil {
			t.Fatal(err)
		}
		w := newWorld(t, stores[0])
		u, k := w.userWithKey()

		type check struct {
			start    time.Time
			accepted bool
		}
		const clients = 4
		results := make([][]check, clients)
		stop := make(chan struct{})
		warm := make(chan struct{}, clients)
		errs := make(chan error, clients)
		for i := range clients {
			go func() {
				warmed := false
				for {
					select {
					case <-stop:
						errs <- nil
						return
					default:
					}
					start := time.Now()
					_, _, err := authcache.Owner(t.Context(), c, k.Hash, stores[1].APIKeyOwner)
					if err != nil && roster.ErrorCode(err) != roster.CodeNotFound {
						errs <- err
						return
					}
					results[i] = append(results[i], check{start, err == nil})
					if err == nil && !warmed {
						warmed = true
						warm <- struct{}{}
					}
				}
			}()
		}
		for range clients {
			<-warm // every client has been accepted at least once
		}
		w.update(func(tx roster.Tx) error { _, err := tx.DeleteUser(w.ctx, u.AccountID, u.ID); return err })
		answered := time.Now()
		// Keep the traffic going past the bound: the window of the test,
		// not a wait for something to happen.
		time.Sleep(authcache.DefaultMaxStale + 200*time.Millisecond)
		close(stop)
		for range clients {
			if err := <-errs; err != nil {
				t.Fatal(err)
			}
		}
		var total, after, beyond int
		var lastAccepted time.Duration
		for _, rs := range results {
			for _, r := range rs {
				total++
				if !r.accepted || r.start.Before(answered) {
					continue
				}
				after++
				lastAccepted = max(lastAccepted, r.start.Sub(answered))
				if r.start.Sub(answered) >= authcache.DefaultMaxStale {
					beyond++
				}
			}
		}
		t.Logf("%d checks by %d clients; %d accepted after the delete was answered (the last starting %v after it), %d beyond %v",
			total, clients, after, lastAccepted, beyond, authcache.DefaultMaxStale)
		if beyond > 0 {
			t.Errorf("%d checks accepted the key although they started %v or more after its creator's delete was answered",
				beyond, authcache.DefaultMaxStale)
		}
	})
}
