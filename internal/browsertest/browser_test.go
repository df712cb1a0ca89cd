package browsertest

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// browser is one person's browser: a tab in a browser context of its own
// (so two browsers in a test do not share cookies), at desktop size, with
// the HTTP cache off so that every page load is measured as a first visit.
//
// Every page that a helper loads (open, follow) is checked by checkPage
// under a name: axe-core finds no serious or critical violation, the page
// logged no script error or Content-Security-Policy violation, its load
// transferred at most maxFirstLoad bytes, and with ROSTER_SCREENSHOTS=1 it
// is photographed at desktop and phone width into docs/screenshots.
type browser struct {
	t   *testing.T
	ctx context.Context
	srv *server

	mu       sync.Mutex
	pending  map[network.RequestID]string // URL of each request of the load in progress
	load     []transfer                   // what the current page's load transferred
	loaded   bool                         // its load event fired
	problems []string                     // script errors and CSP violations not yet reported

	scriptsOff bool      // the page's JavaScript is disabled (disableScripts)
	size       *viewport // the size the test asked for (resize); nil: desktop
}

// transfer is one response of a page load: its URL and the bytes that
// crossed the network for it (headers and body as sent).
type transfer struct {
	url   string
	bytes int64
}

// maxFirstLoad bounds what the first load of a page (HTML, CSS, JS and
// anything else it fetches before its load event) may transfer.
const maxFirstLoad = 100_000

// actionTimeout bounds one browser action or wait: a hang, not a timing
// expectation.
const actionTimeout = 30 * time.Second

type viewport struct {
	name          string
	width, height int64
	mobile        bool
}

var (
	desktop = viewport{"desktop", 1280, 800, false}
	phone   = viewport{"phone", 390, 844, true}
)

// newBrowser opens a fresh browser for srv; it closes when the test ends.
func newBrowser(t *testing.T, srv *server) *browser {
	t.Helper()
	ctx, cancel := chromedp.NewContext(chromium(t), chromedp.WithNewBrowserContext())
	t.Cleanup(cancel)
	b := &browser{t: t, ctx: ctx, srv: srv, pending: map[network.RequestID]string{}}
	if err := chromedp.Do(ctx); err != nil { // opens the tab
		t.Fatalf("open a tab: %v", err)
	}
	if err := chromedp.Listen(ctx, b.event); err != nil {
		t.Fatal(err)
	}
	b.do("set up the tab",
		b.setViewport(desktop),
		chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			_, err := cdp.Call(ctx, tg, network.SetCacheDisabled, network.SetCacheDisabledParams{CacheDisabled: true})
			return err
		}))
	return b
}

// event runs in the tab's event loop, in the order Chromium sends events:
// it keeps what the current page's load transfers and what goes wrong in it.
func (b *browser) event(ev any) {
	b.mu.Lock()
	defer b.mu.Unlock()
	switch ev := ev.(type) {
	case *network.EventRequestWillBeSent:
		if ev.Type == network.ResourceTypeDocument && ev.RedirectResponse == nil {
			// A new page: what came before belongs to the previous one.
			clear(b.pending)
			b.load, b.loaded = nil, false
		}
		if !b.loaded {
			b.pending[ev.RequestID] = ev.Request.URL
		}
	case *network.EventLoadingFinished:
		if url, ok := b.pending[ev.RequestID]; ok {
			b.load = append(b.load, transfer{url, int64(ev.EncodedDataLength)})
			delete(b.pending, ev.RequestID)
		}
	case *page.EventLoadEventFired:
		b.loaded = true
	case *runtime.EventExceptionThrown:
		d := ev.ExceptionDetails
		msg := d.Text
		if d.Exception != nil && d.Exception.Description != "" {
			msg = d.Exception.Description
		}
		b.problems = append(b.problems, fmt.Sprintf("script error at %s:%d: %s", d.URL, d.LineNumber+1, msg))
	case *runtime.EventConsoleAPICalled:
		if ev.Type == runtime.ConsoleAPICalledTypeError {
			var parts []string
			for _, a := range ev.Args {
				parts = append(parts, strings.Trim(string(a.Value), `"`)+a.Description)
			}
			b.problems = append(b.problems, "console.error: "+strings.Join(parts, " "))
		}
	case *log.EventEntryAdded:
		// Network errors (a 404 favicon, a 422 form answer) are the
		// tests' to judge; the rest, CSP violations first, are bugs.
		if e := ev.Entry; e.Level == log.EntryLevelError && e.Source != log.EntrySourceNetwork {
			b.problems = append(b.problems, fmt.Sprintf("%s error at %s: %s", e.Source, e.URL, e.Text))
		}
	}
}

