package main

import (
	"bufio"
	"errors"
	"net"
	"sync"
	"time"
)

// firstByteListener hands a connection to the HTTP server only once its
// first byte has arrived, waiting up to idle for it.
//
// net/http starts ReadHeaderTimeout (5 s) when it gets a connection, so a
// connection that a client's pool opened but has not used yet — HTTP
// clients dial spares when they are busy — is closed after 5 s, while the
// client believes it idle for as long as its own idle timeout (90 s for
// Go's). The client's next request on it then fails with EOF, and a POST,
// such as the gateway's key check, is not retried. Waiting here for the
// first byte gives a fresh connection the same idle allowance as a
// connection between two requests (IdleTimeout), and ReadHeaderTimeout
// still bounds a client that starts a request and trickles it.
type firstByteListener struct {
	net.Listener
	idle  time.Duration
	conns chan net.Conn
	errs  chan error
	done  chan struct{}

	mu      sync.Mutex
	pending map[net.Conn]struct{} // waiting for their first byte
	closed  bool
}

func newFirstByteListener(ln net.Listener, idle time.Duration) *firstByteListener {
	l := &firstByteListener{Listener: ln, idle: idle, conns: make(chan net.Conn), errs: make(chan error),
		done: make(chan struct{}), pending: map[net.Conn]struct{}{}}
	go l.acceptLoop()
	return l
}

func (l *firstByteListener) acceptLoop() {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			select {
			case l.errs <- err:
			case <-l.done:
				return
			}
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		if !l.track(c) {
			c.Close()
			return
		}
		go l.await(c)
	}
}

// track records c as pending; false once the listener is closed.
func (l *firstByteListener) track(c net.Conn) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return false
	}
	l.pending[c] = struct{}{}
	return true
}

func (l *firstByteListener) untrack(c net.Conn) {
	l.mu.Lock()
	delete(l.pending, c)
	l.mu.Unlock()
}

// await waits for c's first byte, then hands c to Accept.
func (l *firstByteListener) await(c net.Conn) {
	br := bufio.NewReaderSize(c, 512)
	_ = c.SetReadDeadline(time.Now().Add(l.idle))
	_, err := br.Peek(1)
	l.untrack(c)
	if err != nil {
		c.Close()
		return
	}
	_ = c.SetReadDeadline(time.Time{})
	select {
	case l.conns <- &peekedConn{Conn: c, r: br}:
	case <-l.done:
		c.Close()
	}
}

// Accept returns the next connection whose first byte has arrived.
func (l *firstByteListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case err := <-l.errs:
		return nil, err
	case <-l.done:
		return nil, net.ErrClosed
	}
}

// Close stops accepting and closes the connections still waiting.
func (l *firstByteListener) Close() error {
	l.mu.Lock()
	if !l.closed {
		l.closed = true
		close(l.done)
		for c := range l.pending {
			c.Close()
		}
	}
	l.mu.Unlock()
	return l.Listener.Close()
}

// peekedConn is a connection whose first bytes were read ahead.
type peekedConn struct {
	net.Conn
	r *bufio.Reader
}

func (c *peekedConn) Read(p []byte) (int, error) {
	if c.r.Buffered() > 0 {
		return c.r.Read(p)
	}
	return c.Conn.Read(p)
}
