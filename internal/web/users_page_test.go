package web

import (
	"fmt"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"roster"
	"roster/internal/testdb"
)

// listUser is a user the list tests put straight into the store.
type listUser struct {
	first, last string
	status      roster.Status
	roles       []roster.RoleID
	lastLogin   time.Time
	accessUntil time.Time
}

// mustListUsers inserts users into an account and returns them by first name.
func (e *pageEnv) mustListUsers(t *testing.T, accountID string, users ...listUser) map[string]*roster.User {
	t.Helper()
	out := map[string]*roster.User{}
	err := e.store.Update(e.ctx, func(tx roster.Tx) error {
		for i, lu := range users {
			now := e.clock.Now().Add(-time.Duration(len(users)-i) * time.Hour)
			u := &roster.User{ID: roster.NewID(now), AccountID: accountID, FirstName: lu.first, LastName: lu.last,
				Email: strings.ToLower(lu.first+"."+lu.last) + "@acme.example.com", Roles: roster.NewRoleSet(lu.roles...),
				Status: lu.status, InvitedAt: now, UpdatedAt: now, Version: 1, LastLoginAt: lu.lastLogin, AccessUntil: lu.accessUntil}
			if len(lu.roles) == 0 {
				u.Roles = roster.NewRoleSet(roster.RoleSupport)
			}
			if u.Roles.Has(roster.RoleExpert) {
				u.ExpertAccess = roster.AccessReadOnly
			}
			if lu.status != roster.StatusInvited {
				u.JoinedAt = now
			}
			u.Keys()
			if err := tx.InsertUser(e.ctx, u); err != nil {
				return err
			}
			out[lu.first] = u
		}
		return nil
	})
	if err != nil {
		t.Fatalf("insert users: %v", err)
	}
	return out
}

var rowRE = regexp.MustCompile(`(?s)<tr data-user-id="([^"]+)">(.*?)</tr>`)

// rows returns the table's rows: each user id with the row's HTML.
func (p *page) rows() (ids []string, rows map[string]string) {
	rows = map[string]string{}
	for _, m := range rowRE.FindAllStringSubmatch(p.body, -1) {
		ids = append(ids, m[1])
		rows[m[1]] = m[2]
	}
	return ids, rows
}

// rowNames returns the names in the table, in order.
func (p *page) rowNames() []string {
	var names []string
	for _, m := range regexp.MustCompile(`<th scope="row">([^<]*)</th>`).FindAllStringSubmatch(p.body, -1) {
		names = append(names, html.UnescapeString(m[1]))
	}
	return names
}

// link returns the unescaped href of the first <a> whose text starts with text.
func (p *page) link(t *testing.T, text string) string {
	t.Helper()
	m := regexp.MustCompile(`<a [^>]*href="([^"]*)"[^>]*>` + regexp.QuoteMeta(text)).FindStringSubmatch(p.body)
	if m == nil {
		t.Fatalf("%s: no link %q:\n%s", p.rq, text, p.body)
	}
	return html.UnescapeString(m[1])
}

// signedInAdmin sets up Acme and signs its Admin in.
func signedInAdmin(t *testing.T, s roster.Store) (*pageEnv, string, *browser) {
	t.Helper()
	e := newPageEnv(t, s)
	acct := e.mustSetup(t)
	b := e.browser(t)
	b.signIn(t, adminEmail, adminPassword)
	return e, acct, b
}

