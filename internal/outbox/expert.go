package outbox

import (
	"context"
	"fmt"
	"math"
	"net/mail"
	"strings"
	"time"

	"roster"
)

// expertMail is what an Expert reminder (roster.MailExpertReminder) is
// rendered from, read at send time: the Expert (the message's Ref), the
// account, and the recipient as a user of the account.
type expertMail struct {
	expert  *roster.User
	account *roster.Account
	admin   *roster.User // nil: the recipient is no longer a user of the account
	now     time.Time
}

// loadExpert reads what reminder m is about; CodeNotFound when the Expert
// or the account is gone.
func (w *Worker) loadExpert(ctx context.Context, m *roster.OutboxMessage) (*expertMail, error) {
	u, err := w.store.User(ctx, m.AccountID, m.Ref)
	if err != nil {
		return nil, err
	}
	acct, err := w.store.Account(ctx, m.AccountID)
	if err != nil {
		return nil, err
	}
	em := &expertMail{expert: u, account: acct, now: w.clock.Now()}
	admin, err := w.store.UserByEmail(ctx, m.AccountID, roster.Fold(m.To))
	switch {
	case err == nil:
		em.admin = admin
	case roster.ErrorCode(err) != roster.CodeNotFound:
		return nil, err
	}
	return em, nil
}

// deadReason says why the reminder is not worth sending any more, or "":
// the Expert's access ended, was revoked or moved far off, or the
// recipient is no longer an Admin who may act.
func (e *expertMail) deadReason() string {
	u := e.expert
	switch {
	case e.admin == nil || !e.admin.Roles.Has(roster.RoleAdmin) || !e.admin.CanSignIn(e.now):
		return "Not sent: the recipient is no longer an active Admin of the account."
	case !u.Roles.Has(roster.RoleExpert):
		return "Not sent: " + u.FullName() + " no longer holds the Expert role."
	case u.Status != roster.StatusActive:
		return "Not sent: " + u.FullName() + "'s access was revoked."
	case u.AccessUntil.IsZero() || !e.now.Before(u.AccessUntil):
		return "Not sent: " + u.FullName() + "'s access already ended."
	case u.AccessUntil.Sub(e.now) > roster.ExpertReminderFirst:
		return "Not sent: the access deadline moved to " + formatTime(u.AccessUntil) + "."
	}
	return ""
}

type expertReminderData struct {
	Subject     string
	Product     string
	FirstName   string // the Admin's
	Expert      string
	Email       string
	Account     string
	Until       string // "27 November 2026 at 14:05 UTC"
	Left        string // "7 days", "23 hours"
	Level       string // "Read-only"
	LevelDetail string
	Link        string // the Expert on the Users page
}

// composeExpert fills c with the reminder about e, rendered at at, and
// returns its template name and data.
func (w *Worker) composeExpert(c *composed, m *roster.OutboxMessage, e *expertMail, at time.Time) (string, any) {
	u := e.expert
	name := ""
	if e.admin != nil {
		name = e.admin.FullName()
	}
	c.msg.To = (&mail.Address{Name: name, Address: m.To}).String()
	c.link = w.pageLink("/accounts/" + u.AccountID + "/users/" + u.ID)
	level, _ := roster.AccessLevelByID(u.ExpertAccess)
	d := expertReminderData{Product: w.cfg.ProductName, Expert: u.FullName(), Email: u.Email, Account: e.account.Name,
		Until: formatTime(u.AccessUntil), Left: timeLeft(u.AccessUntil.Sub(at)), Level: strings.ToLower(level.Name),
		LevelDetail: level.Description, Link: c.link}
	if e.admin != nil {
		d.FirstName = e.admin.FirstName
	}
	d.Subject = oneLine(fmt.Sprintf("%s's Expert access to %s ends in %s", d.Expert, d.Account, d.Left))
	c.msg.Subject = d.Subject
	return "expert_reminder", &d
}

// timeLeft writes how long until a deadline, rounded up so that it never
// says less than there is: "7 days", "23 hours", "5 minutes".
func timeLeft(d time.Duration) string {
	up := func(unit time.Duration) int64 { return int64(math.Ceil(float64(d) / float64(unit))) }
	switch {
	case d > 24*time.Hour:
		return count(up(24*time.Hour), "day")
	case d > time.Hour:
		return count(up(time.Hour), "hour")
	}
	return count(max(up(time.Minute), 1), "minute")
}

// pageLink is PublicURL + path, for links to pages that need no token.
func (w *Worker) pageLink(path string) string {
	u := *w.cfg.PublicURL
	u.Path = strings.TrimSuffix(u.Path, "/") + path
	u.RawPath, u.RawQuery, u.Fragment, u.RawFragment = "", "", "", ""
	return u.String()
}
