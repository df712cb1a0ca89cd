package roster_test

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"roster"
	"roster/internal/testdb"
)

// key creates a key as actor and returns it with its secret.
func (e *env) key(t *testing.T, actor *roster.Actor, in roster.KeyInput) (*roster.APIKey, string) {
	t.Helper()
	if in.Name == "" {
		in.Name = fmt.Sprintf("key %d", seq.Add(1))
	}
	k, secret, err := e.svc.CreateKey(e.ctx, actor, e.acct.ID, in)
	if err != nil {
		t.Fatalf("CreateKey(%+v) = %v", in, err)
	}
	return k, secret
}

func TestCreateKeyValidation(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, s roster.Store) {
		e := newEnv(t, s)
		support, supportActor := e.member(t, e.tenant, roles(roster.RoleSupport))
		other := e.newTenant(t)
		past := start.Add(-time.Second)
		tests := []struct {
			name   string
			actor  *roster.Actor
			in     roster.KeyInput
			code   string
			fields []string
		}{
			{"expiry now", e.admin, roster.KeyInput{Name: "k", ExpiresAt: start}, roster.CodeInvalid, []string{"expires_at"}},
			{"expiry past", e.admin, roster.KeyInput{Name: "k", ExpiresAt: past}, roster.CodeInvalid, []string{"expires_at"}},
			{"expiry too far", e.admin, roster.KeyInput{Name: "k", ExpiresAt: start.AddDate(11, 0, 0)}, roster.CodeInvalid, []string{"expires_at"}},
			{"address not an address", e.admin, roster.KeyInput{Name: "k", AllowedIPs: []string{"192.0.2.300"}}, roster.CodeInvalid, []string{"allowed_ips"}},
			{"range with host bits", e.admin, roster.KeyInput{Name: "k", AllowedIPs: []string{"10.1.2.3/8"}}, roster.CodeInvalid, []string{"allowed_ips"}},
			{"range too long", e.admin, roster.KeyInput{Name: "k", AllowedIPs: []string{"10.0.0.0/33"}}, roster.CodeInvalid, []string{"allowed_ips"}},
			{"IPv6 zone", e.admin, roster.KeyInput{Name: "k", AllowedIPs: []string{"fe80::1%eth0"}}, roster.CodeInvalid, []string{"allowed_ips"}},
			{"host name", e.admin, roster.KeyInput{Name: "k", AllowedIPs: []string{"example.com"}}, roster.CodeInvalid, []string{"allowed_ips"}},
			{"too many entries", e.admin, roster.KeyInput{Name: "k", AllowedIPs: manyIPs(roster.MaxAllowedIPs + 1)}, roster.CodeInvalid, []string{"allowed_ips"}},
			{"empty scope", e.admin, roster.KeyInput{Name: "k", Scope: []string{}}, roster.CodeInvalid, []string{"scope"}},
			{"unknown permission", e.admin, roster.KeyInput{Name: "k", Scope: []string{"logs.view", "logs.delete"}}, roster.CodeInvalid, []string{"scope"}},
			{"every field bad", e.admin, roster.KeyInput{ExpiresAt: past, AllowedIPs: []string{"x"}, Scope: []string{}}, roster.CodeInvalid,
				[]string{"name", "expires_at", "allowed_ips", "scope"}},
			{"scope beyond the owner", e.admin, roster.KeyInput{Name: "k", UserEmail: support.Email, Scope: []string{"logs.view", "billing.manage"}},
				roster.CodeForbidden, nil},
			{"another user's key without team.manage", supportActor, roster.KeyInput{Name: "k", UserEmail: e.adminUser.Email}, roster.CodeForbidden, nil},
			{"actor without api_keys.manage", supportActor, roster.KeyInput{Name: "k"}, roster.CodeForbidden, nil},
			{"actor of another account", other.admin, roster.KeyInput{Name: "k"}, roster.CodeNotFound, nil},
			{"operator without an owner", roster.OperatorActor(), roster.KeyInput{Name: "k"}, roster.CodeInvalid, []string{"user_email"}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				before := e.snapshot(t, e.acct.ID)
				_, _, err := e.svc.CreateKey(e.ctx, tt.actor, e.acct.ID, tt.in)
				wantError(t, err, tt.code, tt.fields...)
				e.unchanged(t, before, "a refused CreateKey")
			})
		}
		t.Run("every bad entry is named", func(t *testing.T) {
			_, _, err := e.svc.CreateKey(e.ctx, e.admin, e.acct.ID, roster.KeyInput{Name: "k", AllowedIPs: []string{"1.2.3", "192.0.2.1", "::g"}})
			var re *roster.Error
			if !errorsAs(err, &re) || len(re.Fields) != 2 || !strings.Contains(re.Fields[0].Message, `"1.2.3"`) || !strings.Contains(re.Fields[1].Message, `"::g"`) {
				t.Errorf("CreateKey(two bad entries) = %v, want a problem naming each", err)
			}
			_, _, err = e.svc.CreateKey(e.ctx, e.admin, e.acct.ID, roster.KeyInput{Name: "k", AllowedIPs: []string{"10.1.2.3/8"}})
			if !errorsAs(err, &re) || !strings.Contains(re.Fields[0].Message, "10.0.0.0/8") {
				t.Errorf("CreateKey(10.1.2.3/8) = %v, want the masked range suggested", err)
			}
		})
		t.Run("valid", func(t *testing.T) {
			before := e.auditIDs(t, e.acct.ID)
			exp := start.Add(30 * 24 * time.Hour)
			k, secret, err := e.svc.CreateKey(e.ctx, e.admin, e.acct.ID, roster.KeyInput{Name: " CI ", ExpiresAt: exp,
				AllowedIPs: []string{" 192.0.2.7 ", "198.51.100.0/24", "2001:DB8::/32", "::ffff:192.0.2.8", "192.0.2.7", "", "203.0.113.9/32"},
				Scope:      []string{"usage.view", "logs.view", "logs.view"}})
			if err != nil {
				t.Fatalf("CreateKey = %v", err)
			}
			wantIPs := []string{"192.0.2.7", "198.51.100.0/24", "2001:db8::/32", "192.0.2.8", "203.0.113.9"}
			if k.Name != "CI" || !slices.Equal(k.AllowedIPs, wantIPs) || !slices.Equal(k.Scope, []string{"usage.view", "logs.view"}) ||
				!k.ExpiresAt.Equal(exp) || k.UserID != e.adminUser.ID || !roster.CheckAPIKeyFormat(secret) {
				t.Errorf("CreateKey = %+v, want the input cleaned (allow-list canonical, scope in catalogue order)", k)
			}
			stored, err := e.raw.APIKeyByHash(e.ctx, roster.HashSecret(secret))
			if err != nil || stored.ID != k.ID || strings.Contains(fmt.Sprint(stored), secret[len(roster.KeyPrefix):]) {
				t.Errorf("stored key = %+v, %v; want it found by the secret's hash only", stored, err)
			}
			wantEvent(t, e.lastEvent(t, e.acct.ID, before), e.admin, e.adminUser, roster.ActionAPIKeyCreated, start,
				map[string]any{"key_id": k.ID, "name": "CI", "expires_at": exp.Format(time.RFC3339), "allowed_ips": wantIPs,
					"scope": []string{"usage.view", "logs.view"}})
		})
	})
}

