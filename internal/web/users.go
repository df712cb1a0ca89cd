package web

import (
	"encoding/json"
	"net/http"
	"time"

	"roster"
)

// userJSON is a user as a row of the list.
type userJSON struct {
	ID          string          `json:"id"`
	FirstName   string          `json:"first_name"`
	LastName    string          `json:"last_name"`
	Email       string          `json:"email"`
	Roles       []roster.RoleID `json:"roles"`
	Status      roster.Status   `json:"status"`
	AccessUntil *string         `json:"access_until"`
	// AccessExpired: active, but the access deadline has passed, so the
	// user can no longer act (the Users page shows Inactive, "Access
	// expired"). Status stays active: extending the deadline resumes access.
	AccessExpired bool    `json:"access_expired"`
	LastLoginAt   *string `json:"last_login_at"`
	InvitedAt     *string `json:"invited_at"`
	JoinedAt      *string `json:"joined_at"`
}

func newUserJSON(u *roster.User, now time.Time) userJSON {
	return userJSON{ID: u.ID, FirstName: u.FirstName, LastName: u.LastName, Email: u.Email, Roles: u.Roles.IDs(),
		Status: u.Status, AccessUntil: timeJSON(u.AccessUntil), AccessExpired: u.AccessExpired(now), LastLoginAt: timeJSON(u.LastLoginAt),
		InvitedAt: timeJSON(u.InvitedAt), JoinedAt: timeJSON(u.JoinedAt)}
}

// userDetailsJSON is a user as the View Details page shows it.
type userDetailsJSON struct {
	userJSON
	AccountID       string        `json:"account_id"`
	ExpertAccess    *string       `json:"expert_access"`
	InvitedBy       inviterJSON   `json:"invited_by"`
	LastLoginIP     *string       `json:"last_login_ip"`
	LastLoginDevice *string       `json:"last_login_device"`
	RevokedAt       *string       `json:"revoked_at"`
	RevokeReason    *string       `json:"revoke_reason"`
	RevokeNote      *string       `json:"revoke_note"`
	ActiveAPIKeys   int64         `json:"active_api_keys"`
	UpdatedAt       *string       `json:"updated_at"`
	Invitation      *deliveryJSON `json:"invitation"`
}

// deliveryJSON is the delivery of an invited user's newest invitation email.
type deliveryJSON struct {
	Delivery  string  `json:"delivery"`
	SentAt    *string `json:"sent_at"`
	Attempts  int     `json:"attempts"`
	LastError *string `json:"last_error"`
}

func newDeliveryJSON(d *roster.InvitationDelivery) *deliveryJSON {
	if d == nil || d.State == "" {
		return nil
	}
	return &deliveryJSON{Delivery: d.State, SentAt: timeJSON(d.SentAt), Attempts: d.Attempts, LastError: nullString(d.LastError)}
}

type inviterJSON struct {
	UserID *string `json:"user_id"` // null: the operator
	Name   string  `json:"name"`
}

type userListJSON struct {
	Items      []userJSON `json:"items"`
	Total      int64      `json:"total"`
	NextCursor *string    `json:"next_cursor"`
	PrevCursor *string    `json:"prev_cursor"`
}

// writeUser writes a user's details at now with its ETag.
func writeUser(w http.ResponseWriter, status int, d *roster.UserDetails, now time.Time) error {
	u := d.User
	w.Header().Set("ETag", u.ETag())
	return writeJSON(w, status, userDetailsJSON{userJSON: newUserJSON(u, now), AccountID: u.AccountID,
		ExpertAccess: nullString(string(u.ExpertAccess)),
		InvitedBy:    inviterJSON{UserID: nullString(u.InvitedBy), Name: u.InvitedByName},
		LastLoginIP:  nullString(u.LastLoginIP), LastLoginDevice: nullString(u.LastLoginDevice),
		RevokedAt: timeJSON(u.RevokedAt), RevokeReason: nullString(string(u.RevokeReason)), RevokeNote: nullString(u.RevokeNote),
		ActiveAPIKeys: d.ActiveAPIKeys, UpdatedAt: timeJSON(u.UpdatedAt), Invitation: newDeliveryJSON(d.Invitation)})
}

// writeChanged answers a change of a user with their details.
func (s *server) writeChanged(w http.ResponseWriter, r *http.Request, u *roster.User, err error) error {
	if err != nil {
		return err
	}
	d, err := s.svc.Details(r.Context(), u)
	if err != nil {
		return err
	}
	return writeUser(w, http.StatusOK, d, s.svc.Now())
}

func (s *server) listUsers(w http.ResponseWriter, r *http.Request, caller *roster.Actor) error {
	v := r.URL.Query()
	q, err := roster.ParseListParams(roster.ListParams{Q: v.Get("q"), Filters: v["filter"], Sort: v.Get("sort"),
		Limit: v.Get("limit"), Cursor: v.Get("cursor")})
	if err != nil {
		return err
	}
	page, err := s.svc.ListUsers(r.Context(), caller, r.PathValue("account_id"), q)
	if err != nil {
		return err
	}
	out := userListJSON{Items: make([]userJSON, len(page.Items)), Total: page.Total}
	now := s.svc.Now()
	for i, u := range page.Items {
		out.Items[i] = newUserJSON(u, now)
	}
	if page.NextCursor != nil {
		c := page.NextCursor.Encode()
		out.NextCursor = &c
	}
	if page.PrevCursor != nil {
		c := page.PrevCursor.Encode()
		out.PrevCursor = &c
	}
	return writeJSON(w, http.StatusOK, out)
}

