package web

import (
	"net/http"

	"roster"
)

type homeView struct {
	Memberships []homeRow
}

// homeRow is one account of the signed-in person, and whether they may
// manage its users now (active, before any access deadline, team.manage).
type homeRow struct {
	*roster.Membership
	CanManage bool
	CanKeys   bool // api_keys.manage: the API Keys page
}

// home says who is signed in and lists their accounts.
func (s *server) home(w http.ResponseWriter, r *http.Request, pr *pageRequest) error {
	if pr.ident == nil {
		return redirect(w, r, "/sign-in")
	}
	ms, err := s.svc.Memberships(r.Context(), pr.ident)
	if err != nil {
		return err
	}
	v, now := homeView{}, s.svc.Now()
	for _, m := range ms {
		may := m.User.CanSignIn(now)
		v.Memberships = append(v.Memberships, homeRow{m, may && m.User.Access().Can("team.manage"), may && m.User.Access().Can("api_keys.manage")})
	}
	return s.render(w, r, pr, http.StatusOK, "home", "Your accounts", nil, v)
}

type sessionsView struct {
	Sessions []*roster.Session
	Current  string
}

// sessionsPage lists the browsers signed in as this identity.
func (s *server) sessionsPage(w http.ResponseWriter, r *http.Request, pr *pageRequest) error {
	if pr.session == nil {
		return redirect(w, r, signInURL("/sessions"))
	}
	list, err := s.svc.Sessions(r.Context(), pr.session)
	if err != nil {
		return err
	}
	return s.render(w, r, pr, http.StatusOK, "sessions", "Where you are signed in", nil, sessionsView{Sessions: list, Current: pr.session.ID})
}

// endSession signs one of the identity's browsers out; ending this
// browser's session is signing out.
func (s *server) endSession(w http.ResponseWriter, r *http.Request, pr *pageRequest) error {
	if pr.session == nil {
		return redirect(w, r, signInURL("/sessions"))
	}
	id := r.PostForm.Get("id")
	if err := s.svc.EndSession(r.Context(), pr.session, id); err != nil {
		if roster.ErrorCode(err) == roster.CodeNotFound {
			return roster.Errorf(roster.CodeNotFound, "This session has already ended or is not one of yours. Go back to the list of sessions and reload it.")
		}
		return err
	}
	if id == pr.session.ID {
		s.clearSessionCookie(w)
		return redirect(w, r, "/sign-in")
	}
	s.setFlash(w, "Session ended: that browser is signed out.")
	return redirect(w, r, "/sessions")
}
