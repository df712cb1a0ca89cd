package browsertest

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// The Users listing page in Chromium against roster serve: an invitation
// that ends Active in the list, search as you type, the Filters pop-up,
// paging and sorting, the details and features of a user and the way back
// to the list as it was, the refusal of a member who may not manage users,
// and the empty state.

// listTeam is a small team with every status: the Admin (Ada) and, after
// seedListTeam, Alan, Grace and Dorothy Active, Katherine Invitation Sent
// and Margaret Inactive.
func listTeam() (joined []person, invited, revoked person) {
	joined = []person{
		{First: "Alan", Last: "Turing", Email: "alan@acme.example", Roles: []string{"admin"}},
		{First: "Grace", Last: "Hopper", Email: "grace@acme.example", Roles: []string{"support"}},
		{First: "Dorothy", Last: "Vaughan", Email: "dorothy@acme.example", Roles: []string{"communication_manager"}},
	}
	invited = person{First: "Katherine", Last: "Johnson", Email: "katherine@acme.example", Roles: []string{"communication_manager"}}
	revoked = person{First: "Margaret", Last: "Hamilton", Email: "margaret@acme.example", Roles: []string{"support"}}
	return joined, invited, revoked
}

// everyone is the whole team in the list's default order (by name).
var everyone = []string{"Ada Lovelace", "Alan Turing", "Dorothy Vaughan", "Grace Hopper", "Katherine Johnson", "Margaret Hamilton"}

// seedListTeam invites the team as the Admin signed in on admin, lets the
// joiners (and Margaret, whose access is then revoked) register from their
// invitation emails, and returns the user ids by email.
func seedListTeam(t *testing.T, srv *server, admin *browser, acct string) map[string]string {
	t.Helper()
	joined, invited, revoked := listTeam()
	ids := seedUsers(t, admin, acct, append(append(slices.Clone(joined), invited), revoked)...)
	for _, p := range append(joined, revoked) {
		join(t, srv, p, "a long enough passphrase", "member")
	}
	admin.api(http.MethodPost, "/api/v1"+usersPath(acct)+"/"+ids[revoked.Email]+"/revoke",
		map[string]string{"reason": "issue_resolved"}, http.StatusOK, nil)
	return ids
}

// goBack presses the browser's Back button and waits until the previous
// page is shown. It may come back from the back/forward cache, as it does
// for people, without a request to wait for: what is awaited is the
// browser's word that the tab shows another document.
func goBack(b *browser) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, actionTimeout)
	defer cancel()
	shown := make(chan struct{}, 1)
	if err := chromedp.Listen(ctx, func(ev any) {
		if e, ok := ev.(*page.EventFrameNavigated); ok && e.Frame.ParentID == "" {
			select {
			case shown <- struct{}{}:
			default:
			}
		}
	}); err != nil {
		b.t.Fatal(err)
	}
	err := chromedp.Do(ctx, chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		h, err := cdp.Call(ctx, tg, page.GetNavigationHistory, cdp.Empty{})
		if err != nil {
			return err
		}
		if h.CurrentIndex < 1 {
			return fmt.Errorf("there is no page to go back to")
		}
		_, err = cdp.Call(ctx, tg, page.NavigateToHistoryEntry, page.NavigateToHistoryEntryParams{EntryID: h.Entries[h.CurrentIndex-1].ID})
		return err
	}))
	if err == nil {
		select {
		case <-shown:
		case <-ctx.Done():
			err = ctx.Err()
		}
	}
	if err != nil {
		b.t.Fatalf("go back: %v (page %s)", err, b.location())
	}
}

// clickAt is a mouse click on the middle of the first element matching
// the CSS selector. Unlike chromedp.Click it does not rely on chromedp's
// copy of the DOM, which a page restored by Back does not update.
func clickAt(b *browser, selector string) chromedp.Action[chromedp.Void] {
	b.t.Helper()
	at := eval[struct {
		Found bool    `json:"found"`
		X     float64 `json:"x"`
		Y     float64 `json:"y"`
	}](b, `(sel) => {
		const el = document.querySelector(sel);
		if (!el) return {found: false};
		el.scrollIntoView({block: "center", inline: "center"});
		const r = el.getBoundingClientRect();
		return {found: true, x: r.left + r.width / 2, y: r.top + r.height / 2};
	}`, selector)
	if !at.Found {
		b.t.Fatalf("nothing matches %s on %s", selector, b.location())
	}
	return chromedp.MouseClickXY(at.X, at.Y)
}

