package web

import (
	"net/http"
	"strings"
	"testing"

	"roster"
	"roster/internal/testdb"
)

// TestRolesPage checks that the Roles page shows every feature of the
// catalogue against every role and Expert access level, as the catalogue
// says, to anyone signed in.
func TestRolesPage(t *testing.T) {
	testdb.Each(t, func(t *testing.T, s roster.Store) {
		e := newPageEnv(t, s)
		e.mustSetup(t)
		e.browser(t).get(t, "/roles").redirects(t, "/sign-in?next=%2Froles")
		b := e.browser(t)
		b.signIn(t, adminEmail, adminPassword)
		p := b.get(t, "/roles").want(t, http.StatusOK)
		for _, perm := range roster.Permissions {
			p.has(t, perm.Name, perm.Area)
		}
		p.has(t, "Expert (read-only)", "Expert (limited write)", "Additional role: the operator enables it per account.")
		// Row by row, the marks follow the catalogue.
		v := catalogueView()
		cells, yes := 0, 0
		for _, a := range v.Areas {
			for _, row := range a.Rows {
				for i, c := range v.Columns {
					want := false
					switch {
					case strings.HasPrefix(c.Name, "Expert"):
						level := roster.AccessReadOnly
						if strings.Contains(c.Name, "limited") {
							level = roster.AccessLimitedWrite
						}
						want = (roster.Access{Roles: roster.NewRoleSet(roster.RoleExpert), Expert: level}).Can(row.ID)
					default:
						for _, r := range roster.Roles {
							if r.Name == c.Name {
								want = (roster.Access{Roles: roster.NewRoleSet(r.ID)}).Can(row.ID)
							}
						}
					}
					if row.Granted[i] != want {
						t.Errorf("%s under %s: shown %v, the catalogue says %v", row.ID, c.Name, row.Granted[i], want)
					}
					cells++
					if want {
						yes++
					}
				}
			}
		}
		if want := len(roster.Permissions) * (len(roster.Roles) + 1); cells != want {
			t.Errorf("the table has %d cells, want %d (every feature by every role and level)", cells, want)
		}
		if got := strings.Count(p.body, `class="yes"`); got != yes {
			t.Errorf("the page marks %d cells yes, the catalogue %d", got, yes)
		}
	})
}
