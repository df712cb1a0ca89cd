package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"text/tabwriter"
	"time"
)

// The key check benchmark (--verify) measures POST /api/v1/keys/verify of
// a running server against the practical ceiling of this machine, in one
// run: --ceiling-url is a trivial Go handler that answers a constant
// verdict (roster-load --constant-server, a process of its own like the
// server). Both are driven by the same closed loop of --concurrency
// keep-alive connections (64 by default) in alternating rounds, ceiling
// first then the check, then the other way round, so that drift of the
// machine falls on both alike; each target's rounds are summed.

// verifyConfig holds the flags of --verify.
type verifyConfig struct {
	token       string
	ceilingURL  string
	rounds      int
	round       time.Duration
	warmup      int
	concurrency int
	permission  string
	clientIP    string
	ceilingPID  int // the ceiling's process, to report its CPU like the server's
}

// constantVerdict is what the ceiling answers: the size and shape of a
// real valid verdict.
var constantVerdict = []byte(`{"valid":true,"account_id":"01a21bc8-73d1-7ca2-a1ca-0098a1f067e1","user_id":"01a21bc8-73d1-7ca2-a1ca-0098a1f067e2",` +
	`"key_id":"01a21bc8-73d1-7ca2-a1ca-0098a1f067e3","permissions":["logs.view","usage.view"]}` + "\n")

// serveConstant runs the ceiling: an HTTP server on the loopback address
// addr that reads any request's body and answers constantVerdict, with the
// server timeouts of roster serve, until ctx ends.
func serveConstant(ctx context.Context, addr string, stdout io.Writer) error {
	host, _, err := net.SplitHostPort(addr)
	if ip := net.ParseIP(host); err != nil || ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("--constant-server %s: give a loopback address and port, such as 127.0.0.1:18091", addr)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	srv := &http.Server{ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 30 * time.Second, WriteTimeout: 60 * time.Second,
		IdleTimeout: 2 * time.Minute, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.Copy(io.Discard, r.Body)
			h := w.Header()
			h.Set("Content-Type", "application/json")
			h.Set("Cache-Control", "no-store")
			_, _ = w.Write(constantVerdict)
		})}
	fmt.Fprintf(stdout, "constant server listening on %s\n", ln.Addr())
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// verifyReport is the result of --verify.
type verifyReport struct {
	URL         string          `json:"url"`
	CeilingURL  string          `json:"ceiling_url"`
	Concurrency int             `json:"concurrency"`
	Rounds      int             `json:"rounds"`
	RoundS      float64         `json:"round_seconds"`
	Results     []*result       `json:"results"` // ceiling, then the check: all rounds summed
	PerRound    []verifyRoundJS `json:"per_round"`
	Share       float64         `json:"check_share_of_ceiling"` // the check's req/s over the ceiling's
}

type verifyRoundJS struct {
	Round      int     `json:"round"`
	CeilingRPS float64 `json:"ceiling_req_per_s"`
	CheckRPS   float64 `json:"check_req_per_s"`
}

func runVerify(ctx context.Context, c *config, stdout, stderr io.Writer) error {
	v := c.verify
	body, err := json.Marshal(map[string]string{"key": c.key, "permission": v.permission, "client_ip": v.clientIP})
	if err != nil {
		return err
	}
	client := newClient(v.concurrency, c.timeout)
	check := &workload{Name: "keys/verify", Concurrency: v.concurrency,
		Request: postBody(c.url+"/api/v1/keys/verify", v.token, body),
		Check: func(b []byte) error {
			if !bytes.Contains(b, []byte(`"valid":true`)) {
				return fmt.Errorf("not valid: %.200s", b)
			}
			return nil
		},
		Note: "POST /api/v1/keys/verify of a valid key with a scope check and client_ip, through the store on every call"}
	ceiling := &workload{Name: "ceiling", Concurrency: v.concurrency, Request: postBody(v.ceilingURL+"/", "", body),
		Note: "a trivial Go handler answering a constant verdict (roster-load --constant-server): this machine's practical ceiling"}

	// One check first, so that a server without a gateway token or a bad
	// key fails the run at once instead of after every round.
	req, err := check.Request(ctx, 0)
	if err != nil {
		return err
	}
	if err := send(client, req, check.Check); err != nil {
		return fmt.Errorf("the first key check failed (is roster serve started with --gateway-token, and is --key valid?): %w", err)
	}
	for _, w := range []*workload{ceiling, check} {
		logTo(stderr, "warm-up of %s: %d requests", w.Name, v.warmup)
		drive(ctx, client, w, 0, v.warmup, time.Now().Add(time.Minute))
	}
	rep := &verifyReport{URL: c.url, CeilingURL: v.ceilingURL, Concurrency: v.concurrency, Rounds: v.rounds, RoundS: v.round.Seconds()}
	sums := map[*workload]*verifySum{ceiling: {}, check: {}}
	probesOf := map[*workload]probes{ceiling: {serverPID: v.ceilingPID}, check: c.probes()}
	for i := range v.rounds {
		order := []*workload{ceiling, check}
		if i%2 == 1 {
			order = []*workload{check, ceiling}
		}
		rps := map[*workload]float64{}
		for _, w := range order {
			var out *outcome
			used, err := probesOf[w].span(ctx, func() { out = drive(ctx, client, w, 0, math.MaxInt32, time.Now().Add(v.round)) })
			if err != nil {
				return err
			}
			sums[w].add(out, used)
			rps[w] = round(float64(len(out.latencies))/used.elapsed.Seconds(), 1)
			logTo(stderr, "round %d, %s: %.0f req/s, %d errors", i+1, w.Name, rps[w], out.errors)
		}
		rep.PerRound = append(rep.PerRound, verifyRoundJS{Round: i + 1, CeilingRPS: rps[ceiling], CheckRPS: rps[check]})
	}
	for _, w := range []*workload{ceiling, check} {
		rep.Results = append(rep.Results, sums[w].result(w, probesOf[w]))
	}
	if rep.Results[0].RPS > 0 {
		rep.Share = round(rep.Results[1].RPS/rep.Results[0].RPS, 3)
	}
	return writeReport(stdout, c.jsonOut, rep)
}

