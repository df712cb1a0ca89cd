package roster

import (
	"context"
	"time"
)

// Store is what the service needs from a database. A store is dumb and exact:
// it scopes every query by account, translates driver errors into *Error
// (CodeNotFound, CodeConflict) and knows no business rule. Reads outside a
// transaction see committed data; Update runs fn in one write transaction and
// commits it when fn returns nil.
//
// internal/sqlite and internal/postgres implement it; internal/storetest holds
// both to the same contract.
type Store interface {
	Ping(ctx context.Context) error
	Close() error

	// HasAccounts reports whether any account exists.
	HasAccounts(ctx context.Context) (bool, error)
	// Account returns an account; CodeNotFound when missing.
	Account(ctx context.Context, id string) (*Account, error)
	// User returns a user of an account; CodeNotFound when missing or in
	// another account.
	User(ctx context.Context, accountID, userID string) (*User, error)
	// UserDetails returns a user with the number of their API keys that
	// are enabled and unexpired at now; CodeNotFound like User.
	UserDetails(ctx context.Context, accountID, userID string, now time.Time) (*UserDetails, error)
	// UserByEmail finds a user of an account by folded email.
	UserByEmail(ctx context.Context, accountID, emailKey string) (*User, error)
	// ListUsers returns one page of users and the total of every match:
	// the first, the one after q.After or the one before q.Before, its
	// items always in the list's order.
	// Items carry the fields of a list row only: ID, AccountID, FirstName,
	// LastName, Email, Roles, Status, AccessUntil, InvitedAt, JoinedAt,
	// LastLoginAt, ExpertAccess and the keys NameKey and EmailKey; User has
	// the rest.
	ListUsers(ctx context.Context, accountID string, q ListQuery) (*UserPage, error)
	// CountActiveAPIKeys counts a user's keys that are enabled and unexpired at now.
	CountActiveAPIKeys(ctx context.Context, accountID, userID string, now time.Time) (int64, error)
	// APIKeyByHash finds a key by the hash of its secret; CodeNotFound when missing.
	APIKeyByHash(ctx context.Context, hash []byte) (*APIKey, error)
	// APIKeyOwner finds a key by the hash of its secret together with the
	// user who created it; CodeNotFound when missing. Only the fields
	// authentication and the gateway check need are filled: the key's ID,
	// AccountID, UserID, ExpiresAt, Disabled, AllowedIPs and Scope; the
	// user's ID, AccountID, FirstName, LastName, Email, Roles,
	// ExpertAccess, Status and AccessUntil.
	APIKeyOwner(ctx context.Context, hash []byte) (*APIKey, *User, error)
	// APIKeys returns the keys of an account, newest first, each with its
	// Owner and without its Hash; only those created by userID unless
	// userID is "".
	APIKeys(ctx context.Context, accountID, userID string) ([]*APIKey, error)
	// APIKey returns one key of an account with its Owner and without its
	// Hash; CodeNotFound when missing or in another account.
	APIKey(ctx context.Context, accountID, keyID string) (*APIKey, error)
	// TouchAPIKeys records when keys were last used: each key's
	// LastUsedAt becomes the time given unless it is already later. Keys
	// that no longer exist are skipped. One transaction.
	TouchAPIKeys(ctx context.Context, uses map[string]time.Time) error
	// AuditEvents returns the page of an account's audit log that q
	// selects (at most q.Limit events, up to AuditExportBatch), newest
	// first by (At, Seq) whichever way it pages; its events carry Seq and
	// Hash but not PrevHash (AuditChain has it).
	AuditEvents(ctx context.Context, accountID string, q AuditQuery) (*AuditPage, error)
	// CountAuditEvents counts the events q's filters select (its cursors
	// and limit are ignored).
	CountAuditEvents(ctx context.Context, accountID string, q AuditQuery) (int64, error)
	// AccountIDs returns up to limit account ids greater than after, in
	// order: every account, page by page.
	AccountIDs(ctx context.Context, after string, limit int) ([]string, error)
	// ExpertAccessEnd returns a recorded end of an Expert's access;
	// CodeNotFound when missing or in another account.
	ExpertAccessEnd(ctx context.Context, accountID, id string) (*ExpertAccessEnd, error)
	// AuditHead returns the seq and hash of the newest event of an
	// account's audit chain as recorded when it was appended; 0 and nil
	// when the account has no event.
	AuditHead(ctx context.Context, accountID string) (seq int64, hash []byte, err error)
	// AuditChain returns up to limit events of an account's audit log with
	// seq after afterSeq, in seq order, their Details decoded with
	// json.Number so that AuditHash sees the numbers as stored.
	AuditChain(ctx context.Context, accountID string, afterSeq int64, limit int) ([]*AuditEvent, error)

	// ClaimOutbox leases to owner, until leaseUntil, up to limit pending
	// messages that are due at now and not leased by a live worker, counts
	// the attempt and returns them oldest first. Several workers on one
	// database never claim the same message at once.
	ClaimOutbox(ctx context.Context, owner string, now, leaseUntil time.Time, limit int) ([]*OutboxMessage, error)

	// RecentOutbox returns the newest outbox messages, newest first, for the
	// local mail outbox page.
	RecentOutbox(ctx context.Context, limit int) ([]*OutboxMessage, error)
	// InvitationMail returns what an invitation email is rendered from;
	// CodeNotFound when the invitation or its user is gone.
	InvitationMail(ctx context.Context, accountID, invitationID string) (*InvitationMail, error)
	// ResetMail returns what a password reset email is rendered from;
	// CodeNotFound when gone.
	ResetMail(ctx context.Context, resetID string) (*ResetMail, error)

	// Identity returns an identity by id; CodeNotFound when missing.
	Identity(ctx context.Context, id string) (*Identity, error)
	// IdentityByEmail finds an identity by CanonicalEmail; CodeNotFound when missing.
	IdentityByEmail(ctx context.Context, emailKey string) (*Identity, error)
	// SignInIdentity finds an identity by CanonicalEmail together with
	// whether it may act somewhere at now (as CanSignIn), in one query; a
	// nil identity, without error, when there is none.
	SignInIdentity(ctx context.Context, emailKey string, now time.Time) (*Identity, bool, error)
	// StartSession writes a new session, records the sign-in (the session's
	// CreatedAt, IP and Device) on the identity's active users like
	// RecordLogin, and forgets the throttle key's attempts: all or nothing,
	// outside any transaction of the caller.
	StartSession(ctx context.Context, s *Session, throttleKey []byte) error
	// Memberships returns every user row of an identity with its account's
	// name, ordered by account name.
	Memberships(ctx context.Context, identityID string) ([]*Membership, error)
	// UserByIdentity returns the identity's user in an account; CodeNotFound
	// when it is not a member.
	UserByIdentity(ctx context.Context, accountID, identityID string) (*User, error)
	// CanSignIn reports whether the identity has a membership that may act
	// at now: active, and before its access deadline if it has one.
	CanSignIn(ctx context.Context, identityID string, now time.Time) (bool, error)
	// InvitationByHash finds an invitation by the hash of its token;
	// CodeNotFound when missing.
	InvitationByHash(ctx context.Context, hash []byte) (*Invitation, error)
	// PasswordResetByHash finds a reset link by the hash of its token;
	// CodeNotFound when missing.
	PasswordResetByHash(ctx context.Context, hash []byte) (*PasswordReset, error)
	// SessionByHash finds a session by the hash of its token together with
	// its identity and whether that identity may act somewhere at now (as
	// CanSignIn), in one query; CodeNotFound when missing.
	SessionByHash(ctx context.Context, hash []byte, now time.Time) (*Session, *Identity, bool, error)
	// Sessions returns an identity's sessions, newest first.
	Sessions(ctx context.Context, identityID string) ([]*Session, error)
	// LoginFailures returns how many sign-in attempts (reserved before the
	// password is checked, cleared by a success) are recorded under a
	// throttle key and when the last one was; 0 and the zero time when none.
	LoginFailures(ctx context.Context, key []byte) (int, time.Time, error)
	// ReserveLoginAttempt sets a throttle key's attempt count to next and
	// its last time to at, if the count is still seen (0: no row yet), in
	// one statement of its own; false when a concurrent attempt changed it
	// first. Of attempts that saw the same count exactly one wins.
	ReserveLoginAttempt(ctx context.Context, key []byte, seen, next int, at time.Time) (bool, error)
	// SetupDone reports whether the first account was created through a
	// setup link or otherwise.
	SetupDone(ctx context.Context) (bool, error)
	// SetupTokenByHash returns a setup token's expiry and use time;
	// CodeNotFound when missing.
	SetupTokenByHash(ctx context.Context, hash []byte) (expires, used time.Time, err error)

	// AuthChangesSince returns up to limit entries of the access change
	// log with seq after afterSeq, in seq order. Database triggers append
	// an entry, at commit, for every committed update (but of the last
	// sign-in or last use) and delete of a user, API key or account, and
	// seq order is commit order: whoever has read up to seq n has seen
	// every change committed before n. Entries older than ten minutes are
	// pruned by Tx.Prune. internal/authcache follows the log.
	AuthChangesSince(ctx context.Context, afterSeq int64, limit int) ([]AuthChange, error)
	// AuthChangeHead returns the highest seq of the access change log (0
	// when empty): every change committed later has a higher seq.
	AuthChangeHead(ctx context.Context) (int64, error)
	// DueDeadlines returns, soonest deadline first, up to limit active
	// users whose access deadline is at or before now+remindFirst and
	// whose end is not marked reported (ClaimAccessEnd), and for whom the
	// deadline job has work: the deadline has come (at or before now), or
	// no reminder was claimed for this deadline yet, or only the first
	// while the deadline is at or before now+remindLast.
	DueDeadlines(ctx context.Context, now time.Time, remindFirst, remindLast time.Duration, limit int) ([]*DueDeadline, error)

	// Update runs fn in a write transaction.
	Update(ctx context.Context, fn func(Tx) error) error
}

