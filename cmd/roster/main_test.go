package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"roster"
	"roster/internal/postgres"
	"roster/internal/sqlite"
	"roster/internal/testdb"
)

// noEnv is a getenv that sees no variables, so that the environment of the
// test process cannot change what a command does.
func noEnv(string) string { return "" }

func mapEnv(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

// result is what one run of the program produced.
type result struct {
	stdout, stderr string
	err            error
}

func (r result) code() int {
	if r.err == nil {
		return 0
	}
	return exitCode(r.err)
}

// runCLI runs the program in-process with stdin and returns its outputs.
func runCLI(t *testing.T, stdin string, args ...string) result {
	t.Helper()
	var stdout, stderr bytes.Buffer
	err := run(context.Background(), args, noEnv, strings.NewReader(stdin), &stdout, &stderr)
	return result{stdout: stdout.String(), stderr: stderr.String(), err: err}
}

// mustRunJSON runs the program, fails the test on an error and decodes its
// standard output into a value of type T.
func mustRunJSON[T any](t *testing.T, stdin string, args ...string) T {
	t.Helper()
	r := runCLI(t, stdin, args...)
	if r.err != nil {
		t.Fatalf("roster %s: %v\nstderr: %s", strings.Join(args, " "), r.err, r.stderr)
	}
	var v T
	dec := json.NewDecoder(strings.NewReader(r.stdout))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("roster %s: output %q is not the expected JSON: %v", strings.Join(args, " "), r.stdout, err)
	}
	return v
}

// dbArgs are the flags that point a command at one test database.
type dbArgs struct {
	store   string // "sqlite" or "postgres"
	dataDir string
	url     string // PostgreSQL only
}

func (d dbArgs) flags() []string {
	f := []string{"--data-dir", d.dataDir}
	if d.url != "" {
		f = append(f, "--database-url", d.url)
	}
	return f
}

// with returns args followed by the database flags.
func (d dbArgs) with(args ...string) []string { return append(args, d.flags()...) }

