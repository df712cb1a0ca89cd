package roster_test

import (
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"roster"
	"roster/internal/testdb"
)

// The service tests run the real service on both real stores. Every refused
// call is checked for its error code, the fields it names and for leaving
// the account exactly as it was.

const staffDomain = "tatacommunications.com"

// start is the test clock's initial time.
var start = time.Date(2025, 6, 2, 10, 0, 0, 0, time.UTC)

// countingStore counts committed write transactions, so a test can tell
// that a refused call wrote nothing.
type countingStore struct {
	roster.Store
	commits atomic.Int64
}

func (c *countingStore) Update(ctx context.Context, fn func(roster.Tx) error) error {
	err := c.Store.Update(ctx, fn)
	if err == nil {
		c.commits.Add(1)
	}
	return err
}

// env is a service on a fresh store with one account (the tenant) whose
// first Admin is active.
type env struct {
	ctx   context.Context
	raw   roster.Store
	store *countingStore
	svc   *roster.Service
	clock *testdb.Clock
	*tenant
}

// tenant is an account and its first, active Admin.
type tenant struct {
	acct      *roster.Account
	adminUser *roster.User
	admin     *roster.Actor
}

var seq atomic.Int64

func fakeHash(p string) (string, error) { return "test-hash:" + p, nil }

func newEnv(t testing.TB, s roster.Store) *env {
	t.Helper()
	e := &env{ctx: t.Context(), raw: s, store: &countingStore{Store: s}, clock: testdb.NewClock(start)}
	e.svc = roster.NewService(e.store, roster.Config{StaffDomains: []string{staffDomain}, Secret: make([]byte, 32), Clock: e.clock,
		Passwords: cheapPasswords})
	e.tenant = e.newTenant(t)
	return e
}

func (e *env) newTenant(t testing.TB) *tenant {
	t.Helper()
	n := seq.Add(1)
	acct, u, err := e.svc.CreateAccount(e.ctx, roster.CreateAccountInput{
		Name: fmt.Sprintf("Acme %d", n), AdminEmail: fmt.Sprintf("ada%d@acme.example", n),
		AdminFirstName: "Ada", AdminLastName: "Lovelace", AdminPassword: "correct horse battery staple",
	}, func(pw string) (string, error) { return cheapPasswords.Hash(e.ctx, pw) })
	if err != nil {
		t.Fatalf("CreateAccount = %v", err)
	}
	return &tenant{acct: acct, adminUser: u, admin: actorOf(u)}
}

func actorOf(u *roster.User) *roster.Actor {
	return &roster.Actor{AccountID: u.AccountID, UserID: u.ID, Name: u.FullName(), Email: u.Email, Roles: u.Roles, IP: "192.0.2.10"}
}

// invite invites a user into tn's account as its Admin; mods change the
// default input (a Support user with unique names and email).
func (e *env) invite(t testing.TB, tn *tenant, mods ...func(*roster.InviteInput)) *roster.User {
	t.Helper()
	n := seq.Add(1)
	in := roster.InviteInput{FirstName: fmt.Sprintf("Member%d", n), LastName: "Tester",
		Email: fmt.Sprintf("member%d@acme.example", n), Roles: []roster.RoleID{roster.RoleSupport}}
	for _, m := range mods {
		m(&in)
	}
	defaultLevel(&in)
	u, err := e.svc.InviteUser(e.ctx, tn.admin, tn.acct.ID, in)
	if err != nil {
		t.Fatalf("InviteUser(%+v) = %v", in, err)
	}
	return u
}

// defaultLevel gives an invited Expert without an access level the
// limited-write level, which Experts had before levels existed; the tests
// of levels set theirs.
func defaultLevel(in *roster.InviteInput) {
	if slices.Contains(in.Roles, roster.RoleExpert) && in.ExpertAccess == "" {
		in.ExpertAccess = roster.AccessLimitedWrite
	}
}

// activate makes an invited user active, as registration will; sign-in
// does not exist yet, so the test writes through the store.
func (e *env) activate(t *testing.T, u *roster.User) *roster.User {
	t.Helper()
	var out *roster.User
	err := e.raw.Update(e.ctx, func(tx roster.Tx) error {
		x, err := tx.UserForUpdate(e.ctx, u.AccountID, u.ID)
		if err != nil {
			return err
		}
		x.Status, x.JoinedAt, x.Version, x.UpdatedAt = roster.StatusActive, e.clock.Now(), x.Version+1, e.clock.Now()
		out = x
		return tx.UpdateUser(e.ctx, x)
	})
	if err != nil {
		t.Fatalf("activate %s: %v", u.Email, err)
	}
	return out
}

// member invites and activates a user of tn's account and returns it with its actor.
func (e *env) member(t *testing.T, tn *tenant, roles []roster.RoleID, mods ...func(*roster.InviteInput)) (*roster.User, *roster.Actor) {
	t.Helper()
	u := e.activate(t, e.invite(t, tn, append([]func(*roster.InviteInput){func(in *roster.InviteInput) { in.Roles = roles }}, mods...)...))
	return u, actorOf(u)
}

func (e *env) user(t testing.TB, accountID, id string) *roster.User {
	t.Helper()
	u, err := e.raw.User(e.ctx, accountID, id)
	if err != nil {
		t.Fatalf("User(%s) = %v", id, err)
	}
	return u
}

// snapshot is what a refused call must leave unchanged.
type snapshot struct {
	Account *roster.Account
	Users   []*roster.User
	Total   int64
	Audit   []string
	Commits int64
}

func (e *env) snapshot(t *testing.T, accountID string) snapshot {
	t.Helper()
	var s snapshot
	var err error
	if s.Account, err = e.raw.Account(e.ctx, accountID); err != nil {
		t.Fatalf("Account = %v", err)
	}
	page, err := e.raw.ListUsers(e.ctx, accountID, roster.ListQuery{Sort: roster.Sort{Field: roster.SortInvitedAt}, Limit: roster.MaxLimit})
	if err != nil {
		t.Fatalf("ListUsers = %v", err)
	}
	s.Users, s.Total = page.Items, page.Total
	s.Audit = e.auditIDs(t, accountID)
	s.Commits = e.store.commits.Load()
	return s
}

func (e *env) unchanged(t *testing.T, before snapshot, what string) {
	t.Helper()
	after := e.snapshot(t, before.Account.ID)
	if d := cmp.Diff(before, after, cmpopts.EquateEmpty()); d != "" {
		t.Errorf("%s changed the account (-before +after):\n%s", what, d)
	}
}

func (e *env) auditIDs(t *testing.T, accountID string) []string {
	t.Helper()
	p, err := e.raw.AuditEvents(e.ctx, accountID, roster.AuditQuery{Limit: roster.MaxLimit})
	if err != nil {
		t.Fatalf("AuditEvents = %v", err)
	}
	ids := make([]string, len(p.Items))
	for i, ev := range p.Items {
		ids[i] = ev.ID
	}
	return ids
}

// lastEvent checks that exactly one audit event was written since before
// and returns it.
func (e *env) lastEvent(t *testing.T, accountID string, before []string) *roster.AuditEvent {
	t.Helper()
	p, err := e.raw.AuditEvents(e.ctx, accountID, roster.AuditQuery{Limit: roster.MaxLimit})
	if err != nil {
		t.Fatalf("AuditEvents = %v", err)
	}
	if len(p.Items) != len(before)+1 {
		t.Fatalf("audit log has %d events, want %d (exactly one more)", len(p.Items), len(before)+1)
	}
	return p.Items[0]
}

// db is implemented by the stores built on internal/sqlstore; the tests
// read tables the Store interface does not expose through it.
type db interface{ ReadDB() *sql.DB }

// mail returns the outbox messages of an account as "kind ref to" and the
// user's invitations as "id live|superseded", oldest first.
func (e *env) mail(t testing.TB, u *roster.User) (outbox, invitations []string) {
	t.Helper()
	d, ok := e.raw.(db)
	if !ok {
		t.Fatalf("%T has no ReadDB method; the test cannot read the outbox", e.raw)
	}
	query := func(q string, args ...any) []string {
		rows, err := d.ReadDB().QueryContext(e.ctx, q, args...)
		if err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		defer rows.Close()
		var out []string
		for rows.Next() {
			var a, b, c string
			if err := rows.Scan(&a, &b, &c); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
			out = append(out, strings.TrimSpace(a+" "+b+" "+c))
		}
		if err := rows.Err(); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		return out
	}
	outbox = query(`SELECT kind, ref, to_addr FROM outbox WHERE account_id = $1 AND to_addr = $2 ORDER BY created_at, ref`, u.AccountID, u.Email)
	invitations = query(`SELECT id, CASE WHEN superseded THEN 'superseded' ELSE 'live' END, '' FROM invitations
		WHERE account_id = $1 AND user_id = $2 ORDER BY created_at, id`, u.AccountID, u.ID)
	return outbox, invitations
}

// wantError checks err's code and the set of fields it names.
func wantError(t *testing.T, err error, code string, fields ...string) {
	t.Helper()
	var e *roster.Error
	if !errors.As(err, &e) {
		t.Errorf("error = %v, want a *roster.Error %s %v", err, code, fields)
		return
	}
	if e.Code != code {
		t.Errorf("error = %v, want code %s", err, code)
	}
	if e.Message == "" {
		t.Errorf("error %v has no message", err)
	}
	var got []string
	for _, f := range e.Fields {
		if f.Message == "" || !strings.HasSuffix(f.Message, ".") {
			t.Errorf("field %s: message %q is not a sentence", f.Field, f.Message)
		}
		if !slices.Contains(got, f.Field) {
			got = append(got, f.Field)
		}
	}
	slices.Sort(got)
	want := slices.Clone(fields)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("error %v names fields %v, want %v", err, got, want)
	}
}

func normDetails(m map[string]any) map[string]any {
	b, err := json.Marshal(m)
	if err != nil {
		panic(err)
	}
	var out map[string]any
	if err := json.Unmarshal(b, &out); err != nil {
		panic(err)
	}
	return out
}

// wantEvent checks an audit event against what the actor did to target.
func wantEvent(t *testing.T, got *roster.AuditEvent, actor *roster.Actor, target *roster.User, action string, at time.Time, details map[string]any) {
	t.Helper()
	want := &roster.AuditEvent{ID: got.ID, AccountID: target.AccountID, At: at, ActorID: actor.UserID, ActorName: actor.Name,
		ActorEmail: actor.Email, Action: action, TargetID: target.ID, TargetName: target.FullName(), TargetEmail: target.Email,
		Details: normDetails(details), IP: actor.IP, Seq: got.Seq, Hash: got.Hash}
	if got.Seq < 1 || len(got.Hash) != 32 {
		t.Errorf("audit event seq %d, hash %x; want its place in the chain and its hash", got.Seq, got.Hash)
	}
	c := *got
	c.Details = normDetails(got.Details)
	if d := cmp.Diff(want, &c, cmpopts.EquateEmpty()); d != "" {
		t.Errorf("audit event (-want +got):\n%s", d)
	}
}

func roles(ids ...roster.RoleID) []roster.RoleID { return ids }

// --- Invite -----------------------------------------------------------------

