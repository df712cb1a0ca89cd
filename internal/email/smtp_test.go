package email

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"io"
	"math/big"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	gosmtp "github.com/emersion/go-smtp"
)

// --- in-process SMTP server ---

type received struct {
	from string
	to   []string
	data []byte
}

type backend struct {
	user, pass string // when set, AUTH PLAIN is required
	rcptErr    error
	dataErr    error

	mu   sync.Mutex
	msgs []received
}

func (b *backend) NewSession(*gosmtp.Conn) (gosmtp.Session, error) {
	return &session{b: b}, nil
}

func (b *backend) received() []received {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]received(nil), b.msgs...)
}

type session struct {
	b    *backend
	auth bool
	cur  received
}

func (s *session) AuthMechanisms() []string { return []string{sasl.Plain} }

func (s *session) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, user, pass string) error {
		if user != s.b.user || pass != s.b.pass {
			return &gosmtp.SMTPError{Code: 535, EnhancedCode: gosmtp.EnhancedCode{5, 7, 8}, Message: "bad credentials"}
		}
		s.auth = true
		return nil
	}), nil
}

func (s *session) Mail(from string, _ *gosmtp.MailOptions) error {
	if s.b.user != "" && !s.auth {
		return gosmtp.ErrAuthRequired
	}
	s.cur = received{from: from}
	return nil
}

func (s *session) Rcpt(to string, _ *gosmtp.RcptOptions) error {
	if s.b.rcptErr != nil {
		return s.b.rcptErr
	}
	s.cur.to = append(s.cur.to, to)
	return nil
}

func (s *session) Data(r io.Reader) error {
	data, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	if s.b.dataErr != nil {
		return s.b.dataErr
	}
	s.cur.data = data
	s.b.mu.Lock()
	s.b.msgs = append(s.b.msgs, s.cur)
	s.b.mu.Unlock()
	return nil
}

func (s *session) Reset()        { s.cur = received{} }
func (s *session) Logout() error { return nil }

type serverMode int

const (
	plain    serverMode = iota // no TLS at all
	startTLS                   // offers STARTTLS
	implicit                   // TLS from the first byte
)

// startServer runs a go-smtp server on 127.0.0.1:0 and returns its address
// and a client TLS config that trusts its certificate.
func startServer(t *testing.T, mode serverMode, be *backend) (string, *tls.Config) {
	t.Helper()
	serverTLS, clientTLS := testCerts(t)
	srv := gosmtp.NewServer(be)
	srv.Domain = "localhost"
	srv.AllowInsecureAuth = mode == plain
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	switch mode {
	case startTLS:
		srv.TLSConfig = serverTLS
	case implicit:
		ln = tls.NewListener(ln, serverTLS)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		srv.Serve(ln)
	}()
	t.Cleanup(func() {
		srv.Close()
		<-done
	})
	return ln.Addr().String(), clientTLS
}

func testCerts(t *testing.T) (server, client *tls.Config) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "roster test"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
		DNSNames:              []string{"localhost"},
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	server = &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}}
	client = &tls.Config{RootCAs: pool}
	return server, client
}

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
	be := &backend{}
	addr, clientTLS := startServer(t, startTLS, be)
	s := newTestSMTP(t, "smtp://"+addr, clientTLS)
	m := testMessage()
	if err := s.Send(ctx(t), m); err != nil {
		t.Fatal(err)
	}
	got := be.received()
	if len(got) != 1 {
		t.Fatalf("received %d messages, want 1", len(got))
	}
	if got[0].from != "noreply@roster.test" || len(got[0].to) != 1 || got[0].to[0] != "zoe@example.com" {
		t.Errorf("envelope = %q -> %q", got[0].from, got[0].to)
	}
	checkMessage(t, got[0].data, m)
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
	be := &backend{user: "mailer", pass: "s3cret pass"}
	addr, clientTLS := startServer(t, startTLS, be)

	ok := newTestSMTP(t, "smtp://mailer:s3cret%20pass@"+addr+"?starttls=required", clientTLS)
	if err := ok.Send(ctx(t), testMessage()); err != nil {
		t.Fatalf("right credentials: %v", err)
	}
	if n := len(be.received()); n != 1 {
		t.Fatalf("received %d, want 1", n)
	}

	bad := newTestSMTP(t, "smtp://mailer:wrong-password@"+addr, clientTLS)
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
	be := &backend{user: "mailer", pass: "pw"}
	addr, clientTLS := startServer(t, implicit, be)
	s := newTestSMTP(t, "smtps://mailer:pw@"+addr, clientTLS)
	if err := s.Send(ctx(t), testMessage()); err != nil {
		t.Fatal(err)
	}
	if n := len(be.received()); n != 1 {
		t.Fatalf("received %d, want 1", n)
	}
}

func TestUntrustedCertificateFails(t *testing.T) {
	addr, _ := startServer(t, implicit, &backend{})
	s := newTestSMTP(t, "smtps://"+addr, nil) // system roots: self-signed is refused
	if err := s.Send(ctx(t), testMessage()); err == nil {
		t.Fatal("send over untrusted certificate succeeded")
	}
}

func TestStartTLSRequiredRefusesPlainServer(t *testing.T) {
	be := &backend{}
	addr, clientTLS := startServer(t, plain, be)
	s := newTestSMTP(t, "smtp://"+addr+"?starttls=required", clientTLS)
	err := s.Send(ctx(t), testMessage())
	if err == nil || !strings.Contains(err.Error(), "STARTTLS") {
		t.Fatalf("err = %v, want a STARTTLS error", err)
	}
	if len(be.received()) != 0 {
		t.Error("message was delivered without TLS")
	}
	// Without the requirement the same server is fine.
	s = newTestSMTP(t, "smtp://"+addr, clientTLS)
	if err := s.Send(ctx(t), testMessage()); err != nil {
		t.Fatal(err)
	}
}

func TestReplyClassification(t *testing.T) {
	temp := &gosmtp.SMTPError{Code: 451, EnhancedCode: gosmtp.EnhancedCode{4, 3, 0}, Message: "try later"}
	perm := &gosmtp.SMTPError{Code: 550, EnhancedCode: gosmtp.EnhancedCode{5, 1, 1}, Message: "no such user"}
	for _, tc := range []struct {
		name      string
		be        *backend
		permanent bool
	}{
		{"rcpt 4xx", &backend{rcptErr: temp}, false},
		{"rcpt 5xx", &backend{rcptErr: perm}, true},
		{"data 4xx", &backend{dataErr: temp}, false},
		{"data 5xx", &backend{dataErr: perm}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			addr, clientTLS := startServer(t, startTLS, tc.be)
			s := newTestSMTP(t, "smtp://"+addr, clientTLS)
			err := s.Send(ctx(t), testMessage())
			if err == nil {
				t.Fatal("no error")
			}
			if got := IsPermanent(err); got != tc.permanent {
				t.Errorf("IsPermanent(%v) = %v, want %v", err, got, tc.permanent)
			}
		})
	}
}

func TestServerDown(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	s := newTestSMTP(t, "smtp://"+addr, nil)
	err = s.Send(ctx(t), testMessage())
	if err == nil {
		t.Fatal("send to a closed port succeeded")
	}
	if IsPermanent(err) {
		t.Errorf("IsPermanent(%v) = true, want false", err)
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
