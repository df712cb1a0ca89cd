package web

import (
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"roster"
)

// The Users listing page. Everything that decides which users it shows
// (search, filters, sort, page) is in its address, so a reload, Back and a
// shared link show the same list, and every link it makes (a sort, a page,
// a removed filter, an action's back=) is that address changed in one
// place. The Filters pop-up is a GET form on the page; the script only makes
// the search answer as one types and the menus behave as menus.

// listState is what a listing address asks for, with what could not be
// used left out.
type listState struct {
	Q       string // the search text as typed (trimmed)
	Filters []roster.Filter
	Sort    roster.Sort
	Limit   int    // 0: the default page size
	Cursor  string // the page's position, as ParseListParams reads it
	Start   int    // the position of the page's first row, for "26–50 of 1,234"; 0: unknown
}

// defaultSort is the list's order when the address names none.
var defaultSort = roster.Sort{Field: roster.SortName}

// readListState reads a listing address. Whatever is not valid is left out
// and explained in problems, so a mistyped or outdated link still shows a
// list.
func readListState(v url.Values) (listState, []string) {
	st := listState{Sort: defaultSort}
	var problems []string
	fail := func(err error) { problems = append(problems, messages(err)...) }
	if q := strings.TrimSpace(v.Get("q")); q != "" {
		if _, err := roster.ParseListParams(roster.ListParams{Q: q}); err != nil {
			fail(err)
		} else {
			st.Q = q
		}
	}
	for _, raw := range v["filter"] {
		f, err := roster.ParseFilter(raw)
		switch {
		case err != nil:
			fail(err)
		case slices.Contains(st.Filters, f):
		case len(st.Filters) == roster.MaxFilters:
			problems = append(problems, "At most "+strconv.Itoa(roster.MaxFilters)+" filters can be combined; the rest are left out.")
		default:
			st.Filters = append(st.Filters, f)
		}
	}
	if s := v.Get("sort"); s != "" {
		if q, err := roster.ParseListParams(roster.ListParams{Sort: s}); err != nil {
			fail(err)
		} else {
			st.Sort = q.Sort
		}
	}
	if l := v.Get("limit"); l != "" {
		if q, err := roster.ParseListParams(roster.ListParams{Limit: l}); err != nil {
			fail(err)
		} else if q.Limit != roster.DefaultLimit {
			st.Limit = q.Limit
		}
	}
	if c := v.Get("cursor"); c != "" {
		if _, err := roster.ParseListParams(roster.ListParams{Sort: st.Sort.String(), Cursor: c}); err != nil {
			problems = append(problems, "The page position in this address is not valid or belongs to another order, so the list starts from the first page.")
		} else {
			st.Cursor = c
			if n, err := strconv.Atoi(v.Get("start")); err == nil && n > 0 {
				st.Start = n
			}
		}
	}
	return st, problems
}

// messages returns what a person should read of a list parameter's error:
// the message of each field, or the error's own.
func messages(err error) []string {
	var e *roster.Error
	if !errors.As(err, &e) {
		return []string{"This list could not be read."}
	}
	if len(e.Fields) == 0 {
		return []string{e.Message}
	}
	var out []string
	for _, f := range e.Fields {
		out = append(out, f.Message)
	}
	return out
}

// query returns the parsed list query of a valid state.
func (st listState) query() (roster.ListQuery, error) {
	in := roster.ListParams{Q: st.Q, Sort: st.Sort.String(), Cursor: st.Cursor}
	for _, f := range st.Filters {
		in.Filters = append(in.Filters, f.String())
	}
	if st.Limit > 0 {
		in.Limit = strconv.Itoa(st.Limit)
	}
	return roster.ParseListParams(in)
}

// limit is the page size.
func (st listState) limit() int {
	if st.Limit > 0 {
		return st.Limit
	}
	return roster.DefaultLimit
}

// encode writes the state as a query string, always in the same order, so
// that the same list has one address.
func (st listState) encode() string {
	var b strings.Builder
	add := func(k, v string) {
		if b.Len() > 0 {
			b.WriteByte('&')
		}
		b.WriteString(k + "=" + url.QueryEscape(v))
	}
	if st.Q != "" {
		add("q", st.Q)
	}
	for _, f := range st.Filters {
		add("filter", f.String())
	}
	if st.Sort != defaultSort {
		add("sort", st.Sort.String())
	}
	if st.Limit > 0 {
		add("limit", strconv.Itoa(st.Limit))
	}
	if st.Cursor != "" {
		add("cursor", st.Cursor)
		if st.Start > 0 {
			add("start", strconv.Itoa(st.Start))
		}
	}
	return b.String()
}

