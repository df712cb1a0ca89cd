// Package password hashes and verifies passwords with argon2id.
//
// Hashes are PHC strings ($argon2id$v=19$m=19456,t=2,p=1$salt$hash) so that
// the parameters travel with each hash and can be raised later without
// invalidating stored ones. Hashing is deliberately expensive in memory
// (19 MiB per hash at the default parameters), so a Hasher bounds how many
// hashes run at once: a flood of sign-in attempts queues instead of
// exhausting the machine's memory.
package password

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"roster"
)

// Params are the argon2id cost parameters.
type Params struct {
	Memory  uint32 // KiB
	Time    uint32 // passes over the memory
	Threads uint8  // lanes
	SaltLen int    // bytes of random salt
	KeyLen  uint32 // bytes of derived key
}

// DefaultParams are OWASP's minimum recommendation for argon2id (m=19 MiB,
// t=2, p=1), with a 128-bit salt and a 256-bit key: about 25–35 ms per hash
// on one core of a current server.
var DefaultParams = Params{Memory: 19 * 1024, Time: 2, Threads: 1, SaltLen: 16, KeyLen: 32}

// Limits on what Verify accepts from a stored hash, so that a corrupted or
// hostile hash cannot make one verification take gigabytes or minutes.
const (
	maxMemory  = 1 << 20 // KiB: 1 GiB
	maxTime    = 64
	maxThreads = 64
	maxSaltLen = 64
	maxKeyLen  = 128
)

// Password length limits. MinLen is the fewest code points (after NFC
// normalisation) in a new password; see Check and MaxChars in policy.go.
// MaxLen is the most bytes Hash and Verify accept: 4 × MaxChars, the UTF-8
// size of the longest password Check lets through, and a stop to absurd
// inputs.
const (
	MinLen = 12
	MaxLen = 4 * MaxChars
)

// ErrMalformed is returned by Verify for a string that is not an argon2id
// PHC hash this package can check.
var ErrMalformed = errors.New("password: malformed argon2id hash")

// ErrTooLong is returned by Hash for a password longer than MaxLen bytes,
// and is the rule of Check's *PolicyError for one over MaxChars code points.
var ErrTooLong = errors.New("password: longer than the maximum length")

// Hasher hashes and verifies passwords with fixed parameters, running at
// most a bounded number of hashes at once. Its methods are safe for
// concurrent use.
type Hasher struct {
	params  Params
	sem     chan struct{}
	buffers chan *buffer // one per slot: the memory a hash fills, reused
	queue   int64        // most callers that may wait for a slot
	waiting atomic.Int64 // callers waiting or hashing
}

// ErrBusy is returned, at once, when more callers are already waiting for a
// hashing slot than the queue holds: under a flood the excess is refused
// fast instead of piling up.
var ErrBusy = errors.New("password: too many hashes waiting")

// NewHasher returns a Hasher that runs at most concurrency hashes at once
// (GOMAXPROCS when concurrency < 1) and lets at most queue more wait for a
// slot (64 × concurrency when queue < 1: with the default parameters, about
// a second and a half of work). Peak memory is about concurrency × p.Memory
// KiB; a waiting caller holds none of it.
func NewHasher(p Params, concurrency, queue int) *Hasher {
	if concurrency < 1 {
		concurrency = runtime.GOMAXPROCS(0)
	}
	if queue < 1 {
		queue = 64 * concurrency
	}
	return &Hasher{params: p, sem: make(chan struct{}, concurrency), buffers: newBuffers(p, concurrency), queue: int64(concurrency + queue)}
}

// Check applies the password policy; see Check.
func (h *Hasher) Check(pw string, personal ...string) error { return Check(pw, personal...) }

// Busy reports whether err is ErrBusy.
func (h *Hasher) Busy(err error) bool { return errors.Is(err, ErrBusy) }

var defaultHasher = NewHasher(DefaultParams, 0, 0)

// Default returns the Hasher with DefaultParams that Hash and Verify use.
func Default() *Hasher { return defaultHasher }

// Hash hashes pw with DefaultParams; see (*Hasher).Hash.
func Hash(ctx context.Context, pw string) (string, error) { return defaultHasher.Hash(ctx, pw) }

// Verify checks pw against an encoded hash; see (*Hasher).Verify.
func Verify(ctx context.Context, pw, encoded string) (bool, error) {
	return defaultHasher.Verify(ctx, pw, encoded)
}

// NeedsRehash reports whether encoded was made with parameters other than
// DefaultParams, so that a successful sign-in should store a fresh hash.
func NeedsRehash(encoded string) bool {
	h, err := decode(encoded)
	if err != nil {
		return true
	}
	p := DefaultParams
	return h.memory != p.Memory || h.time != p.Time || h.threads != p.Threads ||
		len(h.salt) != p.SaltLen || uint32(len(h.key)) != p.KeyLen
}

// Admit takes a place in the hashing queue for one hash or verification
// to come, or refuses at once with ErrBusy when the queue is full. A caller
// that must do other work before hashing (a sign-in reads the database)
// admits first, so that under a flood the excess is refused before it costs
// anything. The place is the Work's until it hashes or its Done is called.
func (h *Hasher) Admit() (roster.PasswordWork, error) {
	if !h.enter() {
		return nil, ErrBusy
	}
	return &work{h: h}, nil
}

