package browsertest

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// The audit log page in Chromium: reached from the Users page header, a
// filter by who and what through the form (with and without script), a
// filter explained beside its field, the CSV download of the filters in
// force, and a user's Activity link from their details.
func TestAuditLogPage(t *testing.T) {
	_, b, acct := signInAsAdmin(t)
	ids := seedUsers(t, b, acct,
		person{First: "Grace", Last: "Hopper", Email: "grace@acme.example", Roles: []string{"support"}},
		person{First: "Katherine", Last: "Johnson", Email: "katherine@acme.example", Roles: []string{"communication_manager"}})
	b.api(http.MethodPost, "/api/v1"+usersPath(acct)+"/"+ids["grace@acme.example"]+"/resend-invitation", nil, http.StatusOK, nil)
	b.api(http.MethodDelete, "/api/v1"+usersPath(acct)+"/"+ids["katherine@acme.example"], nil, http.StatusNoContent, nil)

	b.open("users-list", usersPath(acct), http.StatusOK)
	b.follow("audit-log", "Audit log", http.StatusOK)
	if got, want := b.path(), "/accounts/"+acct+"/audit"; got != want {
		t.Fatalf("Audit log leads to %s, want %s", got, want)
	}
	b.wantText("#audit", "Deleted Katherine Johnson", "Resent the invitation to Grace Hopper", "Invited Grace Hopper",
		"Created the account", "Ada Lovelace")
	if first := b.text("#audit tbody tr"); !strings.Contains(first, "Deleted Katherine Johnson") {
		t.Errorf("the newest row is %q, want the deletion", first)
	}

	// Without script, as a plain form: what Ada deleted.
	b.disableScripts()
	b.fill("Done by", adminEmail)
	b.choose("Action", "Deleted")
	b.follow("audit-filtered", "Apply", http.StatusOK)
	b.wantText(".audit-showing", "Events done by Ada Lovelace ("+adminEmail+"), “Deleted”.")
	if n := eval[int](b, `() => document.querySelectorAll("#audit tbody tr").length`); n != 1 {
		t.Errorf("filtered rows = %d, want 1: %s", n, b.text("#audit"))
	}
	q := url.Values{"actor": {adminEmail}, "action": {"user.deleted"}}
	if got := eval[string](b, `() => document.getElementById("audit-csv").getAttribute("href")`); got != "/accounts/"+acct+"/audit.csv?"+q.Encode() {
		t.Errorf("Download CSV links to %q, want the same filters", got)
	}
	b.setScripts(true)

	// The download is the filtered log as CSV.
	csv := eval[struct {
		Status int    `json:"status"`
		Type   string `json:"type"`
		Body   string `json:"body"`
	}](b, `async () => {
		const r = await fetch(document.getElementById("audit-csv").href, {credentials: "same-origin"});
		return {status: r.status, type: r.headers.get("Content-Type"), body: await r.text()};
	}`)
	lines := strings.Split(strings.TrimSpace(csv.Body), "\n")
	if csv.Status != http.StatusOK || csv.Type != "text/csv; charset=utf-8" || len(lines) != 2 ||
		!strings.HasPrefix(lines[0], "time,seq,actor_id,actor_name,actor_email,action,") || !strings.Contains(lines[1], ",user.deleted,") {
		t.Errorf("CSV download = %d %q:\n%s", csv.Status, csv.Type, csv.Body)
	}

	// A filter that cannot be used is said beside its field.
	b.fill("Done by", "nobody@acme.example")
	b.follow("audit-errors", "Apply", http.StatusBadRequest)
	b.wantText(".audit-filters", "No user of this account has the email nobody@acme.example.")

	// A user's details lead to what they did.
	b.open("user-details", usersPath(acct)+"/"+ids["grace@acme.example"], http.StatusOK)
	b.follow("audit-activity", "Activity : what Grace Hopper did", http.StatusOK)
	b.wantText(".audit-showing", "Events done by Grace Hopper (grace@acme.example).")
	b.wantText("main", "No events match these filters.")
}
