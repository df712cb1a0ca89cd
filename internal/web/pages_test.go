package web

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"roster"
	"roster/internal/outbox"
	"roster/internal/password"
	"roster/internal/testdb"
)

// The page tests drive the server-rendered pages the way a browser without
// JavaScript does: a client with a cookie jar that does not follow
// redirects, reading the CSRF field out of each page it gets. The service
// is the real one on a real store, with a clock the tests move.

const (
	adminEmail    = "alice@acme.example.com"
	adminPassword = "plum orchard velvet 93"
	newPassword   = "quiet harbour lantern 58"
	operatorToken = "operator-token-for-tests"
	firefoxUA     = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:132.0) Gecko/20100101 Firefox/132.0"
)

const wantCSP = "default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

type pageEnv struct {
	ctx    context.Context
	store  roster.Store
	svc    *roster.Service
	clock  *testdb.Clock
	secret []byte
	srv    *httptest.Server
	logs   *syncBuffer
	server *server
}

// newPageEnv starts the server on store with the local outbox page, a
// cheap password hash, and the loopback address as a trusted proxy so that
// tests can speak for many client IPs through X-Forwarded-For.
func newPageEnv(t *testing.T, store roster.Store, edit ...func(*Options)) *pageEnv {
	t.Helper()
	secret := make([]byte, 32)
	rand.Read(secret)
	clock := testdb.NewClock(time.Date(2025, 6, 2, 10, 0, 0, 0, time.UTC))
	cheap := password.NewHasher(password.Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}, 4, 0)
	svc := roster.NewService(store, roster.Config{StaffDomains: []string{"tatacommunications.com"}, Secret: secret,
		Clock: clock, Passwords: cheap})
	logs := &syncBuffer{}
	logger := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	public, _ := url.Parse("http://roster.test")
	mail := outbox.New(outbox.Config{Store: store, PublicURL: public, Secret: secret, Clock: clock, Logger: logger})
	opts := Options{PublicURL: public, Secret: secret, Mailbox: mail, MailboxToken: operatorToken,
		TrustedProxies: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}}
	for _, f := range edit {
		f(&opts)
	}
	server := newServer(logger, svc, opts)
	srv := httptest.NewServer(server.handler)
	t.Cleanup(srv.Close)
	return &pageEnv{ctx: context.Background(), store: store, svc: svc, clock: clock, secret: secret, srv: srv, logs: logs, server: server}
}

// browser is one browser: its own cookies, the CSRF token of the last page
// it got, and the client IP it claims through the trusted proxy.
type browser struct {
	e      *pageEnv
	client *http.Client
	csrf   string
	ip     string
	ua     string
}

func (e *pageEnv) browser(t *testing.T) *browser {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	c := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	return &browser{e: e, client: c, ua: firefoxUA}
}

// page is a response to a browser.
type page struct {
	rq     string
	status int
	header http.Header
	body   string
	closed bool // the server closed the connection after this answer
}

var csrfRE = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

func (b *browser) get(t *testing.T, path string) *page {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, b.e.srv.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	return b.do(t, req)
}

