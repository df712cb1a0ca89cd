package web

import (
	"net/http"
	"net/url"
	"strings"
	"time"

	"roster"
)

// The audit log page of an account (team.manage): a filters form (who did
// it, what, to whom, from and to dates), a table of events newest first
// paged both ways by keyset, and the CSV download of the same filters.
// Everything it shows is in its address, like the Users page.

// auditState is what an audit page address asks for: the filters as the
// Admin typed them, and the page position.
type auditState struct {
	Actor, Target string // a user id, an email address, or (actor) "operator"
	Action        string // one action; "" for any
	From, To      string // dates, YYYY-MM-DD, both days included
	Cursor        string
}

// auditGone names, until an event tells the name, a filter's user who is
// no longer in the account.
const auditGone = "a user who no longer exists"

// auditDate is the form of the page's dates.
const auditDate = "2006-01-02"

// readAuditState reads an audit page address.
func readAuditState(v url.Values) auditState {
	return auditState{Actor: strings.TrimSpace(v.Get("actor")), Target: strings.TrimSpace(v.Get("target")),
		Action: strings.TrimSpace(v.Get("action")), From: strings.TrimSpace(v.Get("from")),
		To: strings.TrimSpace(v.Get("to")), Cursor: v.Get("cursor")}
}

// encode writes the state as a query string, always in the same order.
func (st auditState) encode() string {
	v := url.Values{}
	for _, kv := range [][2]string{{"actor", st.Actor}, {"action", st.Action}, {"target", st.Target},
		{"from", st.From}, {"to", st.To}, {"cursor", st.Cursor}} {
		if kv[1] != "" {
			v.Set(kv[0], kv[1])
		}
	}
	return v.Encode()
}

func auditPagePath(accountID string) string {
	return "/accounts/" + url.PathEscape(accountID) + "/audit"
}

// url is the address of the state on path.
func (st auditState) url(path string) string {
	if q := st.encode(); q != "" {
		return path + "?" + q
	}
	return path
}

// auditFilters is the state made into a query: emails resolved to the
// users of the account, dates to a time range. Problems are keyed by the
// form field they concern.
type auditFilters struct {
	q        roster.AuditQuery
	problems map[string]string
	actor    string // who the actor filter names, in words
	target   string
}

// resolve turns the state into an audit query of the account.
func (s *server) resolveAudit(r *http.Request, accountID string, st auditState) auditFilters {
	f := auditFilters{problems: map[string]string{}}
	person := func(field, raw string) (id, words string) {
		switch {
		case raw == "":
			return "", ""
		case field == "actor" && strings.EqualFold(raw, "operator"):
			return "operator", "the operator"
		case roster.ValidID(raw):
			if u, err := s.svc.Store().User(r.Context(), accountID, raw); err == nil {
				return raw, u.FullName() + " (" + u.Email + ")"
			}
			return raw, auditGone
		case strings.Contains(raw, "@"):
			if u, err := s.svc.Store().UserByEmail(r.Context(), accountID, roster.Fold(raw)); err == nil {
				return u.ID, u.FullName() + " (" + u.Email + ")"
			}
			f.problems[field] = "No user of this account has the email " + raw + "."
			return "", ""
		}
		f.problems[field] = "Enter an email address of a user of this account."
		if field == "actor" {
			f.problems[field] = "Enter an email address of a user of this account, or operator."
		}
		return "", ""
	}
	var actorID, targetID string
	actorID, f.actor = person("actor", st.Actor)
	targetID, f.target = person("target", st.Target)
	date := func(field, raw string) time.Time {
		if raw == "" {
			return time.Time{}
		}
		t, err := time.Parse(auditDate, raw)
		if err != nil {
			f.problems[field] = "Enter a date such as 2026-11-27."
		}
		return t
	}
	from, to := date("from", st.From), date("to", st.To)
	in := roster.AuditParams{Actor: actorID, Target: targetID, Cursor: st.Cursor}
	if st.Action != "" {
		in.Actions = []string{st.Action}
	}
	if !from.IsZero() {
		in.Since = from.Format(time.RFC3339)
	}
	if !to.IsZero() {
		in.Until = to.AddDate(0, 0, 1).Format(time.RFC3339) // the whole last day
	}
	if !from.IsZero() && !to.IsZero() && to.Before(from) {
		f.problems["to"] = "The To date must be on or after the From date."
		in.Until = ""
	}
	q, err := roster.ParseAuditParams(in)
	if err != nil {
		// A bad action or a stale cursor: leave that part out.
		if e, ok := err.(*roster.Error); ok {
			for _, fe := range e.Fields {
				switch fe.Field {
				case "action":
					f.problems["action"] = "Choose an action from the list."
					in.Actions = nil
				case "cursor":
					f.problems["cursor"] = "The page position in this address is not valid, so the log starts from the newest events."
					in.Cursor = ""
				case "since":
					f.problems["from"] = "Enter a date between 1970 and 9998."
					in.Since = ""
				case "until":
					f.problems["to"] = "Enter a date between 1970 and 9998."
					in.Until = ""
				default:
					f.problems[fe.Field] = fe.Message
				}
			}
		}
		q, err = roster.ParseAuditParams(in)
		if err != nil {
			q = roster.AuditQuery{}
		}
	}
	f.q = q
	return f
}

