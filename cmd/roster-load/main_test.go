package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestCheckLoopbackURL(t *testing.T) {
	tests := []struct {
		url  string
		isOK bool
	}{
		{"http://127.0.0.1:8080", true},
		{"http://127.0.0.2:8080", true},
		{"http://[::1]:8080", true},
		{"http://localhost:8080", true},
		{"http://10.0.0.1:8080", false},
		{"http://0.0.0.0:8080", false},
		{"http://192.168.1.10", false},
		{"https://127.0.0.1:8443", false},
		{"127.0.0.1:8080", false},
		{"http://", false},
	}
	for _, tt := range tests {
		err := checkLoopbackURL(tt.url)
		if (err == nil) != tt.isOK {
			t.Errorf("checkLoopbackURL(%q) = %v, want ok=%v", tt.url, err, tt.isOK)
		}
	}
}

func TestDialLoopbackOnly(t *testing.T) {
	tests := []struct {
		addr string
		isOK bool
	}{
		{"127.0.0.1:80", true},
		{"[::1]:80", true},
		{"10.1.2.3:80", false},
		{"[2001:db8::1]:80", false},
		{"nonsense", false},
	}
	for _, tt := range tests {
		err := dialLoopbackOnly("tcp", tt.addr, nil)
		if (err == nil) != tt.isOK {
			t.Errorf("dialLoopbackOnly(%q) = %v, want ok=%v", tt.addr, err, tt.isOK)
		}
	}
}

func TestParseStatCPU(t *testing.T) {
	tests := []struct {
		line string
		want time.Duration
		bad  bool
	}{
		{"1234 (roster) S 1 1234 1234 0 -1 4194560 1000 0 0 0 250 50 0 0 20 0 8 0 100 0 0", 3 * time.Second, false},
		{"99 (a b) c)) R 1 99 99 0 -1 0 0 0 0 0 7 3 0 0 20 0 1 0 1 0 0", 100 * time.Millisecond, false},
		{"no parenthesis here", 0, true},
		{"1 (x) S 1 2", 0, true},
		{"1 (x) S 1 1 1 0 -1 0 0 0 0 0 x 3 0", 0, true},
	}
	for _, tt := range tests {
		got, err := parseStatCPU([]byte(tt.line))
		if (err != nil) != tt.bad || got != tt.want {
			t.Errorf("parseStatCPU(%q) = %v, %v; want %v, error %v", tt.line, got, err, tt.want, tt.bad)
		}
	}
}

func TestParseMachineBusy(t *testing.T) {
	tests := []struct {
		in   string
		want time.Duration
		bad  bool
	}{
		// user nice system idle iowait irq softirq steal guest guest_nice
		{"cpu  100 20 30 5000 40 5 5 10 50 0\ncpu0 1 2 3 4 5 6 7 8 9 0\n", 1700 * time.Millisecond, false},
		{"cpu  1 0 1 9 0\n", 0, true},
		{"cpu0 1 2 3 4 5 6 7 8\n", 0, true},
		{"cpu  1 x 1 9 0 0 0 0\n", 0, true},
	}
	for _, tt := range tests {
		got, err := parseMachineBusy([]byte(tt.in))
		if (err != nil) != tt.bad || got != tt.want {
			t.Errorf("parseMachineBusy(%q) = %v, %v; want %v, error %v", tt.in, got, err, tt.want, tt.bad)
		}
	}
}

func TestParsePPID(t *testing.T) {
	tests := []struct {
		in   string
		want int
	}{
		{"4321 (postgres) S 812 812 812 0 -1", 812},
		{"7 (a) b) R 1 7", 1},
		{"7 (x) S", -1},
		{"garbage", -1},
	}
	for _, tt := range tests {
		if got := parsePPID([]byte(tt.in)); got != tt.want {
			t.Errorf("parsePPID(%q) = %d, want %d", tt.in, got, tt.want)
		}
	}
}

