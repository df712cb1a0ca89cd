// Package web is the only package of Roster that speaks HTTP: the
// server-rendered sign-in pages, the JSON API under /api/v1, its OpenAPI
// document, and the health checks. routes.go lists every route.
package web

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"runtime/debug"
	"slices"
	"strings"
	"time"

	"roster"
)

// Options configure the server beyond the service.
type Options struct {
	// PublicURL is where browsers reach the server; cookies are Secure when
	// its scheme is https. nil: http://localhost.
	PublicURL *url.URL
	// TrustedProxies are the peers whose X-Forwarded-For is believed.
	TrustedProxies []netip.Prefix
	// Secret keys the CSRF tokens; the service's secret does well.
	Secret []byte
	// Mailbox lists the local outbox on /dev/mail; nil: no such page.
	Mailbox Mailbox
	// MailboxToken opens /dev/mail (?token=...); "" keeps it closed.
	MailboxToken string
	// OperatorToken authenticates the operator API (/api/operator/v1);
	// "" turns it off.
	OperatorToken string
	// GatewayToken authenticates the platform's gateway to the key check
	// (POST /api/v1/keys/verify); "" disables the check.
	GatewayToken string
}

// server holds the dependencies of every handler.
type server struct {
	logger *slog.Logger
	svc    *roster.Service
	opts   Options
	mux    *http.ServeMux
	pages  *pageSet
	secure bool // cookies carry Secure

	sessionName, csrfName string // the cookie names: __Host- prefixed when secure

	// The SHA-256 of the operator and gateway tokens, which requests'
	// tokens are compared with.
	operatorDigest, gatewayDigest [sha256.Size]byte

	patterns []string     // every pattern registered, in order
	handler  http.Handler // the whole server
}

// handler is the one shape of every endpoint: parse and validate the input,
// call the service, respond. caller is nil on public routes. A returned error
// is written as a problem; a handler that wrote a response returns nil.
type handler func(w http.ResponseWriter, r *http.Request, caller *roster.Actor) error

// endpoint adapts a route to http.Handler: it authenticates the caller as
// the route's policy rule asks, checks the query parameters, runs the
// handler and writes its error.
func (s *server) endpoint(rt route, rl rule) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		caller, err := s.caller(r, rl)
		if err == nil {
			err = checkQuery(r, rt.query)
		}
		if err == nil {
			err = rt.serve(w, r, caller)
		}
		if err != nil {
			s.problem(w, r, err)
		}
	})
}

// caller authenticates the caller of an API request as rl asks: nobody for
// anyone, the operator token for operator, else an API key or a browser
// session; with a permission, the caller must also hold it in the path's
// account (another account: not found, as if it did not exist).
func (s *server) caller(r *http.Request, rl rule) (*roster.Actor, error) {
	switch rl {
	case anyone:
		return nil, nil
	case operator:
		return s.operatorCaller(r)
	case gateway:
		return nil, s.checkGatewayToken(r)
	}
	var caller *roster.Actor
	var err error
	if r.Header.Get("Authorization") == "" && hasCookie(r, s.sessionName) {
		caller, err = s.cookieActor(r)
	} else {
		caller, err = s.authenticate(r)
	}
	if err != nil {
		return nil, err
	}
	if err := rl.check(caller, r); err != nil {
		return nil, err
	}
	return caller, nil
}

// authenticate returns the caller of r, from its bearer API key. The browser
// session cookie will be tried here too once sign-in exists.
func (s *server) authenticate(r *http.Request) (*roster.Actor, error) {
	h := r.Header.Get("Authorization")
	if h == "" {
		return nil, roster.Errorf(roster.CodeUnauthorized, "Authentication is required: send your API key as Authorization: Bearer <key>.")
	}
	scheme, key, _ := strings.Cut(h, " ")
	if !strings.EqualFold(scheme, "Bearer") {
		return nil, roster.Errorf(roster.CodeUnauthorized, "Only bearer API keys are accepted: send Authorization: Bearer <key>.")
	}
	return s.svc.AuthenticateAPIKey(r.Context(), strings.TrimSpace(key), s.clientIP(r))
}

// cookieActor returns the caller of an API request that carries the session
// cookie of a signed-in browser instead of an API key: on a route of one
// account, the identity's user there; elsewhere (the role catalogue) the
// identity without an account, which no account-scoped check lets through.
func (s *server) cookieActor(r *http.Request) (*roster.Actor, error) {
	c, _ := r.Cookie(s.sessionName)
	client := s.client(r)
	_, ident, err := s.svc.Authenticate(r.Context(), c.Value, client)
	if err != nil {
		if roster.ErrorCode(err) == roster.CodeUnauthorized {
			return nil, roster.Errorf(roster.CodeUnauthorized, "Your session has ended; sign in again, or send an API key as Authorization: Bearer <key>.")
		}
		return nil, err
	}
	// A browser's unsafe request must also carry the CSRF token of its
	// pages: SameSite and the cross-origin check stop other sites already,
	// and the token holds even where a browser sends neither Origin nor
	// Sec-Fetch-Site.
	switch r.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
	default:
		if !s.validCSRF(r, r.Header.Get(csrfHeader)) {
			return nil, roster.Errorf(roster.CodeForbidden, "A change made with the session cookie needs the %s header: the csrf value of any Roster page's forms.", csrfHeader)
		}
	}
	if id := r.PathValue("account_id"); id != "" {
		return s.svc.ActorFor(r.Context(), ident, id, client)
	}
	return &roster.Actor{Name: ident.Email, Email: ident.Email, IP: client.IP}, nil
}

