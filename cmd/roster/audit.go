package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"time"

	"roster"
)

func auditVerifyCommand() *command {
	return &command{
		name:    "audit verify",
		summary: "check that audit logs are unchanged (one account, or --all)",
		help: `
Audit verify recomputes the hash chain of an account's audit log from its
first event to its newest and prints {"account_id", "ok", "summary",
"events", "head", "checkpoint"}: "ok: N events, chain intact", the newest
event's hash, and both as "N:HASH". Keep the checkpoint somewhere the
database's users cannot write to and pass it to later runs with --head: the
chain must still pass through it, or the log was rewritten together with
its hashes.

When the chain breaks it prints "ok": false and "break", the first broken
event (its seq, id, time and action) and whether it was changed, removed (a
gap in seq, or the newest events gone) or reordered, and exits with status
1. docs/audit.md says what the chain covers and what it cannot show.

With --all instead of --account it verifies every account and prints
{"ok", "summary", "accounts", "events", "broken"}: the number of accounts
and events checked and, for each account whose chain breaks, what a single
run prints for it; it exits with status 1 naming each broken account.`,
		register: func(fs *flagSet) runner {
			db := addDBFlags(fs, false)
			id := fs.String("account", "", "the account's id (required unless --all)")
			all := fs.Bool("all", false, "verify every account instead of one")
			heads := fs.List("head", nil, `a "checkpoint" printed by an earlier run, SEQ:HASH, that the chain must still pass through; repeatable`)
			return func(ctx context.Context, e *env) error {
				switch {
				case *all && *id != "":
					return usageErrorf("--all: verify one account with --account or every account with --all, not both")
				case *all && len(heads.values) > 0:
					return usageErrorf("--head: a checkpoint belongs to one account; give it with --account, not --all")
				case *all:
					return verifyAllAccounts(ctx, e, db)
				case *id == "":
					return usageErrorf("--account: give the id of the account, or --all for every account")
				}
				var checkpoints []roster.AuditCheckpoint
				for _, h := range heads.values {
					c, err := parseCheckpoint(h)
					if err != nil {
						return err
					}
					checkpoints = append(checkpoints, c)
				}
				st, err := openChecked(ctx, db)
				if err != nil {
					return err
				}
				defer st.Close()
				v, err := roster.VerifyAuditChain(ctx, st, *id, checkpoints...)
				if err != nil {
					return domainError(err)
				}
				out := auditVerifyJSON(v)
				if err := printJSON(e.stdout, out); err != nil {
					return err
				}
				if !out.OK {
					return fmt.Errorf("audit log of account %s: %s", v.AccountID, out.Summary)
				}
				return nil
			}
		},
	}
}

// auditVerifyAllOut is what audit verify --all prints.
type auditVerifyAllOut struct {
	OK       bool             `json:"ok"`
	Summary  string           `json:"summary"`
	Accounts int64            `json:"accounts"`
	Events   int64            `json:"events"` // intact events, over every account
	Broken   []auditVerifyOut `json:"broken"`
}

// verifyAllAccounts verifies every account's chain, prints the outcome and
// fails naming each broken account.
func verifyAllAccounts(ctx context.Context, e *env, db *dbFlags) error {
	st, err := openChecked(ctx, db)
	if err != nil {
		return err
	}
	defer st.Close()
	out := auditVerifyAllOut{Broken: []auditVerifyOut{}}
	err = roster.VerifyAllAuditChains(ctx, st, func(v *roster.AuditVerification) error {
		out.Accounts++
		out.Events += v.Events
		if v.Break != nil {
			out.Broken = append(out.Broken, auditVerifyJSON(v))
		}
		return nil
	})
	if err != nil {
		return domainError(err)
	}
	out.OK = len(out.Broken) == 0
	out.Summary = fmt.Sprintf("ok: %d accounts, %d events, every chain intact", out.Accounts, out.Events)
	if !out.OK {
		out.Summary = fmt.Sprintf("%d of %d accounts have a broken audit chain", len(out.Broken), out.Accounts)
	}
	if err := printJSON(e.stdout, out); err != nil {
		return err
	}
	if !out.OK {
		names := make([]string, len(out.Broken))
		for i, b := range out.Broken {
			names[i] = b.AccountID + " (" + b.Summary + ")"
		}
		return fmt.Errorf("audit log broken in %d account(s): %s", len(names), strings.Join(names, "; "))
	}
	return nil
}

