package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"roster"
)

func TestAuditVerify(t *testing.T) {
	eachStore(t, func(t *testing.T, db dbArgs) {
		acct := mustCreateAccount(t, db, "ada@acme.example", "a long, unguessable password")
		mustRunJSON[keyOut](t, "", db.with("api-key", "create", "--account", acct.AccountID,
			"--user-email", "ada@acme.example", "--name", "ci")...)

		ok := mustRunJSON[auditVerifyOut](t, "", db.with("audit", "verify", "--account", acct.AccountID)...)
		if !ok.OK || ok.Events != 2 || ok.Summary != "ok: 2 events, chain intact" || len(ok.Head) != 64 ||
			ok.Checkpoint != "2:"+ok.Head || ok.Break != nil {
			t.Errorf("audit verify of an untouched log = %+v; want ok with 2 events and the head", ok)
		}

		st := db.open(t)
		page, err := st.AuditEvents(context.Background(), acct.AccountID, roster.AuditQuery{Limit: 10})
		if err != nil || len(page.Items) != 2 {
			t.Fatalf("AuditEvents = %v, %v", page, err)
		}
		first := page.Items[1] // newest first
		raw := st.(interface{ WriteDB() *sql.DB }).WriteDB()

		// An attacker who rewrites the first event and every hash after
		// it, and the head, passes verify; only a kept checkpoint shows it.
		chain, err := st.AuditChain(context.Background(), acct.AccountID, 0, 10)
		if err != nil || len(chain) != 2 {
			t.Fatalf("AuditChain = %v, %v", chain, err)
		}
		chain[0].ActorName = "Mallory"
		prev := roster.AuditGenesis(acct.AccountID)
		for _, e := range chain {
			if e.Hash, err = roster.AuditHash(prev, e); err != nil {
				t.Fatal(err)
			}
			if _, err := raw.Exec(`UPDATE audit_events SET actor_name = $1, prev_hash = $2, hash = $3 WHERE id = $4`,
				e.ActorName, prev, e.Hash, e.ID); err != nil {
				t.Fatal(err)
			}
			prev = e.Hash
		}
		if _, err := raw.Exec(`UPDATE audit_heads SET hash = $1 WHERE account_id = $2`, prev, acct.AccountID); err != nil {
			t.Fatal(err)
		}
		if again := mustRunJSON[auditVerifyOut](t, "", db.with("audit", "verify", "--account", acct.AccountID)...); !again.OK {
			t.Errorf("audit verify of a log rewritten with every hash = %+v; want it to pass (the documented limit)", again)
		}
		r := runCLI(t, "", db.with("audit", "verify", "--account", acct.AccountID, "--head", ok.Checkpoint)...)
		if r.code() != 1 || !strings.Contains(r.err.Error(), "seq 2") || !strings.Contains(r.err.Error(), "recorded at seq 2") {
			t.Errorf("audit verify --head %s of a rewritten log = exit %d, %v; want the break at the checkpoint", ok.Checkpoint, r.code(), r.err)
		}
		for _, bad := range []string{"2", "0:" + ok.Head, "2:abc", "x:" + ok.Head} {
			if r := runCLI(t, "", db.with("audit", "verify", "--account", acct.AccountID, "--head", bad)...); r.code() != 2 ||
				!strings.HasPrefix(r.err.Error(), "--head: ") {
				t.Errorf("audit verify --head %q = exit %d, %v; want a usage error", bad, r.code(), r.err)
			}
		}

		if _, err := raw.Exec(`UPDATE audit_events SET action = 'user.deleted' WHERE id = $1`, first.ID); err != nil {
			t.Fatal(err)
		}
		r = runCLI(t, "", db.with("audit", "verify", "--account", acct.AccountID)...)
		var broken auditVerifyOut
		if err := json.Unmarshal([]byte(r.stdout), &broken); err != nil {
			t.Fatalf("audit verify of a tampered log printed %q: %v", r.stdout, err)
		}
		want := auditBreakOut{Kind: roster.AuditChanged, Seq: 1, EventID: first.ID, At: first.At.Format(time.RFC3339Nano),
			Action: "user.deleted", Reason: "its fields or its hash differ from what was written"}
		if r.code() != 1 || broken.OK || broken.Events != 0 || broken.Break == nil || *broken.Break != want {
			t.Errorf("audit verify of a tampered log = exit %d, %+v (break %+v); want exit 1 and break %+v", r.code(), broken, broken.Break, want)
		}
		if msg := r.err.Error(); !strings.Contains(msg, "seq 1") || !strings.Contains(msg, first.ID) || !strings.Contains(msg, "changed") {
			t.Errorf("audit verify error = %q; want the seq, id and kind of the broken event", msg)
		}

		if r := runCLI(t, "", db.with("audit", "verify")...); r.code() != 2 || !strings.Contains(r.err.Error(), "--account") {
			t.Errorf("audit verify without --account = exit %d, %v; want a usage error naming --account", r.code(), r.err)
		}
		if r := runCLI(t, "", db.with("audit", "verify", "--account", roster.NewID(first.At))...); r.code() != 1 ||
			r.err.Error() != "No account with this id exists." {
			t.Errorf("audit verify of a missing account = exit %d, %v", r.code(), r.err)
		}
	})
}