// listNamesJS lists the names of the rows of the Users table, in order.
const listNamesJS = `() => [...document.querySelectorAll("#users tbody tr[data-user-id] > th")]
	.map(th => th.innerText.replace(/\s+/g, " ").trim())`

// listNames is the names of the rows the Users table shows.
func listNames(b *browser) []string {
	b.t.Helper()
	return eval[[]string](b, listNamesJS)
}

// wantList fails the test unless the table shows exactly the rows named.
func wantList(b *browser, what string, want ...string) {
	b.t.Helper()
	if got := listNames(b); !slices.Equal(got, want) {
		b.t.Errorf("%s: the list at %s shows %q, want %q", what, b.path(), got, want)
	}
}

// waitList waits until the table shows exactly the rows named and the
// JavaScript condition cond holds (the address, say): what the live search
// shows once its debounced request is answered. It checks on every
// animation frame of whichever page is shown: unlike chromedp.Poll it does
// not keep to a script context that a page restored by Back has replaced.
func waitList(b *browser, what, cond string, want ...string) {
	b.t.Helper()
	names, err := json.Marshal(want)
	if err != nil {
		b.t.Fatal(err)
	}
	lit, _ := json.Marshal(string(names))
	expr := fmt.Sprintf(`new Promise(done => {
		const check = () => JSON.stringify((%s)()) === %s && (%s) ? done(true) : requestAnimationFrame(check);
		check();
	})`, listNamesJS, lit, cond)
	ctx, cancel := context.WithTimeout(b.ctx, actionTimeout)
	defer cancel()
	for {
		_, err := chromedp.Run(ctx, chromedp.Evaluate[bool](expr, chromedp.EvalAwaitPromise))
		if err == nil {
			return
		}
		// A page that is replaced while the check runs (a search that
		// falls back to a full load, say) takes the check with it:
		// check the new page.
		if ctx.Err() == nil && (strings.Contains(err.Error(), "context was destroyed") ||
			strings.Contains(err.Error(), "navigated or closed") || strings.Contains(err.Error(), "context with specified id")) {
			continue
		}
		b.t.Fatalf("%s: the list at %s shows %q, want %q where %s (%v)", what, b.path(), listNames(b), want, cond, err)
	}
}

// wantQuery fails the test unless the page's address is the Users page of
// acct with exactly the query parameters want (each name with its values
// in order).
func wantQuery(b *browser, acct, what string, want url.Values) {
	b.t.Helper()
	path := b.path()
	u, err := url.Parse(path)
	if err != nil {
		b.t.Fatal(err)
	}
	got := u.Query()
	got.Del("cursor") // a page position; compared where it matters
	got.Del("start")
	if u.Path != usersPath(acct) || got.Encode() != want.Encode() {
		b.t.Errorf("%s: the address is %s, want %s?%s", what, path, usersPath(acct), want.Encode())
	}
}

// chooseIn picks the option whose text is option in the <select> with the
// id, as a person can: an option the page has disabled or hidden cannot be
// picked.
func chooseIn(b *browser, id, option string) {
	b.t.Helper()
	problem := eval[string](b, `(id, text) => {
		const sel = document.getElementById(id);
		if (!sel || sel.getClientRects().length === 0) return "no visible list with the id " + id;
		const opt = [...sel.options].find(o => o.text.trim() === text);
		if (!opt) return "the list " + id + " has no option " + text;
		const group = opt.parentElement.tagName === "OPTGROUP" ? opt.parentElement : null;
		if (opt.disabled || opt.hidden || (group && (group.disabled || group.hidden))) {
			return "the option " + text + " of " + id + " cannot be chosen";
		}
		sel.focus();
		sel.value = opt.value;
		sel.dispatchEvent(new Event("input", {bubbles: true}));
		sel.dispatchEvent(new Event("change", {bubbles: true}));
		return "";
	}`, id, option)
	if problem != "" {
		b.t.Fatal(problem)
	}
}

