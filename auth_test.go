package roster_test

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"roster"
	"roster/internal/password"
	"roster/internal/testdb"
)

// The sign-in tests run the real service, with a real argon2id hasher on
// cheap parameters, on both stores.

var cheapPasswords = password.NewHasher(password.Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}, 4, 1000)

const (
	goodPassword = "a long and unusual passphrase"
	firefox      = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:132.0) Gecko/20100101 Firefox/132.0"
)

var browser = roster.Client{IP: "198.51.100.7", UserAgent: firefox}

// inviteToken returns the token of the newest live invitation of u.
func (e *env) inviteToken(t testing.TB, u *roster.User) (token, invitationID string) {
	t.Helper()
	_, invs := e.mail(t, u)
	for i := len(invs) - 1; i >= 0; i-- {
		if id, state, _ := strings.Cut(invs[i], " "); state == "live" {
			return roster.InvitationToken(make([]byte, 32), id), id
		}
	}
	t.Fatalf("%s has no live invitation: %v", u.Email, invs)
	return "", ""
}

func (e *env) markSent(t *testing.T, u *roster.User, invitationID string, at time.Time) {
	t.Helper()
	err := e.raw.Update(e.ctx, func(tx roster.Tx) error { return tx.MarkInvitationSent(e.ctx, u.AccountID, invitationID, at) })
	if err != nil {
		t.Fatal(err)
	}
}

// register invites a user into tn's account and registers them with
// goodPassword; it returns the user and the sign-in.
func (e *env) register(t testing.TB, tn *tenant, mods ...func(*roster.InviteInput)) (*roster.User, *roster.SignedIn) {
	t.Helper()
	u := e.invite(t, tn, mods...)
	token, _ := e.inviteToken(t, u)
	in, err := e.svc.Register(e.ctx, token, roster.RegisterInput{FirstName: u.FirstName, LastName: u.LastName,
		Password: goodPassword, Confirm: goodPassword}, browser)
	if err != nil {
		t.Fatalf("Register(%s) = %v", u.Email, err)
	}
	return e.user(t, u.AccountID, u.ID), in
}

func wantCode(t *testing.T, err error, code string, what string) *roster.Error {
	t.Helper()
	var re *roster.Error
	if !errors.As(err, &re) || re.Code != code {
		t.Fatalf("%s = %v; want %s", what, err, code)
	}
	return re
}

