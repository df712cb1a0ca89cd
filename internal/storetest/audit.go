package storetest

import (
	"bytes"
	"context"
	"database/sql"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"roster"
)

// rawDB is how the suite reaches a store's tables to tamper with them as an
// attacker with database access would; both stores embed *sqlstore.Store.
type rawDB interface{ WriteDB() *sql.DB }

// auditChain holds a store to the tamper-evident audit log (docs/audit.md):
// appends chain in order, also when concurrent, and VerifyAuditChain names
// the first event changed, removed or reordered directly in SQL.
func auditChain(t *testing.T, setup func(*testing.T) *fixture) {
	t.Run("Appends", func(t *testing.T) {
		t.Parallel()
		f := setup(t)
		a := f.account()
		var events []*roster.AuditEvent
		for i := range 4 {
			events = append(events, f.audit(a.ID, t0.Add(time.Duration(i)*time.Second+1500*time.Nanosecond), func(e *roster.AuditEvent) {
				// Numbers as PostgreSQL's jsonb rewrites them: the hash
				// is of the value, not of the text.
				e.Details["exact"] = []any{int64(1)<<60 + 1, 1.5, 1e21, -0.0, "1e21"}
				if i == 2 {
					e.Details = nil
				}
			}))
		}
		prev := roster.AuditGenesis(a.ID)
		for i, e := range events {
			if e.Seq != int64(i+1) || !bytes.Equal(e.PrevHash, prev) || len(e.Hash) != 32 {
				t.Errorf("event %d: seq %d, prev %x, hash %x; want seq %d chained to %x", i, e.Seq, e.PrevHash, e.Hash, i+1, prev)
			}
			prev = e.Hash
		}
		v := f.verify(a.ID)
		if v.Break != nil || v.Events != 4 || !bytes.Equal(v.Head, prev) {
			t.Errorf("VerifyAuditChain = %d events, head %x, break %+v; want 4 intact, head %x", v.Events, v.Head, v.Break, prev)
		}
		if v := f.verify(f.account().ID); v.Break != nil || v.Events != 0 || !bytes.Equal(v.Head, roster.AuditGenesis(v.AccountID)) {
			t.Errorf("VerifyAuditChain(no events) = %+v; want intact at the genesis", v)
		}
		if _, err := roster.VerifyAuditChain(f.ctx, f.s, roster.NewID(t0)); roster.ErrorCode(err) != roster.CodeNotFound {
			t.Errorf("VerifyAuditChain(missing account) = %v, want not found", err)
		}
		// A failed transaction leaves the chain as it was.
		err := f.s.Update(f.ctx, func(tx roster.Tx) error {
			if err := tx.InsertAudit(f.ctx, newAudit(a.ID, t0)); err != nil {
				return err
			}
			return roster.Errorf(roster.CodeConflict, "rolled back")
		})
		if roster.ErrorCode(err) != roster.CodeConflict {
			t.Fatalf("Update = %v, want the conflict it returned", err)
		}
		if e := f.audit(a.ID, t0); e.Seq != 5 || !bytes.Equal(e.PrevHash, prev) {
			t.Errorf("event after a rollback: seq %d prev %x; want 5 chained to %x", e.Seq, e.PrevHash, prev)
		}
	})

	t.Run("ConcurrentAppends", func(t *testing.T) {
		t.Parallel()
		f := setup(t)
		a, b := f.account(), f.account()
		const writers, each = 20, 5
		var wg sync.WaitGroup
		errs := make(chan error, writers)
		for w := range writers {
			wg.Go(func() {
				for i := range each {
					acct := a.ID
					if w%4 == 0 && i == 0 {
						acct = b.ID // another account's chain in between
					}
					err := f.s.Update(f.ctx, func(tx roster.Tx) error { return tx.InsertAudit(f.ctx, newAudit(acct, t0)) })
					if err != nil {
						errs <- err
						return
					}
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatalf("concurrent InsertAudit = %v", err)
		}
		if v := f.verify(a.ID); v.Break != nil || v.Events != writers*each-writers/4 {
			t.Errorf("VerifyAuditChain(a) = %d events, break %+v; want %d intact", v.Events, v.Break, writers*each-writers/4)
		}
		if v := f.verify(b.ID); v.Break != nil || v.Events != writers/4 {
			t.Errorf("VerifyAuditChain(b) = %d events, break %+v; want %d intact", v.Events, v.Break, writers/4)
		}
	})

	t.Run("Tampered", func(t *testing.T) {
		t.Parallel()
		f := setup(t)
		raw, ok := f.s.(rawDB)
		if !ok {
			t.Fatalf("%T does not expose its database", f.s)
		}
		db := raw.WriteDB()
		// Each case tampers with a fresh account of five events, e[0..4]
		// at seq 1..5, and expects the break at seq with event e[event]
		// (-1: none).
		cases := []struct {
			name    string
			tamper  func(f *fixture, acct string, e []*roster.AuditEvent) []string // statements, $1 the account
			kind    string
			seq     int64
			event   int
			missing int64
			// headless: no event verifies without a head; else seq-1 do
			headless bool
		}{
			{name: "untouched"},
			{name: "a field changed", kind: roster.AuditChanged, seq: 3, event: 2, tamper: stmts(
				`UPDATE audit_events SET actor_name = 'Mallory' WHERE account_id = $1 AND seq = 3`)},
			{name: "details changed", kind: roster.AuditChanged, seq: 2, event: 1, tamper: stmts(
				`UPDATE audit_events SET details = '{"reason":"other"}' WHERE account_id = $1 AND seq = 2`)},
			{name: "time changed by a microsecond", kind: roster.AuditChanged, seq: 4, event: 3, tamper: stmts(
				`UPDATE audit_events SET at = at + 1 WHERE account_id = $1 AND seq = 4`)},
			{name: "a hash changed", kind: roster.AuditChanged, seq: 2, event: 1, tamper: stmts(
				`UPDATE audit_events SET hash = prev_hash WHERE account_id = $1 AND seq = 2`)},
			{name: "a prev_hash changed", kind: roster.AuditChanged, seq: 3, event: 2, tamper: stmts(
				`UPDATE audit_events SET prev_hash = hash WHERE account_id = $1 AND seq = 3`)},
			{name: "two rows removed", kind: roster.AuditRemoved, seq: 2, event: 3, missing: 2, tamper: stmts(
				`DELETE FROM audit_events WHERE account_id = $1 AND seq IN (2, 3)`)},
			{name: "a row removed", kind: roster.AuditRemoved, seq: 3, event: 3, missing: 1, tamper: stmts(
				`DELETE FROM audit_events WHERE account_id = $1 AND seq = 3`)},
			{name: "the newest rows removed", kind: roster.AuditRemoved, seq: 4, event: -1, missing: 2, tamper: stmts(
				`DELETE FROM audit_events WHERE account_id = $1 AND seq >= 4`)},
			{name: "the first row and the head removed", kind: roster.AuditRemoved, seq: 2, event: 1, headless: true, tamper: stmts(
				`DELETE FROM audit_events WHERE account_id = $1 AND seq = 1`,
				`DELETE FROM audit_heads WHERE account_id = $1`)},
			{name: "two rows swapped", kind: roster.AuditReordered, seq: 2, event: 2, tamper: stmts(
				`UPDATE audit_events SET seq = 100 WHERE account_id = $1 AND seq = 2`,
				`UPDATE audit_events SET seq = 2 WHERE account_id = $1 AND seq = 3`,
				`UPDATE audit_events SET seq = 3 WHERE account_id = $1 AND seq = 100`)},
			{name: "a row removed and the rest renumbered", kind: roster.AuditReordered, seq: 3, event: 3, tamper: stmts(
				`DELETE FROM audit_events WHERE account_id = $1 AND seq = 3`,
				`UPDATE audit_events SET seq = seq - 1 WHERE account_id = $1 AND seq = 4`,
				`UPDATE audit_events SET seq = seq - 1 WHERE account_id = $1 AND seq = 5`,
				`UPDATE audit_heads SET seq = 4 WHERE account_id = $1`)},
			{name: "a row rewritten with its hash", kind: roster.AuditChanged, seq: 3, event: 2, tamper: rehash(2)},
			{name: "the newest row rewritten with its hash", kind: roster.AuditChanged, seq: 5, event: 4, tamper: rehash(4)},
		}
		for _, c := range cases {
			acct := f.account().ID
			var events []*roster.AuditEvent
			for i := range 5 {
				events = append(events, f.audit(acct, t0.Add(time.Duration(i)*time.Minute)))
			}
			if c.tamper != nil {
				for _, q := range c.tamper(f, acct, events) {
					if _, err := db.ExecContext(f.ctx, q, acct); err != nil {
						t.Fatalf("%s: %s: %v", c.name, q, err)
					}
				}
			}
			v := f.verify(acct)
			if c.kind == "" {
				if v.Break != nil || v.Events != 5 {
					t.Errorf("%s: %d events, break %+v; want 5 intact", c.name, v.Events, v.Break)
				}
				continue
			}
			b := v.Break
			if b == nil {
				t.Errorf("%s: chain intact (%d events); want %s at seq %d", c.name, v.Events, c.kind, c.seq)
				continue
			}
			wantID := ""
			if c.event >= 0 {
				wantID = events[c.event].ID
			}
			gotID := ""
			if b.Event != nil {
				gotID = b.Event.ID
			}
			if b.Kind != c.kind || b.Seq != c.seq || gotID != wantID || b.Missing != c.missing || b.Reason == "" {
				t.Errorf("%s: break %s at seq %d, event %q, %d missing (%s); want %s at seq %d, event %q, %d missing",
					c.name, b.Kind, b.Seq, gotID, b.Missing, b.Reason, c.kind, c.seq, wantID, c.missing)
			}
			want := c.seq - 1
			if c.headless {
				want = 0
			}
			if v.Events != want || v.Head != nil {
				t.Errorf("%s: %d events verified, head %x; want %d and no head", c.name, v.Events, v.Head, want)
			}
		}
	})
}

func stmts(qs ...string) func(*fixture, string, []*roster.AuditEvent) []string {
	return func(*fixture, string, []*roster.AuditEvent) []string { return qs }
}

// rehash rewrites the event e[i] as an attacker who knows the encoding
// would: a field and its hash, chained to the real event before it.
func rehash(i int) func(*fixture, string, []*roster.AuditEvent) []string {
	return func(f *fixture, acct string, e []*roster.AuditEvent) []string {
		forged := *e[i]
		forged.ActorName = "Mallory"
		h, err := roster.AuditHash(forged.PrevHash, &forged)
		if err != nil {
			f.t.Fatal(err)
		}
		raw := f.s.(rawDB).WriteDB()
		if _, err := raw.ExecContext(f.ctx, `UPDATE audit_events SET actor_name = 'Mallory', hash = $1 WHERE id = $2`,
			h, forged.ID); err != nil {
			f.t.Fatal(err)
		}
		return nil
	}
}

func (f *fixture) verify(accountID string) *roster.AuditVerification {
	f.t.Helper()
	v, err := roster.VerifyAuditChain(f.ctx, f.s, accountID)
	if err != nil {
		f.t.Fatalf("VerifyAuditChain = %v", err)
	}
	return v
}

// UpgradeAuditChain checks migration 0004_audit_chain on events written
// before it. exec runs a statement on a database migrated up to 0003;
// migrate applies the rest, and s reads the result: the old events are
// chained in the order of their ids, verify passes, new events continue the
// chain, and a change to an old event is detected.
func UpgradeAuditChain(t *testing.T, exec func(query string, args ...any) error, migrate func() error, s roster.Store) {
	t.Helper()
	ctx := context.Background()
	acme, beta := roster.NewID(t0), roster.NewID(t0)
	var ids []string
	for range 4 {
		ids = append(ids, roster.NewID(t0))
	}
	steps := []error{
		exec(`INSERT INTO accounts (id, name) VALUES ($1, 'Zeta Corp')`, acme),
		exec(`INSERT INTO accounts (id, name) VALUES ($1, 'Alpha Inc')`, beta),
	}
	// Written out of id order; the last of Acme's with exact numbers.
	for i, n := range []int{2, 0, 3, 1} {
		acct, details := acme, `{"n": `+strconv.Itoa(i)+`}`
		if n == 3 {
			acct = beta
		}
		if n == 2 {
			details = `{"big": 1152921504606846977, "half": 0.50, "roles": ["admin"]}`
		}
		steps = append(steps, exec(`INSERT INTO audit_events (id, account_id, at, actor_name, action, details, ip)
			VALUES ($1, $2, $3, 'Operator', 'user.invited', $4, '192.0.2.1')`, ids[n], acct, roster.Micros(t0)+int64(n), details))
	}
	for _, err := range steps {
		if err != nil {
			t.Fatalf("data before 0004: %v", err)
		}
	}
	if err := migrate(); err != nil {
		t.Fatalf("migrate to 0004: %v", err)
	}
	f := &fixture{t: t, ctx: ctx, s: s}
	for _, c := range []struct {
		acct string
		ids  []string
	}{{acme, ids[:3]}, {beta, ids[3:]}} {
		v := f.verify(c.acct)
		if v.Break != nil || v.Events != int64(len(c.ids)) {
			t.Errorf("VerifyAuditChain after the upgrade = %d events, break %+v; want %d intact", v.Events, v.Break, len(c.ids))
		}
		chain, err := s.AuditChain(ctx, c.acct, 0, 10)
		if err != nil {
			t.Fatal(err)
		}
		for i, e := range chain {
			if e.ID != c.ids[i] || e.Seq != int64(i+1) {
				t.Errorf("event at seq %d after the upgrade = %s; want %s (ids in order)", e.Seq, e.ID, c.ids[i])
			}
		}
	}
	if e := f.audit(acme, t0.Add(time.Hour)); e.Seq != 4 {
		t.Errorf("first event after the upgrade: seq %d, want 4", e.Seq)
	}
	if v := f.verify(acme); v.Break != nil || v.Events != 4 {
		t.Errorf("VerifyAuditChain with a new event = %d events, break %+v; want 4 intact", v.Events, v.Break)
	}
	if err := exec(`UPDATE audit_events SET ip = '198.51.100.9' WHERE id = $1`, ids[1]); err != nil {
		t.Fatal(err)
	}
	if v := f.verify(acme); v.Break == nil || v.Break.Kind != roster.AuditChanged || v.Break.Event.ID != ids[1] {
		t.Errorf("VerifyAuditChain after changing an old event = break %+v; want it changed", v.Break)
	}
}

// auditLog holds a store to the audit log's queries: every filter and
// their combinations against the same selection made in Go, keyset pages
// both ways, counts, the account list of verify --all, and the records of
// an Expert's end of access.
func auditLog(t *testing.T, setup func(*testing.T) *fixture) {
	t.Run("Filters", func(t *testing.T) {
		t.Parallel()
		f := setup(t)
		a, b := f.account(), f.account()
		ann, bob := roster.NewID(t0), roster.NewID(t0)
		actors := []string{ann, bob, ""}
		actions := []string{roster.ActionUserInvited, roster.ActionUserRevoked, roster.ActionUserUpdated}
		var all []*roster.AuditEvent
		for i := range 24 {
			// Every third event shares its time with the one before:
			// ties are broken by seq.
			at := t0.Add(time.Duration(i-i%3/2) * time.Minute)
			all = append(all, f.audit(a.ID, at, func(e *roster.AuditEvent) {
				e.ActorID = actors[i%3]
				e.Action = actions[i%4%3]
				e.TargetID = []string{bob, ann}[i%2]
			}))
		}
		f.audit(b.ID, t0.Add(time.Minute), func(e *roster.AuditEvent) { e.ActorID, e.TargetID = ann, bob })
		newest := slices.Clone(all)
		slices.SortFunc(newest, func(x, y *roster.AuditEvent) int {
			if c := x.At.Compare(y.At); c != 0 {
				return -c
			}
			return int(y.Seq - x.Seq)
		})
		for i, e := range newest {
			if i > 0 && newest[i-1].Seq < e.Seq {
				// Equal times were given in seq order.
				t.Fatalf("test data: seq %d before %d", newest[i-1].Seq, e.Seq)
			}
		}
		queries := []roster.AuditQuery{
			{},
			{ActorID: ann},
			{Operator: true},
			{TargetID: bob},
			{Actions: []string{roster.ActionUserRevoked}},
			{Actions: []string{roster.ActionUserRevoked, roster.ActionUserUpdated}},
			{Since: t0.Add(5 * time.Minute)},
			{Until: t0.Add(5 * time.Minute)},
			{Since: t0.Add(3 * time.Minute), Until: t0.Add(14 * time.Minute), ActorID: bob},
			{ActorID: ann, TargetID: bob, Actions: []string{roster.ActionUserInvited}},
			{ActorID: roster.NewID(t0)},
		}
		match := func(q roster.AuditQuery, e *roster.AuditEvent) bool {
			return (q.ActorID == "" && !q.Operator || e.ActorID == q.ActorID && !q.Operator || q.Operator && e.ActorID == "") &&
				(q.TargetID == "" || e.TargetID == q.TargetID) &&
				(len(q.Actions) == 0 || slices.Contains(q.Actions, e.Action)) &&
				(q.Since.IsZero() || !e.At.Before(q.Since)) && (q.Until.IsZero() || e.At.Before(q.Until))
		}
		for _, q := range queries {
			var want []string
			for _, e := range newest {
				if match(q, e) {
					want = append(want, e.ID)
				}
			}
			q.Limit = roster.MaxLimit
			page, err := f.s.AuditEvents(f.ctx, a.ID, q)
			if err != nil {
				t.Fatalf("AuditEvents(%+v) = %v", q, err)
			}
			if got := eventIDs(page.Items); !slices.Equal(got, want) {
				t.Errorf("AuditEvents(%+v) = %d events %v, want %d %v", q, len(got), got, len(want), want)
			}
			if n, err := f.s.CountAuditEvents(f.ctx, a.ID, q); err != nil || n != int64(len(want)) {
				t.Errorf("CountAuditEvents(%+v) = %d, %v; want %d", q, n, err, len(want))
			}
			// Forwards by 4, then back from the last page by 4.
			var fwd []string
			var pages []*roster.AuditPage
			pq := q
			pq.Limit = 4
			for range 20 {
				p, err := f.s.AuditEvents(f.ctx, a.ID, pq)
				if err != nil {
					t.Fatalf("AuditEvents(%+v) = %v", pq, err)
				}
				if (pq.After == nil) != (p.PrevCursor == nil) {
					t.Errorf("AuditEvents(%+v): prev cursor %+v on page %d", q, p.PrevCursor, len(pages)+1)
				}
				pages = append(pages, p)
				fwd = append(fwd, eventIDs(p.Items)...)
				if p.NextCursor == nil {
					break
				}
				pq.After, pq.Before = p.NextCursor, nil
			}
			if !slices.Equal(fwd, want) {
				t.Errorf("AuditEvents(%+v) paged by 4 = %v, want %v", q, fwd, want)
			}
			var back []string
			last := pages[len(pages)-1]
			back = append(eventIDs(last.Items), back...)
			pq.After, pq.Before = nil, last.PrevCursor
			for pq.Before != nil {
				p, err := f.s.AuditEvents(f.ctx, a.ID, pq)
				if err != nil {
					t.Fatalf("AuditEvents(%+v) = %v", pq, err)
				}
				if len(p.Items) != 4 || p.NextCursor == nil {
					t.Fatalf("AuditEvents(%+v) backwards = %d items, next %+v; want 4 and a next cursor", q, len(p.Items), p.NextCursor)
				}
				back = append(eventIDs(p.Items), back...)
				pq.Before = p.PrevCursor
			}
			if !slices.Equal(back, want) {
				t.Errorf("AuditEvents(%+v) paged back by 4 = %v, want %v", q, back, want)
			}
		}
		// Pages carry seq and hash, not prev_hash.
		page, err := f.s.AuditEvents(f.ctx, a.ID, roster.AuditQuery{Limit: 1})
		if err != nil || len(page.Items) != 1 {
			t.Fatalf("AuditEvents(limit 1) = %v, %v", page, err)
		}
		if e, w := page.Items[0], newest[0]; e.Seq != w.Seq || !bytes.Equal(e.Hash, w.Hash) || e.PrevHash != nil {
			t.Errorf("page event seq %d hash %x prev %x; want seq %d hash %x and no prev", e.Seq, e.Hash, e.PrevHash, w.Seq, w.Hash)
		}
		// Another account's events are not there, whatever the filter.
		for _, q := range []roster.AuditQuery{{ActorID: ann, Limit: 100}, {TargetID: bob, Limit: 100}} {
			for _, id := range []string{b.ID, f.account().ID, roster.NewID(t0), "nope"} {
				page, err := f.s.AuditEvents(f.ctx, id, q)
				n, cerr := f.s.CountAuditEvents(f.ctx, id, q)
				want := 0
				if id == b.ID {
					want = 1
				}
				if err != nil || cerr != nil || len(page.Items) != want || n != int64(want) {
					t.Errorf("AuditEvents(%s, %+v) = %d events, count %d, %v, %v; want %d", id, q, len(page.Items), n, err, cerr, want)
				}
			}
		}
	})

	t.Run("AccountIDs", func(t *testing.T) {
		t.Parallel()
		f := setup(t)
		var want []string
		for range 5 {
			want = append(want, f.account().ID)
		}
		slices.Sort(want)
		var got []string
		after := ""
		for range 10 {
			ids, err := f.s.AccountIDs(f.ctx, after, 2)
			if err != nil {
				t.Fatalf("AccountIDs(%q) = %v", after, err)
			}
			if len(ids) > 2 {
				t.Fatalf("AccountIDs(limit 2) = %v", ids)
			}
			if len(ids) == 0 {
				break
			}
			got = append(got, ids...)
			after = ids[len(ids)-1]
		}
		if !slices.Equal(got, want) {
			t.Errorf("AccountIDs paged by 2 = %v, want %v", got, want)
		}
	})

	t.Run("ExpertAccessEnds", func(t *testing.T) {
		t.Parallel()
		f := setup(t)
		a, b := f.account(), f.account()
		admin := func(mods ...func(*roster.User)) *roster.User {
			return f.user(a, append([]func(*roster.User){func(u *roster.User) {
				u.Status, u.Roles = roster.StatusActive, roster.NewRoleSet(roster.RoleAdmin)
			}}, mods...)...)
		}
		first, later := admin(), admin(func(u *roster.User) { u.AccessUntil = t0.Add(2 * time.Hour) })
		admin(func(u *roster.User) { u.AccessUntil = t0.Add(time.Hour) }) // expired at the time asked
		admin(func(u *roster.User) { u.Status = roster.StatusInactive })
		f.user(a, func(u *roster.User) { u.Status, u.Roles = roster.StatusActive, roster.NewRoleSet(roster.RoleSupport) })
		f.user(b, func(u *roster.User) { u.Status, u.Roles = roster.StatusActive, roster.NewRoleSet(roster.RoleAdmin) })
		end := &roster.ExpertAccessEnd{ID: roster.NewID(t0), AccountID: a.ID, UserID: roster.NewID(t0), Name: "Eve Expert",
			Email: "eve@staff.example", Reason: roster.ExpertEndRevoked, EndedAt: t0.Add(90 * time.Minute)}
		f.update(func(tx roster.Tx) error {
			admins, err := tx.ActiveAdmins(f.ctx, a.ID, t0.Add(time.Hour))
			if err != nil {
				return err
			}
			var ids []string
			for _, u := range admins {
				ids = append(ids, u.ID)
			}
			if want := []string{first.ID, later.ID}; !slices.Equal(ids, want) {
				t.Errorf("ActiveAdmins = %v, want %v", ids, want)
			}
			return tx.InsertExpertAccessEnd(f.ctx, end)
		})
		got, err := f.s.ExpertAccessEnd(f.ctx, a.ID, end.ID)
		if err != nil || *got != *end {
			t.Errorf("ExpertAccessEnd = %+v, %v; want %+v", got, err, end)
		}
		for _, c := range [][2]string{{b.ID, end.ID}, {a.ID, roster.NewID(t0)}, {a.ID, "x"}} {
			if _, err := f.s.ExpertAccessEnd(f.ctx, c[0], c[1]); roster.ErrorCode(err) != roster.CodeNotFound {
				t.Errorf("ExpertAccessEnd(%s, %s) = %v, want not found", c[0], c[1], err)
			}
		}
	})
}