// clearByKeyboard empties the field labelled label as a person does:
// select its text and press Backspace, so its input listeners run.
func clearByKeyboard(b *browser, label string) {
	b.t.Helper()
	eval[bool](b, `(id) => { const el = document.getElementById(id); el.focus(); el.select(); return true; }`, b.fieldID(label))
	b.press(kb.Backspace)
}

// chips is the text of the active filters shown above the list.
func chips(b *browser) []string {
	b.t.Helper()
	return eval[[]string](b, `() => [...document.querySelectorAll(".chips .chip")]
		.map(c => c.innerText.replace("×", "").replace(/\s+/g, " ").trim())`)
}

// ariaSort maps each sorted column header to its aria-sort.
func ariaSort(b *browser) map[string]string {
	b.t.Helper()
	return eval[map[string]string](b, `() => Object.fromEntries([...document.querySelectorAll("#users thead th[aria-sort]")]
		.map(th => [th.querySelector("a") ? th.querySelector("a").firstChild.textContent.trim() : th.innerText.trim(), th.getAttribute("aria-sort")]))`)
}

// rowText is the text of the row of the user named fullName.
func rowText(b *browser, fullName string) string {
	b.t.Helper()
	return eval[string](b, `(name) => {
		const th = [...document.querySelectorAll("#users tbody tr[data-user-id] > th")].find(th => th.innerText.trim() === name);
		return th ? th.closest("tr").innerText.replace(/\s+/g, " ").trim() : "";
	}`, fullName)
}

// cell is the text of the column labelled column in the row of fullName.
func cell(b *browser, fullName, column string) string {
	b.t.Helper()
	return eval[string](b, `(name, column) => {
		const th = [...document.querySelectorAll("#users tbody tr[data-user-id] > th")].find(th => th.innerText.trim() === name);
		const td = th && th.closest("tr").querySelector('td[data-label="' + column + '"]');
		return td ? td.innerText.replace(/\s+/g, " ").trim() : "";
	}`, fullName, column)
}

func TestUsersListSearch(t *testing.T) {
	srv, b, acct := signInAsAdmin(t)
	seedListTeam(t, srv, b, acct)
	b.follow("users-list", "User Management of "+accountName, http.StatusOK)
	wantList(b, "the whole team", everyone...)
	b.wantText("#users-range", "1–6 of 6")

	// Part of a name, typed key by key: the rows follow as one types, and
	// the address keeps the search.
	b.fill("Search", "hop")
	waitList(b, "typing hop", `location.search === "?q=hop"`, "Grace Hopper")
	b.checkPage("users-search")
	b.wantText("#users-range", "1–1 of 1")

	// A reload shows the same list, the search still in its box.
	b.navigate("users-search", http.StatusOK, "reload", chromedp.Reload())
	wantList(b, "the reloaded search", "Grace Hopper")
	if got := b.value("Search"); got != "hop" {
		t.Errorf("after a reload the search box holds %q, want hop", got)
	}

	// Enter searches too: the text is put in without a keystroke that the
	// as-you-type search would answer, so only Enter can show it.
	eval[bool](b, `(id) => { const el = document.getElementById(id); el.value = "vau"; el.focus(); return true; }`, b.fieldID("Search"))
	b.press(keyEnter)
	waitList(b, "Enter on vau", `location.search === "?q=vau"`, "Dorothy Vaughan")
	b.checkPage("users-search")
	// One or two letters are not searched as they are typed (they cannot
	// use the search index); Enter searches them.
	b.fill("Search", "va")
	b.press(keyEnter)
	waitList(b, "Enter on va", `location.search === "?q=va"`, "Dorothy Vaughan")

	// Emptying the box shows everyone again, at the plain address.
	clearByKeyboard(b, "Search")
	waitList(b, "the cleared search", `location.search === ""`, everyone...)
	b.checkPage("users-list")
}

