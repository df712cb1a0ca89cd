package web

import "net/http"

// The invitation form moved to the Add New User page. Its old address
// still works, for bookmarks and pages opened before the move.

// invitePage sends the browser to the Add New User page, for good.
func (s *server) invitePage(w http.ResponseWriter, r *http.Request, pr *pageRequest) error {
	http.Redirect(w, r, addUserPath(r.PathValue("account_id")), http.StatusMovedPermanently)
	return nil
}

// inviteSubmit sends a form posted to the old address on to the Add New
// User page: 308 keeps the method and the body, so the invitation is sent
// (and checked) there.
func (s *server) inviteSubmit(w http.ResponseWriter, r *http.Request, pr *pageRequest) error {
	http.Redirect(w, r, addUserPath(r.PathValue("account_id")), http.StatusPermanentRedirect)
	return nil
}