// post sends a form with the browser's CSRF token, unless form sets csrf.
func (b *browser) post(t *testing.T, path string, form url.Values) *page {
	t.Helper()
	form = maps.Clone(form)
	if form == nil {
		form = url.Values{}
	}
	if _, ok := form["csrf"]; !ok && b.csrf != "" {
		form.Set("csrf", b.csrf)
	}
	req, err := http.NewRequest(http.MethodPost, b.e.srv.URL+path, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return b.do(t, req)
}

// do sends req and checks the headers every page must have.
func (b *browser) do(t *testing.T, req *http.Request) *page {
	t.Helper()
	req.Header.Set("User-Agent", b.ua)
	if b.ip != "" {
		req.Header.Set("X-Forwarded-For", b.ip)
	}
	res, err := b.client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL.Path, err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	p := &page{rq: req.Method + " " + req.URL.RequestURI(), status: res.StatusCode, header: res.Header, body: string(body), closed: res.Close}
	if m := csrfRE.FindStringSubmatch(p.body); m != nil {
		b.csrf = m[1]
	}
	if strings.HasPrefix(req.URL.Path, "/api/") {
		return p
	}
	h := res.Header
	wantReferrer := "same-origin"
	if req.URL.Query().Has("token") {
		wantReferrer = "no-referrer"
	}
	for name, want := range map[string]string{"Content-Security-Policy": wantCSP, "X-Content-Type-Options": "nosniff",
		"Cache-Control": "no-store", "Referrer-Policy": wantReferrer} {
		if got := h.Get(name); got != want {
			t.Errorf("%s: %s = %q, want %q", p.rq, name, got, want)
		}
	}
	if p.status != http.StatusSeeOther {
		if ct := h.Get("Content-Type"); ct != "text/html; charset=utf-8" {
			t.Errorf("%s = %d with Content-Type %q, want an HTML page", p.rq, p.status, ct)
		}
		if !strings.HasPrefix(p.body, "<!doctype html>\n<html lang=\"en\">") {
			t.Errorf("%s: the page does not start with a doctype and <html lang>:\n%s", p.rq, p.body)
		}
	}
	return p
}

func (p *page) want(t *testing.T, status int) *page {
	t.Helper()
	if p.status != status {
		t.Fatalf("%s = %d, want %d; body:\n%s", p.rq, p.status, status, p.body)
	}
	return p
}

// has fails unless the body contains every s.
func (p *page) has(t *testing.T, ss ...string) *page {
	t.Helper()
	for _, s := range ss {
		if !strings.Contains(p.body, s) {
			t.Errorf("%s = %d: the page lacks %q:\n%s", p.rq, p.status, s, p.body)
		}
	}
	return p
}

func (p *page) lacks(t *testing.T, ss ...string) *page {
	t.Helper()
	for _, s := range ss {
		if strings.Contains(p.body, s) {
			t.Errorf("%s = %d: the page has %q, which it must not:\n%s", p.rq, p.status, s, p.body)
		}
	}
	return p
}

// redirects fails unless p is a 303 to location.
func (p *page) redirects(t *testing.T, location string) *page {
	t.Helper()
	p.want(t, http.StatusSeeOther)
	if got := p.header.Get("Location"); got != location {
		t.Errorf("%s redirects to %q, want %q", p.rq, got, location)
	}
	return p
}

// sessionCookie returns the browser's session cookie value, "" for none.
func (b *browser) sessionCookie() string {
	u, _ := url.Parse(b.e.srv.URL)
	for _, c := range b.client.Jar.Cookies(u) {
		if c.Name == sessionCookie {
			return c.Value
		}
	}
	return ""
}

// signIn signs the browser in through the sign-in page.
func (b *browser) signIn(t *testing.T, email, pw string) {
	t.Helper()
	b.get(t, "/sign-in").want(t, http.StatusOK)
	b.post(t, "/sign-in", url.Values{"email": {email}, "password": {pw}}).redirects(t, "/")
	if b.sessionCookie() == "" {
		t.Fatalf("signed in as %s, but the browser has no session cookie", email)
	}
}

// mustSetup creates the first account, Acme, and its Admin Alice through the
// service, and returns the account id.
func (e *pageEnv) mustSetup(t *testing.T) string {
	t.Helper()
	token, err := e.svc.SetupLink(e.ctx)
	if err != nil || token == "" {
		t.Fatalf("SetupLink() = %q, %v", token, err)
	}
	in, err := e.svc.Setup(e.ctx, token, roster.SetupInput{AccountName: "Acme", FirstName: "Alice", LastName: "Admin",
		Email: adminEmail, Password: adminPassword, Confirm: adminPassword}, roster.Client{IP: "192.0.2.1"})
	if err != nil {
		t.Fatalf("Setup() = %v", err)
	}
	ms, err := e.svc.Memberships(e.ctx, in.Identity)
	if err != nil || len(ms) != 1 {
		t.Fatalf("Memberships(alice) = %v, %v", ms, err)
	}
	return ms[0].User.AccountID
}

// mustAccount creates another account whose Admin is invited, not active.
func (e *pageEnv) mustAccount(t *testing.T, name string) string {
	t.Helper()
	acct, _, err := e.svc.CreateAccount(e.ctx, roster.CreateAccountInput{Name: name,
		AdminEmail: "admin@" + strings.ToLower(name) + ".example.com", AdminFirstName: "Ada", AdminLastName: "Admin"}, nil)
	if err != nil {
		t.Fatalf("CreateAccount(%s) = %v", name, err)
	}
	return acct.ID
}

// invitation is an invited user with the link of their newest invitation.
type invitation struct {
	user  *roster.User
	id    string
	token string
}

// mustInvite invites email to an account as the operator and reads the
// link's token out of the outbox.
func (e *pageEnv) mustInvite(t *testing.T, accountID, first, last, email string, accessUntil *time.Time) invitation {
	t.Helper()
	u, err := e.svc.InviteUser(e.ctx, roster.OperatorActor(), accountID,
		roster.InviteInput{FirstName: first, LastName: last, Email: email, Roles: []roster.RoleID{roster.RoleSupport}, AccessUntil: accessUntil})
	if err != nil {
		t.Fatalf("InviteUser(%s) = %v", email, err)
	}
	inv := e.newestMail(t, roster.MailInvitation, email, accountID)
	return invitation{user: u, id: inv.Ref, token: roster.InvitationToken(e.secret, inv.Ref)}
}

// newestMail returns the newest outbox message of kind to email.
func (e *pageEnv) newestMail(t *testing.T, kind, email, accountID string) *roster.OutboxMessage {
	t.Helper()
	ms, err := e.store.RecentOutbox(e.ctx, 100)
	if err != nil {
		t.Fatalf("RecentOutbox: %v", err)
	}
	for _, m := range ms {
		if m.Kind == kind && m.To == email && (accountID == "" || m.AccountID == accountID) {
			return m
		}
	}
	t.Fatalf("no %s message to %s in the outbox", kind, email)
	return nil
}

// countMail counts the outbox messages of kind to email.
func (e *pageEnv) countMail(t *testing.T, kind, email string) int {
	t.Helper()
	ms, err := e.store.RecentOutbox(e.ctx, 1000)
	if err != nil {
		t.Fatalf("RecentOutbox: %v", err)
	}
	n := 0
	for _, m := range ms {
		if m.Kind == kind && m.To == email {
			n++
		}
	}
	return n
}

// markInvitationSent records that an invitation email went out now, which
// starts its link's lifetime.
func (e *pageEnv) markInvitationSent(t *testing.T, accountID, invitationID string) {
	t.Helper()
	err := e.store.Update(e.ctx, func(tx roster.Tx) error {
		return tx.MarkInvitationSent(e.ctx, accountID, invitationID, e.clock.Now())
	})
	if err != nil {
		t.Fatalf("MarkInvitationSent: %v", err)
	}
}

// mustRegister registers an invited user through the service.
func (e *pageEnv) mustRegister(t *testing.T, inv invitation, pw string) {
	t.Helper()
	_, err := e.svc.Register(e.ctx, inv.token, roster.RegisterInput{FirstName: inv.user.FirstName, LastName: inv.user.LastName,
		Password: pw, Confirm: pw}, roster.Client{IP: "192.0.2.9"})
	if err != nil {
		t.Fatalf("Register(%s) = %v", inv.user.Email, err)
	}
}

func (e *pageEnv) invitationState(t *testing.T, token string) roster.LinkState {
	t.Helper()
	v, err := e.svc.Invitation(e.ctx, token)
	if err != nil {
		t.Fatalf("Invitation() = %v", err)
	}
	return v.State
}

func TestSetupPage(t *testing.T) {
	testdb.Each(t, func(t *testing.T, s roster.Store) {
		e := newPageEnv(t, s)
		token, err := e.svc.SetupLink(e.ctx)
		if err != nil || token == "" {
			t.Fatalf("SetupLink() = %q, %v", token, err)
		}
		path := "/setup?token=" + url.QueryEscape(token)
		b := e.browser(t)
		b.get(t, path).want(t, http.StatusOK).has(t, `<h1>Set up Roster</h1>`, `action="`+path+`"`,
			`<label for="f-account_name">Account name</label>`, `autocomplete="organization"`,
			`id="f-first_name" name="first_name" type="text" autocomplete="given-name"`,
			`id="f-last_name" name="last_name" type="text" autocomplete="family-name"`,
			`id="f-email" name="email" type="email" autocomplete="email"`,
			`id="f-password" name="password" type="password" autocomplete="new-password"`,
			`id="f-confirm" name="confirm" type="password" autocomplete="new-password"`).
			lacks(t, "There is a problem")

		// Invalid input: every problem at the top, linked to its field, and
		// at the field; what was typed stays, except passwords.
		form := url.Values{"account_name": {"Acme"}, "first_name": {"A"}, "last_name": {"Admin"},
			"email": {adminEmail}, "password": {"too short"}, "confirm": {"does not match"}}
		p := b.post(t, path, form).want(t, http.StatusUnprocessableEntity).has(t,
			"<title>Error: Set up Roster – Roster</title>", `<h2 id="error-summary-title">There is a problem</h2>`,
			`href="#f-first_name"`, `href="#f-password"`, `aria-invalid="true"`,
			`aria-describedby="f-password-hint f-password-error"`, `id="f-password-error"`,
			`value="Acme"`, `value="`+adminEmail+`"`).
			lacks(t, `value="too short"`, `value="does not match"`)
		// A password left empty is asked for, not counted.
		empty := url.Values{"account_name": {"Acme"}, "first_name": {"Ada"}, "last_name": {"Admin"}, "email": {adminEmail}}
		b.post(t, path, empty).want(t, http.StatusUnprocessableEntity).
			has(t, `<a href="#f-password">Choose a password of at least 12 characters.</a>`).lacks(t, "this password has 0")
		if has, _ := s.HasAccounts(e.ctx); has {
			t.Errorf("%s with invalid fields created an account", p.rq)
		}

		form.Set("first_name", "Alice")
		form.Set("password", adminPassword)
		form.Set("confirm", adminPassword)
		b.post(t, path, form).redirects(t, "/")
		b.get(t, "/").want(t, http.StatusOK).has(t, "Acme", adminEmail, "Admin", "Active")

		// The used link, in this browser and another.
		state, err := e.svc.SetupState(e.ctx, token)
		if err != nil {
			t.Fatal(err)
		}
		want := map[roster.LinkState]string{roster.LinkUsed: "This setup link was already used", roster.LinkSetupDone: "Roster is already set up"}[state]
		if want == "" {
			t.Fatalf("SetupState(used token) = %q, want used or setup_done", state)
		}
		b.get(t, path).want(t, http.StatusGone).has(t, want).lacks(t, "<form method=\"post\" action=\"/setup")
		e.browser(t).get(t, path).want(t, http.StatusGone).has(t, want)
		e.browser(t).post(t, path, form).want(t, http.StatusForbidden) // no CSRF cookie yet
		c := e.browser(t)
		c.get(t, "/sign-in")
		c.post(t, path, form).want(t, http.StatusGone).has(t, want)
		e.browser(t).get(t, "/setup?token=unknown").want(t, http.StatusGone).has(t, "Roster is already set up", `href="/sign-in"`)
	})
}

func TestSetupLinkStates(t *testing.T) {
	testdb.Each(t, func(t *testing.T, s roster.Store) {
		e := newPageEnv(t, s)
		b := e.browser(t)
		b.get(t, "/setup").want(t, http.StatusNotFound).has(t, "This setup link is not valid")
		b.get(t, "/setup?token=unknown").want(t, http.StatusNotFound).has(t, "This setup link is not valid", "restart roster serve")

		token, err := e.svc.SetupLink(e.ctx)
		if err != nil {
			t.Fatal(err)
		}
		path := "/setup?token=" + url.QueryEscape(token)
		b.get(t, path).want(t, http.StatusOK)
		e.clock.Advance(61 * time.Minute)
		b.get(t, path).want(t, http.StatusGone).has(t, "This setup link has expired", "Restart roster serve to print a new link")
		b.post(t, path, url.Values{"account_name": {"Acme"}, "first_name": {"Alice"}, "last_name": {"Admin"},
			"email": {adminEmail}, "password": {adminPassword}, "confirm": {adminPassword}}).
			want(t, http.StatusGone).has(t, "This setup link has expired")
		if has, _ := s.HasAccounts(e.ctx); has {
			t.Errorf("an expired setup link created an account")
		}
		if b.sessionCookie() != "" {
			t.Errorf("an expired setup link signed the browser in")
		}
	})
}

func TestRegistration(t *testing.T) {
	testdb.Each(t, func(t *testing.T, s roster.Store) {
		e := newPageEnv(t, s)
		acct := e.mustSetup(t)
		inv := e.mustInvite(t, acct, "Bob", "Builder", "bob@acme.example.com", nil)
		path := "/join?token=" + url.QueryEscape(inv.token)

		b, late := e.browser(t), e.browser(t)
		late.get(t, path).want(t, http.StatusOK)
		b.get(t, path).want(t, http.StatusOK).has(t, "<h1>Join Acme</h1>", "Support", `action="`+path+`"`,
			`value="Bob"`, `value="Builder"`, `id="f-email" type="email" autocomplete="username" value="bob@acme.example.com" readonly`,
			`autocomplete="given-name"`, `autocomplete="family-name"`, `id="f-password" name="password" type="password" autocomplete="new-password"`)

		// Invalid fields keep what was typed and say what is wrong.
		b.post(t, path, url.Values{"first_name": {""}, "last_name": {"Builder-Smith"}, "password": {"short"}, "confirm": {"other"}}).
			want(t, http.StatusUnprocessableEntity).has(t, "There is a problem", `href="#f-first_name"`, `href="#f-password"`,
			`aria-invalid="true"`, `id="f-first_name-error"`, `value="Builder-Smith"`, "bob@acme.example.com").
			lacks(t, `value="short"`, `value="other"`)
		b.post(t, path, url.Values{"first_name": {"Bob"}, "last_name": {"Builder"}}).want(t, http.StatusUnprocessableEntity).
			has(t, `<a href="#f-password">Choose a password of at least 12 characters.</a>`).lacks(t, "this password has 0")
		if got := e.invitationState(t, inv.token); got != roster.LinkValid {
			t.Errorf("after a refused registration the invitation is %s, want valid", got)
		}

		b.post(t, path, url.Values{"first_name": {"Robert"}, "last_name": {"Builder"}, "password": {newPassword}, "confirm": {newPassword}}).
			redirects(t, "/")
		b.get(t, "/").want(t, http.StatusOK).has(t, "bob@acme.example.com", "<th scope=\"row\">Acme<span", "Support", "Active")
		u, err := e.svc.User(e.ctx, roster.OperatorActor(), acct, inv.user.ID)
		if err != nil {
			t.Fatal(err)
		}
		if u.FirstName != "Robert" || u.Status != roster.StatusActive {
			t.Errorf("after registration the user is %s %s, %s; want Robert, active", u.FirstName, u.LastName, u.Status)
		}

		// The link is used now: for this browser, and for one that had the
		// form open before.
		b.get(t, path).want(t, http.StatusGone).has(t, "This invitation was already used", `href="/sign-in"`)
		late.post(t, path, url.Values{"first_name": {"Bob"}, "last_name": {"Builder"}, "password": {adminPassword}, "confirm": {adminPassword}}).
			want(t, http.StatusGone).has(t, "This invitation was already used")
		if late.sessionCookie() != "" {
			t.Errorf("a second registration through a used link signed in")
		}
	})
}

func TestInvitationLinkStates(t *testing.T) {
	registration := url.Values{"first_name": {"Carol"}, "last_name": {"Clark"}, "password": {newPassword}, "confirm": {newPassword}}
	for _, tc := range []struct {
		name    string
		prepare func(t *testing.T, e *pageEnv, acct string) string // returns the token
		status  int
		want    []string
	}{
		{"unknown", func(t *testing.T, e *pageEnv, acct string) string { return "not-a-real-token" },
			http.StatusNotFound, []string{"This invitation link is not valid", "ask an Admin of your account"}},
		{"expired", func(t *testing.T, e *pageEnv, acct string) string {
			inv := e.mustInvite(t, acct, "Carol", "Clark", "carol@acme.example.com", nil)
			e.markInvitationSent(t, acct, inv.id)
			e.clock.Advance(61 * time.Minute)
			return inv.token
		}, http.StatusGone, []string{"This invitation link has expired", "Ask an Admin of Acme to resend your invitation"}},
		{"superseded", func(t *testing.T, e *pageEnv, acct string) string {
			inv := e.mustInvite(t, acct, "Carol", "Clark", "carol@acme.example.com", nil)
			if _, err := e.svc.ResendInvitation(e.ctx, roster.OperatorActor(), acct, inv.user.ID); err != nil {
				t.Fatal(err)
			}
			return inv.token
		}, http.StatusGone, []string{"A newer invitation was sent", "ask an Admin of Acme to resend"}},
		{"used", func(t *testing.T, e *pageEnv, acct string) string {
			inv := e.mustInvite(t, acct, "Carol", "Clark", "carol@acme.example.com", nil)
			e.mustRegister(t, inv, adminPassword)
			return inv.token
		}, http.StatusGone, []string{"This invitation was already used", `href="/sign-in"`}},
		{"user deleted", func(t *testing.T, e *pageEnv, acct string) string {
			inv := e.mustInvite(t, acct, "Carol", "Clark", "carol@acme.example.com", nil)
			if err := e.svc.DeleteUser(e.ctx, roster.OperatorActor(), acct, inv.user.ID); err != nil {
				t.Fatal(err)
			}
			return inv.token
		}, http.StatusNotFound, []string{"This invitation link is not valid"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			testdb.Each(t, func(t *testing.T, s roster.Store) {
				e := newPageEnv(t, s)
				acct := e.mustSetup(t)
				path := "/join?token=" + url.QueryEscape(tc.prepare(t, e, acct))
				b := e.browser(t)
				b.get(t, "/sign-in") // for a CSRF token
				b.get(t, path).want(t, tc.status).has(t, tc.want...).lacks(t, `name="password"`)
				before, err := e.svc.ListUsers(e.ctx, roster.OperatorActor(), acct, roster.ListQuery{Limit: 100})
				if err != nil {
					t.Fatal(err)
				}
				b.post(t, path, registration).want(t, tc.status).has(t, tc.want...)
				after, err := e.svc.ListUsers(e.ctx, roster.OperatorActor(), acct, roster.ListQuery{Limit: 100})
				if err != nil {
					t.Fatal(err)
				}
				if fmt.Sprint(userVersions(before.Items)) != fmt.Sprint(userVersions(after.Items)) || b.sessionCookie() != "" {
					t.Errorf("registering through a %s link changed users %v to %v (signed in: %v)", tc.name,
						userVersions(before.Items), userVersions(after.Items), b.sessionCookie() != "")
				}
			})
		})
	}
}

func userVersions(us []*roster.User) []string {
	var out []string
	for _, u := range us {
		out = append(out, fmt.Sprintf("%s:%s:v%d", u.Email, u.Status, u.Version))
	}
	slices.Sort(out)
	return out
}

func TestAcceptInvitationWithExistingIdentity(t *testing.T) {
	testdb.Each(t, func(t *testing.T, s roster.Store) {
		e := newPageEnv(t, s)
		e.mustSetup(t)
		beta := e.mustAccount(t, "Beta")
		inv := e.mustInvite(t, beta, "Alice", "Admin", adminEmail, nil)
		path := "/join?token=" + url.QueryEscape(inv.token)

		b := e.browser(t)
		b.get(t, path).want(t, http.StatusOK).has(t, "<h1>Join Beta</h1>",
			"You already have a Roster sign-in as <strong>"+adminEmail+"</strong>",
			`id="f-password" name="password" type="password" autocomplete="current-password"`, `href="/forgot-password"`).
			lacks(t, "autocomplete=\"new-password\"", `name="first_name"`)

		b.post(t, path, url.Values{"password": {""}}).want(t, http.StatusUnprocessableEntity).has(t, `href="#f-password"`, "Enter your password.")
		b.post(t, path, url.Values{"password": {"not the password"}}).want(t, http.StatusUnauthorized).
			has(t, "There is a problem", `aria-invalid="true"`, "This password is not right for "+adminEmail)
		if got := e.invitationState(t, inv.token); got != roster.LinkValid {
			t.Fatalf("after a wrong password the invitation is %s, want valid", got)
		}
		b.post(t, path, url.Values{"password": {adminPassword}}).redirects(t, "/")
		b.get(t, "/").want(t, http.StatusOK).has(t, `<th scope="row">Acme<span`, `<th scope="row">Beta<span`)
		b.get(t, path).want(t, http.StatusGone).has(t, "This invitation was already used")

		// Already signed in as the invited identity: one button.
		gamma := e.mustAccount(t, "Gamma")
		inv = e.mustInvite(t, gamma, "Alice", "Admin", adminEmail, nil)
		path = "/join?token=" + url.QueryEscape(inv.token)
		cookie := b.sessionCookie()
		b.get(t, path).want(t, http.StatusOK).has(t, "You are signed in as "+adminEmail, "Accept the invitation").lacks(t, `name="password"`)
		b.post(t, path, nil).redirects(t, "/")
		if b.sessionCookie() != cookie {
			t.Errorf("accepting while signed in replaced the session")
		}
		b.get(t, "/").want(t, http.StatusOK).has(t, `<th scope="row">Gamma<span`)

		// Signed in as someone else: the page says who and signs them out
		// here on success.
		delta := e.mustAccount(t, "Delta")
		inv = e.mustInvite(t, delta, "Alice", "Admin", adminEmail, nil)
		path = "/join?token=" + url.QueryEscape(inv.token)
		other := e.mustInvite(t, delta, "Otto", "Other", "otto@delta.example.com", nil)
		e.mustRegister(t, other, newPassword)
		c := e.browser(t)
		c.signIn(t, "otto@delta.example.com", newPassword)
		c.get(t, path).want(t, http.StatusOK).has(t, "This browser is signed in as otto@delta.example.com", `name="password"`)
		c.post(t, path, url.Values{"password": {adminPassword}}).redirects(t, "/")
		c.get(t, "/").want(t, http.StatusOK).has(t, "Signed in as <strong>"+adminEmail+"</strong>", `<th scope="row">Delta<span`)
	})
}

func TestSignIn(t *testing.T) {
	testdb.Each(t, func(t *testing.T, s roster.Store) {
		e := newPageEnv(t, s)
		acct := e.mustSetup(t)
		b := e.browser(t)
		b.get(t, "/").redirects(t, "/sign-in")
		b.get(t, "/sign-in?next=/sessions").want(t, http.StatusOK).has(t, `<h1>Sign in to Roster</h1>`,
			`name="next" value="/sessions"`, `id="f-email" name="email" type="email" autocomplete="email"`,
			`id="f-password" name="password" type="password" autocomplete="current-password"`, `href="/forgot-password"`)

		b.post(t, "/sign-in", url.Values{"email": {""}, "password": {""}}).want(t, http.StatusUnprocessableEntity).
			has(t, `href="#f-email"`, `href="#f-password"`, "Enter your email address.", "Enter your password.")
		b.post(t, "/sign-in", url.Values{"email": {adminEmail}, "password": {"wrong password here"}, "next": {"/sessions"}}).
			want(t, http.StatusUnauthorized).has(t, "There is a problem", signInFailed, `value="`+adminEmail+`"`, `name="next" value="/sessions"`).
			lacks(t, "wrong password here")
		if b.sessionCookie() != "" {
			t.Fatalf("a failed sign-in set a session cookie")
		}

		p := b.post(t, "/sign-in", url.Values{"email": {" ALICE@acme.example.com "}, "password": {adminPassword}, "next": {"/sessions"}}).
			redirects(t, "/sessions")
		set := p.header.Get("Set-Cookie")
		for _, want := range []string{sessionCookie + "=", "Path=/", "HttpOnly", "SameSite=Lax", "Max-Age=86400"} {
			if !strings.Contains(set, want) {
				t.Errorf("session Set-Cookie = %q, want %s", set, want)
			}
		}
		if strings.Contains(set, "Secure") {
			t.Errorf("session Set-Cookie = %q over http, want no Secure", set)
		}
		b.get(t, "/sessions").want(t, http.StatusOK).has(t, "Firefox 132 on Windows")
		b.get(t, "/sign-in").redirects(t, "/")
		// The last login shows in the API's user details.
		u, err := e.svc.User(e.ctx, roster.OperatorActor(), acct, mustMemberships(t, e, adminEmail)[0].User.ID)
		if err != nil {
			t.Fatal(err)
		}
		if u.LastLoginDevice != "Firefox 132 on Windows" || u.LastLoginIP == "" {
			t.Errorf("after sign-in the user's last login is %q from %q, want Firefox 132 on Windows", u.LastLoginDevice, u.LastLoginIP)
		}

		// next never leads off the site.
		for _, next := range []string{"//evil.example/x", "https://evil.example/", "/\\evil.example", "javascript:alert(1)", "sessions"} {
			c := e.browser(t)
			c.get(t, "/sign-in")
			c.post(t, "/sign-in", url.Values{"email": {adminEmail}, "password": {adminPassword}, "next": {next}}).redirects(t, "/")
		}
	})
}

func mustMemberships(t *testing.T, e *pageEnv, email string) []*roster.Membership {
	t.Helper()
	id, err := e.store.IdentityByEmail(e.ctx, roster.CanonicalEmail(email))
	if err != nil {
		t.Fatalf("IdentityByEmail(%s) = %v", email, err)
	}
	ms, err := e.svc.Memberships(e.ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	return ms
}

func TestSignInThrottled(t *testing.T) {
	testdb.Each(t, func(t *testing.T, s roster.Store) {
		e := newPageEnv(t, s)
		e.mustSetup(t)
		b := e.browser(t)
		b.get(t, "/sign-in")
		var p *page
		for i := 0; i < 10; i++ {
			b.ip = fmt.Sprintf("198.51.100.%d", i+1) // so that only the email's throttle applies
			p = b.post(t, "/sign-in", url.Values{"email": {adminEmail}, "password": {"wrong password here"}})
			if p.status != http.StatusUnauthorized {
				break
			}
		}
		p.want(t, http.StatusTooManyRequests).has(t, "Too many attempts", "You can try again in")
		if ra := p.header.Get("Retry-After"); ra == "" || ra == "0" {
			t.Errorf("429 Retry-After = %q, want seconds", ra)
		}
		// A refused client has nothing to send for seconds: its connection
		// is not kept open, so a flood of them holds no memory.
		if !p.closed {
			t.Errorf("429 kept the connection open, want Connection: close")
		}
		// The throttle holds for the right password too.
		b.post(t, "/sign-in", url.Values{"email": {adminEmail}, "password": {adminPassword}}).want(t, http.StatusTooManyRequests)
		if b.sessionCookie() != "" {
			t.Errorf("a throttled sign-in set a session cookie")
		}
	})
}

// normalize makes two answers comparable: every header but Date, and the
// body with the email typed replaced.
func normalize(p *page, email string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d\n", p.status)
	for _, k := range slices.Sorted(func(yield func(string) bool) {
		for k := range p.header {
			if !yield(k) {
				return
			}
		}
	}) {
		if k != "Date" {
			fmt.Fprintf(&b, "%s: %q\n", k, p.header[k])
		}
	}
	b.WriteString(strings.ReplaceAll(p.body, email, "EMAIL"))
	return b.String()
}

// userStates makes users of every state sign-in must refuse alike, all
// with emails of one length, and returns email → password to try.
func userStates(t *testing.T, e *pageEnv, acct string) (cases []struct{ name, email, password string }, active string) {
	t.Helper()
	until := e.clock.Now().Add(30 * time.Minute)
	reg := func(local string, accessUntil *time.Time) invitation {
		inv := e.mustInvite(t, acct, "User", strings.ToUpper(local[:1])+local[1:], local+"@acme.example.com", accessUntil)
		e.mustRegister(t, inv, newPassword)
		return inv
	}
	reg("wrong1", nil)
	revoked := reg("revok1", nil)
	if _, err := e.svc.RevokeUser(e.ctx, roster.OperatorActor(), acct, revoked.user.ID, roster.RevokeInput{Reason: roster.ReasonIssueResolved}); err != nil {
		t.Fatal(err)
	}
	deleted := reg("delet1", nil)
	if err := e.svc.DeleteUser(e.ctx, roster.OperatorActor(), acct, deleted.user.ID); err != nil {
		t.Fatal(err)
	}
	reg("expir1", &until)
	reg("activ1", nil)
	e.clock.Advance(time.Hour)
	return []struct{ name, email, password string }{
		{"unknown email", "nobod1@acme.example.com", newPassword},
		{"wrong password", "wrong1@acme.example.com", "not the password"},
		{"revoked", "revok1@acme.example.com", newPassword},
		{"deleted", "delet1@acme.example.com", newPassword},
		{"access expired", "expir1@acme.example.com", newPassword},
	}, "activ1@acme.example.com"
}

func TestSignInAnswersAreIdentical(t *testing.T) {
	testdb.Each(t, func(t *testing.T, s roster.Store) {
		e := newPageEnv(t, s)
		acct := e.mustSetup(t)
		cases, active := userStates(t, e, acct)
		b := e.browser(t)
		b.get(t, "/sign-in")
		var first string
		for i, tc := range cases {
			b.ip = fmt.Sprintf("203.0.113.%d", i+1)
			p := b.post(t, "/sign-in", url.Values{"email": {tc.email}, "password": {tc.password}, "next": {"/sessions"}}).
				want(t, http.StatusUnauthorized)
			got := normalize(p, tc.email)
			if i == 0 {
				first = got
				continue
			}
			if got != first {
				t.Errorf("sign-in as %s (%s) answered\n%s\nbut %s answered\n%s", tc.email, tc.name, got, cases[0].name, first)
			}
		}
		b.ip = "203.0.113.99"
		b.post(t, "/sign-in", url.Values{"email": {active}, "password": {newPassword}}).redirects(t, "/")
	})
}

func TestForgotPassword(t *testing.T) {
	testdb.Each(t, func(t *testing.T, s roster.Store) {
		e := newPageEnv(t, s)
		acct := e.mustSetup(t)
		cases, active := userStates(t, e, acct)
		cases = append(cases, struct{ name, email, password string }{"active", active, ""})
		b := e.browser(t)
		b.get(t, "/forgot-password").want(t, http.StatusOK).has(t, "<h1>Reset your password</h1>", `autocomplete="email"`)
		b.post(t, "/forgot-password", url.Values{"email": {""}}).want(t, http.StatusUnprocessableEntity).has(t, `href="#f-email"`)
		var first string
		for i, tc := range cases {
			b.ip = fmt.Sprintf("203.0.113.%d", i+1)
			p := b.post(t, "/forgot-password", url.Values{"email": {tc.email}}).want(t, http.StatusOK).
				has(t, "Check your email", "valid for one hour")
			got := normalize(p, tc.email)
			if i == 0 {
				first = got
				continue
			}
			if got != first {
				t.Errorf("forgot-password for %s (%s) answered\n%s\nbut %s answered\n%s", tc.email, tc.name, got, cases[0].name, first)
			}
		}
		e.svc.Drain() // the reset emails are written after the answer
		if n := e.countMail(t, roster.MailPasswordReset, active); n != 1 {
			t.Errorf("%d reset emails to the active user, want 1", n)
		}
		for _, tc := range cases[:len(cases)-1] {
			if n := e.countMail(t, roster.MailPasswordReset, tc.email); n != 0 && tc.name != "wrong password" {
				t.Errorf("%d reset emails to %s (%s), want none", n, tc.email, tc.name)
			}
		}
	})
}

// mustResetLink asks for a reset link for email and returns its path.
func (e *pageEnv) mustResetLink(t *testing.T, email string) string {
	t.Helper()
	if err := e.svc.RequestPasswordReset(e.ctx, email, roster.Client{IP: "192.0.2.77"}); err != nil {
		t.Fatal(err)
	}
	e.svc.Drain()
	m := e.newestMail(t, roster.MailPasswordReset, email, "")
	err := e.store.Update(e.ctx, func(tx roster.Tx) error { return tx.MarkPasswordResetSent(e.ctx, m.Ref, e.clock.Now()) })
	if err != nil {
		t.Fatal(err)
	}
	return "/reset-password?token=" + url.QueryEscape(roster.PasswordResetToken(e.secret, m.Ref))
}

func TestPasswordReset(t *testing.T) {
	testdb.Each(t, func(t *testing.T, s roster.Store) {
		e := newPageEnv(t, s)
		e.mustSetup(t)
		signedIn := e.browser(t)
		signedIn.signIn(t, adminEmail, adminPassword)

		path := e.mustResetLink(t, adminEmail)
		b := e.browser(t)
		b.get(t, path).want(t, http.StatusOK).has(t, "<h1>Choose a new password</h1>", `action="`+path+`"`,
			`value="`+adminEmail+`" readonly`, `id="f-password" name="password" type="password" autocomplete="new-password"`)
		b.post(t, path, url.Values{"password": {newPassword}, "confirm": {"something else"}}).
			want(t, http.StatusUnprocessableEntity).has(t, "There is a problem", `href="#f-confirm"`, `aria-invalid="true"`).
			lacks(t, newPassword)
		b.post(t, path, url.Values{"password": {""}, "confirm": {""}}).want(t, http.StatusUnprocessableEntity).
			has(t, `<a href="#f-password">Choose a password of at least 12 characters.</a>`).lacks(t, "this password has 0")
		b.post(t, path, url.Values{"password": {newPassword}, "confirm": {newPassword}}).want(t, http.StatusOK).
			has(t, "Your password is changed", `href="/sign-in"`)

		signedIn.get(t, "/").redirects(t, "/sign-in")
		b.get(t, "/sign-in")
		b.post(t, "/sign-in", url.Values{"email": {adminEmail}, "password": {adminPassword}}).want(t, http.StatusUnauthorized)
		b.post(t, "/sign-in", url.Values{"email": {adminEmail}, "password": {newPassword}}).redirects(t, "/")

		b.get(t, path).want(t, http.StatusGone).has(t, "This reset link was already used", `href="/forgot-password"`)
		b.post(t, path, url.Values{"password": {adminPassword}, "confirm": {adminPassword}}).want(t, http.StatusGone)

		e.browser(t).get(t, "/reset-password?token=nonsense").want(t, http.StatusNotFound).has(t, "This reset link is not valid")
		older := e.mustResetLink(t, adminEmail)
		newer := e.mustResetLink(t, adminEmail)
		e.browser(t).get(t, older).want(t, http.StatusGone).has(t, "A newer reset link was sent")
		e.clock.Advance(61 * time.Minute)
		e.browser(t).get(t, newer).want(t, http.StatusGone).has(t, "This reset link has expired")
	})
}

var sessionIDRE = regexp.MustCompile(`name="id" value="([^"]+)"`)

func TestSessionsPage(t *testing.T) {
	testdb.Each(t, func(t *testing.T, s roster.Store) {
		e := newPageEnv(t, s)
		e.mustSetup(t)
		e.browser(t).get(t, "/sessions").redirects(t, "/sign-in?next=%2Fsessions")

		a, b := e.browser(t), e.browser(t)
		a.ip, b.ip = "203.0.113.10", "203.0.113.20"
		b.ua = "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15"
		a.signIn(t, adminEmail, adminPassword)
		e.clock.Advance(time.Minute)
		b.signIn(t, adminEmail, adminPassword)

		p := a.get(t, "/sessions").want(t, http.StatusOK).has(t, "Where you are signed in", "203.0.113.10", "203.0.113.20",
			"Firefox 132 on Windows", "This browser", "2 Jun 2025, 10:00 UTC", "2 Jun 2025, 10:01 UTC")
		if n := strings.Count(p.body, "This browser"); n != 1 {
			t.Errorf("the sessions page marks %d rows as this browser, want 1", n)
		}
		// Newest first: b's, a's, and the one setup started.
		ids := sessionIDRE.FindAllStringSubmatch(p.body, -1)
		if len(ids) != 3 {
			t.Fatalf("the sessions page lists %d sessions, want 3:\n%s", len(ids), p.body)
		}
		bID, aID, setupID := ids[0][1], ids[1][1], ids[2][1]

		a.post(t, "/sessions/end", url.Values{"id": {"01970000-0000-7000-8000-000000000000"}}).want(t, http.StatusNotFound).
			has(t, "This session has already ended")
		a.followFlash(t, a.post(t, "/sessions/end", url.Values{"id": {bID}}).redirects(t, "/sessions"), "Session ended: that browser is signed out.")
		b.get(t, "/").redirects(t, "/sign-in")
		p = a.get(t, "/sessions").want(t, http.StatusOK)
		if ids := sessionIDRE.FindAllStringSubmatch(p.body, -1); len(ids) != 2 || ids[0][1] != aID || ids[1][1] != setupID {
			t.Errorf("after ending b's session the list is %v, want %s, %s", ids, aID, setupID)
		}
		a.post(t, "/sessions/end", url.Values{"id": {aID}}).redirects(t, "/sign-in")
		if a.sessionCookie() != "" {
			t.Errorf("ending this browser's session left its cookie")
		}
		a.get(t, "/").redirects(t, "/sign-in")
	})
}

func TestSignOut(t *testing.T) {
	testdb.Each(t, func(t *testing.T, s roster.Store) {
		e := newPageEnv(t, s)
		e.mustSetup(t)
		b := e.browser(t)
		b.signIn(t, adminEmail, adminPassword)
		token := b.sessionCookie()
		b.get(t, "/").want(t, http.StatusOK).has(t, `action="/sign-out"`)
		b.post(t, "/sign-out", nil).want(t, http.StatusOK).has(t, "You are signed out")
		if b.sessionCookie() != "" {
			t.Errorf("after sign-out the browser still has its session cookie")
		}
		b.get(t, "/").redirects(t, "/sign-in")

		// The old token is dead on the server, not only forgotten here.
		c := e.browser(t)
		u, _ := url.Parse(e.srv.URL)
		c.client.Jar.SetCookies(u, []*http.Cookie{{Name: sessionCookie, Value: token, Path: "/"}})
		c.get(t, "/").redirects(t, "/sign-in")
	})
}

func TestCSRF(t *testing.T) {
	testdb.Each(t, func(t *testing.T, s roster.Store) {
		e := newPageEnv(t, s)
		acct := e.mustSetup(t)
		const refused = "nothing was changed"

		// No CSRF cookie at all: refused, and the refusal hands one out.
		b := e.browser(t)
		p := b.post(t, "/sign-in", url.Values{"email": {adminEmail}, "password": {adminPassword}}).
			want(t, http.StatusForbidden).has(t, refused)
		if b.sessionCookie() != "" || !strings.Contains(p.header.Get("Set-Cookie"), csrfCookie+"=") {
			t.Errorf("a sign-in without CSRF cookie signed in or gave no CSRF cookie: %q", p.header.Get("Set-Cookie"))
		}
		// A cookie but a missing, wrong or another browser's token.
		other := e.browser(t)
		other.get(t, "/sign-in")
		b.get(t, "/sign-in")
		for _, token := range []string{"", "wrong", other.csrf} {
			b.post(t, "/sign-in", url.Values{"csrf": {token}, "email": {adminEmail}, "password": {adminPassword}}).
				want(t, http.StatusForbidden).has(t, refused)
		}
		if b.sessionCookie() != "" {
			t.Fatalf("a sign-in with a bad CSRF token signed in")
		}

		b.signIn(t, adminEmail, adminPassword)
		b.post(t, "/sign-out", url.Values{"csrf": {"wrong"}}).want(t, http.StatusForbidden)
		b.get(t, "/").want(t, http.StatusOK)
		sessions := func() int {
			return len(sessionIDRE.FindAllString(b.get(t, "/sessions").want(t, http.StatusOK).body, -1))
		}
		n := sessions()
		b.post(t, "/sessions/end", url.Values{"csrf": {""}, "id": {sessionIDRE.FindStringSubmatch(b.get(t, "/sessions").body)[1]}}).
			want(t, http.StatusForbidden)
		if got := sessions(); got != n {
			t.Errorf("a refused end-session changed the sessions from %d to %d", n, got)
		}

		inv := e.mustInvite(t, acct, "Bob", "Builder", "bob@acme.example.com", nil)
		path := "/join?token=" + url.QueryEscape(inv.token)
		c := e.browser(t)
		c.get(t, path).want(t, http.StatusOK)
		c.post(t, path, url.Values{"csrf": {"x"}, "first_name": {"Bob"}, "last_name": {"Builder"}, "password": {newPassword}, "confirm": {newPassword}}).
			want(t, http.StatusForbidden)
		if got := e.invitationState(t, inv.token); got != roster.LinkValid {
			t.Errorf("a refused registration left the invitation %s", got)
		}

		// Cross-origin requests are refused before the CSRF check, as a page.
		req, _ := http.NewRequest(http.MethodPost, e.srv.URL+"/sign-in", strings.NewReader(url.Values{"csrf": {c.csrf},
			"email": {adminEmail}, "password": {adminPassword}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Sec-Fetch-Site", "cross-site")
		c.do(t, req).want(t, http.StatusForbidden).has(t, "sent from another website")
		if c.sessionCookie() != "" {
			t.Errorf("a cross-site sign-in signed in")
		}
	})
}

func TestAPIWithSessionCookie(t *testing.T) {
	testdb.Each(t, func(t *testing.T, s roster.Store) {
		e := newPageEnv(t, s)
		acct := e.mustSetup(t)
		beta := e.mustAccount(t, "Beta")
		b := e.browser(t)
		api := func(method, path, body string) *page {
			t.Helper()
			req, _ := http.NewRequest(method, e.srv.URL+path, strings.NewReader(body))
			if body != "" {
				req.Header.Set("Content-Type", "application/json")
			}
			if method != "GET" {
				req.Header.Set("X-CSRF-Token", b.csrf)
			}
			return b.do(t, req)
		}
		api("GET", usersPath(acct), "").want(t, http.StatusUnauthorized)

		b.signIn(t, adminEmail, adminPassword)
		b.get(t, "/") // the page's csrf value, new since the sign-in
		// A change needs the CSRF token as well as the cookie.
		req, _ := http.NewRequest("POST", e.srv.URL+usersPath(acct), strings.NewReader(`{"first_name": "Carl", "last_name": "Cookie", "email": "carl@acme.example.com", "roles": ["support"]}`))
		req.Header.Set("Content-Type", "application/json")
		b.do(t, req).want(t, http.StatusForbidden).has(t, "X-CSRF-Token")
		req.Header.Set("X-CSRF-Token", "not-the-token")
		b.do(t, req).want(t, http.StatusForbidden)
		api("GET", usersPath(acct), "").want(t, http.StatusOK).has(t, adminEmail)
		api("GET", "/api/v1/roles", "").want(t, http.StatusOK)
		api("POST", usersPath(acct), `{"first_name": "Carl", "last_name": "Cookie", "email": "carl@acme.example.com", "roles": ["support"]}`).
			want(t, http.StatusCreated).has(t, `"invited_by":{"user_id":"`)
		p := api("GET", usersPath(beta), "").want(t, http.StatusNotFound)
		if ct := p.header.Get("Content-Type"); ct != "application/problem+json" {
			t.Errorf("API error with a cookie has Content-Type %q, want problem+json", ct)
		}
		// A bearer key wins over the cookie.
		req, _ = http.NewRequest("GET", e.srv.URL+usersPath(acct), nil)
		req.Header.Set("Authorization", "Bearer not-a-key")
		b.do(t, req).want(t, http.StatusUnauthorized)

		b.post(t, "/sign-out", nil).want(t, http.StatusOK)
		b.client.Jar.SetCookies(mustURL(t, e.srv.URL), []*http.Cookie{{Name: sessionCookie, Value: "stale-token", Path: "/"}})
		api("GET", usersPath(acct), "").want(t, http.StatusUnauthorized).has(t, "sign in again")
	})
}

func mustURL(t *testing.T, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func TestMailPage(t *testing.T) {
	testdb.Each(t, func(t *testing.T, s roster.Store) {
		e := newPageEnv(t, s)
		acct := e.mustSetup(t)
		e.mustInvite(t, acct, "Bob", "Builder", "bob@acme.example.com", nil)
		b := e.browser(t)
		b.get(t, "/dev/mail?token="+operatorToken).want(t, http.StatusOK).has(t, "<h1>Local outbox</h1>", "bob@acme.example.com",
			"http://roster.test/join?token=", "pending")
		for _, path := range []string{"/dev/mail", "/dev/mail?token=", "/dev/mail?token=" + operatorToken + "x", "/dev/mail?token=operator"} {
			b.get(t, path).want(t, http.StatusNotFound).has(t, "Page not found").lacks(t, "bob@")
		}

		closed := newPageEnv(t, s, func(o *Options) { o.Mailbox = nil })
		closed.browser(t).get(t, "/dev/mail?token="+operatorToken).want(t, http.StatusNotFound).lacks(t, "bob@")
		noToken := newPageEnv(t, s, func(o *Options) { o.MailboxToken = "" })
		noToken.browser(t).get(t, "/dev/mail?token=").want(t, http.StatusNotFound)
	})
}

func TestPageErrorsAndAssets(t *testing.T) {
	testdb.Each(t, func(t *testing.T, s roster.Store) {
		e := newPageEnv(t, s)
		b := e.browser(t)
		b.get(t, "/no-such-page").want(t, http.StatusNotFound).has(t, "Page not found", `href="/"`)
		req, _ := http.NewRequest(http.MethodDelete, e.srv.URL+"/sign-in", nil)
		p := b.do(t, req).want(t, http.StatusMethodNotAllowed)
		if p.header.Get("Allow") == "" {
			t.Errorf("405 page without Allow")
		}
		req, _ = http.NewRequest(http.MethodPost, e.srv.URL+"/sign-in", strings.NewReader(`{"email": "x"}`))
		req.Header.Set("Content-Type", "application/json")
		b.do(t, req).want(t, http.StatusUnsupportedMediaType)

		home := e.browser(t).get(t, "/sign-in").body
		css := regexp.MustCompile(`href="(/static/roster\.css\?v=[0-9a-f]+)"`).FindStringSubmatch(home)
		if css == nil {
			t.Fatalf("the layout links no stylesheet:\n%s", home)
		}
		res, err := http.Get(e.srv.URL + css[1])
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusOK || res.Header.Get("Content-Type") != "text/css; charset=utf-8" ||
			!strings.Contains(res.Header.Get("Cache-Control"), "immutable") || !strings.Contains(string(body), ".error-summary") {
			t.Errorf("GET %s = %d %q %q", css[1], res.StatusCode, res.Header.Get("Content-Type"), res.Header.Get("Cache-Control"))
		}
		if strings.Contains(string(body), "url(") || strings.Contains(string(body), "@import") {
			t.Errorf("the stylesheet loads external resources")
		}
	})
}

func TestSecureCookies(t *testing.T) {
	testdb.Each(t, func(t *testing.T, s roster.Store) {
		e := newPageEnv(t, s, func(o *Options) { o.PublicURL = mustURL(t, "https://roster.example.com") })
		e.mustSetup(t)
		b := e.browser(t)
		p := b.get(t, "/sign-in")
		if set := p.header.Get("Set-Cookie"); !strings.Contains(set, "Secure") || !strings.Contains(set, "HttpOnly") {
			t.Errorf("CSRF Set-Cookie over https = %q, want Secure and HttpOnly", set)
		}
		// The jar keeps Secure cookies from http; send them by hand.
		form := url.Values{"csrf": {b.csrf}, "email": {adminEmail}, "password": {adminPassword}}
		req, _ := http.NewRequest(http.MethodPost, e.srv.URL+"/sign-in", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		for _, c := range p.header.Values("Set-Cookie") {
			name, rest, _ := strings.Cut(c, "=")
			value, _, _ := strings.Cut(rest, ";")
			req.AddCookie(&http.Cookie{Name: name, Value: value})
		}
		p = b.do(t, req).redirects(t, "/")
		if set := p.header.Get("Set-Cookie"); !strings.HasPrefix(set, "__Host-"+sessionCookie+"=") || !strings.Contains(set, "Secure") {
			t.Errorf("session Set-Cookie over https = %q, want __Host-%s, Secure", set, sessionCookie)
		}
		if h := p.header.Get("Strict-Transport-Security"); h != "max-age=31536000" {
			t.Errorf("Strict-Transport-Security over https = %q", h)
		}
	})
}

func TestClientIP(t *testing.T) {
	s := &server{opts: Options{TrustedProxies: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("fd00::/8")}}}
	for _, tc := range []struct {
		remote string
		xff    []string
		want   string
	}{
		{"192.0.2.1:5555", nil, "192.0.2.1"},
		{"192.0.2.1:5555", []string{"198.51.100.7"}, "192.0.2.1"}, // untrusted peer: header ignored
		{"10.0.0.5:5555", nil, "10.0.0.5"},
		{"10.0.0.5:5555", []string{"198.51.100.7"}, "198.51.100.7"},
		{"10.0.0.5:5555", []string{"6.6.6.6, 198.51.100.7, 10.0.0.9"}, "198.51.100.7"},
		{"10.0.0.5:5555", []string{"6.6.6.6", "198.51.100.7"}, "198.51.100.7"},
		{"10.0.0.5:5555", []string{"garbage, 10.0.0.9"}, "10.0.0.9"},
		{"10.0.0.5:5555", []string{"10.0.0.8, 10.0.0.9"}, "10.0.0.8"},
		{"10.0.0.5:5555", []string{"[2001:db8::1]:443"}, "2001:db8::1"},
		{"[fd00::1]:5555", []string{"2001:db8::2"}, "2001:db8::2"},
		{"[::ffff:10.0.0.5]:5555", []string{"198.51.100.8"}, "198.51.100.8"},
	} {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.RemoteAddr = tc.remote
		for _, v := range tc.xff {
			r.Header.Add("X-Forwarded-For", v)
		}
		if got := s.clientIP(r); got != tc.want {
			t.Errorf("clientIP(%s, X-Forwarded-For %q) = %s, want %s", tc.remote, tc.xff, got, tc.want)
		}
	}
}

func TestLocalPath(t *testing.T) {
	for in, want := range map[string]string{
		"": "/", "/": "/", "/sessions": "/sessions", "/sessions?x=1": "/sessions?x=1", "//evil.example": "/",
		"https://evil.example": "/", "/\\evil.example": "/", "evil": "/", "javascript:alert(1)": "/", "/ok\r\nx": "/",
	} {
		if got := localPath(in); got != want {
			t.Errorf("localPath(%q) = %q, want %q", in, got, want)
		}
	}
}
