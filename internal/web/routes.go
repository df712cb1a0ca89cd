package web

import (
	"log/slog"
	"net/http"

	"roster"
)

// NewServer returns Roster's HTTP handler: every route below, behind a
// request log, panic recovery and cross-origin (CSRF) protection. It panics
// when an embedded template does not parse, which no build can ship.
func NewServer(logger *slog.Logger, svc *roster.Service, opts Options) http.Handler {
	s := &server{logger: logger, svc: svc, opts: opts, mux: http.NewServeMux(), pages: mustParsePages(),
		secure: opts.PublicURL != nil && opts.PublicURL.Scheme == "https", sessionName: sessionCookie, csrfName: csrfCookie}
	if s.secure {
		// __Host- cookies are refused by browsers unless Secure, with Path=/
		// and no Domain: a sibling subdomain cannot plant one.
		s.sessionName, s.csrfName = "__Host-"+sessionCookie, "__Host-"+csrfCookie
	}
	for _, rt := range s.routes() {
		s.mux.Handle(rt.pattern, s.endpoint(rt))
	}
	for _, p := range s.pageRoutes() {
		s.mux.Handle(p.pattern, s.page(p.serve))
	}
	s.mux.HandleFunc("GET /static/roster.css", serveAsset(s.pages.css, "roster.css"))
	s.mux.HandleFunc("GET /static/roster.js", serveAsset(s.pages.js, "roster.js"))
	cop := http.NewCrossOriginProtection()
	cop.SetDenyHandler(http.HandlerFunc(s.crossOriginDenied))
	h := s.logRequests(s.recoverPanics(cop.Handler(http.HandlerFunc(s.dispatch))))
	if s.secure {
		return hsts(h)
	}
	return h
}

// hsts tells browsers to reach this server over HTTPS only, for a year.
func hsts(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Strict-Transport-Security", "max-age=31536000")
		next.ServeHTTP(w, r)
	})
}

// route is one endpoint: its ServeMux pattern, whether it needs an
// authenticated caller, the query parameters it accepts, and its handler.
type route struct {
	pattern string
	auth    bool
	query   []string
	serve   handler
}

// routes lists every route of the JSON API; openapi.json documents each one.
func (s *server) routes() []route {
	const public, authed = false, true
	list := []string{"q", "filter", "sort", "limit", "cursor"}
	page := []string{"limit", "cursor"}
	return []route{
		{"GET /healthz", public, nil, s.healthz},
		{"GET /readyz", public, nil, s.readyz},
		{"GET /api/v1/openapi.json", public, nil, s.openAPI},
		{"GET /api/v1/roles", authed, nil, s.listRoles},
		{"GET /api/v1/accounts/{account_id}/users", authed, list, s.listUsers},
		{"POST /api/v1/accounts/{account_id}/users", authed, nil, s.inviteUser},
		{"GET /api/v1/accounts/{account_id}/users/{user_id}", authed, nil, s.getUser},
		{"PATCH /api/v1/accounts/{account_id}/users/{user_id}", authed, nil, s.updateUser},
		{"DELETE /api/v1/accounts/{account_id}/users/{user_id}", authed, nil, s.deleteUser},
		{"POST /api/v1/accounts/{account_id}/users/{user_id}/revoke", authed, nil, s.revokeUser},
		{"POST /api/v1/accounts/{account_id}/users/{user_id}/restore", authed, nil, s.restoreUser},
		{"POST /api/v1/accounts/{account_id}/users/{user_id}/resend-invitation", authed, nil, s.resendInvitation},
		{"GET /api/v1/accounts/{account_id}/users/{user_id}/permissions", authed, nil, s.userPermissions},
		{"GET /api/v1/accounts/{account_id}/audit-events", authed, page, s.auditEvents},
		{"GET /api/v1/accounts/{account_id}/api-keys", authed, nil, s.listAPIKeys},
		{"POST /api/v1/accounts/{account_id}/api-keys", authed, nil, s.createAPIKey},
		{"GET /api/v1/accounts/{account_id}/api-keys/{key_id}", authed, nil, s.getAPIKey},
		{"PATCH /api/v1/accounts/{account_id}/api-keys/{key_id}", authed, nil, s.updateAPIKey},
		{"DELETE /api/v1/accounts/{account_id}/api-keys/{key_id}", authed, nil, s.deleteAPIKey},
		{verifyPattern, public, nil, s.verifyKey}, // the gateway token, checked by the handler
	}
}

