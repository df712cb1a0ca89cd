package outbox_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"roster"
	"roster/internal/email"
	"roster/internal/outbox"
	"roster/internal/testdb"
	"roster/internal/testsmtp"
)

// The worker is tested against a real SMTP server in the process
// (internal/testsmtp) and the real stores: every message a test looks at is
// one the server received, parsed back from its bytes.

func newSMTP(t *testing.T, addr string) *email.SMTP {
	t.Helper()
	s, err := email.NewSMTP("smtp://"+addr, from)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// gotMail is a received message, parsed.
type gotMail struct {
	to        []string
	messageID string
	subject   string
	date      time.Time
	text      string
	html      string
	link      string // the first URL of the text part
	token     string
}

var urlRE = regexp.MustCompile(`https?://\S+`)

func parseMail(t *testing.T, r testsmtp.Message) gotMail {
	t.Helper()
	m, err := r.Parse()
	if err != nil {
		t.Fatalf("parse the received message: %v", err)
	}
	g := gotMail{to: r.To, messageID: m.MessageID, subject: m.Subject, date: m.Date, text: m.Text, html: m.HTML}
	g.link = urlRE.FindString(g.text)
	if u, err := url.Parse(g.link); err == nil {
		g.token = u.Query().Get("token")
	}
	return g
}

// --- fixture ---

const from = "Roster <noreply@roster.test>"

var (
	start     = time.Date(2025, 6, 2, 10, 0, 0, 0, time.UTC)
	publicURL = &url.URL{Scheme: "https", Host: "roster.test"}
	secret    = []byte("0123456789abcdef0123456789abcdef")
)

type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

type fixture struct {
	ctx   context.Context
	store roster.Store
	svc   *roster.Service
	clock *testClock
	acct  *roster.Account
	admin *roster.Actor
	mail  *testsmtp.Server
}

var seq atomic.Int64

func newFixture(t *testing.T, s roster.Store) *fixture {
	t.Helper()
	f := &fixture{ctx: t.Context(), store: s, clock: &testClock{now: start}, mail: testsmtp.Start(t, testsmtp.Options{})}
	f.svc = roster.NewService(s, roster.Config{Secret: secret, Clock: f.clock, StaffDomains: []string{"tatacommunications.com"}})
	n := seq.Add(1)
	acct, u, err := f.svc.CreateAccount(f.ctx, roster.CreateAccountInput{
		Name: fmt.Sprintf("Acme %d", n), AdminEmail: fmt.Sprintf("ada%d@acme.example", n),
		AdminFirstName: "Ada", AdminLastName: "Lovelace", AdminPassword: "correct horse battery staple",
	}, func(p string) (string, error) { return "test-hash:" + p, nil })
	if err != nil {
		t.Fatalf("CreateAccount = %v", err)
	}
	f.acct = acct
	f.admin = &roster.Actor{AccountID: u.AccountID, UserID: u.ID, Name: u.FullName(), Email: u.Email, Roles: u.Roles}
	return f
}

// worker returns a worker sending to the fixture's mail server.
func (f *fixture) worker(t *testing.T, owner string, mods ...func(*outbox.Config)) *outbox.Worker {
	t.Helper()
	cfg := outbox.Config{Store: f.store, Sender: newSMTP(t, f.mail.Addr), From: from, PublicURL: publicURL,
		Secret: secret, Owner: owner, Clock: f.clock, Logger: slog.New(slog.DiscardHandler)}
	for _, m := range mods {
		m(&cfg)
	}
	return outbox.New(cfg)
}

func (f *fixture) invite(t *testing.T, roles ...roster.RoleID) *roster.User {
	t.Helper()
	if len(roles) == 0 {
		roles = []roster.RoleID{roster.RoleSupport}
	}
	n := seq.Add(1)
	u, err := f.svc.InviteUser(f.ctx, f.admin, f.acct.ID, roster.InviteInput{FirstName: fmt.Sprintf("Grace%d", n),
		LastName: "Hopper", Email: fmt.Sprintf("grace%d@acme.example", n), Roles: roles})
	if err != nil {
		t.Fatalf("InviteUser = %v", err)
	}
	return u
}

// row returns the newest outbox message to email.
func (f *fixture) row(t *testing.T, to string) *roster.OutboxMessage {
	t.Helper()
	ms, err := f.store.RecentOutbox(f.ctx, 1000)
	if err != nil {
		t.Fatalf("RecentOutbox = %v", err)
	}
	for _, m := range ms {
		if m.To == to {
			return m
		}
	}
	t.Fatalf("no outbox message to %s", to)
	return nil
}

func (f *fixture) details(t *testing.T, u *roster.User) *roster.UserDetails {
	t.Helper()
	d, err := f.store.UserDetails(f.ctx, u.AccountID, u.ID, f.clock.Now())
	if err != nil {
		t.Fatalf("UserDetails = %v", err)
	}
	return d
}

func (f *fixture) invitation(t *testing.T, token string) *roster.Invitation {
	t.Helper()
	inv, err := f.store.InvitationByHash(f.ctx, roster.HashSecret(token))
	if err != nil {
		t.Fatalf("InvitationByHash(token of the link) = %v", err)
	}
	return inv
}

func runOnce(t *testing.T, w *outbox.Worker, want int) {
	t.Helper()
	n, err := w.RunOnce(t.Context())
	if err != nil {
		t.Fatalf("RunOnce = %v", err)
	}
	if n != want {
		t.Fatalf("RunOnce sent %d, want %d", n, want)
	}
}

func (f *fixture) mails(t *testing.T, want int) []gotMail {
	t.Helper()
	rs := f.mail.Messages()
	if len(rs) != want {
		t.Fatalf("the mail server received %d messages, want %d", len(rs), want)
	}
	out := make([]gotMail, len(rs))
	for i, r := range rs {
		out[i] = parseMail(t, r)
	}
	return out
}

// --- tests ---

func TestInvitationDelivered(t *testing.T) {
	testdb.Each(t, func(t *testing.T, s roster.Store) {
		f := newFixture(t, s)
		u := f.invite(t, roster.RoleAdmin, roster.RoleSupport)
		w := f.worker(t, "a")
		runOnce(t, w, 1)

		m := f.mails(t, 1)[0]
		row := f.row(t, u.Email)
		if len(m.to) != 1 || m.to[0] != u.Email {
			t.Errorf("envelope recipients = %q, want %s", m.to, u.Email)
		}
		if want := "<outbox." + row.ID + "@roster.test>"; m.messageID != want {
			t.Errorf("Message-ID = %q, want %q", m.messageID, want)
		}
		if want := "Ada Lovelace invited you to join " + f.acct.Name + " on Roster"; m.subject != want {
			t.Errorf("Subject = %q, want %q", m.subject, want)
		}
		if !m.date.Equal(start) {
			t.Errorf("Date = %v, want %v", m.date, start)
		}
		for _, want := range []string{
			"Hello " + u.FirstName + ",",
			"Ada Lovelace invited you to join the account " + f.acct.Name + " on Roster, with the roles Admin and Support.",
			"The link expires on 2 June 2025 at 11:00 UTC, one hour after this email was sent",
			"\n" + m.link + "\n",
		} {
			if !strings.Contains(m.text, want) {
				t.Errorf("text part lacks %q:\n%s", want, m.text)
			}
		}
		if !strings.HasPrefix(m.link, "https://roster.test/join?token=") {
			t.Errorf("link = %q, want https://roster.test/join?token=…", m.link)
		}
		inv := f.invitation(t, m.token)
		if inv.ID != row.Ref || inv.UserID != u.ID {
			t.Errorf("the link's invitation = %s of user %s, want %s of %s", inv.ID, inv.UserID, row.Ref, u.ID)
		}
		if !bytes.Equal(inv.TokenHash, roster.HashSecret(roster.InvitationToken(secret, inv.ID))) {
			t.Error("the link's token does not hash to the invitation's TokenHash")
		}
		if !inv.SentAt.Equal(start) {
			t.Errorf("invitation SentAt = %v, want %v (the time in the email)", inv.SentAt, start)
		}
		if row.State != roster.OutboxSent || !row.SentAt.Equal(start) || row.Attempts != 1 || row.LastError != "" {
			t.Errorf("outbox row = %+v, want sent at %v after 1 attempt", row, start)
		}
		if d := f.details(t, u).Invitation; d == nil || d.State != roster.OutboxSent {
			t.Errorf("UserDetails.Invitation = %+v, want sent", d)
		}

		// The HTML part: a real link, the address in text, no outside resources.
		for _, want := range []string{`<html lang="en">`, `<a href="` + m.link + `"`, ">" + m.link + "<",
			"2 June 2025 at 11:00 UTC", "Admin and Support", "Ada Lovelace"} {
			if !strings.Contains(m.html, want) {
				t.Errorf("HTML part lacks %q:\n%s", want, m.html)
			}
		}
		for _, bad := range []string{"<img", "src=", "<script", "<link"} {
			if strings.Contains(m.html, bad) {
				t.Errorf("HTML part contains %q", bad)
			}
		}

		// Nothing is due any more.
		runOnce(t, w, 0)
		f.mails(t, 1)
	})
}

func TestOperatorInvitation(t *testing.T) {
	testdb.Each(t, func(t *testing.T, s roster.Store) {
		f := newFixture(t, s)
		// An account created without a password invites its first Admin.
		acct, u, err := f.svc.CreateAccount(f.ctx, roster.CreateAccountInput{Name: "Globex", AdminEmail: "hank@globex.example",
			AdminFirstName: "Hank", AdminLastName: "Scorpio"}, nil)
		if err != nil {
			t.Fatalf("CreateAccount = %v", err)
		}
		runOnce(t, f.worker(t, "a", func(c *outbox.Config) { c.InvitationTTL = 90 * time.Minute }), 1)
		m := f.mails(t, 1)[0]
		for _, want := range []string{
			"The operator invited you to join the account Globex on Roster, with the role Admin.",
			"The link expires on 2 June 2025 at 11:30 UTC, one hour and 30 minutes after this email was sent",
			"ask the operator",
		} {
			if !strings.Contains(m.text, want) {
				t.Errorf("text part lacks %q:\n%s", want, m.text)
			}
		}
		if inv := f.invitation(t, m.token); inv.AccountID != acct.ID || inv.UserID != u.ID {
			t.Errorf("the link's invitation is of %s/%s, want %s/%s", inv.AccountID, inv.UserID, acct.ID, u.ID)
		}
	})
}

func TestSMTPDownThenUp(t *testing.T) {
	testdb.Each(t, func(t *testing.T, s roster.Store) {
		f := newFixture(t, s)
		u := f.invite(t)

		// The server is down: connection refused.
		f.mail.Stop()
		w := f.worker(t, "a")
		runOnce(t, w, 0)
		row := f.row(t, u.Email)
		if row.State != roster.OutboxPending || row.Attempts != 1 || !strings.Contains(row.LastError, "connect") {
			t.Fatalf("after a refused connection: %+v, want pending after 1 attempt with a connect error", row)
		}
		if lo, hi := start.Add(11*time.Second), start.Add(19*time.Second); row.NextAttemptAt.Before(lo) || row.NextAttemptAt.After(hi) {
			t.Errorf("NextAttemptAt = %v, want 15s ± 25%% after %v", row.NextAttemptAt, start)
		}
		runOnce(t, w, 0) // not due yet: no attempt
		if got := f.row(t, u.Email).Attempts; got != 1 {
			t.Errorf("attempts = %d after a pass before the retry time, want 1", got)
		}

		// The server is up again but answers 451.
		f.mail.Restart(t)
		f.mail.Refuse(451, "try again later")
		f.clock.Advance(20 * time.Minute)
		runOnce(t, w, 0)
		row = f.row(t, u.Email)
		if row.State != roster.OutboxPending || row.Attempts != 2 || !strings.Contains(row.LastError, "451") ||
			!row.NextAttemptAt.After(f.clock.Now()) {
			t.Fatalf("after a 451: %+v, want pending after 2 attempts with the 451 answer", row)
		}
		if d := f.details(t, u).Invitation; d == nil || d.State != roster.OutboxPending || !strings.Contains(d.LastError, "451") {
			t.Errorf("UserDetails.Invitation = %+v, want pending with the 451 answer", d)
		}

		// It accepts again: the message goes out at its retry time, once.
		f.mail.Accept()
		runOnce(t, w, 0)
		f.clock.Advance(20 * time.Minute)
		runOnce(t, w, 1)
		runOnce(t, w, 0)
		m := f.mails(t, 1)[0]
		if inv := f.invitation(t, m.token); inv.UserID != u.ID || !inv.SentAt.Equal(f.clock.Now()) {
			t.Errorf("invitation = %+v, want %s's sent at %v", inv, u.ID, f.clock.Now())
		}
		row = f.row(t, u.Email)
		if row.State != roster.OutboxSent || row.Attempts != 3 || row.LastError != "" {
			t.Errorf("outbox row = %+v, want sent after 3 attempts", row)
		}
		if d := f.details(t, u).Invitation; d == nil || d.State != roster.OutboxSent || d.Attempts != 3 {
			t.Errorf("UserDetails.Invitation = %+v, want sent after 3 attempts", d)
		}
	})
}

func TestPermanentRefusalFailsAfterThreeAttempts(t *testing.T) {
	testdb.Each(t, func(t *testing.T, s roster.Store) {
		f := newFixture(t, s)
		u := f.invite(t)
		f.mail.Refuse(550, "no such mailbox")
		w := f.worker(t, "a")
		for attempt := 1; attempt <= 3; attempt++ {
			runOnce(t, w, 0)
			row := f.row(t, u.Email)
			want := roster.OutboxPending
			if attempt == 3 {
				want = roster.OutboxFailed
			}
			if row.State != want || row.Attempts != attempt || !strings.Contains(row.LastError, "550") {
				t.Fatalf("after attempt %d: %+v, want %s with the 550 answer", attempt, row, want)
			}
			f.clock.Advance(20 * time.Minute)
		}
		runOnce(t, w, 0)
		if row := f.row(t, u.Email); row.Attempts != 3 {
			t.Errorf("a failed message was tried again: %+v", row)
		}
		d := f.details(t, u).Invitation
		if d == nil || d.State != roster.OutboxFailed || d.Attempts != 3 || !strings.Contains(d.LastError, "550") ||
			!strings.Contains(d.LastError, "no such mailbox") {
			t.Errorf("UserDetails.Invitation = %+v, want failed with the server's answer", d)
		}
		f.mails(t, 0)
	})
}

func TestGivesUpAfterMaxAge(t *testing.T) {
	testdb.Each(t, func(t *testing.T, s roster.Store) {
		f := newFixture(t, s)
		u := f.invite(t)
		f.mail.Refuse(451, "try again later")
		w := f.worker(t, "a", func(c *outbox.Config) { c.MaxAge = time.Hour })
		deadline := start.Add(time.Hour)
		for i := 0; ; i++ {
			if i == 20 {
				t.Fatal("still pending after 20 passes")
			}
			runOnce(t, w, 0)
			row := f.row(t, u.Email)
			if row.State == roster.OutboxFailed {
				if f.clock.Now().Before(deadline) {
					t.Fatalf("failed at %v, before the deadline %v", f.clock.Now(), deadline)
				}
				if !strings.Contains(row.LastError, "one hour") || !strings.Contains(row.LastError, "451") {
					t.Errorf("LastError = %q, want the time limit and the server's answer", row.LastError)
				}
				break
			}
			if row.State != roster.OutboxPending || row.NextAttemptAt.After(deadline) {
				t.Fatalf("at %v: %+v, want pending and due by %v", f.clock.Now(), row, deadline)
			}
			f.clock.Advance(row.NextAttemptAt.Sub(f.clock.Now()))
		}
		if f.clock.Now() != deadline {
			t.Errorf("gave up at %v, want one last attempt at the deadline %v", f.clock.Now(), deadline)
		}
		if d := f.details(t, u).Invitation; d == nil || d.State != roster.OutboxFailed {
			t.Errorf("UserDetails.Invitation = %+v, want failed", d)
		}
	})
}

// crashSender delivers the message and then "kills the worker": it cancels
// the worker's context and reports the cancellation, as a process that dies
// before it records the outcome.
type crashSender struct {
	outbox.Sender
	cancel context.CancelFunc
}

func (c *crashSender) Send(ctx context.Context, m *email.Message) error {
	if err := c.Sender.Send(ctx, m); err != nil {
		return err
	}
	c.cancel()
	return context.Canceled
}

func TestCrashMidSendResendsSameMessage(t *testing.T) {
	testdb.Each(t, func(t *testing.T, s roster.Store) {
		f := newFixture(t, s)
		u := f.invite(t)
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		a := f.worker(t, "a", func(c *outbox.Config) { c.Sender = &crashSender{Sender: c.Sender, cancel: cancel} })
		if _, err := a.RunOnce(ctx); !errors.Is(err, context.Canceled) {
			t.Fatalf("RunOnce of the dying worker = %v, want context.Canceled", err)
		}
		f.mails(t, 1)
		if row := f.row(t, u.Email); row.State != roster.OutboxPending || row.Attempts != 1 {
			t.Fatalf("after the crash: %+v, want pending, leased", row)
		}

		b := f.worker(t, "b")
		runOnce(t, b, 0) // the dead worker's lease still holds
		f.clock.Advance(2*time.Minute + time.Second)
		runOnce(t, b, 1)
		runOnce(t, b, 0)

		ms := f.mails(t, 2)
		if ms[0].messageID != ms[1].messageID || ms[0].link != ms[1].link || ms[0].link == "" {
			t.Errorf("the repeat differs: Message-ID %q, link %q; first was %q, %q",
				ms[1].messageID, ms[1].link, ms[0].messageID, ms[0].link)
		}
		inv := f.invitation(t, ms[1].token)
		if !inv.SentAt.Equal(f.clock.Now()) {
			t.Errorf("invitation SentAt = %v, want %v (the send that was recorded)", inv.SentAt, f.clock.Now())
		}
		if row := f.row(t, u.Email); row.State != roster.OutboxSent || row.Attempts != 2 {
			t.Errorf("outbox row = %+v, want sent after 2 attempts", row)
		}
	})
}

// blockingSender holds a send until released.
type blockingSender struct {
	outbox.Sender
	started, release chan struct{}
}

func (b *blockingSender) Send(ctx context.Context, m *email.Message) error {
	close(b.started)
	<-b.release
	return b.Sender.Send(ctx, m)
}

func TestLeaseLostToAnotherWorker(t *testing.T) {
	testdb.Each(t, func(t *testing.T, s roster.Store) {
		f := newFixture(t, s)
		u := f.invite(t)
		slow := &blockingSender{started: make(chan struct{}), release: make(chan struct{})}
		a := f.worker(t, "a", func(c *outbox.Config) { slow.Sender = c.Sender; c.Sender = slow })
		type result struct {
			n   int
			err error
		}
		done := make(chan result, 1)
		go func() {
			n, err := a.RunOnce(t.Context())
			done <- result{n, err}
		}()
		<-slow.started

		// a's lease expires while its send hangs; b takes the message over.
		f.clock.Advance(3 * time.Minute)
		sentAt := f.clock.Now()
		runOnce(t, f.worker(t, "b"), 1)
		f.clock.Advance(time.Minute)
		close(slow.release)
		if r := <-done; r.err != nil || r.n != 1 {
			t.Fatalf("RunOnce of the worker that lost its lease = %d, %v; want 1, nil", r.n, r.err)
		}

		ms := f.mails(t, 2)
		if ms[0].messageID != ms[1].messageID || ms[0].token != ms[1].token {
			t.Errorf("two sends of one message differ: %q %q, %q %q", ms[0].messageID, ms[0].token, ms[1].messageID, ms[1].token)
		}
		if inv := f.invitation(t, ms[0].token); !inv.SentAt.Equal(sentAt) {
			t.Errorf("invitation SentAt = %v, want %v: set once, by the worker that held the lease", inv.SentAt, sentAt)
		}
		if row := f.row(t, u.Email); row.State != roster.OutboxSent || !row.SentAt.Equal(sentAt) {
			t.Errorf("outbox row = %+v, want sent at %v", row, sentAt)
		}
	})
}

func TestConcurrentWorkersSendEachMessageOnce(t *testing.T) {
	testdb.Each(t, func(t *testing.T, s roster.Store) {
		f := newFixture(t, s)
		const n = 12
		for range n {
			f.invite(t)
		}
		workers := []*outbox.Worker{f.worker(t, "a"), f.worker(t, "b"), f.worker(t, "c")}
		var wg sync.WaitGroup
		sent := make([]int, len(workers))
		errs := make([]error, len(workers))
		for i, w := range workers {
			wg.Go(func() { sent[i], errs[i] = w.RunOnce(t.Context()) })
		}
		wg.Wait()
		total := 0
		for i := range workers {
			if errs[i] != nil {
				t.Errorf("worker %d: %v", i, errs[i])
			}
			total += sent[i]
		}
		if total != n {
			t.Errorf("workers sent %v messages in all, want %d", sent, n)
		}
		seen := map[string]bool{}
		for _, m := range f.mails(t, n) {
			if seen[m.messageID] {
				t.Errorf("message %s sent twice", m.messageID)
			}
			seen[m.messageID] = true
		}
	})
}

// claimHook runs fn once, right after the first message is claimed: a
// change that lands while the worker holds the lease.
type claimHook struct {
	roster.Store
	fn func()
}

func (c *claimHook) ClaimOutbox(ctx context.Context, owner string, now, leaseUntil time.Time, limit int) ([]*roster.OutboxMessage, error) {
	ms, err := c.Store.ClaimOutbox(ctx, owner, now, leaseUntil, limit)
	if len(ms) > 0 && c.fn != nil {
		c.fn()
		c.fn = nil
	}
	return ms, err
}

func TestGoneInvitationIsNotSent(t *testing.T) {
	testdb.Each(t, func(t *testing.T, s roster.Store) {
		f := newFixture(t, s)

		// An invitation whose rows vanished (its user deleted between the
		// claim and the rendering) finishes failed, unsent.
		now := f.clock.Now()
		orphan := &roster.OutboxMessage{ID: roster.NewID(now), AccountID: f.acct.ID, Kind: roster.MailInvitation,
			Ref: roster.NewID(now), To: "gone@acme.example", CreatedAt: now}
		if err := s.Update(f.ctx, func(tx roster.Tx) error { return tx.InsertOutbox(f.ctx, orphan) }); err != nil {
			t.Fatal(err)
		}
		w := f.worker(t, "a")
		runOnce(t, w, 0)
		if row := f.row(t, orphan.To); row.State != roster.OutboxFailed || !strings.Contains(row.LastError, "no longer exists") {
			t.Errorf("message of a gone invitation = %+v, want failed: no longer exists", row)
		}
		ps, err := w.Recent(f.ctx, 10)
		if err != nil || len(ps) != 1 || ps[0].Message.ID != orphan.ID {
			t.Fatalf("Recent = %+v, %v; want the one message", ps, err)
		}
		if p := ps[0]; p.Subject != "" || p.Text != "" || p.Link != "" {
			t.Errorf("preview of a gone message = %+v, want no content", p)
		}

		// The user is deleted while a worker holds the lease on their mail.
		u := f.invite(t)
		hooked := f.worker(t, "b", func(c *outbox.Config) {
			c.Store = &claimHook{Store: s, fn: func() {
				if err := f.svc.DeleteUser(f.ctx, f.admin, f.acct.ID, u.ID); err != nil {
					t.Errorf("DeleteUser = %v", err)
				}
			}}
		})
		runOnce(t, hooked, 0)

		// Deleted before any worker looked.
		u = f.invite(t)
		if err := f.svc.DeleteUser(f.ctx, f.admin, f.acct.ID, u.ID); err != nil {
			t.Fatalf("DeleteUser = %v", err)
		}
		runOnce(t, w, 0)
		f.mails(t, 0)
	})
}

func TestReplacedInvitationIsNotSent(t *testing.T) {
	testdb.Each(t, func(t *testing.T, s roster.Store) {
		f := newFixture(t, s)
		u := f.invite(t)
		old := f.row(t, u.Email)
		f.clock.Advance(time.Minute)
		if _, err := f.svc.ResendInvitation(f.ctx, f.admin, f.acct.ID, u.ID); err != nil {
			t.Fatalf("ResendInvitation = %v", err)
		}
		w := f.worker(t, "a")
		runOnce(t, w, 1)
		m := f.mails(t, 1)[0]
		if inv := f.invitation(t, m.token); inv.ID == old.Ref || inv.Superseded {
			t.Errorf("the replaced invitation's link was sent: %+v", inv)
		}
		ms, err := s.RecentOutbox(f.ctx, 10)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range ms {
			if r.ID == old.ID && (r.State != roster.OutboxFailed || !strings.Contains(r.LastError, "newer invitation")) {
				t.Errorf("replaced invitation's message = %+v, want failed: a newer invitation replaced it", r)
			}
		}
		// The preview shows what was sent.
		ps, err := w.Recent(f.ctx, 10)
		if err != nil {
			t.Fatalf("Recent = %v", err)
		}
		if p := ps[0]; p.Message.State != roster.OutboxSent || p.Link != m.link || p.Subject != m.subject || p.Text != m.text {
			t.Errorf("newest preview = %+v, want the sent message (subject %q, link %q)", p, m.subject, m.link)
		}
	})
}

func TestLocalOutboxLogsTheLink(t *testing.T) {
	testdb.Each(t, func(t *testing.T, s roster.Store) {
		f := newFixture(t, s)
		u := f.invite(t)
		var logs bytes.Buffer
		var mu sync.Mutex
		w := outbox.New(outbox.Config{Store: s, PublicURL: publicURL, Secret: secret, Clock: f.clock,
			Logger: slog.New(slog.NewTextHandler(&lockedWriter{w: &logs, mu: &mu}, nil))})
		runOnce(t, w, 1)
		ps, err := w.Recent(f.ctx, 10)
		if err != nil || len(ps) == 0 {
			t.Fatalf("Recent = %v, %v", ps, err)
		}
		p := ps[0]
		if p.Message.To != u.Email || p.Message.State != roster.OutboxSent || !strings.HasPrefix(p.Link, "https://roster.test/join?token=") {
			t.Fatalf("newest preview = %+v, want %s's sent invitation", p, u.Email)
		}
		mu.Lock()
		out := logs.String()
		mu.Unlock()
		for _, want := range []string{"level=INFO", "to=", u.Email, p.Link, p.Subject} {
			if !strings.Contains(out, want) {
				t.Errorf("log lacks %q:\n%s", want, out)
			}
		}
		if inv := f.invitation(t, strings.TrimPrefix(p.Link, "https://roster.test/join?token=")); !inv.SentAt.Equal(start) {
			t.Errorf("invitation SentAt = %v, want %v", inv.SentAt, start)
		}
		f.mails(t, 0)
	})
}

type lockedWriter struct {
	w  io.Writer
	mu *sync.Mutex
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func TestPasswordResetMail(t *testing.T) {
	testdb.Each(t, func(t *testing.T, s roster.Store) {
		f := newFixture(t, s)
		now := f.clock.Now()
		ident := &roster.Identity{ID: roster.NewID(now), Email: "Zoe@Example.com", EmailKey: roster.CanonicalEmail("Zoe@Example.com"),
			PasswordHash: "x", CreatedAt: now, UpdatedAt: now, PasswordChangedAt: now}
		r := &roster.PasswordReset{ID: roster.NewID(now), IdentityID: ident.ID, CreatedAt: now}
		r.TokenHash = roster.HashSecret(roster.PasswordResetToken(secret, r.ID))
		err := s.Update(f.ctx, func(tx roster.Tx) error {
			if err := tx.InsertIdentity(f.ctx, ident); err != nil {
				return err
			}
			if err := tx.InsertPasswordReset(f.ctx, r); err != nil {
				return err
			}
			return tx.InsertOutbox(f.ctx, &roster.OutboxMessage{ID: roster.NewID(now), Kind: roster.MailPasswordReset,
				Ref: r.ID, To: ident.Email, CreatedAt: now})
		})
		if err != nil {
			t.Fatal(err)
		}
		runOnce(t, f.worker(t, "a", func(c *outbox.Config) { c.ResetTTL = 30 * time.Minute }), 1)
		m := f.mails(t, 1)[0]
		if m.subject != "Reset your Roster password" {
			t.Errorf("Subject = %q", m.subject)
		}
		if want := "https://roster.test/reset-password?token=" + roster.PasswordResetToken(secret, r.ID); m.link != want {
			t.Errorf("link = %q, want %q", m.link, want)
		}
		for _, want := range []string{"The link expires on 2 June 2025 at 10:30 UTC, 30 minutes after this email was sent",
			"If you did not ask for this, ignore this email; your password is unchanged.", "Zoe@Example.com"} {
			if !strings.Contains(m.text, want) {
				t.Errorf("text part lacks %q:\n%s", want, m.text)
			}
		}
		for _, want := range []string{`<html lang="en">`, `<a href="` + m.link + `"`, "2 June 2025 at 10:30 UTC",
			"If you did not ask for this, ignore this email; your password is unchanged."} {
			if !strings.Contains(m.html, want) {
				t.Errorf("HTML part lacks %q:\n%s", want, m.html)
			}
		}
		got, err := s.PasswordResetByHash(f.ctx, roster.HashSecret(m.token))
		if err != nil || got.ID != r.ID || !got.SentAt.Equal(now) {
			t.Errorf("PasswordResetByHash = %+v, %v; want %s sent at %v", got, err, r.ID, now)
		}
	})
}

func TestRunWakesOnKick(t *testing.T) {
	testdb.Each(t, func(t *testing.T, s roster.Store) {
		f := newFixture(t, s)
		w := f.worker(t, "a", func(c *outbox.Config) { c.Poll = time.Hour })
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error, 1)
		go func() { done <- w.Run(ctx) }()
		f.invite(t)
		w.Kick()
		f.mail.Next(t)
		f.invite(t)
		w.Kick()
		f.mail.Next(t)
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run = %v, want nil after cancel", err)
		}
		f.mails(t, 2)
	})
}

// TestExpertInvitationNamesTheLevel checks that an Expert's invitation says
// which access level they get.
func TestExpertInvitationNamesTheLevel(t *testing.T) {
	testdb.Each(t, func(t *testing.T, s roster.Store) {
		f := newFixture(t, s)
		until := f.clock.Now().Add(7 * 24 * time.Hour)
		if _, err := f.svc.InviteUser(f.ctx, roster.OperatorActor(), f.acct.ID, roster.InviteInput{FirstName: "Xena", LastName: "Expert",
			Email: "xena@tatacommunications.com", Roles: []roster.RoleID{roster.RoleExpert}, ExpertAccess: roster.AccessLimitedWrite,
			AccessUntil: &until}); err != nil {
			t.Fatal(err)
		}
		runOnce(t, f.worker(t, "a"), 1)
		if m := f.mails(t, 1)[0]; !strings.Contains(m.text, "with the role Expert (limited write)") {
			t.Errorf("the Expert's invitation does not name the level:\n%s", m.text)
		}
	})
}
