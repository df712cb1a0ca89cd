package roster

import (
	"context"
	"testing"
	"time"
)

// TestCheckGrantCountsTheLevel: raising an Expert's access level gives the
// role anew at that level, so it needs every permission of the level. No
// built-in role holds team.manage without everything, so the rule is tested
// on checkGrant itself.
func TestCheckGrantCountsTheLevel(t *testing.T) {
	actor := &Actor{Roles: NewRoleSet(RoleExpert, RoleSupport), ExpertAccess: AccessReadOnly}
	readOnly := Access{Roles: NewRoleSet(RoleExpert), Expert: AccessReadOnly}
	write := Access{Roles: NewRoleSet(RoleExpert), Expert: AccessLimitedWrite}
	err := checkGrant(actor, readOnly, write)
	want := "You cannot give the Expert (limited write) role: it grants flows.manage, platform.configure, tools.use, which you do not have."
	if ErrorCode(err) != CodeForbidden || ErrorMessage(err) != want {
		t.Errorf("raise the level = %v, want forbidden: %s", err, want)
	}
	for name, tc := range map[string][2]Access{
		"keep the level":  {readOnly, readOnly},
		"lower the level": {write, readOnly},
		"remove Expert":   {write, {Roles: NewRoleSet(RoleSupport)}},
		"add read-only":   {{Roles: NewRoleSet(RoleSupport)}, {Roles: NewRoleSet(RoleSupport, RoleExpert), Expert: AccessReadOnly}},
	} {
		if err := checkGrant(actor, tc[0], tc[1]); err != nil {
			t.Errorf("%s = %v, want allowed", name, err)
		}
	}
	if err := checkGrant(OperatorActor(), readOnly, write); err != nil {
		t.Errorf("the operator raises the level = %v", err)
	}
}

// claimTx is a transaction that knows only ClaimAccessEnd, which it grants
// once per user and deadline, as the stores do.
type claimTx struct {
	Tx
	claimed map[string]bool
}

func (c *claimTx) ClaimAccessEnd(_ context.Context, _, userID string, until time.Time) (bool, error) {
	k := userID + until.String()
	if c.claimed[k] {
		return false, nil
	}
	c.claimed[k] = true
	return true, nil
}

// TestEndReason: revoking or deleting reports a running Expert's access
// once, with the reason given; an expired Expert's end is reported as
// expired, once, by whoever claims it first; nothing else is reported.
func TestEndReason(t *testing.T) {
	now := time.Date(2025, 6, 2, 10, 0, 0, 0, time.UTC)
	tx := &claimTx{claimed: map[string]bool{}}
	expert := func(id string, st Status, until time.Time) *User {
		return &User{ID: id, Roles: NewRoleSet(RoleExpert), ExpertAccess: AccessReadOnly, Status: st, AccessUntil: until}
	}
	for _, tc := range []struct {
		name string
		u    *User
		want string
	}{
		{"running Expert", expert("a", StatusActive, now.Add(time.Nanosecond)), ExpertEndDeleted},
		{"expired Expert", expert("b", StatusActive, now), ExpertEndExpired},
		{"expired Expert, already reported", expert("b", StatusActive, now), ""},
		{"revoked Expert (reported when revoked)", expert("c", StatusInactive, now.Add(time.Hour)), ""},
		{"invited Expert (never had access)", expert("d", StatusInvited, now.Add(time.Hour)), ""},
		{"Support", &User{ID: "e", Roles: NewRoleSet(RoleSupport), Status: StatusActive, AccessUntil: now}, ""},
	} {
		got, err := endReason(t.Context(), tx, tc.u, ExpertEndDeleted, now)
		if err != nil || got != tc.want {
			t.Errorf("%s: endReason = %q, %v; want %q", tc.name, got, err, tc.want)
		}
	}
	// Restoring an Expert whose deadline passed while revoked starts a
	// period that ends at once: it is marked, so never reported.
	u := expert("f", StatusActive, now.Add(-time.Hour))
	if err := restartAccessPeriod(t.Context(), tx, u, now); err != nil {
		t.Fatal(err)
	}
	if got, _ := endReason(t.Context(), tx, u, ExpertEndDeleted, now); got != "" {
		t.Errorf("after restoring past the deadline: endReason = %q, want nothing to report", got)
	}
}
