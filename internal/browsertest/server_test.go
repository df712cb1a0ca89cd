package browsertest

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"roster/internal/testdb"
	"roster/internal/testsmtp"
)

// The server under test is the roster binary itself, built once per test
// run and started with "roster serve" for each test: the same composition
// of service, outbox worker, web handler and HTTP server that production
// runs, with no second copy of it to drift. Mail goes over real SMTP to an
// internal/testsmtp server in this process.

const mailFrom = "Roster <roster@example.com>"

var (
	buildOnce sync.Once
	binary    string // path of the roster binary built for this run
	buildErr  error
	binDir    string // removed by TestMain
)

// rosterBinary builds ./cmd/roster once and returns its path.
func rosterBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		if buildErr = statSources(); buildErr != nil {
			return
		}
		binDir, buildErr = os.MkdirTemp("", "roster-browsertest-")
		if buildErr != nil {
			return
		}
		binary = filepath.Join(binDir, "roster")
		// go test puts its own Go first on PATH, so this builds with the
		// toolchain that runs the tests.
		out, err := exec.Command("go", "build", "-o", binary, "roster/cmd/roster").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build roster/cmd/roster: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binary
}

// statSources looks at every file the roster binary is built from. go test
// caches a pass until the test binary or a file the test looked at
// changes, and the server these tests drive is another binary: without
// this, a change to a page would leave "go test ./..." reporting the
// cached pass of the old page.
func statSources() error {
	return filepath.WalkDir(filepath.Join("..", ".."), func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		if d.IsDir() {
			if path != filepath.Join("..", "..") && (strings.HasPrefix(name, ".") || name == "node_modules" || name == "docs") {
				return filepath.SkipDir
			}
			return nil
		}
		if strings.HasSuffix(name, "_test.go") {
			return nil
		}
		_, err = os.Stat(path)
		return err
	})
}

// server is one running "roster serve" on a fresh database.
type server struct {
	URL      string // http://127.0.0.1:<port>
	SetupURL string // the one-time setup link it logged
	Mail     *testsmtp.Server
	log      *serverLog
	unread   []testsmtp.Message // received, not yet asked for by mailLink
	bin      string             // the roster binary, for its operator commands
	db       []string           // the flags that name its database
}

// startServer runs roster serve on 127.0.0.1 with a port the system picks,
// on a fresh SQLite database, or a fresh PostgreSQL database when
// ROSTER_TEST_STORE=postgres, and stops it when the test ends.
func startServer(t *testing.T) *server {
	t.Helper()
	bin := rosterBinary(t)
	mail := testsmtp.Start(t, testsmtp.Options{})
	db := []string{"--data-dir", t.TempDir()}
	store := "sqlite"
	if os.Getenv(testdb.EnvStore) == "postgres" {
		store = "postgres"
		db = append(db, "--database-url", testdb.URL(t))
	}
	args := append([]string{"serve", "--addr", "127.0.0.1:0", "--smtp-url", mail.URL(), "--mail-from", mailFrom,
		"--log-format", "json"}, db...)
	cmd := exec.Command(bin, args...)
	cmd.Env = []string{"TZ=UTC"} // no ROSTER_* variable of the test's environment leaks in
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start roster serve: %v", err)
	}
	log := newServerLog()
	go log.read(stderr)
	t.Cleanup(func() {
		// SIGINT is a graceful shutdown; a server that hangs in it is
		// killed after a while so that the test run ends.
		_ = cmd.Process.Signal(os.Interrupt)
		exited := make(chan error, 1)
		go func() { exited <- cmd.Wait() }()
		select {
		case err := <-exited:
			if err != nil {
				t.Errorf("roster serve did not stop cleanly: %v", err)
			}
		case <-time.After(30 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
			t.Errorf("roster serve did not stop within 30s of SIGINT; killed")
		}
		if t.Failed() {
			t.Logf("log of roster serve:\n%s", log.text())
		}
	})
	s := &server{Mail: mail, log: log, bin: bin, db: db}
	listening := log.wait(t, "the listening line", func(r logRecord) bool { return r["msg"] == "listening" })
	s.URL, _ = listening["url"].(string)
	s.SetupURL, _ = log.wait(t, "the setup link", func(r logRecord) bool { _, ok := r["setup_url"].(string); return ok })["setup_url"].(string)
	if !strings.HasPrefix(s.URL, "http://127.0.0.1:") || listening["store"] != store {
		t.Fatalf("roster serve listens at %q on %v, want http://127.0.0.1:<port> on %s", s.URL, listening["store"], store)
	}
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

type logRecord = map[string]any

// serverLog keeps the JSON log of roster serve and lets a test wait for
// a line instead of guessing when it is written.
type serverLog struct {
	mu      sync.Mutex
	lines   []string
	recs    []logRecord
	updated chan struct{} // closed and replaced on each line
	ended   bool          // the process closed its standard error
}

func newServerLog() *serverLog { return &serverLog{updated: make(chan struct{})} }

func (l *serverLog) read(f interface{ Read([]byte) (int, error) }) {
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		var rec logRecord
		_ = json.Unmarshal(sc.Bytes(), &rec) // a line that is not JSON is still kept as text
		l.mu.Lock()
		l.lines = append(l.lines, sc.Text())
		if rec != nil {
			l.recs = append(l.recs, rec)
		}
		close(l.updated)
		l.updated = make(chan struct{})
		l.mu.Unlock()
	}
	l.mu.Lock()
	l.ended = true
	close(l.updated)
	l.mu.Unlock()
}

// wait returns the first record that match accepts. The minute is a bound
// for a server that hangs, not a timing expectation.
func (l *serverLog) wait(t *testing.T, what string, match func(logRecord) bool) logRecord {
	t.Helper()
	deadline := time.After(time.Minute)
	for {
		l.mu.Lock()
		for _, r := range l.recs {
			if match(r) {
				l.mu.Unlock()
				return r
			}
		}
		updated, ended := l.updated, l.ended
		l.mu.Unlock()
		if ended {
			t.Fatalf("roster serve exited before it logged %s; its log:\n%s", what, l.text())
		}
		select {
		case <-updated:
		case <-deadline:
			t.Fatalf("roster serve did not log %s within a minute; its log:\n%s", what, l.text())
		}
	}
}

func (l *serverLog) text() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.lines, "\n")
}

// createAPIKey creates an API key named name for the user with the email
// in the account, with the operator's command "roster api-key create" on
// the server's database (the API has no key management yet), and returns
// the key. The user must be able to sign in.
func (s *server) createAPIKey(t *testing.T, acct, email, name string) string {
	t.Helper()
	cmd := exec.Command(s.bin, append([]string{"api-key", "create", "--account", acct, "--user-email", email, "--name", name}, s.db...)...)
	cmd.Env = []string{"TZ=UTC"}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("roster api-key create for %s: %v\n%s", email, err, stderr.String())
	}
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
