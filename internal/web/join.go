package web

import (
	"net/http"
	"net/url"

	"roster"
)

var (
	registerFields = []string{"first_name", "last_name", "password", "confirm"}
	acceptFields   = []string{"password"}
)

// joinView is the data of the invitation pages.
type joinView struct {
	Action    string
	Inv       *roster.InvitationView
	SignedIn  bool // already signed in as the invited identity: one button
	OtherUser string
}

// joinPage shows an invitation link: the registration form for a new
// person, the sign-in-to-accept form for someone who can already sign in,
// or a page saying why the link no longer works.
func (s *server) joinPage(w http.ResponseWriter, r *http.Request, pr *pageRequest) error {
	token := r.URL.Query().Get("token")
	v, err := s.invitation(r, token)
	if err != nil {
		return err
	}
	if v.State != roster.LinkValid {
		return s.joinStatePage(w, r, pr, v)
	}
	if v.HasIdentity {
		return s.renderAccept(w, r, pr, http.StatusOK, token, v, newForm(acceptFields))
	}
	return s.renderRegister(w, r, pr, http.StatusOK, token, v,
		newForm(registerFields, "first_name", v.FirstName, "last_name", v.LastName))
}

// joinSubmit registers the invited person, or joins their identity to the
// account, and signs them in.
func (s *server) joinSubmit(w http.ResponseWriter, r *http.Request, pr *pageRequest) error {
	token := r.URL.Query().Get("token")
	v, err := s.invitation(r, token)
	if err != nil {
		return err
	}
	if v.State != roster.LinkValid {
		return s.joinStatePage(w, r, pr, v)
	}
	if !v.HasIdentity {
		f := newForm(registerFields).fromRequest(r, "first_name", "last_name")
		signed, err := s.svc.Register(r.Context(), token, roster.RegisterInput{FirstName: r.PostForm.Get("first_name"),
			LastName: r.PostForm.Get("last_name"), Password: r.PostForm.Get("password"), Confirm: r.PostForm.Get("confirm")}, pr.client)
		passwordInWords(err, r.PostForm.Get("password"))
		if f.failWith(err) {
			return s.renderRegister(w, r, pr, http.StatusUnprocessableEntity, token, v, f)
		}
		return s.joined(w, r, pr, token, signed, err)
	}
	var signed *roster.SignedIn
	if s.signedInAs(pr, v) {
		signed, err = s.svc.AcceptInvitation(r.Context(), token, "", pr.ident, pr.client)
	} else {
		f := newForm(acceptFields)
		if r.PostForm.Get("password") == "" {
			f.fail("password", "Enter your password.")
			return s.renderAccept(w, r, pr, http.StatusUnprocessableEntity, token, v, f)
		}
		signed, err = s.svc.AcceptInvitation(r.Context(), token, r.PostForm.Get("password"), nil, pr.client)
		if roster.ErrorCode(err) == roster.CodeUnauthorized {
			f.fail("password", "This password is not right for "+v.Email+". Check it and try again, or reset your password.")
			return s.renderAccept(w, r, pr, http.StatusUnauthorized, token, v, f)
		}
	}
	return s.joined(w, r, pr, token, signed, err)
}

// joined finishes a registration or acceptance: the new session's cookie
// and the start page, or the page of the link's state when it stopped
// working meanwhile.
func (s *server) joined(w http.ResponseWriter, r *http.Request, pr *pageRequest, token string, signed *roster.SignedIn, err error) error {
	if roster.ErrorCode(err) == roster.CodeConflict {
		v, err := s.invitation(r, token)
		if err != nil {
			return err
		}
		if v.State == roster.LinkValid {
			// The email gained an identity meanwhile: sign in to accept.
			return s.renderAccept(w, r, pr, http.StatusConflict, token, v, newForm(acceptFields))
		}
		return s.joinStatePage(w, r, pr, v)
	}
	if err != nil {
		return err
	}
	if signed != nil && signed.Token != "" {
		if pr.session != nil {
			// Signing in as the invited person replaces whoever was signed in here.
			if err := s.svc.SignOut(r.Context(), pr.session); err != nil {
				return err
			}
		}
		s.setSessionCookie(w, signed)
	}
	return redirect(w, r, "/")
}

func (s *server) invitation(r *http.Request, token string) (*roster.InvitationView, error) {
	if token == "" {
		return &roster.InvitationView{State: roster.LinkUnknown}, nil
	}
	return s.svc.Invitation(r.Context(), token)
}

// signedInAs reports whether the browser is signed in as the invited email.
func (s *server) signedInAs(pr *pageRequest, v *roster.InvitationView) bool {
	return pr.ident != nil && roster.CanonicalEmail(pr.ident.Email) == roster.CanonicalEmail(v.Email)
}

func (s *server) renderRegister(w http.ResponseWriter, r *http.Request, pr *pageRequest, status int, token string, v *roster.InvitationView, f *form) error {
	return s.render(w, r, pr, status, "register", "Join "+v.AccountName, f, joinView{Action: joinAction(token), Inv: v})
}

func (s *server) renderAccept(w http.ResponseWriter, r *http.Request, pr *pageRequest, status int, token string, v *roster.InvitationView, f *form) error {
	jv := joinView{Action: joinAction(token), Inv: v, SignedIn: s.signedInAs(pr, v)}
	if pr.ident != nil && !jv.SignedIn {
		jv.OtherUser = pr.ident.Email
	}
	return s.render(w, r, pr, status, "accept", "Join "+v.AccountName, f, jv)
}

func joinAction(token string) string { return "/join?token=" + url.QueryEscape(token) }

// joinStatePage says what became of an invitation link that no longer
// works, and what to do.
func (s *server) joinStatePage(w http.ResponseWriter, r *http.Request, pr *pageRequest, v *roster.InvitationView) error {
	admin := "an Admin of your account"
	if v.AccountName != "" {
		admin = "an Admin of " + v.AccountName
	}
	m := message{}
	status := http.StatusGone
	switch v.State {
	case roster.LinkExpired:
		m.Heading = "This invitation link has expired"
		m.Paras = []string{"An invitation link works for a limited time after it was sent, and this one is past it.",
			"Ask " + admin + " to resend your invitation, then use the link in the new email."}
	case roster.LinkUsed:
		m.Heading = "This invitation was already used"
		m.Paras = []string{"Each invitation link works once, and this one has joined its account already.",
			"Sign in with your email and password to use Roster."}
		m.Links = []link{{"/sign-in", "Sign in"}, {"/forgot-password", "Forgot your password?"}}
	case roster.LinkSuperseded:
		m.Heading = "A newer invitation was sent"
		m.Paras = []string{"This link stopped working when a newer invitation was sent to you. Use the link in the newest invitation email.",
			"If you cannot find it, ask " + admin + " to resend your invitation."}
	default:
		status = http.StatusNotFound
		m.Heading = "This invitation link is not valid"
		m.Paras = []string{"Check that you opened the whole link from the email; some mail programs split long links.",
			"If it still does not work, the invitation may have been withdrawn: ask " + admin + " to invite you again."}
	}
	return s.render(w, r, pr, status, "message", m.Heading, nil, m)
}
