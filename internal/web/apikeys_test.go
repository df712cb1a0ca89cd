package web

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"roster"
	"roster/internal/testdb"
)

const testGatewayToken = "gateway-token-for-tests-0123456789abcdef"

func keysPath(accountID string) string { return "/api/v1/accounts/" + accountID + "/api-keys" }

func TestAPIKeysAPI(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, s roster.Store) {
		e := newTestEnvWith(t, s, nil, Options{GatewayToken: testGatewayToken})
		acme, other := e.mustAccount(t, "Acme"), e.mustAccount(t, "Other")
		_, supportKey := e.mustActiveUser(t, acme.id, "Sam", "Support", "sam@acme.example.com", roster.RoleSupport)

		// Create with every option.
		rq := request{method: "POST", path: keysPath(acme.id), key: acme.key,
			body: `{"name": " CI deploy ", "expires_at": "` + time.Now().AddDate(1, 0, 0).UTC().Format(time.RFC3339) + `", "allowed_ips": ["192.0.2.7", "2001:db8::/32"], "scope": ["usage.view", "logs.view"]}`}
		res := e.do(t, rq)
		res.wantStatus(t, rq, http.StatusCreated)
		var created struct {
			apiKeyJSON
			Key string `json:"key"`
		}
		res.decode(t, &created)
		if !roster.CheckAPIKeyFormat(created.Key) || created.LastFour != created.Key[len(created.Key)-4:] || created.Prefix != "rst_" ||
			created.Name != "CI deploy" || created.State != "active" || created.Creator.ID != acme.admin.ID || created.Creator.Name != "Alice Admin" ||
			!slices.Equal(created.Scope, []string{"usage.view", "logs.view"}) || !slices.Equal(created.AllowedIPs, []string{"192.0.2.7", "2001:db8::/32"}) {
			t.Errorf("%s = %s", rq, res.body)
		}
		if loc := res.header.Get("Location"); loc != keysPath(acme.id)+"/"+created.ID {
			t.Errorf("Location = %q", loc)
		}
		keyPath := keysPath(acme.id) + "/" + created.ID

		// The list and the key show no secret.
		rq = request{method: "GET", path: keysPath(acme.id), key: acme.key}
		res = e.do(t, rq)
		res.wantStatus(t, rq, http.StatusOK)
		if strings.Contains(string(res.body), created.Key) || !strings.Contains(string(res.body), created.ID) || strings.Contains(string(res.body), `"key"`) {
			t.Errorf("%s = %s, want the key listed without its secret", rq, res.body)
		}
		rq = request{method: "GET", path: keyPath, key: acme.key}
		e.do(t, rq).wantStatus(t, rq, http.StatusOK)

		// Bad input changes nothing and names its fields.
		before := e.snapshot(t, acme.id)
		for _, c := range []struct {
			body   string
			status int
			fields []string
		}{
			{`{"name": "", "expires_at": "2001-01-01T00:00:00Z", "allowed_ips": ["10.1.2.3/8", "nope"], "scope": []}`, 422,
				[]string{"allowed_ips", "expires_at", "name", "scope"}},
			{`{"name": "k", "allowed_ips": "192.0.2.7"}`, 422, []string{"allowed_ips"}},
			{`{"name": "k", "scope": "logs.view"}`, 422, []string{"scope"}},
			{`{"name": "k", "scope": [1]}`, 422, []string{"scope"}},
			{`{"name": "k", "scope": ["logs.delete"]}`, 422, []string{"scope"}},
			{`{"name": "k", "secret": "mine"}`, 422, []string{"secret"}},
			{`{"name": "k", "user_email": "sam@acme.example.com", "scope": ["billing.manage"]}`, 403, nil},
			{`{"name": "k"`, 400, nil},
		} {
			rq := request{method: "POST", path: keysPath(acme.id), key: acme.key, body: c.body}
			res := e.do(t, rq)
			res.wantStatus(t, rq, c.status)
			if got := res.fields(t); !slices.Equal(got, c.fields) {
				t.Errorf("%s %s: fields %v, want %v", rq, c.body, got, c.fields)
			}
		}
		rq = request{method: "POST", path: keysPath(acme.id), key: acme.key, body: `{"name": "plain", "scope": null, "expires_at": null, "allowed_ips": []}`}
		res = e.do(t, rq)
		res.wantStatus(t, rq, http.StatusCreated)
		var plain apiKeyJSON
		res.decode(t, &plain)
		if plain.Scope != nil || plain.ExpiresAt != nil || len(plain.AllowedIPs) != 0 {
			t.Errorf("%s = %s, want an unrestricted key", rq, res.body)
		}
		rq = request{method: "DELETE", path: keysPath(acme.id) + "/" + plain.ID, key: acme.key}
		e.do(t, rq).wantStatus(t, rq, http.StatusNoContent)
		before = e.snapshot(t, acme.id)
		rq = request{method: "PATCH", path: keyPath, key: acme.key, body: `{"active": "no"}`}
		e.do(t, rq).wantStatus(t, rq, http.StatusUnprocessableEntity)
		if after := e.snapshot(t, acme.id); after != before {
			t.Errorf("refused requests changed the account:\n%s\nwant\n%s", after, before)
		}

		// Without api_keys.manage: 403; another account: 404 like a missing key.
		for _, rq := range []request{
			{method: "GET", path: keysPath(acme.id), key: supportKey},
			{method: "POST", path: keysPath(acme.id), key: supportKey, body: `{"name": "k"}`},
			{method: "PATCH", path: keyPath, key: supportKey, body: `{"active": false}`},
		} {
			e.do(t, rq).wantStatus(t, rq, http.StatusForbidden)
		}
		missing := e.do(t, request{method: "GET", path: keysPath(acme.id) + "/" + roster.NewID(time.Now()), key: acme.key})
		for _, rq := range []request{
			{method: "GET", path: keysPath(other.id) + "/" + created.ID, key: other.key},
			{method: "GET", path: keyPath, key: other.key},
			{method: "PATCH", path: keysPath(other.id) + "/" + created.ID, key: other.key, body: `{"active": false}`},
			{method: "DELETE", path: keysPath(other.id) + "/" + created.ID, key: other.key},
			{method: "GET", path: keysPath(acme.id) + "/not-a-uuid", key: acme.key},
		} {
			res := e.do(t, rq)
			res.wantStatus(t, rq, http.StatusNotFound)
			if rq.path != keyPath && string(res.body) != string(missing.body) {
				t.Errorf("%s = %s, want the body of a missing key %s", rq, res.body, missing.body)
			}
		}

		// Switch off and on, rename, delete.
		verify := func() string {
			t.Helper()
			rq := request{method: "POST", path: "/api/v1/keys/verify", key: testGatewayToken,
				body: jsonBody(t, map[string]string{"key": created.Key, "client_ip": "192.0.2.7"})}
			res := e.do(t, rq)
			res.wantStatus(t, rq, http.StatusOK)
			var v verdictJSON
			res.decode(t, &v)
			return v.Reason
		}
		for _, c := range []struct{ body, state, reason string }{
			{`{"active": false}`, "inactive", "inactive"},
			{`{"active": true, "name": "Renamed"}`, "active", ""},
		} {
			rq := request{method: "PATCH", path: keyPath, key: acme.key, body: c.body}
			res := e.do(t, rq)
			res.wantStatus(t, rq, http.StatusOK)
			var k apiKeyJSON
			res.decode(t, &k)
			if k.State != c.state {
				t.Errorf("%s %s: state %q, want %q", rq, c.body, k.State, c.state)
			}
			if r := verify(); r != c.reason {
				t.Errorf("verify after %s = %q, want %q", c.body, r, c.reason)
			}
		}
		rq = request{method: "DELETE", path: keyPath, key: acme.key}
		e.do(t, rq).wantStatus(t, rq, http.StatusNoContent)
		e.do(t, rq).wantStatus(t, rq, http.StatusNotFound)
		if r := verify(); r != roster.KeyUnknown {
			t.Errorf("verify after delete = %q, want unknown", r)
		}
	})
}