func TestRegistration(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, s roster.Store) {
		e := newEnv(t, s)
		t.Run("valid link registers, signs in and records the login", func(t *testing.T) {
			u := e.invite(t, e.tenant)
			token, invID := e.inviteToken(t, u)
			e.markSent(t, u, invID, e.clock.Now())
			v, err := e.svc.Invitation(e.ctx, token)
			if err != nil || v.State != roster.LinkValid || v.Email != u.Email || v.AccountName != e.acct.Name ||
				v.InvitedByName != "Ada Lovelace" || v.HasIdentity || !v.ExpiresAt.Equal(e.clock.Now().Add(time.Hour)) {
				t.Fatalf("Invitation = %+v, %v", v, err)
			}
			before := e.auditIDs(t, e.acct.ID)
			in, err := e.svc.Register(e.ctx, token, roster.RegisterInput{FirstName: "  Renamed ", LastName: u.LastName,
				Password: goodPassword, Confirm: goodPassword}, browser)
			if err != nil {
				t.Fatalf("Register = %v", err)
			}
			got := e.user(t, u.AccountID, u.ID)
			if got.Status != roster.StatusActive || got.FirstName != "Renamed" || got.IdentityID != in.Identity.ID ||
				!got.JoinedAt.Equal(e.clock.Now()) || got.LastLoginIP != browser.IP || got.LastLoginDevice != "Firefox 132 on Windows" {
				t.Errorf("registered user = %+v", got)
			}
			ev := e.lastEvent(t, e.acct.ID, before)
			if ev.Action != roster.ActionUserJoined || ev.ActorID != u.ID || ev.IP != browser.IP {
				t.Errorf("audit event = %+v; want user.joined by the user", ev)
			}
			if sess, ident, err := e.svc.Authenticate(e.ctx, in.Token, browser); err != nil || ident.ID != in.Identity.ID || sess.ID != in.Session.ID {
				t.Errorf("Authenticate(new session) = %v, %v, %v", sess, ident, err)
			}
			if v, _ := e.svc.Invitation(e.ctx, token); v.State != roster.LinkUsed {
				t.Errorf("state of a used link = %s", v.State)
			}
			_, err = e.svc.Register(e.ctx, token, roster.RegisterInput{FirstName: "Again", LastName: "Again", Password: goodPassword, Confirm: goodPassword}, browser)
			wantCode(t, err, roster.CodeConflict, "Register with a used link")
		})
		t.Run("invalid input is refused per field and changes nothing", func(t *testing.T) {
			u := e.invite(t, e.tenant)
			token, _ := e.inviteToken(t, u)
			for _, tc := range []struct {
				name   string
				in     roster.RegisterInput
				fields []string
			}{
				{"short names", roster.RegisterInput{FirstName: "Al", LastName: "", Password: goodPassword, Confirm: goodPassword}, []string{"first_name", "last_name"}},
				{"short password", roster.RegisterInput{FirstName: "Alice", LastName: "Smith", Password: "too short", Confirm: "too short"}, []string{"password"}},
				{"common password", roster.RegisterInput{FirstName: "Alice", LastName: "Smith", Password: "passwordpassword", Confirm: "passwordpassword"}, []string{"password"}},
				{"password is the email", roster.RegisterInput{FirstName: "Alice", LastName: "Smith", Password: strings.ToUpper(u.Email), Confirm: strings.ToUpper(u.Email)}, []string{"password"}},
				{"confirmation differs", roster.RegisterInput{FirstName: "Alice", LastName: "Smith", Password: goodPassword, Confirm: goodPassword + "!"}, []string{"confirm"}},
			} {
				before := e.snapshot(t, e.acct.ID)
				_, err := e.svc.Register(e.ctx, token, tc.in, browser)
				re := wantCode(t, err, roster.CodeInvalid, tc.name)
				if got := fieldNames(re); !slicesEqual(got, tc.fields) {
					t.Errorf("%s: fields %v; want %v (%v)", tc.name, got, tc.fields, re.Fields)
				}
				e.unchanged(t, before, tc.name)
			}
		})
		t.Run("expired, superseded and unknown links", func(t *testing.T) {
			u := e.invite(t, e.tenant)
			old, oldID := e.inviteToken(t, u)
			e.markSent(t, u, oldID, e.clock.Now().Add(-time.Hour))
			if v, _ := e.svc.Invitation(e.ctx, old); v.State != roster.LinkExpired {
				t.Errorf("link sent an hour ago: %s; want expired", v.State)
			}
			if _, err := e.svc.ResendInvitation(e.ctx, e.admin, e.acct.ID, u.ID); err != nil {
				t.Fatal(err)
			}
			fresh, freshID := e.inviteToken(t, u)
			if v, _ := e.svc.Invitation(e.ctx, old); v.State != roster.LinkSuperseded {
				t.Errorf("link after a resend: %s; want superseded", v.State)
			}
			// Not yet recorded as sent: valid (the mail went out, the mark was lost).
			if v, _ := e.svc.Invitation(e.ctx, fresh); v.State != roster.LinkValid {
				t.Errorf("fresh link: %s; want valid", v.State)
			}
			e.markSent(t, u, freshID, e.clock.Now().Add(-59*time.Minute))
			if v, _ := e.svc.Invitation(e.ctx, fresh); v.State != roster.LinkValid {
				t.Errorf("link sent 59 minutes ago: %s; want valid", v.State)
			}
			for _, tok := range []string{"", "nonsense", strings.Repeat("x", 5000), roster.InvitationToken([]byte("other secret"), freshID)} {
				if v, err := e.svc.Invitation(e.ctx, tok); err != nil || v.State != roster.LinkUnknown {
					t.Errorf("Invitation(%.20q) = %+v, %v; want unknown", tok, v, err)
				}
			}
			if err := e.svc.DeleteUser(e.ctx, e.admin, e.acct.ID, u.ID); err != nil {
				t.Fatal(err)
			}
			if v, _ := e.svc.Invitation(e.ctx, fresh); v.State != roster.LinkUnknown {
				t.Errorf("link of a deleted user: %s; want unknown", v.State)
			}
		})
		t.Run("50 concurrent uses of one link register once", func(t *testing.T) {
			u := e.invite(t, e.tenant)
			token, _ := e.inviteToken(t, u)
			var wg sync.WaitGroup
			var mu sync.Mutex
			wins, conflicts := 0, 0
			for i := range 50 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					// Each racer from its own address: the race is for the
					// link, not for one network's sign-in budget (30 at once).
					client := roster.Client{IP: fmt.Sprintf("192.0.2.%d", i+1), UserAgent: firefox}
					_, err := e.svc.Register(e.ctx, token, roster.RegisterInput{FirstName: fmt.Sprintf("Racer%02d", i), LastName: "Tester",
						Password: goodPassword, Confirm: goodPassword}, client)
					mu.Lock()
					defer mu.Unlock()
					switch {
					case err == nil:
						wins++
					case roster.ErrorCode(err) == roster.CodeConflict:
						conflicts++
					default:
						t.Errorf("Register = %v", err)
					}
				}()
			}
			wg.Wait()
			if wins != 1 || conflicts != 49 {
				t.Errorf("50 registrations: %d won, %d conflicts; want 1 and 49", wins, conflicts)
			}
			if got := e.user(t, u.AccountID, u.ID); got.Status != roster.StatusActive {
				t.Errorf("user after the race: %s", got.Status)
			}
		})
	})
}

