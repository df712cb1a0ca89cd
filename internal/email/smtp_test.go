package email

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"strings"
	"testing"
	"time"

	"roster/internal/testsmtp"
)

// The tests send through a real SMTP server in the process
// (internal/testsmtp) and read back the bytes it received.

func newTestSMTP(t *testing.T, rawURL string, clientTLS *tls.Config) *SMTP {
	t.Helper()
	s, err := NewSMTP(rawURL, "Roster <noreply@roster.test>")
	if err != nil {
		t.Fatal(err)
	}
	s.tlsConfig = clientTLS
	return s
}

func testMessage() *Message {
	return &Message{
		To:        "Zoë Müller <zoe@example.com>",
		Subject:   "Einladung für Zoë — Roster ✓",
		Text:      "Hello Zoë,\nfollow https://roster.test/invite?token=abc=def\n" + strings.Repeat("long line ", 20),
		HTML:      `<p>Hello Zoë, <a href="https://roster.test/invite?token=abc=def">accept</a></p>`,
		MessageID: "<invitation-42.1@roster.test>",
		Date:      time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC),
	}
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return c
}

// --- tests ---

func TestSendDelivers(t *testing.T) {
	srv := testsmtp.Start(t, testsmtp.Options{Mode: testsmtp.StartTLS})
	s := newTestSMTP(t, "smtp://"+srv.Addr, srv.ClientTLS)
	m := testMessage()
	if err := s.Send(ctx(t), m); err != nil {
		t.Fatal(err)
	}
	got := srv.Messages()
	if len(got) != 1 {
		t.Fatalf("received %d messages, want 1", len(got))
	}
	if got[0].From != "noreply@roster.test" || len(got[0].To) != 1 || got[0].To[0] != "zoe@example.com" {
		t.Errorf("envelope = %q -> %q", got[0].From, got[0].To)
	}
	checkMessage(t, got[0].Data, m)
}

func checkMessage(t *testing.T, data []byte, m *Message) {
	t.Helper()
	msg, err := mail.ReadMessage(strings.NewReader(string(data)))
	if err != nil {
		t.Fatal(err)
	}
	h := msg.Header
	if got := h.Get("MIME-Version"); got != "1.0" {
		t.Errorf("MIME-Version = %q", got)
	}
	if got := h.Get("Message-ID"); got != m.MessageID {
		t.Errorf("Message-ID = %q, want %q", got, m.MessageID)
	}
	var dec mime.WordDecoder
	subj, err := dec.DecodeHeader(h.Get("Subject"))
	if err != nil || subj != m.Subject {
		t.Errorf("Subject = %q (%v), want %q", subj, err, m.Subject)
	}
	if d, err := h.Date(); err != nil || !d.Equal(m.Date) {
		t.Errorf("Date = %v (%v), want %v", d, err, m.Date)
	}
	to, err := h.AddressList("To")
	if err != nil || len(to) != 1 || to[0].Name != "Zoë Müller" || to[0].Address != "zoe@example.com" {
		t.Errorf("To = %v (%v)", to, err)
	}
	if from, err := h.AddressList("From"); err != nil || from[0].Address != "noreply@roster.test" {
		t.Errorf("From = %v (%v)", from, err)
	}
	mt, params, err := mime.ParseMediaType(h.Get("Content-Type"))
	if err != nil || mt != "multipart/alternative" {
		t.Fatalf("Content-Type = %q (%v)", h.Get("Content-Type"), err)
	}
	mr := multipart.NewReader(msg.Body, params["boundary"])
	parts := map[string]string{}
	for {
		p, err := mr.NextRawPart() // raw: decode quoted-printable ourselves
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if cte := p.Header.Get("Content-Transfer-Encoding"); cte != "quoted-printable" {
			t.Errorf("Content-Transfer-Encoding = %q", cte)
		}
		pt, pp, _ := mime.ParseMediaType(p.Header.Get("Content-Type"))
		if pp["charset"] != "utf-8" {
			t.Errorf("%s charset = %q", pt, pp["charset"])
		}
		body, err := io.ReadAll(quotedprintable.NewReader(p))
		if err != nil {
			t.Fatal(err)
		}
		parts[pt] = string(body)
	}
	wantText := strings.ReplaceAll(m.Text, "\n", "\r\n")
	if parts["text/plain"] != wantText {
		t.Errorf("text part = %q, want %q", parts["text/plain"], wantText)
	}
	if parts["text/html"] != m.HTML {
		t.Errorf("html part = %q, want %q", parts["text/html"], m.HTML)
	}
}

