package main

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// bench holds what the workloads share: the client, the account under test
// and the users sampled from it.
type bench struct {
	cfg    *config
	client *http.Client
	log    io.Writer
	users  string // URL of the account's user collection
	rng    *rand.Rand
	sample []apiUser
	rep    *report
}

// report is the whole output of a run.
type report struct {
	URL          string    `json:"url"`
	AccountID    string    `json:"account_id"`
	AccountUsers int64     `json:"account_users"`
	Sampled      int       `json:"sampled_users"`
	MaxRequests  int       `json:"max_requests_per_workload"`
	MaxSeconds   float64   `json:"max_seconds_per_workload"`
	Filters      []string  `json:"search_filters"`
	Terms        []term    `json:"search_terms,omitempty"`
	DeepPage     int       `json:"deep_page,omitempty"`
	Started      time.Time `json:"started"`
	Results      []*result `json:"results"`
	Notes        []string  `json:"notes,omitempty"`
}

// term is a search term and how many users it matches.
type term struct {
	Q                  string `json:"q"`
	Matches            int64  `json:"matches"`
	MatchesWithFilters int64  `json:"matches_with_filters"`
}

func newBench(c *config, log io.Writer) *bench {
	conc := max(16, c.concurrency)
	return &bench{
		cfg:    c,
		client: newClient(conc, c.timeout),
		log:    log,
		users:  c.url + "/api/v1/accounts/" + url.PathEscape(c.account) + "/users",
		rng:    rand.New(rand.NewPCG(1, 2)),
		rep: &report{URL: c.url, AccountID: c.account, MaxRequests: c.requests, MaxSeconds: c.duration.Seconds(),
			Filters: c.filters},
	}
}

func (b *bench) logf(format string, args ...any) {
	logTo(b.log, format, args...)
}

// conc returns a workload's concurrency: its default or the override.
func (b *bench) conc(def int) int {
	if b.cfg.concurrency > 0 {
		return b.cfg.concurrency
	}
	return def
}

func (b *bench) listURL(v url.Values) string {
	if len(v) == 0 {
		return b.users
	}
	return b.users + "?" + v.Encode()
}

func (b *bench) get(ctx context.Context, u string, out any) error {
	req, err := newRequest(ctx, "GET", u, b.cfg.key, nil)
	if err != nil {
		return err
	}
	return do(b.client, req, out)
}

func (b *bench) run(ctx context.Context) (*report, error) {
	c := b.cfg
	cpu := c.probes()
	b.rep.Started = time.Now().UTC()
	if err := b.takeSample(ctx); err != nil {
		return nil, err
	}
	for _, name := range c.workloads {
		ws, after, err := b.prepare(ctx, name)
		if err != nil {
			return nil, fmt.Errorf("preparing %s: %w", name, err)
		}
		for _, w := range ws {
			if w.Max == 0 {
				b.rep.Notes = append(b.rep.Notes, w.Name+": skipped, "+w.Note)
				continue
			}
			b.logf("%s: up to %d requests or %s at concurrency %d", w.Name, w.Max, c.duration, w.Concurrency)
			r, err := measure(ctx, b.client, w, c.duration, cpu)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", w.Name, err)
			}
			b.logf("%s: %d requests, %d errors, %.0f req/s, p99 %.2f ms", r.Name, r.Requests, r.Errors, r.RPS, r.P99MS)
			b.rep.Results = append(b.rep.Results, r)
			if after != nil {
				if note := after(ctx, r); note != "" {
					b.rep.Notes = append(b.rep.Notes, note)
				}
			}
		}
	}
	return b.rep, nil
}

// takeSample lists up to --sample users of the account in pages of 200, for
// the workloads that need ids and emails.
func (b *bench) takeSample(ctx context.Context) error {
	b.logf("sampling up to %d users of account %s", b.cfg.sample, b.cfg.account)
	t0 := time.Now()
	v := url.Values{"limit": {"200"}}
	for len(b.sample) < b.cfg.sample {
		var p userPage
		if err := b.get(ctx, b.listURL(v), &p); err != nil {
			return fmt.Errorf("listing the account's users: %w", err)
		}
		if b.rep.AccountUsers == 0 {
			b.rep.AccountUsers = p.Total
		}
		b.sample = append(b.sample, p.Items...)
		if p.NextCursor == nil || *p.NextCursor == "" || len(p.Items) == 0 {
			break
		}
		v.Set("cursor", *p.NextCursor)
	}
	if len(b.sample) > b.cfg.sample {
		b.sample = b.sample[:b.cfg.sample]
	}
	if len(b.sample) == 0 {
		return fmt.Errorf("the account %s has no users", b.cfg.account)
	}
	b.rep.Sampled = len(b.sample)
	b.logf("sampled %d of %d users in %s", len(b.sample), b.rep.AccountUsers, time.Since(t0).Round(time.Millisecond))
	return nil
}

