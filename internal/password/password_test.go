package password

import (
	"context"
	"errors"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"testing"
)

// cheap keeps the tests fast; the format and the code paths are the same.
var cheap = Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}

func mustHash(t *testing.T, h *Hasher, pw string) string {
	t.Helper()
	enc, err := h.Hash(context.Background(), pw)
	if err != nil {
		t.Fatalf("Hash(%q) error: %v", pw, err)
	}
	return enc
}

func TestHashFormat(t *testing.T) {
	enc, err := Hash(context.Background(), "correct horse battery staple")
	if err != nil {
		t.Fatal(err)
	}
	re := regexp.MustCompile(`^\$argon2id\$v=19\$m=19456,t=2,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$`)
	if !re.MatchString(enc) {
		t.Errorf("Hash() = %q, want a PHC string matching %s", enc, re)
	}
	if NeedsRehash(enc) {
		t.Errorf("NeedsRehash(%q) = true, want false for a hash with the default parameters", enc)
	}
}

func TestHashUsesFreshSalt(t *testing.T) {
	h := NewHasher(cheap, 1, 0)
	a, b := mustHash(t, h, "same password"), mustHash(t, h, "same password")
	if a == b {
		t.Errorf("two hashes of the same password are equal (%q); the salt must be random", a)
	}
}

func TestVerify(t *testing.T) {
	h := NewHasher(cheap, 1, 0)
	enc := mustHash(t, h, "s3cret pässword")
	tests := []struct {
		pw   string
		want bool
	}{
		{"s3cret pässword", true},
		{"s3cret password", false},
		{"S3cret pässword", false},
		{"s3cret pässword ", false},
		{"", false},
		{strings.Repeat("x", MaxLen+1), false},
	}
	for _, tt := range tests {
		got, err := h.Verify(context.Background(), tt.pw, enc)
		if err != nil || got != tt.want {
			t.Errorf("Verify(%.20q, hash) = %v, %v; want %v, nil", tt.pw, got, err, tt.want)
		}
	}
}

// TestVerifyReference checks against vectors of the argon2 reference
// implementation (phc-winner-argon2, src/test.c), so the encoding is
// interoperable and not merely self-consistent.
func TestVerifyReference(t *testing.T) {
	for _, enc := range []string{
		"$argon2id$v=19$m=256,t=2,p=1$c29tZXNhbHQ$nf65EOgLrQMR/uIPnA4rEsF5h7TKyQwu9U1bMCHGi/4",
		"$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc",
	} {
		for pw, want := range map[string]bool{"password": true, "passwore": false} {
			got, err := Verify(context.Background(), pw, enc)
			if err != nil || got != want {
				t.Errorf("Verify(%q, %q) = %v, %v; want %v, nil", pw, enc, got, err, want)
			}
		}
		if !NeedsRehash(enc) {
			t.Errorf("NeedsRehash(%q) = false, want true for non-default parameters", enc)
		}
	}
}

func TestVerifyMalformed(t *testing.T) {
	good := "$argon2id$v=19$m=256,t=2,p=1$c29tZXNhbHQ$nf65EOgLrQMR/uIPnA4rEsF5h7TKyQwu9U1bMCHGi/4"
	tests := []string{
		"",
		"password",
		strings.Replace(good, "argon2id", "argon2i", 1),
		strings.Replace(good, "v=19", "v=16", 1),
		strings.Replace(good, "m=256,t=2,p=1", "m=256,t=2", 1),
		strings.Replace(good, "m=256,t=2,p=1", "m=256,t=2,p=1,p=1", 1),
		strings.Replace(good, "m=256,t=2,p=1", "m=256,t=0,p=1", 1),
		strings.Replace(good, "m=256,t=2,p=1", "m=99999999,t=2,p=1", 1), // more than 1 GiB
		strings.Replace(good, "m=256,t=2,p=1", "m=256,t=1000,p=1", 1),
		strings.Replace(good, "m=256,t=2,p=1", "m=x,t=2,p=1", 1),
		strings.Replace(good, "c29tZXNhbHQ", "!!!", 1),
		strings.Replace(good, "c29tZXNhbHQ", "c29t", 1), // salt too short
		good + "$extra",
		strings.TrimSuffix(good, "/4") + "==",
	}
	for _, enc := range tests {
		ok, err := Verify(context.Background(), "password", enc)
		if ok || !errors.Is(err, ErrMalformed) {
			t.Errorf("Verify(%q) = %v, %v; want false, ErrMalformed", enc, ok, err)
		}
		if !NeedsRehash(enc) {
			t.Errorf("NeedsRehash(%q) = false, want true", enc)
		}
	}
}

func TestHashTooLong(t *testing.T) {
	h := NewHasher(cheap, 1, 0)
	if _, err := h.Hash(context.Background(), strings.Repeat("a", MaxLen+1)); !errors.Is(err, ErrTooLong) {
		t.Errorf("Hash(%d bytes) error = %v, want ErrTooLong", MaxLen+1, err)
	}
}

