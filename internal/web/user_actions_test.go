package web

import (
	"fmt"
	"html"
	"net/http"
	"net/url"
	"slices"
	"testing"
	"time"

	"roster"
	"roster/internal/testdb"
)

// The action tests use the details tests' Acme (newDetailsEnv): Alice, its
// Admin, signed in as d.admin.

// mustActiveAs invites a user as Alice and registers them.
func (d *detailsEnv) mustActiveAs(t *testing.T, first, last, email string, roles ...roster.RoleID) *roster.User {
	t.Helper()
	inv := d.mustInviteAs(t, first, last, email, roles, nil)
	d.mustRegister(t, inv, newPassword)
	return d.mustUser(t, inv.user.ID)
}

func (d *detailsEnv) mustUser(t *testing.T, id string) *roster.User {
	t.Helper()
	u, err := d.store.User(d.ctx, d.acct, id)
	if err != nil {
		t.Fatalf("User(%s) = %v", id, err)
	}
	return u
}

// mustKeys creates n API keys for the user with email and returns their
// secrets.
func (d *detailsEnv) mustKeys(t *testing.T, email string, n int) []string {
	t.Helper()
	var secrets []string
	for i := range n {
		_, secret, err := d.svc.CreateAPIKey(d.ctx, roster.OperatorActor(), d.acct, email, fmt.Sprintf("key %d", i+1))
		if err != nil {
			t.Fatalf("CreateAPIKey(%s) = %v", email, err)
		}
		secrets = append(secrets, secret)
	}
	return secrets
}

// keyWorks reports whether the gateway would accept an API key.
func (d *detailsEnv) keyWorks(secret string) bool {
	_, err := d.svc.AuthenticateAPIKey(d.ctx, secret, "192.0.2.50")
	return err == nil
}

// newestEvent is the newest event of Acme's audit log.
func (d *detailsEnv) newestEvent(t *testing.T) *roster.AuditEvent {
	t.Helper()
	p, err := d.svc.AuditEvents(d.ctx, roster.OperatorActor(), d.acct, roster.AuditQuery{Limit: 1})
	if err != nil || len(p.Items) != 1 {
		t.Fatalf("AuditEvents = %v, %v", p, err)
	}
	return p.Items[0]
}

// wantEvent fails unless the newest audit event is action by Alice on u.
func (d *detailsEnv) wantEvent(t *testing.T, action string, u *roster.User) *roster.AuditEvent {
	t.Helper()
	ev := d.newestEvent(t)
	if ev.Action != action || ev.TargetID != u.ID || ev.ActorEmail != adminEmail {
		t.Errorf("newest audit event = %s by %s on %s; want %s by %s on %s", ev.Action, ev.ActorEmail, ev.TargetEmail, action, adminEmail, u.Email)
	}
	return ev
}

// actionState is what a refused action must leave alone: the user, the
// audit log and the outbox.
func (d *detailsEnv) actionState(t *testing.T, userID string) string {
	t.Helper()
	mail, err := d.store.RecentOutbox(d.ctx, 1000)
	if err != nil {
		t.Fatalf("RecentOutbox: %v", err)
	}
	return fmt.Sprintf("%+v; newest event %s; %d emails", *d.mustUser(t, userID), d.newestEvent(t).ID, len(mail))
}

func (d *detailsEnv) unchanged(t *testing.T, userID, before, what string) {
	t.Helper()
	if after := d.actionState(t, userID); after != before {
		t.Errorf("%s changed something:\nbefore %s\nafter  %s", what, before, after)
	}
}

// followFlash follows a form's redirect and wants msg as the flash there.
func (b *browser) followFlash(t *testing.T, p *page, msg string) {
	t.Helper()
	b.get(t, p.header.Get("Location")).want(t, http.StatusOK).has(t, `<div class="flash" role="status">`+html.EscapeString(msg)+`</div>`)
}

