package main

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"

	"roster"
	"roster/internal/password"
)

type createOut struct {
	AccountID   string `json:"account_id"`
	AdminUserID string `json:"admin_user_id"`
}

type keyOut struct {
	ID  string `json:"id"`
	Key string `json:"key"`
}

// mustCreateAccount creates an account through the CLI; a non-empty
// password makes its Admin active.
func mustCreateAccount(t *testing.T, db dbArgs, email, pw string) createOut {
	t.Helper()
	args := db.with("account", "create", "--name", "Acme Telecom", "--admin-email", email,
		"--admin-first-name", "Ananya", "--admin-last-name", "Iyer")
	stdin := ""
	if pw != "" {
		args = append(args, "--admin-password-stdin")
		stdin = pw + "\n"
	}
	out := mustRunJSON[createOut](t, stdin, args...)
	if !roster.ValidID(out.AccountID) || !roster.ValidID(out.AdminUserID) {
		t.Fatalf("account create = %+v, want two ids", out)
	}
	return out
}

func TestMigrate(t *testing.T) {
	eachStore(t, func(t *testing.T, db dbArgs) {
		first := mustRunJSON[map[string]int](t, "", db.with("migrate")...)
		if first["applied"] < 1 {
			t.Errorf("migrate on an empty database = %v, want {applied: N} with N ≥ 1", first)
		}
		again := mustRunJSON[map[string]int](t, "", db.with("migrate")...)
		if again["applied"] != 0 {
			t.Errorf("second migrate = %v, want {applied: 0}", again)
		}
	})
}