func fieldNames(e *roster.Error) []string {
	var out []string
	for _, f := range e.Fields {
		if len(out) == 0 || out[len(out)-1] != f.Field {
			out = append(out, f.Field)
		}
	}
	return out
}

func slicesEqual(a, b []string) bool { return strings.Join(a, ",") == strings.Join(b, ",") }

func TestAcceptInvitation(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, s roster.Store) {
		e := newEnv(t, s)
		other := e.newTenant(t)
		// An Expert-like person: registered in the tenant, invited to other.
		u, first := e.register(t, e.tenant)
		inv := e.invite(t, other, func(in *roster.InviteInput) { in.Email = strings.ToUpper(u.Email) })
		token, _ := e.inviteToken(t, inv)
		v, err := e.svc.Invitation(e.ctx, token)
		if err != nil || !v.HasIdentity || v.State != roster.LinkValid {
			t.Fatalf("Invitation for an existing identity = %+v, %v", v, err)
		}
		_, err = e.svc.Register(e.ctx, token, roster.RegisterInput{FirstName: "Xavier", LastName: "Tester", Password: goodPassword, Confirm: goodPassword}, browser)
		wantCode(t, err, roster.CodeConflict, "Register for an email that has an identity")
		_, err = e.svc.AcceptInvitation(e.ctx, token, "wrong password here", nil, browser)
		wantCode(t, err, roster.CodeUnauthorized, "AcceptInvitation with a wrong password")
		stranger, _ := e.register(t, other)
		strangerIdent, _ := e.raw.Identity(e.ctx, stranger.IdentityID)
		_, err = e.svc.AcceptInvitation(e.ctx, token, "", strangerIdent, browser)
		wantCode(t, err, roster.CodeForbidden, "AcceptInvitation signed in as someone else")

		in, err := e.svc.AcceptInvitation(e.ctx, token, goodPassword, nil, browser)
		if err != nil || in.Token == "" || in.Identity.ID != first.Identity.ID {
			t.Fatalf("AcceptInvitation = %+v, %v", in, err)
		}
		joined := e.user(t, other.acct.ID, inv.ID)
		if joined.Status != roster.StatusActive || joined.IdentityID != first.Identity.ID {
			t.Errorf("accepted user = %+v", joined)
		}
		ms, err := e.svc.Memberships(e.ctx, in.Identity)
		if err != nil || len(ms) != 2 {
			t.Fatalf("Memberships = %v, %v; want two", ms, err)
		}
		// The identity acts in both accounts, and nowhere else.
		for _, acct := range []string{e.acct.ID, other.acct.ID} {
			if a, err := e.svc.ActorFor(e.ctx, in.Identity, acct, browser); err != nil || a.AccountID != acct {
				t.Errorf("ActorFor(%s) = %+v, %v", acct, a, err)
			}
		}
		third := e.newTenant(t)
		_, err = e.svc.ActorFor(e.ctx, in.Identity, third.acct.ID, browser)
		wantCode(t, err, roster.CodeNotFound, "ActorFor an account the identity is not in")

		// Accepting while signed in as the right identity needs no password.
		inv2 := e.invite(t, third, func(in *roster.InviteInput) { in.Email = u.Email })
		token2, _ := e.inviteToken(t, inv2)
		if got, err := e.svc.AcceptInvitation(e.ctx, token2, "", in.Identity, browser); err != nil || got.Token != "" {
			t.Errorf("AcceptInvitation signed in = %+v, %v; want no new session", got, err)
		}
	})
}