func errorsAs(err error, target **roster.Error) bool {
	e, ok := err.(*roster.Error)
	*target = e
	return ok
}

func manyIPs(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("10.0.%d.%d", i/250, i%250+1)
	}
	return out
}

func TestKeyManagement(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, s roster.Store) {
		e := newEnv(t, s)
		admin2User, admin2 := e.member(t, e.tenant, roles(roster.RoleAdmin))
		_, supportActor := e.member(t, e.tenant, roles(roster.RoleSupport))
		other := e.newTenant(t)
		mine, _ := e.key(t, e.admin, roster.KeyInput{Name: "mine"})
		e.clock.Advance(time.Second)
		theirs, secret := e.key(t, admin2, roster.KeyInput{Name: "theirs"})

		// Admins see every key of the account, newest first, with its creator.
		keys, err := e.svc.APIKeys(e.ctx, e.admin, e.acct.ID)
		if err != nil || len(keys) != 2 || keys[0].ID != theirs.ID || keys[1].ID != mine.ID || keys[0].Owner.ID != admin2User.ID ||
			keys[0].Hash != nil || keys[0].State(e.clock.Now()) != roster.KeyActive {
			t.Fatalf("APIKeys = %+v, %v; want both keys, newest first, with owners and no hash", keys, err)
		}
		for _, c := range []struct {
			name  string
			actor *roster.Actor
			code  string
		}{{"without api_keys.manage", supportActor, roster.CodeForbidden}, {"another account", other.admin, roster.CodeNotFound}} {
			before := e.snapshot(t, e.acct.ID)
			_, err := e.svc.APIKeys(e.ctx, c.actor, e.acct.ID)
			wantError(t, err, c.code)
			_, err = e.svc.APIKey(e.ctx, c.actor, e.acct.ID, theirs.ID)
			wantError(t, err, c.code)
			_, err = e.svc.UpdateAPIKey(e.ctx, c.actor, e.acct.ID, theirs.ID, roster.KeyUpdate{Active: new(false)})
			wantError(t, err, c.code)
			wantError(t, e.svc.DeleteAPIKey(e.ctx, c.actor, e.acct.ID, theirs.ID), c.code)
			e.unchanged(t, before, "a refused key change "+c.name)
		}
		// A key of another account is not found, like a missing one.
		otherKey, _, err := e.svc.CreateKey(e.ctx, other.admin, other.acct.ID, roster.KeyInput{Name: "x"})
		if err != nil {
			t.Fatal(err)
		}
		for _, id := range []string{otherKey.ID, roster.NewID(start), "nope"} {
			_, err := e.svc.APIKey(e.ctx, e.admin, e.acct.ID, id)
			wantError(t, err, roster.CodeNotFound)
			_, err = e.svc.UpdateAPIKey(e.ctx, e.admin, e.acct.ID, id, roster.KeyUpdate{Active: new(false)})
			wantError(t, err, roster.CodeNotFound)
			wantError(t, e.svc.DeleteAPIKey(e.ctx, e.admin, e.acct.ID, id), roster.CodeNotFound)
		}

		verify := func() string {
			t.Helper()
			v, err := e.svc.VerifyKey(e.ctx, secret, "", "")
			if err != nil {
				t.Fatalf("VerifyKey = %v", err)
			}
			return v.Reason
		}
		// Switching off is reversible and audited; another Admin may do it.
		before := e.auditIDs(t, e.acct.ID)
		k, err := e.svc.UpdateAPIKey(e.ctx, e.admin, e.acct.ID, theirs.ID, roster.KeyUpdate{Active: new(false), Name: new(" Renamed ")})
		if err != nil || !k.Disabled || k.Name != "Renamed" || k.State(e.clock.Now()) != roster.KeyInactive {
			t.Fatalf("UpdateAPIKey(off, rename) = %+v, %v", k, err)
		}
		wantEvent(t, e.lastEvent(t, e.acct.ID, before), e.admin, admin2User, roster.ActionAPIKeyUpdated, e.clock.Now(),
			map[string]any{"key_id": theirs.ID, "name": "Renamed", "name_from": "theirs", "name_to": "Renamed", "active": false})
		if r := verify(); r != roster.KeyReasonInactive {
			t.Errorf("VerifyKey(switched off) = %q, want inactive", r)
		}
		before = e.auditIDs(t, e.acct.ID)
		if _, err := e.svc.UpdateAPIKey(e.ctx, admin2, e.acct.ID, theirs.ID, roster.KeyUpdate{Active: new(false), Name: new("Renamed")}); err != nil {
			t.Fatal(err)
		}
		if after := e.auditIDs(t, e.acct.ID); !slices.Equal(before, after) {
			t.Errorf("an UpdateAPIKey that changes nothing wrote an audit event")
		}
		_, err = e.svc.UpdateAPIKey(e.ctx, admin2, e.acct.ID, theirs.ID, roster.KeyUpdate{Name: new("")})
		wantError(t, err, roster.CodeInvalid, "name")
		if _, err := e.svc.UpdateAPIKey(e.ctx, admin2, e.acct.ID, theirs.ID, roster.KeyUpdate{Active: new(true)}); err != nil {
			t.Fatal(err)
		}
		if r := verify(); r != "" {
			t.Errorf("VerifyKey(switched on again) = %q, want valid", r)
		}
		// Delete is for ever.
		before = e.auditIDs(t, e.acct.ID)
		if err := e.svc.DeleteAPIKey(e.ctx, e.admin, e.acct.ID, theirs.ID); err != nil {
			t.Fatal(err)
		}
		wantEvent(t, e.lastEvent(t, e.acct.ID, before), e.admin, admin2User, roster.ActionAPIKeyDeleted, e.clock.Now(),
			map[string]any{"key_id": theirs.ID, "name": "Renamed"})
		if r := verify(); r != roster.KeyUnknown {
			t.Errorf("VerifyKey(deleted key) = %q, want unknown", r)
		}
		wantError(t, e.svc.DeleteAPIKey(e.ctx, e.admin, e.acct.ID, theirs.ID), roster.CodeNotFound)
	})
}

