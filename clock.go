package roster

import (
	"crypto/rand"
	"encoding/hex"
	"sync"
	"time"
)

// Clock tells the time; tests inject their own.
type Clock interface{ Now() time.Time }

// SystemClock is the wall clock.
type SystemClock struct{}

// Now returns the current time in UTC.
func (SystemClock) Now() time.Time { return time.Now().UTC() }

// NewID returns a new UUID version 7 string: random, but ordered by creation
// time, so that primary-key indexes stay compact. Within this process ids
// strictly increase (RFC 9562 §6.2, method 3: the 12 bits after the
// millisecond count fractions of it, and a counter when two ids share one),
// so that "newest first" by id is exact even for events of one millisecond.
func NewID(now time.Time) string {
	ms, seq := nextIDTime(now)
	var b [16]byte
	_, _ = rand.Read(b[8:])
	for i := 5; i >= 0; i-- {
		b[i] = byte(ms)
		ms >>= 8
	}
	b[6] = 0x70 | byte(seq>>8)
	b[7] = byte(seq)
	b[8] = b[8]&0x3f | 0x80
	var s [36]byte
	hex.Encode(s[0:8], b[0:4])
	s[8] = '-'
	hex.Encode(s[9:13], b[4:6])
	s[13] = '-'
	hex.Encode(s[14:18], b[6:8])
	s[18] = '-'
	hex.Encode(s[19:23], b[8:10])
	s[23] = '-'
	hex.Encode(s[24:], b[10:])
	return string(s[:])
}

var lastID struct {
	sync.Mutex
	ms  int64
	seq uint16 // 12 bits
}

// nextIDTime returns the millisecond and 12-bit sub-millisecond sequence of
// a new id, strictly after the previous one even if the clock stepped back.
func nextIDTime(now time.Time) (int64, uint16) {
	ms := now.UnixMilli()
	seq := uint16(int64(now.Nanosecond()%1e6) * 4096 / 1e6)
	lastID.Lock()
	defer lastID.Unlock()
	if ms < lastID.ms || ms == lastID.ms && seq <= lastID.seq {
		ms, seq = lastID.ms, lastID.seq+1
		if seq > 0xfff {
			ms, seq = ms+1, 0
		}
	}
	lastID.ms, lastID.seq = ms, seq
	return ms, seq
}

// ValidID reports whether s is a canonical lower-case UUID string. Ids that
// fail it are answered as "not found" without asking the database.
func ValidID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < 36; i++ {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
				return false
			}
		}
	}
	return true
}

// Micros converts t to Unix microseconds, the storage format of times; the
// zero time is 0.
func Micros(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMicro()
}

// FromMicros is the inverse of Micros.
func FromMicros(us int64) time.Time {
	if us == 0 {
		return time.Time{}
	}
	return time.UnixMicro(us).UTC()
}
