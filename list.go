package roster

import (
	"encoding/base64"
	"encoding/json"
	"strings"
	"time"
	"unicode/utf8"
)

// SortField is a column the user list can be sorted by.
type SortField string

// The sortable columns.
const (
	SortName      SortField = "name"
	SortEmail     SortField = "email"
	SortStatus    SortField = "status"
	SortLastLogin SortField = "last_login"
	SortInvitedAt SortField = "invited_at"
)

// SortFields lists the sortable columns.
var SortFields = []SortField{SortName, SortEmail, SortStatus, SortLastLogin, SortInvitedAt}

// Sort is a column and a direction; ties are broken by user id.
type Sort struct {
	Field SortField
	Desc  bool
}

// String is the API form: "name" or "-name".
func (s Sort) String() string {
	if s.Desc {
		return "-" + string(s.Field)
	}
	return string(s.Field)
}

// Filter is one row of the Filters pop-up. Exactly one of Role and Status is set.
type Filter struct {
	Role   RoleID
	Status Status
	Not    bool
}

// String is the API form, e.g. "role:is_not:admin".
func (f Filter) String() string {
	cond := "is"
	if f.Not {
		cond = "is_not"
	}
	if f.Role != "" {
		return "role:" + cond + ":" + string(f.Role)
	}
	return "status:" + cond + ":" + string(f.Status)
}

// ListQuery selects a page of an account's users.
type ListQuery struct {
	Q       string // folded search text; "" for none
	Email   bool   // Q is a complete email address: match it exactly
	Filters []Filter
	Sort    Sort
	Limit   int
	After   *Cursor // the page after this position; nil for the first page
	Before  *Cursor // or the page before it (at most one of After and Before)
	// Now, when set, makes the status filters see a user whose access
	// deadline has passed by Now as inactive, as the Users page shows them
	// ("Access expired"), though their stored status is active. Zero: the
	// stored status. Sorting always uses the stored status.
	Now time.Time
}

// Cursor is a keyset position in a list: the row the next page continues
// after or, with Back, the row the previous page ends before.
type Cursor struct {
	Sort string `json:"s"` // Sort.String() of the query that made it
	Key  string `json:"k,omitempty"`
	Int  int64  `json:"i,omitempty"`
	ID   string `json:"id"`
	Back bool   `json:"b,omitempty"`
}

// UserPage is one page of a user list.
type UserPage struct {
	Items      []*User
	Total      int64
	NextCursor *Cursor // nil when the page is the last one
	// PrevCursor leads to the page before, read backwards from the page's
	// first row; nil on the first page.
	PrevCursor *Cursor
}

// Paging limits.
const (
	DefaultLimit = 25
	MaxLimit     = 200
	MaxQueryLen  = 254
	MaxFilters   = 20
)

// ListParams is the raw list request, as strings from a URL.
type ListParams struct {
	Q       string
	Filters []string
	Sort    string
	Limit   string
	Cursor  string
}

// ParseListParams validates raw list parameters. Errors are CodeBadRequest
// with the offending parameter named in Fields.
func ParseListParams(in ListParams) (ListQuery, error) {
	var p Problems
	q := ListQuery{Sort: Sort{Field: SortName}, Limit: DefaultLimit}

	raw := strings.TrimSpace(in.Q)
	switch {
	case !utf8.ValidString(raw) || hasControl(raw):
		p.Add("q", "The search text must not contain control characters.")
	case utf8.RuneCountInString(raw) > MaxQueryLen:
		p.Add("q", "The search text must be at most %d characters long.", MaxQueryLen)
	case raw != "":
		q.Q = Fold(raw)
		var ep Problems
		if strings.Contains(raw, "@") {
			if e := CleanEmail(&ep, "q", raw); len(ep) == 0 {
				q.Q, q.Email = Fold(e), true
			}
		}
	}

	if len(in.Filters) > MaxFilters {
		p.Add("filter", "At most %d filters can be combined.", MaxFilters)
	}
	for _, raw := range in.Filters {
		f, msg := parseFilter(raw)
		if msg != "" {
			p.Add("filter", "%s", msg)
			continue
		}
		q.Filters = append(q.Filters, f)
	}

	if s := strings.TrimSpace(in.Sort); s != "" {
		desc := strings.HasPrefix(s, "-")
		field := SortField(strings.TrimPrefix(s, "-"))
		ok := false
		for _, f := range SortFields {
			ok = ok || f == field
		}
		if ok {
			q.Sort = Sort{Field: field, Desc: desc}
		} else {
			p.Add("sort", "Unknown sort %q: use one of name, email, status, last_login, invited_at, with a leading - for descending order.", s)
		}
	}

	if in.Limit != "" {
		n, ok := atoi(in.Limit)
		if !ok || n < 1 || n > MaxLimit {
			p.Add("limit", "limit must be a whole number from 1 to %d.", MaxLimit)
		} else {
			q.Limit = n
		}
	}

	if in.Cursor != "" {
		c, err := decodeCursor(in.Cursor)
		switch {
		case err != nil:
			p.Add("cursor", "The cursor is not valid: pass next_cursor from a previous page unchanged.")
		case c.Sort != q.Sort.String():
			p.Add("cursor", "The cursor belongs to a list sorted by %q; start again from the first page to sort by %q.", c.Sort, q.Sort.String())
		case c.Back:
			q.Before = c
		default:
			q.After = c
		}
	}
	if len(p) > 0 {
		return ListQuery{}, &Error{Code: CodeBadRequest, Message: "Some list parameters are not valid; see errors.", Fields: p}
	}
	return q, nil
}

