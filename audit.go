package roster

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math/big"
	"slices"
	"strings"
	"time"
)

// Audit actions.
const (
	ActionAccountCreated   = "account.created"
	ActionAccountUpdated   = "account.updated"
	ActionUserInvited      = "user.invited"
	ActionUserJoined       = "user.joined"
	ActionUserUpdated      = "user.updated"
	ActionUserRevoked      = "user.access_revoked"
	ActionUserRestored     = "user.access_restored"
	ActionInvitationResent = "user.invitation_resent"
	ActionUserDeleted      = "user.deleted"
	ActionAPIKeyCreated    = "api_key.created"
)

// AuditEvent records one change in an account: who, what, to whom, why, when
// and from where. Names and emails are copied, so the event outlives the user.
type AuditEvent struct {
	ID          string
	AccountID   string
	At          time.Time
	ActorID     string // "" for the operator
	ActorName   string
	ActorEmail  string
	Action      string
	TargetID    string
	TargetName  string
	TargetEmail string
	Details     map[string]any
	IP          string

	// The chain (docs/audit.md), set by Tx.InsertAudit: the event's
	// position in its account's log from 1, the Hash of the event before
	// it (AuditGenesis for the first) and its own AuditHash.
	Seq      int64
	PrevHash []byte
	Hash     []byte
}

// auditChainVersion names the encoding of AuditHash; a new
// encoding would get a new name rather than change this one.
const auditChainVersion = "roster.audit.v1"

// AuditGenesis is the prev_hash of an account's first audit event:
// SHA-256 of "roster.audit.v1 genesis" and the account id, each
// length-prefixed, so that a chain cannot be moved to another account.
func AuditGenesis(accountID string) []byte {
	var b []byte
	b = appendField(b, auditChainVersion+" genesis")
	b = appendField(b, accountID)
	sum := sha256.Sum256(b)
	return sum[:]
}

// AuditHash returns the hash of e chained to prev: SHA-256 of prev followed
// by the canonical encoding of every stored field of e (docs/audit.md).
// Times count at their stored precision, microseconds.
func AuditHash(prev []byte, e *AuditEvent) ([]byte, error) {
	details, err := CanonicalDetails(e.Details)
	if err != nil {
		return nil, err
	}
	b := append([]byte(nil), prev...)
	b = appendField(b, auditChainVersion)
	b = binary.BigEndian.AppendUint64(b, uint64(e.Seq))
	for _, f := range []string{e.ID, e.AccountID} {
		b = appendField(b, f)
	}
	b = binary.BigEndian.AppendUint64(b, uint64(Micros(e.At)))
	for _, f := range []string{e.ActorID, e.ActorName, e.ActorEmail, e.Action, e.TargetID, e.TargetName,
		e.TargetEmail, string(details), e.IP} {
		b = appendField(b, f)
	}
	sum := sha256.Sum256(b)
	return sum[:], nil
}

// appendField appends s with its length as 4 bytes, big-endian, before it:
// no two different lists of fields encode alike.
func appendField(b []byte, s string) []byte {
	b = binary.BigEndian.AppendUint32(b, uint32(len(s)))
	return append(b, s...)
}

