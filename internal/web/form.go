package web

import (
	"errors"
	"net/http"

	"roster"
)

// form is the state of a page's form: what was typed (never passwords),
// the problems per field, and the error summary shown at the top of the
// page, whose entries link to their fields.
type form struct {
	Values  map[string]string
	Errors  map[string][]string
	Summary []summaryItem
	fields  []string // the fields on the page, in order
}

// summaryItem is one line of the error summary; Field is "" for a problem
// that belongs to no field on the page.
type summaryItem struct {
	Field   string
	Message string
}

// newForm returns a form with the given fields on the page, filled from
// values (name, value, name, value, ...).
func newForm(fields []string, values ...string) *form {
	f := &form{Values: map[string]string{}, Errors: map[string][]string{}, fields: fields}
	for i := 0; i+1 < len(values); i += 2 {
		f.Values[values[i]] = values[i+1]
	}
	return f
}

// fromRequest fills the form's fields from a POSTed form, except keep,
// which lists the fields whose value is shown again; passwords never are.
func (f *form) fromRequest(r *http.Request, keep ...string) *form {
	for _, name := range keep {
		f.Values[name] = r.PostForm.Get(name)
	}
	return f
}

// HasErrors reports whether the form has a problem to show.
func (f *form) HasErrors() bool { return len(f.Summary) > 0 }

// fail records a problem: with a field on the page it is shown there and
// linked from the summary; otherwise it is shown in the summary only.
func (f *form) fail(field, msg string) {
	onPage := false
	for _, name := range f.fields {
		if name == field {
			onPage = true
		}
	}
	if onPage {
		f.Errors[field] = append(f.Errors[field], msg)
		f.Summary = append(f.Summary, summaryItem{Field: field, Message: msg})
		return
	}
	f.Summary = append(f.Summary, summaryItem{Message: msg})
}

// failWith records the problems of a CodeInvalid error (or of a
// CodeConflict naming its fields), in the order of the fields on the page,
// and reports whether err was one.
func (f *form) failWith(err error) bool {
	var e *roster.Error
	// A conflict that names its field (the email is in the account
	// already) belongs on the form like a validation error.
	if !errors.As(err, &e) || e.Code != roster.CodeInvalid && (e.Code != roster.CodeConflict || len(e.Fields) == 0) {
		return false
	}
	if len(e.Fields) == 0 {
		f.fail("", e.Message)
		return true
	}
	done := make([]bool, len(e.Fields))
	for _, name := range f.fields {
		for i, fe := range e.Fields {
			if fe.Field == name {
				f.fail(name, fe.Message)
				done[i] = true
			}
		}
	}
	for i, fe := range e.Fields {
		if !done[i] {
			f.fail(fe.Field, fe.Message)
		}
	}
	return true
}

// reword replaces the message of field in a CodeInvalid error with msg,
// where the page knows better words for what the person did (an empty
// field, a choice not made) than the service, which speaks for the API too.
func reword(err error, field, msg string) {
	var e *roster.Error
	if !errors.As(err, &e) {
		return
	}
	for i := range e.Fields {
		if e.Fields[i].Field == field {
			e.Fields[i].Message = msg
		}
	}
}

// require records "msg" for each of the named fields left empty.
func (f *form) require(r *http.Request, fieldsAndMessages ...string) {
	for i := 0; i+1 < len(fieldsAndMessages); i += 2 {
		if r.PostForm.Get(fieldsAndMessages[i]) == "" {
			f.fail(fieldsAndMessages[i], fieldsAndMessages[i+1])
		}
	}
}

// formField is one input as the "field" template renders it: a label, an
// optional hint, its error messages and the input, tied together by ids
// and aria-describedby.
type formField struct {
	ID           string
	Name         string
	Label        string
	Type         string
	Autocomplete string
	Hint         string
	HintID       string
	Value        string
	Errors       []string
	ErrorID      string
	DescribedBy  string
}

// newField is the template function that builds a field from the form:
// field .Form "first_name" "First name" "text" "given-name" "hint".
func newField(f *form, name, label, typ, autocomplete, hint string) formField {
	fd := formField{ID: "f-" + name, Name: name, Label: label, Type: typ, Autocomplete: autocomplete, Hint: hint}
	if f != nil {
		fd.Value = f.Values[name]
		fd.Errors = f.Errors[name]
	}
	var ids []string
	if hint != "" {
		fd.HintID = fd.ID + "-hint"
		ids = append(ids, fd.HintID)
	}
	if len(fd.Errors) > 0 {
		fd.ErrorID = fd.ID + "-error"
		ids = append(ids, fd.ErrorID)
	}
	for i, id := range ids {
		if i > 0 {
			fd.DescribedBy += " "
		}
		fd.DescribedBy += id
	}
	return fd
}
