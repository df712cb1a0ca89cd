package web

import (
	"log/slog"
	"net/http"

	"roster"
)

// NewServer returns Roster's HTTP handler: every route below, behind a
// request log, panic recovery and cross-origin (CSRF) protection.
func NewServer(logger *slog.Logger, svc *roster.Service) http.Handler {
	s := &server{logger: logger, svc: svc, mux: http.NewServeMux()}
	for _, rt := range s.routes() {
		s.mux.Handle(rt.pattern, s.endpoint(rt))
	}
	cop := http.NewCrossOriginProtection()
	cop.SetDenyHandler(http.HandlerFunc(s.crossOriginDenied))
	return s.logRequests(s.recoverPanics(cop.Handler(http.HandlerFunc(s.dispatch))))
}

// route is one endpoint: its ServeMux pattern, whether it needs an
// authenticated caller, the query parameters it accepts, and its handler.
type route struct {
	pattern string
	auth    bool
	query   []string
	serve   handler
}

// routes lists every route of the server; openapi.json documents each one.
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
	}
}