func TestParseStatusMemory(t *testing.T) {
	status := "Name:\troster\nVmHWM:\t   30000 kB\nVmRSS:\t   20480 kB\nThreads:\t8\n"
	got, err := parseStatusMemory([]byte(status))
	if want := (memory{RSS: 20480 << 10, Peak: 30000 << 10}); err != nil || got != want {
		t.Errorf("parseStatusMemory = %+v, %v; want %+v", got, err, want)
	}
	if _, err := parseStatusMemory([]byte("Name:\tx\nVmRSS:\t1 kB\n")); err == nil {
		t.Errorf("parseStatusMemory without VmHWM succeeded, want an error")
	}
}

func TestReadOwnProcess(t *testing.T) {
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		t.Skip("no /proc on this system")
	}
	if _, err := readCPU(os.Getpid()); err != nil {
		t.Errorf("readCPU(self) = %v", err)
	}
	if m, err := readMemory(os.Getpid()); err != nil || m.RSS <= 0 {
		t.Errorf("readMemory(self) = %+v, %v", m, err)
	}
}

func TestPercentile(t *testing.T) {
	var d []time.Duration
	for i := 1; i <= 100; i++ {
		d = append(d, time.Duration(i))
	}
	tests := []struct {
		in   []time.Duration
		p    float64
		want time.Duration
	}{
		{d, 50, 50},
		{d, 90, 90},
		{d, 99, 99},
		{d, 100, 100},
		{d, 0, 1},
		{d[:1], 99, 1},
		{nil, 50, 0},
	}
	for _, tt := range tests {
		if got := percentile(tt.in, tt.p); got != tt.want {
			t.Errorf("percentile(%d values, %v) = %v, want %v", len(tt.in), tt.p, got, tt.want)
		}
	}
}

func TestSeedAccounts(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []seedAccount
	}{
		{"array", `[{"account_id":"a1","admin_email":"x@y.z","api_key":"rst_1"},{"account_id":"a2","api_key":"rst_2"}]`,
			[]seedAccount{{"a1", "rst_1"}, {"a2", "rst_2"}}},
		{"wrapped", `{"users": 10, "accounts":[{"id":"a1","key":"rst_1"}]}`, []seedAccount{{"a1", "rst_1"}}},
		{"json lines", "{\"account_id\":\"a1\",\"admin_key\":\"rst_1\"}\n{\"account_id\":\"a2\",\"admin_key\":\"rst_2\"}\n",
			[]seedAccount{{"a1", "rst_1"}, {"a2", "rst_2"}}},
		{"no key", `[{"account_id":"a1"}]`, nil},
		{"not json", `seeding...`, nil},
	}
	for _, tt := range tests {
		got := seedAccounts([]byte(tt.in))
		if fmt.Sprint(got) != fmt.Sprint(tt.want) {
			t.Errorf("%s: seedAccounts(%s) = %v, want %v", tt.name, tt.in, got, tt.want)
		}
	}
}

// flagError is a command line and a part of the error run must return.
type flagError struct {
	args []string
	want string
}

// checkFlagErrors runs each command line and checks that it fails as it
// should.
func checkFlagErrors(t *testing.T, tests []flagError) {
	t.Helper()
	for _, tt := range tests {
		var out, errOut bytes.Buffer
		err := run(context.Background(), tt.args, &out, &errOut)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("run(%q) = %v, want an error containing %q", tt.args, err, tt.want)
		}
	}
}

// writeSeed writes a seed JSON file for --seed-json and returns its path.
func writeSeed(t *testing.T, content string) string {
	t.Helper()
	seed := t.TempDir() + "/seed.json"
	if err := os.WriteFile(seed, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return seed
}

// runJSON runs roster-load with args and --json into a file, fails the test
// on an error, decodes the JSON into rep and returns the table it printed.
func runJSON(t *testing.T, rep any, args ...string) string {
	t.Helper()
	jsonOut := t.TempDir() + "/out.json"
	var out, errOut bytes.Buffer
	if err := run(context.Background(), append(args, "--json", jsonOut), &out, &errOut); err != nil {
		t.Fatalf("run = %v\nstderr:\n%s", err, errOut.String())
	}
	b, err := os.ReadFile(jsonOut)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, rep); err != nil {
		t.Fatalf("decoding %s: %v", b, err)
	}
	return out.String()
}

