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
	tooLarge := roster.Errorf(codeTooLarge, "The request body is larger than %d KiB.", maxBodyBytes>>10)
	if r.ContentLength > maxBodyBytes {
		return nil, tooLarge
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBodyBytes))
	if err != nil {
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			return nil, tooLarge
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
	return json.Unmarshal(raw, dst)
}

type member struct {
	name  string
	value json.RawMessage
}

// objectMembers splits body into the members of one JSON object, in order,
// keeping repeated names.
func objectMembers(body []byte) ([]member, error) {
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
