// Package outbox delivers the mail outbox: a worker claims outbox rows with
// a lease, renders each email from the current state of what it is about
// (an invitation, a password reset), sends it and records the outcome.
//
// Delivery is at least once: a worker that dies after the mail server took a
// message but before the outcome is recorded leaves its lease to expire, and
// another worker sends the message again. The repeat carries the same
// Message-ID (derived from the outbox id) and the same link (its token is
// derived from the server secret and the invitation or reset id), so the
// recipient's mail program shows one message and only one link exists.
package outbox

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	mrand "math/rand/v2"
	"net/url"
	"os"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"roster"
	"roster/internal/email"
)

// Sender sends one email. *email.SMTP implements it; LogSender is the local
// outbox used when no SMTP server is configured. An error for which
// email.IsPermanent reports true is a refusal that a retry cannot fix.
type Sender interface {
	Send(ctx context.Context, m *email.Message) error
}

var _ Sender = (*email.SMTP)(nil)

// Config configures a Worker. Store, PublicURL and Secret are required.
type Config struct {
	Store roster.Store
	// Sender delivers the mail; nil: a LogSender on Logger (the local
	// outbox, for running without SMTP).
	Sender Sender
	// From is the sender address, "Roster <noreply@example.com>"; its
	// domain is the right-hand side of every Message-ID. Pass the same
	// address as to email.NewSMTP. "": the SMTP sender's own address, and
	// Message-IDs at "localhost".
	From string
	// PublicURL is where users reach the server; links are
	// PublicURL/join?token=… and PublicURL/reset-password?token=….
	PublicURL *url.URL
	// Secret derives the tokens of the links (roster.InvitationToken,
	// roster.PasswordResetToken); the service's secret.
	Secret []byte
	// InvitationTTL and ResetTTL are how long a link lives after its email
	// was sent, as the service enforces it; the emails print the expiry.
	// 0: one hour.
	InvitationTTL, ResetTTL time.Duration
	// MaxAge bounds how long a message is retried: one whose last attempt
	// fails at or after CreatedAt+MaxAge is marked failed. 0: 24 hours.
	MaxAge time.Duration
	// Poll is how often Run looks for due messages without a Kick. 0: 2s.
	Poll time.Duration
	// Lease is how long a claimed message is reserved for this worker; a
	// worker that dies mid-send releases it by letting it expire. Sends
	// are cut off at half the lease. 0: 2 minutes.
	Lease time.Duration
	// Owner names this worker in leases; unique per worker. "": the host
	// name and a random suffix.
	Owner string
	// Logger receives delivery events; nil: slog.Default().
	Logger *slog.Logger
	// Clock tells the time of leases, backoff and link expiry; nil: the
	// system clock.
	Clock roster.Clock
	// ProductName is the name the emails speak of; "": "Roster".
	ProductName string
}

// Worker delivers the outbox. Its methods are safe for concurrent use, and
// any number of workers, in one process or many, may share a store.
type Worker struct {
	cfg    Config
	store  roster.Store
	sender Sender
	clock  roster.Clock
	log    *slog.Logger
	domain string // of Message-IDs
	kick   chan struct{}
}

// Retry policy.
const (
	firstBackoff     = 15 * time.Second
	maxBackoff       = 15 * time.Minute
	permanentRetries = 3   // attempts before a 5xx refusal counts as final
	perPass          = 100 // messages per RunOnce; Run goes on at once when a pass is full
	maxErrorLen      = 500 // runes of LastError
)