// client is who sends r, as the service sees it.
func (s *server) client(r *http.Request) roster.Client {
	return roster.Client{IP: s.clientIP(r), UserAgent: r.UserAgent()}
}

// clientIP is the address the request came from: the peer, unless the peer
// is a trusted proxy. Then X-Forwarded-For is read from the right, each
// trusted proxy having appended the address it got the request from, and
// the first address that is not a trusted proxy is the client. Addresses
// further left were written by the client itself and prove nothing.
func (s *server) clientIP(r *http.Request) string {
	peer, ok := parseAddr(r.RemoteAddr)
	if !ok {
		return r.RemoteAddr
	}
	if !s.trusted(peer) {
		return peer.String()
	}
	var hops []string
	for _, v := range r.Header.Values("X-Forwarded-For") {
		hops = append(hops, strings.Split(v, ",")...)
	}
	client := peer
	for i := len(hops) - 1; i >= 0; i-- {
		a, ok := parseAddr(strings.TrimSpace(hops[i]))
		if !ok {
			// A hop no proxy would write: stop at the last one believed.
			break
		}
		client = a
		if !s.trusted(a) {
			break
		}
	}
	return client.String()
}

// trusted reports whether a is inside one of the trusted proxy ranges.
func (s *server) trusted(a netip.Addr) bool {
	for _, p := range s.opts.TrustedProxies {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// parseAddr reads an IP address with or without a port ("1.2.3.4",
// "1.2.3.4:5", "[::1]:5", "::1"), IPv4-mapped IPv6 as IPv4.
func parseAddr(s string) (netip.Addr, bool) {
	if a, err := netip.ParseAddr(s); err == nil {
		return a.Unmap().WithZone(""), true
	}
	if host, _, err := net.SplitHostPort(s); err == nil {
		if a, err := netip.ParseAddr(host); err == nil {
			return a.Unmap().WithZone(""), true
		}
	}
	return netip.Addr{}, false
}

// repeatable names the query parameters that may be given more than once.
var repeatable = map[string]bool{"filter": true, "action": true}

// checkQuery refuses unknown, repeated and malformed query parameters, so a
// misspelt parameter is an error rather than silently ignored.
func checkQuery(r *http.Request, allowed []string) error {
	if r.URL.RawQuery == "" {
		return nil
	}
	values, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return &roster.Error{Code: roster.CodeBadRequest, Message: "The query string is malformed; encode it as application/x-www-form-urlencoded."}
	}
	accepts := "takes no query parameters"
	if len(allowed) > 0 {
		accepts = "accepts only " + strings.Join(allowed, ", ")
	}
	var p roster.Problems
	for _, name := range slices.Sorted(maps.Keys(values)) {
		switch {
		case !slices.Contains(allowed, name):
			p.Add(short(name), "Unknown query parameter %q: this endpoint %s.", short(name), accepts)
		case len(values[name]) > 1 && !repeatable[name]:
			p.Add(name, "The query parameter %s may be given only once.", name)
		}
	}
	if len(p) > 0 {
		return &roster.Error{Code: roster.CodeBadRequest, Message: "Some query parameters are not valid; see errors.", Fields: p}
	}
	return nil
}

// short cuts client-supplied names that are echoed in error messages.
func short(s string) string {
	if len(s) <= 64 {
		return s
	}
	return strings.ToValidUTF8(s[:64], "") + "…"
}

// dispatch routes r through the mux, answering unmatched requests with a
// problem (API paths) or an error page (anything else) instead of
// ServeMux's plain-text 404 and 405.
func (s *server) dispatch(w http.ResponseWriter, r *http.Request) {
	h, pattern := s.mux.Handler(r)
	if pattern != "" {
		s.mux.ServeHTTP(w, r)
		return
	}
	// ServeMux knows whether another method would match and which; let its
	// fallback handler tell us without writing to the client.
	rec := &headerRecorder{header: http.Header{}}
	h.ServeHTTP(rec, r)
	if rec.status == http.StatusMethodNotAllowed {
		w.Header().Set("Allow", rec.header.Get("Allow"))
		s.fail(w, r, roster.Errorf(codeMethodNotAllowed, "The method %s is not allowed here; use %s.", short(r.Method), rec.header.Get("Allow")))
		return
	}
	if !isAPI(r) {
		s.fail(w, r, roster.Errorf(roster.CodeNotFound, "There is no page at this address. Check the link, or go to the start page."))
		return
	}
	s.problem(w, r, roster.Errorf(roster.CodeNotFound, "No API endpoint has this path; see /api/v1/openapi.json."))
}

// isAPI reports whether r is for the JSON API or the health checks, whose
// errors are problems; every other path is a page, whose errors are pages.
func isAPI(r *http.Request) bool {
	p := r.URL.Path
	return p == "/api" || strings.HasPrefix(p, "/api/") || p == "/healthz" || p == "/readyz"
}

// fail writes err as a problem for the API and as an error page elsewhere.
func (s *server) fail(w http.ResponseWriter, r *http.Request, err error) {
	if isAPI(r) {
		s.problem(w, r, err)
		return
	}
	s.errorPage(w, r, nil, err)
}

// headerRecorder keeps the status and headers a handler writes and drops its body.
type headerRecorder struct {
	header http.Header
	status int
}

func (h *headerRecorder) Header() http.Header         { return h.header }
func (h *headerRecorder) Write(b []byte) (int, error) { return len(b), nil }
func (h *headerRecorder) WriteHeader(status int)      { h.status = status }

func (s *server) crossOriginDenied(w http.ResponseWriter, r *http.Request) {
	if !isAPI(r) {
		s.errorPage(w, r, nil, roster.Errorf(roster.CodeForbidden, "This form was sent from another website, so it was refused and nothing changed. Open the page on this site and send the form from there."))
		return
	}
	s.problem(w, r, roster.Errorf(roster.CodeForbidden, "Cross-origin requests that change data are refused; call the API from the same origin or without browser credentials."))
}

// logRequests logs one line per request: method, route pattern, status and
// duration; successful reads at debug level, everything else at info or error. Headers and bodies are never logged: they carry API keys and
// personal data.
func (s *server) logRequests(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		next.ServeHTTP(sw, r)
		status := sw.status
		if status == 0 {
			status = http.StatusOK
		}
		// Successful reads are the bulk of the traffic and change nothing:
		// they log at debug (--log-level debug), since one line each cost
		// about 15% of a read's CPU in the load benchmark. Changes and
		// refusals log at info; changes are in the audit log as well.
		level := slog.LevelInfo
		switch {
		case status >= 500:
			level = slog.LevelError
		case status < 400 && (r.Method == http.MethodGet || r.Method == http.MethodHead || r.Pattern == verifyPattern):
			level = slog.LevelDebug // the key check is a read too, and the busiest route of all
		}
		if !s.logger.Enabled(r.Context(), level) {
			return
		}
		s.logger.LogAttrs(r.Context(), level, "request", slog.String("method", r.Method),
			slog.String("pattern", patternPath(r.Pattern)), slog.Int("status", status), slog.Duration("duration", time.Since(start)))
	})
}