// AuthChange is an entry of the access change log: a user (UserID, KeyID
// empty), an API key (UserID its creator) or an account (both empty) was
// changed or deleted at At (the database's clock).
type AuthChange struct {
	Seq       int64
	AccountID string
	UserID    string
	KeyID     string
	At        time.Time
}

// Tx is a write transaction of a Store.
type Tx interface {
	// LockAccount returns an account and holds a lock on it until the
	// transaction ends, serialising changes that guard an account-wide
	// invariant (the last active Admin). CodeNotFound when missing.
	LockAccount(ctx context.Context, id string) (*Account, error)
	InsertAccount(ctx context.Context, a *Account) error
	UpdateAccount(ctx context.Context, a *Account) error

	// UserForUpdate returns a user and locks its row; CodeNotFound when
	// missing or in another account.
	UserForUpdate(ctx context.Context, accountID, userID string) (*User, error)
	// InsertUser adds a user; CodeConflict when the account already has a
	// user with the same folded email.
	InsertUser(ctx context.Context, u *User) error
	// UpdateUser writes every mutable field of u and its Version.
	UpdateUser(ctx context.Context, u *User) error
	// DeleteUser removes a user, their invitations and every API key they
	// created in the account; it returns how many keys were deleted.
	DeleteUser(ctx context.Context, accountID, userID string) (keys int64, err error)
	// CountUsers counts users of an account in a status holding every role of
	// roles (0: any roles).
	CountUsers(ctx context.Context, accountID string, status Status, roles RoleSet) (int64, error)

	// CountPermanentAdmins counts the account's active Admins who have no
	// access deadline.
	CountPermanentAdmins(ctx context.Context, accountID string) (int64, error)
	// AccountAdmins returns the account's Admins who may act at now
	// (active, before their deadline if they have one), by email.
	AccountAdmins(ctx context.Context, accountID string, now time.Time) ([]*User, error)

	// ClaimExpertReminder records that reminder stage (1, 2, ...) of a
	// user's deadline until is sent, if the user is active, the deadline
	// is still until and no stage as high was recorded for it; false when
	// not (another instance claimed it first, or the user changed). The
	// record is per deadline: a new deadline starts from no reminder.
	ClaimExpertReminder(ctx context.Context, accountID, userID string, until time.Time, stage int) (bool, error)
	// ClaimAccessEnd records that the end of a user's access at deadline
	// until is reported, if the deadline is still until and its end was
	// not recorded yet; false when not. Of concurrent claims exactly one
	// wins.
	ClaimAccessEnd(ctx context.Context, accountID, userID string, until time.Time) (bool, error)

	InsertInvitation(ctx context.Context, inv *Invitation) error
	// SupersedeInvitations kills every unused invitation of a user.
	SupersedeInvitations(ctx context.Context, accountID, userID string) error
	// CountInvitationsSince counts a user's invitations created at or after since.
	CountInvitationsSince(ctx context.Context, accountID, userID string, since time.Time) (int64, error)
	// OldestInvitationSince returns when the user's oldest invitation created
	// at or after since was created; the zero time when there is none.
	OldestInvitationSince(ctx context.Context, accountID, userID string, since time.Time) (time.Time, error)
	InsertOutbox(ctx context.Context, m *OutboxMessage) error
	// FinishOutbox records the outcome of an attempt (State, NextAttemptAt,
	// SentAt, LastError of m) and releases the lease; CodeConflict when
	// owner no longer holds it (it expired and another worker claimed the
	// message).
	FinishOutbox(ctx context.Context, m *OutboxMessage, owner string) error
	// MarkInvitationSent sets an invitation's send time, from which its link
	// is valid, unless an earlier send already set it.
	MarkInvitationSent(ctx context.Context, accountID, invitationID string, at time.Time) error
	// InsertAudit appends e to its account's audit chain, setting e.Seq,
	// e.PrevHash and e.Hash. It locks the account's chain head until the
	// transaction ends, so concurrent appends chain one after another; call
	// it after the transaction's other locks, to hold it briefly.
	InsertAudit(ctx context.Context, e *AuditEvent) error
	// InsertAPIKey adds a key; CodeConflict when its id or hash exists.
	InsertAPIKey(ctx context.Context, k *APIKey) error
	// InsertExpertAccessEnd records the end of an Expert's access.
	InsertExpertAccessEnd(ctx context.Context, e *ExpertAccessEnd) error
	// ActiveAdmins returns the account's users who are active Admins at
	// now (status active, before any access deadline), oldest invited first.
	ActiveAdmins(ctx context.Context, accountID string, now time.Time) ([]*User, error)
	// APIKeyForUpdate returns a key of an account with its Owner (as
	// APIKey) and locks its row; CodeNotFound when missing.
	APIKeyForUpdate(ctx context.Context, accountID, keyID string) (*APIKey, error)
	// UpdateAPIKey writes a key's Name and Disabled; CodeNotFound when missing.
	UpdateAPIKey(ctx context.Context, k *APIKey) error
	// DeleteAPIKey removes a key; CodeNotFound when missing.
	DeleteAPIKey(ctx context.Context, accountID, keyID string) error
	// CountAPIKeys counts every key a user created in an account, in any state.
	CountAPIKeys(ctx context.Context, accountID, userID string) (int64, error)

	// InsertIdentity adds an identity; CodeConflict when its EmailKey exists.
	InsertIdentity(ctx context.Context, id *Identity) error
	// SetPassword replaces an identity's password hash.
	SetPassword(ctx context.Context, identityID, hash string, at time.Time) error
	// UseInvitation marks an invitation used at at; CodeConflict when it is
	// already used or superseded (exactly one of many concurrent uses wins).
	UseInvitation(ctx context.Context, invitationID string, at time.Time) error
	// RecordLogin sets the last login time, IP and device of every active
	// user of the identity, without changing their Version.
	RecordLogin(ctx context.Context, identityID string, at time.Time, ip, device string) error
	InsertSession(ctx context.Context, s *Session) error
	// TouchSession sets a session's LastSeenAt.
	TouchSession(ctx context.Context, sessionID string, at time.Time) error
	// DeleteSession ends one session of an identity; CodeNotFound when the
	// identity has no such session.
	DeleteSession(ctx context.Context, identityID, sessionID string) error
	// DeleteSessions ends every session of an identity but except ("" for none).
	DeleteSessions(ctx context.Context, identityID, except string) error
	InsertPasswordReset(ctx context.Context, r *PasswordReset) error
	// SupersedePasswordResets kills every unused reset link of an identity.
	SupersedePasswordResets(ctx context.Context, identityID string) error
	// CountPasswordResetsSince counts an identity's reset links created at or after since.
	CountPasswordResetsSince(ctx context.Context, identityID string, since time.Time) (int64, error)
	// UsePasswordReset marks a reset link used; CodeConflict when already
	// used or superseded.
	UsePasswordReset(ctx context.Context, resetID string, at time.Time) error
	// MarkPasswordResetSent sets a reset link's send time once.
	MarkPasswordResetSent(ctx context.Context, resetID string, at time.Time) error
	// ClearLoginFailures forgets a throttle key's failures.
	ClearLoginFailures(ctx context.Context, key []byte) error
	// InsertSetupToken stores the hash of a first-run setup link.
	InsertSetupToken(ctx context.Context, hash []byte, created, expires time.Time) error
	// ClaimSetup marks the platform set up and the token used, at now:
	// CodeConflict when setup is already done (by any token or the CLI),
	// CodeNotFound when the token is unknown, used or expired. Of concurrent
	// claims exactly one succeeds.
	ClaimSetup(ctx context.Context, hash []byte, now time.Time) error
	// MarkSetupDone records that the first account exists (the CLI created it).
	MarkSetupDone(ctx context.Context, at time.Time) error
	// Prune deletes sessions past their absolute or idle limit (idle: last
	// seen before idleBefore), login failures last seen before
	// failuresBefore, expired setup tokens and access change log entries
	// older than ten minutes at now. It returns how many rows went.
	Prune(ctx context.Context, now, idleBefore, failuresBefore time.Time) (int64, error)
}

// BulkLoader is implemented by stores that can load many users in one
// transaction, for `roster dev seed`. It skips invitations, outbox and audit.
type BulkLoader interface {
	BulkInsertUsers(ctx context.Context, users []*User) error
}
