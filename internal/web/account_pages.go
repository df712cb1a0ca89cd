package web

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"net/url"
	"strings"

	"roster"
)

// accountPage adapts a page inside one account (/accounts/{account_id}/...)
// to a page handler: nobody signed in goes to the sign-in page and comes
// back; an account the person does not belong to, or no longer may act
// in, is not found; with manage, a member without team.manage is refused
// in words. The handler finds pr.account and pr.actor set.
func (s *server) accountPage(manage bool, h pageHandler) pageHandler {
	return func(w http.ResponseWriter, r *http.Request, pr *pageRequest) error {
		accountID := r.PathValue("account_id")
		if pr.ident == nil {
			next := r.URL.RequestURI()
			if r.Method != http.MethodGet {
				next = usersPagePath(accountID)
			}
			return redirect(w, r, signInURL(next))
		}
		actor, err := s.svc.ActorFor(r.Context(), pr.ident, accountID, pr.client)
		if err != nil {
			return err
		}
		acct, err := s.svc.Store().Account(r.Context(), accountID)
		if err != nil {
			return err
		}
		pr.actor, pr.account = actor, acct
		if manage && !actor.Can("team.manage") {
			return roster.Errorf(roster.CodeForbidden, "Only an Admin of %s can manage its users. Ask one of its Admins.", acct.Name)
		}
		return h(w, r, pr)
	}
}

// usersPagePath is the Users listing page of an account.
func usersPagePath(accountID string) string {
	return "/accounts/" + url.PathEscape(accountID) + "/users"
}

// backToList returns the listing page an action should return to: the
// back parameter when it is that account's Users page (with its search,
// filters, sort and page), else the page's plain address. Anything else,
// such as another site or another account, is ignored.
func backToList(accountID, back string) string {
	list := usersPagePath(accountID)
	if back == "" || localPath(back) != back {
		return list
	}
	u, err := url.Parse(back)
	if err != nil || u.Path != list {
		return list
	}
	return back
}

// The flash is one short message for the next page the browser shows,
// such as "Access revoked for Ada Lovelace.", carried in a cookie signed
// with the server secret (so no other site or subdomain can make Roster
// say something), read once and cleared.
const flashCookie = "roster_flash"

// maxFlashBytes bounds a flash message; they are one sentence.
const maxFlashBytes = 1 << 10

// setFlash leaves msg for the next page.
func (s *server) setFlash(w http.ResponseWriter, msg string) {
	if len(msg) > maxFlashBytes {
		msg = msg[:maxFlashBytes]
	}
	v := base64.RawURLEncoding.EncodeToString([]byte(msg))
	http.SetCookie(w, &http.Cookie{Name: s.flashName(), Value: v + "." + s.flashMAC(v), Path: "/", MaxAge: 60,
		HttpOnly: true, Secure: s.secure, SameSite: http.SameSiteLaxMode})
}

// takeFlash returns the flash message r carries, if any, and clears it.
func (s *server) takeFlash(w http.ResponseWriter, r *http.Request) string {
	c, err := r.Cookie(s.flashName())
	if err != nil || c.Value == "" {
		return ""
	}
	http.SetCookie(w, &http.Cookie{Name: s.flashName(), Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, Secure: s.secure, SameSite: http.SameSiteLaxMode})
	v, mac, ok := strings.Cut(c.Value, ".")
	if !ok || !hmac.Equal([]byte(mac), []byte(s.flashMAC(v))) {
		return ""
	}
	b, err := base64.RawURLEncoding.DecodeString(v)
	if err != nil {
		return ""
	}
	return string(b)
}

func (s *server) flashName() string {
	if s.secure {
		return "__Host-" + flashCookie
	}
	return flashCookie
}

func (s *server) flashMAC(v string) string {
	m := hmac.New(sha256.New, s.opts.Secret)
	m.Write([]byte("roster flash v1\x00" + v))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// pageUser returns the user of the path ({user_id}) in the page's account,
// with what the details show beyond the row (active API keys, invitation
// delivery). A user of another account, or none, is not found.
func (s *server) pageUser(r *http.Request, pr *pageRequest) (*roster.UserDetails, error) {
	return s.svc.User(r.Context(), pr.actor, pr.account.ID, r.PathValue("user_id"))
}
