package web

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"roster"
)

//go:embed templates/*.html static/css/*.css static/js/*.js
var assets embed.FS

// pageSet holds the parsed page templates, each with the shared layout,
// and the two static assets.
type pageSet struct {
	tmpl map[string]*template.Template
	css  asset // static/css/*.css in name order, served as /static/roster.css
	js   asset // static/js/*.js in name order, served as /static/roster.js

	// errors keeps rendered error pages by status and text: they carry
	// nothing of the reader, and under a flood the same refusal is answered
	// thousands of times a second, so it is rendered once.
	errors     sync.Map // string → []byte
	errorCount atomic.Int32
}

// maxCachedErrorPages bounds the cache of rendered error pages; messages
// that name a number of seconds or a value can vary.
const maxCachedErrorPages = 256

// mustParsePages parses every template at start-up, so that a broken one
// stops the server before it serves anything.
func mustParsePages() *pageSet {
	base := template.Must(template.New("layout.html").Funcs(templateFuncs).ParseFS(assets, "templates/layout.html"))
	names, err := fs.Glob(assets, "templates/*.html")
	if err != nil {
		panic(err)
	}
	ps := &pageSet{tmpl: map[string]*template.Template{}}
	for _, name := range names {
		if name == "templates/layout.html" {
			continue
		}
		t := template.Must(template.Must(base.Clone()).ParseFS(assets, name))
		ps.tmpl[strings.TrimSuffix(strings.TrimPrefix(name, "templates/"), ".html")] = t
	}
	ps.css = mustConcat("static/css/*.css", "text/css; charset=utf-8")
	ps.js = mustConcat("static/js/*.js", "text/javascript; charset=utf-8")
	return ps
}

// asset is one static file, served with its content hash in the link
// (?v=) so that a browser may cache it for ever.
type asset struct {
	body        []byte
	gzipped     []byte // body compressed once at start, for browsers that accept gzip
	hash        string
	contentType string
}

// url is the asset's link with its content hash.
func (a asset) url(path string) string { return path + "?v=" + a.hash }

// mustConcat joins the embedded files matching pattern, in name order: each
// part of the interface keeps its styles and script in a file of its own,
// and a page still loads one stylesheet and one script.
func mustConcat(pattern, contentType string) asset {
	names, err := fs.Glob(assets, pattern)
	if err != nil || len(names) == 0 {
		panic(fmt.Sprintf("no embedded files %s", pattern))
	}
	var b bytes.Buffer
	for _, name := range names {
		part, err := assets.ReadFile(name)
		if err != nil {
			panic(err)
		}
		fmt.Fprintf(&b, "/* %s */\n", strings.TrimPrefix(name, "static/"))
		b.Write(part)
		if len(part) > 0 && part[len(part)-1] != '\n' {
			b.WriteByte('\n')
		}
	}
	sum := sha256.Sum256(b.Bytes())
	var z bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&z, gzip.BestCompression)
	zw.Write(b.Bytes())
	zw.Close()
	return asset{body: b.Bytes(), gzipped: z.Bytes(), hash: hex.EncodeToString(sum[:8]), contentType: contentType}
}

// acceptsGzip reports whether the request's Accept-Encoding allows gzip
// ("gzip", "gzip;q=0.5", "*"), and not "gzip;q=0".
func acceptsGzip(r *http.Request) bool {
	for _, h := range r.Header.Values("Accept-Encoding") {
		for _, part := range strings.Split(h, ",") {
			coding, params, _ := strings.Cut(strings.TrimSpace(part), ";")
			coding = strings.ToLower(strings.TrimSpace(coding))
			if coding != "gzip" && coding != "*" {
				continue
			}
			q, found := strings.CutPrefix(strings.ReplaceAll(strings.ToLower(params), " ", ""), "q=")
			if !found {
				return true
			}
			weight, err := strconv.ParseFloat(q, 64)
			return err == nil && weight > 0
		}
	}
	return false
}

var templateFuncs = template.FuncMap{
	"field":     newField,
	"when":      when,
	"iso":       func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
	"roles":     roleNames,
	"status":    statusName,
	"keyExpiry": keyExpiry,
}

// statusName is a status as customers know it: Active, Inactive,
// Invitation Sent.
func statusName(s roster.Status) string {
	switch s {
	case roster.StatusActive:
		return "Active"
	case roster.StatusInvited:
		return "Invitation Sent"
	case roster.StatusInactive:
		return "Inactive"
	}
	return string(s)
}

