// Package storetest is the conformance suite every roster.Store must pass:
// accounts, users and their uniqueness, the user list (search, filters,
// sorting, keyset paging, totals), cascades, API keys, invitations, the audit
// log, tenant isolation, transactions and concurrent writers. A store's own
// test calls Run with a function that opens a fresh store.
//
// The suite checks every list result against the same query answered in Go
// over the rows it inserted, so a store cannot pass by agreeing with itself.
package storetest

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"roster"
)

// Run holds the stores that open returns to the contract of roster.Store.
// open is called once per subtest and must return a fresh, migrated, empty
// store that is closed when t ends; subtests run in parallel.
func Run(t *testing.T, open func(t *testing.T) roster.Store) {
	t.Helper()
	setup := func(t *testing.T) *fixture {
		t.Helper()
		return &fixture{t: t, ctx: t.Context(), s: open(t)}
	}

	t.Run("Account", func(t *testing.T) {
		t.Parallel()
		t.Run("HasAccounts", func(t *testing.T) {
			t.Parallel()
			f := setup(t)
			if has, err := f.s.HasAccounts(f.ctx); err != nil || has {
				t.Fatalf("HasAccounts on an empty store = %v, %v; want false", has, err)
			}
			f.account()
			if has, err := f.s.HasAccounts(f.ctx); err != nil || !has {
				t.Fatalf("HasAccounts after an insert = %v, %v; want true", has, err)
			}
		})
		t.Run("InsertGetUpdateLock", func(t *testing.T) {
			t.Parallel()
			f := setup(t)
			a := f.account(func(a *roster.Account) {
				a.Name = "Zoë's Ångström & Co."
				a.EnabledRoles = roster.NewRoleSet(roster.RoleWhatsAppOnly)
				a.AllowedDomains = []string{"example.com", "example.org"}
			})
			got, err := f.s.Account(f.ctx, a.ID)
			if err != nil {
				t.Fatalf("Account(%s) = %v", a.ID, err)
			}
			if d := cmp.Diff(a, got, cmpopts.EquateEmpty()); d != "" {
				t.Errorf("Account after insert (-want +got):\n%s", d)
			}

			a.EnabledRoles = roster.NewRoleSet(roster.RoleNumbersReadOnly, roster.RoleWhatsAppOnly)
			a.AllowedDomains = []string{"b.example", "a.example", "bücher.example"}
			a.UpdatedAt = t0.Add(time.Hour)
			f.update(func(tx roster.Tx) error {
				locked, err := tx.LockAccount(f.ctx, a.ID)
				if err != nil {
					return fmt.Errorf("LockAccount: %w", err)
				}
				if d := cmp.Diff(got, locked, cmpopts.EquateEmpty()); d != "" {
					t.Errorf("LockAccount (-Account +LockAccount):\n%s", d)
				}
				return tx.UpdateAccount(f.ctx, a)
			})
			got = f.mustAccount(a.ID)
			if d := cmp.Diff(a, got, cmpopts.EquateEmpty()); d != "" {
				t.Errorf("Account after UpdateAccount (-want +got):\n%s", d)
			}

			// Clearing the domain list and the roles.
			a.EnabledRoles, a.AllowedDomains = 0, nil
			f.update(func(tx roster.Tx) error { return tx.UpdateAccount(f.ctx, a) })
			got = f.mustAccount(a.ID)
			if d := cmp.Diff(a, got, cmpopts.EquateEmpty()); d != "" {
				t.Errorf("Account after clearing (-want +got):\n%s", d)
			}
		})
		t.Run("NotFound", func(t *testing.T) {
			t.Parallel()
			f := setup(t)
			f.account()
			for _, id := range []string{roster.NewID(t0), "not-a-uuid", ""} {
				_, err := f.s.Account(f.ctx, id)
				wantCode(t, err, roster.CodeNotFound, "Account(%q)", id)
				err = f.s.Update(f.ctx, func(tx roster.Tx) error {
					_, err := tx.LockAccount(f.ctx, id)
					return err
				})
				wantCode(t, err, roster.CodeNotFound, "LockAccount(%q)", id)
			}
			missing := &roster.Account{ID: roster.NewID(t0), Name: "Missing", CreatedAt: t0, UpdatedAt: t0}
			err := f.s.Update(f.ctx, func(tx roster.Tx) error { return tx.UpdateAccount(f.ctx, missing) })
			wantCode(t, err, roster.CodeNotFound, "UpdateAccount(missing)")
			if _, err := f.s.Account(f.ctx, missing.ID); roster.ErrorCode(err) != roster.CodeNotFound {
				t.Errorf("UpdateAccount of a missing account created it: Account = %v", err)
			}
		})
	})

	t.Run("User", func(t *testing.T) {
		t.Parallel()
		t.Run("RoundTrip", func(t *testing.T) {
			t.Parallel()
			f := setup(t)
			a := f.account()
			inviter := f.user(a)
			u := newUser(a.ID, func(u *roster.User) {
				u.FirstName, u.LastName, u.Email = "Zoë", "Ångström-O'Neil", "Zoe.Angstrom@Example.com"
				u.Roles = roster.NewRoleSet(roster.RoleAdmin, roster.RoleExpert, roster.RoleNumbersReadOnly)
				u.Status = roster.StatusInactive
				u.AccessUntil = t0.Add(72*time.Hour + 123*time.Microsecond)
				u.InvitedBy, u.InvitedByName = inviter.ID, inviter.FullName()
				u.JoinedAt = t0.Add(2 * time.Hour)
				u.LastLoginAt = t0.Add(3*time.Hour + time.Microsecond)
				u.LastLoginIP, u.LastLoginDevice = "2001:db8::1", "Firefox 140 on Linux"
				u.RevokedAt, u.RevokeReason, u.RevokeNote = t0.Add(4*time.Hour), roster.ReasonOther, "Left the team.\nSee ticket 42."
				u.IdentityID = roster.NewID(t0)
				u.Version = 7
			})
			f.insertUser(u)
			got, err := f.s.User(f.ctx, a.ID, u.ID)
			if err != nil {
				t.Fatalf("User = %v", err)
			}
			if d := cmp.Diff(u, got); d != "" {
				t.Errorf("User after InsertUser (-want +got):\n%s", d)
			}
			got, err = f.s.UserByEmail(f.ctx, a.ID, roster.Fold("ZOE.ANGSTROM@example.COM"))
			if err != nil {
				t.Fatalf("UserByEmail = %v", err)
			}
			if d := cmp.Diff(u, got); d != "" {
				t.Errorf("UserByEmail (-want +got):\n%s", d)
			}
			f.update(func(tx roster.Tx) error {
				got, err := tx.UserForUpdate(f.ctx, a.ID, u.ID)
				if err != nil {
					return err
				}
				if d := cmp.Diff(u, got); d != "" {
					t.Errorf("UserForUpdate (-want +got):\n%s", d)
				}
				return nil
			})

			// Every mutable field changes, and the derived keys with the names.
			u.FirstName, u.LastName = "Åsa", "Lindqvist"
			u.Roles = roster.NewRoleSet(roster.RoleSupport)
			u.Status = roster.StatusActive
			u.AccessUntil = time.Time{}
			u.JoinedAt = t0.Add(5 * time.Hour)
			u.LastLoginAt = t0.Add(6 * time.Hour)
			u.LastLoginIP, u.LastLoginDevice = "192.0.2.7", "Safari on iPhone"
			u.RevokedAt, u.RevokeReason, u.RevokeNote = time.Time{}, "", ""
			u.IdentityID = roster.NewID(t0.Add(time.Hour))
			u.Version++
			u.UpdatedAt = t0.Add(7 * time.Hour)
			u.Keys()
			f.update(func(tx roster.Tx) error { return tx.UpdateUser(f.ctx, u) })
			got, err = f.s.User(f.ctx, a.ID, u.ID)
			if err != nil {
				t.Fatalf("User after UpdateUser = %v", err)
			}
			if d := cmp.Diff(u, got); d != "" {
				t.Errorf("User after UpdateUser (-want +got):\n%s", d)
			}
			page := f.list(a.ID, "q=lindqvist")
			if len(page.Items) != 1 || page.Items[0].ID != u.ID {
				t.Errorf("ListUsers(q=lindqvist) after renaming = %v, want the renamed user", ids(page.Items))
			}
			if page := f.list(a.ID, "q=zoë"); len(page.Items) != 0 {
				t.Errorf("ListUsers(q=zoë) after renaming = %v, want none", ids(page.Items))
			}
		})
		t.Run("DuplicateEmail", func(t *testing.T) {
			t.Parallel()
			f := setup(t)
			a, b := f.account(), f.account()
			u := f.user(a, func(u *roster.User) { u.Email = "Anna.Smith@example.com" })
			for _, email := range []string{"Anna.Smith@example.com", "anna.smith@example.com", "ANNA.SMITH@EXAMPLE.COM"} {
				dup := newUser(a.ID, func(u *roster.User) { u.Email = email })
				err := f.s.Update(f.ctx, func(tx roster.Tx) error { return tx.InsertUser(f.ctx, dup) })
				wantCode(t, err, roster.CodeConflict, "InsertUser(%q) next to %q", email, u.Email)
				if _, err := f.s.User(f.ctx, a.ID, dup.ID); roster.ErrorCode(err) != roster.CodeNotFound {
					t.Errorf("User(duplicate) = %v, want not found", err)
				}
			}
			// The same address is fine in another account.
			other := f.user(b, func(u *roster.User) { u.Email = "anna.smith@EXAMPLE.com" })
			got, err := f.s.UserByEmail(f.ctx, b.ID, "anna.smith@example.com")
			if err != nil || got.ID != other.ID {
				t.Errorf("UserByEmail(other account) = %v, %v; want %s", got, err, other.ID)
			}
			if p := f.list(a.ID, ""); p.Total != 1 {
				t.Errorf("total after refused duplicates = %d, want 1", p.Total)
			}
		})
		t.Run("NotFound", func(t *testing.T) {
			t.Parallel()
			f := setup(t)
			a := f.account()
			f.user(a)
			for _, id := range []string{roster.NewID(t0), "not-a-uuid", ""} {
				_, err := f.s.User(f.ctx, a.ID, id)
				wantCode(t, err, roster.CodeNotFound, "User(%q)", id)
				err = f.s.Update(f.ctx, func(tx roster.Tx) error {
					_, err := tx.UserForUpdate(f.ctx, a.ID, id)
					return err
				})
				wantCode(t, err, roster.CodeNotFound, "UserForUpdate(%q)", id)
				err = f.s.Update(f.ctx, func(tx roster.Tx) error {
					_, err := tx.DeleteUser(f.ctx, a.ID, id)
					return err
				})
				wantCode(t, err, roster.CodeNotFound, "DeleteUser(%q)", id)
			}
			_, err := f.s.UserByEmail(f.ctx, a.ID, "nobody@example.com")
			wantCode(t, err, roster.CodeNotFound, "UserByEmail(missing)")

			missing := newUser(a.ID)
			err = f.s.Update(f.ctx, func(tx roster.Tx) error { return tx.UpdateUser(f.ctx, missing) })
			wantCode(t, err, roster.CodeNotFound, "UpdateUser(missing)")
			if p := f.list(a.ID, ""); p.Total != 1 {
				t.Errorf("total after UpdateUser(missing) = %d, want 1", p.Total)
			}
		})
		t.Run("DeleteAndReinvite", func(t *testing.T) {
			t.Parallel()
			f := setup(t)
			a := f.account()
			inviter := f.user(a)
			u := f.user(a, func(u *roster.User) { u.Email = "again@example.com"; u.InvitedBy = inviter.ID })
			// Deleting an inviter keeps the users they invited.
			f.deleteUser(a.ID, inviter.ID)
			if _, err := f.s.User(f.ctx, a.ID, u.ID); err != nil {
				t.Fatalf("User(invitee) after deleting the inviter = %v", err)
			}
			f.deleteUser(a.ID, u.ID)
			if _, err := f.s.UserByEmail(f.ctx, a.ID, "again@example.com"); roster.ErrorCode(err) != roster.CodeNotFound {
				t.Errorf("UserByEmail after DeleteUser = %v, want not found", err)
			}
			again := f.user(a, func(u *roster.User) { u.Email = "Again@example.com" })
			if got, err := f.s.UserByEmail(f.ctx, a.ID, "again@example.com"); err != nil || got.ID != again.ID {
				t.Errorf("UserByEmail after re-inserting = %v, %v", got, err)
			}
		})
		t.Run("CountUsers", func(t *testing.T) {
			t.Parallel()
			f := setup(t)
			a, b := f.account(), f.account()
			mk := func(acct *roster.Account, st roster.Status, roles ...roster.RoleID) {
				f.user(acct, func(u *roster.User) { u.Status, u.Roles = st, roster.NewRoleSet(roles...) })
			}
			mk(a, roster.StatusActive, roster.RoleAdmin)
			mk(a, roster.StatusActive, roster.RoleAdmin, roster.RoleSupport)
			mk(a, roster.StatusActive, roster.RoleSupport)
			mk(a, roster.StatusInactive, roster.RoleAdmin)
			mk(a, roster.StatusInvited, roster.RoleAdmin)
			mk(b, roster.StatusActive, roster.RoleAdmin)
			tests := []struct {
				acct   string
				status roster.Status
				roles  roster.RoleSet
				want   int64
			}{
				{a.ID, roster.StatusActive, roster.NewRoleSet(roster.RoleAdmin), 2},
				{a.ID, roster.StatusActive, roster.NewRoleSet(roster.RoleAdmin, roster.RoleSupport), 1},
				{a.ID, roster.StatusActive, 0, 3},
				{a.ID, roster.StatusInactive, roster.NewRoleSet(roster.RoleAdmin), 1},
				{a.ID, roster.StatusInvited, 0, 1},
				{a.ID, roster.StatusActive, roster.NewRoleSet(roster.RoleExpert), 0},
				{b.ID, roster.StatusActive, roster.NewRoleSet(roster.RoleAdmin), 1},
				{roster.NewID(t0), roster.StatusActive, 0, 0},
			}
			for _, tt := range tests {
				var got int64
				f.update(func(tx roster.Tx) error {
					var err error
					got, err = tx.CountUsers(f.ctx, tt.acct, tt.status, tt.roles)
					return err
				})
				if got != tt.want {
					t.Errorf("CountUsers(%s, %s, %s) = %d, want %d", short(tt.acct), tt.status, tt.roles, got, tt.want)
				}
			}
		})
	})

	t.Run("ListUsers", func(t *testing.T) {
		t.Parallel()
		t.Run("SearchAndFilters", func(t *testing.T) {
			t.Parallel()
			f := setup(t)
			a, users := f.seedList()
			f.checkQueries(a.ID, users, searchTexts, filterSets)
		})
		t.Run("ReturnsListRows", func(t *testing.T) {
			t.Parallel()
			f := setup(t)
			a, users := f.seedList()
			page := f.list(a.ID, "limit=200")
			byID := map[string]*roster.User{}
			for _, u := range users {
				// The fields of a list row, as Store.ListUsers documents.
				byID[u.ID] = &roster.User{ID: u.ID, AccountID: u.AccountID, FirstName: u.FirstName, LastName: u.LastName,
					Email: u.Email, Roles: u.Roles, Status: u.Status, AccessUntil: u.AccessUntil, InvitedAt: u.InvitedAt,
					JoinedAt: u.JoinedAt, LastLoginAt: u.LastLoginAt, NameKey: u.NameKey, EmailKey: u.EmailKey}
			}
			if len(page.Items) == 0 {
				t.Fatal("ListUsers returned no rows")
			}
			for _, got := range page.Items {
				if d := cmp.Diff(byID[got.ID], got); d != "" {
					t.Errorf("ListUsers item %s (-inserted +listed):\n%s", got.ID, d)
				}
			}
		})
		t.Run("SortAndPage", func(t *testing.T) {
			t.Parallel()
			f := setup(t)
			a, users := f.seedList()
			for _, sort := range sorts {
				for _, c := range []struct {
					params string
					limits []int
				}{
					{"", []int{1, 2, 7, 200}},
					{"q=a&filter=status:is_not:invited", []int{1, 3}},
					{"filter=role:is:support", []int{2}},
					{"q=zzz-nothing", []int{5}},
				} {
					for _, limit := range c.limits {
						q := f.query(fmt.Sprintf("%s&sort=%s&limit=%d", c.params, sort, limit))
						f.collect(a.ID, q, expect(users, q))
					}
				}
			}
		})
		t.Run("TotalsFollowChanges", func(t *testing.T) {
			t.Parallel()
			f := setup(t)
			a, users := f.seedList()
			texts := []string{"", "ann", "a", "smith"}
			check := func(step string) {
				t.Helper()
				t.Logf("after %s", step)
				f.checkQueries(a.ID, users, texts, filterSets)
			}
			byName := func(first string) *roster.User {
				t.Helper()
				for _, u := range users {
					if u.FirstName == first {
						return u
					}
				}
				t.Fatalf("no user %q in the list data", first)
				return nil
			}
			save := func(us ...*roster.User) {
				t.Helper()
				f.update(func(tx roster.Tx) error {
					for _, u := range us {
						u.Version++
						if err := tx.UpdateUser(f.ctx, u); err != nil {
							return err
						}
					}
					return nil
				})
			}

			// Status changes: a revoke, a restore, an invitation accepted.
			anna, bob, ola, carla := byName("Anna"), byName("Bob"), byName("Ola"), byName("Carla")
			anna.Status, ola.Status, carla.Status = roster.StatusInactive, roster.StatusActive, roster.StatusActive
			save(anna, ola, carla)
			check("status changes")

			// Role changes: added, removed, replaced.
			bob.Roles |= roster.NewRoleSet(roster.RoleAdmin)
			carla.Roles &^= roster.NewRoleSet(roster.RoleAdmin)
			carla.Roles |= roster.NewRoleSet(roster.RoleSupport)
			ola.Roles = roster.NewRoleSet(roster.RoleExpert)
			save(bob, carla, ola)
			check("role changes")

			// A rename moves the user in searches.
			bob.FirstName = "Annabel"
			bob.Keys()
			save(bob)
			check("rename")

			// Deletes.
			for _, first := range []string{"Zed", "Joann", "User03"} {
				u := byName(first)
				f.deleteUser(a.ID, u.ID)
				users = slices.DeleteFunc(users, func(x *roster.User) bool { return x == u })
			}
			check("deletes")

			// Inserts.
			for i := range 3 {
				u := newUser(a.ID, func(u *roster.User) {
					u.FirstName, u.LastName = "Hannah", fmt.Sprintf("Late%d", i)
					u.Roles = roster.NewRoleSet(roster.RoleAdmin, roster.RoleCommunicationManager)
					u.Status = roster.Statuses[i%3]
				})
				f.insertUser(u)
				users = append(users, u)
			}
			check("inserts")

			// A rolled-back transaction leaves every count as it was.
			errRollback := errors.New("roll back")
			err := f.s.Update(f.ctx, func(tx roster.Tx) error {
				for _, u := range users[:10] {
					c := *u
					c.Status, c.Roles = roster.StatusInactive, roster.NewRoleSet(roster.RoleExpert)
					if err := tx.UpdateUser(f.ctx, &c); err != nil {
						return err
					}
				}
				if _, err := tx.DeleteUser(f.ctx, a.ID, users[10].ID); err != nil {
					return err
				}
				if err := tx.InsertUser(f.ctx, newUser(a.ID)); err != nil {
					return err
				}
				return errRollback
			})
			if !errors.Is(err, errRollback) {
				t.Fatalf("Update = %v, want the error fn returned", err)
			}
			check("a rolled-back transaction")
		})
		t.Run("PageBackwards", func(t *testing.T) {
			t.Parallel()
			f := setup(t)
			a, users := f.seedList()
			for _, sort := range sorts {
				for _, params := range []string{"limit=3", "limit=4&q=a&filter=status:is_not:invited", "limit=200"} {
					q := f.query(params + "&sort=" + sort)
					f.pageBackwards(a.ID, q, expect(users, q))
				}
			}
		})
		t.Run("CursorAfterDeletedRow", func(t *testing.T) {
			t.Parallel()
			f := setup(t)
			a, users := f.seedList()
			for _, sort := range sorts {
				q := f.query("limit=5&sort=" + sort)
				want := expect(users, q)
				first, err := f.s.ListUsers(f.ctx, a.ID, q)
				if err != nil {
					t.Fatalf("ListUsers(sort=%s) = %v", sort, err)
				}
				if len(first.Items) != 5 || first.NextCursor == nil {
					t.Fatalf("ListUsers(sort=%s, limit=5) = %d items, cursor %v; want 5 and a cursor", sort, len(first.Items), first.NextCursor)
				}
				gone := first.Items[4]
				f.deleteUser(a.ID, gone.ID)
				users = slices.DeleteFunc(users, func(u *roster.User) bool { return u.ID == gone.ID })

				q.After = first.NextCursor
				f.collect(a.ID, q, want[5:], withTotal(int64(len(want)-1)))
			}
		})
		t.Run("OtherAccountIsEmpty", func(t *testing.T) {
			t.Parallel()
			f := setup(t)
			f.seedList()
			for _, id := range []string{roster.NewID(t0), f.account().ID} {
				page, err := f.s.ListUsers(f.ctx, id, f.query("limit=200"))
				if err != nil {
					t.Fatalf("ListUsers(empty account) = %v", err)
				}
				if len(page.Items) != 0 || page.Total != 0 || page.NextCursor != nil {
					t.Errorf("ListUsers(empty account) = %d items, total %d, cursor %v; want nothing", len(page.Items), page.Total, page.NextCursor)
				}
			}
		})
		t.Run("BulkInsertUsers", func(t *testing.T) {
			t.Parallel()
			f := setup(t)
			bl, ok := f.s.(roster.BulkLoader)
			if !ok {
				t.Fatalf("%T does not implement roster.BulkLoader", f.s)
			}
			a, users := f.seedList()
			b := f.account()
			var bulk, other []*roster.User
			for i := range 600 {
				acct := a.ID
				if i%5 == 4 {
					acct = b.ID
				}
				u := newUser(acct, func(u *roster.User) {
					u.FirstName = []string{"Anneli", "Bruno", "Chiara", "Dário", "Ewa"}[i%5] + fmt.Sprint(i)
					u.LastName = []string{"Svensson", "Ångman", "Rossi", "Smith"}[i%4]
					u.Email = fmt.Sprintf("bulk%03d@bulk.example", i)
					u.Roles = roleCombos[i%len(roleCombos)]
					u.Status = roster.Statuses[i%3]
					u.LastLoginAt = minutes(i % 7 * 10)
					u.InvitedAt = minutes(100 + i%11)
				})
				if acct == a.ID {
					bulk = append(bulk, u)
				} else {
					other = append(other, u)
				}
			}
			// Accounts interleaved, in two calls.
			all := append(slices.Clone(bulk), other...)
			if err := bl.BulkInsertUsers(f.ctx, all[:300]); err != nil {
				t.Fatalf("BulkInsertUsers = %v", err)
			}
			if err := bl.BulkInsertUsers(f.ctx, all[300:]); err != nil {
				t.Fatalf("BulkInsertUsers = %v", err)
			}
			users = append(users, bulk...)
			f.checkQueries(a.ID, users, []string{"", "ann", "ång", "smith", "bulk01", "bulk007@bulk.example"}, filterSets)
			f.checkQueries(b.ID, other, []string{"", "a"}, filterSets[:4])
			q := f.query("sort=-last_login&limit=50&filter=status:is_not:inactive")
			f.collect(a.ID, q, expect(users, q))

			// Bulk rows are whole users: findable by email and unique.
			got, err := f.s.UserByEmail(f.ctx, a.ID, bulk[0].EmailKey)
			if err != nil {
				t.Fatalf("UserByEmail(bulk user) = %v", err)
			}
			if d := cmp.Diff(bulk[0], got); d != "" {
				t.Errorf("bulk-loaded user (-want +got):\n%s", d)
			}
			dup := newUser(a.ID, func(u *roster.User) { u.Email = strings.ToUpper(bulk[1].Email) })
			err = f.s.Update(f.ctx, func(tx roster.Tx) error { return tx.InsertUser(f.ctx, dup) })
			wantCode(t, err, roster.CodeConflict, "InsertUser(email of a bulk-loaded user)")
		})
	})

	t.Run("DeleteUserCascades", func(t *testing.T) {
		t.Parallel()
		f := setup(t)
		a, b := f.account(), f.account()
		u, keep := f.user(a), f.user(a)
		keys := []*roster.APIKey{
			f.apiKey(u),
			f.apiKey(u, func(k *roster.APIKey) { k.Disabled = true }),
			f.apiKey(u, func(k *roster.APIKey) { k.ExpiresAt = t0.Add(-time.Hour) }),
		}
		kept := f.apiKey(keep)
		f.invitation(u, t0)
		f.invitation(u, t0.Add(time.Minute))
		f.invitation(keep, t0)
		ev := f.audit(a.ID, t0, func(e *roster.AuditEvent) {
			e.TargetID, e.TargetName, e.TargetEmail = u.ID, u.FullName(), u.Email
		})
		other := f.user(b, func(x *roster.User) { x.Email = u.Email })

		var n int64
		f.update(func(tx roster.Tx) error {
			var err error
			n, err = tx.DeleteUser(f.ctx, a.ID, u.ID)
			return err
		})
		if n != int64(len(keys)) {
			t.Errorf("DeleteUser = %d keys, want %d", n, len(keys))
		}
		for _, k := range keys {
			if _, _, err := f.s.APIKeyOwner(f.ctx, k.Hash); roster.ErrorCode(err) != roster.CodeNotFound {
				t.Errorf("APIKeyOwner(key of deleted user) = %v, want not found", err)
			}
			if _, err := f.s.APIKeyByHash(f.ctx, k.Hash); roster.ErrorCode(err) != roster.CodeNotFound {
				t.Errorf("APIKeyByHash(key of deleted user) = %v, want not found", err)
			}
		}
		if _, err := f.s.APIKeyByHash(f.ctx, kept.Hash); err != nil {
			t.Errorf("APIKeyByHash(key of another user) = %v", err)
		}
		if got := f.countInvitations(a.ID, u.ID, time.Time{}); got != 0 {
			t.Errorf("CountInvitationsSince(deleted user) = %d, want 0", got)
		}
		if got := f.countInvitations(a.ID, keep.ID, time.Time{}); got != 1 {
			t.Errorf("CountInvitationsSince(other user) = %d, want 1", got)
		}
		if got := f.auditIDs(a.ID); !slices.Equal(got, []string{ev.ID}) {
			t.Errorf("audit log after DeleteUser = %v, want the event about the deleted user kept", got)
		}
		if _, err := f.s.User(f.ctx, b.ID, other.ID); err != nil {
			t.Errorf("User(same email, other account) after DeleteUser = %v", err)
		}
		if p := f.list(a.ID, ""); p.Total != 1 {
			t.Errorf("total after DeleteUser = %d, want 1", p.Total)
		}
	})

	t.Run("APIKey", func(t *testing.T) {
		t.Parallel()
		t.Run("RoundTrip", func(t *testing.T) {
			t.Parallel()
			f := setup(t)
			a := f.account()
			u := f.user(a)
			k := f.apiKey(u, func(k *roster.APIKey) {
				k.Name = "Déploiement CI"
				k.LastUsedAt = t0.Add(time.Minute)
				k.ExpiresAt = t0.Add(30 * 24 * time.Hour)
			})
			got, err := f.s.APIKeyByHash(f.ctx, k.Hash)
			if err != nil {
				t.Fatalf("APIKeyByHash = %v", err)
			}
			if d := cmp.Diff(k, got); d != "" {
				t.Errorf("APIKeyByHash (-want +got):\n%s", d)
			}
			gotKey, owner, err := f.s.APIKeyOwner(f.ctx, k.Hash)
			if err != nil {
				t.Fatalf("APIKeyOwner = %v", err)
			}
			wantKey := &roster.APIKey{ID: k.ID, AccountID: k.AccountID, UserID: k.UserID, ExpiresAt: k.ExpiresAt, Disabled: k.Disabled}
			if d := cmp.Diff(wantKey, gotKey); d != "" {
				t.Errorf("APIKeyOwner key (-want +got):\n%s", d)
			}
			wantOwner := &roster.User{ID: u.ID, AccountID: u.AccountID, FirstName: u.FirstName, LastName: u.LastName,
				Email: u.Email, Roles: u.Roles, Status: u.Status, AccessUntil: u.AccessUntil}
			if d := cmp.Diff(wantOwner, owner); d != "" {
				t.Errorf("APIKeyOwner user (-want +got):\n%s", d)
			}
			for _, h := range [][]byte{roster.HashSecret("unknown"), nil, {1, 2, 3}} {
				_, err := f.s.APIKeyByHash(f.ctx, h)
				wantCode(t, err, roster.CodeNotFound, "APIKeyByHash(%x)", h)
				_, _, err = f.s.APIKeyOwner(f.ctx, h)
				wantCode(t, err, roster.CodeNotFound, "APIKeyOwner(%x)", h)
			}
		})
		t.Run("CountActive", func(t *testing.T) {
			t.Parallel()
			f := setup(t)
			a, b := f.account(), f.account()
			u, v := f.user(a), f.user(a)
			w := f.user(b)
			now := t0.Add(10 * 24 * time.Hour)
			f.apiKey(u)
			f.apiKey(u, func(k *roster.APIKey) { k.ExpiresAt = now.Add(time.Microsecond) })
			f.apiKey(u, func(k *roster.APIKey) { k.ExpiresAt = now }) // expired at now, as AuthenticateAPIKey sees it
			f.apiKey(u, func(k *roster.APIKey) { k.ExpiresAt = now.Add(-time.Hour) })
			f.apiKey(u, func(k *roster.APIKey) { k.Disabled = true })
			f.apiKey(v)
			f.apiKey(w)
			tests := []struct {
				acct, user string
				want       int64
			}{
				{a.ID, u.ID, 2},
				{a.ID, v.ID, 1},
				{b.ID, w.ID, 1},
				{b.ID, u.ID, 0}, // another account's user
				{a.ID, w.ID, 0},
				{a.ID, roster.NewID(t0), 0},
			}
			for _, tt := range tests {
				got, err := f.s.CountActiveAPIKeys(f.ctx, tt.acct, tt.user, now)
				if err != nil || got != tt.want {
					t.Errorf("CountActiveAPIKeys(%s, %s) = %d, %v; want %d", short(tt.acct), short(tt.user), got, err, tt.want)
				}
				// UserDetails counts the same keys, and a user of another
				// account is not found there.
				d, err := f.s.UserDetails(f.ctx, tt.acct, tt.user, now)
				switch {
				case tt.user == w.ID && tt.acct == b.ID || tt.acct == a.ID && (tt.user == u.ID || tt.user == v.ID):
					if err != nil || d.ActiveAPIKeys != tt.want || d.ID != tt.user {
						t.Errorf("UserDetails(%s, %s) = %+v, %v; want %d active keys", short(tt.acct), short(tt.user), d, err, tt.want)
					}
				default:
					wantCode(t, err, roster.CodeNotFound, "UserDetails(%s, %s)", short(tt.acct), short(tt.user))
				}
			}
		})
	})

	t.Run("Outbox", func(t *testing.T) {
		t.Parallel()
		f := setup(t)
		a := f.account()
		var ids []string
		for i := range 5 {
			m := &roster.OutboxMessage{ID: roster.NewID(t0), AccountID: a.ID, Kind: roster.MailInvitation,
				Ref: roster.NewID(t0), To: fmt.Sprintf("u%d@example.com", i), CreatedAt: t0}
			f.update(func(tx roster.Tx) error { return tx.InsertOutbox(f.ctx, m) })
			ids = append(ids, m.ID)
		}
		now, lease := t0.Add(time.Minute), t0.Add(2*time.Minute)
		claim := func(owner string, now time.Time, limit int) []*roster.OutboxMessage {
			t.Helper()
			ms, err := f.s.ClaimOutbox(f.ctx, owner, now, now.Add(time.Minute), limit)
			if err != nil {
				t.Fatalf("ClaimOutbox(%s) = %v", owner, err)
			}
			return ms
		}
		first := claim("a", now, 2)
		if len(first) != 2 || first[0].ID != ids[0] || first[1].ID != ids[1] || first[0].Attempts != 1 || first[0].To != "u0@example.com" {
			t.Fatalf("first claim = %+v; want the two oldest, attempt 1", first)
		}
		if rest := claim("b", now, 10); len(rest) != 3 {
			t.Fatalf("second worker claimed %d, want the 3 not leased", len(rest))
		}
		if again := claim("a", now, 10); len(again) != 0 {
			t.Fatalf("claim while every lease is live = %d messages, want 0", len(again))
		}
		// Lease expired: the message is claimable again, as a second attempt.
		expired := claim("c", lease, 1)
		if len(expired) != 1 || expired[0].ID != ids[0] || expired[0].Attempts != 2 {
			t.Fatalf("claim after the lease expired = %+v; want the oldest, attempt 2", expired)
		}
		sent := *first[0]
		sent.State, sent.SentAt = roster.OutboxSent, lease
		err := f.s.Update(f.ctx, func(tx roster.Tx) error { return tx.FinishOutbox(f.ctx, &sent, "a") })
		wantCode(t, err, roster.CodeConflict, "FinishOutbox by a worker whose lease was taken over")
		f.update(func(tx roster.Tx) error { return tx.FinishOutbox(f.ctx, &sent, "c") })
		retry := *first[1]
		retry.State, retry.NextAttemptAt, retry.LastError = roster.OutboxPending, lease.Add(time.Hour), "451 try later"
		f.update(func(tx roster.Tx) error { return tx.FinishOutbox(f.ctx, &retry, "a") })
		later := lease.Add(2 * time.Minute) // every other lease has expired
		got := claim("d", later, 10)
		if len(got) != 3 {
			t.Fatalf("claim after a send and a retry = %d messages, want the 3 leased by b", len(got))
		}
		for _, m := range got {
			if m.ID == ids[0] || m.ID == ids[1] {
				t.Errorf("claimed %s, which was sent or is not due", m.ID)
			}
		}
		// An hour on, d's leases have expired too: those three and the retry.
		due := claim("e", lease.Add(time.Hour), 10)
		// Oldest due first: the retry, due an hour after the others, is last.
		if len(due) != 4 {
			t.Fatalf("claim when the retry is due = %d messages, want 4", len(due))
		}
		if last := due[3]; last.ID != ids[1] || last.LastError != "451 try later" || last.Attempts != 2 {
			t.Errorf("claim when the retry is due: last = %+v; want the retried message, attempt 2, with its last error", last)
		}
	})

	t.Run("MarkInvitationSent", func(t *testing.T) {
		t.Parallel()
		f := setup(t)
		a := f.account()
		inv := f.invitation(f.user(a), t0)
		// The link lives from the first send; a repeated send keeps it.
		for _, at := range []time.Time{t0.Add(time.Minute), t0.Add(time.Hour)} {
			f.update(func(tx roster.Tx) error { return tx.MarkInvitationSent(f.ctx, a.ID, inv.ID, at) })
		}
		d, ok := f.s.(interface{ ReadDB() *sql.DB })
		if !ok {
			t.Skipf("%T has no ReadDB; sent_at not checked", f.s)
		}
		var sent int64
		if err := d.ReadDB().QueryRowContext(f.ctx, `SELECT sent_at FROM invitations WHERE id = $1`, inv.ID).Scan(&sent); err != nil {
			t.Fatal(err)
		}
		if got := roster.FromMicros(sent); !got.Equal(t0.Add(time.Minute)) {
			t.Errorf("sent_at after two sends = %v, want the first, %v", got, t0.Add(time.Minute))
		}
	})

	t.Run("OutboxConcurrentClaims", func(t *testing.T) {
		t.Parallel()
		f := setup(t)
		a := f.account()
		for i := range 40 {
			m := &roster.OutboxMessage{ID: roster.NewID(t0), AccountID: a.ID, Kind: roster.MailInvitation,
				To: fmt.Sprintf("u%d@example.com", i), CreatedAt: t0}
			f.update(func(tx roster.Tx) error { return tx.InsertOutbox(f.ctx, m) })
		}
		const workers = 4
		claimed := make([][]*roster.OutboxMessage, workers)
		errs := make([]error, workers)
		release := make(chan struct{})
		var wg sync.WaitGroup
		for w := range workers {
			wg.Go(func() {
				<-release
				for {
					ms, err := f.s.ClaimOutbox(f.ctx, fmt.Sprint("w", w), t0, t0.Add(time.Hour), 3)
					if err != nil {
						errs[w] = err
						return
					}
					if len(ms) == 0 {
						return
					}
					claimed[w] = append(claimed[w], ms...)
				}
			})
		}
		close(release)
		wg.Wait()
		seen := map[string]int{}
		for w := range workers {
			if errs[w] != nil {
				t.Fatalf("worker %d: %v", w, errs[w])
			}
			for _, m := range claimed[w] {
				seen[m.ID]++
			}
		}
		if len(seen) != 40 {
			t.Errorf("workers claimed %d distinct messages, want all 40", len(seen))
		}
		for id, n := range seen {
			if n != 1 {
				t.Errorf("message %s claimed %d times at once, want 1", id, n)
			}
		}
	})

	t.Run("Invitations", func(t *testing.T) {
		t.Parallel()
		f := setup(t)
		a, b := f.account(), f.account()
		u, v := f.user(a), f.user(a)
		w := f.user(b)
		for i := range 3 {
			f.invitation(u, t0.Add(time.Duration(i)*10*time.Minute))
		}
		f.invitation(v, t0.Add(20*time.Minute))
		f.invitation(w, t0.Add(20*time.Minute))
		tests := []struct {
			acct, user string
			since      time.Time
			want       int64
		}{
			{a.ID, u.ID, time.Time{}, 3},
			{a.ID, u.ID, t0, 3},
			{a.ID, u.ID, t0.Add(10 * time.Minute), 2}, // at or after
			{a.ID, u.ID, t0.Add(10*time.Minute + time.Microsecond), 1},
			{a.ID, u.ID, t0.Add(time.Hour), 0},
			{a.ID, v.ID, t0, 1},
			{b.ID, u.ID, t0, 0}, // another account
			{a.ID, w.ID, t0, 0},
		}
		check := func(when string) {
			t.Helper()
			for _, tt := range tests {
				if got := f.countInvitations(tt.acct, tt.user, tt.since); got != tt.want {
					t.Errorf("%s: CountInvitationsSince(%s, %s, %s) = %d, want %d", when, short(tt.acct), short(tt.user), tt.since.Format(time.TimeOnly), got, tt.want)
				}
			}
		}
		// u's invitations were made at t0, t0+10m and t0+20m.
		for _, tt := range []struct {
			acct, user  string
			since, want time.Time
		}{
			{a.ID, u.ID, time.Time{}, t0},
			{a.ID, u.ID, t0.Add(time.Minute), t0.Add(10 * time.Minute)},
			{a.ID, u.ID, t0.Add(time.Hour), time.Time{}},
			{b.ID, u.ID, t0, time.Time{}}, // another account
		} {
			var got time.Time
			f.update(func(tx roster.Tx) error {
				var err error
				got, err = tx.OldestInvitationSince(f.ctx, tt.acct, tt.user, tt.since)
				return err
			})
			if !got.Equal(tt.want) {
				t.Errorf("OldestInvitationSince(%s, %s, %s) = %v, want %v", short(tt.acct), short(tt.user), tt.since.Format(time.TimeOnly), got, tt.want)
			}
		}
		check("before superseding")
		// Superseded invitations were still sent: the resend limit counts them.
		f.update(func(tx roster.Tx) error { return tx.SupersedeInvitations(f.ctx, a.ID, u.ID) })
		f.update(func(tx roster.Tx) error { return tx.SupersedeInvitations(f.ctx, b.ID, v.ID) })
		check("after superseding")

		// The Store interface has no reader of invitations yet; stores on
		// database/sql let the suite look at the rows.
		d, ok := f.s.(interface{ ReadDB() *sql.DB })
		if !ok {
			t.Logf("%T has no ReadDB; superseded flags not checked", f.s)
			return
		}
		for _, tt := range []struct {
			user *roster.User
			want int
		}{{u, 0}, {v, 1}, {w, 1}} {
			var live int
			err := d.ReadDB().QueryRowContext(f.ctx, `SELECT count(*) FROM invitations WHERE user_id = $1 AND NOT superseded`, tt.user.ID).Scan(&live)
			if err != nil {
				t.Fatalf("count live invitations: %v", err)
			}
			if live != tt.want {
				t.Errorf("live invitations of %s after SupersedeInvitations = %d, want %d", tt.user.FullName(), live, tt.want)
			}
		}
	})

	t.Run("AuditEvents", func(t *testing.T) {
		t.Parallel()
		f := setup(t)
		a, b := f.account(), f.account()
		var events []*roster.AuditEvent
		for i := range 7 {
			events = append(events, f.audit(a.ID, t0.Add(time.Duration(i)*time.Second), func(e *roster.AuditEvent) {
				if i == 3 {
					e.ActorID, e.ActorName, e.ActorEmail = "", "Operator", ""
					e.TargetID, e.TargetName, e.TargetEmail = "", "", ""
					e.Details = nil
					e.IP = ""
				}
			}))
		}
		f.audit(b.ID, t0.Add(10*time.Second))
		slices.Reverse(events) // newest first

		page, err := f.s.AuditEvents(f.ctx, a.ID, roster.AuditQuery{Limit: 100})
		if err != nil {
			t.Fatalf("AuditEvents = %v", err)
		}
		if d := cmp.Diff(normEvents(events), normEvents(page.Items), cmpopts.EquateEmpty()); d != "" {
			t.Errorf("AuditEvents (-want +got):\n%s", d)
		}
		if page.NextCursor != nil {
			t.Errorf("AuditEvents(limit 100) next cursor = %+v, want none", page.NextCursor)
		}
		for _, limit := range []int{1, 3, 7} {
			var got []string
			q := roster.AuditQuery{Limit: limit}
			for range 10 {
				page, err := f.s.AuditEvents(f.ctx, a.ID, q)
				if err != nil {
					t.Fatalf("AuditEvents(%+v) = %v", q, err)
				}
				if len(page.Items) > limit {
					t.Errorf("AuditEvents(limit %d) = %d items", limit, len(page.Items))
				}
				got = append(got, eventIDs(page.Items)...)
				if page.NextCursor == nil {
					break
				}
				if len(got) >= len(events) {
					t.Errorf("AuditEvents(limit %d) has a next cursor after the last event", limit)
				}
				q.After = page.NextCursor
			}
			if want := eventIDs(events); !slices.Equal(got, want) {
				t.Errorf("AuditEvents paged by %d = %v, want %v", limit, got, want)
			}
		}
		for _, id := range []string{roster.NewID(t0), f.account().ID} {
			page, err := f.s.AuditEvents(f.ctx, id, roster.AuditQuery{Limit: 100})
			if err != nil || len(page.Items) != 0 {
				t.Errorf("AuditEvents(other account) = %v, %v; want nothing", page, err)
			}
		}
	})

	t.Run("AuditChain", func(t *testing.T) {
		t.Parallel()
		auditChain(t, setup)
	})

	t.Run("AuditLog", func(t *testing.T) {
		t.Parallel()
		auditLog(t, setup)
	})
	t.Run("ExpertDeadlines", func(t *testing.T) {
		t.Parallel()
		expertDeadlines(t, setup)
	})

	t.Run("TenantIsolation", func(t *testing.T) {
		t.Parallel()
		f := setup(t)
		a, b := f.account(), f.account()
		u := f.user(a, func(u *roster.User) { u.Status, u.Roles = roster.StatusActive, roster.NewRoleSet(roster.RoleAdmin) })
		f.apiKey(u)
		f.invitation(u, t0)
		f.audit(a.ID, t0)

		if _, err := f.s.User(f.ctx, b.ID, u.ID); roster.ErrorCode(err) != roster.CodeNotFound {
			t.Errorf("User(other account) = %v, want not found", err)
		}
		if _, err := f.s.UserByEmail(f.ctx, b.ID, u.EmailKey); roster.ErrorCode(err) != roster.CodeNotFound {
			t.Errorf("UserByEmail(other account) = %v, want not found", err)
		}
		if n, err := f.s.CountActiveAPIKeys(f.ctx, b.ID, u.ID, t0); err != nil || n != 0 {
			t.Errorf("CountActiveAPIKeys(other account) = %d, %v; want 0", n, err)
		}
		if p := f.list(b.ID, "q="+u.Email); len(p.Items) != 0 || p.Total != 0 {
			t.Errorf("ListUsers(other account, q=email) = %d items, total %d; want none", len(p.Items), p.Total)
		}
		if p, err := f.s.AuditEvents(f.ctx, b.ID, roster.AuditQuery{Limit: 10}); err != nil || len(p.Items) != 0 {
			t.Errorf("AuditEvents(other account) = %v, %v; want none", p, err)
		}
		if n := f.countInvitations(b.ID, u.ID, time.Time{}); n != 0 {
			t.Errorf("CountInvitationsSince(other account) = %d, want 0", n)
		}
		writes := []struct {
			name string
			fn   func(tx roster.Tx) error
		}{
			{"UserForUpdate", func(tx roster.Tx) error { _, err := tx.UserForUpdate(f.ctx, b.ID, u.ID); return err }},
			{"DeleteUser", func(tx roster.Tx) error { _, err := tx.DeleteUser(f.ctx, b.ID, u.ID); return err }},
			{"UpdateUser", func(tx roster.Tx) error {
				c := *u
				c.AccountID, c.Status, c.Version = b.ID, roster.StatusInactive, c.Version+1
				return tx.UpdateUser(f.ctx, &c)
			}},
		}
		for _, w := range writes {
			wantCode(t, f.s.Update(f.ctx, w.fn), roster.CodeNotFound, "%s(other account)", w.name)
		}
		f.update(func(tx roster.Tx) error {
			if n, err := tx.CountUsers(f.ctx, b.ID, roster.StatusActive, 0); err != nil || n != 0 {
				t.Errorf("CountUsers(other account) = %d, %v; want 0", n, err)
			}
			return tx.SupersedeInvitations(f.ctx, b.ID, u.ID)
		})
		got, err := f.s.User(f.ctx, a.ID, u.ID)
		if err != nil {
			t.Fatalf("User after writes from another account = %v", err)
		}
		if d := cmp.Diff(u, got); d != "" {
			t.Errorf("user changed by writes naming another account (-before +after):\n%s", d)
		}
		if n, _ := f.s.CountActiveAPIKeys(f.ctx, a.ID, u.ID, t0); n != 1 {
			t.Errorf("CountActiveAPIKeys after writes from another account = %d, want 1", n)
		}
	})

	t.Run("Update", func(t *testing.T) {
		t.Parallel()
		t.Run("RollsBackOnError", func(t *testing.T) {
			t.Parallel()
			f := setup(t)
			a := f.account()
			u := f.user(a)
			key := f.apiKey(u)
			acctBefore, userBefore := f.mustAccount(a.ID), f.mustUser(a.ID, u.ID)

			fresh := newUser(a.ID)
			newKey := newAPIKey(u)
			errFn := roster.Errorf(roster.CodeConflict, "stop here")
			err := f.s.Update(f.ctx, func(tx roster.Tx) error {
				steps := []error{
					tx.InsertUser(f.ctx, fresh),
					tx.InsertInvitation(f.ctx, newInvitation(fresh, t0)),
					tx.InsertOutbox(f.ctx, &roster.OutboxMessage{ID: roster.NewID(t0), AccountID: a.ID, Kind: roster.MailInvitation, Ref: fresh.ID, To: fresh.Email, CreatedAt: t0}),
					tx.InsertAudit(f.ctx, newAudit(a.ID, t0)),
					tx.InsertAPIKey(f.ctx, newKey),
					func() error {
						c := *acctBefore
						c.Name, c.EnabledRoles = "Renamed", roster.AdditionalRoles
						return tx.UpdateAccount(f.ctx, &c)
					}(),
					func() error {
						c := *userBefore
						c.Status, c.Version = roster.StatusInactive, c.Version+1
						return tx.UpdateUser(f.ctx, &c)
					}(),
				}
				if err := errors.Join(steps...); err != nil {
					t.Errorf("writes inside Update: %v", err)
				}
				// Writes are visible inside the transaction.
				if n, err := tx.CountInvitationsSince(f.ctx, a.ID, fresh.ID, time.Time{}); err != nil || n != 1 {
					t.Errorf("CountInvitationsSince inside the transaction = %d, %v; want 1", n, err)
				}
				if _, err := tx.DeleteUser(f.ctx, a.ID, u.ID); err != nil {
					t.Errorf("DeleteUser inside the transaction = %v", err)
				}
				return errFn
			})
			if !errors.Is(err, errFn) || roster.ErrorCode(err) != roster.CodeConflict {
				t.Errorf("Update = %v, want the *roster.Error fn returned", err)
			}
			if _, err := f.s.User(f.ctx, a.ID, fresh.ID); roster.ErrorCode(err) != roster.CodeNotFound {
				t.Errorf("User(inserted in a rolled-back transaction) = %v, want not found", err)
			}
			if d := cmp.Diff(userBefore, f.mustUser(a.ID, u.ID)); d != "" {
				t.Errorf("user after rollback (-before +after):\n%s", d)
			}
			if d := cmp.Diff(acctBefore, f.mustAccount(a.ID), cmpopts.EquateEmpty()); d != "" {
				t.Errorf("account after rollback (-before +after):\n%s", d)
			}
			if _, err := f.s.APIKeyByHash(f.ctx, newKey.Hash); roster.ErrorCode(err) != roster.CodeNotFound {
				t.Errorf("APIKeyByHash(inserted in a rolled-back transaction) = %v, want not found", err)
			}
			if _, err := f.s.APIKeyByHash(f.ctx, key.Hash); err != nil {
				t.Errorf("APIKeyByHash(deleted in a rolled-back transaction) = %v", err)
			}
			if got := f.auditIDs(a.ID); len(got) != 0 {
				t.Errorf("audit log after rollback = %v, want empty", got)
			}
			if n := f.countInvitations(a.ID, fresh.ID, time.Time{}); n != 0 {
				t.Errorf("invitations after rollback = %d, want 0", n)
			}
			if p := f.list(a.ID, ""); p.Total != 1 {
				t.Errorf("total after rollback = %d, want 1", p.Total)
			}
		})
		t.Run("FailedWriteRollsBack", func(t *testing.T) {
			t.Parallel()
			f := setup(t)
			a := f.account()
			u := f.user(a)
			first := newUser(a.ID)
			dup := newUser(a.ID, func(x *roster.User) { x.Email = u.Email })
			err := f.s.Update(f.ctx, func(tx roster.Tx) error {
				if err := tx.InsertUser(f.ctx, first); err != nil {
					return err
				}
				return tx.InsertUser(f.ctx, dup)
			})
			wantCode(t, err, roster.CodeConflict, "Update(insert, duplicate insert)")
			if _, err := f.s.User(f.ctx, a.ID, first.ID); roster.ErrorCode(err) != roster.CodeNotFound {
				t.Errorf("User(inserted before the failed write) = %v, want not found", err)
			}
			if p := f.list(a.ID, ""); p.Total != 1 {
				t.Errorf("total = %d, want 1", p.Total)
			}
		})
		t.Run("ReadsDoNotWaitForWriters", func(t *testing.T) {
			t.Parallel()
			f := setup(t)
			a := f.account()
			u := f.user(a)
			fresh := newUser(a.ID)
			f.update(func(tx roster.Tx) error {
				if err := tx.InsertUser(f.ctx, fresh); err != nil {
					return err
				}
				// A read outside the open transaction must neither block on
				// it nor see its writes. The deadline only turns a deadlock
				// into a failure.
				ctx, cancel := context.WithTimeout(f.ctx, 30*time.Second)
				defer cancel()
				done := make(chan error, 1)
				go func() {
					if _, err := f.s.User(ctx, a.ID, u.ID); err != nil {
						done <- fmt.Errorf("User(committed) = %w", err)
						return
					}
					_, err := f.s.User(ctx, a.ID, fresh.ID)
					if roster.ErrorCode(err) != roster.CodeNotFound {
						done <- fmt.Errorf("User(uncommitted) = %v, want not found", err)
						return
					}
					done <- nil
				}()
				if err := <-done; err != nil {
					t.Errorf("read during a write transaction: %v", err)
				}
				return nil
			})
			if _, err := f.s.User(f.ctx, a.ID, fresh.ID); err != nil {
				t.Errorf("User after commit = %v", err)
			}
		})
	})

	t.Run("Concurrency", func(t *testing.T) {
		t.Parallel()
		t.Run("SameEmail", func(t *testing.T) {
			t.Parallel()
			f := setup(t)
			a := f.account()
			emails := []string{"race@example.com", "Race@example.com", "RACE@EXAMPLE.COM", "race@Example.com", "rAce@example.com", "racE@example.com"}
			errs := race(len(emails), func(i int) error {
				u := newUser(a.ID, func(u *roster.User) { u.Email = emails[i] })
				return f.s.Update(f.ctx, func(tx roster.Tx) error { return tx.InsertUser(f.ctx, u) })
			})
			ok := 0
			for i, err := range errs {
				switch roster.ErrorCode(err) {
				case "":
					ok++
				case roster.CodeConflict:
				default:
					t.Errorf("InsertUser(%q) = %v, want success or conflict", emails[i], err)
				}
			}
			if ok != 1 {
				t.Errorf("%d concurrent inserts of one email succeeded, want 1", ok)
			}
			if p := f.list(a.ID, ""); p.Total != 1 || len(p.Items) != 1 {
				t.Errorf("after the race: total %d, %d items; want 1", p.Total, len(p.Items))
			}
		})
		t.Run("WritersKeepTotals", func(t *testing.T) {
			t.Parallel()
			f := setup(t)
			a := f.account()
			const writers, each = 6, 5
			var mu sync.Mutex
			var users []*roster.User
			errs := race(writers, func(w int) error {
				var mine []*roster.User
				for i := range each {
					u := newUser(a.ID, func(u *roster.User) {
						u.Roles = roleCombos[(w+i)%len(roleCombos)]
						u.Status = roster.Statuses[(w+i)%3]
					})
					if err := f.s.Update(f.ctx, func(tx roster.Tx) error { return tx.InsertUser(f.ctx, u) }); err != nil {
						return err
					}
					mine = append(mine, u)
				}
				err := f.s.Update(f.ctx, func(tx roster.Tx) error {
					u, err := tx.UserForUpdate(f.ctx, a.ID, mine[0].ID)
					if err != nil {
						return err
					}
					u.Status, u.Roles, u.Version = roster.StatusInactive, u.Roles|roster.NewRoleSet(roster.RoleAdmin), u.Version+1
					if err := tx.UpdateUser(f.ctx, u); err != nil {
						return err
					}
					mine[0] = u
					_, err = tx.DeleteUser(f.ctx, a.ID, mine[1].ID)
					return err
				})
				if err != nil {
					return err
				}
				mu.Lock()
				users = append(users, mine[0])
				users = append(users, mine[2:]...)
				mu.Unlock()
				return nil
			})
			if err := errors.Join(errs...); err != nil {
				t.Fatalf("concurrent writers: %v", err)
			}
			f.checkQueries(a.ID, users, []string{""}, filterSets)
		})
		t.Run("LockAccountSerialises", func(t *testing.T) {
			t.Parallel()
			f := setup(t)
			// The service's last-Admin guard in miniature: each writer locks
			// the account, counts the active Admins and revokes the other
			// Admin only if one would remain.
			for round := range 5 {
				a := f.account()
				admins := []*roster.User{
					f.user(a, func(u *roster.User) { u.Roles = roster.NewRoleSet(roster.RoleAdmin) }),
					f.user(a, func(u *roster.User) { u.Roles = roster.NewRoleSet(roster.RoleAdmin) }),
				}
				errs := race(2, func(i int) error {
					return f.s.Update(f.ctx, func(tx roster.Tx) error {
						target, err := tx.UserForUpdate(f.ctx, a.ID, admins[1-i].ID)
						if err != nil {
							return err
						}
						if _, err := tx.LockAccount(f.ctx, a.ID); err != nil {
							return err
						}
						n, err := tx.CountUsers(f.ctx, a.ID, roster.StatusActive, roster.NewRoleSet(roster.RoleAdmin))
						if err != nil {
							return err
						}
						if n <= 1 {
							return roster.Errorf(roster.CodeConflict, "last admin")
						}
						target.Status, target.Version = roster.StatusInactive, target.Version+1
						return tx.UpdateUser(f.ctx, target)
					})
				})
				codes := []string{roster.ErrorCode(errs[0]), roster.ErrorCode(errs[1])}
				slices.Sort(codes)
				if !slices.Equal(codes, []string{"", roster.CodeConflict}) {
					t.Errorf("round %d: two writers revoking each other = %v, want one success and one conflict", round, errs)
				}
				if p := f.list(a.ID, "filter=role:is:admin&filter=status:is:active"); p.Total != 1 {
					t.Errorf("round %d: %d active Admins remain, want 1", round, p.Total)
				}
			}
		})
	})

	runIdentities(t, setup)
	authChanges(t, setup)
	runAPIKeys(t, setup)
}