// CanonicalDetails returns the one JSON text of an event's details the
// chain hashes, however a database kept them: object keys sorted, no
// spaces, strings as encoding/json writes them, and every number as the
// exact fraction it denotes (1.50 and 15e-1 are both written 3/2; integers
// are their digits). PostgreSQL's jsonb rewrites numbers and key order, so
// the hash cannot be of the text as written. Nil and empty details are {}.
func CanonicalDetails(details map[string]any) ([]byte, error) {
	if len(details) == 0 {
		return []byte("{}"), nil
	}
	raw, err := json.Marshal(details)
	if err != nil {
		return nil, fmt.Errorf("audit details: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("audit details: %w", err)
	}
	return appendCanonical(nil, v)
}

func appendCanonical(b []byte, v any) ([]byte, error) {
	switch v := v.(type) {
	case map[string]any:
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		b = append(b, '{')
		for i, k := range keys {
			if i > 0 {
				b = append(b, ',')
			}
			kb, _ := json.Marshal(k)
			b = append(append(b, kb...), ':')
			var err error
			if b, err = appendCanonical(b, v[k]); err != nil {
				return nil, err
			}
		}
		return append(b, '}'), nil
	case []any:
		b = append(b, '[')
		for i, x := range v {
			if i > 0 {
				b = append(b, ',')
			}
			var err error
			if b, err = appendCanonical(b, x); err != nil {
				return nil, err
			}
		}
		return append(b, ']'), nil
	case json.Number:
		r, ok := new(big.Rat).SetString(v.String())
		if !ok {
			return nil, fmt.Errorf("audit details: number %q", v)
		}
		return append(b, r.RatString()...), nil
	default: // string, bool, nil
		sb, err := json.Marshal(v)
		if err != nil {
			return nil, fmt.Errorf("audit details: %w", err)
		}
		return append(b, sb...), nil
	}
}

// Kinds of break in an audit chain.
const (
	AuditChanged   = "changed"   // an event's fields or hash are not what was written
	AuditRemoved   = "removed"   // events are missing: a gap in seq, or the newest are gone
	AuditReordered = "reordered" // an event was written after another event than the one now before it
)

// AuditBreak is the first place where an account's audit chain does not
// hold.
type AuditBreak struct {
	Kind string
	// Seq is the position in the chain that fails: the changed or
	// reordered event's, or the first missing one's.
	Seq int64
	// Event is the event found at Seq, or for removed events the first
	// event after the gap; nil when the newest events were removed.
	Event *AuditEvent
	// Missing counts removed events.
	Missing int64
	// Reason says what was found, for a person.
	Reason string
}

// AuditVerification is the outcome of checking an account's audit chain.
type AuditVerification struct {
	AccountID string
	Events    int64  // events that verified, from the first up to the break
	Head      []byte // intact: the newest event's hash (AuditGenesis when none); else nil
	Break     *AuditBreak
}

// auditChainPage is how many events VerifyAuditChain reads at a time.
const auditChainPage = 1000

// AuditCheckpoint is a head printed by an earlier verification and kept
// out of the database's reach: the chain must still pass through it.
type AuditCheckpoint struct {
	Seq  int64
	Hash []byte
}

// VerifyAuditChain recomputes the audit chain of an account from its
// first event to the head the store recorded when the check began, and
// returns the first break. Events appended meanwhile are left for the next
// check. Each checkpoint catches a rewrite of the events up to it that
// recomputed every later hash. CodeNotFound when the account does not exist.
func VerifyAuditChain(ctx context.Context, s Store, accountID string, checkpoints ...AuditCheckpoint) (*AuditVerification, error) {
	if _, err := s.Account(ctx, accountID); err != nil {
		return nil, err
	}
	headSeq, headHash, err := s.AuditHead(ctx, accountID)
	if err != nil {
		return nil, err
	}
	v := &AuditVerification{AccountID: accountID, Head: AuditGenesis(accountID)}
	if headSeq == 0 {
		// Every append writes the head first, in its transaction: events
		// without one mean it was deleted.
		events, err := s.AuditChain(ctx, accountID, 0, 1)
		if err != nil {
			return nil, err
		}
		if len(events) > 0 {
			v.Break = &AuditBreak{Kind: AuditRemoved, Seq: events[0].Seq, Event: events[0],
				Reason: "the account's chain head (audit_heads) is missing, yet it has events"}
			v.Head = nil
		}
		return v, nil
	}
	var last *AuditEvent // the newest event verified
	for {
		var seq int64
		if last != nil {
			seq = last.Seq
		}
		if seq == headSeq {
			break
		}
		events, err := s.AuditChain(ctx, accountID, seq, int(min(auditChainPage, headSeq-seq)))
		if err != nil {
			return nil, err
		}
		if len(events) == 0 || events[0].Seq > headSeq {
			v.Break = &AuditBreak{Kind: AuditRemoved, Seq: seq + 1, Missing: headSeq - seq,
				Reason: fmt.Sprintf("the newest %d event(s) are missing: the log ends at seq %d, its head is at seq %d", headSeq-seq, seq, headSeq)}
			v.Head = nil
			return v, nil
		}
		for _, e := range events {
			if v.Break = checkLink(v.Head, last, e); v.Break == nil {
				v.Break = checkpoint(checkpoints, e)
			}
			if v.Break != nil {
				v.Events, v.Head = v.Break.Seq-1, nil
				return v, nil
			}
			v.Head, last = e.Hash, e
			v.Events++
		}
	}
	for _, c := range checkpoints {
		if c.Seq > headSeq {
			v.Break = &AuditBreak{Kind: AuditRemoved, Seq: headSeq + 1, Missing: c.Seq - headSeq,
				Reason: fmt.Sprintf("the log ends at seq %d, before the recorded head at seq %d", headSeq, c.Seq)}
			v.Head = nil
			return v, nil
		}
	}
	if last != nil && !bytes.Equal(last.Hash, headHash) {
		v.Break = &AuditBreak{Kind: AuditChanged, Seq: last.Seq, Event: last,
			Reason: "the newest event was rewritten together with its hash: the head recorded another hash"}
		v.Events, v.Head = last.Seq-1, nil
	}
	return v, nil
}

// checkpoint returns the break when e is at the seq of a checkpoint but
// has another hash.
func checkpoint(cs []AuditCheckpoint, e *AuditEvent) *AuditBreak {
	for _, c := range cs {
		if c.Seq == e.Seq && !bytes.Equal(c.Hash, e.Hash) {
			return &AuditBreak{Kind: AuditChanged, Seq: e.Seq, Event: e,
				Reason: fmt.Sprintf("the chain no longer passes through the head recorded at seq %d: "+
					"this event or one before it was rewritten together with every later hash", c.Seq)}
		}
	}
	return nil
}

// checkLink checks that e, the event after last (nil: the first), is the
// next in the chain whose head so far is prev; it returns the break when not.
func checkLink(prev []byte, last, e *AuditEvent) *AuditBreak {
	want := int64(1)
	if last != nil {
		want = last.Seq + 1
	}
	if e.Seq != want {
		reason := fmt.Sprintf("seq %d is missing", want)
		if e.Seq-want > 1 {
			reason = fmt.Sprintf("seq %d to %d are missing", want, e.Seq-1)
		}
		return &AuditBreak{Kind: AuditRemoved, Seq: want, Event: e, Missing: e.Seq - want, Reason: reason}
	}
	own, err := AuditHash(e.PrevHash, e)
	intact := err == nil && bytes.Equal(own, e.Hash) // as written, after the event it names
	linked := bytes.Equal(e.PrevHash, prev)          // after the event now before it
	switch {
	case linked && intact:
		return nil
	case linked:
		return &AuditBreak{Kind: AuditChanged, Seq: e.Seq, Event: e,
			Reason: "its fields or its hash differ from what was written"}
	case intact && last != nil:
		return &AuditBreak{Kind: AuditChanged, Seq: last.Seq, Event: last,
			Reason: "it was rewritten together with its hash: the event after it still chains to the original"}
	}
	if h, err := AuditHash(prev, e); err == nil && bytes.Equal(h, e.Hash) {
		return &AuditBreak{Kind: AuditChanged, Seq: e.Seq, Event: e,
			Reason: "its prev_hash differs from what was written"}
	}
	return &AuditBreak{Kind: AuditReordered, Seq: e.Seq, Event: e,
		Reason: "it was written after another event than the one now before it: events were reordered or renumbered"}
}

// The audit log as people read it: the query of GET .../audit-events, its
// CSV export and the audit page, and each action in words.

// AuditQuery selects a page of an account's audit log, newest first: by at,
// then by seq (the chain's order), descending. Every filter set narrows it.
type AuditQuery struct {
	ActorID  string   // events this user did; "" any actor (unless Operator)
	Operator bool     // only the operator's events (an empty actor id)
	Actions  []string // events of one of these actions; empty: any
	TargetID string   // events done to this user; "" any
	// Since and Until bound at to the half-open range [Since, Until); the
	// zero time leaves that end open.
	Since, Until time.Time
	Limit        int
	After        *AuditCursor // the page after (older than) this position; nil: the newest page
	Before       *AuditCursor // or the page before (newer than) it; at most one of After and Before
}

// AuditCursor is a keyset position in the audit log: the event a page
// continues after (older) or, with Back, the event the page before ends
// before (newer).
type AuditCursor struct {
	At   int64 `json:"t"` // Unix microseconds, as stored
	Seq  int64 `json:"s"`
	Back bool  `json:"b,omitempty"`
}

// Encode returns the opaque form of c.
func (c *AuditCursor) Encode() string {
	b, _ := json.Marshal(c)
	return base64.RawURLEncoding.EncodeToString(b)
}

// AuditCursorAfter is the position after e, where the next page starts.
func AuditCursorAfter(e *AuditEvent) *AuditCursor { return &AuditCursor{At: Micros(e.At), Seq: e.Seq} }

// AuditCursorBefore is the position before e, where the previous page ends.
func AuditCursorBefore(e *AuditEvent) *AuditCursor {
	return &AuditCursor{At: Micros(e.At), Seq: e.Seq, Back: true}
}

func decodeAuditCursor(s string) (*AuditCursor, bool) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || len(b) > 200 {
		return nil, false
	}
	var c AuditCursor
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil || dec.More() || c.Seq < 1 || c.At < 0 {
		return nil, false
	}
	return &c, true
}

