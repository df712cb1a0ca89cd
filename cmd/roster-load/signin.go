package main

import (
	"context"
	"errors"
	"fmt"
	"html"
	"io"
	"maps"
	"net"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"text/tabwriter"
	"time"

	"roster/internal/password"
)

// The sign-in benchmark (--sign-in) measures, in one run against one
// server:
//
//  1. the hash limit of this machine: argon2id with password.DefaultParams
//     on GOMAXPROCS goroutines in this process, with the server idle;
//  2. sign-in throughput and latency, closed loop, at each of
//     --sign-in-concurrency, as a share of that limit, and the server's CPU
//     per sign-in minus the CPU of one hash;
//  3. a flood: open-loop arrivals at --flood-factor times the hash limit,
//     counting 303 and 429 answers, the latency of each, and the server's
//     memory against its idle memory.
//
// Every sign-in is a real one: GET /sign-in for the CSRF cookie and form
// token, then POST /sign-in with the email and password of a seeded Admin,
// answered 303 with a roster_session cookie.

// Names the sign-in pages use.
const (
	csrfCookieName    = "roster_csrf"
	sessionCookieName = "roster_session"
	csrfFieldName     = "csrf"
)

// identity is someone who can sign in.
type identity struct {
	Email    string `json:"email"`
	Password string `json:"-"`
}

// seedIdentities finds the seeded Admins in the output of `roster dev seed`:
// every object's admin_email, with its admin_password, or else the nearest
// enclosing object's admin_password (the seed prints one for all).
func seedIdentities(data []byte) []identity {
	var out []identity
	eachJSONValue(data, func(v any) { walkIdentities(v, "", &out) })
	return out
}

func walkIdentities(v any, pw string, out *[]identity) {
	switch v := v.(type) {
	case []any:
		for _, x := range v {
			walkIdentities(x, pw, out)
		}
	case map[string]any:
		if s, ok := v["admin_password"].(string); ok && s != "" {
			pw = s
		}
		if e, ok := v["admin_email"].(string); ok && e != "" && pw != "" {
			*out = append(*out, identity{Email: e, Password: pw})
		}
		// Accounts come in document order within their array; the keys
		// of one object are sorted so the walk is deterministic.
		for _, k := range slices.Sorted(maps.Keys(v)) {
			if k != "admin_email" && k != "admin_password" {
				walkIdentities(v[k], pw, out)
			}
		}
	}
}

var (
	inputTagRE = regexp.MustCompile(`(?is)<input\b[^>]*>`)
	attrRE     = regexp.MustCompile(`(?s)([a-zA-Z_:][-a-zA-Z0-9_:.]*)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'=<>` + "`" + `]+))`)
)

// formInputs returns the name and value of every <input> of an HTML page
// that has a name, values unescaped; a later input of the same name wins.
// It is enough for the server's own pages, not a general HTML parser.
func formInputs(page []byte) map[string]string {
	out := map[string]string{}
	for _, tag := range inputTagRE.FindAll(page, -1) {
		var name, value string
		var hasName bool
		for _, m := range attrRE.FindAllSubmatch(tag, -1) {
			v := string(m[2]) + string(m[3]) + string(m[4])
			switch strings.ToLower(string(m[1])) {
			case "name":
				name, hasName = html.UnescapeString(v), true
			case "value":
				value = html.UnescapeString(v)
			}
		}
		if hasName && name != "" {
			out[name] = value
		}
	}
	return out
}

// csrfPair is a browser's CSRF cookie and the form token that goes with it.
type csrfPair struct {
	Cookie, Token string
}

// fetchCSRF opens the sign-in page as a new browser would and returns the
// CSRF cookie it set and the token of its form.
func fetchCSRF(ctx context.Context, client *http.Client, base string) (csrfPair, error) {
	req, err := http.NewRequestWithContext(ctx, "GET", base+"/sign-in", nil)
	if err != nil {
		return csrfPair{}, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return csrfPair{}, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return csrfPair{}, err
	}
	if resp.StatusCode != http.StatusOK {
		return csrfPair{}, fmt.Errorf("GET /sign-in answered %d: %s", resp.StatusCode, strings.Join(strings.Fields(string(body[:min(len(body), 300)])), " "))
	}
	var p csrfPair
	for _, c := range resp.Cookies() {
		if c.Name == csrfCookieName {
			p.Cookie = c.Value
		}
	}
	p.Token = formInputs(body)[csrfFieldName]
	if p.Cookie == "" || p.Token == "" {
		return csrfPair{}, fmt.Errorf("GET /sign-in gave no %s cookie or no %q form field (cookie %t, field %t)",
			csrfCookieName, csrfFieldName, p.Cookie != "", p.Token != "")
	}
	return p, nil
}

// signInAnswer is what one POST /sign-in got.
type signInAnswer struct {
	Status     int  // 0: no answer
	Timeout    bool // the client gave up waiting
	Session    bool // a non-empty roster_session cookie was set
	RetryAfter bool // a Retry-After header was sent
	Latency    time.Duration
	Err        string // transport error, when Status is 0
	Body       string // the text of the page, for answers but 303, shortened
	Reason     string // why a 429 was sent (see refusalReason)
}