// open opens the database directly, for checks behind the program's back.
func (d dbArgs) open(t *testing.T) roster.Store {
	t.Helper()
	ctx := context.Background()
	var (
		st  roster.Store
		err error
	)
	if d.url != "" {
		st, err = postgres.Open(ctx, d.url)
	} else {
		st, err = sqlite.Open(ctx, d.dataDir)
	}
	if err != nil {
		t.Fatalf("open %s: %v", d.store, err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// eachStore runs fn as subtests "sqlite" and "postgres", each with a fresh
// empty database, honouring ROSTER_TEST_STORE like testdb.Each.
func eachStore(t *testing.T, fn func(t *testing.T, db dbArgs)) {
	t.Helper()
	only := os.Getenv(testdb.EnvStore)
	if only != "postgres" {
		t.Run("sqlite", func(t *testing.T) {
			fn(t, dbArgs{store: "sqlite", dataDir: t.TempDir()})
		})
	}
	if only != "sqlite" {
		t.Run("postgres", func(t *testing.T) {
			fn(t, dbArgs{store: "postgres", dataDir: t.TempDir(), url: testdb.URL(t)})
		})
	}
}

// logWatch is the server's standard error. The log is JSON
// (--log-format json): it keeps the log, parses each line, reports the
// address of the "listening" line, which is how the tests learn the port
// the system picked, and lets a test wait for a line instead of guessing
// when it is written.
type logWatch struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	partial []byte
	recs    []map[string]any
	changed chan struct{} // closed and replaced on every new line
	addr    chan string
}

func newLogWatch() *logWatch {
	return &logWatch{addr: make(chan string, 1), changed: make(chan struct{})}
}

func (w *logWatch) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	w.partial = append(w.partial, p...)
	for {
		i := bytes.IndexByte(w.partial, '\n')
		if i < 0 {
			break
		}
		var rec map[string]any
		if json.Unmarshal(w.partial[:i], &rec) == nil {
			w.recs = append(w.recs, rec)
			close(w.changed)
			w.changed = make(chan struct{})
			if addr, ok := rec["addr"].(string); ok && rec["msg"] == "listening" {
				select {
				case w.addr <- addr:
				default:
				}
			}
		}
		w.partial = w.partial[i+1:]
	}
	return len(p), nil
}

// wait returns the n-th (from 1) log record that match accepts, waiting
// for it up to a minute: a bound for a hung server, not a timing
// expectation.
func (w *logWatch) wait(t *testing.T, what string, n int, match func(map[string]any) bool) map[string]any {
	t.Helper()
	deadline := time.NewTimer(time.Minute)
	defer deadline.Stop()
	for {
		w.mu.Lock()
		seen := 0
		for _, rec := range w.recs {
			if match(rec) {
				if seen++; seen == n {
					w.mu.Unlock()
					return rec
				}
			}
		}
		changed := w.changed
		w.mu.Unlock()
		select {
		case <-changed:
		case <-deadline.C:
			t.Fatalf("the log of roster serve has no %s within a minute", what)
		}
	}
}

func (w *logWatch) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

// server is a running "roster serve".
type server struct {
	url    string
	log    *logWatch
	cancel context.CancelFunc
	done   chan error
}

// startServer runs "roster serve" on a free port with the given extra
// flags and returns once it listens. The server is stopped at the end of
// the test if the test did not stop it.
func startServer(t *testing.T, args ...string) *server {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	s := &server{log: newLogWatch(), cancel: cancel, done: make(chan error, 1)}
	args = append([]string{"serve", "--addr", "127.0.0.1:0", "--log-format", "json", "--log-level", "debug"}, args...)
	go func() { s.done <- run(ctx, args, noEnv, strings.NewReader(""), io.Discard, s.log) }()
	select {
	case addr := <-s.log.addr:
		s.url = "http://" + addr
	case err := <-s.done:
		cancel()
		t.Fatalf("roster serve exited before listening: %v\nlog:\n%s", err, s.log)
	case <-time.After(time.Minute): // a deadline for a hung start, not a wait
		cancel()
		t.Fatalf("roster serve did not listen within a minute\nlog:\n%s", s.log)
	}
	t.Cleanup(func() {
		if s.done != nil {
			if err := s.stop(); err != nil {
				t.Errorf("roster serve: %v\nlog:\n%s", err, s.log)
			}
		}
	})
	return s
}

// stop cancels the server's context, as SIGTERM does, and returns run's error.
func (s *server) stop() error {
	s.cancel()
	err := <-s.done
	s.done = nil
	return err
}

// get sends a GET with an optional bearer key and returns the status and body.
func (s *server) get(t *testing.T, path, key string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, s.url+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	return resp.StatusCode, body
}

func TestServe(t *testing.T) {
	eachStore(t, func(t *testing.T, db dbArgs) {
		s := startServer(t, db.flags()...)
		for _, path := range []string{"/healthz", "/readyz"} {
			if code, body := s.get(t, path, ""); code != http.StatusOK {
				t.Errorf("GET %s = %d %s, want 200", path, code, body)
			}
		}
		if err := s.stop(); err != nil {
			t.Fatalf("roster serve after cancel = %v, want nil (a clean shutdown)\nlog:\n%s", err, s.log)
		}
		log := s.log.String()
		for _, want := range []string{`"msg":"shutting down"`, `"msg":"stopped"`} {
			if !strings.Contains(log, want) {
				t.Errorf("log lacks %s:\n%s", want, log)
			}
		}
		if _, err := http.Get(s.url + "/healthz"); err == nil {
			t.Errorf("GET /healthz after shutdown succeeded, want a refused connection")
		}
	})
}

// TestServeSchemaCurrent checks that serve migrates a fresh database and
// that a later "roster migrate" then has nothing to do.
func TestServeSchemaCurrent(t *testing.T) {
	eachStore(t, func(t *testing.T, db dbArgs) {
		startServer(t, db.flags()...).stop()
		got := mustRunJSON[map[string]int](t, "", db.with("migrate")...)
		if got["applied"] != 0 {
			t.Errorf("migrate after serve = %v, want {applied: 0}", got)
		}
	})
}

func TestServeSecret(t *testing.T) {
	db := dbArgs{store: "sqlite", dataDir: t.TempDir()}
	if err := startServer(t, db.flags()...).stop(); err != nil {
		t.Fatal(err)
	}
	path := db.dataDir + "/" + secretFileName
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatalf("serve did not create the secret file: %v", err)
	}
	if mode := fi.Mode().Perm(); mode != 0o600 {
		t.Errorf("secret file mode = %v, want 0600", mode)
	}
	first, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if s := strings.TrimSpace(string(first)); len(s) != 64 {
		t.Errorf("secret = %q, want 64 hex characters (32 random bytes)", s)
	}
	if err := startServer(t, db.flags()...).stop(); err != nil {
		t.Fatal(err)
	}
	again, _ := os.ReadFile(path)
	if !bytes.Equal(first, again) {
		t.Errorf("second start changed the secret from %q to %q, want it reused", first, again)
	}
}