// do runs browser actions, failing the test with what was being done.
func (b *browser) do(what string, steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, actionTimeout)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		b.t.Fatalf("%s: %v (page %s)", what, err, b.location())
	}
}

// eval calls the JavaScript function fn with args (passed as JSON) in the
// page, awaiting a promise it returns, and decodes its result into T.
func eval[T any](b *browser, fn string, args ...any) T {
	b.t.Helper()
	if args == nil {
		args = []any{}
	}
	js, err := json.Marshal(args)
	if err != nil {
		b.t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(b.ctx, actionTimeout)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T]("("+fn+")(..."+string(js)+")", chromedp.EvalAwaitPromise))
	if err != nil {
		b.t.Fatalf("in the page: %v\n%s", err, fn)
	}
	return v
}

func (b *browser) location() string {
	ctx, cancel := context.WithTimeout(b.ctx, 5*time.Second)
	defer cancel()
	loc, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil {
		return "unknown"
	}
	return loc
}

// path is the path and query of the page shown, e.g. "/sign-in?next=%2F".
func (b *browser) path() string {
	b.t.Helper()
	return eval[string](b, `() => location.pathname + location.search`)
}

// open loads path (relative to the server, or a full URL such as a link
// from an email), wants HTTP status want, and checks the page as name.
func (b *browser) open(name, path string, want int64) {
	b.t.Helper()
	if strings.HasPrefix(path, "/") {
		path = b.srv.URL + path
	}
	b.navigate(name, want, "open "+path, chromedp.Navigate(path))
}

// follow clicks the link or button whose visible text (or aria-label) is
// text, waits for the page it leads to, and checks that page as name. A
// form submitted this way posts like a person's click.
func (b *browser) follow(name, text string, want int64) {
	b.t.Helper()
	b.navigate(name, want, "follow "+text, b.clickTextAction(text))
}

// navigate runs trigger, waits for the page it loads (through redirects),
// wants its status, and checks the page.
func (b *browser) navigate(name string, want int64, what string, trigger chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, actionTimeout)
	defer cancel()
	resp, err := chromedp.RunResponse(ctx, trigger)
	if err != nil {
		b.t.Fatalf("%s: %v (page %s)", what, err, b.location())
	}
	if resp.Status != want {
		b.t.Fatalf("%s: got %s with status %d, want %d:\n%s", what, resp.URL, resp.Status, want, b.text("main"))
	}
	b.checkPage(name)
}

// findJS finds the one visible element a person would call text: a link,
// button or menu item whose text or aria-label is text (spaces collapsed).
// While a modal dialog is open only its content counts, as only it can be
// used. It scrolls the element into view and returns the centre of its
// box, or the names it saw when there is not exactly one.
const findJS = `(text) => {
	const norm = s => (s || "").replace(/\s+/g, " ").trim();
	const scope = document.querySelector("dialog:modal") || document;
	const all = [...scope.querySelectorAll("a[href], button, summary, input[type=submit], [role=button], [role=menuitem], [role=tab], [role=option]")]
		.filter(el => el.getClientRects().length > 0 && !el.closest("[inert]"));
	const name = el => norm(el.getAttribute("aria-label")) || norm(el.innerText) || norm(el.value);
	const hits = all.filter(el => name(el) === text);
	if (hits.length !== 1) {
		return {count: hits.length, names: all.map(name)};
	}
	const el = hits[0];
	el.scrollIntoView({block: "center", inline: "center"});
	const r = el.getBoundingClientRect();
	const x = r.left + r.width / 2, y = r.top + r.height / 2;
	const top = document.elementFromPoint(x, y);
	const covered = top && top !== el && !el.contains(top) ? top.outerHTML.slice(0, 200) : "";
	return {count: 1, x, y, covered};
}`

type found struct {
	Count   int      `json:"count"`
	Names   []string `json:"names"`
	X       float64  `json:"x"`
	Y       float64  `json:"y"`
	Covered string   `json:"covered"`
}