func TestBytesBoundaryRandomAndIDStable(t *testing.T) {
	m := testMessage()
	m.From = "a@b.test"
	a, err := m.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	b, err := m.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	if string(a) == string(b) {
		t.Error("two renderings are identical: boundary is not random")
	}
	ma, _ := mail.ReadMessage(strings.NewReader(string(a)))
	mb, _ := mail.ReadMessage(strings.NewReader(string(b)))
	if ma.Header.Get("Message-ID") != mb.Header.Get("Message-ID") {
		t.Error("Message-ID changed between renderings")
	}
}

func TestAuthOverSTARTTLS(t *testing.T) {
	srv := testsmtp.Start(t, testsmtp.Options{Mode: testsmtp.StartTLS, User: "mailer", Pass: "s3cret pass"})

	ok := newTestSMTP(t, "smtp://mailer:s3cret%20pass@"+srv.Addr+"?starttls=required", srv.ClientTLS)
	if err := ok.Send(ctx(t), testMessage()); err != nil {
		t.Fatalf("right credentials: %v", err)
	}
	if n := len(srv.Messages()); n != 1 {
		t.Fatalf("received %d, want 1", n)
	}

	bad := newTestSMTP(t, "smtp://mailer:wrong-password@"+srv.Addr, srv.ClientTLS)
	err := bad.Send(ctx(t), testMessage())
	if err == nil {
		t.Fatal("wrong credentials: no error")
	}
	if !IsPermanent(err) {
		t.Errorf("wrong credentials: IsPermanent = false for %v", err)
	}
	if strings.Contains(err.Error(), "wrong-password") {
		t.Errorf("error reveals the password: %v", err)
	}
}

func TestImplicitTLS(t *testing.T) {
	srv := testsmtp.Start(t, testsmtp.Options{Mode: testsmtp.Implicit, User: "mailer", Pass: "pw"})
	if want := "smtps://mailer:pw@" + srv.Addr; srv.URL() != want {
		t.Errorf("URL() = %q, want %q", srv.URL(), want)
	}
	s := newTestSMTP(t, srv.URL(), srv.ClientTLS)
	if err := s.Send(ctx(t), testMessage()); err != nil {
		t.Fatal(err)
	}
	if n := len(srv.Messages()); n != 1 {
		t.Fatalf("received %d, want 1", n)
	}
}

func TestUntrustedCertificateFails(t *testing.T) {
	srv := testsmtp.Start(t, testsmtp.Options{Mode: testsmtp.Implicit})
	s := newTestSMTP(t, "smtps://"+srv.Addr, nil) // system roots: self-signed is refused
	if err := s.Send(ctx(t), testMessage()); err == nil {
		t.Fatal("send over untrusted certificate succeeded")
	}
}

func TestStartTLSRequiredRefusesPlainServer(t *testing.T) {
	srv := testsmtp.Start(t, testsmtp.Options{Mode: testsmtp.Plain})
	s := newTestSMTP(t, "smtp://"+srv.Addr+"?starttls=required", nil)
	err := s.Send(ctx(t), testMessage())
	if err == nil || !strings.Contains(err.Error(), "STARTTLS") {
		t.Fatalf("err = %v, want a STARTTLS error", err)
	}
	if len(srv.Messages()) != 0 {
		t.Error("message was delivered without TLS")
	}
	// Without the requirement the same server is fine.
	s = newTestSMTP(t, "smtp://"+srv.Addr, nil)
	if err := s.Send(ctx(t), testMessage()); err != nil {
		t.Fatal(err)
	}
}

func TestReplyClassification(t *testing.T) {
	for _, tc := range []struct {
		name      string
		stage     testsmtp.Stage
		code      int
		permanent bool
	}{
		{"rcpt 421", testsmtp.AtRcpt, 421, false},
		{"rcpt 451", testsmtp.AtRcpt, 451, false},
		{"rcpt 550", testsmtp.AtRcpt, 550, true},
		{"data 451", testsmtp.AtData, 451, false},
		{"data 554", testsmtp.AtData, 554, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := testsmtp.Start(t, testsmtp.Options{Mode: testsmtp.StartTLS})
			srv.RefuseAt(tc.stage, tc.code, "refused by the test")
			s := newTestSMTP(t, "smtp://"+srv.Addr, srv.ClientTLS)
			err := s.Send(ctx(t), testMessage())
			if err == nil {
				t.Fatal("no error")
			}
			if got := IsPermanent(err); got != tc.permanent {
				t.Errorf("IsPermanent(%v) = %v, want %v", err, got, tc.permanent)
			}
			if len(srv.Messages()) != 0 {
				t.Error("a refused message was recorded as received")
			}
			// Accepting again, the same server takes the message.
			srv.Accept()
			if err := s.Send(ctx(t), testMessage()); err != nil {
				t.Fatalf("after Accept: %v", err)
			}
		})
	}
}

