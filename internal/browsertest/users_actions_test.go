package browsertest

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

// The Users page's actions in Chromium against roster serve: Add New User,
// and the three-dots menu's Edit, Revoke Access, Restore Access, Resend
// Invitation and Delete, with the mouse, from the keyboard alone and with
// JavaScript off; and the refusals, which say why in words.

var (
	grace = person{First: "Grace", Last: "Hopper", Email: "grace@acme.example", Roles: []string{"support"}}
	alan  = person{First: "Alan", Last: "Turing", Email: "alan@acme.example", Roles: []string{"support"}}
)

// userAPI is the API's address of a user of the account.
func userAPI(acct, id string) string { return "/api/v1" + usersPath(acct) + "/" + id }

// wantRow fails the test unless the list's row of fullName shows each text.
func wantRow(t *testing.T, b *browser, fullName string, texts ...string) {
	t.Helper()
	got := b.row(fullName)
	if got == "" {
		t.Errorf("the list on %s has no row for %s", b.location(), fullName)
		return
	}
	for _, want := range texts {
		if !strings.Contains(got, want) {
			t.Errorf("the row of %s reads %q, want it to contain %q", fullName, got, want)
		}
	}
}

// wantFlash fails the test unless the page shows the flash message.
func wantFlash(t *testing.T, b *browser, want string) {
	t.Helper()
	if got := b.flash(); !strings.Contains(got, want) {
		t.Errorf("the flash on %s reads %q, want %q", b.location(), got, want)
	}
}

// openAction opens the dialog of the action named item from the row menu
// of fullName, checks it as name, and wants its heading.
func openAction(t *testing.T, b *browser, fullName, item, heading, name string) {
	t.Helper()
	b.openRowMenu(fullName)
	b.clickText(item)
	if got := b.waitDialog(); got != heading {
		t.Fatalf("%s of %s opens a dialog headed %q, want %q", item, fullName, got, heading)
	}
	b.checkPage(name)
}

func TestAddNewUser(t *testing.T) {
	srv, b, acct := signInAsAdmin(t)
	seedUsers(t, b, acct, alan)
	list := usersPath(acct) + "?sort=-email"
	b.open("users-actions", list, http.StatusOK)
	b.follow("user-add", "Add New User", http.StatusOK)
	b.wantText("h1", "Add New User")

	// Only an Expert needs the Access till and Access level fields: the
	// form shows them when Expert is ticked.
	if b.has("#f-access_until-reveal.shown") || eval[bool](b, `() => document.getElementById("f-access_until").getClientRects().length > 0 ||
		document.getElementById("f-level-read_only").getClientRects().length > 0`) {
		t.Error("Add New User shows Access till or Access level before Expert is ticked")
	}
	b.setChecked("Expert", true)
	b.waitVisible("#f-access_until")
	b.waitVisible("#f-level-read_only")
	b.wantText("#f-expert_access", "Access level", "Read-only", "Limited write", "never billing")
	b.checkPage("user-add-expert")
	b.setChecked("Expert", false)
	b.waitHidden("#f-access_until")
	b.waitHidden("#f-level-read_only")

	// Everything wrong: each message beside its field, the input kept.
	b.fill("First Name", "Al")
	b.fill("Email", "not an email")
	b.follow("user-add-errors", "Save", http.StatusUnprocessableEntity)
	b.wantText(".error-summary", "There is a problem")
	for _, f := range []struct{ id, label string }{
		{"f-first_name", "First Name"}, {"f-last_name", "Last Name"}, {"f-email", "Email"}, {"f-roles", "Roles"},
	} {
		msg := eval[string](b, `(id) => {
			const el = document.getElementById(id);
			const field = el && el.closest(".field");
			const err = field && field.classList.contains("field-invalid") && field.querySelector(".error-message");
			return err ? err.innerText.replace(/\s+/g, " ").trim() : "";
		}`, f.id)
		if msg == "" {
			t.Errorf("after Save with errors, %s shows no error message beside it", f.label)
		}
	}
	if got := b.value("First Name"); got != "Al" {
		t.Errorf("after the refusal First Name holds %q, want %q kept", got, "Al")
	}
	if got := b.value("Email"); got != "not an email" {
		t.Errorf("after the refusal Email holds %q, want %q kept", got, "not an email")
	}

	// A valid user: back on the list as it was, with the flash and the row
	// Invitation Sent; the invitation is on its way.
	b.fill("First Name", grace.First)
	b.fill("Last Name", grace.Last)
	b.fill("Email", grace.Email)
	b.setChecked("Support", true)
	b.follow("users-flash", "Save", http.StatusOK)
	if got := b.path(); got != list {
		t.Errorf("after Add New User the Admin is at %s, want the list as it was, %s", got, list)
	}
	wantFlash(t, b, "Invitation sent to Grace Hopper (grace@acme.example).")
	wantRow(t, b, grace.fullName(), grace.Email, "Support", "Invitation Sent")
	srv.mailLink(t, grace.Email, "invited you to join "+accountName)

	// An Expert, with the access deadline the field asks for.
	until := time.Now().UTC().AddDate(0, 0, 30)
	b.follow("user-add", "Add New User", http.StatusOK)
	b.fill("First Name", "Katherine")
	b.fill("Last Name", "Johnson")
	b.fill("Email", "katherine@tatacommunications.com")
	b.setChecked("Expert", true)
	b.waitVisible("#f-access_until")
	b.fill("Access till", until.Format(time.DateOnly))
	// Without a level the server refuses, beside the level's field.
	b.follow("user-add-errors", "Save", http.StatusUnprocessableEntity)
	b.wantText("#f-expert_access", "Choose the Expert's access level: Read-only or Limited write.")
	b.setChecked("Limited write", true)
	b.follow("users-flash", "Save", http.StatusOK)
	wantFlash(t, b, "Invitation sent to Katherine Johnson")
	wantRow(t, b, "Katherine Johnson", "Expert", "Invitation Sent", "Access until "+until.Format("2 Jan 2006"))
	srv.mailLink(t, "katherine@tatacommunications.com", "invited you to join "+accountName)
}

