package outbox

import (
	"bytes"
	"context"
	"embed"
	"fmt"
	htmltemplate "html/template"
	"net/mail"
	"net/url"
	"strings"
	texttemplate "text/template"
	"time"

	"roster"
	"roster/internal/email"
)

//go:embed templates
var templateFS embed.FS

// The mail templates, parsed at start-up: a missing or broken one fails at
// once rather than at the first send.
var (
	textTemplates = texttemplate.Must(texttemplate.ParseFS(templateFS, "templates/*.txt"))
	htmlTemplates = htmltemplate.Must(htmltemplate.ParseFS(templateFS, "templates/*.html"))
)

// subject is what an outbox message is about, as it is now.
type subject struct {
	inv    *roster.InvitationMail
	reset  *roster.ResetMail
	report *reportSubject
	expert *expertMail // expert.go
}

// load reads what m is about; CodeNotFound when it is gone (the user was
// deleted) or m's kind is unknown.
func (w *Worker) load(ctx context.Context, m *roster.OutboxMessage) (*subject, error) {
	switch m.Kind {
	case roster.MailInvitation:
		im, err := w.store.InvitationMail(ctx, m.AccountID, m.Ref)
		if err != nil {
			return nil, err
		}
		return &subject{inv: im}, nil
	case roster.MailPasswordReset:
		rm, err := w.store.ResetMail(ctx, m.Ref)
		if err != nil {
			return nil, err
		}
		return &subject{reset: rm}, nil
	case roster.MailExpertReport:
		r, err := w.loadReport(ctx, m)
		if err != nil {
			return nil, err
		}
		return &subject{report: r}, nil
	case roster.MailExpertReminder:
		em, err := w.loadExpert(ctx, m)
		if err != nil {
			return nil, err
		}
		return &subject{expert: em}, nil
	}
	return nil, roster.Errorf(roster.CodeNotFound, "Unknown kind of message %q.", m.Kind)
}

// deadReason says why the link is not worth sending any more, or "".
func (s *subject) deadReason() string {
	switch {
	case s.inv != nil && s.inv.Invitation.Superseded:
		return "Not sent: a newer invitation replaced this one."
	case s.inv != nil && !s.inv.Invitation.UsedAt.IsZero():
		return "Not sent: the invitation was already accepted."
	case s.reset != nil && s.reset.Reset.Superseded:
		return "Not sent: a newer password reset link replaced this one."
	case s.reset != nil && !s.reset.Reset.UsedAt.IsZero():
		return "Not sent: the password reset link was already used."
	case s.expert != nil:
		return s.expert.deadReason()
	}
	return ""
}

// sentAt is the time the link lives from: the recorded send time when a
// send was recorded, else now (this send will record it).
func (s *subject) sentAt(now time.Time) time.Time {
	var t time.Time
	switch {
	case s.inv != nil:
		t = s.inv.Invitation.SentAt
	case s.reset != nil:
		t = s.reset.Reset.SentAt
	}
	if t.IsZero() {
		return now
	}
	return t
}

// composed is a rendered message with its link and the change that records
// its send.
type composed struct {
	msg  *email.Message
	link string
	mark func(context.Context, roster.Tx) error
}

// compose renders m about s, its link living from at.
func (w *Worker) compose(m *roster.OutboxMessage, s *subject, at time.Time) (*composed, error) {
	c := &composed{msg: &email.Message{From: w.cfg.From, To: m.To, Date: at,
		MessageID: fmt.Sprintf("<outbox.%s@%s>", m.ID, w.domain)}}
	var (
		name string
		data any
	)
	switch {
	case s.inv != nil:
		inv, u, acct := s.inv.Invitation, s.inv.User, s.inv.Account
		c.link = w.link("/join", roster.InvitationToken(w.cfg.Secret, inv.ID))
		c.mark = func(ctx context.Context, tx roster.Tx) error {
			return tx.MarkInvitationSent(ctx, inv.AccountID, inv.ID, at)
		}
		if c.msg.To == "" {
			c.msg.To = u.Email
		}
		c.msg.To = (&mail.Address{Name: u.FullName(), Address: c.msg.To}).String()
		d := invitationData{Product: w.cfg.ProductName, FirstName: u.FirstName, Account: acct.Name,
			Inviter: "The operator", InviterRef: "the operator", Link: c.link,
			Expires: formatTime(at.Add(w.cfg.InvitationTTL)), TTL: durationWords(w.cfg.InvitationTTL)}
		if u.InvitedBy != "" && u.InvitedByName != "" {
			d.Inviter, d.InviterRef = u.InvitedByName, u.InvitedByName
		}
		ids := u.Roles.IDs()
		names := make([]string, 0, len(ids))
		for _, id := range ids {
			names = append(names, roster.RoleLabel(id, u.ExpertAccess)) // "Expert (read-only)"
		}
		d.Roles, d.RoleCount = joinAnd(names), len(names)
		if !u.AccessUntil.IsZero() {
			d.AccessUntil = formatTime(u.AccessUntil)
		}
		d.Subject = oneLine(fmt.Sprintf("%s invited you to join %s on %s", d.Inviter, acct.Name, w.cfg.ProductName))
		name, data, c.msg.Subject = "invitation", &d, d.Subject
	case s.reset != nil:
		r := s.reset.Reset
		c.link = w.link("/reset-password", roster.PasswordResetToken(w.cfg.Secret, r.ID))
		c.mark = func(ctx context.Context, tx roster.Tx) error {
			return tx.MarkPasswordResetSent(ctx, r.ID, at)
		}
		if c.msg.To == "" {
			c.msg.To = s.reset.Identity.Email
		}
		d := resetData{Product: w.cfg.ProductName, Email: c.msg.To, Link: c.link,
			Expires: formatTime(at.Add(w.cfg.ResetTTL)), TTL: durationWords(w.cfg.ResetTTL)}
		d.Subject = oneLine(fmt.Sprintf("Reset your %s password", w.cfg.ProductName))
		name, data, c.msg.Subject = "reset", &d, d.Subject
	case s.report != nil:
		name, data = w.composeReport(c, s.report)
	case s.expert != nil:
		name, data = w.composeExpert(c, m, s.expert, at)
	default:
		return nil, fmt.Errorf("nothing to render for outbox message %s", m.ID)
	}
	var text, html bytes.Buffer
	if err := textTemplates.ExecuteTemplate(&text, name+".txt", data); err != nil {
		return nil, err
	}
	if err := htmlTemplates.ExecuteTemplate(&html, name+".html", data); err != nil {
		return nil, err
	}
	c.msg.Text, c.msg.HTML = text.String(), html.String()
	return c, nil
}