// url is the listing address of the state.
func (st listState) url(accountID string) string {
	if q := st.encode(); q != "" {
		return usersPagePath(accountID) + "?" + q
	}
	return usersPagePath(accountID)
}

// firstPage is the state without its page position: a new search, filter
// or sort starts from the first page.
func (st listState) firstPage() listState {
	st.Cursor, st.Start = "", 0
	return st
}

// usersView is the data of users.html.
type usersView struct {
	Path     string // the page without its query: the forms' action
	AddUser  string
	Search   string
	Hidden   []hiddenField // the search form's other state: filters, sort, page size
	Problems []string      // parts of the address that could not be used

	Filters    filtersView
	Chips      []chip
	ClearChips string // the list without any filter; "" when none is set

	Columns []column
	Rows    []userRow
	Summary string // the count in words, for the live region
	Range   string // "1–25 of 1,234"
	First   string // links of the pager; "" when there is none
	Prev    string
	Next    string

	Empty        string // why the table is empty; "" when it has rows
	ClearSearch  string
	ClearFilters string
	ClearAll     string
	FirstPage    string
}

type hiddenField struct{ Name, Value string }

// chip is an active filter, removable by its link.
type chip struct {
	Text, Remove string
}

// column is a header of the table; Sort is "" for a column that does not sort.
type column struct {
	Label    string
	Class    string
	Sort     string // the link that sorts by this column, or reverses it
	AriaSort string // "ascending" or "descending" on the sorted column
	Arrow    string
}

// userRow is one user in the table.
type userRow struct {
	ID, Name, Email, Roles string
	Status                 roster.Status
	Note                   string // access deadline: "Access ended 3 Dec 2026" or "Access until …"
	Ended                  bool
	LastLogin              time.Time
	Actions                []rowAction
}

// rowAction is an entry of a row's three-dots menu; Dialog marks the ones
// the dialog script opens in place.
type rowAction struct {
	Text, Href string
	Dialog     bool
}

// usersPage is the Users listing page: GET with the list's state, and the
// Filters form, which submits here too (apply, add, remove, reset).
func (s *server) usersPage(w http.ResponseWriter, r *http.Request, pr *pageRequest) error {
	v := r.URL.Query()
	st, problems := readListState(v)
	acct := pr.account
	fv := filtersView{Options: filterOptions(acct), Rows: filterRowsOf(st.Filters)}
	status := http.StatusOK
	switch {
	case v.Has("reset"):
		st.Filters = nil
		return redirect(w, r, st.firstPage().url(acct.ID))
	case v.Has("apply"), v.Has("add"), v.Has("remove"):
		rows := submittedRows(v)
		filters, errs := rowsToFilters(rows)
		switch {
		case v.Has("add") && len(rows) < roster.MaxFilters:
			rows = append(rows, filterRow{})
			fv.Focus = len(rows)
		case v.Has("add"):
			fv.Errors = []string{"At most " + strconv.Itoa(roster.MaxFilters) + " filters can be combined."}
		case v.Has("remove"):
			if i, err := strconv.Atoi(v.Get("remove")); err == nil && i >= 0 && i < len(rows) {
				rows = slices.Delete(rows, i, i+1)
			}
		case len(errs) == 0:
			st.Filters = filters
			return redirect(w, r, st.firstPage().url(acct.ID))
		default:
			fv.Errors = errs
			status = http.StatusBadRequest
		}
		if len(rows) == 0 {
			rows = []filterRow{{}}
		}
		fv.Rows, fv.Open = rows, true
	}
	for i := range fv.Rows {
		fv.Rows[i].N = i + 1
	}
	if len(problems) > 0 {
		status = http.StatusBadRequest
	}
	q, err := st.query()
	if err != nil {
		return err
	}
	page, err := s.svc.ListUsers(r.Context(), pr.actor, acct.ID, q)
	if err != nil {
		return err
	}
	fv.Hidden = hiddenOf(st, true)
	fv.Count = len(st.Filters)
	data := s.usersView(acct.ID, pr.actor.UserID, st, page, q)
	data.Problems, data.Filters = problems, fv
	return s.render(w, r, pr, status, "users", "Users", nil, data)
}

