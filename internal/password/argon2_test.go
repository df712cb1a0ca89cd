package password

import (
	"bytes"
	"context"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"runtime"
	"strings"
	"testing"

	"golang.org/x/crypto/argon2"
)

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestArgon2RFC9106 checks the Argon2id test vector of RFC 9106 §5.3,
// which uses a secret and associated data: H_0 and the tag.
func TestArgon2RFC9106(t *testing.T) {
	pw := bytes.Repeat([]byte{0x01}, 32)
	salt := bytes.Repeat([]byte{0x02}, 16)
	secret := bytes.Repeat([]byte{0x03}, 8)
	data := bytes.Repeat([]byte{0x04}, 12)

	h0 := initialHash(pw, salt, secret, data, 3, 32, 4, 32)
	wantH0 := unhex(t, "28 89 de 48 7e b4 2a e5 00 c0 00 7e d9 25 2f 10 69 ea de c4 0d 57 65 b4 85 de 6d c2 43 7a 67 b8"+
		"54 6a 2f 0a cc 1a 08 82 db 8f cf 74 71 4b 47 2e 94 df 42 1a 5d a1 11 2f fa 11 43 43 70 a1 e9 97")
	if !bytes.Equal(h0[:], wantH0) {
		t.Errorf("H_0 = %x, want %x", h0, wantH0)
	}

	want := unhex(t, "0d 64 0d f5 8d 78 76 6c 08 c0 37 a3 4a 8b 53 c9 d0 1e f0 45 2d 75 b6 5e b5 25 20 e9 6b 01 e6 59")
	for _, buf := range []*buffer{nil, newBuffer(32, 4), newBuffer(1024, 1)} {
		if got := idKey(buf, pw, salt, secret, data, 3, 32, 4, 32); !bytes.Equal(got, want) {
			t.Errorf("idKey(RFC 9106 §5.3 inputs) = %x, want %x", got, want)
		}
	}
}

type argon2Case struct {
	pw, salt     []byte
	time, memory uint32
	threads      uint8
	keyLen       uint32
}

func (c argon2Case) String() string {
	return fmt.Sprintf("m=%d,t=%d,p=%d,len=%d,pw=%d,salt=%d", c.memory, c.time, c.threads, c.keyLen, len(c.pw), len(c.salt))
}

func randomCases(n int) []argon2Case {
	r := rand.New(rand.NewPCG(1, 2))
	bytesN := func(min, max int) []byte {
		b := make([]byte, min+r.IntN(max-min+1))
		for i := range b {
			b[i] = byte(r.Uint32())
		}
		return b
	}
	cases := []argon2Case{
		// Edge shapes: the minimum memory, memory below 8p (raised),
		// non-multiples of 4p, one address block per segment exactly,
		// and segments spanning several address blocks.
		{[]byte("pw"), []byte("saltsalt"), 1, 8, 1, 32},
		{[]byte("pw"), []byte("saltsalt"), 2, 8, 4, 16},
		{[]byte("pw"), []byte("saltsalt"), 3, 33, 2, 4},
		{[]byte("pw"), []byte("saltsalt"), 1, 512, 1, 64},
		{[]byte("pw"), []byte("saltsalt"), 2, 2047, 3, 65},
		{[]byte(""), []byte("saltsalt"), 4, 1030, 4, 128},
	}
	for len(cases) < n {
		cases = append(cases, argon2Case{
			pw:      bytesN(0, 64),
			salt:    bytesN(8, 32),
			time:    1 + r.Uint32N(4),
			memory:  8 + r.Uint32N(2041),
			threads: uint8(1 + r.IntN(4)),
			keyLen:  4 + r.Uint32N(61),
		})
	}
	return cases
}

