package roster

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"fmt"
	"net/netip"
	"sync"
	"time"

	"roster/internal/useragent"
)

// Sign-in throttling. Failures are counted per canonical email (in the
// store, so every instance sees them) whether or not the email exists:
// after freeFailures, each further attempt must wait twice as long as the
// previous one, up to maxFailureDelay. Failures older than failureMemory
// are forgotten.
const (
	freeFailures    = 5
	maxFailureDelay = 15 * time.Minute
	failureMemory   = time.Hour
)

// unauthorizedSignIn is the one answer to every failed sign-in.
func unauthorizedSignIn() error {
	return Errorf(CodeUnauthorized, "The email or password is not correct, or this sign-in no longer has access.")
}

func rateLimited(wait time.Duration, message string) error {
	secs := int((wait + time.Second - 1) / time.Second)
	if secs < 1 {
		secs = 1
	}
	return &Error{Code: CodeRateLimited, RetryAfter: secs, Message: fmt.Sprintf(message, secondsWords(secs))}
}

// secondsWords says a wait: "1 second", "30 seconds", "2 minutes".
func secondsWords(secs int) string {
	switch {
	case secs == 1:
		return "1 second"
	case secs < 120:
		return fmt.Sprintf("%d seconds", secs)
	}
	return fmt.Sprintf("%d minutes", (secs+59)/60)
}

// throttleKey is the store key of an email's sign-in failures: an HMAC, so
// the store holds no email of someone who never had an identity.
func (s *Service) throttleKey(email string) []byte {
	m := hmac.New(sha256.New, s.cfg.Secret)
	m.Write([]byte("roster sign-in throttle v1\x00" + CanonicalEmail(email)))
	return m.Sum(nil)
}

// failureDelay is how long after the last of n failures the next attempt
// must wait.
func failureDelay(n int, last, now time.Time) time.Duration {
	if n < freeFailures || now.Sub(last) >= failureMemory {
		return 0
	}
	d := maxFailureDelay
	if shift := n - freeFailures; shift < 10 {
		d = min(time.Second<<shift, maxFailureDelay)
	}
	return last.Add(d).Sub(now)
}

// reserveAttempt admits one attempt to check a password for email from
// the client, before the password is hashed: the client IP spends a token
// and the email's attempt count moves up one step, unless either is
// throttled. Each concurrent attempt needs its own step of the count, so the
// delays hold however many guesses arrive at once. A success gives the
// token back and clears the count; a failure leaves both spent.
func (s *Service) reserveAttempt(ctx context.Context, email string, c Client, now time.Time) ([]byte, error) {
	if wait := s.ips.take(c.IP, now); wait > 0 {
		return nil, rateLimited(wait, "Too many attempts from your network; try again in %s.")
	}
	key := s.throttleKey(email)
	// Most sign-ins have no attempts on record: claim the first step
	// straight away, one round trip, and read the count only when that fails.
	if ok, err := s.store.ReserveLoginAttempt(ctx, key, 0, 1, now); err != nil || ok {
		return key, err
	}
	// Each lost race means another attempt moved the count on, so after
	// freeFailures losses the delay answers; the bound only guards against
	// successes clearing the count again and again.
	for range 2*freeFailures + 2 {
		n, last, err := s.store.LoginFailures(ctx, key)
		if err != nil {
			return nil, err
		}
		prior, next := n, n+1
		if n > 0 && now.Sub(last) >= failureMemory {
			prior, next = 0, 1 // forgotten: count again from one
		}
		if wait := failureDelay(prior, last, now); wait > 0 {
			return nil, rateLimited(wait, "Too many failed attempts for this email; try again in %s.")
		}
		ok, err := s.store.ReserveLoginAttempt(ctx, key, n, next, now)
		if err != nil {
			return nil, err
		}
		if ok {
			return key, nil
		}
		// Another attempt for this email took the step; look again.
	}
	return nil, rateLimited(time.Second, "Other sign-ins for this email are in progress; try again in %s.")
}