func TestInviteUserValidation(t *testing.T) {
	t.Parallel()
	long := func(s string, n int) string { return strings.Repeat(s, n) }
	// email254 is the longest valid address: 64 + 1 + 189 characters.
	email254 := long("l", 64) + "@" + long("d", 63) + "." + long("e", 63) + "." + long("f", 53) + ".example"
	if len(email254) != 254 {
		t.Fatalf("email254 has %d characters", len(email254))
	}
	tests := []struct {
		name   string
		in     func(in *roster.InviteInput, now time.Time)
		fields []string // nil: valid
	}{
		// Names.
		{"first name empty", func(in *roster.InviteInput, _ time.Time) { in.FirstName = "" }, []string{"first_name"}},
		{"first name whitespace only", func(in *roster.InviteInput, _ time.Time) { in.FirstName = " \t\u00a0 " }, []string{"first_name"}},
		{"first name 2 characters", func(in *roster.InviteInput, _ time.Time) { in.FirstName = "Al" }, []string{"first_name"}},
		{"first name 2 characters after trimming", func(in *roster.InviteInput, _ time.Time) { in.FirstName = "  Al  " }, []string{"first_name"}},
		{"first name 2 characters in 3 bytes", func(in *roster.InviteInput, _ time.Time) { in.FirstName = "Ål" }, []string{"first_name"}},
		{"first name 3 multi-byte characters", func(in *roster.InviteInput, _ time.Time) { in.FirstName = "李小龙" }, nil},
		{"first name with diaeresis", func(in *roster.InviteInput, _ time.Time) { in.FirstName = "Zoë" }, nil},
		{"first name with joined emoji", func(in *roster.InviteInput, _ time.Time) { in.FirstName = "👩\u200d💻 Dev" }, nil},
		{"first name 64 characters", func(in *roster.InviteInput, _ time.Time) { in.FirstName = long("ö", 64) }, nil},
		{"first name 65 characters", func(in *roster.InviteInput, _ time.Time) { in.FirstName = long("a", 65) }, []string{"first_name"}},
		{"first name NUL", func(in *roster.InviteInput, _ time.Time) { in.FirstName = "Ann\x00e" }, []string{"first_name"}},
		{"first name tab", func(in *roster.InviteInput, _ time.Time) { in.FirstName = "Ann\te" }, []string{"first_name"}},
		{"first name newline", func(in *roster.InviteInput, _ time.Time) { in.FirstName = "Ann\ne" }, []string{"first_name"}},
		{"first name carriage return", func(in *roster.InviteInput, _ time.Time) { in.FirstName = "Ann\re" }, []string{"first_name"}},
		{"first name DEL", func(in *roster.InviteInput, _ time.Time) { in.FirstName = "Anne\x7f" }, []string{"first_name"}},
		{"first name line separator", func(in *roster.InviteInput, _ time.Time) { in.FirstName = "Ann\u2028e" }, []string{"first_name"}},
		{"first name zero-width space", func(in *roster.InviteInput, _ time.Time) { in.FirstName = "Ann\u200be" }, []string{"first_name"}},
		{"first name right-to-left override", func(in *roster.InviteInput, _ time.Time) { in.FirstName = "Ann\u202ee" }, []string{"first_name"}},
		{"first name invalid UTF-8", func(in *roster.InviteInput, _ time.Time) { in.FirstName = "Ann\xff\xfe" }, []string{"first_name"}},
		{"last name empty", func(in *roster.InviteInput, _ time.Time) { in.LastName = "" }, []string{"last_name"}},
		{"last name 2 characters", func(in *roster.InviteInput, _ time.Time) { in.LastName = "Li" }, []string{"last_name"}},
		{"last name 65 characters", func(in *roster.InviteInput, _ time.Time) { in.LastName = long("я", 65) }, []string{"last_name"}},
		{"last name newline", func(in *roster.InviteInput, _ time.Time) { in.LastName = "Hop\nper" }, []string{"last_name"}},
		{"last name invalid UTF-8", func(in *roster.InviteInput, _ time.Time) { in.LastName = "\xc3\x28per" }, []string{"last_name"}},
		{"last name with apostrophe and hyphen", func(in *roster.InviteInput, _ time.Time) { in.LastName = "O'Neil-Smith" }, nil},

		// Emails.
		{"email empty", func(in *roster.InviteInput, _ time.Time) { in.Email = "" }, []string{"email"}},
		{"email whitespace only", func(in *roster.InviteInput, _ time.Time) { in.Email = "   " }, []string{"email"}},
		{"email missing @", func(in *roster.InviteInput, _ time.Time) { in.Email = "grace.acme.example" }, []string{"email"}},
		{"email fullwidth @", func(in *roster.InviteInput, _ time.Time) { in.Email = "grace＠acme.example" }, []string{"email"}},
		{"email display-name form", func(in *roster.InviteInput, _ time.Time) { in.Email = "Grace Hopper <grace@acme.example>" }, []string{"email"}},
		{"email angle brackets only", func(in *roster.InviteInput, _ time.Time) { in.Email = "<grace@acme.example>" }, []string{"email"}},
		{"email with a space", func(in *roster.InviteInput, _ time.Time) { in.Email = "grace hopper@acme.example" }, []string{"email"}},
		{"email two @", func(in *roster.InviteInput, _ time.Time) { in.Email = "gr@ce@acme.example" }, []string{"email"}},
		{"email two addresses", func(in *roster.InviteInput, _ time.Time) { in.Email = "a@acme.example,b@acme.example" }, []string{"email"}},
		{"email no dot in domain", func(in *roster.InviteInput, _ time.Time) { in.Email = "grace@localhost" }, []string{"email"}},
		{"email empty domain label", func(in *roster.InviteInput, _ time.Time) { in.Email = "grace@acme..example" }, []string{"email"}},
		{"email trailing dot", func(in *roster.InviteInput, _ time.Time) { in.Email = "grace@acme.example." }, []string{"email"}},
		{"email hyphen-led label", func(in *roster.InviteInput, _ time.Time) { in.Email = "grace@-acme.example" }, []string{"email"}},
		{"email underscore in domain", func(in *roster.InviteInput, _ time.Time) { in.Email = "grace@acme_corp.example" }, []string{"email"}},
		{"email domain literal", func(in *roster.InviteInput, _ time.Time) { in.Email = "grace@[192.0.2.1]" }, []string{"email"}},
		{"email quoted local part", func(in *roster.InviteInput, _ time.Time) { in.Email = `"grace"@acme.example` }, []string{"email"}},
		{"email leading dot", func(in *roster.InviteInput, _ time.Time) { in.Email = ".grace@acme.example" }, []string{"email"}},
		{"email newline inside", func(in *roster.InviteInput, _ time.Time) { in.Email = "gra\nce@acme.example" }, []string{"email"}},
		{"email invalid UTF-8", func(in *roster.InviteInput, _ time.Time) { in.Email = "gr\xffce@acme.example" }, []string{"email"}},
		{"email 255 characters", func(in *roster.InviteInput, _ time.Time) { in.Email = "x" + email254 }, []string{"email"}},
		{"email 254 characters", func(in *roster.InviteInput, _ time.Time) { in.Email = email254 }, nil},
		{"email local part 65 characters", func(in *roster.InviteInput, _ time.Time) { in.Email = long("l", 65) + "@acme.example" }, []string{"email"}},
		{"email local part 64 characters", func(in *roster.InviteInput, _ time.Time) { in.Email = long("k", 64) + "@acme.example" }, nil},
		{"email surrounding spaces trimmed", func(in *roster.InviteInput, _ time.Time) { in.Email = "  spaced@acme.example  " }, nil},
		{"email plus and percent", func(in *roster.InviteInput, _ time.Time) { in.Email = "grace+roster%x@acme.example" }, nil},
		// Internationalised domains are valid addresses (RFC 6531) and accepted.
		{"email unicode domain", func(in *roster.InviteInput, _ time.Time) { in.Email = "grace@bücher.example" }, nil},

		// Roles.
		{"roles nil", func(in *roster.InviteInput, _ time.Time) { in.Roles = nil }, []string{"roles"}},
		{"roles empty", func(in *roster.InviteInput, _ time.Time) { in.Roles = []roster.RoleID{} }, []string{"roles"}},
		{"role unknown", func(in *roster.InviteInput, _ time.Time) { in.Roles = roles("owner") }, []string{"roles"}},
		{"role wrong case", func(in *roster.InviteInput, _ time.Time) { in.Roles = roles("Admin") }, []string{"roles"}},
		{"role empty string", func(in *roster.InviteInput, _ time.Time) { in.Roles = roles("") }, []string{"roles"}},
		{"roles 17", func(in *roster.InviteInput, _ time.Time) { in.Roles = slices.Repeat(roles(roster.RoleSupport), 17) }, []string{"roles"}},
		{"roles repeated", func(in *roster.InviteInput, _ time.Time) { in.Roles = roles(roster.RoleSupport, roster.RoleSupport) }, nil},
		{"additional role not enabled", func(in *roster.InviteInput, _ time.Time) { in.Roles = roles(roster.RoleWhatsAppOnly) }, []string{"roles"}},
		{"second additional role not enabled", func(in *roster.InviteInput, _ time.Time) {
			in.Roles = roles(roster.RoleSupport, roster.RoleNumbersReadOnly)
		}, []string{"roles"}},
		{"expert for a non-staff email", func(in *roster.InviteInput, now time.Time) {
			in.Roles, in.AccessUntil = roles(roster.RoleExpert), new(now.Add(24*time.Hour))
		}, []string{"roles"}},
		{"expert for a staff subdomain", func(in *roster.InviteInput, now time.Time) {
			in.Email, in.Roles, in.AccessUntil = "eve@evil."+staffDomain, roles(roster.RoleExpert), new(now.Add(24*time.Hour))
		}, []string{"roles"}},
		{"expert for a staff-lookalike domain", func(in *roster.InviteInput, now time.Time) {
			in.Email, in.Roles, in.AccessUntil = "eve@"+staffDomain+".evil.example", roles(roster.RoleExpert), new(now.Add(24*time.Hour))
		}, []string{"roles"}},
		{"expert for a homoglyph staff domain", func(in *roster.InviteInput, now time.Time) {
			in.Email, in.Roles, in.AccessUntil = "eve@tatacommunicatіons.com", roles(roster.RoleExpert), new(now.Add(24*time.Hour))
		}, []string{"roles"}},
		{"expert without access_until", func(in *roster.InviteInput, _ time.Time) {
			in.Email, in.Roles = "no.deadline@"+staffDomain, roles(roster.RoleExpert)
		}, []string{"access_until"}},
		{"expert non-staff without access_until", func(in *roster.InviteInput, _ time.Time) { in.Roles = roles(roster.RoleExpert) }, []string{"roles", "access_until"}},
		{"expert access_until in the past", func(in *roster.InviteInput, now time.Time) {
			in.Email, in.Roles, in.AccessUntil = "past@"+staffDomain, roles(roster.RoleExpert), new(now.Add(-time.Second))
		}, []string{"access_until"}},
		{"expert access_until now", func(in *roster.InviteInput, now time.Time) {
			in.Email, in.Roles, in.AccessUntil = "now@"+staffDomain, roles(roster.RoleExpert), new(now)
		}, []string{"access_until"}},
		{"expert access_until 90 days and a second", func(in *roster.InviteInput, now time.Time) {
			in.Email, in.Roles, in.AccessUntil = "far@"+staffDomain, roles(roster.RoleExpert), new(now.Add(90*24*time.Hour+time.Second))
		}, []string{"access_until"}},
		{"expert access_until 90 days", func(in *roster.InviteInput, now time.Time) {
			in.Email, in.Roles, in.AccessUntil = "ninety@"+staffDomain, roles(roster.RoleExpert), new(now.Add(90*24*time.Hour))
		}, nil},
		{"expert with upper-case staff domain", func(in *roster.InviteInput, now time.Time) {
			in.Email, in.Roles, in.AccessUntil = "Eve@TATACOMMUNICATIONS.COM", roles(roster.RoleExpert, roster.RoleSupport), new(now.Add(time.Hour))
		}, nil},
		{"access_until in the past for support", func(in *roster.InviteInput, now time.Time) { in.AccessUntil = new(now.Add(-time.Hour)) }, []string{"access_until"}},
		{"access_until in a month for support", func(in *roster.InviteInput, now time.Time) { in.AccessUntil = new(now.Add(30 * 24 * time.Hour)) }, nil},
		{"access_until in another zone", func(in *roster.InviteInput, now time.Time) {
			in.AccessUntil = new(now.Add(time.Hour).In(time.FixedZone("IST", 5*3600+1800)))
		}, nil},

		// Everything at once.
		{"every field bad", func(in *roster.InviteInput, now time.Time) {
			in.FirstName, in.LastName, in.Email, in.Roles, in.AccessUntil = "", "x", "nope", nil, new(now.Add(-time.Hour))
		}, []string{"first_name", "last_name", "email", "roles", "access_until"}},
		{"bad email and expert", func(in *roster.InviteInput, _ time.Time) {
			in.FirstName, in.Email, in.Roles = "Al", "not an email", roles(roster.RoleExpert, "ghost")
		}, []string{"first_name", "email", "roles", "access_until"}},
	}

	testdb.Each(t, func(t *testing.T, s roster.Store) {
		e := newEnv(t, s)
		for i, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				in := roster.InviteInput{FirstName: "Grace", LastName: "Hopper", Email: fmt.Sprintf("case%d@acme.example", i),
					Roles: roles(roster.RoleSupport)}
				tt.in(&in, e.clock.Now())
				defaultLevel(&in)
				before := e.snapshot(t, e.acct.ID)
				u, err := e.svc.InviteUser(e.ctx, e.admin, e.acct.ID, in)
				if tt.fields != nil {
					if err == nil {
						t.Fatalf("InviteUser(%+v) succeeded, want %v invalid", in, tt.fields)
					}
					wantError(t, err, roster.CodeInvalid, tt.fields...)
					e.unchanged(t, before, "a refused invitation")
					return
				}
				if err != nil {
					t.Fatalf("InviteUser(%+v) = %v", in, err)
				}
				got := e.user(t, e.acct.ID, u.ID)
				if d := cmp.Diff(u, got); d != "" {
					t.Errorf("stored user differs from the returned one (-returned +stored):\n%s", d)
				}
				if got.Status != roster.StatusInvited || got.FirstName != strings.TrimSpace(in.FirstName) ||
					got.Email != cleanedEmail(in.Email) || got.InvitedBy != e.adminUser.ID || got.Version != 1 {
					t.Errorf("stored user = %+v", got)
				}
				if in.AccessUntil != nil && (!got.AccessUntil.Equal(*in.AccessUntil) || got.AccessUntil.Location() != time.UTC) {
					t.Errorf("AccessUntil = %v, want %v in UTC", got.AccessUntil, *in.AccessUntil)
				}
				if after := e.snapshot(t, e.acct.ID); after.Total != before.Total+1 || after.Commits != before.Commits+1 {
					t.Errorf("after a valid invitation: total %d → %d, commits %d → %d; want one more of each",
						before.Total, after.Total, before.Commits, after.Commits)
				}
			})
		}
	})
}

