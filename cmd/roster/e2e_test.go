package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"roster"
	"roster/internal/testsmtp"
)

// The end-to-end path of a newcomer, through the real program: roster serve
// on an empty database with a real SMTP server in the process, the setup
// link from its log, the first Admin, an invitation email read off the SMTP
// server, the colleague's registration through the link, sign-out and
// sign-in, and what the Admin then sees in the API.

const (
	firefoxUA = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:132.0) Gecko/20100101 Firefox/132.0"
	chromeUA  = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"
	mailFrom  = "Roster <roster@example.com>"
)

func hasKey(key string) func(map[string]any) bool {
	return func(rec map[string]any) bool { _, ok := rec[key].(string); return ok }
}

func msgIs(msg string) func(map[string]any) bool {
	return func(rec map[string]any) bool { return rec["msg"] == msg }
}

// browser is an HTTP client with its own cookie jar and User-Agent that
// does not follow redirects, so the tests see each answer.
type browser struct {
	t    *testing.T
	base string
	ua   string
	c    *http.Client
	// csrf, when set, goes with every API request as X-CSRF-Token, as a
	// change through the API with the session cookie needs it.
	csrf string
}

func newBrowser(t *testing.T, base, ua string) *browser {
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &browser{t: t, base: base, ua: ua, c: &http.Client{Jar: jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

func (b *browser) do(method, path, contentType string, body io.Reader) (*http.Response, string) {
	b.t.Helper()
	if !strings.HasPrefix(path, "http") {
		path = b.base + path
	}
	req, err := http.NewRequest(method, path, body)
	if err != nil {
		b.t.Fatal(err)
	}
	req.Header.Set("User-Agent", b.ua)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if b.csrf != "" && strings.Contains(path, "/api/") {
		req.Header.Set("X-CSRF-Token", b.csrf)
	}
	resp, err := b.c.Do(req)
	if err != nil {
		b.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		b.t.Fatalf("%s %s: %v", method, path, err)
	}
	return resp, string(data)
}

// page GETs an HTML page, wants status want, and returns its body.
func (b *browser) page(path string, want int) string {
	b.t.Helper()
	resp, body := b.do(http.MethodGet, path, "", nil)
	if resp.StatusCode != want {
		b.t.Fatalf("GET %s = %d, want %d:\n%s", path, resp.StatusCode, want, body)
	}
	return body
}

var csrfRE = regexp.MustCompile(`<input type="hidden" name="csrf" value="([^"]+)">`)

// csrf is the CSRF field of the first form of an HTML page.
func csrf(t *testing.T, page string) string {
	t.Helper()
	m := csrfRE.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("the page has no csrf field:\n%s", page)
	}
	return m[1]
}

// submit POSTs a form and wants a 303 redirect to location.
func (b *browser) submit(path string, form url.Values, location string) {
	b.t.Helper()
	resp, body := b.do(http.MethodPost, path, "application/x-www-form-urlencoded", strings.NewReader(form.Encode()))
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != location {
		b.t.Fatalf("POST %s = %d to %q, want 303 to %q:\n%s", path, resp.StatusCode, resp.Header.Get("Location"), location, body)
	}
}

// api sends a JSON request with the browser's session cookie and decodes
// the answer into out; it wants status want.
func (b *browser) api(method, path string, in any, want int, out any) {
	b.t.Helper()
	var body io.Reader
	ct := ""
	if in != nil {
		data, err := json.Marshal(in)
		if err != nil {
			b.t.Fatal(err)
		}
		body, ct = bytes.NewReader(data), "application/json"
	}
	resp, data := b.do(method, path, ct, body)
	if resp.StatusCode != want {
		b.t.Fatalf("%s %s = %d, want %d:\n%s", method, path, resp.StatusCode, want, data)
	}
	if out != nil {
		if err := json.Unmarshal([]byte(data), out); err != nil {
			b.t.Fatalf("%s %s: %v in %s", method, path, err, data)
		}
	}
}

// userDetails is the part of the API's user details these tests read.
type userDetails struct {
	ID              string  `json:"id"`
	Email           string  `json:"email"`
	FirstName       string  `json:"first_name"`
	Status          string  `json:"status"`
	JoinedAt        *string `json:"joined_at"`
	LastLoginAt     *string `json:"last_login_at"`
	LastLoginIP     *string `json:"last_login_ip"`
	LastLoginDevice *string `json:"last_login_device"`
	Invitation      *struct {
		Delivery  string  `json:"delivery"`
		SentAt    *string `json:"sent_at"`
		Attempts  int     `json:"attempts"`
		LastError *string `json:"last_error"`
	} `json:"invitation"`
}

var linkRE = regexp.MustCompile(`https?://\S+`)

func deref(p *string) string {
	if p == nil {
		return "<null>"
	}
	return *p
}

func TestEndToEnd(t *testing.T) {
	eachStore(t, func(t *testing.T, db dbArgs) {
		ctx := t.Context()
		mail := testsmtp.Start(t, testsmtp.Options{})
		srv := startServer(t, append(db.flags(), "--smtp-url", "smtp://"+mail.Addr, "--mail-from", mailFrom)...)

		// First run: the log carries the one-time setup link.
		setupURL := srv.log.wait(t, "setup_url", 1, hasKey("setup_url"))["setup_url"].(string)
		if !strings.HasPrefix(setupURL, srv.url+"/setup?token=") {
			t.Fatalf("setup_url = %q, want %s/setup?token=…", setupURL, srv.url)
		}

		// The Admin's browser creates the first account and is signed in.
		admin := newBrowser(t, srv.url, chromeUA)
		page := admin.page(setupURL, http.StatusOK)
		const adminEmail, adminPassword = "ada@acme.example", "plum orchard velvet 42"
		admin.submit(setupURL, url.Values{"csrf": {csrf(t, page)}, "account_name": {"Acme"},
			"first_name": {"Ada"}, "last_name": {"Lovelace"}, "email": {adminEmail},
			"password": {adminPassword}, "confirm": {adminPassword}}, "/")
		home := admin.page("/", http.StatusOK)
		for _, want := range []string{adminEmail, "Acme", "Admin"} {
			if !strings.Contains(home, want) {
				t.Errorf("the home page of the new Admin lacks %q:\n%s", want, home)
			}
		}
		if page := admin.page(setupURL, http.StatusGone); !strings.Contains(page, "This setup link was already used") {
			t.Errorf("the setup link after use does not say it was used:\n%s", page)
		}
		admin.csrf = csrf(t, home)

		// The home page does not show the account's id, which the API
		// needs: read it behind the program's back.
		st := db.open(t)
		ident, err := st.IdentityByEmail(ctx, roster.CanonicalEmail(adminEmail))
		if err != nil {
			t.Fatalf("IdentityByEmail(%s) = %v", adminEmail, err)
		}
		ms, err := st.Memberships(ctx, ident.ID)
		if err != nil || len(ms) != 1 {
			t.Fatalf("Memberships of the Admin = %v, %v; want one", ms, err)
		}
		acct := ms[0].User.AccountID
		users := "/api/v1/accounts/" + acct + "/users"

		// The Admin invites a colleague with the session cookie.
		var grace userDetails
		admin.api(http.MethodPost, users, map[string]any{"first_name": "Grace", "last_name": "Hopper",
			"email": "grace@acme.example", "roles": []string{"support"}}, http.StatusCreated, &grace)
		if grace.Status != "invited" {
			t.Errorf("invited user status = %q, want invited", grace.Status)
		}

		// The invitation arrives at the SMTP server.
		msg := mail.Next(t)
		if msg.From != "roster@example.com" || len(msg.To) != 1 || msg.To[0] != "grace@acme.example" {
			t.Errorf("envelope = %q -> %q, want roster@example.com -> grace@acme.example", msg.From, msg.To)
		}
		m, err := msg.Parse()
		if err != nil {
			t.Fatalf("parse the invitation: %v", err)
		}
		if want := "Ada Lovelace invited you to join Acme on Roster"; m.Subject != want {
			t.Errorf("Subject = %q, want %q", m.Subject, want)
		}
		var outboxID string
		rows, err := st.RecentOutbox(ctx, 10)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rows {
			if r.To == "grace@acme.example" {
				outboxID = r.ID
			}
		}
		if want := "<outbox." + outboxID + "@example.com>"; outboxID == "" || m.MessageID != want {
			t.Errorf("Message-ID = %q, want %q (from the outbox id)", m.MessageID, want)
		}
		expires := m.Date.Add(time.Hour).UTC().Format("2 January 2006 at 15:04 UTC")
		for _, want := range []string{
			"Hello Grace,",
			"Ada Lovelace invited you to join the account Acme on Roster, with the role Support.",
			"The link expires on " + expires + ", one hour after this email was sent",
		} {
			if !strings.Contains(m.Text, want) {
				t.Errorf("the text part lacks %q:\n%s", want, m.Text)
			}
		}
		link := linkRE.FindString(m.Text)
		if !strings.HasPrefix(link, srv.url+"/join?token=") {
			t.Fatalf("the link of the text part = %q, want %s/join?token=…", link, srv.url)
		}
		if !strings.Contains(m.HTML, `href="`+link+`"`) {
			t.Errorf("the HTML part does not link to %s:\n%s", link, m.HTML)
		}

		// The colleague opens the link in their own browser and registers.
		colleague := newBrowser(t, srv.url, chromeUA)
		page = colleague.page(link, http.StatusOK)
		for _, want := range []string{"Join Acme", "Ada Lovelace invited you", "grace@acme.example", `value="Grace"`, `value="Hopper"`} {
			if !strings.Contains(page, want) {
				t.Errorf("the registration page lacks %q:\n%s", want, page)
			}
		}
		const gracePassword = "compilers before breakfast"
		colleague.submit(link, url.Values{"csrf": {csrf(t, page)}, "first_name": {"Grace"}, "last_name": {"Hopper"},
			"password": {gracePassword}, "confirm": {gracePassword}}, "/")
		home = colleague.page("/", http.StatusOK)
		if !strings.Contains(home, "grace@acme.example") || !strings.Contains(home, "Acme") {
			t.Errorf("the colleague's home page after registering:\n%s", home)
		}
		if page := colleague.page(link, http.StatusGone); !strings.Contains(page, "already used") {
			t.Errorf("the invitation link after use does not say so:\n%s", page)
		}

		// Sign out, then sign in again from Firefox on Windows.
		resp, body := colleague.do(http.MethodPost, "/sign-out", "application/x-www-form-urlencoded",
			strings.NewReader(url.Values{"csrf": {csrf(t, home)}}.Encode()))
		if resp.StatusCode != http.StatusOK || !strings.Contains(body, "You are signed out") {
			t.Fatalf("POST /sign-out = %d:\n%s", resp.StatusCode, body)
		}
		if resp, _ := colleague.do(http.MethodGet, "/", "", nil); resp.StatusCode == http.StatusOK {
			t.Errorf("GET / after sign-out = 200, want the way to sign in")
		}
		colleague.ua = firefoxUA
		page = colleague.page("/sign-in", http.StatusOK)
		colleague.submit("/sign-in", url.Values{"csrf": {csrf(t, page)}, "email": {"grace@acme.example"},
			"password": {gracePassword}, "next": {"/"}}, "/")
		colleague.page("/", http.StatusOK)

		// The Admin sees the colleague's login.
		var got userDetails
		admin.api(http.MethodGet, users+"/"+grace.ID, nil, http.StatusOK, &got)
		if got.Status != "active" || got.JoinedAt == nil {
			t.Errorf("colleague status %q joined_at %s, want active with a join time", got.Status, deref(got.JoinedAt))
		}
		if deref(got.LastLoginIP) != "127.0.0.1" || deref(got.LastLoginDevice) != "Firefox 132 on Windows" {
			t.Errorf("last login from %s on %s, want 127.0.0.1 on Firefox 132 on Windows",
				deref(got.LastLoginIP), deref(got.LastLoginDevice))
		}
		joined, jerr := time.Parse(time.RFC3339Nano, deref(got.JoinedAt))
		login, lerr := time.Parse(time.RFC3339Nano, deref(got.LastLoginAt))
		if jerr != nil || lerr != nil || login.Before(joined) {
			t.Errorf("last_login_at %s, joined_at %s: want both, the login not before the join",
				deref(got.LastLoginAt), deref(got.JoinedAt))
		}

		// The mail server goes down. Invitations queued meanwhile stay
		// pending with the reason, visible to the Admin.
		mail.Stop()
		var alan, bea userDetails
		admin.api(http.MethodPost, users, map[string]any{"first_name": "Alan", "last_name": "Turing",
			"email": "alan@acme.example", "roles": []string{"support"}}, http.StatusCreated, &alan)
		admin.api(http.MethodPost, users, map[string]any{"first_name": "Bea", "last_name": "Kay",
			"email": "bea@acme.example", "roles": []string{"admin"}}, http.StatusCreated, &bea)
		// The worker delivers one message at a time: its second failure
		// is logged after the first was recorded.
		srv.log.wait(t, `a second "mail not delivered"`, 2, msgIs("mail not delivered"))
		admin.api(http.MethodGet, users+"/"+alan.ID, nil, http.StatusOK, &got)
		if inv := got.Invitation; inv == nil || inv.Delivery != "pending" || inv.Attempts < 1 ||
			!strings.Contains(deref(inv.LastError), mail.Addr) {
			desc := "none"
			if inv != nil {
				desc = fmt.Sprintf("%s after %d attempts, last error %s", inv.Delivery, inv.Attempts, deref(inv.LastError))
			}
			t.Errorf("invitation of a colleague invited while the mail server is down: %s; want pending with the connection error", desc)
		}

		// It is up again. The worker would retry on its own after its
		// backoff (15 s ± 25%; internal/outbox TestSMTPDownThenUp covers
		// that with a test clock); the Admin resends now instead.
		mail.Restart(t)
		admin.api(http.MethodPost, users+"/"+alan.ID+"/resend-invitation", nil, http.StatusOK, nil)
		admin.api(http.MethodPost, users+"/"+bea.ID+"/resend-invitation", nil, http.StatusOK, nil)
		arrived := map[string]string{}
		for range 2 {
			msg := mail.Next(t)
			m, err := msg.Parse()
			if err != nil {
				t.Fatal(err)
			}
			arrived[msg.To[0]] = linkRE.FindString(m.Text)
		}
		if arrived["alan@acme.example"] == "" || arrived["bea@acme.example"] == "" {
			t.Fatalf("after the mail server came back, received links %v, want one for alan and bea", arrived)
		}
		page = newBrowser(t, srv.url, firefoxUA).page(arrived["alan@acme.example"], http.StatusOK)
		if !strings.Contains(page, "Join Acme") || !strings.Contains(page, "alan@acme.example") {
			t.Errorf("the resent link does not open Alan's registration:\n%s", page)
		}
	})
}

// TestServeMailAndWebFlagErrors checks that serve refuses mail and web
// flags that cannot work, before it opens anything, naming the flag.
func TestServeMailAndWebFlagErrors(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"--smtp-url", "smtp://127.0.0.1:2525"}, "--mail-from: give the From address"},
		{[]string{"--smtp-url", "smtp://127.0.0.1:2525", "--mail-from", "not an address"}, "--mail-from: "},
		{[]string{"--mail-from", "not an address"}, "--mail-from: "},
		{[]string{"--smtp-url", "http://mail.example.com", "--mail-from", mailFrom}, "--smtp-url: "},
		{[]string{"--smtp-url", "smtp://mail.example.com:99999", "--mail-from", mailFrom}, "--smtp-url: "},
		{[]string{"--public-url", "ftp://roster.example.com"}, "--public-url: give an http:// or https:// URL"},
		{[]string{"--public-url", "https://roster.example.com/?x=1"}, "--public-url: "},
		{[]string{"--trusted-proxy", "10.0.0.0/33"}, "--trusted-proxy: \"10.0.0.0/33\" is not an address range"},
		{[]string{"--trusted-proxy", "proxy.example.com"}, "--trusted-proxy: "},
		{[]string{"--session-idle", "2h", "--session-max", "1h"}, "--session-idle: must not exceed --session-max"},
		{[]string{"--invitation-ttl", "30s"}, "--invitation-ttl: give a duration of at least a minute"},
		{[]string{"--operator-token", "short"}, "--operator-token: give at least 32 characters"},
		{[]string{"--operator-token", " " + strings.Repeat("x", 40)}, "--operator-token: "},
	}
	for _, tt := range tests {
		args := append([]string{"serve", "--addr", "127.0.0.1:0", "--data-dir", t.TempDir()}, tt.args...)
		r := runCLI(t, "", args...)
		if r.err == nil || r.code() != 2 || !strings.Contains(r.err.Error(), tt.want) {
			t.Errorf("roster %s = %v (exit %d), want exit 2 with %q", strings.Join(args, " "), r.err, r.code(), tt.want)
		}
	}
}