// postSignIn sends one sign-in form as a browser holding csrf would, without
// any session cookie and without following the redirect.
func postSignIn(ctx context.Context, client *http.Client, base string, csrf csrfPair, id identity) signInAnswer {
	form := url.Values{csrfFieldName: {csrf.Token}, "email": {id.Email}, "password": {id.Password}}
	req, err := http.NewRequestWithContext(ctx, "POST", base+"/sign-in", strings.NewReader(form.Encode()))
	if err != nil {
		return signInAnswer{Err: err.Error()}
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("User-Agent", "roster-load (sign-in benchmark)")
	req.AddCookie(&http.Cookie{Name: csrfCookieName, Value: csrf.Cookie})
	t0 := time.Now()
	resp, err := client.Do(req)
	if err != nil {
		a := signInAnswer{Latency: time.Since(t0), Err: err.Error()}
		var ne net.Error
		a.Timeout = errors.As(err, &ne) && ne.Timeout()
		return a
	}
	var body []byte
	if resp.StatusCode == http.StatusSeeOther {
		_, err = io.Copy(io.Discard, resp.Body)
	} else {
		body, err = io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	}
	resp.Body.Close()
	a := signInAnswer{Status: resp.StatusCode, Latency: time.Since(t0), RetryAfter: resp.Header.Get("Retry-After") != ""}
	if body != nil {
		a.Body = pageText(body, 300)
		if a.Status == http.StatusTooManyRequests {
			a.Reason = refusalReason(a.Body)
		}
	}
	if err != nil {
		a.Status, a.Err = 0, err.Error()
		var ne net.Error
		a.Timeout = errors.As(err, &ne) && ne.Timeout()
		return a
	}
	for _, c := range resp.Cookies() {
		if c.Name == sessionCookieName && c.Value != "" && c.MaxAge >= 0 {
			a.Session = true
		}
	}
	return a
}

var tagRE = regexp.MustCompile(`(?s)<(script|style|head)\b.*?</(script|style|head)>|<[^>]*>`)

// pageText returns the text of an HTML page on one line, at most n bytes.
func pageText(page []byte, n int) string {
	t := strings.Join(strings.Fields(html.UnescapeString(tagRE.ReplaceAllString(string(page), " "))), " ")
	if len(t) > n {
		t = t[:n]
	}
	return t
}

// refusalReason says which limit a 429 page names.
func refusalReason(text string) string {
	switch {
	case strings.Contains(text, "busy"):
		return "hashing queue full"
	case strings.Contains(text, "from your network"):
		return "client IP throttled"
	case strings.Contains(text, "failed attempts for this email"):
		return "email throttled"
	case strings.Contains(text, "in progress"):
		return "other sign-ins for the email in progress"
	}
	return "other"
}

// newSignInClient is newClient that hands every redirect back instead of
// following it, and keeps no cookies: each request carries only the
// cookies its caller sets.
func newSignInClient(conns int, timeout time.Duration) *http.Client {
	return newSignInClientFrom(nil, conns, timeout)
}

// newSignInClientFrom is newSignInClient dialling from src (see newClientFrom).
func newSignInClientFrom(src net.IP, conns int, timeout time.Duration) *http.Client {
	c := newClientFrom(src, conns, timeout)
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return c
}

// clientPool holds one sign-in client per loopback source address, so that
// the server sees the sign-ins come from that many client IPs, as from
// people on different networks (its per-IP throttle applies to each).
type clientPool []*http.Client

// sourceAddr is the k-th loopback source address, counting from 0:
// 127.1.0.1, 127.1.0.2, ... (the whole 127.0.0.0/8 reaches the loopback
// interface on Linux).
func sourceAddr(k int) net.IP {
	k++
	return net.IPv4(127, byte(1+k>>16), byte(k>>8), byte(k))
}

// newClientPool returns n clients, each dialling from its own source
// address, with room for conns connections each; n = 0 is one client
// dialling from the address the system picks.
func newClientPool(n, conns int, timeout time.Duration) clientPool {
	if n == 0 {
		return clientPool{newSignInClient(conns, timeout)}
	}
	pool := make(clientPool, n)
	for k := range pool {
		pool[k] = newSignInClientFrom(sourceAddr(k), conns, timeout)
	}
	return pool
}

// get returns the client of request or worker i.
func (p clientPool) get(i int) *http.Client { return p[i%len(p)] }

func (p clientPool) closeIdle() {
	for _, c := range p {
		c.CloseIdleConnections()
	}
}

// checkSourceIPs refuses --source-ips for a target that is not IPv4
// loopback, which the 127.1.x.y source addresses could not reach.
func checkSourceIPs(rawURL string, n int) error {
	if n == 0 {
		return nil
	}
	u, err := url.Parse(rawURL)
	if err != nil {
		return err
	}
	if h := u.Hostname(); h != "localhost" {
		if ip := net.ParseIP(h); ip == nil || ip.To4() == nil || !ip.IsLoopback() {
			return fmt.Errorf("--source-ips needs an IPv4 loopback --url such as http://127.0.0.1:8080, not %s; or pass --source-ips 0", rawURL)
		}
	}
	if n > 60000 {
		return errors.New("--source-ips: give at most 60000")
	}
	return nil
}

// tally counts the answers of a run of sign-ins.
type tally struct {
	Requests      int            `json:"requests"`
	Signed        int            `json:"signed_in"` // 303 with a session cookie
	ByStatus      map[string]int `json:"by_status"` // every status but a proper 303, and "no answer"
	Timeouts      int            `json:"timeouts"`
	NoRetryAfter  int            `json:"429_without_retry_after,omitempty"`
	Refusals      map[string]int `json:"429_by_reason,omitempty"`
	ErrorSamples  []string       `json:"error_samples,omitempty"`
	okLatencies   []time.Duration
	busyLatencies []time.Duration
	allLatencies  []time.Duration
}

func (t *tally) add(a signInAnswer) {
	t.Requests++
	t.allLatencies = append(t.allLatencies, a.Latency)
	switch {
	case a.Status == http.StatusSeeOther && a.Session:
		t.Signed++
		t.okLatencies = append(t.okLatencies, a.Latency)
		return
	case a.Status == http.StatusTooManyRequests:
		t.busyLatencies = append(t.busyLatencies, a.Latency)
		if !a.RetryAfter {
			t.NoRetryAfter++
		}
		addCount(&t.Refusals, a.Reason, 1)
	}
	key := fmt.Sprint(a.Status)
	switch {
	case a.Status == 0:
		key = "no answer"
		if a.Timeout {
			t.Timeouts++
		}
		addSamples(&t.ErrorSamples, a.Err)
	case a.Status == http.StatusSeeOther:
		key = "303 without session cookie"
	case a.Status != http.StatusTooManyRequests:
		addSamples(&t.ErrorSamples, fmt.Sprintf("HTTP %d: %s", a.Status, a.Body))
	}
	addCount(&t.ByStatus, key, 1)
}

// addCount adds n to (*m)[key], making the map when there is none.
func addCount(m *map[string]int, key string, n int) {
	if *m == nil {
		*m = map[string]int{}
	}
	(*m)[key] += n
}

func (t *tally) merge(o *tally) {
	t.Requests += o.Requests
	t.Signed += o.Signed
	t.Timeouts += o.Timeouts
	t.NoRetryAfter += o.NoRetryAfter
	for k, n := range o.ByStatus {
		addCount(&t.ByStatus, k, n)
	}
	for k, n := range o.Refusals {
		addCount(&t.Refusals, k, n)
	}
	addSamples(&t.ErrorSamples, o.ErrorSamples...)
	t.okLatencies = append(t.okLatencies, o.okLatencies...)
	t.busyLatencies = append(t.busyLatencies, o.busyLatencies...)
	t.allLatencies = append(t.allLatencies, o.allLatencies...)
}

// hashLimit is what hashing alone achieves on this machine.
type hashLimit struct {
	When        string  `json:"when"`
	Params      string  `json:"params"`
	Goroutines  int     `json:"goroutines"`
	Hashes      int     `json:"hashes"`
	Seconds     float64 `json:"seconds"`
	PerSecond   float64 `json:"hashes_per_s"`
	WallMSPer   float64 `json:"ms_per_hash"`     // wall time of one hash on one goroutine
	CPUMSPer    float64 `json:"cpu_ms_per_hash"` // this process's CPU per hash, GC included
	ServerCores float64 `json:"server_cpu_cores"`
	OtherCores  float64 `json:"other_cpu_cores"`
	// This process's resident memory before hashing and at its highest
	// while hashing: what hashing alone costs in memory.
	SelfRSSBeforeMB float64 `json:"load_rss_before_mb"`
	SelfRSSPeakMB   float64 `json:"load_rss_peak_mb"`
}

// measureHashLimit verifies a password with password.DefaultParams on
// goroutines goroutines for d, as the server does for each sign-in.
func measureHashLimit(ctx context.Context, goroutines int, d time.Duration, p probes) (*hashLimit, error) {
	params := password.DefaultParams
	h := password.NewHasher(params, goroutines, 0)
	const pw = "roster-load hash limit"
	encoded, err := h.Hash(ctx, pw)
	if err != nil {
		return nil, err
	}
	mem0, err := readMemory(os.Getpid())
	if err != nil {
		return nil, err
	}
	rss := sampleRSS(os.Getpid(), 10*time.Millisecond)
	var (
		count atomic.Int64
		fail  atomic.Value
	)
	used, err := p.span(ctx, func() {
		var wg sync.WaitGroup
		deadline := time.Now().Add(d)
		for range goroutines {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for ctx.Err() == nil && time.Now().Before(deadline) {
					ok, err := h.Verify(ctx, pw, encoded)
					if err != nil || !ok {
						fail.Store(fmt.Sprintf("verify: %v, %v", ok, err))
						return
					}
					count.Add(1)
				}
			}()
		}
		wg.Wait()
	})
	peak, rssErr := rss.finish()
	if err != nil {
		return nil, err
	}
	if rssErr != nil {
		return nil, rssErr
	}
	if f := fail.Load(); f != nil {
		return nil, errors.New(f.(string))
	}
	n := int(count.Load())
	if n == 0 {
		return nil, fmt.Errorf("no hash finished within %s", d)
	}
	elapsed := used.elapsed
	hl := &hashLimit{
		Params:     fmt.Sprintf("argon2id m=%d KiB, t=%d, p=%d", params.Memory, params.Time, params.Threads),
		Goroutines: goroutines, Hashes: n, Seconds: round(elapsed.Seconds(), 2),
		PerSecond:       round(float64(n)/elapsed.Seconds(), 1),
		WallMSPer:       round(ms(elapsed)*float64(goroutines)/float64(n), 2),
		CPUMSPer:        round(ms(used.self)/float64(n), 2),
		ServerCores:     used.cores(used.server),
		OtherCores:      used.otherCores(),
		SelfRSSBeforeMB: round(mb(mem0.RSS), 1), SelfRSSPeakMB: round(mb(peak), 1),
	}
	return hl, nil
}