// shuffled returns the sampled users that keep, in a fixed random order.
func (b *bench) shuffled(keep func(apiUser) bool) []apiUser {
	var out []apiUser
	for _, u := range b.sample {
		if keep(u) {
			out = append(out, u)
		}
	}
	b.rng.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	return out
}

// prepare builds a workload's request streams, doing its untimed set-up,
// and returns what to do after each stream (nil: nothing).
func (b *bench) prepare(ctx context.Context, name string) ([]*workload, func(context.Context, *result) string, error) {
	c := b.cfg
	switch name {
	case "get":
		users := b.shuffled(func(apiUser) bool { return true })
		return []*workload{{
			Name: "get", Concurrency: b.conc(16), Max: c.requests, Warmup: c.warmup,
			Request: func(ctx context.Context, i int) (*http.Request, error) {
				return newRequest(ctx, "GET", b.users+"/"+url.PathEscape(users[i%len(users)].ID), c.key, nil)
			},
			Note: fmt.Sprintf("GET one user by id, cycling through %d sampled ids", len(users)),
		}}, nil, nil

	case "list":
		u := b.listURL(url.Values{"sort": {"name"}, "limit": {"100"}})
		return []*workload{b.fixed("list", u, b.conc(16), "first page of 100 sorted by name, with total")}, nil, nil

	case "list-deep":
		cursor, page, err := b.walk(ctx, c.deepPage)
		if err != nil {
			return nil, nil, err
		}
		b.rep.DeepPage = page
		v := url.Values{"sort": {"name"}, "limit": {"100"}}
		first := b.fixed("list-deep p1", b.listURL(v), b.conc(16), "page 1 of 100 sorted by name")
		if page == 1 {
			return []*workload{first}, nil, nil
		}
		v.Set("cursor", cursor)
		deep := b.fixed("list-deep p"+strconv.Itoa(page), b.listURL(v), b.conc(16),
			fmt.Sprintf("page %d of 100 sorted by name, through the cursor", page))
		return []*workload{first, deep}, nil, nil

	case "search":
		common, err := b.term(ctx, c.common)
		if err != nil {
			return nil, nil, err
		}
		rareQ := c.rare
		if rareQ == "" {
			if rareQ, err = b.pickRare(ctx); err != nil {
				return nil, nil, err
			}
		}
		rare, err := b.term(ctx, rareQ)
		if err != nil {
			return nil, nil, err
		}
		b.rep.Terms = []term{common, rare}
		var ws []*workload
		for _, t := range []struct {
			name string
			term term
		}{{"search common", common}, {"search rare", rare}} {
			v := url.Values{"q": {t.term.Q}, "filter": c.filters}
			ws = append(ws, b.fixed(t.name, b.listURL(v), b.conc(1),
				fmt.Sprintf("q=%s and %s: %d of %d matches", t.term.Q, strings.Join(c.filters, ", "), t.term.MatchesWithFilters, t.term.Matches)))
		}
		return ws, nil, nil

	case "email":
		users := b.shuffled(func(apiUser) bool { return true })
		return []*workload{{
			Name: "email", Concurrency: b.conc(1), Max: c.requests, Warmup: c.warmup,
			Request: func(ctx context.Context, i int) (*http.Request, error) {
				return newRequest(ctx, "GET", b.listURL(url.Values{"q": {users[i%len(users)].Email}}), c.key, nil)
			},
			Check: func(body []byte) error {
				var p userPage
				if err := json.Unmarshal(body, &p); err != nil {
					return fmt.Errorf("decoding the answer: %w", err)
				}
				if p.Total != 1 || len(p.Items) != 1 {
					return fmt.Errorf("an exact email search found %d users (total %d), want 1", len(p.Items), p.Total)
				}
				return nil
			},
			Note: fmt.Sprintf("q=<full address> of one of %d sampled users; each answer must hold exactly that user", len(users)),
		}}, nil, nil

	case "invite":
		run := strconv.FormatInt(time.Now().UnixNano(), 36)
		return []*workload{{
			Name: "invite", Concurrency: b.conc(16), Max: c.requests,
			Request: func(ctx context.Context, i int) (*http.Request, error) {
				return newRequest(ctx, "POST", b.users, c.key, map[string]any{
					"first_name": "Loadtest",
					"last_name":  fmt.Sprintf("Invitee %06d", i),
					"email":      fmt.Sprintf("load-%s-%d@%s", run, i, c.inviteDom),
					"roles":      []string{c.inviteRole},
				})
			},
			Note: fmt.Sprintf("POST a new user with a unique email at %s, role %s", c.inviteDom, c.inviteRole),
		}}, nil, nil

	case "revoke":
		users := b.shuffled(func(u apiUser) bool { return u.Status == "active" && !slices.Contains(u.Roles, "admin") })
		w := &workload{
			Name: "revoke", Concurrency: b.conc(16), Max: min(c.requests, len(users)),
			Request: func(ctx context.Context, i int) (*http.Request, error) {
				return newRequest(ctx, "POST", b.users+"/"+url.PathEscape(users[i].ID)+"/revoke", c.key,
					map[string]string{"reason": "issue_resolved"})
			},
			Note: fmt.Sprintf("revoke distinct active non-admin users, from %d sampled", len(users)),
		}
		if len(users) == 0 {
			w.Note = "no active non-admin user among the sampled users"
		}
		restore := func(ctx context.Context, r *result) string {
			n := r.Requests + r.Errors
			b.logf("revoke: restoring %d users (untimed)", n)
			rw := &workload{Concurrency: b.conc(16), Request: func(ctx context.Context, i int) (*http.Request, error) {
				return newRequest(ctx, "POST", b.users+"/"+url.PathEscape(users[i].ID)+"/restore", c.key, nil)
			}}
			out := drive(ctx, b.client, rw, 0, n, time.Now().Add(time.Minute))
			if out.errors > r.Errors {
				return fmt.Sprintf("revoke: restoring afterwards failed for %d users, e.g. %s", out.errors-r.Errors, strings.Join(out.samples, "; "))
			}
			return ""
		}
		return []*workload{w}, restore, nil
	}
	return nil, nil, fmt.Errorf("unknown workload %q", name)
}

