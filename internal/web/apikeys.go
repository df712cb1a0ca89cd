package web

import (
	"encoding/json"
	"net/http"

	"roster"
)

// apiKeyJSON is a key as its list shows it; the secret never appears
// after creation.
type apiKeyJSON struct {
	ID         string      `json:"id"`
	Name       string      `json:"name"`
	Creator    creatorJSON `json:"creator"`
	Prefix     string      `json:"prefix"`
	LastFour   string      `json:"last_four"`
	CreatedAt  *string     `json:"created_at"`
	LastUsedAt *string     `json:"last_used_at"`
	ExpiresAt  *string     `json:"expires_at"`
	AllowedIPs []string    `json:"allowed_ips"`
	Scope      []string    `json:"scope"` // null: every permission of the creator
	State      string      `json:"state"`
}

type creatorJSON struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// newAPIKeyJSON describes k as its state is at now.
func newAPIKeyJSON(k *roster.APIKey, s *server) apiKeyJSON {
	out := apiKeyJSON{ID: k.ID, Name: k.Name, Creator: creatorJSON{ID: k.UserID}, Prefix: k.Prefix(), LastFour: k.Hint,
		CreatedAt: timeJSON(k.CreatedAt), LastUsedAt: timeJSON(k.LastUsedAt), ExpiresAt: timeJSON(k.ExpiresAt),
		AllowedIPs: k.AllowedIPs, Scope: k.Scope, State: k.State(s.svc.Now())}
	if k.Owner != nil {
		out.Creator.Name = k.Owner.FullName()
	}
	if out.AllowedIPs == nil {
		out.AllowedIPs = []string{}
	}
	return out
}

// createdKeyJSON is a new key with its secret, which only the creation answers.
type createdKeyJSON struct {
	apiKeyJSON
	Key string `json:"key"`
}

type apiKeyListJSON struct {
	Items []apiKeyJSON `json:"items"`
}

func apiKeyPath(k *roster.APIKey) string {
	return "/api/v1/accounts/" + k.AccountID + "/api-keys/" + k.ID
}

func (s *server) listAPIKeys(w http.ResponseWriter, r *http.Request, caller *roster.Actor) error {
	keys, err := s.svc.APIKeys(r.Context(), caller, r.PathValue("account_id"))
	if err != nil {
		return err
	}
	out := apiKeyListJSON{Items: make([]apiKeyJSON, len(keys))}
	for i, k := range keys {
		out.Items[i] = newAPIKeyJSON(k, s)
	}
	return writeJSON(w, http.StatusOK, out)
}

func (s *server) createAPIKey(w http.ResponseWriter, r *http.Request, caller *roster.Actor) error {
	var in roster.KeyInput
	var expires optTime
	var scope optList
	if _, err := decodeJSON(w, r,
		field{"name", &in.Name, "a string"},
		field{"expires_at", &expires, "an RFC 3339 date-time such as 2030-01-31T18:00:00Z, or null"},
		field{"allowed_ips", &in.AllowedIPs, "an array of IP addresses and CIDR ranges (strings)"},
		field{"scope", &scope, "an array of permission ids (strings), or null"},
		field{"user_email", &in.UserEmail, "a string"},
	); err != nil {
		return err
	}
	in.ExpiresAt = expires.t
	if scope.list != nil {
		in.Scope = scope.list // [] stays empty, which the service refuses by name
	}
	k, secret, err := s.svc.CreateKey(r.Context(), caller, r.PathValue("account_id"), in)
	if err != nil {
		return err
	}
	w.Header().Set("Location", apiKeyPath(k))
	return writeJSON(w, http.StatusCreated, createdKeyJSON{apiKeyJSON: newAPIKeyJSON(k, s), Key: secret})
}

// optList is an optional, nullable array of strings: absent or null
// leaves list nil, [] makes it empty but not nil.
type optList struct{ list []string }

// UnmarshalJSON implements json.Unmarshaler.
func (o *optList) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		return nil
	}
	if err := json.Unmarshal(b, &o.list); err != nil {
		return err
	}
	if o.list == nil {
		o.list = []string{}
	}
	return nil
}

