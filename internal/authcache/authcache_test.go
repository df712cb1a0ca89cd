package authcache_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"roster"
	"roster/internal/authcache"
	"roster/internal/testdb"
)

// memLog is an in-memory change log that can be told to fail.
type memLog struct {
	mu      sync.Mutex
	changes []roster.AuthChange
	err     error
	pruned  int64 // changes up to this seq are gone, as Prune deletes them
}

// prune forgets every change recorded so far, as Prune does after
// sqlstore.AuthChangesKept; seqs are never reused.
func (l *memLog) prune() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.pruned = int64(len(l.changes))
}

func (l *memLog) add(c roster.AuthChange) {
	l.mu.Lock()
	defer l.mu.Unlock()
	c.Seq = int64(len(l.changes) + 1)
	l.changes = append(l.changes, c)
}

func (l *memLog) fail(err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.err = err
}

func (l *memLog) AuthChangesSince(_ context.Context, after int64, limit int) ([]roster.AuthChange, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.err != nil {
		return nil, l.err
	}
	var out []roster.AuthChange
	for _, c := range l.changes {
		if c.Seq > after && c.Seq > l.pruned && len(out) < limit {
			out = append(out, c)
		}
	}
	return out, nil
}

func (l *memLog) AuthChangeHead(context.Context) (int64, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.err != nil {
		return 0, l.err
	}
	return int64(len(l.changes)), nil
}

// newCache returns a cache on log with a stopped clock, synced once so that
// it serves hits.
func newCache[V any](t *testing.T, log authcache.Source, opt authcache.Options) (*authcache.Cache[V], *testdb.Clock) {
	t.Helper()
	clock := testdb.NewClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	opt.Now = clock.Now
	c := authcache.New[V](log, opt)
	if err := c.Sync(t.Context()); err != nil {
		t.Fatalf("Sync = %v", err)
	}
	return c, clock
}

func put(t *testing.T, c *authcache.Cache[string], hash string, e authcache.Entry[string]) {
	t.Helper()
	if !c.Put(c.Ticket(), []byte(hash), e) {
		t.Fatalf("Put(%s) refused", hash)
	}
}

func wantGet(t *testing.T, c *authcache.Cache[string], hash, want string) {
	t.Helper()
	got, ok := c.Get([]byte(hash))
	switch {
	case want == "" && ok:
		t.Errorf("Get(%s) = %q, want a miss", hash, got)
	case want != "" && (!ok || got != want):
		t.Errorf("Get(%s) = %q, %v; want %q", hash, got, ok, want)
	}
}

func TestNoHitsBeforeFirstPoll(t *testing.T) {
	c := authcache.New[string](&memLog{}, authcache.Options{})
	if c.Put(c.Ticket(), []byte("h"), authcache.Entry[string]{UserID: "u", Value: "v"}) {
		t.Error("Put before the first poll was stored")
	}
	wantGet(t, c, "h", "")
	if c.Fresh() {
		t.Error("Fresh before the first poll")
	}
}

func TestEvictsWhatAChangeConcerns(t *testing.T) {
	log := &memLog{}
	c, _ := newCache[string](t, log, authcache.Options{})
	entries := map[string]authcache.Entry[string]{
		"k1": {AccountID: "a1", UserID: "u1", KeyID: "k1", Value: "v1"},
		"k2": {AccountID: "a1", UserID: "u1", KeyID: "k2", Value: "v2"},
		"k3": {AccountID: "a1", UserID: "u2", KeyID: "k3", Value: "v3"},
		"k4": {AccountID: "a2", UserID: "u3", KeyID: "k4", Value: "v4"},
	}
	reset := func() {
		for h, e := range entries {
			put(t, c, h, e)
		}
	}
	for _, tc := range []struct {
		name    string
		change  roster.AuthChange
		evicted []string
	}{
		{"key", roster.AuthChange{AccountID: "a1", UserID: "u1", KeyID: "k2"}, []string{"k2"}},
		{"user", roster.AuthChange{AccountID: "a1", UserID: "u1"}, []string{"k1", "k2"}},
		{"account", roster.AuthChange{AccountID: "a1"}, []string{"k1", "k2", "k3"}},
		{"other account", roster.AuthChange{AccountID: "a9", UserID: "u9"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			reset()
			log.add(tc.change)
			if err := c.Sync(t.Context()); err != nil {
				t.Fatal(err)
			}
			for h, e := range entries {
				want := e.Value
				for _, ev := range tc.evicted {
					if ev == h {
						want = ""
					}
				}
				wantGet(t, c, h, want)
			}
		})
	}
}