func TestUsersListEmptyState(t *testing.T) {
	srv, b, acct := signInAsAdmin(t)
	seedListTeam(t, srv, b, acct)
	b.follow("users-list", "User Management of "+accountName, http.StatusOK)

	b.fill("Search", "zzz")
	b.waitFor("the empty state", `(() => {
		const h = document.querySelector(".empty-state h2");
		return !!h && h.innerText.includes("zzz") && location.search === "?q=zzz";
	})()`)
	b.checkPage("users-empty")
	b.wantText(".empty-state", "No users match “zzz”.")
	if b.has("#users") {
		t.Errorf("with no match the page still shows a table: %s", b.text("#users"))
	}

	// The empty state's own way out; it ends at the plain list.
	b.follow("users-list", "Clear the search", http.StatusOK)
	wantList(b, "after Clear the search", everyone...)
	wantQuery(b, acct, "after Clear the search", url.Values{})
	if got := b.value("Search"); got != "" {
		t.Errorf("after Clear the search the box holds %q", got)
	}

	// Filters that match nobody say so and offer to clear them.
	b.open("users-empty", usersPath(acct)+"?filter=status:is:inactive&filter=role:is:admin", http.StatusOK)
	b.wantText(".empty-state", "No users match these filters.")
	b.follow("users-list", "Clear the filters", http.StatusOK)
	wantList(b, "after Clear the filters", everyone...)
}

func TestUsersListFilters(t *testing.T) {
	srv, b, acct := signInAsAdmin(t)
	seedListTeam(t, srv, b, acct)
	b.follow("users-list", "User Management of "+accountName, http.StatusOK)

	// Two rows, one of them Is Not.
	// Opening the pop-up takes the focus to its first field (as the
	// toggle event is handled, after the click).
	b.clickText("Filters")
	b.waitFor("the focus on the first Select criteria", `document.activeElement === document.getElementById("filter-1-criterion")`)
	chooseIn(b, "filter-1-criterion", "Status")
	chooseIn(b, "filter-1-condition", "Is")
	chooseIn(b, "filter-1-option", "Active")
	b.clickText("Add Filter")
	b.waitVisible("#filter-2-criterion")
	chooseIn(b, "filter-2-criterion", "Role")
	chooseIn(b, "filter-2-condition", "Is Not")
	// A Role row offers roles only.
	if ok := eval[bool](b, `() => [...document.getElementById("filter-2-option").options]
		.filter(o => o.text === "Active").every(o => o.parentElement.disabled || o.parentElement.hidden)`); !ok {
		t.Error("a row whose criteria is Role still offers the status Active")
	}
	chooseIn(b, "filter-2-option", "Admin")
	b.checkPage("users-filters-open")
	b.follow("users-filtered", "Apply", http.StatusOK)
	wantQuery(b, acct, "after Apply", url.Values{"filter": {"status:is:active", "role:is_not:admin"}})
	wantList(b, "Status Is Active and Role Is Not Admin", "Dorothy Vaughan", "Grace Hopper")
	if got, want := chips(b), []string{"Status is Active", "Role is not Admin"}; !slices.Equal(got, want) {
		t.Errorf("after Apply the filters shown are %q, want %q", got, want)
	}
	b.wantText(".filters-button", "Filters 2")

	// Removing one chip keeps the other.
	b.follow("users-filtered", "Remove filter: Status is Active", http.StatusOK)
	wantQuery(b, acct, "after removing Status is Active", url.Values{"filter": {"role:is_not:admin"}})
	if got, want := chips(b), []string{"Role is not Admin"}; !slices.Equal(got, want) {
		t.Errorf("after removing Status is Active the filters shown are %q, want %q", got, want)
	}
	wantList(b, "Role Is Not Admin", "Dorothy Vaughan", "Grace Hopper", "Katherine Johnson", "Margaret Hamilton")

	// The pop-up shows the filter in force; Reset Filter clears it.
	b.clickText("Filters 1 in use")
	b.waitVisible("#filter-1-criterion")
	if got := []string{b.text("#filter-1-criterion option:checked"), b.text("#filter-1-condition option:checked"),
		b.text("#filter-1-option option:checked")}; !slices.Equal(got, []string{"Role", "Is Not", "Admin"}) {
		t.Errorf("the Filters pop-up shows the filter in force as %q, want Role, Is Not, Admin", got)
	}
	if b.has("#filter-2-criterion") {
		t.Error("the Filters pop-up shows a second row for one filter in force")
	}
	b.follow("users-list", "Reset Filter", http.StatusOK)
	wantQuery(b, acct, "after Reset Filter", url.Values{})
	wantList(b, "after Reset Filter", everyone...)
	if got := chips(b); len(got) != 0 {
		t.Errorf("after Reset Filter the page still shows the filters %q", got)
	}
}

