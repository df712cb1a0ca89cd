// Package testsmtp runs a real SMTP server (github.com/emersion/go-smtp) in
// the test process, so that tests send mail the way production does and
// read back the bytes the server received. Only tests import it.
//
// A server listens on 127.0.0.1 on a port the system picks, in plain text,
// with STARTTLS or with implicit TLS (a self-signed certificate that
// ClientTLS trusts), optionally requiring AUTH PLAIN. Tests can make it
// refuse messages with a given reply code, and stop and start it again on
// the same address to play a mail server that is down for a while.
package testsmtp

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log"
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

// Mode is how a server speaks TLS.
type Mode int

const (
	Plain    Mode = iota // no TLS at all; STARTTLS is not offered
	StartTLS             // plain connection that offers STARTTLS
	Implicit             // TLS from the first byte (smtps://)
)

// Options configure a server. The zero value is a plain server that takes
// any message without authentication.
type Options struct {
	Mode Mode
	// User and Pass, when User is set, make AUTH PLAIN mandatory before
	// MAIL FROM. A plain server allows AUTH without TLS.
	User, Pass string
}

// Message is one message the server accepted.
type Message struct {
	From string   // envelope sender (MAIL FROM)
	To   []string // envelope recipients (RCPT TO)
	Data []byte   // the message as received, headers and body
}

// Stage is the command of the conversation that a refusal answers.
type Stage int

const (
	AtRcpt Stage = iota // RCPT TO is refused
	AtData              // the message is read, then refused at the end of DATA
)

// Server is an SMTP server running in the test process. Its methods are
// safe for concurrent use.
type Server struct {
	// Addr is host:port, the same across Stop and Restart.
	Addr string
	// ClientTLS trusts the server's certificate; nil for a Plain server.
	ClientTLS *tls.Config

	opts      Options
	serverTLS *tls.Config

	mu      sync.Mutex
	srv     *gosmtp.Server
	ln      *trackingListener
	done    chan struct{} // closed when the running Serve returns
	refusal map[Stage]*gosmtp.SMTPError
	msgs    []Message
	read    int           // messages already returned by Next and Wait
	arrived chan struct{} // closed and replaced when a message arrives
}

// Start runs a server on 127.0.0.1:0 until the test ends.
func Start(t testing.TB, opts Options) *Server {
	t.Helper()
	s := &Server{opts: opts, refusal: map[Stage]*gosmtp.SMTPError{}, arrived: make(chan struct{})}
	if opts.Mode != Plain {
		var err error
		if s.serverTLS, s.ClientTLS, err = certificates(); err != nil {
			t.Fatalf("testsmtp: %v", err)
		}
	}
	if err := s.listen("127.0.0.1:0"); err != nil {
		t.Fatalf("testsmtp: %v", err)
	}
	t.Cleanup(s.Stop)
	return s
}

// URL returns the smtp:// or smtps:// URL of the server, with the
// credentials of Options when set.
func (s *Server) URL() string {
	scheme := "smtp"
	if s.opts.Mode == Implicit {
		scheme = "smtps"
	}
	auth := ""
	if s.opts.User != "" {
		auth = s.opts.User + ":" + s.opts.Pass + "@"
	}
	return scheme + "://" + auth + s.Addr
}

func (s *Server) listen(addr string) error {
	raw, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	tracked := &trackingListener{Listener: raw, conns: map[net.Conn]struct{}{}}
	var ln net.Listener = tracked
	if s.opts.Mode == Implicit {
		ln = tls.NewListener(ln, s.serverTLS)
	}
	srv := gosmtp.NewServer(backend{s})
	srv.Domain = "localhost"
	srv.ErrorLog = log.New(io.Discard, "", 0) // a client's failed handshake is the test's to report
	srv.AllowInsecureAuth = s.opts.Mode == Plain
	if s.opts.Mode == StartTLS {
		srv.TLSConfig = s.serverTLS
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		srv.Serve(ln)
	}()
	s.mu.Lock()
	s.Addr, s.srv, s.ln, s.done = ln.Addr().String(), srv, tracked, done
	s.mu.Unlock()
	return nil
}