// when formats a time for people: "2 Jun 2025, 10:00 UTC". The server does
// not know the reader's time zone, so it says which one it uses.
func when(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return t.UTC().Format("2 Jan 2006, 15:04 UTC")
}

// roleNames lists the names of the roles in a set.
func roleNames(set roster.RoleSet) string {
	var names []string
	for _, id := range set.IDs() {
		if r, ok := roster.RoleByID(id); ok {
			names = append(names, r.Name)
		}
	}
	return strings.Join(names, ", ")
}

// pageRequest is what every page handler gets besides the request: the
// client, the signed-in session (nil when signed out), the form's CSRF
// token and the flash message left by the previous answer. Pages inside an
// account (accountPage) also get the account and the actor.
type pageRequest struct {
	client  roster.Client
	session *roster.Session
	ident   *roster.Identity
	csrf    string
	flash   string

	account *roster.Account // nil outside /accounts/{account_id}/...
	actor   *roster.Actor   // the signed-in person as a member of account
}

// pageHandler is the one shape of a page: read the input (the form is
// parsed and its CSRF field checked already), call the service, render or
// redirect. A returned error is rendered as an error page.
type pageHandler func(w http.ResponseWriter, r *http.Request, pr *pageRequest) error

// maxFormBytes bounds a form body; the largest form is a few hundred bytes.
const maxFormBytes = 64 << 10

// page adapts a page handler to http.Handler: security headers, the CSRF
// cookie and check, the session cookie, the handler, its error page.
func (s *server) page(h pageHandler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		pageHeaders(w, r)
		pr := &pageRequest{client: s.client(r)}
		pr.csrf = s.csrfToken(w, r)
		if r.Method == http.MethodPost {
			if err := s.checkForm(w, r); err != nil {
				s.errorPage(w, r, nil, err)
				return
			}
		}
		if c, err := r.Cookie(s.sessionName); err == nil && c.Value != "" {
			sess, ident, err := s.svc.Authenticate(r.Context(), c.Value, pr.client)
			switch {
			case err == nil:
				pr.session, pr.ident = sess, ident
			case roster.ErrorCode(err) == roster.CodeUnauthorized:
				s.clearSessionCookie(w)
			default:
				s.errorPage(w, r, nil, err)
				return
			}
		}
		pr.flash = s.takeFlash(w, r)
		if err := h(w, r, pr); err != nil {
			s.errorPage(w, r, pr, err)
		}
	})
}

// pageHeaders sets the security headers of every page. Pages whose URL
// carries a secret token send no Referer anywhere, so the token cannot leak
// to another site or to a log.
func pageHeaders(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "no-store")
	if r.URL.Query().Has("token") {
		h.Set("Referrer-Policy", "no-referrer")
	} else {
		h.Set("Referrer-Policy", "same-origin")
	}
}

// checkForm parses a POSTed form and checks its CSRF field. Nothing has
// been read from or written to the service yet, so a refusal changes
// nothing.
func (s *server) checkForm(w http.ResponseWriter, r *http.Request) error {
	ct := r.Header.Get("Content-Type")
	if mt, _, _ := strings.Cut(ct, ";"); strings.TrimSpace(strings.ToLower(mt)) != "application/x-www-form-urlencoded" {
		return roster.Errorf(codeUnsupportedMediaType, "This address takes a form (application/x-www-form-urlencoded). Send the form from its page.")
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return roster.Errorf(codeTooLarge, "The form is too large to be sent.")
		}
		return roster.Errorf(roster.CodeBadRequest, "The form could not be read. Open the page again and send the form from there.")
	}
	if !s.validCSRF(r, r.PostForm.Get(csrfField)) {
		return roster.Errorf(roster.CodeForbidden, "This form has expired or did not come from this site, so nothing was changed. "+
			"Go back, reload the page and send the form again. Your browser must accept cookies from this site.")
	}
	return nil
}

// view is what the layout renders: the page's title, the signed-in
// identity and the account of the page (for the header and navigation),
// the CSRF token for every form, the flash message, the form state and the
// page's own data.
type view struct {
	Title     string
	CSS, JS   string
	CSRF      string
	Ident     *roster.Identity
	Account   *roster.Account // nil outside an account's pages
	CanManage bool            // the signed-in person has team.manage in Account
	CanKeys   bool            // and api_keys.manage: the API Keys page
	Here      string          // the path of the page, which the header marks as the current one
	Flash     string
	Form      *form
	Page      any
}

