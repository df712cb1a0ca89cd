package main

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"testing"
	"time"
)

// TestFreshConnectionKeepsItsIdleAllowance checks that a connection a
// client opened but has not used yet is not closed by ReadHeaderTimeout:
// its first request, sent later than that, is answered. A connection that
// never sends a byte goes after the idle allowance, and one that starts a
// request and stalls is still cut by ReadHeaderTimeout.
func TestFreshConnectionKeepsItsIdleAllowance(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	const headerTimeout, idle = 100 * time.Millisecond, 2 * time.Second
	srv := &http.Server{ReadHeaderTimeout: headerTimeout, IdleTimeout: idle,
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.Copy(io.Discard, r.Body)
			_, _ = w.Write([]byte("ok"))
		})}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(newFirstByteListener(ln, idle)) }()
	addr := ln.Addr().String()
	dial := func() net.Conn {
		t.Helper()
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	// closedWithin reports whether the server closes c (a read ends) before
	// the bound; the bound only ends a test that would otherwise hang.
	closedWithin := func(c net.Conn, bound time.Duration) bool {
		_ = c.SetReadDeadline(time.Now().Add(bound))
		_, err := io.ReadAll(c) // whatever the server says last (a 408), then its close
		if ne, ok := err.(net.Error); ok && ne.Timeout() {
			return false
		}
		return true
	}

	// Unused for several header timeouts (the client's own deadline
	// shows the server did not close it), then used: answered.
	fresh := dial()
	if closedWithin(fresh, 5*headerTimeout) {
		t.Fatal("the server closed a fresh, unused connection after its header timeout")
	}
	_ = fresh.SetReadDeadline(time.Time{})
	if _, err := fresh.Write([]byte("POST / HTTP/1.1\r\nHost: roster\r\nContent-Length: 1\r\n\r\nx")); err != nil {
		t.Fatal(err)
	}
	res, err := http.ReadResponse(bufio.NewReader(fresh), nil)
	if err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("the first request on a connection unused past the header timeout = %v, %v; want 200", res, err)
	}
	res.Body.Close()

	// A request started and stalled is cut by the header timeout.
	stalled := dial()
	if _, err := stalled.Write([]byte("POST / HTTP/1.1\r\nHo")); err != nil {
		t.Fatal(err)
	}
	if !closedWithin(stalled, idle) {
		t.Error("a stalled request was not cut by the header timeout")
	}

	// Closing the server closes connections still waiting for a byte.
	waiting := dial()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if !closedWithin(waiting, 10*time.Second) {
		t.Error("a connection waiting for its first byte outlived the server")
	}
	if err := <-served; err != http.ErrServerClosed {
		t.Errorf("Serve = %v, want ErrServerClosed", err)
	}
}
