package web

import (
	"errors"
	"net/http"
	"strconv"

	"roster"
)

// Codes of problems that only HTTP knows. They share the one status table
// below with the domain's codes, so every error takes the same path out.
const (
	codeMethodNotAllowed     = "method_not_allowed"
	codeUnsupportedMediaType = "unsupported_media_type"
	codeTooLarge             = "too_large"
	codeUnavailable          = "unavailable"
)

// statusOf is the one table from error codes to HTTP statuses. A code
// missing here is answered as an internal error.
var statusOf = map[string]int{
	roster.CodeInvalid:       http.StatusUnprocessableEntity,
	roster.CodeBadRequest:    http.StatusBadRequest,
	roster.CodeUnauthorized:  http.StatusUnauthorized,
	roster.CodeForbidden:     http.StatusForbidden,
	roster.CodeNotFound:      http.StatusNotFound,
	roster.CodeConflict:      http.StatusConflict,
	roster.CodePrecondition:  http.StatusPreconditionFailed,
	roster.CodeRateLimited:   http.StatusTooManyRequests,
	roster.CodeInternal:      http.StatusInternalServerError,
	codeMethodNotAllowed:     http.StatusMethodNotAllowed,
	codeUnsupportedMediaType: http.StatusUnsupportedMediaType,
	codeTooLarge:             http.StatusRequestEntityTooLarge,
	codeUnavailable:          http.StatusServiceUnavailable,
}

// problemJSON is an RFC 9457 problem detail. Code repeats the error code so
// that clients can tell apart problems that share a status.
type problemJSON struct {
	Type   string              `json:"type"`
	Title  string              `json:"title"`
	Status int                 `json:"status"`
	Detail string              `json:"detail"`
	Code   string              `json:"code"`
	Errors []roster.FieldError `json:"errors,omitempty"`
}

// problem writes err as application/problem+json. Only *roster.Error
// messages reach the client; anything else is logged with its real text and
// answered with a generic 500, so internal details never leak.
func (s *server) problem(w http.ResponseWriter, r *http.Request, err error) {
	var e *roster.Error
	if !errors.As(err, &e) || statusOf[e.Code] == 0 || e.Code == roster.CodeInternal {
		s.logger.ErrorContext(r.Context(), "internal error", "method", r.Method, "pattern", patternPath(r.Pattern), "err", err)
		e = &roster.Error{Code: roster.CodeInternal, Message: "An internal error occurred and was logged; try again later."}
	}
	status := statusOf[e.Code]
	h := w.Header()
	switch e.Code {
	case roster.CodeUnauthorized:
		h.Set("WWW-Authenticate", "Bearer")
	case roster.CodeRateLimited:
		if e.RetryAfter > 0 {
			h.Set("Retry-After", strconv.Itoa(e.RetryAfter))
		}
	}
	body, _ := marshal(problemJSON{Type: "about:blank", Title: http.StatusText(status), Status: status,
		Detail: e.Message, Code: e.Code, Errors: e.Fields})
	h.Set("Content-Type", "application/problem+json")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}