// cleanedEmail is the stored form of a valid input address: trimmed, domain in lower case.
func cleanedEmail(s string) string {
	s = strings.TrimSpace(s)
	at := strings.LastIndexByte(s, '@')
	return s[:at] + strings.ToLower(s[at:])
}

func TestInviteUserRules(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, s roster.Store) {
		e := newEnv(t, s)

		t.Run("WritesInvitationOutboxAndAudit", func(t *testing.T) {
			before := e.auditIDs(t, e.acct.ID)
			until := e.clock.Now().Add(48 * time.Hour)
			u, err := e.svc.InviteUser(e.ctx, e.admin, e.acct.ID, roster.InviteInput{FirstName: " Eve ", LastName: "Expert",
				Email: "Eve.Expert@TataCommunications.com", Roles: roles(roster.RoleSupport, roster.RoleExpert), AccessUntil: &until,
				ExpertAccess: roster.AccessLimitedWrite})
			if err != nil {
				t.Fatalf("InviteUser = %v", err)
			}
			if u.Email != "Eve.Expert@tatacommunications.com" || u.FirstName != "Eve" {
				t.Errorf("invited user = %q %q, want the trimmed name and the domain in lower case", u.FirstName, u.Email)
			}
			outbox, invitations := e.mail(t, u)
			if len(invitations) != 1 || !strings.HasSuffix(invitations[0], " live") {
				t.Fatalf("invitations = %v, want one live invitation", invitations)
			}
			invID := strings.Fields(invitations[0])[0]
			if want := []string{roster.MailInvitation + " " + invID + " " + u.Email}; !slices.Equal(outbox, want) {
				t.Errorf("outbox = %v, want %v", outbox, want)
			}
			ev := e.lastEvent(t, e.acct.ID, before)
			wantEvent(t, ev, e.admin, u, roster.ActionUserInvited, e.clock.Now(), map[string]any{
				"roles": roles(roster.RoleSupport, roster.RoleExpert), "access_until": until.Format(time.RFC3339), "expert_access": "limited_write"})
		})

		t.Run("DuplicateEmailIsConflict", func(t *testing.T) {
			e.invite(t, e.tenant, func(in *roster.InviteInput) { in.Email = "dup@acme.example" })
			for _, email := range []string{"dup@acme.example", "DUP@acme.example", "Dup@ACME.EXAMPLE", " dup@acme.example "} {
				before := e.snapshot(t, e.acct.ID)
				_, err := e.svc.InviteUser(e.ctx, e.admin, e.acct.ID, roster.InviteInput{FirstName: "Second", LastName: "Copy",
					Email: email, Roles: roles(roster.RoleSupport)})
				wantError(t, err, roster.CodeConflict, "email")
				e.unchanged(t, before, fmt.Sprintf("InviteUser(%q) of a taken email", email))
			}
			// The first Admin's own address is taken too.
			_, err := e.svc.InviteUser(e.ctx, e.admin, e.acct.ID, roster.InviteInput{FirstName: "Ada", LastName: "Again",
				Email: strings.ToUpper(e.adminUser.Email), Roles: roles(roster.RoleSupport)})
			wantError(t, err, roster.CodeConflict, "email")
			// Another account may have the same person.
			other := e.newTenant(t)
			if _, err := e.svc.InviteUser(e.ctx, other.admin, other.acct.ID, roster.InviteInput{FirstName: "Same", LastName: "Person",
				Email: "dup@acme.example", Roles: roles(roster.RoleSupport)}); err != nil {
				t.Errorf("InviteUser(same email, other account) = %v", err)
			}
		})

		t.Run("ConcurrentInvitesOfOneEmail", func(t *testing.T) {
			tn := e.newTenant(t)
			before := e.snapshot(t, tn.acct.ID)
			emails := []string{"race@acme.example", "Race@acme.example", "RACE@ACME.EXAMPLE", "race@Acme.Example"}
			errs := make([]error, len(emails))
			users := make([]*roster.User, len(emails))
			release := make(chan struct{})
			var wg sync.WaitGroup
			for i, email := range emails {
				wg.Go(func() {
					<-release
					users[i], errs[i] = e.svc.InviteUser(e.ctx, tn.admin, tn.acct.ID, roster.InviteInput{FirstName: "Racing", LastName: "Invitee",
						Email: email, Roles: roles(roster.RoleSupport)})
				})
			}
			close(release)
			wg.Wait()
			var winner *roster.User
			for i, err := range errs {
				if err == nil {
					if winner != nil {
						t.Errorf("two concurrent invitations of one email succeeded")
					}
					winner = users[i]
					continue
				}
				wantError(t, err, roster.CodeConflict, "email")
			}
			if winner == nil {
				t.Fatalf("no concurrent invitation succeeded: %v", errs)
			}
			after := e.snapshot(t, tn.acct.ID)
			if after.Total != before.Total+1 || len(after.Audit) != len(before.Audit)+1 {
				t.Errorf("after the race: %d users (was %d), %d audit events (was %d); want one more of each",
					after.Total, before.Total, len(after.Audit), len(before.Audit))
			}
			if outbox, invitations := e.mail(t, winner); len(outbox) != 1 || len(invitations) != 1 {
				t.Errorf("after the race: outbox %v, invitations %v; want one of each", outbox, invitations)
			}
		})

		t.Run("AllowedDomains", func(t *testing.T) {
			tn := e.newTenant(t)
			if _, err := e.svc.UpdateAccount(e.ctx, tn.acct.ID, roster.UpdateAccountInput{AllowedDomains: []string{"acme.example", "@Partner.Example"}}); err != nil {
				t.Fatalf("UpdateAccount = %v", err)
			}
			tests := []struct {
				email string
				ok    bool
			}{
				{"a@acme.example", true},
				{"b@ACME.Example", true},
				{"c@partner.example", true},
				{"d@other.example", false},
				{"e@sub.acme.example", false},
				{"f@acme.example.evil.example", false},
				{"g@xacme.example", false},
			}
			for _, tt := range tests {
				before := e.snapshot(t, tn.acct.ID)
				_, err := e.svc.InviteUser(e.ctx, tn.admin, tn.acct.ID, roster.InviteInput{FirstName: "Domain", LastName: "Tester",
					Email: tt.email, Roles: roles(roster.RoleSupport)})
				if tt.ok {
					if err != nil {
						t.Errorf("InviteUser(%q) with allowed domains = %v", tt.email, err)
					}
					continue
				}
				wantError(t, err, roster.CodeInvalid, "email")
				e.unchanged(t, before, fmt.Sprintf("InviteUser(%q) outside the allowed domains", tt.email))
			}
			// Clearing the policy admits every domain again.
			if _, err := e.svc.UpdateAccount(e.ctx, tn.acct.ID, roster.UpdateAccountInput{ClearAllowedDomains: true}); err != nil {
				t.Fatalf("UpdateAccount = %v", err)
			}
			if _, err := e.svc.InviteUser(e.ctx, tn.admin, tn.acct.ID, roster.InviteInput{FirstName: "Domain", LastName: "Tester",
				Email: "d@other.example", Roles: roles(roster.RoleSupport)}); err != nil {
				t.Errorf("InviteUser after clearing the allowed domains = %v", err)
			}
		})

		t.Run("EnabledAdditionalRole", func(t *testing.T) {
			tn := e.newTenant(t)
			if _, err := e.svc.UpdateAccount(e.ctx, tn.acct.ID, roster.UpdateAccountInput{EnableRoles: roles(roster.RoleWhatsAppOnly)}); err != nil {
				t.Fatalf("UpdateAccount = %v", err)
			}
			u := e.invite(t, tn, func(in *roster.InviteInput) { in.Roles = roles(roster.RoleWhatsAppOnly) })
			if u.Roles != roster.NewRoleSet(roster.RoleWhatsAppOnly) {
				t.Errorf("roles = %s, want whatsapp_only", u.Roles)
			}
			_, err := e.svc.InviteUser(e.ctx, tn.admin, tn.acct.ID, roster.InviteInput{FirstName: "Num", LastName: "Bers",
				Email: "numbers@acme.example", Roles: roles(roster.RoleNumbersReadOnly)})
			wantError(t, err, roster.CodeInvalid, "roles")
		})
	})
}

// --- Update -----------------------------------------------------------------

func TestUpdateUserValidation(t *testing.T) {
	t.Parallel()
	type target int
	const (
		support target = iota // an active Support user
		expert                // an active Expert with a deadline in 10 days
	)
	tests := []struct {
		name   string
		target target
		in     func(now time.Time) roster.UpdateInput
		fields []string // nil: valid
	}{
		{"roles empty", support, func(time.Time) roster.UpdateInput { return roster.UpdateInput{Roles: new([]roster.RoleID{})} }, []string{"roles"}},
		{"role unknown", support, func(time.Time) roster.UpdateInput { return roster.UpdateInput{Roles: new(roles("root"))} }, []string{"roles"}},
		{"role not enabled", support, func(time.Time) roster.UpdateInput {
			return roster.UpdateInput{Roles: new(roles(roster.RoleSupport, roster.RoleNumbersReadOnly))}
		}, []string{"roles"}},
		{"expert for a non-staff email", support, func(now time.Time) roster.UpdateInput {
			return roster.UpdateInput{Roles: new(roles(roster.RoleExpert)), AccessUntil: new(now.Add(time.Hour)), ExpertAccess: new(roster.AccessReadOnly)}
		}, []string{"roles"}},
		{"expert for a non-staff email without deadline", support, func(time.Time) roster.UpdateInput {
			return roster.UpdateInput{Roles: new(roles(roster.RoleExpert)), ExpertAccess: new(roster.AccessReadOnly)}
		}, []string{"roles", "access_until"}},
		{"access_until in the past", support, func(now time.Time) roster.UpdateInput {
			return roster.UpdateInput{AccessUntil: new(now.Add(-time.Minute))}
		}, []string{"access_until"}},
		{"access_until beyond 90 days", support, func(now time.Time) roster.UpdateInput {
			return roster.UpdateInput{AccessUntil: new(now.Add(91 * 24 * time.Hour))}
		}, []string{"access_until"}},
		{"bad roles and deadline at once", support, func(now time.Time) roster.UpdateInput {
			return roster.UpdateInput{Roles: new(roles("root")), AccessUntil: new(now.Add(-time.Minute))}
		}, []string{"roles", "access_until"}},
		{"expert loses the deadline", expert, func(time.Time) roster.UpdateInput {
			return roster.UpdateInput{AccessUntil: new(time.Time{})}
		}, []string{"access_until"}},
		{"expert deadline moved into the past", expert, func(now time.Time) roster.UpdateInput {
			return roster.UpdateInput{AccessUntil: new(now.Add(-time.Hour))}
		}, []string{"access_until"}},
		{"expert keeps expert, loses the deadline", expert, func(time.Time) roster.UpdateInput {
			return roster.UpdateInput{Roles: new(roles(roster.RoleExpert, roster.RoleSupport)), AccessUntil: new(time.Time{})}
		}, []string{"access_until"}},
		{"expert deadline extended", expert, func(now time.Time) roster.UpdateInput {
			return roster.UpdateInput{AccessUntil: new(now.Add(60 * 24 * time.Hour))}
		}, nil},
		{"expert becomes support without deadline", expert, func(time.Time) roster.UpdateInput {
			return roster.UpdateInput{Roles: new(roles(roster.RoleSupport)), AccessUntil: new(time.Time{})}
		}, nil},
		{"support gets a deadline", support, func(now time.Time) roster.UpdateInput {
			return roster.UpdateInput{AccessUntil: new(now.Add(24 * time.Hour))}
		}, nil},
		{"support becomes admin", support, func(time.Time) roster.UpdateInput {
			return roster.UpdateInput{Roles: new(roles(roster.RoleAdmin, roster.RoleSupport))}
		}, nil},
	}
	testdb.Each(t, func(t *testing.T, s roster.Store) {
		e := newEnv(t, s)
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				var u *roster.User
				switch tt.target {
				case support:
					u, _ = e.member(t, e.tenant, roles(roster.RoleSupport))
				case expert:
					u, _ = e.member(t, e.tenant, roles(roster.RoleExpert), func(in *roster.InviteInput) {
						in.Email = fmt.Sprintf("expert%d@%s", seq.Add(1), staffDomain)
						in.AccessUntil = new(e.clock.Now().Add(10 * 24 * time.Hour))
					})
				}
				in := tt.in(e.clock.Now())
				before := e.snapshot(t, e.acct.ID)
				got, err := e.svc.UpdateUser(e.ctx, e.admin, e.acct.ID, u.ID, in, u.ETag())
				if tt.fields != nil {
					wantError(t, err, roster.CodeInvalid, tt.fields...)
					e.unchanged(t, before, "a refused update")
					return
				}
				if err != nil {
					t.Fatalf("UpdateUser = %v", err)
				}
				if got.Version != u.Version+1 || got.ETag() == u.ETag() {
					t.Errorf("version %d → %d (ETag %s → %s), want a new version", u.Version, got.Version, u.ETag(), got.ETag())
				}
				if d := cmp.Diff(got, e.user(t, e.acct.ID, u.ID)); d != "" {
					t.Errorf("stored user differs from the returned one (-returned +stored):\n%s", d)
				}
			})
		}
	})
}