// wantDialogPage checks what every action page has: the section the
// dialog shows, labelled by its heading, and the list to return to as
// Cancel's link and the hidden back field.
func wantDialogPage(t *testing.T, p *page, id, heading, list string) {
	t.Helper()
	p.want(t, http.StatusOK).has(t, `<section class="dialog-page" aria-labelledby="`+id+`-title"`,
		`<h1 id="`+id+`-title">`+heading+`</h1>`, `<input type="hidden" name="back" value="`+html.EscapeString(list)+`">`)
	if got := links(p)["Cancel"]; !slices.Equal(got, []string{list}) {
		t.Errorf("%s: Cancel links to %q, want %q", p.rq, got, list)
	}
}

func TestRevokeAccessPage(t *testing.T) {
	testdb.Each(t, func(t *testing.T, s roster.Store) {
		d := newDetailsEnv(t, s)
		ada := d.mustActiveAs(t, "Ada", "Lovelace", "ada@acme.example.com", roster.RoleSupport, roster.RoleCommunicationManager)
		keys := d.mustKeys(t, ada.Email, 3)
		list := usersPagePath(d.acct) + "?q=ada&sort=name"
		path := userPagePath(ada, "/revoke", list)
		action := usersPagePath(d.acct) + "/" + ada.ID + "/revoke"

		p := d.admin.get(t, path)
		wantDialogPage(t, p, "revoke", "Revoke Access", list)
		p.has(t, `action="`+action+`"`, `aria-describedby="revoke-desc"`,
			`<legend>Reason</legend>`, `value="issue_resolved">`, `<label for="f-reason-issue_resolved">Issue was resolved</label>`,
			`<label for="f-reason-security_privacy">Security &amp; Privacy concerns</label>`, `<label for="f-reason-other">Other</label>`,
			`<label for="f-note">Note</label>`, "Required when the reason is Other",
			"Ada Lovelace can no longer sign in to Acme, starting now",
			"Their 3 active API keys stop working at once, and work again if access is restored.",
			"Nothing is deleted: their user record, their roles (Communication Manager, Support) and their API keys are kept",
			"You can restore their access at any time with Restore Access.",
			`<button type="submit" class="button danger">Revoke access</button>`).
			lacks(t, "permanently delete", "There is a problem")

		// No reason, and Other without a note: said at the field, kept,
		// and nothing changed.
		before := d.actionState(t, ada.ID)
		d.admin.post(t, action, url.Values{"back": {list}, "note": {"typed before choosing"}}).want(t, http.StatusUnprocessableEntity).
			has(t, `<a href="#f-reason">Choose why you are revoking access.</a>`, `id="f-reason-error"`, ">typed before choosing</textarea>")
		d.admin.post(t, action, url.Values{"back": {list}, "reason": {"other"}, "note": {"  "}}).want(t, http.StatusUnprocessableEntity).
			has(t, `<a href="#f-note">Say why access is revoked when the reason is Other.</a>`, `aria-invalid="true"`,
				`value="other" checked`, `aria-describedby="f-note-hint f-note-error"`)
		d.admin.post(t, action, url.Values{"back": {list}, "reason": {"bored"}}).want(t, http.StatusUnprocessableEntity).
			has(t, "Choose why you are revoking access.")
		d.unchanged(t, ada.ID, before, "a revoke form with problems")

		p = d.admin.post(t, action, url.Values{"back": {list}, "reason": {"other"}, "note": {"Left the company."}}).redirects(t, list)
		got := d.mustUser(t, ada.ID)
		if got.Status != roster.StatusInactive || got.Roles != ada.Roles || got.RevokeReason != roster.ReasonOther || got.RevokeNote != "Left the company." {
			t.Errorf("after revoking, Ada = %s %v %q %q; want inactive with the same roles, other, the note", got.Status, got.Roles, got.RevokeReason, got.RevokeNote)
		}
		if ev := d.wantEvent(t, roster.ActionUserRevoked, ada); ev.Details["reason"] != "other" || ev.Details["note"] != "Left the company." {
			t.Errorf("revoke event details = %v", ev.Details)
		}
		d.admin.followFlash(t, p, "Access revoked for Ada Lovelace.")
		// What the page said: the keys are kept, and they stop working.
		if det, err := d.store.UserDetails(d.ctx, d.acct, ada.ID, d.clock.Now()); err != nil || det.ActiveAPIKeys != 3 {
			t.Errorf("after revoking, Ada's details = %v, %v; want her 3 keys kept", det, err)
		}
		if d.keyWorks(keys[0]) {
			t.Errorf("a revoked user's API key still works")
		}

		// Revoked already: the page says so and offers no form.
		d.admin.get(t, path).want(t, http.StatusOK).has(t, `<p class="refusal" id="revoke-desc">Ada Lovelace&#39;s access is already revoked (Inactive). Use Restore Access to give it back.</p>`).
			lacks(t, `name="reason"`, "<form method=\"post\" action=\""+action)

		// A back that is not this account's list returns to the plain list.
		bob := d.mustActiveAs(t, "Bob", "Builder", "bob@acme.example.com", roster.RoleSupport)
		d.admin.post(t, usersPagePath(d.acct)+"/"+bob.ID+"/revoke",
			url.Values{"back": {"https://evil.example/accounts/" + d.acct + "/users"}, "reason": {"issue_resolved"}}).
			redirects(t, usersPagePath(d.acct))
	})
}

