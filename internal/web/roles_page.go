package web

import (
	"net/http"
	"slices"

	"roster"
)

// The Roles page (/roles) shows the permission catalogue: every feature a
// role can grant, grouped by area, against every role, with the Expert's
// two access levels as columns of their own. It is the same catalogue as
// GET /api/v1/roles, for anyone signed in.

// rolesView is the data of templates/roles.html.
type rolesView struct {
	Columns []roleColumn
	Areas   []areaRows
	Span    int // the table's columns: the feature and each role
}

// roleColumn is one role, or one Expert access level.
type roleColumn struct {
	Name, Description, Note string
	perms                   []string
}

// areaRows is the features of one area.
type areaRows struct {
	Area string
	Rows []featureRow
}

// featureRow is one feature and, per column, whether it is granted.
type featureRow struct {
	roster.Permission
	Granted []bool
}

// rolesPage shows the catalogue.
func (s *server) rolesPage(w http.ResponseWriter, r *http.Request, pr *pageRequest) error {
	return s.render(w, r, pr, http.StatusOK, "roles", "Roles and what they allow", nil, catalogueView())
}

// catalogueView lays the role catalogue out as columns and rows.
func catalogueView() rolesView {
	var v rolesView
	for _, role := range roster.Roles {
		if role.ID != roster.RoleExpert {
			c := roleColumn{Name: role.Name, Description: role.Description, perms: role.Permissions}
			if role.Additional {
				c.Note = "Additional role: the operator enables it per account."
			}
			v.Columns = append(v.Columns, c)
			continue
		}
		for _, l := range roster.AccessLevels {
			v.Columns = append(v.Columns, roleColumn{Name: roster.RoleLabel(role.ID, l.ID), Description: l.Description,
				Note: "Operator staff only, until an access deadline.", perms: l.Permissions})
		}
	}
	v.Span = len(v.Columns) + 1
	for _, p := range roster.Permissions {
		if len(v.Areas) == 0 || v.Areas[len(v.Areas)-1].Area != p.Area {
			v.Areas = append(v.Areas, areaRows{Area: p.Area})
		}
		row := featureRow{Permission: p}
		for _, c := range v.Columns {
			row.Granted = append(row.Granted, slices.Contains(c.perms, p.ID))
		}
		a := &v.Areas[len(v.Areas)-1]
		a.Rows = append(a.Rows, row)
	}
	return v
}
