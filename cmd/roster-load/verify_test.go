package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// syncWriter lets the constant server print while the test reads.
type syncWriter struct {
	mu  sync.Mutex
	buf bytes.Buffer
	got chan struct{}
}

func (w *syncWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	n, err := w.buf.Write(p)
	select {
	case w.got <- struct{}{}:
	default:
	}
	return n, err
}

// TestVerifyMode runs --verify against a stand-in for the key check and a
// real --constant-server, and checks that both are measured and compared.
func TestVerifyMode(t *testing.T) {
	const token = "a-gateway-token-of-at-least-32-characters"
	key := "rst_" + strings.Repeat("a", 58)
	var checks, wrongBody int
	var mu sync.Mutex
	check := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var in map[string]string
		_ = json.NewDecoder(r.Body).Decode(&in)
		mu.Lock()
		checks++
		if in["key"] != key || in["permission"] != "logs.view" || r.Header.Get("Authorization") != "Bearer "+token || r.URL.Path != "/api/v1/keys/verify" {
			wrongBody++
		}
		mu.Unlock()
		_, _ = w.Write(constantVerdict)
	}))
	defer check.Close()

	ctx, cancel := context.WithCancel(context.Background())
	out := &syncWriter{got: make(chan struct{}, 1)}
	done := make(chan error, 1)
	go func() { done <- serveConstant(ctx, "127.0.0.1:0", out) }()
	<-out.got
	out.mu.Lock()
	addr := strings.TrimSpace(strings.TrimPrefix(out.buf.String(), "constant server listening on "))
	out.mu.Unlock()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serveConstant = %v", err)
		}
	}()

	var stdout bytes.Buffer
	err := run(context.Background(), []string{"--verify", "--url", check.URL, "--gateway-token", token, "--ceiling-url", "http://" + addr,
		"--key", key, "--account", "acct", "--verify-rounds", "2", "--verify-round", "100ms", "--verify-warmup", "10",
		"--concurrency", "4", "--json", "-"}, &stdout, io.Discard)
	if err != nil {
		t.Fatalf("roster-load --verify = %v", err)
	}
	var rep verifyReport
	if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil {
		t.Fatalf("report %s: %v", stdout.Bytes(), err)
	}
	if len(rep.Results) != 2 || rep.Results[0].Name != "ceiling" || rep.Results[1].Name != "keys/verify" ||
		rep.Results[0].Requests == 0 || rep.Results[1].Requests == 0 || rep.Results[0].Errors+rep.Results[1].Errors != 0 ||
		rep.Share <= 0 || len(rep.PerRound) != 2 {
		t.Errorf("report = %s", stdout.Bytes())
	}
	mu.Lock()
	defer mu.Unlock()
	if wrongBody != 0 || checks < rep.Results[1].Requests {
		t.Errorf("the check got %d requests, %d of them not the key check asked for; want at least %d right ones", checks, wrongBody, rep.Results[1].Requests)
	}
}
