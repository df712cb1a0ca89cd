package web

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
)

// mustLoadDocument parses and validates an OpenAPI document.
func mustLoadDocument(t testing.TB, data []byte) *openapi3.T {
	t.Helper()
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(data)
	if err != nil {
		t.Fatalf("LoadFromData(openapi.json) = %v", err)
	}
	if !doc.IsOpenAPI31OrLater() {
		t.Fatalf("openapi.json is version %q, want 3.1", doc.OpenAPI)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("openapi.json does not validate: %v", err)
	}
	return doc
}

func TestOpenAPIDocumentIsValid(t *testing.T) {
	mustLoadDocument(t, openAPIDocument)
}

// TestOpenAPIDocumentsEveryRoute walks the route table and the document's
// paths both ways: every route is documented with the query parameters it
// accepts, and every documented operation is served.
func TestOpenAPIDocumentsEveryRoute(t *testing.T) {
	doc := mustLoadDocument(t, openAPIDocument)
	served := map[string]bool{}
	for _, rt := range (&server{}).routes() {
		method, path, _ := strings.Cut(rt.pattern, " ")
		served[method+" "+path] = true
		item := doc.Paths.Find(path)
		if item == nil || doc.Paths.Value(path) == nil {
			t.Errorf("route %q: path %s is not in openapi.json", rt.pattern, path)
			continue
		}
		op := item.GetOperation(method)
		if op == nil {
			t.Errorf("route %q: openapi.json has no %s operation for %s", rt.pattern, method, path)
			continue
		}
		var documented []string
		for _, p := range append(slices.Clone(item.Parameters), op.Parameters...) {
			if p.Value.In == openapi3.ParameterInQuery {
				documented = append(documented, p.Value.Name)
			}
		}
		slices.Sort(documented)
		accepted := slices.Sorted(slices.Values(rt.query))
		if !slices.Equal(documented, accepted) {
			t.Errorf("route %q accepts query parameters %v, openapi.json documents %v", rt.pattern, accepted, documented)
		}
		rl := policy[rt.pattern]
		var schemes []string
		security := doc.Security
		if op.Security != nil {
			security = *op.Security
		}
		for _, req := range security {
			for name := range req {
				schemes = append(schemes, name)
			}
		}
		slices.Sort(schemes)
		want, ok := map[rule][]string{anyone: nil, operator: {"operatorToken"}, gateway: {"gatewayToken"}}[rl]
		if !ok {
			want = []string{"apiKey", "session"}
		}
		if !slices.Equal(schemes, want) {
			t.Errorf("route %q: policy %q, openapi.json security %v, want %v", rt.pattern, rl, schemes, want)
		}
		if rl != anyone {
			if _, ok := op.Responses.Map()["401"]; !ok {
				t.Errorf("route %q needs authentication but openapi.json documents no 401", rt.pattern)
			}
		}
		if p := rl.permission(); p != "" && !strings.Contains(op.Description, "`"+p+"`") {
			t.Errorf("route %q needs %s (policy.go) but its openapi.json description does not say so", rt.pattern, p)
		}
	}
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			if !served[method+" "+path] {
				t.Errorf("openapi.json documents %s %s, which routes.go does not serve", method, path)
			}
		}
	}
}

// TestOpenAPIDocumentsEveryErrorCode checks that the Problem schema lists
// exactly the codes of the status table.
func TestOpenAPIDocumentsEveryErrorCode(t *testing.T) {
	doc := mustLoadDocument(t, openAPIDocument)
	var documented []string
	for _, v := range doc.Components.Schemas["Problem"].Value.Properties["code"].Value.Enum {
		documented = append(documented, v.(string))
	}
	var codes []string
	for code, status := range statusOf {
		codes = append(codes, code)
		if status < 400 || status > 599 || http.StatusText(status) == "" {
			t.Errorf("statusOf[%q] = %d, want an error status", code, status)
		}
	}
	slices.Sort(documented)
	slices.Sort(codes)
	if !slices.Equal(documented, codes) {
		t.Errorf("Problem.code enum = %v, status table codes = %v", documented, codes)
	}
}