func TestTicketRefusesLoadsOverlappingAChange(t *testing.T) {
	log := &memLog{}
	c, _ := newCache[string](t, log, authcache.Options{})
	e := authcache.Entry[string]{AccountID: "a", UserID: "u", KeyID: "k", Value: "read before the change"}
	ticket := c.Ticket()
	// The database read happens here; then a change commits and is applied
	// before the Put. Any change, even of another user, refuses the Put: the
	// cache cannot tell what the read saw.
	log.add(roster.AuthChange{AccountID: "a", UserID: "someone else"})
	if err := c.Sync(t.Context()); err != nil {
		t.Fatal(err)
	}
	if c.Put(ticket, []byte("k"), e) {
		t.Error("Put with a ticket older than an applied change was stored")
	}
	wantGet(t, c, "k", "")
	put(t, c, "k", e) // a fresh ticket
	wantGet(t, c, "k", e.Value)
}

func TestEntryDiesAtUntil(t *testing.T) {
	c, clock := newCache[string](t, &memLog{}, authcache.Options{MaxStale: time.Hour})
	until := clock.Now().Add(time.Minute)
	put(t, c, "k", authcache.Entry[string]{UserID: "u", KeyID: "k", Until: until, Value: "v"})
	wantGet(t, c, "k", "v")
	clock.Advance(time.Minute)
	wantGet(t, c, "k", "")
	if c.Put(c.Ticket(), []byte("k"), authcache.Entry[string]{UserID: "u", KeyID: "k", Until: until, Value: "v"}) {
		t.Error("Put of an entry past its Until was stored")
	}
}

func TestNoHitsWhenNotConfirmedWithinMaxStale(t *testing.T) {
	c, clock := newCache[string](t, &memLog{}, authcache.Options{})
	put(t, c, "k", authcache.Entry[string]{UserID: "u", KeyID: "k", Value: "v"})
	clock.Advance(authcache.DefaultMaxStale - time.Microsecond)
	wantGet(t, c, "k", "v")
	clock.Advance(time.Microsecond)
	wantGet(t, c, "k", "")
	// A poll confirms freshness again.
	if err := c.Sync(t.Context()); err != nil {
		t.Fatal(err)
	}
	wantGet(t, c, "k", "v")
}

func TestPollAfterAGapRestartsFromTheHead(t *testing.T) {
	// The process was paused (a stopped VM, SIGSTOP) for longer than the
	// log keeps its entries: a change of u was committed and pruned
	// meanwhile, so the log no longer says that u's entry is stale. The
	// first poll after the gap must not trust what it finds.
	log := &memLog{}
	c, clock := newCache[string](t, log, authcache.Options{})
	put(t, c, "k", authcache.Entry[string]{AccountID: "a", UserID: "u", KeyID: "k", Value: "v"})
	clock.Advance(authcache.DefaultMaxGap)
	log.add(roster.AuthChange{AccountID: "a", UserID: "u"})
	log.prune()
	if err := c.Sync(t.Context()); err != nil {
		t.Fatal(err)
	}
	wantGet(t, c, "k", "")
	// It follows the log again from there.
	put(t, c, "k", authcache.Entry[string]{AccountID: "a", UserID: "u", KeyID: "k", Value: "v2"})
	wantGet(t, c, "k", "v2")
	log.add(roster.AuthChange{AccountID: "a", UserID: "u"})
	if err := c.Sync(t.Context()); err != nil {
		t.Fatal(err)
	}
	wantGet(t, c, "k", "")
}

func TestSyncFailureEmptiesTheCache(t *testing.T) {
	log := &memLog{}
	var flushed []error
	c, _ := newCache[string](t, log, authcache.Options{OnFlush: func(err error) { flushed = append(flushed, err) }})
	put(t, c, "k", authcache.Entry[string]{UserID: "u", KeyID: "k", Value: "v"})
	down := errors.New("database down")
	log.fail(down)
	if err := c.Sync(t.Context()); !errors.Is(err, down) {
		t.Fatalf("Sync = %v, want %v", err, down)
	}
	wantGet(t, c, "k", "")
	if n := c.Len(); n != 0 || len(flushed) != 1 {
		t.Errorf("after a failed Sync: Len = %d, flushes %v; want empty, one flush", n, flushed)
	}
	if c.Put(c.Ticket(), []byte("k"), authcache.Entry[string]{UserID: "u", KeyID: "k", Value: "v"}) {
		t.Error("Put while the log is unreadable was stored")
	}
	// Back: the cache restarts at the head, and serves what is put after.
	log.fail(nil)
	log.add(roster.AuthChange{AccountID: "a", UserID: "u"})
	if err := c.Sync(t.Context()); err != nil {
		t.Fatal(err)
	}
	put(t, c, "k", authcache.Entry[string]{UserID: "u", KeyID: "k", Value: "v2"})
	wantGet(t, c, "k", "v2")
}

