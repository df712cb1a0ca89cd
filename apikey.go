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
	Disabled   bool
}

// KeyPrefix starts every Roster API key, so a leaked key is easy to find.
const KeyPrefix = "rst_"

var keyEncoding = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

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