func TestRestoreAccessPage(t *testing.T) {
	testdb.Each(t, func(t *testing.T, s roster.Store) {
		d := newDetailsEnv(t, s)
		ada := d.mustActiveAs(t, "Ada", "Lovelace", "ada@acme.example.com", roster.RoleSupport)
		keys := d.mustKeys(t, ada.Email, 2)
		list := usersPagePath(d.acct) + "?filter=status%3Ais%3Ainactive"
		action := usersPagePath(d.acct) + "/" + ada.ID + "/restore"

		// Active: nothing to restore, on the page and in a forced post.
		d.admin.get(t, userPagePath(ada, "/restore", list)).want(t, http.StatusOK).
			has(t, "Ada Lovelace is Active: there is no revoked access to restore.").lacks(t, `action="`+action+`"`)
		before := d.actionState(t, ada.ID)
		d.admin.post(t, action, url.Values{"back": {list}}).want(t, http.StatusConflict).
			has(t, "Ada Lovelace is Active: there is no revoked access to restore. Nothing was changed.")
		d.unchanged(t, ada.ID, before, "restoring an active user")

		if _, err := d.svc.RevokeUser(d.ctx, d.actor, d.acct, ada.ID, roster.RevokeInput{Reason: roster.ReasonSecurityPrivacy}); err != nil {
			t.Fatal(err)
		}
		p := d.admin.get(t, userPagePath(ada, "/restore", list))
		wantDialogPage(t, p, "restore", "Restore Access", list)
		p.has(t, `action="`+action+`"`, "Ada Lovelace can sign in to Acme again at once, with the same roles: Support.",
			"Their 2 active API keys work again.", `<button type="submit" class="button">Restore access</button>`)

		p = d.admin.post(t, action, url.Values{"back": {list}}).redirects(t, list)
		if got := d.mustUser(t, ada.ID); got.Status != roster.StatusActive || got.Roles != ada.Roles {
			t.Errorf("after restoring, Ada = %s %v; want active with her roles", got.Status, got.Roles)
		}
		d.wantEvent(t, roster.ActionUserRestored, ada)
		d.admin.followFlash(t, p, "Access restored for Ada Lovelace.")
		if !d.keyWorks(keys[1]) {
			t.Errorf("after restoring, Ada's API key does not work")
		}

		// A deadline that has passed still keeps a restored user out; the
		// page says so rather than promising sign-in.
		until := d.clock.Now().Add(time.Minute)
		exp := d.mustInviteAs(t, "Eve", "Expired", "eve@acme.example.com", []roster.RoleID{roster.RoleSupport}, &until)
		d.mustRegister(t, exp, newPassword)
		if _, err := d.svc.RevokeUser(d.ctx, d.actor, d.acct, exp.user.ID, roster.RevokeInput{Reason: roster.ReasonIssueResolved}); err != nil {
			t.Fatal(err)
		}
		d.clock.Advance(2 * time.Minute)
		d.admin.get(t, userPagePath(exp.user, "/restore", list)).want(t, http.StatusOK).
			has(t, "Eve Expired shows as Active again", "Their access deadline (Access Till) passed on "+when(until)+", so they still cannot sign in").
			lacks(t, "can sign in to Acme again")
	})
}

