// Command roster-load runs bounded load workloads against a running Roster
// server on the loopback interface and reports throughput, latency
// percentiles and the server's CPU time per request and memory.
//
// Every workload stops after --requests requests or --duration, whichever
// comes first, so a run is bounded in time. The target must be a loopback
// address; anything else is refused, and every connection is checked again
// when it is dialled.
//
// Typical use, after `roster dev seed ... > seed.json` and `roster serve`:
//
//	roster-load --url http://127.0.0.1:8080 --seed-json seed.json --server-pid PID
//
// With --wait-ready it instead waits for /readyz to answer 200 and prints the
// time since --since-ns (a Unix time in nanoseconds taken just before the
// server was started) and the server's resident memory.
//
// With --sign-in it runs the sign-in benchmark instead (signin.go): the hash
// limit of this machine, closed-loop sign-ins as the seeded Admins, and an
// open-loop flood; scripts/bench-signin.sh runs it end to end.
//
// With --verify it runs the key check benchmark (verify.go) against a
// ceiling that --constant-server serves; scripts/bench-verify.sh runs it
// end to end.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "roster-load:", err)
		}
		os.Exit(1)
	}
}

// allWorkloads lists the workloads in the order they run: reads first, then
// the writes that change the data the reads measure.
var allWorkloads = []string{"get", "list", "list-deep", "search", "email", "invite", "revoke"}

type config struct {
	url         string
	key         string
	account     string
	seedJSON    string
	seedIndex   int
	workloads   []string
	requests    int
	duration    time.Duration
	warmup      int
	concurrency int // 0: each workload's own
	sample      int
	deepPage    int
	common      string
	rare        string
	filters     []string
	inviteRole  string
	inviteDom   string
	serverPID   int
	pgPID       int
	pgDatabase  string
	jsonOut     string
	timeout     time.Duration

	waitReady bool
	sinceNS   int64
	idle      time.Duration

	signInMode bool
	signIn     signInConfig

	verifyMode     bool
	verify         verifyConfig
	constantServer string
}

