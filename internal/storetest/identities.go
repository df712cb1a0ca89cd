package storetest

import (
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"roster"
)

// runIdentities holds a store to the contract of sign-in: identities and
// their memberships, sessions, password resets, invitation use, login
// throttling, first-run setup, mail rendering reads and pruning.
func runIdentities(t *testing.T, setup func(t *testing.T) *fixture) {
	t.Run("Identity", func(t *testing.T) {
		t.Parallel()
		t.Run("InsertGetSetPassword", func(t *testing.T) {
			t.Parallel()
			f := setup(t)
			id := f.identity(func(id *roster.Identity) { id.Email = "Zoë.Ångström@Example.com" })
			other := f.identity()
			got, err := f.s.Identity(f.ctx, id.ID)
			if err != nil {
				t.Fatalf("Identity = %v", err)
			}
			if d := cmp.Diff(id, got); d != "" {
				t.Errorf("Identity after InsertIdentity (-want +got):\n%s", d)
			}
			got, err = f.s.IdentityByEmail(f.ctx, roster.CanonicalEmail(" ZOË.ÅNGSTRÖM@example.COM "))
			if err != nil {
				t.Fatalf("IdentityByEmail = %v", err)
			}
			if d := cmp.Diff(id, got); d != "" {
				t.Errorf("IdentityByEmail (-want +got):\n%s", d)
			}
			for _, key := range []string{roster.CanonicalEmail("nobody@example.com"), ""} {
				_, err := f.s.IdentityByEmail(f.ctx, key)
				wantCode(t, err, roster.CodeNotFound, "IdentityByEmail(%q)", key)
			}
			for _, missing := range []string{roster.NewID(t0), "not-an-id", ""} {
				_, err := f.s.Identity(f.ctx, missing)
				wantCode(t, err, roster.CodeNotFound, "Identity(%q)", missing)
			}

			at := t0.Add(time.Hour + time.Microsecond)
			f.update(func(tx roster.Tx) error { return tx.SetPassword(f.ctx, id.ID, "new-hash", at) })
			id.PasswordHash, id.PasswordChangedAt, id.UpdatedAt = "new-hash", at, at
			if got, err := f.s.Identity(f.ctx, id.ID); err != nil || !cmp.Equal(id, got) {
				t.Errorf("Identity after SetPassword = %+v, %v; want %+v", got, err, id)
			}
			if got, err := f.s.Identity(f.ctx, other.ID); err != nil || !cmp.Equal(other, got) {
				t.Errorf("SetPassword changed another identity: %+v, %v; want %+v", got, err, other)
			}
			err = f.s.Update(f.ctx, func(tx roster.Tx) error { return tx.SetPassword(f.ctx, roster.NewID(t0), "x", at) })
			wantCode(t, err, roster.CodeNotFound, "SetPassword(missing identity)")
		})
		t.Run("DuplicateEmail", func(t *testing.T) {
			t.Parallel()
			f := setup(t)
			id := f.identity()
			dup := &roster.Identity{ID: roster.NewID(t0), Email: id.Email, EmailKey: id.EmailKey, CreatedAt: t0}
			err := f.s.Update(f.ctx, func(tx roster.Tx) error { return tx.InsertIdentity(f.ctx, dup) })
			wantCode(t, err, roster.CodeConflict, "InsertIdentity(same email key)")
			if _, err := f.s.Identity(f.ctx, dup.ID); roster.ErrorCode(err) != roster.CodeNotFound {
				t.Errorf("Identity(conflicting insert) = %v, want not found", err)
			}
			// Concurrent registrations of one email: exactly one identity.
			key := roster.CanonicalEmail("race@example.com")
			errs := race(10, func(int) error {
				return f.s.Update(f.ctx, func(tx roster.Tx) error {
					return tx.InsertIdentity(f.ctx, &roster.Identity{ID: roster.NewID(t0), Email: "race@example.com", EmailKey: key, CreatedAt: t0})
				})
			})
			if ok, conflicts := countCodes(errs); ok != 1 || conflicts != 9 {
				t.Errorf("10 concurrent InsertIdentity of one email: %d succeeded, %d conflicts (%v); want 1 and 9", ok, conflicts, errors.Join(errs...))
			}
		})
		t.Run("Memberships", func(t *testing.T) {
			t.Parallel()
			f := setup(t)
			id, other := f.identity(), f.identity()
			beta := f.account(func(a *roster.Account) { a.Name = "Beta" })
			alpha := f.account(func(a *roster.Account) { a.Name = "Alpha" })
			gamma := f.account(func(a *roster.Account) { a.Name = "Gamma" })
			member := func(a *roster.Account, id *roster.Identity, mods ...func(*roster.User)) *roster.User {
				return f.user(a, append([]func(*roster.User){func(u *roster.User) { u.Email, u.IdentityID = id.Email, id.ID }}, mods...)...)
			}
			inBeta := member(beta, id)
			inAlpha := member(alpha, id, func(u *roster.User) { u.Status = roster.StatusInactive })
			inGamma := member(gamma, id)
			member(alpha, other)
			invited := f.user(gamma, func(u *roster.User) { u.Status = roster.StatusInvited })

			got, err := f.s.Memberships(f.ctx, id.ID)
			if err != nil {
				t.Fatalf("Memberships = %v", err)
			}
			want := []*roster.Membership{{User: inAlpha, AccountName: "Alpha"}, {User: inBeta, AccountName: "Beta"},
				{User: inGamma, AccountName: "Gamma"}}
			if d := cmp.Diff(want, got); d != "" {
				t.Errorf("Memberships (-want +got):\n%s", d)
			}
			for _, none := range []string{"", roster.NewID(t0)} {
				if got, err := f.s.Memberships(f.ctx, none); err != nil || len(got) != 0 {
					t.Errorf("Memberships(%q) = %d rows, %v; want none (invited users have no identity)", none, len(got), err)
				}
			}

			// UserByIdentity finds the member of one account only.
			if got, err := f.s.UserByIdentity(f.ctx, beta.ID, id.ID); err != nil || !cmp.Equal(inBeta, got) {
				t.Errorf("UserByIdentity(beta) = %+v, %v; want %+v", got, err, inBeta)
			}
			for _, tt := range []struct{ acct, ident string }{
				{beta.ID, other.ID},
				{gamma.ID, ""}, // the invited user's empty identity
				{roster.NewID(t0), id.ID},
				{"not-an-id", id.ID},
			} {
				_, err := f.s.UserByIdentity(f.ctx, tt.acct, tt.ident)
				wantCode(t, err, roster.CodeNotFound, "UserByIdentity(%s, %q)", short(tt.acct), tt.ident)
			}
			_ = invited
		})
		t.Run("CanSignIn", func(t *testing.T) {
			t.Parallel()
			f := setup(t)
			a, b := f.account(), f.account()
			now := t0.Add(24 * time.Hour)
			tests := []struct {
				name  string
				users []func(*roster.User)
				want  bool
			}{
				{"no membership", nil, false},
				{"active", []func(*roster.User){func(u *roster.User) {}}, true},
				{"active before deadline", []func(*roster.User){func(u *roster.User) { u.AccessUntil = now.Add(time.Microsecond) }}, true},
				{"active at deadline", []func(*roster.User){func(u *roster.User) { u.AccessUntil = now }}, false},
				{"active past deadline", []func(*roster.User){func(u *roster.User) { u.AccessUntil = now.Add(-time.Hour) }}, false},
				{"inactive", []func(*roster.User){func(u *roster.User) { u.Status = roster.StatusInactive }}, false},
				{"inactive and expired elsewhere", []func(*roster.User){
					func(u *roster.User) { u.Status = roster.StatusInactive },
					func(u *roster.User) { u.AccessUntil = now.Add(-time.Hour) },
				}, false},
				{"inactive here, active elsewhere", []func(*roster.User){
					func(u *roster.User) { u.Status = roster.StatusInactive },
					func(u *roster.User) {},
				}, true},
			}
			for _, tt := range tests {
				id := f.identity()
				for i, mod := range tt.users {
					acct := []*roster.Account{a, b}[i]
					f.user(acct, func(u *roster.User) { u.Email, u.IdentityID = id.Email, id.ID }, mod)
				}
				if got, err := f.s.CanSignIn(f.ctx, id.ID, now); err != nil || got != tt.want {
					t.Errorf("%s: CanSignIn = %v, %v; want %v", tt.name, got, err, tt.want)
				}
				// SignInIdentity answers the same in the same query.
				got, can, err := f.s.SignInIdentity(f.ctx, id.EmailKey, now)
				if err != nil || got == nil || got.ID != id.ID || got.PasswordHash != id.PasswordHash || can != tt.want {
					t.Errorf("%s: SignInIdentity = %+v, %v, %v; want the identity and %v", tt.name, got, can, err, tt.want)
				}
				// So does SessionByHash, for a session of the identity.
				sess := f.session(id, t0)
				_, ident, may, err := f.s.SessionByHash(f.ctx, sess.TokenHash, now)
				if err != nil || ident == nil || ident.ID != id.ID || may != tt.want {
					t.Errorf("%s: SessionByHash = %+v, %v, %v; want the identity and %v", tt.name, ident, may, err, tt.want)
				}
			}
			if got, can, err := f.s.SignInIdentity(f.ctx, "nobody@example.com", now); got != nil || can || err != nil {
				t.Errorf("SignInIdentity(unknown) = %+v, %v, %v; want nil, false, nil", got, can, err)
			}
			// Invited users have no identity: "" never signs in.
			f.user(a, func(u *roster.User) { u.Status = roster.StatusInvited })
			f.user(a, func(u *roster.User) { u.Status = roster.StatusActive }) // IdentityID "": seeded by the operator
			if got, err := f.s.CanSignIn(f.ctx, "", now); err != nil || got {
				t.Errorf(`CanSignIn("") = %v, %v; want false`, got, err)
			}
		})
		t.Run("RecordLogin", func(t *testing.T) {
			t.Parallel()
			f := setup(t)
			a, b, c := f.account(), f.account(), f.account()
			id, other := f.identity(), f.identity()
			mine := func(u *roster.User) { u.Email, u.IdentityID = id.Email, id.ID }
			activeA := f.user(a, mine, func(u *roster.User) { u.Version = 5 })
			inactiveB := f.user(b, mine, func(u *roster.User) { u.Status = roster.StatusInactive })
			activeC := f.user(c, mine)
			theirs := f.user(a, func(u *roster.User) { u.Email, u.IdentityID = other.Email, other.ID })
			noIdentity := f.user(b) // IdentityID ""

			at := t0.Add(48*time.Hour + time.Microsecond)
			f.update(func(tx roster.Tx) error {
				return tx.RecordLogin(f.ctx, id.ID, at, "2001:db8::42", "Firefox 132 on Windows")
			})
			f.update(func(tx roster.Tx) error { return tx.RecordLogin(f.ctx, "", at, "192.0.2.1", "curl") })
			for _, u := range []*roster.User{activeA, activeC} {
				u.LastLoginAt, u.LastLoginIP, u.LastLoginDevice = at, "2001:db8::42", "Firefox 132 on Windows"
			}
			for _, u := range []*roster.User{activeA, inactiveB, activeC, theirs, noIdentity} {
				// Version and UpdatedAt stay: signing in is not an edit.
				if d := cmp.Diff(u, f.mustUser(u.AccountID, u.ID)); d != "" {
					t.Errorf("user %s after RecordLogin (-want +got):\n%s", u.FullName(), d)
				}
			}
		})
	})

	t.Run("StartSession", func(t *testing.T) {
		t.Parallel()
		f := setup(t)
		a, b := f.account(), f.account()
		id := f.identity()
		mine := func(u *roster.User) { u.Email, u.IdentityID = id.Email, id.ID }
		active := f.user(a, mine)
		inactive := f.user(b, mine, func(u *roster.User) { u.Status = roster.StatusInactive })
		key, other := []byte("the email's key"), []byte("someone else's key")
		for _, k := range [][]byte{key, other} {
			if ok, err := f.s.ReserveLoginAttempt(f.ctx, k, 0, 1, t0); err != nil || !ok {
				t.Fatalf("ReserveLoginAttempt = %v, %v", ok, err)
			}
		}
		at := t0.Add(time.Hour + time.Microsecond)
		sess := newSession(id, at)
		sess.IP, sess.Device = "198.51.100.7", "Safari 18 on macOS"
		if err := f.s.StartSession(f.ctx, sess, key); err != nil {
			t.Fatalf("StartSession = %v", err)
		}
		got, gotID, mayAct, err := f.s.SessionByHash(f.ctx, sess.TokenHash, at)
		if err != nil || !cmp.Equal(got, sess) || gotID == nil || gotID.ID != id.ID || !mayAct {
			t.Errorf("SessionByHash after StartSession = %+v, %+v, %v, %v; want %+v of %s, who may act", got, gotID, mayAct, err, sess, id.ID)
		}
		active.LastLoginAt, active.LastLoginIP, active.LastLoginDevice = at, sess.IP, sess.Device
		for _, u := range []*roster.User{active, inactive} {
			if d := cmp.Diff(u, f.mustUser(u.AccountID, u.ID)); d != "" {
				t.Errorf("user %s after StartSession (-want +got):\n%s", u.FullName(), d)
			}
		}
		if n, _, err := f.s.LoginFailures(f.ctx, key); err != nil || n != 0 {
			t.Errorf("attempts of the signed-in key = %d, %v; want 0", n, err)
		}
		if n, _, err := f.s.LoginFailures(f.ctx, other); err != nil || n != 1 {
			t.Errorf("attempts of another key = %d, %v; want 1", n, err)
		}
		// All or nothing: a session that cannot be written (its id is
		// taken) clears no attempts and records no login.
		if ok, err := f.s.ReserveLoginAttempt(f.ctx, key, 0, 1, t0); err != nil || !ok {
			t.Fatalf("ReserveLoginAttempt = %v, %v", ok, err)
		}
		again := *sess
		again.TokenHash, again.CreatedAt = []byte("another token's hash"), at.Add(time.Hour)
		if err := f.s.StartSession(f.ctx, &again, key); err == nil {
			t.Fatal("StartSession with a session id in use succeeded")
		}
		if n, _, err := f.s.LoginFailures(f.ctx, key); err != nil || n != 1 {
			t.Errorf("attempts after a failed StartSession = %d, %v; want 1", n, err)
		}
		if got := f.mustUser(active.AccountID, active.ID); !got.LastLoginAt.Equal(at) {
			t.Errorf("last login after a failed StartSession = %v; want %v", got.LastLoginAt, at)
		}
	})

	t.Run("Session", func(t *testing.T) {
		t.Parallel()
		t.Run("Lifecycle", func(t *testing.T) {
			t.Parallel()
			f := setup(t)
			x, y := f.identity(), f.identity()
			var xs []*roster.Session
			for i := range 3 {
				xs = append(xs, f.session(x, t0.Add(time.Duration(i)*time.Minute)))
			}
			ys := f.session(y, t0.Add(10*time.Minute))

			// x and y have no user: their sessions are found, with the
			// identity, but they may act nowhere.
			got, gotID, mayAct, err := f.s.SessionByHash(f.ctx, xs[1].TokenHash, t0)
			if err != nil || !cmp.Equal(xs[1], got) || gotID == nil || gotID.ID != x.ID || mayAct {
				t.Errorf("SessionByHash = %+v, %+v, %v, %v; want %+v of %s, who may not act", got, gotID, mayAct, err, xs[1], x.ID)
			}
			_, _, _, err = f.s.SessionByHash(f.ctx, roster.HashSecret("unknown"), t0)
			wantCode(t, err, roster.CodeNotFound, "SessionByHash(unknown)")
			f.wantSessions(x, xs[2], xs[1], xs[0]) // newest first
			f.wantSessions(y, ys)
			if got, err := f.s.Sessions(f.ctx, roster.NewID(t0)); err != nil || len(got) != 0 {
				t.Errorf("Sessions(unknown identity) = %v, %v; want none", got, err)
			}

			dup := newSession(x, t0)
			dup.TokenHash = xs[0].TokenHash
			err = f.s.Update(f.ctx, func(tx roster.Tx) error { return tx.InsertSession(f.ctx, dup) })
			wantCode(t, err, roster.CodeConflict, "InsertSession(same token hash)")

			seen := t0.Add(30*time.Minute + time.Microsecond)
			f.update(func(tx roster.Tx) error { return tx.TouchSession(f.ctx, xs[0].ID, seen) })
			xs[0].LastSeenAt = seen
			if got, _, _, err := f.s.SessionByHash(f.ctx, xs[0].TokenHash, seen); err != nil || !cmp.Equal(xs[0], got) {
				t.Errorf("SessionByHash after TouchSession = %+v, %v; want %+v", got, err, xs[0])
			}
			err = f.s.Update(f.ctx, func(tx roster.Tx) error { return tx.TouchSession(f.ctx, roster.NewID(t0), seen) })
			wantCode(t, err, roster.CodeNotFound, "TouchSession(missing)")

			// Another identity's session cannot be ended by id.
			err = f.s.Update(f.ctx, func(tx roster.Tx) error { return tx.DeleteSession(f.ctx, y.ID, xs[1].ID) })
			wantCode(t, err, roster.CodeNotFound, "DeleteSession(another identity's session)")
			err = f.s.Update(f.ctx, func(tx roster.Tx) error { return tx.DeleteSession(f.ctx, x.ID, roster.NewID(t0)) })
			wantCode(t, err, roster.CodeNotFound, "DeleteSession(missing)")
			f.wantSessions(x, xs[2], xs[1], xs[0])
			f.update(func(tx roster.Tx) error { return tx.DeleteSession(f.ctx, x.ID, xs[1].ID) })
			f.wantSessions(x, xs[2], xs[0])
			_, _, _, err = f.s.SessionByHash(f.ctx, xs[1].TokenHash, seen)
			wantCode(t, err, roster.CodeNotFound, "SessionByHash(ended session)")

			extra := f.session(x, t0.Add(20*time.Minute))
			f.update(func(tx roster.Tx) error { return tx.DeleteSessions(f.ctx, x.ID, xs[0].ID) })
			f.wantSessions(x, xs[0])
			f.update(func(tx roster.Tx) error { return tx.DeleteSessions(f.ctx, x.ID, "") })
			f.wantSessions(x)
			f.wantSessions(y, ys)
			_ = extra
		})
		t.Run("Prune", func(t *testing.T) {
			t.Parallel()
			f := setup(t)
			x := f.identity()
			now := t0.Add(48 * time.Hour)
			idleBefore, failuresBefore := now.Add(-time.Hour), now.Add(-15*time.Minute)
			made := 0
			mk := func(expires, seen time.Time) *roster.Session {
				made++
				s := newSession(x, t0.Add(time.Duration(made)*time.Second))
				s.ExpiresAt, s.LastSeenAt = expires, seen
				f.update(func(tx roster.Tx) error { return tx.InsertSession(f.ctx, s) })
				return s
			}
			live := mk(now.Add(time.Hour), now.Add(-time.Minute))
			idleEdge := mk(now.Add(time.Hour), idleBefore) // last seen exactly at the limit: kept
			mk(now, now.Add(-time.Minute))                 // expires at now
			mk(now.Add(-time.Hour), now.Add(-2*time.Hour)) // expired
			mk(now.Add(time.Hour), idleBefore.Add(-time.Microsecond))

			keys := [][]byte{[]byte("recent"), []byte("edge"), []byte("old")}
			for i, at := range []time.Time{now.Add(-time.Minute), failuresBefore, failuresBefore.Add(-time.Second)} {
				if _, err := f.s.ReserveLoginAttempt(f.ctx, keys[i], 0, 1, at); err != nil {
					t.Fatal(err)
				}
			}
			f.update(func(tx roster.Tx) error {
				return errors.Join(
					tx.InsertSetupToken(f.ctx, []byte("live"), t0, now.Add(time.Minute)),
					tx.InsertSetupToken(f.ctx, []byte("expired"), t0, now),
				)
			})

			var n int64
			f.update(func(tx roster.Tx) (err error) { n, err = tx.Prune(f.ctx, now, idleBefore, failuresBefore); return err })
			if n != 5 {
				t.Errorf("Prune = %d rows, want 5 (3 sessions, 1 failure key, 1 setup token)", n)
			}
			f.wantSessions(x, idleEdge, live)
			for i, want := range []int{1, 1, 0} {
				if got, _, err := f.s.LoginFailures(f.ctx, keys[i]); err != nil || got != want {
					t.Errorf("LoginFailures(%s) after Prune = %d, %v; want %d", keys[i], got, err, want)
				}
			}
			if _, _, err := f.s.SetupTokenByHash(f.ctx, []byte("live")); err != nil {
				t.Errorf("SetupTokenByHash(live) after Prune = %v", err)
			}
			_, _, err := f.s.SetupTokenByHash(f.ctx, []byte("expired"))
			wantCode(t, err, roster.CodeNotFound, "SetupTokenByHash(expired) after Prune")
			f.update(func(tx roster.Tx) (err error) { n, err = tx.Prune(f.ctx, now, idleBefore, failuresBefore); return err })
			if n != 0 {
				t.Errorf("second Prune = %d rows, want 0", n)
			}
		})
		t.Run("LoginFailures", func(t *testing.T) {
			t.Parallel()
			f := setup(t)
			key, other := roster.HashSecret("anna@example.com"), roster.HashSecret("192.0.2.1")
			if n, last, err := f.s.LoginFailures(f.ctx, key); err != nil || n != 0 || !last.IsZero() {
				t.Errorf("LoginFailures(none) = %d, %v, %v; want 0 and the zero time", n, last, err)
			}
			reserve := func(key []byte, seen, next int, at time.Time) bool {
				ok, err := f.s.ReserveLoginAttempt(f.ctx, key, seen, next, at)
				if err != nil {
					t.Fatal(err)
				}
				return ok
			}
			for i := 1; i <= 3; i++ {
				if !reserve(key, i-1, i, minutes(i)) {
					t.Errorf("ReserveLoginAttempt(%d → %d) = false", i-1, i)
				}
			}
			if reserve(key, 2, 3, minutes(4)) || reserve(key, 0, 1, minutes(4)) {
				t.Errorf("ReserveLoginAttempt from a count that is no longer current = true")
			}
			if n, last, err := f.s.LoginFailures(f.ctx, key); err != nil || n != 3 || !last.Equal(minutes(3)) {
				t.Errorf("LoginFailures = %d, %v, %v; want 3 at %v", n, last, err, minutes(3))
			}
			// A stale count starts again at 1.
			if !reserve(key, 3, 1, minutes(90)) {
				t.Errorf("ReserveLoginAttempt(3 → 1) = false")
			}
			if n, last, err := f.s.LoginFailures(f.ctx, key); err != nil || n != 1 || !last.Equal(minutes(90)) {
				t.Errorf("LoginFailures after a restart = %d, %v, %v; want 1 at %v", n, last, err, minutes(90))
			}
			// Of 20 concurrent attempts that saw the same count, one wins:
			// for a new key and for an existing one.
			for _, seen := range []int{0, 1} {
				won := make([]bool, 20)
				errs := race(20, func(i int) (err error) {
					won[i], err = f.s.ReserveLoginAttempt(f.ctx, other, seen, seen+1, minutes(10))
					return err
				})
				if err := errors.Join(errs...); err != nil {
					t.Fatalf("concurrent ReserveLoginAttempt: %v", err)
				}
				if n := len(slices.DeleteFunc(won, func(w bool) bool { return !w })); n != 1 {
					t.Errorf("concurrent ReserveLoginAttempt from %d: %d won; want 1", seen, n)
				}
			}
			f.update(func(tx roster.Tx) error { return tx.ClearLoginFailures(f.ctx, key) })
			f.update(func(tx roster.Tx) error { return tx.ClearLoginFailures(f.ctx, key) })
			if n, _, err := f.s.LoginFailures(f.ctx, key); err != nil || n != 0 {
				t.Errorf("LoginFailures after ClearLoginFailures = %d, %v; want 0", n, err)
			}
			if n, last, err := f.s.LoginFailures(f.ctx, other); err != nil || n != 2 || !last.Equal(minutes(10)) {
				t.Errorf("LoginFailures(other key) = %d, %v, %v; want 2 at %v", n, last, err, minutes(10))
			}
		})
	})

	t.Run("UseInvitation", func(t *testing.T) {
		t.Parallel()
		f := setup(t)
		a := f.account()
		u := f.user(a, func(u *roster.User) { u.Status = roster.StatusInvited })
		inv := f.invitation(u, t0)
		got, err := f.s.InvitationByHash(f.ctx, inv.TokenHash)
		if err != nil || !cmp.Equal(inv, got, cmpopts.EquateEmpty()) {
			t.Errorf("InvitationByHash = %+v, %v; want %+v", got, err, inv)
		}
		_, err = f.s.InvitationByHash(f.ctx, roster.HashSecret("unknown"))
		wantCode(t, err, roster.CodeNotFound, "InvitationByHash(unknown)")

		// 50 concurrent uses of one link: exactly one wins.
		at := t0.Add(time.Minute)
		errs := race(50, func(int) error {
			return f.s.Update(f.ctx, func(tx roster.Tx) error { return tx.UseInvitation(f.ctx, inv.ID, at) })
		})
		if ok, conflicts := countCodes(errs); ok != 1 || conflicts != 49 {
			t.Errorf("50 concurrent UseInvitation: %d succeeded, %d conflicts (%v); want 1 and 49", ok, conflicts, errors.Join(errs...))
		}
		if got, err := f.s.InvitationByHash(f.ctx, inv.TokenHash); err != nil || !got.UsedAt.Equal(at) {
			t.Errorf("InvitationByHash after use = %+v, %v; want used at %v", got, err, at)
		}

		dead := f.invitation(u, t0.Add(time.Hour))
		f.update(func(tx roster.Tx) error { return tx.SupersedeInvitations(f.ctx, a.ID, u.ID) })
		err = f.s.Update(f.ctx, func(tx roster.Tx) error { return tx.UseInvitation(f.ctx, dead.ID, at) })
		wantCode(t, err, roster.CodeConflict, "UseInvitation(superseded)")
		for _, id := range []string{roster.NewID(t0), "not-an-id"} {
			err = f.s.Update(f.ctx, func(tx roster.Tx) error { return tx.UseInvitation(f.ctx, id, at) })
			wantCode(t, err, roster.CodeNotFound, "UseInvitation(%q)", id)
		}
	})

	t.Run("PasswordReset", func(t *testing.T) {
		t.Parallel()
		f := setup(t)
		x, y := f.identity(), f.identity()
		r1 := f.reset(x, minutes(1))
		r2 := f.reset(x, minutes(2))
		ry := f.reset(y, minutes(2))
		got, err := f.s.PasswordResetByHash(f.ctx, r2.TokenHash)
		if err != nil || !cmp.Equal(r2, got, cmpopts.EquateEmpty()) {
			t.Errorf("PasswordResetByHash = %+v, %v; want %+v", got, err, r2)
		}
		_, err = f.s.PasswordResetByHash(f.ctx, roster.HashSecret("unknown"))
		wantCode(t, err, roster.CodeNotFound, "PasswordResetByHash(unknown)")

		f.update(func(tx roster.Tx) error {
			for _, tt := range []struct {
				ident string
				since time.Time
				want  int64
			}{{x.ID, time.Time{}, 2}, {x.ID, minutes(2), 1}, {x.ID, minutes(2).Add(time.Microsecond), 0}, {y.ID, minutes(1), 1}} {
				if n, err := tx.CountPasswordResetsSince(f.ctx, tt.ident, tt.since); err != nil || n != tt.want {
					t.Errorf("CountPasswordResetsSince(%s, %v) = %d, %v; want %d", short(tt.ident), tt.since, n, err, tt.want)
				}
			}
			return nil
		})

		// Sent once: a second mark keeps the first time.
		f.update(func(tx roster.Tx) error { return tx.MarkPasswordResetSent(f.ctx, r2.ID, minutes(3)) })
		f.update(func(tx roster.Tx) error { return tx.MarkPasswordResetSent(f.ctx, r2.ID, minutes(4)) })
		if got, err := f.s.PasswordResetByHash(f.ctx, r2.TokenHash); err != nil || !got.SentAt.Equal(minutes(3)) {
			t.Errorf("SentAt after two marks = %+v, %v; want %v", got, err, minutes(3))
		}

		errs := race(50, func(int) error {
			return f.s.Update(f.ctx, func(tx roster.Tx) error { return tx.UsePasswordReset(f.ctx, r2.ID, minutes(5)) })
		})
		if ok, conflicts := countCodes(errs); ok != 1 || conflicts != 49 {
			t.Errorf("50 concurrent UsePasswordReset: %d succeeded, %d conflicts (%v); want 1 and 49", ok, conflicts, errors.Join(errs...))
		}

		// Superseding kills the unused links of one identity only; a used
		// link stays used, not superseded.
		f.update(func(tx roster.Tx) error { return tx.SupersedePasswordResets(f.ctx, x.ID) })
		for _, tt := range []struct {
			r          *roster.PasswordReset
			superseded bool
			used       time.Time
		}{{r1, true, time.Time{}}, {r2, false, minutes(5)}, {ry, false, time.Time{}}} {
			got, err := f.s.PasswordResetByHash(f.ctx, tt.r.TokenHash)
			if err != nil || got.Superseded != tt.superseded || !got.UsedAt.Equal(tt.used) {
				t.Errorf("reset %s after SupersedePasswordResets = %+v, %v; want superseded %v, used at %v", short(tt.r.ID), got, err, tt.superseded, tt.used)
			}
		}
		err = f.s.Update(f.ctx, func(tx roster.Tx) error { return tx.UsePasswordReset(f.ctx, r1.ID, minutes(6)) })
		wantCode(t, err, roster.CodeConflict, "UsePasswordReset(superseded)")
		err = f.s.Update(f.ctx, func(tx roster.Tx) error { return tx.UsePasswordReset(f.ctx, roster.NewID(t0), minutes(6)) })
		wantCode(t, err, roster.CodeNotFound, "UsePasswordReset(missing)")
		if err := f.s.Update(f.ctx, func(tx roster.Tx) error { return tx.UsePasswordReset(f.ctx, ry.ID, minutes(6)) }); err != nil {
			t.Errorf("UsePasswordReset(another identity's live link) = %v", err)
		}

		// The email of a reset renders from the link and its identity.
		m, err := f.s.ResetMail(f.ctx, r1.ID)
		r1.Superseded = true
		if err != nil || !cmp.Equal(r1, m.Reset, cmpopts.EquateEmpty()) || !cmp.Equal(x, m.Identity) {
			t.Errorf("ResetMail = %+v, %v; want %+v of %+v", m, err, r1, x)
		}
		_, err = f.s.ResetMail(f.ctx, roster.NewID(t0))
		wantCode(t, err, roster.CodeNotFound, "ResetMail(missing)")
	})

	t.Run("Setup", func(t *testing.T) {
		t.Parallel()
		t.Run("Claim", func(t *testing.T) {
			t.Parallel()
			f := setup(t)
			if done, err := f.s.SetupDone(f.ctx); err != nil || done {
				t.Fatalf("SetupDone on an empty store = %v, %v; want false", done, err)
			}
			now := t0.Add(time.Hour)
			_, _, err := f.s.SetupTokenByHash(f.ctx, []byte("a"))
			wantCode(t, err, roster.CodeNotFound, "SetupTokenByHash(unknown)")
			f.update(func(tx roster.Tx) error {
				return errors.Join(
					tx.InsertSetupToken(f.ctx, []byte("a"), t0, now.Add(time.Hour)),
					tx.InsertSetupToken(f.ctx, []byte("b"), t0, now.Add(time.Hour)),
					tx.InsertSetupToken(f.ctx, []byte("expired"), t0, now),
				)
			})
			if exp, used, err := f.s.SetupTokenByHash(f.ctx, []byte("a")); err != nil || !exp.Equal(now.Add(time.Hour)) || !used.IsZero() {
				t.Errorf("SetupTokenByHash = %v, %v, %v; want expiry %v, unused", exp, used, err, now.Add(time.Hour))
			}
			// A token that does not qualify leaves setup undone (the
			// transaction rolls back).
			for _, h := range []string{"unknown", "expired"} {
				err := f.s.Update(f.ctx, func(tx roster.Tx) error { return tx.ClaimSetup(f.ctx, []byte(h), now) })
				wantCode(t, err, roster.CodeNotFound, "ClaimSetup(%s)", h)
			}
			if done, err := f.s.SetupDone(f.ctx); err != nil || done {
				t.Fatalf("SetupDone after failed claims = %v, %v; want false", done, err)
			}

			// Two valid links claimed at once: exactly one setup.
			tokens := []string{"a", "b"}
			errs := race(2, func(i int) error {
				return f.s.Update(f.ctx, func(tx roster.Tx) error { return tx.ClaimSetup(f.ctx, []byte(tokens[i]), now) })
			})
			if ok, conflicts := countCodes(errs); ok != 1 || conflicts != 1 {
				t.Fatalf("two concurrent ClaimSetup: %d succeeded, %d conflicts (%v); want 1 and 1", ok, conflicts, errors.Join(errs...))
			}
			if done, err := f.s.SetupDone(f.ctx); err != nil || !done {
				t.Errorf("SetupDone after a claim = %v, %v; want true", done, err)
			}
			var used int
			for _, h := range tokens {
				_, at, err := f.s.SetupTokenByHash(f.ctx, []byte(h))
				if err != nil {
					t.Fatalf("SetupTokenByHash(%s) = %v", h, err)
				}
				if !at.IsZero() {
					used++
					if !at.Equal(now) {
						t.Errorf("token %s used at %v, want %v", h, at, now)
					}
				}
			}
			if used != 1 {
				t.Errorf("%d tokens used after one successful claim, want 1", used)
			}
			// Once set up, every token (the winner's and the other) conflicts.
			for _, h := range tokens {
				err := f.s.Update(f.ctx, func(tx roster.Tx) error { return tx.ClaimSetup(f.ctx, []byte(h), now) })
				wantCode(t, err, roster.CodeConflict, "ClaimSetup(%s) after setup", h)
			}
		})
		t.Run("MarkSetupDone", func(t *testing.T) {
			t.Parallel()
			f := setup(t)
			now := t0.Add(time.Hour)
			f.update(func(tx roster.Tx) error { return tx.InsertSetupToken(f.ctx, []byte("a"), t0, now.Add(time.Hour)) })
			f.update(func(tx roster.Tx) error { return tx.MarkSetupDone(f.ctx, now) })
			f.update(func(tx roster.Tx) error { return tx.MarkSetupDone(f.ctx, now.Add(time.Minute)) })
			if done, err := f.s.SetupDone(f.ctx); err != nil || !done {
				t.Errorf("SetupDone after MarkSetupDone = %v, %v; want true", done, err)
			}
			err := f.s.Update(f.ctx, func(tx roster.Tx) error { return tx.ClaimSetup(f.ctx, []byte("a"), now) })
			wantCode(t, err, roster.CodeConflict, "ClaimSetup after MarkSetupDone")
			if _, used, err := f.s.SetupTokenByHash(f.ctx, []byte("a")); err != nil || !used.IsZero() {
				t.Errorf("token after a refused claim: used %v, %v; want unused", used, err)
			}
		})
	})

	t.Run("Mail", func(t *testing.T) {
		t.Parallel()
		t.Run("RecentOutbox", func(t *testing.T) {
			t.Parallel()
			f := setup(t)
			a := f.account()
			var want []string
			for i := range 5 {
				m := &roster.OutboxMessage{ID: roster.NewID(t0), AccountID: a.ID, Kind: roster.MailInvitation,
					Ref: roster.NewID(t0), To: fmt.Sprintf("u%d@example.com", i), CreatedAt: minutes(5 - i)}
				if i == 2 {
					// Mail to an identity belongs to no account.
					m.AccountID, m.Kind = "", roster.MailPasswordReset
				}
				f.update(func(tx roster.Tx) error { return tx.InsertOutbox(f.ctx, m) })
				want = append(want, m.ID)
			}
			got, err := f.s.RecentOutbox(f.ctx, 3)
			if err != nil {
				t.Fatalf("RecentOutbox = %v", err)
			}
			var gotIDs []string
			for _, m := range got {
				gotIDs = append(gotIDs, m.ID)
			}
			if !slices.Equal(gotIDs, want[:3]) {
				t.Errorf("RecentOutbox(3) = %v, want the newest three %v", gotIDs, want[:3])
			}
			if len(got) == 3 && (got[2].AccountID != "" || got[2].Kind != roster.MailPasswordReset || got[2].State != roster.OutboxPending || !got[2].CreatedAt.Equal(minutes(3))) {
				t.Errorf("RecentOutbox account-less message = %+v", got[2])
			}
			claimed, err := f.s.ClaimOutbox(f.ctx, "w", minutes(10), minutes(11), 10)
			if err != nil || len(claimed) != 5 {
				t.Errorf("ClaimOutbox with an account-less message = %d messages, %v; want 5", len(claimed), err)
			}
		})
		t.Run("InvitationMail", func(t *testing.T) {
			t.Parallel()
			f := setup(t)
			a, b := f.account(), f.account()
			u := f.user(a, func(u *roster.User) { u.Status = roster.StatusInvited })
			inv := f.invitation(u, t0)
			m, err := f.s.InvitationMail(f.ctx, a.ID, inv.ID)
			if err != nil {
				t.Fatalf("InvitationMail = %v", err)
			}
			if d := cmp.Diff(&roster.InvitationMail{Invitation: inv, User: u, Account: a}, m, cmpopts.EquateEmpty()); d != "" {
				t.Errorf("InvitationMail (-want +got):\n%s", d)
			}
			for _, tt := range []struct{ acct, inv string }{{b.ID, inv.ID}, {a.ID, roster.NewID(t0)}, {a.ID, "not-an-id"}} {
				_, err := f.s.InvitationMail(f.ctx, tt.acct, tt.inv)
				wantCode(t, err, roster.CodeNotFound, "InvitationMail(%s, %s)", short(tt.acct), short(tt.inv))
			}
			f.deleteUser(a.ID, u.ID)
			_, err = f.s.InvitationMail(f.ctx, a.ID, inv.ID)
			wantCode(t, err, roster.CodeNotFound, "InvitationMail(deleted user)")
		})
		t.Run("UserDetailsDelivery", func(t *testing.T) {
			t.Parallel()
			f := setup(t)
			a := f.account()
			invited := f.user(a, func(u *roster.User) { u.Status = roster.StatusInvited })
			f.invitation(invited, t0)
			newer := f.invitation(invited, t0.Add(time.Minute))
			never := f.user(a, func(u *roster.User) { u.Status = roster.StatusInvited })
			active := f.user(a)
			f.invitation(active, t0)

			// The newest invitation's email failed after one attempt.
			claimed, err := f.s.ClaimOutbox(f.ctx, "w", t0.Add(time.Hour), t0.Add(2*time.Hour), 10)
			if err != nil {
				t.Fatalf("ClaimOutbox = %v", err)
			}
			for _, m := range claimed {
				if m.Ref != newer.ID {
					continue
				}
				m.State, m.LastError = roster.OutboxFailed, "550 5.1.1 no such mailbox"
				f.update(func(tx roster.Tx) error { return tx.FinishOutbox(f.ctx, m, "w") })
			}
			d, err := f.s.UserDetails(f.ctx, a.ID, invited.ID, t0)
			want := &roster.InvitationDelivery{State: roster.OutboxFailed, Attempts: 1, LastError: "550 5.1.1 no such mailbox"}
			if err != nil || !cmp.Equal(want, d.Invitation) {
				t.Errorf("UserDetails(invited).Invitation = %+v, %v; want %+v", d, err, want)
			}
			for _, u := range []*roster.User{never, active} {
				if d, err := f.s.UserDetails(f.ctx, a.ID, u.ID, t0); err != nil || d.Invitation != nil {
					t.Errorf("UserDetails(%s).Invitation = %+v, %v; want nil", u.Status, d, err)
				}
			}
		})
	})
}

