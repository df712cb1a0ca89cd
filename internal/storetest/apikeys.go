package storetest

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"roster"
)

// runAPIKeys holds stores to the contract of key management: the
// allow-list and scope round trip, the account's and a user's key lists,
// changes, deletes and the batched last-use writes, all scoped by account.
func runAPIKeys(t *testing.T, setup func(t *testing.T) *fixture) {
	t.Run("APIKeyManagement", func(t *testing.T) {
		t.Parallel()
		t.Run("LimitsRoundTrip", func(t *testing.T) {
			t.Parallel()
			f := setup(t)
			u := f.user(f.account())
			k := f.apiKey(u, func(k *roster.APIKey) {
				k.AllowedIPs = []string{"192.0.2.7", "198.51.100.0/24", "2001:db8::/32"}
				k.Scope = []string{"logs.view", "usage.view"}
			})
			got, err := f.s.APIKeyByHash(f.ctx, k.Hash)
			if err != nil {
				t.Fatalf("APIKeyByHash = %v", err)
			}
			if d := cmp.Diff(k, got); d != "" {
				t.Errorf("APIKeyByHash (-want +got):\n%s", d)
			}
			gotKey, _, err := f.s.APIKeyOwner(f.ctx, k.Hash)
			if err != nil {
				t.Fatalf("APIKeyOwner = %v", err)
			}
			if d := cmp.Diff(k.AllowedIPs, gotKey.AllowedIPs); d != "" {
				t.Errorf("APIKeyOwner allow-list (-want +got):\n%s", d)
			}
			if d := cmp.Diff(k.Scope, gotKey.Scope); d != "" {
				t.Errorf("APIKeyOwner scope (-want +got):\n%s", d)
			}
			// An unrestricted key reads back nil lists: any address, every permission.
			plain := f.apiKey(u)
			gotKey, _, err = f.s.APIKeyOwner(f.ctx, plain.Hash)
			if err != nil || gotKey.AllowedIPs != nil || gotKey.Scope != nil {
				t.Errorf("APIKeyOwner(unrestricted key) = %+v, %v; want nil allow-list and scope", gotKey, err)
			}
		})
		t.Run("ListAndGet", func(t *testing.T) {
			t.Parallel()
			f := setup(t)
			a, b := f.account(), f.account()
			u := f.user(a)
			v := f.user(a, func(x *roster.User) { x.Status, x.RevokedAt = roster.StatusInactive, t0 })
			w := f.user(b)
			k1 := f.apiKey(u, func(k *roster.APIKey) { k.ID, k.Scope = roster.NewID(t0.Add(time.Second)), []string{"logs.view"} })
			k2 := f.apiKey(v, func(k *roster.APIKey) { k.ID, k.Disabled = roster.NewID(t0.Add(2*time.Second)), true })
			k3 := f.apiKey(u, func(k *roster.APIKey) { k.ID, k.ExpiresAt = roster.NewID(t0.Add(3*time.Second)), t0.Add(time.Hour) })
			kb := f.apiKey(w)
			owner := func(x *roster.User) *roster.User {
				return &roster.User{ID: x.ID, AccountID: x.AccountID, FirstName: x.FirstName, LastName: x.LastName,
					Email: x.Email, Roles: x.Roles, Status: x.Status, AccessUntil: x.AccessUntil}
			}
			listed := func(k *roster.APIKey, o *roster.User) *roster.APIKey {
				c := *k
				c.Hash, c.Owner = nil, owner(o)
				return &c
			}
			tests := []struct {
				acct, user string
				want       []*roster.APIKey
			}{
				{a.ID, "", []*roster.APIKey{listed(k3, u), listed(k2, v), listed(k1, u)}},
				{a.ID, u.ID, []*roster.APIKey{listed(k3, u), listed(k1, u)}},
				{a.ID, v.ID, []*roster.APIKey{listed(k2, v)}},
				{a.ID, w.ID, nil}, // a user of another account
				{b.ID, "", []*roster.APIKey{listed(kb, w)}},
				{b.ID, u.ID, nil},
				{"not-a-uuid", "", nil},
				{a.ID, "not-a-uuid", nil},
			}
			for _, tt := range tests {
				got, err := f.s.APIKeys(f.ctx, tt.acct, tt.user)
				if err != nil {
					t.Fatalf("APIKeys(%s, %s) = %v", short(tt.acct), short(tt.user), err)
				}
				if d := cmp.Diff(tt.want, got, cmpopts.EquateEmpty()); d != "" {
					t.Errorf("APIKeys(%s, %s) (-want +got):\n%s", short(tt.acct), short(tt.user), d)
				}
			}
			got, err := f.s.APIKey(f.ctx, a.ID, k1.ID)
			if err != nil {
				t.Fatalf("APIKey = %v", err)
			}
			if d := cmp.Diff(listed(k1, u), got); d != "" {
				t.Errorf("APIKey (-want +got):\n%s", d)
			}
			for _, c := range []struct{ acct, key string }{{b.ID, k1.ID}, {a.ID, kb.ID}, {a.ID, roster.NewID(t0)}, {a.ID, "x"}, {"x", k1.ID}} {
				_, err := f.s.APIKey(f.ctx, c.acct, c.key)
				wantCode(t, err, roster.CodeNotFound, "APIKey(%s, %s)", short(c.acct), short(c.key))
				err = f.s.Update(f.ctx, func(tx roster.Tx) error { _, err := tx.APIKeyForUpdate(f.ctx, c.acct, c.key); return err })
				wantCode(t, err, roster.CodeNotFound, "APIKeyForUpdate(%s, %s)", short(c.acct), short(c.key))
				err = f.s.Update(f.ctx, func(tx roster.Tx) error { return tx.DeleteAPIKey(f.ctx, c.acct, c.key) })
				wantCode(t, err, roster.CodeNotFound, "DeleteAPIKey(%s, %s)", short(c.acct), short(c.key))
				err = f.s.Update(f.ctx, func(tx roster.Tx) error {
					return tx.UpdateAPIKey(f.ctx, &roster.APIKey{ID: c.key, AccountID: c.acct, Name: "x"})
				})
				wantCode(t, err, roster.CodeNotFound, "UpdateAPIKey(%s, %s)", short(c.acct), short(c.key))
			}
			if _, err := f.s.APIKey(f.ctx, a.ID, k1.ID); err != nil {
				t.Errorf("APIKey after refused changes from another account = %v", err)
			}
		})
		t.Run("UpdateDeleteCount", func(t *testing.T) {
			t.Parallel()
			f := setup(t)
			a := f.account()
			u, v := f.user(a), f.user(a)
			k, other := f.apiKey(u), f.apiKey(u)
			f.apiKey(v)
			f.update(func(tx roster.Tx) error {
				got, err := tx.APIKeyForUpdate(f.ctx, a.ID, k.ID)
				if err != nil {
					return err
				}
				if got.Owner == nil || got.Owner.ID != u.ID || got.Name != k.Name {
					t.Errorf("APIKeyForUpdate = %+v, want the key with its owner", got)
				}
				got.Name, got.Disabled = "Renamed", true
				return tx.UpdateAPIKey(f.ctx, got)
			})
			got, err := f.s.APIKey(f.ctx, a.ID, k.ID)
			if err != nil || got.Name != "Renamed" || !got.Disabled {
				t.Errorf("APIKey after UpdateAPIKey = %+v, %v; want renamed and disabled", got, err)
			}
			if n, _ := f.s.CountActiveAPIKeys(f.ctx, a.ID, u.ID, t0); n != 1 {
				t.Errorf("CountActiveAPIKeys after disabling one of two = %d, want 1", n)
			}
			f.update(func(tx roster.Tx) error {
				for _, c := range []struct {
					user string
					want int64
				}{{u.ID, 2}, {v.ID, 1}, {roster.NewID(t0), 0}} {
					if n, err := tx.CountAPIKeys(f.ctx, a.ID, c.user); err != nil || n != c.want {
						t.Errorf("CountAPIKeys(%s) = %d, %v; want %d", short(c.user), n, err, c.want)
					}
				}
				return tx.DeleteAPIKey(f.ctx, a.ID, k.ID)
			})
			if _, _, err := f.s.APIKeyOwner(f.ctx, k.Hash); roster.ErrorCode(err) != roster.CodeNotFound {
				t.Errorf("APIKeyOwner(deleted key) = %v, want not found", err)
			}
			if _, err := f.s.APIKey(f.ctx, a.ID, other.ID); err != nil {
				t.Errorf("APIKey(the user's other key) after DeleteAPIKey = %v", err)
			}
		})
		t.Run("TouchAPIKeys", func(t *testing.T) {
			t.Parallel()
			f := setup(t)
			u := f.user(f.account())
			k1 := f.apiKey(u)
			k2 := f.apiKey(u, func(k *roster.APIKey) { k.LastUsedAt = t0.Add(time.Hour) })
			gone := roster.NewID(t0)
			if err := f.s.TouchAPIKeys(f.ctx, map[string]time.Time{k1.ID: t0.Add(time.Minute), k2.ID: t0.Add(time.Minute),
				gone: t0, "not-a-uuid": t0}); err != nil {
				t.Fatalf("TouchAPIKeys = %v", err)
			}
			for _, c := range []struct {
				k    *roster.APIKey
				want time.Time
			}{{k1, t0.Add(time.Minute)}, {k2, t0.Add(time.Hour)}} {
				got, err := f.s.APIKeyByHash(f.ctx, c.k.Hash)
				if err != nil || !got.LastUsedAt.Equal(c.want) {
					t.Errorf("LastUsedAt after TouchAPIKeys = %v, %v; want %v (never backwards)", got.LastUsedAt, err, c.want)
				}
			}
			if err := f.s.TouchAPIKeys(f.ctx, nil); err != nil {
				t.Errorf("TouchAPIKeys(nothing) = %v", err)
			}
		})
	})
}