func parseFlags(args []string, stderr io.Writer) (*config, error) {
	c := &config{}
	fs := flag.NewFlagSet("roster-load", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, `Usage: roster-load [flags]
       roster-load --wait-ready [--url URL] [--since-ns NS] [--server-pid PID]
       roster-load --sign-in [--url URL] --seed-json FILE [--server-pid PID]
       roster-load --verify --gateway-token T --ceiling-url URL --seed-json FILE [--server-pid PID]
       roster-load --constant-server 127.0.0.1:PORT

Runs bounded load workloads against a Roster server on a loopback address and
prints, per workload, requests, errors, req/s, latency percentiles and the
server's CPU time per request and memory. With --sign-in it instead measures
the hash limit of this machine, sign-in throughput against it, the server's
CPU per sign-in besides the hash, and a flood of sign-ins. Flags:
`)
		fs.PrintDefaults()
	}
	var workloads, filters string
	fs.StringVar(&c.url, "url", "http://127.0.0.1:8080", "base URL of the server; must be a loopback address")
	fs.StringVar(&c.key, "key", "", "API key (rst_...) of an Admin of the account under test")
	fs.StringVar(&c.account, "account", "", "id of the account under test")
	fs.StringVar(&c.seedJSON, "seed-json", "", "file with the output of \"roster dev seed\", instead of --key and --account")
	fs.IntVar(&c.seedIndex, "seed-account", 0, "which account of --seed-json to test, counting from 0")
	fs.StringVar(&workloads, "workloads", strings.Join(allWorkloads, ","), "comma-separated workloads to run: "+strings.Join(allWorkloads, ", "))
	fs.IntVar(&c.requests, "requests", 20000, "at most this many timed requests per workload")
	fs.DurationVar(&c.duration, "duration", 10*time.Second, "at most this long per workload")
	fs.IntVar(&c.warmup, "warmup", 200, "untimed requests before each read workload")
	fs.IntVar(&c.concurrency, "concurrency", 0, "override every workload's concurrency (0: 16 for get, list, invite, revoke; 1 for search and email)")
	fs.IntVar(&c.sample, "sample", 20000, "users to sample from the account (in pages of 200) for get, email and revoke")
	fs.IntVar(&c.deepPage, "deep-page", 400, "page (of 100, sorted by name) that list-deep reaches through the cursor")
	fs.StringVar(&c.common, "common-term", "ann", "common partial-name search term")
	fs.StringVar(&c.rare, "rare-term", "", "rare search term (empty: the rarest last name among the sampled users)")
	fs.StringVar(&filters, "search-filters", "role:is:communication_manager,status:is:active", "comma-separated filters the search workloads add")
	fs.StringVar(&c.inviteRole, "invite-role", "support", "role given to invited users")
	fs.StringVar(&c.inviteDom, "invite-domain", "example.com", "email domain of invited users")
	fs.IntVar(&c.serverPID, "server-pid", 0, "process id of the server, to report its CPU time per request and memory (Linux /proc)")
	fs.IntVar(&c.pgPID, "pg-postmaster", 0, "process id of the PostgreSQL postmaster, to report the CPU time of the backends serving --pg-database")
	fs.StringVar(&c.pgDatabase, "pg-database", "roster_bench", "with --pg-postmaster: the database whose backends count")
	fs.StringVar(&c.jsonOut, "json", "", "also write the results as JSON to this file (- for standard output, instead of the table)")
	fs.DurationVar(&c.timeout, "timeout", 10*time.Second, "timeout of one request")
	fs.BoolVar(&c.waitReady, "wait-ready", false, "only wait until GET /readyz answers 200, then print start-to-ready time and memory")
	fs.Int64Var(&c.sinceNS, "since-ns", 0, "with --wait-ready: Unix time in nanoseconds when the server was started (default: now)")
	fs.DurationVar(&c.idle, "idle", time.Second, "with --wait-ready: how long the server idles after ready before its memory is read")
	var signInConc string
	fs.BoolVar(&c.signInMode, "sign-in", false, "run the sign-in benchmark instead of the workloads: the hash limit, closed-loop sign-ins, a flood")
	fs.StringVar(&signInConc, "sign-in-concurrency", "16,64", "with --sign-in: comma-separated concurrencies of the closed-loop runs")
	fs.IntVar(&c.signIn.warmup, "sign-in-warmup", 1, "with --sign-in: untimed sign-ins per worker before the first round at each concurrency")
	fs.IntVar(&c.signIn.rounds, "rounds", 6, "with --sign-in: rounds of hashing then sign-ins at each concurrency, compared by their sums")
	fs.DurationVar(&c.signIn.hashRound, "hash-round", 2*time.Second, "with --sign-in: how long each round measures the hash limit, the server idle")
	fs.DurationVar(&c.signIn.signInRound, "sign-in-round", 3*time.Second, "with --sign-in: how long each round signs in (--requests caps the sign-ins of one round)")
	fs.Float64Var(&c.signIn.floodFactor, "flood-factor", 10, "with --sign-in: flood at this many times the hash limit (0: no flood)")
	fs.DurationVar(&c.signIn.floodDuration, "flood-duration", 10*time.Second, "with --sign-in: how long the flood's arrivals last")
	fs.IntVar(&c.signIn.floodInflight, "flood-max-inflight", 2000, "with --sign-in: at most this many flood requests open at once; later arrivals are counted as not sent")
	fs.IntVar(&c.signIn.sourceIPs, "source-ips", 1024, "with --sign-in: spread the sign-ins over this many loopback source addresses (127.1.x.y), one per worker and in turn in the flood, as from that many client IPs (0: one address)")
	fs.StringVar(&c.signIn.email, "sign-in-email", "", "with --sign-in: sign in as this email, instead of the Admins of --seed-json")
	fs.StringVar(&c.signIn.password, "sign-in-password", "", "with --sign-in-email: its password")
	fs.BoolVar(&c.verifyMode, "verify", false, "run the key check benchmark instead: POST /api/v1/keys/verify against --ceiling-url, in alternating rounds")
	fs.StringVar(&c.verify.token, "gateway-token", "", "with --verify: the server's --gateway-token")
	fs.StringVar(&c.verify.ceilingURL, "ceiling-url", "", "with --verify: base URL of a roster-load --constant-server, the ceiling")
	fs.IntVar(&c.verify.rounds, "verify-rounds", 4, "with --verify: rounds of each target")
	fs.DurationVar(&c.verify.round, "verify-round", 5*time.Second, "with --verify: how long each round of each target lasts")
	fs.IntVar(&c.verify.warmup, "verify-warmup", 2000, "with --verify: untimed requests to each target first")
	fs.StringVar(&c.verify.permission, "verify-permission", "logs.view", "with --verify: the permission each check asks about")
	fs.StringVar(&c.verify.clientIP, "verify-client-ip", "192.0.2.7", "with --verify: the client_ip each check sends")
	fs.IntVar(&c.verify.ceilingPID, "ceiling-pid", 0, "with --verify: process id of the --constant-server, to report its CPU time per request")
	fs.StringVar(&c.constantServer, "constant-server", "", "only serve a constant verdict on this loopback host:port (the ceiling of --verify) until stopped")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q; every option is a flag, see -h", fs.Arg(0))
	}
	c.url = strings.TrimRight(c.url, "/")
	if err := checkLoopbackURL(c.url); err != nil {
		return nil, err
	}
	if c.waitReady || c.constantServer != "" {
		return c, nil
	}
	if c.verifyMode {
		c.verify.concurrency = c.concurrency
		if c.verify.concurrency == 0 {
			c.verify.concurrency = 64
		}
		c.verify.ceilingURL = strings.TrimRight(c.verify.ceilingURL, "/")
		if c.verify.token == "" || c.verify.ceilingURL == "" {
			return nil, errors.New("--verify needs --gateway-token and --ceiling-url")
		}
		if err := checkLoopbackURL(c.verify.ceilingURL); err != nil {
			return nil, err
		}
		if c.verify.rounds < 1 || c.verify.round <= 0 || c.verify.warmup < 0 {
			return nil, errors.New("--verify-rounds and --verify-round must be positive, --verify-warmup not negative")
		}
	}
	if c.signInMode {
		return c, c.signIn.parse(signInConc, c)
	}
	for _, w := range strings.Split(workloads, ",") {
		w = strings.TrimSpace(w)
		if w == "" {
			continue
		}
		if !slices.Contains(allWorkloads, w) {
			return nil, fmt.Errorf("unknown workload %q: use some of %s", w, strings.Join(allWorkloads, ", "))
		}
		c.workloads = append(c.workloads, w)
	}
	for _, f := range strings.Split(filters, ",") {
		if f = strings.TrimSpace(f); f != "" {
			c.filters = append(c.filters, f)
		}
	}
	if c.requests < 1 || c.duration <= 0 || c.sample < 1 || c.deepPage < 1 || c.concurrency < 0 || c.warmup < 0 {
		return nil, errors.New("--requests, --duration, --sample and --deep-page must be positive, --concurrency and --warmup not negative")
	}
	if c.seedJSON != "" {
		b, err := os.ReadFile(c.seedJSON)
		if err != nil {
			return nil, err
		}
		accts := seedAccounts(b)
		if len(accts) == 0 {
			return nil, fmt.Errorf("%s holds no account with an id and an API key (rst_...); pass the output of `roster dev seed`", c.seedJSON)
		}
		if c.seedIndex < 0 || c.seedIndex >= len(accts) {
			return nil, fmt.Errorf("--seed-account %d is out of range: %s holds %d accounts", c.seedIndex, c.seedJSON, len(accts))
		}
		if c.account == "" {
			c.account = accts[c.seedIndex].ID
		}
		if c.key == "" {
			c.key = accts[c.seedIndex].Key
		}
	}
	if c.key == "" || c.account == "" {
		return nil, errors.New("give the account under test with --seed-json FILE, or with --account ID and --key rst_...")
	}
	return c, nil
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	c, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	if c.waitReady {
		return waitReady(ctx, c, stdout)
	}
	if c.constantServer != "" {
		return serveConstant(ctx, c.constantServer, stdout)
	}
	if c.serverPID != 0 {
		if _, err := readCPU(c.serverPID); err != nil {
			return fmt.Errorf("cannot read the server's CPU time: %w; is --server-pid right?", err)
		}
	}
	if c.pgPID != 0 {
		if _, err := readCPU(c.pgPID); err != nil {
			return fmt.Errorf("cannot read the PostgreSQL postmaster's process: %w; is --pg-postmaster right?", err)
		}
	}
	if c.signInMode {
		return runSignIn(ctx, c, stdout, stderr)
	}
	if c.verify.ceilingPID != 0 {
		if _, err := readCPU(c.verify.ceilingPID); err != nil {
			return fmt.Errorf("cannot read the ceiling's CPU time: %w; is --ceiling-pid right?", err)
		}
	}
	if c.verifyMode {
		return runVerify(ctx, c, stdout, stderr)
	}
	b := newBench(c, stderr)
	rep, err := b.run(ctx)
	if err != nil {
		return err
	}
	return writeReport(stdout, c.jsonOut, rep)
}

