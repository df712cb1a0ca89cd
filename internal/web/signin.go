package web

import (
	"net/http"
	"net/url"

	"roster"
)

var (
	signInFields = []string{"email", "password"}
	forgotFields = []string{"email"}
	resetFields  = []string{"password", "confirm"}
)

// signInFailed is the one message of every refused sign-in: it must not
// tell an unknown email from a wrong password or a revoked user.
const signInFailed = "The email or password is not right, or this sign-in can no longer be used. " +
	"Check them and try again, or reset your password. If your access was revoked or has ended, ask an Admin of your account."

type signInView struct {
	Next string
}

// signInPage is the sign-in form; next is where to go afterwards.
func (s *server) signInPage(w http.ResponseWriter, r *http.Request, pr *pageRequest) error {
	next := localPath(r.URL.Query().Get("next"))
	if pr.ident != nil {
		return redirect(w, r, next)
	}
	return s.render(w, r, pr, http.StatusOK, "sign-in", "Sign in", newForm(signInFields), signInView{Next: next})
}

// signInSubmit signs in. Every refusal for the same input is the same
// response, byte for byte: same status, headers and page.
func (s *server) signInSubmit(w http.ResponseWriter, r *http.Request, pr *pageRequest) error {
	next := localPath(r.PostForm.Get("next"))
	f := newForm(signInFields).fromRequest(r, "email")
	f.require(r, "email", "Enter your email address.", "password", "Enter your password.")
	if f.HasErrors() {
		return s.render(w, r, pr, http.StatusUnprocessableEntity, "sign-in", "Sign in", f, signInView{Next: next})
	}
	signed, err := s.svc.SignIn(r.Context(), r.PostForm.Get("email"), r.PostForm.Get("password"), pr.client)
	switch roster.ErrorCode(err) {
	case "":
		if pr.session != nil {
			if err := s.svc.SignOut(r.Context(), pr.session); err != nil {
				return err
			}
		}
		s.setSessionCookie(w, signed)
		return redirect(w, r, next)
	case roster.CodeUnauthorized:
		f.fail("", signInFailed)
		return s.render(w, r, pr, http.StatusUnauthorized, "sign-in", "Sign in", f, signInView{Next: next})
	}
	return err
}

// signOut ends this browser's session.
func (s *server) signOut(w http.ResponseWriter, r *http.Request, pr *pageRequest) error {
	if pr.session != nil {
		if err := s.svc.SignOut(r.Context(), pr.session); err != nil {
			return err
		}
	}
	s.clearSessionCookie(w)
	m := message{Heading: "You are signed out", Paras: []string{"This browser is no longer signed in to Roster."},
		Links: []link{{"/sign-in", "Sign in again"}}}
	return s.render(w, r, nil, http.StatusOK, "message", m.Heading, nil, m)
}

// forgotPage asks for the email to send a reset link to.
func (s *server) forgotPage(w http.ResponseWriter, r *http.Request, pr *pageRequest) error {
	return s.render(w, r, pr, http.StatusOK, "forgot", "Reset your password", newForm(forgotFields), nil)
}

// forgotSubmit sends a reset link if the email can sign in. The answer is
// the same either way, so nobody learns which emails exist.
func (s *server) forgotSubmit(w http.ResponseWriter, r *http.Request, pr *pageRequest) error {
	email := r.PostForm.Get("email")
	f := newForm(forgotFields).fromRequest(r, "email")
	f.require(r, "email", "Enter your email address.")
	if f.HasErrors() {
		return s.render(w, r, pr, http.StatusUnprocessableEntity, "forgot", "Reset your password", f, nil)
	}
	if err := s.svc.RequestPasswordReset(r.Context(), email, pr.client); err != nil {
		return err
	}
	_, resetLife, _ := s.svc.LinkLifetimes()
	m := message{Heading: "Check your email",
		Paras: []string{"If " + email + " can sign in to Roster, we sent it a link to choose a new password. The link is valid for " + lifetime(resetLife) + " and works once.",
			"No email after a few minutes? Check the address and your spam folder, then ask for a new link."},
		Links: []link{{"/forgot-password", "Ask for a new link"}, {"/sign-in", "Back to sign in"}}}
	return s.render(w, r, pr, http.StatusOK, "message", m.Heading, nil, m)
}