// pageRoute is one server-rendered page (HTML, forms, no JavaScript).
type pageRoute struct {
	pattern string
	serve   pageHandler
}

// pageRoutes lists every page. Every POST carries the CSRF field; links
// with a secret token (?token=) are answered with Referrer-Policy
// no-referrer. The stylesheet is GET /static/roster.css.
func (s *server) pageRoutes() []pageRoute {
	routes := []pageRoute{
		{"GET /{$}", s.home},
		{"GET /setup", s.setupPage},
		{"POST /setup", s.setupSubmit},
		{"GET /join", s.joinPage},
		{"POST /join", s.joinSubmit},
		{"GET /sign-in", s.signInPage},
		{"POST /sign-in", s.signInSubmit},
		{"POST /sign-out", s.signOut},
		{"GET /forgot-password", s.forgotPage},
		{"POST /forgot-password", s.forgotSubmit},
		{"GET /reset-password", s.resetPage},
		{"POST /reset-password", s.resetSubmit},
		{"GET /accounts/{account_id}/invite", s.invitePage},
		{"POST /accounts/{account_id}/invite", s.inviteSubmit},

		// The Users page and its actions (team.manage). Every action page
		// is also what its dialog shows; each takes ?back= (the listing
		// page as the Admin left it) and returns there with a flash.
		// Revoke, restore, resend and delete are routed below, from
		// confirmedActions.
		{"GET /accounts/{account_id}/users", s.accountPage(true, s.usersPage)},
		{"GET /accounts/{account_id}/users/new", s.accountPage(true, s.addUserPage)},
		{"POST /accounts/{account_id}/users/new", s.accountPage(true, s.addUserSubmit)},
		{"GET /accounts/{account_id}/users/{user_id}", s.accountPage(true, s.userDetailsPage)},
		{"GET /accounts/{account_id}/users/{user_id}/features", s.accountPage(true, s.userFeaturesPage)},
		{"GET /accounts/{account_id}/users/{user_id}/edit", s.accountPage(true, s.editUserPage)},
		{"POST /accounts/{account_id}/users/{user_id}/edit", s.accountPage(true, s.editUserSubmit)},
		// The API Keys page and its actions (api_keys.manage).
		{"GET /accounts/{account_id}/api-keys", s.keysPage(s.keysListPage)},
		{"GET /accounts/{account_id}/api-keys/new", s.keysPage(s.keyFormPage)},
		{"POST /accounts/{account_id}/api-keys/new", s.keysPage(s.keyFormSubmit)},
		{"GET /sessions", s.sessionsPage},
		{"POST /sessions/end", s.endSession},
	}
	for _, a := range confirmedActions {
		at := "/accounts/{account_id}/users/{user_id}/" + a.path
		routes = append(routes, pageRoute{"GET " + at, s.accountPage(true, s.actionPage(a))},
			pageRoute{"POST " + at, s.accountPage(true, s.actionSubmit(a))})
	}
	for _, a := range keyActions {
		at := "/accounts/{account_id}/api-keys/{key_id}/" + a.path
		routes = append(routes, pageRoute{"GET " + at, s.keysPage(s.keyActionPage(a))},
			pageRoute{"POST " + at, s.keysPage(s.keyActionSubmit(a))})
	}
	if s.opts.Mailbox != nil {
		routes = append(routes, pageRoute{"GET /dev/mail", s.mailPage})
	}
	return routes
}