// TestVerifyKey covers every reason code and every class of input of the
// gateway check on both stores; internal/web repeats them over HTTP.
func TestVerifyKey(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, s roster.Store) {
		e := newEnv(t, s)
		cm, _ := e.member(t, e.tenant, roles(roster.RoleCommunicationManager))
		expert, _ := e.member(t, e.tenant, roles(roster.RoleExpert), func(in *roster.InviteInput) {
			in.Email, in.AccessUntil = fmt.Sprintf("expert%d@%s", seq.Add(1), staffDomain), new(start.Add(48*time.Hour))
		})
		other := e.newTenant(t)
		mk := func(owner *roster.User, in roster.KeyInput) string {
			in.Name, in.UserEmail = fmt.Sprintf("key %d", seq.Add(1)), owner.Email
			_, secret, err := e.svc.CreateKey(e.ctx, roster.OperatorActor(), owner.AccountID, in)
			if err != nil {
				t.Fatalf("CreateKey = %v", err)
			}
			return secret
		}
		adminKey := mk(e.adminUser, roster.KeyInput{})
		cmKey := mk(cm, roster.KeyInput{Scope: []string{"logs.view", "flows.manage"}})
		expertKey := mk(expert, roster.KeyInput{})
		expiring := mk(cm, roster.KeyInput{ExpiresAt: start.Add(time.Hour)})
		ipKey := mk(cm, roster.KeyInput{AllowedIPs: []string{"192.0.2.7", "198.51.100.0/24", "2001:db8::/32"}})
		otherKey, _, err := e.svc.CreateKey(e.ctx, other.admin, other.acct.ID, roster.KeyInput{Name: "other"})
		if err != nil {
			t.Fatal(err)
		}
		_ = otherKey
		otherSecret := func() string {
			_, s, err := e.svc.CreateKey(e.ctx, other.admin, other.acct.ID, roster.KeyInput{Name: "other 2", Scope: []string{"logs.view"}})
			if err != nil {
				t.Fatal(err)
			}
			return s
		}()
		body := adminKey[len(roster.KeyPrefix):]
		allAdmin := make([]string, len(roster.Permissions))
		for i, p := range roster.Permissions {
			allAdmin[i] = p.ID
		}

		type check struct {
			name, key, perm, ip string
			reason              string
			perms               []string // when valid
			acct                string   // when valid
		}
		run := func(t *testing.T, checks []check) {
			t.Helper()
			for _, c := range checks {
				before := e.store.commits.Load()
				v, err := e.svc.VerifyKey(e.ctx, c.key, c.perm, c.ip)
				if err != nil {
					t.Errorf("%s: VerifyKey = %v", c.name, err)
					continue
				}
				if v.Reason != c.reason || v.Valid != (c.reason == "") {
					t.Errorf("%s: VerifyKey = %+v, want reason %q", c.name, v, c.reason)
					continue
				}
				if c.reason == "" && (!slices.Equal(v.Permissions, c.perms) || v.AccountID != c.acct || v.KeyID == "" || v.UserID == "") {
					t.Errorf("%s: VerifyKey = %+v, want account %s and permissions %v", c.name, v, c.acct, c.perms)
				}
				if c.reason != "" && (v.AccountID != "" || v.UserID != "" || v.KeyID != "" || v.Permissions != nil) {
					t.Errorf("%s: refusal %+v tells more than its reason", c.name, v)
				}
				if e.store.commits.Load() != before {
					t.Errorf("%s: VerifyKey wrote to the database", c.name)
				}
			}
		}
		run(t, []check{
			{name: "empty", key: "", reason: roster.KeyMalformed},
			{name: "prefix only", key: roster.KeyPrefix, reason: roster.KeyMalformed},
			{name: "wrong prefix", key: "rsk_" + body, reason: roster.KeyMalformed},
			{name: "no prefix", key: body, reason: roster.KeyMalformed},
			{name: "bad checksum", key: typo(adminKey, 10), reason: roster.KeyMalformed},
			{name: "truncated", key: adminKey[:len(adminKey)-1], reason: roster.KeyMalformed},
			{name: "upper case", key: strings.ToUpper(adminKey), reason: roster.KeyMalformed},
			{name: "space before", key: " " + adminKey, reason: roster.KeyMalformed},
			{name: "newline after", key: adminKey + "\n", reason: roster.KeyMalformed},
			{name: "space inside", key: adminKey[:20] + " " + adminKey[21:], reason: roster.KeyMalformed},
			{name: "Bearer included", key: "Bearer " + adminKey, reason: roster.KeyMalformed},
			{name: "unknown", key: roster.NewAPIKeySecret(), reason: roster.KeyUnknown},
			{name: "valid", key: adminKey, reason: "", perms: allAdmin, acct: e.acct.ID},
			{name: "valid with permission", key: adminKey, perm: "billing.manage", reason: "", perms: allAdmin, acct: e.acct.ID},
			{name: "another account's key", key: otherSecret, perm: "logs.view", reason: "", perms: []string{"logs.view"}, acct: other.acct.ID},
			{name: "scope", key: cmKey, reason: "", perms: []string{"logs.view", "flows.manage"}, acct: e.acct.ID},
			{name: "outside the scope", key: cmKey, perm: "campaigns.manage", reason: roster.KeyPermissionDenied},
			{name: "beyond the creator", key: cmKey, perm: "team.manage", reason: roster.KeyPermissionDenied},
			{name: "allow-list, no client_ip", key: ipKey, reason: roster.KeyIPNotAllowed},
			{name: "allow-list, address", key: ipKey, ip: "192.0.2.7", reason: "", perms: communicationManager(), acct: e.acct.ID},
			{name: "allow-list, mapped address", key: ipKey, ip: "::ffff:192.0.2.7", reason: "", perms: communicationManager(), acct: e.acct.ID},
			{name: "allow-list, next address", key: ipKey, ip: "192.0.2.8", reason: roster.KeyIPNotAllowed},
			{name: "allow-list, range", key: ipKey, ip: "198.51.100.255", reason: "", perms: communicationManager(), acct: e.acct.ID},
			{name: "allow-list, outside the range", key: ipKey, ip: "198.51.101.0", reason: roster.KeyIPNotAllowed},
			{name: "allow-list, IPv6 range", key: ipKey, ip: "2001:db8:ffff::1", reason: "", perms: communicationManager(), acct: e.acct.ID},
			{name: "allow-list, other IPv6", key: ipKey, ip: "2001:db9::1", reason: roster.KeyIPNotAllowed},
			{name: "expiring key, before", key: expiring, reason: "", perms: communicationManager(), acct: e.acct.ID},
			{name: "Expert before the deadline", key: expertKey, perm: "platform.configure", reason: "", perms: expertPerms(), acct: e.acct.ID},
		})

		// Bad input of the gateway is an error naming the field, not a verdict.
		for _, c := range []struct{ perm, ip, field string }{
			{"logs.delete", "", "permission"}, {"", "192.0.2.256", "client_ip"}, {"", "fe80::1%eth0", "client_ip"}, {"", " 192.0.2.7", "client_ip"},
		} {
			_, err := e.svc.VerifyKey(e.ctx, adminKey, c.perm, c.ip)
			wantError(t, err, roster.CodeInvalid, c.field)
		}

		// Time passes: the key's expiry and the Expert's deadline.
		e.clock.Advance(time.Hour)
		run(t, []check{{name: "expired key", key: expiring, reason: roster.KeyReasonExpired}})
		e.clock.Advance(47 * time.Hour)
		run(t, []check{{name: "Expert past the deadline", key: expertKey, reason: roster.KeyUserInactive}})

		// The creator's changes take the key down with them, and back.
		if _, err := e.svc.UpdateUser(e.ctx, e.admin, e.acct.ID, cm.ID, roster.UpdateInput{Roles: new(roles(roster.RoleSupport))}, ""); err != nil {
			t.Fatal(err)
		}
		run(t, []check{
			{name: "role removed", key: cmKey, reason: "", perms: []string{"logs.view"}, acct: e.acct.ID},
			{name: "role removed, its permission", key: cmKey, perm: "flows.manage", reason: roster.KeyPermissionDenied},
		})
		if _, err := e.svc.RevokeUser(e.ctx, e.admin, e.acct.ID, cm.ID, roster.RevokeInput{Reason: roster.ReasonIssueResolved}); err != nil {
			t.Fatal(err)
		}
		run(t, []check{
			{name: "creator revoked", key: cmKey, reason: roster.KeyUserInactive},
			{name: "creator revoked, allow-listed key from elsewhere", key: ipKey, ip: "203.0.113.1", reason: roster.KeyIPNotAllowed},
		})
		if _, err := e.svc.RestoreUser(e.ctx, e.admin, e.acct.ID, cm.ID); err != nil {
			t.Fatal(err)
		}
		run(t, []check{{name: "creator restored", key: cmKey, reason: "", perms: []string{"logs.view"}, acct: e.acct.ID}})
		if err := e.svc.DeleteUser(e.ctx, e.admin, e.acct.ID, cm.ID); err != nil {
			t.Fatal(err)
		}
		run(t, []check{{name: "creator deleted", key: cmKey, reason: roster.KeyUnknown}})
	})
}

