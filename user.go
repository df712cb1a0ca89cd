package roster

import (
	"net/mail"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Status is a user's state in an account.
type Status string

// The user statuses; the UI shows them as "Invitation Sent", "Active", "Inactive".
const (
	StatusInvited  Status = "invited"
	StatusActive   Status = "active"
	StatusInactive Status = "inactive"
)

// Statuses lists every status, for validation and counts.
var Statuses = []Status{StatusActive, StatusInactive, StatusInvited}

// RevokeReason says why access was revoked.
type RevokeReason string

// The revoke reasons of the Revoke Access dialog.
const (
	ReasonIssueResolved   RevokeReason = "issue_resolved"
	ReasonSecurityPrivacy RevokeReason = "security_privacy"
	ReasonOther           RevokeReason = "other"
)

// User is an identity's membership in one account.
type User struct {
	ID              string
	AccountID       string
	FirstName       string
	LastName        string
	Email           string
	Roles           RoleSet
	Status          Status
	AccessUntil     time.Time   // zero: no deadline
	ExpertAccess    AccessLevel // the Expert's access level; "" without the Expert role
	InvitedBy       string      // user id of the inviter; "" when the operator invited
	InvitedByName   string
	InvitedAt       time.Time
	JoinedAt        time.Time // zero until registration
	LastLoginAt     time.Time
	LastLoginIP     string
	LastLoginDevice string
	RevokedAt       time.Time
	RevokeReason    RevokeReason
	RevokeNote      string
	IdentityID      string // the identity that registered; "" while invited
	Version         int64  // increases with every change; the ETag
	UpdatedAt       time.Time

	// Sort keys and search text, derived by Keys; stores persist them.
	NameKey   string
	EmailKey  string
	SearchKey string
}

// Keys fills the derived sort and search keys from the names and email.
func (u *User) Keys() {
	u.NameKey = Fold(u.FirstName + " " + u.LastName)
	u.EmailKey = Fold(u.Email)
	// A newline cannot occur in names or emails, so a search never matches
	// across the name/email boundary.
	u.SearchKey = u.NameKey + "\n" + u.EmailKey
}

// FullName is "First Last".
func (u *User) FullName() string { return u.FirstName + " " + u.LastName }

// Fold maps s to the form used for case-insensitive comparison and search.
func Fold(s string) string {
	return strings.ToLower(s)
}

// InviteInput is what an admin enters on the Add New User page.
type InviteInput struct {
	FirstName   string
	LastName    string
	Email       string
	Roles       []RoleID
	AccessUntil *time.Time
	// ExpertAccess is required with the Expert role and refused without it.
	ExpertAccess AccessLevel
}

// UpdateInput is the Edit User dialog: nil fields stay as they are. A zero
// AccessUntil removes the deadline.
type UpdateInput struct {
	Roles       *[]RoleID
	AccessUntil *time.Time
	// ExpertAccess sets the Expert's access level; "" clears it, which
	// only a user without the Expert role may have. Nil keeps the level,
	// and removing the Expert role clears it.
	ExpertAccess *AccessLevel
}

// RevokeInput is the Revoke Access dialog.
type RevokeInput struct {
	Reason RevokeReason
	Note   string
}

// Limits of user fields.
const (
	MinNameLen   = 3
	MaxNameLen   = 64
	MaxEmailLen  = 254
	MaxNoteLen   = 500
	MaxRoleCount = 16
)

// CleanName trims s and checks a first or last name, recording problems under field.
func CleanName(p *Problems, field, label, s string) string {
	s = strings.TrimSpace(s)
	switch n := utf8.RuneCountInString(s); {
	case !utf8.ValidString(s):
		p.Add(field, "%s is not valid UTF-8 text.", label)
	case hasControl(s):
		p.Add(field, "%s must not contain control characters such as tabs or line breaks.", label)
	case n == 0:
		p.Add(field, "%s is required.", label)
	case n < MinNameLen:
		p.Add(field, "%s must be at least %d characters long.", label, MinNameLen)
	case n > MaxNameLen:
		p.Add(field, "%s must be at most %d characters long.", label, MaxNameLen)
	}
	return s
}

func hasControl(s string) bool {
	for _, r := range s {
		if unicode.IsControl(r) || r == '\u2028' || r == '\u2029' || unicode.Is(unicode.Cf, r) && r != '\u200d' {
			return true
		}
	}
	return false
}

// CleanEmail trims s and checks that it is a single RFC 5322 addr-spec with a
// domain that has a dot, recording problems under field. It returns the
// address with its domain in lower case.
func CleanEmail(p *Problems, field, s string) string {
	s = strings.TrimSpace(s)
	switch {
	case s == "":
		p.Add(field, "Email is required.")
		return s
	case len(s) > MaxEmailLen:
		p.Add(field, "Email must be at most %d characters long.", MaxEmailLen)
		return s
	case hasControl(s) || strings.ContainsAny(s, " <>\"(),;:[]\\"):
		p.Add(field, "Enter an email address like name@example.com, without spaces, quotes or a display name.")
		return s
	}
	addr, err := mail.ParseAddress(s)
	if err != nil || addr.Address != s || addr.Name != "" {
		p.Add(field, "Enter an email address like name@example.com.")
		return s
	}
	at := strings.LastIndexByte(s, '@')
	local, domain := s[:at], strings.ToLower(s[at+1:])
	if len(local) > 64 {
		p.Add(field, "The part before @ must be at most 64 characters long.")
		return s
	}
	if !validDomain(domain) {
		p.Add(field, "The domain %q is not a valid internet domain name.", domain)
		return s
	}
	return local + "@" + domain
}

// EmailDomain returns the lower-case domain of a cleaned address.
func EmailDomain(email string) string {
	return strings.ToLower(email[strings.LastIndexByte(email, '@')+1:])
}

func validDomain(d string) bool {
	if len(d) > 253 || !strings.Contains(d, ".") {
		return false
	}
	for _, label := range strings.Split(d, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, r := range label {
			if !(r == '-' || unicode.IsLetter(r) || unicode.IsDigit(r)) {
				return false
			}
		}
	}
	return true
}

// CleanDomain checks an allowed or staff domain such as "example.com".
func CleanDomain(s string) (string, bool) {
	d := strings.ToLower(strings.TrimPrefix(strings.TrimSpace(s), "@"))
	return d, validDomain(d)
}