func TestRunEmptiesTheCacheAfterFailAfter(t *testing.T) {
	log := &memLog{}
	flushed := make(chan error, 1)
	c, clock := newCache[string](t, log, authcache.Options{MaxStale: time.Hour, Interval: time.Hour,
		OnFlush: func(err error) { flushed <- err }})
	put(t, c, "k", authcache.Entry[string]{UserID: "u", KeyID: "k", Value: "v"})
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error)
	go func() { done <- c.Run(ctx) }()
	defer func() { cancel(); <-done }()

	down := errors.New("database down")
	log.fail(down)
	// Failing polls within FailAfter keep the entries (hits are still
	// bounded by MaxStale); after it, the cache empties itself.
	clock.Advance(authcache.DefaultFailAfter)
	c.Wake()
	if err := <-flushed; !errors.Is(err, down) {
		t.Errorf("flushed by %v, want %v", err, down)
	}
	wantGet(t, c, "k", "")
	if c.Len() != 0 {
		t.Errorf("Len after the flush = %d", c.Len())
	}
}

// hangLog is a database that stops answering after the first poll.
type hangLog struct{ memLog }

func (h *hangLog) AuthChangesSince(ctx context.Context, _ int64, _ int) ([]roster.AuthChange, error) {
	<-ctx.Done()
	return nil, ctx.Err()
}

func TestHangingDatabaseFailsThePoll(t *testing.T) {
	c, _ := newCache[string](t, &hangLog{}, authcache.Options{PollTimeout: time.Millisecond})
	put(t, c, "k", authcache.Entry[string]{UserID: "u", KeyID: "k", Value: "v"})
	if err := c.Sync(t.Context()); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Sync on a hanging database = %v, want the poll's deadline", err)
	}
	wantGet(t, c, "k", "")
}

func TestLaggingBehindIsAFailure(t *testing.T) {
	// A log growing faster than the poller reads it: each query returns a
	// full batch while the clock runs past FailAfter.
	log := &memLog{}
	clock := testdb.NewClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	c := authcache.New[string](slowLog{log, clock}, authcache.Options{Batch: 2, Now: clock.Now})
	if err := c.Sync(t.Context()); err != nil { // from the head: no lag
		t.Fatal(err)
	}
	put(t, c, "k", authcache.Entry[string]{UserID: "u", KeyID: "k", Value: "v"})
	for range 10 {
		log.add(roster.AuthChange{AccountID: "a", UserID: "x"})
	}
	if err := c.Sync(t.Context()); err == nil {
		t.Error("Sync of a log read slower than it grows succeeded")
	}
	wantGet(t, c, "k", "")
}

// slowLog takes 200 ms of the clock per query.
type slowLog struct {
	*memLog
	clock *testdb.Clock
}

func (s slowLog) AuthChangesSince(ctx context.Context, after int64, limit int) ([]roster.AuthChange, error) {
	s.clock.Advance(200 * time.Millisecond)
	return s.memLog.AuthChangesSince(ctx, after, limit)
}

func BenchmarkGetHit(b *testing.B) {
	c := authcache.New[*struct{ a, b string }](&memLog{}, authcache.Options{MaxStale: time.Hour})
	if err := c.Sync(b.Context()); err != nil {
		b.Fatal(err)
	}
	hash := roster.HashSecret(roster.NewAPIKeySecret())
	v := &struct{ a, b string }{"a", "b"}
	if !c.Put(c.Ticket(), hash, authcache.Entry[*struct{ a, b string }]{AccountID: "a", UserID: "u", KeyID: "k", Value: v}) {
		b.Fatal("Put refused")
	}
	b.Run("serial", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, ok := c.Get(hash); !ok {
				b.Fatal("miss")
			}
		}
	})
	b.Run("parallel", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, ok := c.Get(hash); !ok {
					b.Fatal("miss")
				}
			}
		})
	})
}