// signInRun is one closed-loop run of sign-ins.
type signInRun struct {
	Concurrency     int      `json:"concurrency"`
	Seconds         float64  `json:"seconds"`
	PerSecond       float64  `json:"signed_in_per_s"`
	HashLimit       float64  `json:"hash_limit_per_s"` // measured right before
	HashCPUMS       float64  `json:"cpu_ms_per_hash"`
	PctOfHashLimit  float64  `json:"pct_of_hash_limit"`
	Latency         latency  `json:"latency"` // of every answer
	Tally           tally    `json:"answers"`
	ServerCPUPerMS  *float64 `json:"server_cpu_ms_per_sign_in,omitempty"`
	OverheadMS      *float64 `json:"server_cpu_ms_besides_the_hash,omitempty"`
	DBCPUPerMS      *float64 `json:"db_cpu_ms_per_sign_in,omitempty"`
	ServerCores     float64  `json:"server_cpu_cores"`
	DBCores         float64  `json:"db_cpu_cores"`
	ClientCores     float64  `json:"client_cpu_cores"`
	OtherCores      float64  `json:"other_cpu_cores"`
	ServerRSSMB     *float64 `json:"server_rss_mb,omitempty"`
	ServerPeakRSSMB *float64 `json:"server_peak_rss_mb,omitempty"`
	ClientCPUPerMS  float64  `json:"client_cpu_ms_per_sign_in"`
	MachineCPUPerMS float64  `json:"machine_cpu_ms_per_sign_in"`
}

