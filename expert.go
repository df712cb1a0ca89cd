package roster

import (
	"context"
	"time"
)

// The deadline rules of time-limited access (docs/expert.md):
//
//   - access ends by itself at the deadline: CanSignIn is false from the
//     deadline on, checked on every request, for sessions and API keys;
//   - the deadline of a revoked Expert cannot be changed (restore first),
//     nor a revoked user made an Expert with a new deadline;
//   - once the deadline has passed, the only changes are a new deadline in
//     the future (access resumes) and deletion: other edits, and revoking,
//     are refused until the deadline is extended.

// checkDeadlineRules refuses a change of u to access to with deadline until
// that the deadline rules forbid at now.
func (s *Service) checkDeadlineRules(u *User, to Access, until time.Time, now time.Time) error {
	deadlineChanged := !until.Equal(u.AccessUntil)
	otherChanged := to != u.Access()
	switch {
	case deadlineChanged && u.Status == StatusInactive && (u.Roles.Has(RoleExpert) || to.Roles.Has(RoleExpert)):
		return Errorf(CodeConflict, "The access deadline of %s cannot be changed while their access is revoked: restore their access first, then change the deadline.",
			u.FullName())
	case otherChanged && u.AccessExpired(now):
		return Errorf(CodeConflict, "%s's access expired on %s. Extend the access deadline first (a date in the future gives access back), then change anything else; or delete them.",
			u.FullName(), deadlineWords(u.AccessUntil))
	}
	return nil
}

// deadlineWords writes a deadline for messages: "31 Dec 2026 23:59 UTC".
func deadlineWords(t time.Time) string {
	return t.UTC().Format("2 Jan 2006 15:04 UTC")
}

// endReason says why u's period of access ends when u is revoked or
// deleted (reason) at now, or "" when there is nothing to report: u holds
// no Expert role, never had access (invited), or their access already
// ended and was reported (revoked). An expired Expert whose end the
// deadline job has not reported yet is claimed here and reported as
// expired.
func endReason(ctx context.Context, tx Tx, u *User, reason string, now time.Time) (string, error) {
	switch {
	case !u.Roles.Has(RoleExpert):
		return "", nil
	case u.AccessExpired(now):
		claimed, err := tx.ClaimAccessEnd(ctx, u.AccountID, u.ID, u.AccessUntil)
		if err != nil || !claimed {
			return "", err
		}
		return ExpertEndExpired, nil
	case u.Status == StatusActive:
		return reason, nil
	}
	return "", nil
}

// restartAccessPeriod is called when u's access is restored at now: if the
// deadline has already passed, the period that starts ends at once and has
// nothing to report, so it is marked reported.
func restartAccessPeriod(ctx context.Context, tx Tx, u *User, now time.Time) error {
	if !u.AccessExpired(now) {
		return nil
	}
	_, err := tx.ClaimAccessEnd(ctx, u.AccountID, u.ID, u.AccessUntil)
	return err
}