// admit takes a place in the hashing queue, or answers CodeRateLimited at
// once when it is full; the caller calls Done on what it gets.
func (s *Service) admit() (PasswordWork, error) {
	w, err := s.cfg.Passwords.Admit()
	if err != nil {
		if s.cfg.Passwords.Busy(err) {
			return nil, busy()
		}
		return nil, err
	}
	return w, nil
}

// verify checks password against ident's hash, or against a stand-in hash
// when ident is nil so that an unknown email costs the same time, in the
// admitted place w.
func (s *Service) verify(ctx context.Context, w PasswordWork, ident *Identity, password string) (bool, error) {
	hash, err := s.dummyHash(ctx)
	if err != nil {
		return false, err
	}
	if ident != nil {
		hash = ident.PasswordHash
	}
	ok, err := w.Verify(ctx, password, hash)
	if err != nil {
		if s.cfg.Passwords.Busy(err) {
			return false, busy()
		}
		return false, err
	}
	return ok && ident != nil, nil
}

func busy() error {
	return rateLimited(time.Second, "Roster is busy signing people in; try again in %s.")
}

// dummyHash returns a hash of a random password made with the current
// parameters, computed on first use and kept once it succeeded.
func (s *Service) dummyHash(ctx context.Context) (string, error) {
	s.dummyMu.Lock()
	defer s.dummyMu.Unlock()
	if s.dummy != "" {
		return s.dummy, nil
	}
	w, err := s.admit()
	if err != nil {
		return "", err
	}
	defer w.Done()
	h, err := w.Hash(context.WithoutCancel(ctx), NewToken())
	if err != nil {
		return "", err
	}
	s.dummy = h
	return h, nil
}

// hash hashes a new password for the client, answering CodeRateLimited
// when the client IP has spent its tokens or the hashing queue is full.
func (s *Service) hash(ctx context.Context, password string, c Client) (string, error) {
	w, err := s.admit()
	if err != nil {
		return "", err
	}
	defer w.Done()
	if wait := s.ips.take(c.IP, s.clock.Now()); wait > 0 {
		return "", rateLimited(wait, "Too many attempts from your network; try again in %s.")
	}
	h, err := w.Hash(ctx, password)
	if err != nil && s.cfg.Passwords.Busy(err) {
		return "", busy()
	}
	return h, err
}

// SignIn checks an email and password and starts a session. Every failure
// (unknown email, wrong password, revoked, deleted or expired user) is the
// same CodeUnauthorized error; CodeRateLimited (with RetryAfter) when the
// email or the client IP is throttled or too many hashes are waiting. No
// database transaction or connection is held while the password hashes.
func (s *Service) SignIn(ctx context.Context, email, password string, c Client) (*SignedIn, error) {
	// Under a flood the excess is refused here, before any other work.
	w, err := s.admit()
	if err != nil {
		return nil, err
	}
	defer w.Done()
	now := s.clock.Now()
	key, err := s.reserveAttempt(ctx, email, c, now)
	if err != nil {
		return nil, err
	}
	// One query whether or not the email exists, and whatever the user's
	// state, so that every failure makes the same queries.
	ident, can, err := s.store.SignInIdentity(ctx, CanonicalEmail(email), now)
	if err != nil {
		return nil, err
	}
	ok, err := s.verify(ctx, w, ident, password)
	if err != nil {
		return nil, err
	}
	if !ok || !can {
		return nil, unauthorizedSignIn()
	}
	in := s.newSession(ident, c, now)
	if err := s.store.StartSession(ctx, in.Session, key); err != nil {
		return nil, err
	}
	s.ips.refund(c.IP, now)
	return in, nil
}

// identityByEmail finds the identity of what someone typed as their email;
// nil when there is none.
func (s *Service) identityByEmail(ctx context.Context, email string) (*Identity, error) {
	key := CanonicalEmail(email)
	if key == "" || len(key) > MaxEmailLen {
		return nil, nil
	}
	ident, err := s.store.IdentityByEmail(ctx, key)
	if ErrorCode(err) == CodeNotFound {
		return nil, nil
	}
	return ident, err
}

