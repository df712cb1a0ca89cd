package main

import (
	"context"
	"fmt"
	"html"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestFormInputs(t *testing.T) {
	page := `<!doctype html><form method="post" action="/sign-in">
<input type="hidden" name="csrf" value="a&#43;b_c-d&amp;e">
<INPUT TYPE=hidden NAME=next VALUE=/sessions>
<input value='x y' name='single' type="text">
<input type="email" name="email" id="email" autocomplete="email" required>
<input type="submit" value="Go">
<input name="" value="nameless">
<input type="hidden" name="dup" value="1"><input type="hidden" name="dup" value="2">
<textarea name="notinput">t</textarea>
</form>`
	got := formInputs([]byte(page))
	want := map[string]string{"csrf": "a+b_c-d&e", "next": "/sessions", "single": "x y", "email": "", "dup": "2"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("formInputs = %v, want %v", got, want)
	}
	if got := formInputs([]byte("no form here")); len(got) != 0 {
		t.Errorf("formInputs(no form) = %v, want nothing", got)
	}
}

func TestSeedIdentities(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want string
	}{
		{"roster dev seed", `{"accounts":[{"id":"a1","admin_email":"admin@acct1.example","api_key":"rst_1"},
			{"id":"a2","admin_email":"admin@acct2.example","api_key":"rst_2"}],"admin_password":"pw","users_loaded":20}`,
			"[{admin@acct1.example pw} {admin@acct2.example pw}]"},
		{"own passwords", `[{"admin_email":"a@x.example","admin_password":"p1"},{"admin_email":"b@x.example","admin_password":"p2"}]`,
			"[{a@x.example p1} {b@x.example p2}]"},
		{"no password", `{"accounts":[{"admin_email":"a@x.example"}]}`, "[]"},
		{"not json", `seeding...`, "[]"},
	}
	for _, tt := range tests {
		if got := fmt.Sprint(seedIdentities([]byte(tt.in))); got != tt.want {
			t.Errorf("%s: seedIdentities = %s, want %s", tt.name, got, tt.want)
		}
	}
}

func TestArrivals(t *testing.T) {
	a := newArrivals(100, 2*time.Second, 1000)
	if a.n != 200 || a.due(0) != 0 || a.due(3) != 30*time.Millisecond || a.due(199) != 1990*time.Millisecond {
		t.Errorf("newArrivals(100/s, 2s) = %d arrivals, due(3) %v, due(199) %v; want 200, 30ms, 1.99s", a.n, a.due(3), a.due(199))
	}
	if a := newArrivals(900, 10*time.Second, 5000); a.n != 5000 {
		t.Errorf("newArrivals capped at 5000 = %d arrivals", a.n)
	}
	if a := newArrivals(0, time.Second, 10); a.n != 0 {
		t.Errorf("newArrivals(0/s) = %d arrivals, want 0", a.n)
	}
	if a := newArrivals(3, 500*time.Millisecond, 10); a.n != 2 || a.due(1) != 333333333 {
		t.Errorf("newArrivals(3/s, 0.5s) = %d arrivals, due(1) %v; want 2 (1.5 rounded), 333.333333ms", a.n, a.due(1))
	}
}

// fakeSignIn is a stand-in for the sign-in pages: a CSRF cookie and form
// token, 303 with a session cookie for the right password, 401 otherwise,
// and 429 with Retry-After for the email busy@x.example.
type fakeSignIn struct {
	password string
	signed   atomic.Int64
	// hold, when set, is waited on before a POST is answered.
	hold chan struct{}
	got  chan struct{}
}

