package web

import (
	"testing"

	"roster"
)

// TestAppendValidVerdict holds the hand-written answer of the key check to
// what encoding/json writes for the same verdict, and checks that strings
// needing escapes are left to encoding/json.
func TestAppendValidVerdict(t *testing.T) {
	for _, v := range []*roster.KeyVerdict{
		{Valid: true, AccountID: "01a21bfa-00a0-73cb-8c92-d608c57e26f5", UserID: "01a21bfa-00a0-73cc-8beb-3a7ed56731c5",
			KeyID: "01a21bfa-00e6-7918-9b10-50c2c52939e7", Permissions: []string{"logs.view", "usage.view"}},
		{Valid: true, AccountID: "a", UserID: "b", KeyID: "c", Permissions: []string{}},
		{Valid: true, AccountID: "a", UserID: "b", KeyID: "c"},
	} {
		want, err := marshal(validVerdictJSON{Valid: true, AccountID: v.AccountID, UserID: v.UserID, KeyID: v.KeyID, Permissions: v.Permissions})
		if err != nil {
			t.Fatal(err)
		}
		got, ok := appendValidVerdict(nil, v)
		if v.Permissions == nil {
			// encoding/json writes null for a nil list; the check never
			// answers one, and the fast path writes [] as for an empty one.
			if !ok || string(got) != `{"valid":true,"account_id":"a","user_id":"b","key_id":"c","permissions":[]}`+"\n" {
				t.Errorf("nil permissions: %q, %v", got, ok)
			}
			continue
		}
		if !ok || string(got) != string(want) {
			t.Errorf("appendValidVerdict = %q, %v; encoding/json writes %q", got, ok, want)
		}
	}
	for _, s := range []string{`a"b`, `a\b`, "a\nb", "é", "<a>", "a\x7f"} {
		if _, ok := appendValidVerdict(nil, &roster.KeyVerdict{Valid: true, AccountID: "a", UserID: "b", KeyID: "c", Permissions: []string{s}}); ok {
			t.Errorf("permission %q: written by the fast path, want it left to encoding/json", s)
		}
		if _, ok := appendValidVerdict(nil, &roster.KeyVerdict{Valid: true, AccountID: s, UserID: "b", KeyID: "c"}); ok {
			t.Errorf("account id %q: written by the fast path, want it left to encoding/json", s)
		}
	}
}