// t0 is the base time of the suite's data, with microsecond precision as
// stores keep it.
var t0 = time.Date(2025, 3, 1, 9, 30, 0, 0, time.UTC)

func minutes(n int) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return t0.Add(time.Duration(n) * time.Minute)
}

// seq makes names, emails and times unique across the suite.
var seq atomic.Int64

type fixture struct {
	t   *testing.T
	ctx context.Context
	s   roster.Store
}

func (f *fixture) update(fn func(tx roster.Tx) error) {
	f.t.Helper()
	if err := f.s.Update(f.ctx, fn); err != nil {
		f.t.Fatalf("Update = %v", err)
	}
}

func (f *fixture) account(mods ...func(*roster.Account)) *roster.Account {
	f.t.Helper()
	n := seq.Add(1)
	a := &roster.Account{ID: roster.NewID(t0), Name: fmt.Sprintf("Account %d", n), CreatedAt: t0, UpdatedAt: t0}
	for _, m := range mods {
		m(a)
	}
	f.update(func(tx roster.Tx) error { return tx.InsertAccount(f.ctx, a) })
	return a
}

func (f *fixture) mustAccount(id string) *roster.Account {
	f.t.Helper()
	a, err := f.s.Account(f.ctx, id)
	if err != nil {
		f.t.Fatalf("Account(%s) = %v", id, err)
	}
	return a
}

