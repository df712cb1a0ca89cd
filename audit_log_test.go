package roster_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"roster"
	"roster/internal/testdb"
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
	// Every action the service writes can be filtered on.
	for _, a := range []string{roster.ActionUserInvited, roster.ActionUserJoined, roster.ActionUserUpdated, roster.ActionUserRevoked,
		roster.ActionUserRestored, roster.ActionInvitationResent, roster.ActionUserDeleted, roster.ActionAPIKeyCreated,
		roster.ActionAPIKeyUpdated, roster.ActionAPIKeyDeleted, roster.ActionAccountCreated, roster.ActionAccountUpdated} {
		if q, err := roster.ParseAuditParams(roster.AuditParams{Actions: []string{a}}); err != nil || !slices.Equal(q.Actions, []string{a}) {
			t.Errorf("ParseAuditParams(action=%s) = %v, %v", a, q.Actions, err)
		}
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
		{roster.AuditParams{Cursor: base64URL(`{"t":1,"s":1}{}`)}, []string{"cursor"}},
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
		{roster.AuditEvent{Action: roster.ActionAPIKeyUpdated, ActorID: "a", TargetID: "a", TargetName: "Ada",
			Details: map[string]any{"name": "deploy"}}, "Changed the API key “deploy”"},
		{roster.AuditEvent{Action: roster.ActionAPIKeyDeleted, ActorID: "b", TargetID: "a", TargetName: "Ada",
			Details: map[string]any{"name": "deploy"}}, "Deleted the API key “deploy” of Ada"},
		{roster.AuditEvent{Action: "user.teleported", TargetName: "Ada"}, "user.teleported Ada"},
	} {
		if got := tc.e.Describe(); got != tc.want {
			t.Errorf("Describe(%s) = %q, want %q", tc.e.Action, got, tc.want)
		}
	}
}

// batchStore records the audit queries a service makes.
type batchStore struct {
	roster.Store
	queries []roster.AuditQuery
}

func (b *batchStore) AuditEvents(ctx context.Context, accountID string, q roster.AuditQuery) (*roster.AuditPage, error) {
	b.queries = append(b.queries, q)
	return b.Store.AuditEvents(ctx, accountID, q)
}

// TestExportAuditEventsInBatches exports a log of 2,345 events: every one
// once, newest first, read 1,000 at a time after the last one read, so
// that memory does not grow with the log.
func TestExportAuditEventsInBatches(t *testing.T) {
	testdb.Each(t, func(t *testing.T, s roster.Store) {
		e := newEnv(t, s)
		const n = 2345
		var want []string
		err := s.Update(e.ctx, func(tx roster.Tx) error {
			for i := range n {
				at := start.Add(time.Duration(i) * time.Second)
				ev := &roster.AuditEvent{ID: roster.NewID(at), AccountID: e.acct.ID, At: at, ActorID: e.adminUser.ID,
					Action: roster.ActionUserUpdated}
				if err := tx.InsertAudit(e.ctx, ev); err != nil {
					return err
				}
				want = append(want, ev.ID)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		slices.Reverse(want)
		bs := &batchStore{Store: s}
		svc := roster.NewService(bs, roster.Config{Secret: make([]byte, 32), Clock: e.clock})
		var got []string
		q := roster.AuditQuery{ActorID: e.adminUser.ID, Limit: 3, After: &roster.AuditCursor{At: 1, Seq: 1}}
		if err := svc.ExportAuditEvents(e.ctx, e.admin, e.acct.ID, q, func(ev *roster.AuditEvent) error {
			got = append(got, ev.ID)
			return nil
		}); err != nil {
			t.Fatalf("ExportAuditEvents = %v", err)
		}
		if !slices.Equal(got, want) {
			t.Errorf("exported %d events, want the %d newest first", len(got), len(want))
		}
		if len(bs.queries) != 3 {
			t.Fatalf("ExportAuditEvents read %d batches, want 3", len(bs.queries))
		}
		for i, bq := range bs.queries {
			if bq.Limit != roster.AuditExportBatch || bq.ActorID != e.adminUser.ID || (i == 0) != (bq.After == nil) || bq.Before != nil {
				t.Errorf("batch %d = %+v; want %d events after the previous batch, by the same actor", i, bq, roster.AuditExportBatch)
			}
		}

		// fn's error stops the export; others may not export.
		stop := errors.New("stop")
		calls := 0
		if err := svc.ExportAuditEvents(e.ctx, e.admin, e.acct.ID, roster.AuditQuery{}, func(*roster.AuditEvent) error {
			calls++
			return stop
		}); err != stop || calls != 1 {
			t.Errorf("ExportAuditEvents with a failing fn = %v after %d calls", err, calls)
		}
		_, support := e.member(t, e.tenant, roles(roster.RoleSupport))
		other := e.newTenant(t)
		for _, c := range []struct {
			actor *roster.Actor
			code  string
		}{{support, roster.CodeForbidden}, {other.admin, roster.CodeNotFound}} {
			err := svc.ExportAuditEvents(e.ctx, c.actor, e.acct.ID, roster.AuditQuery{}, func(*roster.AuditEvent) error {
				t.Error("an event was exported to a refused actor")
				return nil
			})
			wantError(t, err, c.code)
		}
	})
}