func TestSignIn(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, s roster.Store) {
		e := newEnv(t, s)
		u, _ := e.register(t, e.tenant)
		t.Run("success", func(t *testing.T) {
			e.clock.Advance(time.Minute)
			in, err := e.svc.SignIn(e.ctx, "  "+strings.ToUpper(u.Email)+" ", goodPassword, roster.Client{IP: "203.0.113.9", UserAgent: firefox})
			if err != nil {
				t.Fatalf("SignIn = %v", err)
			}
			d, err := e.svc.User(e.ctx, e.admin, e.acct.ID, u.ID)
			if err != nil || !d.LastLoginAt.Equal(e.clock.Now()) || d.LastLoginIP != "203.0.113.9" || d.LastLoginDevice != "Firefox 132 on Windows" {
				t.Errorf("details after sign-in = %+v, %v", d, err)
			}
			if in.Session.Device != "Firefox 132 on Windows" || !in.Session.ExpiresAt.Equal(e.clock.Now().Add(24*time.Hour)) {
				t.Errorf("session = %+v", in.Session)
			}
		})
		t.Run("every failure is the same answer", func(t *testing.T) {
			revoked, _ := e.register(t, e.tenant)
			deleted, _ := e.register(t, e.tenant)
			expired, _ := e.register(t, e.tenant, func(in *roster.InviteInput) {
				until := e.clock.Now().Add(2 * time.Hour)
				in.AccessUntil = &until
			})
			if _, err := e.svc.RevokeUser(e.ctx, e.admin, e.acct.ID, revoked.ID, roster.RevokeInput{Reason: roster.ReasonIssueResolved}); err != nil {
				t.Fatal(err)
			}
			if err := e.svc.DeleteUser(e.ctx, e.admin, e.acct.ID, deleted.ID); err != nil {
				t.Fatal(err)
			}
			e.clock.Advance(3 * time.Hour)
			var want string
			for _, c := range []struct{ name, email, pw string }{
				{"unknown email", "nobody@acme.example", goodPassword},
				{"wrong password", u.Email, goodPassword + "x"},
				{"revoked", revoked.Email, goodPassword},
				{"deleted", deleted.Email, goodPassword},
				{"past the access deadline", expired.Email, goodPassword},
				{"empty", "", ""},
			} {
				_, err := e.svc.SignIn(e.ctx, c.email, c.pw, browser)
				re := wantCode(t, err, roster.CodeUnauthorized, "SignIn "+c.name)
				got := fmt.Sprintf("%+v", *re)
				if want == "" {
					want = got
				} else if got != want {
					t.Errorf("SignIn %s = %s; want the same as the others: %s", c.name, got, want)
				}
			}
		})
		t.Run("throttled per email after five failures", func(t *testing.T) {
			v, _ := e.register(t, e.tenant)
			c := roster.Client{IP: "192.0.2.77"}
			for i := range 5 {
				_, err := e.svc.SignIn(e.ctx, v.Email, "wrong guess number "+fmt.Sprint(i), c)
				wantCode(t, err, roster.CodeUnauthorized, "failure")
			}
			// Even the right password waits: the answer does not depend on it.
			re := wantCode(t, func() error { _, err := e.svc.SignIn(e.ctx, strings.ToUpper(v.Email), goodPassword, c); return err }(),
				roster.CodeRateLimited, "sixth attempt")
			if re.RetryAfter != 1 {
				t.Errorf("RetryAfter = %d; want 1", re.RetryAfter)
			}
			// An unknown email is throttled the same way.
			for range 5 {
				e.svc.SignIn(e.ctx, "ghost@acme.example", "guess", c)
			}
			wantCode(t, func() error { _, err := e.svc.SignIn(e.ctx, "ghost@acme.example", "guess", c); return err }(), roster.CodeRateLimited, "unknown email")
			e.clock.Advance(time.Second)
			wantCode(t, func() error { _, err := e.svc.SignIn(e.ctx, v.Email, "wrong again", c); return err }(), roster.CodeUnauthorized, "after waiting")
			re = wantCode(t, func() error { _, err := e.svc.SignIn(e.ctx, v.Email, goodPassword, c); return err }(), roster.CodeRateLimited, "seventh")
			if re.RetryAfter != 2 {
				t.Errorf("RetryAfter after six failures = %d; want 2", re.RetryAfter)
			}
			e.clock.Advance(2 * time.Second)
			if _, err := e.svc.SignIn(e.ctx, v.Email, goodPassword, c); err != nil {
				t.Fatalf("SignIn after the delay = %v", err)
			}
			// Success forgets the failures.
			for range 5 {
				e.svc.SignIn(e.ctx, v.Email, "wrong", c)
			}
			wantCode(t, func() error { _, err := e.svc.SignIn(e.ctx, v.Email, goodPassword, c); return err }(), roster.CodeRateLimited, "after five new failures")
		})
		t.Run("throttled per client IP", func(t *testing.T) {
			c := roster.Client{IP: "192.0.2.200"}
			var limited *roster.Error
			for i := range 40 {
				_, err := e.svc.SignIn(e.ctx, fmt.Sprintf("spray%d@acme.example", i), "guess", c)
				if roster.ErrorCode(err) == roster.CodeRateLimited {
					limited = wantCode(t, err, roster.CodeRateLimited, "spray")
					if i != 30 {
						t.Errorf("first refusal at attempt %d; want 30", i)
					}
					break
				}
			}
			if limited == nil || limited.RetryAfter != 2 {
				t.Fatalf("40 attempts from one IP: %+v; want 429 with Retry-After 2", limited)
			}
			// Another IP is not affected.
			if _, err := e.svc.SignIn(e.ctx, u.Email, goodPassword, roster.Client{IP: "192.0.2.201"}); err != nil {
				t.Errorf("SignIn from another IP = %v", err)
			}
		})
	})
}