func TestEditUserFromTheList(t *testing.T) {
	_, b, acct := signInAsAdmin(t)
	ids := seedUsers(t, b, acct, grace, alan)
	list := usersPath(acct) + "?sort=-email&limit=10"
	b.open("users-actions", list, http.StatusOK)

	b.openRowMenu(grace.fullName())
	b.checkPage("users-row-menu")
	b.press(keyEscape)
	openAction(t, b, grace.fullName(), "Edit", "Edit User", "user-edit-dialog")
	b.wantText("dialog.modal[open]", grace.fullName(), grace.Email, "Invitation Sent")
	if b.has("#change-summary.shown") {
		t.Error("the Edit dialog shows a change summary before anything changed")
	}
	b.setChecked("Communication Manager", true)
	b.setChecked("Support", false)
	// Before saving, the dialog says what the change adds and removes:
	// Support's features are all in Communication Manager's.
	b.waitVisible("#change-summary")
	b.wantText("#change-summary", "This change adds:", "Design communication flows", "Manage campaigns")
	if got := b.text("#change-summary"); strings.Contains(got, "removes") {
		t.Errorf("the change summary reads %q; Support to Communication Manager removes nothing", got)
	}
	b.setChecked("Communication Manager", false)
	b.setChecked("Admin", true)
	b.setChecked("Admin", false)
	b.wantText("#change-summary", "This change removes:", "View logs", "View usage and balance")
	// A read-only Expert instead of Support: the level decides what is added.
	b.setChecked("Expert", true)
	b.setChecked("Read-only", true)
	b.wantText("#change-summary", "This change adds: View analytics, View communication flows, View numbers, View platform configuration.",
		"This change removes: View usage and balance.")
	b.setChecked("Limited write", true)
	b.wantText("#change-summary", "Design communication flows", "Configure the platform")
	b.checkPage("user-edit-summary")
	b.setChecked("Expert", false)
	b.setChecked("Communication Manager", true)
	b.follow("users-flash", "Save", http.StatusOK)
	if got := b.path(); got != list {
		t.Errorf("after Edit the Admin is at %s, want the list as it was, %s", got, list)
	}
	wantFlash(t, b, "Roles of Grace Hopper updated.")
	wantRow(t, b, grace.fullName(), "Communication Manager")
	if strings.Contains(b.row(grace.fullName()), "Support") {
		t.Errorf("after Edit the row of Grace still shows Support: %q", b.row(grace.fullName()))
	}

	// Someone changes Alan while the dialog is open: Save is refused, in
	// words, and the form shows him as he is now.
	openAction(t, b, alan.fullName(), "Edit", "Edit User", "user-edit-dialog")
	b.api(http.MethodPatch, userAPI(acct, ids[alan.Email]), map[string]any{"roles": []string{"communication_manager"}}, http.StatusOK, nil)
	b.setChecked("Admin", true)
	b.follow("user-edit-stale", "Save", http.StatusConflict)
	b.wantText("main", "Someone changed Alan Turing's roles since you opened this form",
		"the roles are now Communication Manager (were Support)", "Check and save again")
	if checked := eval[bool](b, `() => document.getElementById("f-role-communication_manager").checked && !document.getElementById("f-role-admin").checked`); !checked {
		t.Error("the stale Edit form does not show Alan's roles as they are now (Communication Manager only)")
	}
	var u struct {
		Roles []string `json:"roles"`
	}
	b.api(http.MethodGet, userAPI(acct, ids[alan.Email]), nil, http.StatusOK, &u)
	if strings.Join(u.Roles, ",") != "communication_manager" {
		t.Errorf("after the refused stale Save Alan has the roles %v, want [communication_manager]", u.Roles)
	}
	// Saved again, it goes through, back to the list as it was.
	b.setChecked("Support", true)
	b.follow("users-flash", "Save", http.StatusOK)
	if got := b.path(); got != list {
		t.Errorf("after the second Save the Admin is at %s, want %s", got, list)
	}
	wantFlash(t, b, "Roles of Alan Turing updated.")
	wantRow(t, b, alan.fullName(), "Communication Manager", "Support")
}

