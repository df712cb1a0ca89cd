package roster

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// Config holds the server configuration the service needs.
type Config struct {
	StaffDomains  []string      // email domains of operator staff, who alone may be Experts
	Secret        []byte        // derives invitation tokens; at least 32 bytes
	Clock         Clock         // nil: the system clock
	ResendLimit   int           // invitations per user per hour; 0: 5
	MaxAccessTime time.Duration // furthest access deadline ahead; 0: 90 days for Experts

	Passwords     Passwords     // hashes and checks passwords; required for sign-in
	InvitationTTL time.Duration // an invitation link lives this long from its sending; 0: 1 hour
	ResetTTL      time.Duration // a password reset link likewise; 0: 1 hour
	SetupTTL      time.Duration // the first-run setup link lives this long; 0: 1 hour
	SessionIdle   time.Duration // a session ends after this long unused; 0: 60 minutes
	SessionMax    time.Duration // and this long after sign-in in any case; 0: 24 hours
	MailQueued    func()        // called after a commit that queued email (the mail worker's Kick)
	Logger        *slog.Logger  // for work done after answering; nil: slog.Default()

	// KeyOwner finds an API key by the hash of its secret with its
	// creator, as Store.APIKeyOwner does; roster serve gives the
	// internal/authcache cache here. nil: the store, on every check.
	KeyOwner func(ctx context.Context, hash []byte) (*APIKey, *User, error)
}

// Service holds every business rule and authorization decision of Roster.
// Its methods return *Error values with the codes their comments name; any
// other error is internal.
type Service struct {
	store Store
	cfg   Config
	clock Clock
	ips   *ipLimiter

	dummyMu sync.Mutex // dummy: a hash to verify against for unknown emails
	dummy   string

	background chan struct{}  // bounds work started after answering
	bgWait     sync.WaitGroup // counts it, for Drain

	keyUses keyUses // API keys' last uses waiting to be written (keys.go)
}