// auditView is the data of audit.html.
type auditView struct {
	Path     string
	Users    string // the Users page
	Actor    string // the form's values
	Target   string
	Action   string
	From, To string
	Actions  []hiddenField // Name: action id, Value: in words
	Errors   map[string]string
	Problems []string // what of the address was left out, beyond the fields
	Showing  string   // the filters in force, in words
	Clear    string   // the log without filters; "" when none is set

	Rows   []auditRow
	Empty  string
	Newer  string // pager links
	Newest string
	Older  string
	CSV    string
}

// auditRow is one event in the table.
type auditRow struct {
	At         time.Time
	Seq        int64
	Actor      string // name
	ActorEmail string
	ActorLink  string // the log filtered by this actor
	What       string // "Revoked access for Ada Lovelace"
	Note       string // details worth reading: a reason, a note, roles
	IP         string
}

// auditPage is the audit log page.
func (s *server) auditPage(w http.ResponseWriter, r *http.Request, pr *pageRequest) error {
	acct := pr.account
	st := readAuditState(r.URL.Query())
	f := s.resolveAudit(r, acct.ID, st)
	path := auditPagePath(acct.ID)
	d := auditView{Path: path, Users: usersPagePath(acct.ID), Actor: st.Actor, Target: st.Target, Action: st.Action,
		From: st.From, To: st.To, Errors: f.problems}
	if msg, ok := f.problems["cursor"]; ok {
		d.Problems = append(d.Problems, msg)
		delete(f.problems, "cursor")
		st.Cursor = ""
	}
	for _, a := range roster.AuditActions() {
		d.Actions = append(d.Actions, hiddenField{a, roster.AuditActionWords(a)})
	}
	page, err := s.svc.AuditEvents(r.Context(), pr.actor, acct.ID, f.q)
	if err != nil {
		return err
	}
	if f.actor == auditGone && len(page.Items) > 0 && page.Items[0].ActorID == f.q.ActorID {
		// Deleted: the log still has the name of the time.
		f.actor = page.Items[0].ActorName + " (" + page.Items[0].ActorEmail + ", deleted)"
	}
	if f.target == auditGone && len(page.Items) > 0 && page.Items[0].TargetID == f.q.TargetID {
		f.target = page.Items[0].TargetName + " (" + page.Items[0].TargetEmail + ", deleted)"
	}
	var showing []string
	if f.actor != "" {
		showing = append(showing, "done by "+f.actor)
	}
	if st.Action != "" && f.problems["action"] == "" {
		showing = append(showing, "“"+roster.AuditActionWords(st.Action)+"”")
	}
	if f.target != "" {
		showing = append(showing, "done to "+f.target)
	}
	if !f.q.Since.IsZero() {
		showing = append(showing, "from "+f.q.Since.Format("2 Jan 2006"))
	}
	if !f.q.Until.IsZero() {
		showing = append(showing, "to "+f.q.Until.AddDate(0, 0, -1).Format("2 Jan 2006"))
	}
	first := st
	first.Cursor = ""
	if len(showing) > 0 {
		d.Showing = "Events " + strings.Join(showing, ", ") + "."
		d.Clear = path
	}
	csv := first
	d.CSV = csv.url(path + ".csv")
	for _, e := range page.Items {
		row := auditRow{At: e.At, Seq: e.Seq, Actor: e.ActorName, ActorEmail: e.ActorEmail, What: e.Describe(), Note: auditNote(e), IP: e.IP}
		by := first
		by.Actor = e.ActorID
		if by.Actor == "" {
			by.Actor, row.Actor = "operator", "Operator"
		}
		if by.Actor != st.Actor {
			row.ActorLink = by.url(path)
		}
		d.Rows = append(d.Rows, row)
	}
	if page.PrevCursor != nil {
		p := st
		p.Cursor = page.PrevCursor.Encode()
		d.Newer, d.Newest = p.url(path), first.url(path)
	}
	if page.NextCursor != nil {
		n := st
		n.Cursor = page.NextCursor.Encode()
		d.Older = n.url(path)
	}
	if len(page.Items) == 0 {
		switch {
		case st.Cursor != "":
			d.Empty, d.Newest = "There are no events on this page.", first.url(path)
		case len(showing) > 0:
			d.Empty = "No events match these filters."
		default:
			d.Empty = "Nothing has been recorded in this account yet."
		}
	}
	status := http.StatusOK
	if len(f.problems) > 0 || len(d.Problems) > 0 {
		status = http.StatusBadRequest
	}
	return s.render(w, r, pr, status, "audit", "Audit log", nil, d)
}