func TestRevokeAndRestoreAccess(t *testing.T) {
	srv, b, acct := signInAsAdmin(t)
	seedUsers(t, b, acct, grace)
	join(t, srv, grace, "compilers before breakfast", "member")
	list := usersPath(acct) + "?q=Hopper"
	b.open("users-actions", list, http.StatusOK)
	wantRow(t, b, grace.fullName(), "Active")

	openAction(t, b, grace.fullName(), "Revoke Access", "Revoke Access", "user-revoke-dialog")
	// The truthful text: sign-in stops now, nothing is deleted, it can be
	// undone.
	b.wantText("dialog.modal[open]", "Revoke the access of Grace Hopper (grace@acme.example)?",
		"can no longer sign in to "+accountName+", starting now", "Nothing is deleted", "restore their access at any time")
	b.setChecked("Other", true)
	b.follow("user-revoke-errors", "Revoke access", http.StatusUnprocessableEntity)
	b.wantText(".field-invalid", "Note")
	if msg := b.text(".field-invalid .error-message"); msg == "" {
		t.Error("Revoke Access with Other and no note shows no message beside the Note")
	}
	if !eval[bool](b, `() => document.getElementById("f-reason-other").checked`) {
		t.Error("after the refusal the reason Other is no longer chosen")
	}
	b.fill("Note", "Contract ended; laptop returned.")
	b.follow("users-flash", "Revoke access", http.StatusOK)
	if got := b.path(); got != list {
		t.Errorf("after Revoke Access the Admin is at %s, want %s", got, list)
	}
	wantFlash(t, b, "Access revoked for Grace Hopper.")
	wantRow(t, b, grace.fullName(), "Inactive")

	openAction(t, b, grace.fullName(), "Restore Access", "Restore Access", "user-restore-dialog")
	b.wantText("dialog.modal[open]", "Restore the access of Grace Hopper", "can sign in to "+accountName+" again")
	b.follow("users-flash", "Restore access", http.StatusOK)
	wantFlash(t, b, "Access restored for Grace Hopper.")
	wantRow(t, b, grace.fullName(), "Active")
}

func TestResendInvitation(t *testing.T) {
	srv, b, acct := signInAsAdmin(t)
	seedUsers(t, b, acct, grace)
	first := srv.mailLink(t, grace.Email, "invited you to join "+accountName)
	b.open("users-actions", usersPath(acct), http.StatusOK)

	openAction(t, b, grace.fullName(), "Resend Invitation", "Resend Invitation", "user-resend-dialog")
	b.wantText("dialog.modal[open]", "Resend the invitation to Grace Hopper?", "A new invitation email goes to "+grace.Email)
	b.follow("users-flash", "Resend invitation", http.StatusOK)
	wantFlash(t, b, "Invitation resent to Grace Hopper at "+grace.Email)
	wantRow(t, b, grace.fullName(), "Invitation Sent")
	second := srv.mailLink(t, grace.Email, "invited you to join "+accountName)
	if second == first {
		t.Errorf("the resent invitation links to %s, the same as the first", second)
	}
}

