package roster_test

import (
	"slices"
	"testing"
	"time"

	"roster"
)

func TestParseAuditParams(t *testing.T) {
	id := roster.NewID(start)
	c := (&roster.AuditCursor{At: 5, Seq: 7}).Encode()
	back := (&roster.AuditCursor{At: 5, Seq: 7, Back: true}).Encode()
	q, err := roster.ParseAuditParams(roster.AuditParams{Actor: " " + id + " ", Target: id,
		Actions: []string{"user.invited, user.deleted", "user.invited", ""}, Since: "2026-01-01T01:00:00+01:00",
		Until: "2026-01-02T00:00:00.5Z", Limit: "7", Cursor: c})
	if err != nil {
		t.Fatalf("ParseAuditParams = %v", err)
	}
	if q.ActorID != id || q.Operator || q.TargetID != id || !slices.Equal(q.Actions, []string{"user.invited", "user.deleted"}) ||
		!q.Since.Equal(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)) || !q.Until.Equal(time.Date(2026, 1, 2, 0, 0, 0, 5e8, time.UTC)) ||
		q.Limit != 7 || q.After == nil || *q.After != (roster.AuditCursor{At: 5, Seq: 7}) || q.Before != nil {
		t.Errorf("ParseAuditParams = %+v", q)
	}
	if q, err := roster.ParseAuditParams(roster.AuditParams{Actor: "operator", Cursor: back}); err != nil || !q.Operator ||
		q.ActorID != "" || q.Before == nil || q.After != nil || q.Limit != roster.DefaultLimit {
		t.Errorf("ParseAuditParams(operator, back cursor) = %+v, %v", q, err)
	}
	many := make([]string, roster.MaxAuditActions+1)
	for i := range many {
		many[i] = roster.AuditActions()[i%len(roster.AuditActions())]
	}
	for _, tc := range []struct {
		in     roster.AuditParams
		fields []string
	}{
		{roster.AuditParams{Actor: "Operator"}, []string{"actor"}},
		{roster.AuditParams{Target: "operator"}, []string{"target"}},
		{roster.AuditParams{Actions: []string{"user.Invited"}}, []string{"action"}},
		{roster.AuditParams{Since: "2026-01-01"}, []string{"since"}},
		{roster.AuditParams{Until: "0001-01-01T00:00:00Z"}, []string{"until"}},
		{roster.AuditParams{Since: "2026-01-02T00:00:00Z", Until: "2026-01-01T00:00:00Z"}, []string{"until"}},
		{roster.AuditParams{Limit: "-1"}, []string{"limit"}},
		{roster.AuditParams{Cursor: base64URL(`{"t":1,"s":0}`)}, []string{"cursor"}},
		{roster.AuditParams{Cursor: base64URL(`{"t":1,"s":1,"x":1}`)}, []string{"cursor"}},
		{roster.AuditParams{Cursor: c + "="}, []string{"cursor"}},
	} {
		_, err := roster.ParseAuditParams(tc.in)
		wantError(t, err, roster.CodeBadRequest, tc.fields...)
	}
	// Twenty distinct actions at most: the known ones are fewer, so the
	// cap holds only what repeats are dropped from.
	if q, err := roster.ParseAuditParams(roster.AuditParams{Actions: many}); err != nil || len(q.Actions) != len(roster.AuditActions()) {
		t.Errorf("ParseAuditParams(repeated actions) = %v, %v", q.Actions, err)
	}
}

func TestAuditEventDescribe(t *testing.T) {
	for _, tc := range []struct {
		e    roster.AuditEvent
		want string
	}{
		{roster.AuditEvent{Action: roster.ActionUserRevoked, TargetName: "Ada Lovelace"}, "Revoked access for Ada Lovelace"},
		{roster.AuditEvent{Action: roster.ActionUserInvited, TargetEmail: "ada@example.com"}, "Invited ada@example.com"},
		{roster.AuditEvent{Action: roster.ActionUserJoined, TargetName: "Ada Lovelace"}, "Joined the account"},
		{roster.AuditEvent{Action: roster.ActionAPIKeyCreated, ActorID: "a", TargetID: "a", TargetName: "Ada",
			Details: map[string]any{"name": "deploy"}}, "Created an API key “deploy”"},
		{roster.AuditEvent{Action: roster.ActionAPIKeyCreated, TargetID: "a", TargetName: "Ada"}, "Created an API key for Ada"},
		{roster.AuditEvent{Action: "user.teleported", TargetName: "Ada"}, "user.teleported Ada"},
	} {
		if got := tc.e.Describe(); got != tc.want {
			t.Errorf("Describe(%s) = %q, want %q", tc.e.Action, got, tc.want)
		}
	}
}
