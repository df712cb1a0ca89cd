package main

import (
	"context"
	"encoding/hex"
	"fmt"
	"io"
	"math/rand/v2"
	"runtime"
	"strconv"
	"sync"
	"time"

	"roster"
	"roster/internal/password"
)

func devSeedCommand() *command {
	return &command{
		name:    "dev seed",
		summary: "fill the database with realistic test accounts and users (development)",
		help: `
Dev seed creates --accounts accounts, each with an active Admin
(admin@acctK.example, password ` + seedAdminPassword + `), the additional
roles enabled, --users-per-account further users loaded in bulk, and one API
key for the Admin. It prints the accounts with their ids, Admin emails and
API keys as JSON, for the load benchmark, and shows progress on standard
error.

The users have varied names (with accents, apostrophes and hyphens), emails
unique in their account, statuses about 80% active, 10% inactive and 10%
invited, mostly one role each (some Admins; Experts at the first
--staff-domain, with an access deadline), and last logins for most who
joined. The same --seed gives the same names, emails, roles and statuses;
ids and times follow the clock. Bulk loading skips invitations, emails and
audit events. Never run it against a production database.`,
		register: func(fs *flagSet) runner {
			db := addDBFlags(fs, false)
			var o seedOptions
			fs.IntVar(&o.accounts, "accounts", 1, "number of accounts to create")
			fs.IntVar(&o.users, "users-per-account", 1000, "users to load into each account, besides its Admin")
			fs.IntVar(&o.batch, "batch", 5000, "users per bulk-insert transaction")
			fs.Uint64Var(&o.seed, "seed", 1, "seed of the random generator")
			fs.IntVar(&o.workers, "workers", 0, "accounts loaded at once; 0: 1 on SQLite (one writer at a time), the number of CPUs on PostgreSQL")
			staff := fs.EnvList("staff-domain", []string{defaultStaffDomain}, "email domain for the seeded Experts (the first is used)")
			return func(ctx context.Context, e *env) error {
				switch {
				case o.accounts < 1 || o.accounts > 10_000:
					return usageErrorf("--accounts: give a number from 1 to 10000")
				case o.users < 0 || o.users > 10_000_000:
					return usageErrorf("--users-per-account: give a number from 0 to 10000000")
				case o.batch < 1 || o.batch > 100_000:
					return usageErrorf("--batch: give a number from 1 to 100000")
				case o.workers < 0 || o.workers > 64:
					return usageErrorf("--workers: give a number from 0 (automatic) to 64")
				}
				if o.workers == 0 {
					o.workers = 1
					if db.postgres() {
						o.workers = runtime.GOMAXPROCS(0)
					}
				}
				domains, err := staffDomains(staff)
				if err != nil {
					return err
				}
				o.staffDomain = domains[0]
				svc, st, err := db.service(ctx, e, domains, false)
				if err != nil {
					return err
				}
				defer st.Close()
				out, err := seed(ctx, svc, st, o, e.stderr)
				if err != nil {
					return err
				}
				return printJSON(e.stdout, out)
			}
		},
	}
}

// seedAdminPassword is the password of every seeded Admin: seeded data is
// for development and benchmarks only.
const seedAdminPassword = "roster-dev-password"

type seedOptions struct {
	accounts, users, batch, workers int
	seed                            uint64
	staffDomain                     string
}

type seedAccount struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	AdminUserID string `json:"admin_user_id"`
	AdminEmail  string `json:"admin_email"`
	APIKey      string `json:"api_key"`
	Users       int    `json:"users"` // including the Admin
}

type seedOutput struct {
	Accounts      []seedAccount `json:"accounts"`
	AdminPassword string        `json:"admin_password"`
	UsersLoaded   int           `json:"users_loaded"`
	Seconds       float64       `json:"seconds"`
	RowsPerSecond float64       `json:"rows_per_second"`
}