// clickTextAction clicks with the mouse the element findJS finds for text.
func (b *browser) clickTextAction(text string) chromedp.Action[chromedp.Void] {
	b.t.Helper()
	f := eval[found](b, findJS, text)
	switch {
	case f.Count == 0:
		b.t.Fatalf("no visible link or button %q on %s; there are: %q", text, b.location(), f.Names)
	case f.Count > 1:
		b.t.Fatalf("%d visible links or buttons %q on %s: say which with click(selector)", f.Count, text, b.location())
	case f.Covered != "":
		b.t.Fatalf("%q on %s is covered by %s", text, b.location(), f.Covered)
	}
	return chromedp.MouseClickXY(f.X, f.Y)
}

// clickText clicks the link or button named text, for what happens on the
// same page (a menu, a dialog, a live update); follow is for navigation.
func (b *browser) clickText(text string) {
	b.t.Helper()
	b.do("click "+text, b.clickTextAction(text))
}

// click clicks the first visible element matching the CSS selector.
func (b *browser) click(selector string) {
	b.t.Helper()
	b.do("click "+selector, chromedp.Click(chromedp.CSS(selector)))
}

// fieldJS finds the form control whose <label> (or aria-label) reads
// label and returns its id, or the labels it saw.
const fieldJS = `(label) => {
	const norm = s => (s || "").replace(/\s+/g, " ").trim();
	const scope = document.querySelector("dialog:modal") || document;
	const labels = [...scope.querySelectorAll("label")].filter(l => l.control && l.getClientRects().length > 0);
	let hits = labels.filter(l => norm(l.textContent) === label).map(l => l.control);
	if (hits.length === 0) {
		hits = [...scope.querySelectorAll("[aria-label]")].filter(el => norm(el.getAttribute("aria-label")) === label);
	}
	if (hits.length !== 1 || !hits[0].id) {
		return {id: "", count: hits.length, labels: labels.map(l => norm(l.textContent))};
	}
	return {id: hits[0].id, count: 1};
}`

// fieldID returns the id of the control labelled label.
func (b *browser) fieldID(label string) string {
	b.t.Helper()
	f := eval[struct {
		ID     string   `json:"id"`
		Count  int      `json:"count"`
		Labels []string `json:"labels"`
	}](b, fieldJS, label)
	if f.ID == "" {
		b.t.Fatalf("%d fields with an id labelled %q on %s; the labels are %q", f.Count, label, b.location(), f.Labels)
	}
	return f.ID
}

// fill types value into the field labelled label (an input or a
// textarea), replacing what it held, key by key as a person types (so input
// listeners run). A date or time field, which takes keys in the browser's
// locale order, gets its value set whole instead, with the input and change
// events of a pick.
func (b *browser) fill(label, value string) {
	b.t.Helper()
	id := b.fieldID(label)
	// Emptied through the value property, not the value attribute (which
	// no longer counts once a person has typed) nor a textarea's text node
	// (which an empty textarea does not have).
	typed := eval[bool](b, `(id, value) => {
		const el = document.getElementById(id);
		el.focus();
		const fire = () => ["input", "change"].forEach(t => el.dispatchEvent(new Event(t, {bubbles: true})));
		if (el.value !== "") {
			el.value = "";
			fire();
		}
		if (["date", "time", "datetime-local", "month", "week"].includes(el.type)) {
			el.value = value;
			fire();
			return false;
		}
		return true;
	}`, id, value)
	if typed && value != "" {
		b.do("fill "+label, chromedp.SendKeys(chromedp.ID(id), value))
	}
	if got := b.value(label); got != value {
		b.t.Fatalf("the field %q holds %q after filling in %q", label, got, value)
	}
}

// setChecked ticks or clears the checkbox (or radio button) labelled label
// with a click on it, or on its label when a styled control hides it.
func (b *browser) setChecked(label string, on bool) {
	b.t.Helper()
	id := b.fieldID(label)
	at := eval[struct {
		Checked bool    `json:"checked"`
		X       float64 `json:"x"`
		Y       float64 `json:"y"`
	}](b, `(id) => {
		const el = document.getElementById(id);
		const target = el.offsetWidth > 1 && el.offsetHeight > 1 ? el : el.labels[0];
		target.scrollIntoView({block: "center"});
		const r = target.getBoundingClientRect();
		return {checked: el.checked, x: r.left + Math.min(r.width / 2, 12), y: r.top + r.height / 2};
	}`, id)
	if at.Checked != on {
		b.do("tick "+label, chromedp.MouseClickXY(at.X, at.Y))
	}
}

