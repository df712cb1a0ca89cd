package web

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"roster"
	"roster/internal/testdb"
)

// auditFixture writes events into an account's log directly, a minute
// apart from t0, as the service would have: by Alice (the Admin), by Bob
// and by the operator, to Bob or Carol.
type auditFixture struct {
	acct       string
	alice, bob *roster.User
	carol      string
	events     []*roster.AuditEvent // oldest first
}

var auditT0 = time.Date(2025, 5, 1, 8, 0, 0, 0, time.UTC)

func insertAuditEvents(t *testing.T, s roster.Store, acct string, alice, bob *roster.User, carol string) *auditFixture {
	t.Helper()
	f := &auditFixture{acct: acct, alice: alice, bob: bob, carol: carol}
	ctx := context.Background()
	err := s.Update(ctx, func(tx roster.Tx) error {
		for i := range 12 {
			at := auditT0.Add(time.Duration(i) * time.Minute)
			e := &roster.AuditEvent{ID: roster.NewID(at), AccountID: acct, At: at, ActorID: alice.ID, ActorName: alice.FullName(),
				ActorEmail: alice.Email, Action: []string{roster.ActionUserRevoked, roster.ActionUserRestored, roster.ActionUserUpdated}[i%3],
				TargetID: bob.ID, TargetName: bob.FullName(), TargetEmail: bob.Email, IP: "203.0.113.5",
				Details: map[string]any{"reason": "other", "note": fmt.Sprint("n", i)}}
			switch i % 4 {
			case 1:
				e.ActorID, e.ActorName, e.ActorEmail = bob.ID, bob.FullName(), bob.Email
			case 2:
				e.ActorID, e.ActorName, e.ActorEmail, e.IP = "", "Operator", "", ""
			case 3:
				e.TargetID, e.TargetName, e.TargetEmail = carol, "Carol Gone", "carol@acme.example.com"
			}
			if err := tx.InsertAudit(ctx, e); err != nil {
				return err
			}
			f.events = append(f.events, e)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("insert audit events: %v", err)
	}
	return f
}

// ids lists the ids of the fixture's events that keep holds for, newest first.
func (f *auditFixture) ids(keep func(e *roster.AuditEvent) bool) []string {
	var out []string
	for i := len(f.events) - 1; i >= 0; i-- {
		if e := f.events[i]; keep(e) {
			out = append(out, e.ID)
		}
	}
	return out
}

type auditPageOut struct {
	Items []struct {
		ID     string `json:"id"`
		Seq    int64  `json:"seq"`
		Hash   string `json:"hash"`
		Action string `json:"action"`
	} `json:"items"`
	NextCursor *string `json:"next_cursor"`
	PrevCursor *string `json:"prev_cursor"`
}

func TestAuditEventsFilters(t *testing.T) {
	testdb.Each(t, func(t *testing.T, s roster.Store) {
		e := newTestEnv(t, s)
		a := e.mustAccount(t, "Acme")
		bob, _ := e.mustActiveUser(t, a.id, "Bob", "Brown", "bob@acme.example.com", roster.RoleSupport)
		f := insertAuditEvents(t, s, a.id, a.admin, bob, roster.NewID(auditT0))
		inRange := func(e *roster.AuditEvent) bool { return !e.At.Before(auditT0) }
		base := "/api/v1/accounts/" + a.id + "/audit-events"
		get := func(query string) auditPageOut {
			t.Helper()
			rq := request{method: http.MethodGet, path: base + "?" + query, key: a.key}
			res := e.do(t, rq)
			res.wantStatus(t, rq, http.StatusOK)
			var p auditPageOut
			res.decode(t, &p)
			return p
		}
		idsOf := func(p auditPageOut) []string {
			var out []string
			for _, it := range p.Items {
				out = append(out, it.ID)
			}
			return out
		}
		// The setup's own events are outside this hour.
		since := "since=" + url.QueryEscape(auditT0.Format(time.RFC3339)) + "&until=" + url.QueryEscape(auditT0.Add(time.Hour).Format(time.RFC3339))
		for _, c := range []struct {
			query string
			keep  func(e *roster.AuditEvent) bool
		}{
			{"actor=" + bob.ID, func(e *roster.AuditEvent) bool { return e.ActorID == bob.ID }},
			{"actor=operator", func(e *roster.AuditEvent) bool { return e.ActorID == "" }},
			{"target=" + f.carol, func(e *roster.AuditEvent) bool { return e.TargetID == f.carol }},
			{"action=user.access_revoked", func(e *roster.AuditEvent) bool { return e.Action == roster.ActionUserRevoked }},
			{"action=user.access_revoked,user.access_restored", func(e *roster.AuditEvent) bool { return e.Action != roster.ActionUserUpdated }},
			{"action=user.access_revoked&action=user.updated", func(e *roster.AuditEvent) bool { return e.Action != roster.ActionUserRestored }},
			{"since=" + url.QueryEscape(auditT0.Format(time.RFC3339)) + "&until=" + url.QueryEscape(auditT0.Add(5*time.Minute).Format(time.RFC3339)),
				func(e *roster.AuditEvent) bool { return inRange(e) && e.At.Before(auditT0.Add(5*time.Minute)) }},
			{since + "&actor=" + a.admin.ID + "&target=" + bob.ID + "&action=user.updated", func(e *roster.AuditEvent) bool {
				return e.ActorID == a.admin.ID && e.TargetID == bob.ID && e.Action == roster.ActionUserUpdated
			}},
			{"actor=" + roster.NewID(auditT0), func(*roster.AuditEvent) bool { return false }},
		} {
			want := f.ids(c.keep)
			query := c.query
			if !strings.Contains(query, "since=") {
				query += "&" + since
			}
			if got := idsOf(get(query + "&limit=200")); !slices.Equal(got, want) {
				t.Errorf("audit-events?%s = %v, want %v", c.query, got, want)
			}
		}

		// Pages of 5 within a time range, forwards then backwards.
		var fwd []string
		var last auditPageOut
		q := since + "&limit=5"
		for range 5 {
			last = get(q)
			fwd = append(fwd, idsOf(last)...)
			if last.NextCursor == nil {
				break
			}
			q = since + "&limit=5&cursor=" + url.QueryEscape(*last.NextCursor)
		}
		if want := f.ids(inRange); !slices.Equal(fwd, want) {
			t.Errorf("paged forwards = %v, want %v", fwd, want)
		}
		back := idsOf(last)
		for c := last.PrevCursor; c != nil; {
			p := get(since + "&limit=5&cursor=" + url.QueryEscape(*c))
			back = append(idsOf(p), back...)
			c = p.PrevCursor
		}
		if want := f.ids(inRange); !slices.Equal(back, want) {
			t.Errorf("paged backwards = %v, want %v", back, want)
		}

		// Each event shows its place in the chain and its hash.
		p := get("limit=1&" + since)
		newest := f.events[len(f.events)-1]
		if len(p.Items) != 1 || p.Items[0].Seq != newest.Seq || p.Items[0].Hash != fmt.Sprintf("%x", newest.Hash) || p.PrevCursor != nil {
			t.Errorf("newest event = %+v, prev %v; want seq %d hash %x and no prev_cursor", p.Items, p.PrevCursor, newest.Seq, newest.Hash)
		}
	})
}

func TestAuditEventsBadParameters(t *testing.T) {
	testdb.Each(t, func(t *testing.T, s roster.Store) {
		e := newTestEnv(t, s)
		a := e.mustAccount(t, "Acme")
		_, support := e.mustActiveUser(t, a.id, "Sam", "Support", "sam@acme.example.com", roster.RoleSupport)
		other := e.mustAccount(t, "Other")
		base := "/api/v1/accounts/" + a.id + "/audit-events"
		for _, path := range []string{base, base + ".csv"} {
			for _, c := range []struct {
				query  string
				fields []string
			}{
				{"actor=alice", []string{"actor"}},
				{"target=operator", []string{"target"}},
				{"action=user.exploded", []string{"action"}},
				{"action=user.invited,nope", []string{"action"}},
				{"since=yesterday", []string{"since"}},
				{"until=2025-13-01T00:00:00Z", []string{"until"}},
				{"since=2025-06-01T00:00:00Z&until=2025-06-01T00:00:00Z", []string{"until"}},
				{"actor=x&target=y&since=z", []string{"actor", "since", "target"}},
				{"actor=a&actor=b", []string{"actor"}},
				{"q=x", []string{"q"}},
			} {
				rq := request{method: http.MethodGet, path: path + "?" + c.query, key: a.key}
				res := e.do(t, rq)
				res.wantStatus(t, rq, http.StatusBadRequest)
				if got := res.fields(t); !slices.Equal(got, c.fields) {
					t.Errorf("%s: fields %v, want %v", rq, got, c.fields)
				}
			}
		}
		for _, c := range []struct {
			query, field string
		}{{"limit=0", "limit"}, {"limit=201", "limit"}, {"cursor=zzz", "cursor"}, {"cursor=" + (&roster.AuditCursor{}).Encode(), "cursor"}} {
			rq := request{method: http.MethodGet, path: base + "?" + c.query, key: a.key}
			res := e.do(t, rq)
			res.wantStatus(t, rq, http.StatusBadRequest)
			if got := res.fields(t); !slices.Equal(got, []string{c.field}) {
				t.Errorf("%s: fields %v, want [%s]", rq, got, c.field)
			}
			// The export has no pages.
			rq.path = base + ".csv?" + c.query
			e.do(t, rq).wantStatus(t, rq, http.StatusBadRequest)
		}
		for _, path := range []string{base, base + ".csv"} {
			rq := request{method: http.MethodGet, path: path, key: support}
			e.do(t, rq).wantStatus(t, rq, http.StatusForbidden)
			rq = request{method: http.MethodGet, path: path, key: other.key}
			res := e.do(t, rq)
			res.wantStatus(t, rq, http.StatusNotFound)
			missing := request{method: http.MethodGet, path: strings.Replace(path, a.id, roster.NewID(auditT0), 1), key: other.key}
			if m := e.do(t, missing); m.status != http.StatusNotFound || string(m.body) != strings.ReplaceAll(string(res.body), a.id, roster.NewID(auditT0)) &&
				m.problem(t).Detail != res.problem(t).Detail {
				t.Errorf("%s = %d %s; want the answer of a missing account, %s", rq, res.status, res.body, m.body)
			}
		}
	})
}

func TestAuditEventsCSV(t *testing.T) {
	testdb.Each(t, func(t *testing.T, s roster.Store) {
		e := newTestEnv(t, s)
		a := e.mustAccount(t, "Acme")
		bob, _ := e.mustActiveUser(t, a.id, "Bob", "Brown", "bob@acme.example.com", roster.RoleSupport)
		f := insertAuditEvents(t, s, a.id, a.admin, bob, roster.NewID(auditT0))
		// Cells a spreadsheet would run as formulas.
		evil := &roster.AuditEvent{ID: roster.NewID(auditT0.Add(time.Hour)), AccountID: a.id, At: auditT0.Add(time.Hour),
			ActorID: bob.ID, ActorName: "=HYPERLINK(\"http://evil.example\",\"x\")", ActorEmail: "+1@evil.example",
			Action: roster.ActionUserUpdated, TargetID: bob.ID, TargetName: "-2+3", TargetEmail: "@SUM(A1)",
			Details: map[string]any{"note": "=1+1", "n": 1.5}, IP: "\tcmd"}
		if err := s.Update(context.Background(), func(tx roster.Tx) error { return tx.InsertAudit(context.Background(), evil) }); err != nil {
			t.Fatal(err)
		}
		f.events = append(f.events, evil)

		rq := request{method: http.MethodGet, path: "/api/v1/accounts/" + a.id + "/audit-events.csv?actor=" + bob.ID, key: a.key}
		res := e.do(t, rq)
		res.wantStatus(t, rq, http.StatusOK)
		if ct, cd := res.header.Get("Content-Type"), res.header.Get("Content-Disposition"); ct != "text/csv; charset=utf-8" ||
			!regexp.MustCompile(`^attachment; filename="audit-events-\d{4}-\d\d-\d\d\.csv"$`).MatchString(cd) {
			t.Errorf("CSV headers: Content-Type %q, Content-Disposition %q", ct, cd)
		}
		records, err := csv.NewReader(strings.NewReader(string(res.body))).ReadAll()
		if err != nil {
			t.Fatalf("the CSV does not parse: %v\n%s", err, res.body)
		}
		if want := []string{"time", "seq", "actor_id", "actor_name", "actor_email", "action", "target_id", "target_name",
			"target_email", "details", "ip", "hash"}; !slices.Equal(records[0], want) {
			t.Errorf("header = %q, want %q", records[0], want)
		}
		want := f.ids(func(e *roster.AuditEvent) bool { return e.ActorID == bob.ID })
		if len(records) != len(want)+1 {
			t.Fatalf("CSV has %d rows, want %d:\n%s", len(records)-1, len(want), res.body)
		}
		byID := map[string]*roster.AuditEvent{}
		for _, ev := range f.events {
			byID[ev.ID] = ev
		}
		for i, id := range want {
			ev, row := byID[id], records[i+1]
			if row[1] != fmt.Sprint(ev.Seq) || row[11] != fmt.Sprintf("%x", ev.Hash) || row[0] != ev.At.UTC().Format(time.RFC3339Nano) {
				t.Errorf("row %d = %q; want the event of seq %d at %s", i, row, ev.Seq, ev.At)
			}
		}
		if got, want := records[1], []string{auditT0.Add(time.Hour).Format(time.RFC3339), fmt.Sprint(evil.Seq), bob.ID,
			"'=HYPERLINK(\"http://evil.example\",\"x\")", "'+1@evil.example", "user.updated", bob.ID, "'-2+3", "'@SUM(A1)",
			`{"n":1.5,"note":"=1+1"}`, "'\tcmd", fmt.Sprintf("%x", evil.Hash)}; !slices.Equal(got, want) {
			t.Errorf("the formula row = %q\nwant %q", got, want)
		}

		// An empty selection is the header alone.
		rq.path = "/api/v1/accounts/" + a.id + "/audit-events.csv?actor=" + roster.NewID(auditT0)
		res = e.do(t, rq)
		res.wantStatus(t, rq, http.StatusOK)
		if got := string(res.body); got != strings.Join(records[0], ",")+"\n" {
			t.Errorf("empty export = %q, want the header row", got)
		}
	})
}

func TestCSVSafe(t *testing.T) {
	for in, want := range map[string]string{"": "", "Ada": "Ada", "=1": "'=1", "+1": "'+1", "-1": "'-1", "@a": "'@a",
		"\tx": "'\tx", "\rx": "'\rx", "a=1": "a=1", "'=1": "'=1", " =1": " =1"} {
		if got := csvSafe(in); got != want {
			t.Errorf("csvSafe(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestAuditPage(t *testing.T) {
	testdb.Each(t, func(t *testing.T, s roster.Store) {
		e, acct, b := signedInAdmin(t, s)
		us := e.mustListUsers(t, acct, listUser{first: "Bob", last: "Brown", status: roster.StatusActive})
		alice := e.mustUser(t, acct, adminEmail)
		bob := us["Bob"]
		f := insertAuditEvents(t, s, acct, alice, bob, roster.NewID(auditT0))
		path := "/accounts/" + acct + "/audit"

		p := b.get(t, path).want(t, http.StatusOK).has(t, "<title>Audit log – Roster</title>", "<h1>Audit log</h1>",
			`<label for="audit-actor">Done by</label>`, `<select id="audit-action" name="action"`, `<input type="date" id="audit-from" name="from"`,
			`<table id="audit">`, "Revoked access for Bob Brown", "Restored access for Carol Gone",
			`href="`+html.EscapeString(path+".csv")+`"`, ">Download CSV<")
		n, err := s.CountAuditEvents(e.ctx, acct, roster.AuditQuery{})
		if err != nil {
			t.Fatal(err)
		}
		total := int(n) // the fixture's and the setup's
		if n := strings.Count(p.body, "<tr data-seq="); n != min(total, roster.DefaultLimit) {
			t.Errorf("rows = %d, want %d", n, total)
		}
		if !strings.Contains(p.body, `<tr data-seq="`+fmt.Sprint(f.events[len(f.events)-1].Seq)+`">`) {
			t.Error("the newest event is not the first row")
		}

		// Done by Bob, by his email: the address keeps what was typed, the
		// CSV link the same filters.
		q := url.Values{"actor": {"BOB.brown@acme.example.com"}, "action": {roster.ActionUserRestored}}
		p = b.get(t, path+"?"+q.Encode()).want(t, http.StatusOK).has(t, "Events done by Bob Brown (bob.brown@acme.example.com), “Restored access for”.")
		want := f.ids(func(e *roster.AuditEvent) bool { return e.ActorID == bob.ID && e.Action == roster.ActionUserRestored })
		if n := strings.Count(p.body, "<tr data-seq="); n != len(want) || n == 0 {
			t.Errorf("rows done by Bob = %d, want %d", n, len(want))
		}
		if got := p.link(t, "Download CSV"); got != path+".csv?"+q.Encode() {
			t.Errorf("CSV link = %q, want %q", got, path+".csv?"+q.Encode())
		}
		p.lacks(t, "Operator</a>", ">Alice Admin<")

		// The operator, a date range, paging: 12 events on 1 May, none on 2 May.
		p = b.get(t, path+"?actor=operator").want(t, http.StatusOK)
		if n := strings.Count(p.body, "<tr data-seq="); n != len(f.ids(func(e *roster.AuditEvent) bool { return e.ActorID == "" })) {
			t.Errorf("operator rows = %d", n)
		}
		b.get(t, path+"?from=2025-05-02&to=2025-05-02").want(t, http.StatusOK).has(t, "No events match these filters.", ">Clear the filters<")
		p = b.get(t, path+"?from=2025-05-01&to=2025-05-01").want(t, http.StatusOK)
		if n := strings.Count(p.body, "<tr data-seq="); n != len(f.events) {
			t.Errorf("rows of 1 May = %d, want %d", n, len(f.events))
		}

		// Bad filters are explained beside their fields, and the rest still applies.
		p = b.get(t, path+"?actor=nobody@acme.example.com&target=bob&from=May&to=2025-01-01&action=nope").want(t, http.StatusBadRequest).has(t,
			"No user of this account has the email nobody@acme.example.com.", "Enter an email address of a user of this account.",
			"Enter a date such as 2026-11-27.", "Choose an action from the list.", `value="nobody@acme.example.com"`)
		b.get(t, path+"?from=2025-05-02&to=2025-05-01").want(t, http.StatusBadRequest).has(t, "The To date must be on or after the From date.")
		b.get(t, path+"?from=1969-12-31").want(t, http.StatusBadRequest).has(t, `<a href="#audit-from">Enter a date between 1970 and 9998.</a>`)
		b.get(t, path+"?cursor=zzz").want(t, http.StatusBadRequest).has(t, "The page position in this address is not valid")

		// Pages of 25: the 26 events page once, Older then Newer.
		more := make([]*roster.AuditEvent, 0, 20)
		err = s.Update(context.Background(), func(tx roster.Tx) error {
			for i := range 20 {
				at := auditT0.Add(time.Duration(100+i) * time.Minute)
				ev := &roster.AuditEvent{ID: roster.NewID(at), AccountID: acct, At: at, ActorID: alice.ID, ActorName: alice.FullName(),
					Action: roster.ActionUserDeleted, TargetName: "Old User", TargetEmail: "old@acme.example.com"}
				more = append(more, ev)
				if err := tx.InsertAudit(context.Background(), ev); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		p = b.get(t, path).want(t, http.StatusOK).lacks(t, ">Newer<", ">Newest<")
		older := p.link(t, "Older")
		p = b.get(t, older).want(t, http.StatusOK).has(t, ">Newer<", ">Newest<").lacks(t, ">Older<")
		if n := strings.Count(p.body, "<tr data-seq="); n != total+len(more)-roster.DefaultLimit {
			t.Errorf("second page rows = %d, want %d", n, total+len(more)-roster.DefaultLimit)
		}
		p = b.get(t, p.link(t, "Newer")).want(t, http.StatusOK).lacks(t, ">Newer<")
		if n := strings.Count(p.body, "<tr data-seq="); n != roster.DefaultLimit {
			t.Errorf("back on the first page: %d rows", n)
		}

		// The CSV of the page, with the session.
		req, _ := http.NewRequest(http.MethodGet, e.srv.URL+path+".csv?"+url.Values{"actor": {bob.Email}}.Encode(), nil)
		res, err := b.client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		records, err := csv.NewReader(res.Body).ReadAll()
		res.Body.Close()
		if err != nil || res.StatusCode != http.StatusOK || res.Header.Get("Content-Type") != "text/csv; charset=utf-8" ||
			len(records) != 1+len(f.ids(func(e *roster.AuditEvent) bool { return e.ActorID == bob.ID })) {
			t.Errorf("page CSV = %d %q, %d records, %v", res.StatusCode, res.Header.Get("Content-Type"), len(records), err)
		}
		b.get(t, path+".csv?actor=nobody").want(t, http.StatusBadRequest).has(t, "The download could not be made")

		// A deleted user's events, by the id the log keeps: named as they were.
		b.get(t, path+"?target="+f.carol).want(t, http.StatusOK).has(t, "Events done to Carol Gone (carol@acme.example.com, deleted).")

		// Links to the log: the Users page header, a user's details.
		b.get(t, usersPagePath(acct)).want(t, http.StatusOK).has(t, `href="`+path+`"`)
		b.get(t, usersPagePath(acct)+"/"+bob.ID).want(t, http.StatusOK).has(t, `href="`+html.EscapeString(path+"?actor="+bob.ID)+`"`)

		// Not for a member without User Management, nor signed out.
		sam := e.mustActive(t, acct, "Sam", "Support", "sam@acme.example.com")
		sb := e.browser(t)
		sb.signIn(t, sam.Email, newPassword)
		sb.get(t, path).want(t, http.StatusForbidden).has(t, "can read its audit log")
		e.browser(t).get(t, path+"?actor=operator").redirects(t, "/sign-in?next="+url.QueryEscape(path+"?actor=operator"))
	})
}

// failingBatches fails every audit page read after the first.
type failingBatches struct{ roster.Store }

func (f failingBatches) AuditEvents(ctx context.Context, accountID string, q roster.AuditQuery) (*roster.AuditPage, error) {
	if q.After != nil {
		return nil, errors.New("internal-detail: the database went away")
	}
	return f.Store.AuditEvents(ctx, accountID, q)
}

// TestAuditCSVCutShort: a failure after the download began cannot become
// a problem any more; the response ends without its last chunk, so the
// client sees an incomplete download, and the log has the error.
func TestAuditCSVCutShort(t *testing.T) {
	testdb.Each(t, func(t *testing.T, s roster.Store) {
		e := newTestEnv(t, failingBatches{s})
		a := e.mustAccount(t, "Acme")
		err := s.Update(context.Background(), func(tx roster.Tx) error {
			for i := range roster.AuditExportBatch + 1 {
				at := auditT0.Add(time.Duration(i) * time.Second)
				ev := &roster.AuditEvent{ID: roster.NewID(at), AccountID: a.id, At: at, Action: roster.ActionUserUpdated}
				if err := tx.InsertAudit(context.Background(), ev); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		req, _ := http.NewRequest(http.MethodGet, e.srv.URL+"/api/v1/accounts/"+a.id+"/audit-events.csv", nil)
		req.Header.Set("Authorization", "Bearer "+a.key)
		res, err := e.srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusOK || err == nil {
			t.Errorf("a CSV download that failed midway = %d, %d bytes, read error %v; want 200 and a broken body", res.StatusCode, len(body), err)
		}
		if lines := strings.Count(string(body), "\n"); lines > roster.AuditExportBatch+1 {
			t.Errorf("the cut download has %d lines, more than the first batch", lines)
		}
		if !strings.Contains(e.logs.String(), "audit export cut short") || !strings.Contains(e.logs.String(), "internal-detail") {
			t.Errorf("the log lacks the failure:\n%s", e.logs.String())
		}
	})
}

// TestAuditPageNotes: the details under an event are in the pages' words:
// the revoke reason as the dialog names it, and what a change of roles
// added and removed, never the API's ids.
func TestAuditPageNotes(t *testing.T) {
	testdb.Each(t, func(t *testing.T, s roster.Store) {
		e, acct, b := signedInAdmin(t, s)
		op := roster.OperatorActor()
		sam := e.mustActive(t, acct, "Sam", "Support", "sam@acme.example.com")
		roles := []roster.RoleID{roster.RoleCommunicationManager}
		if _, err := e.svc.UpdateUser(e.ctx, op, acct, sam.ID, roster.UpdateInput{Roles: &roles}, ""); err != nil {
			t.Fatal(err)
		}
		if _, err := e.svc.RevokeUser(e.ctx, op, acct, sam.ID, roster.RevokeInput{Reason: roster.ReasonSecurityPrivacy}); err != nil {
			t.Fatal(err)
		}
		b.get(t, "/accounts/"+acct+"/audit").want(t, http.StatusOK).
			has(t, "Reason: Security &amp; Privacy concerns", "Added: Communication Manager · Removed: Support").
			lacks(t, "security_privacy", "security privacy", "communication_manager")
	})
}