func TestDeleteUser(t *testing.T) {
	srv, b, acct := signInAsAdmin(t)
	seedUsers(t, b, acct, grace)
	join(t, srv, grace, "compilers before breakfast", "member")
	key := srv.createAPIKey(t, acct, grace.Email, "nightly export")
	srv.createAPIKey(t, acct, grace.Email, "dashboard")
	if got := srv.apiStatus(t, key, http.MethodGet, "/api/v1/roles"); got != http.StatusOK {
		t.Fatalf("Grace's new API key gets %d, want 200", got)
	}
	b.open("users-actions", usersPath(acct), http.StatusOK)

	// Cancel changes nothing.
	openAction(t, b, grace.fullName(), "Delete", "Delete User", "user-delete-dialog")
	b.wantText("dialog.modal[open]", `Are you sure you want to delete the user "Grace"?`,
		"Their 2 active API keys will stop working at once.")
	b.clickText("Cancel")
	b.waitDialogClosed()
	wantRow(t, b, grace.fullName(), "Active")
	if got := srv.apiStatus(t, key, http.MethodGet, "/api/v1/roles"); got != http.StatusOK {
		t.Errorf("after Cancel, Grace's API key gets %d, want 200", got)
	}

	openAction(t, b, grace.fullName(), "Delete", "Delete User", "user-delete-dialog")
	b.follow("users-flash", "Delete", http.StatusOK)
	wantFlash(t, b, "Grace Hopper was deleted.")
	if row := b.row(grace.fullName()); row != "" {
		t.Errorf("after Delete the list still shows Grace: %q", row)
	}
	if got := srv.apiStatus(t, key, http.MethodGet, "/api/v1/roles"); got != http.StatusUnauthorized {
		t.Errorf("after Delete, Grace's API key gets %d, want 401", got)
	}
}

// TestRefusalsInWords: an Admin cannot revoke or delete themselves, nor
// revoke, delete or demote the last Admin without an access deadline; the
// pages say so instead of failing.
func TestRefusalsInWords(t *testing.T) {
	srv, b, acct := signInAsAdmin(t)
	me := adminFirst + " " + adminLast
	bob := person{First: "Bob", Last: "Kahn", Email: "bob@acme.example", Roles: []string{"admin"}}
	ids := seedUsers(t, b, acct, bob)
	bobBrowser := join(t, srv, bob, "packets all the way down", "member")
	b.open("users-actions", usersPath(acct), http.StatusOK)

	var me2 struct {
		Items []struct {
			ID    string `json:"id"`
			Email string `json:"email"`
		} `json:"items"`
	}
	bobBrowser.api(http.MethodGet, "/api/v1"+usersPath(acct)+"?q=Lovelace", nil, http.StatusOK, &me2)
	if len(me2.Items) != 1 {
		t.Fatalf("the API finds %d users named Lovelace, want 1", len(me2.Items))
	}

	// Her own row offers neither Revoke Access nor Delete; reached by
	// their addresses, the pages say why.
	b.openRowMenu(me)
	if own := b.text(`#users tr[data-user-id="` + me2.Items[0].ID + `"]`); strings.Contains(own, "Revoke Access") || strings.Contains(own, "Delete") {
		t.Errorf("her own row's menu offers %q, want no Revoke Access or Delete", own)
	}
	b.press("Escape")
	self := usersPath(acct) + "/" + me2.Items[0].ID
	b.open("user-revoke-self", self+"/revoke", http.StatusOK)
	b.wantText("main", "You cannot revoke your own access; ask another Admin.")
	b.open("user-delete-self", self+"/delete", http.StatusOK)
	b.wantText("main", "You cannot delete yourself; ask another Admin.")

	// Bob gives Ada an access deadline: Bob is now the last Admin without
	// one, whom the account cannot lose.
	bobBrowser.api(http.MethodPatch, userAPI(acct, me2.Items[0].ID),
		map[string]any{"access_until": time.Now().UTC().AddDate(0, 0, 30).Format(time.RFC3339)}, http.StatusOK, nil)
	b.open("users-actions", usersPath(acct), http.StatusOK)

	openAction(t, b, bob.fullName(), "Revoke Access", "Revoke Access", "user-revoke-dialog")
	b.setChecked("Issue was resolved", true)
	b.follow("user-revoke-last-admin", "Revoke access", http.StatusConflict)
	b.wantText("main", "Bob Kahn is the only active Admin of this account without an access deadline",
		"revoking their access would leave the account without one", "Nothing was changed.")
	b.follow("users-actions", "Back to Users", http.StatusOK)

	openAction(t, b, bob.fullName(), "Delete", "Delete User", "user-delete-dialog")
	b.follow("user-delete-last-admin", "Delete", http.StatusConflict)
	b.wantText("main", "Bob Kahn is the only active Admin of this account without an access deadline", "deleting them would leave the account without one", "Nothing was changed.")
	b.follow("users-actions", "Back to Users", http.StatusOK)

	openAction(t, b, bob.fullName(), "Edit", "Edit User", "user-edit-dialog")
	b.setChecked("Admin", false)
	b.setChecked("Support", true)
	b.follow("user-edit-last-admin", "Save", http.StatusConflict)
	b.wantText(".field-invalid", "Bob Kahn is the only active Admin of this account without an access deadline", "removing their Admin role would leave the account without one")

	var u struct {
		Status string   `json:"status"`
		Roles  []string `json:"roles"`
	}
	b.api(http.MethodGet, userAPI(acct, ids[bob.Email]), nil, http.StatusOK, &u)
	if u.Status != "active" || strings.Join(u.Roles, ",") != "admin" {
		t.Errorf("after the refusals Bob is %s with %v, want active with [admin]", u.Status, u.Roles)
	}
}

