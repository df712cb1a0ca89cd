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
//  1. at each of --sign-in-concurrency, --rounds rounds of: the hash limit
//     of this machine (argon2id with password.DefaultParams on GOMAXPROCS
//     goroutines in this process, the server idle) for --hash-round, then
//     closed-loop sign-ins for --sign-in-round; the sums of the rounds give
//     the sign-ins' share of the hash limit and the server's CPU per
//     sign-in besides the hash, and the rounds their spread;
//  2. a flood: open-loop arrivals at --flood-factor times the hash limit of
//     all rounds, counting 303 and 429 answers, the latency of each, and
//     the server's memory against its idle memory.
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

// The closed-loop part alternates, for each concurrency, --rounds rounds
// of a short hash-limit measurement (the server idle) and a short run of
// sign-ins, and compares their sums: a shared machine's speed drifts by a
// third within a minute, so one long measurement of each, minutes apart,
// compares two different machines. Both kinds of round end the same way
// (nothing new starts after the deadline, the last hashes finish on one
// processor while the other idles), so their tails cancel in the ratio.

// hashBench verifies one password with password.DefaultParams on
// goroutines goroutines, as the server does for each sign-in. One Hasher
// serves every round, so its buffers are mapped and touched once.
type hashBench struct {
	h          *password.Hasher
	encoded    string
	goroutines int
}

const hashBenchPassword = "roster-load hash limit"

func newHashBench(ctx context.Context, goroutines int) (*hashBench, error) {
	h := password.NewHasher(password.DefaultParams, goroutines, 0)
	encoded, err := h.Hash(ctx, hashBenchPassword)
	if err != nil {
		return nil, err
	}
	b := &hashBench{h: h, encoded: encoded, goroutines: goroutines}
	// Touch every goroutine's buffer before anything is timed.
	if _, err := b.run(ctx, 0, 1, probes{}); err != nil {
		return nil, err
	}
	return b, nil
}

func (b *hashBench) params() string {
	p := password.DefaultParams
	return fmt.Sprintf("argon2id m=%d KiB, t=%d, p=%d", p.Memory, p.Time, p.Threads)
}

// hashLimit is what hashing alone achieved in one round.
type hashLimit struct {
	Hashes      int     `json:"hashes"`
	Seconds     float64 `json:"seconds"`
	PerSecond   float64 `json:"hashes_per_s"`
	CPUMSPer    float64 `json:"cpu_ms_per_hash"` // this process's CPU per hash, GC included
	ServerCores float64 `json:"server_cpu_cores"`
	OtherCores  float64 `json:"other_cpu_cores"`
	// This process's resident memory at its highest while hashing.
	SelfRSSPeakMB float64 `json:"load_rss_peak_mb"`
	used          usage
}