// newSession makes a new session of ident for the client, with its token.
func (s *Service) newSession(ident *Identity, c Client, now time.Time) *SignedIn {
	token := NewToken()
	sess := &Session{ID: NewID(now), IdentityID: ident.ID, TokenHash: HashSecret(token), CreatedAt: now,
		LastSeenAt: now, ExpiresAt: now.Add(s.cfg.SessionMax), IP: c.IP, Device: useragent.Device(c.UserAgent)}
	return &SignedIn{Token: token, Session: sess, Identity: ident}
}

// startSession writes a new session for ident and records the sign-in on
// its users, in tx.
func (s *Service) startSession(ctx context.Context, tx Tx, ident *Identity, c Client, now time.Time) (*SignedIn, error) {
	in := s.newSession(ident, c, now)
	if err := tx.InsertSession(ctx, in.Session); err != nil {
		return nil, err
	}
	if err := tx.RecordLogin(ctx, ident.ID, now, c.IP, in.Session.Device); err != nil {
		return nil, err
	}
	return in, nil
}

// live reports whether a session is within its idle and absolute limits.
func (s *Service) live(sess *Session, now time.Time) bool {
	return now.Before(sess.ExpiresAt) && now.Before(sess.LastSeenAt.Add(s.cfg.SessionIdle))
}

// touchEvery bounds how often a session's last-seen time is written.
const touchEvery = time.Minute

// Authenticate returns the live session of a session token and its
// identity, refreshing its idle timer. CodeUnauthorized when the token is
// unknown, past its idle or absolute limit, or the identity may no longer
// act in any account (the session is then deleted).
func (s *Service) Authenticate(ctx context.Context, token string, c Client) (*Session, *Identity, error) {
	unauthorized := Errorf(CodeUnauthorized, "You are not signed in, or your session has ended; sign in again.")
	if token == "" || len(token) > 128 {
		return nil, nil, unauthorized
	}
	now := s.clock.Now()
	sess, ident, mayAct, err := s.store.SessionByHash(ctx, HashSecret(token), now)
	if err != nil {
		if ErrorCode(err) == CodeNotFound {
			return nil, nil, unauthorized
		}
		return nil, nil, err
	}
	end := func() error {
		return s.store.Update(ctx, func(tx Tx) error { return ignoreNotFound(tx.DeleteSession(ctx, sess.IdentityID, sess.ID)) })
	}
	if !s.live(sess, now) || !mayAct {
		if err := end(); err != nil {
			return nil, nil, err
		}
		return nil, nil, unauthorized
	}
	if now.Sub(sess.LastSeenAt) >= touchEvery {
		sess.LastSeenAt = now
		if err := s.store.Update(ctx, func(tx Tx) error { return tx.TouchSession(ctx, sess.ID, now) }); err != nil {
			if ErrorCode(err) == CodeNotFound { // ended meanwhile
				return nil, nil, unauthorized
			}
			return nil, nil, err
		}
	}
	return sess, ident, nil
}

func ignoreNotFound(err error) error {
	if ErrorCode(err) == CodeNotFound {
		return nil
	}
	return err
}

// ActorFor returns the actor of a signed-in identity in one account.
// CodeNotFound when the identity is not a member that may act there now.
func (s *Service) ActorFor(ctx context.Context, ident *Identity, accountID string, c Client) (*Actor, error) {
	notFound := Errorf(CodeNotFound, "No account with this id exists.")
	if !ValidID(accountID) {
		return nil, notFound
	}
	u, err := s.store.UserByIdentity(ctx, accountID, ident.ID)
	if err != nil {
		if ErrorCode(err) == CodeNotFound {
			return nil, notFound
		}
		return nil, err
	}
	if !u.CanSignIn(s.clock.Now()) {
		return nil, notFound
	}
	return actorOf(u, c.IP), nil
}

