// Package testserver runs the roster binary itself for tests: built once
// per test process and started with "roster serve", the same composition
// of service, mail worker, web handler and HTTP server that production
// runs. The browser tests drive one; the cluster tests run several on one
// PostgreSQL database.
package testserver

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"roster/internal/testdb"
)

var (
	buildOnce sync.Once
	binary    string // path of the roster binary built for this run
	buildErr  error
	binDir    string // removed by Cleanup
)

// Binary builds ./cmd/roster once and returns its path.
func Binary(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		root, err := moduleRoot()
		if err != nil {
			buildErr = err
			return
		}
		if buildErr = statSources(root); buildErr != nil {
			return
		}
		binDir, buildErr = os.MkdirTemp("", "roster-testserver-")
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

// Cleanup removes the built binary; call it from TestMain after the tests.
func Cleanup() {
	if binDir != "" {
		os.RemoveAll(binDir)
	}
}

// moduleRoot is the directory of go.mod above the working directory.
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("testserver: no go.mod above the working directory")
		}
		dir = parent
	}
}

// statSources looks at every file the roster binary is built from. go test
// caches a pass until the test binary or a file the test looked at
// changes, and the server these tests drive is another binary: without
// this, a change to a page would leave "go test ./..." reporting the
// cached pass of the old page.
func statSources(root string) error {
	return filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		if d.IsDir() {
			if path != root && (strings.HasPrefix(name, ".") || name == "node_modules" || name == "docs") {
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

// FreshDatabase returns the flags of a database of the test's own: SQLite
// in a temporary directory, or a fresh PostgreSQL database (dropped when
// the test ends) when ROSTER_TEST_STORE=postgres.
func FreshDatabase(t testing.TB) (flags []string, store string) {
	t.Helper()
	flags = []string{"--data-dir", t.TempDir()}
	if os.Getenv(testdb.EnvStore) == "postgres" {
		return append(flags, "--database-url", testdb.URL(t)), "postgres"
	}
	return flags, "sqlite"
}

// Server is one running "roster serve".
type Server struct {
	URL string   // http://127.0.0.1:<port>
	Log *Log     // its JSON log
	Bin string   // the roster binary, for the operator commands
	DB  []string // the flags that name its database
}

// Start runs "roster serve" on 127.0.0.1 with a port the system picks and
// the database flags db, plus args, with only env in its environment (no
// ROSTER_* variable of the test's environment leaks in), and stops it with
// SIGINT when the test ends. It returns once the server listens.
func Start(t testing.TB, db, args, env []string) *Server {
	t.Helper()
	bin := Binary(t)
	cmd := exec.Command(bin, append(append([]string{"serve", "--addr", "127.0.0.1:0", "--log-format", "json"}, db...), args...)...)
	cmd.Env = append([]string{"TZ=UTC"}, env...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start roster serve: %v", err)
	}
	log := newLog()
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
			t.Logf("log of roster serve:\n%s", log.Text())
		}
	})
	s := &Server{Log: log, Bin: bin, DB: db}
	listening := log.Wait(t, "the listening line", func(r Record) bool { return r["msg"] == "listening" })
	s.URL, _ = listening["url"].(string)
	if !strings.HasPrefix(s.URL, "http://127.0.0.1:") {
		t.Fatalf("roster serve listens at %q, want http://127.0.0.1:<port>", s.URL)
	}
	return s
}

// Command runs an operator command of the binary on the server's database
// and returns its standard output.
func (s *Server) Command(t testing.TB, args ...string) []byte {
	t.Helper()
	cmd := exec.Command(s.Bin, append(args, s.DB...)...)
	cmd.Env = []string{"TZ=UTC"}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("roster %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return out
}

// Record is one line of the JSON log.
type Record = map[string]any

// Log keeps the JSON log of roster serve and lets a test wait for a line
// instead of guessing when it is written.
type Log struct {
	mu      sync.Mutex
	lines   []string
	recs    []Record
	updated chan struct{} // closed and replaced on each line
	ended   bool          // the process closed its standard error
}

func newLog() *Log { return &Log{updated: make(chan struct{})} }

func (l *Log) read(f io.Reader) {
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		var rec Record
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

// Wait returns the first record that match accepts. The minute is a bound
// for a server that hangs, not a timing expectation.
func (l *Log) Wait(t testing.TB, what string, match func(Record) bool) Record {
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
			t.Fatalf("roster serve exited before it logged %s; its log:\n%s", what, l.Text())
		}
		select {
		case <-updated:
		case <-deadline:
			t.Fatalf("roster serve did not log %s within a minute; its log:\n%s", what, l.Text())
		}
	}
}

// Text is the whole log so far.
func (l *Log) Text() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.lines, "\n")
}
