package web

import (
	"fmt"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"testing"
	"time"

	"roster"
	"roster/internal/testdb"
)

// mustUser reads a user of an account by email from the store.
func (e *pageEnv) mustUser(t *testing.T, accountID, email string) *roster.User {
	t.Helper()
	u, err := e.store.UserByEmail(e.ctx, accountID, email)
	if err != nil {
		t.Fatalf("UserByEmail(%s) = %v", email, err)
	}
	return u
}

// mustActive invites a Support user as the operator and registers them.
func (e *pageEnv) mustActive(t *testing.T, accountID, first, last, email string) *roster.User {
	t.Helper()
	e.mustRegister(t, e.mustInvite(t, accountID, first, last, email, nil), newPassword)
	return e.mustUser(t, accountID, email)
}

func TestAddUserPage(t *testing.T) {
	testdb.Each(t, func(t *testing.T, s roster.Store) {
		e := newPageEnv(t, s)
		acct := e.mustSetup(t)
		beta := e.mustAccount(t, "Beta")
		list := "/accounts/" + acct + "/users"
		path := list + "/new"
		back := list + "?q=gr&sort=name"

		e.browser(t).get(t, path).redirects(t, "/sign-in?next="+url.QueryEscape(path))

		b := e.browser(t)
		b.signIn(t, adminEmail, adminPassword)
		b.get(t, path+"?back="+url.QueryEscape(back)).want(t, http.StatusOK).has(t, "<h1>Add New User</h1>",
			`<label for="f-first_name">First Name</label>`, `<label for="f-last_name">Last Name</label>`, `<label for="f-email">Email</label>`,
			`<legend>Roles</legend>`, `name="roles" value="admin"`, `name="roles" value="support"`, "Can only access logs and usage.",
			`name="roles" value="expert"`, `aria-controls="f-access_until-reveal"`, `<label for="f-access_until">Access till</label>`,
			"Required for an Expert", "At most 90 days from today.", "Only for operator staff, with an email at tatacommunications.com.", `class="deadline" id="f-access_until-reveal" data-shown-by="f-role-expert"`,
			`name="back" value="`+html.EscapeString(back)+`"`, "The additional roles WhatsApp Only and Numbers Read-Only are not enabled for this account. Contact the support team to enable them.").
			lacks(t, `value="whatsapp_only"`, `value="numbers_read_only"`, "There is a problem")

		// Nothing typed: each field says what it needs, beside it and in
		// the summary, and nothing is created.
		b.post(t, path, url.Values{"back": {back}}).want(t, http.StatusUnprocessableEntity).has(t,
			"<title>Error: Add New User – Roster</title>", `href="#f-first_name"`, `href="#f-last_name"`, `href="#f-email"`, `href="#f-roles"`,
			`id="f-first_name-error"`, `aria-describedby="f-first_name-hint f-first_name-error" aria-invalid="true"`,
			`id="f-last_name-error"`, `id="f-email-error"`, `aria-describedby="f-email-error" aria-invalid="true"`,
			`<fieldset id="f-roles" class="field role-picker field-invalid" aria-describedby="f-roles-hint f-roles-error">`,
			"Choose at least one role.", `name="back" value="`+html.EscapeString(back)+`"`)

		// Wrong values: each problem beside its field, what was typed kept.
		bad := url.Values{"first_name": {"Gr"}, "last_name": {"Hopper"}, "email": {"grace at acme"}, "roles": {"support", "whatsapp_only"}}
		p := b.post(t, path, bad).want(t, http.StatusUnprocessableEntity).has(t, `id="f-first_name-error"`, `id="f-email-error"`,
			`id="f-roles-error"`, "The WhatsApp Only role is not enabled for this account", `value="Gr"`, `value="Hopper"`, `value="grace at acme"`,
			`value="support" checked`).lacks(t, `id="f-last_name-error"`)
		// An Expert is operator staff, with a deadline; the deadline field
		// shows its problem under the Expert, revealed.
		b.post(t, path, url.Values{"first_name": {"Grace"}, "last_name": {"Hopper"}, "email": {"grace@acme.example.com"},
			"roles": {"expert"}}).want(t, http.StatusUnprocessableEntity).has(t,
			"The Expert role can only be given to operator staff", `id="f-access_until-error"`, "An Expert needs an access deadline",
			`class="deadline shown"`, `value="expert" checked`, `href="#f-access_until"`,
			// The level as the radio buttons name it, never the API's values.
			"Choose the Expert&#39;s access level: Read-only or Limited write.").lacks(t, "read_only or limited_write")
		b.post(t, path, url.Values{"first_name": {"Grace"}, "last_name": {"Hopper"}, "email": {"grace@acme.example.com"},
			"roles": {"support"}, "access_until": {"next week"}}).want(t, http.StatusUnprocessableEntity).has(t,
			`id="f-access_until-error"`, "Give the last day of access as a date", `value="next week"`, `class="deadline shown"`)
		if _, err := s.UserByEmail(e.ctx, acct, "grace@acme.example.com"); roster.ErrorCode(err) != roster.CodeNotFound {
			t.Errorf("%s with invalid fields: UserByEmail = %v, want not found", p.rq, err)
		}
		if n := e.countMail(t, roster.MailInvitation, "grace@acme.example.com"); n != 0 {
			t.Fatalf("%d invitations after refused forms; want none", n)
		}

		// Saved: back to the list as it was, with a flash; the user is
		// Invitation Sent and their invitation is in the outbox.
		valid := url.Values{"first_name": {" Grace "}, "last_name": {"Hopper"}, "email": {"grace@acme.example.com"},
			"roles": {"support", "communication_manager"}, "access_until": {""}, "back": {back}}
		b.followFlash(t, b.post(t, path, valid).redirects(t, back), "Invitation sent to Grace Hopper (grace@acme.example.com).")
		u := e.mustUser(t, acct, "grace@acme.example.com")
		if u.Status != roster.StatusInvited || u.Roles != roster.NewRoleSet(roster.RoleSupport, roster.RoleCommunicationManager) ||
			!u.AccessUntil.IsZero() || u.FirstName != "Grace" {
			t.Errorf("added user = %+v, want Grace, invited, Support and Communication Manager, no deadline", u)
		}
		if m := e.newestMail(t, roster.MailInvitation, "grace@acme.example.com", acct); m == nil {
			t.Error("no invitation in the outbox")
		}
		// The same email again: a problem of the email field.
		b.post(t, path, valid).want(t, http.StatusUnprocessableEntity).has(t, `id="f-email-error"`, "A user with this email already exists")

		// An Expert with a deadline, which lasts through the day chosen;
		// a back= to anywhere but this account's list is ignored.
		day := e.clock.Now().AddDate(0, 0, 30).Format(time.DateOnly)
		for i, foreign := range []string{"https://evil.example/accounts/" + acct + "/users", "//evil.example/x", "/accounts/" + beta + "/users", "/sessions"} {
			email := fmt.Sprintf("tina%d@tatacommunications.com", i)
			b.post(t, path, url.Values{"first_name": {"Tina"}, "last_name": {"Expert"}, "email": {email},
				"roles": {"expert"}, "access_until": {day}, "expert_access": {"read_only"}, "back": {foreign}}).redirects(t, list)
			if u := e.mustUser(t, acct, email); !u.Roles.Has(roster.RoleExpert) || u.AccessUntil.Format(time.DateTime) != day+" 23:59:59" ||
				u.ExpertAccess != roster.AccessReadOnly {
				t.Errorf("Expert = %+v, want access until the end of %s", u, day)
			}
		}

		// Additional roles appear once the operator enables them.
		if _, err := e.svc.UpdateAccount(e.ctx, acct, roster.UpdateAccountInput{EnableRoles: []roster.RoleID{roster.RoleWhatsAppOnly}}); err != nil {
			t.Fatal(err)
		}
		b.get(t, path).want(t, http.StatusOK).has(t, `<p class="role-group">Additional roles</p>`, `name="roles" value="whatsapp_only"`,
			"The additional role Numbers Read-Only is not enabled for this account. Contact the support team to enable it.").lacks(t, `value="numbers_read_only"`)
		b.post(t, path, url.Values{"first_name": {"Walt"}, "last_name": {"Whatsapp"}, "email": {"walt@acme.example.com"},
			"roles": {"whatsapp_only"}}).redirects(t, list)

		// Without the form's CSRF token nothing is created.
		b.post(t, path, url.Values{"csrf": {"forged"}, "first_name": {"Mallory"}, "last_name": {"Forger"},
			"email": {"mallory@acme.example.com"}, "roles": {"admin"}}).want(t, http.StatusForbidden)
		if _, err := s.UserByEmail(e.ctx, acct, "mallory@acme.example.com"); roster.ErrorCode(err) != roster.CodeNotFound {
			t.Errorf("a forged form created a user: %v", err)
		}

		// Another account's page is not there; a member without
		// team.manage is refused, and their post changes nothing.
		b.get(t, "/accounts/"+beta+"/users/new").want(t, http.StatusNotFound)
		b.post(t, "/accounts/"+beta+"/users/new", valid).want(t, http.StatusNotFound)
		e.mustActive(t, acct, "Sam", "Support", "sam@acme.example.com")
		c := e.browser(t)
		c.signIn(t, "sam@acme.example.com", newPassword)
		c.get(t, path).want(t, http.StatusForbidden).has(t, "Only an Admin of Acme")
		c.post(t, path, url.Values{"first_name": {"Sneaky"}, "last_name": {"Invite"}, "email": {"sneaky@acme.example.com"},
			"roles": {"admin"}}).want(t, http.StatusForbidden)
		if _, err := s.UserByEmail(e.ctx, acct, "sneaky@acme.example.com"); roster.ErrorCode(err) != roster.CodeNotFound {
			t.Errorf("a Support user's form created a user: %v", err)
		}
	})
}

