package outbox_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"roster"
	"roster/internal/testdb"
)

// expertFixture is a fixture whose service knows a staff domain, with a
// second active Admin, an invited Admin (no reminders: cannot act yet) and
// an active Expert whose access ends in ten days.
type expertFixture struct {
	*fixture
	bob    *roster.User
	expert *roster.User
	seen   int // messages the mail server received before
}

func newExpertFixture(t *testing.T, s roster.Store) *expertFixture {
	t.Helper()
	f := newFixture(t, s)
	f.svc = roster.NewService(s, roster.Config{Secret: secret, Clock: f.clock, StaffDomains: []string{"staff.example"}})
	x := &expertFixture{fixture: f}
	n := seq.Add(1)
	x.bob = x.activate(t, x.inviteAs(t, roster.InviteInput{FirstName: "Bob", LastName: "Builder",
		Email: fmt.Sprintf("bob%d@acme.example", n), Roles: []roster.RoleID{roster.RoleAdmin}}))
	x.inviteAs(t, roster.InviteInput{FirstName: "Ivy", LastName: "Invited", Email: fmt.Sprintf("ivy%d@acme.example", n),
		Roles: []roster.RoleID{roster.RoleAdmin}})
	until := start.Add(10 * 24 * time.Hour)
	x.expert = x.activate(t, x.inviteAs(t, roster.InviteInput{FirstName: "Eve", LastName: "Expert",
		Email: fmt.Sprintf("eve%d@staff.example", n), Roles: []roster.RoleID{roster.RoleExpert},
		ExpertAccess: roster.AccessReadOnly, AccessUntil: &until}))
	// The invitations are not what this is about.
	runOnce(t, x.worker(t, "setup"), 3)
	x.seen = 3
	return x
}

func (x *expertFixture) inviteAs(t *testing.T, in roster.InviteInput) *roster.User {
	t.Helper()
	u, err := x.svc.InviteUser(x.ctx, x.admin, x.acct.ID, in)
	if err != nil {
		t.Fatalf("InviteUser(%s) = %v", in.Email, err)
	}
	return u
}

// activate makes an invited user active, as registration does.
func (x *expertFixture) activate(t *testing.T, u *roster.User) *roster.User {
	t.Helper()
	var out *roster.User
	err := x.store.Update(x.ctx, func(tx roster.Tx) error {
		v, err := tx.UserForUpdate(x.ctx, u.AccountID, u.ID)
		if err != nil {
			return err
		}
		v.Status, v.JoinedAt, v.Version = roster.StatusActive, x.clock.Now(), v.Version+1
		out = v
		return tx.UpdateUser(x.ctx, v)
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func (x *expertFixture) deadlines(t *testing.T, reminders, ended int) {
	t.Helper()
	r, n, err := x.svc.RunDeadlines(x.ctx)
	if err != nil || r != reminders || n != ended {
		t.Fatalf("RunDeadlines = %d reminders, %d ended, %v; want %d, %d", r, n, err, reminders, ended)
	}
}

// newMails returns the messages received since the last call, want of them.
func (x *expertFixture) newMails(t *testing.T, want int) []gotMail {
	t.Helper()
	all := x.mails(t, x.seen+want)
	x.seen += want
	return all[len(all)-want:]
}

func TestExpertRemindersDelivered(t *testing.T) {
	testdb.Each(t, func(t *testing.T, s roster.Store) {
		x := newExpertFixture(t, s)
		deadline := x.expert.AccessUntil
		w := x.worker(t, "a")

		x.clock.Advance(deadline.Add(-7*24*time.Hour - time.Nanosecond).Sub(x.clock.Now()))
		x.deadlines(t, 0, 0)
		x.clock.Advance(time.Nanosecond)
		x.deadlines(t, 2, 0)
		x.deadlines(t, 0, 0)
		runOnce(t, w, 2)
		got := x.newMails(t, 2)
		link := "https://roster.test/accounts/" + x.acct.ID + "/users/" + x.expert.ID
		recipients := map[string]bool{}
		for _, m := range got {
			recipients[m.to[0]] = true
			if want := "Eve Expert's Expert access to " + x.acct.Name + " ends in seven days"; m.subject != want {
				t.Errorf("Subject = %q, want %q", m.subject, want)
			}
			for _, want := range []string{
				"The Expert access of Eve Expert (" + x.expert.Email + ") to " + x.acct.Name + " ends in seven days, on 12 June 2025 at 10:00 UTC.",
				"They have read-only access",
				"\n" + link + "\n",
			} {
				if !strings.Contains(m.text, want) {
					t.Errorf("text part lacks %q:\n%s", want, m.text)
				}
			}
			if !strings.Contains(m.html, `<a href="`+link+`"`) {
				t.Errorf("HTML part lacks the link to the user:\n%s", m.html)
			}
		}
		if len(recipients) != 2 || !recipients[x.bob.Email] || !recipients[x.admin.Email] {
			t.Errorf("recipients = %v, want the two active Admins %s and %s", recipients, x.admin.Email, x.bob.Email)
		}
		if strings.Contains(got[0].text, "Hello Bob") == strings.Contains(got[1].text, "Hello Bob") {
			t.Errorf("each Admin is greeted by name: %q / %q", got[0].text[:20], got[1].text[:20])
		}

		// One day before: the last reminder, once.
		x.clock.Advance(deadline.Add(-24 * time.Hour).Sub(x.clock.Now()))
		x.deadlines(t, 2, 0)
		runOnce(t, w, 2)
		for _, m := range x.newMails(t, 2) {
			if !strings.Contains(m.subject, "ends in 24 hours") {
				t.Errorf("Subject = %q, want it to end in 24 hours", m.subject)
			}
		}
		// At the deadline access ends: no reminder is left, and each
		// Admin gets the report of what the Expert did instead.
		x.clock.Advance(deadline.Sub(x.clock.Now()))
		x.deadlines(t, 0, 1)
		runOnce(t, w, 2)
		for _, m := range x.newMails(t, 2) {
			if strings.Contains(m.subject, "ends in") || !strings.Contains(m.subject, "access") {
				t.Errorf("Subject = %q, want the end-of-access report", m.subject)
			}
		}
	})
}

func TestExpertReminderNotSentWhenStale(t *testing.T) {
	testdb.Each(t, func(t *testing.T, s roster.Store) {
		x := newExpertFixture(t, s)
		x.clock.Advance(3 * 24 * time.Hour) // 7 days before
		x.deadlines(t, 2, 0)
		// Before the worker sends them, an Admin extends the deadline.
		later := x.clock.Now().Add(30 * 24 * time.Hour)
		if _, err := x.svc.UpdateUser(x.ctx, x.admin, x.acct.ID, x.expert.ID, roster.UpdateInput{AccessUntil: &later}, ""); err != nil {
			t.Fatal(err)
		}
		runOnce(t, x.worker(t, "a"), 0)
		x.newMails(t, 0)
		row := x.row(t, x.bob.Email)
		if row.State != roster.OutboxFailed || !strings.Contains(row.LastError, "the access deadline moved to") {
			t.Errorf("outbox row = %+v, want not sent because the deadline moved", row)
		}
	})
}
