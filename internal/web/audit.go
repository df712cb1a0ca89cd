package web

import (
	"bytes"
	"encoding/csv"
	"encoding/hex"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"roster"
)

// eventJSON is one audit event.
type eventJSON struct {
	ID      string         `json:"id"`
	Seq     int64          `json:"seq"`
	At      *string        `json:"at"`
	Actor   personJSON     `json:"actor"`
	Action  string         `json:"action"`
	Target  *personJSON    `json:"target"` // null when the event is about the account
	Details map[string]any `json:"details"`
	IP      *string        `json:"ip"`
	Hash    string         `json:"hash"` // hex
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
	PrevCursor *string     `json:"prev_cursor"`
}

func newEventJSON(e *roster.AuditEvent) eventJSON {
	out := eventJSON{ID: e.ID, Seq: e.Seq, At: timeJSON(e.At), Action: e.Action, Details: e.Details, IP: nullString(e.IP),
		Actor: personJSON{UserID: nullString(e.ActorID), Name: nullString(e.ActorName), Email: nullString(e.ActorEmail)},
		Hash:  hex.EncodeToString(e.Hash)}
	if e.TargetID != "" || e.TargetName != "" || e.TargetEmail != "" {
		out.Target = &personJSON{UserID: nullString(e.TargetID), Name: nullString(e.TargetName), Email: nullString(e.TargetEmail)}
	}
	if out.Details == nil {
		out.Details = map[string]any{}
	}
	return out
}

// auditQueryParams are the query parameters of the audit log's page; its
// CSV export takes the same but limit and cursor.
var (
	auditQueryParams  = []string{"actor", "action", "target", "since", "until", "limit", "cursor"}
	auditExportParams = []string{"actor", "action", "target", "since", "until"}
)

// parseAuditQuery reads the audit log parameters of a URL.
func parseAuditQuery(v url.Values) (roster.AuditQuery, error) {
	return roster.ParseAuditParams(roster.AuditParams{Actor: v.Get("actor"), Target: v.Get("target"), Actions: v["action"],
		Since: v.Get("since"), Until: v.Get("until"), Limit: v.Get("limit"), Cursor: v.Get("cursor")})
}

func (s *server) auditEvents(w http.ResponseWriter, r *http.Request, caller *roster.Actor) error {
	q, err := parseAuditQuery(r.URL.Query())
	if err != nil {
		return err
	}
	page, err := s.svc.AuditEvents(r.Context(), caller, r.PathValue("account_id"), q)
	if err != nil {
		return err
	}
	out := auditPageJSON{Items: make([]eventJSON, len(page.Items))}
	for i, e := range page.Items {
		out.Items[i] = newEventJSON(e)
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

// auditCSVHeader names the columns of the CSV export.
var auditCSVHeader = []string{"time", "seq", "actor_id", "actor_name", "actor_email", "action", "target_id",
	"target_name", "target_email", "details", "ip", "hash"}

// auditEventsCSV is the API's CSV export: every event the filters select.
func (s *server) auditEventsCSV(w http.ResponseWriter, r *http.Request, caller *roster.Actor) error {
	q, err := parseAuditQuery(r.URL.Query())
	if err != nil {
		return err
	}
	return s.streamAuditCSV(w, r, caller, q)
}

// streamAuditCSV streams the events q selects as CSV, newest
// first, a batch at a time: nothing is written until the first batch is
// read, so a refused or invalid request is still answered with an error;
// a failure after that cuts the response short (no final chunk), which
// clients report as an incomplete download rather than a complete file.
func (s *server) streamAuditCSV(w http.ResponseWriter, r *http.Request, caller *roster.Actor, q roster.AuditQuery) error {
	cw := csv.NewWriter(w)
	started := false
	start := func() {
		started = true
		h := w.Header()
		h.Set("Content-Type", "text/csv; charset=utf-8")
		h.Set("Content-Disposition", `attachment; filename="audit-events-`+s.svc.Now().UTC().Format("2006-01-02")+`.csv"`)
		h.Set("Cache-Control", "no-store")
		h.Set("X-Content-Type-Options", "nosniff")
		w.WriteHeader(http.StatusOK)
		_ = cw.Write(auditCSVHeader)
	}
	err := s.svc.ExportAuditEvents(r.Context(), caller, r.PathValue("account_id"), q, func(e *roster.AuditEvent) error {
		if !started {
			start()
		}
		return cw.Write(auditCSVRow(e))
	})
	if err == nil && !started {
		start()
	}
	if err == nil {
		cw.Flush()
		err = cw.Error()
	}
	if err != nil && started {
		s.logger.ErrorContext(r.Context(), "audit export cut short", "pattern", patternPath(r.Pattern), "err", err)
		panic(http.ErrAbortHandler)
	}
	return err
}

// auditCSVRow is an event as a row of auditCSVHeader, every cell safe to
// open in a spreadsheet.
func auditCSVRow(e *roster.AuditEvent) []string {
	details := []byte("{}")
	if len(e.Details) > 0 {
		if b, err := marshal(e.Details); err == nil {
			details = bytes.TrimSpace(b)
		}
	}
	at := ""
	if t := timeJSON(e.At); t != nil {
		at = *t
	}
	row := []string{at, strconv.FormatInt(e.Seq, 10), e.ActorID, e.ActorName, e.ActorEmail, e.Action, e.TargetID,
		e.TargetName, e.TargetEmail, string(details), e.IP, hex.EncodeToString(e.Hash)}
	for i, c := range row {
		row[i] = csvSafe(c)
	}
	return row
}

// csvSafe defuses a cell that a spreadsheet would read as a formula (CSV
// injection): one starting with =, +, -, @, a tab or a carriage return gets
// a leading apostrophe, which spreadsheets show as text and do not evaluate.
func csvSafe(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}