// choose picks the option whose text is option in the <select> labelled
// label, as a person's pick does (input and change events).
func (b *browser) choose(label, option string) {
	b.t.Helper()
	id := b.fieldID(label)
	ok := eval[bool](b, `(id, text) => {
		const sel = document.getElementById(id);
		const opt = [...sel.options].find(o => o.text.trim() === text);
		if (!opt) return false;
		sel.value = opt.value;
		sel.dispatchEvent(new Event("input", {bubbles: true}));
		sel.dispatchEvent(new Event("change", {bubbles: true}));
		return true;
	}`, id, option)
	if !ok {
		b.t.Fatalf("the list %q has no option %q", label, option)
	}
}

// value is the current value of the field labelled label.
func (b *browser) value(label string) string {
	b.t.Helper()
	return eval[string](b, `(id) => document.getElementById(id).value`, b.fieldID(label))
}

// Keys for press, from the kb package.
const (
	keyTab       = kb.Tab
	keyEnter     = kb.Enter
	keyEscape    = kb.Escape
	keyArrowDown = kb.ArrowDown
	keyArrowUp   = kb.ArrowUp
	keyHome      = kb.Home
	keyEnd       = kb.End
	keySpace     = " "
)

// press types keys into whatever has the focus, e.g. press(keyTab, keyEnter).
func (b *browser) press(keys ...string) {
	b.t.Helper()
	for _, k := range keys {
		b.do(fmt.Sprintf("press %q", k), chromedp.KeyEvent(k))
	}
}

// pressShiftTab moves the focus backwards.
func (b *browser) pressShiftTab() {
	b.t.Helper()
	b.do("press Shift+Tab", chromedp.KeyEvent(kb.Tab, chromedp.KeyModifiers(chromedp.ModifierShift)))
}

// tabTo presses Tab until the focus reaches the element a person hears as
// name (see focused), at most max times, as a keyboard user finds it.
func (b *browser) tabTo(name string, max int) {
	b.t.Helper()
	var seen []string
	for range max {
		b.press(keyTab)
		got := b.focused()
		if got == name {
			return
		}
		seen = append(seen, got)
	}
	b.t.Fatalf("%d presses of Tab on %s do not reach %q; they reach %q", max, b.location(), name, seen)
}

// focusShows reports whether the focused element shows that it has the
// focus: a computed outline or box shadow, as :focus-visible styles give.
func (b *browser) focusShows() bool {
	b.t.Helper()
	return eval[bool](b, `() => {
		const el = document.activeElement;
		if (!el || el === document.body) return false;
		const st = getComputedStyle(el);
		return (st.outlineStyle !== "none" && parseFloat(st.outlineWidth) > 0) || st.boxShadow !== "none";
	}`)
}

// disableScripts turns JavaScript off in b's tab for the pages it loads
// from now on, as in a person's browser without JavaScript. The test's own
// evaluations still run; axe-core, which waits on timers, gets scripts back
// while it runs (see checkAccessibility), which runs none of the page's.
func (b *browser) disableScripts() {
	b.t.Helper()
	b.setScripts(false)
	b.scriptsOff = true
}

func (b *browser) setScripts(on bool) {
	b.t.Helper()
	b.do(fmt.Sprintf("turn JavaScript on: %v", on), chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := cdp.Call(ctx, tg, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: !on})
		return err
	}))
}

// pressAndWait presses a key that loads a page (Enter on a link or in a
// form) and checks that page as name.
func (b *browser) pressAndWait(name, key string, want int64) {
	b.t.Helper()
	b.navigate(name, want, fmt.Sprintf("press %q", key), chromedp.KeyEvent(key))
}

// focused describes the element that has the keyboard focus as a person
// hears it: its aria-label, its label or its text.
func (b *browser) focused() string {
	b.t.Helper()
	return eval[string](b, `() => {
		const el = document.activeElement;
		if (!el || el === document.body) return "";
		const norm = s => (s || "").replace(/\s+/g, " ").trim();
		return norm(el.getAttribute("aria-label")) || (el.labels && el.labels[0] ? norm(el.labels[0].textContent) : "") ||
			norm(el.innerText) || norm(el.value) || el.tagName.toLowerCase();
	}`)
}