// postBody makes requests POSTing body to u, with a bearer token unless
// token is "".
func postBody(u, token string, body []byte) func(ctx context.Context, i int) (*http.Request, error) {
	return func(ctx context.Context, _ int) (*http.Request, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(body))
		if err != nil {
			return nil, err
		}
		req.Header.Set("Content-Type", "application/json")
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		return req, nil
	}
}

// verifySum adds up a target's rounds.
type verifySum struct {
	out  outcome
	used usage
}

func (s *verifySum) add(o *outcome, u usage) {
	s.out.add(o.latencies, o.errors, o.samples)
	s.used.cpuTimes = cpuTimes{s.used.server + u.server, s.used.db + u.db, s.used.self + u.self, s.used.machine + u.machine}
	s.used.elapsed += u.elapsed
}

// result summarises the rounds, with the CPU of the process p names (the
// server, or the ceiling's).
func (s *verifySum) result(w *workload, p probes) *result {
	r := summarize(w, &s.out, s.used.elapsed)
	r.ClientCores = s.used.cores(s.used.self)
	r.OtherCores = s.used.otherCores()
	if p.serverPID != 0 && r.Requests > 0 {
		c, per := s.used.cores(s.used.server), perMS(s.used.server, r.Requests)
		r.ServerCores, r.ServerCPUPerReqMS = &c, &per
	}
	if p.pgPID != 0 && r.Requests > 0 {
		c, per := s.used.cores(s.used.db), perMS(s.used.db, r.Requests)
		r.DBCores, r.DBCPUPerReqMS = &c, &per
	}
	return r
}

// writeTable prints the two targets side by side, the check's share of the
// ceiling, and each round.
func (r *verifyReport) writeTable(w io.Writer) {
	fmt.Fprintf(w, "key check %s against the ceiling %s: %d keep-alive connections, %d rounds of %gs each\n\n",
		r.URL, r.CeilingURL, r.Concurrency, r.Rounds, r.RoundS)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "target      \trequests\terrors\treq/s\tp50 ms\tp90 ms\tp99 ms\tmax ms\tsrv CPU ms/req\tdb CPU ms/req\tload cores\tother cores\t")
	for _, x := range r.Results {
		fmt.Fprintf(tw, "%-12s\t%d\t%d\t%.1f\t%.2f\t%.2f\t%.2f\t%.2f\t%s\t%s\t%.2f\t%.2f\t\n", x.Name, x.Requests, x.Errors, x.RPS,
			x.P50MS, x.P90MS, x.P99MS, x.MaxMS, opt(x.ServerCPUPerReqMS, "%.3f"), opt(x.DBCPUPerReqMS, "%.3f"), x.ClientCores, x.OtherCores)
	}
	tw.Flush()
	fmt.Fprintf(w, "\nthe check's throughput is %.1f%% of the ceiling's\n", 100*r.Share)
	for _, p := range r.PerRound {
		fmt.Fprintf(w, "round %d: ceiling %.0f req/s, check %.0f req/s\n", p.Round, p.CeilingRPS, p.CheckRPS)
	}
	for _, x := range r.Results {
		fmt.Fprintf(w, "%s: %s\n", x.Name, x.Note)
		for _, s := range x.ErrorSamples {
			fmt.Fprintf(w, "  error: %s\n", s)
		}
	}
}
