package web

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"roster"
)

// The actions of a user's three-dots menu that ask for confirmation:
// Revoke Access, Restore Access, Resend Invitation and Delete. Each GET is
// a page whose .dialog-page section is also what its dialog shows
// (static/js/30-dialogs.js); each POST does the action and returns to the
// list as the Admin left it, with a flash naming the user.
//
// The service decides every rule. The pages only look ahead at the ones
// they can see from the user (themselves, a status the action does not
// apply to), so that the Admin reads why at once instead of a button that
// can only fail; a refusal the page could not foresee, such as the last
// Admin, is answered by the service and shown on the same page.

// userAction is one of the actions: its words and its call to the service.
type userAction struct {
	path        string // the last segment of its address: /accounts/{a}/users/{u}/<path>
	heading     string // the menu item's name, the page's heading
	button      string // the confirming button
	danger      bool   // the button disables or destroys
	focusCancel bool   // the dialog starts on Cancel, not on the button, as Enter would destroy
	listed      bool   // the consequences read as a list of points
	reasons     bool   // the form asks for a reason and a note
	// lead asks the question; paras say what the action will do.
	lead  func(u *roster.UserDetails) string
	paras func(env actionEnv, u *roster.UserDetails) []string
	// refusal says why the actor cannot do it to u, or "".
	refusal func(actor *roster.Actor, u *roster.UserDetails, now time.Time) string
	// do calls the service with the posted form.
	do func(ctx context.Context, s *server, r *http.Request, pr *pageRequest, u *roster.UserDetails) error
	// done is the flash after it; limited (if the service rate-limits the
	// action) says when it may be tried again.
	done    func(env actionEnv, u *roster.UserDetails) string
	limited func(u *roster.UserDetails, retryAfter int, now time.Time) string
}

// actionEnv is what an action's texts may need beyond the user.
type actionEnv struct {
	account    *roster.Account
	now        time.Time
	inviteLife string // how long an invitation link lives from its sending, in words
}

// actionEnv returns the texts' environment of a page inside an account.
func (s *server) actionEnv(pr *pageRequest) actionEnv {
	inv, _, _ := s.svc.LinkLifetimes()
	return actionEnv{account: pr.account, now: s.svc.Now(), inviteLife: lifetime(inv)}
}

// actionView is the data of an action page (templates/user-action.html).
type actionView struct {
	ID, Heading, Button string
	Danger, FocusCancel bool
	Listed              bool
	Action              string // the form's address
	List                string // the list to return to: Cancel's link and the hidden back field
	Lead                string
	Paras               []string
	Refusal             string         // why the action cannot be done; the page then has no form
	Reasons             []reasonChoice // the reasons to choose from, when the action asks for one
}

// reasonChoice is one radio button of the Revoke Access reasons.
type reasonChoice struct {
	Value   roster.RevokeReason
	Label   string
	Checked bool
}

// revokeReasonOrder is the order of the reasons on the Revoke Access
// page; their labels are revokeReasons' (user_details.go).
var revokeReasonOrder = []roster.RevokeReason{roster.ReasonIssueResolved, roster.ReasonSecurityPrivacy, roster.ReasonOther}

// actionFields are the fields of an action's form; only Revoke Access has
// any.
var actionFields = []string{"reason", "note"}

// actionPage shows what the action will do to the user of the path, or
// why it cannot be done.
func (s *server) actionPage(a *userAction) pageHandler {
	return func(w http.ResponseWriter, r *http.Request, pr *pageRequest) error {
		u, err := s.pageUser(r, pr)
		if err != nil {
			return err
		}
		return s.renderAction(w, r, pr, http.StatusOK, a, u, r.URL.Query().Get("back"), a.refusal(pr.actor, u, s.svc.Now()), newForm(actionFields))
	}
}

// actionSubmit does the action and returns to the list with a flash; a
// form with problems, a refusal or a rate limit is shown on the page.
func (s *server) actionSubmit(a *userAction) pageHandler {
	return func(w http.ResponseWriter, r *http.Request, pr *pageRequest) error {
		return s.doAction(w, r, pr, a)
	}
}