func TestServerDown(t *testing.T) {
	srv := testsmtp.Start(t, testsmtp.Options{})
	srv.Stop()
	s := newTestSMTP(t, "smtp://"+srv.Addr, nil)
	err := s.Send(ctx(t), testMessage())
	if err == nil {
		t.Fatal("send to a stopped server succeeded")
	}
	if IsPermanent(err) {
		t.Errorf("IsPermanent(%v) = true, want false", err)
	}
	// Up again on the same address: the message goes through.
	srv.Restart(t)
	if err := s.Send(ctx(t), testMessage()); err != nil {
		t.Fatalf("after Restart: %v", err)
	}
	if m := srv.Next(t); len(m.To) != 1 || m.To[0] != "zoe@example.com" {
		t.Errorf("received envelope recipients %q, want zoe@example.com", m.To)
	}
}

func TestContextCancelStopsSilentServer(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := ln.Accept()
		if err == nil {
			accepted <- c // hold it open, say nothing
		}
	}()
	s := newTestSMTP(t, "smtp://"+ln.Addr().String(), nil)
	c, cancel := context.WithCancel(context.Background())
	defer cancel()
	result := make(chan error, 1)
	go func() { result <- s.Send(c, testMessage()) }()

	conn := <-accepted
	defer conn.Close()
	cancel()
	err = <-result
	if !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
	if IsPermanent(err) {
		t.Errorf("IsPermanent(%v) = true, want false", err)
	}
}

func TestHeaderInjectionRefused(t *testing.T) {
	for _, mutate := range []func(*Message){
		func(m *Message) { m.Subject = "Hi\r\nBcc: victim@example.com" },
		func(m *Message) { m.Subject = "Hi\nBcc: victim@example.com" },
		func(m *Message) { m.To = "a@example.com\r\nBcc: victim@example.com" },
		func(m *Message) { m.From = "a@example.com\rX: y" },
		func(m *Message) { m.MessageID = "<x@y>\r\nBcc: victim@example.com" },
	} {
		m := testMessage()
		m.From = "noreply@roster.test"
		mutate(m)
		_, err := m.Bytes()
		if !errors.Is(err, ErrHeaderInjection) {
			t.Errorf("Bytes(%+v) err = %v, want ErrHeaderInjection", m, err)
		}
	}
	// Send refuses it permanently without connecting.
	s := newTestSMTP(t, "smtp://127.0.0.1:1", nil)
	m := testMessage()
	m.Subject = "x\r\nBcc: victim@example.com"
	if err := s.Send(ctx(t), m); !errors.Is(err, ErrHeaderInjection) || !IsPermanent(err) {
		t.Errorf("Send err = %v, want permanent ErrHeaderInjection", err)
	}
}

func TestNewSMTP(t *testing.T) {
	good := []struct{ url, addr string }{
		{"smtp://mail.example.com", "mail.example.com:587"},
		{"smtps://mail.example.com", "mail.example.com:465"},
		{"smtp://u:p@mail.example.com:2525?starttls=required", "mail.example.com:2525"},
		{"smtp://[::1]:25", "[::1]:25"},
	}
	for _, g := range good {
		s, err := NewSMTP(g.url, "noreply@example.com")
		if err != nil {
			t.Errorf("NewSMTP(%q): %v", g.url, err)
			continue
		}
		if s.addr != g.addr {
			t.Errorf("NewSMTP(%q).addr = %q, want %q", g.url, s.addr, g.addr)
		}
	}
	bad := []struct{ url, from, want string }{
		{"http://mail.example.com", "a@b.c", "unknown scheme"},
		{"mail.example.com:25", "a@b.c", "scheme"},
		{"smtp://", "a@b.c", "missing host"},
		{"smtp://user:topsecret@:25", "a@b.c", "missing host"},
		{"smtp://host:99999", "a@b.c", "bad port"},
		{"smtp://host?starttls=maybe", "a@b.c", "starttls"},
		{"smtps://host?starttls=required", "a@b.c", "starttls"},
		{"smtp://user:top%zzsecret@host", "a@b.c", "invalid SMTP URL"},
		{"smtp://host", "", "sender"},
		{"smtp://host", "not an address", "sender"},
	}
	for _, b := range bad {
		_, err := NewSMTP(b.url, b.from)
		if err == nil {
			t.Errorf("NewSMTP(%q, %q): no error", b.url, b.from)
			continue
		}
		if !strings.Contains(err.Error(), b.want) {
			t.Errorf("NewSMTP(%q) = %v, want mention of %q", b.url, err, b.want)
		}
		if strings.Contains(err.Error(), "secret") {
			t.Errorf("NewSMTP(%q) error reveals the password: %v", b.url, err)
		}
	}
}
