// Package authcache keeps what an API key check reads from the database in
// memory, and forgets it as soon as the database says that the key, its
// creator or its account changed, on every Roster instance sharing the
// database. It follows the access change log that database triggers write
// (roster.Store.AuthChangesSince): a poll every Interval, woken at once by
// PostgreSQL's LISTEN/NOTIFY where available. docs/key-cache.md describes
// the design and its guarantees.
//
// The guarantee: a hit is served only while the change log was read to its
// end by a poll that started less than MaxStale ago, so a change committed
// MaxStale before a Get is never hidden by the cache, whatever fails. When
// the log cannot be read for FailAfter, the cache empties itself and every
// Get misses (the caller reads the database) until a poll succeeds again.
package authcache

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"roster"
)

// Source is the access change log: roster.Store implements it.
type Source interface {
	AuthChangesSince(ctx context.Context, afterSeq int64, limit int) ([]roster.AuthChange, error)
	AuthChangeHead(ctx context.Context) (int64, error)
}

// Defaults of Options.
const (
	DefaultInterval    = 200 * time.Millisecond
	DefaultMaxStale    = 800 * time.Millisecond
	DefaultFailAfter   = 500 * time.Millisecond
	DefaultMaxEntries  = 100_000
	DefaultBatch       = 1000
	DefaultPollTimeout = time.Second
	DefaultMaxGap      = time.Minute
)

// Options tune a Cache; the zero value takes the defaults.
type Options struct {
	// Interval is the time between two polls of the change log.
	Interval time.Duration
	// MaxStale bounds how old the cache's view may be: a hit is served
	// only while the last poll that read the log to its end started less
	// than MaxStale ago. It must stay under the one second the product
	// promises, with room for the request itself.
	MaxStale time.Duration
	// FailAfter is how long polls may fail (or lag) before the cache
	// empties itself.
	FailAfter time.Duration
	// MaxEntries bounds the number of cached keys; a Put beyond it drops an
	// arbitrary entry.
	MaxEntries int
	// Batch is how many log entries one query reads.
	Batch int
	// PollTimeout bounds a poll (all its queries): a database that hangs
	// rather than fails makes the poll fail, so that the cache empties
	// itself and Sync callers are not held up.
	PollTimeout time.Duration
	// MaxGap bounds the time since the last poll that read the log to its
	// end: a poll starting later (the process was paused) cannot rely on
	// the log still holding every change since, as Prune deletes old
	// entries, so it empties the cache and restarts from the head. It must
	// stay well under how long the log keeps entries
	// (sqlstore.AuthChangesKept).
	MaxGap time.Duration
	// Listen, when set, runs beside the poller for as long as Run does and
	// calls wake whenever the log may have grown (a notification) and after
	// each (re)connection, so that a catch-up poll follows at once:
	// postgres.ListenAuthChanges. It only makes eviction faster; the polls
	// keep the guarantee when it is broken.
	Listen func(ctx context.Context, wake func()) error
	// Now tells the time; time.Now when nil. Freshness is measured on its
	// readings, so tests can inject a clock.
	Now func() time.Time
	// Logger receives the transitions between following the log and
	// bypassing the cache; nothing is logged when nil.
	Logger *slog.Logger
	// OnApply, when set, is called after a poll applied changes (their
	// entries are already gone), with those changes. For tests and metrics;
	// it must not block.
	OnApply func(changes []roster.AuthChange)
	// OnFlush, when set, is called after the cache emptied itself because
	// it could not read the log, with the error that made it.
	OnFlush func(err error)
}

// Entry is what Put stores for a key: the value and the ids whose changes
// evict it.
type Entry[V any] struct {
	AccountID string
	UserID    string // the key's creator
	KeyID     string
	// Until, when not zero, is when the entry dies by itself: the earliest
	// of the key's expiry and the creator's access deadline.
	Until time.Time
	Value V
}

// Ticket is taken before reading the database for a Put; see Put.
type Ticket struct{ gen uint64 }

