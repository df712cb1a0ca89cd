package outbox

import (
	"context"
	"log/slog"
	"strings"

	"roster/internal/email"
)

// LogSender is the local outbox, for running without an SMTP server: it
// logs each message at info level with its recipient, subject and link,
// which a developer copies from the log, and counts it as sent.
type LogSender struct {
	Logger *slog.Logger // nil: slog.Default()
}

// Send logs m and returns nil.
func (s *LogSender) Send(ctx context.Context, m *email.Message) error {
	log := s.Logger
	if log == nil {
		log = slog.Default()
	}
	log.InfoContext(ctx, "mail (local outbox: not sent over SMTP; follow its link)", "to", m.To, "subject", m.Subject,
		"link", firstLink(m.Text), "message_id", m.MessageID)
	return nil
}

// firstLink returns the first http or https URL of a plain-text body.
func firstLink(text string) string {
	for _, f := range strings.Fields(text) {
		if strings.HasPrefix(f, "https://") || strings.HasPrefix(f, "http://") {
			return f
		}
	}
	return ""
}