type resetView struct {
	Action string
	Reset  *roster.ResetView
}

// resetPage is the form behind a reset link: a new password, twice.
func (s *server) resetPage(w http.ResponseWriter, r *http.Request, pr *pageRequest) error {
	token := r.URL.Query().Get("token")
	v, err := s.resetView(r, token)
	if err != nil {
		return err
	}
	if v.State != roster.LinkValid {
		return s.resetStatePage(w, r, pr, v)
	}
	return s.renderReset(w, r, pr, http.StatusOK, token, v, newForm(resetFields))
}

// passwordInWords asks for a password left empty, rather than counting
// its characters.
func passwordInWords(err error, posted string) {
	if posted == "" {
		reword(err, "password", "Choose a password of at least 12 characters.")
	}
}

// resetSubmit sets the new password. The service ends every session of the
// identity, this browser's included.
func (s *server) resetSubmit(w http.ResponseWriter, r *http.Request, pr *pageRequest) error {
	token := r.URL.Query().Get("token")
	err := s.svc.ResetPassword(r.Context(), token, r.PostForm.Get("password"), r.PostForm.Get("confirm"), pr.client)
	f := newForm(resetFields)
	switch roster.ErrorCode(err) {
	case "":
		s.clearSessionCookie(w)
		m := message{Heading: "Your password is changed",
			Paras: []string{"Every browser that was signed in with your old password has been signed out.", "Sign in with your new password."},
			Links: []link{{"/sign-in", "Sign in"}}}
		return s.render(w, r, nil, http.StatusOK, "message", m.Heading, nil, m)
	case roster.CodeInvalid:
		v, verr := s.resetView(r, token)
		if verr != nil {
			return verr
		}
		passwordInWords(err, r.PostForm.Get("password"))
		f.failWith(err)
		return s.renderReset(w, r, pr, http.StatusUnprocessableEntity, token, v, f)
	case roster.CodeConflict, roster.CodeNotFound:
		v, err := s.resetView(r, token)
		if err != nil {
			return err
		}
		return s.resetStatePage(w, r, pr, v)
	}
	return err
}

func (s *server) resetView(r *http.Request, token string) (*roster.ResetView, error) {
	if token == "" {
		return &roster.ResetView{State: roster.LinkUnknown}, nil
	}
	return s.svc.PasswordReset(r.Context(), token)
}

func (s *server) renderReset(w http.ResponseWriter, r *http.Request, pr *pageRequest, status int, token string, v *roster.ResetView, f *form) error {
	return s.render(w, r, pr, status, "reset", "Choose a new password", f,
		resetView{Action: "/reset-password?token=" + url.QueryEscape(token), Reset: v})
}

// resetStatePage says what became of a reset link that no longer works.
func (s *server) resetStatePage(w http.ResponseWriter, r *http.Request, pr *pageRequest, v *roster.ResetView) error {
	m := message{Links: []link{{"/forgot-password", "Ask for a new link"}, {"/sign-in", "Sign in"}}}
	status := http.StatusGone
	switch v.State {
	case roster.LinkExpired:
		m.Heading = "This reset link has expired"
		_, life, _ := s.svc.LinkLifetimes()
		m.Paras = []string{"A password reset link works for " + lifetime(life) + " after it was sent.", "Ask for a new link and use it in time."}
	case roster.LinkUsed:
		m.Heading = "This reset link was already used"
		m.Paras = []string{"Each reset link works once. If you changed your password with it, sign in with the new password.",
			"If you did not, ask for a new link."}
	case roster.LinkSuperseded:
		m.Heading = "A newer reset link was sent"
		m.Paras = []string{"This link stopped working when a newer one was sent. Use the link in the newest email, or ask for a new link."}
	default:
		status = http.StatusNotFound
		m.Heading = "This reset link is not valid"
		m.Paras = []string{"Check that you opened the whole link from the email; some mail programs split long links.",
			"If it still does not work, ask for a new link."}
	}
	return s.render(w, r, pr, status, "message", m.Heading, nil, m)
}