func TestUsersPageRows(t *testing.T) {
	testdb.Each(t, func(t *testing.T, s roster.Store) {
		e, acct, b := signedInAdmin(t, s)
		ended := time.Date(2025, 5, 3, 12, 0, 0, 0, time.UTC)
		us := e.mustListUsers(t, acct,
			listUser{first: "Bob", last: "Active", status: roster.StatusActive, roles: []roster.RoleID{roster.RoleCommunicationManager, roster.RoleSupport},
				lastLogin: time.Date(2025, 6, 1, 9, 30, 0, 0, time.UTC)},
			listUser{first: "Carla", last: "Revoked", status: roster.StatusInactive},
			listUser{first: "Dan", last: "Invited", status: roster.StatusInvited},
			listUser{first: "Eve", last: "Expert", status: roster.StatusActive, roles: []roster.RoleID{roster.RoleExpert}, accessUntil: ended},
			listUser{first: "Fay", last: "Later", status: roster.StatusActive, roles: []roster.RoleID{roster.RoleExpert},
				accessUntil: time.Date(2025, 8, 1, 0, 0, 0, 0, time.UTC)},
		)
		list := usersPagePath(acct)
		back := "?back=" + url.QueryEscape(list)
		p := b.get(t, list).want(t, http.StatusOK).has(t, "<title>Users – Roster</title>", "<h1>Users</h1>",
			`<table id="users"`, `<label for="users-q">Search</label>`, `role="status"`,
			`href="`+html.EscapeString(list+"/new"+back)+`">Add New User</a>`, "1–6 of 6",
			`<th scope="col" class="col-name" aria-sort="ascending">`)
		if got, want := p.rowNames(), []string{"Alice Admin", "Bob Active", "Carla Revoked", "Dan Invited", "Eve Expert", "Fay Later"}; !slices.Equal(got, want) {
			t.Errorf("rows = %v, want %v", got, want)
		}
		_, rows := p.rows()
		us["Alice"] = e.mustUser(t, acct, adminEmail)
		menu := func(id string) []string {
			var items []string
			for _, m := range regexp.MustCompile(`<li><a href="([^"]*)"( data-dialog)?>([^<]*)</a></li>`).FindAllStringSubmatch(rows[id], -1) {
				items = append(items, fmt.Sprintf("%s %s%s", m[3], html.UnescapeString(m[1]), m[2]))
			}
			return items
		}
		type item struct {
			text, path string
			dialog     bool
		}
		edit, details, del := item{"Edit", "/edit", true}, item{"View Details", "", false}, item{"Delete", "/delete", true}
		for name, want := range map[string][]item{
			"Bob":   {edit, details, {"Revoke Access", "/revoke", true}, del},
			"Carla": {edit, details, {"Restore Access", "/restore", true}, del},
			"Dan":   {edit, details, {"Resend Invitation", "/resend", true}, del},
			// Access expired: extended by Edit, or deleted; not revoked.
			"Eve": {edit, details, del},
			// Her own row: she cannot revoke or delete herself.
			"Alice": {edit, details},
		} {
			u := us[name]
			var w []string
			for _, it := range want {
				s := it.text + " users/" + u.ID + it.path + back
				if it.dialog {
					s += " data-dialog"
				}
				w = append(w, s)
			}
			if got := menu(u.ID); !slices.Equal(got, w) {
				t.Errorf("menu of %s =\n  %q\nwant\n  %q", name, got, w)
			}
			if !strings.Contains(rows[u.ID], `aria-label="Actions for `+u.FullName()+`"`) {
				t.Errorf("the menu button of %s is not labelled for them:\n%s", name, rows[u.ID])
			}
		}
		for name, want := range map[string][]string{
			"Bob":   {"Communication Manager, Support", `<span class="badge badge-active">Active</span>`, `<time datetime="2025-06-01T09:30:00Z">1 Jun 2025, 09:30 UTC</time>`},
			"Carla": {`<span class="badge badge-inactive">Inactive</span>`, "Never"},
			"Dan":   {`<span class="badge badge-invited">Invitation Sent</span>`, "Never"},
			"Eve":   {"Expert (read-only)", `<span class="badge badge-inactive">Inactive</span>`, `<span class="status-note status-ended">Access expired 3 May 2025</span>`},
			"Fay":   {`<span class="status-note">Access until 1 Aug 2025</span>`},
		} {
			for _, w := range want {
				if !strings.Contains(rows[us[name].ID], w) {
					t.Errorf("the row of %s lacks %q:\n%s", name, w, rows[us[name].ID])
				}
			}
		}
	})
}