type invitationData struct {
	Subject     string
	Product     string
	FirstName   string
	Inviter     string // at the start of a sentence
	InviterRef  string // inside a sentence
	Account     string
	Roles       string // "Admin and Support"
	RoleCount   int
	AccessUntil string // "" without a deadline
	Link        string
	Expires     string // "27 November 2026 at 14:05 UTC"
	TTL         string // "one hour"
}

type resetData struct {
	Subject string
	Product string
	Email   string
	Link    string
	Expires string
	TTL     string
}

// link is PublicURL + path + "?token=" + token.
func (w *Worker) link(path, token string) string {
	u := *w.cfg.PublicURL
	u.Path = strings.TrimSuffix(u.Path, "/") + path
	u.RawPath, u.Fragment, u.RawFragment = "", "", ""
	u.RawQuery = url.Values{"token": {token}}.Encode()
	return u.String()
}

// formatTime writes t as "27 November 2026 at 14:05 UTC". The minutes are
// cut, not rounded, so a link never dies before the time printed.
func formatTime(t time.Time) string {
	return t.UTC().Format("2 January 2006 at 15:04 UTC")
}

var smallNumbers = []string{"zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve"}

func count(n int64, unit string) string {
	s := fmt.Sprint(n)
	if n >= 0 && n < int64(len(smallNumbers)) {
		s = smallNumbers[n]
	}
	if n != 1 {
		unit += "s"
	}
	return s + " " + unit
}

// durationWords writes d for people: "one hour", "30 minutes", "two days",
// "one hour and 30 minutes".
func durationWords(d time.Duration) string {
	const day = 24 * time.Hour
	switch {
	case d >= day && d%day == 0:
		return count(int64(d/day), "day")
	case d >= time.Hour && d%time.Hour == 0:
		return count(int64(d/time.Hour), "hour")
	case d < time.Hour && d >= time.Minute && d%time.Minute == 0:
		return count(int64(d/time.Minute), "minute")
	case d > time.Hour && d%time.Minute == 0:
		return count(int64(d/time.Hour), "hour") + " and " + count(int64(d%time.Hour/time.Minute), "minute")
	}
	return d.String()
}

// joinAnd writes "A", "A and B", "A, B and C".
func joinAnd(s []string) string {
	if len(s) <= 1 {
		return strings.Join(s, "")
	}
	return strings.Join(s[:len(s)-1], ", ") + " and " + s[len(s)-1]
}

// oneLine keeps a header value on one line whatever the names hold.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

func parseAddress(s string) (string, error) {
	a, err := mail.ParseAddress(s)
	if err != nil {
		return "", err
	}
	return a.Address, nil
}

// validIDPart reports whether s can stand right of the @ of a Message-ID.
func validIDPart(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '-') {
			return false
		}
	}
	return true
}

// Preview is an outbox message as the local outbox page shows it. Subject,
// Text and Link are empty when what the message was about is gone.
type Preview struct {
	Message             *roster.OutboxMessage
	Subject, Text, Link string
}

// Recent returns the newest limit outbox messages, newest first, rendered as
// they were (or will be) sent, for the operator's local outbox page. The
// links in them are live secrets: show them to the operator only.
func (w *Worker) Recent(ctx context.Context, limit int) ([]Preview, error) {
	ms, err := w.store.RecentOutbox(ctx, limit)
	if err != nil {
		return nil, err
	}
	now := w.clock.Now()
	out := make([]Preview, 0, len(ms))
	for _, m := range ms {
		p := Preview{Message: m}
		s, err := w.load(ctx, m)
		switch {
		case roster.ErrorCode(err) == roster.CodeNotFound:
		case err != nil:
			return nil, err
		default:
			at := now
			if !m.SentAt.IsZero() {
				at = m.SentAt
			}
			c, err := w.compose(m, s, s.sentAt(at))
			if err != nil {
				return nil, err
			}
			p.Subject, p.Text, p.Link = c.msg.Subject, c.msg.Text, c.link
		}
		out = append(out, p)
	}
	return out, nil
}
