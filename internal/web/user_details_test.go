package web

import (
	"html"
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

// detailsEnv is Acme with its Admin Alice signed in, and what the details
// tests look at.
type detailsEnv struct {
	*pageEnv
	acct  string
	admin *browser
	actor *roster.Actor // Alice as an Admin of Acme, for inviting through the service
}

func newDetailsEnv(t *testing.T, s roster.Store) *detailsEnv {
	t.Helper()
	e := newPageEnv(t, s)
	d := &detailsEnv{pageEnv: e, acct: e.mustSetup(t), admin: e.browser(t)}
	d.admin.signIn(t, adminEmail, adminPassword)
	_, ident, err := e.svc.Authenticate(e.ctx, d.admin.sessionCookie(), roster.Client{})
	if err != nil {
		t.Fatalf("Authenticate(alice) = %v", err)
	}
	if d.actor, err = e.svc.ActorFor(e.ctx, ident, d.acct, roster.Client{IP: "192.0.2.1"}); err != nil {
		t.Fatalf("ActorFor(alice) = %v", err)
	}
	return d
}

// mustInviteAs invites a user as Alice with the given roles and returns
// the user and their invitation link.
func (d *detailsEnv) mustInviteAs(t *testing.T, first, last, email string, roles []roster.RoleID, until *time.Time) invitation {
	t.Helper()
	in := roster.InviteInput{FirstName: first, LastName: last, Email: email, Roles: roles, AccessUntil: until}
	if slices.Contains(roles, roster.RoleExpert) {
		in.ExpertAccess = roster.AccessReadOnly
	}
	u, err := d.svc.InviteUser(d.ctx, d.actor, d.acct, in)
	if err != nil {
		t.Fatalf("InviteUser(%s) = %v", email, err)
	}
	m := d.newestMail(t, roster.MailInvitation, email, d.acct)
	return invitation{user: u, id: m.Ref, token: roster.InvitationToken(d.secret, m.Ref)}
}

// finishMail records the outcome of delivering the newest invitation email
// to email, as the mail worker would.
func (d *detailsEnv) finishMail(t *testing.T, email, state, lastError string) {
	t.Helper()
	now := d.clock.Now()
	claimed, err := d.store.ClaimOutbox(d.ctx, "details-test", now, now.Add(time.Minute), 100)
	if err != nil {
		t.Fatalf("ClaimOutbox: %v", err)
	}
	found := false
	err = d.store.Update(d.ctx, func(tx roster.Tx) error {
		for _, m := range claimed {
			if m.Kind == roster.MailInvitation && m.To == email {
				found = true
				m.State, m.LastError = state, lastError
				if state == roster.OutboxSent {
					m.SentAt = now
				}
			}
			m.NextAttemptAt = now
			if err := tx.FinishOutbox(d.ctx, m, "details-test"); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil || !found {
		t.Fatalf("finishing the invitation email to %s: found %v, %v", email, found, err)
	}
}

func (d *detailsEnv) detailsPath(userID string) string {
	return "/accounts/" + d.acct + "/users/" + userID
}

var hrefRE = regexp.MustCompile(`<a [^>]*href="([^"]*)"[^>]*>([^<]*)`)

// links returns the targets of the page's links by their text, as a
// browser reads them.
func links(p *page) map[string][]string {
	out := map[string][]string{}
	for _, m := range hrefRE.FindAllStringSubmatch(p.body, -1) {
		text := strings.TrimSpace(html.UnescapeString(m[2]))
		out[text] = append(out[text], html.UnescapeString(m[1]))
	}
	return out
}

func TestUserDetailsPage(t *testing.T) {
	testdb.Each(t, func(t *testing.T, s roster.Store) {
		d := newDetailsEnv(t, s)
		start := d.clock.Now()
		support := []roster.RoleID{roster.RoleSupport}

		// Active, signed in once from a known address and browser.
		grace := d.mustInviteAs(t, "Grace", "Hopper", "grace@acme.example.com", support, nil)
		d.mustRegister(t, grace, newPassword)
		gb := d.browser(t)
		gb.ip = "203.0.113.7"
		gb.signIn(t, "grace@acme.example.com", newPassword)

		// Revoked, with a reason and a note.
		linus := d.mustInviteAs(t, "Linus", "Revoked", "linus@acme.example.com", support, nil)
		d.mustRegister(t, linus, newPassword)
		if _, err := d.svc.RevokeUser(d.ctx, d.actor, d.acct, linus.user.ID, roster.RevokeInput{Reason: roster.ReasonOther, Note: "Left the team"}); err != nil {
			t.Fatalf("RevokeUser = %v", err)
		}

		// Invited: one email waiting, one being retried, one sent, one
		// that failed.
		ivy := d.mustInviteAs(t, "Ivy", "Waiting", "ivy@acme.example.com", support, nil)
		sam := d.mustInviteAs(t, "Sam", "Sent", "sam@acme.example.com", support, nil)
		d.finishMail(t, "sam@acme.example.com", roster.OutboxSent, "")
		fay := d.mustInviteAs(t, "Fay", "Failed", "fay@acme.example.com", support, nil)
		d.finishMail(t, "fay@acme.example.com", roster.OutboxFailed, "550 5.1.1 mailbox unavailable")
		wes := d.mustInviteAs(t, "Wes", "Retried", "wes@acme.example.com", support, nil)
		d.finishMail(t, "wes@acme.example.com", roster.OutboxPending, "421 4.7.0 try again later")

		// An Expert whose deadline has passed: still active, but out.
		until := start.Add(48 * time.Hour)
		eve := d.mustInviteAs(t, "Eve", "Expert", "eve@tatacommunications.com", []roster.RoleID{roster.RoleExpert}, &until)
		d.mustRegister(t, eve, newPassword)

		a := d.admin
		p := a.get(t, d.detailsPath(grace.user.ID)).want(t, http.StatusOK).has(t,
			"<title>Account Details: Grace Hopper – Roster</title>", "<h1>Account Details</h1>", "Grace Hopper", "grace@acme.example.com",
			`<dt>Roles</dt><dd>Support</dd>`, `<span class="badge badge-active"><span class="visually-hidden">Status: </span>Active</span>`,
			"203.0.113.7", "Firefox 132 on Windows", `<dt>Invited by</dt><dd>Alice Admin</dd>`,
			`<dt>Invited at</dt><dd><time datetime="`+start.Format(time.RFC3339)+`">`+when(start)+`</time>`,
			`<dt>Joined at</dt><dd><time`, `<dt>Access Till</dt><dd>No end date</dd>`, `<dt>Active API keys</dt><dd>0</dd>`).
			lacks(t, "Never signed in", "Access expired", "Invitation email", "Restore Access", "Resend Invitation")
		wantActions(t, p, d.acct, grace.user.ID, "Edit", "Revoke Access", "Delete")

		p = a.get(t, d.detailsPath(linus.user.ID)).want(t, http.StatusOK).has(t,
			`badge badge-inactive`, ">Inactive</span>", "Reason: Other (Left the team)", "until access is restored")
		wantActions(t, p, d.acct, linus.user.ID, "Edit", "Restore Access", "Delete")
		p.lacks(t, ">Revoke Access<", "Resend Invitation")

		p = a.get(t, d.detailsPath(ivy.user.ID)).want(t, http.StatusOK).has(t,
			`badge badge-invited`, ">Invitation Sent</span>", "<h2 id=\"delivery-title\">Invitation email</h2>", ">Waiting to be sent<",
			"queued", "<dd>Never signed in</dd>", "<dd>Not joined yet</dd>", `<dt>IP Address</dt><dd>Not recorded</dd>`)
		wantActions(t, p, d.acct, ivy.user.ID, "Edit", "Resend Invitation", "Delete")
		p.lacks(t, ">Revoke Access<", ">Restore Access<")

		a.get(t, d.detailsPath(wes.user.ID)).want(t, http.StatusOK).has(t, ">Waiting to be sent<", "(1 attempt so far)",
			"<q>421 4.7.0 try again later</q>", "Roster keeps trying")
		a.get(t, d.detailsPath(sam.user.ID)).want(t, http.StatusOK).has(t, ">Sent<", "The invitation email was sent "+when(start)+".")
		a.get(t, d.detailsPath(fay.user.ID)).want(t, http.StatusOK).has(t,
			">Not delivered<", "after 1 attempt.", "<q>550 5.1.1 mailbox unavailable</q>", "Check the email address.")

		// Alice cannot revoke or delete herself, so her details do not offer it.
		self, err := d.store.UserByEmail(d.ctx, d.acct, adminEmail)
		if err != nil {
			t.Fatal(err)
		}
		p = a.get(t, d.detailsPath(self.ID)).want(t, http.StatusOK).has(t, `<span class="tag">You</span>`, "<dd>Setup</dd>")
		wantActions(t, p, d.acct, self.ID, "Edit")

		// Two days on, Eve's access has ended; Alice signs in again (her
		// session idled out meanwhile).
		d.clock.Advance(72 * time.Hour)
		a = d.browser(t)
		a.signIn(t, adminEmail, adminPassword)
		p = a.get(t, d.detailsPath(eve.user.ID)).want(t, http.StatusOK).has(t,
			`<dt>Roles</dt><dd>Expert (read-only)</dd>`, "badge badge-inactive", `<span class="badge badge-expired">Access expired</span>`,
			"access ended "+when(until)+", so they can no longer sign in", "<dd><time datetime=\""+until.Format(time.RFC3339)+"\">Ended "+when(until)+"</time></dd>")
		wantActions(t, p, d.acct, eve.user.ID, "Edit", "Delete")
	})
}

// wantActions checks that the details page offers exactly the management
// actions named (besides View Details), each opening as a pop-up and
// carrying the list to return to.
func wantActions(t *testing.T, p *page, acct, userID string, want ...string) {
	t.Helper()
	all := map[string]string{"Edit": "/edit", "Revoke Access": "/revoke", "Restore Access": "/restore", "Resend Invitation": "/resend", "Delete": "/delete"}
	got := links(p)
	list := "/accounts/" + acct + "/users"
	for text, suffix := range all {
		hrefs := got[text]
		if !strings.Contains(strings.Join(want, "\x00")+"\x00", text+"\x00") {
			if len(hrefs) > 0 {
				t.Errorf("%s offers %s (%v); it must not", p.rq, text, hrefs)
			}
			continue
		}
		wantHref := list + "/" + userID + suffix + "?back=" + url.QueryEscape(list)
		if len(hrefs) != 1 || hrefs[0] != wantHref {
			t.Errorf("%s: %s links to %v, want %s", p.rq, text, hrefs, wantHref)
		}
		if !regexp.MustCompile(`<a [^>]*href="[^"]*` + regexp.QuoteMeta(suffix) + `\?[^"]*" data-dialog>`).MatchString(p.body) {
			t.Errorf("%s: the %s link does not open as a pop-up (data-dialog)", p.rq, text)
		}
	}
	features := list + "/" + userID + "/features?back=" + url.QueryEscape(list)
	if !strings.Contains(p.body, `href="`+html.EscapeString(features)+`" data-dialog>View Details`) {
		t.Errorf("%s: no View Details pop-up link to %s:\n%s", p.rq, features, p.body)
	}
}

func TestUserFeaturesPage(t *testing.T) {
	testdb.Each(t, func(t *testing.T, s roster.Store) {
		d := newDetailsEnv(t, s)
		cm := d.mustInviteAs(t, "Carl", "Manager", "carl@acme.example.com",
			[]roster.RoleID{roster.RoleCommunicationManager, roster.RoleSupport}, nil)
		d.mustRegister(t, cm, newPassword)

		path := d.detailsPath(cm.user.ID) + "/features"
		p := d.admin.get(t, path).want(t, http.StatusOK).has(t,
			`<section class="dialog-page features" aria-labelledby="features-title">`, `<h1 id="features-title">Features of Carl Manager</h1>`,
			"through their roles: Communication Manager, Support.")
		// Each area once, in catalogue order, with its features, their
		// descriptions and the roles that grant them.
		var areas []string
		for _, m := range regexp.MustCompile(`<h2>([^<]+)</h2>`).FindAllStringSubmatch(p.body, -1) {
			areas = append(areas, m[1])
		}
		if got, want := strings.Join(areas, ", "), "Usage and balance, Logs, Analytics, Communication flows, Campaigns, Tools"; got != want {
			t.Errorf("feature groups = %s, want %s", got, want)
		}
		p.has(t, `<span class="feature-name">View logs</span>`, `<span class="feature-description">Read message and call logs.</span>`,
			`<span class="feature-role">Granted by Communication Manager, Support</span>`,
			`<span class="feature-role">Granted by Communication Manager</span>`).
			lacks(t, "Manage team", "Manage billing", "WhatsApp", "notice-warning")
		if got := links(p)["Close"]; len(got) != 1 || got[0] != d.detailsPath(cm.user.ID)+"?back="+url.QueryEscape("/accounts/"+d.acct+"/users") {
			t.Errorf("Close links to %v, want the details page", got)
		}

		// An invited user's features wait for the invitation; an Admin has
		// every feature, user management among them.
		ivy := d.mustInviteAs(t, "Ivy", "Waiting", "ivy@acme.example.com", []roster.RoleID{roster.RoleSupport}, nil)
		d.admin.get(t, d.detailsPath(ivy.user.ID)+"/features").want(t, http.StatusOK).
			has(t, "once they accept the invitation", "Granted by Support").lacks(t, "Granted by Communication Manager")
		self, err := d.store.UserByEmail(d.ctx, d.acct, adminEmail)
		if err != nil {
			t.Fatal(err)
		}
		d.admin.get(t, d.detailsPath(self.ID)+"/features").want(t, http.StatusOK).
			has(t, "<h2>Team</h2>", `<span class="feature-name">Manage team</span>`, "Granted by Admin").lacks(t, "notice-warning")
	})
}

func TestUserDetailsBackToUsers(t *testing.T) {
	testdb.Each(t, func(t *testing.T, s roster.Store) {
		d := newDetailsEnv(t, s)
		grace := d.mustInviteAs(t, "Grace", "Hopper", "grace@acme.example.com", []roster.RoleID{roster.RoleSupport}, nil)
		list := "/accounts/" + d.acct + "/users"
		kept := list + "?q=gr&filter=status:is:invited&filter=role:is_not:admin&sort=-name&cursor=abc"
		for _, tc := range []struct{ back, want string }{
			{kept, kept},
			{list, list},
			{"", list},
			{"https://evil.example/accounts/" + d.acct + "/users", list},
			{"//evil.example" + list, list},
			{"/accounts/" + d.mustAccount(t, "Beta") + "/users?q=x", list},
			{"/sessions", list},
		} {
			path := d.detailsPath(grace.user.ID)
			if tc.back != "" {
				path += "?back=" + url.QueryEscape(tc.back)
			}
			p := d.admin.get(t, path).want(t, http.StatusOK)
			got := links(p)
			if backs := got["Back to Users"]; len(backs) == 0 || slicesAll(backs, tc.want) != "" {
				t.Errorf("back=%q: Back to Users links to %v, want %s", tc.back, backs, tc.want)
			}
			// The actions and the features carry the list on, to return there.
			for _, text := range []string{"Edit", "Resend Invitation", "Delete"} {
				if hrefs := got[text]; len(hrefs) != 1 || !strings.HasSuffix(hrefs[0], "?back="+url.QueryEscape(tc.want)) {
					t.Errorf("back=%q: %s links to %v, want back=%s", tc.back, text, hrefs, tc.want)
				}
			}
			f := d.admin.get(t, d.detailsPath(grace.user.ID)+"/features?back="+url.QueryEscape(tc.back)).want(t, http.StatusOK)
			if closes := links(f)["Close"]; len(closes) != 1 || closes[0] != d.detailsPath(grace.user.ID)+"?back="+url.QueryEscape(tc.want) {
				t.Errorf("back=%q: the features' Close links to %v", tc.back, closes)
			}
		}
	})
}

// slicesAll returns the first of hrefs that is not want, "" when all are.
func slicesAll(hrefs []string, want string) string {
	for _, h := range hrefs {
		if h != want {
			return h
		}
	}
	return ""
}

func TestUserDetailsRefused(t *testing.T) {
	testdb.Each(t, func(t *testing.T, s roster.Store) {
		d := newDetailsEnv(t, s)
		grace := d.mustInviteAs(t, "Grace", "Hopper", "grace@acme.example.com", []roster.RoleID{roster.RoleSupport}, nil)
		d.mustRegister(t, grace, newPassword)
		beta := d.mustAccount(t, "Beta")
		betaAdmin, err := d.store.UserByEmail(d.ctx, beta, "admin@beta.example.com")
		if err != nil {
			t.Fatal(err)
		}
		details := d.detailsPath(grace.user.ID)

		// Signed out: sign in first, then come back here.
		d.browser(t).get(t, details).redirects(t, "/sign-in?next="+url.QueryEscape(details))

		// A member without team.manage is refused in words, also their own.
		g := d.browser(t)
		g.signIn(t, "grace@acme.example.com", newPassword)
		for _, path := range []string{details, details + "/features"} {
			g.get(t, path).want(t, http.StatusForbidden).has(t, "Only an Admin of Acme").lacks(t, "grace@acme.example.com</dd>")
		}

		// Another account's user through Acme, or Beta's pages, and ids that
		// name nobody: a readable not-found page, the same for each.
		a := d.admin
		missing := roster.NewID(d.clock.Now())
		for _, path := range []string{
			d.detailsPath(betaAdmin.ID), d.detailsPath(betaAdmin.ID) + "/features",
			d.detailsPath(missing), d.detailsPath(missing) + "/features", d.detailsPath("not-an-id"),
			// Every page of one user answers alike.
			d.detailsPath(missing) + "/edit", d.detailsPath(missing) + "/revoke", d.detailsPath(missing) + "/restore",
			d.detailsPath(missing) + "/resend", d.detailsPath(betaAdmin.ID) + "/delete",
		} {
			p := a.get(t, path).want(t, http.StatusNotFound).has(t, "<h1>User not found</h1>", "No user with this id exists in Acme.").
				lacks(t, "admin@beta.example.com")
			if got := links(p)["Back to Users"]; len(got) != 1 || got[0] != "/accounts/"+d.acct+"/users" {
				t.Errorf("%s: Back to Users links to %v", path, got)
			}
		}
		// Byte for byte: another account's user looks like nobody at all,
		// and the way back keeps the list as it was.
		foreign := a.get(t, d.detailsPath(betaAdmin.ID)).body
		if nobody := a.get(t, d.detailsPath(missing)).body; foreign != nobody {
			t.Errorf("another account's user and a missing one are answered differently:\n%s\n---\n%s", foreign, nobody)
		}
		kept := "/accounts/" + d.acct + "/users?q=gr&sort=name"
		p := a.get(t, d.detailsPath(missing)+"/features?back="+url.QueryEscape(kept)).want(t, http.StatusNotFound)
		if got := links(p)["Back to Users"]; len(got) != 1 || got[0] != kept {
			t.Errorf("not found with back=%s: Back to Users links to %v", kept, got)
		}
		for _, path := range []string{"/accounts/" + beta + "/users/" + betaAdmin.ID, "/accounts/" + beta + "/users/" + betaAdmin.ID + "/features"} {
			a.get(t, path).want(t, http.StatusNotFound).has(t, "<h1>Page not found</h1>").lacks(t, "admin@beta.example.com")
		}
	})
}

func TestHomeLinksUserManagement(t *testing.T) {
	testdb.Each(t, func(t *testing.T, s roster.Store) {
		d := newDetailsEnv(t, s)
		// Alice is also a Support member of Beta: she may not manage it.
		beta := d.mustAccount(t, "Beta")
		inv := d.mustInvite(t, beta, "Alice", "Admin", adminEmail, nil)
		join := "/join?token=" + url.QueryEscape(inv.token)
		d.admin.get(t, join).want(t, http.StatusOK)
		d.admin.post(t, join, nil).redirects(t, "/")

		p := d.admin.get(t, "/").want(t, http.StatusOK).has(t, `<th scope="row">Beta<span`, `<th scope="row">Acme<span`,
			`<span class="badge badge-active">Active</span>`)
		got := links(p)["User Management"]
		if want := "/accounts/" + d.acct + "/users"; len(got) != 1 || got[0] != want {
			t.Errorf("home links User Management to %v, want only %s", got, want)
		}
		p.lacks(t, "/accounts/"+beta+"/users", "/invite")

		// The account's pages name it in the header, with User Management
		// for its Admins only.
		grace := d.mustInviteAs(t, "Grace", "Hopper", "grace@acme.example.com", []roster.RoleID{roster.RoleSupport}, nil)
		d.admin.get(t, d.detailsPath(grace.user.ID)).want(t, http.StatusOK).
			has(t, `<span class="visually-hidden">Account: </span>Acme</span>`, `<a class="nav-link" href="/accounts/`+d.acct+`/users">User Management</a>`)
	})
}
