package roster

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"time"
)

// Invitation is one invitation link sent to a user. Its token is never
// stored: it is derived from the server secret and the invitation id, so the
// outbox can send the same link again after a crash; only its hash is stored.
type Invitation struct {
	ID         string
	AccountID  string
	UserID     string
	TokenHash  []byte
	CreatedAt  time.Time
	SentAt     time.Time // zero until the email went out; the link lives from then
	UsedAt     time.Time
	Superseded bool // a newer invitation was sent; this link is dead
}

// InvitationToken derives the secret token of an invitation.
func InvitationToken(secret []byte, invitationID string) string {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte("roster invitation v1\x00" + invitationID))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// Outbox message kinds.
const (
	MailInvitation = "invitation"
)

// OutboxMessage is an email to send, written in the same transaction as the
// change that needs it. Ref points at what the message is about (for an
// invitation, the invitation id); the message is rendered when sent.
type OutboxMessage struct {
	ID        string
	AccountID string
	Kind      string
	Ref       string
	To        string
	CreatedAt time.Time

	// The mail worker's bookkeeping.
	State         string    // OutboxPending, OutboxSent or OutboxFailed
	Attempts      int       // claims so far, counting the current one
	NextAttemptAt time.Time // when a pending message is due
	SentAt        time.Time
	LastError     string
}

// Outbox message states.
const (
	OutboxPending = "pending"
	OutboxSent    = "sent"
	OutboxFailed  = "failed"
)