func TestAuditVerifyAll(t *testing.T) {
	eachStore(t, func(t *testing.T, db dbArgs) {
		if empty := mustRunJSON[auditVerifyAllOut](t, "", db.with("audit", "verify", "--all")...); !empty.OK || empty.Accounts != 0 {
			t.Errorf("audit verify --all of no accounts = %+v; want ok with 0 accounts", empty)
		}
		var ids []string
		for _, email := range []string{"ada@acme.example", "bo@acme.example", "cy@acme.example"} {
			ids = append(ids, mustCreateAccount(t, db, email, "a long, unguessable password").AccountID)
		}
		ok := mustRunJSON[auditVerifyAllOut](t, "", db.with("audit", "verify", "--all")...)
		if !ok.OK || ok.Accounts != 3 || ok.Events != 3 || len(ok.Broken) != 0 || ok.Summary != "ok: 3 accounts, 3 events, every chain intact" {
			t.Errorf("audit verify --all = %+v; want 3 intact accounts of one event each", ok)
		}

		st := db.open(t)
		raw := st.(interface{ WriteDB() *sql.DB }).WriteDB()
		for _, id := range ids[1:] {
			if _, err := raw.Exec(`UPDATE audit_events SET actor_name = 'Mallory' WHERE account_id = $1`, id); err != nil {
				t.Fatal(err)
			}
		}
		r := runCLI(t, "", db.with("audit", "verify", "--all")...)
		var broken auditVerifyAllOut
		if err := json.Unmarshal([]byte(r.stdout), &broken); err != nil {
			t.Fatalf("audit verify --all printed %q: %v", r.stdout, err)
		}
		if r.code() != 1 || broken.OK || broken.Accounts != 3 || len(broken.Broken) != 2 {
			t.Fatalf("audit verify --all of 2 tampered accounts = exit %d, %+v; want exit 1 and both", r.code(), broken)
		}
		for _, id := range ids[1:] {
			found := false
			for _, b := range broken.Broken {
				found = found || b.AccountID == id && b.Break != nil && b.Break.Kind == roster.AuditChanged && b.Break.Seq == 1
			}
			if !found || !strings.Contains(r.err.Error(), id) {
				t.Errorf("audit verify --all = %+v, %v; want account %s named as changed at seq 1", broken.Broken, r.err, id)
			}
		}
		if strings.Contains(r.err.Error(), ids[0]) || !strings.HasPrefix(r.err.Error(), "audit log broken in 2 account(s): ") {
			t.Errorf("audit verify --all error = %q; want the two broken accounts only", r.err)
		}

		for _, args := range [][]string{{"--all", "--account", ids[0]}, {"--all", "--head", "1:" + strings.Repeat("ab", 32)}} {
			if r := runCLI(t, "", db.with(append([]string{"audit", "verify"}, args...)...)...); r.code() != 2 {
				t.Errorf("audit verify %v = exit %d, %v; want a usage error", args, r.code(), r.err)
			}
		}
	})
}
