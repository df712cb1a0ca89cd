package web

import (
	"crypto/sha256"
	"log/slog"
	"net/http"

	"roster"
)

// NewServer returns Roster's HTTP handler: every route below, behind a
// request log, panic recovery and cross-origin (CSRF) protection. It panics
// when an embedded template does not parse, which no build can ship.
func NewServer(logger *slog.Logger, svc *roster.Service, opts Options) http.Handler {
	return newServer(logger, svc, opts).handler
}

// newServer builds the server; its handler serves every route.
func newServer(logger *slog.Logger, svc *roster.Service, opts Options) *server {
	s := &server{logger: logger, svc: svc, opts: opts, mux: http.NewServeMux(), pages: mustParsePages(),
		secure: opts.PublicURL != nil && opts.PublicURL.Scheme == "https", sessionName: sessionCookie, csrfName: csrfCookie}
	s.operatorDigest, s.gatewayDigest = sha256.Sum256([]byte(opts.OperatorToken)), sha256.Sum256([]byte(opts.GatewayToken))
	if s.secure {
		// __Host- cookies are refused by browsers unless Secure, with Path=/
		// and no Domain: a sibling subdomain cannot plant one.
		s.sessionName, s.csrfName = "__Host-"+sessionCookie, "__Host-"+csrfCookie
	}
	for _, rt := range s.routes() {
		s.handle(rt.pattern, func(rl rule) http.Handler { return s.endpoint(rt, rl) })
	}
	for _, p := range s.pageRoutes() {
		s.handle(p.pattern, func(rl rule) http.Handler { return s.page(s.guardPage(rl, p.serve)) })
	}
	s.handle("GET /static/roster.css", func(rule) http.Handler { return serveAsset(s.pages.css, "roster.css") })
	s.handle("GET /static/roster.js", func(rule) http.Handler { return serveAsset(s.pages.js, "roster.js") })
	cop := http.NewCrossOriginProtection()
	cop.SetDenyHandler(http.HandlerFunc(s.crossOriginDenied))
	s.handler = s.logRequests(s.recoverPanics(cop.Handler(http.HandlerFunc(s.dispatch))))
	if s.secure {
		s.handler = hsts(s.handler)
	}
	return s
}

// hsts tells browsers to reach this server over HTTPS only, for a year.
func hsts(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Strict-Transport-Security", "max-age=31536000")
		next.ServeHTTP(w, r)
	})
}

// handle registers a route with the handler its policy rule gets (see
// policy.go); a pattern the policy table lacks is refused to everyone.
func (s *server) handle(pattern string, h func(rule) http.Handler) {
	s.patterns = append(s.patterns, pattern)
	if rl, ok := ruleFor(pattern); ok {
		s.mux.Handle(pattern, h(rl))
		return
	}
	s.mux.Handle(pattern, s.noPolicy(pattern))
}

// route is one endpoint: its ServeMux pattern, the query parameters it
// accepts, and its handler. Who may call it is in policy.go.
type route struct {
	pattern string
	query   []string
	serve   handler
}