// waitVisible waits until an element matching the CSS selector is shown.
func (b *browser) waitVisible(selector string) {
	b.t.Helper()
	b.do("wait for "+selector, chromedp.WaitVisible(chromedp.CSS(selector)))
}

// waitHidden waits until the element matching the CSS selector is not
// shown.
func (b *browser) waitHidden(selector string) {
	b.t.Helper()
	b.do("wait until "+selector+" is hidden", chromedp.WaitNotVisible(chromedp.CSS(selector)))
}

// waitGone waits until no element matches the CSS selector.
func (b *browser) waitGone(selector string) {
	b.t.Helper()
	b.do("wait until "+selector+" is gone", chromedp.WaitNotPresent(chromedp.CSS(selector)))
}

// waitFor waits until the JavaScript expression cond is true, e.g. after
// a debounced live search; the page checks it on every animation frame.
func (b *browser) waitFor(what, cond string) {
	b.t.Helper()
	b.do("wait for "+what, chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := chromedp.Poll[bool](cond)(ctx, tg)
		return err
	}))
}

// text is the visible text of the first element matching the CSS
// selector, spaces collapsed; "" when there is none.
func (b *browser) text(selector string) string {
	b.t.Helper()
	return eval[string](b, `(sel) => {
		const el = document.querySelector(sel);
		return el ? el.innerText.replace(/\s+/g, " ").trim() : "";
	}`, selector)
}

// has reports whether an element matches the CSS selector.
func (b *browser) has(selector string) bool {
	b.t.Helper()
	return eval[bool](b, `(sel) => document.querySelector(sel) !== null`, selector)
}

// flash is the one-time message the layout shows after an action.
func (b *browser) flash() string {
	b.t.Helper()
	return b.text(".flash")
}

// wantText fails the test unless the element matching selector shows each
// of the texts.
func (b *browser) wantText(selector string, texts ...string) {
	b.t.Helper()
	got := b.text(selector)
	for _, want := range texts {
		if !strings.Contains(got, want) {
			b.t.Errorf("%s on %s shows %q, want it to contain %q", selector, b.location(), got, want)
		}
	}
}

// checkPage checks the page as it is now (a dialog open, say) under name:
// accessibility, script errors, the weight of its load, and screenshots.
func (b *browser) checkPage(name string) {
	b.t.Helper()
	b.checkAccessibility(name)
	b.mu.Lock()
	problems := b.problems
	b.problems = nil
	load, loaded := append([]transfer(nil), b.load...), b.loaded
	b.mu.Unlock()
	for _, p := range problems {
		b.t.Errorf("at or before page %s (%s): %s", name, b.location(), p)
	}
	if loaded {
		checkWeight(b.t, name, load)
	}
	b.screenshots(name)
}

// checkWeight fails when a page load transferred more than maxFirstLoad.
func checkWeight(t *testing.T, name string, load []transfer) {
	t.Helper()
	var total int64
	for _, tr := range load {
		total += tr.bytes
	}
	if total <= maxFirstLoad {
		return
	}
	sort.Slice(load, func(i, j int) bool { return load[i].bytes > load[j].bytes })
	var lines []string
	for _, tr := range load {
		lines = append(lines, fmt.Sprintf("  %7d bytes  %s", tr.bytes, tr.url))
	}
	t.Errorf("page %s: its first load transferred %d bytes, more than %d:\n%s",
		name, total, maxFirstLoad, strings.Join(lines, "\n"))
}

// axeRunJS runs axe-core on the document and returns the serious and
// critical violations, each with the elements it found.
const axeRunJS = `async () => {
	const r = await axe.run(document, {resultTypes: ["violations"]});
	return r.violations.filter(v => v.impact === "serious" || v.impact === "critical").map(v => ({
		id: v.id, impact: v.impact, help: v.help, url: v.helpUrl,
		nodes: v.nodes.map(n => ({target: n.target.join(" "), html: n.html, summary: n.failureSummary})),
	}));
}`

