package roster

import (
	"context"
	"fmt"
	"time"
)

// MailExpertReminder is the outbox kind of the email that tells an Admin an
// Expert's access ends soon. Ref is the Expert's user id; the email is
// rendered at send time from the user row.
const MailExpertReminder = "expert_reminder"

// Expert reminders: account Admins get an email this long before an
// Expert's access ends, the first lead as stage 1, the second as stage 2.
const (
	ExpertReminderFirst = 7 * 24 * time.Hour
	ExpertReminderLast  = 24 * time.Hour
)

// DueDeadline is a user the deadline job has work for, with the reminder
// stage already claimed for the deadline ReminderUntil.
type DueDeadline struct {
	User          *User
	ReminderStage int
	ReminderUntil time.Time
}

// deadlineBatch is how many due users the deadline job reads at once.
const deadlineBatch = 100

// RunDeadlines does the work access deadlines call for at the service
// clock's now: it queues the reminder emails to the account's Admins 7
// days and 1 day before an Expert's access ends, and the report of the
// Expert's actions once it has ended (queueExpertReport). Access itself
// ends at the deadline without it: every request checks the deadline. Each
// step is claimed by a conditional UPDATE in the transaction that queues
// its mail, so several instances may run it at once and each reminder and
// report is queued exactly once. serve runs it every minute and at start.
func (s *Service) RunDeadlines(ctx context.Context) (reminders, ended int, err error) {
	for {
		now := s.clock.Now()
		due, err := s.store.DueDeadlines(ctx, now, ExpertReminderFirst, ExpertReminderLast, deadlineBatch)
		if err != nil {
			return reminders, ended, fmt.Errorf("due deadlines: %w", err)
		}
		progress := false
		for _, d := range due {
			r, e, claimed, err := s.deadlineWork(ctx, d, now)
			if err != nil {
				return reminders, ended, err
			}
			reminders += r
			ended += e
			progress = progress || claimed
		}
		if reminders+ended > 0 {
			s.mailQueued()
		}
		if len(due) < deadlineBatch || !progress {
			return reminders, ended, nil
		}
	}
}

// deadlineWork handles one due user at now in one transaction: marks the
// end of their access reported (and reports an Expert's), or claims the
// reminder stage due and queues its email to every Admin. It returns the
// emails queued, whether an end was recorded (0 or 1), and whether it
// claimed anything (another instance may have been first).
func (s *Service) deadlineWork(ctx context.Context, d *DueDeadline, now time.Time) (reminders, ended int, claimed bool, err error) {
	u := d.User
	err = s.store.Update(ctx, func(tx Tx) error {
		reminders, ended, claimed = 0, 0, false
		var err error
		if !now.Before(u.AccessUntil) {
			claimed, err = tx.ClaimAccessEnd(ctx, u.AccountID, u.ID, u.AccessUntil)
			if err != nil || !claimed {
				return err
			}
			ended = 1
			if u.Roles.Has(RoleExpert) {
				return s.queueExpertReport(ctx, tx, u, ExpertEndExpired, now)
			}
			return nil
		}
		stage := 1
		if u.AccessUntil.Sub(now) <= ExpertReminderLast {
			stage = 2
		}
		claimed, err = tx.ClaimExpertReminder(ctx, u.AccountID, u.ID, u.AccessUntil, stage)
		if err != nil || !claimed || !u.Roles.Has(RoleExpert) {
			return err
		}
		admins, err := tx.AccountAdmins(ctx, u.AccountID, now)
		if err != nil {
			return err
		}
		for _, a := range admins {
			if a.ID == u.ID {
				continue
			}
			m := &OutboxMessage{ID: NewID(now), AccountID: u.AccountID, Kind: MailExpertReminder, Ref: u.ID, To: a.Email, CreatedAt: now}
			if err := tx.InsertOutbox(ctx, m); err != nil {
				return err
			}
			reminders++
		}
		return nil
	})
	if err != nil {
		return 0, 0, false, fmt.Errorf("deadline of user %s: %w", u.ID, err)
	}
	return reminders, ended, claimed, nil
}