func (s *server) doAction(w http.ResponseWriter, r *http.Request, pr *pageRequest, a *userAction) error {
	u, err := s.pageUser(r, pr)
	if err != nil {
		return err
	}
	back := r.PostForm.Get("back")
	f := newForm(actionFields).fromRequest(r, "reason", "note")
	err = a.do(r.Context(), s, r, pr, u)
	var e *roster.Error
	errors.As(err, &e)
	switch roster.ErrorCode(err) {
	case "":
		s.setFlash(w, a.done(s.actionEnv(pr), u))
		return redirect(w, r, backToList(pr.account.ID, back))
	case roster.CodeInvalid:
		f.failWith(err)
		return s.renderAction(w, r, pr, http.StatusUnprocessableEntity, a, u, back, "", f)
	case roster.CodeRateLimited:
		if a.limited == nil {
			return err
		}
		w.Header().Set("Retry-After", strconv.Itoa(e.RetryAfter))
		return s.renderAction(w, r, pr, http.StatusTooManyRequests, a, u, back, a.limited(u, e.RetryAfter, s.svc.Now()), f)
	case roster.CodeConflict:
		// Reloaded, the user's state explains the refusal in the page's
		// words when someone changed it since the page was shown; else the
		// service's words do (the last Admin).
		if u, err = s.pageUser(r, pr); err != nil {
			return err
		}
		why := a.refusal(pr.actor, u, s.svc.Now())
		if why == "" {
			why = e.Message
		}
		return s.renderAction(w, r, pr, http.StatusConflict, a, u, back, why+" Nothing was changed.", f)
	}
	return err
}

func (s *server) renderAction(w http.ResponseWriter, r *http.Request, pr *pageRequest, status int, a *userAction, u *roster.UserDetails, back, refusal string, f *form) error {
	v := actionView{ID: a.path, Heading: a.heading, Button: a.button, Danger: a.danger, FocusCancel: a.focusCancel, Listed: a.listed,
		Action:  usersPagePath(pr.account.ID) + "/" + url.PathEscape(u.ID) + "/" + a.path,
		List:    backToList(pr.account.ID, back),
		Refusal: refusal}
	if refusal == "" {
		v.Lead, v.Paras = a.lead(u), a.paras(s.actionEnv(pr), u)
		if a.reasons {
			for _, id := range revokeReasonOrder {
				v.Reasons = append(v.Reasons, reasonChoice{Value: id, Label: revokeReasons[id], Checked: f.Values["reason"] == string(id)})
			}
		}
	}
	return s.render(w, r, pr, status, "user-action", a.heading+": "+u.FullName(), f, v)
}

// apiKeys says how many active API keys a user has: "3 active API keys".
func apiKeys(n int64) string {
	if n == 1 {
		return "1 active API key"
	}
	return strconv.FormatInt(n, 10) + " active API keys"
}