func communicationManager() []string {
	return permsOf(roster.RoleCommunicationManager)
}

// expertPerms lists what a limited-write Expert (the test's) may do.
func expertPerms() (ids []string) {
	for _, g := range (roster.Access{Roles: roster.NewRoleSet(roster.RoleExpert), Expert: roster.AccessLimitedWrite}).Grants() {
		ids = append(ids, g.ID)
	}
	return ids
}

// permsOf lists a role's permissions in catalogue order.
func permsOf(id roster.RoleID) (ids []string) {
	for _, g := range roster.NewRoleSet(id).Grants() {
		ids = append(ids, g.ID)
	}
	return ids
}

// typo changes the character at i of key to the next of the key alphabet.
func typo(key string, i int) string {
	const alphabet = "abcdefghijklmnopqrstuvwxyz234567"
	j := strings.IndexByte(alphabet, key[i])
	return key[:i] + string(alphabet[(j+1)%len(alphabet)]) + key[i+1:]
}

func TestDecideKeyIsPure(t *testing.T) {
	now := start
	u := &roster.User{ID: roster.NewID(now), AccountID: roster.NewID(now), Roles: roster.NewRoleSet(roster.RoleSupport), Status: roster.StatusActive}
	k := &roster.APIKey{ID: roster.NewID(now), AccountID: u.AccountID, UserID: u.ID, Scope: []string{"logs.view", "billing.manage"}}
	got := roster.DecideKey(k, u, now, "", netip.Addr{})
	want := roster.KeyVerdict{Valid: true, AccountID: u.AccountID, UserID: u.ID, KeyID: k.ID, Permissions: []string{"logs.view"}}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("DecideKey (-want +got):\n%s", d)
	}
	for _, c := range []struct {
		k    *roster.APIKey
		u    *roster.User
		want string
	}{{nil, u, roster.KeyUnknown}, {k, nil, roster.KeyUnknown}} {
		if v := roster.DecideKey(c.k, c.u, now, "", netip.Addr{}); v.Reason != c.want {
			t.Errorf("DecideKey(%v, %v) = %+v, want %s", c.k, c.u, v, c.want)
		}
	}
}