func (s *server) getAPIKey(w http.ResponseWriter, r *http.Request, caller *roster.Actor) error {
	k, err := s.svc.APIKey(r.Context(), caller, r.PathValue("account_id"), r.PathValue("key_id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, newAPIKeyJSON(k, s))
}

func (s *server) updateAPIKey(w http.ResponseWriter, r *http.Request, caller *roster.Actor) error {
	var name string
	var active bool
	set, err := decodeJSON(w, r,
		field{"name", &name, "a string"},
		field{"active", &active, "true or false"},
	)
	if err != nil {
		return err
	}
	var in roster.KeyUpdate
	if set["name"] {
		in.Name = &name
	}
	if set["active"] {
		in.Active = &active
	}
	k, err := s.svc.UpdateAPIKey(r.Context(), caller, r.PathValue("account_id"), r.PathValue("key_id"), in)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, newAPIKeyJSON(k, s))
}

func (s *server) deleteAPIKey(w http.ResponseWriter, r *http.Request, caller *roster.Actor) error {
	if err := s.svc.DeleteAPIKey(r.Context(), caller, r.PathValue("account_id"), r.PathValue("key_id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// verifyPattern is the route of the gateway check.
const verifyPattern = "POST /api/v1/keys/verify"

// verdictJSON is the answer of the gateway check. A refusal carries only
// its reason.
type verdictJSON struct {
	Valid       bool     `json:"valid"`
	Reason      string   `json:"reason,omitempty"`
	AccountID   string   `json:"account_id,omitempty"`
	UserID      string   `json:"user_id,omitempty"`
	KeyID       string   `json:"key_id,omitempty"`
	Permissions []string `json:"permissions,omitempty"`
}

// validVerdictJSON keeps permissions in the answer when the list is empty.
type validVerdictJSON struct {
	Valid       bool     `json:"valid"`
	AccountID   string   `json:"account_id"`
	UserID      string   `json:"user_id"`
	KeyID       string   `json:"key_id"`
	Permissions []string `json:"permissions"`
}

// verifyKey is the gateway check. It is public to the API-key machinery:
// the caller is the platform's gateway, proven by the gateway token.
func (s *server) verifyKey(w http.ResponseWriter, r *http.Request, _ *roster.Actor) error {
	var key, permission, clientIP string
	if _, err := decodeJSON(w, r,
		field{"key", &key, "a string"},
		field{"permission", &permission, "a permission id (string)"},
		field{"client_ip", &clientIP, "an IP address (string)"},
	); err != nil {
		return err
	}
	v, err := s.svc.VerifyKey(r.Context(), key, permission, clientIP)
	if err != nil {
		return err
	}
	if !v.Valid {
		return writeJSON(w, http.StatusOK, verdictJSON{Reason: v.Reason})
	}
	if body, ok := appendValidVerdict(make([]byte, 0, 256), v); ok {
		return writeJSONBytes(w, http.StatusOK, body)
	}
	return writeJSON(w, http.StatusOK, validVerdictJSON{Valid: true, AccountID: v.AccountID, UserID: v.UserID,
		KeyID: v.KeyID, Permissions: v.Permissions})
}

// appendValidVerdict writes a valid verdict as encoding/json would (ids
// and permission ids are plain ASCII), the busiest answer of the server,
// without reflection; ok is false for a string that would need escaping,
// which encoding/json then writes.
func appendValidVerdict(b []byte, v *roster.KeyVerdict) ([]byte, bool) {
	plain := func(s string) bool {
		for i := 0; i < len(s); i++ {
			if c := s[i]; c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
				return false
			}
		}
		return true
	}
	str := func(b []byte, s string) []byte { return append(append(append(b, '"'), s...), '"') }
	if !plain(v.AccountID) || !plain(v.UserID) || !plain(v.KeyID) {
		return nil, false
	}
	b = append(b, `{"valid":true,"account_id":`...)
	b = str(b, v.AccountID)
	b = append(b, `,"user_id":`...)
	b = str(b, v.UserID)
	b = append(b, `,"key_id":`...)
	b = str(b, v.KeyID)
	b = append(b, `,"permissions":[`...)
	for i, p := range v.Permissions {
		if !plain(p) {
			return nil, false
		}
		if i > 0 {
			b = append(b, ',')
		}
		b = str(b, p)
	}
	return append(b, "]}\n"...), true
}

// checkGatewayToken admits a request that carries the gateway token.
func (s *server) checkGatewayToken(r *http.Request) error {
	if s.opts.GatewayToken == "" {
		return roster.Errorf(codeUnavailable, "The key check is not enabled on this server: start roster serve with --gateway-token "+
			"(or ROSTER_GATEWAY_TOKEN) and send that token as Authorization: Bearer <token>.")
	}
	if !bearerIs(r, &s.gatewayDigest) {
		return roster.Errorf(roster.CodeUnauthorized, "The key check needs the gateway token of this server as Authorization: Bearer <token>.")
	}
	return nil
}