func TestUpdateUserDetailsAndETag(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, s roster.Store) {
		e := newEnv(t, s)
		u, _ := e.member(t, e.tenant, roles(roster.RoleSupport, roster.RoleCommunicationManager))

		// Roles: one added, one removed; one audit event with the diff.
		before := e.auditIDs(t, e.acct.ID)
		e.clock.Advance(time.Minute)
		v1, err := e.svc.UpdateUser(e.ctx, e.admin, e.acct.ID, u.ID, roster.UpdateInput{Roles: new(roles(roster.RoleSupport, roster.RoleAdmin))}, u.ETag())
		if err != nil {
			t.Fatalf("UpdateUser = %v", err)
		}
		wantEvent(t, e.lastEvent(t, e.acct.ID, before), e.admin, v1, roster.ActionUserUpdated, e.clock.Now(), map[string]any{
			"roles_added": roles(roster.RoleAdmin), "roles_removed": roles(roster.RoleCommunicationManager)})

		// A deadline; the audit event records both ends.
		before = e.auditIDs(t, e.acct.ID)
		until := e.clock.Now().Add(7 * 24 * time.Hour)
		v2, err := e.svc.UpdateUser(e.ctx, e.admin, e.acct.ID, u.ID, roster.UpdateInput{AccessUntil: &until}, `W/`+v1.ETag())
		if err != nil {
			t.Fatalf("UpdateUser(weak If-Match) = %v", err)
		}
		wantEvent(t, e.lastEvent(t, e.acct.ID, before), e.admin, v2, roster.ActionUserUpdated, e.clock.Now(), map[string]any{
			"access_until_from": nil, "access_until_to": until.Format(time.RFC3339)})
		if v2.ETag() == v1.ETag() {
			t.Errorf("ETag unchanged after a change: %s", v2.ETag())
		}

		// A stale If-Match is refused and changes nothing.
		for _, stale := range []string{u.ETag(), v1.ETag(), `"999"`, `W/` + u.ETag(), "garbage"} {
			snap := e.snapshot(t, e.acct.ID)
			_, err = e.svc.UpdateUser(e.ctx, e.admin, e.acct.ID, u.ID, roster.UpdateInput{Roles: new(roles(roster.RoleSupport))}, stale)
			wantError(t, err, roster.CodePrecondition)
			e.unchanged(t, snap, fmt.Sprintf("UpdateUser(If-Match %s)", stale))
		}
		// "*", a list holding the current tag, or no If-Match at all pass.
		for i, ifMatch := range []string{"*", `"999", ` + v2.ETag(), ""} {
			r := roles(roster.RoleSupport)
			if i%2 == 1 {
				r = roles(roster.RoleSupport, roster.RoleCommunicationManager)
			}
			cur := e.user(t, e.acct.ID, u.ID)
			if ifMatch != "*" && ifMatch != "" {
				ifMatch = `"999", ` + cur.ETag()
			}
			got, err := e.svc.UpdateUser(e.ctx, e.admin, e.acct.ID, u.ID, roster.UpdateInput{Roles: &r}, ifMatch)
			if err != nil {
				t.Fatalf("UpdateUser(If-Match %q) = %v", ifMatch, err)
			}
			if got.ETag() == cur.ETag() {
				t.Errorf("ETag unchanged after a change: %s", got.ETag())
			}
		}

		// An update that changes nothing writes no event and keeps the version.
		cur := e.user(t, e.acct.ID, u.ID)
		snap := e.snapshot(t, e.acct.ID)
		got, err := e.svc.UpdateUser(e.ctx, e.admin, e.acct.ID, u.ID, roster.UpdateInput{Roles: new(cur.Roles.IDs()), AccessUntil: new(cur.AccessUntil)}, cur.ETag())
		if err != nil {
			t.Fatalf("UpdateUser(no change) = %v", err)
		}
		if got.Version != cur.Version {
			t.Errorf("UpdateUser(no change) version %d → %d", cur.Version, got.Version)
		}
		if ids := e.auditIDs(t, e.acct.ID); !slices.Equal(ids, snap.Audit) {
			t.Errorf("UpdateUser(no change) wrote an audit event")
		}
	})
}

// --- Revoke, restore, resend, delete -----------------------------------------

func TestRevokeUserValidation(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		in     roster.RevokeInput
		fields []string
	}{
		{"reason missing", roster.RevokeInput{}, []string{"reason"}},
		{"reason unknown", roster.RevokeInput{Reason: "bored"}, []string{"reason"}},
		{"reason wrong case", roster.RevokeInput{Reason: "Other", Note: "x"}, []string{"reason"}},
		{"other without note", roster.RevokeInput{Reason: roster.ReasonOther}, []string{"note"}},
		{"other with a blank note", roster.RevokeInput{Reason: roster.ReasonOther, Note: " \n\t "}, []string{"note"}},
		{"note 501 characters", roster.RevokeInput{Reason: roster.ReasonOther, Note: strings.Repeat("ä", 501)}, []string{"note"}},
		{"note with NUL", roster.RevokeInput{Reason: roster.ReasonOther, Note: "left\x00"}, []string{"note"}},
		{"note with tab", roster.RevokeInput{Reason: roster.ReasonSecurityPrivacy, Note: "a\tb"}, []string{"note"}},
		{"note invalid UTF-8", roster.RevokeInput{Reason: roster.ReasonOther, Note: "bad \xff"}, []string{"note"}},
		{"unknown reason and bad note", roster.RevokeInput{Reason: "x", Note: "\x1b[31m"}, []string{"reason", "note"}},
		{"issue resolved", roster.RevokeInput{Reason: roster.ReasonIssueResolved}, nil},
		{"security with a note", roster.RevokeInput{Reason: roster.ReasonSecurityPrivacy, Note: "Laptop stolen."}, nil},
		{"other with a multi-line note", roster.RevokeInput{Reason: roster.ReasonOther, Note: "Left the company.\nTicket 42."}, nil},
		{"note 500 characters", roster.RevokeInput{Reason: roster.ReasonOther, Note: strings.Repeat("ä", 500)}, nil},
	}
	testdb.Each(t, func(t *testing.T, s roster.Store) {
		e := newEnv(t, s)
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				u, _ := e.member(t, e.tenant, roles(roster.RoleSupport))
				before := e.snapshot(t, e.acct.ID)
				got, err := e.svc.RevokeUser(e.ctx, e.admin, e.acct.ID, u.ID, tt.in)
				if tt.fields != nil {
					wantError(t, err, roster.CodeInvalid, tt.fields...)
					e.unchanged(t, before, "a refused revoke")
					return
				}
				if err != nil {
					t.Fatalf("RevokeUser = %v", err)
				}
				details := map[string]any{"reason": tt.in.Reason}
				if note := strings.TrimSpace(tt.in.Note); note != "" {
					details["note"] = note
				}
				wantEvent(t, e.lastEvent(t, e.acct.ID, before.Audit), e.admin, got, roster.ActionUserRevoked, e.clock.Now(), details)
				stored := e.user(t, e.acct.ID, u.ID)
				if stored.ETag() == u.ETag() {
					t.Errorf("ETag unchanged by a revoke: %s", u.ETag())
				}
				if stored.Status != roster.StatusInactive || stored.Roles != u.Roles || stored.RevokeReason != tt.in.Reason ||
					!stored.RevokedAt.Equal(e.clock.Now()) {
					t.Errorf("revoked user = %+v, want inactive with the same roles and the reason", stored)
				}
			})
		}
	})
}

func TestStatusTransitions(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, s roster.Store) {
		e := newEnv(t, s)
		invited := e.invite(t, e.tenant)
		active, _ := e.member(t, e.tenant, roles(roster.RoleSupport))
		inactive, _ := e.member(t, e.tenant, roles(roster.RoleSupport))
		if _, err := e.svc.RevokeUser(e.ctx, e.admin, e.acct.ID, inactive.ID, roster.RevokeInput{Reason: roster.ReasonIssueResolved}); err != nil {
			t.Fatalf("RevokeUser = %v", err)
		}
		revoke := func(u *roster.User) error {
			_, err := e.svc.RevokeUser(e.ctx, e.admin, e.acct.ID, u.ID, roster.RevokeInput{Reason: roster.ReasonIssueResolved})
			return err
		}
		restore := func(u *roster.User) error { _, err := e.svc.RestoreUser(e.ctx, e.admin, e.acct.ID, u.ID); return err }
		resend := func(u *roster.User) error {
			_, err := e.svc.ResendInvitation(e.ctx, e.admin, e.acct.ID, u.ID)
			return err
		}
		refused := []struct {
			op   string
			fn   func(*roster.User) error
			user *roster.User
		}{
			{"revoke", revoke, invited},
			{"revoke", revoke, inactive},
			{"restore", restore, invited},
			{"restore", restore, active},
			{"resend", resend, active},
			{"resend", resend, inactive},
		}
		for _, tt := range refused {
			before := e.snapshot(t, e.acct.ID)
			err := tt.fn(tt.user)
			if roster.ErrorCode(err) != roster.CodeConflict {
				t.Errorf("%s of a user in %s = %v, want conflict", tt.op, e.user(t, e.acct.ID, tt.user.ID).Status, err)
			}
			e.unchanged(t, before, tt.op+" in the wrong status")
		}

		// Restore brings back the same roles, a new ETag and one event.
		before := e.auditIDs(t, e.acct.ID)
		etag := e.user(t, e.acct.ID, inactive.ID).ETag()
		got, err := e.svc.RestoreUser(e.ctx, e.admin, e.acct.ID, inactive.ID)
		if err != nil {
			t.Fatalf("RestoreUser = %v", err)
		}
		if got.ETag() == etag {
			t.Errorf("ETag unchanged by a restore: %s", etag)
		}
		if got.Status != roster.StatusActive || got.Roles != inactive.Roles || !got.RevokedAt.IsZero() || got.RevokeReason != "" {
			t.Errorf("restored user = %+v", got)
		}
		wantEvent(t, e.lastEvent(t, e.acct.ID, before), e.admin, got, roster.ActionUserRestored, e.clock.Now(), nil)
	})
}