// wantFocus stops the test unless, after what was done, the focus is on
// the element a person hears as want.
func wantFocus(t *testing.T, b *browser, what, want string) {
	t.Helper()
	if got := b.focused(); got != want {
		t.Fatalf("%s: the focus is on %q, want %q", what, got, want)
	}
}

// TestKeyboardOnlyActions works the row menu and the dialogs without a
// single mouse click.
func TestKeyboardOnlyActions(t *testing.T) {
	srv, b, acct := signInAsAdmin(t)
	seedUsers(t, b, acct, grace, alan)
	join(t, srv, grace, "compilers before breakfast", "member")
	b.open("users-actions", usersPath(acct)+"?sort=email", http.StatusOK)
	button := "Actions for " + grace.fullName()

	b.tabTo(button, 40)
	if !b.focusShows() {
		t.Error("the focused three-dots button shows no focus indicator (outline or box shadow)")
	}
	b.press(keyEnter)
	wantFocus(t, b, "Enter on the three-dots button", "Edit")
	if !b.focusShows() {
		t.Error("the focused menu item shows no focus indicator")
	}
	b.press(keyArrowDown)
	wantFocus(t, b, "ArrowDown from Edit", "View Details")
	b.press(keyArrowUp)
	wantFocus(t, b, "ArrowUp from View Details", "Edit")
	b.press(keyEscape)
	wantFocus(t, b, "Escape in the menu", button)
	if b.has(`#users [role=menu]:not([hidden])`) {
		t.Error("Escape leaves the menu open")
	}

	// Space opens it too; Revoke Access opens its dialog with Enter.
	b.press(keySpace)
	wantFocus(t, b, "Space on the three-dots button", "Edit")
	b.press(keyArrowDown, keyArrowDown)
	wantFocus(t, b, "two ArrowDowns from Edit", "Revoke Access")
	b.press(keyEnter)
	if got := b.waitDialog(); got != "Revoke Access" {
		t.Fatalf("Enter on Revoke Access opens %q", got)
	}
	b.checkPage("user-revoke-dialog")
	if !b.focusInDialog() {
		t.Fatalf("the Revoke Access dialog opens with the focus on %q, outside it", b.focused())
	}
	// Tab goes round the dialog's controls, from the last straight back to
	// the first, and never reaches the page under it nor leaves the page.
	start := b.focused()
	var seen []string
	for range 12 {
		b.press(keyTab)
		seen = append(seen, b.focused())
		if b.focused() == "" {
			t.Fatalf("Tab in the dialog takes the focus out of the page: from %q it goes to %q", start, seen)
		}
		if !b.focusInDialog() {
			t.Fatalf("Tab in the dialog reaches the page under it: from %q it goes to %q", start, seen)
		}
		if !b.focusShows() {
			t.Errorf("%q, focused in the dialog, shows no focus indicator", b.focused())
		}
	}
	if !strings.Contains(strings.Join(seen, "|"), start) {
		t.Errorf("Tab in the dialog never comes back to %q: %q", start, seen)
	}
	b.press(keyEscape)
	b.waitDialogClosed()
	wantFocus(t, b, "Escape in the dialog", button)

	// Delete from the keyboard: End reaches it, Enter opens the dialog on
	// Cancel, Shift+Tab reaches Delete, Enter deletes.
	b.press(keyEnter, keyEnd)
	wantFocus(t, b, "End in the menu", "Delete")
	b.press(keyEnter)
	if got := b.waitDialog(); got != "Delete User" {
		t.Fatalf("Enter on Delete opens %q", got)
	}
	wantFocus(t, b, "the Delete dialog opened", "Cancel")
	b.pressShiftTab()
	wantFocus(t, b, "Shift+Tab from Cancel", "Delete")
	b.pressAndWait("users-flash", keyEnter, http.StatusOK)
	wantFlash(t, b, "Grace Hopper was deleted.")
	if row := b.row(grace.fullName()); row != "" {
		t.Errorf("after Delete from the keyboard the list still shows Grace: %q", row)
	}
	if got := b.path(); got != usersPath(acct)+"?sort=email" {
		t.Errorf("after Delete the Admin is at %s, want the list as it was", got)
	}
}