var versionRE = regexp.MustCompile(`name="version" value="(\d+)"`)

// version returns the version the Edit User form on p carries.
func (p *page) version(t *testing.T) string {
	t.Helper()
	m := versionRE.FindStringSubmatch(p.body)
	if m == nil {
		t.Fatalf("%s: no version field in the form:\n%s", p.rq, p.body)
	}
	return m[1]
}

func TestEditUserPage(t *testing.T) {
	testdb.Each(t, func(t *testing.T, s roster.Store) {
		e := newPageEnv(t, s)
		acct := e.mustSetup(t)
		beta := e.mustAccount(t, "Beta")
		list := "/accounts/" + acct + "/users"
		back := list + "?filter=role:is:support&page=2"
		sam := e.mustActive(t, acct, "Sam", "Support", "sam@acme.example.com")
		alice := e.mustUser(t, acct, adminEmail)
		path := list + "/" + sam.ID + "/edit"

		b := e.browser(t)
		b.signIn(t, adminEmail, adminPassword)
		p := b.get(t, path+"?back="+url.QueryEscape(back))
		wantDialogPage(t, p, "edit-user", "Edit User", back)
		p.has(t, "<dd>Sam Support</dd>", "<dd>sam@acme.example.com</dd>", "<dd>Active</dd>", `action="`+path+`"`,
			`value="support" checked`, `name="was_roles" value="support"`, `data-dialog-close>Cancel</a>`,
			`class="deadline" id="f-access_until-reveal"`).
			lacks(t, `value="admin" checked`, `name="first_name"`, `name="email"`)
		opened := p.version(t)

		// No role: said beside the roles, nothing changed.
		b.post(t, path, url.Values{"version": {opened}, "was_roles": {"support"}}).want(t, http.StatusUnprocessableEntity).
			has(t, `id="f-roles-error"`, "Choose at least one role.", `href="#f-roles"`)
		b.post(t, path, url.Values{"version": {opened}, "was_roles": {"support"}, "roles": {"support", "expert"},
			"access_until": {"2025-06-30"}}).want(t, http.StatusUnprocessableEntity).
			has(t, "The Expert role can only be given to operator staff", `value="expert" checked`, `value="2025-06-30"`, `class="deadline shown"`)
		if u := e.mustUser(t, acct, sam.Email); u.Version != sam.Version || u.Roles != sam.Roles {
			t.Fatalf("refused edits changed Sam: %+v", u)
		}

		// Saved: back to the list as it was, saying what changed.
		b.followFlash(t, b.post(t, path, url.Values{"version": {opened}, "was_roles": {"support"}, "roles": {"support", "communication_manager"},
			"back": {back}}).redirects(t, back), "Roles of Sam Support updated. They now have: Communication Manager, Support.")
		if u := e.mustUser(t, acct, sam.Email); u.Roles != roster.NewRoleSet(roster.RoleSupport, roster.RoleCommunicationManager) {
			t.Fatalf("Sam's roles = %v, want Communication Manager and Support", u.Roles)
		}

		// Stale: someone changes Sam's roles while the form is open. The
		// save is refused in words, and the form shows Sam as they are now.
		p = b.get(t, path)
		opened = p.version(t)
		if _, err := e.svc.UpdateUser(e.ctx, roster.OperatorActor(), acct, sam.ID,
			roster.UpdateInput{Roles: &[]roster.RoleID{roster.RoleSupport}}, ""); err != nil {
			t.Fatal(err)
		}
		p = b.post(t, path, url.Values{"version": {opened}, "was_roles": {"communication_manager,support"}, "roles": {"admin"}}).
			want(t, http.StatusConflict).has(t, html.EscapeString("Someone changed Sam Support's roles since you opened this form: "+
			"the roles are now Support (were Communication Manager, Support). The form shows them as they are now. Check and save again."),
			`value="support" checked`, `name="was_roles" value="support"`).
			lacks(t, `value="admin" checked`, `value="communication_manager" checked`, `name="version" value="`+opened+`"`)
		if u := e.mustUser(t, acct, sam.Email); u.Roles != roster.NewRoleSet(roster.RoleSupport) {
			t.Fatalf("a stale form changed Sam's roles to %v", u.Roles)
		}
		// Someone sets a deadline meanwhile: said in words, as a day.
		opened = p.version(t)
		deadline := time.Date(2025, 6, 30, 23, 59, 59, 0, time.UTC)
		if _, err := e.svc.UpdateUser(e.ctx, roster.OperatorActor(), acct, sam.ID, roster.UpdateInput{AccessUntil: &deadline}, ""); err != nil {
			t.Fatal(err)
		}
		p = b.post(t, path, url.Values{"version": {opened}, "was_roles": {"support"}, "roles": {"support"}}).want(t, http.StatusConflict).
			has(t, html.EscapeString("Someone changed Sam Support's access deadline since you opened this form: "+
				"access till is now 30 Jun 2025 (was none)."), `value="2025-06-30"`)
		if _, err := e.svc.UpdateUser(e.ctx, roster.OperatorActor(), acct, sam.ID, roster.UpdateInput{AccessUntil: &time.Time{}}, ""); err != nil {
			t.Fatal(err)
		}
		p = b.get(t, path)
		// A form without a version is stale too, never unchecked.
		b.post(t, path, url.Values{"was_roles": {"support"}, "roles": {"admin"}}).want(t, http.StatusConflict).
			has(t, "Someone else changed Sam Support since you opened this form")

		// The deadline: set, then kept to the second while the day stays.
		day := e.clock.Now().AddDate(0, 0, 10).Format(time.DateOnly)
		b.followFlash(t, b.post(t, path, url.Values{"version": {p.version(t)}, "roles": {"support"}, "access_until": {day}}).redirects(t, list), "Access deadline of Sam Support updated. Their access now ends 12 Jun 2025, 23:59 UTC.")
		noon := e.clock.Now().AddDate(0, 0, 20).Truncate(24 * time.Hour).Add(12 * time.Hour)
		if _, err := e.svc.UpdateUser(e.ctx, roster.OperatorActor(), acct, sam.ID, roster.UpdateInput{AccessUntil: &noon}, ""); err != nil {
			t.Fatal(err)
		}
		p = b.get(t, path).has(t, `value="`+noon.Format(time.DateOnly)+`"`, `class="deadline shown"`)
		b.followFlash(t, b.post(t, path, url.Values{"version": {p.version(t)}, "roles": {"support", "communication_manager"},
			"access_until": {noon.Format(time.DateOnly)}}).redirects(t, list), "Roles of Sam Support updated. They now have: Communication Manager, Support.")
		if u := e.mustUser(t, acct, sam.Email); !u.AccessUntil.Equal(noon) {
			t.Errorf("Sam's deadline = %v after saving the same day, want %v", u.AccessUntil, noon)
		}
		p = b.get(t, path)
		b.followFlash(t, b.post(t, path, url.Values{"version": {p.version(t)}, "roles": {"support", "communication_manager"}, "access_until": {""},
			"back": {"https://evil.example/"}}).redirects(t, list), "Access deadline of Sam Support updated. Their access has no end date now.")

		// The last Admin keeps the Admin role: Bob, an Admin until a
		// deadline, may not take it from Alice, and is told why.
		inv := e.mustInvite(t, acct, "Bob", "Temp", "bob@acme.example.com", nil)
		until := e.clock.Now().AddDate(0, 0, 30)
		if _, err := e.svc.UpdateUser(e.ctx, roster.OperatorActor(), acct, inv.user.ID,
			roster.UpdateInput{Roles: &[]roster.RoleID{roster.RoleAdmin}, AccessUntil: &until}, ""); err != nil {
			t.Fatal(err)
		}
		e.mustRegister(t, inv, newPassword)
		bob := e.browser(t)
		bob.signIn(t, "bob@acme.example.com", newPassword)
		alicePath := list + "/" + alice.ID + "/edit"
		p = bob.get(t, alicePath).want(t, http.StatusOK)
		bob.post(t, alicePath, url.Values{"version": {p.version(t)}, "roles": {"support"}}).want(t, http.StatusConflict).
			has(t, `id="f-roles-error"`, "Alice Admin is the only active Admin of this account without an access deadline, and an account must always keep one "+
				"(an Admin whose access ends does not count); removing their Admin role would leave the account without one.", `value="support" checked`)
		if u := e.mustUser(t, acct, adminEmail); !u.Roles.Has(roster.RoleAdmin) {
			t.Fatal("the last Admin lost the Admin role")
		}

		// Nobody changes their own roles: the page says so.
		b.get(t, alicePath).want(t, http.StatusOK).has(t, "You cannot change your own roles or access deadline.").lacks(t, `name="roles"`)
		b.post(t, alicePath, url.Values{"version": {fmt.Sprint(alice.Version)}, "roles": {"support"}}).want(t, http.StatusConflict).
			has(t, "You cannot change your own roles or access deadline; ask another Admin.").lacks(t, `href="#f-roles"`)

		// Without the CSRF token nothing changes.
		p = b.get(t, path)
		b.post(t, path, url.Values{"csrf": {"forged"}, "version": {p.version(t)}, "roles": {"admin"}}).want(t, http.StatusForbidden)
		if u := e.mustUser(t, acct, sam.Email); u.Roles.Has(roster.RoleAdmin) {
			t.Fatal("a forged form made Sam an Admin")
		}

		// Users of other accounts are not found, whichever path leads there.
		ada := e.mustUser(t, beta, "admin@beta.example.com")
		b.get(t, list+"/"+ada.ID+"/edit").want(t, http.StatusNotFound)
		b.post(t, list+"/"+ada.ID+"/edit", url.Values{"version": {"1"}, "roles": {"support"}}).want(t, http.StatusNotFound)
		b.get(t, "/accounts/"+beta+"/users/"+ada.ID+"/edit").want(t, http.StatusNotFound)
		b.get(t, list+"/not-an-id/edit").want(t, http.StatusNotFound)

		// A member without team.manage is refused.
		c := e.browser(t)
		c.signIn(t, "sam@acme.example.com", newPassword)
		c.get(t, alicePath).want(t, http.StatusForbidden)
		c.post(t, alicePath, url.Values{"version": {"1"}, "roles": {"support"}}).want(t, http.StatusForbidden)
	})
}