func TestUsersPageSortAndSearch(t *testing.T) {
	testdb.Each(t, func(t *testing.T, s roster.Store) {
		e, acct, b := signedInAdmin(t, s)
		login := func(d int) time.Time { return time.Date(2025, 5, d, 8, 0, 0, 0, time.UTC) }
		e.mustListUsers(t, acct,
			listUser{first: "Anna", last: "Smith", status: roster.StatusActive, lastLogin: login(3)},
			listUser{first: "Joanna", last: "Berg", status: roster.StatusActive, lastLogin: login(9)},
			listUser{first: "Zed", last: "Annandale", status: roster.StatusInvited},
			listUser{first: "Bob", last: "Brown", status: roster.StatusInactive, lastLogin: login(1)},
		)
		list := usersPagePath(acct)
		p := b.get(t, list+"?sort=-name").want(t, http.StatusOK).has(t, `<th scope="col" class="col-name" aria-sort="descending">`)
		if got, want := p.rowNames(), []string{"Zed Annandale", "Joanna Berg", "Bob Brown", "Anna Smith", "Alice Admin"}; !slices.Equal(got, want) {
			t.Errorf("sorted by -name: %v, want %v", got, want)
		}
		if got := p.link(t, "Name"); got != list {
			t.Errorf("the Name header of a list sorted by -name links to %q, want %q", got, list)
		}
		// Last Login sorts recent first, then reverses.
		p = b.get(t, p.link(t, "Last Login")).want(t, http.StatusOK).has(t, `class="col-login" aria-sort="descending"`)
		if got, want := p.rowNames(), []string{"Alice Admin", "Joanna Berg", "Anna Smith", "Bob Brown"}; !slices.Equal(got[:4], want) {
			t.Errorf("sorted by -last_login: %v, want %v first", got, want)
		}
		if got := p.link(t, "Last Login"); got != list+"?sort=last_login" {
			t.Errorf("the sorted Last Login header links to %q", got)
		}

		// A partial name, in any case; the sort stays.
		p = b.get(t, list+"?q=ANN&sort=-name").want(t, http.StatusOK).has(t, `value="ANN"`, `data-summary="3 users match."`, "1–3 of 3",
			`<input type="hidden" name="sort" value="-name">`)
		if got, want := p.rowNames(), []string{"Zed Annandale", "Joanna Berg", "Anna Smith"}; !slices.Equal(got, want) {
			t.Errorf("q=ANN: %v, want %v", got, want)
		}
		// An email finds its user; the links it makes keep the search.
		p = b.get(t, list+"?q=bob.brown@acme.example.com").want(t, http.StatusOK)
		if got := p.rowNames(); !slices.Equal(got, []string{"Bob Brown"}) {
			t.Errorf("q=email: %v, want Bob Brown", got)
		}
		if got, want := p.link(t, "Add New User"), list+"/new?back="+url.QueryEscape(list+"?q=bob.brown%40acme.example.com"); got != want {
			t.Errorf("Add New User = %q, want %q", got, want)
		}

		// Nothing matches: say so and offer the way out.
		p = b.get(t, list+"?q=nobody&filter=status:is:active").want(t, http.StatusOK).
			has(t, "No users match your search and filters.", `data-summary="No users match."`).lacks(t, `<table id="users"`)
		if got := p.link(t, "Clear the search"); got != list+"?filter=status%3Ais%3Aactive" {
			t.Errorf("Clear the search = %q", got)
		}
		if got := p.link(t, "Clear the filters"); got != list+"?q=nobody" {
			t.Errorf("Clear the filters = %q", got)
		}
		if got := p.link(t, "Clear both"); got != list {
			t.Errorf("Clear both = %q", got)
		}
	})
}