// usersView fills the page around a page of users.
func (s *server) usersView(accountID, selfID string, st listState, page *roster.UserPage, q roster.ListQuery) usersView {
	self := st.url(accountID)
	back := "?back=" + url.QueryEscape(self)
	// Row links are relative to the page (/accounts/{id}/users): they are
	// most of its bytes.
	const base = "users/"
	d := usersView{Path: usersPagePath(accountID), AddUser: usersPagePath(accountID) + "/new" + back, Search: st.Q, Hidden: hiddenOf(st, false)}

	for i, f := range st.Filters {
		without := st.firstPage()
		without.Filters = slices.Delete(slices.Clone(st.Filters), i, i+1)
		d.Chips = append(d.Chips, chip{Text: filterText(f), Remove: without.url(accountID)})
	}
	noFilters := st.firstPage()
	noFilters.Filters = nil
	if len(st.Filters) > 0 {
		d.ClearChips = noFilters.url(accountID)
	}

	for _, c := range []struct {
		label string
		field roster.SortField
		class string
	}{{"Name", roster.SortName, "col-name"}, {"Email", roster.SortEmail, "col-email"}, {"Roles", "", "col-roles"},
		{"Status", roster.SortStatus, "col-status"}, {"Last Login", roster.SortLastLogin, "col-login"}} {
		col := column{Label: c.label, Class: c.class}
		if c.field != "" {
			next := st.firstPage()
			// Recent logins first is the useful way round; names and
			// emails read A to Z.
			next.Sort = roster.Sort{Field: c.field, Desc: c.field == roster.SortLastLogin}
			if st.Sort.Field == c.field {
				next.Sort.Desc = !st.Sort.Desc
				col.AriaSort, col.Arrow = "ascending", "▲"
				if st.Sort.Desc {
					col.AriaSort, col.Arrow = "descending", "▼"
				}
			}
			col.Sort = next.url(accountID)
		}
		d.Columns = append(d.Columns, col)
	}

	now := s.svc.Now()
	for _, u := range page.Items {
		row := userRow{ID: u.ID, Name: u.FullName(), Email: u.Email, Roles: accessNames(u.Access()), Status: u.Status,
			LastLogin: u.LastLoginAt}
		if !u.AccessUntil.IsZero() && u.Status != roster.StatusInactive {
			row.Ended = !now.Before(u.AccessUntil)
			row.Note = "Access until " + u.AccessUntil.UTC().Format("2 Jan 2006")
			if row.Ended && u.Status == roster.StatusActive {
				// Access ended by itself: Inactive, though nobody revoked
				// them; extending the deadline gives it back.
				row.Status, row.Note = roster.StatusInactive, "Access expired "+u.AccessUntil.UTC().Format("2 Jan 2006")
			} else if row.Ended {
				row.Note = "Access ended " + u.AccessUntil.UTC().Format("2 Jan 2006")
			}
		}
		act := func(text, path string, dialog bool) rowAction {
			return rowAction{Text: text, Href: base + url.PathEscape(u.ID) + path + back, Dialog: dialog}
		}
		// Nobody revokes or deletes themselves: their own row does not offer
		// what could only be refused (the pages say why if reached).
		self := u.ID == selfID
		row.Actions = append(row.Actions, act("Edit", "/edit", true), act("View Details", "", false))
		switch {
		case u.Status == roster.StatusActive && !self && !row.Ended:
			// An expired user's access is extended (Edit) or they are
			// deleted; revoking is refused.
			row.Actions = append(row.Actions, act("Revoke Access", "/revoke", true))
		case u.Status == roster.StatusInactive:
			row.Actions = append(row.Actions, act("Restore Access", "/restore", true))
		case u.Status == roster.StatusInvited:
			row.Actions = append(row.Actions, act("Resend Invitation", "/resend", true))
		}
		if !self {
			row.Actions = append(row.Actions, act("Delete", "/delete", true))
		}
		d.Rows = append(d.Rows, row)
	}

	searching := st.Q != "" || len(st.Filters) > 0
	switch {
	case page.Total == 0 && searching:
		d.Summary = "No users match."
	case page.Total == 1:
		d.Summary = "1 user."
	default:
		d.Summary = thousands(page.Total) + " users."
		if searching {
			d.Summary = thousands(page.Total) + " users match."
		}
	}
	s.pager(&d, accountID, st, page, q)
	if len(page.Items) > 0 {
		return d
	}
	switch {
	case page.Total > 0:
		d.Empty = "There are no users on this page any more: the list has changed since the link was made."
		d.FirstPage = st.firstPage().url(accountID)
	case searching:
		d.Empty = "No users match your search and filters."
		switch {
		case st.Q == "":
			d.Empty = "No users match these filters."
		case len(st.Filters) == 0:
			d.Empty = "No users match “" + st.Q + "”."
		}
		if st.Q != "" {
			c := st.firstPage()
			c.Q = ""
			d.ClearSearch = c.url(accountID)
		}
		if len(st.Filters) > 0 {
			d.ClearFilters = noFilters.url(accountID)
		}
		if st.Q != "" && len(st.Filters) > 0 {
			c := noFilters
			c.Q = ""
			d.ClearAll = c.url(accountID)
		}
	default:
		d.Empty = "This account has no users yet."
	}
	return d
}

