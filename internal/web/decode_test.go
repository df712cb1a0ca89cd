package web

import (
	"bytes"
	"encoding/json"
	"testing"
	"unicode/utf8"
)

// FuzzFlatMembers holds the fast reader of request bodies to encoding/json:
// whatever body it accepts, decodeMembers reads the same members, and
// every member value means the same to encoding/json. `go test` runs the
// seeds; `go test -fuzz FuzzFlatMembers ./internal/web` searches further.
func FuzzFlatMembers(f *testing.F) {
	for _, seed := range []string{
		`{}`, ` { } `, `{"key":"rst_abc","permission":"logs.view","client_ip":"192.0.2.7"}`,
		"{\n\t\"a\" : \"b\" ,\r\n \"c\":null}", `{"a":true,"b":false,"a":"x"}`, `{"a":"\u00e9t\u00e9"}`,
		`{"a":"é"}`, `{"a":"\"q\""}`, `{"a":1}`, `{"a":{"b":"c"}}`, `{"a":["b"]}`, `{"a":"b",}`, `{"a":"b"} x`,
		`{"a":"b"}{}`, `{"a" "b"}`, `{"a":tru}`, `{"a":truex}`, `{"a":"b"`, `{"a\u0062":"c"}`, "{\"a\":\"b\x01\"}",
		`[]`, `"a"`, ``, `{"a":nul}`, `{"a":null }`, `{,}`, `{"":""}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		if !utf8.Valid(body) {
			return // decodeJSON refuses it before
		}
		fast, ok := flatMembers(body)
		if !ok {
			return
		}
		slow, err := decodeMembers(body)
		if err != nil {
			t.Fatalf("flatMembers accepts %q, encoding/json refuses it: %v", body, err)
		}
		if len(fast) != len(slow) {
			t.Fatalf("%q: flatMembers reads %d members, encoding/json %d", body, len(fast), len(slow))
		}
		for i := range fast {
			if fast[i].name != slow[i].name || !bytes.Equal(fast[i].value, slow[i].value) {
				t.Fatalf("%q: member %d is %q: %s, encoding/json reads %q: %s", body, i, fast[i].name, fast[i].value, slow[i].name, slow[i].value)
			}
			var s1, s2 any
			if err := json.Unmarshal(fast[i].value, &s1); err != nil {
				t.Fatalf("%q: member %q is not JSON: %v", body, fast[i].name, err)
			}
			var str string
			if err := decodeMember(fast[i].value, &str); err == nil {
				_ = json.Unmarshal(slow[i].value, &s2)
				if s2 != str {
					t.Fatalf("%q: member %q decodes as %q, encoding/json as %v", body, fast[i].name, str, s2)
				}
			}
		}
	})
}