// AuditPage is one page of the audit log. Items carry Seq and Hash, not
// PrevHash.
type AuditPage struct {
	Items      []*AuditEvent
	NextCursor *AuditCursor // nil when the page is the last one
	PrevCursor *AuditCursor // nil on the first (newest) page
}

// MaxAuditActions bounds how many actions one query names.
const MaxAuditActions = 20

// AuditParams is a raw audit log query, as strings from a URL. Action
// values may each be a comma-separated list.
type AuditParams struct {
	Actor, Target string
	Actions       []string
	Since, Until  string
	Limit, Cursor string
}

// ParseAuditParams validates raw audit log parameters. Errors are
// CodeBadRequest naming each offending parameter.
func ParseAuditParams(in AuditParams) (AuditQuery, error) {
	var p Problems
	q := AuditQuery{Limit: DefaultLimit}
	switch a := strings.TrimSpace(in.Actor); {
	case a == "":
	case a == "operator":
		q.Operator = true
	case ValidID(a):
		q.ActorID = a
	default:
		p.Add("actor", "actor must be a user id or operator; got %s.", quoteShort(a))
	}
	switch t := strings.TrimSpace(in.Target); {
	case t == "":
	case ValidID(t):
		q.TargetID = t
	default:
		p.Add("target", "target must be a user id; got %s.", quoteShort(t))
	}
	unknown := ""
	for _, v := range in.Actions {
		for _, a := range strings.Split(v, ",") {
			a = strings.TrimSpace(a)
			switch {
			case a == "":
			case AuditActionWords(a) == "":
				if unknown == "" {
					unknown = a
				}
			case !slices.Contains(q.Actions, a):
				q.Actions = append(q.Actions, a)
			}
		}
	}
	if unknown != "" {
		p.Add("action", "Unknown action %s: use one of %s.", quoteShort(unknown), strings.Join(AuditActions(), ", "))
	}
	if len(q.Actions) > MaxAuditActions {
		p.Add("action", "At most %d actions can be named at once.", MaxAuditActions)
	}
	parseTime := func(name, s string) time.Time {
		s = strings.TrimSpace(s)
		if s == "" {
			return time.Time{}
		}
		t, err := time.Parse(time.RFC3339Nano, s)
		if err != nil || t.Year() < 1970 || t.Year() > 9999 {
			p.Add(name, "%s must be an RFC 3339 date-time such as 2026-11-01T00:00:00Z; got %s.", name, quoteShort(s))
			return time.Time{}
		}
		return t.UTC()
	}
	q.Since, q.Until = parseTime("since", in.Since), parseTime("until", in.Until)
	if !q.Since.IsZero() && !q.Until.IsZero() && !q.Since.Before(q.Until) {
		p.Add("until", "until must be later than since: the range is from since up to, not including, until.")
	}
	if in.Limit != "" {
		// The same page sizes as the users list.
		lq, err := ParseListParams(ListParams{Limit: in.Limit})
		if e, ok := err.(*Error); ok {
			p = append(p, e.Fields...)
		} else {
			q.Limit = lq.Limit
		}
	}
	if in.Cursor != "" {
		c, ok := decodeAuditCursor(in.Cursor)
		switch {
		case !ok:
			p.Add("cursor", "The cursor is not valid: pass next_cursor or prev_cursor from a previous page unchanged.")
		case c.Back:
			q.Before = c
		default:
			q.After = c
		}
	}
	if len(p) > 0 {
		return AuditQuery{}, &Error{Code: CodeBadRequest, Message: "Some audit log parameters are not valid; see errors.", Fields: p}
	}
	return q, nil
}