func TestResendInvitation(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, s roster.Store) {
		e := newEnv(t, s)
		t0 := e.clock.Now()
		u := e.invite(t, e.tenant)
		etag := u.ETag()
		// The invitation itself and four resends: five in the hour.
		for i := 1; i <= 4; i++ {
			e.clock.Advance(time.Minute)
			before := e.auditIDs(t, e.acct.ID)
			got, err := e.svc.ResendInvitation(e.ctx, e.admin, e.acct.ID, u.ID)
			if err != nil {
				t.Fatalf("resend %d = %v", i, err)
			}
			if got.ETag() == etag {
				t.Errorf("resend %d kept the ETag %s", i, etag)
			}
			etag = got.ETag()
			wantEvent(t, e.lastEvent(t, e.acct.ID, before), e.admin, got, roster.ActionInvitationResent, e.clock.Now(), nil)
			outbox, invitations := e.mail(t, u)
			if len(invitations) != i+1 || len(outbox) != i+1 {
				t.Fatalf("after resend %d: %d invitations, %d outbox messages; want %d of each", i, len(invitations), len(outbox), i+1)
			}
			// Only the newest link lives, and the newest message carries it.
			for j, inv := range invitations {
				want := "superseded"
				if j == len(invitations)-1 {
					want = "live"
				}
				if !strings.HasSuffix(inv, " "+want) {
					t.Errorf("after resend %d: invitation %d is %q, want %s", i, j, inv, want)
				}
			}
			newest := strings.Fields(invitations[len(invitations)-1])[0]
			if !slices.Contains(outbox, roster.MailInvitation+" "+newest+" "+u.Email) {
				t.Errorf("after resend %d: outbox %v has no message for invitation %s", i, outbox, newest)
			}
		}

		e.clock.Advance(time.Minute)
		before := e.snapshot(t, e.acct.ID)
		_, err := e.svc.ResendInvitation(e.ctx, e.admin, e.acct.ID, u.ID)
		wantError(t, err, roster.CodeRateLimited)
		var re *roster.Error
		// The next send is allowed an hour after the first of the window.
		wantRetry := int(t0.Add(time.Hour).Sub(e.clock.Now()) / time.Second)
		if !errors.As(err, &re) || re.RetryAfter != wantRetry {
			t.Errorf("rate-limited error = %v; want RetryAfter %d seconds", err, wantRetry)
		}
		e.unchanged(t, before, "a rate-limited resend")

		// An hour after the first invitation, it no longer counts.
		e.clock.Advance(t0.Add(time.Hour + time.Second).Sub(e.clock.Now()))
		if _, err := e.svc.ResendInvitation(e.ctx, e.admin, e.acct.ID, u.ID); err != nil {
			t.Fatalf("resend after the window moved = %v", err)
		}
		_, err = e.svc.ResendInvitation(e.ctx, e.admin, e.acct.ID, u.ID)
		wantError(t, err, roster.CodeRateLimited)

		// The limit is per user.
		other := e.invite(t, e.tenant)
		if _, err := e.svc.ResendInvitation(e.ctx, e.admin, e.acct.ID, other.ID); err != nil {
			t.Errorf("resend to another user = %v", err)
		}
	})
}

func TestDeleteUser(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, s roster.Store) {
		e := newEnv(t, s)
		u, _ := e.member(t, e.tenant, roles(roster.RoleSupport, roster.RoleAdmin))
		_, secret1, err := e.svc.CreateAPIKey(e.ctx, roster.OperatorActor(), e.acct.ID, u.Email, "ci")
		if err != nil {
			t.Fatalf("CreateAPIKey = %v", err)
		}
		k2, secret2, err := e.svc.CreateAPIKey(e.ctx, roster.OperatorActor(), e.acct.ID, u.Email, "deploy")
		if err != nil {
			t.Fatalf("CreateAPIKey = %v", err)
		}
		d, err := e.svc.User(e.ctx, e.admin, e.acct.ID, u.ID)
		if err != nil || d.ActiveAPIKeys != 2 {
			t.Fatalf("User = %+v, %v; want 2 active API keys", d, err)
		}
		for _, secret := range []string{secret1, secret2} {
			if _, err := e.svc.AuthenticateAPIKey(e.ctx, secret, "192.0.2.1"); err != nil {
				t.Fatalf("AuthenticateAPIKey before delete = %v", err)
			}
		}

		before := e.auditIDs(t, e.acct.ID)
		e.clock.Advance(time.Second)
		if err := e.svc.DeleteUser(e.ctx, e.admin, e.acct.ID, u.ID); err != nil {
			t.Fatalf("DeleteUser = %v", err)
		}
		// The audit event keeps the name and email of the deleted user.
		wantEvent(t, e.lastEvent(t, e.acct.ID, before), e.admin, u, roster.ActionUserDeleted, e.clock.Now(), map[string]any{
			"roles": u.Roles.IDs(), "status": roster.StatusActive, "api_keys_deleted": 2})
		for _, secret := range []string{secret1, secret2} {
			_, err := e.svc.AuthenticateAPIKey(e.ctx, secret, "192.0.2.1")
			wantError(t, err, roster.CodeUnauthorized)
		}
		if _, err := e.raw.APIKeyByHash(e.ctx, k2.Hash); roster.ErrorCode(err) != roster.CodeNotFound {
			t.Errorf("APIKeyByHash after delete = %v, want not found", err)
		}
		_, err = e.svc.User(e.ctx, e.admin, e.acct.ID, u.ID)
		wantError(t, err, roster.CodeNotFound)
		// Deleted twice: not found, nothing changes.
		snap := e.snapshot(t, e.acct.ID)
		wantError(t, e.svc.DeleteUser(e.ctx, e.admin, e.acct.ID, u.ID), roster.CodeNotFound)
		e.unchanged(t, snap, "a second DeleteUser")
		// The address can be invited again.
		e.invite(t, e.tenant, func(in *roster.InviteInput) { in.Email = u.Email })
	})
}

func TestAPIKeysFollowTheUser(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, s roster.Store) {
		e := newEnv(t, s)
		u, _ := e.member(t, e.tenant, roles(roster.RoleSupport))
		_, secret, err := e.svc.CreateAPIKey(e.ctx, roster.OperatorActor(), e.acct.ID, strings.ToUpper(u.Email), "ci")
		if err != nil {
			t.Fatalf("CreateAPIKey = %v", err)
		}
		auth := func() error { _, err := e.svc.AuthenticateAPIKey(e.ctx, secret, "192.0.2.1"); return err }
		a, err := e.svc.AuthenticateAPIKey(e.ctx, secret, "192.0.2.1")
		if err != nil {
			t.Fatalf("AuthenticateAPIKey = %v", err)
		}
		if a.UserID != u.ID || a.AccountID != e.acct.ID || a.Roles != u.Roles || a.IP != "192.0.2.1" {
			t.Errorf("actor = %+v, want the key's creator", a)
		}
		if _, err := e.svc.RevokeUser(e.ctx, e.admin, e.acct.ID, u.ID, roster.RevokeInput{Reason: roster.ReasonSecurityPrivacy}); err != nil {
			t.Fatalf("RevokeUser = %v", err)
		}
		wantError(t, auth(), roster.CodeUnauthorized)
		if _, err := e.svc.RestoreUser(e.ctx, e.admin, e.acct.ID, u.ID); err != nil {
			t.Fatalf("RestoreUser = %v", err)
		}
		if err := auth(); err != nil {
			t.Errorf("AuthenticateAPIKey after restore = %v", err)
		}
		// An access deadline stops the keys when it passes.
		if _, err := e.svc.UpdateUser(e.ctx, e.admin, e.acct.ID, u.ID, roster.UpdateInput{AccessUntil: new(e.clock.Now().Add(time.Hour))}, ""); err != nil {
			t.Fatalf("UpdateUser = %v", err)
		}
		if err := auth(); err != nil {
			t.Errorf("AuthenticateAPIKey before the deadline = %v", err)
		}
		e.clock.Advance(time.Hour)
		wantError(t, auth(), roster.CodeUnauthorized)

		// Malformed keys never reach the store.
		for _, bad := range []string{"", secret[:len(secret)-1], " " + secret, strings.ToUpper(secret), roster.NewAPIKeySecret()} {
			wantError(t, func() error { _, err := e.svc.AuthenticateAPIKey(e.ctx, bad, ""); return err }(), roster.CodeUnauthorized)
		}
	})
}

func TestCreateAPIKeyValidation(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, s roster.Store) {
		e := newEnv(t, s)
		u, _ := e.member(t, e.tenant, roles(roster.RoleSupport))
		invited := e.invite(t, e.tenant)
		revoked, _ := e.member(t, e.tenant, roles(roster.RoleSupport))
		if _, err := e.svc.RevokeUser(e.ctx, e.admin, e.acct.ID, revoked.ID, roster.RevokeInput{Reason: roster.ReasonIssueResolved}); err != nil {
			t.Fatal(err)
		}
		_, supportActor := e.member(t, e.tenant, roles(roster.RoleSupport))
		other := e.newTenant(t)
		tests := []struct {
			name   string
			actor  *roster.Actor
			acct   string
			email  string
			key    string
			code   string
			fields []string
		}{
			{"name empty", roster.OperatorActor(), e.acct.ID, u.Email, "", roster.CodeInvalid, []string{"name"}},
			{"name whitespace", roster.OperatorActor(), e.acct.ID, u.Email, " \t ", roster.CodeInvalid, []string{"name"}},
			{"name 101 characters", roster.OperatorActor(), e.acct.ID, u.Email, strings.Repeat("k", 101), roster.CodeInvalid, []string{"name"}},
			{"name with newline", roster.OperatorActor(), e.acct.ID, u.Email, "ci\nkey", roster.CodeInvalid, []string{"name"}},
			{"name invalid UTF-8", roster.OperatorActor(), e.acct.ID, u.Email, "ci \xff", roster.CodeInvalid, []string{"name"}},
			{"email bad", roster.OperatorActor(), e.acct.ID, "not-an-email", "ci", roster.CodeInvalid, []string{"user_email"}},
			{"name and email bad", roster.OperatorActor(), e.acct.ID, "", "", roster.CodeInvalid, []string{"name", "user_email"}},
			{"user missing", roster.OperatorActor(), e.acct.ID, "nobody@acme.example", "ci", roster.CodeNotFound, nil},
			{"user invited", roster.OperatorActor(), e.acct.ID, invited.Email, "ci", roster.CodeConflict, nil},
			{"user inactive", roster.OperatorActor(), e.acct.ID, revoked.Email, "ci", roster.CodeConflict, nil},
			{"an Admin, for another user", e.admin, e.acct.ID, u.Email, "ci", roster.CodeForbidden, nil},
			{"actor without api_keys.manage", supportActor, e.acct.ID, u.Email, "ci", roster.CodeForbidden, nil},
			{"actor of another account", other.admin, e.acct.ID, u.Email, "ci", roster.CodeNotFound, nil},
			{"operator, malformed account", roster.OperatorActor(), "nope", u.Email, "ci", roster.CodeNotFound, nil},
			{"operator, missing account", roster.OperatorActor(), roster.NewID(start), u.Email, "ci", roster.CodeNotFound, nil},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				before := e.snapshot(t, e.acct.ID)
				_, _, err := e.svc.CreateAPIKey(e.ctx, tt.actor, tt.acct, tt.email, tt.key)
				wantError(t, err, tt.code, tt.fields...)
				e.unchanged(t, before, "a refused CreateAPIKey")
			})
		}
		t.Run("valid", func(t *testing.T) {
			before := e.auditIDs(t, e.acct.ID)
			op := roster.OperatorActor()
			k, secret, err := e.svc.CreateAPIKey(e.ctx, op, e.acct.ID, " "+u.Email+" ", "  Déploiement  ")
			if err != nil {
				t.Fatalf("CreateAPIKey = %v", err)
			}
			if k.Name != "Déploiement" || k.UserID != u.ID || !roster.CheckAPIKeyFormat(secret) || k.Hint != secret[len(secret)-4:] {
				t.Errorf("key = %+v", k)
			}
			wantEvent(t, e.lastEvent(t, e.acct.ID, before), op, u, roster.ActionAPIKeyCreated, e.clock.Now(),
				map[string]any{"key_id": k.ID, "name": "Déploiement"})
		})
	})
}

// --- Accounts ---------------------------------------------------------------