// Memberships lists the accounts of an identity, with the user of each.
func (s *Service) Memberships(ctx context.Context, ident *Identity) ([]*Membership, error) {
	return s.store.Memberships(ctx, ident.ID)
}

// SignOut ends a session.
func (s *Service) SignOut(ctx context.Context, sess *Session) error {
	return s.store.Update(ctx, func(tx Tx) error { return ignoreNotFound(tx.DeleteSession(ctx, sess.IdentityID, sess.ID)) })
}

// Sessions lists the identity's live sessions, newest first.
func (s *Service) Sessions(ctx context.Context, sess *Session) ([]*Session, error) {
	all, err := s.store.Sessions(ctx, sess.IdentityID)
	if err != nil {
		return nil, err
	}
	now := s.clock.Now()
	live := all[:0]
	for _, x := range all {
		if s.live(x, now) {
			live = append(live, x)
		}
	}
	return live, nil
}

// EndSession ends one of the identity's sessions. CodeNotFound when the
// identity has no such session.
func (s *Service) EndSession(ctx context.Context, sess *Session, sessionID string) error {
	if !ValidID(sessionID) {
		return Errorf(CodeNotFound, "No session with this id exists; it may have ended already.")
	}
	err := s.store.Update(ctx, func(tx Tx) error { return tx.DeleteSession(ctx, sess.IdentityID, sessionID) })
	if ErrorCode(err) == CodeNotFound {
		return Errorf(CodeNotFound, "No session with this id exists; it may have ended already.")
	}
	return err
}

// RequestPasswordReset emails a reset link if email belongs to an identity
// that may sign in somewhere. The answer never tells whether it does: nil
// either way, CodeRateLimited only for a throttled client IP. The look-up
// and the writing happen after the answer, so its time tells nothing
// either. At most ResendLimit links per identity per hour are sent; more are
// dropped.
func (s *Service) RequestPasswordReset(ctx context.Context, email string, c Client) error {
	now := s.clock.Now()
	if wait := s.ips.take(c.IP, now); wait > 0 {
		return rateLimited(wait, "Too many attempts from your network; try again in %s.")
	}
	s.later(ctx, "password reset request", func(ctx context.Context) error { return s.requestReset(ctx, email, now) })
	return nil
}

// maxBackground bounds the work started after answering (password reset
// requests); beyond it new work is dropped and logged, as a flood would
// otherwise queue without end.
const maxBackground = 16

// later runs fn after the caller has its answer, detached from its
// cancellation; Drain waits for it.
func (s *Service) later(ctx context.Context, what string, fn func(context.Context) error) {
	select {
	case s.background <- struct{}{}:
	default:
		s.cfg.Logger.Warn("too much background work; dropped", "what", what)
		return
	}
	s.bgWait.Add(1)
	go func() {
		defer func() {
			<-s.background
			s.bgWait.Done()
		}()
		if err := fn(context.WithoutCancel(ctx)); err != nil {
			s.cfg.Logger.Error(what, "err", err)
		}
	}()
}

// Drain waits until the work started after answering is done; serve calls
// it on shutdown, tests before they look.
func (s *Service) Drain() { s.bgWait.Wait() }

func (s *Service) requestReset(ctx context.Context, email string, now time.Time) error {
	ident, err := s.identityByEmail(ctx, email)
	if err != nil || ident == nil {
		return err
	}
	if ok, err := s.store.CanSignIn(ctx, ident.ID, now); err != nil || !ok {
		return err
	}
	err = s.store.Update(ctx, func(tx Tx) error {
		n, err := tx.CountPasswordResetsSince(ctx, ident.ID, now.Add(-time.Hour))
		if err != nil || n >= int64(s.cfg.ResendLimit) {
			return err
		}
		if err := tx.SupersedePasswordResets(ctx, ident.ID); err != nil {
			return err
		}
		r := &PasswordReset{ID: NewID(now), IdentityID: ident.ID, CreatedAt: now}
		r.TokenHash = HashSecret(PasswordResetToken(s.cfg.Secret, r.ID))
		if err := tx.InsertPasswordReset(ctx, r); err != nil {
			return err
		}
		return tx.InsertOutbox(ctx, &OutboxMessage{ID: NewID(now), Kind: MailPasswordReset, Ref: r.ID, To: ident.Email, CreatedAt: now})
	})
	if err == nil {
		s.mailQueued()
	}
	return err
}