func TestResendInvitationPage(t *testing.T) {
	testdb.Each(t, func(t *testing.T, s roster.Store) {
		d := newDetailsEnv(t, s)
		inv := d.mustInviteAs(t, "Grace", "Hopper", "grace@acme.example.com", []roster.RoleID{roster.RoleSupport}, nil)
		grace := inv.user
		list := usersPagePath(d.acct) + "?page=2"
		action := usersPagePath(d.acct) + "/" + grace.ID + "/resend"

		p := d.admin.get(t, userPagePath(grace, "/resend", list))
		wantDialogPage(t, p, "resend", "Resend Invitation", list)
		p.has(t, `action="`+action+`"`, "A new invitation email goes to grace@acme.example.com. Its link is valid for one hour from when it is sent",
			"the link of every earlier invitation stops working", "The last invitation email has not gone out yet",
			`<button type="submit" class="button">Resend invitation</button>`)

		p = d.admin.post(t, action, url.Values{"back": {list}}).redirects(t, list)
		if n := d.countMail(t, roster.MailInvitation, grace.Email); n != 2 {
			t.Errorf("after a resend, %d invitation emails; want 2", n)
		}
		if got := d.invitationState(t, inv.token); got != roster.LinkSuperseded {
			t.Errorf("after a resend the first link is %s, want %s", got, roster.LinkSuperseded)
		}
		d.wantEvent(t, roster.ActionInvitationResent, grace)
		d.admin.followFlash(t, p, "Invitation resent to Grace Hopper at grace@acme.example.com. "+
			"The new link is valid for one hour from when the email is sent; the earlier link no longer works.")

		// Five emails an hour: the invitation and four resends. The sixth
		// is refused in words, with when to try again.
		for i := 3; i <= 5; i++ {
			d.admin.post(t, action, url.Values{"back": {list}}).redirects(t, list)
		}
		d.clock.Advance(10 * time.Minute)
		before := d.actionState(t, grace.ID)
		p = d.admin.post(t, action, url.Values{"back": {list}}).want(t, http.StatusTooManyRequests).
			has(t, "Grace Hopper has already been sent as many invitations as are allowed in one hour, so no email was sent. "+
				"You can resend the invitation in 50 minutes (after 2 Jun 2025, 11:00 UTC).").
			lacks(t, `action="`+action+`"`)
		if got := p.header.Get("Retry-After"); got != "3000" {
			t.Errorf("a rate-limited resend: Retry-After %q, want 3000", got)
		}
		d.unchanged(t, grace.ID, before, "a rate-limited resend")

		// Only for Invitation Sent.
		ada := d.mustActiveAs(t, "Ada", "Lovelace", "ada@acme.example.com", roster.RoleSupport)
		const why = "Ada Lovelace has already accepted the invitation and is Active, so there is no invitation to resend."
		d.admin.get(t, userPagePath(ada, "/resend", list)).want(t, http.StatusOK).has(t, why).lacks(t, "Resend invitation</button>")
		before = d.actionState(t, ada.ID)
		d.admin.post(t, usersPagePath(d.acct)+"/"+ada.ID+"/resend", url.Values{"back": {list}}).want(t, http.StatusConflict).
			has(t, why+" Nothing was changed.")
		d.unchanged(t, ada.ID, before, "resending to an active user")
	})
}