func TestUsersListPaging(t *testing.T) {
	_, b, acct := signInAsAdmin(t)
	members := numbered(60)
	seedUsers(t, b, acct, members...)
	names := func(from, to int) []string { // "Member 025 Test" … "Member 049 Test"
		var ns []string
		for i := from; i <= to; i++ {
			ns = append(ns, members[i-1].fullName())
		}
		return ns
	}
	b.follow("users-list", "User Management of "+accountName, http.StatusOK)
	b.wantText("#users-range", "1–25 of 61")
	wantList(b, "page 1", append([]string{"Ada Lovelace"}, names(1, 24)...)...)
	if b.has(`.pager a[rel="prev"]`) {
		t.Error("the first page offers a Previous page")
	}

	b.follow("users-page-2", "Next page", http.StatusOK)
	b.wantText("#users-range", "26–50 of 61")
	wantList(b, "page 2", names(25, 49)...)
	b.follow("users-page-3", "Next page", http.StatusOK)
	b.wantText("#users-range", "51–61 of 61")
	wantList(b, "page 3", names(50, 60)...)
	if b.has(`.pager a[rel="next"]`) {
		t.Error("the last page offers a Next page")
	}
	b.follow("users-page-2", "Previous page", http.StatusOK)
	b.wantText("#users-range", "26–50 of 61")
	wantList(b, "page 2 again", names(25, 49)...)

	// The browser's Back shows the page it was on before.
	back := b.path()
	goBack(b)
	waitList(b, "Back from page 2", `document.getElementById("users-range").innerText === "51–61 of 61"`, names(50, 60)...)
	b.checkPage("users-page-3")
	if got := b.path(); got == back {
		t.Errorf("after Back the address is still %s", got)
	}

	// Sorting: the sorted column says so, and a new order starts at page 1.
	if got := ariaSort(b); len(got) != 1 || got["Name"] != "ascending" {
		t.Errorf("by default the headers' aria-sort is %v, want Name ascending", got)
	}
	b.navigate("users-sorted", http.StatusOK, "sort by Name", clickAt(b, "#users thead th.col-name a"))
	if got := ariaSort(b); len(got) != 1 || got["Name"] != "descending" {
		t.Errorf("sorted by Name again, the headers' aria-sort is %v, want Name descending", got)
	}
	b.wantText("#users-range", "1–25 of 61")
	want := names(36, 60)
	slices.Reverse(want)
	wantList(b, "by name, Z to A", want...)
	wantQuery(b, acct, "by name, Z to A", url.Values{"sort": {"-name"}})

	b.navigate("users-sorted", http.StatusOK, "sort by Email", clickAt(b, "#users thead th.col-email a"))
	if got := ariaSort(b); len(got) != 1 || got["Email"] != "ascending" {
		t.Errorf("sorted by Email, the headers' aria-sort is %v, want Email ascending", got)
	}
	// ada@ comes before member001@.
	wantList(b, "by email", append([]string{"Ada Lovelace"}, names(1, 24)...)...)

	b.navigate("users-sorted", http.StatusOK, "sort by Last Login", clickAt(b, "#users thead th.col-login a"))
	if got := ariaSort(b); len(got) != 1 || got["Last Login"] != "descending" {
		t.Errorf("sorted by Last Login, the headers' aria-sort is %v, want Last Login descending (recent first)", got)
	}
	if got := listNames(b); len(got) == 0 || got[0] != "Ada Lovelace" {
		t.Errorf("by Last Login, most recent first, the list starts %q, want Ada Lovelace, the only one who signed in", got[:min(len(got), 3)])
	}
}