func (s *Service) mailQueued() {
	if s.cfg.MailQueued != nil {
		s.cfg.MailQueued()
	}
}

// MailLifetime is how long the mail worker keeps trying to deliver a
// message before it gives up.
const MailLifetime = 24 * time.Hour

// linkState is the state of a link created at created, sent at sent, used
// at used, living ttl from its sending. A link whose sending was not
// recorded (the mail went out but the worker died before saying so, or the
// server took it without answering) counts as sent just now, for as long as
// the worker might still have been trying.
func linkState(created, sent, used time.Time, superseded bool, ttl time.Duration, now time.Time) (LinkState, time.Time) {
	switch {
	case !used.IsZero():
		return LinkUsed, time.Time{}
	case superseded:
		return LinkSuperseded, time.Time{}
	case sent.IsZero() && now.Before(created.Add(MailLifetime+ttl)):
		until := now.Add(ttl)
		if last := created.Add(MailLifetime + ttl); last.Before(until) {
			until = last
		}
		return LinkValid, until
	case sent.IsZero() || !now.Before(sent.Add(ttl)):
		return LinkExpired, time.Time{}
	}
	return LinkValid, sent.Add(ttl)
}

// passwordReset returns a reset link, its identity and its state.
func (s *Service) passwordReset(ctx context.Context, token string) (*ResetMail, *ResetView, error) {
	if token == "" || len(token) > 128 {
		return nil, &ResetView{State: LinkUnknown}, nil
	}
	r, err := s.store.PasswordResetByHash(ctx, HashSecret(token))
	if err == nil {
		var m *ResetMail
		if m, err = s.store.ResetMail(ctx, r.ID); err == nil {
			v := &ResetView{Email: m.Identity.Email}
			v.State, v.ExpiresAt = linkState(r.CreatedAt, r.SentAt, r.UsedAt, r.Superseded, s.cfg.ResetTTL, s.clock.Now())
			return m, v, nil
		}
	}
	if ErrorCode(err) == CodeNotFound {
		return nil, &ResetView{State: LinkUnknown}, nil
	}
	return nil, nil, err
}

// PasswordReset describes a reset link for its page.
func (s *Service) PasswordReset(ctx context.Context, token string) (*ResetView, error) {
	_, v, err := s.passwordReset(ctx, token)
	return v, err
}

// errLinkGone is returned by the link actions when the link changed state;
// the caller asks for the link's state to say why.
func errLinkGone() error {
	return Errorf(CodeConflict, "This link is no longer valid.")
}

// ResetPassword sets a new password through a reset link and ends every
// session of the identity. CodeInvalid (fields password, confirm),
// CodeConflict when the link is no longer valid (ask PasswordReset why).
func (s *Service) ResetPassword(ctx context.Context, token, password, confirm string, c Client) error {
	m, v, err := s.passwordReset(ctx, token)
	if err != nil {
		return err
	}
	if v.State != LinkValid {
		return errLinkGone()
	}
	// The new password must not be the person's email, names or account
	// names, as at registration.
	personal := []string{m.Identity.Email}
	ms, err := s.store.Memberships(ctx, m.Identity.ID)
	if err != nil {
		return err
	}
	for _, x := range ms {
		personal = append(personal, x.User.FirstName, x.User.LastName, x.User.FullName(), x.AccountName)
	}
	var p Problems
	s.checkNewPassword(&p, password, confirm, personal...)
	if err := p.Err(); err != nil {
		return err
	}
	h, err := s.hash(ctx, password, c)
	if err != nil {
		return err
	}
	now := s.clock.Now()
	return s.store.Update(ctx, func(tx Tx) error {
		if err := tx.UsePasswordReset(ctx, m.Reset.ID, now); err != nil {
			if ErrorCode(err) == CodeConflict {
				return errLinkGone()
			}
			return err
		}
		if err := tx.SetPassword(ctx, m.Identity.ID, h, now); err != nil {
			return err
		}
		if err := tx.ClearLoginFailures(ctx, s.throttleKey(m.Identity.Email)); err != nil {
			return err
		}
		return tx.DeleteSessions(ctx, m.Identity.ID, "")
	})
}

