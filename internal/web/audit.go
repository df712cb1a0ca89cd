package web

import (
	"net/http"
	"strconv"

	"roster"
)

// eventJSON is one audit event.
type eventJSON struct {
	ID      string         `json:"id"`
	At      *string        `json:"at"`
	Actor   personJSON     `json:"actor"`
	Action  string         `json:"action"`
	Target  *personJSON    `json:"target"` // null when the event is about the account
	Details map[string]any `json:"details"`
	IP      *string        `json:"ip"`
}

// personJSON names an actor or target; user_id is null for the operator, and
// stays set after the user is deleted, with the name and email of the time.
type personJSON struct {
	UserID *string `json:"user_id"`
	Name   *string `json:"name"`
	Email  *string `json:"email"`
}

type auditPageJSON struct {
	Items      []eventJSON `json:"items"`
	NextCursor *string     `json:"next_cursor"`
}

func newEventJSON(e *roster.AuditEvent) eventJSON {
	out := eventJSON{ID: e.ID, At: timeJSON(e.At), Action: e.Action, Details: e.Details, IP: nullString(e.IP),
		Actor: personJSON{UserID: nullString(e.ActorID), Name: nullString(e.ActorName), Email: nullString(e.ActorEmail)}}
	if e.TargetID != "" || e.TargetName != "" || e.TargetEmail != "" {
		out.Target = &personJSON{UserID: nullString(e.TargetID), Name: nullString(e.TargetName), Email: nullString(e.TargetEmail)}
	}
	if out.Details == nil {
		out.Details = map[string]any{}
	}
	return out
}

func (s *server) auditEvents(w http.ResponseWriter, r *http.Request, caller *roster.Actor) error {
	v := r.URL.Query()
	q := roster.AuditQuery{BeforeID: v.Get("cursor")}
	if l := v.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > roster.MaxLimit || l[0] == '+' {
			return &roster.Error{Code: roster.CodeBadRequest, Message: "Some list parameters are not valid; see errors.",
				Fields: []roster.FieldError{{Field: "limit", Message: "limit must be a whole number from 1 to " + strconv.Itoa(roster.MaxLimit) + "."}}}
		}
		q.Limit = n
	}
	page, err := s.svc.AuditEvents(r.Context(), caller, r.PathValue("account_id"), q)
	if err != nil {
		return err
	}
	out := auditPageJSON{Items: make([]eventJSON, len(page.Items)), NextCursor: nullString(page.NextCursor)}
	for i, e := range page.Items {
		out.Items[i] = newEventJSON(e)
	}
	return writeJSON(w, http.StatusOK, out)
}
