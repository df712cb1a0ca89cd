package roster

import "time"

// Account is one customer company (tenant).
type Account struct {
	ID             string
	Name           string
	EnabledRoles   RoleSet  // additional roles the operator enabled
	AllowedDomains []string // empty: any domain may be invited
	CreatedAt      time.Time
	UpdatedAt      time.Time
}

// AllowsDomain reports whether the domain policy admits an email domain.
func (a *Account) AllowsDomain(domain string) bool {
	if len(a.AllowedDomains) == 0 {
		return true
	}
	for _, d := range a.AllowedDomains {
		if d == domain {
			return true
		}
	}
	return false
}

// CreateAccountInput is what the operator gives `roster account create`.
type CreateAccountInput struct {
	Name           string
	AdminEmail     string
	AdminFirstName string
	AdminLastName  string
	AdminPassword  string // "": the first Admin is invited instead
}

// UpdateAccountInput is what the operator gives `roster account update`.
type UpdateAccountInput struct {
	EnableRoles         []RoleID
	DisableRoles        []RoleID
	AllowedDomains      []string // added to the list
	ClearAllowedDomains bool     // applied before AllowedDomains
}

// MaxAccountNameLen bounds account names.
const MaxAccountNameLen = 100