// checkNewPassword applies the password policy and the confirmation,
// recording problems under "password" and "confirm".
func (s *Service) checkNewPassword(p *Problems, password, confirm string, personal ...string) {
	if err := s.cfg.Passwords.Check(password, personal...); err != nil {
		p.Add("password", "%s", err.Error())
		return
	}
	if confirm != password {
		p.Add("confirm", "The two passwords are not the same; type the same password twice.")
	}
}

// ipLimiter is a token bucket per client IP, in memory: a coarse brake on
// one address trying many emails. Failed attempts spend tokens; successful
// ones do not, so an office behind one address signs in freely. Each
// instance keeps its own.
type ipLimiter struct {
	mu      sync.Mutex
	buckets map[string]*bucket
	burst   float64
	every   time.Duration // one token back per every
}

type bucket struct {
	tokens float64
	at     time.Time
}

func newIPLimiter(burst int, every time.Duration) *ipLimiter {
	return &ipLimiter{buckets: map[string]*bucket{}, burst: float64(burst), every: every}
}

// rateKey is the bucket of a client address: the address itself, or for
// IPv6 its /64, since one host commonly holds a whole /64.
func rateKey(ip string) string {
	a, err := netip.ParseAddr(ip)
	if err != nil || !a.Is6() || a.Is4In6() {
		return ip
	}
	p, _ := a.Prefix(64)
	return p.String()
}

// refund gives a token back to ip's bucket.
func (l *ipLimiter) refund(ip string, now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if b := l.buckets[rateKey(ip)]; b != nil {
		b.tokens = min(l.burst, b.tokens+1)
	}
}

// take spends a token of ip's bucket; it returns 0, or how long until a
// token is back when the bucket is empty.
func (l *ipLimiter) take(ip string, now time.Time) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.buckets) > 100_000 {
		l.sweep(now)
	}
	key := rateKey(ip)
	b := l.buckets[key]
	if b == nil {
		b = &bucket{tokens: l.burst, at: now}
		l.buckets[key] = b
	}
	b.tokens = min(l.burst, b.tokens+float64(now.Sub(b.at))/float64(l.every))
	b.at = now
	if b.tokens < 1 {
		return time.Duration((1 - b.tokens) * float64(l.every))
	}
	b.tokens--
	return 0
}

// sweep drops the buckets that are full again.
func (l *ipLimiter) sweep(now time.Time) {
	for ip, b := range l.buckets {
		if b.tokens+float64(now.Sub(b.at))/float64(l.every) >= l.burst {
			delete(l.buckets, ip)
		}
	}
}

// Per client IP, failed sign-ins (and accepts) and forgot-password requests
// come from a bucket of ipBurst refilled by one every ipEvery (30 a minute).
const (
	ipBurst = 30
	ipEvery = 2 * time.Second
)

// Prune deletes sessions past their limits, sign-in failures nobody
// remembers and expired setup links; serve runs it every few minutes.
func (s *Service) Prune(ctx context.Context) (int64, error) {
	now := s.clock.Now()
	var n int64
	err := s.store.Update(ctx, func(tx Tx) error {
		var err error
		n, err = tx.Prune(ctx, now, now.Add(-s.cfg.SessionIdle), now.Add(-failureMemory))
		return err
	})
	return n, err
}
