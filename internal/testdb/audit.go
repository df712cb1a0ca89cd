package testdb

import (
	"context"
	"fmt"
	"testing"
	"time"

	"roster"
)

// SeedAudit appends n audit events to an account's chain, a minute apart
// from start, done by one of 50 actors (one in 50 events by the operator)
// to one of 500 targets with one of the known actions in turn, and
// returns an actor's and a target's id.
func SeedAudit(tb testing.TB, s roster.Store, accountID string, n int, start time.Time) (actor, target string) {
	tb.Helper()
	ctx := context.Background()
	actors, targets := make([]string, 50), make([]string, 500)
	for i := range actors {
		actors[i] = roster.NewID(start)
	}
	for i := range targets {
		targets[i] = roster.NewID(start)
	}
	actions := roster.AuditActions()
	for done := 0; done < n; {
		batch := min(1000, n-done)
		err := s.Update(ctx, func(tx roster.Tx) error {
			for i := done; i < done+batch; i++ {
				at := start.Add(time.Duration(i) * time.Minute)
				e := &roster.AuditEvent{ID: roster.NewID(at), AccountID: accountID, At: at, ActorID: actors[i%len(actors)],
					ActorName: fmt.Sprintf("Actor %d", i%len(actors)), Action: actions[i%len(actions)],
					TargetID: targets[i*7%len(targets)], TargetName: "Target", Details: map[string]any{"n": i}, IP: "203.0.113.7"}
				if i%50 == 49 {
					e.ActorID, e.ActorName = "", "Operator"
				}
				if err := tx.InsertAudit(ctx, e); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			tb.Fatalf("testdb: seed audit events: %v", err)
		}
		done += batch
	}
	return actors[0], targets[0]
}

// AuditPlanCase is an audit log query whose plan the engines' query-plan
// tests check: the index it must read (in order, unless Sorted) and, on
// SQLite, the constraints it must read it with.
type AuditPlanCase struct {
	Name   string
	Q      roster.AuditQuery
	Index  string // "" for any index of audit_events
	SQLite string // the constraints in SQLite's plan, e.g. "(account_id=? AND actor_id=?)"
	Sorted bool   // the plan may sort (several actions)
}

// AuditPlanCases are the queries of the query-plan tests on a log seeded
// by SeedAudit from start, with its actor and target: every filter alone,
// with a time range and with cursors either way.
func AuditPlanCases(start time.Time, actor, target string) []AuditPlanCase {
	cursor := &roster.AuditCursor{At: roster.Micros(start.Add(5000 * time.Minute)), Seq: 5000}
	back := *cursor
	back.Back = true
	since, until := start.Add(1000*time.Minute), start.Add(3000*time.Minute)
	one := []string{roster.ActionUserRevoked}
	const (
		acct   = "(account_id=?"
		after  = " AND (at,seq)<(?,?))"
		before = " AND (at,seq)>(?,?))"
	)
	return []AuditPlanCase{
		{"log", roster.AuditQuery{}, "audit_events_at", acct + ")", false},
		{"log after cursor", roster.AuditQuery{After: cursor}, "audit_events_at", acct + after, false},
		{"log before cursor", roster.AuditQuery{Before: &back}, "audit_events_at", acct + before, false},
		{"time range", roster.AuditQuery{Since: since, Until: until}, "audit_events_at", acct + " AND at>? AND at<?)", false},
		{"actor", roster.AuditQuery{ActorID: actor}, "audit_events_actor", acct + " AND actor_id=?)", false},
		{"actor after cursor", roster.AuditQuery{ActorID: actor, After: cursor}, "audit_events_actor", acct + " AND actor_id=?" + after, false},
		{"actor in a time range", roster.AuditQuery{ActorID: actor, Since: since, Until: until}, "audit_events_actor",
			acct + " AND actor_id=? AND at>? AND at<?)", false},
		{"operator", roster.AuditQuery{Operator: true}, "audit_events_actor", acct + " AND actor_id=?)", false},
		{"target", roster.AuditQuery{TargetID: target}, "audit_events_target", acct + " AND target_id=?)", false},
		{"target before cursor", roster.AuditQuery{TargetID: target, Before: &back}, "audit_events_target", acct + " AND target_id=?" + before, false},
		{"action", roster.AuditQuery{Actions: one}, "audit_events_action", acct + " AND action=?)", false},
		{"action in a time range", roster.AuditQuery{Actions: one, Since: since}, "audit_events_action", acct + " AND action=? AND at>?)", false},
		{"actions", roster.AuditQuery{Actions: []string{roster.ActionUserRevoked, roster.ActionUserDeleted}}, "", "", true},
	}
}
