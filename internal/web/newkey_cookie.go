package web

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"net/url"
	"strings"
)

// A new API key's secret is shown once, on the page the creating form
// redirects to (POST, redirect, GET: reloading that page cannot create a
// second key). It crosses the redirect in a cookie sealed with AES-GCM
// under a key derived from the server secret, limited to that page's
// address, HttpOnly, SameSite=Strict and two minutes, and cleared by the
// page that shows it: Roster itself never stores it.
const newKeyCookie = "roster_new_key"

// newKeyLife bounds how long the sealed secret waits for its page.
const newKeyLife = 120

// createdPath is the page that shows a new key's secret.
func createdPath(accountID, keyID string) string {
	return keysPagePath(accountID) + "/" + url.PathEscape(keyID) + "/created"
}

// newKeyName is the cookie's name: __Secure- prefixed over https (not
// __Host-, which browsers allow only with Path=/).
func (s *server) newKeyName() string {
	if s.secure {
		return "__Secure-" + newKeyCookie
	}
	return newKeyCookie
}

// newKeyAEAD is the cipher that seals the secret in the cookie.
func (s *server) newKeyAEAD() cipher.AEAD {
	m := hmac.New(sha256.New, s.opts.Secret)
	m.Write([]byte("roster new api key cookie v1"))
	block, err := aes.NewCipher(m.Sum(nil))
	if err != nil {
		panic(err) // a 32-byte key always makes a cipher
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		panic(err)
	}
	return aead
}

// sealNewKey leaves the secret of key keyID for the page at path.
func (s *server) sealNewKey(w http.ResponseWriter, path, keyID, secret string) {
	aead := s.newKeyAEAD()
	nonce := make([]byte, aead.NonceSize())
	_, _ = rand.Read(nonce)
	sealed := aead.Seal(nonce, nonce, []byte(secret), []byte(keyID))
	s.setNewKeyCookie(w, path, base64.RawURLEncoding.EncodeToString(sealed), newKeyLife)
}

// openNewKey returns the secret of key keyID that r carries, if any, and
// clears it: it is shown once.
func (s *server) openNewKey(w http.ResponseWriter, r *http.Request, path, keyID string) string {
	c, err := r.Cookie(s.newKeyName())
	if err != nil || c.Value == "" {
		return ""
	}
	s.setNewKeyCookie(w, path, "", -1)
	sealed, err := base64.RawURLEncoding.DecodeString(c.Value)
	aead := s.newKeyAEAD()
	if err != nil || len(sealed) < aead.NonceSize() {
		return ""
	}
	plain, err := aead.Open(nil, sealed[:aead.NonceSize()], sealed[aead.NonceSize():], []byte(keyID))
	if err != nil || !strings.HasPrefix(string(plain), "rst_") {
		return ""
	}
	return string(plain)
}

func (s *server) setNewKeyCookie(w http.ResponseWriter, path, value string, maxAge int) {
	http.SetCookie(w, &http.Cookie{Name: s.newKeyName(), Value: value, Path: path, MaxAge: maxAge,
		HttpOnly: true, Secure: s.secure, SameSite: http.SameSiteStrictMode})
}
