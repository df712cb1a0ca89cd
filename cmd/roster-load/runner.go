package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// workload is a stream of requests sent by concurrent workers.
type workload struct {
	Name        string
	Concurrency int
	Max         int // at most this many timed requests
	Warmup      int // untimed requests first
	// Request builds the i-th request; i counts from 0 over the warm-up and
	// the timed requests, so that each request can use distinct data.
	Request func(ctx context.Context, i int) (*http.Request, error)
	// Check, when set, inspects a 2xx answer's body; an error counts the
	// request as failed.
	Check func(body []byte) error
	Note  string
}

// result is what one workload measured. Pointer fields are absent when the
// process they describe was not given. CPU figures are in cores: CPU seconds
// per second of the workload.
type result struct {
	Name              string   `json:"name"`
	Concurrency       int      `json:"concurrency"`
	Requests          int      `json:"requests"`
	Errors            int      `json:"errors"`
	ErrorSamples      []string `json:"error_samples,omitempty"`
	Seconds           float64  `json:"seconds"`
	RPS               float64  `json:"req_per_s"`
	P50MS             float64  `json:"p50_ms"`
	P90MS             float64  `json:"p90_ms"`
	P99MS             float64  `json:"p99_ms"`
	MaxMS             float64  `json:"max_ms"`
	ServerCPUPerReqMS *float64 `json:"server_cpu_ms_per_req,omitempty"`
	ServerCores       *float64 `json:"server_cpu_cores,omitempty"`
	ServerRSSMB       *float64 `json:"server_rss_mb,omitempty"`
	DBCPUPerReqMS     *float64 `json:"db_cpu_ms_per_req,omitempty"`
	DBCores           *float64 `json:"db_cpu_cores,omitempty"`
	ClientCores       float64  `json:"client_cpu_cores"`
	// OtherCores is the CPU the rest of the machine used meanwhile: more
	// than a little means the figures are skewed by other work.
	OtherCores float64 `json:"other_cpu_cores"`
	Note       string  `json:"note,omitempty"`
}

// maxErrorSamples bounds the error bodies kept per workload.
const maxErrorSamples = 3

// addSamples appends to samples as many of more as fit under
// maxErrorSamples.
func addSamples(samples *[]string, more ...string) {
	for _, s := range more {
		if len(*samples) < maxErrorSamples {
			*samples = append(*samples, s)
		}
	}
}

// outcome collects what the workers of one pass saw.
type outcome struct {
	mu        sync.Mutex
	latencies []time.Duration
	errors    int
	samples   []string
}

func (o *outcome) add(lat []time.Duration, errs int, samples []string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.latencies = append(o.latencies, lat...)
	o.errors += errs
	addSamples(&o.samples, samples...)
}

// drive sends requests first..first+n-1 of w from w.Concurrency workers,
// and stops starting new ones at deadline or when ctx ends. Requests in
// flight at the deadline complete and count.
func drive(ctx context.Context, client *http.Client, w *workload, first, n int, deadline time.Time) *outcome {
	var (
		next atomic.Int64
		wg   sync.WaitGroup
		out  outcome
	)
	for range w.Concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var (
				lat     []time.Duration
				errs    int
				samples []string
			)
			for ctx.Err() == nil && time.Now().Before(deadline) {
				i := int(next.Add(1) - 1)
				if i >= n {
					break
				}
				req, err := w.Request(ctx, first+i)
				if err != nil {
					errs++
					addSamples(&samples, err.Error())
					continue
				}
				t0 := time.Now()
				err = send(client, req, w.Check)
				lat = append(lat, time.Since(t0))
				if err != nil {
					if ctx.Err() != nil && errors.Is(err, context.Canceled) {
						lat = lat[:len(lat)-1]
						break
					}
					errs++
					addSamples(&samples, err.Error())
				}
			}
			out.add(lat, errs, samples)
		}()
	}
	wg.Wait()
	return &out
}

// send does one request; a non-2xx status, a transport error or a failed
// check is an error.
func send(client *http.Client, req *http.Request, check func([]byte) error) error {
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return &httpError{Status: resp.StatusCode, Body: readSnippet(resp.Body)}
	}
	if check == nil {
		_, err = io.Copy(io.Discard, resp.Body)
		return err
	}
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	return check(body)
}

// probes says which processes' CPU time a measurement reads besides this
// one's and the whole machine's: the server's, when serverPID is set, and
// the PostgreSQL backends' serving pgDatabase, when pgPID is set.
type probes struct {
	serverPID  int
	pgPID      int
	pgDatabase string
}

// cpuTimes is the CPU time used so far by each thing measured.
type cpuTimes struct {
	server, db, self, machine time.Duration
}

