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