// New returns a worker. It panics when Store, PublicURL or Secret is
// missing, a wiring mistake.
func New(cfg Config) *Worker {
	if cfg.Store == nil || cfg.PublicURL == nil || len(cfg.Secret) == 0 {
		panic("outbox.New: Store, PublicURL and Secret are required")
	}
	if cfg.InvitationTTL <= 0 {
		cfg.InvitationTTL = time.Hour
	}
	if cfg.ResetTTL <= 0 {
		cfg.ResetTTL = time.Hour
	}
	if cfg.MaxAge <= 0 {
		cfg.MaxAge = 24 * time.Hour
	}
	if cfg.Poll <= 0 {
		cfg.Poll = 2 * time.Second
	}
	if cfg.Lease <= 0 {
		cfg.Lease = 2 * time.Minute
	}
	if cfg.Owner == "" {
		cfg.Owner = defaultOwner()
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Clock == nil {
		cfg.Clock = roster.SystemClock{}
	}
	if cfg.ProductName == "" {
		cfg.ProductName = "Roster"
	}
	w := &Worker{cfg: cfg, store: cfg.Store, sender: cfg.Sender, clock: cfg.Clock, log: cfg.Logger,
		domain: "localhost", kick: make(chan struct{}, 1)}
	if w.sender == nil {
		w.sender = &LogSender{Logger: cfg.Logger}
	}
	if cfg.From != "" {
		if a, err := parseAddress(cfg.From); err == nil {
			if i := strings.LastIndexByte(a, '@'); i >= 0 && validIDPart(a[i+1:]) {
				w.domain = a[i+1:]
			}
		}
	}
	return w
}

func defaultOwner() string {
	host, _ := os.Hostname()
	b := make([]byte, 6)
	rand.Read(b)
	if host == "" {
		host = "worker"
	}
	return host + "-" + hex.EncodeToString(b)
}

// Owner returns the name this worker leases messages under.
func (w *Worker) Owner() string { return w.cfg.Owner }

// Kick wakes Run to look for due messages now; it never blocks. Pass it to
// the service as Config.MailQueued.
func (w *Worker) Kick() {
	select {
	case w.kick <- struct{}{}:
	default:
	}
}

// Run delivers due messages until ctx is done, then returns nil. It looks
// after every Kick and every Poll. Errors of the store are logged and
// retried at the next look. A send under way when ctx ends is abandoned;
// its lease expires and a worker sends the message again.
func (w *Worker) Run(ctx context.Context) error {
	t := time.NewTicker(w.cfg.Poll)
	defer t.Stop()
	for {
		_, full, err := w.pass(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			w.log.Error("mail outbox", "err", err)
		}
		if full && err == nil {
			continue
		}
		select {
		case <-ctx.Done():
			return nil
		case <-w.kick:
		case <-t.C:
		}
	}
}

// RunOnce claims and delivers due messages one at a time until none is due
// (or a pass of 100 is done) and returns how many the mail server took. It
// stops at the first error of the store or of ctx; a message it had claimed
// then stays leased until the lease expires.
func (w *Worker) RunOnce(ctx context.Context) (sent int, err error) {
	sent, _, err = w.pass(ctx)
	return sent, err
}

func (w *Worker) pass(ctx context.Context) (sent int, full bool, err error) {
	for range perPass {
		// One message per claim: each lease starts when its send does, so
		// a slow server cannot eat the lease of messages still waiting.
		now := w.clock.Now()
		ms, err := w.store.ClaimOutbox(ctx, w.cfg.Owner, now, now.Add(w.cfg.Lease), 1)
		if err != nil {
			return sent, false, fmt.Errorf("claim outbox: %w", err)
		}
		if len(ms) == 0 {
			return sent, false, nil
		}
		ok, err := w.deliver(ctx, ms[0])
		if ok {
			sent++
		}
		if err != nil {
			return sent, false, err
		}
	}
	return sent, true, nil
}

// deliver renders, sends and records one claimed message. ok reports that
// the mail server took it; err is an error of the store or of ctx.
func (w *Worker) deliver(ctx context.Context, m *roster.OutboxMessage) (ok bool, err error) {
	log := w.log.With("outbox_id", m.ID, "kind", m.Kind, "attempt", m.Attempts)
	now := w.clock.Now()
	s, err := w.load(ctx, m)
	reason := ""
	switch {
	case roster.ErrorCode(err) == roster.CodeNotFound:
		reason = goneReason(m.Kind)
	case err != nil:
		return false, fmt.Errorf("render outbox message %s: %w", m.ID, err)
	default:
		reason = s.deadReason()
	}
	if reason != "" {
		log.Info("mail not sent", "reason", reason)
		m.State, m.NextAttemptAt, m.LastError = roster.OutboxFailed, time.Time{}, reason
		return false, w.finish(ctx, m, nil, log)
	}
	c, err := w.compose(m, s, s.sentAt(now))
	if err != nil {
		// A template that fails on this data fails on every retry.
		log.Error("mail not rendered", "err", err)
		m.State, m.NextAttemptAt = roster.OutboxFailed, time.Time{}
		m.LastError = clip("Not sent: the message could not be rendered: " + describe(err))
		return false, w.finish(ctx, m, nil, log)
	}

	sendCtx, cancel := context.WithTimeout(ctx, w.cfg.Lease/2)
	err = w.sender.Send(sendCtx, c.msg)
	cancel()
	if err != nil && ctx.Err() != nil {
		// Shutting down: whether the server took the message is unknown.
		// The lease expires and a worker sends it again, same Message-ID.
		return false, ctx.Err()
	}
	after := w.clock.Now()
	if err == nil {
		m.State, m.SentAt, m.NextAttemptAt, m.LastError = roster.OutboxSent, after, time.Time{}, ""
		// Record the success even if ctx ended meanwhile: the mail is out.
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		err := w.finish(fctx, m, c.mark, log)
		if err == nil { // logged once recorded, so the log never runs ahead of the store
			log.Info("mail sent", "message_id", c.msg.MessageID)
		}
		return true, err
	}

	answer := describe(err)
	deadline := m.CreatedAt.Add(w.cfg.MaxAge)
	switch {
	case !after.Before(deadline):
		m.State, m.NextAttemptAt = roster.OutboxFailed, time.Time{}
		m.LastError = clip(fmt.Sprintf("Gave up: not delivered within %s of being queued. The last answer was: %s",
			durationWords(w.cfg.MaxAge), answer))
	case email.IsPermanent(err) && m.Attempts >= permanentRetries:
		m.State, m.NextAttemptAt = roster.OutboxFailed, time.Time{}
		m.LastError = clip(fmt.Sprintf("Refused %d times: %s", m.Attempts, answer))
	default:
		m.State, m.LastError = roster.OutboxPending, clip(answer)
		// One last attempt at the deadline rather than none.
		m.NextAttemptAt = after.Add(backoff(m.Attempts))
		if m.NextAttemptAt.After(deadline) {
			m.NextAttemptAt = deadline
		}
	}
	err = w.finish(ctx, m, nil, log)
	if err == nil {
		log.Warn("mail not delivered", "state", m.State, "next_attempt_at", m.NextAttemptAt, "err", answer)
	}
	return false, err
}

// finish records m's outcome and, for a sent message, marks its link sent,
// in one transaction. A lost lease is logged, not returned: the worker that
// took the message over records it.
func (w *Worker) finish(ctx context.Context, m *roster.OutboxMessage, mark func(context.Context, roster.Tx) error, log *slog.Logger) error {
	lost := false
	err := w.store.Update(ctx, func(tx roster.Tx) error {
		if err := tx.FinishOutbox(ctx, m, w.cfg.Owner); err != nil {
			lost = roster.ErrorCode(err) == roster.CodeConflict
			return err
		}
		if mark != nil {
			return mark(ctx, tx)
		}
		return nil
	})
	if lost {
		log.Warn("mail outbox lease lost: another worker took the message over, or it was deleted", "state", m.State)
		return nil
	}
	if err != nil {
		return fmt.Errorf("finish outbox message %s: %w", m.ID, err)
	}
	return nil
}

// backoff is the wait after the attempt-th failed attempt: 15 seconds
// doubling up to 15 minutes, spread by ±25% so that messages queued
// together do not retry in lockstep.
func backoff(attempt int) time.Duration {
	d := maxBackoff
	if attempt >= 1 && attempt <= 10 {
		d = min(firstBackoff<<(attempt-1), maxBackoff)
	}
	return d*3/4 + mrand.N(d/2)
}

// describe turns a send error into the text stored as LastError: the mail
// server's answer, on one line. Errors of email.SMTP never hold the
// password.
func describe(err error) string {
	s := strings.TrimPrefix(err.Error(), "email: ")
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, s)
	return strings.Join(strings.Fields(s), " ")
}

func clip(s string) string {
	if utf8.RuneCountInString(s) <= maxErrorLen {
		return s
	}
	r := []rune(s)
	return string(r[:maxErrorLen-1]) + "…"
}

func goneReason(kind string) string {
	switch kind {
	case roster.MailInvitation:
		return "Not sent: the invitation no longer exists (the user was deleted)."
	case roster.MailPasswordReset:
		return "Not sent: the password reset no longer exists."
	case roster.MailExpertReport:
		return "Not sent: the recipient is no longer an active Admin of the account."
	case roster.MailExpertReminder:
		return "Not sent: the Expert was deleted."
	}
	return fmt.Sprintf("Not sent: unknown kind of message %q.", kind)
}