func TestFlagErrors(t *testing.T) {
	checkFlagErrors(t, []flagError{
		{[]string{"--url", "http://10.0.0.1:8080", "--key", "rst_x", "--account", "a"}, "not a loopback address"},
		{[]string{"--key", "rst_x"}, "--seed-json"},
		{[]string{"--key", "rst_x", "--account", "a", "--workloads", "get,fly"}, `unknown workload "fly"`},
		{[]string{"--key", "rst_x", "--account", "a", "--requests", "0"}, "must be positive"},
		{[]string{"--key", "rst_x", "--account", "a", "extra"}, "unexpected argument"},
	})
}

// fakeAPI is a tiny in-memory stand-in for the users API of one account,
// enough to drive every workload.
type fakeAPI struct {
	mu      sync.Mutex
	account string
	key     string
	users   []apiUser
	byID    map[string]*apiUser
}

func newFakeAPI(n int) *fakeAPI {
	f := &fakeAPI{account: "acct", key: "rst_test", byID: map[string]*apiUser{}}
	last := []string{"Annable", "Brown", "Hannah", "Zyx"}
	for i := range n {
		u := apiUser{ID: fmt.Sprintf("u%05d", i), FirstName: fmt.Sprintf("First%05d", i), LastName: last[i%len(last)],
			Email: fmt.Sprintf("user%d@example.com", i), Status: "active", Roles: []string{"support"}}
		if i == 0 {
			u.Roles = []string{"admin"}
		}
		if i == n-1 {
			u.LastName = "Quixote"
		}
		f.users = append(f.users, u)
	}
	for i := range f.users {
		f.byID[f.users[i].ID] = &f.users[i]
	}
	return f
}

func (f *fakeAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/readyz" {
		return
	}
	if r.Header.Get("Authorization") != "Bearer "+f.key {
		http.Error(w, `{"title":"unauthorized"}`, 401)
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	rest, ok := strings.CutPrefix(r.URL.Path, "/api/v1/accounts/"+f.account+"/users")
	if !ok {
		http.NotFound(w, r)
		return
	}
	parts := strings.Split(strings.Trim(rest, "/"), "/")
	switch {
	case rest == "" && r.Method == "GET":
		f.list(w, r)
	case rest == "" && r.Method == "POST":
		var in apiUser
		if err := json.NewDecoder(r.Body).Decode(&in); err != nil || in.Email == "" {
			http.Error(w, "bad body", 422)
			return
		}
		w.WriteHeader(201)
	case len(parts) == 1 && r.Method == "GET" && f.byID[parts[0]] != nil:
		json.NewEncoder(w).Encode(f.byID[parts[0]])
	case len(parts) == 2 && r.Method == "POST" && f.byID[parts[0]] != nil:
		u := f.byID[parts[0]]
		from, to := "active", "inactive"
		if parts[1] == "restore" {
			from, to = to, from
		}
		if u.Status != from {
			http.Error(w, `{"title":"conflict"}`, 409)
			return
		}
		u.Status = to
	default:
		http.NotFound(w, r)
	}
}

func (f *fakeAPI) list(w http.ResponseWriter, r *http.Request) {
	q := strings.ToLower(r.URL.Query().Get("q"))
	var match []apiUser
	for _, u := range f.users {
		if q == "" || strings.Contains(strings.ToLower(u.FirstName+" "+u.LastName+"\n"+u.Email), q) {
			match = append(match, u)
		}
	}
	limit, _ := strconv.Atoi(r.URL.Query().Get("limit"))
	if limit == 0 {
		limit = 25
	}
	start, _ := strconv.Atoi(r.URL.Query().Get("cursor"))
	end := min(start+limit, len(match))
	p := userPage{Items: match[start:end], Total: int64(len(match))}
	if end < len(match) {
		c := strconv.Itoa(end)
		p.NextCursor = &c
	}
	json.NewEncoder(w).Encode(p)
}

