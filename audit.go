package roster

import "time"

// Audit actions.
const (
	ActionAccountCreated   = "account.created"
	ActionAccountUpdated   = "account.updated"
	ActionUserInvited      = "user.invited"
	ActionUserJoined       = "user.joined"
	ActionUserUpdated      = "user.updated"
	ActionUserRevoked      = "user.access_revoked"
	ActionUserRestored     = "user.access_restored"
	ActionInvitationResent = "user.invitation_resent"
	ActionUserDeleted      = "user.deleted"
	ActionAPIKeyCreated    = "api_key.created"
)

// AuditEvent records one change in an account: who, what, to whom, why, when
// and from where. Names and emails are copied, so the event outlives the user.
type AuditEvent struct {
	ID          string
	AccountID   string
	At          time.Time
	ActorID     string // "" for the operator
	ActorName   string
	ActorEmail  string
	Action      string
	TargetID    string
	TargetName  string
	TargetEmail string
	Details     map[string]any
	IP          string
}

// AuditQuery selects a page of an account's audit log, newest first.
type AuditQuery struct {
	Limit    int
	BeforeID string // "" for the first page
}

// AuditPage is one page of the audit log.
type AuditPage struct {
	Items      []*AuditEvent
	NextCursor string
}