func TestCreateAccountValidation(t *testing.T) {
	t.Parallel()
	valid := roster.CreateAccountInput{Name: "Acme Ltd", AdminEmail: "root@acme.example", AdminFirstName: "Ada", AdminLastName: "Lovelace"}
	tests := []struct {
		name   string
		in     func(in *roster.CreateAccountInput)
		fields []string
	}{
		{"name empty", func(in *roster.CreateAccountInput) { in.Name = "" }, []string{"name"}},
		{"name whitespace", func(in *roster.CreateAccountInput) { in.Name = "  \t " }, []string{"name"}},
		{"name 101 characters", func(in *roster.CreateAccountInput) { in.Name = strings.Repeat("ß", 101) }, []string{"name"}},
		{"name control character", func(in *roster.CreateAccountInput) { in.Name = "Acme\x00" }, []string{"name"}},
		{"name newline", func(in *roster.CreateAccountInput) { in.Name = "Acme\nLtd" }, []string{"name"}},
		{"name invalid UTF-8", func(in *roster.CreateAccountInput) { in.Name = "Acme \xff" }, []string{"name"}},
		{"admin first name short", func(in *roster.CreateAccountInput) { in.AdminFirstName = "Al" }, []string{"admin_first_name"}},
		{"admin last name tab", func(in *roster.CreateAccountInput) { in.AdminLastName = "Love\tlace" }, []string{"admin_last_name"}},
		{"admin email display name", func(in *roster.CreateAccountInput) { in.AdminEmail = "Ada <ada@acme.example>" }, []string{"admin_email"}},
		{"admin email missing", func(in *roster.CreateAccountInput) { in.AdminEmail = "" }, []string{"admin_email"}},
		{"everything bad", func(in *roster.CreateAccountInput) {
			*in = roster.CreateAccountInput{Name: "", AdminEmail: "x", AdminFirstName: "", AdminLastName: "\xff"}
		}, []string{"name", "admin_email", "admin_first_name", "admin_last_name"}},
	}
	testdb.Each(t, func(t *testing.T, s roster.Store) {
		e := newEnv(t, s)
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				in := valid
				tt.in(&in)
				commits := e.store.commits.Load()
				hashed := false
				_, _, err := e.svc.CreateAccount(e.ctx, in, func(p string) (string, error) { hashed = true; return fakeHash(p) })
				wantError(t, err, roster.CodeInvalid, tt.fields...)
				if n := e.store.commits.Load(); n != commits {
					t.Errorf("a refused CreateAccount committed %d transactions", n-commits)
				}
				if hashed {
					t.Errorf("a refused CreateAccount hashed the password")
				}
			})
		}
		t.Run("name 100 characters, invited admin", func(t *testing.T) {
			in := valid
			in.Name = "  " + strings.Repeat("ß", 100) + " "
			acct, admin, err := e.svc.CreateAccount(e.ctx, in, fakeHash)
			if err != nil {
				t.Fatalf("CreateAccount = %v", err)
			}
			if acct.Name != strings.Repeat("ß", 100) || admin.Status != roster.StatusInvited || admin.Roles != roster.NewRoleSet(roster.RoleAdmin) {
				t.Errorf("CreateAccount = %+v, %+v", acct, admin)
			}
			outbox, invitations := e.mail(t, admin)
			if len(outbox) != 1 || len(invitations) != 1 {
				t.Errorf("invited first Admin: outbox %v, invitations %v; want one of each", outbox, invitations)
			}
			ids := e.auditIDs(t, acct.ID)
			if len(ids) != 1 {
				t.Fatalf("audit log of a new account = %v, want one event", ids)
			}
			wantEvent(t, e.lastEvent(t, acct.ID, nil), roster.OperatorActor(), admin, roster.ActionAccountCreated, e.clock.Now(),
				map[string]any{"name": acct.Name, "admin_status": roster.StatusInvited})
		})
		t.Run("active admin with a password", func(t *testing.T) {
			in := valid
			in.AdminPassword = "pw"
			acct, admin, err := e.svc.CreateAccount(e.ctx, in, fakeHash)
			if err != nil {
				t.Fatalf("CreateAccount = %v", err)
			}
			if admin.Status != roster.StatusActive || admin.IdentityID == "" || admin.JoinedAt.IsZero() {
				t.Errorf("first Admin = %+v, want active with an identity", admin)
			}
			if got := e.user(t, acct.ID, admin.ID); got.IdentityID != admin.IdentityID {
				t.Errorf("stored identity = %q, want %q", got.IdentityID, admin.IdentityID)
			}
			ident, err := e.raw.Identity(e.ctx, admin.IdentityID)
			if err != nil || ident.PasswordHash != "test-hash:pw" || ident.EmailKey != roster.CanonicalEmail(in.AdminEmail) {
				t.Errorf("Identity(%s) = %+v, %v; want the hash of the password", admin.IdentityID, ident, err)
			}
		})
	})
}

func TestUpdateAccount(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		in     roster.UpdateAccountInput
		fields []string
	}{
		{"enable unknown role", roster.UpdateAccountInput{EnableRoles: roles("ghost")}, []string{"enable_role"}},
		{"enable a built-in role", roster.UpdateAccountInput{EnableRoles: roles(roster.RoleAdmin)}, []string{"enable_role"}},
		{"enable expert", roster.UpdateAccountInput{EnableRoles: roles(roster.RoleExpert)}, []string{"enable_role"}},
		{"disable a built-in role", roster.UpdateAccountInput{DisableRoles: roles(roster.RoleSupport)}, []string{"disable_role"}},
		{"enable and disable at once", roster.UpdateAccountInput{EnableRoles: roles(roster.RoleWhatsAppOnly), DisableRoles: roles(roster.RoleWhatsAppOnly)}, []string{"disable_role"}},
		{"domain with a space", roster.UpdateAccountInput{AllowedDomains: []string{"acme example"}}, []string{"allowed_domain"}},
		{"domain without a dot", roster.UpdateAccountInput{AllowedDomains: []string{"localhost"}}, []string{"allowed_domain"}},
		{"domain empty", roster.UpdateAccountInput{AllowedDomains: []string{""}}, []string{"allowed_domain"}},
		{"domain hyphen-led", roster.UpdateAccountInput{AllowedDomains: []string{"-acme.example"}}, []string{"allowed_domain"}},
		{"domain as an email", roster.UpdateAccountInput{AllowedDomains: []string{"ada@acme.example"}}, []string{"allowed_domain"}},
		{"domain with a newline", roster.UpdateAccountInput{AllowedDomains: []string{"acme.example\nevil.example"}}, []string{"allowed_domain"}},
		{"every field bad", roster.UpdateAccountInput{EnableRoles: roles("ghost"), DisableRoles: roles(roster.RoleAdmin), AllowedDomains: []string{"x"}},
			[]string{"enable_role", "disable_role", "allowed_domain"}},
	}
	testdb.Each(t, func(t *testing.T, s roster.Store) {
		e := newEnv(t, s)
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				before := e.snapshot(t, e.acct.ID)
				_, err := e.svc.UpdateAccount(e.ctx, e.acct.ID, tt.in)
				wantError(t, err, roster.CodeInvalid, tt.fields...)
				e.unchanged(t, before, "a refused UpdateAccount")
			})
		}
		t.Run("missing account", func(t *testing.T) {
			for _, id := range []string{roster.NewID(start), "nope", ""} {
				_, err := e.svc.UpdateAccount(e.ctx, id, roster.UpdateAccountInput{EnableRoles: roles(roster.RoleWhatsAppOnly)})
				wantError(t, err, roster.CodeNotFound)
			}
		})
		t.Run("valid and audited", func(t *testing.T) {
			before := e.auditIDs(t, e.acct.ID)
			a, err := e.svc.UpdateAccount(e.ctx, e.acct.ID, roster.UpdateAccountInput{
				EnableRoles: roles(roster.RoleWhatsAppOnly, roster.RoleNumbersReadOnly), AllowedDomains: []string{" @Acme.Example ", "acme.example", "bücher.example"}})
			if err != nil {
				t.Fatalf("UpdateAccount = %v", err)
			}
			want := []string{"acme.example", "bücher.example"}
			if !slices.Equal(a.AllowedDomains, want) || a.EnabledRoles != roster.AdditionalRoles {
				t.Errorf("UpdateAccount = %+v, want domains %v and both additional roles", a, want)
			}
			if stored, _ := e.raw.Account(e.ctx, e.acct.ID); !slices.Equal(stored.AllowedDomains, want) || stored.EnabledRoles != roster.AdditionalRoles {
				t.Errorf("stored account = %+v", stored)
			}
			ev := e.lastEvent(t, e.acct.ID, before)
			if ev.Action != roster.ActionAccountUpdated || ev.ActorID != "" || ev.ActorName != "Operator" {
				t.Errorf("audit event = %+v", ev)
			}
			if d := cmp.Diff(normDetails(map[string]any{"enabled_roles_from": []string{}, "enabled_roles_to": roles(roster.RoleWhatsAppOnly, roster.RoleNumbersReadOnly),
				"allowed_domains_from": nil, "allowed_domains_to": want}), normDetails(ev.Details), cmpopts.EquateEmpty()); d != "" {
				t.Errorf("audit details (-want +got):\n%s", d)
			}
		})
		t.Run("disabling a role in use", func(t *testing.T) {
			e.invite(t, e.tenant, func(in *roster.InviteInput) { in.Roles = roles(roster.RoleNumbersReadOnly) })
			before := e.snapshot(t, e.acct.ID)
			_, err := e.svc.UpdateAccount(e.ctx, e.acct.ID, roster.UpdateAccountInput{DisableRoles: roles(roster.RoleNumbersReadOnly)})
			wantError(t, err, roster.CodeConflict)
			e.unchanged(t, before, "disabling a role in use")
			// A role nobody holds can go.
			a, err := e.svc.UpdateAccount(e.ctx, e.acct.ID, roster.UpdateAccountInput{DisableRoles: roles(roster.RoleWhatsAppOnly), ClearAllowedDomains: true})
			if err != nil {
				t.Fatalf("UpdateAccount = %v", err)
			}
			if a.EnabledRoles != roster.NewRoleSet(roster.RoleNumbersReadOnly) || len(a.AllowedDomains) != 0 {
				t.Errorf("UpdateAccount = %+v", a)
			}
		})
	})
}

// --- Authorization ----------------------------------------------------------

// operations lists every service call that acts on an account's users, as
// an actor calling it on accountID and userID.
func operations(e *env) map[string]func(actor *roster.Actor, accountID, userID string) error {
	return map[string]func(actor *roster.Actor, accountID, userID string) error{
		"InviteUser": func(a *roster.Actor, acct, _ string) error {
			_, err := e.svc.InviteUser(e.ctx, a, acct, roster.InviteInput{FirstName: "New", LastName: "Person",
				Email: fmt.Sprintf("new%d@acme.example", seq.Add(1)), Roles: roles(roster.RoleSupport)})
			return err
		},
		"ListUsers": func(a *roster.Actor, acct, _ string) error {
			_, err := e.svc.ListUsers(e.ctx, a, acct, roster.ListQuery{Sort: roster.Sort{Field: roster.SortName}, Limit: 10})
			return err
		},
		"User": func(a *roster.Actor, acct, id string) error { _, err := e.svc.User(e.ctx, a, acct, id); return err },
		"UserPermissions": func(a *roster.Actor, acct, id string) error {
			_, err := e.svc.UserPermissions(e.ctx, a, acct, id)
			return err
		},
		"UpdateUser": func(a *roster.Actor, acct, id string) error {
			_, err := e.svc.UpdateUser(e.ctx, a, acct, id, roster.UpdateInput{Roles: new(roles(roster.RoleCommunicationManager))}, "")
			return err
		},
		"RevokeUser": func(a *roster.Actor, acct, id string) error {
			_, err := e.svc.RevokeUser(e.ctx, a, acct, id, roster.RevokeInput{Reason: roster.ReasonIssueResolved})
			return err
		},
		"RestoreUser": func(a *roster.Actor, acct, id string) error {
			_, err := e.svc.RestoreUser(e.ctx, a, acct, id)
			return err
		},
		"ResendInvitation": func(a *roster.Actor, acct, id string) error {
			_, err := e.svc.ResendInvitation(e.ctx, a, acct, id)
			return err
		},
		"DeleteUser": func(a *roster.Actor, acct, id string) error { return e.svc.DeleteUser(e.ctx, a, acct, id) },
		"AuditEvents": func(a *roster.Actor, acct, _ string) error {
			_, err := e.svc.AuditEvents(e.ctx, a, acct, roster.AuditQuery{Limit: 10})
			return err
		},
		"CreateAPIKey": func(a *roster.Actor, acct, _ string) error {
			_, _, err := e.svc.CreateAPIKey(e.ctx, a, acct, e.adminUser.Email, "key")
			return err
		},
	}
}

func TestForbiddenWithoutTeamManage(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, s roster.Store) {
		e := newEnv(t, s)
		target, _ := e.member(t, e.tenant, roles(roster.RoleSupport))
		invited := e.invite(t, e.tenant)
		for _, r := range [][]roster.RoleID{
			roles(roster.RoleSupport),
			roles(roster.RoleCommunicationManager, roster.RoleSupport),
			roles(roster.RoleExpert),
		} {
			self, actor := e.member(t, e.tenant, r, func(in *roster.InviteInput) {
				in.Email = fmt.Sprintf("staff%d@%s", seq.Add(1), staffDomain)
				in.AccessUntil = new(e.clock.Now().Add(24 * time.Hour))
			})
			for name, op := range operations(e) {
				for _, id := range []string{target.ID, invited.ID} {
					before := e.snapshot(t, e.acct.ID)
					wantError(t, op(actor, e.acct.ID, id), roster.CodeForbidden)
					e.unchanged(t, before, fmt.Sprintf("%s by %s", name, r))
				}
			}
			// Users may read their own details and permissions.
			d, err := e.svc.User(e.ctx, actor, e.acct.ID, self.ID)
			if err != nil || d.ID != self.ID {
				t.Errorf("User(self) as %s = %v", r, err)
			}
			grants, err := e.svc.UserPermissions(e.ctx, actor, e.acct.ID, self.ID)
			if err != nil || len(grants) == 0 || slices.ContainsFunc(grants, func(g roster.Grant) bool { return g.ID == "team.manage" }) {
				t.Errorf("UserPermissions(self) as %s = %v, %v", r, grants, err)
			}
		}
	})
}