func TestRunAgainstFakeAPI(t *testing.T) {
	f := newFakeAPI(1000)
	srv := httptest.NewServer(f)
	defer srv.Close()
	seed := writeSeed(t, `[{"account_id":"acct","api_key":"rst_test"}]`)
	var rep report
	out := runJSON(t, &rep, "--url", srv.URL, "--seed-json", seed, "--requests", "50", "--warmup", "5", "--duration", "5s",
		"--deep-page", "4", "--server-pid", strconv.Itoa(os.Getpid()))
	want := []string{"get", "list", "list-deep p1", "list-deep p4", "search common", "search rare", "email", "invite", "revoke"}
	var got []string
	for _, r := range rep.Results {
		got = append(got, r.Name)
		if r.Requests != 50 || r.Errors != 0 || r.ServerCPUPerReqMS == nil {
			t.Errorf("%s: %d requests, %d errors %v, CPU/req %v; want 50 requests without errors, with CPU/req",
				r.Name, r.Requests, r.Errors, r.ErrorSamples, r.ServerCPUPerReqMS)
		}
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("workloads run = %v, want %v", got, want)
	}
	if rep.AccountUsers != 1000 || len(rep.Terms) != 2 || rep.Terms[1].Q != "quixote" || rep.Terms[1].Matches != 1 {
		t.Errorf("report: %d users, terms %+v; want 1000 users and the rare term quixote with 1 match", rep.AccountUsers, rep.Terms)
	}
	for _, u := range f.users {
		if u.Status != "active" {
			t.Errorf("user %s is %s after the run, want active (revoked users are restored)", u.ID, u.Status)
		}
	}
	if !strings.Contains(out, "search rare") {
		t.Errorf("table output lacks the search rare row:\n%s", out)
	}
}

func TestRunCountsErrors(t *testing.T) {
	f := newFakeAPI(300)
	srv := httptest.NewServer(f)
	defer srv.Close()
	var out, errOut bytes.Buffer
	f.key = "rst_other" // the sampling before any workload is refused
	args := []string{"--url", srv.URL, "--account", "acct", "--key", "rst_test", "--workloads", "get"}
	err := run(context.Background(), args, &out, &errOut)
	if err == nil || !strings.Contains(err.Error(), "HTTP 401") {
		t.Errorf("run with a wrong key = %v, want an error naming HTTP 401", err)
	}

	f.key = "rst_test"
	var rep report
	runJSON(t, &rep, "--url", srv.URL, "--account", "acct", "--key", "rst_test", "--workloads", "revoke", "--requests", "400")
	if len(rep.Results) != 1 {
		t.Fatalf("report %+v: want one result", rep)
	}
	// 299 active non-admin users: revoke stops when they run out.
	if r := rep.Results[0]; r.Requests != 299 || r.Errors != 0 {
		t.Errorf("revoke: %d requests, %d errors; want 299 and 0", r.Requests, r.Errors)
	}
}

func TestWaitReady(t *testing.T) {
	srv := httptest.NewServer(newFakeAPI(1))
	defer srv.Close()
	var out, errOut bytes.Buffer
	args := []string{"--wait-ready", "--url", srv.URL, "--server-pid", strconv.Itoa(os.Getpid()), "--idle", "0s"}
	if err := run(context.Background(), args, &out, &errOut); err != nil {
		t.Fatalf("run(%q) = %v", args, err)
	}
	if !strings.Contains(out.String(), "start to ready:") || !strings.Contains(out.String(), "idle RSS") {
		t.Errorf("run(%q) printed %q, want the start-to-ready time and idle RSS", args, out.String())
	}
}
