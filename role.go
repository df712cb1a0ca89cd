package roster

import (
	"math/bits"
	"strings"
)

// Permission is one feature of the platform that a role can grant.
type Permission struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	Area        string `json:"area"`
	Description string `json:"description"`
}

// The permission catalogue. Ids are part of the public API.
var Permissions = []Permission{
	{"team.manage", "Manage team", "Team", "Invite users, change their roles, revoke, restore and delete them."},
	{"api_keys.manage", "Manage API credentials", "API credentials", "Create, list, disable and delete API keys."},
	{"billing.manage", "Manage billing", "Billing", "See invoices and change billing details."},
	{"usage.view", "View usage and balance", "Usage and balance", "See usage reports and the account balance."},
	{"recharges.manage", "Recharge the account", "Recharges", "Buy credit and manage automatic recharges."},
	{"logs.view", "View logs", "Logs", "Read message and call logs."},
	{"analytics.view", "View analytics", "Analytics", "Open the analytics dashboards."},
	{"flows.view", "View communication flows", "Communication flows", "Open communication flows and their settings, read-only."},
	{"flows.manage", "Design communication flows", "Communication flows", "Create and change communication flows."},
	{"campaigns.manage", "Manage campaigns", "Campaigns", "Create, schedule and stop campaigns on every channel."},
	{"tools.use", "Use tools", "Tools", "Use the platform's tools offerings."},
	{"whatsapp.channel", "WhatsApp channel", "WhatsApp", "Use the WhatsApp channel."},
	{"whatsapp.campaigns", "WhatsApp campaigns", "WhatsApp", "Launch WhatsApp campaigns."},
	{"numbers.view", "View numbers", "Numbers", "Open the Numbers page, read-only."},
	{"numbers.manage", "Manage numbers", "Numbers", "Buy, configure and release numbers."},
	{"platform.view", "View platform configuration", "Platform configuration", "See the account's platform configuration, read-only."},
	{"platform.configure", "Configure the platform", "Platform configuration", "Change the account's platform configuration."},
}

// RoleID names a built-in role; the ids are part of the public API.
type RoleID string

// The built-in roles.
const (
	RoleAdmin                RoleID = "admin"
	RoleCommunicationManager RoleID = "communication_manager"
	RoleSupport              RoleID = "support"
	RoleExpert               RoleID = "expert"
	RoleWhatsAppOnly         RoleID = "whatsapp_only"
	RoleNumbersReadOnly      RoleID = "numbers_read_only"
)

// Role is a named set of permissions.
type Role struct {
	ID          RoleID   `json:"id"`
	Name        string   `json:"name"`
	Description string   `json:"description"`
	Additional  bool     `json:"additional"` // only when the operator enables it for the account
	StaffOnly   bool     `json:"staff_only"` // only for operator staff, with an access deadline
	Permissions []string `json:"permissions"`
}

// Roles is the role catalogue, in display order. The position of a role is its
// bit in a RoleSet, which is stored: append only, never reorder.
var Roles = []Role{
	{ID: RoleAdmin, Name: "Admin", Description: "Can access all features, create and edit the team, manage API credentials and billing, see logs and usage.",
		Permissions: []string{"team.manage", "api_keys.manage", "billing.manage", "usage.view", "recharges.manage", "logs.view", "analytics.view", "flows.view", "flows.manage", "campaigns.manage", "tools.use", "whatsapp.channel", "whatsapp.campaigns", "numbers.view", "numbers.manage", "platform.view", "platform.configure"}},
	{ID: RoleCommunicationManager, Name: "Communication Manager", Description: "Can design communication flows, manage campaigns and use the tools offerings; has access to logs, analytics and usage.",
		Permissions: []string{"flows.view", "flows.manage", "campaigns.manage", "tools.use", "logs.view", "analytics.view", "usage.view"}},
	{ID: RoleSupport, Name: "Support", Description: "Can only access logs and usage.",
		Permissions: []string{"logs.view", "usage.view"}},
	// The Expert's permissions depend on the access level (AccessLevels):
	// Permissions holds what every Expert has, the read-only level.
	{ID: RoleExpert, Name: "Expert", Description: "Operator staff who can support you to resolve any issue or configure the platform, until an access deadline.", StaffOnly: true,
		Permissions: expertReadOnly},
	{ID: RoleWhatsAppOnly, Name: "WhatsApp Only", Description: "Can only access the WhatsApp channel and launch WhatsApp campaigns.", Additional: true,
		Permissions: []string{"whatsapp.channel", "whatsapp.campaigns"}},
	{ID: RoleNumbersReadOnly, Name: "Numbers Read-Only", Description: "Can only access the Numbers page, read-only.", Additional: true,
		Permissions: []string{"numbers.view"}},
}

// RoleByID returns the catalogue entry for id.
func RoleByID(id RoleID) (Role, bool) {
	for _, r := range Roles {
		if r.ID == id {
			return r, true
		}
	}
	return Role{}, false
}

// RoleSet is a set of roles as a bit mask (bit i is Roles[i]). It is stored
// as an integer so that role filters and per-role counts need no join.
type RoleSet uint32

// RoleBit returns the set holding only id, and false for an unknown id.
func RoleBit(id RoleID) (RoleSet, bool) {
	for i, r := range Roles {
		if r.ID == id {
			return 1 << i, true
		}
	}
	return 0, false
}

// NewRoleSet returns the set of the given known roles.
func NewRoleSet(ids ...RoleID) RoleSet {
	var s RoleSet
	for _, id := range ids {
		b, _ := RoleBit(id)
		s |= b
	}
	return s
}

// Has reports whether the set holds id.
func (s RoleSet) Has(id RoleID) bool {
	b, ok := RoleBit(id)
	return ok && s&b != 0
}

// IDs lists the roles of the set in catalogue order.
func (s RoleSet) IDs() []RoleID {
	ids := make([]RoleID, 0, bits.OnesCount32(uint32(s)))
	for i, r := range Roles {
		if s&(1<<i) != 0 {
			ids = append(ids, r.ID)
		}
	}
	return ids
}

// String lists the role ids separated by commas.
func (s RoleSet) String() string {
	var b strings.Builder
	for i, id := range s.IDs() {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(string(id))
	}
	return b.String()
}

// AdditionalRoles is the set of roles the operator must enable per account.
var AdditionalRoles = NewRoleSet(RoleWhatsAppOnly, RoleNumbersReadOnly)

// Grant is one permission a user holds, with the roles that grant it.
// ExpertAccess is the Expert's access level when the Expert role is among
// them, so that "Expert" can be told with its level.
type Grant struct {
	Permission
	GrantedBy    []RoleID    `json:"granted_by"`
	ExpertAccess AccessLevel `json:"expert_access,omitempty"`
}

// Grants returns every permission the set grants, in catalogue order, the
// Expert's at the read-only level. Access.Grants knows the level.
func (s RoleSet) Grants() []Grant { return Access{Roles: s}.Grants() }

// Can reports whether the set grants permission, the Expert's at the
// read-only level; Access.Can (and Actor.Can) know the level.
func (s RoleSet) Can(permission string) bool { return Access{Roles: s}.Can(permission) }