// revokeAction disables sign-in and says so truthfully: it does not
// delete (the seed's dialog said otherwise; the product does not).
var revokeAction = &userAction{
	path: "revoke", heading: "Revoke Access", button: "Revoke access", danger: true, listed: true, reasons: true,
	lead: func(u *roster.UserDetails) string {
		return "Revoke the access of " + u.FullName() + " (" + u.Email + ")?"
	},
	paras: func(env actionEnv, u *roster.UserDetails) []string {
		acct := env.account
		keys := "They have no active API keys."
		if u.ActiveAPIKeys > 0 {
			keys = "Their " + apiKeys(u.ActiveAPIKeys) + " stop working at once, and work again if access is restored."
		}
		return []string{
			u.FullName() + " can no longer sign in to " + acct.Name + ", starting now: any session they have open in it stops working at once.",
			keys,
			"Nothing is deleted: their user record, their roles (" + accessNames(u.Access()) + ") and their API keys are kept, and they show as Inactive.",
			"You can restore their access at any time with Restore Access.",
		}
	},
	refusal: func(actor *roster.Actor, u *roster.UserDetails, now time.Time) string {
		switch {
		case u.ID == actor.UserID:
			return "You cannot revoke your own access; ask another Admin."
		case u.Status == roster.StatusInvited:
			return u.FullName() + " has not accepted the invitation yet (Invitation Sent), so there is no access to revoke. " +
				"To withdraw the invitation, delete the user: their link stops working at once."
		case u.Status == roster.StatusInactive:
			return u.FullName() + "'s access is already revoked (Inactive). Use Restore Access to give it back."
		case expired(u.User, now):
			return u.FullName() + "'s access expired on " + dayInWords(deadlineValue(u.AccessUntil)) + ", so there is no access to revoke. " +
				"To give it back, set a later Access till with Edit; to remove them, delete the user."
		}
		return ""
	},
	do: func(ctx context.Context, s *server, r *http.Request, pr *pageRequest, u *roster.UserDetails) error {
		in := roster.RevokeInput{Reason: roster.RevokeReason(r.PostForm.Get("reason")), Note: r.PostForm.Get("note")}
		if _, known := revokeReasons[in.Reason]; !known {
			// The service names the reasons as the API spells them; the
			// page speaks of the choices on it.
			return &roster.Error{Code: roster.CodeInvalid, Message: "Choose a reason.",
				Fields: []roster.FieldError{{Field: "reason", Message: "Choose why you are revoking access."}}}
		}
		_, err := s.svc.RevokeUser(ctx, pr.actor, pr.account.ID, u.ID, in)
		return err
	},
	done: func(_ actionEnv, u *roster.UserDetails) string { return "Access revoked for " + u.FullName() + "." },
}

// restoreAction gives access back, and says what it does not give back:
// an access deadline that has passed still keeps them out.
var restoreAction = &userAction{
	path: "restore", heading: "Restore Access", button: "Restore access",
	lead: func(u *roster.UserDetails) string {
		return "Restore the access of " + u.FullName() + " (" + u.Email + ")?"
	},
	paras: func(env actionEnv, u *roster.UserDetails) []string {
		acct, now := env.account, env.now
		paras := []string{u.FullName() + " can sign in to " + acct.Name + " again at once, with the same roles: " + accessNames(u.Access()) + "."}
		if u.ActiveAPIKeys > 0 {
			paras = append(paras, "Their "+apiKeys(u.ActiveAPIKeys)+" work again.")
		}
		if !u.AccessUntil.IsZero() && !now.Before(u.AccessUntil) {
			paras[0] = u.FullName() + " shows as Active again, with the same roles: " + accessNames(u.Access()) + "."
			paras = append(paras, "Their access deadline (Access Till) passed on "+when(u.AccessUntil)+
				", so they still cannot sign in or use API keys until an Admin extends it with Edit.")
		}
		return paras
	},
	refusal: func(_ *roster.Actor, u *roster.UserDetails, _ time.Time) string {
		switch u.Status {
		case roster.StatusActive:
			return u.FullName() + " is Active: there is no revoked access to restore."
		case roster.StatusInvited:
			return u.FullName() + " has not accepted the invitation yet (Invitation Sent), so there is no access to restore. " +
				"If their link has expired, resend the invitation."
		}
		return ""
	},
	do: func(ctx context.Context, s *server, _ *http.Request, pr *pageRequest, u *roster.UserDetails) error {
		_, err := s.svc.RestoreUser(ctx, pr.actor, pr.account.ID, u.ID)
		return err
	},
	done: func(_ actionEnv, u *roster.UserDetails) string { return "Access restored for " + u.FullName() + "." },
}