// pager fills the range and the links to the pages around. The store pages
// by keyset, which knows its neighbours but not its position; the position
// travels in the address (start) and is made exact at either end, where
// the page itself knows it.
func (s *server) pager(d *usersView, accountID string, st listState, page *roster.UserPage, q roster.ListQuery) {
	n := len(page.Items)
	if n == 0 {
		return
	}
	start := st.Start
	switch {
	case page.PrevCursor == nil:
		start = 1
	case page.NextCursor == nil && q.Before == nil:
		start = int(page.Total) - n + 1
	}
	start = min(start, max(int(page.Total)-n+1, 1))
	if start > 0 {
		d.Range = thousands(int64(start)) + "–" + thousands(int64(start+n-1)) + " of " + thousands(page.Total)
	} else {
		d.Range = thousands(int64(n)) + " of " + thousands(page.Total)
	}
	if page.PrevCursor != nil {
		prev := st
		prev.Cursor, prev.Start = page.PrevCursor.Encode(), 0
		if start > 0 {
			prev.Start = max(start-st.limit(), 1)
		}
		d.Prev = prev.url(accountID)
		d.First = st.firstPage().url(accountID)
	}
	if page.NextCursor != nil {
		next := st
		next.Cursor, next.Start = page.NextCursor.Encode(), 0
		if start > 0 {
			next.Start = start + n
		}
		d.Next = next.url(accountID)
	}
}

// hiddenOf lists the state a form on the page carries besides its own
// fields: the search form everything but the search (withQ false), the
// Filters form everything, its rows replacing the filters when applied.
func hiddenOf(st listState, withQ bool) []hiddenField {
	var h []hiddenField
	if withQ && st.Q != "" {
		h = append(h, hiddenField{"q", st.Q})
	}
	for _, f := range st.Filters {
		h = append(h, hiddenField{"filter", f.String()})
	}
	if st.Sort != defaultSort {
		h = append(h, hiddenField{"sort", st.Sort.String()})
	}
	if st.Limit > 0 {
		h = append(h, hiddenField{"limit", strconv.Itoa(st.Limit)})
	}
	return h
}

