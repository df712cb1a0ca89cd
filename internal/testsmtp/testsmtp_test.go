package testsmtp_test

import (
	"context"
	"errors"
	"net/smtp"
	"net/textproto"
	"strings"
	"testing"

	"roster/internal/testsmtp"
)

const plainMessage = "From: a@example.com\r\nTo: b@example.com\r\nSubject: =?utf-8?q?Gr=C3=BC=C3=9Fe?=\r\n" +
	"Date: Tue, 03 Mar 2026 10:00:00 +0000\r\nMessage-ID: <m1@example.com>\r\n" +
	"Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n" +
	"SGVsbG8sCndvcmxk\r\n" // "Hello,\nworld"

func send(addr, to string) error {
	return smtp.SendMail(addr, nil, "a@example.com", []string{to}, []byte(plainMessage))
}

func TestReceiveWaitAndParse(t *testing.T) {
	s := testsmtp.Start(t, testsmtp.Options{})
	done := make(chan error, 1)
	go func() { done <- send(s.Addr, "b@example.com") }()
	m := s.Next(t)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if m.From != "a@example.com" || len(m.To) != 1 || m.To[0] != "b@example.com" {
		t.Errorf("envelope = %q -> %q", m.From, m.To)
	}
	p, err := m.Parse()
	if err != nil {
		t.Fatal(err)
	}
	if p.Subject != "Grüße" || p.MessageID != "<m1@example.com>" || p.Text != "Hello,\nworld" || p.HTML != "" {
		t.Errorf("parsed = subject %q, id %q, text %q, html %q", p.Subject, p.MessageID, p.Text, p.HTML)
	}
	if got := len(s.Messages()); got != 1 {
		t.Errorf("Messages() has %d, want 1", got)
	}

	// Wait gives up with its context when nothing more arrives.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := s.Wait(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("Wait with a cancelled context = %v, want context.Canceled", err)
	}

	// Messages arrived before Next are returned in order, each once.
	for _, to := range []string{"c@example.com", "d@example.com"} {
		if err := send(s.Addr, to); err != nil {
			t.Fatal(err)
		}
	}
	for _, want := range []string{"c@example.com", "d@example.com"} {
		if m := s.Next(t); m.To[0] != want {
			t.Errorf("Next = message to %q, want %q", m.To[0], want)
		}
	}
}

func TestRefuseAndAccept(t *testing.T) {
	s := testsmtp.Start(t, testsmtp.Options{})
	for _, tc := range []struct {
		stage testsmtp.Stage
		code  int
	}{{testsmtp.AtRcpt, 421}, {testsmtp.AtRcpt, 550}, {testsmtp.AtData, 451}} {
		s.RefuseAt(tc.stage, tc.code, "not now")
		var te *textproto.Error
		if err := send(s.Addr, "b@example.com"); !errors.As(err, &te) || te.Code != tc.code || !strings.Contains(te.Msg, "not now") {
			t.Errorf("send while refusing with %d at stage %d = %v", tc.code, tc.stage, err)
		}
		s.Accept()
	}
	if n := len(s.Messages()); n != 0 {
		t.Errorf("%d refused messages recorded", n)
	}
	if err := send(s.Addr, "b@example.com"); err != nil {
		t.Errorf("send after Accept = %v", err)
	}
}

func TestStopAndRestart(t *testing.T) {
	s := testsmtp.Start(t, testsmtp.Options{})
	addr := s.Addr
	s.Stop()
	if err := send(addr, "b@example.com"); err == nil {
		t.Fatal("send to a stopped server succeeded")
	}
	s.Restart(t)
	if s.Addr != addr {
		t.Errorf("restarted on %s, want %s", s.Addr, addr)
	}
	if err := send(addr, "b@example.com"); err != nil {
		t.Fatalf("send after Restart = %v", err)
	}
	if m := s.Next(t); m.To[0] != "b@example.com" {
		t.Errorf("received a message to %q", m.To)
	}
}

func TestAuthRequired(t *testing.T) {
	s := testsmtp.Start(t, testsmtp.Options{User: "u", Pass: "p"})
	if err := send(s.Addr, "b@example.com"); err == nil {
		t.Error("send without AUTH succeeded")
	}
	auth := smtp.PlainAuth("", "u", "p", "127.0.0.1")
	if err := smtp.SendMail(s.Addr, auth, "a@example.com", []string{"b@example.com"}, []byte(plainMessage)); err != nil {
		t.Errorf("send with AUTH = %v", err)
	}
	if want := "smtp://u:p@" + s.Addr; s.URL() != want {
		t.Errorf("URL() = %q, want %q", s.URL(), want)
	}
}