// Cache maps key hashes to values of type V, evicted by the access change
// log. It is safe for concurrent use; Run must be running for it to serve
// hits.
type Cache[V any] struct {
	src  Source
	opt  Options
	base time.Time // freshness is measured as the duration since base
	wake chan struct{}

	// gen changes whenever entries may have become stale (a change was
	// applied, the cache was emptied or restarted from the head): a Put
	// with an older ticket is refused.
	gen atomic.Uint64

	mu      sync.RWMutex
	entries map[string]*entry[V]
	index   map[string]map[string]struct{} // "u:"+user, "k:"+key, "a:"+account -> hashes
	fresh   bool                           // freshAt is valid: the log was read to its end
	freshAt time.Duration                  // since base: start of the last poll that read to the end

	// Owned by whoever holds pollMu.
	pollMu   sync.Mutex
	last     int64 // seq of the last applied change
	fromHead bool  // the next poll starts at the log's head (the cache is empty)
	failing  error // the error of the failing polls, nil when following
	// caughtUp is the number (see started) of the last poll that read the
	// log to its end.
	caughtUp uint64

	// started counts polls begun. Sync waits for a poll begun after it.
	started atomic.Uint64
}

type entry[V any] struct {
	accountID, userID, keyID string
	until                    time.Time
	v                        V
}