// Stop closes the server and its connections: from now on a connection to
// Addr is refused. It does nothing when the server is stopped already.
func (s *Server) Stop() {
	s.mu.Lock()
	srv, ln, done := s.srv, s.ln, s.done
	s.srv, s.ln, s.done = nil, nil, nil
	s.mu.Unlock()
	if srv != nil {
		srv.Close()
		// Close may run before Serve has registered the listener, and
		// does not see a connection accepted a moment ago: close them here.
		ln.closeAll()
		<-done
	}
}

// trackingListener closes, on closeAll, itself and every connection it
// accepted, so that a stopped server answers nobody.
type trackingListener struct {
	net.Listener
	mu     sync.Mutex
	closed bool
	conns  map[net.Conn]struct{}
}

func (l *trackingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		c.Close()
		return nil, net.ErrClosed
	}
	l.conns[c] = struct{}{}
	return &trackedConn{Conn: c, l: l}, nil
}

func (l *trackingListener) closeAll() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.closed = true
	l.Listener.Close()
	for c := range l.conns {
		c.Close()
	}
	clear(l.conns)
}

type trackedConn struct {
	net.Conn
	l *trackingListener
}

func (c *trackedConn) Close() error {
	c.l.mu.Lock()
	delete(c.l.conns, c.Conn)
	c.l.mu.Unlock()
	return c.Conn.Close()
}

// Restart starts a stopped server again on the same address, keeping the
// messages received so far and any refusal.
func (s *Server) Restart(t testing.TB) {
	t.Helper()
	s.mu.Lock()
	running := s.srv != nil
	s.mu.Unlock()
	if running {
		t.Fatal("testsmtp: Restart of a running server")
	}
	if err := s.listen(s.Addr); err != nil {
		t.Fatalf("testsmtp: restart on %s: %v", s.Addr, err)
	}
}

// Refuse makes the server answer RCPT TO with code (4xx: try later, 5xx:
// refused for good) and message until Accept.
func (s *Server) Refuse(code int, message string) { s.RefuseAt(AtRcpt, code, message) }

// RefuseAt makes the server answer the given stage with code and message.
func (s *Server) RefuseAt(stage Stage, code int, message string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.refusal[stage] = &gosmtp.SMTPError{Code: code, EnhancedCode: gosmtp.EnhancedCode{code / 100, 0, 0}, Message: message}
}

// Accept ends every refusal.
func (s *Server) Accept() {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.refusal)
}

func (s *Server) refused(stage Stage) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if e := s.refusal[stage]; e != nil {
		return e
	}
	return nil
}

// Messages returns every message received so far, oldest first. A message
// is recorded before the server answers the end of its DATA, so it is here
// once the client's send has returned.
func (s *Server) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Message(nil), s.msgs...)
}

// Wait returns the oldest message that Wait and Next have not returned
// yet, waiting for it to arrive until ctx ends.
func (s *Server) Wait(ctx context.Context) (Message, error) {
	for {
		s.mu.Lock()
		if s.read < len(s.msgs) {
			m := s.msgs[s.read]
			s.read++
			s.mu.Unlock()
			return m, nil
		}
		arrived := s.arrived
		s.mu.Unlock()
		select {
		case <-arrived:
		case <-ctx.Done():
			return Message{}, fmt.Errorf("testsmtp: no message arrived: %w", context.Cause(ctx))
		}
	}
}

// Next is Wait for tests: it fails the test when no message arrives within
// a minute, a bound for a hung test rather than a timing expectation.
func (s *Server) Next(t testing.TB) Message {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	m, err := s.Wait(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func (s *Server) deliver(m Message) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.msgs = append(s.msgs, m)
	close(s.arrived)
	s.arrived = make(chan struct{})
}

// --- go-smtp backend ---

type backend struct{ s *Server }

func (b backend) NewSession(*gosmtp.Conn) (gosmtp.Session, error) { return &session{s: b.s}, nil }

type session struct {
	s    *Server
	auth bool
	cur  Message
}

func (x *session) AuthMechanisms() []string { return []string{sasl.Plain} }

func (x *session) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, user, pass string) error {
		if x.s.opts.User == "" || user != x.s.opts.User || pass != x.s.opts.Pass {
			return &gosmtp.SMTPError{Code: 535, EnhancedCode: gosmtp.EnhancedCode{5, 7, 8}, Message: "bad credentials"}
		}
		x.auth = true
		return nil
	}), nil
}