// AuditEvents returns a page of an account's audit log. Errors:
// CodeForbidden, CodeNotFound, CodeBadRequest.
func (s *Service) AuditEvents(ctx context.Context, actor *Actor, accountID string, q AuditQuery) (*AuditPage, error) {
	if err := actor.authorize(accountID, "team.manage"); err != nil {
		return nil, err
	}
	if q.Limit <= 0 {
		q.Limit = DefaultLimit
	}
	q.Limit = min(q.Limit, MaxLimit)
	if q.After != nil && q.Before != nil {
		return nil, &Error{Code: CodeBadRequest, Message: "The cursor is not valid.",
			Fields: []FieldError{{Field: "cursor", Message: "A page continues after one cursor or ends before one, not both."}}}
	}
	return s.store.AuditEvents(ctx, accountID, q)
}

// AuditExportBatch is how many events an export reads at a time.
const AuditExportBatch = 1000

// ExportAuditEvents calls fn with every event q selects, newest first,
// reading AuditExportBatch events at a time (q's cursors and limit are
// ignored), so that a log of any size streams in bounded memory. Events
// appended meanwhile are newer than the first batch and left out. Errors:
// CodeForbidden, CodeNotFound, and what fn returns.
func (s *Service) ExportAuditEvents(ctx context.Context, actor *Actor, accountID string, q AuditQuery, fn func(*AuditEvent) error) error {
	if err := actor.authorize(accountID, "team.manage"); err != nil {
		return err
	}
	if _, err := s.store.Account(ctx, accountID); err != nil {
		return err
	}
	return eachAuditEvent(ctx, s.store, accountID, q, fn)
}

