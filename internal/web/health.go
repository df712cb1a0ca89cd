package web

import (
	"context"
	"net/http"
	"time"

	"roster"
)

type healthJSON struct {
	Status string `json:"status"`
}

// healthz answers while the process is up.
func (s *server) healthz(w http.ResponseWriter, r *http.Request, _ *roster.Actor) error {
	return writeJSON(w, http.StatusOK, healthJSON{Status: "ok"})
}

// readyz answers 200 while the database answers, 503 otherwise.
func (s *server) readyz(w http.ResponseWriter, r *http.Request, _ *roster.Actor) error {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if err := s.svc.Store().Ping(ctx); err != nil {
		s.logger.WarnContext(ctx, "readiness check failed", "err", err)
		return roster.Errorf(codeUnavailable, "The database does not answer; the server log says why.")
	}
	return writeJSON(w, http.StatusOK, healthJSON{Status: "ok"})
}