func (f *fixture) mustUser(accountID, id string) *roster.User {
	f.t.Helper()
	u, err := f.s.User(f.ctx, accountID, id)
	if err != nil {
		f.t.Fatalf("User(%s) = %v", id, err)
	}
	return u
}

// newUser returns an active Support user of an account with unique names,
// email and times, changed by mods, with its keys derived.
func newUser(accountID string, mods ...func(*roster.User)) *roster.User {
	n := seq.Add(1)
	at := t0.Add(time.Duration(n) * time.Millisecond)
	u := &roster.User{
		ID: roster.NewID(at), AccountID: accountID,
		FirstName: fmt.Sprintf("First%04d", n), LastName: "Last", Email: fmt.Sprintf("user%04d@example.com", n),
		Roles: roster.NewRoleSet(roster.RoleSupport), Status: roster.StatusActive,
		InvitedAt: at, UpdatedAt: at, Version: 1,
	}
	for _, m := range mods {
		m(u)
	}
	u.Keys()
	return u
}

func (f *fixture) insertUser(users ...*roster.User) {
	f.t.Helper()
	f.update(func(tx roster.Tx) error {
		for _, u := range users {
			if err := tx.InsertUser(f.ctx, u); err != nil {
				return fmt.Errorf("InsertUser(%s %s): %w", u.FullName(), u.Email, err)
			}
		}
		return nil
	})
}