// TestVerifyKeyHTTP runs the gateway check over HTTP through every reason
// code and every class of input, on both stores.
func TestVerifyKeyHTTP(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, s roster.Store) {
		clock := testdb.NewClock(time.Date(2030, 1, 1, 9, 0, 0, 0, time.UTC))
		e := newTestEnvWith(t, s, clock, Options{GatewayToken: testGatewayToken})
		ctx, op := context.Background(), roster.OperatorActor()
		acme, other := e.mustAccount(t, "Acme"), e.mustAccount(t, "Other")
		cm, _ := e.mustActiveUser(t, acme.id, "Cora", "Manager", "cora@acme.example.com", roster.RoleCommunicationManager)
		gone, goneKey := e.mustActiveUser(t, acme.id, "Gus", "Gone", "gus@acme.example.com", roster.RoleSupport)
		revoked, revokedKey := e.mustActiveUser(t, acme.id, "Rex", "Revoked", "rex@acme.example.com", roster.RoleSupport)
		if _, err := e.svc.InviteUser(ctx, op, acme.id, roster.InviteInput{FirstName: "Eve", LastName: "Expert", Email: "eve@tatacommunications.com",
			Roles: []roster.RoleID{roster.RoleExpert}, ExpertAccess: roster.AccessReadOnly, AccessUntil: new(clock.Now().Add(time.Hour))}); err != nil {
			t.Fatal(err)
		}
		mk := func(accountID, email string, in roster.KeyInput) string {
			in.Name, in.UserEmail = "k "+email, email
			_, secret, err := e.svc.CreateKey(ctx, op, accountID, in)
			if err != nil {
				t.Fatalf("CreateKey(%s) = %v", email, err)
			}
			return secret
		}
		scoped := mk(acme.id, cm.Email, roster.KeyInput{Scope: []string{"logs.view", "flows.manage"}})
		expiring := mk(acme.id, cm.Email, roster.KeyInput{ExpiresAt: clock.Now().Add(time.Hour)})
		listed := mk(acme.id, cm.Email, roster.KeyInput{AllowedIPs: []string{"198.51.100.0/24", "2001:db8::1"}})
		off := mk(acme.id, cm.Email, roster.KeyInput{})
		offKey, err := e.store.APIKeyByHash(ctx, roster.HashSecret(off))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.svc.UpdateAPIKey(ctx, op, acme.id, offKey.ID, roster.KeyUpdate{Active: new(false)}); err != nil {
			t.Fatal(err)
		}
		expertKey := activateExpert(t, e, clock, acme.id, "eve@tatacommunications.com")
		if err := e.svc.DeleteUser(ctx, op, acme.id, gone.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := e.svc.RevokeUser(ctx, op, acme.id, revoked.ID, roster.RevokeInput{Reason: roster.ReasonIssueResolved}); err != nil {
			t.Fatal(err)
		}
		body := acme.key[len(roster.KeyPrefix):]
		other8 := "a" // another base32 letter at 8: the checksum no longer matches
		if acme.key[8] == 'a' {
			other8 = "b"
		}
		bad := acme.key[:8] + other8 + acme.key[9:]

		type check struct {
			name   string
			body   map[string]string
			reason string // "" for valid
			acct   string
			perms  []string
		}
		k := func(key string, kv ...string) map[string]string {
			m := map[string]string{"key": key}
			for i := 0; i+1 < len(kv); i += 2 {
				m[kv[i]] = kv[i+1]
			}
			return m
		}
		run := func(t *testing.T, checks []check) {
			t.Helper()
			for _, c := range checks {
				rq := request{method: "POST", path: "/api/v1/keys/verify", key: testGatewayToken, body: jsonBody(t, c.body)}
				res := e.do(t, rq)
				res.wantStatus(t, rq, http.StatusOK)
				if cc := res.header.Get("Cache-Control"); cc != "no-store" {
					t.Errorf("%s: Cache-Control %q, want no-store", c.name, cc)
				}
				var v validVerdictJSON
				var r verdictJSON
				res.decode(t, &v)
				res.decode(t, &r)
				switch {
				case c.reason == "" && (!v.Valid || v.AccountID != c.acct || !slices.Equal(v.Permissions, c.perms)):
					t.Errorf("%s: %s, want valid in %s with %v", c.name, res.body, c.acct, c.perms)
				case c.reason != "" && (r.Valid || r.Reason != c.reason):
					t.Errorf("%s: %s, want reason %s", c.name, res.body, c.reason)
				}
			}
		}
		admin := permsOfRole(roster.RoleAdmin)
		run(t, []check{
			{"no key member", map[string]string{}, roster.KeyMalformed, "", nil},
			{"empty", k(""), roster.KeyMalformed, "", nil},
			{"wrong prefix", k("rsk_" + body), roster.KeyMalformed, "", nil},
			{"bad checksum", k(bad), roster.KeyMalformed, "", nil},
			{"whitespace around", k(" " + acme.key + " "), roster.KeyMalformed, "", nil},
			{"whitespace inside", k(acme.key[:30] + " " + acme.key[31:]), roster.KeyMalformed, "", nil},
			{"unknown", k(roster.NewAPIKeySecret()), roster.KeyUnknown, "", nil},
			{"valid", k(acme.key), "", acme.id, admin},
			{"another account's key", k(other.key, "permission", "team.manage"), "", other.id, admin},
			{"scoped", k(scoped), "", acme.id, []string{"logs.view", "flows.manage"}},
			{"outside the scope", k(scoped, "permission", "campaigns.manage"), roster.KeyPermissionDenied, "", nil},
			{"inactive", k(off), roster.KeyReasonInactive, "", nil},
			{"allow-list, no client_ip", k(listed), roster.KeyIPNotAllowed, "", nil},
			{"allow-list, outside", k(listed, "client_ip", "198.51.101.1"), roster.KeyIPNotAllowed, "", nil},
			{"allow-list, inside", k(listed, "client_ip", "198.51.100.20"), "", acme.id, permsOfRole(roster.RoleCommunicationManager)},
			{"allow-list, IPv6", k(listed, "client_ip", "2001:db8::1"), "", acme.id, permsOfRole(roster.RoleCommunicationManager)},
			{"key of a deleted user", k(goneKey), roster.KeyUnknown, "", nil},
			{"key of a revoked user", k(revokedKey), roster.KeyUserInactive, "", nil},
			{"Expert before the deadline", k(expertKey), "", acme.id, permsOfRole(roster.RoleExpert)},
			{"expiring key", k(expiring), "", acme.id, permsOfRole(roster.RoleCommunicationManager)},
		})
		clock.Advance(2 * time.Hour)
		run(t, []check{
			{"expired key", k(expiring), roster.KeyReasonExpired, "", nil},
			{"Expert past the deadline", k(expertKey), roster.KeyUserInactive, "", nil},
		})
		if _, err := e.svc.UpdateUser(ctx, op, acme.id, cm.ID, roster.UpdateInput{Roles: new([]roster.RoleID{roster.RoleSupport})}, ""); err != nil {
			t.Fatal(err)
		}
		run(t, []check{
			{"role removed", k(scoped), "", acme.id, []string{"logs.view"}},
			{"role removed, its permission", k(scoped, "permission", "flows.manage"), roster.KeyPermissionDenied, "", nil},
		})

		// The gateway's own mistakes are problems, not verdicts.
		for _, c := range []struct {
			token, body string
			status      int
			fields      []string
		}{
			{"", `{"key": "x"}`, 401, nil},
			{"wrong-token", `{"key": "x"}`, 401, nil},
			{testGatewayToken + "x", `{"key": "x"}`, 401, nil},
			{acme.key, `{"key": "x"}`, 401, nil}, // an API key is not the gateway token
			{testGatewayToken, `{"key": "x", "permission": "logs.delete", "client_ip": "300.1.1.1"}`, 422, []string{"client_ip", "permission"}},
			{testGatewayToken, `{"key": 5}`, 422, []string{"key"}},
			{testGatewayToken, `not json`, 400, nil},
		} {
			rq := request{method: "POST", path: "/api/v1/keys/verify", key: c.token, body: c.body}
			res := e.do(t, rq)
			res.wantStatus(t, rq, c.status)
			if got := res.fields(t); !slices.Equal(got, c.fields) {
				t.Errorf("%s %s: fields %v, want %v", rq, c.body, got, c.fields)
			}
		}
	})
}