func (f *fakeSignIn) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.URL.Path == "/readyz":
	case r.URL.Path == "/sign-in" && r.Method == "GET":
		n := f.signed.Add(0)
		cookie := fmt.Sprintf("c%d", n)
		http.SetCookie(w, &http.Cookie{Name: csrfCookieName, Value: cookie, Path: "/", HttpOnly: true})
		fmt.Fprintf(w, `<form method="post"><input type="hidden" name="csrf" value="%s"><input name="email" type="email"></form>`,
			html.EscapeString("tok&"+cookie))
	case r.URL.Path == "/sign-in" && r.Method == "POST":
		if f.got != nil {
			f.got <- struct{}{}
		}
		if f.hold != nil {
			<-f.hold
		}
		c, err := r.Cookie(csrfCookieName)
		if err != nil || r.PostFormValue("csrf") != "tok&"+c.Value || r.Header.Get("Content-Type") != "application/x-www-form-urlencoded" {
			http.Error(w, "bad csrf", http.StatusForbidden)
			return
		}
		if _, err := r.Cookie(sessionCookieName); err == nil {
			http.Error(w, "a session cookie was sent", http.StatusBadRequest)
			return
		}
		switch {
		case r.PostFormValue("email") == "busy@x.example":
			w.Header().Set("Retry-After", "1")
			http.Error(w, "busy", http.StatusTooManyRequests)
		case r.PostFormValue("password") == f.password:
			f.signed.Add(1)
			http.SetCookie(w, &http.Cookie{Name: sessionCookieName, Value: "s", Path: "/", MaxAge: 3600})
			http.Redirect(w, r, "/", http.StatusSeeOther)
		default:
			http.Error(w, "no", http.StatusUnauthorized)
		}
	default:
		http.NotFound(w, r)
	}
}