// routes lists every route of the JSON API; openapi.json documents each one.
func (s *server) routes() []route {
	list := []string{"q", "filter", "sort", "limit", "cursor"}
	return []route{
		{"GET /healthz", nil, s.healthz},
		{"GET /readyz", nil, s.readyz},
		{"GET /api/v1/openapi.json", nil, s.openAPI},
		{"GET /api/v1/roles", nil, s.listRoles},
		{"GET /api/v1/accounts/{account_id}/users", list, s.listUsers},
		{"POST /api/v1/accounts/{account_id}/users", nil, s.inviteUser},
		{"GET /api/v1/accounts/{account_id}/users/{user_id}", nil, s.getUser},
		{"PATCH /api/v1/accounts/{account_id}/users/{user_id}", nil, s.updateUser},
		{"DELETE /api/v1/accounts/{account_id}/users/{user_id}", nil, s.deleteUser},
		{"POST /api/v1/accounts/{account_id}/users/{user_id}/revoke", nil, s.revokeUser},
		{"POST /api/v1/accounts/{account_id}/users/{user_id}/restore", nil, s.restoreUser},
		{"POST /api/v1/accounts/{account_id}/users/{user_id}/resend-invitation", nil, s.resendInvitation},
		{"GET /api/v1/accounts/{account_id}/users/{user_id}/permissions", nil, s.userPermissions},
		{"GET /api/v1/accounts/{account_id}/audit-events", auditQueryParams, s.auditEvents},
		{"GET /api/v1/accounts/{account_id}/audit-events.csv", auditExportParams, s.auditEventsCSV},

		// API keys and the gateway check.
		{"GET /api/v1/accounts/{account_id}/api-keys", nil, s.listAPIKeys},
		{"POST /api/v1/accounts/{account_id}/api-keys", nil, s.createAPIKey},
		{"GET /api/v1/accounts/{account_id}/api-keys/{key_id}", nil, s.getAPIKey},
		{"PATCH /api/v1/accounts/{account_id}/api-keys/{key_id}", nil, s.updateAPIKey},
		{"DELETE /api/v1/accounts/{account_id}/api-keys/{key_id}", nil, s.deleteAPIKey},
		{verifyPattern, nil, s.verifyKey},

		// The operator API.
		{"GET /api/operator/v1/accounts/{account_id}", nil, s.operatorAccount},
		{"PUT /api/operator/v1/accounts/{account_id}/roles/{role_id}", nil, s.enableRole},
		{"DELETE /api/operator/v1/accounts/{account_id}/roles/{role_id}", nil, s.disableRole},
	}
}

// pageRoute is one server-rendered page (HTML, forms, no JavaScript). Who
// may open it is in policy.go; pages inside an account find pr.account
// and pr.actor set.
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
		{"GET /accounts/{account_id}/users", s.usersPage},
		{"GET /accounts/{account_id}/users/new", s.addUserPage},
		{"POST /accounts/{account_id}/users/new", s.addUserSubmit},
		{"GET /accounts/{account_id}/users/{user_id}", s.userDetailsPage},
		{"GET /accounts/{account_id}/users/{user_id}/features", s.userFeaturesPage},
		{"GET /accounts/{account_id}/users/{user_id}/edit", s.editUserPage},
		{"POST /accounts/{account_id}/users/{user_id}/edit", s.editUserSubmit},
		{"GET /accounts/{account_id}/audit", s.auditPage},
		{"GET /accounts/{account_id}/audit.csv", s.auditCSVPage},
		// The API Keys page and its actions (api_keys.manage).
		{"GET /accounts/{account_id}/api-keys", s.keysListPage},
		{"GET /accounts/{account_id}/api-keys/new", s.keyFormPage},
		{"POST /accounts/{account_id}/api-keys/new", s.keyFormSubmit},
		{"GET /accounts/{account_id}/api-keys/{key_id}/created", s.keyCreatedPage},
		{"GET /roles", s.rolesPage},
		{"GET /sessions", s.sessionsPage},
		{"POST /sessions/end", s.endSession},
	}
	for _, a := range confirmedActions {
		at := "/accounts/{account_id}/users/{user_id}/" + a.path
		routes = append(routes, pageRoute{"GET " + at, s.actionPage(a)},
			pageRoute{"POST " + at, s.actionSubmit(a)})
	}
	for _, a := range keyActions {
		at := "/accounts/{account_id}/api-keys/{key_id}/" + a.path
		routes = append(routes, pageRoute{"GET " + at, s.keyActionPage(a)},
			pageRoute{"POST " + at, s.keyActionSubmit(a)})
	}
	if s.opts.Mailbox != nil {
		routes = append(routes, pageRoute{"GET /dev/mail", s.mailPage})
	}
	return routes
}