func (p probes) read() (cpuTimes, error) {
	var t cpuTimes
	var err error
	if p.serverPID != 0 {
		if t.server, err = readCPU(p.serverPID); err != nil {
			return t, fmt.Errorf("reading the server's CPU time: %w", err)
		}
	}
	if p.pgPID != 0 {
		if t.db, err = readBackendsCPU(p.pgPID, p.pgDatabase); err != nil {
			return t, fmt.Errorf("reading the PostgreSQL backends' CPU time: %w", err)
		}
	}
	if t.self, err = readCPU(os.Getpid()); err != nil {
		return t, err
	}
	if t.machine, err = readMachineBusy(); err != nil {
		return t, err
	}
	return t, nil
}

func (a cpuTimes) sub(b cpuTimes) cpuTimes {
	return cpuTimes{a.server - b.server, a.db - b.db, a.self - b.self, a.machine - b.machine}
}

// usage is the CPU time each thing measured used over elapsed wall time.
type usage struct {
	cpuTimes
	elapsed time.Duration
}

// cores returns d in cores: CPU seconds per second of wall time.
func (u usage) cores(d time.Duration) float64 { return round(float64(d)/float64(u.elapsed), 2) }

// otherCores returns the cores the rest of the machine used meanwhile.
func (u usage) otherCores() float64 { return max(0, u.cores(u.machine-u.server-u.db-u.self)) }

// span runs fn and returns how long it took and the CPU time used
// meanwhile; ctx ending during fn is an error.
func (p probes) span(ctx context.Context, fn func()) (usage, error) {
	before, err := p.read()
	if err != nil {
		return usage{}, err
	}
	start := time.Now()
	fn()
	elapsed := time.Since(start)
	if err := ctx.Err(); err != nil {
		return usage{}, err
	}
	after, err := p.read()
	if err != nil {
		return usage{}, err
	}
	return usage{after.sub(before), elapsed}, nil
}

// perMS returns d per one of n, in milliseconds.
func perMS(d time.Duration, n int) float64 { return round(ms(d)/float64(n), 3) }

// measure runs a workload's warm-up, then its timed requests, reading CPU
// times around the timed part.
func measure(ctx context.Context, client *http.Client, w *workload, duration time.Duration, p probes) (*result, error) {
	if w.Warmup > 0 {
		drive(ctx, client, w, 0, w.Warmup, time.Now().Add(duration))
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var out *outcome
	used, err := p.span(ctx, func() { out = drive(ctx, client, w, w.Warmup, w.Max, time.Now().Add(duration)) })
	if err != nil {
		return nil, err
	}
	r := summarize(w, out, used.elapsed)
	perReq := func(d time.Duration) *float64 {
		if r.Requests == 0 {
			return nil
		}
		x := perMS(d, r.Requests)
		return &x
	}
	r.ClientCores = used.cores(used.self)
	r.OtherCores = used.otherCores()
	if p.serverPID != 0 {
		c := used.cores(used.server)
		r.ServerCores, r.ServerCPUPerReqMS = &c, perReq(used.server)
		mem, err := readMemory(p.serverPID)
		if err != nil {
			return nil, err
		}
		rss := round(mb(mem.RSS), 1)
		r.ServerRSSMB = &rss
	}
	if p.pgPID != 0 {
		c := used.cores(used.db)
		r.DBCores, r.DBCPUPerReqMS = &c, perReq(used.db)
	}
	return r, nil
}

// summarize computes throughput and latency percentiles.
func summarize(w *workload, out *outcome, elapsed time.Duration) *result {
	l := summarizeLatency(out.latencies)
	r := &result{
		Name:         w.Name,
		Concurrency:  w.Concurrency,
		Requests:     l.N,
		Errors:       out.errors,
		ErrorSamples: out.samples,
		Seconds:      round(elapsed.Seconds(), 2),
		Note:         w.Note,
	}
	if l.N == 0 {
		return r
	}
	r.RPS = round(float64(l.N)/elapsed.Seconds(), 1)
	r.P50MS, r.P90MS, r.P99MS, r.MaxMS = l.P50, l.P90, l.P99, l.Max
	return r
}

// latency is a summary of latencies in milliseconds.
type latency struct {
	N   int     `json:"n"`
	P50 float64 `json:"p50_ms"`
	P90 float64 `json:"p90_ms"`
	P99 float64 `json:"p99_ms"`
	Max float64 `json:"max_ms"`
}

// summarizeLatency sorts d and summarizes it.
func summarizeLatency(d []time.Duration) latency {
	slices.Sort(d)
	l := latency{N: len(d)}
	if len(d) > 0 {
		l.P50 = round(ms(percentile(d, 50)), 2)
		l.P90 = round(ms(percentile(d, 90)), 2)
		l.P99 = round(ms(percentile(d, 99)), 2)
		l.Max = round(ms(d[len(d)-1]), 2)
	}
	return l
}

// percentile returns the nearest-rank p-th percentile of sorted durations.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(math.Ceil(p / 100 * float64(len(sorted))))
	rank = max(1, min(rank, len(sorted)))
	return sorted[rank-1]
}

func round(x float64, digits int) float64 {
	f := math.Pow(10, float64(digits))
	return math.Round(x*f) / f
}
