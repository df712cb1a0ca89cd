package web

import (
	"net/http"
	"strings"

	"roster"
)

// rule is what a route asks of its caller: one of the constants below, or
// the id of a permission of the catalogue (roster.Permissions), which the
// caller must hold as a member of the route's {account_id}.
type rule string

const (
	// anyone: no authentication. Pages that act on a secret link (/join,
	// /reset-password, /setup, /dev/mail) check the link's own token.
	anyone rule = "anyone"
	// signedIn: any authenticated caller; an API key or a session on the
	// API, a session on pages. What they see is their own.
	signedIn rule = "signed-in"
	// operator: the operator API token (--operator-token), never an
	// account's key or session.
	operator rule = "operator"
	// gateway: the platform's gateway, by the gateway token
	// (--gateway-token); the key check only.
	gateway rule = "gateway"
	// selfOrTeam: on a route of one user, any member of the account for
	// their own user; team.manage for anyone else's.
	selfOrTeam rule = "self, or team.manage"
)

// policy is the one table of who may use which route of the server. Every
// route registered in routes.go has exactly one entry, checked before its
// handler runs: a route without one answers 403 to everyone, and
// TestEveryRouteHasAPolicy fails. On a route with {account_id} and a
// permission, a caller of another account gets the same 404 as for an
// account that does not exist, and a member without the permission 403.
// TestPolicyMatrix runs every route as every role and checks the answers
// against this table. The service checks the same permissions again, for
// its callers that do not come through HTTP (the CLI).
var policy = map[string]rule{
	// Health, documentation and the static assets.
	"GET /healthz":             anyone,
	"GET /readyz":              anyone,
	"GET /api/v1/openapi.json": anyone,
	"GET /static/roster.css":   anyone,
	"GET /static/roster.js":    anyone,

	// Signing in, first run and the secret links.
	"GET /{$}":              anyone, // the sign-in page, or the person's accounts
	"GET /setup":            anyone,
	"POST /setup":           anyone,
	"GET /join":             anyone,
	"POST /join":            anyone,
	"GET /sign-in":          anyone,
	"POST /sign-in":         anyone,
	"POST /sign-out":        anyone,
	"GET /forgot-password":  anyone,
	"POST /forgot-password": anyone,
	"GET /reset-password":   anyone,
	"POST /reset-password":  anyone,
	"GET /dev/mail":         anyone,
	"GET /roles":            signedIn,
	"GET /sessions":         signedIn,
	"POST /sessions/end":    signedIn,
	"GET /api/v1/roles":     signedIn,

	// The users of an account: the JSON API.
	"GET /api/v1/accounts/{account_id}/users":                              "team.manage",
	"POST /api/v1/accounts/{account_id}/users":                             "team.manage",
	"GET /api/v1/accounts/{account_id}/users/{user_id}":                    selfOrTeam,
	"PATCH /api/v1/accounts/{account_id}/users/{user_id}":                  "team.manage",
	"DELETE /api/v1/accounts/{account_id}/users/{user_id}":                 "team.manage",
	"POST /api/v1/accounts/{account_id}/users/{user_id}/revoke":            "team.manage",
	"POST /api/v1/accounts/{account_id}/users/{user_id}/restore":           "team.manage",
	"POST /api/v1/accounts/{account_id}/users/{user_id}/resend-invitation": "team.manage",
	"GET /api/v1/accounts/{account_id}/users/{user_id}/permissions":        selfOrTeam,
	"GET /api/v1/accounts/{account_id}/audit-events.csv":                   "team.manage",
	"GET /api/v1/accounts/{account_id}/audit-events":                       "team.manage",

	// The users of an account: the pages.
	"GET /accounts/{account_id}/invite":                   "team.manage",
	"POST /accounts/{account_id}/invite":                  "team.manage",
	"GET /accounts/{account_id}/users":                    "team.manage",
	"GET /accounts/{account_id}/users/new":                "team.manage",
	"POST /accounts/{account_id}/users/new":               "team.manage",
	"GET /accounts/{account_id}/users/{user_id}":          "team.manage",
	"GET /accounts/{account_id}/users/{user_id}/features": "team.manage",
	"GET /accounts/{account_id}/users/{user_id}/edit":     "team.manage",
	"POST /accounts/{account_id}/users/{user_id}/edit":    "team.manage",
	"GET /accounts/{account_id}/users/{user_id}/revoke":   "team.manage",
	"POST /accounts/{account_id}/users/{user_id}/revoke":  "team.manage",
	"GET /accounts/{account_id}/users/{user_id}/restore":  "team.manage",
	"POST /accounts/{account_id}/users/{user_id}/restore": "team.manage",
	"GET /accounts/{account_id}/users/{user_id}/resend":   "team.manage",
	"POST /accounts/{account_id}/users/{user_id}/resend":  "team.manage",
	"GET /accounts/{account_id}/users/{user_id}/delete":   "team.manage",
	"POST /accounts/{account_id}/users/{user_id}/delete":  "team.manage",

	// The audit log page and its CSV download.
	"GET /accounts/{account_id}/audit":     "team.manage",
	"GET /accounts/{account_id}/audit.csv": "team.manage",

	// API keys: a member's own with api_keys.manage, everyone's for an
	// Admin (the service narrows the list); and the gateway's key check.
	"GET /api/v1/accounts/{account_id}/api-keys":               "api_keys.manage",
	"POST /api/v1/accounts/{account_id}/api-keys":              "api_keys.manage",
	"GET /api/v1/accounts/{account_id}/api-keys/{key_id}":      "api_keys.manage",
	"PATCH /api/v1/accounts/{account_id}/api-keys/{key_id}":    "api_keys.manage",
	"DELETE /api/v1/accounts/{account_id}/api-keys/{key_id}":   "api_keys.manage",
	"GET /accounts/{account_id}/api-keys":                      "api_keys.manage",
	"GET /accounts/{account_id}/api-keys/new":                  "api_keys.manage",
	"GET /accounts/{account_id}/api-keys/{key_id}/created":     "api_keys.manage",
	"POST /accounts/{account_id}/api-keys/new":                 "api_keys.manage",
	"GET /accounts/{account_id}/api-keys/{key_id}/deactivate":  "api_keys.manage",
	"POST /accounts/{account_id}/api-keys/{key_id}/deactivate": "api_keys.manage",
	"GET /accounts/{account_id}/api-keys/{key_id}/activate":    "api_keys.manage",
	"POST /accounts/{account_id}/api-keys/{key_id}/activate":   "api_keys.manage",
	"GET /accounts/{account_id}/api-keys/{key_id}/delete":      "api_keys.manage",
	"POST /accounts/{account_id}/api-keys/{key_id}/delete":     "api_keys.manage",
	"POST /api/v1/keys/verify":                                 gateway,

	// The operator API: additional roles of an account.
	"GET /api/operator/v1/accounts/{account_id}":                    operator,
	"PUT /api/operator/v1/accounts/{account_id}/roles/{role_id}":    operator,
	"DELETE /api/operator/v1/accounts/{account_id}/roles/{role_id}": operator,
}

