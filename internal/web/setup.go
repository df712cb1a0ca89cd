package web

import (
	"net/http"
	"net/url"

	"roster"
)

var setupFields = []string{"account_name", "first_name", "last_name", "email", "password", "confirm"}

// setupPage is the first-run form behind the link `roster serve` prints.
func (s *server) setupPage(w http.ResponseWriter, r *http.Request, pr *pageRequest) error {
	token := r.URL.Query().Get("token")
	state, err := s.setupState(r, token)
	if err != nil {
		return err
	}
	if state != roster.LinkValid {
		return s.setupStatePage(w, r, pr, state)
	}
	return s.renderSetup(w, r, pr, http.StatusOK, token, newForm(setupFields))
}

// setupSubmit creates the first account and its Admin, and signs them in.
func (s *server) setupSubmit(w http.ResponseWriter, r *http.Request, pr *pageRequest) error {
	token := r.URL.Query().Get("token")
	f := newForm(setupFields).fromRequest(r, "account_name", "first_name", "last_name", "email")
	in := roster.SetupInput{AccountName: r.PostForm.Get("account_name"), FirstName: r.PostForm.Get("first_name"),
		LastName: r.PostForm.Get("last_name"), Email: r.PostForm.Get("email"),
		Password: r.PostForm.Get("password"), Confirm: r.PostForm.Get("confirm")}
	signed, err := s.svc.Setup(r.Context(), token, in, pr.client)
	switch roster.ErrorCode(err) {
	case "":
		s.setSessionCookie(w, signed)
		return redirect(w, r, "/")
	case roster.CodeInvalid:
		passwordInWords(err, in.Password)
		f.failWith(err)
		return s.renderSetup(w, r, pr, http.StatusUnprocessableEntity, token, f)
	case roster.CodeConflict, roster.CodeNotFound:
		state, err := s.setupState(r, token)
		if err != nil {
			return err
		}
		return s.setupStatePage(w, r, pr, state)
	}
	return err
}

func (s *server) setupState(r *http.Request, token string) (roster.LinkState, error) {
	if token == "" {
		return roster.LinkUnknown, nil
	}
	return s.svc.SetupState(r.Context(), token)
}

func (s *server) renderSetup(w http.ResponseWriter, r *http.Request, pr *pageRequest, status int, token string, f *form) error {
	return s.render(w, r, pr, status, "setup", "Set up Roster", f, struct{ Action string }{"/setup?token=" + url.QueryEscape(token)})
}

// setupStatePage says what became of a setup link that no longer works.
func (s *server) setupStatePage(w http.ResponseWriter, r *http.Request, pr *pageRequest, state roster.LinkState) error {
	m := message{}
	status := http.StatusGone
	switch state {
	case roster.LinkSetupDone:
		m.Heading = "Roster is already set up"
		m.Paras = []string{"The first account and its Admin exist, so this setup link has no more use.",
			"If you are that Admin or a member of an account, sign in."}
		m.Links = []link{{"/sign-in", "Sign in"}}
	case roster.LinkExpired:
		m.Heading = "This setup link has expired"
		_, _, life := s.svc.LinkLifetimes()
		m.Paras = []string{"A setup link works for " + lifetime(life) + " after it was printed.",
			"Restart roster serve to print a new link in its log, and open that link in time."}
	case roster.LinkUsed:
		m.Heading = "This setup link was already used"
		m.Paras = []string{"Each setup link works once.", "If Roster is set up, sign in; otherwise restart roster serve to print a new link."}
		m.Links = []link{{"/sign-in", "Sign in"}}
	default:
		status = http.StatusNotFound
		m.Heading = "This setup link is not valid"
		m.Paras = []string{"Check that you copied the whole link from the log of roster serve.",
			"If it still does not work, restart roster serve to print a new link."}
	}
	return s.render(w, r, pr, status, "message", m.Heading, nil, m)
}
