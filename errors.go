package roster

import (
	"errors"
	"fmt"
)

// Error codes are transport-neutral; internal/web maps each to one HTTP status.
const (
	CodeInvalid      = "invalid"      // the input breaks a rule; Fields says which
	CodeBadRequest   = "bad_request"  // a malformed request parameter (filter, sort, cursor)
	CodeUnauthorized = "unauthorized" // no or unknown credentials
	CodeForbidden    = "forbidden"    // authenticated, but not allowed
	CodeNotFound     = "not_found"    // missing, or belongs to another account
	CodeConflict     = "conflict"     // the change contradicts the current state
	CodePrecondition = "precondition" // a stale If-Match
	CodeRateLimited  = "rate_limited" // too many attempts; RetryAfter says when to retry
	CodeInternal     = "internal"     // anything else; never shown in detail
)

// FieldError is one problem with one input field.
type FieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// Error is the one error type of Roster's domain. Message is safe to show a
// person; Fields lists field-level problems of a CodeInvalid or CodeBadRequest error.
type Error struct {
	Code       string
	Message    string
	Fields     []FieldError
	RetryAfter int // seconds, for CodeRateLimited
}

func (e *Error) Error() string {
	if len(e.Fields) == 0 {
		return fmt.Sprintf("roster %s: %s", e.Code, e.Message)
	}
	return fmt.Sprintf("roster %s: %s %v", e.Code, e.Message, e.Fields)
}

// Errorf returns an *Error with the given code and a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of the first *Error in err's chain, CodeInternal
// for any other non-nil error, and "" for nil.
func ErrorCode(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return CodeInternal
}

// ErrorMessage returns the human-readable message of err, hiding the text of
// errors that are not *Error.
func ErrorMessage(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Message
	}
	return "An internal error occurred."
}

// Problems collects field errors; Err returns nil when there are none.
type Problems []FieldError

// Add records a problem with field.
func (p *Problems) Add(field, format string, args ...any) {
	*p = append(*p, FieldError{Field: field, Message: fmt.Sprintf(format, args...)})
}

// Has reports whether field already has a problem.
func (p Problems) Has(field string) bool {
	for _, f := range p {
		if f.Field == field {
			return true
		}
	}
	return false
}

// Err returns a CodeInvalid *Error listing every problem, or nil.
func (p Problems) Err() error {
	if len(p) == 0 {
		return nil
	}
	return &Error{Code: CodeInvalid, Message: "Some fields are not valid; see errors.", Fields: p}
}

// errNotFound is the single "not found" answer for a user, so that a user of
// another account reads exactly like a missing one.
func errUserNotFound() error {
	return Errorf(CodeNotFound, "No user with this id exists in this account.")
}