func TestDeleteUserPage(t *testing.T) {
	testdb.Each(t, func(t *testing.T, s roster.Store) {
		d := newDetailsEnv(t, s)
		ada := d.mustActiveAs(t, "Ada", "Lovelace", "ada@acme.example.com", roster.RoleSupport)
		keys := d.mustKeys(t, ada.Email, 3)
		bob := d.mustActiveAs(t, "Bob", "Builder", "bob@acme.example.com", roster.RoleSupport)
		d.mustKeys(t, bob.Email, 1)
		grace := d.mustInviteAs(t, "Grace", "Hopper", "grace@acme.example.com", []roster.RoleID{roster.RoleSupport}, nil).user
		list := usersPagePath(d.acct) + "?sort=-last_login"
		action := usersPagePath(d.acct) + "/" + ada.ID + "/delete"

		p := d.admin.get(t, userPagePath(ada, "/delete", list))
		wantDialogPage(t, p, "delete", "Delete User", list)
		p.has(t, `action="`+action+`"`, `<p class="lead">Are you sure you want to delete the user &#34;Ada&#34;?</p>`,
			"<p>Their 3 active API keys will stop working at once.</p>", "Ada Lovelace (ada@acme.example.com) is removed from Acme. This cannot be undone.",
			`<button type="submit" class="button danger">Delete</button>`, `data-dialog-close data-dialog-focus>Cancel</a>`)
		d.admin.get(t, userPagePath(bob, "/delete", list)).want(t, http.StatusOK).has(t, "Their 1 active API key will stop working at once.")
		d.admin.get(t, userPagePath(grace, "/delete", list)).want(t, http.StatusOK).
			has(t, `delete the user &#34;Grace&#34;?`, "They have no active API keys.")

		p = d.admin.post(t, action, url.Values{"back": {list}}).redirects(t, list)
		if _, err := d.store.User(d.ctx, d.acct, ada.ID); roster.ErrorCode(err) != roster.CodeNotFound {
			t.Errorf("after deleting, User(ada) = %v; want not found", err)
		}
		if ev := d.wantEvent(t, roster.ActionUserDeleted, ada); fmt.Sprint(ev.Details["api_keys_deleted"]) != "3" {
			t.Errorf("delete event details = %v; want 3 keys deleted", ev.Details)
		}
		d.admin.followFlash(t, p, "Ada Lovelace was deleted.")
		if d.keyWorks(keys[2]) {
			t.Errorf("a deleted user's API key still works")
		}
		d.admin.get(t, userPagePath(ada, "/delete", list)).want(t, http.StatusNotFound)
		d.admin.post(t, action, url.Values{"back": {list}}).want(t, http.StatusNotFound)
	})
}

