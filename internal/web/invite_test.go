package web

import (
	"net/http"
	"net/url"
	"testing"
	"time"

	"roster"
	"roster/internal/testdb"
)

func TestInvitePage(t *testing.T) {
	testdb.Each(t, func(t *testing.T, s roster.Store) {
		e := newPageEnv(t, s)
		acct := e.mustSetup(t)
		beta := e.mustAccount(t, "Beta")
		path := "/accounts/" + acct + "/invite"

		anon := e.browser(t)
		anon.get(t, path).redirects(t, "/sign-in?next="+url.QueryEscape(path))

		b := e.browser(t)
		b.signIn(t, adminEmail, adminPassword)
		b.get(t, "/").want(t, http.StatusOK).has(t, `href="`+path+`"`)
		b.get(t, path).want(t, http.StatusOK).has(t, "<h1>Invite someone to Acme</h1>",
			`name="roles" value="support"`, `name="roles" value="expert"`).
			lacks(t, `value="whatsapp_only"`) // an additional role the account has not enabled

		// Nothing typed: every field says what is missing, and nothing is sent.
		b.post(t, path, url.Values{}).want(t, http.StatusUnprocessableEntity).
			has(t, `href="#f-first_name"`, `href="#f-last_name"`, `href="#f-email"`, `href="#f-roles"`, `aria-invalid="true"`)
		b.post(t, path, url.Values{"first_name": {"Grace"}, "last_name": {"Hopper"}, "email": {"grace@acme.example.com"},
			"roles": {"support"}, "access_until": {"next week"}}).want(t, http.StatusUnprocessableEntity).
			has(t, `href="#f-access_until"`, `value="Grace"`, `value="support" checked`)
		if n := e.countMail(t, roster.MailInvitation, "grace@acme.example.com"); n != 0 {
			t.Fatalf("%d invitations after refused forms; want none", n)
		}

		day := e.clock.Now().AddDate(0, 0, 30).Format(time.DateOnly)
		valid := url.Values{"first_name": {"Grace"}, "last_name": {"Hopper"}, "email": {"grace@acme.example.com"},
			"roles": {"support", "communication_manager"}, "access_until": {day}}
		b.post(t, path, valid).want(t, http.StatusCreated).has(t, "Invitation sent", "grace@acme.example.com")
		m := e.newestMail(t, roster.MailInvitation, "grace@acme.example.com", acct)
		u, err := e.store.UserByEmail(e.ctx, acct, "grace@acme.example.com")
		if err != nil || m == nil || u.Status != roster.StatusInvited || !u.Roles.Has(roster.RoleCommunicationManager) ||
			u.AccessUntil.Format(time.DateTime) != day+" 23:59:59" {
			t.Fatalf("invited user = %+v, %v", u, err)
		}
		// The same email again: the form says so on the email field.
		b.post(t, path, valid).want(t, http.StatusUnprocessableEntity).has(t, `href="#f-email"`, "already exists")

		// Another account's form is not there; a member without team.manage may not.
		b.get(t, "/accounts/"+beta+"/invite").want(t, http.StatusNotFound)
		inv := e.mustInvite(t, acct, "Sam", "Support", "sam@acme.example.com", nil)
		e.mustRegister(t, inv, newPassword)
		c := e.browser(t)
		c.signIn(t, "sam@acme.example.com", newPassword)
		c.get(t, "/").want(t, http.StatusOK).lacks(t, `href="`+path+`"`)
		c.get(t, path).want(t, http.StatusForbidden).has(t, "Only an Admin")
	})
}
