package outbox

import (
	"context"
	"fmt"
	"net/mail"
	"net/url"
	"strings"

	"roster"
)

// The report an account's Admins get when an Expert's access ends: every
// action that Expert performed in the account, read from the audit log when
// the email is sent, newest first, at most reportRows of them in the body
// with the total and links to the whole log on the audit page and as CSV.

// reportRows caps the rows in the body of a report.
const reportRows = 200

// reportSubject is what a report is about: the recorded end of access,
// the Admin it goes to, and the Expert's events.
type reportSubject struct {
	end       *roster.ExpertAccessEnd
	account   *roster.Account
	recipient *roster.User
	events    []*roster.AuditEvent
	total     int64
}

// loadReport reads a report's subject. CodeNotFound when the recorded end
// is gone, or its recipient is no longer an active Admin of the account: a
// report lists what an Expert did, for the account's Admins only.
func (w *Worker) loadReport(ctx context.Context, m *roster.OutboxMessage) (*reportSubject, error) {
	end, err := w.store.ExpertAccessEnd(ctx, m.AccountID, m.Ref)
	if err != nil {
		return nil, err
	}
	acct, err := w.store.Account(ctx, m.AccountID)
	if err != nil {
		return nil, err
	}
	u, err := w.store.UserByEmail(ctx, m.AccountID, roster.Fold(m.To))
	if err != nil {
		return nil, err
	}
	now := w.clock.Now()
	if u.Status != roster.StatusActive || !u.Roles.Has(roster.RoleAdmin) || !u.AccessUntil.IsZero() && !now.Before(u.AccessUntil) {
		return nil, roster.Errorf(roster.CodeNotFound, "The recipient is no longer an active Admin of the account.")
	}
	q := roster.ExpertReportQuery(end)
	q.Limit = reportRows
	page, err := w.store.AuditEvents(ctx, m.AccountID, q)
	if err != nil {
		return nil, err
	}
	total := int64(len(page.Items))
	if page.NextCursor != nil {
		if total, err = w.store.CountAuditEvents(ctx, m.AccountID, q); err != nil {
			return nil, err
		}
	}
	return &reportSubject{end: end, account: acct, recipient: u, events: page.Items, total: total}, nil
}

type reportData struct {
	Subject   string
	Product   string
	FirstName string
	Expert    string // "Eve Expert (eve@staff.example)"
	Account   string
	Ended     string // "27 November 2026 at 14:05 UTC"
	How       string // "expired", "was revoked by an Admin", "was deleted with their user"
	Total     int64
	Shown     int
	Rows      []reportRow
	Link      string // the audit page, filtered by the Expert
	CSV       string // its CSV download
}

type reportRow struct {
	At, What, IP string
}

// composeReport renders a report into c.
func (w *Worker) composeReport(c *composed, r *reportSubject) (string, any) {
	end := r.end
	c.msg.To = (&mail.Address{Name: r.recipient.FullName(), Address: c.msg.To}).String()
	q := url.Values{"actor": {end.UserID}}.Encode()
	base := "/accounts/" + url.PathEscape(end.AccountID) + "/audit"
	c.link = w.page(base, q)
	d := reportData{Product: w.cfg.ProductName, FirstName: r.recipient.FirstName, Account: r.account.Name,
		Expert: end.Name + " (" + end.Email + ")", Ended: formatTime(end.EndedAt), Total: r.total, Shown: len(r.events),
		Link: c.link, CSV: w.page(base+".csv", q)}
	switch end.Reason {
	case roster.ExpertEndExpired:
		d.How = "ended at its deadline"
	case roster.ExpertEndRevoked:
		d.How = "was revoked"
	case roster.ExpertEndDeleted:
		d.How = "ended when they were deleted"
	default:
		d.How = "ended"
	}
	for _, e := range r.events {
		d.Rows = append(d.Rows, reportRow{At: e.At.UTC().Format("2 Jan 2006 15:04:05 UTC"), What: oneLine(e.Describe()), IP: e.IP})
	}
	d.Subject = oneLine(fmt.Sprintf("Expert access ended: what %s did in %s", end.Name, r.account.Name))
	c.msg.Subject = d.Subject
	return "expert_report", &d
}

// page is PublicURL + path + "?" + query.
func (w *Worker) page(path, query string) string {
	u := *w.cfg.PublicURL
	u.Path = strings.TrimSuffix(u.Path, "/") + path
	u.RawPath, u.Fragment, u.RawFragment = "", "", ""
	u.RawQuery = query
	return u.String()
}