// signInLoop signs in from conc workers, like conc people each signing in
// again and again from their own browser: worker w signs in as
// ids[w % len(ids)], with its own CSRF cookie fetched first (untimed), from
// clients.get(w). It stops when maxReq sign-ins were sent, deadline passed
// or ctx ended. warmup is how many untimed sign-ins each worker sends first.
func signInLoop(ctx context.Context, clients clientPool, base string, ids []identity, conc, maxReq int, d time.Duration, warmup int, p probes) (*signInRun, error) {
	pairs := make([]csrfPair, conc)
	for i := range pairs {
		var err error
		if pairs[i], err = fetchCSRF(ctx, clients.get(i), base); err != nil {
			return nil, err
		}
	}
	// Warm-up: every worker's connection, the server's stand-in hash and
	// the store's statements.
	var wg sync.WaitGroup
	var warmFail atomic.Value
	for w := range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range warmup {
				a := postSignIn(ctx, clients.get(w), base, pairs[w], ids[w%len(ids)])
				if a.Status != http.StatusSeeOther || !a.Session {
					warmFail.Store(fmt.Sprintf("status %d, session cookie %t, %s%s", a.Status, a.Session, a.Err, a.Body))
				}
			}
		}()
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if f := warmFail.Load(); f != nil {
		return nil, fmt.Errorf("a warm-up sign-in failed (%s); does the seed JSON match the server's store?", f)
	}
	var (
		next atomic.Int64
		mu   sync.Mutex
		all  tally
	)
	used, err := p.span(ctx, func() {
		deadline := time.Now().Add(d)
		for w := range conc {
			wg.Add(1)
			go func() {
				defer wg.Done()
				var t tally
				for ctx.Err() == nil && time.Now().Before(deadline) {
					i := int(next.Add(1) - 1)
					if i >= maxReq {
						break
					}
					a := postSignIn(ctx, clients.get(w), base, pairs[w], ids[w%len(ids)])
					if ctx.Err() != nil && a.Status == 0 {
						break
					}
					t.add(a)
				}
				mu.Lock()
				all.merge(&t)
				mu.Unlock()
			}()
		}
		wg.Wait()
	})
	if err != nil {
		return nil, err
	}
	elapsed := used.elapsed
	r := &signInRun{Concurrency: conc, Seconds: round(elapsed.Seconds(), 2), Tally: all,
		PerSecond: round(float64(all.Signed)/elapsed.Seconds(), 1), Latency: summarizeLatency(all.allLatencies)}
	r.ServerCores, r.DBCores, r.ClientCores = used.cores(used.server), used.cores(used.db), used.cores(used.self)
	r.OtherCores = used.otherCores()
	if all.Requests > 0 {
		r.ClientCPUPerMS = perMS(used.self, all.Requests)
		r.MachineCPUPerMS = perMS(used.machine, all.Requests)
		if p.serverPID != 0 {
			x := perMS(used.server, all.Requests)
			r.ServerCPUPerMS = &x
		}
		if p.pgPID != 0 {
			x := perMS(used.db, all.Requests)
			r.DBCPUPerMS = &x
		}
	}
	if p.serverPID != 0 {
		mem, err := readMemory(p.serverPID)
		if err != nil {
			return nil, err
		}
		rss, peak := round(mb(mem.RSS), 1), round(mb(mem.Peak), 1)
		r.ServerRSSMB, r.ServerPeakRSSMB = &rss, &peak
	}
	return r, nil
}

// arrivals is the schedule of an open-loop load: n requests, the i-th due
// at i × every after the start, whatever became of the earlier ones.
type arrivals struct {
	n     int
	every time.Duration
}

// newArrivals schedules rate requests a second for d, at most max of them.
func newArrivals(rate float64, d time.Duration, max int) arrivals {
	if rate <= 0 || d <= 0 || max <= 0 {
		return arrivals{}
	}
	n := int(rate*d.Seconds() + 0.5)
	return arrivals{n: min(n, max), every: time.Duration(float64(time.Second) / rate)}
}

// due returns when request i is due, counted from the start.
func (a arrivals) due(i int) time.Duration { return time.Duration(i) * a.every }

// floodResult is what an open-loop flood saw.
type floodResult struct {
	Factor          float64  `json:"factor"`
	Rate            float64  `json:"offered_per_s"`
	Scheduled       int      `json:"scheduled"`
	Sent            int      `json:"sent"`
	NotSent         int      `json:"not_sent_inflight_cap"` // arrivals dropped because --flood-max-inflight were open
	MaxInflight     int      `json:"max_inflight"`
	PacingLagMS     float64  `json:"max_pacing_lag_ms"` // how late the pacer started a request at worst
	Seconds         float64  `json:"seconds"`           // from the first arrival to the last answer
	SignedPerSecond float64  `json:"signed_in_per_s"`
	Tally           tally    `json:"answers"`
	Signed          latency  `json:"latency_303"`
	Busy            latency  `json:"latency_429"`
	ServerCores     float64  `json:"server_cpu_cores"`
	DBCores         float64  `json:"db_cpu_cores"`
	ClientCores     float64  `json:"client_cpu_cores"`
	OtherCores      float64  `json:"other_cpu_cores"`
	ServerCPUPerMS  *float64 `json:"server_cpu_ms_per_request,omitempty"`
	IdleRSSMB       *float64 `json:"server_idle_rss_mb,omitempty"`      // at the start of the benchmark, server idle
	BeforeRSSMB     *float64 `json:"server_rss_before_mb,omitempty"`    // just before the flood
	PeakRSSMB       *float64 `json:"server_peak_rss_mb,omitempty"`      // highest VmRSS sampled during the flood
	LifePeakRSSMB   *float64 `json:"server_lifetime_peak_mb,omitempty"` // VmHWM after the flood
	GrowthMB        *float64 `json:"server_rss_growth_mb,omitempty"`    // peak − idle
	elapsed         time.Duration
}