func TestSessions(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, s roster.Store) {
		e := newEnv(t, s)
		u, reg := e.register(t, e.tenant)
		t.Run("idle and absolute limits", func(t *testing.T) {
			in, err := e.svc.SignIn(e.ctx, u.Email, goodPassword, browser)
			if err != nil {
				t.Fatal(err)
			}
			for range 30 { // 30 × 59 minutes: kept alive by use, until the absolute limit
				e.clock.Advance(59 * time.Minute)
				if _, _, err := e.svc.Authenticate(e.ctx, in.Token, browser); err != nil {
					if e.clock.Now().Before(in.Session.ExpiresAt) {
						t.Fatalf("Authenticate at %s = %v; session expires at %s", e.clock.Now(), err, in.Session.ExpiresAt)
					}
					break
				}
				if !e.clock.Now().Before(in.Session.ExpiresAt) {
					t.Fatalf("Authenticate past the absolute limit succeeded")
				}
			}
			in, err = e.svc.SignIn(e.ctx, u.Email, goodPassword, browser)
			if err != nil {
				t.Fatal(err)
			}
			e.clock.Advance(time.Hour)
			_, _, err = e.svc.Authenticate(e.ctx, in.Token, browser)
			wantCode(t, err, roster.CodeUnauthorized, "Authenticate after an idle hour")
		})
		t.Run("list and end own sessions only", func(t *testing.T) {
			a, _ := e.svc.SignIn(e.ctx, u.Email, goodPassword, browser)
			b, _ := e.svc.SignIn(e.ctx, u.Email, goodPassword, roster.Client{IP: "192.0.2.5"})
			list, err := e.svc.Sessions(e.ctx, a.Session)
			if err != nil || len(list) != 2 || list[0].ID != b.Session.ID {
				t.Fatalf("Sessions = %+v, %v; want b then a", list, err)
			}
			other, otherIn := e.register(t, e.tenant)
			_ = other
			err = e.svc.EndSession(e.ctx, otherIn.Session, a.Session.ID)
			wantCode(t, err, roster.CodeNotFound, "EndSession of another identity's session")
			if err := e.svc.EndSession(e.ctx, a.Session, b.Session.ID); err != nil {
				t.Fatal(err)
			}
			_, _, err = e.svc.Authenticate(e.ctx, b.Token, browser)
			wantCode(t, err, roster.CodeUnauthorized, "Authenticate an ended session")
			if err := e.svc.SignOut(e.ctx, a.Session); err != nil {
				t.Fatal(err)
			}
			_, _, err = e.svc.Authenticate(e.ctx, a.Token, browser)
			wantCode(t, err, roster.CodeUnauthorized, "Authenticate after sign-out")
		})
		t.Run("revoke, deadline and delete end access on the next request", func(t *testing.T) {
			for _, c := range []struct {
				name string
				end  func(u *roster.User)
			}{
				{"revoke", func(u *roster.User) {
					if _, err := e.svc.RevokeUser(e.ctx, e.admin, e.acct.ID, u.ID, roster.RevokeInput{Reason: roster.ReasonSecurityPrivacy}); err != nil {
						t.Fatal(err)
					}
				}},
				{"delete", func(u *roster.User) {
					if err := e.svc.DeleteUser(e.ctx, e.admin, e.acct.ID, u.ID); err != nil {
						t.Fatal(err)
					}
				}},
				{"deadline", func(u *roster.User) {
					until := e.clock.Now().Add(time.Minute)
					if _, err := e.svc.UpdateUser(e.ctx, e.admin, e.acct.ID, u.ID, roster.UpdateInput{AccessUntil: &until}, ""); err != nil {
						t.Fatal(err)
					}
					e.clock.Advance(time.Minute)
				}},
			} {
				v, in := e.register(t, e.tenant)
				if _, err := e.svc.ActorFor(e.ctx, in.Identity, e.acct.ID, browser); err != nil {
					t.Fatal(err)
				}
				c.end(v)
				_, _, err := e.svc.Authenticate(e.ctx, in.Token, browser)
				wantCode(t, err, roster.CodeUnauthorized, "Authenticate after "+c.name)
				_, err = e.svc.ActorFor(e.ctx, in.Identity, e.acct.ID, browser)
				wantCode(t, err, roster.CodeNotFound, "ActorFor after "+c.name)
			}
		})
		_ = reg
	})
}

