package web

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"roster"
)

// maxBodyBytes bounds request bodies; the largest real one is a few hundred bytes.
const maxBodyBytes = 64 << 10

// field is one member a JSON request body may have: its name, where to
// decode it, and the expected type in words, for the error message.
type field struct {
	name string
	dst  any
	want string
}

// decodeJSON reads r's body as one JSON object whose members are among
// fields. It decodes each member separately, so that every unknown, repeated
// or mistyped member is reported at once under its own name (422), and
// nothing is decoded by case-insensitive accident. It returns the names of
// the members present. Other errors: 400 (missing body, not JSON, trailing
// data, not UTF-8), 413 (too large), 415 (not application/json).
func decodeJSON(w http.ResponseWriter, r *http.Request, fields ...field) (map[string]bool, error) {
	ct := r.Header.Get("Content-Type")
	if ct != "" && !isJSON(ct) {
		return nil, roster.Errorf(codeUnsupportedMediaType, "Send the request body as application/json, not %s.", short(ct))
	}
	tooLarge := func() error {
		return roster.Errorf(codeTooLarge, "The request body is larger than %d KiB.", maxBodyBytes>>10)
	}
	if r.ContentLength > maxBodyBytes {
		return nil, tooLarge()
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBodyBytes))
	if err != nil {
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			return nil, tooLarge()
		}
		return nil, roster.Errorf(roster.CodeBadRequest, "The request body could not be read completely.")
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return nil, roster.Errorf(roster.CodeBadRequest, "This request needs a JSON object as its body.")
	}
	if ct == "" {
		return nil, roster.Errorf(codeUnsupportedMediaType, "Send the request body with Content-Type: application/json.")
	}
	if !utf8.Valid(body) {
		// encoding/json would quietly turn the bad bytes into U+FFFD.
		return nil, roster.Errorf(roster.CodeBadRequest, "The request body is not valid UTF-8 text.")
	}
	members, err := objectMembers(body)
	if err != nil {
		return nil, err
	}
	names := make([]string, len(fields))
	for i, f := range fields {
		names[i] = f.name
	}
	set := make(map[string]bool, len(members))
	var p roster.Problems
	for _, m := range members {
		i := slices.Index(names, m.name)
		switch {
		case i < 0:
			p.Add(short(m.name), "Unknown field %q: this request accepts only %s.", short(m.name), strings.Join(names, ", "))
		case set[m.name]:
			p.Add(m.name, "The field %s appears more than once.", m.name)
		default:
			set[m.name] = true
			if err := decodeMember(m.value, fields[i].dst); err != nil {
				p.Add(m.name, "%s must be %s.", m.name, fields[i].want)
			}
		}
	}
	return set, p.Err()
}

// decodeMember decodes one member. null is refused unless dst decodes it
// itself (optTime), because encoding/json would silently skip it.
func decodeMember(raw json.RawMessage, dst any) error {
	if _, ok := dst.(json.Unmarshaler); !ok && string(raw) == "null" {
		return errors.New("null")
	}
	if s, ok := dst.(*string); ok {
		// A string without escapes is its bytes (flatMembers checked
		// them); encoding/json would take a detour through reflection.
		if v, next, plain := plainString(raw, 0); plain && next == len(raw) {
			*s = string(v)
			return nil
		}
	}
	return json.Unmarshal(raw, dst)
}

type member struct {
	name  string
	value json.RawMessage
}

// objectMembers splits body into the members of one JSON object, in order,
// keeping repeated names.
func objectMembers(body []byte) ([]member, error) {
	if out, ok := flatMembers(body); ok {
		return out, nil
	}
	return decodeMembers(body)
}

// flatMembers is objectMembers for the common body: one object whose
// member names have no escapes and whose values are strings without
// escapes, true, false or null; body is valid UTF-8 (decodeJSON checked it
// first). It reads such a body a few
// times faster than encoding/json's tokenizer, with the same result; for
// anything else ok is false and decodeMembers, which also explains
// errors, reads it.
func flatMembers(body []byte) (out []member, ok bool) {
	i := skipSpace(body, 0)
	if i >= len(body) || body[i] != '{' {
		return nil, false
	}
	i = skipSpace(body, i+1)
	if i < len(body) && body[i] == '}' {
		return []member{}, skipSpace(body, i+1) == len(body)
	}
	out = make([]member, 0, 4)
	for {
		name, next, ok := plainString(body, i)
		if !ok {
			return nil, false
		}
		i = skipSpace(body, next)
		if i >= len(body) || body[i] != ':' {
			return nil, false
		}
		i = skipSpace(body, i+1)
		start := i
		switch {
		case i < len(body) && body[i] == '"':
			_, next, ok = plainString(body, i)
		case bytes.HasPrefix(body[i:], []byte("true")):
			next, ok = i+4, true
		case bytes.HasPrefix(body[i:], []byte("false")):
			next, ok = i+5, true
		case bytes.HasPrefix(body[i:], []byte("null")):
			next, ok = i+4, true
		default:
			ok = false
		}
		if !ok {
			return nil, false
		}
		out = append(out, member{name: string(name), value: json.RawMessage(body[start:next])})
		i = skipSpace(body, next)
		if i >= len(body) {
			return nil, false
		}
		switch body[i] {
		case ',':
			i = skipSpace(body, i+1)
		case '}':
			return out, skipSpace(body, i+1) == len(body)
		default:
			return nil, false
		}
	}
}

