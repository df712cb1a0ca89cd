package roster

import "testing"

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