func TestUsersListInvitationToActive(t *testing.T) {
	srv, admin, acct := signInAsAdmin(t)
	grace := person{First: "Grace", Last: "Hopper", Email: "grace@acme.example", Roles: []string{"support"}}

	// The Admin adds Grace on the Add New User page.
	admin.follow("users-list", "User Management of "+accountName, http.StatusOK)
	admin.follow("user-add", "Add New User", http.StatusOK)
	admin.fill("First Name", grace.First)
	admin.fill("Last Name", grace.Last)
	admin.fill("Email", grace.Email)
	admin.setChecked("Support", true)
	admin.follow("users-invitation-sent", "Save", http.StatusOK)
	wantQuery(admin, acct, "after Save", url.Values{})
	admin.wantText(".flash", grace.fullName(), grace.Email)
	wantList(admin, "after adding Grace", "Ada Lovelace", "Grace Hopper")
	if got := cell(admin, grace.fullName(), "Status"); got != "Invitation Sent" {
		t.Errorf("Grace's status reads %q, want Invitation Sent (row: %s)", got, rowText(admin, grace.fullName()))
	}
	if got := cell(admin, grace.fullName(), "Last Login"); got != "Never" {
		t.Errorf("Grace's Last Login reads %q before she joined, want Never", got)
	}

	// Grace follows the emailed link and registers.
	link := srv.mailLink(t, grace.Email, "Ada Lovelace invited you to join "+accountName)
	g := newBrowser(t, srv)
	g.open("register", link, http.StatusOK)
	g.fill("Password", "compilers before breakfast")
	g.fill("Password again", "compilers before breakfast")
	g.follow("home-member", "Join "+accountName, http.StatusOK)
	g.wantText("header", "Signed in as "+grace.Email)

	// The Admin reloads the list: Grace is Active, with a Last Login.
	admin.navigate("users-joined", http.StatusOK, "reload", chromedp.Reload())
	if admin.flash() != "" {
		t.Errorf("the reloaded list shows the flash again: %q", admin.flash())
	}
	if got := cell(admin, grace.fullName(), "Status"); got != "Active" {
		t.Errorf("after joining Grace's status reads %q, want Active (row: %s)", got, rowText(admin, grace.fullName()))
	}
	if got := cell(admin, grace.fullName(), "Last Login"); got == "" || got == "Never" {
		t.Errorf("after joining Grace's Last Login reads %q, want when she signed in", got)
	}
	if !eval[bool](admin, `(name) => {
		const th = [...document.querySelectorAll("#users tbody tr[data-user-id] > th")].find(th => th.innerText.trim() === name);
		const time = th && th.closest("tr").querySelector('td[data-label="Last Login"] time[datetime]');
		return !!time && !isNaN(Date.parse(time.getAttribute("datetime")));
	}`, grace.fullName()) {
		t.Error("Grace's Last Login is not a <time> with a machine-readable datetime")
	}
}