// permission returns the permission a rule needs of a member, or "" for
// the rules that need none.
func (r rule) permission() string {
	switch r {
	case anyone, signedIn, operator, gateway:
		return ""
	case selfOrTeam:
		return "team.manage"
	}
	return string(r)
}

// check tells whether an authenticated caller may use a route of rule r
// on request r: nil, or CodeNotFound for another account's caller and
// CodeForbidden for a member who lacks the permission.
func (rl rule) check(caller *roster.Actor, r *http.Request) error {
	p := rl.permission()
	if p == "" {
		return nil
	}
	accountID := r.PathValue("account_id")
	if rl == selfOrTeam && !caller.Operator && caller.AccountID == accountID && caller.UserID == r.PathValue("user_id") {
		return nil
	}
	return caller.Authorize(accountID, p)
}

// valid reports whether r is a constant or a permission of the catalogue.
func (r rule) valid() bool {
	if p := r.permission(); p != "" {
		_, ok := roster.PermissionByID(p)
		return ok
	}
	return true
}

// ruleFor returns the policy of a pattern; ok is false when it has none.
func ruleFor(pattern string) (rule, bool) {
	r, ok := policy[pattern]
	return r, ok && r.valid()
}

// noPolicy refuses a route the policy table forgot: nobody may use it until
// someone decides who may.
func (s *server) noPolicy(pattern string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.logger.Error("route without a policy entry", "pattern", pattern)
		s.fail(w, r, roster.Errorf(roster.CodeForbidden, "This address is not open to anyone yet."))
	})
}

// forbiddenWords says, on a page at path, why a member may not open it.
func forbiddenWords(acct *roster.Account, permission, path string) string {
	if permission == "team.manage" {
		what := "manage its users"
		if strings.Contains(path, "/audit") {
			what = "read its audit log"
		}
		return "Only an Admin of " + acct.Name + " can " + what + ". Ask one of its Admins."
	}
	p, _ := roster.PermissionByID(permission)
	return "Your roles in " + acct.Name + " do not include the " + p.Name + " permission. Ask one of its Admins."
}
