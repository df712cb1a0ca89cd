package browsertest

import (
	"net/http"
	"strings"
	"testing"
)

// The API Keys page in Chromium against roster serve: the Admin creates a
// key with an expiry, an allow-list and two permissions, sees its secret
// once with a Copy button, and deactivates and deletes it through the
// dialogs; the JSON API agrees at each step.

func TestAPIKeysPage(t *testing.T) {
	_, b, acct := signInAsAdmin(t)
	list := "/accounts/" + acct + "/api-keys"
	b.follow("api-keys-empty", "API Keys of "+accountName, http.StatusOK)
	if got := b.path(); got != list {
		t.Fatalf("the home page's API Keys link leads to %s, want %s", got, list)
	}
	b.wantText("main", "There are no API keys yet.")

	b.follow("api-key-form", "Create API Key", http.StatusOK)
	b.fill("Name", "Billing sync")
	b.fill("Expiry date (optional)", "2099-12-31")
	b.fill("Allowed IP addresses (optional)", "192.0.2.7, 198.51.100.0/24")
	b.setChecked("Only these permissions:", true)
	b.setChecked("View usage and balance", true)
	b.setChecked("Manage billing", true)
	b.follow("api-key-form-errors", "Create key", http.StatusUnprocessableEntity) // 2099 is more than 10 years ahead
	b.wantText(".error-summary", "The expiry can be at most 10 years ahead.")
	if got := b.value("Name"); got != "Billing sync" {
		t.Errorf("the form lost the name after an error: %q", got)
	}
	b.fill("Expiry date (optional)", "2030-06-30")
	b.follow("api-key-created", "Create key", http.StatusOK)
	secret := b.value("Your new API key")
	if !strings.HasPrefix(secret, "rst_") || len(secret) != 62 {
		t.Fatalf("the created page shows %q, want a key", secret)
	}
	b.clickText("Copy")
	b.waitFor("the copy's status", `document.querySelector(".copy-status").textContent !== ""`)

	var raw struct {
		Items []map[string]any `json:"items"`
	}
	b.api("GET", "/api/v1"+list, nil, http.StatusOK, &raw)
	if len(raw.Items) != 1 || raw.Items[0]["name"] != "Billing sync" || raw.Items[0]["state"] != "active" ||
		raw.Items[0]["last_four"] != secret[len(secret)-4:] || raw.Items[0]["expires_at"] != "2030-07-01T00:00:00Z" {
		t.Fatalf("GET api-keys = %v", raw.Items)
	}

	b.follow("api-keys", "Done", http.StatusOK)
	b.wantText("table.keys", "Billing sync", "rst_…"+secret[len(secret)-4:], "Ada Lovelace", "192.0.2.7, 198.51.100.0/24",
		"Manage billing, View usage and balance", "End of 30 Jun 2030 (UTC)", "Active")
	if strings.Contains(b.text("main"), secret) {
		t.Error("the list shows the secret")
	}

	b.clickText("Deactivate Billing sync")
	if got := b.waitDialog(); got != "Deactivate API Key" {
		t.Fatalf("Deactivate opens a dialog headed %q", got)
	}
	b.checkPage("api-key-deactivate")
	b.follow("api-keys-deactivated", "Deactivate", http.StatusOK)
	wantFlash(t, b, `API key "Billing sync" was deactivated.`)
	b.wantText("table.keys", "Inactive")

	b.clickText("Delete Billing sync")
	if got := b.waitDialog(); got != "Delete API Key" {
		t.Fatalf("Delete opens a dialog headed %q", got)
	}
	b.follow("api-keys-deleted", "Delete", http.StatusOK)
	wantFlash(t, b, `API key "Billing sync" was deleted.`)
	b.wantText("main", "There are no API keys yet.")
	b.api("GET", "/api/v1"+list, nil, http.StatusOK, &raw)
	if len(raw.Items) != 0 {
		t.Errorf("GET api-keys after delete = %v", raw.Items)
	}
}

// TestAPIKeysPageWithoutJavaScript creates a key and switches it off and
// on with JavaScript off: the form posts, the secret is a read-only field
// to copy by hand (no Copy button), and each confirmation is a page.
func TestAPIKeysPageWithoutJavaScript(t *testing.T) {
	_, b, acct := signInAsAdmin(t)
	list := "/accounts/" + acct + "/api-keys"
	b.disableScripts()
	b.open("api-key-form-nojs", list+"/new", http.StatusOK)
	b.fill("Name", "Reports")
	b.follow("api-key-created-nojs", "Create key", http.StatusOK)
	if secret := b.value("Your new API key"); !strings.HasPrefix(secret, "rst_") {
		t.Fatalf("the created page shows %q, want a key", secret)
	}
	if eval[bool](b, `() => document.querySelector("button[data-copy]").getClientRects().length > 0`) {
		t.Error("without JavaScript the page shows a Copy button that cannot work")
	}
	b.follow("api-keys-nojs", "Done", http.StatusOK)
	b.follow("api-key-deactivate-page", "Deactivate Reports", http.StatusOK)
	if got := b.path(); !strings.HasSuffix(got, "/deactivate") {
		t.Fatalf("without JavaScript Deactivate leads to %s, want its page", got)
	}
	b.follow("api-keys-deactivated-nojs", "Deactivate", http.StatusOK)
	wantFlash(t, b, `API key "Reports" was deactivated.`)
	b.follow("api-key-activate-page", "Activate Reports", http.StatusOK)
	b.follow("api-keys-activated-nojs", "Activate", http.StatusOK)
	wantFlash(t, b, `API key "Reports" was activated.`)
	b.wantText("table.keys", "Active")
}
