package roster

// Authorize is the check every route of the server makes before its handler
// runs, from the policy table of internal/web: nil when the actor may use
// permission in the account; CodeNotFound when the actor belongs to another
// account (so that account looks exactly like a missing one), CodeForbidden
// when their roles lack the permission. The service checks again inside
// every method, for the callers that do not come through HTTP.
func (a *Actor) Authorize(accountID, permission string) error {
	return a.authorize(accountID, permission)
}

// PermissionByID returns the catalogue entry of a permission.
func PermissionByID(id string) (Permission, bool) {
	for _, p := range Permissions {
		if p.ID == id {
			return p, true
		}
	}
	return Permission{}, false
}
