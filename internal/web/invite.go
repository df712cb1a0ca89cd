package web

import (
	"net/http"
	"time"

	"roster"
)

var inviteFields = []string{"first_name", "last_name", "email", "roles", "access_until"}

// inviteView is the data of the invitation form of one account.
type inviteView struct {
	Action      string
	AccountName string
	Roles       []roleChoice
}

// roleChoice is one role's checkbox.
type roleChoice struct {
	ID          roster.RoleID
	Name        string
	Description string
	Checked     bool
}

// inviteActor returns the signed-in Admin's actor in the account of the
// path, or answers for the page: the sign-in page when nobody is signed in,
// not found when the account is not theirs, forbidden without team.manage.
func (s *server) inviteActor(w http.ResponseWriter, r *http.Request, pr *pageRequest) (*roster.Actor, *roster.Account, error) {
	accountID := r.PathValue("account_id")
	if pr.ident == nil {
		return nil, nil, redirect(w, r, signInURL("/accounts/"+accountID+"/invite"))
	}
	actor, err := s.svc.ActorFor(r.Context(), pr.ident, accountID, pr.client)
	if err != nil {
		return nil, nil, err
	}
	if !actor.Roles.Can("team.manage") {
		return nil, nil, roster.Errorf(roster.CodeForbidden, "Only an Admin of this account can invite people. Ask one of its Admins.")
	}
	acct, err := s.svc.Store().Account(r.Context(), accountID)
	if err != nil {
		return nil, nil, err
	}
	return actor, acct, nil
}

// invitePage is the Add New User form: names, email, roles and an
// optional access deadline.
func (s *server) invitePage(w http.ResponseWriter, r *http.Request, pr *pageRequest) error {
	actor, acct, err := s.inviteActor(w, r, pr)
	if actor == nil {
		return err
	}
	return s.renderInvite(w, r, pr, http.StatusOK, acct, newForm(inviteFields), nil)
}

// inviteSubmit invites the person and says so.
func (s *server) inviteSubmit(w http.ResponseWriter, r *http.Request, pr *pageRequest) error {
	actor, acct, err := s.inviteActor(w, r, pr)
	if actor == nil {
		return err
	}
	f := newForm(inviteFields).fromRequest(r, "first_name", "last_name", "email", "access_until")
	in := roster.InviteInput{FirstName: r.PostForm.Get("first_name"), LastName: r.PostForm.Get("last_name"),
		Email: r.PostForm.Get("email")}
	for _, id := range r.PostForm["roles"] {
		in.Roles = append(in.Roles, roster.RoleID(id))
	}
	if v := r.PostForm.Get("access_until"); v != "" {
		day, err := time.Parse(time.DateOnly, v)
		if err != nil {
			f.fail("access_until", "Give the last day of access as a date, such as 2026-12-31.")
			return s.renderInvite(w, r, pr, http.StatusUnprocessableEntity, acct, f, in.Roles)
		}
		end := day.Add(24*time.Hour - time.Second) // access lasts through that day (UTC)
		in.AccessUntil = &end
	}
	u, err := s.svc.InviteUser(r.Context(), actor, acct.ID, in)
	switch roster.ErrorCode(err) {
	case "":
		m := message{Heading: "Invitation sent",
			Paras: []string{u.FullName() + " (" + u.Email + ") is invited to " + acct.Name + " and shows as Invitation Sent.",
				"Their link works for one hour after the email goes out, once. If it expires, resend the invitation."},
			Links: []link{{"/accounts/" + acct.ID + "/invite", "Invite someone else"}, {"/", "Your accounts"}}}
		return s.render(w, r, pr, http.StatusCreated, "message", m.Heading, nil, m)
	case roster.CodeInvalid, roster.CodeConflict:
		if !f.failWith(err) {
			return err
		}
		return s.renderInvite(w, r, pr, http.StatusUnprocessableEntity, acct, f, in.Roles)
	}
	return err
}

func (s *server) renderInvite(w http.ResponseWriter, r *http.Request, pr *pageRequest, status int, acct *roster.Account, f *form, checked []roster.RoleID) error {
	v := inviteView{Action: "/accounts/" + acct.ID + "/invite", AccountName: acct.Name}
	for _, role := range roster.Roles {
		bit, _ := roster.RoleBit(role.ID)
		if bit&roster.AdditionalRoles != 0 && acct.EnabledRoles&bit == 0 {
			continue // not enabled for this account: contact support
		}
		c := roleChoice{ID: role.ID, Name: role.Name, Description: role.Description}
		for _, id := range checked {
			c.Checked = c.Checked || id == role.ID
		}
		v.Roles = append(v.Roles, c)
	}
	return s.render(w, r, pr, status, "invite", "Invite someone to "+acct.Name, f, v)
}