func seed(ctx context.Context, svc *roster.Service, st store, o seedOptions, progressTo io.Writer) (*seedOutput, error) {
	// One hash serves every seeded Admin: hashing is deliberately slow.
	adminHash, err := password.Hash(ctx, seedAdminPassword)
	if err != nil {
		return nil, err
	}
	now := svc.Now()
	prog := newProgress(progressTo, o.accounts*o.users)
	out := &seedOutput{AdminPassword: seedAdminPassword, Accounts: make([]seedAccount, o.accounts)}
	start := time.Now()

	// Workers take accounts in turn. Each account has its own generator,
	// seeded by --seed and its number, so the data does not depend on the
	// number of workers or the order they finish in.
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(o.workers, o.accounts) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := range next {
				a, err := seedAccountK(ctx, svc, st, o, k, now, adminHash, prog)
				if err != nil {
					cancel(fmt.Errorf("account %d: %w", k, err))
					return
				}
				out.Accounts[k-1] = *a
			}
		}()
	}
feed:
	for k := 1; k <= o.accounts; k++ {
		select {
		case next <- k:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	if err := context.Cause(ctx); err != nil {
		prog.abort()
		return nil, err
	}
	prog.done()
	// Fresh statistics, so that the planner picks the intended indexes for
	// the data just loaded.
	if a, ok := st.(interface{ Analyze(context.Context) error }); ok {
		if err := a.Analyze(ctx); err != nil {
			return nil, err
		}
	}
	out.UsersLoaded = o.accounts * o.users
	out.Seconds = time.Since(start).Seconds()
	if out.Seconds > 0 {
		out.RowsPerSecond = float64(out.UsersLoaded) / out.Seconds
	}
	return out, nil
}

// seedAccountK creates account number k with its Admin, users and API key.
func seedAccountK(ctx context.Context, svc *roster.Service, st store, o seedOptions, k int, now time.Time, adminHash string, prog *progress) (*seedAccount, error) {
	g := newSeedGen(o, k, now)
	acct, admin, err := svc.CreateAccount(ctx, roster.CreateAccountInput{
		Name:           g.companyName(),
		AdminEmail:     fmt.Sprintf("admin@acct%d.example", k),
		AdminFirstName: g.pick(seedFirstNames),
		AdminLastName:  g.pick(seedLastNames),
		AdminPassword:  seedAdminPassword,
	}, func(string) (string, error) { return adminHash, nil })
	if err != nil {
		return nil, domainError(err)
	}
	if _, err := svc.UpdateAccount(ctx, acct.ID, roster.UpdateAccountInput{
		EnableRoles: []roster.RoleID{roster.RoleWhatsAppOnly, roster.RoleNumbersReadOnly},
	}); err != nil {
		return nil, domainError(err)
	}
	g.startAccount(k, admin)
	batch := make([]*roster.User, 0, min(o.batch, o.users))
	for i := 0; i < o.users; i++ {
		batch = append(batch, g.user(acct.ID))
		if len(batch) == cap(batch) || i == o.users-1 {
			if err := st.BulkInsertUsers(ctx, batch); err != nil {
				return nil, fmt.Errorf("bulk insert: %w", err)
			}
			prog.add(len(batch))
			batch = batch[:0]
		}
	}
	_, key, err := svc.CreateAPIKey(ctx, roster.OperatorActor(), acct.ID, admin.Email, "load benchmark")
	if err != nil {
		return nil, domainError(err)
	}
	return &seedAccount{ID: acct.ID, Name: acct.Name, AdminUserID: admin.ID, AdminEmail: admin.Email,
		APIKey: key, Users: o.users + 1}, nil
}

// seedGen generates the users of one account. Everything it draws comes
// from one seeded generator, so a seed fixes the data up to ids and times.
type seedGen struct {
	rng         *rand.Rand
	now         time.Time
	staffDomain string
	// ids are UUIDv7 with increasing timestamps, so bulk inserts append to
	// the primary-key index instead of splitting its pages at random.
	idMillis int64

	domain string
	admin  *roster.User
	emails map[string]int // email → how many times its base was used
}

// newSeedGen returns the generator of account number k (from 1).
func newSeedGen(o seedOptions, k int, now time.Time) *seedGen {
	return &seedGen{
		rng:         rand.New(rand.NewPCG(o.seed, uint64(k))),
		now:         now,
		staffDomain: o.staffDomain,
		// Account k's ids take the milliseconds before those of account k+1,
		// all of them before now.
		idMillis: now.UnixMilli() - int64((o.accounts-k+1)*o.users),
	}
}

func (g *seedGen) pick(list []string) string { return list[g.rng.IntN(len(list))] }

func (g *seedGen) companyName() string {
	return g.pick(seedCompanyWords[0]) + " " + g.pick(seedCompanyWords[1])
}

func (g *seedGen) startAccount(k int, admin *roster.User) {
	g.domain = "acct" + strconv.Itoa(k) + ".example"
	g.admin = admin
	g.emails = map[string]int{admin.EmailKey: 1}
}

func (g *seedGen) id() string {
	var b [16]byte
	ms := g.idMillis
	g.idMillis++
	for i := 5; i >= 0; i-- {
		b[i] = byte(ms)
		ms >>= 8
	}
	r1, r2 := g.rng.Uint64(), g.rng.Uint64()
	for i := 6; i < 16; i++ {
		if i < 14 {
			b[i] = byte(r1 >> (8 * (i - 6)))
		} else {
			b[i] = byte(r2 >> (8 * (i - 14)))
		}
	}
	b[6] = b[6]&0x0f | 0x70
	b[8] = b[8]&0x3f | 0x80
	s := hex.EncodeToString(b[:])
	return s[0:8] + "-" + s[8:12] + "-" + s[12:16] + "-" + s[16:20] + "-" + s[20:]
}

// between returns a time uniformly in [a, b). It always draws exactly one
// number, so the same --seed gives the same data whatever the clock says
// (Int64N's rejection sampling draws a bound-dependent number of times).
func (g *seedGen) between(a, b time.Time) time.Time {
	d := b.Sub(a)
	if d <= 0 {
		return a
	}
	return a.Add(time.Duration(g.rng.Float64() * float64(d))).Truncate(time.Microsecond)
}

func (g *seedGen) email(first, last, domain string) string {
	base := emailLocal(first, last)
	key := base + "@" + domain
	n := g.emails[key]
	g.emails[key] = n + 1
	if n == 0 {
		return key
	}
	// Skip suffixes that an earlier base already produced, such as a
	// second "anna.kim" after an "anna.kim2".
	for {
		n++
		e := base + strconv.Itoa(n) + "@" + domain
		if g.emails[e] == 0 {
			g.emails[e] = 1
			g.emails[key] = n
			return e
		}
	}
}

const day = 24 * time.Hour

func (g *seedGen) user(accountID string) *roster.User {
	u := &roster.User{
		ID:            g.id(),
		AccountID:     accountID,
		FirstName:     g.pick(seedFirstNames),
		LastName:      g.pick(seedLastNames),
		InvitedBy:     g.admin.ID,
		InvitedByName: g.admin.FullName(),
		Version:       1,
	}
	domain := g.domain
	switch r := g.rng.IntN(1000); {
	case r < 30:
		u.Roles = roster.NewRoleSet(roster.RoleAdmin)
	case r < 480:
		u.Roles = roster.NewRoleSet(roster.RoleCommunicationManager)
	case r < 830:
		u.Roles = roster.NewRoleSet(roster.RoleSupport)
	case r < 930:
		u.Roles = roster.NewRoleSet(roster.RoleCommunicationManager, roster.RoleSupport)
	case r < 960:
		u.Roles = roster.NewRoleSet(roster.RoleWhatsAppOnly)
	case r < 980:
		u.Roles = roster.NewRoleSet(roster.RoleNumbersReadOnly)
	default:
		u.Roles = roster.NewRoleSet(roster.RoleExpert)
		domain = g.staffDomain
	}
	u.Email = g.email(u.FirstName, u.LastName, domain)

	if u.Roles.Has(roster.RoleExpert) {
		// Experts come for a while: invited recently, with a deadline ahead.
		u.InvitedAt = g.between(g.now.Add(-60*day), g.now)
		u.AccessUntil = g.between(g.now.Add(day), g.now.Add(80*day))
		// Both access levels, without drawing from the generator (the
		// rest of the data stays as it was).
		u.ExpertAccess = roster.AccessReadOnly
		if len(u.Email)%2 == 1 {
			u.ExpertAccess = roster.AccessLimitedWrite
		}
	} else {
		u.InvitedAt = g.between(g.now.Add(-730*day), g.now)
	}
	u.UpdatedAt = u.InvitedAt
	switch s := g.rng.IntN(10); {
	case s < 8:
		u.Status = roster.StatusActive
	case s == 8:
		u.Status = roster.StatusInactive
	default:
		u.Status = roster.StatusInvited
	}
	if u.Status != roster.StatusInvited {
		joinBy := u.InvitedAt.Add(3 * day)
		if joinBy.After(g.now) {
			joinBy = g.now
		}
		u.JoinedAt = g.between(u.InvitedAt, joinBy)
		u.UpdatedAt = u.JoinedAt
		if g.rng.IntN(4) != 0 {
			u.LastLoginAt = g.between(u.JoinedAt, g.now)
			u.LastLoginIP = fmt.Sprintf("203.0.113.%d", 1+g.rng.IntN(254))
			if g.rng.IntN(3) == 0 {
				u.LastLoginIP = fmt.Sprintf("2001:db8:%x::%x", g.rng.IntN(0x10000), 1+g.rng.IntN(0xffff))
			}
			u.LastLoginDevice = g.pick(seedDevices)
			u.UpdatedAt = u.LastLoginAt
		}
	}
	if u.Status == roster.StatusInactive {
		u.RevokedAt = g.between(u.UpdatedAt, g.now)
		u.UpdatedAt = u.RevokedAt
		switch g.rng.IntN(3) {
		case 0:
			u.RevokeReason = roster.ReasonIssueResolved
		case 1:
			u.RevokeReason = roster.ReasonSecurityPrivacy
		default:
			u.RevokeReason, u.RevokeNote = roster.ReasonOther, g.pick(seedRevokeNotes)
		}
	}
	u.Keys()
	return u
}

// progress writes a line on w, rewritten in place, with rows done, the rate
// and the time left; at most a few times a second.
type progress struct {
	mu         sync.Mutex
	w          io.Writer
	total      int
	rows       int
	start      time.Time
	lastWrite  time.Time
	lastLength int
}

func newProgress(w io.Writer, total int) *progress {
	return &progress{w: w, total: total, start: time.Now()}
}

func (p *progress) add(n int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.rows += n
	if now := time.Now(); now.Sub(p.lastWrite) >= 200*time.Millisecond || p.rows == p.total {
		p.lastWrite = now
		p.write()
	}
}

func (p *progress) write() {
	elapsed := time.Since(p.start)
	rate := float64(p.rows) / max(elapsed.Seconds(), 1e-9)
	line := fmt.Sprintf("seeding users: %d/%d (%.0f%%), %.0f rows/s", p.rows, p.total,
		100*float64(p.rows)/float64(max(p.total, 1)), rate)
	if p.rows < p.total && rate > 0 {
		eta := time.Duration(float64(p.total-p.rows) / rate * float64(time.Second))
		line += ", ETA " + eta.Round(time.Second).String()
	} else {
		line += ", took " + elapsed.Round(time.Millisecond).String()
	}
	pad := max(p.lastLength-len(line), 0)
	p.lastLength = len(line)
	fmt.Fprintf(p.w, "\r%s%*s", line, pad, "")
}

// abort ends the progress line so that an error starts on a line of its own.
func (p *progress) abort() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.lastWrite.IsZero() {
		fmt.Fprintln(p.w)
	}
}

func (p *progress) done() {
	if p.total == 0 {
		return
	}
	if p.lastWrite.IsZero() || p.rows != p.total {
		p.write()
	}
	fmt.Fprintln(p.w)
}