type axeViolation struct {
	ID     string `json:"id"`
	Impact string `json:"impact"`
	Help   string `json:"help"`
	URL    string `json:"url"`
	Nodes  []struct {
		Target  string `json:"target"`
		HTML    string `json:"html"`
		Summary string `json:"summary"`
	} `json:"nodes"`
}

// checkAccessibility injects axe-core into the page, as the test's own
// evaluation (which the page's Content-Security-Policy does not govern),
// and fails on serious or critical violations, listed readably.
func (b *browser) checkAccessibility(name string) {
	b.t.Helper()
	if b.scriptsOff {
		// The page's scripts were skipped as it loaded; turning execution
		// on does not run them now.
		b.setScripts(true)
		defer b.setScripts(false)
	}
	if !eval[bool](b, `() => typeof axe !== "undefined"`) {
		b.do("inject axe-core", chromedp.Evaluate[chromedp.Void](axeSource))
	}
	violations := eval[[]axeViolation](b, axeRunJS)
	if len(violations) == 0 {
		return
	}
	var sb strings.Builder
	for _, v := range violations {
		fmt.Fprintf(&sb, "\n- %s (%s): %s\n  %s", v.ID, v.Impact, v.Help, v.URL)
		for _, n := range v.Nodes {
			fmt.Fprintf(&sb, "\n  * %s\n    %s\n    %s", n.Target, n.HTML, strings.ReplaceAll(n.Summary, "\n", "\n    "))
		}
	}
	b.t.Errorf("page %s (%s): axe-core finds %d serious or critical accessibility problems:%s",
		name, b.location(), len(violations), sb.String())
}

func (b *browser) setViewport(v viewport) chromedp.Action[chromedp.Void] {
	if v.mobile {
		return chromedp.EmulateViewport(v.width, v.height, chromedp.EmulateMobile, chromedp.EmulateTouch, chromedp.EmulatePortrait)
	}
	return chromedp.EmulateViewport(v.width, v.height)
}

// screenshotDir is docs/screenshots, from this package's directory.
var screenshotDir = filepath.Join("..", "..", "docs", "screenshots")

var (
	shotsMu sync.Mutex
	shot    = map[string]bool{} // names already photographed in this run
)

// screenshots saves the page at desktop and at phone width as
// docs/screenshots/<name>-desktop.png and -phone.png when
// ROSTER_SCREENSHOTS=1, so that ordinary runs change no file. A name is
// photographed once per run: the first state it is checked in.
func (b *browser) screenshots(name string) {
	b.t.Helper()
	if os.Getenv("ROSTER_SCREENSHOTS") != "1" {
		return
	}
	shotsMu.Lock()
	done := shot[name]
	shot[name] = true
	shotsMu.Unlock()
	if done {
		return
	}
	if err := os.MkdirAll(screenshotDir, 0o755); err != nil {
		b.t.Fatal(err)
	}
	// The whole page, unless a modal dialog is open: it and its backdrop
	// are fixed to the viewport, so the page beyond would show undimmed
	// below them, which no screen ever shows.
	capture := chromedp.FullScreenshot(100) // quality 100 is PNG
	if eval[bool](b, `() => document.querySelector("dialog:modal") !== null`) {
		capture = chromedp.CaptureScreenshot()
	}
	for _, v := range []viewport{desktop, phone} {
		ctx, cancel := context.WithTimeout(b.ctx, actionTimeout)
		png, err := chromedp.Run(ctx, func(ctx context.Context, tg *chromedp.Target) ([]byte, error) {
			if _, err := b.setViewport(v)(ctx, tg); err != nil {
				return nil, err
			}
			return capture(ctx, tg)
		})
		cancel()
		if err != nil {
			b.t.Fatalf("screenshot %s at %s width: %v", name, v.name, err)
		}
		file := filepath.Join(screenshotDir, name+"-"+v.name+".png")
		if err := os.WriteFile(file, png, 0o644); err != nil {
			b.t.Fatal(err)
		}
	}
	back := desktop
	if b.size != nil {
		back = *b.size
	}
	b.do("back to the test's size", b.setViewport(back))
}

// resize sets the page's size for the rest of the test; screenshots come
// back to it after photographing both sizes.
func (b *browser) resize(v viewport) {
	b.t.Helper()
	b.size = &v
	b.do(v.name+" width", b.setViewport(v))
}
