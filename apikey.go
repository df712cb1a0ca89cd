package roster

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"encoding/binary"
	"hash/crc32"
	"strings"
	"time"
)

// APIKey is a secret a user created to call the platform's API on behalf of
// the account. Only its hash is stored.
type APIKey struct {
	ID         string
	AccountID  string
	UserID     string // the creator; the key dies with them
	Name       string
	Hint       string // the last four characters, for recognising a key
	Hash       []byte // SHA-256 of the whole key
	CreatedAt  time.Time
	LastUsedAt time.Time
	ExpiresAt  time.Time // zero: never
	Disabled   bool      // inactive: switched off by its owner or an Admin, reversibly

	// AllowedIPs are the client addresses (192.0.2.7, 2001:db8::1) and
	// ranges (198.51.100.0/24) the key may be used from, in canonical
	// form; empty: any address.
	AllowedIPs []string
	// Scope is the permissions the key is limited to, a subset of its
	// creator's when it was created; nil: every permission of its creator.
	// Either way the key can never do more than its creator can do now.
	Scope []string

	// Owner is the creator as the key list shows them (ID, names, email,
	// status, access deadline, roles); filled by APIKeys and APIKey only.
	Owner *User
}

// The states of a key as its list shows them.
const (
	KeyActive          = "active"
	KeyInactive        = "inactive"         // switched off (reversible)
	KeyExpired         = "expired"          // past its expiry
	KeyCreatorInactive = "creator_inactive" // its creator cannot act now (revoked, past their deadline)
)

// State returns the key's state at now: inactive, expired, creator_inactive
// or active, the first that applies. It needs Owner.
func (k *APIKey) State(now time.Time) string {
	switch {
	case k.Disabled:
		return KeyInactive
	case k.Expired(now):
		return KeyExpired
	case k.Owner != nil && !k.Owner.CanSignIn(now):
		return KeyCreatorInactive
	}
	return KeyActive
}

// Expired reports whether the key has an expiry at or before now.
func (k *APIKey) Expired(now time.Time) bool {
	return !k.ExpiresAt.IsZero() && !now.Before(k.ExpiresAt)
}

// Prefix is what the key list shows of the start of every key.
func (k *APIKey) Prefix() string { return KeyPrefix }

// KeyPrefix starts every Roster API key, so a leaked key is easy to find.
const KeyPrefix = "rst_"

// keyAlphabet is lower-case base32 (RFC 4648), easy to read and select.
const keyAlphabet = "abcdefghijklmnopqrstuvwxyz234567"

var keyEncoding = base32.NewEncoding(keyAlphabet).WithPadding(base32.NoPadding)

// keyBodyLen is the encoded length of 32 random bytes and a 4-byte checksum.
var keyBodyLen = keyEncoding.EncodedLen(36)

// NewAPIKeySecret returns a new key: the prefix, 256 random bits and a CRC-32
// checksum, so that a mistyped key is refused without a database look-up.
func NewAPIKeySecret() string {
	var b [36]byte
	_, _ = rand.Read(b[:32])
	binary.BigEndian.PutUint32(b[32:], crc32.ChecksumIEEE(b[:32]))
	return KeyPrefix + keyEncoding.EncodeToString(b[:])
}

// CheckAPIKeyFormat reports whether key has the prefix, length and checksum
// of a Roster key.
func CheckAPIKeyFormat(key string) bool {
	if len(key) != len(KeyPrefix)+keyBodyLen || !strings.HasPrefix(key, KeyPrefix) {
		return false
	}
	// 36 bytes are 288 bits, so the last of the 58 characters carries 3
	// of them and 2 zero bits; a character with those set would decode to
	// the same bytes as another, and is refused as a typo.
	if last := strings.IndexByte(keyAlphabet, key[len(key)-1]); last < 0 || last&3 != 0 {
		return false
	}
	b, err := keyEncoding.DecodeString(key[len(KeyPrefix):])
	if err != nil || len(b) != 36 {
		return false
	}
	return binary.BigEndian.Uint32(b[32:]) == crc32.ChecksumIEEE(b[:32])
}

// HashSecret returns the stored form of a high-entropy secret (API key,
// invitation or session token). A fast hash suffices: the secret carries 256
// random bits, so there is nothing to guess.
func HashSecret(secret string) []byte {
	h := sha256.Sum256([]byte(secret))
	return h[:]
}

// MaxAPIKeyNameLen bounds API key names.
const MaxAPIKeyNameLen = 100