// ParseFilter reads one filter in the API form, e.g. "status:is:active";
// the error is CodeBadRequest with a message that says what is wrong.
func ParseFilter(s string) (Filter, error) {
	f, msg := parseFilter(s)
	if msg != "" {
		return Filter{}, &Error{Code: CodeBadRequest, Message: msg}
	}
	return f, nil
}

func parseFilter(s string) (Filter, string) {
	parts := strings.Split(s, ":")
	if len(parts) != 3 {
		return Filter{}, "A filter has the form criterion:condition:value, e.g. status:is:active or role:is_not:admin; got " + quoteShort(s) + "."
	}
	var f Filter
	switch parts[1] {
	case "is":
	case "is_not":
		f.Not = true
	default:
		return Filter{}, "Unknown filter condition " + quoteShort(parts[1]) + ": use is or is_not."
	}
	switch parts[0] {
	case "role":
		if _, ok := RoleBit(RoleID(parts[2])); !ok {
			return Filter{}, "Unknown role " + quoteShort(parts[2]) + " in filter: use one of admin, communication_manager, support, expert, whatsapp_only, numbers_read_only."
		}
		f.Role = RoleID(parts[2])
	case "status":
		switch Status(parts[2]) {
		case StatusActive, StatusInactive, StatusInvited:
		default:
			return Filter{}, "Unknown status " + quoteShort(parts[2]) + " in filter: use active, inactive or invited."
		}
		f.Status = Status(parts[2])
	default:
		return Filter{}, "Unknown filter criterion " + quoteShort(parts[0]) + ": use role or status."
	}
	return f, ""
}

func quoteShort(s string) string {
	if utf8.RuneCountInString(s) > 40 {
		s = string([]rune(s)[:40]) + "…"
	}
	b, _ := json.Marshal(s)
	return string(b)
}

func atoi(s string) (int, bool) {
	if s == "" || len(s) > 9 {
		return 0, false
	}
	n := 0
	for _, c := range s {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

// Encode returns the opaque form of c.
func (c *Cursor) Encode() string {
	b, _ := json.Marshal(c)
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeCursor(s string) (*Cursor, error) {
	if len(s) > 2048 {
		return nil, Errorf(CodeBadRequest, "cursor too long")
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return nil, err
	}
	var c Cursor
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return nil, err
	}
	if !ValidID(c.ID) || !utf8.ValidString(c.Key) {
		return nil, Errorf(CodeBadRequest, "cursor fields invalid")
	}
	return &c, nil
}

// CursorFor returns the cursor that continues a list sorted by s after u.
func CursorFor(s Sort, u *User) *Cursor {
	c := &Cursor{Sort: s.String(), ID: u.ID}
	switch s.Field {
	case SortName:
		c.Key = u.NameKey
	case SortEmail:
		c.Key = u.EmailKey
	case SortStatus:
		c.Key = string(u.Status)
	case SortLastLogin:
		c.Int = Micros(u.LastLoginAt)
	case SortInvitedAt:
		c.Int = Micros(u.InvitedAt)
	}
	return c
}

// CursorBefore returns the cursor of the page that ends before u in a list
// sorted by s.
func CursorBefore(s Sort, u *User) *Cursor {
	c := CursorFor(s, u)
	c.Back = true
	return c
}