// activateExpert activates an invited Expert and returns a key of theirs.
func activateExpert(t *testing.T, e *testEnv, clock *testdb.Clock, accountID, email string) string {
	t.Helper()
	ctx := context.Background()
	u, err := e.store.UserByEmail(ctx, accountID, roster.Fold(email))
	if err != nil {
		t.Fatal(err)
	}
	err = e.store.Update(ctx, func(tx roster.Tx) error {
		v, err := tx.UserForUpdate(ctx, accountID, u.ID)
		if err != nil {
			return err
		}
		v.Status, v.JoinedAt = roster.StatusActive, clock.Now()
		v.Version++
		return tx.UpdateUser(ctx, v)
	})
	if err != nil {
		t.Fatal(err)
	}
	_, secret, err := e.svc.CreateKey(ctx, roster.OperatorActor(), accountID, roster.KeyInput{Name: "expert", UserEmail: email})
	if err != nil {
		t.Fatalf("CreateKey(Expert) = %v", err)
	}
	return secret
}

// permsOfRole lists what a role grants, in catalogue order.
func permsOfRole(id roster.RoleID) []string {
	grants := roster.NewRoleSet(id).Grants()
	ids := make([]string, len(grants))
	for i, g := range grants {
		ids[i] = g.ID
	}
	return ids
}

