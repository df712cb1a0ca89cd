package roster_test

import (
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"testing"
	"time"

	"roster"
	"roster/internal/email"
	"roster/internal/outbox"
	"roster/internal/testdb"
	"roster/internal/testsmtp"
)

// TestExpertReport ends an Expert's access after they acted in the
// account, lets the mail worker send to a real SMTP server in the process,
// and reads each Admin's report: every action of that Expert, newest first,
// capped at 200 rows with the total, links to the audit page and its CSV;
// nothing for an Admin revoked before the send or for a non-Admin.
func TestExpertReport(t *testing.T) {
	testdb.Each(t, func(t *testing.T, s roster.Store) {
		e := newEnv(t, s)
		until := e.clock.Now().Add(7 * 24 * time.Hour)
		expert, _ := e.member(t, e.tenant, roles(roster.RoleExpert), func(in *roster.InviteInput) {
			in.FirstName, in.LastName, in.Email, in.AccessUntil = "Eve", "Expert", "eve@"+staffDomain, &until
		})
		bo, _ := e.member(t, e.tenant, roles(roster.RoleAdmin), func(in *roster.InviteInput) { in.FirstName = "Boris" })
		cy, _ := e.member(t, e.tenant, roles(roster.RoleAdmin), func(in *roster.InviteInput) { in.FirstName = "Cyril" })
		support, _ := e.member(t, e.tenant, roles(roster.RoleSupport))
		other := e.newTenant(t) // another account's Admin gets nothing

		// The Expert acts 205 times, a second apart; an Admin's action in
		// between is not theirs.
		const n = 205
		var theirs []*roster.AuditEvent
		err := e.raw.Update(e.ctx, func(tx roster.Tx) error {
			for i := range n {
				e.clock.Advance(time.Second)
				now := e.clock.Now()
				ev := &roster.AuditEvent{ID: roster.NewID(now), AccountID: e.acct.ID, At: now, ActorID: expert.ID,
					ActorName: expert.FullName(), ActorEmail: expert.Email, Action: roster.ActionAPIKeyCreated,
					TargetID: expert.ID, TargetName: expert.FullName(), TargetEmail: expert.Email,
					Details: map[string]any{"name": fmt.Sprintf("key %03d", i)}, IP: "198.51.100.7"}
				if i == n-1 {
					ev.Action, ev.TargetID, ev.TargetName, ev.TargetEmail = roster.ActionUserRevoked, support.ID, "Sam <Support>", support.Email
					ev.Details = map[string]any{"reason": "other", "note": "x"}
				}
				if err := tx.InsertAudit(e.ctx, ev); err != nil {
					return err
				}
				theirs = append(theirs, ev)
				if i == 100 {
					admin := *ev
					admin.ID, admin.ActorID, admin.ActorName, admin.Action = roster.NewID(now), e.adminUser.ID, "Ada Lovelace", roster.ActionUserUpdated
					if err := tx.InsertAudit(e.ctx, &admin); err != nil {
						return err
					}
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}

		e.clock.Advance(time.Minute)
		ended := e.clock.Now()
		err = e.raw.Update(e.ctx, func(tx roster.Tx) error {
			return roster.QueueExpertReport(e.svc, e.ctx, tx, expert, roster.ExpertEndRevoked, ended)
		})
		if err != nil {
			t.Fatalf("queueExpertReport = %v", err)
		}
		if err := e.raw.Update(e.ctx, func(tx roster.Tx) error {
			return roster.QueueExpertReport(e.svc, e.ctx, tx, expert, "bored", ended)
		}); roster.ErrorCode(err) != roster.CodeInvalid {
			t.Errorf("queueExpertReport(unknown reason) = %v, want invalid", err)
		}
		// Cy stops being an Admin before the worker runs: no report.
		if _, err := e.svc.RevokeUser(e.ctx, e.admin, e.acct.ID, cy.ID, roster.RevokeInput{Reason: roster.ReasonIssueResolved}); err != nil {
			t.Fatal(err)
		}

		mail := testsmtp.Start(t, testsmtp.Options{})
		sender, err := email.NewSMTP("smtp://"+mail.Addr, "Roster <noreply@roster.test>")
		if err != nil {
			t.Fatal(err)
		}
		pub := &url.URL{Scheme: "https", Host: "roster.test"}
		w := outbox.New(outbox.Config{Store: s, Sender: sender, From: "Roster <noreply@roster.test>", PublicURL: pub,
			Secret: make([]byte, 32), Owner: "w", Clock: e.clock, Logger: slog.New(slog.DiscardHandler)})
		if _, err := w.RunOnce(e.ctx); err != nil {
			t.Fatalf("RunOnce = %v", err)
		}

		reports := map[string]*testsmtp.Mail{}
		for _, m := range mail.Messages() {
			p, err := m.Parse()
			if err != nil {
				t.Fatal(err)
			}
			if strings.HasPrefix(p.Subject, "Expert access ended") {
				if len(m.To) != 1 || reports[m.To[0]] != nil {
					t.Fatalf("report to %v, twice or to several", m.To)
				}
				reports[m.To[0]] = p
			}
		}
		if len(reports) != 2 || reports[e.adminUser.Email] == nil || reports[bo.Email] == nil {
			t.Fatalf("reports went to %v; want exactly %s and %s (not %s, revoked, %s, Support, nor %s, another account)",
				keys(reports), e.adminUser.Email, bo.Email, cy.Email, support.Email, other.adminUser.Email)
		}
		ms, err := s.RecentOutbox(e.ctx, 100)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range ms {
			if m.Kind == roster.MailExpertReport && m.To == cy.Email &&
				(m.State != roster.OutboxFailed || m.LastError != "Not sent: the recipient is no longer an active Admin of the account.") {
				t.Errorf("report to the revoked Admin = %s %q; want failed, not sent", m.State, m.LastError)
			}
		}

		actor := url.Values{"actor": {expert.ID}}.Encode()
		link := "https://roster.test/accounts/" + e.acct.ID + "/audit?" + actor
		csv := "https://roster.test/accounts/" + e.acct.ID + "/audit.csv?" + actor
		for to, m := range reports {
			first := "Ada"
			if to == bo.Email {
				first = "Boris"
			}
			if want := "Expert access ended: what Eve Expert did in " + e.acct.Name; m.Subject != want {
				t.Errorf("subject = %q, want %q", m.Subject, want)
			}
			for _, want := range []string{
				"Hello " + first + ",",
				"The Expert access of Eve Expert (" + expert.Email + ") to " + e.acct.Name + " on Roster was revoked on " +
					ended.UTC().Format("2 January 2006 at 15:04 UTC") + ".",
				"They performed 205 actions in the account; the newest 200 are listed below, newest first:",
				"\n" + link + "\n", "\n" + csv + "\n",
			} {
				if !strings.Contains(m.Text, want) {
					t.Errorf("report to %s lacks %q:\n%s", to, want, m.Text)
				}
			}
			var rows []string
			for _, line := range strings.Split(m.Text, "\n") {
				if strings.HasPrefix(line, "- ") {
					rows = append(rows, line)
				}
			}
			if len(rows) != 200 {
				t.Fatalf("report to %s lists %d rows, want 200", to, len(rows))
			}
			for i, row := range rows {
				ev := theirs[n-1-i]
				want := "- " + ev.At.UTC().Format("2 Jan 2006 15:04:05 UTC") + ": " + ev.Describe() + " (from 198.51.100.7)"
				if row != want {
					t.Fatalf("report row %d = %q, want %q", i, row, want)
				}
			}
			if !strings.HasPrefix(rows[0], "- ") || !strings.Contains(rows[0], "Revoked access for Sam <Support>") ||
				!strings.Contains(rows[1], "Created an API key “key 203”") || !strings.Contains(rows[199], "“key 005”") {
				t.Errorf("report rows = %q … %q", rows[:2], rows[199])
			}
			if strings.Contains(m.Text, "Ada Lovelace") && strings.Contains(m.Text, "Changed the roles") {
				t.Errorf("report lists an Admin's action:\n%s", m.Text)
			}
			for _, want := range []string{`href="` + strings.ReplaceAll(link, "&", "&amp;") + `"`, "Sam &lt;Support&gt;", "<td", "205"} {
				if !strings.Contains(m.HTML, want) {
					t.Errorf("HTML report lacks %q", want)
				}
			}
		}
	})
}

func keys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
