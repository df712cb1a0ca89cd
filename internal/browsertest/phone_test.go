package browsertest

import (
	"net/http"
	"testing"
)

// TestNoSidewaysScrollingOnPhone opens the pages of an account at phone
// width: each fits the screen, so a person never pans sideways to read a
// page (a wide table scrolls within its own box).
func TestNoSidewaysScrollingOnPhone(t *testing.T) {
	srv, b, acct := signInAsAdmin(t)
	b.api(http.MethodPost, "/api/v1/accounts/"+acct+"/api-keys", map[string]any{
		"name": "Billing sync", "allowed_ips": []string{"192.0.2.7", "2001:db8::/32"}, "scope": []string{"billing.manage", "usage.view"},
	}, http.StatusCreated, nil)
	b.resize(phone)
	for _, p := range []struct{ name, path string }{
		{"home", "/"},
		{"users", usersPath(acct)},
		{"user-add", usersPath(acct) + "/new"},
		{"audit", "/accounts/" + acct + "/audit"},
		{"api-keys", "/accounts/" + acct + "/api-keys"},
		{"api-key-form", "/accounts/" + acct + "/api-keys/new"},
		{"roles", "/roles"},
		{"sessions", "/sessions"},
	} {
		b.open(p.name, srv.URL+p.path, http.StatusOK)
		// Against the screen's width, not innerWidth: a phone browser
		// widens its layout viewport to a page that overflows.
		if got := eval[int64](b, `() => document.documentElement.scrollWidth`); got > phone.width {
			t.Errorf("%s at phone width is %dpx wide, more than the %dpx screen", p.path, got, phone.width)
		}
	}
}
