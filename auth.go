package roster

import (
	"context"
	"time"
)

// Passwords hashes and verifies passwords (internal/password). Hashing is
// slow and memory-hungry by design, so it goes through a bounded queue:
// Admit takes a place in it, or refuses at once with an error for which
// Busy reports true, and the service answers CodeRateLimited before doing
// any other work.
type Passwords interface {
	Admit() (PasswordWork, error)
	// Check applies the password policy: nil, or an error whose message
	// says which rule failed. personal holds the email, names and account
	// name the password must not equal.
	Check(pw string, personal ...string) error
	// Busy reports whether err means the hashing queue was full.
	Busy(err error) bool
}

// PasswordWork is one admitted place in the hashing queue, for one Hash or
// Verify; Done gives it back when it was not used (calling it after use
// does nothing).
type PasswordWork interface {
	Hash(ctx context.Context, pw string) (string, error)
	Verify(ctx context.Context, pw, encoded string) (bool, error)
	Done()
}

// Client is who is calling, as the web layer sees it.
type Client struct {
	IP        string
	UserAgent string
}

// SignedIn is a new session: Token goes into the cookie and is never stored.
type SignedIn struct {
	Token    string
	Session  *Session
	Identity *Identity
}

// LinkState is what became of a secret link (setup, invitation or
// password reset).
type LinkState string

// The states of a link. Each has its own page.
const (
	LinkValid      LinkState = "valid"
	LinkUnknown    LinkState = "unknown"    // no such link (mistyped, or its user was deleted)
	LinkExpired    LinkState = "expired"    // older than its lifetime
	LinkUsed       LinkState = "used"       // already used once
	LinkSuperseded LinkState = "superseded" // a newer link was sent
	LinkSetupDone  LinkState = "setup_done" // setup only: the platform already has an account
)

// InvitationView is what the registration page shows for an invitation link.
type InvitationView struct {
	State         LinkState
	AccountName   string
	InvitedByName string
	Email         string
	FirstName     string
	LastName      string
	Roles         RoleSet
	ExpiresAt     time.Time // zero when State is not LinkValid
	HasIdentity   bool      // the email can already sign in: accept by signing in
}

// SetupInput is the first-run form: the first account and its Admin.
type SetupInput struct {
	AccountName string
	FirstName   string
	LastName    string
	Email       string
	Password    string
	Confirm     string
}

// RegisterInput is the registration form of an invitation.
type RegisterInput struct {
	FirstName string
	LastName  string
	Password  string
	Confirm   string
}

// ResetView is what the reset password page shows for a reset link.
type ResetView struct {
	State     LinkState
	Email     string
	ExpiresAt time.Time
}
