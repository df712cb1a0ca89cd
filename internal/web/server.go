// Package web is the only package of Roster that speaks HTTP: the JSON API
// under /api/v1, its OpenAPI document, and the health checks. routes.go
// lists every route.
package web

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"net/url"
	"runtime/debug"
	"slices"
	"strings"
	"time"

	"roster"
)

// server holds the dependencies of every handler.
type server struct {
	logger *slog.Logger
	svc    *roster.Service
	mux    *http.ServeMux
}

// handler is the one shape of every endpoint: parse and validate the input,
// call the service, respond. caller is nil on public routes. A returned error
// is written as a problem; a handler that wrote a response returns nil.
type handler func(w http.ResponseWriter, r *http.Request, caller *roster.Actor) error

// endpoint adapts a route to http.Handler: it authenticates the caller, checks
// the query parameters, runs the handler and writes its error.
func (s *server) endpoint(rt route) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var caller *roster.Actor
		if rt.auth {
			a, err := s.authenticate(r)
			if err != nil {
				s.problem(w, r, err)
				return
			}
			caller = a
		}
		if err := checkQuery(r, rt.query); err != nil {
			s.problem(w, r, err)
			return
		}
		if err := rt.serve(w, r, caller); err != nil {
			s.problem(w, r, err)
		}
	})
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
	return s.svc.AuthenticateAPIKey(r.Context(), strings.TrimSpace(key), clientIP(r))
}

// clientIP is the address the request came from. Proxies are not trusted
// (yet), so X-Forwarded-For is ignored.
func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// repeatable names the query parameters that may be given more than once.
var repeatable = map[string]bool{"filter": true}

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
// problem instead of ServeMux's plain-text 404 and 405.
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
		s.problem(w, r, roster.Errorf(codeMethodNotAllowed, "The method %s is not allowed here; use %s.", short(r.Method), rec.header.Get("Allow")))
		return
	}
	s.problem(w, r, roster.Errorf(roster.CodeNotFound, "No API endpoint has this path; see /api/v1/openapi.json."))
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
		case status < 400 && (r.Method == http.MethodGet || r.Method == http.MethodHead):
			level = slog.LevelDebug
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

// recoverPanics turns a panicking handler into a logged 500 problem.
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
			s.problem(w, r, err)
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
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = w.Write(body)
	return nil
}