func TestPasswordReset(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, s roster.Store) {
		e := newEnv(t, s)
		u, in := e.register(t, e.tenant)
		resets := func() []string {
			d := e.raw.(db)
			rows, err := d.ReadDB().QueryContext(e.ctx, `SELECT ref FROM outbox WHERE kind = 'password_reset' AND to_addr = $1 ORDER BY created_at, id`, u.Email)
			if err != nil {
				t.Fatal(err)
			}
			defer rows.Close()
			var out []string
			for rows.Next() {
				var r string
				rows.Scan(&r)
				out = append(out, r)
			}
			return out
		}
		if err := e.svc.RequestPasswordReset(e.ctx, "nobody@acme.example", browser); err != nil {
			t.Fatalf("RequestPasswordReset(unknown) = %v", err)
		}
		if err := e.svc.RequestPasswordReset(e.ctx, strings.ToUpper(u.Email), browser); err != nil {
			t.Fatalf("RequestPasswordReset = %v", err)
		}
		e.svc.Drain()
		refs := resets()
		if len(refs) != 1 {
			t.Fatalf("reset emails = %v; want one", refs)
		}
		first := roster.PasswordResetToken(make([]byte, 32), refs[0])
		if err := e.svc.RequestPasswordReset(e.ctx, u.Email, browser); err != nil {
			t.Fatal(err)
		}
		e.svc.Drain()
		refs = resets()
		token := roster.PasswordResetToken(make([]byte, 32), refs[1])
		if v, _ := e.svc.PasswordReset(e.ctx, first); v.State != roster.LinkSuperseded {
			t.Errorf("first link after a second request: %s", v.State)
		}
		if v, _ := e.svc.PasswordReset(e.ctx, token); v.State != roster.LinkValid || v.Email != u.Email {
			t.Errorf("second link: %+v", v)
		}
		err := e.svc.ResetPassword(e.ctx, token, "short", "short", browser)
		wantCode(t, err, roster.CodeInvalid, "ResetPassword with a short password")
		const newPassword = "another quite long passphrase"
		if err := e.svc.ResetPassword(e.ctx, token, newPassword, newPassword, browser); err != nil {
			t.Fatalf("ResetPassword = %v", err)
		}
		_, _, err = e.svc.Authenticate(e.ctx, in.Token, browser)
		wantCode(t, err, roster.CodeUnauthorized, "the session from before the reset")
		_, err = e.svc.SignIn(e.ctx, u.Email, goodPassword, browser)
		wantCode(t, err, roster.CodeUnauthorized, "SignIn with the old password")
		if _, err := e.svc.SignIn(e.ctx, u.Email, newPassword, browser); err != nil {
			t.Errorf("SignIn with the new password = %v", err)
		}
		err = e.svc.ResetPassword(e.ctx, token, newPassword+"!", newPassword+"!", browser)
		wantCode(t, err, roster.CodeConflict, "ResetPassword with a used link")
		if v, _ := e.svc.PasswordReset(e.ctx, token); v.State != roster.LinkUsed {
			t.Errorf("used link: %s", v.State)
		}
	})
}

func TestSetup(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, s roster.Store) {
		clock := testdb.NewClock(start)
		svc := roster.NewService(s, roster.Config{Secret: make([]byte, 32), Clock: clock, Passwords: cheapPasswords})
		ctx := t.Context()
		a, err := svc.SetupLink(ctx)
		if err != nil || a == "" {
			t.Fatalf("SetupLink on an empty store = %q, %v", a, err)
		}
		b, _ := svc.SetupLink(ctx)
		expired, _ := svc.SetupLink(ctx)
		clock.Advance(59 * time.Minute)
		if st, err := svc.SetupState(ctx, a); err != nil || st != roster.LinkValid {
			t.Fatalf("SetupState = %s, %v", st, err)
		}
		valid := roster.SetupInput{AccountName: "Acme Telecom", FirstName: "Ada", LastName: "Lovelace", Email: "ada@acme.example",
			Password: goodPassword, Confirm: goodPassword}
		bad := valid
		bad.Email, bad.Password = "not an email", "Acme Telecom"
		_, err = svc.Setup(ctx, a, bad, browser)
		re := wantCode(t, err, roster.CodeInvalid, "Setup with bad input")
		if got := fieldNames(re); !slicesEqual(got, []string{"email", "password"}) {
			t.Errorf("fields = %v", re.Fields)
		}
		if has, _ := s.HasAccounts(ctx); has {
			t.Fatal("a refused setup created an account")
		}
		// Two links used at once: exactly one creates the account.
		var wg sync.WaitGroup
		results := make([]error, 2)
		for i, tok := range []string{a, b} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				in := valid
				in.Email = fmt.Sprintf("admin%d@acme.example", i)
				_, results[i] = svc.Setup(ctx, tok, in, browser)
			}()
		}
		wg.Wait()
		if (results[0] == nil) == (results[1] == nil) {
			t.Fatalf("two concurrent setups = %v; want exactly one success", results)
		}
		for _, err := range results {
			if err != nil && roster.ErrorCode(err) != roster.CodeConflict {
				t.Errorf("losing setup = %v; want conflict", err)
			}
		}
		for _, tok := range []string{a, b, expired} {
			st, _ := svc.SetupState(ctx, tok)
			if st != roster.LinkUsed && st != roster.LinkSetupDone {
				t.Errorf("SetupState after setup = %s", st)
			}
		}
		if st, _ := svc.SetupState(ctx, "nonsense"); st != roster.LinkSetupDone {
			t.Errorf("unknown token after setup = %s; want setup_done", st)
		}
		if tok, err := svc.SetupLink(ctx); tok != "" || err != nil {
			t.Errorf("SetupLink after setup = %q, %v", tok, err)
		}
	})
	testdb.Each(t, func(t *testing.T, s roster.Store) {
		clock := testdb.NewClock(start)
		svc := roster.NewService(s, roster.Config{Secret: make([]byte, 32), Clock: clock, Passwords: cheapPasswords})
		tok, _ := svc.SetupLink(t.Context())
		clock.Advance(time.Hour)
		if st, _ := svc.SetupState(t.Context(), tok); st != roster.LinkExpired {
			t.Errorf("link an hour old = %s; want expired", st)
		}
	})
}