// TestSecretRace starts many first uses of a data directory at once: all
// must agree on one secret.
func TestSecretRace(t *testing.T) {
	path := t.TempDir() + "/data/" + secretFileName
	const n = 8
	secrets := make([][]byte, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			secrets[i], _, errs[i] = readOrCreateSecret(path)
		}()
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("readOrCreateSecret: %v", errs[i])
		}
		if !bytes.Equal(secrets[i], secrets[0]) {
			t.Errorf("concurrent first uses got different secrets %q and %q", secrets[i], secrets[0])
		}
	}
}

func TestSecretTooShort(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(dir+"/"+secretFileName, []byte("short\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	r := runCLI(t, "", "serve", "--addr", "127.0.0.1:0", "--data-dir", dir)
	if r.err == nil || r.code() != 1 || !strings.Contains(r.err.Error(), "shorter than 32 characters") {
		t.Errorf("serve with a short secret file = %v (exit %d), want exit 1 naming the problem", r.err, r.code())
	}
}

func TestServeAddressInUse(t *testing.T) {
	s := startServer(t, "--data-dir", t.TempDir())
	addr := strings.TrimPrefix(s.url, "http://")
	r := runCLI(t, "", "serve", "--addr", addr, "--data-dir", t.TempDir())
	if r.code() != 1 || !strings.Contains(r.err.Error(), "listen on "+addr) {
		t.Errorf("serve on a busy address = %v (exit %d), want exit 1 saying it cannot listen", r.err, r.code())
	}
}

func TestServeRejectsBadConfig(t *testing.T) {
	tests := []struct {
		args []string
		env  map[string]string
		want string
	}{
		{[]string{"--log-format", "xml"}, nil, "--log-format: use text or json"},
		{[]string{"--log-level", "loud"}, nil, "--log-level: use debug, info, warn or error"},
		{[]string{"--database-url", "mysql://localhost/roster"}, nil, "--database-url: use a postgres:// or postgresql:// URL"},
		{[]string{"--secret", "too-short"}, nil, "--secret: must be at least 32 characters"},
		{[]string{"--staff-domain", "not a domain"}, nil, `--staff-domain: "not a domain" is not a domain name`},
		{[]string{"--shutdown-timeout", "soon"}, nil, `invalid value "soon" for flag -shutdown-timeout`},
		{[]string{"--shutdown-timeout", "-1s"}, nil, "--shutdown-timeout: give a positive duration"},
		{nil, map[string]string{"ROSTER_SHUTDOWN_TIMEOUT": "soon"}, "ROSTER_SHUTDOWN_TIMEOUT: "},
		{nil, map[string]string{"ROSTER_LOG_FORMAT": "xml"}, "--log-format: use text or json"},
		{[]string{"--max-expert-days", "0"}, nil, "--max-expert-days: give a whole number of days from 1 to 3650"},
		{nil, map[string]string{"ROSTER_MAX_EXPERT_DAYS": "ninety"}, "--max-expert-days: give a whole number of days"},
		{[]string{"extra"}, nil, `unexpected argument "extra"`},
	}
	for _, tt := range tests {
		args := append([]string{"serve", "--addr", "127.0.0.1:0", "--data-dir", t.TempDir()}, tt.args...)
		var stdout, stderr bytes.Buffer
		err := run(context.Background(), args, mapEnv(tt.env), strings.NewReader(""), &stdout, &stderr)
		if err == nil || exitCode(err) != 2 || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("roster %s with env %v = %v (exit %d), want exit 2 with %q", strings.Join(args, " "), tt.env, err, exitCode(err), tt.want)
		}
	}
}

// TestFlagEnv checks how flags and ROSTER_* variables combine.
func TestFlagEnv(t *testing.T) {
	tests := []struct {
		name      string
		args      []string
		env       map[string]string
		wantAddr  string
		wantStaff []string
	}{
		{"defaults", nil, nil, defaultAddr, []string{defaultStaffDomain}},
		{"env", nil, map[string]string{"ROSTER_ADDR": "0.0.0.0:9000", "ROSTER_STAFF_DOMAIN": "a.example, b.example"},
			"0.0.0.0:9000", []string{"a.example", "b.example"}},
		{"flag beats env", []string{"--addr", "127.0.0.1:1", "--staff-domain", "c.example"},
			map[string]string{"ROSTER_ADDR": "0.0.0.0:9000", "ROSTER_STAFF_DOMAIN": "a.example,b.example"},
			"127.0.0.1:1", []string{"c.example"}},
		{"repeated flag", []string{"--staff-domain", "c.example", "--staff-domain", "d.example"}, nil,
			defaultAddr, []string{"c.example", "d.example"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs := newFlagSet("serve")
			serveCommand().register(fs)
			if err := parseFlags(fs, tt.args, mapEnv(tt.env)); err != nil {
				t.Fatal(err)
			}
			if got := fs.Lookup("addr").Value.String(); got != tt.wantAddr {
				t.Errorf("--addr = %q, want %q", got, tt.wantAddr)
			}
			if got := fs.Lookup("staff-domain").Value.(*listFlag).values; strings.Join(got, " ") != strings.Join(tt.wantStaff, " ") {
				t.Errorf("--staff-domain = %q, want %q", got, tt.wantStaff)
			}
		})
	}
}

func TestHelp(t *testing.T) {
	tests := []struct {
		args []string
		want []string
	}{
		{[]string{"help"}, []string{"serve", "migrate", "account create", "account update", "api-key create", "dev seed"}},
		{[]string{"-h"}, []string{"roster <command> [flags]"}},
		{[]string{"help", "serve"}, []string{"--addr", "default 127.0.0.1:8080", "env ROSTER_ADDR",
			"default tatacommunications.com", "repeatable", "env ROSTER_STAFF_DOMAIN", "--secret", "--log-format"}},
		{[]string{"serve", "-h"}, []string{"Usage: roster serve [flags]", "--database-url"}},
		{[]string{"account", "create", "--help"}, []string{"--admin-email", "--admin-password-stdin"}},
		{[]string{"help", "account", "update"}, []string{"--enable-role", "--clear-allowed-domains"}},
		{[]string{"api-key", "create", "-h"}, []string{"--user-email", "Bearer"}},
		{[]string{"dev", "seed", "-h"}, []string{"--users-per-account", "--seed"}},
		{[]string{"migrate", "-h"}, []string{`{"applied": N}`}},
	}
	for _, tt := range tests {
		r := runCLI(t, "", tt.args...)
		if r.err != nil {
			t.Errorf("roster %s = %v, want success", strings.Join(tt.args, " "), r.err)
			continue
		}
		for _, w := range tt.want {
			if !strings.Contains(r.stdout, w) {
				t.Errorf("roster %s output lacks %q:\n%s", strings.Join(tt.args, " "), w, r.stdout)
			}
		}
	}
}

func TestUsageErrors(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		args []string
		want string
	}{
		{nil, "no command given"},
		{[]string{"bogus"}, `unknown command "bogus"`},
		{[]string{"account"}, "roster account needs a command: create, update"},
		{[]string{"dev"}, "roster dev needs a command: seed"},
		{[]string{"account", "delete"}, `unknown command "account delete"`},
		{[]string{"help", "bogus"}, `unknown command "bogus"`},
		{[]string{"serve", "--nope"}, "flag provided but not defined: -nope"},
		{[]string{"account", "update", "--data-dir", dir}, "--account: give the id"},
		{[]string{"account", "update", "--account", roster.NewID(time.Now()), "--data-dir", dir}, "--data-dir: there is no database at " + dir + "/roster.db"},
		{[]string{"api-key", "create", "--account", roster.NewID(time.Now()), "--data-dir", dir}, "--data-dir: there is no database at"},
		{[]string{"api-key", "create", "--data-dir", dir}, "--account: give the id"},
		{[]string{"dev", "seed", "--accounts", "0", "--data-dir", dir}, "--accounts: give a number"},
		{[]string{"dev", "seed", "--batch", "x", "--data-dir", dir}, `invalid value "x" for flag -batch`},
	}
	for _, tt := range tests {
		r := runCLI(t, "", tt.args...)
		if r.code() != 2 || !strings.Contains(r.err.Error(), tt.want) {
			t.Errorf("roster %s = %v (exit %d), want exit 2 with %q", strings.Join(tt.args, " "), r.err, r.code(), tt.want)
		}
	}
}

func TestExitCode(t *testing.T) {
	tests := []struct {
		err  error
		want int
	}{
		{usageErrorf("bad flag"), 2},
		{domainError(&roster.Error{Code: roster.CodeInvalid, Fields: []roster.FieldError{{Field: "admin_email", Message: "Bad."}}}), 2},
		{domainError(roster.Errorf(roster.CodeNotFound, "No account with this id exists.")), 1},
		{domainError(roster.Errorf(roster.CodeConflict, "Nope.")), 1},
		{errors.New("open database: boom"), 1},
	}
	for _, tt := range tests {
		if got := exitCode(tt.err); got != tt.want {
			t.Errorf("exitCode(%v) = %d, want %d", tt.err, got, tt.want)
		}
	}
}