// floodOptions says how to flood.
type floodOptions struct {
	rate        float64
	duration    time.Duration
	maxRequests int
	maxInflight int
	// paced, when set, is closed once every arrival was started or
	// dropped (for tests).
	paced chan struct{}
}

// flood sends sign-ins open loop: request i starts when it is due, whether
// or not earlier ones were answered, unless maxInflight requests are
// already open, in which case it is counted as not sent. Request i signs in
// as ids[i % len(ids)] from clients.get(i); the CSRF pairs are used in turn. It returns once every sent request was answered or
// timed out.
func flood(ctx context.Context, clients clientPool, base string, pairs []csrfPair, ids []identity, o floodOptions) *floodResult {
	sched := newArrivals(o.rate, o.duration, o.maxRequests)
	r := &floodResult{Rate: round(o.rate, 1), Scheduled: sched.n}
	sem := make(chan struct{}, max(1, o.maxInflight))
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		all     tally
		maxOpen int
		lag     time.Duration
	)
	start := time.Now()
	timer := time.NewTimer(0)
	<-timer.C
	for i := 0; i < sched.n && ctx.Err() == nil; i++ {
		if wait := time.Until(start.Add(sched.due(i))); wait > 0 {
			timer.Reset(wait)
			select {
			case <-timer.C:
			case <-ctx.Done():
			}
			if ctx.Err() != nil {
				break
			}
		}
		lag = max(lag, time.Since(start.Add(sched.due(i))))
		select {
		case sem <- struct{}{}:
		default:
			r.NotSent++
			continue
		}
		r.Sent++
		maxOpen = max(maxOpen, len(sem))
		wg.Add(1)
		go func() {
			defer wg.Done()
			a := postSignIn(ctx, clients.get(i), base, pairs[i%len(pairs)], ids[i%len(ids)])
			<-sem
			mu.Lock()
			all.add(a)
			mu.Unlock()
		}()
	}
	if o.paced != nil {
		close(o.paced)
	}
	wg.Wait()
	elapsed := time.Since(start)
	r.elapsed = elapsed
	r.MaxInflight = maxOpen
	r.PacingLagMS = round(ms(lag), 2)
	r.Seconds = round(elapsed.Seconds(), 2)
	r.Tally = all
	r.SignedPerSecond = round(float64(all.Signed)/elapsed.Seconds(), 1)
	r.Signed = summarizeLatency(all.okLatencies)
	r.Busy = summarizeLatency(all.busyLatencies)
	return r
}

// rssSampler reads a process's VmRSS every interval and keeps the highest.
type rssSampler struct {
	stop chan struct{}
	done chan struct{}
	peak int64
	err  error
}

func sampleRSS(pid int, every time.Duration) *rssSampler {
	s := &rssSampler{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(s.done)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			m, err := readMemory(pid)
			if err != nil {
				s.err = err
				return
			}
			s.peak = max(s.peak, m.RSS)
			select {
			case <-s.stop:
				return
			case <-t.C:
			}
		}
	}()
	return s
}

func (s *rssSampler) finish() (int64, error) {
	close(s.stop)
	<-s.done
	return s.peak, s.err
}

// target is one of the targets and whether this run met it.
type target struct {
	What   string `json:"what"`
	Value  string `json:"value"`
	Target string `json:"target"`
	Met    bool   `json:"met"`
}

// signInReport is the whole output of a sign-in benchmark.
type signInReport struct {
	URL        string    `json:"url"`
	Identities int       `json:"identities"`
	Started    time.Time `json:"started"`
	Cores      int       `json:"gomaxprocs"`
	SourceIPs  int       `json:"source_ips"`
	IdleRSSMB  *float64  `json:"server_idle_rss_mb,omitempty"`
	// Hashes are the hash limits measured: right before each closed-loop
	// run (which is compared with it; the flood with the last of them),
	// and at the end, to show how far the machine drifted.
	Hashes  []*hashLimit `json:"hash_limits"`
	Runs    []*signInRun `json:"closed_loop"`
	Flood   *floodResult `json:"flood,omitempty"`
	Targets []target     `json:"targets"`
}

// signInConfig is what the sign-in benchmark takes from the flags.
type signInConfig struct {
	concurrency   []int
	hashDuration  time.Duration
	warmup        int
	floodFactor   float64
	floodDuration time.Duration
	floodInflight int
	email         string
	password      string
	sourceIPs     int
}