func TestOtherAccountIsNotFound(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, s roster.Store) {
		e := newEnv(t, s)
		target, _ := e.member(t, e.tenant, roles(roster.RoleSupport))
		invited := e.invite(t, e.tenant)
		other := e.newTenant(t)
		otherUser, _ := e.member(t, other, roles(roster.RoleSupport))
		missingAccount, missingUser := roster.NewID(start), roster.NewID(start)

		for name, op := range operations(e) {
			t.Run(name, func(t *testing.T) {
				// An Admin of another account: every id of this account reads
				// exactly like an account that does not exist.
				want := op(other.admin, missingAccount, missingUser)
				wantError(t, want, roster.CodeNotFound)
				for _, id := range []string{target.ID, invited.ID, e.adminUser.ID} {
					before := e.snapshot(t, e.acct.ID)
					got := op(other.admin, e.acct.ID, id)
					if d := cmp.Diff(want, got); d != "" {
						t.Errorf("%s by another account's Admin differs from a missing account (-missing +other):\n%s", name, d)
					}
					e.unchanged(t, before, name+" by another account's Admin")
				}
			})
		}

		// In their own account, a user id of another account reads exactly
		// like a missing or malformed one.
		for name, op := range operations(e) {
			if name == "InviteUser" || name == "ListUsers" || name == "AuditEvents" || name == "CreateAPIKey" {
				continue
			}
			t.Run(name+"/foreign user id", func(t *testing.T) {
				want := op(e.admin, e.acct.ID, missingUser)
				wantError(t, want, roster.CodeNotFound)
				for _, id := range []string{otherUser.ID, other.adminUser.ID, "not-a-uuid", strings.ToUpper(target.ID), ""} {
					before := e.snapshot(t, other.acct.ID)
					got := op(e.admin, e.acct.ID, id)
					if d := cmp.Diff(want, got); d != "" {
						t.Errorf("%s(%q) differs from a missing user (-missing +got):\n%s", name, id, d)
					}
					e.unchanged(t, before, name+" with another account's user id")
				}
			})
		}
	})
}

// --- The last Admin -----------------------------------------------------------

func TestLastActiveAdmin(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, s roster.Store) {
		e := newEnv(t, s)
		op := roster.OperatorActor()
		ada := e.adminUser
		// An invited Admin and an inactive Admin do not count.
		e.invite(t, e.tenant, func(in *roster.InviteInput) { in.Roles = roles(roster.RoleAdmin) })
		gone, _ := e.member(t, e.tenant, roles(roster.RoleAdmin))
		if _, err := e.svc.RevokeUser(e.ctx, e.admin, e.acct.ID, gone.ID, roster.RevokeInput{Reason: roster.ReasonIssueResolved}); err != nil {
			t.Fatalf("RevokeUser(second Admin) = %v", err)
		}
		refused := map[string]func() error{
			"revoke": func() error {
				_, err := e.svc.RevokeUser(e.ctx, op, e.acct.ID, ada.ID, roster.RevokeInput{Reason: roster.ReasonIssueResolved})
				return err
			},
			"delete": func() error { return e.svc.DeleteUser(e.ctx, op, e.acct.ID, ada.ID) },
			"remove the Admin role": func() error {
				_, err := e.svc.UpdateUser(e.ctx, op, e.acct.ID, ada.ID, roster.UpdateInput{Roles: new(roles(roster.RoleSupport))}, "")
				return err
			},
			"set a deadline": func() error {
				_, err := e.svc.UpdateUser(e.ctx, op, e.acct.ID, ada.ID, roster.UpdateInput{AccessUntil: new(e.clock.Now().Add(time.Hour))}, "")
				return err
			},
		}
		for name, fn := range refused {
			before := e.snapshot(t, e.acct.ID)
			err := fn()
			wantError(t, err, roster.CodeConflict)
			if !strings.Contains(roster.ErrorMessage(err), "only active Admin of this account without an access deadline") {
				t.Errorf("%s the last Admin: message %q does not say why", name, roster.ErrorMessage(err))
			}
			e.unchanged(t, before, name+" of the last active Admin")
		}
		// Changes that keep Admin and no deadline are fine.
		if _, err := e.svc.UpdateUser(e.ctx, op, e.acct.ID, ada.ID, roster.UpdateInput{Roles: new(roles(roster.RoleAdmin, roster.RoleSupport))}, ""); err != nil {
			t.Errorf("adding a role to the last Admin = %v", err)
		}
		// With a second active Admin, each rule lets go.
		if _, err := e.svc.RestoreUser(e.ctx, e.admin, e.acct.ID, gone.ID); err != nil {
			t.Fatalf("RestoreUser = %v", err)
		}
		if _, err := e.svc.UpdateUser(e.ctx, op, e.acct.ID, ada.ID, roster.UpdateInput{AccessUntil: new(e.clock.Now().Add(time.Hour))}, ""); err != nil {
			t.Errorf("a deadline on one of two Admins = %v", err)
		}
		if _, err := e.svc.UpdateUser(e.ctx, op, e.acct.ID, ada.ID, roster.UpdateInput{Roles: new(roles(roster.RoleSupport))}, ""); err != nil {
			t.Errorf("demoting one of two Admins = %v", err)
		}
		// Now gone is the last one.
		_, err := e.svc.RevokeUser(e.ctx, op, e.acct.ID, gone.ID, roster.RevokeInput{Reason: roster.ReasonIssueResolved})
		wantError(t, err, roster.CodeConflict)
	})
}

func TestNobodyActsOnThemselves(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, s roster.Store) {
		e := newEnv(t, s)
		_, second := e.member(t, e.tenant, roles(roster.RoleAdmin)) // so that the last-Admin rule is not what refuses
		for name, fn := range map[string]func(a *roster.Actor) error{
			"revoke": func(a *roster.Actor) error {
				_, err := e.svc.RevokeUser(e.ctx, a, e.acct.ID, a.UserID, roster.RevokeInput{Reason: roster.ReasonOther, Note: "bye"})
				return err
			},
			"delete": func(a *roster.Actor) error { return e.svc.DeleteUser(e.ctx, a, e.acct.ID, a.UserID) },
			"change own roles": func(a *roster.Actor) error {
				_, err := e.svc.UpdateUser(e.ctx, a, e.acct.ID, a.UserID, roster.UpdateInput{Roles: new(roles(roster.RoleAdmin, roster.RoleSupport))}, "")
				return err
			},
			"set own deadline": func(a *roster.Actor) error {
				_, err := e.svc.UpdateUser(e.ctx, a, e.acct.ID, a.UserID, roster.UpdateInput{AccessUntil: new(e.clock.Now().Add(time.Hour))}, "")
				return err
			},
		} {
			for _, a := range []*roster.Actor{e.admin, second} {
				before := e.snapshot(t, e.acct.ID)
				wantError(t, fn(a), roster.CodeConflict)
				e.unchanged(t, before, name+" of oneself")
			}
		}
	})
}

// TestLastAdminUnderConcurrency has two Admins act on each other at the same
// moment, many times: exactly one wins and one active Admin always remains.
func TestLastAdminUnderConcurrency(t *testing.T) {
	t.Parallel()
	ops := map[string]func(e *env, actor *roster.Actor, accountID, target string) error{
		"revoke": func(e *env, a *roster.Actor, acct, target string) error {
			_, err := e.svc.RevokeUser(e.ctx, a, acct, target, roster.RevokeInput{Reason: roster.ReasonSecurityPrivacy})
			return err
		},
		"delete": func(e *env, a *roster.Actor, acct, target string) error {
			return e.svc.DeleteUser(e.ctx, a, acct, target)
		},
		"demote": func(e *env, a *roster.Actor, acct, target string) error {
			_, err := e.svc.UpdateUser(e.ctx, a, acct, target, roster.UpdateInput{Roles: new(roles(roster.RoleSupport))}, "")
			return err
		},
		// An Admin with a deadline stops being one when it passes, so the
		// last Admin without a deadline cannot be given one either.
		"deadline": func(e *env, a *roster.Actor, acct, target string) error {
			_, err := e.svc.UpdateUser(e.ctx, a, acct, target, roster.UpdateInput{AccessUntil: new(start.Add(48 * time.Hour))}, "")
			return err
		},
	}
	pairs := [][2]string{
		{"revoke", "revoke"}, {"delete", "delete"}, {"demote", "demote"},
		{"revoke", "delete"}, {"demote", "revoke"}, {"delete", "demote"},
		{"deadline", "deadline"}, {"deadline", "revoke"}, {"deadline", "delete"},
	}
	const rounds = 8
	testdb.Each(t, func(t *testing.T, s roster.Store) {
		e := newEnv(t, s)
		for _, p := range pairs {
			t.Run(p[0]+"-"+p[1], func(t *testing.T) {
				for round := range rounds {
					tn := e.newTenant(t)
					b, bActor := e.member(t, tn, roles(roster.RoleAdmin))
					before := e.auditIDs(t, tn.acct.ID)
					actors := []*roster.Actor{tn.admin, bActor}
					targets := []string{b.ID, tn.adminUser.ID}
					errs := make([]error, 2)
					release := make(chan struct{})
					var wg sync.WaitGroup
					for i := range 2 {
						wg.Go(func() {
							<-release
							errs[i] = ops[p[i]](e, actors[i], tn.acct.ID, targets[i])
						})
					}
					close(release)
					wg.Wait()

					codes := []string{roster.ErrorCode(errs[0]), roster.ErrorCode(errs[1])}
					slices.Sort(codes)
					if !slices.Equal(codes, []string{"", roster.CodeConflict}) {
						t.Errorf("round %d: %s and %s at once = %v; want exactly one success and one conflict", round, p[0], p[1], errs)
					}
					page, err := e.raw.ListUsers(e.ctx, tn.acct.ID, roster.ListQuery{Sort: roster.Sort{Field: roster.SortName}, Limit: 10,
						Filters: []roster.Filter{{Role: roster.RoleAdmin}, {Status: roster.StatusActive}}})
					if err != nil {
						t.Fatalf("ListUsers = %v", err)
					}
					var unbounded int
					for _, u := range page.Items {
						if u.AccessUntil.IsZero() {
							unbounded++
						}
					}
					// A deadline leaves its target an active Admin until it passes.
					wantTotal := int64(1)
					if p[0] == "deadline" && errs[0] == nil || p[1] == "deadline" && errs[1] == nil {
						wantTotal = 2
					}
					if page.Total != wantTotal || len(page.Items) != int(wantTotal) || unbounded != 1 {
						t.Errorf("round %d: after %s and %s: %d active Admins (%d without a deadline), want exactly 1",
							round, p[0], p[1], page.Total, unbounded)
					}
					if got := e.auditIDs(t, tn.acct.ID); len(got) != len(before)+1 {
						t.Errorf("round %d: %d audit events written, want 1", round, len(got)-len(before))
					}
				}
			})
		}
	})
}

// --- List parameters (no database) ------------------------------------------

