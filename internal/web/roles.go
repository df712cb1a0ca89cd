package web

import (
	"net/http"

	"roster"
)

// roleJSON is a role of the catalogue with its permissions spelt out. The
// Expert's permissions depend on the access level: Permissions holds what
// every Expert has (read-only), AccessLevels what each level grants.
type roleJSON struct {
	ID           roster.RoleID              `json:"id"`
	Name         string                     `json:"name"`
	Description  string                     `json:"description"`
	Additional   bool                       `json:"additional"`
	StaffOnly    bool                       `json:"staff_only"`
	Permissions  []roster.Permission        `json:"permissions"`
	AccessLevels map[string]accessLevelJSON `json:"access_levels,omitempty"`
}

// accessLevelJSON is one Expert access level.
type accessLevelJSON struct {
	Name        string              `json:"name"`
	Description string              `json:"description"`
	Permissions []roster.Permission `json:"permissions"`
}

type rolesJSON struct {
	Items []roleJSON `json:"items"`
}

// permissionsOf spells out permission ids, in their order.
func permissionsOf(ids []string) []roster.Permission {
	perms := make([]roster.Permission, 0, len(ids))
	for _, id := range ids {
		for _, p := range roster.Permissions {
			if p.ID == id {
				perms = append(perms, p)
			}
		}
	}
	return perms
}

// listRoles answers the role catalogue to any authenticated caller.
func (s *server) listRoles(w http.ResponseWriter, r *http.Request, _ *roster.Actor) error {
	out := rolesJSON{Items: make([]roleJSON, len(roster.Roles))}
	for i, role := range roster.Roles {
		out.Items[i] = roleJSON{ID: role.ID, Name: role.Name, Description: role.Description,
			Additional: role.Additional, StaffOnly: role.StaffOnly, Permissions: permissionsOf(role.Permissions)}
		if role.ID == roster.RoleExpert {
			out.Items[i].AccessLevels = map[string]accessLevelJSON{}
			for _, l := range roster.AccessLevels {
				out.Items[i].AccessLevels[string(l.ID)] = accessLevelJSON{Name: l.Name, Description: l.Description,
					Permissions: permissionsOf(l.Permissions)}
			}
		}
	}
	return writeJSON(w, http.StatusOK, out)
}
