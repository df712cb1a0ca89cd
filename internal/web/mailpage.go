package web

import (
	"context"
	"crypto/subtle"
	"net/http"

	"roster"
	"roster/internal/outbox"
)

// Mailbox lists the local outbox for the operator's /dev/mail page.
type Mailbox interface {
	Recent(ctx context.Context, limit int) ([]outbox.Preview, error)
}

// mailLimit is how many messages /dev/mail shows.
const mailLimit = 100

type mailView struct {
	Messages []outbox.Preview
}

// mailPage lists the newest outbox messages, rendered with their links, so
// a developer without a mail server can follow an invitation. Only the
// operator, who has the token from the server log, may open it: the links
// are live secrets. Without the right token it is any missing page.
func (s *server) mailPage(w http.ResponseWriter, r *http.Request, pr *pageRequest) error {
	token := r.URL.Query().Get("token")
	if s.opts.MailboxToken == "" || subtle.ConstantTimeCompare([]byte(token), []byte(s.opts.MailboxToken)) != 1 {
		return roster.Errorf(roster.CodeNotFound, "There is no page at this address. Check the link, or go to the start page.")
	}
	msgs, err := s.opts.Mailbox.Recent(r.Context(), mailLimit)
	if err != nil {
		return err
	}
	return s.render(w, r, pr, http.StatusOK, "mail", "Local outbox", nil, mailView{Messages: msgs})
}