func TestAccountCreate(t *testing.T) {
	eachStore(t, func(t *testing.T, db dbArgs) {
		ctx := context.Background()
		st := db.open(t) // opened before the CLI migrates: reads see the schema once it exists

		withPW := mustCreateAccount(t, db, "Ananya.Iyer@Acme.example", "correct horse battery\r")
		u, err := st.User(ctx, withPW.AccountID, withPW.AdminUserID)
		if err != nil {
			t.Fatal(err)
		}
		if u.Status != roster.StatusActive || !u.Roles.Has(roster.RoleAdmin) || u.JoinedAt.IsZero() {
			t.Errorf("Admin created with a password: status %s, roles %s, joined %v; want active Admin who joined", u.Status, u.Roles, u.JoinedAt)
		}
		// The line ending is stripped ("\r\n" too), nothing else.
		ident, err := st.Identity(ctx, u.IdentityID)
		if err != nil {
			t.Fatalf("Identity of the Admin: %v", err)
		}
		if ok, err := password.Verify(ctx, "correct horse battery", ident.PasswordHash); !ok || err != nil {
			t.Errorf("Verify(password from stdin, stored hash %q) = %v, %v; want true", ident.PasswordHash, ok, err)
		}
		if u.Email != "Ananya.Iyer@acme.example" {
			t.Errorf("Admin email = %q, want the domain in lower case", u.Email)
		}

		invited := mustCreateAccount(t, db, "first.admin@acme.example", "")
		u, err = st.User(ctx, invited.AccountID, invited.AdminUserID)
		if err != nil {
			t.Fatal(err)
		}
		if u.Status != roster.StatusInvited || u.IdentityID != "" {
			t.Errorf("Admin created without a password: status %s, identity %q; want invited without an identity", u.Status, u.IdentityID)
		}
		events, err := st.AuditEvents(ctx, invited.AccountID, roster.AuditQuery{Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		if len(events.Items) != 1 || events.Items[0].Action != roster.ActionAccountCreated {
			t.Errorf("audit log of a new account = %v, want one %s event", events.Items, roster.ActionAccountCreated)
		}
	})
}

func TestAccountCreateErrors(t *testing.T) {
	db := dbArgs{store: "sqlite", dataDir: t.TempDir()}
	valid := []string{"--name", "Acme", "--admin-email", "a@acme.example", "--admin-first-name", "Ana", "--admin-last-name", "Iyer"}
	replace := func(flag, value string) []string {
		args := slices.Clone(valid)
		args[slices.Index(args, flag)+1] = value
		return args
	}
	tests := []struct {
		name  string
		args  []string
		stdin string
		want  []string
	}{
		{"nothing", nil, "", []string{
			"--name: The account name is required.",
			"--admin-first-name: First name is required.",
			"--admin-last-name: Last name is required.",
			"--admin-email: Email is required.",
		}},
		{"bad email", replace("--admin-email", "not-an-email"), "", []string{"--admin-email: Enter an email address like name@example.com"}},
		{"short name", replace("--admin-first-name", " Al "), "", []string{"--admin-first-name: First name must be at least 3 characters long."}},
		{"control character", replace("--admin-last-name", "Iy\ter"), "", []string{"--admin-last-name: Last name must not contain control characters"}},
		{"empty password", append(slices.Clone(valid), "--admin-password-stdin"), "\n", []string{"--admin-password-stdin: standard input held no password"}},
		{"no stdin", append(slices.Clone(valid), "--admin-password-stdin"), "", []string{"--admin-password-stdin: standard input held no password"}},
		{"short password", append(slices.Clone(valid), "--admin-password-stdin"), "short\n", []string{"--admin-password-stdin: Use at least 12 characters; this password has 5."}},
		{"common password", append(slices.Clone(valid), "--admin-password-stdin"), "Password1234\n", []string{"--admin-password-stdin: This password is on a list of commonly used passwords"}},
		{"password is the email", append(replace("--admin-email", "ana.iyer.admin@acme.example"), "--admin-password-stdin"), "ana.iyer.admin@acme.example\n",
			[]string{"--admin-password-stdin: The password must not be your email address or name"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runCLI(t, tt.stdin, db.with(append([]string{"account", "create"}, tt.args...)...)...)
			if r.code() != 2 {
				t.Fatalf("exit status = %d (%v), want 2", r.code(), r.err)
			}
			for _, w := range tt.want {
				if !strings.Contains(r.err.Error(), w) {
					t.Errorf("error %q lacks %q", r.err, w)
				}
			}
			if r.stdout != "" {
				t.Errorf("stdout = %q, want nothing on an error", r.stdout)
			}
		})
	}
	// Nothing was stored: the first valid account is the only one.
	mustCreateAccount(t, db, "a@acme.example", "")
	if n := countAccounts(t, db); n != 1 {
		t.Errorf("after the failed creates and one that worked, %d accounts exist, want 1", n)
	}
}

func countAccounts(t *testing.T, db dbArgs) int {
	t.Helper()
	var n int
	if err := db.open(t).(sqlDB).ReadDB().QueryRow(`SELECT count(*) FROM accounts`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestAccountUpdate(t *testing.T) {
	eachStore(t, func(t *testing.T, db dbArgs) {
		acct := mustCreateAccount(t, db, "admin@acme.example", "")
		update := func(args ...string) roster.AccountSettings {
			t.Helper()
			return mustRunJSON[roster.AccountSettings](t, "", db.with(append([]string{"account", "update", "--account", acct.AccountID}, args...)...)...)
		}
		tests := []struct {
			args                  []string
			wantRoles, wantDomain []string
		}{
			{[]string{"--enable-role", "whatsapp_only", "--allowed-domain", "Acme.example", "--allowed-domain", "@partner.example"},
				[]string{"whatsapp_only"}, []string{"acme.example", "partner.example"}},
			{[]string{"--enable-role", "numbers_read_only", "--disable-role", "whatsapp_only"},
				[]string{"numbers_read_only"}, []string{"acme.example", "partner.example"}},
			{[]string{"--clear-allowed-domains", "--allowed-domain", "only.example"},
				[]string{"numbers_read_only"}, []string{"only.example"}},
			{[]string{"--clear-allowed-domains"}, []string{"numbers_read_only"}, []string{}},
		}
		for _, tt := range tests {
			got := update(tt.args...)
			if got.ID != acct.AccountID || got.Name != "Acme Telecom" ||
				!slices.Equal(roleStrings(got.EnabledRoles), tt.wantRoles) || !slices.Equal(got.AllowedDomains, tt.wantDomain) {
				t.Errorf("account update %s = %+v, want roles %v and domains %v", strings.Join(tt.args, " "), got, tt.wantRoles, tt.wantDomain)
			}
		}

		errs := []struct {
			args []string
			code int
			want string
		}{
			{[]string{"--account", acct.AccountID, "--enable-role", "admin"}, 2, `--enable-role: "admin" is not an additional role`},
			{[]string{"--account", acct.AccountID, "--allowed-domain", "not a domain"}, 2, `--allowed-domain: "not a domain" is not a valid domain name`},
			{[]string{"--account", acct.AccountID, "--enable-role", "whatsapp_only", "--disable-role", "whatsapp_only"}, 2, "--disable-role: A role cannot be enabled and disabled at once."},
			{[]string{"--account", "not-an-id"}, 1, "No account with this id exists."},
			{[]string{"--account", roster.NewID(roster.SystemClock{}.Now())}, 1, "No account with this id exists."},
		}
		for _, tt := range errs {
			r := runCLI(t, "", db.with(append([]string{"account", "update"}, tt.args...)...)...)
			if r.code() != tt.code || !strings.Contains(r.err.Error(), tt.want) {
				t.Errorf("account update %s = %v (exit %d), want exit %d with %q", strings.Join(tt.args, " "), r.err, r.code(), tt.code, tt.want)
			}
		}
	})
}

func roleStrings(ids []roster.RoleID) []string {
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = string(id)
	}
	return out
}

// TestAPIKeyCreate creates a key with the CLI and uses it against the API
// of a server running on the same database.
func TestAPIKeyCreate(t *testing.T) {
	eachStore(t, func(t *testing.T, db dbArgs) {
		acct := mustCreateAccount(t, db, "ananya@acme.example", "correct horse battery")
		key := mustRunJSON[keyOut](t, "", db.with("api-key", "create", "--account", acct.AccountID,
			"--user-email", "Ananya@ACME.example", "--name", "automation")...)
		if !roster.ValidID(key.ID) || !roster.CheckAPIKeyFormat(key.Key) {
			t.Fatalf("api-key create = %+v, want an id and a well-formed key", key)
		}

		s := startServer(t, db.flags()...)
		path := "/api/v1/accounts/" + acct.AccountID + "/users"
		code, body := s.get(t, path, key.Key)
		if code != http.StatusOK {
			t.Fatalf("GET %s with the key = %d %s, want 200", path, code, body)
		}
		var list struct {
			Items []struct {
				ID, Email string
			}
			Total int64
		}
		if err := json.Unmarshal(body, &list); err != nil {
			t.Fatal(err)
		}
		if list.Total != 1 || len(list.Items) != 1 || list.Items[0].ID != acct.AdminUserID {
			t.Errorf("users of a new account = %s, want just the Admin %s", body, acct.AdminUserID)
		}
		if code, body := s.get(t, path, ""); code != http.StatusUnauthorized {
			t.Errorf("GET %s without a key = %d %s, want 401", path, code, body)
		}
		other := mustCreateAccount(t, db, "other@other.example", "correct horse battery")
		if code, body := s.get(t, "/api/v1/accounts/"+other.AccountID+"/users", key.Key); code != http.StatusNotFound {
			t.Errorf("GET another account's users with the key = %d %s, want 404", code, body)
		}

		invited := mustCreateAccount(t, db, "invited@acme.example", "")
		errs := []struct {
			args []string
			code int
			want string
		}{
			{[]string{"--account", acct.AccountID, "--user-email", "nobody@acme.example", "--name", "k"}, 1, "No user with the email nobody@acme.example exists in this account."},
			{[]string{"--account", invited.AccountID, "--user-email", "invited@acme.example", "--name", "k"}, 1, "invited@acme.example is invited and cannot own an API key."},
			{[]string{"--account", acct.AccountID, "--user-email", "ananya@acme.example"}, 2, "--name: Give the key a name"},
			{[]string{"--account", acct.AccountID, "--user-email", "bad", "--name", "k"}, 2, "--user-email: Enter an email address"},
			{[]string{"--account", "nope", "--user-email", "ananya@acme.example", "--name", "k"}, 1, "No account with this id exists."},
		}
		for _, tt := range errs {
			r := runCLI(t, "", db.with(append([]string{"api-key", "create"}, tt.args...)...)...)
			if r.code() != tt.code || !strings.Contains(r.err.Error(), tt.want) {
				t.Errorf("api-key create %s = %v (exit %d), want exit %d with %q", strings.Join(tt.args, " "), r.err, r.code(), tt.code, tt.want)
			}
		}
	})
}