// auditNote picks the details of an event a person reads in the table,
// in the words of the pages: the revoke reason as the dialog names it, the
// roles given on invitation, and what a change added and removed.
func auditNote(e *roster.AuditEvent) string {
	var parts []string
	if v := detailString(e.Details["reason"]); v != "" {
		if words, ok := revokeReasons[roster.RevokeReason(v)]; ok {
			v = words
		}
		parts = append(parts, "Reason: "+v)
	}
	if v := detailString(e.Details["note"]); v != "" {
		parts = append(parts, "Note: "+v)
	}
	if e.Action == roster.ActionUserInvited {
		if names := detailRoles(e.Details["roles"]); names != "" {
			parts = append(parts, "Roles: "+names)
		}
	}
	if names := detailRoles(e.Details["roles_added"]); names != "" {
		parts = append(parts, "Added: "+names)
	}
	if names := detailRoles(e.Details["roles_removed"]); names != "" {
		parts = append(parts, "Removed: "+names)
	}
	if _, ok := e.Details["access_until_to"]; ok {
		to := "no end date"
		if t, err := time.Parse(time.RFC3339, detailString(e.Details["access_until_to"])); err == nil {
			to = when(t)
		}
		parts = append(parts, "Access till: "+to)
	}
	if _, ok := e.Details["expert_access_to"]; ok {
		if name := roster.AccessLevel(detailString(e.Details["expert_access_to"])).Name(); name != "" {
			parts = append(parts, "Access level: "+name)
		}
	}
	return strings.Join(parts, " · ")
}

// detailString is a string detail of an event (as stored, or as the
// service wrote it before the store), "" for anything else.
func detailString(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case roster.AccessLevel:
		return string(v)
	}
	return ""
}

// detailRoles names the roles of a list of role ids in an event's details.
func detailRoles(v any) string {
	var ids []string
	switch v := v.(type) {
	case []any:
		for _, id := range v {
			if s, ok := id.(string); ok {
				ids = append(ids, s)
			}
		}
	case []roster.RoleID:
		for _, id := range v {
			ids = append(ids, string(id))
		}
	case []string:
		ids = v
	}
	var names []string
	for _, id := range ids {
		if r, ok := roster.RoleByID(roster.RoleID(id)); ok {
			names = append(names, r.Name)
		}
	}
	return strings.Join(names, ", ")
}

// auditCSVPage downloads the page's filters as CSV; a filter the page
// could not use is refused as on the page.
func (s *server) auditCSVPage(w http.ResponseWriter, r *http.Request, pr *pageRequest) error {
	st := readAuditState(r.URL.Query())
	st.Cursor = ""
	f := s.resolveAudit(r, pr.account.ID, st)
	if len(f.problems) > 0 {
		var p roster.Problems
		for field, msg := range f.problems {
			p.Add(field, "%s", msg)
		}
		return &roster.Error{Code: roster.CodeBadRequest, Message: "The download could not be made: " + p[0].Message}
	}
	return s.streamAuditCSV(w, r, pr.actor, f.q)
}
