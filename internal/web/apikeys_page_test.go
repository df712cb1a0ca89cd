package web

import (
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"roster"
	"roster/internal/testdb"
)

var secretRE = regexp.MustCompile(`value="(rst_[a-z2-7]+)"`)

// TestAPIKeysPage walks the page as Alice, Acme's Admin: create a key with
// every limit, see its secret once, deactivate, activate and delete it
// through their confirmation pages; and checks who may open the page.
func TestAPIKeysPage(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, s roster.Store) {
		d := newDetailsEnv(t, s)
		list := keysPagePath(d.acct)
		d.admin.get(t, "/").want(t, http.StatusOK).has(t, `href="`+list+`"`)
		d.admin.get(t, list).want(t, http.StatusOK).has(t, "There are no API keys yet.", "Create API Key",
			// The header marks the page one is on.
			`<a class="nav-link" href="`+list+`" aria-current="page">API Keys</a>`).lacks(t, `aria-current="page">User Management`)

		form := d.admin.get(t, list+"/new").want(t, http.StatusOK)
		form.has(t, `name="scope" value="team.manage"`, `type="date"`, `name="allowed_ips"`, "choose all of the Admin role's")
		// Every page of the account leads to the API Keys page from its header.
		form.has(t, `<a class="nav-link" href="`+list+`">API Keys</a>`)
		d.admin.get(t, usersPagePath(d.acct)).want(t, http.StatusOK).has(t, `<a class="nav-link" href="`+list+`">API Keys</a>`)

		// Bad input is shown on the form and creates nothing.
		bad := d.admin.post(t, list+"/new", url.Values{"name": {""}, "expires_at": {"2001-01-01"}, "allowed_ips": {"10.1.2.3/8\nnope"},
			"scope_mode": {"some"}}).want(t, http.StatusUnprocessableEntity)
		bad.has(t, "There is a problem", `href="#f-name"`, `href="#f-expires_at"`, `href="#f-allowed_ips"`, `href="#f-scope"`,
			html.EscapeString(`"10.1.2.3/8"`), "10.0.0.0/8")
		if keys, _ := d.store.APIKeys(d.ctx, d.acct, ""); len(keys) != 0 {
			t.Fatalf("a refused form created %d keys", len(keys))
		}

		// Post, redirect, get: the secret crosses the redirect sealed in a
		// cookie, and is shown once.
		posted := d.admin.post(t, list+"/new", url.Values{"name": {"Billing sync"}, "expires_at": {"2025-12-31"},
			"allowed_ips": {"192.0.2.7, 198.51.100.0/24\r\n2001:db8::/32"}, "scope_mode": {"some"}, "scope": {"usage.view", "billing.manage"}}).
			want(t, http.StatusSeeOther)
		createdAt := posted.header.Get("Location")
		if !strings.HasPrefix(createdAt, list+"/") || !strings.HasSuffix(createdAt, "/created") {
			t.Fatalf("creating a key redirects to %q, want its created page", createdAt)
		}
		if c := posted.header.Get("Set-Cookie"); strings.Contains(c, "rst_") || !strings.Contains(c, "Path="+createdAt) ||
			!strings.Contains(c, "HttpOnly") || !strings.Contains(c, "SameSite=Strict") {
			t.Errorf("the new key's cookie = %q: want it sealed, HttpOnly, SameSite=Strict, for the created page only", c)
		}
		created := d.admin.get(t, createdAt).want(t, http.StatusOK)
		m := secretRE.FindStringSubmatch(created.body)
		if m == nil || !roster.CheckAPIKeyFormat(m[1]) {
			t.Fatalf("the created page shows no key:\n%s", created.body)
		}
		secret := m[1]
		created.has(t, "shown only this once", `data-copy="new-key"`)
		// Reloaded, the page cannot show it again, and creates nothing.
		d.admin.get(t, createdAt).want(t, http.StatusOK).has(t, "cannot be shown again").lacks(t, secret, "rst_")
		if keys, _ := d.store.APIKeys(d.ctx, d.acct, ""); len(keys) != 1 {
			t.Errorf("after reloading the created page there are %d keys, want 1", len(keys))
		}
		k, err := d.store.APIKeyByHash(d.ctx, roster.HashSecret(secret))
		if err != nil || k.Name != "Billing sync" || k.ExpiresAt.Format("2006-01-02 15:04") != "2026-01-01 00:00" ||
			strings.Join(k.AllowedIPs, " ") != "192.0.2.7 198.51.100.0/24 2001:db8::/32" || strings.Join(k.Scope, " ") != "billing.manage usage.view" {
			t.Fatalf("created key = %+v, %v", k, err)
		}

		// The list shows the key without its secret.
		page := d.admin.get(t, list).want(t, http.StatusOK)
		page.has(t, "Billing sync", "rst_…"+secret[len(secret)-4:], "Alice Admin", "192.0.2.7, 198.51.100.0/24, 2001:db8::/32",
			"Manage billing, View usage and balance", "End of 31 Dec 2025 (UTC)", "Active").lacks(t, secret, "billing.manage, usage.view")

		base := list + "/" + k.ID + "/"
		d.admin.get(t, base+"deactivate").want(t, http.StatusOK).has(t, `class="dialog-page"`, "Deactivate the key")
		d.admin.post(t, base+"deactivate", nil).redirects(t, list)
		d.admin.get(t, list).want(t, http.StatusOK).has(t, `API key &#34;Billing sync&#34; was deactivated.`, "Inactive", base+"activate")
		if r := verdict(t, d, secret); r != roster.KeyReasonInactive {
			t.Errorf("a deactivated key: %q, want inactive", r)
		}
		d.admin.post(t, base+"deactivate", nil).want(t, http.StatusConflict).has(t, "already inactive", "Nothing was changed.")
		d.admin.post(t, base+"activate", nil).redirects(t, list)
		if r := verdict(t, d, secret); r != "" {
			t.Errorf("an activated key: %q, want valid", r)
		}
		d.admin.get(t, base+"delete").want(t, http.StatusOK).has(t, "cannot be undone", "data-dialog-focus")
		d.admin.post(t, base+"delete", nil).redirects(t, list)
		if r := verdict(t, d, secret); r != roster.KeyUnknown {
			t.Errorf("a deleted key: %q, want unknown", r)
		}
		d.admin.get(t, base+"delete").want(t, http.StatusNotFound)

		// Without CSRF nothing happens; without api_keys.manage the page is forbidden.
		d.admin.post(t, list+"/new", url.Values{"name": {"x"}, "csrf": {"forged"}}).want(t, http.StatusForbidden)
		d.mustActiveAs(t, "Sam", "Support", "sam@acme.example.com", roster.RoleSupport)
		sam := d.browser(t)
		sam.signIn(t, "sam@acme.example.com", newPassword)
		sam.get(t, list).want(t, http.StatusForbidden).has(t, "the Manage API credentials permission")
		sam.get(t, "/").want(t, http.StatusOK).lacks(t, `href="`+list+`"`)
		sam.get(t, "/roles").want(t, http.StatusOK).lacks(t, `href="`+list+`"`)
		other := d.mustAccount(t, "Other")
		d.admin.get(t, keysPagePath(other)).want(t, http.StatusNotFound)
	})
}

// verdict is the gateway check's reason for a key used from its allowed
// address 192.0.2.7; "" when valid.
func verdict(t *testing.T, d *detailsEnv, secret string) string {
	t.Helper()
	v, err := d.svc.VerifyKey(d.ctx, secret, "", "192.0.2.7")
	if err != nil {
		t.Fatalf("VerifyKey = %v", err)
	}
	return v.Reason
}