// TestVerifyKeyWithoutGatewayToken checks that a server without a gateway
// token says so instead of checking keys.
func TestVerifyKeyWithoutGatewayToken(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, testdb.SQLite(t))
	acme := e.mustAccount(t, "Acme")
	rq := request{method: "POST", path: "/api/v1/keys/verify", key: acme.key, body: `{"key": "` + acme.key + `"}`}
	res := e.do(t, rq)
	res.wantStatus(t, rq, http.StatusServiceUnavailable)
	if p := res.problem(t); !strings.Contains(p.Detail, "--gateway-token") {
		t.Errorf("%s = %s, want the flag named", rq, res.body)
	}
}

// BenchmarkVerifyKeyHTTP measures the gateway check through the whole HTTP
// stack in process (routing, logging, decoding, the store, JSON), 64
// requests at a time:
//
//	go test -run '^$' -bench VerifyKeyHTTP ./internal/web
func BenchmarkVerifyKeyHTTP(b *testing.B) {
	testdb.EachBench(b, func(b *testing.B, store roster.Store) {
		svc := roster.NewService(store, roster.Config{StaffDomains: []string{"tatacommunications.com"}, Secret: make([]byte, 32)})
		key := benchKey(b, svc)
		srv := httptest.NewServer(NewServer(slog.New(slog.NewTextHandler(io.Discard, nil)), svc, Options{Secret: make([]byte, 32), GatewayToken: testGatewayToken}))
		defer srv.Close()
		client := srv.Client()
		client.Transport.(*http.Transport).MaxIdleConnsPerHost = 64
		body := `{"key":"` + key + `","permission":"logs.view","client_ip":"192.0.2.7"}`
		b.SetParallelism(32)
		b.ReportAllocs()
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				req, _ := http.NewRequest(http.MethodPost, srv.URL+"/api/v1/keys/verify", strings.NewReader(body))
				req.Header.Set("Authorization", "Bearer "+testGatewayToken)
				req.Header.Set("Content-Type", "application/json")
				res, err := client.Do(req)
				if err != nil {
					b.Error(err)
					return
				}
				_, _ = io.Copy(io.Discard, res.Body)
				res.Body.Close()
				if res.StatusCode != http.StatusOK {
					b.Errorf("verify = %d", res.StatusCode)
					return
				}
			}
		})
	})
}