// patternPath is the path part of a ServeMux pattern ("GET /x" → "/x"), or
// "unmatched" for a request no route matched.
func patternPath(pattern string) string {
	if pattern == "" {
		return "unmatched"
	}
	if _, path, ok := strings.Cut(pattern, " "); ok {
		return path
	}
	return pattern
}

// statusWriter remembers the status of a response.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(status int) {
	if w.status == 0 {
		w.status = status
	}
	w.ResponseWriter.WriteHeader(status)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// recoverPanics turns a panicking handler into a logged 500 problem or page.
func (s *server) recoverPanics(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			v := recover()
			if v == nil {
				return
			}
			if v == http.ErrAbortHandler {
				panic(v)
			}
			err := fmt.Errorf("panic: %v\n%s", v, debug.Stack())
			if sw, ok := w.(*statusWriter); ok && sw.status != 0 {
				// The response has begun; all that is left is to log.
				s.logger.ErrorContext(r.Context(), "internal error", "method", r.Method, "pattern", patternPath(r.Pattern), "err", err)
				return
			}
			s.fail(w, r, err)
		}()
		next.ServeHTTP(w, r)
	})
}

// marshal encodes v as JSON followed by a newline, leaving <, > and &
// readable: responses are never embedded in HTML.
func marshal(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	err := enc.Encode(v)
	return b.Bytes(), err
}

// writeJSON writes v as the JSON body of a response with status.
func writeJSON(w http.ResponseWriter, status int, v any) error {
	body, err := marshal(v)
	if err != nil {
		return err
	}
	return writeJSONBytes(w, status, body)
}

// writeJSONBytes writes body, a JSON document, as a response with status.
func writeJSONBytes(w http.ResponseWriter, status int, body []byte) error {
	// The values are shared and never changed; assigning them spares the
	// key canonicalisation and a slice per header of Header.Set, on the
	// busiest answers (the key check).
	h := w.Header()
	h["Content-Type"], h["Cache-Control"], h["X-Content-Type-Options"] = jsonType, noStore, nosniff
	w.WriteHeader(status)
	_, _ = w.Write(body)
	return nil
}

var (
	jsonType = []string{"application/json"}
	noStore  = []string{"no-store"}
	nosniff  = []string{"nosniff"}
)