func (s *server) inviteUser(w http.ResponseWriter, r *http.Request, caller *roster.Actor) error {
	var in roster.InviteInput
	var until optTime
	var level optLevel
	if _, err := decodeJSON(w, r,
		field{"first_name", &in.FirstName, "a string"},
		field{"last_name", &in.LastName, "a string"},
		field{"email", &in.Email, "a string"},
		field{"roles", &in.Roles, "an array of role ids (strings)"},
		field{"access_until", &until, "an RFC 3339 date-time such as 2030-01-31T18:00:00Z, or null"},
		field{"expert_access", &level, "a string: read_only or limited_write (an Expert's access level), or null"},
	); err != nil {
		return err
	}
	if !until.t.IsZero() {
		in.AccessUntil = &until.t
	}
	in.ExpertAccess = level.l
	u, err := s.svc.InviteUser(r.Context(), caller, r.PathValue("account_id"), in)
	if err != nil {
		return err
	}
	d, err := s.svc.Details(r.Context(), u)
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/api/v1/accounts/"+u.AccountID+"/users/"+u.ID)
	return writeUser(w, http.StatusCreated, d, s.svc.Now())
}

func (s *server) getUser(w http.ResponseWriter, r *http.Request, caller *roster.Actor) error {
	d, err := s.svc.User(r.Context(), caller, r.PathValue("account_id"), r.PathValue("user_id"))
	if err != nil {
		return err
	}
	return writeUser(w, http.StatusOK, d, s.svc.Now())
}

func (s *server) updateUser(w http.ResponseWriter, r *http.Request, caller *roster.Actor) error {
	var roles []roster.RoleID
	var until optTime
	var level optLevel
	set, err := decodeJSON(w, r,
		field{"roles", &roles, "an array of role ids (strings)"},
		field{"access_until", &until, "an RFC 3339 date-time such as 2030-01-31T18:00:00Z, or null to remove the deadline"},
		field{"expert_access", &level, "a string: read_only or limited_write (an Expert's access level), or null"},
	)
	if err != nil {
		return err
	}
	var in roster.UpdateInput
	if set["roles"] {
		in.Roles = &roles
	}
	if until.set {
		in.AccessUntil = &until.t // zero removes the deadline
	}
	if level.set {
		in.ExpertAccess = &level.l // "" (null) clears it
	}
	u, err := s.svc.UpdateUser(r.Context(), caller, r.PathValue("account_id"), r.PathValue("user_id"), in, r.Header.Get("If-Match"))
	return s.writeChanged(w, r, u, err)
}

func (s *server) deleteUser(w http.ResponseWriter, r *http.Request, caller *roster.Actor) error {
	if err := s.svc.DeleteUser(r.Context(), caller, r.PathValue("account_id"), r.PathValue("user_id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *server) revokeUser(w http.ResponseWriter, r *http.Request, caller *roster.Actor) error {
	var in roster.RevokeInput
	if _, err := decodeJSON(w, r,
		field{"reason", &in.Reason, "a string: issue_resolved, security_privacy or other"},
		field{"note", &in.Note, "a string"},
	); err != nil {
		return err
	}
	u, err := s.svc.RevokeUser(r.Context(), caller, r.PathValue("account_id"), r.PathValue("user_id"), in)
	return s.writeChanged(w, r, u, err)
}

func (s *server) restoreUser(w http.ResponseWriter, r *http.Request, caller *roster.Actor) error {
	u, err := s.svc.RestoreUser(r.Context(), caller, r.PathValue("account_id"), r.PathValue("user_id"))
	return s.writeChanged(w, r, u, err)
}

func (s *server) resendInvitation(w http.ResponseWriter, r *http.Request, caller *roster.Actor) error {
	u, err := s.svc.ResendInvitation(r.Context(), caller, r.PathValue("account_id"), r.PathValue("user_id"))
	return s.writeChanged(w, r, u, err)
}

type grantsJSON struct {
	Items []roster.Grant `json:"items"`
}

func (s *server) userPermissions(w http.ResponseWriter, r *http.Request, caller *roster.Actor) error {
	grants, err := s.svc.UserPermissions(r.Context(), caller, r.PathValue("account_id"), r.PathValue("user_id"))
	if err != nil {
		return err
	}
	if grants == nil {
		grants = []roster.Grant{}
	}
	return writeJSON(w, http.StatusOK, grantsJSON{Items: grants})
}

// optLevel decodes an Expert access level that may be null ("").
type optLevel struct {
	l   roster.AccessLevel
	set bool
}

func (o *optLevel) UnmarshalJSON(b []byte) error {
	o.set = true
	if string(b) == "null" {
		o.l = ""
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	o.l = roster.AccessLevel(s)
	return nil
}
