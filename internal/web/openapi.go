package web

import (
	_ "embed"
	"net/http"

	"roster"
)

// openAPIDocument is the OpenAPI 3.1 description of every route, written by
// hand; the tests hold the server's real responses to it.
//
//go:embed openapi.json
var openAPIDocument []byte

func (s *server) openAPI(w http.ResponseWriter, r *http.Request, _ *roster.Actor) error {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-cache")
	_, _ = w.Write(openAPIDocument)
	return nil
}
