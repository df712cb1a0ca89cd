package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"roster"
)

const gatewayToken = "a-gateway-token-of-at-least-32-characters"

// TestGatewayCheck runs the key check of a real "roster serve" with a
// gateway token, on a key made by the CLI with a scope and an allow-list,
// and checks that its use is written when the server stops.
func TestGatewayCheck(t *testing.T) {
	eachStore(t, func(t *testing.T, db dbArgs) {
		acct := mustCreateAccount(t, db, "ananya@acme.example", "correct horse battery")
		key := mustRunJSON[keyOut](t, "", db.with("api-key", "create", "--account", acct.AccountID, "--user-email", "ananya@acme.example",
			"--name", "gateway", "--scope", "logs.view", "--scope", "usage.view", "--allowed-ips", "192.0.2.0/24",
			"--expires-at", time.Now().AddDate(1, 0, 0).UTC().Format(time.RFC3339))...)
		s := startServer(t, append(db.flags(), "--gateway-token", gatewayToken)...)
		verify := func(token, body string) (int, map[string]any) {
			t.Helper()
			req, err := http.NewRequest(http.MethodPost, s.url+"/api/v1/keys/verify", strings.NewReader(body))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Authorization", "Bearer "+token)
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			b, _ := io.ReadAll(res.Body)
			var out map[string]any
			if err := json.Unmarshal(b, &out); err != nil {
				t.Fatalf("verify = %d %s: %v", res.StatusCode, b, err)
			}
			return res.StatusCode, out
		}
		if code, out := verify(gatewayToken, `{"key": "`+key.Key+`", "client_ip": "192.0.2.9", "permission": "usage.view"}`); code != 200 ||
			out["valid"] != true || out["key_id"] != key.ID || !slices.Equal(anyStrings(out["permissions"]), []string{"usage.view", "logs.view"}) {
			t.Errorf("verify = %d %v, want valid with the scope", code, out)
		}
		if code, out := verify(gatewayToken, `{"key": "`+key.Key+`", "client_ip": "203.0.113.9"}`); code != 200 || out["reason"] != "ip_not_allowed" {
			t.Errorf("verify from elsewhere = %d %v, want ip_not_allowed", code, out)
		}
		if code, out := verify("not-the-token", `{"key": "`+key.Key+`"}`); code != 401 {
			t.Errorf("verify with a wrong token = %d %v, want 401", code, out)
		}

		// The use is written at shutdown at the latest.
		if err := s.stop(); err != nil {
			t.Fatal(err)
		}
		st := db.open(t)
		k, err := st.APIKeyByHash(context.Background(), roster.HashSecret(key.Key))
		if err != nil || k.LastUsedAt.IsZero() {
			t.Errorf("key after the server stopped = %+v, %v; want its last use written", k, err)
		}
	})
}

func anyStrings(v any) []string {
	l, _ := v.([]any)
	out := make([]string, len(l))
	for i, x := range l {
		out[i], _ = x.(string)
	}
	return out
}

func TestGatewayTokenConfig(t *testing.T) {
	for _, tt := range []struct{ token, want string }{
		{"short", "--gateway-token: must be at least 32 characters"},
		{strings.Repeat("x", 20) + " " + strings.Repeat("y", 20), "--gateway-token: must not contain spaces"},
	} {
		args := []string{"serve", "--addr", "127.0.0.1:0", "--data-dir", t.TempDir(), "--gateway-token", tt.token}
		var stdout, stderr bytes.Buffer
		err := run(context.Background(), args, noEnv, strings.NewReader(""), &stdout, &stderr)
		if err == nil || exitCode(err) != 2 || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("serve --gateway-token %q = %v (exit %d), want exit 2 with %q", tt.token, err, exitCode(err), tt.want)
		}
	}
}

// TestAPIKeyCommands lists, switches off and on, and deletes a key with
// the operator's commands, and checks what each refuses.
func TestAPIKeyCommands(t *testing.T) {
	eachStore(t, func(t *testing.T, db dbArgs) {
		acct := mustCreateAccount(t, db, "ananya@acme.example", "correct horse battery")
		key := mustRunJSON[keyOut](t, "", db.with("api-key", "create", "--account", acct.AccountID, "--user-email", "ananya@acme.example",
			"--name", "ops", "--allowed-ips", "192.0.2.0/24")...)
		list := mustRunJSON[[]apiKeyOut](t, "", db.with("api-key", "list", "--account", acct.AccountID)...)
		if len(list) != 1 || list[0].ID != key.ID || list[0].Name != "ops" || list[0].State != "active" || list[0].CreatorName != "Ananya Iyer" ||
			list[0].LastFour != key.Key[len(key.Key)-4:] || !slices.Equal(list[0].AllowedIPs, []string{"192.0.2.0/24"}) {
			t.Fatalf("api-key list = %+v", list)
		}
		off := mustRunJSON[apiKeyOut](t, "", db.with("api-key", "update", "--account", acct.AccountID, "--id", key.ID, "--active=false", "--name", "ops (off)")...)
		if off.State != "inactive" || off.Name != "ops (off)" {
			t.Errorf("api-key update --active=false = %+v", off)
		}
		st := db.open(t)
		svc := roster.NewService(st, roster.Config{})
		if v, err := svc.VerifyKey(context.Background(), key.Key, "", "192.0.2.1"); err != nil || v.Reason != roster.KeyReasonInactive {
			t.Errorf("VerifyKey after --active=false = %+v, %v", v, err)
		}
		if on := mustRunJSON[apiKeyOut](t, "", db.with("api-key", "update", "--account", acct.AccountID, "--id", key.ID, "--active=true")...); on.State != "active" {
			t.Errorf("api-key update --active=true = %+v", on)
		}
		if out := mustRunJSON[map[string]string](t, "", db.with("api-key", "delete", "--account", acct.AccountID, "--id", key.ID)...); out["deleted"] != key.ID {
			t.Errorf("api-key delete = %v", out)
		}
		if v, err := svc.VerifyKey(context.Background(), key.Key, "", "192.0.2.1"); err != nil || v.Reason != roster.KeyUnknown {
			t.Errorf("VerifyKey after delete = %+v, %v", v, err)
		}
		for _, c := range []struct {
			args []string
			code int
			want string
		}{
			{[]string{"api-key", "list"}, 2, "--account: give the id of the account"},
			{[]string{"api-key", "update", "--account", acct.AccountID, "--id", key.ID}, 2, "--active or --name"},
			{[]string{"api-key", "update", "--account", acct.AccountID, "--id", key.ID, "--active", "maybe"}, 2, "--active: give true or false"},
			{[]string{"api-key", "update", "--account", acct.AccountID, "--active=false"}, 2, "--id: give the id of the key"},
			{[]string{"api-key", "delete", "--account", acct.AccountID, "--id", key.ID}, 1, "No API key with this id exists."},
			{[]string{"api-key", "update", "--account", acct.AccountID, "--id", roster.NewID(time.Now()), "--name", ""}, 2, "--active or --name"},
		} {
			r := runCLI(t, "", db.with(c.args...)...)
			if r.code() != c.code || !strings.Contains(r.err.Error(), c.want) {
				t.Errorf("roster %s = %v (exit %d), want exit %d with %q", strings.Join(c.args, " "), r.err, r.code(), c.code, c.want)
			}
		}
	})
}