func (f *fixture) user(a *roster.Account, mods ...func(*roster.User)) *roster.User {
	f.t.Helper()
	u := newUser(a.ID, mods...)
	f.insertUser(u)
	return u
}

func (f *fixture) deleteUser(accountID, id string) {
	f.t.Helper()
	f.update(func(tx roster.Tx) error { _, err := tx.DeleteUser(f.ctx, accountID, id); return err })
}

func newAPIKey(u *roster.User, mods ...func(*roster.APIKey)) *roster.APIKey {
	secret := roster.NewAPIKeySecret()
	k := &roster.APIKey{ID: roster.NewID(t0), AccountID: u.AccountID, UserID: u.ID, Name: "key " + secret[len(secret)-4:],
		Hint: secret[len(secret)-4:], Hash: roster.HashSecret(secret), CreatedAt: t0}
	for _, m := range mods {
		m(k)
	}
	return k
}

func (f *fixture) apiKey(u *roster.User, mods ...func(*roster.APIKey)) *roster.APIKey {
	f.t.Helper()
	k := newAPIKey(u, mods...)
	f.update(func(tx roster.Tx) error { return tx.InsertAPIKey(f.ctx, k) })
	return k
}

func newInvitation(u *roster.User, at time.Time) *roster.Invitation {
	inv := &roster.Invitation{ID: roster.NewID(at), AccountID: u.AccountID, UserID: u.ID, CreatedAt: at}
	inv.TokenHash = roster.HashSecret(roster.InvitationToken(make([]byte, 32), inv.ID))
	return inv
}

