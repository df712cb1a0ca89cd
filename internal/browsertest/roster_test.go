package browsertest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"testing"
)

// Helpers that speak Roster: the first Admin, the JSON API from the
// Admin's page, invitations read off the SMTP server, and the hooks of the
// Users page (docs: /work/notes/issue4-contract.md in the issue, mirrored
// by the stable hooks below).

const (
	accountName   = "Acme Telecom"
	adminFirst    = "Ada"
	adminLast     = "Lovelace"
	adminEmail    = "ada@acme.example"
	adminPassword = "plum orchard velvet 42"
)

// setUpAccount follows the server's setup link in b and creates the
// account and its first Admin, checking the pages on the way; b is then
// signed in as the Admin, on the home page.
func setUpAccount(t *testing.T, srv *server, b *browser) {
	t.Helper()
	b.open("setup", srv.SetupURL, http.StatusOK)
	b.fill("Account name", accountName)
	b.fill("First name", adminFirst)
	b.fill("Last name", adminLast)
	b.fill("Email address", adminEmail)
	b.fill("Password", adminPassword)
	b.fill("Password again", adminPassword)
	b.follow("home", "Create the account", http.StatusOK)
	if got := b.path(); got != "/" {
		t.Fatalf("after the setup the Admin is at %s, want /", got)
	}
}

// signInAsAdmin starts a server, creates its account and returns a browser
// signed in as the account's Admin, on the home page, and the account id.
func signInAsAdmin(t *testing.T) (*server, *browser, string) {
	t.Helper()
	srv := startServer(t)
	b := newBrowser(t, srv)
	setUpAccount(t, srv, b)
	return srv, b, accountID(t, b)
}

// accountID reads the account id off the "User Management" link of a page
// of the account (or the home page).
func accountID(t *testing.T, b *browser) string {
	t.Helper()
	id := eval[string](b, `() => {
		const a = document.querySelector('a[href^="/accounts/"][href$="/users"]');
		return a ? a.getAttribute("href").split("/")[2] : "";
	}`)
	if id == "" {
		t.Fatalf("no User Management link on %s", b.location())
	}
	return id
}

// usersPath is the Users page of the account.
func usersPath(acct string) string { return "/accounts/" + acct + "/users" }

// api calls the JSON API from b's page with its session, as the page's own
// script would (same origin, the CSRF token of the page's forms), wants
// status want, and decodes the answer into out unless it is nil.
func (b *browser) api(method, path string, body any, want int, out any) {
	b.t.Helper()
	var in string
	if body != nil {
		data, err := json.Marshal(body)
		if err != nil {
			b.t.Fatal(err)
		}
		in = string(data)
	}
	res := eval[struct {
		Status int    `json:"status"`
		Body   string `json:"body"`
	}](b, `async (method, path, body) => {
		const csrf = document.querySelector('input[name="csrf"]');
		const headers = {"X-CSRF-Token": csrf ? csrf.value : ""};
		if (body) headers["Content-Type"] = "application/json";
		const r = await fetch(path, {method, headers, body: body || undefined, credentials: "same-origin"});
		return {status: r.status, body: await r.text()};
	}`, method, path, in)
	if res.Status != want {
		b.t.Fatalf("%s %s = %d, want %d: %s", method, path, res.Status, want, res.Body)
	}
	if out != nil {
		if err := json.Unmarshal([]byte(res.Body), out); err != nil {
			b.t.Fatalf("%s %s: %v in %s", method, path, err, res.Body)
		}
	}
}

// person is someone to invite.
type person struct {
	First, Last, Email string
	Roles              []string // role ids, e.g. "admin", "support"
}

func (p person) fullName() string { return p.First + " " + p.Last }

// numbered returns n people named "Member 001 Test" and so on, with the
// role support, for lists long enough to page.
func numbered(n int) []person {
	ps := make([]person, n)
	for i := range ps {
		ps[i] = person{First: fmt.Sprintf("Member %03d", i+1), Last: "Test",
			Email: fmt.Sprintf("member%03d@acme.example", i+1), Roles: []string{"support"}}
	}
	return ps
}

// seedUsers invites people into the account through the API, as the Admin
// signed in on b, and returns their user ids by email. They are Invitation
// Sent; join makes one Active.
func seedUsers(t *testing.T, b *browser, acct string, people ...person) map[string]string {
	t.Helper()
	ids := map[string]string{}
	for _, p := range people {
		var u struct {
			ID string `json:"id"`
		}
		b.api(http.MethodPost, "/api/v1"+usersPath(acct), map[string]any{"first_name": p.First, "last_name": p.Last,
			"email": p.Email, "roles": p.Roles}, http.StatusCreated, &u)
		ids[p.Email] = u.ID
	}
	return ids
}

// join opens the invitation email sent to p in a browser of p's own and
// registers with password, checking the pages as name+"-register" and
// name+"-home". It returns p's browser, signed in.
func join(t *testing.T, srv *server, p person, password, name string) *browser {
	t.Helper()
	link := srv.mailLink(t, p.Email, "invited you to join")
	b := newBrowser(t, srv)
	b.open(name+"-register", link, http.StatusOK)
	b.fill("Password", password)
	b.fill("Password again", password)
	b.follow(name+"-home", "Join "+accountName, http.StatusOK)
	if got := b.path(); got != "/" {
		t.Fatalf("after registering, %s is at %s, want /", p.Email, got)
	}
	return b
}

// openRowMenu opens the three-dots menu of the user named fullName on the
// Users page (its button is labelled "Actions for <full name>") and waits
// until its items show.
func (b *browser) openRowMenu(fullName string) {
	b.t.Helper()
	b.clickText("Actions for " + fullName)
	label, _ := json.Marshal("Actions for " + fullName)
	b.waitFor("the menu of "+fullName, fmt.Sprintf(`(() => {
		const btn = [...document.querySelectorAll("#users tr[data-user-id] button[aria-label]")]
			.find(el => el.getAttribute("aria-label") === %s);
		const row = btn && btn.closest("tr");
		return !!row && [...row.querySelectorAll("a, button")].some(el =>
			el.getClientRects().length > 0 && el.innerText.trim() === "View Details");
	})()`, label))
}

// waitDialog waits for the modal dialog that a data-dialog link opens and
// returns its heading.
func (b *browser) waitDialog() string {
	b.t.Helper()
	b.waitVisible("dialog.modal[open] h1")
	return b.text("dialog.modal[open] h1")
}

// waitDialogClosed waits until no dialog is open.
func (b *browser) waitDialogClosed() {
	b.t.Helper()
	b.waitGone("dialog.modal")
}

// row is the text of the list's row of the user named fullName without
// its menu, the cells separated by " | ", or "" when the list shows no
// such row.
func (b *browser) row(fullName string) string {
	b.t.Helper()
	return eval[string](b, `(name) => {
		const norm = s => s.replace(/\s+/g, " ").trim();
		const tr = [...document.querySelectorAll("#users tr[data-user-id]")].find(tr => norm(tr.querySelector("th").innerText) === name);
		return tr ? [...tr.cells].slice(0, -1).map(c => norm(c.innerText)).filter(t => t !== "").join(" | ") : "";
	}`, fullName)
}

// focusInDialog reports whether the keyboard focus is inside the open
// modal dialog.
func (b *browser) focusInDialog() bool {
	b.t.Helper()
	return eval[bool](b, `() => {
		const d = document.querySelector("dialog.modal[open]");
		return !!d && d.contains(document.activeElement);
	}`)
}