func TestUsersPageFilters(t *testing.T) {
	testdb.Each(t, func(t *testing.T, s roster.Store) {
		e, acct, b := signedInAdmin(t, s)
		e.mustListUsers(t, acct,
			listUser{first: "Bob", last: "Support", status: roster.StatusActive},
			listUser{first: "Carla", last: "Manager", status: roster.StatusActive, roles: []roster.RoleID{roster.RoleCommunicationManager}},
			listUser{first: "Dan", last: "Invited", status: roster.StatusInvited, roles: []roster.RoleID{roster.RoleCommunicationManager}},
			listUser{first: "Eve", last: "Gone", status: roster.StatusInactive, roles: []roster.RoleID{roster.RoleAdmin}},
		)
		list := usersPagePath(acct)

		// The pop-up offers the account's roles and the three statuses.
		p := b.get(t, list+"?q=a").want(t, http.StatusOK).has(t, "<summary class=\"button secondary filters-button\">Filters</summary>",
			`<label for="filter-1-criterion">Select criteria<span class="visually-hidden" data-row-n>, filter 1</span></label>`, `<option value="is_not">Is Not</option>`,
			`<option value="communication_manager">Communication Manager</option>`, `<option value="invited">Invitation Sent</option>`,
			">Add Filter</button>", ">Reset Filter</button>", ">Apply</button>").
			lacks(t, `<option value="whatsapp_only">`, "<details class=\"filters\" id=\"filters\" data-live data-filters open>")

		// Apply two rows, one an Is Not: the address carries them in the API's form.
		form := url.Values{"q": {"a"}, "criterion": {"status", "role"}, "condition": {"is", "is_not"},
			"option": {"active", "admin"}, "apply": {"1"}}
		want := list + "?q=a&filter=status%3Ais%3Aactive&filter=role%3Ais_not%3Aadmin"
		b.get(t, list+"?"+form.Encode()).redirects(t, want)
		p = b.get(t, want).want(t, http.StatusOK).has(t, `Filters <span class="count">2<span class="visually-hidden"> in use</span>`,
			`<li class="chip">Status is Active <a href="`+html.EscapeString(list+"?q=a&filter=role%3Ais_not%3Aadmin")+`"`,
			`aria-label="Remove filter: Role is not Admin"`, `<option value="is_not" selected>Is Not</option>`,
			`/edit?back=`+url.QueryEscape(want)+`" data-dialog>Edit</a>`)
		if got, want := p.rowNames(), []string{"Bob Support", "Carla Manager"}; !slices.Equal(got, want) {
			t.Errorf("active, not Admin, matching a (every email has one): %v, want %v", got, want)
		}
		// Removing one chip keeps the other and the search.
		p = b.get(t, p.link(t, "Clear all filters")).want(t, http.StatusOK)
		if got := p.rowNames(); len(got) != 5 {
			t.Errorf("without filters, q=a: %v, want all 5 users", got)
		}

		// Without script, Add Filter adds a row and applies nothing yet.
		form = url.Values{"filter": {"status:is:active"}, "criterion": {"status"}, "condition": {"is"}, "option": {"active"}, "add": {"1"}}
		p = b.get(t, list+"?"+form.Encode()).want(t, http.StatusOK).has(t, "data-filters open>",
			`id="filter-2-criterion" name="criterion" data-criterion autofocus`, `<li class="chip">Status is Active`)

		// And Remove takes a row out, keeping the others as they were.
		form = url.Values{"criterion": {"status", "role"}, "condition": {"is", "is_not"}, "option": {"active", "admin"}, "remove": {"0"}}
		b.get(t, list+"?"+form.Encode()).want(t, http.StatusOK).has(t, "data-filters open>", `<option value="admin" selected>Admin</option>`,
			`<option value="is_not" selected>Is Not</option>`).lacks(t, `id="filter-2-criterion"`, `<option value="active" selected>`)

		// A row whose option does not fit its criterion is explained.
		form = url.Values{"criterion": {"role", ""}, "condition": {"is", "is"}, "option": {"active", "support"}, "apply": {"1"}}
		b.get(t, list+"?"+form.Encode()).want(t, http.StatusBadRequest).has(t, "These filters could not be applied",
			"Filter 1: Active is a status, not a Role: choose Status as the criteria, or another option.", "data-filters open>")
		// A row left without criteria takes it from the option.
		form.Set("criterion", "")
		form.Set("option", "")
		form["criterion"], form["option"] = []string{"", ""}, []string{"", "support"}
		b.get(t, list+"?"+form.Encode()).redirects(t, list+"?filter=role%3Ais%3Asupport")

		// Reset Filter clears them all, keeping the search and sort.
		b.get(t, list+"?q=a&sort=-name&filter=role:is:admin&reset=1").redirects(t, list+"?q=a&sort=-name")
	})
}