// render writes the page named name with status. The page is rendered to
// a buffer first, so a template failure is a clean error page.
func (s *server) render(w http.ResponseWriter, r *http.Request, pr *pageRequest, status int, name, title string, f *form, data any) error {
	b, err := s.renderBytes(pr, name, title, f, data, r.URL.Path)
	if err != nil {
		return err
	}
	writePage(w, status, b)
	return nil
}

// renderBytes renders a page into memory.
func (s *server) renderBytes(pr *pageRequest, name, title string, f *form, data any, here string) ([]byte, error) {
	t := s.pages.tmpl[name]
	if t == nil {
		return nil, fmt.Errorf("no template %q", name)
	}
	v := view{Title: title, CSS: s.pages.css.url("/static/roster.css"), JS: s.pages.js.url("/static/roster.js"), Form: f, Page: data, Here: here}
	if pr != nil {
		v.CSRF, v.Ident, v.Account, v.Flash = pr.csrf, pr.ident, pr.account, pr.flash
		v.CanManage = pr.actor != nil && pr.actor.Can("team.manage")
		v.CanKeys = pr.actor != nil && pr.actor.Can("api_keys.manage")
	}
	if f != nil && f.HasErrors() {
		v.Title = "Error: " + title
	}
	var b bytes.Buffer
	if err := t.ExecuteTemplate(&b, "layout.html", v); err != nil {
		return nil, fmt.Errorf("render %s: %w", name, err)
	}
	return b.Bytes(), nil
}

// writePage writes a rendered page.
func writePage(w http.ResponseWriter, status int, body []byte) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// message is the data of a page that only says something: a heading,
// paragraphs and links to what to do next.
type message struct {
	Heading string
	Paras   []string
	Links   []link
	// Button, when set, is a POST form with one button (e.g. sign out).
	Button *link
}

type link struct {
	Href, Text string
}

// errorPage renders err as a readable page with the status of its code.
// Only *roster.Error messages reach the reader; anything else is logged
// and answered with a generic page. For a signed-in reader (pr with an
// identity) the page has the whole header: who is signed in, the account,
// Sign out — someone refused because they are signed in as the wrong
// person sees it and can change. Pages for nobody in particular carry
// nothing of the reader and are rendered once per text: under a flood the
// same refusal is answered thousands of times a second.
func (s *server) errorPage(w http.ResponseWriter, r *http.Request, pr *pageRequest, err error) {
	var e *roster.Error
	if !errors.As(err, &e) || statusOf[e.Code] == 0 || e.Code == roster.CodeInternal {
		s.logger.ErrorContext(r.Context(), "internal error", "method", r.Method, "pattern", patternPath(r.Pattern), "err", err)
		e = &roster.Error{Code: roster.CodeInternal, Message: "Something went wrong on our side and it was logged. Try again in a little while."}
	}
	status := statusOf[e.Code]
	pageHeaders(w, r)
	msg := message{Heading: errorHeading(e.Code), Paras: []string{e.Message}, Links: []link{{"/", "Go to the start page"}}}
	if e.Code == roster.CodeNotFound && pr != nil && pr.account != nil && r.PathValue("user_id") != "" {
		msg = userNotFoundMessage(pr.account, backToList(pr.account.ID, r.URL.Query().Get("back")))
	}
	if e.Code == roster.CodeRateLimited && e.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(e.RetryAfter))
		// The reader has nothing to send for seconds: keeping the
		// connection alive would only hold its memory (about 50 KiB of
		// buffers and goroutine), which in a flood of sign-ins adds up.
		w.Header().Set("Connection", "close")
		msg.Paras = append(msg.Paras, "You can try again "+inWords(e.RetryAfter)+".")
	}
	if pr != nil && pr.ident != nil {
		if err := s.render(w, r, pr, status, "message", msg.Heading, nil, msg); err != nil {
			s.logger.ErrorContext(r.Context(), "internal error", "method", r.Method, "pattern", patternPath(r.Pattern), "err", err)
			http.Error(w, "Internal error", http.StatusInternalServerError)
		}
		return
	}
	key := strconv.Itoa(status) + "\x00" + msg.Heading + "\x00" + strings.Join(msg.Paras, "\x00")
	body, ok := s.pages.errors.Load(key)
	if !ok {
		b, err := s.renderBytes(nil, "message", msg.Heading, nil, msg, "")
		if err != nil {
			s.logger.ErrorContext(r.Context(), "internal error", "method", r.Method, "pattern", patternPath(r.Pattern), "err", err)
			http.Error(w, "Internal error", http.StatusInternalServerError)
			return
		}
		body = b
		if s.pages.errorCount.Add(1) <= maxCachedErrorPages {
			s.pages.errors.Store(key, b)
		}
	}
	writePage(w, status, body.([]byte))
}