func TestUserActionsRefused(t *testing.T) {
	testdb.Each(t, func(t *testing.T, s roster.Store) {
		d := newDetailsEnv(t, s)
		alice := d.mustUser(t, d.actor.UserID)
		users := usersPagePath(d.acct)
		valid := url.Values{"reason": {"issue_resolved"}}

		// Oneself: said on the page, and refused if posted anyway.
		for _, tc := range []struct{ action, why string }{
			{"revoke", "You cannot revoke your own access; ask another Admin."},
			{"delete", "You cannot delete yourself; ask another Admin."},
		} {
			d.admin.get(t, userPagePath(alice, "/"+tc.action, "")).want(t, http.StatusOK).
				has(t, `<p class="refusal" id="`+tc.action+`-desc">`+tc.why+`</p>`, `>Back to Users</a>`).lacks(t, `<form method="post" action="`+users)
			before := d.actionState(t, alice.ID)
			d.admin.post(t, users+"/"+alice.ID+"/"+tc.action, valid).want(t, http.StatusConflict).has(t, tc.why+" Nothing was changed.")
			d.unchanged(t, alice.ID, before, tc.action+" oneself")
		}

		// An invitee has no access to revoke.
		grace := d.mustInviteAs(t, "Grace", "Hopper", "grace@acme.example.com", []roster.RoleID{roster.RoleSupport}, nil).user
		d.admin.get(t, userPagePath(grace, "/revoke", "")).want(t, http.StatusOK).
			has(t, "Grace Hopper has not accepted the invitation yet (Invitation Sent), so there is no access to revoke.")
		before := d.actionState(t, grace.ID)
		d.admin.post(t, users+"/"+grace.ID+"/revoke", valid).want(t, http.StatusConflict).has(t, "no access to revoke", "Nothing was changed.")
		d.unchanged(t, grace.ID, before, "revoking an invitee")

		// The last Admin without a deadline: an Admin whose own access
		// ends cannot revoke or delete Alice. The page cannot see it
		// coming; the service's answer is shown on it.
		until := d.clock.Now().AddDate(0, 0, 30)
		bobInv := d.mustInviteAs(t, "Bob", "Boss", "bob@acme.example.com", []roster.RoleID{roster.RoleAdmin}, &until)
		d.mustRegister(t, bobInv, newPassword)
		bob := d.browser(t)
		bob.signIn(t, "bob@acme.example.com", newPassword)
		bob.get(t, userPagePath(alice, "/revoke", "")).want(t, http.StatusOK).has(t, `name="reason"`)
		before = d.actionState(t, alice.ID)
		bob.post(t, users+"/"+alice.ID+"/revoke", valid).want(t, http.StatusConflict).
			has(t, "Alice Admin is the only active Admin of this account without an access deadline", "Nothing was changed.").lacks(t, `name="reason"`)
		bob.post(t, users+"/"+alice.ID+"/delete", nil).want(t, http.StatusConflict).
			has(t, "deleting them would leave the account without one", "Nothing was changed.")
		d.unchanged(t, alice.ID, before, "revoking or deleting the last Admin")

		// An Expert whose access expired has none to revoke: the page says
		// how to give it back, and a post is refused.
		xUntil := d.clock.Now().Add(30 * time.Minute)
		xenaInv := d.mustInviteAs(t, "Xena", "Expert", "xena@tatacommunications.com", []roster.RoleID{roster.RoleExpert}, &xUntil)
		d.mustRegister(t, xenaInv, newPassword)
		xena := xenaInv.user
		d.clock.Advance(31 * time.Minute)
		d.admin.get(t, userPagePath(xena, "/revoke", "")).want(t, http.StatusOK).
			has(t, "Xena Expert&#39;s access expired on", "so there is no access to revoke", "set a later Access till with Edit").
			lacks(t, `<form method="post" action="`+users)
		before = d.actionState(t, xena.ID)
		d.admin.post(t, users+"/"+xena.ID+"/revoke", valid).want(t, http.StatusConflict)
		d.unchanged(t, xena.ID, before, "revoking an expired Expert")

		// A user of another account is not found, through this account or
		// through theirs.
		beta := d.mustAccount(t, "Beta")
		other, err := d.store.UserByEmail(d.ctx, beta, "admin@beta.example.com")
		if err != nil {
			t.Fatal(err)
		}
		for _, action := range []string{"revoke", "restore", "resend", "delete"} {
			for _, path := range []string{users + "/" + other.ID + "/" + action, usersPagePath(beta) + "/" + other.ID + "/" + action} {
				d.admin.get(t, path).want(t, http.StatusNotFound)
				d.admin.post(t, path, valid).want(t, http.StatusNotFound)
			}
		}
		if got, err := d.store.User(d.ctx, beta, other.ID); err != nil || got.Version != other.Version {
			t.Errorf("Beta's Admin after Acme's attempts = %v, %v; want unchanged", got, err)
		}

		// A member without team.manage, and a form without its CSRF field.
		sam := d.mustActiveAs(t, "Sam", "Support", "sam@acme.example.com", roster.RoleSupport)
		c := d.browser(t)
		c.signIn(t, sam.Email, newPassword)
		c.get(t, "/sessions").want(t, http.StatusOK) // a page with the form token of Sam's session
		before = d.actionState(t, grace.ID)
		for _, action := range []string{"revoke", "restore", "resend", "delete"} {
			c.get(t, userPagePath(grace, "/"+action, "")).want(t, http.StatusForbidden).has(t, "Only an Admin of Acme")
			c.post(t, users+"/"+grace.ID+"/"+action, valid).want(t, http.StatusForbidden).has(t, "Only an Admin of Acme")
			d.admin.post(t, users+"/"+grace.ID+"/"+action, url.Values{"csrf": {"forged"}, "reason": {"issue_resolved"}}).
				want(t, http.StatusForbidden).has(t, "nothing was changed")
		}
		d.unchanged(t, grace.ID, before, "refused members and forged forms")

		// Signed out: to sign-in, and back to the page afterwards.
		path := userPagePath(grace, "/delete", users)
		d.browser(t).get(t, path).redirects(t, signInURL(path))
	})
}