// openChecked checks the database flags and opens the store.
func openChecked(ctx context.Context, db *dbFlags) (roster.Store, error) {
	if err := db.check(); err != nil {
		return nil, err
	}
	return db.open(ctx)
}

// parseCheckpoint reads SEQ:HASH, a checkpoint of an earlier run.
func parseCheckpoint(s string) (roster.AuditCheckpoint, error) {
	seqText, hashText, _ := strings.Cut(s, ":")
	seq, err := strconv.ParseInt(seqText, 10, 64)
	hash, herr := hex.DecodeString(hashText)
	if err != nil || seq < 1 || herr != nil || len(hash) != sha256.Size {
		return roster.AuditCheckpoint{}, usageErrorf("--head: %q is not SEQ:HASH, a checkpoint that audit verify printed", s)
	}
	return roster.AuditCheckpoint{Seq: seq, Hash: hash}, nil
}

type auditVerifyOut struct {
	AccountID string `json:"account_id"`
	OK        bool   `json:"ok"`
	Summary   string `json:"summary"`
	Events    int64  `json:"events"` // intact events, from the first
	Head      string `json:"head,omitempty"`
	// Checkpoint is "events:head", what --head takes.
	Checkpoint string         `json:"checkpoint,omitempty"`
	Break      *auditBreakOut `json:"break,omitempty"`
}

type auditBreakOut struct {
	Kind    string `json:"kind"` // changed, removed or reordered
	Seq     int64  `json:"seq"`
	EventID string `json:"event_id,omitempty"`
	At      string `json:"at,omitempty"`
	Action  string `json:"action,omitempty"`
	Missing int64  `json:"missing,omitempty"`
	Reason  string `json:"reason"`
}

func auditVerifyJSON(v *roster.AuditVerification) auditVerifyOut {
	out := auditVerifyOut{AccountID: v.AccountID, Events: v.Events}
	b := v.Break
	if b == nil {
		out.OK, out.Head = true, hex.EncodeToString(v.Head)
		if v.Events > 0 {
			out.Checkpoint = strconv.FormatInt(v.Events, 10) + ":" + out.Head
		}
		out.Summary = fmt.Sprintf("ok: %d events, chain intact", v.Events)
		return out
	}
	ob := &auditBreakOut{Kind: b.Kind, Seq: b.Seq, Missing: b.Missing, Reason: b.Reason}
	out.Break = ob
	switch {
	case b.Kind == roster.AuditRemoved && b.Event != nil:
		ob.EventID, ob.At, ob.Action = b.Event.ID, b.Event.At.Format(time.RFC3339Nano), b.Event.Action
		out.Summary = fmt.Sprintf("chain broken at seq %d: %d event(s) removed before event %s (seq %d, %s, %s): %s",
			b.Seq, b.Missing, ob.EventID, b.Event.Seq, ob.At, ob.Action, b.Reason)
	case b.Event != nil:
		ob.EventID, ob.At, ob.Action = b.Event.ID, b.Event.At.Format(time.RFC3339Nano), b.Event.Action
		out.Summary = fmt.Sprintf("chain broken at seq %d: event %s (%s, %s) %s: %s",
			b.Seq, ob.EventID, ob.At, ob.Action, b.Kind, b.Reason)
	default:
		out.Summary = fmt.Sprintf("chain broken at seq %d: %s", b.Seq, b.Reason)
	}
	return out
}