// BenchmarkSignInFailures times a failed sign-in for each reason it can
// fail, with the production hashing parameters, so the figures show that
// the answers take the same time (docs/benchmarks.md). Run with
//
//	go test -run '^$' -bench SignInFailures -count 6 . | benchstat -
func BenchmarkSignInFailures(b *testing.B) {
	e := newEnv(b, testdb.SQLite(b))
	e.svc = roster.NewService(e.store, roster.Config{StaffDomains: []string{staffDomain}, Secret: make([]byte, 32),
		Clock: e.clock, Passwords: password.Default()})
	// Users registered with the production hash, then put in each state.
	reg := func(mods ...func(*roster.InviteInput)) *roster.User {
		u := e.invite(b, e.tenant, mods...)
		token, _ := e.inviteToken(b, u)
		if _, err := e.svc.Register(e.ctx, token, roster.RegisterInput{FirstName: u.FirstName, LastName: u.LastName,
			Password: goodPassword, Confirm: goodPassword}, browser); err != nil {
			b.Fatal(err)
		}
		return u
	}
	active, revoked, deleted := reg(), reg(), reg()
	until := e.clock.Now().Add(time.Hour)
	expired := reg(func(in *roster.InviteInput) { in.AccessUntil = &until })
	if _, err := e.svc.RevokeUser(e.ctx, e.admin, e.acct.ID, revoked.ID, roster.RevokeInput{Reason: roster.ReasonOther, Note: "bench"}); err != nil {
		b.Fatal(err)
	}
	if err := e.svc.DeleteUser(e.ctx, e.admin, e.acct.ID, deleted.ID); err != nil {
		b.Fatal(err)
	}
	causes := []struct{ name, email, pw string }{
		{"unknown-email", "nobody@acme.example", goodPassword},
		{"wrong-password", active.Email, goodPassword + "x"},
		{"revoked", revoked.Email, goodPassword},
		{"deleted", deleted.Email, goodPassword},
		{"past-deadline", expired.Email, goodPassword},
	}
	// The causes take turns within each iteration, so a machine whose
	// speed drifts slows them all alike; each gets its own figure.
	spent := make([]time.Duration, len(causes))
	// Warm up: the stand-in hash for unknown emails is made on first use.
	if _, err := e.svc.SignIn(e.ctx, causes[0].email, causes[0].pw, browser); roster.ErrorCode(err) != roster.CodeUnauthorized {
		b.Fatal(err)
	}
	for b.Loop() {
		// An hour later each time: the throttles have forgotten the last
		// failure, so every attempt takes the full path.
		e.clock.Advance(time.Hour)
		for i, c := range causes {
			t0 := time.Now()
			_, err := e.svc.SignIn(e.ctx, c.email, c.pw, browser)
			spent[i] += time.Since(t0)
			if roster.ErrorCode(err) != roster.CodeUnauthorized {
				b.Fatalf("SignIn %s = %v; want unauthorized", c.name, err)
			}
		}
	}
	for i, c := range causes {
		b.ReportMetric(float64(spent[i].Microseconds())/1000/float64(b.N), "ms/"+c.name)
	}
	b.ReportMetric(0, "ns/op")
}

// TestThrottlesHoldUnderConcurrency checks that many guesses at once for one
// email get no more password checks than one at a time would: five, then
// the delay.
func TestThrottlesHoldUnderConcurrency(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, s roster.Store) {
		e := newEnv(t, s)
		u, _ := e.register(t, e.tenant)
		var wg sync.WaitGroup
		var mu sync.Mutex
		codes := map[string]int{}
		for i := range 40 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				// Each from its own address: only the email throttle applies.
				_, err := e.svc.SignIn(e.ctx, u.Email, fmt.Sprintf("wrong guess %d", i), roster.Client{IP: fmt.Sprintf("192.0.2.%d", i+1)})
				mu.Lock()
				codes[roster.ErrorCode(err)]++
				mu.Unlock()
			}()
		}
		wg.Wait()
		if codes[roster.CodeUnauthorized] != 5 || codes[roster.CodeRateLimited] != 35 {
			t.Errorf("40 concurrent guesses: %v; want 5 checked (unauthorized) and 35 refused", codes)
		}
	})
}

// busyOnce is a Passwords whose first admission fails as if the hashing
// queue were full.
type busyOnce struct {
	roster.Passwords
	mu    sync.Mutex
	tried bool
}

var errBusyOnce = errors.New("busy once")

func (b *busyOnce) fail() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	first := !b.tried
	b.tried = true
	return first
}

func (b *busyOnce) Admit() (roster.PasswordWork, error) {
	if b.fail() {
		return nil, errBusyOnce
	}
	return b.Passwords.Admit()
}

func (b *busyOnce) Busy(err error) bool { return err == errBusyOnce || b.Passwords.Busy(err) }

