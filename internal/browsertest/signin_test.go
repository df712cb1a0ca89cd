package browsertest

import (
	"net/http"
	"testing"
)

// The ways into Roster, in Chromium against roster serve: the setup link
// that makes the first Admin, sign-in, and an invitation email that ends
// in a registered, signed-in colleague.

func TestSetupLinkMakesFirstAdmin(t *testing.T) {
	srv := startServer(t)
	b := newBrowser(t, srv)

	// A password that is too short: the error shows beside the field,
	// what was typed stays.
	b.open("setup", srv.SetupURL, http.StatusOK)
	b.fill("Account name", accountName)
	b.fill("First name", adminFirst)
	b.fill("Last name", adminLast)
	b.fill("Email address", adminEmail)
	b.fill("Password", "too short")
	b.fill("Password again", "too short")
	b.follow("setup-errors", "Create the account", http.StatusUnprocessableEntity)
	b.wantText(".error-summary", "There is a problem", "12 characters")
	b.wantText(".field-invalid", "Password", "12 characters")
	// The keyboard (and a screen reader) starts at what went wrong.
	b.waitFor("the focus on the error summary", `document.activeElement === document.querySelector(".error-summary")`)
	if got := b.value("Account name"); got != accountName {
		t.Errorf("after the refusal Account name holds %q, want %q kept", got, accountName)
	}

	b.fill("Password", adminPassword)
	b.fill("Password again", adminPassword)
	b.follow("home", "Create the account", http.StatusOK)
	if got := b.path(); got != "/" {
		t.Fatalf("after the setup the Admin is at %s, want the home page", got)
	}
	b.wantText("header", "Signed in as "+adminEmail)
	b.wantText("main", "Your accounts", accountName, "Admin", "Active", "User Management")
	if id := accountID(t, b); id == "" {
		t.Error("the home page links to no Users page")
	}

	// The link works once.
	b.open("setup-used", srv.SetupURL, http.StatusGone)
	b.wantText("main", "already used")
}

func TestSignInWrongThenRightPassword(t *testing.T) {
	srv, _, _ := signInAsAdmin(t)

	// A browser that is signed out asks for the Sessions page and is sent
	// to sign in first.
	b := newBrowser(t, srv)
	b.open("sign-in", "/sessions", http.StatusOK)
	if got := b.path(); got == "/sessions" || b.text("h1") != "Sign in to Roster" {
		t.Fatalf("signed out, /sessions shows %s (%q), want the sign-in page", got, b.text("h1"))
	}
	b.fill("Email address", adminEmail)
	b.fill("Password", "not the password at all")
	b.follow("sign-in-error", "Sign in", http.StatusUnauthorized)
	b.wantText(".error-summary", "The email or password is not right")
	if got := b.value("Email address"); got != adminEmail {
		t.Errorf("after a wrong password the email field holds %q, want %q kept", got, adminEmail)
	}
	if got := b.value("Password"); got != "" {
		t.Errorf("after a wrong password the password field holds %q, want it empty", got)
	}

	// The right password, submitted from the keyboard.
	b.fill("Password", adminPassword)
	b.pressAndWait("sessions", keyEnter, http.StatusOK)
	if b.has(".error-summary") {
		t.Errorf("signed in, the page still shows the error: %s", b.text(".error-summary"))
	}
	b.wantText("header", "Signed in as "+adminEmail)
	if got := b.path(); got != "/sessions" {
		t.Errorf("after signing in the Admin is at %s, want /sessions, where they were going", got)
	}

	// The header leads to the Roles page: the catalogue of features by role.
	b.follow("roles", "Roles", http.StatusOK)
	b.wantText("h1", "Roles and what they allow")
	b.wantText("table.catalogue", "Configure the platform")
}

func TestInvitationEmailToRegistration(t *testing.T) {
	srv, admin, acct := signInAsAdmin(t)
	grace := person{First: "Grace", Last: "Hopper", Email: "grace@acme.example", Roles: []string{"support"}}
	id := seedUsers(t, admin, acct, grace)[grace.Email]

	// The link in the email opens the registration page, which knows
	// who was invited, by whom, to which account.
	link := srv.mailLink(t, grace.Email, "Ada Lovelace invited you to join "+accountName)
	b := newBrowser(t, srv)
	b.open("register", link, http.StatusOK)
	b.wantText("h1", "Join "+accountName)
	b.wantText("main", "Ada Lovelace invited you to "+accountName+" on Roster as Support")
	if got := b.value("Email address"); got != grace.Email {
		t.Errorf("the registration page shows the email %q, want %q", got, grace.Email)
	}
	if first, last := b.value("First name"), b.value("Last name"); first != grace.First || last != grace.Last {
		t.Errorf("the registration form holds %q %q, want the invited name %q %q", first, last, grace.First, grace.Last)
	}

	// Mismatched passwords are refused beside the field; then she joins.
	b.fill("Password", "compilers before breakfast")
	b.fill("Password again", "compilers after breakfast")
	b.follow("register-errors", "Join "+accountName, http.StatusUnprocessableEntity)
	b.wantText(".error-summary", "There is a problem")
	b.fill("Password", "compilers before breakfast")
	b.fill("Password again", "compilers before breakfast")
	b.follow("home-member", "Join "+accountName, http.StatusOK)
	if got := b.path(); got != "/" {
		t.Fatalf("after registering Grace is at %s, want the home page", got)
	}
	b.wantText("header", "Signed in as "+grace.Email)
	b.wantText("main", accountName, "Support", "Active")
	if b.has(`a[href$="/users"]`) {
		t.Error("a Support user is offered User Management")
	}

	// The Admin now sees her active.
	var u struct {
		Status string `json:"status"`
	}
	admin.api(http.MethodGet, "/api/v1"+usersPath(acct)+"/"+id, nil, http.StatusOK, &u)
	if u.Status != "active" {
		t.Errorf("after registering Grace is %q to the Admin, want active", u.Status)
	}
}

// TestKeyboardOnlySignIn signs in without a mouse: the skip link, Tab and
// Shift+Tab between the fields, typing, and Enter to submit.
func TestKeyboardOnlySignIn(t *testing.T) {
	srv, _, _ := signInAsAdmin(t)
	b := newBrowser(t, srv)
	b.open("sign-in", "/sign-in", http.StatusOK)

	b.press(keyTab)
	if got := b.focused(); got != "Skip to main content" {
		t.Fatalf("the first Tab reaches %q, want the skip link", got)
	}
	b.press(keyEnter, keyTab)
	if got := b.focused(); got != "Email address" {
		t.Fatalf("Tab after the skip link reaches %q, want the Email address field", got)
	}
	b.press(adminEmail, keyTab)
	if got := b.focused(); got != "Password" {
		t.Fatalf("Tab from the email reaches %q, want the Password field", got)
	}
	b.pressShiftTab()
	if got, val := b.focused(), b.value("Email address"); got != "Email address" || val != adminEmail {
		t.Fatalf("Shift+Tab from the password reaches %q holding %q, want the Email address field with %q", got, val, adminEmail)
	}
	b.press(keyTab, adminPassword)
	b.pressAndWait("home", keyEnter, http.StatusOK)
	if got := b.path(); got != "/" {
		t.Fatalf("signed in from the keyboard, the Admin is at %s, want /", got)
	}
	b.wantText("header", "Signed in as "+adminEmail)
}