// TestActionsWithoutJavaScript: the row menu is a disclosure, a dialog
// action is a page of its own, and its form posts back to the list.
func TestActionsWithoutJavaScript(t *testing.T) {
	srv, b, acct := signInAsAdmin(t)
	seedUsers(t, b, acct, grace)
	join(t, srv, grace, "compilers before breakfast", "member")
	b.disableScripts()
	list := usersPath(acct) + "?q=Grace"
	b.open("users-nojs", list, http.StatusOK)
	if b.has("html.js") {
		t.Fatal("with JavaScript off the page still ran its script")
	}

	b.clickText("Actions for " + grace.fullName())
	b.follow("user-revoke-page-nojs", "Revoke Access", http.StatusOK)
	if b.has("dialog") {
		t.Error("without JavaScript Revoke Access opened a dialog, want a page")
	}
	b.wantText("main h1", "Revoke Access")
	b.setChecked("Security & Privacy concerns", true)
	b.follow("users-flash-nojs", "Revoke access", http.StatusOK)
	if got := b.path(); got != list {
		t.Errorf("after Revoke Access the Admin is at %s, want %s", got, list)
	}
	wantFlash(t, b, "Access revoked for Grace Hopper.")
	wantRow(t, b, grace.fullName(), "Inactive")

	// Cancel on the page is a link back to the list.
	b.clickText("Actions for " + grace.fullName())
	b.follow("user-restore-page-nojs", "Restore Access", http.StatusOK)
	b.follow("users-nojs", "Cancel", http.StatusOK)
	if got := b.path(); got != list {
		t.Errorf("Cancel on the Restore Access page leads to %s, want %s", got, list)
	}
	wantRow(t, b, grace.fullName(), "Inactive")

	// Add New User without scripts: Access till and Access level are on
	// the page whatever is ticked. A level with Support only is not used;
	// an Expert without one is refused beside the level.
	b.open("user-add-nojs", usersPath(acct)+"/new", http.StatusOK)
	b.waitVisible("#f-access_until")
	b.waitVisible("#f-level-limited_write")
	b.fill("First Name", "Mary")
	b.fill("Last Name", "Jackson")
	b.fill("Email", "mary@tatacommunications.com")
	b.setChecked("Expert", true)
	b.fill("Access till", time.Now().UTC().AddDate(0, 0, 10).Format(time.DateOnly))
	b.follow("user-add-errors-nojs", "Save", http.StatusUnprocessableEntity)
	b.wantText("#f-expert_access", "Choose the Expert's access level: Read-only or Limited write.")
	b.setChecked("Read-only", true)
	b.follow("users-flash-nojs", "Save", http.StatusOK)
	wantFlash(t, b, "Invitation sent to Mary Jackson")
	b.open("user-add-nojs", usersPath(acct)+"/new", http.StatusOK)
	b.fill("First Name", "Dorothy")
	b.fill("Last Name", "Vaughan")
	b.fill("Email", "dorothy@acme.example")
	b.setChecked("Support", true)
	b.setChecked("Limited write", true)
	b.follow("users-flash-nojs", "Save", http.StatusOK)
	wantFlash(t, b, "Invitation sent to Dorothy Vaughan")
}