func TestBusyHasherDoesNotStick(t *testing.T) {
	t.Parallel()
	e := newEnv(t, testdb.SQLite(t))
	u, _ := e.register(t, e.tenant)
	svc := roster.NewService(e.store, roster.Config{Secret: make([]byte, 32), Clock: e.clock, Passwords: &busyOnce{Passwords: cheapPasswords}})
	_, err := svc.SignIn(e.ctx, "nobody@acme.example", "guess", browser)
	wantCode(t, err, roster.CodeRateLimited, "SignIn while the hashing queue is full")
	if _, err := svc.SignIn(e.ctx, u.Email, goodPassword, browser); err != nil {
		t.Errorf("SignIn once the queue has room = %v", err)
	}
}

func TestIPv6ClientsThrottledPerSlash64(t *testing.T) {
	t.Parallel()
	e := newEnv(t, testdb.SQLite(t))
	var refused *roster.Error
	for i := range 40 {
		c := roster.Client{IP: fmt.Sprintf("2001:db8:1:2::%x", i+1)}
		if _, err := e.svc.SignIn(e.ctx, fmt.Sprintf("spray%d@acme.example", i), "guess", c); roster.ErrorCode(err) == roster.CodeRateLimited {
			refused = wantCode(t, err, roster.CodeRateLimited, "spray")
			if i != 30 {
				t.Errorf("first refusal at attempt %d; want 30", i)
			}
			break
		}
	}
	if refused == nil {
		t.Fatal("40 failures from one /64 were never throttled")
	}
	if _, err := e.svc.SignIn(e.ctx, "other@acme.example", "guess", roster.Client{IP: "2001:db8:1:3::1"}); roster.ErrorCode(err) != roster.CodeUnauthorized {
		t.Errorf("SignIn from another /64 = %v; want unauthorized", err)
	}
}

func TestUnsentLinkExpires(t *testing.T) {
	t.Parallel()
	e := newEnv(t, testdb.SQLite(t))
	u := e.invite(t, e.tenant)
	token, _ := e.inviteToken(t, u)
	e.clock.Advance(roster.MailLifetime + 59*time.Minute)
	if v, _ := e.svc.Invitation(e.ctx, token); v.State != roster.LinkValid {
		t.Errorf("unsent link while the worker may still be trying: %s; want valid", v.State)
	}
	e.clock.Advance(time.Minute)
	if v, _ := e.svc.Invitation(e.ctx, token); v.State != roster.LinkExpired {
		t.Errorf("unsent link after the mail lifetime and the link's own: %s; want expired", v.State)
	}
}

func TestResetRefusesNames(t *testing.T) {
	t.Parallel()
	e := newEnv(t, testdb.SQLite(t))
	u, _ := e.register(t, e.tenant, func(in *roster.InviteInput) { in.FirstName, in.LastName = "Bartholomew", "Featherstonehaugh" })
	if err := e.svc.RequestPasswordReset(e.ctx, u.Email, browser); err != nil {
		t.Fatal(err)
	}
	e.svc.Drain()
	d := e.raw.(db)
	var ref string
	if err := d.ReadDB().QueryRowContext(e.ctx, `SELECT ref FROM outbox WHERE kind = 'password_reset' AND to_addr = $1`, u.Email).Scan(&ref); err != nil {
		t.Fatal(err)
	}
	token := roster.PasswordResetToken(make([]byte, 32), ref)
	for _, pw := range []string{"Bartholomew Featherstonehaugh", "featherstonehaugh"} {
		err := e.svc.ResetPassword(e.ctx, token, pw, pw, browser)
		re := wantCode(t, err, roster.CodeInvalid, "ResetPassword to "+pw)
		if got := fieldNames(re); !slicesEqual(got, []string{"password"}) {
			t.Errorf("fields = %v", re.Fields)
		}
	}
}

func TestCanonicalEmail(t *testing.T) {
	for _, in := range []string{"ada@acme.example", "  Ada@ACME.example ", "ａｄａ＠ａｃｍｅ．ｅｘａｍｐｌｅ", "a d a@acme.example", "ADA@acme.example\t"} {
		if got := roster.CanonicalEmail(in); got != "ada@acme.example" {
			t.Errorf("CanonicalEmail(%q) = %q; want ada@acme.example", in, got)
		}
	}
	// Throttled as one: five failures under one spelling, the sixth under another.
	e := newEnv(t, testdb.SQLite(t))
	for i, spelling := range []string{"ghost@acme.example", "GHOST@acme.example", " ghost@acme.example", "ｇｈｏｓｔ@acme.example", "ghost@ACME.EXAMPLE"} {
		_, err := e.svc.SignIn(e.ctx, spelling, "guess", roster.Client{IP: fmt.Sprintf("192.0.2.%d", i+1)})
		wantCode(t, err, roster.CodeUnauthorized, "failure "+spelling)
	}
	_, err := e.svc.SignIn(e.ctx, "Ｇhost@acme.example", "guess", roster.Client{IP: "192.0.2.99"})
	wantCode(t, err, roster.CodeRateLimited, "sixth attempt under yet another spelling")
}