func (f *fixture) invitation(u *roster.User, at time.Time) *roster.Invitation {
	f.t.Helper()
	inv := newInvitation(u, at)
	f.update(func(tx roster.Tx) error {
		if err := tx.InsertInvitation(f.ctx, inv); err != nil {
			return err
		}
		return tx.InsertOutbox(f.ctx, &roster.OutboxMessage{ID: roster.NewID(at), AccountID: u.AccountID,
			Kind: roster.MailInvitation, Ref: inv.ID, To: u.Email, CreatedAt: at})
	})
	return inv
}

func (f *fixture) countInvitations(accountID, userID string, since time.Time) int64 {
	f.t.Helper()
	var n int64
	f.update(func(tx roster.Tx) error {
		var err error
		n, err = tx.CountInvitationsSince(f.ctx, accountID, userID, since)
		return err
	})
	return n
}

func newAudit(accountID string, at time.Time, mods ...func(*roster.AuditEvent)) *roster.AuditEvent {
	n := seq.Add(1)
	e := &roster.AuditEvent{ID: roster.NewID(at), AccountID: accountID, At: at,
		ActorID: roster.NewID(t0), ActorName: "Ada Admin", ActorEmail: "ada@example.com",
		Action: roster.ActionUserRevoked, TargetID: roster.NewID(t0), TargetName: "Tom Target", TargetEmail: fmt.Sprintf("tom%d@example.com", n),
		Details: map[string]any{"reason": "other", "note": "Zoë left.\nBye", "n": n, "roles": []string{"admin", "support"}, "none": nil},
		IP:      "2001:db8::7"}
	for _, m := range mods {
		m(e)
	}
	return e
}