// NewService returns a service over store.
func NewService(store Store, cfg Config) *Service {
	if cfg.Clock == nil {
		cfg.Clock = SystemClock{}
	}
	if cfg.ResendLimit == 0 {
		cfg.ResendLimit = 5
	}
	if cfg.MaxAccessTime == 0 {
		cfg.MaxAccessTime = 90 * 24 * time.Hour
	}
	for i, d := range cfg.StaffDomains {
		cfg.StaffDomains[i], _ = CleanDomain(d)
	}
	for _, d := range []struct {
		v   *time.Duration
		def time.Duration
	}{{&cfg.InvitationTTL, time.Hour}, {&cfg.ResetTTL, time.Hour}, {&cfg.SetupTTL, time.Hour},
		{&cfg.SessionIdle, time.Hour}, {&cfg.SessionMax, 24 * time.Hour}} {
		if *d.v <= 0 {
			*d.v = d.def
		}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &Service{store: store, cfg: cfg, clock: cfg.Clock, ips: newIPLimiter(ipBurst, ipEvery),
		background: make(chan struct{}, maxBackground)}
}

// Store returns the service's store.
func (s *Service) Store() Store { return s.store }

// Now returns the service clock's time.
func (s *Service) Now() time.Time { return s.clock.Now() }

// StaffDomains are the email domains of the operator's staff, who alone
// may hold the Expert role.
func (s *Service) StaffDomains() []string { return slices.Clone(s.cfg.StaffDomains) }

// MaxAccessTime is how far ahead an access deadline may be, for the pages
// that ask for one.
func (s *Service) MaxAccessTime() time.Duration { return s.cfg.MaxAccessTime }

// LinkLifetimes says how long the links sent by email live, for the pages
// that tell people: an invitation from its sending, a password reset, and
// the setup link from its printing.
func (s *Service) LinkLifetimes() (invitation, reset, setup time.Duration) {
	return s.cfg.InvitationTTL, s.cfg.ResetTTL, s.cfg.SetupTTL
}

// Actor is an authenticated caller: a user of one account, or the operator.
type Actor struct {
	AccountID    string
	UserID       string // "" for the operator
	Name         string
	Email        string
	Roles        RoleSet
	ExpertAccess AccessLevel // the level of the Expert role, if held
	IP           string
	Operator     bool
	// Key is the API key the actor authenticated with; nil for a session
	// or the operator. Keys it creates stay within its bounds.
	Key *APIKey
}

// OperatorActor is the platform operator acting through the CLI.
func OperatorActor() *Actor { return &Actor{Operator: true, Name: "Operator"} }

// actorOf returns the actor of a user who may act, calling from ip.
func actorOf(u *User, ip string) *Actor {
	return &Actor{AccountID: u.AccountID, UserID: u.ID, Name: u.FullName(), Email: u.Email, Roles: u.Roles,
		ExpertAccess: u.ExpertAccess, IP: ip}
}

// Access returns what the actor holds.
func (a *Actor) Access() Access { return Access{Roles: a.Roles, Expert: a.ExpertAccess} }

// Can reports whether the actor holds permission in their account: the
// union over their roles, the Expert's set chosen by the access level. The
// operator can do everything.
func (a *Actor) Can(permission string) bool {
	return a.Operator || a.Access().Can(permission)
}

func (a *Actor) can(accountID, permission string) bool {
	if a.Operator {
		return true
	}
	return a.AccountID == accountID && a.Can(permission)
}

// authorize returns CodeNotFound for an actor of another account (so another
// account's resources look missing) and CodeForbidden for a missing permission.
func (a *Actor) authorize(accountID, permission string) error {
	if a.Operator {
		return nil
	}
	if a.AccountID != accountID {
		return Errorf(CodeNotFound, "No account with this id exists.")
	}
	if !a.Can(permission) {
		return Errorf(CodeForbidden, "Your roles do not include the %q permission needed for this.", permission)
	}
	return nil
}

// CanSignIn reports whether the user may act at now: active and, if they
// have a deadline, before it.
func (u *User) CanSignIn(now time.Time) bool {
	return u.Status == StatusActive && (u.AccessUntil.IsZero() || now.Before(u.AccessUntil))
}

// AccessExpired reports whether the user's access ended by its deadline at
// now: active, but the deadline has come. The Users page shows them as
// Inactive with "Access expired".
func (u *User) AccessExpired(now time.Time) bool {
	return u.Status == StatusActive && !u.AccessUntil.IsZero() && !now.Before(u.AccessUntil)
}

// checkRoles validates a role list and the Expert's access level against
// the account and the email, recording problems under "roles",
// "access_until" and "expert_access".
func (s *Service) checkRoles(p *Problems, acct *Account, email string, ids []RoleID, accessUntil time.Time, level AccessLevel) RoleSet {
	if len(ids) == 0 {
		p.Add("roles", "Choose at least one role.")
		return 0
	}
	if len(ids) > MaxRoleCount {
		p.Add("roles", "Choose at most %d roles.", MaxRoleCount)
		return 0
	}
	var set RoleSet
	for _, id := range ids {
		bit, ok := RoleBit(id)
		switch {
		case !ok:
			p.Add("roles", "Unknown role %s: use one of admin, communication_manager, support, expert, whatsapp_only, numbers_read_only.", quoteShort(string(id)))
			continue
		case bit&AdditionalRoles != 0 && acct.EnabledRoles&bit == 0:
			r, _ := RoleByID(id)
			p.Add("roles", "The %s role is not enabled for this account; contact support to enable it.", r.Name)
			continue
		}
		set |= bit
	}
	checkLevel(p, set, level)
	if set.Has(RoleExpert) {
		if email != "" && !s.isStaff(email) {
			p.Add("roles", "The Expert role can only be given to operator staff (emails at %s).", strings.Join(s.cfg.StaffDomains, ", "))
		}
		if accessUntil.IsZero() && !p.Has("access_until") {
			p.Add("access_until", "An Expert needs an access deadline (Access Till).")
		}
	}
	return set
}

// checkLevel records under "expert_access" a level that is unknown, missing
// for an Expert, or given without the Expert role.
func checkLevel(p *Problems, roles RoleSet, level AccessLevel) {
	_, known := AccessLevelByID(level)
	switch {
	case level != "" && !known:
		p.Add("expert_access", "Unknown access level %s: use read_only or limited_write.", quoteShort(string(level)))
	case roles.Has(RoleExpert) && level == "":
		p.Add("expert_access", "An Expert needs an access level (Access level): read_only or limited_write.")
	case !roles.Has(RoleExpert) && level != "" && !p.Has("roles"):
		p.Add("expert_access", "Only an Expert has an access level; leave it out or give the Expert role.")
	}
}

// MayGive reports whether the actor may give role id, the Expert at level:
// only when they hold every permission it grants (no escalation). The
// operator may give any role. Whether the account has enabled an
// additional role is another question (Account.EnabledRoles).
func (a *Actor) MayGive(id RoleID, level AccessLevel) bool {
	return len(a.missing(id, level)) == 0
}

// missing lists the permissions of role id at level that the actor lacks.
func (a *Actor) missing(id RoleID, level AccessLevel) []string {
	if a.Operator {
		return nil
	}
	var out []string
	for _, perm := range RolePermissions(id, level) {
		if !a.Can(perm) {
			out = append(out, perm)
		}
	}
	return out
}

// checkGrant refuses a change from access from to access to when a role it
// adds grants a permission the actor does not hold, so that managing the
// team is never a way to hand out more than one may do oneself. Roles kept
// or removed do not count, except the Expert whose access level changes:
// that counts as giving the Expert role at the new level. The operator may
// give any role. It names the first such role and what it would grant, and
// comes before the other problems of the request: fixing those would not
// make it allowed.
func checkGrant(actor *Actor, from, to Access) error {
	added := to.Roles &^ from.Roles
	if to.Roles.Has(RoleExpert) && from.Roles.Has(RoleExpert) && to.Expert != from.Expert {
		added |= NewRoleSet(RoleExpert)
	}
	for _, id := range added.IDs() {
		missing := actor.missing(id, to.Expert)
		name := RoleLabel(id, to.Expert)
		switch n := len(missing); {
		case n == 0:
		case n <= 4:
			return Errorf(CodeForbidden, "You cannot give the %s role: it grants %s, which you do not have.", name, strings.Join(missing, ", "))
		default:
			return Errorf(CodeForbidden, "You cannot give the %s role: it grants %s and %d more permissions you do not have.",
				name, strings.Join(missing[:3], ", "), n-3)
		}
	}
	return nil
}

func (s *Service) isStaff(email string) bool {
	d := EmailDomain(email)
	for _, sd := range s.cfg.StaffDomains {
		if d == sd {
			return true
		}
	}
	return false
}

// checkAccessUntil validates a deadline: in the future, and not too far.
func (s *Service) checkAccessUntil(p *Problems, t time.Time) {
	now := s.clock.Now()
	switch {
	case t.IsZero():
	case !t.After(now):
		p.Add("access_until", "The access deadline must be in the future.")
	case t.Sub(now) > s.cfg.MaxAccessTime:
		p.Add("access_until", "The access deadline can be at most %d days ahead.", int(s.cfg.MaxAccessTime.Hours()/24))
	}
}

// InviteUser adds a user in status invited, with an invitation and its email
// in the same transaction. Errors: CodeInvalid (every bad field at once),
// CodeConflict (the email is already in the account), CodeForbidden,
// CodeNotFound.
func (s *Service) InviteUser(ctx context.Context, actor *Actor, accountID string, in InviteInput) (*User, error) {
	if err := actor.authorize(accountID, "team.manage"); err != nil {
		return nil, err
	}
	acct, err := s.store.Account(ctx, accountID)
	if err != nil {
		return nil, err
	}
	var p Problems
	u := &User{AccountID: accountID, Status: StatusInvited}
	u.FirstName = CleanName(&p, "first_name", "First name", in.FirstName)
	u.LastName = CleanName(&p, "last_name", "Last name", in.LastName)
	u.Email = CleanEmail(&p, "email", in.Email)
	if !p.Has("email") && !acct.AllowsDomain(EmailDomain(u.Email)) {
		p.Add("email", "This account only invites emails at %s.", strings.Join(acct.AllowedDomains, ", "))
	}
	if in.AccessUntil != nil {
		u.AccessUntil = in.AccessUntil.UTC()
		s.checkAccessUntil(&p, u.AccessUntil)
	}
	email := u.Email
	if p.Has("email") {
		email = ""
	}
	u.Roles = s.checkRoles(&p, acct, email, in.Roles, u.AccessUntil, in.ExpertAccess)
	u.ExpertAccess = in.ExpertAccess
	if err := checkGrant(actor, Access{}, u.Access()); err != nil {
		return nil, err
	}
	if err := p.Err(); err != nil {
		return nil, err
	}
	now := s.clock.Now()
	u.ID = NewID(now)
	u.InvitedAt, u.UpdatedAt, u.Version = now, now, 1
	u.InvitedBy, u.InvitedByName = actor.UserID, actor.Name
	u.Keys()
	err = s.store.Update(ctx, func(tx Tx) error {
		if err := tx.InsertUser(ctx, u); err != nil {
			if ErrorCode(err) == CodeConflict {
				return &Error{Code: CodeConflict, Message: "A user with this email already exists in this account.",
					Fields: []FieldError{{Field: "email", Message: "A user with this email already exists in this account."}}}
			}
			return err
		}
		if err := s.sendInvitation(ctx, tx, u, now); err != nil {
			return err
		}
		details := map[string]any{"roles": u.Roles.IDs(), "access_until": timeOrNil(u.AccessUntil)}
		if u.ExpertAccess != "" {
			details["expert_access"] = u.ExpertAccess
		}
		return tx.InsertAudit(ctx, s.event(actor, u, ActionUserInvited, now, details))
	})
	if err != nil {
		return nil, err
	}
	s.mailQueued()
	return u, nil
}

// sendInvitation writes a new invitation and its outbox email.
func (s *Service) sendInvitation(ctx context.Context, tx Tx, u *User, now time.Time) error {
	inv := &Invitation{ID: NewID(now), AccountID: u.AccountID, UserID: u.ID, CreatedAt: now}
	inv.TokenHash = HashSecret(InvitationToken(s.cfg.Secret, inv.ID))
	if err := tx.InsertInvitation(ctx, inv); err != nil {
		return err
	}
	return tx.InsertOutbox(ctx, &OutboxMessage{ID: NewID(now), AccountID: u.AccountID, Kind: MailInvitation, Ref: inv.ID, To: u.Email, CreatedAt: now})
}

func levelOrNil(l AccessLevel) any {
	if l == "" {
		return nil
	}
	return l
}

func timeOrNil(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.Format(time.RFC3339)
}

func (s *Service) event(actor *Actor, target *User, action string, now time.Time, details map[string]any) *AuditEvent {
	e := &AuditEvent{ID: NewID(now), AccountID: target.AccountID, At: now, ActorID: actor.UserID, ActorName: actor.Name,
		ActorEmail: actor.Email, Action: action, TargetID: target.ID, TargetName: target.FullName(), TargetEmail: target.Email,
		Details: details, IP: actor.IP}
	return e
}

// ListUsers returns a page of an account's users. Errors: CodeForbidden, CodeNotFound.
func (s *Service) ListUsers(ctx context.Context, actor *Actor, accountID string, q ListQuery) (*UserPage, error) {
	if err := actor.authorize(accountID, "team.manage"); err != nil {
		return nil, err
	}
	q.Now = s.clock.Now()
	return s.store.ListUsers(ctx, accountID, q)
}

// UserDetails is a user with what the details page shows beyond the row.
type UserDetails struct {
	*User
	ActiveAPIKeys int64
	// Invitation is the delivery of the newest invitation email of an
	// invited user; nil for other statuses or when none was written.
	Invitation *InvitationDelivery
}

// User returns a user's details. Users may read their own; reading others
// needs team.manage. Errors: CodeNotFound, CodeForbidden.
func (s *Service) User(ctx context.Context, actor *Actor, accountID, userID string) (*UserDetails, error) {
	if actor.Operator || actor.AccountID != accountID || actor.UserID != userID {
		if err := actor.authorize(accountID, "team.manage"); err != nil {
			return nil, err
		}
	}
	if !ValidID(userID) {
		return nil, errUserNotFound()
	}
	return s.store.UserDetails(ctx, accountID, userID, s.clock.Now())
}

// Details completes a user that a change returned with what the details page
// shows beyond the row.
func (s *Service) Details(ctx context.Context, u *User) (*UserDetails, error) {
	if u.Status == StatusInvited {
		// The delivery of the invitation email is part of the details.
		d, err := s.store.UserDetails(ctx, u.AccountID, u.ID, s.clock.Now())
		if err == nil && d.Version == u.Version {
			return d, nil
		}
		if err != nil && ErrorCode(err) != CodeNotFound {
			return nil, err
		}
	}
	n, err := s.store.CountActiveAPIKeys(ctx, u.AccountID, u.ID, s.clock.Now())
	if err != nil {
		return nil, err
	}
	return &UserDetails{User: u, ActiveAPIKeys: n}, nil
}

// UserPermissions returns every permission a user holds, with the roles that
// grant it. Same access rules as User.
func (s *Service) UserPermissions(ctx context.Context, actor *Actor, accountID, userID string) ([]Grant, error) {
	d, err := s.User(ctx, actor, accountID, userID)
	if err != nil {
		return nil, err
	}
	return d.Access().Grants(), nil
}

// ETag returns the entity tag of a user's current version.
func (u *User) ETag() string { return fmt.Sprintf(`"%d"`, u.Version) }

// change loads a user for update inside a transaction, checks the common
// rules, and lets fn apply the change. lockAccount serialises changes that
// could remove the last active Admin.
func (s *Service) change(ctx context.Context, actor *Actor, accountID, userID string, fn func(tx Tx, u *User, now time.Time) error) (*User, error) {
	if err := actor.authorize(accountID, "team.manage"); err != nil {
		return nil, err
	}
	if !ValidID(userID) {
		return nil, errUserNotFound()
	}
	var out *User
	err := s.store.Update(ctx, func(tx Tx) error {
		u, err := tx.UserForUpdate(ctx, accountID, userID)
		if err != nil {
			return err
		}
		now := s.clock.Now()
		if err := fn(tx, u, now); err != nil {
			return err
		}
		out = u
		return nil
	})
	return out, err
}

// guardLastAdmin refuses a change that takes u out of the account's active
// Admins without an access deadline when u is the last of them, since an
// account must always keep an Admin who can manage it. It locks the account
// first, so two Admins demoting each other at the same moment cannot both
// succeed.
func guardLastAdmin(ctx context.Context, tx Tx, u *User, what string) error {
	if u.Status != StatusActive || !u.Roles.Has(RoleAdmin) || !u.AccessUntil.IsZero() {
		return nil
	}
	if _, err := tx.LockAccount(ctx, u.AccountID); err != nil {
		return err
	}
	n, err := tx.CountPermanentAdmins(ctx, u.AccountID)
	if err != nil {
		return err
	}
	if n <= 1 {
		return Errorf(CodeConflict, "%s is the only active Admin of this account without an access deadline, and an account must always keep one "+
			"(an Admin whose access ends does not count); %s. Make another user an Admin without a deadline first.", u.FullName(), what)
	}
	return nil
}

// UpdateUser changes a user's roles and/or access deadline. ifMatch, when not
// empty, must be the user's current ETag. Errors: CodeInvalid,
// CodePrecondition, CodeConflict (last Admin, own roles), CodeForbidden,
// CodeNotFound.
func (s *Service) UpdateUser(ctx context.Context, actor *Actor, accountID, userID string, in UpdateInput, ifMatch string) (*User, error) {
	acct, err := s.accountFor(ctx, actor, accountID)
	if err != nil {
		return nil, err
	}
	return s.change(ctx, actor, accountID, userID, func(tx Tx, u *User, now time.Time) error {
		if ifMatch != "" && ifMatch != "*" && !etagMatches(ifMatch, u.ETag()) {
			return Errorf(CodePrecondition, "This user was changed by someone else since you opened it; reload and try again.")
		}
		if actor.UserID == u.ID {
			return Errorf(CodeConflict, "You cannot change your own roles or access deadline; ask another Admin.")
		}
		var p Problems
		until := u.AccessUntil
		if in.AccessUntil != nil {
			until = in.AccessUntil.UTC()
			if !until.Equal(u.AccessUntil) {
				s.checkAccessUntil(&p, until)
			}
		}
		level := u.ExpertAccess
		if in.ExpertAccess != nil {
			level = *in.ExpertAccess
		}
		roles := u.Roles
		if in.Roles != nil {
			if in.ExpertAccess == nil && !slices.Contains(*in.Roles, RoleExpert) {
				level = "" // the level goes with the Expert role
			}
			roles = s.checkRoles(&p, acct, u.Email, *in.Roles, until, level)
		} else {
			checkLevel(&p, roles, level)
			if roles.Has(RoleExpert) && until.IsZero() {
				p.Add("access_until", "An Expert needs an access deadline (Access Till).")
			}
		}
		to := Access{Roles: roles, Expert: level}
		if err := s.checkDeadlineRules(u, to, until, now); err != nil {
			return err
		}
		if err := checkGrant(actor, u.Access(), to); err != nil {
			return err
		}
		if err := p.Err(); err != nil {
			return err
		}
		if roles == u.Roles && level == u.ExpertAccess && until.Equal(u.AccessUntil) {
			return nil // nothing to change; no audit event
		}
		if u.Roles.Has(RoleAdmin) && (!roles.Has(RoleAdmin) || !until.IsZero() && u.AccessUntil.IsZero()) {
			what := "removing their Admin role would leave the account without one"
			if roles.Has(RoleAdmin) {
				what = "an access deadline would leave the account without an Admin once it passes"
			}
			if err := guardLastAdmin(ctx, tx, u, what); err != nil {
				return err
			}
		}
		details := map[string]any{}
		if roles != u.Roles {
			details["roles_added"] = (roles &^ u.Roles).IDs()
			details["roles_removed"] = (u.Roles &^ roles).IDs()
		}
		if !until.Equal(u.AccessUntil) {
			details["access_until_from"] = timeOrNil(u.AccessUntil)
			details["access_until_to"] = timeOrNil(until)
		}
		if level != u.ExpertAccess {
			details["expert_access_from"] = levelOrNil(u.ExpertAccess)
			details["expert_access_to"] = levelOrNil(level)
		}
		// An expired Expert given a new deadline: the period that ended is
		// reported first, if the deadline job has not done it yet.
		var report string
		if !until.Equal(u.AccessUntil) && u.AccessExpired(now) {
			r, err := endReason(ctx, tx, u, ExpertEndExpired, now)
			if err != nil {
				return err
			}
			report = r
		}
		was := *u
		u.Roles, u.AccessUntil, u.ExpertAccess = roles, until, level
		u.Version++
		u.UpdatedAt = now
		if err := tx.UpdateUser(ctx, u); err != nil {
			return err
		}
		if err := tx.InsertAudit(ctx, s.event(actor, u, ActionUserUpdated, now, details)); err != nil {
			return err
		}
		if report != "" {
			return s.queueExpertReport(ctx, tx, &was, report, now)
		}
		return nil
	})
}

func etagMatches(header, etag string) bool {
	for _, t := range strings.Split(header, ",") {
		t = strings.TrimPrefix(strings.TrimSpace(t), "W/")
		if t == etag {
			return true
		}
	}
	return false
}

func (s *Service) accountFor(ctx context.Context, actor *Actor, accountID string) (*Account, error) {
	if err := actor.authorize(accountID, "team.manage"); err != nil {
		return nil, err
	}
	return s.store.Account(ctx, accountID)
}

// RevokeUser disables an active user's access, keeping the record and roles.
// Errors: CodeInvalid (reason), CodeConflict (not active, self, last Admin),
// CodeForbidden, CodeNotFound.
func (s *Service) RevokeUser(ctx context.Context, actor *Actor, accountID, userID string, in RevokeInput) (*User, error) {
	var p Problems
	note := strings.TrimSpace(in.Note)
	switch in.Reason {
	case ReasonIssueResolved, ReasonSecurityPrivacy:
	case ReasonOther:
		if note == "" {
			p.Add("note", "Say why access is revoked when the reason is Other.")
		}
	case "":
		p.Add("reason", "Choose a reason: issue_resolved, security_privacy or other.")
	default:
		p.Add("reason", "Unknown reason %s: use issue_resolved, security_privacy or other.", quoteShort(string(in.Reason)))
	}
	if utf8.RuneCountInString(note) > MaxNoteLen || !utf8.ValidString(note) {
		p.Add("note", "The note must be at most %d characters long.", MaxNoteLen)
	} else if strings.ContainsFunc(note, func(r rune) bool { return r != '\n' && hasControl(string(r)) }) {
		p.Add("note", "The note must not contain control characters.")
	}
	if err := actor.authorize(accountID, "team.manage"); err != nil {
		return nil, err
	}
	if err := p.Err(); err != nil {
		return nil, err
	}
	return s.change(ctx, actor, accountID, userID, func(tx Tx, u *User, now time.Time) error {
		if u.ID == actor.UserID {
			return Errorf(CodeConflict, "You cannot revoke your own access; ask another Admin.")
		}
		if u.Status != StatusActive {
			return Errorf(CodeConflict, "Only an active user's access can be revoked; %s is %s.", u.FullName(), statusWords(u.Status))
		}
		if u.AccessExpired(now) {
			return Errorf(CodeConflict, "%s's access already ended at its deadline (%s): extend the deadline to give it back, or delete them.",
				u.FullName(), deadlineWords(u.AccessUntil))
		}
		if err := guardLastAdmin(ctx, tx, u, "revoking their access would leave the account without one"); err != nil {
			return err
		}
		u.Status, u.RevokedAt, u.RevokeReason, u.RevokeNote = StatusInactive, now, in.Reason, note
		u.Version++
		u.UpdatedAt = now
		if err := tx.UpdateUser(ctx, u); err != nil {
			return err
		}
		d := map[string]any{"reason": in.Reason}
		if note != "" {
			d["note"] = note
		}
		if err := tx.InsertAudit(ctx, s.event(actor, u, ActionUserRevoked, now, d)); err != nil {
			return err
		}
		if u.Roles.Has(RoleExpert) {
			return s.queueExpertReport(ctx, tx, u, ExpertEndRevoked, now)
		}
		return nil
	})
}

func statusWords(st Status) string {
	switch st {
	case StatusInvited:
		return "still invited (Invitation Sent)"
	case StatusInactive:
		return "already inactive"
	}
	return "active"
}

// RestoreUser makes an inactive user active again with the same roles.
// Errors: CodeConflict (not inactive), CodeForbidden, CodeNotFound.
func (s *Service) RestoreUser(ctx context.Context, actor *Actor, accountID, userID string) (*User, error) {
	return s.change(ctx, actor, accountID, userID, func(tx Tx, u *User, now time.Time) error {
		if u.Status != StatusInactive {
			return Errorf(CodeConflict, "Only an inactive user's access can be restored; %s is %s.", u.FullName(), statusWords(u.Status))
		}
		u.Status, u.RevokedAt, u.RevokeReason, u.RevokeNote = StatusActive, time.Time{}, "", ""
		u.Version++
		u.UpdatedAt = now
		if err := tx.UpdateUser(ctx, u); err != nil {
			return err
		}
		if err := restartAccessPeriod(ctx, tx, u, now); err != nil {
			return err
		}
		return tx.InsertAudit(ctx, s.event(actor, u, ActionUserRestored, now, nil))
	})
}

// ResendInvitation sends a fresh invitation link and kills every earlier one.
// Errors: CodeConflict (not invited), CodeRateLimited, CodeForbidden, CodeNotFound.
func (s *Service) ResendInvitation(ctx context.Context, actor *Actor, accountID, userID string) (*User, error) {
	u, err := s.resendInvitation(ctx, actor, accountID, userID)
	if err == nil {
		s.mailQueued()
	}
	return u, err
}

func (s *Service) resendInvitation(ctx context.Context, actor *Actor, accountID, userID string) (*User, error) {
	return s.change(ctx, actor, accountID, userID, func(tx Tx, u *User, now time.Time) error {
		if u.Status != StatusInvited {
			return Errorf(CodeConflict, "Invitations can only be resent while a user is in Invitation Sent; %s is %s.", u.FullName(), u.Status)
		}
		n, err := tx.CountInvitationsSince(ctx, accountID, userID, now.Add(-time.Hour))
		if err != nil {
			return err
		}
		if n >= int64(s.cfg.ResendLimit) {
			// The next send is allowed when the oldest send of the window
			// is an hour old.
			oldest, err := tx.OldestInvitationSince(ctx, accountID, userID, now.Add(-time.Hour))
			if err != nil {
				return err
			}
			wait := max(oldest.Add(time.Hour).Sub(now), time.Second)
			mins := int(wait.Round(time.Minute).Minutes())
			return &Error{Code: CodeRateLimited, RetryAfter: int((wait + time.Second - 1) / time.Second),
				Message: fmt.Sprintf("%s was sent %d invitations in the last hour, the most allowed; try again in %d minute(s).", u.FullName(), n, max(mins, 1))}
		}
		if err := tx.SupersedeInvitations(ctx, accountID, userID); err != nil {
			return err
		}
		if err := s.sendInvitation(ctx, tx, u, now); err != nil {
			return err
		}
		u.Version++
		u.UpdatedAt = now
		if err := tx.UpdateUser(ctx, u); err != nil {
			return err
		}
		return tx.InsertAudit(ctx, s.event(actor, u, ActionInvitationResent, now, nil))
	})
}

// DeleteUser removes a user and, in the same transaction, every API key they
// created in the account. Errors: CodeConflict (self, last Admin),
// CodeForbidden, CodeNotFound.
func (s *Service) DeleteUser(ctx context.Context, actor *Actor, accountID, userID string) error {
	_, err := s.change(ctx, actor, accountID, userID, func(tx Tx, u *User, now time.Time) error {
		if u.ID == actor.UserID {
			return Errorf(CodeConflict, "You cannot delete yourself; ask another Admin.")
		}
		if err := guardLastAdmin(ctx, tx, u, "deleting them would leave the account without one"); err != nil {
			return err
		}
		report, err := endReason(ctx, tx, u, ExpertEndDeleted, now)
		if err != nil {
			return err
		}
		keys, err := tx.DeleteUser(ctx, accountID, userID)
		if err != nil {
			return err
		}
		if err := tx.InsertAudit(ctx, s.event(actor, u, ActionUserDeleted, now, map[string]any{
			"roles": u.Roles.IDs(), "status": u.Status, "api_keys_deleted": keys})); err != nil {
			return err
		}
		if report != "" {
			return s.queueExpertReport(ctx, tx, u, report, now)
		}
		return nil
	})
	return err
}

// CreateAccount creates an account and its first Admin: active with a
// password, invited without. Operator only. Errors: CodeInvalid.
func (s *Service) CreateAccount(ctx context.Context, in CreateAccountInput, hashPassword func(string) (string, error)) (*Account, *User, error) {
	var p Problems
	name := strings.TrimSpace(in.Name)
	switch n := utf8.RuneCountInString(name); {
	case n == 0:
		p.Add("name", "The account name is required.")
	case n > MaxAccountNameLen || hasControl(name) || !utf8.ValidString(name):
		p.Add("name", "The account name must be at most %d characters, without control characters.", MaxAccountNameLen)
	}
	now := s.clock.Now()
	acct := &Account{ID: NewID(now), Name: name, CreatedAt: now, UpdatedAt: now}
	u := &User{ID: NewID(now), AccountID: acct.ID, Roles: NewRoleSet(RoleAdmin), InvitedAt: now, UpdatedAt: now, Version: 1,
		InvitedByName: "Operator"}
	u.FirstName = CleanName(&p, "admin_first_name", "First name", in.AdminFirstName)
	u.LastName = CleanName(&p, "admin_last_name", "Last name", in.AdminLastName)
	u.Email = CleanEmail(&p, "admin_email", in.AdminEmail)
	if err := p.Err(); err != nil {
		return nil, nil, err
	}
	u.Keys()
	u.Status = StatusInvited
	var ident *Identity
	joined := false // ident already exists: the Admin is that person
	if in.AdminPassword != "" {
		existing, err := s.identityByEmail(ctx, u.Email)
		if err != nil {
			return nil, nil, err
		}
		if existing != nil {
			ok := false
			if s.cfg.Passwords != nil {
				w, err := s.admit()
				if err != nil {
					return nil, nil, err
				}
				ok, err = w.Verify(ctx, in.AdminPassword, existing.PasswordHash)
				w.Done()
				if err != nil {
					return nil, nil, err
				}
			}
			if !ok {
				return nil, nil, &Error{Code: CodeInvalid, Message: "This email can already sign in to Roster with another password.",
					Fields: []FieldError{{Field: "admin_password", Message: "This email can already sign in to Roster with another password: give that password to make them the Admin, or none to invite them instead."}}}
			}
			ident, joined = existing, true
			u.Status, u.IdentityID, u.JoinedAt = StatusActive, ident.ID, now
		}
	}
	if in.AdminPassword != "" && ident == nil {
		h, err := hashPassword(in.AdminPassword)
		if err != nil {
			return nil, nil, err
		}
		ident = &Identity{ID: NewID(now), Email: u.Email, EmailKey: CanonicalEmail(u.Email), PasswordHash: h,
			CreatedAt: now, UpdatedAt: now, PasswordChangedAt: now}
		u.Status, u.IdentityID, u.JoinedAt = StatusActive, ident.ID, now
	}
	op := OperatorActor()
	err := s.store.Update(ctx, func(tx Tx) error {
		if err := tx.InsertAccount(ctx, acct); err != nil {
			return err
		}
		if err := tx.MarkSetupDone(ctx, now); err != nil {
			return err
		}
		if ident != nil && !joined {
			if err := tx.InsertIdentity(ctx, ident); err != nil {
				if ErrorCode(err) == CodeConflict {
					return &Error{Code: CodeConflict, Message: "This email can already sign in to Roster; create the account without a password and the Admin accepts the invitation by signing in.",
						Fields: []FieldError{{Field: "admin_password", Message: "This email already has a password; leave it out."}}}
				}
				return err
			}
		}
		if err := tx.InsertUser(ctx, u); err != nil {
			return err
		}
		if u.Status == StatusInvited {
			if err := s.sendInvitation(ctx, tx, u, now); err != nil {
				return err
			}
		}
		e := s.event(op, u, ActionAccountCreated, now, map[string]any{"name": acct.Name, "admin_status": u.Status})
		return tx.InsertAudit(ctx, e)
	})
	if err != nil {
		return nil, nil, err
	}
	if u.Status == StatusInvited {
		s.mailQueued()
	}
	return acct, u, nil
}

// UpdateAccount changes an account's enabled additional roles and email
// domain policy. Operator only. Errors: CodeInvalid, CodeConflict (disabling
// a role users hold), CodeNotFound.
func (s *Service) UpdateAccount(ctx context.Context, accountID string, in UpdateAccountInput) (*Account, error) {
	var p Problems
	var enable, disable RoleSet
	for _, list := range []struct {
		ids   []RoleID
		set   *RoleSet
		field string
	}{{in.EnableRoles, &enable, "enable_role"}, {in.DisableRoles, &disable, "disable_role"}} {
		for _, id := range list.ids {
			bit, ok := RoleBit(id)
			if !ok || bit&AdditionalRoles == 0 {
				p.Add(list.field, "%s is not an additional role: use whatsapp_only or numbers_read_only.", quoteShort(string(id)))
				continue
			}
			*list.set |= bit
		}
	}
	if enable&disable != 0 {
		p.Add("disable_role", "A role cannot be enabled and disabled at once.")
	}
	var domains []string
	for _, d := range in.AllowedDomains {
		cd, ok := CleanDomain(d)
		if !ok {
			p.Add("allowed_domain", "%s is not a valid domain name such as example.com.", quoteShort(d))
			continue
		}
		domains = append(domains, cd)
	}
	if !ValidID(accountID) {
		return nil, Errorf(CodeNotFound, "No account with this id exists.")
	}
	if err := p.Err(); err != nil {
		return nil, err
	}
	var out *Account
	err := s.store.Update(ctx, func(tx Tx) error {
		a, err := tx.LockAccount(ctx, accountID)
		if err != nil {
			return err
		}
		before := *a
		for _, id := range disable.IDs() {
			bit, _ := RoleBit(id)
			var n int64
			for _, st := range Statuses {
				c, err := tx.CountUsers(ctx, accountID, st, bit)
				if err != nil {
					return err
				}
				n += c
			}
			if n > 0 {
				r, _ := RoleByID(id)
				return Errorf(CodeConflict, "%d user(s) still hold the %s role; change their roles before disabling it.", n, r.Name)
			}
		}
		a.EnabledRoles = a.EnabledRoles&^disable | enable
		if in.ClearAllowedDomains {
			a.AllowedDomains = nil
		}
		for _, d := range domains {
			if !slices.Contains(a.AllowedDomains, d) {
				a.AllowedDomains = append(a.AllowedDomains, d)
			}
		}
		now := s.clock.Now()
		a.UpdatedAt = now
		if err := tx.UpdateAccount(ctx, a); err != nil {
			return err
		}
		out = a
		return tx.InsertAudit(ctx, &AuditEvent{ID: NewID(now), AccountID: a.ID, At: now, ActorName: "Operator", Action: ActionAccountUpdated,
			Details: map[string]any{"enabled_roles_from": before.EnabledRoles.IDs(), "enabled_roles_to": a.EnabledRoles.IDs(),
				"allowed_domains_from": before.AllowedDomains, "allowed_domains_to": a.AllowedDomains}})
	})
	return out, err
}