func TestUsersPagePaging(t *testing.T) {
	testdb.Each(t, func(t *testing.T, s roster.Store) {
		e, acct, b := signedInAdmin(t, s)
		var many []listUser
		for i := range 60 {
			many = append(many, listUser{first: fmt.Sprintf("User%02d", i), last: "Many", status: roster.Statuses[i%3]})
		}
		e.mustListUsers(t, acct, many...)
		list := usersPagePath(acct)

		type seen struct {
			rng   string
			names []string
		}
		var forward []seen
		p := b.get(t, list+"?sort=-name").want(t, http.StatusOK).lacks(t, ">Previous<", "First page")
		for {
			rng := regexp.MustCompile(`<p id="users-range" class="range">([^<]*)</p>`).FindStringSubmatch(p.body)
			if rng == nil {
				t.Fatalf("%s: no range:\n%s", p.rq, p.body)
			}
			forward = append(forward, seen{rng[1], p.rowNames()})
			if !strings.Contains(p.body, `rel="next"`) {
				break
			}
			p = b.get(t, p.link(t, "Next")).want(t, http.StatusOK)
		}
		if got := []string{forward[0].rng, forward[1].rng, forward[2].rng}; len(forward) != 3 ||
			!slices.Equal(got, []string{"1–25 of 61", "26–50 of 61", "51–61 of 61"}) {
			t.Fatalf("ranges forwards = %v, want 1–25, 26–50, 51–61 of 61", got)
		}
		if got := forward[0].names[:2]; !slices.Equal(got, []string{"User59 Many", "User58 Many"}) {
			t.Errorf("first page sorted by -name starts %v", got)
		}
		// The page's links keep the sort and its actions return to it.
		if !strings.Contains(p.link(t, "Add New User"), url.QueryEscape("sort=-name&cursor=")) {
			t.Errorf("Add New User on page 3 does not return to page 3: %s", p.link(t, "Add New User"))
		}
		for i := len(forward) - 2; i >= 0; i-- {
			p = b.get(t, p.link(t, "Previous")).want(t, http.StatusOK).has(t, `<p id="users-range" class="range">`+forward[i].rng+`</p>`)
			if got := p.rowNames(); !slices.Equal(got, forward[i].names) {
				t.Errorf("page %d backwards = %v, want %v", i+1, got, forward[i].names)
			}
		}
		p.lacks(t, `rel="prev"`)

		// A reload of a later page shows the same page.
		next := b.get(t, list+"?sort=-name").link(t, "Next")
		a, c := b.get(t, next).rowNames(), b.get(t, next).rowNames()
		if !slices.Equal(a, c) || !slices.Equal(a, forward[1].names) {
			t.Errorf("page 2 reloaded = %v, then %v; want %v", a, c, forward[1].names)
		}
	})
}

func TestUsersPageBadParams(t *testing.T) {
	testdb.Each(t, func(t *testing.T, s roster.Store) {
		e, acct, b := signedInAdmin(t, s)
		e.mustListUsers(t, acct, listUser{first: "Bob", last: "Builder", status: roster.StatusActive})
		list := usersPagePath(acct)
		for _, c := range []struct{ query, says string }{
			{"sort=shoe-size", "Unknown sort"},
			{"filter=colour:is:blue", "Unknown filter criterion"},
			{"filter=role:is:owner", "Unknown role"},
			{"limit=0", "limit must be a whole number"},
			{"limit=99999999999", "limit must be a whole number"},
			{"cursor=not-a-cursor", "The page position in this address is not valid"},
			{"q=%00", "control characters"},
			{"q=" + strings.Repeat("a", 300), "at most 254 characters"},
		} {
			b.get(t, list+"?"+c.query).want(t, http.StatusBadRequest).has(t, "Part of this address could not be used", c.says,
				`<table id="users"`, "Alice Admin")
		}
		// A cursor of another order starts the list again.
		next := b.get(t, list+"?limit=1&sort=email").link(t, "Next")
		b.get(t, strings.Replace(next, "sort=email", "sort=name", 1)).want(t, http.StatusBadRequest).
			has(t, "belongs to another order", "Alice Admin")
	})
}

func TestUsersPageAccess(t *testing.T) {
	testdb.Each(t, func(t *testing.T, s roster.Store) {
		e := newPageEnv(t, s)
		acct := e.mustSetup(t)
		other := e.mustAccount(t, "Globex")
		list := usersPagePath(acct)

		e.browser(t).get(t, list+"?q=ann").redirects(t, "/sign-in?next="+url.QueryEscape(list+"?q=ann"))

		inv := e.mustInvite(t, acct, "Sam", "Support", "sam@acme.example.com", nil)
		e.markInvitationSent(t, acct, inv.id)
		e.mustRegister(t, inv, newPassword)
		sam := e.browser(t)
		sam.signIn(t, "sam@acme.example.com", newPassword)
		// The refusal keeps the header: who is signed in, in which
		// account, and Sign out, but no User Management.
		sam.get(t, list).want(t, http.StatusForbidden).has(t, "Only an Admin of Acme can manage its users.",
			"Signed in as <strong>sam@acme.example.com</strong>", `action="/sign-out"`, `<span class="visually-hidden">Account: </span>Acme</span>`).
			lacks(t, `<table id="users"`, ">User Management</a>")

		alice := e.browser(t)
		alice.signIn(t, adminEmail, adminPassword)
		alice.get(t, usersPagePath(other)).want(t, http.StatusNotFound).lacks(t, "Globex", `<table id="users"`)
		alice.get(t, list).want(t, http.StatusOK).lacks(t, "Globex")
	})
}
