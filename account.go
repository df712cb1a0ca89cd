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

// AccountSettings is what the operator controls in an account, as the
// operator API and `roster account update` print it.
type AccountSettings struct {
	ID             string   `json:"id"`
	Name           string   `json:"name"`
	EnabledRoles   []RoleID `json:"enabled_roles"`   // the additional roles users may be given
	AllowedDomains []string `json:"allowed_domains"` // empty: any domain may be invited
}

// Settings returns the operator's view of the account.
func (a *Account) Settings() AccountSettings {
	out := AccountSettings{ID: a.ID, Name: a.Name, EnabledRoles: a.EnabledRoles.IDs(), AllowedDomains: a.AllowedDomains}
	if out.AllowedDomains == nil {
		out.AllowedDomains = []string{}
	}
	return out
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