// New returns a cache following src's change log. Call Run to start
// following; until its first poll succeeds every Get misses.
func New[V any](src Source, opt Options) *Cache[V] {
	if opt.Interval <= 0 {
		opt.Interval = DefaultInterval
	}
	if opt.MaxStale <= 0 {
		opt.MaxStale = DefaultMaxStale
	}
	if opt.FailAfter <= 0 {
		opt.FailAfter = DefaultFailAfter
	}
	if opt.MaxEntries <= 0 {
		opt.MaxEntries = DefaultMaxEntries
	}
	if opt.Batch <= 0 {
		opt.Batch = DefaultBatch
	}
	if opt.PollTimeout <= 0 {
		opt.PollTimeout = DefaultPollTimeout
	}
	if opt.MaxGap <= 0 {
		opt.MaxGap = DefaultMaxGap
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.Logger == nil {
		opt.Logger = slog.New(slog.DiscardHandler)
	}
	return &Cache[V]{
		src: src, opt: opt, base: opt.Now(), wake: make(chan struct{}, 1),
		entries: map[string]*entry[V]{}, index: map[string]map[string]struct{}{},
		fromHead: true,
	}
}

// Get returns the value cached for a key hash, if there is one, the
// watcher has confirmed within MaxStale that no change since evicted it,
// and its Until has not passed.
func (c *Cache[V]) Get(hash []byte) (V, bool) {
	now := c.opt.Now()
	c.mu.RLock()
	e := c.entries[string(hash)]
	ok := e != nil && c.freshLocked(now)
	c.mu.RUnlock()
	if !ok || !e.until.IsZero() && !now.Before(e.until) {
		var zero V
		return zero, false
	}
	return e.v, true
}

// freshLocked reports whether the cache's view is recent enough at now to
// serve hits. Call with mu held.
func (c *Cache[V]) freshLocked(now time.Time) bool {
	return c.fresh && now.Sub(c.base)-c.freshAt < c.opt.MaxStale
}

// Ticket returns the ticket for a Put of what is read from the database
// after this call.
func (c *Cache[V]) Ticket() Ticket { return Ticket{gen: c.gen.Load()} }

// Put caches e for a key hash, unless a change may have been applied since
// t was taken (the value might have been read before that change and
// would never be evicted), the cache is not following the log, or
// e.Until has passed. Take t before reading the database:
//
//	t := c.Ticket()
//	v, err := load(ctx) // the database read
//	if err == nil {
//		c.Put(t, hash, authcache.Entry[V]{...})
//	}
//
// Load does exactly this. Put reports whether e was stored.
func (c *Cache[V]) Put(t Ticket, hash []byte, e Entry[V]) bool {
	now := c.opt.Now()
	if !e.Until.IsZero() && !now.Before(e.Until) {
		return false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if t.gen != c.gen.Load() || !c.freshLocked(now) {
		return false
	}
	h := string(hash)
	if old := c.entries[h]; old != nil {
		c.removeLocked(h, old)
	} else if len(c.entries) >= c.opt.MaxEntries {
		for k, v := range c.entries {
			c.removeLocked(k, v)
			break
		}
	}
	ne := &entry[V]{accountID: e.AccountID, userID: e.UserID, keyID: e.KeyID, until: e.Until, v: e.Value}
	c.entries[h] = ne
	for _, ix := range indexKeys(ne) {
		set := c.index[ix]
		if set == nil {
			set = map[string]struct{}{}
			c.index[ix] = set
		}
		set[h] = struct{}{}
	}
	return true
}

// Load returns the value cached for hash, or else calls load and caches
// its entry as Put does. Errors of load are returned, never cached.
func (c *Cache[V]) Load(ctx context.Context, hash []byte, load func(context.Context) (Entry[V], error)) (V, error) {
	if v, ok := c.Get(hash); ok {
		return v, nil
	}
	t := c.Ticket()
	e, err := load(ctx)
	if err != nil {
		var zero V
		return zero, err
	}
	c.Put(t, hash, e)
	return e.Value, nil
}

// Len returns the number of cached entries, servable or not.
func (c *Cache[V]) Len() int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return len(c.entries)
}

// Fresh reports whether the cache serves hits now: it follows the log and
// read it to its end less than MaxStale ago. A health check may report it.
func (c *Cache[V]) Fresh() bool {
	now := c.opt.Now()
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.freshLocked(now)
}

func indexKeys[V any](e *entry[V]) []string {
	keys := make([]string, 0, 3)
	if e.accountID != "" {
		keys = append(keys, "a:"+e.accountID)
	}
	if e.userID != "" {
		keys = append(keys, "u:"+e.userID)
	}
	if e.keyID != "" {
		keys = append(keys, "k:"+e.keyID)
	}
	return keys
}

// removeLocked deletes an entry and its index references. Call with mu held.
func (c *Cache[V]) removeLocked(h string, e *entry[V]) {
	delete(c.entries, h)
	for _, ix := range indexKeys(e) {
		if set := c.index[ix]; set != nil {
			delete(set, h)
			if len(set) == 0 {
				delete(c.index, ix)
			}
		}
	}
}

// evictLocked deletes every entry an index key names. Call with mu held.
func (c *Cache[V]) evictLocked(ix string) {
	for h := range c.index[ix] {
		if e := c.entries[h]; e != nil {
			c.removeLocked(h, e)
		}
	}
}

// applyLocked evicts what a change concerns: a key change its key, a user
// change the keys the user created, an account change the account's keys.
// Call with mu held.
func (c *Cache[V]) applyLocked(ch roster.AuthChange) {
	switch {
	case ch.KeyID != "":
		c.evictLocked("k:" + ch.KeyID)
	case ch.UserID != "":
		c.evictLocked("u:" + ch.UserID)
	default:
		c.evictLocked("a:" + ch.AccountID)
	}
}

// Wake asks the poller to poll now rather than at its next tick. It never
// blocks.
func (c *Cache[V]) Wake() {
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// Run follows the change log until ctx ends: a poll every Interval, or at
// once when woken, and Options.Listen beside it. It returns ctx.Err() after
// Listen returned.
func (c *Cache[V]) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	if c.opt.Listen != nil {
		wg.Go(func() { _ = c.opt.Listen(ctx, c.Wake) })
	}
	defer wg.Wait()
	tick := time.NewTicker(c.opt.Interval)
	defer tick.Stop()
	for {
		c.pollMu.Lock()
		c.follow(ctx, c.pollLocked(ctx))
		c.pollMu.Unlock()
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		case <-c.wake:
		}
	}
}