func (x *session) Mail(from string, _ *gosmtp.MailOptions) error {
	if x.s.opts.User != "" && !x.auth {
		return gosmtp.ErrAuthRequired
	}
	x.cur = Message{From: from}
	return nil
}

func (x *session) Rcpt(to string, _ *gosmtp.RcptOptions) error {
	if err := x.s.refused(AtRcpt); err != nil {
		return err
	}
	x.cur.To = append(x.cur.To, to)
	return nil
}

func (x *session) Data(r io.Reader) error {
	data, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	if err := x.s.refused(AtData); err != nil {
		return err
	}
	x.cur.Data = data
	x.s.deliver(x.cur)
	x.cur = Message{}
	return nil
}

func (x *session) Reset()        { x.cur = Message{} }
func (x *session) Logout() error { return nil }

// certificates makes a self-signed certificate for 127.0.0.1 and localhost,
// and a client configuration that trusts it.
func certificates() (server, client *tls.Config, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "roster test"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
		DNSNames:              []string{"localhost"},
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, nil, err
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	server = &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key, Leaf: cert}}}
	return server, &tls.Config{RootCAs: pool}, nil
}

// --- reading a message ---

// Mail is a received message, parsed.
type Mail struct {
	Header    mail.Header
	MessageID string
	Subject   string // decoded from RFC 2047
	Date      time.Time
	// Text and HTML are the decoded text/plain and text/html parts (or the
	// body of a single-part message), with line ends as "\n".
	Text, HTML string
}

// Parse reads m's headers and its text and HTML parts, decoding
// quoted-printable and base64 transfer encodings.
func (m Message) Parse() (*Mail, error) {
	msg, err := mail.ReadMessage(bytes.NewReader(m.Data))
	if err != nil {
		return nil, err
	}
	out := &Mail{Header: msg.Header, MessageID: msg.Header.Get("Message-ID")}
	var dec mime.WordDecoder
	if out.Subject, err = dec.DecodeHeader(msg.Header.Get("Subject")); err != nil {
		return nil, fmt.Errorf("Subject: %w", err)
	}
	if out.Date, err = msg.Header.Date(); err != nil {
		return nil, fmt.Errorf("Date: %w", err)
	}
	mt, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil {
		return nil, fmt.Errorf("Content-Type: %w", err)
	}
	if !strings.HasPrefix(mt, "multipart/") {
		body, err := decodeBody(msg.Body, msg.Header.Get("Content-Transfer-Encoding"))
		if err != nil {
			return nil, err
		}
		out.setPart(mt, body)
		return out, nil
	}
	mr := multipart.NewReader(msg.Body, params["boundary"])
	for {
		p, err := mr.NextRawPart() // raw: the transfer encoding is decoded here
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		body, err := decodeBody(p, p.Header.Get("Content-Transfer-Encoding"))
		if err != nil {
			return nil, err
		}
		pt, _, _ := mime.ParseMediaType(p.Header.Get("Content-Type"))
		out.setPart(pt, body)
	}
	return out, nil
}

func (m *Mail) setPart(mediaType, body string) {
	switch mediaType {
	case "text/plain":
		m.Text = body
	case "text/html":
		m.HTML = body
	}
}

func decodeBody(r io.Reader, cte string) (string, error) {
	switch strings.ToLower(strings.TrimSpace(cte)) {
	case "quoted-printable":
		r = quotedprintable.NewReader(r)
	case "base64":
		r = base64.NewDecoder(base64.StdEncoding, r) // ignores line ends
	}
	b, err := io.ReadAll(r)
	if err != nil {
		return "", fmt.Errorf("decode %s body: %w", cte, err)
	}
	return strings.ReplaceAll(string(b), "\r\n", "\n"), nil
}