func (f *fixture) audit(accountID string, at time.Time, mods ...func(*roster.AuditEvent)) *roster.AuditEvent {
	f.t.Helper()
	e := newAudit(accountID, at, mods...)
	f.update(func(tx roster.Tx) error { return tx.InsertAudit(f.ctx, e) })
	return e
}

func (f *fixture) auditIDs(accountID string) []string {
	f.t.Helper()
	p, err := f.s.AuditEvents(f.ctx, accountID, roster.AuditQuery{Limit: roster.MaxLimit})
	if err != nil {
		f.t.Fatalf("AuditEvents = %v", err)
	}
	return eventIDs(p.Items)
}

// normEvents copies events with Details passed through JSON, the way stores
// keep them, and without the chain fields, which pages leave out.
func normEvents(events []*roster.AuditEvent) []roster.AuditEvent {
	out := make([]roster.AuditEvent, len(events))
	for i, e := range events {
		out[i] = *e
		out[i].Seq, out[i].PrevHash, out[i].Hash = 0, nil, nil
		b, err := json.Marshal(e.Details)
		if err != nil {
			panic(err)
		}
		out[i].Details = nil
		if err := json.Unmarshal(b, &out[i].Details); err != nil {
			panic(err)
		}
	}
	return out
}

// query parses URL-style list parameters ("q=ann&filter=status:is:active&sort=-name&limit=5")
// the way the API does.
func (f *fixture) query(params string) roster.ListQuery {
	f.t.Helper()
	var in roster.ListParams
	for _, kv := range strings.Split(params, "&") {
		k, v, _ := strings.Cut(kv, "=")
		switch k {
		case "q":
			in.Q = v
		case "filter":
			in.Filters = append(in.Filters, v)
		case "sort":
			in.Sort = v
		case "limit":
			in.Limit = v
		case "":
		default:
			f.t.Fatalf("query(%q): unknown parameter %q", params, k)
		}
	}
	q, err := roster.ParseListParams(in)
	if err != nil {
		f.t.Fatalf("ParseListParams(%q) = %v", params, err)
	}
	return q
}