// identity inserts an identity with a unique email, changed by mods.
func (f *fixture) identity(mods ...func(*roster.Identity)) *roster.Identity {
	f.t.Helper()
	n := seq.Add(1)
	at := t0.Add(time.Duration(n) * time.Millisecond)
	id := &roster.Identity{ID: roster.NewID(at), Email: fmt.Sprintf("Person%04d@Example.com", n),
		PasswordHash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA", CreatedAt: at, UpdatedAt: at, PasswordChangedAt: at}
	for _, m := range mods {
		m(id)
	}
	id.EmailKey = roster.CanonicalEmail(id.Email)
	f.update(func(tx roster.Tx) error { return tx.InsertIdentity(f.ctx, id) })
	return id
}

func newSession(id *roster.Identity, at time.Time) *roster.Session {
	return &roster.Session{ID: roster.NewID(at), IdentityID: id.ID, TokenHash: roster.HashSecret(roster.NewToken()),
		CreatedAt: at, LastSeenAt: at, ExpiresAt: at.Add(24 * time.Hour), IP: "2001:db8::9", Device: "Safari 18 on macOS"}
}

func (f *fixture) session(id *roster.Identity, at time.Time) *roster.Session {
	f.t.Helper()
	s := newSession(id, at)
	f.update(func(tx roster.Tx) error { return tx.InsertSession(f.ctx, s) })
	return s
}

// wantSessions checks an identity's sessions, in order.
func (f *fixture) wantSessions(id *roster.Identity, want ...*roster.Session) {
	f.t.Helper()
	got, err := f.s.Sessions(f.ctx, id.ID)
	if err != nil {
		f.t.Fatalf("Sessions = %v", err)
	}
	if d := cmp.Diff(want, got, cmpopts.EquateEmpty()); d != "" {
		f.t.Errorf("Sessions(%s) (-want +got):\n%s", short(id.ID), d)
	}
}

func (f *fixture) reset(id *roster.Identity, at time.Time) *roster.PasswordReset {
	f.t.Helper()
	r := &roster.PasswordReset{ID: roster.NewID(at), IdentityID: id.ID, CreatedAt: at}
	r.TokenHash = roster.HashSecret(roster.PasswordResetToken(make([]byte, 32), r.ID))
	f.update(func(tx roster.Tx) error { return tx.InsertPasswordReset(f.ctx, r) })
	return r
}

// countCodes counts the successes and the conflicts among errs.
func countCodes(errs []error) (ok, conflicts int) {
	for _, err := range errs {
		switch {
		case err == nil:
			ok++
		case roster.ErrorCode(err) == roster.CodeConflict:
			conflicts++
		}
	}
	return ok, conflicts
}
