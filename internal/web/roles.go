package web

import (
	"net/http"

	"roster"
)

// roleJSON is a role of the catalogue with its permissions spelt out.
type roleJSON struct {
	ID          roster.RoleID       `json:"id"`
	Name        string              `json:"name"`
	Description string              `json:"description"`
	Additional  bool                `json:"additional"`
	StaffOnly   bool                `json:"staff_only"`
	Permissions []roster.Permission `json:"permissions"`
}

type rolesJSON struct {
	Items []roleJSON `json:"items"`
}

// listRoles answers the role catalogue to any authenticated caller.
func (s *server) listRoles(w http.ResponseWriter, r *http.Request, _ *roster.Actor) error {
	out := rolesJSON{Items: make([]roleJSON, len(roster.Roles))}
	for i, role := range roster.Roles {
		perms := make([]roster.Permission, 0, len(role.Permissions))
		for _, id := range role.Permissions {
			for _, p := range roster.Permissions {
				if p.ID == id {
					perms = append(perms, p)
				}
			}
		}
		out.Items[i] = roleJSON{ID: role.ID, Name: role.Name, Description: role.Description,
			Additional: role.Additional, StaffOnly: role.StaffOnly, Permissions: perms}
	}
	return writeJSON(w, http.StatusOK, out)
}