// TestArgon2MatchesXCrypto compares idKey with x/crypto's argon2.IDKey, an
// independent implementation, over many parameter sets, with a fresh
// buffer and with one buffer reused across all of them (a reused buffer
// holds the blocks of a different hash, which must not matter).
func TestArgon2MatchesXCrypto(t *testing.T) {
	n := 200
	if testing.Short() {
		n = 40
	}
	shared := newBuffer(2048, 1)
	small := newBuffer(64, 1) // most cases exceed it: one-off arrays
	for _, c := range randomCases(n) {
		want := argon2.IDKey(c.pw, c.salt, c.time, c.memory, c.threads, c.keyLen)
		if got := idKey(nil, c.pw, c.salt, nil, nil, c.time, c.memory, c.threads, c.keyLen); !bytes.Equal(got, want) {
			t.Errorf("%v: idKey = %x, want %x (x/crypto)", c, got, want)
		}
		if got := idKey(shared, c.pw, c.salt, nil, nil, c.time, c.memory, c.threads, c.keyLen); !bytes.Equal(got, want) {
			t.Errorf("%v: idKey with a reused buffer = %x, want %x (x/crypto)", c, got, want)
		}
		if got := idKey(small, c.pw, c.salt, nil, nil, c.time, c.memory, c.threads, c.keyLen); !bytes.Equal(got, want) {
			t.Errorf("%v: idKey with a small buffer = %x, want %x (x/crypto)", c, got, want)
		}
	}
	if shared.blocks == nil {
		t.Error("the shared buffer was never allocated")
	}
}

// TestArgon2BufferReuse checks that a buffer dirtied by a larger hash with
// other parameters gives the same results as a fresh one.
func TestArgon2BufferReuse(t *testing.T) {
	buf := newBuffer(256, 1)
	pw, salt := []byte("correct horse"), []byte("0123456789abcdef")
	want := idKey(nil, pw, salt, nil, nil, 2, 64, 2, 32)
	for _, dirt := range []argon2Case{
		{[]byte("x"), []byte("saltsalt"), 3, 256, 1, 32},
		{[]byte("y"), []byte("saltsalt"), 1, 200, 4, 16},
		{pw, salt, 2, 64, 2, 32},
	} {
		idKey(buf, dirt.pw, dirt.salt, nil, nil, dirt.time, dirt.memory, dirt.threads, dirt.keyLen)
		if got := idKey(buf, pw, salt, nil, nil, 2, 64, 2, 32); !bytes.Equal(got, want) {
			t.Errorf("after %v in the buffer: idKey = %x, want %x", dirt, got, want)
		}
	}
}

// TestHasherReusesMemory runs 50 hashes and verifications through a
// Hasher with 2 slots and counts the bytes allocated: the slots' two
// buffers, not one block array per hash.
func TestHasherReusesMemory(t *testing.T) {
	p := Params{Memory: 4 * 1024, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}
	m := uint64(p.Memory) * 1024
	h := NewHasher(p, 2, 0)
	ctx := context.Background()
	enc := mustHash(t, h, "warm-up is not needed but harmless")

	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	done := make(chan error)
	for i := range 50 {
		go func() {
			if i%2 == 0 {
				_, err := h.Hash(ctx, "correct horse battery staple")
				done <- err
				return
			}
			ok, err := h.Verify(ctx, "warm-up is not needed but harmless", enc)
			if err == nil && !ok {
				err = fmt.Errorf("Verify of the right password = false")
			}
			done <- err
		}()
	}
	for range 50 {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	runtime.ReadMemStats(&after)
	if grew := after.TotalAlloc - before.TotalAlloc; grew >= 3*m {
		t.Errorf("50 hashes with 2 slots allocated %d KiB, want < %d KiB (3 × m): the slots' buffers should be reused",
			grew/1024, 3*m/1024)
	}
}

// BenchmarkArgon2 compares one hash at the default parameters by this
// package (with a slot's reused buffer, and with a fresh array per hash)
// and by x/crypto (which always allocates a fresh array).
func BenchmarkArgon2(b *testing.B) {
	p := DefaultParams
	pw, salt := []byte("correct horse battery staple"), []byte("0123456789abcdef")
	b.Run("ours", func(b *testing.B) {
		buf := newBuffer(p.Memory, p.Threads)
		b.ReportAllocs()
		for b.Loop() {
			idKey(buf, pw, salt, nil, nil, p.Time, p.Memory, p.Threads, p.KeyLen)
		}
	})
	b.Run("ours-fresh", func(b *testing.B) { // a new array per hash, like x/crypto
		b.ReportAllocs()
		for b.Loop() {
			idKey(nil, pw, salt, nil, nil, p.Time, p.Memory, p.Threads, p.KeyLen)
		}
	})
	b.Run("xcrypto", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			argon2.IDKey(pw, salt, p.Time, p.Memory, p.Threads, p.KeyLen)
		}
	})
}