func (f *fixture) list(accountID, params string) *roster.UserPage {
	f.t.Helper()
	if !strings.Contains(params, "limit=") {
		params += "&limit=200"
	}
	p, err := f.s.ListUsers(f.ctx, accountID, f.query(params))
	if err != nil {
		f.t.Fatalf("ListUsers(%s) = %v", params, err)
	}
	return p
}

// matches answers a list query in Go: the reference the stores must agree with.
func matches(u *roster.User, q roster.ListQuery) bool {
	switch {
	case q.Q == "":
	case q.Email:
		if u.EmailKey != q.Q {
			return false
		}
	default:
		if !strings.Contains(u.SearchKey, q.Q) {
			return false
		}
	}
	for _, f := range q.Filters {
		var is bool
		if f.Role != "" {
			is = u.Roles.Has(f.Role)
		} else {
			is = u.Status == f.Status
		}
		if is == f.Not {
			return false
		}
	}
	return true
}

// compareUsers orders users as a list sorted by s: by the sort key compared
// byte-wise, ties broken by id, both in the sort's direction.
func compareUsers(s roster.Sort, a, b *roster.User) int {
	var c int
	switch s.Field {
	case roster.SortName:
		c = strings.Compare(a.NameKey, b.NameKey)
	case roster.SortEmail:
		c = strings.Compare(a.EmailKey, b.EmailKey)
	case roster.SortStatus:
		c = strings.Compare(string(a.Status), string(b.Status))
	case roster.SortLastLogin:
		c = cmpInt(roster.Micros(a.LastLoginAt), roster.Micros(b.LastLoginAt))
	case roster.SortInvitedAt:
		c = cmpInt(roster.Micros(a.InvitedAt), roster.Micros(b.InvitedAt))
	default:
		panic("unknown sort " + s.String())
	}
	if c == 0 {
		c = strings.Compare(a.ID, b.ID)
	}
	if s.Desc {
		c = -c
	}
	return c
}

func cmpInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// expect returns the users matching q in q's order.
func expect(users []*roster.User, q roster.ListQuery) []*roster.User {
	var out []*roster.User
	for _, u := range users {
		if matches(u, q) {
			out = append(out, u)
		}
	}
	slices.SortFunc(out, func(a, b *roster.User) int { return compareUsers(q.Sort, a, b) })
	return out
}

type collectOption func(*int64)

// withTotal sets the total every page must report, when it differs from the
// number of rows collect expects.
func withTotal(n int64) collectOption { return func(total *int64) { *total = n } }

// collect pages through q from q.After and checks that the pages hold
// exactly want, in order, each reporting the total.
func (f *fixture) collect(accountID string, q roster.ListQuery, want []*roster.User, opts ...collectOption) {
	f.t.Helper()
	total := int64(len(want))
	for _, o := range opts {
		o(&total)
	}
	desc := describe(q)
	var got []string
	for page := 0; ; page++ {
		if page > len(want)+1 {
			f.t.Fatalf("ListUsers(%s): more pages than rows; the cursor does not advance", desc)
		}
		p, err := f.s.ListUsers(f.ctx, accountID, q)
		if err != nil {
			f.t.Fatalf("ListUsers(%s) page %d = %v", desc, page, err)
		}
		if p.Total != total {
			f.t.Errorf("ListUsers(%s) page %d total = %d, want %d", desc, page, p.Total, total)
		}
		if len(p.Items) > q.Limit {
			f.t.Errorf("ListUsers(%s) page %d has %d items, more than the limit", desc, page, len(p.Items))
		}
		got = append(got, ids(p.Items)...)
		if p.NextCursor == nil {
			break
		}
		if len(p.Items) == 0 {
			f.t.Fatalf("ListUsers(%s) page %d is empty but has a next cursor", desc, page)
		}
		if len(got) >= len(want) {
			f.t.Errorf("ListUsers(%s) page %d has a next cursor after the last match", desc, page)
		}
		// The cursor must survive the trip through the API unchanged.
		pq, err := roster.ParseListParams(roster.ListParams{Sort: q.Sort.String(), Cursor: p.NextCursor.Encode()})
		if err != nil {
			f.t.Fatalf("ListUsers(%s) page %d: next cursor %+v does not parse: %v", desc, page, p.NextCursor, err)
		}
		q.After = pq.After
	}
	if w := ids(want); !slices.Equal(got, w) {
		f.t.Errorf("ListUsers(%s) collected\n  %v\nwant\n  %v", desc, names(got, want), names(w, want))
	}
}

