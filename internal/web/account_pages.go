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

// guardPage applies a page's policy rule (policy.go): signed-in pages send
// a visitor to the sign-in page, and pages that need a permission are
// pages of one account (accountPage).
func (s *server) guardPage(rl rule, h pageHandler) pageHandler {
	switch rl {
	case anyone:
		return h
	case signedIn:
		return func(w http.ResponseWriter, r *http.Request, pr *pageRequest) error {
			if pr.ident == nil {
				return redirect(w, r, signInURL(signInReturn(r)))
			}
			return h(w, r, pr)
		}
	case operator:
		return func(w http.ResponseWriter, r *http.Request, pr *pageRequest) error {
			return roster.Errorf(roster.CodeNotFound, "There is no page at this address. Check the link, or go to the start page.")
		}
	}
	return s.accountPage(rl, h)
}

// signInReturn is where the sign-in page sends a visitor back to: the page
// they asked for, or for a form they posted, the page it came from (a
// repeated POST would be stale).
func signInReturn(r *http.Request) string {
	if r.Method == http.MethodGet {
		return r.URL.RequestURI()
	}
	if id := r.PathValue("account_id"); id != "" {
		return usersPagePath(id)
	}
	return "/"
}

// accountPage adapts a page inside one account (/accounts/{account_id}/...)
// to a page handler: nobody signed in goes to the sign-in page and comes
// back; an account the person does not belong to, or no longer may act
// in, is not found; a member without permission is refused in words. The
// handler finds pr.account and pr.actor set.
func (s *server) accountPage(rl rule, h pageHandler) pageHandler {
	return func(w http.ResponseWriter, r *http.Request, pr *pageRequest) error {
		accountID := r.PathValue("account_id")
		if pr.ident == nil {
			return redirect(w, r, signInURL(signInReturn(r)))
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
		if err := rl.check(actor, r); err != nil {
			if roster.ErrorCode(err) == roster.CodeForbidden {
				return roster.Errorf(roster.CodeForbidden, "%s", forbiddenWords(acct, rl.permission(), r.URL.Path))
			}
			return err
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

// userNotFoundMessage answers a user id that names nobody in the account
// (never did, deleted since, or of another account: the same page for
// each) on every page of one user, with the way back to the list, which a
// link from an old tab often needs.
func userNotFoundMessage(acct *roster.Account, back string) message {
	return message{Heading: "User not found",
		Paras: []string{"No user with this id exists in " + acct.Name + ". They may have been deleted, or the link is incomplete."},
		Links: []link{{back, "Back to Users"}}}
}

// pageUser returns the user of the path ({user_id}) in the page's account,
// with what the details show beyond the row (active API keys, invitation
// delivery). A user of another account, or none, is not found.
func (s *server) pageUser(r *http.Request, pr *pageRequest) (*roster.UserDetails, error) {
	return s.svc.User(r.Context(), pr.actor, pr.account.ID, r.PathValue("user_id"))
}