// TestKeyUsesAreBatched checks that a key's uses are written only by a
// flush, once per key, with the time of the latest use.
func TestKeyUsesAreBatched(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, s roster.Store) {
		e := newEnv(t, s)
		k, secret := e.key(t, e.admin, roster.KeyInput{})
		lastUsed := func() time.Time {
			t.Helper()
			got, err := e.raw.APIKeyByHash(e.ctx, k.Hash)
			if err != nil {
				t.Fatal(err)
			}
			return got.LastUsedAt
		}
		commits := e.store.commits.Load()
		for range 3 {
			e.clock.Advance(time.Second)
			if v, err := e.svc.VerifyKey(e.ctx, secret, "", ""); err != nil || !v.Valid {
				t.Fatalf("VerifyKey = %+v, %v", v, err)
			}
			if _, err := e.svc.AuthenticateAPIKey(e.ctx, secret, "192.0.2.1"); err != nil {
				t.Fatalf("AuthenticateAPIKey = %v", err)
			}
		}
		if got := lastUsed(); !got.IsZero() || e.store.commits.Load() != commits {
			t.Fatalf("last_used_at before a flush = %v (%d writes); want nothing written", got, e.store.commits.Load()-commits)
		}
		if err := e.svc.FlushKeyUses(e.ctx); err != nil {
			t.Fatal(err)
		}
		if got := lastUsed(); !got.Equal(e.clock.Now()) {
			t.Errorf("last_used_at after a flush = %v, want %v (the latest use)", got, e.clock.Now())
		}
		// A later use is written by the next flush.
		e.clock.Advance(time.Minute)
		if _, err := e.svc.VerifyKey(e.ctx, secret, "", ""); err != nil {
			t.Fatal(err)
		}
		if err := e.svc.FlushKeyUses(e.ctx); err != nil {
			t.Fatal(err)
		}
		if got := lastUsed(); !got.Equal(e.clock.Now()) {
			t.Errorf("last_used_at after a second flush = %v, want %v", got, e.clock.Now())
		}
	})
}