// resendAction sends a fresh link, and says how the last email fared.
var resendAction = &userAction{
	path: "resend", heading: "Resend Invitation", button: "Resend invitation",
	lead: func(u *roster.UserDetails) string { return "Resend the invitation to " + u.FullName() + "?" },
	paras: func(env actionEnv, u *roster.UserDetails) []string {
		paras := []string{"A new invitation email goes to " + u.Email + ". Its link is valid for " + env.inviteLife + " from when it is sent, " +
			"and the link of every earlier invitation stops working."}
		if d := u.Invitation; d != nil {
			switch d.State {
			case roster.OutboxSent:
				paras = append(paras, "The last invitation email was sent "+when(d.SentAt)+".")
			case roster.OutboxPending:
				paras = append(paras, "The last invitation email has not gone out yet; Roster keeps trying to send it.")
			case roster.OutboxFailed:
				paras = append(paras, "The last invitation email could not be delivered. Check that "+u.Email+
					" is right; if it is not, delete the user and invite them again.")
			}
		}
		return paras
	},
	refusal: func(_ *roster.Actor, u *roster.UserDetails, _ time.Time) string {
		switch u.Status {
		case roster.StatusActive:
			return u.FullName() + " has already accepted the invitation and is Active, so there is no invitation to resend."
		case roster.StatusInactive:
			return u.FullName() + " has already joined, and their access is revoked (Inactive), so there is no invitation to resend. " +
				"Use Restore Access to give their access back."
		}
		return ""
	},
	do: func(ctx context.Context, s *server, _ *http.Request, pr *pageRequest, u *roster.UserDetails) error {
		_, err := s.svc.ResendInvitation(ctx, pr.actor, pr.account.ID, u.ID)
		return err
	},
	done: func(env actionEnv, u *roster.UserDetails) string {
		return "Invitation resent to " + u.FullName() + " at " + u.Email +
			". The new link is valid for " + env.inviteLife + " from when the email is sent; the earlier link no longer works."
	},
	limited: func(u *roster.UserDetails, retryAfter int, now time.Time) string {
		return fmt.Sprintf("%s has already been sent as many invitations as are allowed in one hour, so no email was sent. "+
			"You can resend the invitation %s (after %s).", u.FullName(), inWords(retryAfter), when(now.Add(time.Duration(retryAfter)*time.Second)))
	},
}

// deleteAction removes the user, and says what goes with them: the API
// keys they created in the account, which the seed's dialog kept quiet
// about.
var deleteAction = &userAction{
	path: "delete", heading: "Delete User", button: "Delete", danger: true, focusCancel: true,
	lead: func(u *roster.UserDetails) string {
		return `Are you sure you want to delete the user "` + u.FirstName + `"?`
	},
	paras: func(env actionEnv, u *roster.UserDetails) []string {
		acct, now := env.account, env.now
		var keys string
		switch {
		case u.ActiveAPIKeys == 0:
			keys = "They have no active API keys."
		case u.CanSignIn(now):
			keys = "Their " + apiKeys(u.ActiveAPIKeys) + " will stop working at once."
		default:
			keys = "Their " + apiKeys(u.ActiveAPIKeys) + ", which do not work while they cannot sign in, are deleted with them and can never be used again."
		}
		paras := []string{keys, u.FullName() + " (" + u.Email + ") is removed from " + acct.Name + ". This cannot be undone."}
		if u.Status == roster.StatusActive {
			paras = append(paras, "To stop their access only for now, use Revoke Access instead.")
		}
		return paras
	},
	refusal: func(actor *roster.Actor, u *roster.UserDetails, now time.Time) string {
		if u.ID == actor.UserID {
			return "You cannot delete yourself; ask another Admin."
		}
		return ""
	},
	do: func(ctx context.Context, s *server, _ *http.Request, pr *pageRequest, u *roster.UserDetails) error {
		return s.svc.DeleteUser(ctx, pr.actor, pr.account.ID, u.ID)
	},
	done: func(_ actionEnv, u *roster.UserDetails) string { return u.FullName() + " was deleted." },
}

// confirmedActions are the actions confirmed on a page of their own (which
// is also their dialog); routes.go routes GET and POST of each under
// /accounts/{account_id}/users/{user_id}/{path}.
var confirmedActions = []*userAction{revokeAction, restoreAction, resendAction, deleteAction}
