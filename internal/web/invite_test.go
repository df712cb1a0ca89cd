package web

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"roster"
	"roster/internal/testdb"
)

// The invitation form's old address leads to Add New User: a GET for good,
// and a form posted there (from a page opened before the move) is sent on
// with its method and body, so it still invites.
func TestInviteMovedToAddNewUser(t *testing.T) {
	testdb.Each(t, func(t *testing.T, s roster.Store) {
		e := newPageEnv(t, s)
		acct := e.mustSetup(t)
		old := "/accounts/" + acct + "/invite"
		moved := "/accounts/" + acct + "/users/new"

		b := e.browser(t)
		b.signIn(t, adminEmail, adminPassword)
		// Redirects answer with a bare body, not a page, so they are sent
		// past browser.do's page checks.
		res, err := b.client.Get(e.srv.URL + old)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusMovedPermanently || res.Header.Get("Location") != moved {
			t.Errorf("GET %s = %d to %q, want 301 to %q", old, res.StatusCode, res.Header.Get("Location"), moved)
		}

		// A browser follows the 308 with the same form, which invites.
		b.get(t, "/").want(t, http.StatusOK) // the form's CSRF token, as signed in
		follow := &http.Client{Jar: b.client.Jar}
		form := url.Values{"csrf": {b.csrf}, "first_name": {"Grace"}, "last_name": {"Hopper"},
			"email": {"grace@acme.example.com"}, "roles": {"support"}}
		res, err = follow.Post(e.srv.URL+old, "application/x-www-form-urlencoded", strings.NewReader(form.Encode()))
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if got, want := res.Request.URL.Path, "/accounts/"+acct+"/users"; got != want {
			t.Errorf("POST %s ends on %s (%d), want %s", old, got, res.StatusCode, want)
		}
		if u, err := s.UserByEmail(e.ctx, acct, "grace@acme.example.com"); err != nil || u.Status != roster.StatusInvited {
			t.Fatalf("after POST %s: %+v, %v; want Grace invited", old, u, err)
		}
		e.newestMail(t, roster.MailInvitation, "grace@acme.example.com", acct)
	})
}