// TestKeysMadeWithKeys checks that a key belongs to whoever creates it, and
// that a key created by a caller authenticated with a key stays within
// that key's expiry and allow-list.
func TestKeysMadeWithKeys(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, s roster.Store) {
		loopback := []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}
		e := newTestEnvWith(t, s, nil, Options{TrustedProxies: loopback})
		acme := e.mustAccount(t, "Acme")
		e.mustActiveUser(t, acme.id, "Bob", "Boss", "bob@acme.example.com", roster.RoleAdmin)
		until := time.Now().Add(48 * time.Hour).UTC().Truncate(time.Second)
		_, bounded, err := e.svc.CreateKey(context.Background(), roster.OperatorActor(), acme.id, roster.KeyInput{Name: "bounded",
			UserEmail: acme.admin.Email, ExpiresAt: until, AllowedIPs: []string{"192.0.2.0/24"}})
		if err != nil {
			t.Fatal(err)
		}
		from := map[string]string{"X-Forwarded-For": "192.0.2.9"}
		create := func(key, body string, want int, fields ...string) {
			t.Helper()
			before := e.snapshot(t, acme.id)
			rq := request{method: "POST", path: keysPath(acme.id), key: key, body: body, header: from}
			res := e.do(t, rq)
			res.wantStatus(t, rq, want)
			if want >= 400 {
				if got := res.fields(t); !slices.Equal(got, fields) {
					t.Errorf("%s %s: fields %v, want %v", rq, body, got, fields)
				}
				if after := e.snapshot(t, acme.id); after != before {
					t.Errorf("%s %s was refused but changed the account", rq, body)
				}
			}
		}
		at := func(d time.Duration) string { return `"` + until.Add(d).Format(time.RFC3339) + `"` }

		// An Admin cannot make a key that acts as a colleague.
		create(acme.key, `{"name": "as Bob", "user_email": "bob@acme.example.com"}`, http.StatusForbidden)
		create(acme.key, `{"name": "mine", "user_email": "`+acme.admin.Email+`"}`, http.StatusCreated)

		// Made with the bounded key: within its expiry and allow-list only.
		create(bounded, `{"name": "free"}`, http.StatusUnprocessableEntity, "allowed_ips", "expires_at")
		create(bounded, `{"name": "later", "expires_at": `+at(time.Hour)+`, "allowed_ips": ["192.0.2.0/25"]}`, http.StatusUnprocessableEntity, "expires_at")
		create(bounded, `{"name": "wider", "expires_at": `+at(0)+`, "allowed_ips": ["192.0.2.0/23"]}`, http.StatusUnprocessableEntity, "allowed_ips")
		create(bounded, `{"name": "elsewhere", "expires_at": `+at(0)+`, "allowed_ips": ["192.0.2.7", "198.51.100.1"]}`, http.StatusUnprocessableEntity, "allowed_ips")
		create(bounded, `{"name": "within", "expires_at": `+at(-time.Hour)+`, "allowed_ips": ["192.0.2.7", "192.0.2.128/25"]}`, http.StatusCreated)
	})
}
