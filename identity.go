package roster

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"strings"
	"time"

	"golang.org/x/text/unicode/norm"
)

// Identity is one person who can sign in, found by email. One identity may
// be a member (a User) of several accounts; it holds the password.
type Identity struct {
	ID                string
	Email             string
	EmailKey          string // CanonicalEmail(Email); unique
	PasswordHash      string // argon2id PHC string
	CreatedAt         time.Time
	UpdatedAt         time.Time
	PasswordChangedAt time.Time
}

// Membership is one account an identity belongs to, with the user row.
type Membership struct {
	User        *User
	AccountName string
}

// Session is one signed-in browser of an identity. Its token is random and
// only its hash is stored.
type Session struct {
	ID         string
	IdentityID string
	TokenHash  []byte
	CreatedAt  time.Time
	LastSeenAt time.Time
	ExpiresAt  time.Time // the absolute limit: CreatedAt + the session lifetime
	IP         string
	Device     string // "Firefox 132 on Windows"
}

// PasswordReset is one forgot-password link. Like an invitation its token
// is derived from the server secret and its id; only the hash is stored.
type PasswordReset struct {
	ID         string
	IdentityID string
	TokenHash  []byte
	CreatedAt  time.Time
	SentAt     time.Time // zero until the email went out; the link lives from then
	UsedAt     time.Time
	Superseded bool
}

// InvitationMail is what an invitation email is rendered from.
type InvitationMail struct {
	Invitation *Invitation
	User       *User
	Account    *Account
}

// ResetMail is what a password reset email is rendered from.
type ResetMail struct {
	Reset    *PasswordReset
	Identity *Identity
}

// InvitationDelivery is the state of an invited user's newest invitation
// email, so an Admin sees a failed delivery.
type InvitationDelivery struct {
	State     string    // OutboxPending, OutboxSent or OutboxFailed; "" when unknown
	SentAt    time.Time // zero until sent
	Attempts  int
	LastError string // the mail server's last answer, for a failed or retried delivery
}

// Outbox message kinds besides MailInvitation.
const (
	MailPasswordReset = "password_reset"
)

// CanonicalEmail maps what a person types as their email at sign-in to the
// key identities are found and throttled by: compatibility-normalised (NFKC,
// so full-width letters become ASCII), without spaces, lower-cased.
func CanonicalEmail(s string) string {
	s = norm.NFKC.String(s)
	s = strings.Join(strings.Fields(s), "")
	return Fold(s)
}

// NewToken returns a fresh random secret token (256 bits, URL-safe).
func NewToken() string {
	b := make([]byte, 32)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// PasswordResetToken derives the secret token of a password reset link.
func PasswordResetToken(secret []byte, resetID string) string {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte("roster password reset v1\x00" + resetID))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}