// TestConcurrencyBound holds the only slot of a Hasher and checks that a
// second hash waits for it and gives up when its context ends.
func TestConcurrencyBound(t *testing.T) {
	h := NewHasher(cheap, 1, 0)
	if err := h.acquire(context.Background(), false); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := h.Hash(ctx, "password"); !errors.Is(err, context.Canceled) {
		t.Errorf("Hash with every slot taken and a cancelled context: error = %v, want context.Canceled", err)
	}
	if _, err := h.Verify(ctx, "password", mustHashUnbounded(t)); !errors.Is(err, context.Canceled) {
		t.Errorf("Verify with every slot taken and a cancelled context: error = %v, want context.Canceled", err)
	}

	done := make(chan error, 1)
	go func() {
		_, err := h.Hash(context.Background(), "password")
		done <- err
	}()
	select {
	case err := <-done:
		t.Fatalf("Hash returned (%v) while the only slot was held", err)
	default:
	}
	h.release()
	if err := <-done; err != nil {
		t.Errorf("Hash after the slot was released: %v", err)
	}
}

func mustHashUnbounded(t *testing.T) string {
	t.Helper()
	return mustHash(t, NewHasher(cheap, 1, 0), "password")
}

func TestConcurrentUse(t *testing.T) {
	h := NewHasher(cheap, 2, 0)
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			pw := strings.Repeat("p", 8+i)
			enc, err := h.Hash(context.Background(), pw)
			if err != nil {
				t.Errorf("Hash(%q) error: %v", pw, err)
				return
			}
			if ok, err := h.Verify(context.Background(), pw, enc); !ok || err != nil {
				t.Errorf("Verify(%q) = %v, %v; want true, nil", pw, ok, err)
			}
		}()
	}
	wg.Wait()
}

func BenchmarkHash(b *testing.B) {
	ctx := context.Background()
	for b.Loop() {
		if _, err := Hash(ctx, "correct horse battery staple"); err != nil {
			b.Fatal(err)
		}
	}
}

// TestHashNormalizes checks that a password typed in decomposed form
// verifies against its hash in composed form, and the other way round.
func TestHashNormalizes(t *testing.T) {
	composed, decomposed := "caf\u00e9 au lait, s'il vous pla\u00eet", "cafe\u0301 au lait, s'il vous plai\u0302t"
	h, err := Hash(context.Background(), composed)
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := Verify(context.Background(), decomposed, h); err != nil || !ok {
		t.Errorf("Verify(decomposed form of the password) = %v, %v; want true", ok, err)
	}
	if ok, err := Verify(context.Background(), "cafe au lait, s'il vous plait", h); err != nil || ok {
		t.Errorf("Verify(the password without accents) = %v, %v; want false", ok, err)
	}
}

// TestQueueRefusesExcess checks that callers beyond the slots and the queue
// are refused at once with ErrBusy, and that the queued caller still runs.
func TestQueueRefusesExcess(t *testing.T) {
	h := NewHasher(cheap, 1, 1)
	ctx := context.Background()
	if err := h.acquire(ctx, false); err != nil { // holds the only slot
		t.Fatal(err)
	}
	queued := make(chan error, 1)
	go func() { queued <- h.acquire(ctx, false) }()
	for h.waiting.Load() != 2 { // the goroutine is in the queue
		runtime.Gosched()
	}
	if _, err := h.Hash(ctx, "correct horse battery"); !errors.Is(err, ErrBusy) || !h.Busy(err) {
		t.Fatalf("Hash with the slot taken and the queue full = %v; want ErrBusy", err)
	}
	if _, err := h.Verify(ctx, "pw", mustHashUnbounded(t)); !errors.Is(err, ErrBusy) {
		t.Fatalf("Verify with the slot taken and the queue full = %v; want ErrBusy", err)
	}
	h.release()
	if err := <-queued; err != nil {
		t.Fatalf("queued acquire = %v", err)
	}
	h.release()
	if _, err := h.Hash(ctx, "correct horse battery"); err != nil {
		t.Fatalf("Hash after the queue drained = %v", err)
	}
}

// TestAdmit checks that an admitted place counts against the queue until it
// is used or given back, and that its hash needs no second place.
func TestAdmit(t *testing.T) {
	h := NewHasher(cheap, 1, 1) // one slot, one more waiting: two places
	ctx := context.Background()
	a, err := h.Admit()
	if err != nil {
		t.Fatal(err)
	}
	b, err := h.Admit()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.Admit(); !errors.Is(err, ErrBusy) {
		t.Fatalf("third Admit with two places = %v; want ErrBusy", err)
	}
	if _, err := h.Hash(ctx, "correct horse battery"); !errors.Is(err, ErrBusy) {
		t.Fatalf("Hash with every place admitted = %v; want ErrBusy", err)
	}
	enc, err := a.Hash(ctx, "correct horse battery") // uses a's place, then frees it
	if err != nil {
		t.Fatal(err)
	}
	a.Done() // after use: nothing
	b.Done() // unused: gives the place back
	if n := h.waiting.Load(); n != 0 {
		t.Fatalf("places taken after use and Done = %d; want 0", n)
	}
	c, _ := h.Admit()
	if ok, err := c.Verify(ctx, "correct horse battery", enc); !ok || err != nil {
		t.Errorf("admitted Verify = %v, %v", ok, err)
	}
	if n := h.waiting.Load(); n != 0 {
		t.Errorf("places taken after an admitted Verify = %d; want 0", n)
	}
}