// plainString reads the JSON string at body[i] when it has no escape and
// no control character, returning its contents and the index after it.
// Literals like true must also end there for JSON; the caller's next
// byte check (',' or '}') sees to that.
func plainString(body []byte, i int) (s []byte, next int, ok bool) {
	if i >= len(body) || body[i] != '"' {
		return nil, 0, false
	}
	for j := i + 1; j < len(body); j++ {
		switch c := body[j]; {
		case c == '"':
			return body[i+1 : j], j + 1, true
		case c == '\\' || c < 0x20:
			return nil, 0, false
		}
	}
	return nil, 0, false
}

// skipSpace returns the index of the first byte at or after i that is not
// JSON whitespace.
func skipSpace(body []byte, i int) int {
	for i < len(body) && (body[i] == ' ' || body[i] == '\t' || body[i] == '\n' || body[i] == '\r') {
		i++
	}
	return i
}

// decodeMembers is objectMembers through encoding/json's tokenizer.
func decodeMembers(body []byte) ([]member, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	tok, err := dec.Token()
	if err != nil {
		return nil, syntaxError(err)
	}
	if tok != json.Delim('{') {
		return nil, roster.Errorf(roster.CodeInvalid, "The request body must be a JSON object, like {\"name\": \"value\"}.")
	}
	var out []member
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, syntaxError(err)
		}
		var m member
		m.name, _ = tok.(string)
		if err := dec.Decode(&m.value); err != nil {
			return nil, syntaxError(err)
		}
		out = append(out, m)
	}
	if _, err := dec.Token(); err != nil {
		return nil, syntaxError(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, roster.Errorf(roster.CodeBadRequest, "The request body has data after the JSON object; send exactly one object.")
	}
	return out, nil
}

func syntaxError(err error) error {
	if se, ok := errors.AsType[*json.SyntaxError](err); ok {
		return roster.Errorf(roster.CodeBadRequest, "The request body is not valid JSON: %s (at byte %d).", strings.TrimPrefix(se.Error(), "json: "), se.Offset)
	}
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		return roster.Errorf(roster.CodeBadRequest, "The request body is not valid JSON: it ends before the object is complete.")
	}
	return roster.Errorf(roster.CodeBadRequest, "The request body is not valid JSON.")
}

// isJSON reports whether a Content-Type names JSON in UTF-8.
func isJSON(ct string) bool {
	if ct == "application/json" {
		return true // nearly every request: no need to parse it
	}
	mt, params, err := mime.ParseMediaType(ct)
	if err != nil || mt != "application/json" {
		return false
	}
	cs, ok := params["charset"]
	return !ok || strings.EqualFold(cs, "utf-8")
}

// optTime is an optional, nullable RFC 3339 time member: set says it was
// present, and a present null leaves t zero.
type optTime struct {
	set bool
	t   time.Time
}

// UnmarshalJSON implements json.Unmarshaler.
func (o *optTime) UnmarshalJSON(b []byte) error {
	o.set = true
	if string(b) == "null" {
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return fmt.Errorf("parse time: %w", err)
	}
	if t.IsZero() {
		return errors.New("the zero time is not a deadline") // zero means "none" inside
	}
	o.t = t.UTC()
	return nil
}

// timeJSON writes a time as RFC 3339 in UTC, or null (nil) when zero. It
// keeps the microseconds that the stores keep, so a change's response and a
// later read agree to the byte. A plain *string encodes far faster than a
// json.Marshaler, whose output encoding/json re-validates.
func timeJSON(t time.Time) *string {
	if t.IsZero() {
		return nil
	}
	s := t.UTC().Truncate(time.Microsecond).Format(time.RFC3339Nano)
	return &s
}

// nullString is s, or nil (JSON null) when s is empty.
func nullString(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}