// waitReady polls /readyz until it answers 200 and prints the time since the
// server was started and its memory after a short idle period.
func waitReady(ctx context.Context, c *config, stdout io.Writer) error {
	start := time.Now()
	if c.sinceNS != 0 {
		start = time.Unix(0, c.sinceNS)
	}
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	client := newClient(1, time.Second)
	for {
		if c.serverPID != 0 {
			if _, err := readCPU(c.serverPID); err != nil {
				return fmt.Errorf("the server (pid %d) is not running: %w", c.serverPID, err)
			}
		}
		req, err := newRequest(ctx, "GET", c.url+"/readyz", "", nil)
		if err != nil {
			return err
		}
		resp, err := client.Do(req)
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == 200 {
				break
			}
		}
		if ctx.Err() != nil {
			return fmt.Errorf("%s/readyz did not answer 200 within 60 s", c.url)
		}
		time.Sleep(time.Millisecond)
	}
	ready := time.Since(start)
	line := fmt.Sprintf("start to ready: %.1f ms", ms(ready))
	if c.serverPID != 0 {
		time.Sleep(c.idle)
		mem, err := readMemory(c.serverPID)
		if err != nil {
			return err
		}
		line += fmt.Sprintf("; idle RSS after %s: %.1f MB", c.idle, mb(mem.RSS))
	}
	_, err := fmt.Fprintln(stdout, line)
	return err
}

// logTo prints a progress line, after the time of day, to w.
func logTo(w io.Writer, format string, args ...any) {
	fmt.Fprintf(w, "%s "+format+"\n", append([]any{time.Now().Format("15:04:05")}, args...)...)
}

// probes says which processes' CPU time the measurements read.
func (c *config) probes() probes {
	return probes{serverPID: c.serverPID, pgPID: c.pgPID, pgDatabase: c.pgDatabase}
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func mb(bytes int64) float64 { return float64(bytes) / (1 << 20) }