// Sync reads the change log to its end now and applies it, returning once a
// poll that began after the call has done so. The instance that commits a
// change calls it after the commit, before answering: from then on its
// cache is exact about that change, whatever the other instances' lag.
// When the log cannot be read, Sync empties the cache (every Get misses
// until a later poll succeeds) and returns the error: the change is never
// hidden, and the caller need not fail its request.
func (c *Cache[V]) Sync(ctx context.Context) error {
	after := c.started.Load()
	c.pollMu.Lock()
	defer c.pollMu.Unlock()
	if c.caughtUp > after {
		return nil // a poll that began after the call caught up meanwhile
	}
	err := c.pollLocked(ctx)
	if err != nil {
		c.flushLocked(err)
	}
	c.follow(ctx, err)
	return err
}

// follow records a poll's outcome: the switch between following and
// failing, and emptying the cache when polls failed for FailAfter. Call
// with pollMu held.
func (c *Cache[V]) follow(ctx context.Context, err error) {
	if err == nil {
		if c.failing != nil {
			c.opt.Logger.Info("auth cache: following the access change log again")
			c.failing = nil
		}
		return
	}
	if ctx.Err() != nil && errors.Is(err, ctx.Err()) {
		return // shutting down
	}
	if c.failing == nil {
		c.opt.Logger.Warn("auth cache: cannot read the access change log; key checks read the database", "err", err)
	}
	c.failing = err
	c.mu.RLock()
	overdue := !c.fresh || c.opt.Now().Sub(c.base)-c.freshAt >= c.opt.FailAfter
	c.mu.RUnlock()
	if overdue && !c.fromHead {
		c.flushLocked(err)
	}
}

// flushLocked empties the cache and stops serving hits until a poll
// restarts from the log's head. Call with pollMu held.
func (c *Cache[V]) flushLocked(err error) {
	c.mu.Lock()
	clear(c.entries)
	clear(c.index)
	c.fresh = false
	c.gen.Add(1)
	c.mu.Unlock()
	c.fromHead = true
	if c.opt.OnFlush != nil {
		c.opt.OnFlush(err)
	}
}

// pollLocked reads the change log to its end and applies it. On success
// the cache is fresh as of the start of the last query. Call with pollMu
// held.
func (c *Cache[V]) pollLocked(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, c.opt.PollTimeout)
	defer cancel()
	round := c.started.Add(1)
	begun := c.opt.Now().Sub(c.base)
	c.mu.RLock()
	gap := c.fresh && begun-c.freshAt >= c.opt.MaxGap
	c.mu.RUnlock()
	if gap && !c.fromHead {
		// The changes since the last read may have been pruned from the
		// log: what it still holds cannot clear the entries.
		c.flushLocked(errors.New("auth cache: the access change log was not read for too long"))
	}
	for {
		start := c.opt.Now().Sub(c.base)
		if c.fromHead {
			// The cache is empty: whatever was committed before the head
			// is read by the loads that follow, whatever comes after has a
			// higher seq. The gen bump refuses Puts of loads begun earlier.
			head, err := c.src.AuthChangeHead(ctx)
			if err != nil {
				return err
			}
			c.last, c.fromHead = head, false
			c.mu.Lock()
			c.gen.Add(1)
			c.fresh, c.freshAt = true, start
			c.mu.Unlock()
			c.caughtUp = round
			return nil
		}
		changes, err := c.src.AuthChangesSince(ctx, c.last, c.opt.Batch)
		if err != nil {
			return err
		}
		done := len(changes) < c.opt.Batch
		c.mu.Lock()
		if len(changes) > 0 {
			c.gen.Add(1)
			for _, ch := range changes {
				c.applyLocked(ch)
			}
		}
		if done && c.fresh {
			c.freshAt = start
		}
		c.mu.Unlock()
		if len(changes) > 0 {
			c.last = changes[len(changes)-1].Seq
			if c.opt.OnApply != nil {
				c.opt.OnApply(changes)
			}
		}
		if done {
			c.caughtUp = round
			return nil
		}
		if c.opt.Now().Sub(c.base)-begun >= c.opt.FailAfter {
			return errors.New("auth cache: the access change log grows faster than it is read")
		}
	}
}
