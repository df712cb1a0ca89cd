package email

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/mail"
	"net/smtp"
	"net/textproto"
	"net/url"
	"strconv"
	"time"
)

// SMTP sends messages through one SMTP server.
type SMTP struct {
	addr       string // host:port
	host       string
	implicit   bool // smtps://: TLS from the first byte
	requireTLS bool // smtp://...?starttls=required
	user       string
	pass       string
	hasAuth    bool
	from       *mail.Address

	// tlsConfig, when set, is used (cloned) for STARTTLS and implicit TLS;
	// tests set it to trust a self-signed certificate.
	tlsConfig *tls.Config
}

// NewSMTP parses rawURL, one of
//
//	smtp://user:pass@host:port                     STARTTLS when offered (default port 587)
//	smtp://user:pass@host:port?starttls=required   refuse a server without STARTTLS
//	smtps://user:pass@host:port                    implicit TLS (default port 465)
//
// and from, the sender address ("Roster <noreply@example.com>").
// Error messages never contain the password.
func NewSMTP(rawURL, from string) (*SMTP, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			var ee url.EscapeError
			if !errors.As(ue.Err, &ee) { // an escape error could quote the password
				return nil, fmt.Errorf("email: invalid SMTP URL: %v", ue.Err)
			}
		}
		return nil, errors.New("email: invalid SMTP URL: want smtp://user:pass@host:port or smtps://user:pass@host:port (percent-encode special characters in user and password)")
	}
	s := &SMTP{}
	var defPort string
	switch u.Scheme {
	case "smtp":
		defPort = "587"
	case "smtps":
		defPort = "465"
		s.implicit = true
	case "":
		return nil, errors.New("email: invalid SMTP URL: missing scheme, want smtp:// or smtps://")
	default:
		return nil, fmt.Errorf("email: invalid SMTP URL: unknown scheme %q, want smtp or smtps", u.Scheme)
	}
	if u.Opaque != "" {
		return nil, errors.New("email: invalid SMTP URL: want smtp://host:port (missing //)")
	}
	s.host = u.Hostname()
	if s.host == "" {
		return nil, errors.New("email: invalid SMTP URL: missing host")
	}
	port := u.Port()
	if port == "" {
		port = defPort
	} else if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return nil, fmt.Errorf("email: invalid SMTP URL: bad port %q", port)
	}
	s.addr = net.JoinHostPort(s.host, port)
	if u.Path != "" && u.Path != "/" {
		return nil, fmt.Errorf("email: invalid SMTP URL: unexpected path %q", u.Path)
	}
	q := u.Query()
	for k := range q {
		if k != "starttls" {
			return nil, fmt.Errorf("email: invalid SMTP URL: unknown parameter %q", k)
		}
	}
	switch v := q.Get("starttls"); v {
	case "", "auto":
	case "required":
		if s.implicit {
			return nil, errors.New("email: invalid SMTP URL: starttls=required makes no sense with smtps:// (already TLS)")
		}
		s.requireTLS = true
	default:
		return nil, fmt.Errorf("email: invalid SMTP URL: starttls=%q, want required", v)
	}
	if u.User != nil {
		s.hasAuth = true
		s.user = u.User.Username()
		s.pass, _ = u.User.Password()
	}
	if from == "" {
		return nil, errors.New("email: sender address (mail from) is required")
	}
	if s.from, err = mail.ParseAddress(from); err != nil {
		return nil, fmt.Errorf("email: invalid sender address %q: %w", from, err)
	}
	return s, nil
}

// permanentError marks a failure that a retry cannot fix.
type permanentError struct{ err error }

func (e *permanentError) Error() string { return e.err.Error() }
func (e *permanentError) Unwrap() error { return e.err }