// eachAuditEvent pages through the events q selects, newest first.
func eachAuditEvent(ctx context.Context, st Store, accountID string, q AuditQuery, fn func(*AuditEvent) error) error {
	q.Limit, q.After, q.Before = AuditExportBatch, nil, nil
	for {
		page, err := st.AuditEvents(ctx, accountID, q)
		if err != nil {
			return err
		}
		for _, e := range page.Items {
			if err := fn(e); err != nil {
				return err
			}
		}
		if page.NextCursor == nil {
			return nil
		}
		q.After = page.NextCursor
	}
}

// auditActions are the known actions, in the order a person would look for
// them, and each in words, as a past-tense sentence without its actor and
// target: "Revoked access for" + " Ada Lovelace".
var auditActions = []struct{ action, words string }{
	{ActionUserInvited, "Invited"},
	{ActionUserJoined, "Joined the account"},
	{ActionUserUpdated, "Changed the roles or access deadline of"},
	{ActionUserRevoked, "Revoked access for"},
	{ActionUserRestored, "Restored access for"},
	{ActionInvitationResent, "Resent the invitation to"},
	{ActionUserDeleted, "Deleted"},
	{ActionAPIKeyCreated, "Created an API key"},
	{ActionAPIKeyUpdated, "Changed the API key"},
	{ActionAPIKeyDeleted, "Deleted the API key"},
	{ActionAccountCreated, "Created the account"},
	{ActionAccountUpdated, "Changed the account's settings"},
}

// AuditActions lists the actions the audit log records.
func AuditActions() []string {
	out := make([]string, len(auditActions))
	for i, a := range auditActions {
		out[i] = a.action
	}
	return out
}

// AuditActionWords is an action in words ("Revoked access for"); "" when
// the action is unknown.
func AuditActionWords(action string) string {
	for _, a := range auditActions {
		if a.action == action {
			return a.words
		}
	}
	return ""
}

// Describe is the event in words, without its actor: "Revoked access for
// Ada Lovelace", "Joined the account", "Created an API key “deploy”".
func (e *AuditEvent) Describe() string {
	words := AuditActionWords(e.Action)
	if words == "" {
		words = e.Action
	}
	target := e.TargetName
	if target == "" {
		target = e.TargetEmail
	}
	switch e.Action {
	case ActionUserJoined, ActionAccountCreated, ActionAccountUpdated:
		return words
	case ActionAPIKeyCreated, ActionAPIKeyUpdated, ActionAPIKeyDeleted:
		if name, ok := e.Details["name"].(string); ok && name != "" {
			words += " “" + name + "”"
		}
		if e.TargetID != "" && e.TargetID != e.ActorID && target != "" {
			if e.Action == ActionAPIKeyCreated {
				words += " for " + target
			} else {
				words += " of " + target
			}
		}
		return words
	}
	if target == "" {
		return words
	}
	return words + " " + target
}

// auditAccountsPage is how many account ids VerifyAllAuditChains reads at
// a time.
const auditAccountsPage = 100

// VerifyAllAuditChains verifies the audit chain of every account, in
// order of id, and calls fn with each outcome; it stops at the first error
// of the store or of fn. Accounts created meanwhile may be left out.
func VerifyAllAuditChains(ctx context.Context, s Store, fn func(*AuditVerification) error) error {
	after := ""
	for {
		ids, err := s.AccountIDs(ctx, after, auditAccountsPage)
		if err != nil {
			return err
		}
		for _, id := range ids {
			v, err := VerifyAuditChain(ctx, s, id)
			if err != nil {
				return fmt.Errorf("account %s: %w", id, err)
			}
			if err := fn(v); err != nil {
				return err
			}
		}
		if len(ids) < auditAccountsPage {
			return nil
		}
		after = ids[len(ids)-1]
	}
}
