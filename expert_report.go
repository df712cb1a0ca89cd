package roster

import (
	"context"
	"time"
)

// MailExpertReport is the outbox kind of the report an account's Admins
// get when an Expert's access ends: every action that Expert performed in
// the account. Its Ref is the ExpertAccessEnd's id.
const MailExpertReport = "expert_report"

// Why an Expert's access ended.
const (
	ExpertEndExpired = "expired"
	ExpertEndRevoked = "revoked"
	ExpertEndDeleted = "deleted"
)

// ExpertAccessEnd records the end of one Expert's access to an account,
// with their name and email of the time, so the report outlives the user.
type ExpertAccessEnd struct {
	ID        string
	AccountID string
	UserID    string
	Name      string
	Email     string
	Reason    string // ExpertEndExpired, ExpertEndRevoked or ExpertEndDeleted
	EndedAt   time.Time
}

// ExpertReportQuery selects the events an end-of-access report lists:
// everything the Expert did in the account up to the end.
func ExpertReportQuery(end *ExpertAccessEnd) AuditQuery {
	return AuditQuery{ActorID: end.UserID, Until: end.EndedAt.Add(time.Microsecond)}
}

// queueExpertReport records, in tx, that the Expert u's access ended for
// reason (ExpertEndExpired, ExpertEndRevoked or ExpertEndDeleted) at now,
// and queues the report email to every active Admin of the account but u
// (one outbox message each, Ref the end's id, To the Admin's email; the
// worker sends it only while that address is still an active Admin's).
// The caller ends the access in the same transaction and calls
// s.mailQueued() after it commits.
func (s *Service) queueExpertReport(ctx context.Context, tx Tx, u *User, reason string, now time.Time) error {
	switch reason {
	case ExpertEndExpired, ExpertEndRevoked, ExpertEndDeleted:
	default:
		return Errorf(CodeInvalid, "Unknown reason %q for the end of an Expert's access.", reason)
	}
	end := &ExpertAccessEnd{ID: NewID(now), AccountID: u.AccountID, UserID: u.ID, Name: u.FullName(),
		Email: u.Email, Reason: reason, EndedAt: now}
	if err := tx.InsertExpertAccessEnd(ctx, end); err != nil {
		return err
	}
	admins, err := tx.ActiveAdmins(ctx, u.AccountID, now)
	if err != nil {
		return err
	}
	for _, a := range admins {
		if a.ID == u.ID {
			continue
		}
		if err := tx.InsertOutbox(ctx, &OutboxMessage{ID: NewID(now), AccountID: u.AccountID, Kind: MailExpertReport,
			Ref: end.ID, To: a.Email, CreatedAt: now}); err != nil {
			return err
		}
	}
	return nil
}