// fixed is a read workload that repeats one GET.
func (b *bench) fixed(name, u string, concurrency int, note string) *workload {
	return &workload{
		Name: name, Concurrency: concurrency, Max: b.cfg.requests, Warmup: b.cfg.warmup,
		Request: func(ctx context.Context, _ int) (*http.Request, error) {
			return newRequest(ctx, "GET", u, b.cfg.key, nil)
		},
		Note: note,
	}
}

// walk follows the cursor through pages of 100 sorted by name and returns
// the cursor that fetches page n, or the last page when there are fewer.
func (b *bench) walk(ctx context.Context, n int) (string, int, error) {
	b.logf("list-deep: walking the cursor to page %d (untimed)", n)
	t0 := time.Now()
	v := url.Values{"sort": {"name"}, "limit": {"100"}}
	cursor, page := "", 1
	for page < n {
		var p userPage
		if err := b.get(ctx, b.listURL(v), &p); err != nil {
			return "", 0, err
		}
		if p.NextCursor == nil || *p.NextCursor == "" {
			break
		}
		cursor = *p.NextCursor
		v.Set("cursor", cursor)
		page++
	}
	b.logf("list-deep: reached page %d in %s", page, time.Since(t0).Round(time.Millisecond))
	return cursor, page, nil
}

// term counts a search term's matches, alone and with the search filters.
func (b *bench) term(ctx context.Context, q string) (term, error) {
	t := term{Q: q}
	var p userPage
	if err := b.get(ctx, b.listURL(url.Values{"q": {q}, "limit": {"1"}}), &p); err != nil {
		return t, err
	}
	t.Matches = p.Total
	if err := b.get(ctx, b.listURL(url.Values{"q": {q}, "limit": {"1"}, "filter": b.cfg.filters}), &p); err != nil {
		return t, err
	}
	t.MatchesWithFilters = p.Total
	return t, nil
}

// pickRare returns a search term that matches few users of the account:
// among the last names that are rarest in the sample, the one the server
// counts fewest matches for.
func (b *bench) pickRare(ctx context.Context) (string, error) {
	counts := map[string]int{}
	for _, u := range b.sample {
		if n := strings.ToLower(strings.TrimSpace(u.LastName)); utf8.RuneCountInString(n) >= 3 {
			counts[n]++
		}
	}
	names := make([]string, 0, len(counts))
	for n := range counts {
		names = append(names, n)
	}
	slices.SortFunc(names, func(a, b string) int {
		return cmp.Or(cmp.Compare(counts[a], counts[b]), cmp.Compare(a, b))
	})
	best, bestN := "", int64(-1)
	for _, n := range names[:min(8, len(names))] {
		var p userPage
		if err := b.get(ctx, b.listURL(url.Values{"q": {n}, "limit": {"1"}}), &p); err != nil {
			return "", err
		}
		if p.Total > 0 && (bestN < 0 || p.Total < bestN) {
			best, bestN = n, p.Total
		}
	}
	if best == "" {
		return "", fmt.Errorf("found no rare last name among the sampled users; pass --rare-term")
	}
	b.logf("search: picked the rare term %q (%d matches)", best, bestN)
	return best, nil
}