// run hashes on every goroutine until d has passed (d = 0: once each).
func (b *hashBench) run(ctx context.Context, d time.Duration, atLeast int, p probes) (*hashLimit, error) {
	rss := sampleRSS(os.Getpid(), 10*time.Millisecond)
	var (
		count atomic.Int64
		fail  atomic.Value
	)
	used, err := p.span(ctx, func() {
		var wg sync.WaitGroup
		deadline := time.Now().Add(d)
		for range b.goroutines {
			wg.Go(func() {
				for i := 0; ctx.Err() == nil && (i < atLeast || time.Now().Before(deadline)); i++ {
					ok, err := b.h.Verify(ctx, hashBenchPassword, b.encoded)
					if err != nil || !ok {
						fail.Store(fmt.Sprintf("verify: %v, %v", ok, err))
						return
					}
					count.Add(1)
				}
			})
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
	return &hashLimit{
		Hashes: n, Seconds: round(used.elapsed.Seconds(), 2),
		PerSecond:   round(float64(n)/used.elapsed.Seconds(), 1),
		CPUMSPer:    round(ms(used.self)/float64(n), 2),
		ServerCores: used.cores(used.server), OtherCores: used.otherCores(),
		SelfRSSPeakMB: round(mb(peak), 1),
		used:          used,
	}, nil
}

// signInRound is one round of a closed-loop run: the hash limit, then
// sign-ins right after it.
type signInRound struct {
	Hash           *hashLimit `json:"hash_limit"`
	SignIns        int        `json:"sign_ins"`
	Signed         int        `json:"signed_in"`
	Seconds        float64    `json:"seconds"`
	PerSecond      float64    `json:"signed_in_per_s"`
	PctOfHashLimit float64    `json:"pct_of_hash_limit"`
	ServerCPUPerMS *float64   `json:"server_cpu_ms_per_sign_in,omitempty"`
	OverheadMS     *float64   `json:"server_cpu_ms_besides_the_hash,omitempty"`
	used           usage
}

// signInRun is one closed-loop run of sign-ins at one concurrency: its
// rounds, and their sums compared.
type signInRun struct {
	Concurrency int `json:"concurrency"`
	// Sums over the rounds: sign-ins per second of sign-in rounds against
	// hashes per second of hash rounds, and the server's CPU per sign-in
	// against this process's CPU per hash.
	Seconds        float64  `json:"seconds"` // of sign-ins, all rounds
	PerSecond      float64  `json:"signed_in_per_s"`
	HashLimit      float64  `json:"hash_limit_per_s"`
	HashCPUMS      float64  `json:"cpu_ms_per_hash"`
	PctOfHashLimit float64  `json:"pct_of_hash_limit"`
	ServerCPUPerMS *float64 `json:"server_cpu_ms_per_sign_in,omitempty"`
	OverheadMS     *float64 `json:"server_cpu_ms_besides_the_hash,omitempty"`
	// The spread of the per-round figures, to show the machine's noise.
	PctMin      float64  `json:"pct_of_hash_limit_min_round"`
	PctMax      float64  `json:"pct_of_hash_limit_max_round"`
	OverheadMin *float64 `json:"besides_the_hash_min_round,omitempty"`
	OverheadMax *float64 `json:"besides_the_hash_max_round,omitempty"`

	Latency         latency        `json:"latency"` // of every answer, all rounds
	Tally           tally          `json:"answers"`
	DBCPUPerMS      *float64       `json:"db_cpu_ms_per_sign_in,omitempty"`
	ServerCores     float64        `json:"server_cpu_cores"`
	DBCores         float64        `json:"db_cpu_cores"`
	ClientCores     float64        `json:"client_cpu_cores"`
	OtherCores      float64        `json:"other_cpu_cores"`
	ServerRSSMB     *float64       `json:"server_rss_mb,omitempty"`
	ServerPeakRSSMB *float64       `json:"server_peak_rss_mb,omitempty"`
	ClientCPUPerMS  float64        `json:"client_cpu_ms_per_sign_in"`
	MachineCPUPerMS float64        `json:"machine_cpu_ms_per_sign_in"`
	Rounds          []*signInRound `json:"rounds"`
}

// add sums two usages.
func (u usage) add(o usage) usage {
	return usage{cpuTimes{u.server + o.server, u.db + o.db, u.self + o.self, u.machine + o.machine}, u.elapsed + o.elapsed}
}

// compare works out each round's figures and the run's from the sums of
// its rounds; withServer says the server's CPU was read.
func (r *signInRun) compare(withServer bool) {
	var hashes, signed, signIns int
	var hashUsed, signUsed usage
	for i, x := range r.Rounds {
		x.PerSecond = round(float64(x.Signed)/x.used.elapsed.Seconds(), 1)
		x.PctOfHashLimit = round(100*float64(x.Signed)/x.used.elapsed.Seconds()/(float64(x.Hash.Hashes)/x.Hash.used.elapsed.Seconds()), 1)
		if withServer && x.SignIns > 0 {
			srv := perMS(x.used.server, x.SignIns)
			over := round(srv-ms(x.Hash.used.self)/float64(x.Hash.Hashes), 2)
			x.ServerCPUPerMS, x.OverheadMS = &srv, &over
			if i == 0 || over < *r.OverheadMin {
				r.OverheadMin = &over
			}
			if i == 0 || over > *r.OverheadMax {
				r.OverheadMax = &over
			}
		}
		if i == 0 || x.PctOfHashLimit < r.PctMin {
			r.PctMin = x.PctOfHashLimit
		}
		r.PctMax = max(r.PctMax, x.PctOfHashLimit)
		hashes += x.Hash.Hashes
		signed += x.Signed
		signIns += x.SignIns
		hashUsed = hashUsed.add(x.Hash.used)
		signUsed = signUsed.add(x.used)
	}
	if hashes == 0 || signUsed.elapsed <= 0 {
		return
	}
	r.Seconds = round(signUsed.elapsed.Seconds(), 2)
	r.PerSecond = round(float64(signed)/signUsed.elapsed.Seconds(), 1)
	limit := float64(hashes) / hashUsed.elapsed.Seconds()
	r.HashLimit = round(limit, 1)
	r.PctOfHashLimit = round(100*float64(signed)/signUsed.elapsed.Seconds()/limit, 1)
	hashCPU := ms(hashUsed.self) / float64(hashes)
	r.HashCPUMS = round(hashCPU, 2)
	if withServer && signIns > 0 {
		srv := perMS(signUsed.server, signIns)
		over := round(ms(signUsed.server)/float64(signIns)-hashCPU, 2)
		r.ServerCPUPerMS, r.OverheadMS = &srv, &over
	}
}

// hashLimitOf returns the hash limit over every round of runs, in hashes
// a second.
func hashLimitOf(runs []*signInRun) float64 {
	var n int
	var d time.Duration
	for _, r := range runs {
		for _, x := range r.Rounds {
			n += x.Hash.Hashes
			d += x.Hash.used.elapsed
		}
	}
	if d <= 0 {
		return 0
	}
	return round(float64(n)/d.Seconds(), 1)
}

// signInWorkers are conc people each signing in again and again from their
// own browser: worker w signs in as ids[w % len(ids)], with its own CSRF
// cookie, from clients.get(w). Their connections stay open across rounds.
type signInWorkers struct {
	clients clientPool
	base    string
	ids     []identity
	pairs   []csrfPair
}

// newSignInWorkers fetches every worker's CSRF cookie, then has each send
// warmup sign-ins, untimed: every worker's connection, the server's hash
// and the store's statements are warm before the first round.
func newSignInWorkers(ctx context.Context, clients clientPool, base string, ids []identity, conc, warmup int) (*signInWorkers, error) {
	w := &signInWorkers{clients: clients, base: base, ids: ids, pairs: make([]csrfPair, conc)}
	for i := range w.pairs {
		var err error
		if w.pairs[i], err = fetchCSRF(ctx, clients.get(i), base); err != nil {
			return nil, err
		}
	}
	var wg sync.WaitGroup
	var warmFail atomic.Value
	for i := range conc {
		wg.Go(func() {
			for range warmup {
				a := w.post(ctx, i)
				if a.Status != http.StatusSeeOther || !a.Session {
					warmFail.Store(fmt.Sprintf("status %d, session cookie %t, %s%s", a.Status, a.Session, a.Err, a.Body))
				}
			}
		})
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if f := warmFail.Load(); f != nil {
		return nil, fmt.Errorf("a warm-up sign-in failed (%s); does the seed JSON match the server's store?", f)
	}
	return w, nil
}

func (w *signInWorkers) post(ctx context.Context, i int) signInAnswer {
	return postSignIn(ctx, w.clients.get(i), w.base, w.pairs[i], w.ids[i%len(w.ids)])
}

// round has every worker sign in until d has passed or maxReq sign-ins
// were sent, and returns the round and its answers.
func (w *signInWorkers) round(ctx context.Context, maxReq int, d time.Duration, p probes) (*signInRound, *tally, error) {
	var (
		next atomic.Int64
		mu   sync.Mutex
		all  tally
	)
	used, err := p.span(ctx, func() {
		var wg sync.WaitGroup
		deadline := time.Now().Add(d)
		for i := range w.pairs {
			wg.Go(func() {
				var t tally
				for ctx.Err() == nil && time.Now().Before(deadline) {
					if int(next.Add(1)) > maxReq {
						break
					}
					a := w.post(ctx, i)
					if ctx.Err() != nil && a.Status == 0 {
						break
					}
					t.add(a)
				}
				mu.Lock()
				all.merge(&t)
				mu.Unlock()
			})
		}
		wg.Wait()
	})
	if err != nil {
		return nil, nil, err
	}
	return &signInRound{SignIns: all.Requests, Signed: all.Signed, Seconds: round(used.elapsed.Seconds(), 2), used: used}, &all, nil
}

// closedLoop runs rounds rounds of a hash-limit measurement (hashFor)
// then sign-ins (signFor, at most maxReq) at concurrency conc, after the
// workers' warm-up.
func closedLoop(ctx context.Context, hb *hashBench, w *signInWorkers, rounds int, hashFor, signFor time.Duration, maxReq int, p probes, logf func(string, ...any)) (*signInRun, error) {
	r := &signInRun{Concurrency: len(w.pairs)}
	var signUsed usage
	for k := range rounds {
		h, err := hb.run(ctx, hashFor, 0, p)
		if err != nil {
			return nil, fmt.Errorf("hash limit: %w", err)
		}
		x, t, err := w.round(ctx, maxReq, signFor, p)
		if err != nil {
			return nil, err
		}
		x.Hash = h
		r.Rounds = append(r.Rounds, x)
		r.Tally.merge(t)
		signUsed = signUsed.add(x.used)
		logf("  round %d: %.1f hashes/s (%.2f ms CPU a hash), then %d signed in of %d, %.1f/s",
			k+1, h.PerSecond, h.CPUMSPer, x.Signed, x.SignIns, float64(x.Signed)/x.used.elapsed.Seconds())
	}
	r.compare(p.serverPID != 0)
	r.Latency = summarizeLatency(r.Tally.allLatencies)
	if signUsed.elapsed > 0 {
		r.ServerCores, r.DBCores, r.ClientCores = signUsed.cores(signUsed.server), signUsed.cores(signUsed.db), signUsed.cores(signUsed.self)
		r.OtherCores = signUsed.otherCores()
	}
	if n := r.Tally.Requests; n > 0 {
		r.ClientCPUPerMS = perMS(signUsed.self, n)
		r.MachineCPUPerMS = perMS(signUsed.machine, n)
		if p.pgPID != 0 {
			x := perMS(signUsed.db, n)
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
	IdleRSSMB       *float64 `json:"server_idle_rss_mb,omitempty"`        // at the start of the benchmark, server idle
	BeforeRSSMB     *float64 `json:"server_rss_before_mb,omitempty"`      // just before the flood
	PeakRSSMB       *float64 `json:"server_peak_rss_mb,omitempty"`        // highest VmRSS sampled during the flood
	LifePeakRSSMB   *float64 `json:"server_lifetime_peak_mb,omitempty"`   // VmHWM after the flood
	GrowthMB        *float64 `json:"server_rss_growth_mb,omitempty"`      // peak − idle
	WarmGrowthMB    *float64 `json:"server_rss_warm_growth_mb,omitempty"` // peak − before: over the idle of a server that has signed people in
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
	HashParams string    `json:"hash_params"`
	// HashLimit is the hash limit over every round of every closed-loop
	// run; the flood's rate is a multiple of it.
	HashLimit       float64      `json:"hash_limit_per_s"`
	LoadRSSBeforeMB float64      `json:"load_rss_before_hashing_mb"`
	LoadRSSPeakMB   float64      `json:"load_rss_peak_hashing_mb"`
	Rounds          int          `json:"rounds"`
	HashRound       float64      `json:"hash_round_s"`
	SignInRound     float64      `json:"sign_in_round_s"`
	Runs            []*signInRun `json:"closed_loop"`
	Flood           *floodResult `json:"flood,omitempty"`
	Targets         []target     `json:"targets"`
}

// signInConfig is what the sign-in benchmark takes from the flags.
type signInConfig struct {
	concurrency   []int
	rounds        int
	hashRound     time.Duration
	signInRound   time.Duration
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

	mem0, err := readMemory(os.Getpid())
	if err != nil {
		return err
	}
	hb, err := newHashBench(ctx, rep.Cores)
	if err != nil {
		return fmt.Errorf("hash limit: %w", err)
	}
	rep.HashParams, rep.LoadRSSBeforeMB = hb.params(), round(mb(mem0.RSS), 1)
	rep.Rounds, rep.HashRound, rep.SignInRound = s.rounds, s.hashRound.Seconds(), s.signInRound.Seconds()
	for _, conc := range s.concurrency {
		logf("sign-in: concurrency %d, %d rounds of %s hashing (%s on %d goroutines, the server idle) then %s sign-ins (at most %d a round)",
			conc, s.rounds, s.hashRound, rep.HashParams, rep.Cores, s.signInRound, c.requests)
		w, err := newSignInWorkers(ctx, clients, c.url, ids, conc, s.warmup)
		if err != nil {
			return fmt.Errorf("sign-in at concurrency %d: %w", conc, err)
		}
		r, err := closedLoop(ctx, hb, w, s.rounds, s.hashRound, s.signInRound, c.requests, p, logf)
		if err != nil {
			return fmt.Errorf("sign-in at concurrency %d: %w", conc, err)
		}
		logf("sign-in: %d signed in of %d, %.1f/s = %.1f%% of %.1f hashes/s (rounds %.1f–%.1f%%), p99 %.0f ms",
			r.Tally.Signed, r.Tally.Requests, r.PerSecond, r.PctOfHashLimit, r.HashLimit, r.PctMin, r.PctMax, r.Latency.P99)
		rep.Runs = append(rep.Runs, r)
		for _, x := range r.Rounds {
			rep.LoadRSSPeakMB = max(rep.LoadRSSPeakMB, x.Hash.SelfRSSPeakMB)
		}
		clients.closeIdle()
	}
	rep.HashLimit = hashLimitOf(rep.Runs)

	if s.floodFactor > 0 {
		rate := s.floodFactor * rep.HashLimit
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
			i, b, pk, life, g, wg := round(mb(idle), 1), round(mb(before.RSS), 1), round(mb(peak), 1), round(mb(after.Peak), 1), round(mb(peak-idle), 1), round(mb(peak-before.RSS), 1)
			f.IdleRSSMB, f.BeforeRSSMB, f.PeakRSSMB, f.LifePeakRSSMB, f.GrowthMB, f.WarmGrowthMB = &i, &b, &pk, &life, &g, &wg
		}
		logf("flood: %d sent, %d signed in, %d refused 429 (p99 %.1f ms), %d not sent", f.Sent, f.Tally.Signed, f.Busy.N, f.Busy.P99, f.NotSent)
		rep.Flood = f
		clients.closeIdle()
	}

	rep.Targets = rep.targets()

	return writeReport(stdout, c.jsonOut, rep)
}

// fastBusyMS is what "refused fast" means for a 429 under the flood: its
// p99 latency, well under one hash.
const fastBusyMS = 10.0

// targets checks the run against the targets of issue 3.
func (r *signInReport) targets() []target {
	var out []target
	for _, run := range r.Runs {
		out = append(out, target{
			What: fmt.Sprintf("sign-in throughput, concurrency %d", run.Concurrency),
			Value: fmt.Sprintf("%.1f/s = %.1f%% of %.1f hashes/s over %d rounds (rounds %.1f–%.1f%%)",
				run.PerSecond, run.PctOfHashLimit, run.HashLimit, len(run.Rounds), run.PctMin, run.PctMax),
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
				Value: fmt.Sprintf("%.2f ms (%.2f ms a sign-in − %.2f ms a hash; rounds %.2f to %.2f ms)",
					*run.OverheadMS, *run.ServerCPUPerMS, run.HashCPUMS, *run.OverheadMin, *run.OverheadMax),
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
			// Idle is the server at rest after it has signed people in (the
			// closed-loop rounds before the flood): every hashing slot has
			// touched its 19 MiB buffer, which it keeps. A server that never
			// hashed lacks those cores × 19 MiB, so the flood's growth over
			// it is shown beside, for information.
			limit := float64(r.Cores) * 20
			out = append(out, target{
				What: "flood: server memory over idle",
				Value: fmt.Sprintf("%.1f MiB (peak %.1f − idle after the sign-ins %.1f); over the idle of a server that never hashed: %.1f MiB (idle %.1f), its %d hashing buffers of 19 MiB included",
					*f.WarmGrowthMB, *f.PeakRSSMB, *f.BeforeRSSMB, *f.GrowthMB, *f.IdleRSSMB, r.Cores),
				Target: fmt.Sprintf("≤ %d cores × 20 MiB = %g MiB", r.Cores, limit), Met: *f.WarmGrowthMB <= limit,
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
	fmt.Fprintf(w, "\nclosed loop: at each concurrency, after one warm-up sign-in per worker, %d rounds of %.1f s hashing with the server idle (%s on %d goroutines; roster-load's RSS %.1f MiB before, at most %.1f MiB while hashing) then %.1f s sign-ins\n",
		r.Rounds, r.HashRound, r.HashParams, r.Cores, r.LoadRSSBeforeMB, r.LoadRSSPeakMB, r.SignInRound)
	for _, x := range r.Runs {
		fmt.Fprintf(w, "\nconcurrency %d, round by round:\n", x.Concurrency)
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, "round\thashes\thashes/s\tCPU ms a hash\tsign-ins\tsigned in/s\t% of limit\tsrv CPU ms\tbesides hash ms\t")
		for i, k := range x.Rounds {
			fmt.Fprintf(tw, "%d\t%d\t%.1f\t%.2f\t%d\t%.1f\t%.1f\t%s\t%s\t\n", i+1, k.Hash.Hashes, k.Hash.PerSecond, k.Hash.CPUMSPer,
				k.SignIns, k.PerSecond, k.PctOfHashLimit, opt(k.ServerCPUPerMS, "%.2f"), opt(k.OverheadMS, "%.2f"))
		}
		var hashes int
		for _, k := range x.Rounds {
			hashes += k.Hash.Hashes
		}
		fmt.Fprintf(tw, "all\t%d\t%.1f\t%.2f\t%d\t%.1f\t%.1f\t%s\t%s\t\n", hashes, x.HashLimit, x.HashCPUMS,
			x.Tally.Requests, x.PerSecond, x.PctOfHashLimit, opt(x.ServerCPUPerMS, "%.2f"), opt(x.OverheadMS, "%.2f"))
		tw.Flush()
	}
	fmt.Fprintln(w, "all = the sums of the rounds: signed in/s over the sign-in rounds against hashes/s over the hash rounds; besides hash =")
	fmt.Fprintln(w, "the server's CPU over the sign-in rounds per sign-in − roster-load's CPU over the hash rounds per hash.")
	fmt.Fprintln(w)

	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "conc\tsign-ins\tsigned in/s\thash limit/s\t% of limit\trounds min–max\tp50 ms\tp90 ms\tp99 ms\tmax ms\tnot 303\ttimeouts\tsrv CPU ms\tbesides hash ms\trounds min–max\tdb CPU ms\tsrv cores\tdb cores\tload cores\tother cores\tsrv RSS MiB\tsrv peak MiB\t")
	for _, x := range r.Runs {
		spread := "-"
		if x.OverheadMin != nil {
			spread = fmt.Sprintf("%.2f to %.2f", *x.OverheadMin, *x.OverheadMax)
		}
		fmt.Fprintf(tw, "%d\t%d\t%.1f\t%.1f\t%.1f\t%.1f–%.1f\t%.1f\t%.1f\t%.1f\t%.1f\t%d\t%d\t%s\t%s\t%s\t%s\t%.2f\t%.2f\t%.2f\t%.2f\t%s\t%s\t\n",
			x.Concurrency, x.Tally.Requests, x.PerSecond, x.HashLimit, x.PctOfHashLimit, x.PctMin, x.PctMax, x.Latency.P50, x.Latency.P90, x.Latency.P99, x.Latency.Max,
			x.Tally.Requests-x.Tally.Signed, x.Tally.Timeouts, opt(x.ServerCPUPerMS, "%.2f"), opt(x.OverheadMS, "%.2f"), spread, opt(x.DBCPUPerMS, "%.2f"),
			x.ServerCores, x.DBCores, x.ClientCores, x.OtherCores, opt(x.ServerRSSMB, "%.1f"), opt(x.ServerPeakRSSMB, "%.1f"))
	}
	tw.Flush()
	fmt.Fprintln(w, "CPU ms are per sign-in; cores are over the sign-in rounds; latencies are of every answer of every round.")
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
		fmt.Fprintf(w, "\nflood: %.1f sign-ins/s offered (%.1f× the hash limit of all rounds, %.1f/s), %d scheduled, %d sent, %d not sent (at most %d open at once), pacer at worst %.1f ms late\n",
			f.Rate, f.Factor, r.HashLimit, f.Scheduled, f.Sent, f.NotSent, f.MaxInflight, f.PacingLagMS)
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
	case c.requests < 1 || s.rounds < 1 || s.hashRound <= 0 || s.signInRound <= 0 || c.timeout <= 0:
		return errors.New("--requests, --rounds, --hash-round, --sign-in-round and --timeout must be positive")
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