// runSignIn is the --sign-in mode.
func runSignIn(ctx context.Context, c *config, stdout, stderr io.Writer) error {
	s := c.signIn
	var ids []identity
	if c.seedJSON != "" {
		b, err := os.ReadFile(c.seedJSON)
		if err != nil {
			return err
		}
		if ids = seedIdentities(b); len(ids) == 0 {
			return fmt.Errorf("%s holds no admin_email with an admin_password; pass the output of `roster dev seed`", c.seedJSON)
		}
	}
	if s.email != "" {
		ids = []identity{{Email: s.email, Password: s.password}}
	}
	if len(ids) == 0 {
		return errors.New("give the identities to sign in as with --seed-json FILE, or with --sign-in-email and --sign-in-password")
	}
	logf := func(format string, args ...any) { logTo(stderr, format, args...) }
	p := c.probes()
	rep := &signInReport{URL: c.url, Identities: len(ids), Started: time.Now().UTC(), Cores: runtime.GOMAXPROCS(0), SourceIPs: s.sourceIPs}
	var idle int64
	if c.serverPID != 0 {
		m, err := readMemory(c.serverPID)
		if err != nil {
			return fmt.Errorf("cannot read the server's memory: %w; is --server-pid right?", err)
		}
		idle = m.RSS
		x := round(mb(idle), 1)
		rep.IdleRSSMB = &x
	}
	maxConc := slices.Max(s.concurrency)

	conns := maxConc + 4
	if s.sourceIPs > 0 {
		conns = max(4, (max(maxConc, s.floodInflight)+s.sourceIPs-1)/s.sourceIPs+2)
	}
	clients := newClientPool(s.sourceIPs, conns, c.timeout)

	// Check the sign-in works before measuring anything.
	pair, err := fetchCSRF(ctx, clients.get(0), c.url)
	if err != nil {
		return err
	}
	if a := postSignIn(ctx, clients.get(0), c.url, pair, ids[0]); a.Status != http.StatusSeeOther || !a.Session {
		return fmt.Errorf("signing in as %s answered %d (session cookie %t) %s%s; want 303 with a %s cookie", ids[0].Email, a.Status, a.Session, a.Err, a.Body, sessionCookieName)
	}
	clients.closeIdle()

	// measure measures the hash limit with the server idle.
	measure := func(when string) (*hashLimit, error) {
		logf("hash limit %s: argon2id with the server's parameters on %d goroutines for %s", when, rep.Cores, s.hashDuration)
		h, err := measureHashLimit(ctx, rep.Cores, s.hashDuration, p)
		if err != nil {
			return nil, fmt.Errorf("hash limit: %w", err)
		}
		h.When = when
		logf("hash limit: %.1f hashes/s, %.2f ms a hash, %.2f ms CPU a hash", h.PerSecond, h.WallMSPer, h.CPUMSPer)
		rep.Hashes = append(rep.Hashes, h)
		return h, nil
	}

	var limit *hashLimit
	for _, conc := range s.concurrency {
		if limit, err = measure(fmt.Sprintf("before concurrency %d", conc)); err != nil {
			return err
		}
		logf("sign-in: concurrency %d, up to %d sign-ins or %s", conc, c.requests, c.duration)
		r, err := signInLoop(ctx, clients, c.url, ids, conc, c.requests, c.duration, s.warmup, p)
		if err != nil {
			return fmt.Errorf("sign-in at concurrency %d: %w", conc, err)
		}
		r.HashLimit, r.HashCPUMS = limit.PerSecond, limit.CPUMSPer
		logf("sign-in: %d signed in of %d, %.1f/s (%.0f%% of the hash limit), p99 %.0f ms", r.Tally.Signed, r.Tally.Requests, r.PerSecond, 100*r.PerSecond/limit.PerSecond, r.Latency.P99)
		rep.Runs = append(rep.Runs, r)
		clients.closeIdle()
	}

	if s.floodFactor > 0 {
		rate := s.floodFactor * limit.PerSecond
		o := floodOptions{rate: rate, duration: s.floodDuration, maxRequests: int(rate*s.floodDuration.Seconds()) + 1, maxInflight: s.floodInflight}
		pairs := make([]csrfPair, 16)
		for i := range pairs {
			if pairs[i], err = fetchCSRF(ctx, clients.get(i), c.url); err != nil {
				return err
			}
		}
		logf("flood: %.0f sign-ins/s (%g× the hash limit) for %s, open loop, at most %d open", rate, s.floodFactor, s.floodDuration, s.floodInflight)
		var before memory
		var sampler *rssSampler
		if c.serverPID != 0 {
			if before, err = readMemory(c.serverPID); err != nil {
				return err
			}
			sampler = sampleRSS(c.serverPID, 10*time.Millisecond)
		}
		var f *floodResult
		used, err := p.span(ctx, func() { f = flood(ctx, clients, c.url, pairs, ids, o) })
		if err != nil {
			return err
		}
		// In cores over the flood's own time, from its first arrival to its last answer.
		used.elapsed = f.elapsed
		f.Factor = s.floodFactor
		f.ServerCores, f.DBCores, f.ClientCores = used.cores(used.server), used.cores(used.db), used.cores(used.self)
		f.OtherCores = used.otherCores()
		if c.serverPID != 0 {
			peak, err := sampler.finish()
			if err != nil {
				return fmt.Errorf("sampling the server's memory: %w", err)
			}
			after, err := readMemory(c.serverPID)
			if err != nil {
				return err
			}
			peak = max(peak, after.RSS)
			x := perMS(used.server, max(1, f.Tally.Requests))
			f.ServerCPUPerMS = &x
			i, b, pk, life, g := round(mb(idle), 1), round(mb(before.RSS), 1), round(mb(peak), 1), round(mb(after.Peak), 1), round(mb(peak-idle), 1)
			f.IdleRSSMB, f.BeforeRSSMB, f.PeakRSSMB, f.LifePeakRSSMB, f.GrowthMB = &i, &b, &pk, &life, &g
		}
		logf("flood: %d sent, %d signed in, %d refused 429 (p99 %.1f ms), %d not sent", f.Sent, f.Tally.Signed, f.Busy.N, f.Busy.P99, f.NotSent)
		rep.Flood = f
		clients.closeIdle()
	}

	// Once more, to show how much the machine's speed drifted meanwhile.
	if _, err = measure("at the end"); err != nil {
		return err
	}
	rep.finish()

	return writeReport(stdout, c.jsonOut, rep)
}