// startFakeSignIn serves f for the test and returns its URL, a sign-in
// client with room for conns connections, and the CSRF pair it fetched.
func startFakeSignIn(t *testing.T, f *fakeSignIn, conns int) (string, *http.Client, csrfPair) {
	t.Helper()
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	client := newSignInClient(conns, 5*time.Second)
	pair, err := fetchCSRF(context.Background(), client, srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	return srv.URL, client, pair
}

func TestFetchCSRFAndPost(t *testing.T) {
	base, client, pair := startFakeSignIn(t, &fakeSignIn{password: "pw"}, 1)
	ctx := context.Background()
	if pair.Cookie != "c0" || pair.Token != "tok&c0" {
		t.Fatalf("fetchCSRF = %+v; want cookie c0, token tok&c0", pair)
	}
	tests := []struct {
		pair          csrfPair
		id            identity
		status        int
		session, busy bool
	}{
		{pair, identity{"a@x.example", "pw"}, 303, true, false},
		{pair, identity{"a@x.example", "wrong"}, 401, false, false},
		{csrfPair{pair.Cookie, "forged"}, identity{"a@x.example", "pw"}, 403, false, false},
		{pair, identity{"busy@x.example", "pw"}, 429, false, true},
	}
	for _, tt := range tests {
		a := postSignIn(ctx, client, base, tt.pair, tt.id)
		if a.Status != tt.status || a.Session != tt.session || a.RetryAfter != tt.busy || a.Timeout || a.Latency <= 0 {
			t.Errorf("postSignIn(%+v, %s/%s) = %+v; want status %d, session %t, Retry-After %t",
				tt.pair, tt.id.Email, tt.id.Password, a, tt.status, tt.session, tt.busy)
		}
	}
	if _, err := fetchCSRF(ctx, client, base+"/nowhere"); err == nil || !strings.Contains(err.Error(), "404") {
		t.Errorf("fetchCSRF of a missing page = %v, want an error naming 404", err)
	}
}

func TestTally(t *testing.T) {
	var a, b tally
	a.add(signInAnswer{Status: 303, Session: true, Latency: 3})
	a.add(signInAnswer{Status: 303, Latency: 4})
	a.add(signInAnswer{Status: 429, RetryAfter: true, Latency: 1, Reason: "hashing queue full"})
	b.add(signInAnswer{Status: 429, Latency: 2, Reason: "hashing queue full"})
	b.add(signInAnswer{Timeout: true, Err: "timeout", Latency: 10})
	b.add(signInAnswer{Status: 500, Latency: 5})
	a.merge(&b)
	want := map[string]int{"303 without session cookie": 1, "429": 2, "no answer": 1, "500": 1}
	if a.Requests != 6 || a.Signed != 1 || a.Timeouts != 1 || a.NoRetryAfter != 1 || fmt.Sprint(a.ByStatus) != fmt.Sprint(want) ||
		len(a.busyLatencies) != 2 || len(a.okLatencies) != 1 || len(a.allLatencies) != 6 || len(a.ErrorSamples) != 2 || a.Refusals["hashing queue full"] != 2 {
		t.Errorf("tally = %+v; want 6 requests, 1 signed in, 1 timeout, 1 429 without Retry-After, by status %v", a, want)
	}
	if got := statusList(a.ByStatus); got != "429 × 2, 303 without session cookie × 1, 500 × 1, no answer × 1" {
		t.Errorf("statusList = %q", got)
	}
}

func TestFloodCountsAnswers(t *testing.T) {
	base, client, pair := startFakeSignIn(t, &fakeSignIn{password: "pw"}, 100)
	ids := []identity{{"a@x.example", "pw"}, {"busy@x.example", "pw"}}
	r := flood(context.Background(), clientPool{client}, base, []csrfPair{pair}, ids, floodOptions{rate: 2000, duration: 50 * time.Millisecond, maxRequests: 1000, maxInflight: 1000})
	if r.Scheduled != 100 || r.Sent != 100 || r.NotSent != 0 || r.Tally.Requests != 100 || r.Tally.Signed != 50 ||
		r.Tally.ByStatus["429"] != 50 || r.Busy.N != 50 || r.Signed.N != 50 || r.Tally.NoRetryAfter != 0 {
		t.Errorf("flood = %+v; want 100 scheduled and sent, 50 signed in, 50 refused with 429", r)
	}
}

func TestFloodInflightCap(t *testing.T) {
	f := &fakeSignIn{password: "pw", hold: make(chan struct{}), got: make(chan struct{}, 100)}
	base, client, pair := startFakeSignIn(t, f, 10)
	paced := make(chan struct{})
	done := make(chan *floodResult)
	go func() {
		done <- flood(context.Background(), clientPool{client}, base, []csrfPair{pair}, []identity{{"a@x.example", "pw"}},
			floodOptions{rate: 1000, duration: 20 * time.Millisecond, maxRequests: 1000, maxInflight: 3, paced: paced})
	}()
	// Every arrival is started or dropped while the first three are held.
	<-paced
	close(f.hold)
	r := <-done
	if r.Scheduled != 20 || r.Sent != 3 || r.NotSent != 17 || r.MaxInflight != 3 || r.Tally.Signed != 3 {
		t.Errorf("flood with 3 open at most = %+v; want 20 scheduled, 3 sent and signed in, 17 not sent", r)
	}
}

// TestSignInRunCompare checks that a closed-loop run compares the sums of
// its rounds, not their mean, and reports the spread of the rounds.
func TestSignInRunCompare(t *testing.T) {
	// used is a span of s seconds in which the server and this process
	// used srv and self milliseconds of CPU.
	used := func(s float64, srv, self int) usage {
		return usage{cpuTimes{server: time.Duration(srv) * time.Millisecond, self: time.Duration(self) * time.Millisecond},
			time.Duration(s * float64(time.Second))}
	}
	rounds := func() []*signInRound {
		return []*signInRound{
			// 100 hashes in 2 s (50/s, 30 ms CPU each), then 150 sign-ins
			// in 3 s (50/s = 100%), 32 ms of server CPU each (2 ms besides).
			{Hash: &hashLimit{Hashes: 100, used: used(2, 0, 3000)}, SignIns: 150, Signed: 150, used: used(3, 4800, 0)},
			// 160 hashes in 2 s (80/s, 20 ms each), then 180 sign-ins, one
			// refused, in 3 s (59.7/s = 74.6%), 21 ms each (1 ms besides).
			{Hash: &hashLimit{Hashes: 160, used: used(2, 0, 3200)}, SignIns: 180, Signed: 179, used: used(3, 3780, 0)},
		}
	}
	r := &signInRun{Rounds: rounds()}
	r.compare(true)
	for i, want := range []struct{ pct, over float64 }{{100, 2}, {74.6, 1}} {
		x := r.Rounds[i]
		if x.PctOfHashLimit != want.pct || x.OverheadMS == nil || *x.OverheadMS != want.over {
			t.Errorf("round %d: %.1f%% of the hash limit, %v ms besides the hash; want %.1f%%, %.2f ms", i+1, x.PctOfHashLimit, opt(x.OverheadMS, "%.2f"), want.pct, want.over)
		}
	}
	// Sums: 329 signed in over 6 s = 54.8/s against 260 hashes over 4 s =
	// 65/s, 84.4%; 8,580 ms of server CPU over 330 sign-ins = 26 ms, less
	// 6,200 ms over 260 hashes = 23.85 ms a hash, 2.15 ms.
	if r.Seconds != 6 || r.PerSecond != 54.8 || r.HashLimit != 65 || r.PctOfHashLimit != 84.4 || r.HashCPUMS != 23.85 ||
		r.ServerCPUPerMS == nil || *r.ServerCPUPerMS != 26 || r.OverheadMS == nil || *r.OverheadMS != 2.15 {
		t.Errorf("run = %.1f/s over %v s, %.1f hashes/s, %.1f%%, %.2f ms a hash, server %s ms, besides the hash %s ms; "+
			"want 54.8/s over 6 s, 65 hashes/s, 84.4%%, 23.85 ms, 26, 2.15", r.PerSecond, r.Seconds, r.HashLimit, r.PctOfHashLimit, r.HashCPUMS,
			opt(r.ServerCPUPerMS, "%.2f"), opt(r.OverheadMS, "%.2f"))
	}
	if r.PctMin != 74.6 || r.PctMax != 100 || r.OverheadMin == nil || *r.OverheadMin != 1 || *r.OverheadMax != 2 {
		t.Errorf("spread: %.1f–%.1f%%, %s to %s ms; want 74.6–100%%, 1 to 2 ms", r.PctMin, r.PctMax, opt(r.OverheadMin, "%.2f"), opt(r.OverheadMax, "%.2f"))
	}
	if got := hashLimitOf([]*signInRun{r, {Rounds: []*signInRound{{Hash: &hashLimit{Hashes: 40, used: used(4, 0, 0)}}}}}); got != 37.5 {
		t.Errorf("hashLimitOf = %v, want 300 hashes over 8 s = 37.5", got)
	}

	// Without the server's CPU, no figure besides the hash.
	r = &signInRun{Rounds: rounds()}
	r.compare(false)
	if r.OverheadMS != nil || r.OverheadMin != nil || r.ServerCPUPerMS != nil || r.Rounds[0].OverheadMS != nil || r.PctOfHashLimit != 84.4 {
		t.Errorf("run without the server's CPU = %+v; want the throughput only", r)
	}
}

func TestRunSignInAgainstFake(t *testing.T) {
	f := &fakeSignIn{password: "roster-dev-password"}
	srv := httptest.NewServer(f)
	defer srv.Close()
	seed := writeSeed(t, `{"accounts":[{"id":"a1","admin_email":"admin@acct1.example"},{"id":"a2","admin_email":"admin@acct2.example"}],"admin_password":"roster-dev-password"}`)
	var rep struct {
		Identities int     `json:"identities"`
		HashLimit  float64 `json:"hash_limit_per_s"`
		Rounds     int     `json:"rounds"`
		Runs       []struct {
			Concurrency int      `json:"concurrency"`
			Answers     tally    `json:"answers"`
			Overhead    *float64 `json:"server_cpu_ms_besides_the_hash"`
			OverMin     *float64 `json:"besides_the_hash_min_round"`
			OverMax     *float64 `json:"besides_the_hash_max_round"`
			HashLimit   float64  `json:"hash_limit_per_s"`
			PctMin      float64  `json:"pct_of_hash_limit_min_round"`
			PctMax      float64  `json:"pct_of_hash_limit_max_round"`
			Rounds      []struct {
				Hash     hashLimit `json:"hash_limit"`
				SignIns  int       `json:"sign_ins"`
				Signed   int       `json:"signed_in"`
				Pct      float64   `json:"pct_of_hash_limit"`
				Overhead *float64  `json:"server_cpu_ms_besides_the_hash"`
			} `json:"rounds"`
		} `json:"closed_loop"`
		Flood   *floodResult `json:"flood"`
		Targets []target     `json:"targets"`
	}
	// Each round ends at --requests sign-ins, long before --sign-in-round.
	out := runJSON(t, &rep, "--sign-in", "--url", srv.URL, "--seed-json", seed, "--server-pid", strconv.Itoa(os.Getpid()),
		"--sign-in-concurrency", "2,4", "--rounds", "3", "--requests", "20", "--sign-in-round", "10s", "--hash-round", "50ms",
		"--flood-factor", "2", "--flood-duration", "100ms")
	if rep.Identities != 2 || rep.Rounds != 3 || rep.HashLimit <= 0 {
		t.Fatalf("report: %d identities, %d rounds, hash limit %v; want 2 identities, 3 rounds, a hash limit", rep.Identities, rep.Rounds, rep.HashLimit)
	}
	if len(rep.Runs) != 2 || rep.Runs[0].Concurrency != 2 || rep.Runs[1].Concurrency != 4 {
		t.Fatalf("closed-loop runs = %+v, want concurrency 2 and 4", rep.Runs)
	}
	for _, r := range rep.Runs {
		if len(r.Rounds) != 3 {
			t.Fatalf("concurrency %d: %d rounds, want 3", r.Concurrency, len(r.Rounds))
		}
		for i, x := range r.Rounds {
			if x.Hash.Hashes < 1 || x.Hash.PerSecond <= 0 || x.SignIns != 20 || x.Signed != 20 || x.Pct <= 0 || x.Overhead == nil {
				t.Errorf("concurrency %d, round %d = %+v; want hashes, then 20 sign-ins, all signed in, compared", r.Concurrency, i+1, x)
			}
		}
		if r.Answers.Requests != 60 || r.Answers.Signed != 60 || r.Answers.Timeouts != 0 || r.HashLimit <= 0 ||
			r.Overhead == nil || r.OverMin == nil || r.OverMax == nil || *r.OverMin > *r.OverMax || r.PctMin <= 0 || r.PctMin > r.PctMax {
			t.Errorf("concurrency %d: %+v; want 60 sign-ins (3 rounds × 20, the warm-up not counted), all signed in, compared with the spread", r.Concurrency, r)
		}
	}
	if rep.Flood == nil || rep.Flood.Rate != round(2*rep.HashLimit, 1) || rep.Flood.Sent < 1 || rep.Flood.Tally.Signed != rep.Flood.Sent ||
		rep.Flood.PeakRSSMB == nil || rep.Flood.GrowthMB == nil {
		t.Errorf("flood = %+v; want 2× the hash limit of all rounds (%v/s), every request signed in, with the server's memory", rep.Flood, rep.HashLimit)
	}
	// 2 closed-loop runs × (throughput, no stall, overhead) + flood × (429s, memory).
	if len(rep.Targets) != 8 {
		t.Errorf("%d targets checked, want 8: %+v", len(rep.Targets), rep.Targets)
	}
	// The fake answers no 429, so "refused fast" cannot be met.
	if tg := rep.Targets[6]; !strings.Contains(tg.What, "refused fast") || tg.Met {
		t.Errorf("target %+v: want the flood's refusal target, not met without any 429", tg)
	}
	for _, s := range []string{"round by round", "all", "rounds min–max", "flood:", "targets (issue 3)", "MISSED"} {
		if !strings.Contains(out, s) {
			t.Errorf("table output lacks %q:\n%s", s, out)
		}
	}
}

func TestSignInFlagErrors(t *testing.T) {
	checkFlagErrors(t, []flagError{
		{[]string{"--sign-in"}, "--seed-json"},
		{[]string{"--sign-in", "--sign-in-email", "a@x.example"}, "together"},
		{[]string{"--sign-in", "--seed-json", "x", "--sign-in-concurrency", "16,zero"}, `"zero" is not a number`},
		{[]string{"--sign-in", "--seed-json", "x", "--sign-in-concurrency", ","}, "at least one"},
		{[]string{"--sign-in", "--seed-json", "x", "--flood-max-inflight", "0"}, "must be positive"},
		{[]string{"--sign-in", "--seed-json", "x", "--hash-round", "0s"}, "must be positive"},
		{[]string{"--sign-in", "--seed-json", "x", "--sign-in-round", "0s"}, "must be positive"},
		{[]string{"--sign-in", "--seed-json", "x", "--rounds", "0"}, "must be positive"},
		{[]string{"--sign-in", "--seed-json", "/nonexistent/seed.json"}, "no such file"},
		{[]string{"--sign-in", "--url", "http://10.0.0.1:8080", "--seed-json", "x"}, "not a loopback address"},
	})
}

func TestPageTextAndRefusalReason(t *testing.T) {
	page := `<!doctype html><html><head><title>Too many</title><style>p{}</style></head><body><header>Roster</header>
<main><h1>Too many attempts</h1><p>Roster is busy signing people in; try again in 1 second.</p><p>You can try again in a second.</p></main></body></html>`
	text := pageText([]byte(page), 300)
	if want := "Roster Too many attempts Roster is busy signing people in; try again in 1 second. You can try again in a second."; text != want {
		t.Errorf("pageText = %q, want %q", text, want)
	}
	if got := pageText([]byte("<p>abcdef</p>"), 3); got != "abc" {
		t.Errorf("pageText cut at 3 = %q", got)
	}
	tests := map[string]string{
		text: "hashing queue full",
		"Too many attempts from your network; try again in 4 seconds.":          "client IP throttled",
		"Too many failed attempts for this email; try again in 8 seconds.":      "email throttled",
		"Other sign-ins for this email are in progress; try again in 1 second.": "other sign-ins for the email in progress",
		"Slow down.": "other",
	}
	for in, want := range tests {
		if got := refusalReason(in); got != want {
			t.Errorf("refusalReason(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestClientPoolSourceAddresses(t *testing.T) {
	var mu sync.Mutex
	seen := map[string]bool{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host, _, _ := strings.Cut(r.RemoteAddr, ":")
		mu.Lock()
		seen[host] = true
		mu.Unlock()
	}))
	defer srv.Close()
	pool := newClientPool(3, 2, 5*time.Second)
	for i := range 6 {
		resp, err := pool.get(i).Get(srv.URL)
		if err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
		resp.Body.Close()
	}
	if fmt.Sprint(seen) != "map[127.1.0.1:true 127.1.0.2:true 127.1.0.3:true]" {
		t.Errorf("the server saw requests from %v, want 127.1.0.1, .2 and .3", seen)
	}
	if got := sourceAddr(65535).String(); got != "127.2.0.0" {
		t.Errorf("sourceAddr(65535) = %s, want 127.2.0.0", got)
	}
	if err := checkSourceIPs("http://[::1]:8080", 4); err == nil {
		t.Errorf("checkSourceIPs accepted an IPv6 target")
	}
	if err := checkSourceIPs("http://[::1]:8080", 0); err != nil {
		t.Errorf("checkSourceIPs(IPv6, 0) = %v, want nil", err)
	}
}