// errorHeading is the heading of an error page.
func errorHeading(code string) string {
	switch code {
	case roster.CodeNotFound:
		return "Page not found"
	case roster.CodeForbidden:
		return "Not allowed"
	case roster.CodeRateLimited:
		return "Too many attempts"
	case roster.CodeUnauthorized:
		return "Sign-in needed"
	case roster.CodeInternal, codeUnavailable:
		return "Sorry, something went wrong"
	}
	return "This request could not be handled"
}

// inWords says when Retry-After seconds are over: "in 30 seconds",
// "in 2 minutes".
func inWords(seconds int) string {
	switch {
	case seconds <= 1:
		return "in a second"
	case seconds < 60:
		return fmt.Sprintf("in %d seconds", seconds)
	case seconds < 120:
		return "in a minute"
	case seconds < 3600:
		return fmt.Sprintf("in %d minutes", (seconds+59)/60)
	case seconds <= 3600:
		return "in an hour"
	}
	return fmt.Sprintf("in %d hours", (seconds+3599)/3600)
}

// lifetime says how long a link lives, for a sentence such as "The link
// is valid for one hour": "one hour", "2 hours", "30 minutes", "1 day".
func lifetime(d time.Duration) string {
	plural := func(n int64, unit string) string {
		if n == 1 {
			return "one " + unit
		}
		return strconv.FormatInt(n, 10) + " " + unit + "s"
	}
	switch {
	case d >= 24*time.Hour && d%(24*time.Hour) == 0:
		return plural(int64(d/(24*time.Hour)), "day")
	case d >= time.Hour && d%time.Hour == 0:
		return plural(int64(d/time.Hour), "hour")
	case d >= time.Minute:
		return plural(int64((d+time.Minute-1)/time.Minute), "minute")
	}
	return plural(int64((d+time.Second-1)/time.Second), "second")
}

// redirect answers a form with 303 See Other, the one redirect after POST.
func redirect(w http.ResponseWriter, r *http.Request, to string) error {
	http.Redirect(w, r, to, http.StatusSeeOther)
	return nil
}

// localPath returns next when it is a path on this site ("/sessions"),
// and "/" for anything that could lead elsewhere ("//evil", "https://…",
// "/\evil").
func localPath(next string) string {
	if next == "" || next[0] != '/' || strings.HasPrefix(next, "//") || strings.ContainsAny(next, "\\\r\n\t") {
		return "/"
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil {
		return "/"
	}
	return next
}

// signInURL is the sign-in page that returns to next afterwards.
func signInURL(next string) string {
	if next == "/" || next == "" {
		return "/sign-in"
	}
	return "/sign-in?next=" + url.QueryEscape(next)
}

// serveAsset serves one of the static assets, compressed when the browser
// accepts gzip (a quarter of the bytes of a first visit). Its link carries
// the content hash (?v=), so a matching request may be cached for ever.
// Pages themselves are not compressed: they hold the CSRF token next to
// text the reader typed (a search), which compression would let another
// site guess by the length of the answers (BREACH).
func serveAsset(a asset, name string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Type", a.contentType)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Vary", "Accept-Encoding")
		body, etag := a.body, `"`+a.hash+`"`
		if acceptsGzip(r) {
			body, etag = a.gzipped, `"`+a.hash+`-gzip"`
			h.Set("Content-Encoding", "gzip")
		}
		h.Set("ETag", etag)
		if r.URL.Query().Get("v") == a.hash {
			h.Set("Cache-Control", "public, max-age=31536000, immutable")
		} else {
			h.Set("Cache-Control", "no-cache")
		}
		http.ServeContent(w, r, name, time.Time{}, bytes.NewReader(body))
	}
}
