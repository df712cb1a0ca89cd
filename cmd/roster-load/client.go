package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"syscall"
	"time"
)

// checkLoopbackURL refuses a target that is not http on a loopback address.
// A host name must resolve only to loopback addresses.
func checkLoopbackURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "http" || u.Host == "" {
		return fmt.Errorf("--url %q must look like http://127.0.0.1:8080", raw)
	}
	host := u.Hostname()
	ips := []net.IP{net.ParseIP(host)}
	if ips[0] == nil {
		addrs, err := net.LookupIP(host)
		if err != nil {
			return fmt.Errorf("cannot resolve %q: %w", host, err)
		}
		ips = addrs
	}
	for _, ip := range ips {
		if !ip.IsLoopback() {
			return fmt.Errorf("refusing to load %s: %s is not a loopback address; roster-load only targets 127.0.0.0/8 or ::1", raw, ip)
		}
	}
	return nil
}

// dialLoopbackOnly is a net.Dialer control function that refuses every
// connection to an address that is not loopback, whatever a name resolved to.
func dialLoopbackOnly(network, address string, _ syscall.RawConn) error {
	host, _, err := net.SplitHostPort(address)
	if err != nil {
		return err
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("refusing to connect to %s: not a loopback address", address)
	}
	return nil
}

// newClient returns a client whose transport keeps a warm connection for
// every worker, never uses a proxy, and dials loopback addresses only.
func newClient(concurrency int, timeout time.Duration) *http.Client {
	return newClientFrom(nil, concurrency, timeout)
}

// newClientFrom is newClient dialling from the source address src, or from
// the one the system picks when src is nil.
func newClientFrom(src net.IP, concurrency int, timeout time.Duration) *http.Client {
	d := &net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second, Control: dialLoopbackOnly}
	if src != nil {
		d.LocalAddr = &net.TCPAddr{IP: src}
	}
	t := &http.Transport{
		Proxy:               nil,
		DialContext:         d.DialContext,
		MaxIdleConns:        2 * (concurrency + 4),
		MaxIdleConnsPerHost: concurrency + 4,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
		ForceAttemptHTTP2:   false,
		WriteBufferSize:     16 << 10,
		ReadBufferSize:      64 << 10,
	}
	return &http.Client{Transport: t, Timeout: timeout}
}

func newRequest(ctx context.Context, method, url, key string, body any) (*http.Request, error) {
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, err
		}
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, r)
	if err != nil {
		return nil, err
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	return req, nil
}

// apiUser is the part of a user in the API that the workloads need.
type apiUser struct {
	ID        string   `json:"id"`
	FirstName string   `json:"first_name"`
	LastName  string   `json:"last_name"`
	Email     string   `json:"email"`
	Status    string   `json:"status"`
	Roles     []string `json:"roles"`
}

// userPage is a page of the user list.
type userPage struct {
	Items      []apiUser `json:"items"`
	Total      int64     `json:"total"`
	NextCursor *string   `json:"next_cursor"`
}

// httpError is a non-2xx answer, with the start of its body.
type httpError struct {
	Status int
	Body   string
}

func (e *httpError) Error() string { return fmt.Sprintf("HTTP %d: %s", e.Status, e.Body) }

// do sends one request and decodes a 2xx JSON answer into out (when not nil).
func do(client *http.Client, req *http.Request, out any) error {
	if out == nil {
		return send(client, req, nil)
	}
	return send(client, req, func(body []byte) error {
		if err := json.Unmarshal(body, out); err != nil {
			return fmt.Errorf("%s %s: decoding the answer: %w", req.Method, req.URL.Path, err)
		}
		return nil
	})
}

// readSnippet returns the first 300 bytes of a body on one line and drains
// the rest, so the connection can be reused.
func readSnippet(r io.Reader) string {
	b, _ := io.ReadAll(io.LimitReader(r, 300))
	io.Copy(io.Discard, r)
	return strings.Join(strings.Fields(string(b)), " ")
}

// seedAccount is one account of `roster dev seed` output.
type seedAccount struct {
	ID  string
	Key string
}

// seedAccounts finds the accounts in the output of `roster dev seed`: every
// JSON object holding an API key (a string starting with rst_) and an account
// id (field account_id, or id), in document order. It is lenient about the
// exact shape so that it reads any reasonable seed output.
func seedAccounts(data []byte) []seedAccount {
	var out []seedAccount
	eachJSONValue(data, func(v any) { walkSeed(v, &out) })
	return out
}

// eachJSONValue calls fn with each JSON value of data in turn, up to the
// end or to the first text that is not JSON.
func eachJSONValue(data []byte, fn func(any)) {
	dec := json.NewDecoder(bytes.NewReader(data))
	for {
		var v any
		if err := dec.Decode(&v); err != nil {
			return
		}
		fn(v)
	}
}

func walkSeed(v any, out *[]seedAccount) {
	switch v := v.(type) {
	case []any:
		for _, x := range v {
			walkSeed(x, out)
		}
	case map[string]any:
		var a seedAccount
		for _, f := range []string{"account_id", "id"} {
			if s, ok := v[f].(string); ok && a.ID == "" {
				a.ID = s
			}
		}
		for _, f := range []string{"api_key", "key", "admin_api_key"} {
			if s, ok := v[f].(string); ok && strings.HasPrefix(s, "rst_") && a.Key == "" {
				a.Key = s
			}
		}
		if a.Key == "" {
			for _, x := range v {
				if s, ok := x.(string); ok && strings.HasPrefix(s, "rst_") {
					a.Key = s
				}
			}
		}
		if a.ID != "" && a.Key != "" {
			*out = append(*out, a)
			return
		}
		for _, k := range slices.Sorted(maps.Keys(v)) {
			walkSeed(v[k], out)
		}
	}
}