func TestUsersListDetailsAndBack(t *testing.T) {
	srv, b, acct := signInAsAdmin(t)
	grace := person{First: "Grace", Last: "Hopper", Email: "grace@acme.example", Roles: []string{"support"}}
	seedUsers(t, b, acct, grace)
	join(t, srv, grace, "a long enough passphrase", "member")
	members := numbered(30)
	seedUsers(t, b, acct, members...)

	// A list with a filter, a search, an order and a page: a shared link
	// with a filter, then a search typed, a column sorted, a page turned.
	b.open("users-filtered", usersPath(acct)+"?filter=role:is:support", http.StatusOK)
	b.fill("Search", "er") // two letters: searched on Enter, not as typed
	b.press(keyEnter)
	b.waitFor("the search er", `location.search === "?q=er&filter=role%3Ais%3Asupport" &&
		document.getElementById("users-range").innerText.includes("of 31")`)
	b.checkPage("users-search")
	b.navigate("users-sorted", http.StatusOK, "sort by Name", clickAt(b, "#users thead th.col-name a"))
	b.follow("users-page-2", "Next page", http.StatusOK)
	list, rows, summary := b.path(), listNames(b), b.text("#users-range")
	wantQuery(b, acct, "page 2", url.Values{"q": {"er"}, "filter": {"role:is:support"}, "sort": {"-name"}})
	if want := append([]string{"Member 005 Test", "Member 004 Test", "Member 003 Test", "Member 002 Test", "Member 001 Test"},
		grace.fullName()); !slices.Equal(rows, want) {
		t.Fatalf("page 2 of the list shows %q, want %q", rows, want)
	}
	if summary != "26–31 of 31" {
		t.Errorf("page 2 reads %q, want 26–31 of 31", summary)
	}

	// View Details from Grace's menu.
	b.openRowMenu(grace.fullName())
	b.follow("user-details", "View Details", http.StatusOK)
	b.wantText("h1", "Account Details")
	b.wantText("main", grace.fullName(), grace.Email, "Support", "Active", "Ada Lovelace")
	if got := b.text(".details-grid"); !strings.Contains(strings.ToLower(got), "invited by ada lovelace") {
		t.Errorf("Grace's details do not say Ada invited her: %s", got)
	}
	if got := b.text(".details-grid"); strings.Contains(got, "Never signed in") {
		t.Errorf("Grace signed in when she joined, but her details read: %s", got)
	}

	// Its View Details opens the features pop-up; Escape closes it and
	// the focus returns to the button.
	// Its name is "View Details: features of Grace Hopper"; the visible
	// part is View Details.
	features := `.profile-actions a[href*="/features"]`
	b.wantText(features, "View Details")
	b.click(features)
	if got := b.waitDialog(); got != "Features of "+grace.fullName() {
		t.Errorf("the features dialog is headed %q", got)
	}
	b.checkPage("user-features-dialog")
	b.wantText("dialog.modal[open]", "View logs", "View usage and balance", "Granted by Support")
	if got := b.text("dialog.modal[open]"); strings.Contains(got, "Manage team") {
		t.Errorf("a Support user's features include Manage team: %s", got)
	}
	b.press(keyEscape)
	b.waitDialogClosed()
	if !eval[bool](b, `(sel) => document.activeElement === document.querySelector(sel)`, features) {
		t.Errorf("after Escape the focus is on %q, want View Details", b.focused())
	}

	// Back to Users: the list exactly as it was.
	b.follow("users-page-2", "Back to Users", http.StatusOK)
	if got := b.path(); got != list {
		t.Errorf("Back to Users leads to %s, want the list as it was, %s", got, list)
	}
	wantList(b, "back from the details", rows...)
	b.wantText("#users-range", summary)
	if got := b.value("Search"); got != "er" {
		t.Errorf("back from the details the search box holds %q, want er", got)
	}
	if got := chips(b); !slices.Equal(got, []string{"Role is Support"}) {
		t.Errorf("back from the details the filters shown are %q, want Role is Support", got)
	}
}

func TestUsersListRefusedWithoutManage(t *testing.T) {
	srv, admin, acct := signInAsAdmin(t)
	grace := person{First: "Grace", Last: "Hopper", Email: "grace@acme.example", Roles: []string{"support"}}
	seedUsers(t, admin, acct, grace)
	var admins struct {
		Items []struct {
			ID string `json:"id"`
		} `json:"items"`
	}
	admin.api(http.MethodGet, "/api/v1"+usersPath(acct)+"?q="+url.QueryEscape(adminEmail), nil, http.StatusOK, &admins)
	if len(admins.Items) != 1 {
		t.Fatalf("the API finds %d users with the Admin's email", len(admins.Items))
	}
	g := join(t, srv, grace, "a long enough passphrase", "member") // on the home page

	g.wantText("main", accountName, "Support")
	if g.has(`a[href*="/users"]`) {
		t.Errorf("a Support user is offered a link to the Users pages: %s", g.text("main"))
	}
	if g.text("header") == "" || strings.Contains(g.text("header"), "User Management") {
		t.Errorf("a Support user's header offers User Management: %q", g.text("header"))
	}

	// Asked for directly, the pages are refused in words, with no control
	// of the Admin's on them.
	refused := "Only an Admin of " + accountName + " can manage its users."
	for _, path := range []string{usersPath(acct), usersPath(acct) + "/new", usersPath(acct) + "/" + admins.Items[0].ID,
		usersPath(acct) + "?q=ada&filter=role:is:admin"} {
		g.open("users-non-admin-refused", path, http.StatusForbidden)
		g.wantText("main", refused)
		if g.has("#users, [data-users-search], [data-filters], a[data-dialog]") {
			t.Errorf("refused at %s, the page still shows management controls: %s", path, g.text("main"))
		}
		if strings.Contains(g.text("main"), adminEmail) {
			t.Errorf("refused at %s, the page still shows the Admin's email: %s", path, g.text("main"))
		}
	}
}