// TestScopedKeyOnRosterAPI checks that a scoped key calling Roster's own
// API acts only with the creator's roles its scope covers.
func TestScopedKeyOnRosterAPI(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, s roster.Store) {
		e := newEnv(t, s)
		_, scoped := e.key(t, e.admin, roster.KeyInput{Scope: []string{"logs.view"}})
		_, full := e.key(t, e.admin, roster.KeyInput{})
		a, err := e.svc.AuthenticateAPIKey(e.ctx, scoped, "192.0.2.1")
		if err != nil || a.Roles != 0 {
			t.Errorf("AuthenticateAPIKey(scoped) = %+v, %v; want no role (logs.view covers none of Admin)", a, err)
		}
		if _, err := e.svc.ListUsers(e.ctx, a, e.acct.ID, roster.ListQuery{Limit: 1}); roster.ErrorCode(err) != roster.CodeForbidden {
			t.Errorf("ListUsers with a logs.view key = %v, want forbidden", err)
		}
		a, err = e.svc.AuthenticateAPIKey(e.ctx, full, "192.0.2.1")
		if err != nil || a.Roles != e.adminUser.Roles {
			t.Errorf("AuthenticateAPIKey(unscoped) = %+v, %v; want the Admin's roles", a, err)
		}
		_, allowed := e.key(t, e.admin, roster.KeyInput{AllowedIPs: []string{"192.0.2.0/24"}})
		if _, err := e.svc.AuthenticateAPIKey(e.ctx, allowed, "203.0.113.1"); roster.ErrorCode(err) != roster.CodeUnauthorized {
			t.Errorf("AuthenticateAPIKey(from outside the allow-list) = %v, want unauthorized", err)
		}
	})
}

// TestEveryOneCharacterTypoIsMalformed changes each character of a key to
// every other character of the alphabet: each such key is refused by its
// format alone (CRC-32 catches every error within 32 bits, and the last
// character's two unused bits must be zero), so no typo costs a look-up.
func TestEveryOneCharacterTypoIsMalformed(t *testing.T) {
	const alphabet = "abcdefghijklmnopqrstuvwxyz234567"
	for range 20 {
		key := roster.NewAPIKeySecret()
		for i := len(roster.KeyPrefix); i < len(key); i++ {
			for _, c := range []byte(alphabet) {
				if c == key[i] {
					continue
				}
				typo := key[:i] + string(c) + key[i+1:]
				if roster.CheckAPIKeyFormat(typo) {
					t.Fatalf("CheckAPIKeyFormat(%q, %q with character %d changed) = true, want false", typo, key, i)
				}
			}
		}
	}
}