func TestParseListParams(t *testing.T) {
	u := &roster.User{ID: roster.NewID(start), FirstName: "Anna", LastName: "Smith", Email: "anna@example.com", Status: roster.StatusActive,
		InvitedAt: start, LastLoginAt: start.Add(time.Hour)}
	u.Keys()
	nameCursor := roster.CursorFor(roster.Sort{Field: roster.SortName}, u).Encode()
	b64 := base64URL
	tests := []struct {
		name  string
		in    roster.ListParams
		field []string
	}{
		{"q with NUL", roster.ListParams{Q: "ann\x00"}, []string{"q"}},
		{"q with newline", roster.ListParams{Q: "ann\nsmith"}, []string{"q"}},
		{"q with tab", roster.ListParams{Q: "ann\tsmith"}, []string{"q"}},
		{"q invalid UTF-8", roster.ListParams{Q: "ann\xff"}, []string{"q"}},
		{"q 255 characters", roster.ListParams{Q: strings.Repeat("ä", 255)}, []string{"q"}},
		{"filter empty", roster.ListParams{Filters: []string{""}}, []string{"filter"}},
		{"filter two parts", roster.ListParams{Filters: []string{"role:admin"}}, []string{"filter"}},
		{"filter four parts", roster.ListParams{Filters: []string{"role:is:admin:x"}}, []string{"filter"}},
		{"filter unknown criterion", roster.ListParams{Filters: []string{"name:is:anna"}}, []string{"filter"}},
		{"filter unknown condition", roster.ListParams{Filters: []string{"role:equals:admin"}}, []string{"filter"}},
		{"filter condition wrong case", roster.ListParams{Filters: []string{"role:IS:admin"}}, []string{"filter"}},
		{"filter unknown role", roster.ListParams{Filters: []string{"role:is:root"}}, []string{"filter"}},
		{"filter role by name", roster.ListParams{Filters: []string{"role:is:Admin"}}, []string{"filter"}},
		{"filter unknown status", roster.ListParams{Filters: []string{"status:is:deleted"}}, []string{"filter"}},
		{"filter UI status name", roster.ListParams{Filters: []string{"status:is:Invitation Sent"}}, []string{"filter"}},
		{"filter with spaces", roster.ListParams{Filters: []string{" role:is:admin"}}, []string{"filter"}},
		{"filter huge", roster.ListParams{Filters: []string{strings.Repeat("x", 10000)}}, []string{"filter"}},
		{"one bad filter among good", roster.ListParams{Filters: []string{"role:is:admin", "status:is:gone"}}, []string{"filter"}},
		{"21 filters", roster.ListParams{Filters: slices.Repeat([]string{"status:is:active"}, 21)}, []string{"filter"}},
		{"sort unknown", roster.ListParams{Sort: "age"}, []string{"sort"}},
		{"sort double minus", roster.ListParams{Sort: "--name"}, []string{"sort"}},
		{"sort plus", roster.ListParams{Sort: "+name"}, []string{"sort"}},
		{"sort wrong case", roster.ListParams{Sort: "Name"}, []string{"sort"}},
		{"sort two fields", roster.ListParams{Sort: "name,email"}, []string{"sort"}},
		{"sort minus only", roster.ListParams{Sort: "-"}, []string{"sort"}},
		{"limit zero", roster.ListParams{Limit: "0"}, []string{"limit"}},
		{"limit 201", roster.ListParams{Limit: "201"}, []string{"limit"}},
		{"limit negative", roster.ListParams{Limit: "-1"}, []string{"limit"}},
		{"limit word", roster.ListParams{Limit: "ten"}, []string{"limit"}},
		{"limit fraction", roster.ListParams{Limit: "1.5"}, []string{"limit"}},
		{"limit with space", roster.ListParams{Limit: " 10"}, []string{"limit"}},
		{"limit plus sign", roster.ListParams{Limit: "+10"}, []string{"limit"}},
		{"limit huge", roster.ListParams{Limit: "99999999999999999999"}, []string{"limit"}},
		{"limit hex", roster.ListParams{Limit: "0x10"}, []string{"limit"}},
		{"cursor not base64", roster.ListParams{Cursor: "!!!"}, []string{"cursor"}},
		{"cursor padded base64", roster.ListParams{Cursor: nameCursor + "=="}, []string{"cursor"}},
		{"cursor not JSON", roster.ListParams{Cursor: b64("hello")}, []string{"cursor"}},
		{"cursor JSON array", roster.ListParams{Cursor: b64(`[1,2]`)}, []string{"cursor"}},
		{"cursor null", roster.ListParams{Cursor: b64(`null`)}, []string{"cursor"}},
		{"cursor unknown field", roster.ListParams{Cursor: b64(`{"s":"name","id":"` + u.ID + `","x":1}`)}, []string{"cursor"}},
		{"cursor bad id", roster.ListParams{Cursor: b64(`{"s":"name","id":"1 OR 1=1"}`)}, []string{"cursor"}},
		{"cursor upper-case id", roster.ListParams{Cursor: b64(`{"s":"name","id":"` + strings.ToUpper(u.ID) + `"}`)}, []string{"cursor"}},
		{"cursor wrong type", roster.ListParams{Cursor: b64(`{"s":"name","i":"x","id":"` + u.ID + `"}`)}, []string{"cursor"}},
		{"cursor of another sort", roster.ListParams{Sort: "-name", Cursor: nameCursor}, []string{"cursor"}},
		{"cursor too long", roster.ListParams{Cursor: strings.Repeat("A", 4096)}, []string{"cursor"}},
		{"truncated cursor", roster.ListParams{Cursor: nameCursor[:len(nameCursor)-3]}, []string{"cursor"}},
		{"everything bad", roster.ListParams{Q: "\x00", Filters: []string{"x"}, Sort: "x", Limit: "x", Cursor: "x"},
			[]string{"q", "filter", "sort", "limit", "cursor"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q, err := roster.ParseListParams(tt.in)
			wantError(t, err, roster.CodeBadRequest, tt.field...)
			if d := cmp.Diff(roster.ListQuery{}, q); d != "" {
				t.Errorf("ParseListParams returned a query with its error:\n%s", d)
			}
		})
	}

	valid := []struct {
		name string
		in   roster.ListParams
		want roster.ListQuery
	}{
		{"defaults", roster.ListParams{}, roster.ListQuery{Sort: roster.Sort{Field: roster.SortName}, Limit: 25}},
		{"q folded and trimmed", roster.ListParams{Q: "  ÅNGSTRÖM Zoë "}, roster.ListQuery{Q: "ångström zoë", Sort: roster.Sort{Field: roster.SortName}, Limit: 25}},
		{"q whitespace only", roster.ListParams{Q: "   "}, roster.ListQuery{Sort: roster.Sort{Field: roster.SortName}, Limit: 25}},
		{"q 254 characters", roster.ListParams{Q: strings.Repeat("ä", 254)}, roster.ListQuery{Q: strings.Repeat("ä", 254), Sort: roster.Sort{Field: roster.SortName}, Limit: 25}},
		{"q an email", roster.ListParams{Q: "Anna.Smith@EXAMPLE.com"}, roster.ListQuery{Q: "anna.smith@example.com", Email: true, Sort: roster.Sort{Field: roster.SortName}, Limit: 25}},
		{"q part of an email", roster.ListParams{Q: "@example.com"}, roster.ListQuery{Q: "@example.com", Sort: roster.Sort{Field: roster.SortName}, Limit: 25}},
		{"q LIKE wildcards", roster.ListParams{Q: `50%_\`}, roster.ListQuery{Q: `50%_\`, Sort: roster.Sort{Field: roster.SortName}, Limit: 25}},
		{"filters in order", roster.ListParams{Filters: []string{"role:is_not:admin", "status:is:invited", "role:is:whatsapp_only"}},
			roster.ListQuery{Filters: []roster.Filter{{Role: roster.RoleAdmin, Not: true}, {Status: roster.StatusInvited}, {Role: roster.RoleWhatsAppOnly}},
				Sort: roster.Sort{Field: roster.SortName}, Limit: 25}},
		{"20 filters", roster.ListParams{Filters: slices.Repeat([]string{"status:is_not:inactive"}, 20)},
			roster.ListQuery{Filters: slices.Repeat([]roster.Filter{{Status: roster.StatusInactive, Not: true}}, 20), Sort: roster.Sort{Field: roster.SortName}, Limit: 25}},
		{"sort descending", roster.ListParams{Sort: "-last_login", Limit: "200"}, roster.ListQuery{Sort: roster.Sort{Field: roster.SortLastLogin, Desc: true}, Limit: 200}},
		{"sort trimmed", roster.ListParams{Sort: " invited_at ", Limit: "1"}, roster.ListQuery{Sort: roster.Sort{Field: roster.SortInvitedAt}, Limit: 1}},
		{"limit with leading zero", roster.ListParams{Limit: "007"}, roster.ListQuery{Sort: roster.Sort{Field: roster.SortName}, Limit: 7}},
		{"cursor", roster.ListParams{Cursor: nameCursor}, roster.ListQuery{Sort: roster.Sort{Field: roster.SortName}, Limit: 25,
			After: roster.CursorFor(roster.Sort{Field: roster.SortName}, u)}},
	}
	for _, tt := range valid {
		t.Run(tt.name, func(t *testing.T) {
			q, err := roster.ParseListParams(tt.in)
			if err != nil {
				t.Fatalf("ParseListParams(%+v) = %v", tt.in, err)
			}
			if d := cmp.Diff(tt.want, q); d != "" {
				t.Errorf("ParseListParams(%+v) (-want +got):\n%s", tt.in, d)
			}
		})
	}

	// Every sort's cursor survives the round trip.
	for _, f := range roster.SortFields {
		for _, desc := range []bool{false, true} {
			s := roster.Sort{Field: f, Desc: desc}
			c := roster.CursorFor(s, u)
			q, err := roster.ParseListParams(roster.ListParams{Sort: s.String(), Cursor: c.Encode()})
			if err != nil {
				t.Errorf("ParseListParams(cursor of %s) = %v", s, err)
				continue
			}
			if d := cmp.Diff(c, q.After); d != "" {
				t.Errorf("cursor of %s after the round trip (-want +got):\n%s", s, d)
			}
		}
	}
}

func base64URL(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

// FuzzParseListParams checks that no input makes ParseListParams panic,
// that every refusal is a bad request naming known parameters, and that
// every accepted query is within bounds.
func FuzzParseListParams(f *testing.F) {
	u := &roster.User{ID: roster.NewID(start), FirstName: "Anna", LastName: "Smith", Email: "anna@example.com"}
	u.Keys()
	f.Add("ann", "role:is:admin", "status:is_not:invited", "-name", "25", roster.CursorFor(roster.Sort{Field: roster.SortName, Desc: true}, u).Encode())
	f.Add("Anna@Example.com", "", "", "email", "200", "")
	f.Add("\x00", "a:b:c", "role:is", "--x", "0", "!!")
	f.Add("ä@ö.ü", "status:is:active:", ":", "last_login", "007", base64URL(`{"s":"name","id":"x"}`))
	f.Fuzz(func(t *testing.T, q, f1, f2, sort, limit, cursor string) {
		in := roster.ListParams{Q: q, Filters: []string{f1, f2}, Sort: sort, Limit: limit, Cursor: cursor}
		got, err := roster.ParseListParams(in)
		if err != nil {
			var e *roster.Error
			if !errors.As(err, &e) || e.Code != roster.CodeBadRequest || len(e.Fields) == 0 {
				t.Fatalf("ParseListParams(%+v) = %v, want a bad request naming its parameters", in, err)
			}
			for _, fe := range e.Fields {
				if !slices.Contains([]string{"q", "filter", "sort", "limit", "cursor"}, fe.Field) || fe.Message == "" {
					t.Fatalf("ParseListParams(%+v): field error %+v", in, fe)
				}
			}
			return
		}
		if got.Limit < 1 || got.Limit > roster.MaxLimit || len(got.Filters) != 2 {
			t.Fatalf("ParseListParams(%+v) = %+v: limit or filters out of bounds", in, got)
		}
		if cursor != "" && (got.After == nil || got.After.Sort != got.Sort.String() || !roster.ValidID(got.After.ID)) {
			t.Fatalf("ParseListParams(%+v) accepted cursor as %+v", in, got.After)
		}
		if strings.ContainsFunc(got.Q, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
			t.Fatalf("ParseListParams(%+v) accepted control characters in q", in)
		}
		if got.Q != roster.Fold(got.Q) {
			t.Fatalf("ParseListParams(%+v): q %q is not folded", in, got.Q)
		}
	})
}

// --- API key format (no database) ------------------------------------------

func TestAPIKeyFormat(t *testing.T) {
	key := roster.NewAPIKeySecret()
	if !roster.CheckAPIKeyFormat(key) {
		t.Fatalf("CheckAPIKeyFormat(NewAPIKeySecret()) = false for %q", key)
	}
	if !strings.HasPrefix(key, roster.KeyPrefix) || len(key) != len(roster.KeyPrefix)+58 {
		t.Errorf("key %q: want the prefix and 58 characters of base32 (256 bits and a checksum)", key)
	}
	seen := map[string]bool{}
	for range 100 {
		k := roster.NewAPIKeySecret()
		if seen[k] || !roster.CheckAPIKeyFormat(k) {
			t.Fatalf("NewAPIKeySecret repeated or produced an invalid key %q", k)
		}
		seen[k] = true
	}
	body := key[len(roster.KeyPrefix):]
	flip := func(s string, i int) string {
		b := []byte(s)
		if b[i] == 'a' {
			b[i] = 'b'
		} else {
			b[i] = 'a'
		}
		return string(b)
	}
	bad := map[string]string{
		"empty":                 "",
		"prefix only":           roster.KeyPrefix,
		"no prefix":             body,
		"wrong prefix":          "rsk_" + body,
		"upper-case prefix":     "RST_" + body,
		"upper-case body":       roster.KeyPrefix + strings.ToUpper(body),
		"truncated":             key[:len(key)-1],
		"one character longer":  key + "a",
		"leading space":         " " + key,
		"trailing space":        key + " ",
		"trailing newline":      key + "\n",
		"space inside":          key[:20] + " " + key[21:],
		"bad checksum (random)": flip(key, 10),
		"bad checksum (first)":  flip(key, len(roster.KeyPrefix)),
		"bad checksum (crc)":    flip(key, len(key)-3),
		"not base32":            key[:len(key)-2] + "1!",
		"digit outside base32":  key[:len(key)-1] + "0",
		"padded":                key[:len(key)-2] + "==",
	}
	for name, k := range bad {
		if roster.CheckAPIKeyFormat(k) {
			t.Errorf("CheckAPIKeyFormat(%s: %q) = true, want false", name, k)
		}
	}
	if h1, h2 := roster.HashSecret(key), roster.HashSecret(flip(key, 10)); len(h1) != 32 || string(h1) == string(h2) {
		t.Errorf("HashSecret: %x and %x", h1, h2)
	}
}
