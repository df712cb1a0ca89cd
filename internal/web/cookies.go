package web

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"time"

	"roster"
)

// Cookie names and the form field of the CSRF token.
const (
	sessionCookie = "roster_session"
	csrfCookie    = "roster_csrf"
	csrfField     = "csrf"
	csrfHeader    = "X-CSRF-Token" // the same token, for API requests made with the session cookie
)

// hasCookie reports whether r carries a non-empty cookie name.
func hasCookie(r *http.Request, name string) bool {
	c, err := r.Cookie(name)
	return err == nil && c.Value != ""
}

// setSessionCookie hands the browser its session token. It lives as long
// as the session's absolute limit; the idle limit is the server's to keep.
// Max-Age counts from the server's clock, so a browser whose clock is off
// keeps the cookie exactly as long.
func (s *server) setSessionCookie(w http.ResponseWriter, in *roster.SignedIn) {
	maxAge := int(in.Session.ExpiresAt.Sub(s.svc.Now()) / time.Second)
	if maxAge <= 0 {
		maxAge = -1
	}
	http.SetCookie(w, &http.Cookie{Name: s.sessionName, Value: in.Token, Path: "/", MaxAge: maxAge,
		HttpOnly: true, Secure: s.secure, SameSite: http.SameSiteLaxMode})
	s.newCSRFCookie(w) // a new session, a new CSRF token
}

// clearSessionCookie makes the browser forget its session token.
func (s *server) clearSessionCookie(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{Name: s.sessionName, Value: "", Path: "/", MaxAge: -1, Expires: time.Unix(1, 0),
		HttpOnly: true, Secure: s.secure, SameSite: http.SameSiteLaxMode})
}

// The CSRF defence is a double submit bound to the server secret: a random
// cookie, and in every form the HMAC of that cookie's value. Another site
// can neither read the cookie nor compute the HMAC. The token depends only
// on the cookie, so the same browser gets the same token on every page and
// a refused sign-in is byte for byte the same whatever the cause.

// csrfToken returns the form token of r's browser, first giving the
// browser a CSRF cookie if it has none (or a malformed one).
func (s *server) csrfToken(w http.ResponseWriter, r *http.Request) string {
	if c, err := r.Cookie(s.csrfName); err == nil && validCSRFCookie(c.Value) {
		return s.csrfMAC(c.Value)
	}
	return s.newCSRFCookie(w)
}

// newCSRFCookie gives the browser a fresh CSRF cookie and returns its token.
func (s *server) newCSRFCookie(w http.ResponseWriter) string {
	v := roster.NewToken()
	http.SetCookie(w, &http.Cookie{Name: s.csrfName, Value: v, Path: "/", HttpOnly: true, Secure: s.secure, SameSite: http.SameSiteLaxMode})
	return s.csrfMAC(v)
}

// validCSRF reports whether token is the form token of r's CSRF cookie.
func (s *server) validCSRF(r *http.Request, token string) bool {
	c, err := r.Cookie(s.csrfName)
	if err != nil || !validCSRFCookie(c.Value) || token == "" {
		return false
	}
	return hmac.Equal([]byte(token), []byte(s.csrfMAC(c.Value)))
}

// validCSRFCookie reports whether v looks like a cookie csrfToken made:
// 32 random bytes, base64url.
func validCSRFCookie(v string) bool {
	b, err := base64.RawURLEncoding.DecodeString(v)
	return err == nil && len(b) == 32
}

func (s *server) csrfMAC(cookie string) string {
	m := hmac.New(sha256.New, s.opts.Secret)
	m.Write([]byte("roster csrf v1\x00" + cookie))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}
