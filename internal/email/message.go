// Package email delivers mail over SMTP.
package email

import (
	"bytes"
	"errors"
	"fmt"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"net/textproto"
	"strings"
	"time"
)

// Message is one email with a plain-text and an HTML part.
type Message struct {
	From, To, Subject, Text, HTML, MessageID string
	// Date is written as the Date header; the zero value means now.
	Date time.Time
}

// ErrHeaderInjection reports a header value containing CR or LF.
var ErrHeaderInjection = errors.New("email: header value contains CR or LF")

// Bytes renders m as an RFC 5322 message: MIME 1.0, multipart/alternative
// with a text/plain and a text/html part, both UTF-8 and quoted-printable.
// The Message-ID is written exactly as given (angle brackets added when
// missing), so a resend of the same Message repeats it.
func (m *Message) Bytes() ([]byte, error) {
	for name, v := range map[string]string{
		"From": m.From, "To": m.To, "Subject": m.Subject, "Message-ID": m.MessageID,
	} {
		if strings.ContainsAny(v, "\r\n") {
			return nil, fmt.Errorf("%w: %s", ErrHeaderInjection, name)
		}
	}
	from, err := mail.ParseAddress(m.From)
	if err != nil {
		return nil, fmt.Errorf("email: invalid From address %q: %w", m.From, err)
	}
	to, err := mail.ParseAddress(m.To)
	if err != nil {
		return nil, fmt.Errorf("email: invalid To address %q: %w", m.To, err)
	}
	id, err := formatMessageID(m.MessageID)
	if err != nil {
		return nil, err
	}
	date := m.Date
	if date.IsZero() {
		date = time.Now()
	}

	var b bytes.Buffer
	mw := multipart.NewWriter(&b) // random boundary
	header := func(k, v string) { fmt.Fprintf(&b, "%s: %s\r\n", k, v) }
	header("MIME-Version", "1.0")
	header("Date", date.Format(time.RFC1123Z))
	header("Message-ID", id)
	header("From", from.String()) // mail.Address.String Q-encodes non-ASCII names
	header("To", to.String())
	header("Subject", mime.QEncoding.Encode("utf-8", m.Subject))
	header("Content-Type", mime.FormatMediaType("multipart/alternative",
		map[string]string{"boundary": mw.Boundary()}))
	b.WriteString("\r\n")

	for _, p := range []struct{ typ, body string }{
		{"text/plain", m.Text},
		{"text/html", m.HTML},
	} {
		w, err := mw.CreatePart(textproto.MIMEHeader{
			"Content-Type":              {p.typ + "; charset=utf-8"},
			"Content-Transfer-Encoding": {"quoted-printable"},
		})
		if err != nil {
			return nil, err
		}
		qw := quotedprintable.NewWriter(w)
		if _, err := qw.Write([]byte(p.body)); err != nil {
			return nil, err
		}
		if err := qw.Close(); err != nil {
			return nil, err
		}
	}
	if err := mw.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

func formatMessageID(id string) (string, error) {
	s := strings.TrimSuffix(strings.TrimPrefix(id, "<"), ">")
	if s == "" {
		return "", errors.New("email: Message-ID is required (it must be stable across resends)")
	}
	if strings.ContainsAny(s, "<> \t\r\n") || !strings.Contains(s, "@") {
		return "", fmt.Errorf("email: invalid Message-ID %q: want <left@right>", id)
	}
	return "<" + s + ">", nil
}