// IsPermanent reports whether err is a permanent failure: a 5xx reply from
// the server, an invalid message, or a configuration the server cannot
// satisfy. 4xx replies, network errors, timeouts and cancellation are
// temporary: the caller should retry later.
func IsPermanent(err error) bool {
	if err == nil {
		return false
	}
	var pe *permanentError
	if errors.As(err, &pe) {
		return true
	}
	var te *textproto.Error
	if errors.As(err, &te) {
		return te.Code >= 500 && te.Code <= 599
	}
	return false
}

func (s *SMTP) tlsConf() *tls.Config {
	var c *tls.Config
	if s.tlsConfig != nil {
		c = s.tlsConfig.Clone()
	} else {
		c = &tls.Config{MinVersion: tls.VersionTLS12}
	}
	if c.ServerName == "" {
		c.ServerName = s.host
	}
	return c
}

// Send delivers m. m.From defaults to the sender given to NewSMTP; the
// envelope sender is always that address. The context bounds the whole
// conversation: its deadline or cancellation aborts the send.
func (s *SMTP) Send(ctx context.Context, m *Message) (err error) {
	msg := *m
	if msg.From == "" {
		msg.From = s.from.String()
	}
	data, err := msg.Bytes()
	if err != nil {
		return &permanentError{err}
	}
	to, _ := mail.ParseAddress(msg.To) // validated by Bytes

	defer func() {
		if err != nil && ctx.Err() != nil {
			err = fmt.Errorf("email: send to %s: %w (%v)", s.addr, ctx.Err(), err)
		}
	}()

	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", s.addr)
	if err != nil {
		return fmt.Errorf("email: connect to %s: %w", s.addr, err)
	}
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		conn.SetDeadline(dl)
	}
	// Unblock any read or write when ctx is cancelled.
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()

	if s.implicit {
		tc := tls.Client(conn, s.tlsConf())
		if err := tc.HandshakeContext(ctx); err != nil {
			return fmt.Errorf("email: TLS handshake with %s: %w", s.addr, err)
		}
		conn = tc
	}
	c, err := smtp.NewClient(conn, s.host)
	if err != nil {
		return fmt.Errorf("email: greeting from %s: %w", s.addr, err)
	}
	defer c.Close()
	if err := c.Hello("localhost"); err != nil {
		return fmt.Errorf("email: EHLO to %s: %w", s.addr, err)
	}
	if !s.implicit {
		if ok, _ := c.Extension("STARTTLS"); ok {
			if err := c.StartTLS(s.tlsConf()); err != nil {
				return fmt.Errorf("email: STARTTLS with %s: %w", s.addr, err)
			}
		} else if s.requireTLS {
			return &permanentError{fmt.Errorf("email: %s does not offer STARTTLS and the URL says starttls=required", s.addr)}
		}
	}
	if s.hasAuth {
		// PlainAuth refuses to send the password over an unencrypted
		// connection except to localhost.
		if err := c.Auth(smtp.PlainAuth("", s.user, s.pass, s.host)); err != nil {
			var te *textproto.Error
			if !errors.As(err, &te) && ctx.Err() == nil {
				var ne net.Error
				if !errors.As(err, &ne) {
					err = &permanentError{err}
				}
			}
			return fmt.Errorf("email: AUTH as %q at %s: %w", s.user, s.addr, err)
		}
	}
	if err := c.Mail(s.from.Address); err != nil {
		return fmt.Errorf("email: MAIL FROM at %s: %w", s.addr, err)
	}
	if err := c.Rcpt(to.Address); err != nil {
		return fmt.Errorf("email: RCPT TO at %s: %w", s.addr, err)
	}
	w, err := c.Data()
	if err != nil {
		return fmt.Errorf("email: DATA at %s: %w", s.addr, err)
	}
	if _, err := w.Write(data); err != nil {
		return fmt.Errorf("email: writing message to %s: %w", s.addr, err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("email: message refused by %s: %w", s.addr, err)
	}
	// The message is accepted; a failing QUIT does not undo that.
	_ = c.Quit()
	return nil
}