// thousands writes n with thousands separators: 1,234.
func thousands(n int64) string {
	s := strconv.FormatInt(n, 10)
	for i := len(s) - 3; i > 0 && s[i-1] != '-'; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// The Filters pop-up. Each row is three selects: the criterion (Role or
// Status), the condition (Is or Is Not) and the option. An option names
// its criterion by itself (role and status ids do not overlap), so a row
// whose criterion was left unchosen still means one thing, and a row whose
// criterion and option disagree is explained rather than guessed.

// filtersView is the data of the Filters form.
type filtersView struct {
	Hidden  []hiddenField
	Count   int // filters in force, shown on the button
	Open    bool
	Focus   int // the row (from 1) whose criteria takes focus after Add Filter; 0 for none
	Rows    []filterRow
	Errors  []string
	Options filterOptionsView
}

type filterRow struct {
	Criterion, Condition, Option string
	N                            int // the row's number, from 1, for its labels
}

type filterOptionsView struct {
	Roles    []hiddenField // Name: id, Value: the role's name
	Statuses []hiddenField
}

// filterOptions lists the options of the account: its roles, additional
// ones only when enabled, and the three statuses.
func filterOptions(acct *roster.Account) filterOptionsView {
	var o filterOptionsView
	for _, r := range roster.Roles {
		if !r.Additional || acct.EnabledRoles.Has(r.ID) {
			o.Roles = append(o.Roles, hiddenField{string(r.ID), r.Name})
		}
	}
	for _, st := range []roster.Status{roster.StatusActive, roster.StatusInactive, roster.StatusInvited} {
		o.Statuses = append(o.Statuses, hiddenField{string(st), statusName(st)})
	}
	return o
}

// filterText is a filter in words: "Role is not Admin".
func filterText(f roster.Filter) string {
	cond := " is "
	if f.Not {
		cond = " is not "
	}
	if f.Role != "" {
		name := string(f.Role)
		if r, ok := roster.RoleByID(f.Role); ok {
			name = r.Name
		}
		return "Role" + cond + name
	}
	return "Status" + cond + statusName(f.Status)
}

// filterRowsOf shows the filters in force as rows; with none, one empty row.
func filterRowsOf(fs []roster.Filter) []filterRow {
	var rows []filterRow
	for _, f := range fs {
		row := filterRow{Criterion: "status", Condition: "is", Option: string(f.Status)}
		if f.Role != "" {
			row.Criterion, row.Option = "role", string(f.Role)
		}
		if f.Not {
			row.Condition = "is_not"
		}
		rows = append(rows, row)
	}
	if len(rows) == 0 {
		rows = append(rows, filterRow{})
	}
	return rows
}

// submittedRows reads the rows of a submitted Filters form, at most
// MaxFilters of them.
func submittedRows(v url.Values) []filterRow {
	crit, cond, opt := v["criterion"], v["condition"], v["option"]
	n := min(max(len(crit), len(cond), len(opt)), roster.MaxFilters)
	at := func(s []string, i int) string {
		if i < len(s) {
			return s[i]
		}
		return ""
	}
	rows := make([]filterRow, n)
	for i := range rows {
		rows[i] = filterRow{Criterion: at(crit, i), Condition: at(cond, i), Option: at(opt, i)}
	}
	return rows
}

// rowsToFilters turns the rows into filters; rows left empty are skipped.
func rowsToFilters(rows []filterRow) ([]roster.Filter, []string) {
	var fs []roster.Filter
	var errs []string
	for i, row := range rows {
		if row.Criterion == "" && row.Option == "" {
			continue
		}
		n := "Filter " + strconv.Itoa(i+1) + ": "
		kind := ""
		if _, ok := roster.RoleBit(roster.RoleID(row.Option)); ok {
			kind = "role"
		} else if slices.Contains(roster.Statuses, roster.Status(row.Option)) {
			kind = "status"
		}
		switch {
		case row.Option == "":
			errs = append(errs, n+"choose an option for "+strings.ToLower(criterionName(row.Criterion))+".")
			continue
		case kind == "":
			errs = append(errs, n+"choose one of the options in the list.")
			continue
		case row.Criterion != "" && row.Criterion != kind:
			errs = append(errs, n+optionName(row.Option)+" is a "+kind+", not a "+criterionName(row.Criterion)+
				": choose "+criterionName(kind)+" as the criteria, or another option.")
			continue
		case row.Condition != "" && row.Condition != "is" && row.Condition != "is_not":
			errs = append(errs, n+"choose Is or Is Not as the condition.")
			continue
		}
		cond := row.Condition
		if cond == "" {
			cond = "is"
		}
		f, err := roster.ParseFilter(kind + ":" + cond + ":" + row.Option)
		if err != nil {
			errs = append(errs, n+strings.Join(messages(err), " "))
			continue
		}
		if !slices.Contains(fs, f) {
			fs = append(fs, f)
		}
	}
	return fs, errs
}

func criterionName(c string) string {
	switch c {
	case "role":
		return "Role"
	case "status":
		return "Status"
	}
	return "the criteria"
}

func optionName(opt string) string {
	if r, ok := roster.RoleByID(roster.RoleID(opt)); ok {
		return r.Name
	}
	return statusName(roster.Status(opt))
}
