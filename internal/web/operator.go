package web

import (
	"crypto/sha256"
	"crypto/subtle"
	"net/http"
	"strings"

	"roster"
)

// The operator API (/api/operator/v1) is for the platform operator's own
// tools: it turns the additional roles of an account on and off. It is
// authenticated by the operator token of the server's configuration
// (--operator-token), never by an account's API key or a session, and is
// off when no token is configured.

// operatorCaller checks the operator token of r.
func (s *server) operatorCaller(r *http.Request) (*roster.Actor, error) {
	if s.opts.OperatorToken == "" {
		return nil, roster.Errorf(roster.CodeNotFound, "The operator API is off on this server: start roster serve with --operator-token to turn it on.")
	}
	if !bearerIs(r, &s.operatorDigest) {
		return nil, roster.Errorf(roster.CodeUnauthorized, "The operator API needs Authorization: Bearer <operator token>, the server's --operator-token; account API keys are not accepted here.")
	}
	op := roster.OperatorActor()
	op.IP = s.clientIP(r)
	return op, nil
}

// bearerIs reports whether r carries "Authorization: Bearer <token>" with
// the token whose SHA-256 is want. The digests are compared in constant
// time, so neither the token's bytes nor its length leak through timing.
func bearerIs(r *http.Request, want *[sha256.Size]byte) bool {
	scheme, got, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	a := sha256.Sum256([]byte(strings.TrimSpace(got)))
	return strings.EqualFold(scheme, "Bearer") && subtle.ConstantTimeCompare(a[:], want[:]) == 1
}

// operatorAccount answers an account's enabled additional roles and allowed
// email domains.
func (s *server) operatorAccount(w http.ResponseWriter, r *http.Request, _ *roster.Actor) error {
	id := r.PathValue("account_id")
	if !roster.ValidID(id) {
		return roster.Errorf(roster.CodeNotFound, "No account with this id exists.")
	}
	a, err := s.svc.Store().Account(r.Context(), id)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, a.Settings())
}

// enableRole turns an additional role on for an account (PUT, idempotent).
func (s *server) enableRole(w http.ResponseWriter, r *http.Request, _ *roster.Actor) error {
	return s.setRole(w, r, true)
}

// disableRole turns an additional role off (DELETE, idempotent); refused
// with 409 while users hold it, saying how many.
func (s *server) disableRole(w http.ResponseWriter, r *http.Request, _ *roster.Actor) error {
	return s.setRole(w, r, false)
}

func (s *server) setRole(w http.ResponseWriter, r *http.Request, enable bool) error {
	id := roster.RoleID(r.PathValue("role_id"))
	if bit, ok := roster.RoleBit(id); !ok || bit&roster.AdditionalRoles == 0 {
		return &roster.Error{Code: roster.CodeNotFound, Message: "No additional role has this id: use whatsapp_only or numbers_read_only.",
			Fields: roster.Problems{{Field: "role_id", Message: short(string(id)) + " is not an additional role."}}}
	}
	var in roster.UpdateAccountInput
	if enable {
		in.EnableRoles = []roster.RoleID{id}
	} else {
		in.DisableRoles = []roster.RoleID{id}
	}
	a, err := s.svc.UpdateAccount(r.Context(), r.PathValue("account_id"), in)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, a.Settings())
}