// finish compares each closed-loop run with the hash limit measured right
// before it, and checks the targets.
func (r *signInReport) finish() {
	for _, run := range r.Runs {
		run.PctOfHashLimit = round(100*run.PerSecond/run.HashLimit, 1)
		if run.ServerCPUPerMS != nil {
			x := round(*run.ServerCPUPerMS-run.HashCPUMS, 2)
			run.OverheadMS = &x
		}
	}
	r.Targets = r.targets()
}

// fastBusyMS is what "refused fast" means for a 429 under the flood: its
// p99 latency, well under one hash.
const fastBusyMS = 10.0

// targets checks the run against the targets of issue 3.
func (r *signInReport) targets() []target {
	var out []target
	for _, run := range r.Runs {
		out = append(out, target{
			What:   fmt.Sprintf("sign-in throughput, concurrency %d", run.Concurrency),
			Value:  fmt.Sprintf("%.1f/s = %.1f%% of %.1f hashes/s", run.PerSecond, run.PctOfHashLimit, run.HashLimit),
			Target: "≥ 85% of the hash limit", Met: run.PctOfHashLimit >= 85,
		})
		bad := run.Tally.Requests - run.Tally.Signed
		out = append(out, target{
			What:   fmt.Sprintf("no stall or timeout, concurrency %d", run.Concurrency),
			Value:  fmt.Sprintf("%d timeouts, %d other answers, max %.0f ms", run.Tally.Timeouts, bad, run.Latency.Max),
			Target: "0 timeouts, every answer 303", Met: run.Tally.Timeouts == 0 && bad == 0 && run.Tally.Requests > 0,
		})
		if run.OverheadMS != nil {
			out = append(out, target{
				What: fmt.Sprintf("server CPU besides the hash, concurrency %d", run.Concurrency),
				Value: fmt.Sprintf("%.2f ms (%.2f ms a sign-in − %.2f ms a hash)",
					*run.OverheadMS, *run.ServerCPUPerMS, run.HashCPUMS),
				Target: "≤ 2 ms", Met: *run.OverheadMS <= 2,
			})
		}
	}
	if f := r.Flood; f != nil {
		busy := f.Tally.ByStatus["429"]
		out = append(out, target{
			What:   fmt.Sprintf("flood at %.1f× the hash limit: excess refused fast", f.Factor),
			Value:  fmt.Sprintf("%d 429s (p50 %.2f ms, p99 %.2f ms, %d without Retry-After), %d timeouts", busy, f.Busy.P50, f.Busy.P99, f.Tally.NoRetryAfter, f.Tally.Timeouts),
			Target: fmt.Sprintf("429 with Retry-After, p99 ≤ %g ms; no timeout", fastBusyMS),
			Met:    busy > 0 && f.Busy.P99 <= fastBusyMS && f.Tally.NoRetryAfter == 0 && f.Tally.Timeouts == 0,
		})
		if f.GrowthMB != nil {
			limit := float64(r.Cores) * 20
			out = append(out, target{
				What:   "flood: server memory over idle",
				Value:  fmt.Sprintf("%.1f MiB (peak %.1f − idle %.1f)", *f.GrowthMB, *f.PeakRSSMB, *f.IdleRSSMB),
				Target: fmt.Sprintf("≤ %d cores × 20 MiB = %g MiB", r.Cores, limit), Met: *f.GrowthMB <= limit,
			})
		}
	}
	return out
}