// work is an admitted place in the queue, for one Hash or Verify.
type work struct {
	h    *Hasher
	mu   sync.Mutex
	used bool
}

// take marks the place used; false when it was used (or given back) already.
func (w *work) take() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	first := !w.used
	w.used = true
	return first
}

func (w *work) Hash(ctx context.Context, pw string) (string, error) {
	if !w.take() {
		return w.h.Hash(ctx, pw)
	}
	return w.h.hash(ctx, pw, true)
}

func (w *work) Verify(ctx context.Context, pw, encoded string) (bool, error) {
	if !w.take() {
		return w.h.Verify(ctx, pw, encoded)
	}
	return w.h.verify(ctx, pw, encoded, true)
}

func (w *work) Done() {
	if w.take() {
		w.h.waiting.Add(-1)
	}
}

// enter takes a place in the queue unless it is full.
func (h *Hasher) enter() bool {
	if h.waiting.Add(1) > h.queue {
		h.waiting.Add(-1)
		return false
	}
	return true
}

// acquire waits for a hashing slot or for ctx to end. Unless the caller was
// admitted already, it first takes a place in the queue, refusing at once
// with ErrBusy when the queue is full.
func (h *Hasher) acquire(ctx context.Context, admitted bool) error {
	if !admitted && !h.enter() {
		return ErrBusy
	}
	select {
	case h.sem <- struct{}{}:
		return nil
	case <-ctx.Done():
		h.waiting.Add(-1)
		return fmt.Errorf("password: waiting to hash: %w", context.Cause(ctx))
	}
}

func (h *Hasher) release() {
	<-h.sem
	h.waiting.Add(-1)
}

// Hash returns the PHC string of pw, in NFC form (Normalize), under a fresh
// random salt. It waits for
// a free slot, returning ctx's error if ctx ends first, and ErrTooLong for a
// password over MaxLen bytes.
func (h *Hasher) Hash(ctx context.Context, pw string) (string, error) {
	return h.hash(ctx, pw, false)
}

func (h *Hasher) hash(ctx context.Context, pw string, admitted bool) (string, error) {
	if len(pw) > MaxLen {
		if admitted {
			h.waiting.Add(-1)
		}
		return "", ErrTooLong
	}
	p := h.params
	salt := make([]byte, p.SaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("password: salt: %w", err)
	}
	if err := h.acquire(ctx, admitted); err != nil {
		return "", err
	}
	key := h.argon2id([]byte(Normalize(pw)), salt, p.Time, p.Memory, p.Threads, p.KeyLen)
	h.release()
	return encode(hash{memory: p.Memory, time: p.Time, threads: p.Threads, salt: salt, key: key}), nil
}

// Verify reports whether pw, in NFC form (Normalize), matches encoded,
// comparing in constant time. It
// uses the parameters stored in encoded, so hashes made with older
// parameters still verify. It returns ErrMalformed for an encoded string it
// cannot read, and ctx's error if ctx ends while waiting for a slot.
func (h *Hasher) Verify(ctx context.Context, pw, encoded string) (bool, error) {
	return h.verify(ctx, pw, encoded, false)
}

func (h *Hasher) verify(ctx context.Context, pw, encoded string, admitted bool) (bool, error) {
	d, err := decode(encoded)
	if err != nil || len(pw) > MaxLen {
		if admitted {
			h.waiting.Add(-1)
		}
		return false, err
	}
	if err := h.acquire(ctx, admitted); err != nil {
		return false, err
	}
	key := h.argon2id([]byte(Normalize(pw)), d.salt, d.time, d.memory, d.threads, uint32(len(d.key)))
	h.release()
	return subtle.ConstantTimeCompare(key, d.key) == 1, nil
}

type hash struct {
	memory, time uint32
	threads      uint8
	salt, key    []byte
}

var b64 = base64.RawStdEncoding

func encode(h hash) string {
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2Version, h.memory, h.time, h.threads, b64.EncodeToString(h.salt), b64.EncodeToString(h.key))
}

func decode(s string) (hash, error) {
	var h hash
	parts := strings.Split(s, "$")
	// "", "argon2id", "v=19", "m=..,t=..,p=..", salt, key
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" || parts[2] != "v="+strconv.Itoa(argon2Version) {
		return h, ErrMalformed
	}
	var seen [3]bool
	for _, kv := range strings.Split(parts[3], ",") {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			return h, ErrMalformed
		}
		n, err := strconv.ParseUint(v, 10, 32)
		if err != nil || n == 0 {
			return h, ErrMalformed
		}
		switch {
		case k == "m" && !seen[0] && n <= maxMemory:
			h.memory, seen[0] = uint32(n), true
		case k == "t" && !seen[1] && n <= maxTime:
			h.time, seen[1] = uint32(n), true
		case k == "p" && !seen[2] && n <= maxThreads:
			h.threads, seen[2] = uint8(n), true
		default:
			return h, ErrMalformed
		}
	}
	if !seen[0] || !seen[1] || !seen[2] || h.memory < 8*uint32(h.threads) {
		return h, ErrMalformed
	}
	var err error
	if h.salt, err = b64.DecodeString(parts[4]); err != nil || len(h.salt) < 8 || len(h.salt) > maxSaltLen {
		return h, ErrMalformed
	}
	if h.key, err = b64.DecodeString(parts[5]); err != nil || len(h.key) < 16 || len(h.key) > maxKeyLen {
		return h, ErrMalformed
	}
	return h, nil
}
