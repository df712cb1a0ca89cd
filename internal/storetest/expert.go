package storetest

import (
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"roster"
)

// expertDeadlines holds a store to what time-limited access needs: the
// Expert's access level round trip, the deadline job's work list across
// accounts, its claims (once each, also when concurrent) and an account's
// Admins who may act.
func expertDeadlines(t *testing.T, setup func(*testing.T) *fixture) {
	day := 24 * time.Hour
	t.Run("AccessLevelRoundTrip", func(t *testing.T) {
		t.Parallel()
		f := setup(t)
		a := f.account()
		u := f.user(a, func(u *roster.User) {
			u.Roles, u.ExpertAccess, u.AccessUntil = roster.NewRoleSet(roster.RoleExpert), roster.AccessReadOnly, t0.Add(day)
		})
		if got := f.mustUser(a.ID, u.ID); got.ExpertAccess != roster.AccessReadOnly {
			t.Errorf("User: ExpertAccess = %q, want read_only", got.ExpertAccess)
		}
		u.ExpertAccess, u.Version = roster.AccessLimitedWrite, u.Version+1
		f.update(func(tx roster.Tx) error { return tx.UpdateUser(f.ctx, u) })
		if got := f.mustUser(a.ID, u.ID); got.ExpertAccess != roster.AccessLimitedWrite {
			t.Errorf("after UpdateUser: ExpertAccess = %q, want limited_write", got.ExpertAccess)
		}
		k := newAPIKey(u)
		f.update(func(tx roster.Tx) error { return tx.InsertAPIKey(f.ctx, k) })
		if _, owner, err := f.s.APIKeyOwner(f.ctx, k.Hash); err != nil || owner.ExpertAccess != roster.AccessLimitedWrite {
			t.Errorf("APIKeyOwner = %+v, %v; want the level", owner, err)
		}
	})

	t.Run("DueDeadlinesAndClaims", func(t *testing.T) {
		t.Parallel()
		f := setup(t)
		a, b := f.account(), f.account()
		expert := func(acct *roster.Account, until time.Time, mods ...func(*roster.User)) *roster.User {
			return f.user(acct, append([]func(*roster.User){func(u *roster.User) {
				u.Roles, u.ExpertAccess, u.AccessUntil = roster.NewRoleSet(roster.RoleExpert), roster.AccessReadOnly, until
			}}, mods...)...)
		}
		now := t0.Add(30 * day)
		soon := expert(a, now.Add(3*day))
		ended := expert(b, now.Add(-time.Hour)) // another account: the job spans them
		expert(a, now.Add(10*day))              // beyond the first reminder
		expert(a, now.Add(2*day), func(u *roster.User) { u.Status = roster.StatusInactive })
		expert(a, now.Add(2*day), func(u *roster.User) { u.Status = roster.StatusInvited })
		f.user(a) // no deadline
		due := func(want ...*roster.User) []*roster.DueDeadline {
			t.Helper()
			got, err := f.s.DueDeadlines(f.ctx, now, roster.ExpertReminderFirst, roster.ExpertReminderLast, 100)
			if err != nil {
				t.Fatalf("DueDeadlines = %v", err)
			}
			var ids, wantIDs []string
			for _, d := range got {
				ids = append(ids, d.User.ID)
			}
			for _, u := range want {
				wantIDs = append(wantIDs, u.ID)
			}
			if !slices.Equal(ids, wantIDs) {
				t.Fatalf("DueDeadlines = %v, want %v (soonest deadline first)", ids, wantIDs)
			}
			return got
		}
		d := due(ended, soon)
		if d[1].User.ExpertAccess != roster.AccessReadOnly || !d[1].User.AccessUntil.Equal(soon.AccessUntil) || d[1].ReminderStage != 0 {
			t.Errorf("due user = %+v (stage %d)", d[1].User, d[1].ReminderStage)
		}
		claim := func(what string, fn func(tx roster.Tx) (bool, error), want bool) {
			t.Helper()
			var got bool
			f.update(func(tx roster.Tx) error {
				var err error
				got, err = fn(tx)
				return err
			})
			if got != want {
				t.Errorf("%s = %v, want %v", what, got, want)
			}
		}
		reminder := func(u *roster.User, until time.Time, stage int) func(tx roster.Tx) (bool, error) {
			return func(tx roster.Tx) (bool, error) {
				return tx.ClaimExpertReminder(f.ctx, u.AccountID, u.ID, until, stage)
			}
		}
		end := func(u *roster.User, until time.Time) func(tx roster.Tx) (bool, error) {
			return func(tx roster.Tx) (bool, error) { return tx.ClaimAccessEnd(f.ctx, u.AccountID, u.ID, until) }
		}
		claim("reminder for another deadline", reminder(soon, soon.AccessUntil.Add(time.Second), 1), false)
		claim("reminder of another account", func(tx roster.Tx) (bool, error) {
			return tx.ClaimExpertReminder(f.ctx, b.ID, soon.ID, soon.AccessUntil, 1)
		}, false)
		claim("first reminder", reminder(soon, soon.AccessUntil, 1), true)
		claim("first reminder again", reminder(soon, soon.AccessUntil, 1), false)
		due(ended) // 3 days ahead: the last reminder is not due yet
		claim("last reminder", reminder(soon, soon.AccessUntil, 2), true)
		claim("first reminder after the last", reminder(soon, soon.AccessUntil, 1), false)
		claim("end for another deadline", end(ended, ended.AccessUntil.Add(time.Second)), false)
		claim("end", end(ended, ended.AccessUntil), true)
		claim("end again", end(ended, ended.AccessUntil), false)
		due()
		// A new deadline starts afresh, without anyone resetting the stage.
		soon.AccessUntil, soon.Version = now.Add(5*day), soon.Version+1
		f.update(func(tx roster.Tx) error { return tx.UpdateUser(f.ctx, soon) })
		if d := due(soon); d[0].ReminderStage != 2 || d[0].ReminderUntil.Equal(soon.AccessUntil) {
			t.Errorf("after a new deadline: stage %d for %v, want the old deadline's record", d[0].ReminderStage, d[0].ReminderUntil)
		}
		claim("first reminder of the new deadline", reminder(soon, soon.AccessUntil, 1), true)
		due()

		// Of concurrent claims exactly one wins.
		race := expert(a, now.Add(-time.Minute))
		var wins atomic.Int64
		var wg sync.WaitGroup
		for range 8 {
			wg.Go(func() {
				err := f.s.Update(f.ctx, func(tx roster.Tx) error {
					ok, err := tx.ClaimAccessEnd(f.ctx, race.AccountID, race.ID, race.AccessUntil)
					if ok {
						wins.Add(1)
					}
					return err
				})
				if err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		if wins.Load() != 1 {
			t.Errorf("%d concurrent ClaimAccessEnd won, want 1", wins.Load())
		}

		// The limit holds.
		expert(a, now.Add(-2*time.Minute))
		expert(a, now.Add(-3*time.Minute))
		if got, err := f.s.DueDeadlines(f.ctx, now, roster.ExpertReminderFirst, roster.ExpertReminderLast, 1); err != nil || len(got) != 1 {
			t.Errorf("DueDeadlines(limit 1) = %d users, %v", len(got), err)
		}
	})

	t.Run("ExpiredCountsAsInactive", func(t *testing.T) {
		t.Parallel()
		f := setup(t)
		a := f.account()
		now := t0.Add(30 * day)
		expert := func(st roster.Status, until time.Time, extra ...roster.RoleID) func(*roster.User) {
			return func(u *roster.User) {
				u.Status, u.AccessUntil = st, until
				u.Roles, u.ExpertAccess = roster.NewRoleSet(append(extra, roster.RoleExpert)...), roster.AccessReadOnly
			}
		}
		users := []*roster.User{
			f.user(a),
			f.user(a, expert(roster.StatusActive, now)),                             // ended exactly now
			f.user(a, expert(roster.StatusActive, now.Add(-day), roster.RoleAdmin)), // ended
			f.user(a, expert(roster.StatusActive, now.Add(time.Nanosecond*1000))),   // still on
			f.user(a, func(u *roster.User) { u.Status = roster.StatusInactive }),
			f.user(a, func(u *roster.User) { u.Status = roster.StatusInvited }),
			f.user(a, expert(roster.StatusInactive, now.Add(-day))),
			f.user(a, expert(roster.StatusInvited, now.Add(-day))),
		}
		f.user(f.account(), expert(roster.StatusActive, now.Add(-day))) // another account
		effective := func(u *roster.User) roster.Status {
			if u.AccessExpired(now) {
				return roster.StatusInactive
			}
			return u.Status
		}
		for _, params := range []string{
			"filter=status:is:inactive", "filter=status:is_not:inactive", "filter=status:is:active",
			"filter=status:is_not:active", "filter=status:is:invited", "filter=status:is_not:invited",
			"filter=status:is:inactive&filter=role:is:expert", "filter=status:is:inactive&filter=role:is_not:admin",
			"filter=status:is_not:active&filter=status:is_not:invited", "filter=role:is:expert",
			"filter=status:is:active&filter=status:is:inactive", "",
			"q=first&filter=status:is:inactive", "q=first&filter=status:is:active&filter=role:is:expert",
		} {
			q := f.query(params + "&limit=2")
			q.Now = now
			var want []string
			for _, u := range users {
				ok := true
				for _, fl := range q.Filters {
					is := u.Roles.Has(fl.Role)
					if fl.Status != "" {
						is = effective(u) == fl.Status
					}
					ok = ok && is != fl.Not
				}
				if ok {
					want = append(want, u.ID)
				}
			}
			var got []string
			for {
				p, err := f.s.ListUsers(f.ctx, a.ID, q)
				if err != nil {
					t.Fatalf("ListUsers(%s) = %v", params, err)
				}
				if p.Total != int64(len(want)) {
					t.Errorf("ListUsers(%s): total %d, want %d", params, p.Total, len(want))
				}
				for _, u := range p.Items {
					got = append(got, u.ID)
				}
				if p.NextCursor == nil {
					break
				}
				q.After = p.NextCursor
			}
			slices.Sort(got)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Errorf("ListUsers(%s) = %d users %v, want %d %v", params, len(got), got, len(want), want)
			}
		}
		// An empty page after a cursor counts on its own: the same total.
		q := f.query("filter=status:is:inactive&limit=200")
		q.Now = now
		last := users[len(users)-1]
		q.After = roster.CursorFor(q.Sort, &roster.User{ID: "ffffffff-ffff-7fff-bfff-ffffffffffff", NameKey: "zzzz", EmailKey: last.EmailKey})
		if p, err := f.s.ListUsers(f.ctx, a.ID, q); err != nil || len(p.Items) != 0 || p.Total != 4 {
			t.Errorf("empty page after the last: %d items, total %d, %v; want none of 4", len(p.Items), p.Total, err)
		}
	})

	t.Run("AccountAdmins", func(t *testing.T) {
		t.Parallel()
		f := setup(t)
		a, b := f.account(), f.account()
		now := t0.Add(day)
		admin := func(acct *roster.Account, email string, mods ...func(*roster.User)) *roster.User {
			return f.user(acct, append([]func(*roster.User){func(u *roster.User) {
				u.Roles, u.Email = roster.NewRoleSet(roster.RoleAdmin, roster.RoleSupport), email
			}}, mods...)...)
		}
		zed := admin(a, "zed@example.com")
		amy := admin(a, "amy@example.com", func(u *roster.User) { u.AccessUntil = now.Add(time.Second) })
		admin(a, "old@example.com", func(u *roster.User) { u.AccessUntil = now })
		admin(a, "gone@example.com", func(u *roster.User) { u.Status = roster.StatusInactive })
		admin(a, "new@example.com", func(u *roster.User) { u.Status = roster.StatusInvited })
		admin(b, "other@example.com")
		f.user(a) // Support
		var got []*roster.User
		f.update(func(tx roster.Tx) error {
			var err error
			got, err = tx.AccountAdmins(f.ctx, a.ID, now)
			return err
		})
		var emails []string
		for _, u := range got {
			emails = append(emails, u.Email)
		}
		if want := []string{amy.Email, zed.Email}; !slices.Equal(emails, want) {
			t.Errorf("AccountAdmins = %v, want %v", emails, want)
		}
	})
}

// UpgradeExpertAccess checks migration 0005_expert_access on data written
// before it. exec runs a statement on a database migrated up to 0004;
// userSeq says that users need an explicit seq (SQLite). migrate applies
// the remaining migrations, and s reads the result.
//
// Before: an Expert whose deadline is ahead and one whose deadline passed,
// and a Support. After: both Experts have the limited-write level (what the
// Expert role granted before levels), the Support none; the passed deadline
// counts as reported, so the deadline job does not report an end that came
// before reports existed, while the running Expert is due for reminders.
func UpgradeExpertAccess(t *testing.T, exec func(query string, args ...any) error, userSeq bool, migrate func() error, s roster.Store) {
	t.Helper()
	ctx := t.Context()
	acct := roster.NewID(t0)
	running, ended, support := roster.NewID(t0), roster.NewID(t0), roster.NewID(t0)
	now := time.Now()
	seqCol, seq := "", func(int) string { return "" }
	if userSeq {
		seqCol = "seq, "
		seq = func(n int) string {
			return "(SELECT seq << 32 FROM accounts WHERE id = $2) + " + strconv.Itoa(n) + ", "
		}
	}
	user := func(n int, id string, roles roster.RoleSet, until time.Time) error {
		email := id + "@example.com"
		return exec(`INSERT INTO users (`+seqCol+`id, account_id, first_name, last_name, email, email_key, name_key, search_key,
			status, role_mask, access_until) VALUES (`+seq(n)+`$1, $2, 'Eve', 'Expert', $3, $3, 'eve expert', $4, 'active', $5, $6)`,
			id, acct, email, "eve expert\n"+email, int64(roles), roster.Micros(until))
	}
	expert := roster.NewRoleSet(roster.RoleExpert)
	for _, err := range []error{
		exec(`INSERT INTO accounts (id, name) VALUES ($1, 'Acme')`, acct),
		user(1, running, expert, now.Add(3*24*time.Hour)),
		user(2, ended, expert|roster.NewRoleSet(roster.RoleSupport), now.Add(-time.Hour)),
		user(3, support, roster.NewRoleSet(roster.RoleSupport), time.Time{}),
	} {
		if err != nil {
			t.Fatalf("data before 0005: %v", err)
		}
	}
	if err := migrate(); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	for id, want := range map[string]roster.AccessLevel{running: roster.AccessLimitedWrite, ended: roster.AccessLimitedWrite, support: ""} {
		u, err := s.User(ctx, acct, id)
		if err != nil || u.ExpertAccess != want {
			t.Errorf("after 0005: user %s = %+v, %v; want the level %q", id, u, err, want)
		}
	}
	due, err := s.DueDeadlines(ctx, now, roster.ExpertReminderFirst, roster.ExpertReminderLast, 10)
	if err != nil || len(due) != 1 || due[0].User.ID != running {
		t.Errorf("after 0005: DueDeadlines = %d users, %v; want only the running Expert", len(due), err)
	}
}