// writeTable prints the sign-in report for people.
func (r *signInReport) writeTable(w io.Writer) {
	fmt.Fprintf(w, "target %s, %d identities, %d client source addresses, GOMAXPROCS %d", r.URL, r.Identities, max(1, r.SourceIPs), r.Cores)
	if r.IdleRSSMB != nil {
		fmt.Fprintf(w, ", server idle RSS %.1f MiB", *r.IdleRSSMB)
	}
	fmt.Fprintln(w)
	if len(r.Hashes) > 0 {
		h := r.Hashes[0]
		fmt.Fprintf(w, "\nhash limit: %s on %d goroutines for %.1f s each, the server idle; roster-load's RSS %.1f MiB before hashing, at most %.1f MiB while hashing\n",
			h.Params, h.Goroutines, h.Seconds, h.SelfRSSBeforeMB, h.SelfRSSPeakMB)
	}
	for _, h := range r.Hashes {
		fmt.Fprintf(w, "  %-24s %d hashes, %.1f hashes/s, %.2f ms a hash (wall, one goroutine), %.2f ms CPU a hash; other cores %.2f\n",
			h.When+":", h.Hashes, h.PerSecond, h.WallMSPer, h.CPUMSPer, h.OtherCores)
	}
	fmt.Fprintln(w)

	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "conc\tsign-ins\tsigned in/s\thash limit/s\t% of limit\tp50 ms\tp90 ms\tp99 ms\tmax ms\tnot 303\ttimeouts\tsrv CPU ms\tbesides hash ms\tdb CPU ms\tsrv cores\tdb cores\tload cores\tother cores\tsrv RSS MiB\tsrv peak MiB\t")
	for _, x := range r.Runs {
		fmt.Fprintf(tw, "%d\t%d\t%.1f\t%.1f\t%.1f\t%.1f\t%.1f\t%.1f\t%.1f\t%d\t%d\t%s\t%s\t%s\t%.2f\t%.2f\t%.2f\t%.2f\t%s\t%s\t\n",
			x.Concurrency, x.Tally.Requests, x.PerSecond, x.HashLimit, x.PctOfHashLimit, x.Latency.P50, x.Latency.P90, x.Latency.P99, x.Latency.Max,
			x.Tally.Requests-x.Tally.Signed, x.Tally.Timeouts, opt(x.ServerCPUPerMS, "%.2f"), opt(x.OverheadMS, "%.2f"), opt(x.DBCPUPerMS, "%.2f"),
			x.ServerCores, x.DBCores, x.ClientCores, x.OtherCores, opt(x.ServerRSSMB, "%.1f"), opt(x.ServerPeakRSSMB, "%.1f"))
	}
	tw.Flush()
	fmt.Fprintln(w, "hash limit = measured right before the run; CPU ms are per sign-in; besides hash = srv CPU − the CPU of one hash measured right before.")
	for _, x := range r.Runs {
		if len(x.Tally.ByStatus) > 0 {
			fmt.Fprintf(w, "concurrency %d answers other than 303: %s\n", x.Concurrency, statusList(x.Tally.ByStatus))
		}
		if len(x.Tally.Refusals) > 0 {
			fmt.Fprintf(w, "concurrency %d 429s by reason: %s\n", x.Concurrency, statusList(x.Tally.Refusals))
		}
		for _, s := range x.Tally.ErrorSamples {
			fmt.Fprintf(w, "  error: %s\n", s)
		}
	}
	if f := r.Flood; f != nil {
		fmt.Fprintf(w, "\nflood: %.1f sign-ins/s offered (%.1f× the hash limit), %d scheduled, %d sent, %d not sent (at most %d open at once), pacer at worst %.1f ms late\n",
			f.Rate, f.Factor, f.Scheduled, f.Sent, f.NotSent, f.MaxInflight, f.PacingLagMS)
		fmt.Fprintf(w, "  %.1f s from the first arrival to the last answer; %d signed in (%.1f/s), answers other than 303: %s; %d timeouts\n",
			f.Seconds, f.Tally.Signed, f.SignedPerSecond, statusList(f.Tally.ByStatus), f.Tally.Timeouts)
		fmt.Fprintf(w, "  303 latency: p50 %.1f, p90 %.1f, p99 %.1f, max %.1f ms\n", f.Signed.P50, f.Signed.P90, f.Signed.P99, f.Signed.Max)
		fmt.Fprintf(w, "  429 latency: p50 %.2f, p90 %.2f, p99 %.2f, max %.2f ms; %d without Retry-After; why: %s\n", f.Busy.P50, f.Busy.P90, f.Busy.P99, f.Busy.Max, f.Tally.NoRetryAfter, statusList(f.Tally.Refusals))
		if f.PeakRSSMB != nil {
			fmt.Fprintf(w, "  CPU cores: server %.2f, db %.2f, load %.2f, other %.2f\n", f.ServerCores, f.DBCores, f.ClientCores, f.OtherCores)
			fmt.Fprintf(w, "  server: %.2f cores, %s ms CPU a request; RSS idle %.1f MiB, before the flood %.1f, peak sampled during it %.1f (VmHWM over the process's life %.1f)\n",
				f.ServerCores, opt(f.ServerCPUPerMS, "%.3f"), *f.IdleRSSMB, *f.BeforeRSSMB, *f.PeakRSSMB, *f.LifePeakRSSMB)
		}
		for _, s := range f.Tally.ErrorSamples {
			fmt.Fprintf(w, "  error: %s\n", s)
		}
	}
	fmt.Fprintln(w, "\ntargets (issue 3):")
	for _, t := range r.Targets {
		met := "MET"
		if !t.Met {
			met = "MISSED"
		}
		fmt.Fprintf(w, "  %-6s %s: %s (target %s)\n", met, t.What, t.Value, t.Target)
	}
}

// statusList prints answer counts by status, most frequent first.
func statusList(m map[string]int) string {
	if len(m) == 0 {
		return "none"
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b string) int {
		if m[a] != m[b] {
			return m[b] - m[a]
		}
		return strings.Compare(a, b)
	})
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s × %d", k, m[k])
	}
	return strings.Join(parts, ", ")
}

// parse checks the sign-in flags; conc is --sign-in-concurrency.
func (s *signInConfig) parse(conc string, c *config) error {
	for _, f := range strings.Split(conc, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		n, err := strconv.Atoi(f)
		if err != nil || n < 1 || n > 4096 {
			return fmt.Errorf("--sign-in-concurrency: %q is not a number from 1 to 4096", f)
		}
		s.concurrency = append(s.concurrency, n)
	}
	switch {
	case len(s.concurrency) == 0:
		return errors.New("--sign-in-concurrency: give at least one concurrency, e.g. 16,64")
	case c.requests < 1 || c.duration <= 0 || s.hashDuration <= 0 || c.timeout <= 0:
		return errors.New("--requests, --duration, --hash-duration and --timeout must be positive")
	case s.warmup < 0 || s.floodFactor < 0 || s.floodInflight < 1:
		return errors.New("--sign-in-warmup and --flood-factor must not be negative, --flood-max-inflight must be positive")
	case s.floodFactor > 0 && s.floodDuration <= 0:
		return errors.New("--flood-duration must be positive")
	case (s.email == "") != (s.password == ""):
		return errors.New("give --sign-in-email and --sign-in-password together")
	case s.sourceIPs < 0:
		return errors.New("--source-ips must not be negative")
	case s.email == "" && c.seedJSON == "":
		return errors.New("give the identities to sign in as with --seed-json FILE (the output of `roster dev seed`), or with --sign-in-email and --sign-in-password")
	}
	return checkSourceIPs(c.url, s.sourceIPs)
}
