package browsertest

import (
	"encoding/json"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"roster/internal/testserver"
	"roster/internal/testsmtp"
)

// The server under test is the roster binary itself, started with
// "roster serve" for each test (internal/testserver). Mail goes over real
// SMTP to an internal/testsmtp server in this process.

const mailFrom = "Roster <roster@example.com>"

// server is one running "roster serve" on a fresh database.
type server struct {
	*testserver.Server
	SetupURL string // the one-time setup link it logged
	Mail     *testsmtp.Server
	unread   []testsmtp.Message // received, not yet asked for by mailLink
}

// startServer runs roster serve on a fresh SQLite database, or a fresh
// PostgreSQL database when ROSTER_TEST_STORE=postgres, and stops it when
// the test ends.
func startServer(t *testing.T) *server {
	t.Helper()
	mail := testsmtp.Start(t, testsmtp.Options{})
	db, store := testserver.FreshDatabase(t)
	ts := testserver.Start(t, db, []string{"--smtp-url", mail.URL(), "--mail-from", mailFrom}, nil)
	s := &server{Server: ts, Mail: mail}
	if got := ts.Log.Wait(t, "the listening line", func(r testserver.Record) bool { return r["msg"] == "listening" })["store"]; got != store {
		t.Fatalf("roster serve runs on %v, want %s", got, store)
	}
	s.SetupURL, _ = ts.Log.Wait(t, "the setup link", func(r testserver.Record) bool { _, ok := r["setup_url"].(string); return ok })["setup_url"].(string)
	return s
}

var linkRE = regexp.MustCompile(`https?://\S+`)

// mailLink waits for the email to the address to, checks its subject,
// and returns the first link of its text part. Emails to others that
// arrive first are kept for their own mailLink.
func (s *server) mailLink(t *testing.T, to, subject string) string {
	t.Helper()
	var msg testsmtp.Message
	for i, m := range s.unread {
		if len(m.To) == 1 && m.To[0] == to {
			msg = m
			s.unread = append(s.unread[:i:i], s.unread[i+1:]...)
			break
		}
	}
	for msg.To == nil {
		m := s.Mail.Next(t)
		if len(m.To) == 1 && m.To[0] == to {
			msg = m
		} else {
			s.unread = append(s.unread, m)
		}
	}
	m, err := msg.Parse()
	if err != nil {
		t.Fatalf("parse the email to %s: %v", to, err)
	}
	if !strings.Contains(m.Subject, subject) {
		t.Fatalf("the email to %s is about %q, want %q", to, m.Subject, subject)
	}
	link := linkRE.FindString(m.Text)
	if !strings.HasPrefix(link, s.URL+"/") {
		t.Fatalf("the email to %s links to %q, want a link to %s:\n%s", to, link, s.URL, m.Text)
	}
	return link
}

// createAPIKey creates an API key named name for the user with the email
// in the account, with the operator's command "roster api-key create" on
// the server's database (the API has no key management yet), and returns
// the key. The user must be able to sign in.
func (s *server) createAPIKey(t *testing.T, acct, email, name string) string {
	t.Helper()
	out := s.Command(t, "api-key", "create", "--account", acct, "--user-email", email, "--name", name)
	var k struct {
		Key string `json:"key"`
	}
	if err := json.Unmarshal(out, &k); err != nil || k.Key == "" {
		t.Fatalf("roster api-key create for %s printed %q: %v", email, out, err)
	}
	return k.Key
}

// apiStatus calls the API at path with the bearer API key, as a program
// outside the browser does, and returns the HTTP status.
func (s *server) apiStatus(t *testing.T, key, method, path string) int {
	t.Helper()
	req, err := http.NewRequest(method, s.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+key)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	res.Body.Close()
	return res.StatusCode
}
