package roster

import (
	"slices"
	"strings"
)

// AccessLevel is what an Expert may do in the account: read only, or also
// change configuration and flows. Only a user holding the Expert role has
// one; the ids are part of the public API.
type AccessLevel string

// The Expert access levels.
const (
	AccessReadOnly     AccessLevel = "read_only"
	AccessLimitedWrite AccessLevel = "limited_write"
)

// AccessLevelInfo is one Expert access level of the catalogue.
type AccessLevelInfo struct {
	ID          AccessLevel `json:"id"`
	Name        string      `json:"name"`
	Description string      `json:"description"`
	Permissions []string    `json:"permissions"`
}

// expertReadOnly is what every Expert may do: look, never change.
var expertReadOnly = []string{"logs.view", "analytics.view", "flows.view", "numbers.view", "platform.view"}

// AccessLevels is the catalogue of Expert access levels, least first.
// Limited write adds changing communication flows and the platform
// configuration, and the tools those need; never billing, usage and
// balance, recharges, numbers, campaigns, API credentials or the team.
var AccessLevels = []AccessLevelInfo{
	{ID: AccessReadOnly, Name: "Read-only", Description: "Can look at logs, analytics, numbers, communication flows and the platform configuration, and change nothing.",
		Permissions: expertReadOnly},
	{ID: AccessLimitedWrite, Name: "Limited write", Description: "Can also change communication flows and the platform configuration and use the tools; never billing, usage and balance, recharges or user management.",
		Permissions: append(slices.Clip(expertReadOnly), "flows.manage", "platform.configure", "tools.use")},
}

// AccessLevelByID returns the catalogue entry of a level.
func AccessLevelByID(id AccessLevel) (AccessLevelInfo, bool) {
	for _, l := range AccessLevels {
		if l.ID == id {
			return l, true
		}
	}
	return AccessLevelInfo{}, false
}

// Name is the level as people read it: "Read-only", "Limited write"; "" for none.
func (l AccessLevel) Name() string {
	info, _ := AccessLevelByID(l)
	return info.Name
}

// Access is what a user holds: roles and, with the Expert role, an access
// level. Its permissions are the union over the roles, the Expert's chosen
// by the level (read-only when the level is missing or unknown).
type Access struct {
	Roles  RoleSet
	Expert AccessLevel
}

// rolePermissions returns the permissions role id grants at this level.
func (a Access) rolePermissions(id RoleID) []string {
	if id == RoleExpert {
		if l, ok := AccessLevelByID(a.Expert); ok {
			return l.Permissions
		}
		return expertReadOnly
	}
	r, _ := RoleByID(id)
	return r.Permissions
}

// RolePermissions returns the permissions the role id grants, the Expert's
// at level (read-only for an unknown level).
func RolePermissions(id RoleID, level AccessLevel) []string {
	return Access{Expert: level}.rolePermissions(id)
}

// Can reports whether the roles grant permission.
func (a Access) Can(permission string) bool {
	for _, id := range a.Roles.IDs() {
		if slices.Contains(a.rolePermissions(id), permission) {
			return true
		}
	}
	return false
}

// Grants returns every permission held, in catalogue order, with the roles
// that grant it.
func (a Access) Grants() []Grant {
	var out []Grant
	ids := a.Roles.IDs()
	for _, p := range Permissions {
		var by []RoleID
		for _, id := range ids {
			if slices.Contains(a.rolePermissions(id), p.ID) {
				by = append(by, id)
			}
		}
		if len(by) > 0 {
			g := Grant{Permission: p, GrantedBy: by}
			if slices.Contains(by, RoleExpert) {
				g.ExpertAccess = a.level()
			}
			out = append(out, g)
		}
	}
	return out
}

// level is the Expert's effective level.
func (a Access) level() AccessLevel {
	if _, ok := AccessLevelByID(a.Expert); ok {
		return a.Expert
	}
	return AccessReadOnly
}

// Access returns what the user holds.
func (u *User) Access() Access { return Access{Roles: u.Roles, Expert: u.ExpertAccess} }

// RoleLabel names a role for people, the Expert with its level: "Expert
// (read-only)".
func RoleLabel(id RoleID, level AccessLevel) string {
	r, _ := RoleByID(id)
	if id == RoleExpert && level != "" {
		return r.Name + " (" + strings.ToLower(level.Name()) + ")"
	}
	return r.Name
}