// pageBackwards pages forwards through q, then from the last page back to
// the first through each page's PrevCursor: every page read backwards must
// hold the rows of the same page read forwards, in the list's order, with
// the total, and lead forwards again to the page after it.
func (f *fixture) pageBackwards(accountID string, q roster.ListQuery, want []*roster.User) {
	f.t.Helper()
	desc := describe(q)
	var pages []*roster.UserPage
	for fwd := q; ; {
		p, err := f.s.ListUsers(f.ctx, accountID, fwd)
		if err != nil {
			f.t.Fatalf("ListUsers(%s) = %v", desc, err)
		}
		if (fwd.After == nil) != (p.PrevCursor == nil) {
			f.t.Errorf("ListUsers(%s) page %d: prev cursor %+v; want one on every page but the first", desc, len(pages), p.PrevCursor)
		}
		pages = append(pages, p)
		if p.NextCursor == nil || len(pages) > len(want) {
			break
		}
		fwd.After = p.NextCursor
	}
	for i := len(pages) - 1; i > 0; i-- {
		// The cursor must survive the trip through the API unchanged.
		pq, err := roster.ParseListParams(roster.ListParams{Sort: q.Sort.String(), Limit: strconv.Itoa(q.Limit),
			Cursor: pages[i].PrevCursor.Encode()})
		if err != nil || pq.Before == nil || pq.After != nil {
			f.t.Fatalf("ListUsers(%s) page %d: prev cursor %+v parses as after %v, before %v, %v; want before", desc, i,
				pages[i].PrevCursor, pq.After, pq.Before, err)
		}
		back := q
		back.Before = pq.Before
		p, err := f.s.ListUsers(f.ctx, accountID, back)
		if err != nil {
			f.t.Fatalf("ListUsers(%s, before page %d) = %v", desc, i, err)
		}
		if got, w := ids(p.Items), ids(pages[i-1].Items); !slices.Equal(got, w) {
			f.t.Errorf("ListUsers(%s, before page %d) =\n  %v\nwant page %d\n  %v", desc, i, names(got, want), i-1, names(w, want))
		}
		if p.Total != int64(len(want)) {
			f.t.Errorf("ListUsers(%s, before page %d) total = %d, want %d", desc, i, p.Total, len(want))
		}
		if (i == 1) != (p.PrevCursor == nil) {
			f.t.Errorf("ListUsers(%s, before page %d): prev cursor %+v; want one unless it is the first page", desc, i, p.PrevCursor)
		}
		if p.NextCursor == nil || !cmp.Equal(p.NextCursor, pages[i-1].NextCursor) {
			f.t.Errorf("ListUsers(%s, before page %d): next cursor %+v, want %+v", desc, i, p.NextCursor, pages[i-1].NextCursor)
		}
	}
}

// names renders ids as the names of the users in want, for readable failures.
func names(ids []string, users []*roster.User) []string {
	byID := map[string]string{}
	for _, u := range users {
		byID[u.ID] = u.FullName()
	}
	out := make([]string, len(ids))
	for i, id := range ids {
		if n, ok := byID[id]; ok {
			out[i] = n
		} else {
			out[i] = "?" + short(id)
		}
	}
	return out
}

func describe(q roster.ListQuery) string {
	var parts []string
	if q.Q != "" {
		mode := "q"
		if q.Email {
			mode = "email"
		}
		parts = append(parts, fmt.Sprintf("%s=%q", mode, q.Q))
	}
	for _, f := range q.Filters {
		parts = append(parts, f.String())
	}
	parts = append(parts, "sort="+q.Sort.String(), fmt.Sprintf("limit=%d", q.Limit))
	if q.After != nil {
		parts = append(parts, "after="+short(q.After.ID))
	}
	if q.Before != nil {
		parts = append(parts, "before="+short(q.Before.ID))
	}
	return strings.Join(parts, " ")
}

// checkQueries runs every combination of search text and filter set, sorted
// by name in pages of 200, against the answer in Go.
func (f *fixture) checkQueries(accountID string, users []*roster.User, texts []string, filters [][]string) {
	f.t.Helper()
	for _, text := range texts {
		for _, fs := range filters {
			params := "limit=200&q=" + text
			for _, x := range fs {
				params += "&filter=" + x
			}
			q := f.query(params)
			f.collect(accountID, q, expect(users, q))
		}
	}
}

// race runs fn(0..n-1) in goroutines released at the same moment and returns
// their errors.
func race(n int, fn func(i int) error) []error {
	errs := make([]error, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			errs[i] = fn(i)
		})
	}
	close(start)
	wg.Wait()
	return errs
}

func wantCode(t *testing.T, err error, code, format string, args ...any) {
	t.Helper()
	if got := roster.ErrorCode(err); got != code {
		t.Errorf("%s = %v (code %q), want code %q", fmt.Sprintf(format, args...), err, got, code)
	}
}

func ids(users []*roster.User) []string {
	out := make([]string, len(users))
	for i, u := range users {
		out[i] = u.ID
	}
	return out
}

func eventIDs(events []*roster.AuditEvent) []string {
	out := make([]string, len(events))
	for i, e := range events {
		out[i] = e.ID
	}
	return out
}

func short(id string) string {
	if len(id) > 8 {
		return id[len(id)-8:]
	}
	return id
}

// The list data: names, emails and times chosen for ties (case-folded
// names, equal times), Unicode, LIKE wildcards, and substrings that cross
// the first/last name boundary.
type row struct {
	first, last, email string
	roles              []roster.RoleID
	status             roster.Status
	login, invited     int // minutes after t0; login 0: never signed in
}

const (
	admin    = roster.RoleAdmin
	cm       = roster.RoleCommunicationManager
	support  = roster.RoleSupport
	expert   = roster.RoleExpert
	whatsapp = roster.RoleWhatsAppOnly
	numbers  = roster.RoleNumbersReadOnly
	active   = roster.StatusActive
	inactive = roster.StatusInactive
	invited  = roster.StatusInvited
)

func r(ids ...roster.RoleID) []roster.RoleID { return ids }

var listRows = []row{
	{"Anna", "Smith", "anna.smith@example.com", r(admin), active, 30, 1},
	{"ANNA", "SMITH", "Anna.Smith2@example.com", r(support), active, 30, 1},
	{"anna", "smith", "anna@example.io", r(cm), invited, 0, 1},
	{"Joann", "Smithers", "joann@example.org", r(cm, support), invited, 0, 2},
	{"Zoë", "Ångström", "zoe@example.net", r(expert), active, 45, 3},
	{"ZOË", "ÅNGSTRÖM", "zoe.upper@example.net", r(support), inactive, 45, 3},
	{"Ann_Marie", "O'Neil", "amo@example.com", r(support), inactive, 0, 4},
	{"Per%cent", "Sign", "percent@example.com", r(whatsapp), active, 10, 5},
	{`Back\slash`, "Name", "back_slash@example.com", r(numbers), invited, 0, 5},
	{"Émile", "Zola", "EMILE.ZOLA@example.com", r(admin, cm), inactive, 20, 6},
	{"Bob", "Annan", "bob@annan.example", r(support), active, 20, 7},
	{"李", "小龙", "li@example.cn", r(cm), active, 5, 8},
	{"Carla", "Mann", "carla@example.com", r(admin), invited, 0, 8},
	{"Dmitri", "Иванов", "d.ivanov@mail.example", r(support, cm), active, 50, 9},
	{"Ola", "Nordmann", "ola@nordmann.no", r(admin, whatsapp, numbers), inactive, 0, 10},
	{"Ærin", "Ash", "aerin@example.com", r(support), active, 15, 11},
	{"Zed", "Zulu", "zed@example.com", r(admin, support), active, 60, 12},
}

var roleCombos = []roster.RoleSet{
	roster.NewRoleSet(admin),
	roster.NewRoleSet(support),
	roster.NewRoleSet(cm, support),
	roster.NewRoleSet(expert),
	roster.NewRoleSet(admin, cm),
	roster.NewRoleSet(whatsapp),
	roster.NewRoleSet(numbers, support),
}

var searchTexts = []string{
	"", "ann", "ANN", "anna smith", "a smith", "n s", "smith", "Zoë", "ÅNGSTRÖM", "zoë ångström", "小龙", "ИВАН",
	"a", "zo", "李", "%", "_", `\`, "'", "example.com", "@example.org", "nomatch", "user1", "generated",
	"Anna.Smith@EXAMPLE.com", "emile.zola@example.com", "ann@example.org", "anna.smith", "smith anna",
}

var filterSets = [][]string{
	nil,
	{"role:is:admin"},
	{"role:is_not:admin"},
	{"status:is:active"},
	{"status:is_not:active"},
	{"status:is:invited"},
	{"status:is_not:inactive"},
	{"role:is:support", "status:is:active"},
	{"role:is_not:support", "role:is_not:admin"},
	{"role:is:support", "role:is:communication_manager"},
	{"status:is:active", "status:is_not:active"},
	{"role:is:expert", "status:is_not:invited"},
	{"role:is:whatsapp_only"},
	{"role:is_not:numbers_read_only", "status:is:inactive"},
	{"role:is:admin", "role:is:support", "status:is:active"},
}

var sorts = []string{"name", "-name", "email", "-email", "status", "-status", "last_login", "-last_login", "invited_at", "-invited_at"}

// seedList inserts the list data into a new account, and the same people
// (other ids, same names and emails) into a second account that no query of
// the first may ever return.
func (f *fixture) seedList() (*roster.Account, []*roster.User) {
	f.t.Helper()
	rows := slices.Clone(listRows)
	for i := range 28 {
		rows = append(rows, row{
			first: fmt.Sprintf("User%02d", i), last: "Generated", email: fmt.Sprintf("user%02d@gen.example", i),
			roles: roleCombos[i%len(roleCombos)].IDs(), status: roster.Statuses[i%3],
			login: i % 4 * 15, invited: 20 + i%5,
		})
	}
	a, b := f.account(), f.account()
	var users, mirror []*roster.User
	for _, acct := range []*roster.Account{a, b} {
		for _, rw := range rows {
			u := newUser(acct.ID, func(u *roster.User) {
				u.FirstName, u.LastName, u.Email = rw.first, rw.last, rw.email
				u.Roles, u.Status = roster.NewRoleSet(rw.roles...), rw.status
				u.LastLoginAt, u.InvitedAt = minutes(rw.login), minutes(rw.invited)
			})
			if acct == a {
				users = append(users, u)
			} else {
				mirror = append(mirror, u)
			}
		}
	}
	// Interleave the accounts so that insertion order tells nothing.
	var all []*roster.User
	for i := range users {
		all = append(all, mirror[i], users[i])
	}
	f.insertUser(all...)
	return a, users
}
