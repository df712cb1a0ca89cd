package web

import (
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"roster"
)

// The Add New User and Edit User forms share the Roles field: one builder
// (newRolePicker) and one template block ("role-picker" in user-form.html).

var (
	addUserFields  = []string{"first_name", "last_name", "email", "roles", "access_until", "expert_access"}
	editUserFields = []string{"roles", "access_until", "expert_access"}
)

// userFormView is the data of user-form.html: Add New User when User is
// nil, else Edit User.
type userFormView struct {
	Action    string
	Back      string // the listing page to return to, already checked
	EmailHint string // the account's allowed email domains, if it has a list
	Roles     rolePicker
	User      *editedUser
}

// editedUser is what the Edit User form shows of the user and carries on:
// the version it was opened at, and the roles and deadline it showed then,
// so that a refused stale save can say what someone else changed.
type editedUser struct {
	Name     string
	Email    string
	Status   roster.Status
	Version  int64
	WasRoles string // role ids, comma-separated
	WasUntil string // the Access till date, "" for none
	WasLevel string // the Expert's access level, "" for none
	Self     bool   // nobody changes their own roles
	// Expired: the access deadline has passed; only a new one is accepted.
	Expired   bool
	ExpiredOn string
}

// rolePicker is the Roles field: a checkbox per role with its description,
// the additional roles only where the operator enabled them, only the roles
// the signed-in person may give (no escalation) besides those the user
// already holds, and the Expert's Access till and Access level, revealed
// (with JavaScript) when Expert is checked.
type rolePicker struct {
	Roles          []roleChoice
	Additional     []roleChoice // those the account has enabled
	AdditionalNote string       // how to get the additional roles the account lacks
	Errors         []string
	// Permissions is what the Edit form's change summary is computed from
	// in the browser (see permissionData); the template writes it as JSON.
	Permissions permissionJSON
}

// roleChoice is one role's checkbox.
type roleChoice struct {
	ID          roster.RoleID
	Name        string
	Description string
	Checked     bool
	Deadline    *deadlineField // only on the Expert
}

// deadlineField is the Access till field and the Access level choice under
// the Expert checkbox. Shown keeps them visible with JavaScript: Expert is
// checked or a date is set.
type deadlineField struct {
	Field  formField
	Levels levelChoice
	Shown  bool
}

// levelChoice is the Expert's Access level: a radio button per level the
// signed-in person may give.
type levelChoice struct {
	Options []levelOption
	Errors  []string
}

type levelOption struct {
	ID          roster.AccessLevel
	Name        string
	Description string
	Checked     bool
}

// newRolePicker builds the Roles field of f with checked ticked, for actor
// changing a user who holds held (0 for a new user). The additional roles
// the account has not enabled are left out, with a word on how to get them;
// so are the roles and levels actor may not give, unless the user holds them.
func newRolePicker(acct *roster.Account, actor *roster.Actor, f *form, checked roster.RoleSet, held roster.Access, staffDomains []string, maxDays int) rolePicker {
	p := rolePicker{Errors: f.Errors["roles"], Permissions: permissionData()}
	var missing []string
	for _, role := range roster.Roles {
		c := roleChoice{ID: role.ID, Name: role.Name, Description: role.Description, Checked: checked.Has(role.ID)}
		if !actor.MayGive(role.ID, roster.AccessReadOnly) && !held.Roles.Has(role.ID) {
			continue
		}
		if role.ID == roster.RoleExpert {
			if len(staffDomains) > 0 {
				c.Description += " Only for operator staff, with an email at " + strings.Join(staffDomains, " or ") + "."
			}
			c.Deadline = &deadlineField{Shown: c.Checked || f.Values["access_until"] != "" || len(f.Errors["access_until"]) > 0 ||
				len(f.Errors["expert_access"]) > 0,
				Field:  newField(f, "access_until", "Access till", "date", "off", deadlineHint(maxDays)),
				Levels: levelChoice{Errors: f.Errors["expert_access"]}}
			for _, l := range roster.AccessLevels {
				if !actor.MayGive(roster.RoleExpert, l.ID) && held.Expert != l.ID {
					continue
				}
				c.Deadline.Levels.Options = append(c.Deadline.Levels.Options, levelOption{ID: l.ID, Name: l.Name,
					Description: l.Description, Checked: f.Values["expert_access"] == string(l.ID)})
			}
		}
		bit, _ := roster.RoleBit(role.ID)
		switch {
		case bit&roster.AdditionalRoles == 0:
			p.Roles = append(p.Roles, c)
		case acct.EnabledRoles&bit != 0:
			p.Additional = append(p.Additional, c)
		default:
			missing = append(missing, role.Name)
		}
	}
	switch len(missing) {
	case 0:
	case 1:
		p.AdditionalNote = "The additional role " + missing[0] + " is not enabled for this account. Contact the support team to enable it."
	default:
		p.AdditionalNote = "The additional roles " + strings.Join(missing, " and ") +
			" are not enabled for this account. Contact the support team to enable them."
	}
	return p
}

// levelInWords words the problem of a missing access level as the form
// shows the choice: the service names the API's values, which a person
// choosing between two radio buttons never sees.
func levelInWords(err error, posted roster.AccessLevel) {
	if posted == "" {
		reword(err, "expert_access", "Choose the Expert's access level: Read-only or Limited write.")
	}
}

// postedLevel returns the Access level chosen in the POSTed form, when
// Expert is ticked: the choice belongs to the Expert, and without scripts
// it is on the page whatever is ticked.
func postedLevel(r *http.Request, roles []roster.RoleID) roster.AccessLevel {
	if !slices.Contains(roles, roster.RoleExpert) {
		return ""
	}
	return roster.AccessLevel(r.PostForm.Get("expert_access"))
}

// permissionJSON is what the Edit form embeds for its change summary: each
// permission's name in catalogue order, each role's permissions and the
// Expert's per access level. The script compares what was held with what
// is ticked.
type permissionJSON struct {
	Names  map[string]string   `json:"names"`
	Order  []string            `json:"order"`
	Roles  map[string][]string `json:"roles"`
	Levels map[string][]string `json:"levels"`
}

// permissionData returns the permissionJSON of the catalogue.
func permissionData() permissionJSON {
	d := permissionJSON{Names: map[string]string{}, Roles: map[string][]string{}, Levels: map[string][]string{}}
	for _, p := range roster.Permissions {
		d.Names[p.ID] = p.Name
		d.Order = append(d.Order, p.ID)
	}
	for _, r := range roster.Roles {
		d.Roles[string(r.ID)] = r.Permissions
	}
	for _, l := range roster.AccessLevels {
		d.Levels[string(l.ID)] = l.Permissions
	}
	return d
}

// postedRoles returns the roles ticked in the POSTed form.
func postedRoles(r *http.Request) []roster.RoleID {
	ids := make([]roster.RoleID, 0, len(r.PostForm["roles"]))
	for _, id := range r.PostForm["roles"] {
		ids = append(ids, roster.RoleID(id))
	}
	return ids
}

// parseDeadline reads the Access till field (a date input) into the end of
// that day, UTC, since access lasts through the day chosen. A value no
// browser's date input sends is recorded on f.
func parseDeadline(f *form, v string) (time.Time, bool) {
	if v == "" {
		return time.Time{}, true
	}
	day, err := time.Parse(time.DateOnly, v)
	if err != nil {
		f.fail("access_until", "Give the last day of access as a date, such as 2026-12-31.")
		return time.Time{}, false
	}
	return day.Add(24*time.Hour - time.Second), true
}

// deadlineValue is a deadline as the Access till field shows it.
func deadlineValue(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.DateOnly)
}

// addUserPath is the Add New User page of an account.
func addUserPath(accountID string) string { return usersPagePath(accountID) + "/new" }

// addUserPage is the Add New User form.
func (s *server) addUserPage(w http.ResponseWriter, r *http.Request, pr *pageRequest) error {
	back := backToList(pr.account.ID, r.URL.Query().Get("back"))
	return s.renderAddUser(w, r, pr, http.StatusOK, newForm(addUserFields), nil, back)
}

// addUserSubmit invites the user and returns to the list, where they show
// as Invitation Sent; on a problem the form comes back with every field's
// message and what was typed, and nothing is stored.
func (s *server) addUserSubmit(w http.ResponseWriter, r *http.Request, pr *pageRequest) error {
	back := backToList(pr.account.ID, r.PostForm.Get("back"))
	f := newForm(addUserFields).fromRequest(r, "first_name", "last_name", "email", "access_until", "expert_access")
	in := roster.InviteInput{FirstName: r.PostForm.Get("first_name"), LastName: r.PostForm.Get("last_name"),
		Email: r.PostForm.Get("email"), Roles: postedRoles(r)}
	in.ExpertAccess = postedLevel(r, in.Roles)
	until, ok := parseDeadline(f, r.PostForm.Get("access_until"))
	if !ok {
		return s.renderAddUser(w, r, pr, http.StatusUnprocessableEntity, f, in.Roles, back)
	}
	if !until.IsZero() {
		in.AccessUntil = &until
	}
	u, err := s.svc.InviteUser(r.Context(), pr.actor, pr.account.ID, in)
	if err == nil {
		s.setFlash(w, "Invitation sent to "+u.FullName()+" ("+u.Email+").")
		return redirect(w, r, back)
	}
	levelInWords(err, in.ExpertAccess)
	if !f.failWith(err) {
		return err
	}
	return s.renderAddUser(w, r, pr, http.StatusUnprocessableEntity, f, in.Roles, back)
}

func (s *server) renderAddUser(w http.ResponseWriter, r *http.Request, pr *pageRequest, status int, f *form, checked []roster.RoleID, back string) error {
	v := userFormView{Action: addUserPath(pr.account.ID), Back: back,
		Roles: newRolePicker(pr.account, pr.actor, f, roster.NewRoleSet(checked...), roster.Access{}, s.svc.StaffDomains(), s.maxAccessDays())}
	if d := pr.account.AllowedDomains; len(d) > 0 {
		v.EmailHint = "Only emails at " + strings.Join(d, ", ") + "."
	}
	return s.render(w, r, pr, status, "user-form", "Add New User", f, v)
}

// editUserPage is the Edit User form: the roles and the access deadline.
// It is also what the list's Edit dialog shows.
func (s *server) editUserPage(w http.ResponseWriter, r *http.Request, pr *pageRequest) error {
	u, err := s.pageUser(r, pr)
	if err != nil {
		return err
	}
	back := backToList(pr.account.ID, r.URL.Query().Get("back"))
	f := newForm(editUserFields, "access_until", deadlineValue(u.AccessUntil), "expert_access", string(u.ExpertAccess))
	return s.renderEditUser(w, r, pr, http.StatusOK, f, u.User, u.Roles, back)
}

// editUserSubmit changes the roles and deadline, provided nobody changed
// the user since the form was opened; otherwise the form shows the user as
// they are now and says what changed.
func (s *server) editUserSubmit(w http.ResponseWriter, r *http.Request, pr *pageRequest) error {
	cur, err := s.pageUser(r, pr)
	if err != nil {
		return err
	}
	back := backToList(pr.account.ID, r.PostForm.Get("back"))
	f := newForm(editUserFields).fromRequest(r, "access_until", "expert_access")
	ids := postedRoles(r)
	level := postedLevel(r, ids)
	in := roster.UpdateInput{Roles: &ids, ExpertAccess: &level}
	// The field shows the deadline's day only: an unchanged day keeps the
	// deadline to the second, wherever in the day it was set (the API
	// takes any time).
	if v := r.PostForm.Get("access_until"); v != deadlineValue(cur.AccessUntil) {
		until, ok := parseDeadline(f, v)
		if !ok {
			return s.renderEditUser(w, r, pr, http.StatusUnprocessableEntity, f, cur.User, roster.NewRoleSet(ids...), back)
		}
		in.AccessUntil = &until
	}
	// A missing or mangled version matches no user: the form is stale.
	version, _ := strconv.ParseInt(r.PostForm.Get("version"), 10, 64)
	u, err := s.svc.UpdateUser(r.Context(), pr.actor, pr.account.ID, cur.ID, in, `"`+strconv.FormatInt(version, 10)+`"`)
	if err == nil {
		s.setFlash(w, updatedMessage(cur.User, u))
		return redirect(w, r, back)
	}
	checked := roster.NewRoleSet(ids...)
	levelInWords(err, level)
	switch roster.ErrorCode(err) {
	case roster.CodePrecondition:
		now, err := s.pageUser(r, pr)
		if err != nil {
			return err
		}
		f = newForm(editUserFields, "access_until", deadlineValue(now.AccessUntil), "expert_access", string(now.ExpertAccess))
		f.fail("", staleMessage(r, now.User))
		return s.renderEditUser(w, r, pr, http.StatusConflict, f, now.User, now.Roles, back)
	case roster.CodeConflict:
		// The last Admin: the refusal concerns the roles, unless the
		// Admin role stays and a deadline was being set. Oneself: the
		// page has no form to point at.
		var e *roster.Error
		errors.As(err, &e)
		field := "roles"
		switch {
		case cur.ID == pr.actor.UserID:
			field = ""
		case checked.Has(roster.RoleAdmin) && in.AccessUntil != nil,
			in.AccessUntil != nil && cur.Status == roster.StatusInactive:
			field = "access_until"
		}
		f.fail(field, e.Message)
		return s.renderEditUser(w, r, pr, http.StatusConflict, f, cur.User, checked, back)
	case roster.CodeInvalid:
		f.failWith(err)
		return s.renderEditUser(w, r, pr, http.StatusUnprocessableEntity, f, cur.User, checked, back)
	}
	return err
}

func (s *server) renderEditUser(w http.ResponseWriter, r *http.Request, pr *pageRequest, status int, f *form, u *roster.User, checked roster.RoleSet, back string) error {
	v := userFormView{Action: usersPagePath(pr.account.ID) + "/" + u.ID + "/edit", Back: back,
		Roles: newRolePicker(pr.account, pr.actor, f, checked, u.Access(), s.svc.StaffDomains(), s.maxAccessDays()),
		User: &editedUser{Name: u.FullName(), Email: u.Email, Status: u.Status, Version: u.Version,
			WasRoles: u.Roles.String(), WasUntil: deadlineValue(u.AccessUntil), WasLevel: string(u.ExpertAccess), Self: u.ID == pr.actor.UserID}}
	if now := s.svc.Now(); u.AccessExpired(now) {
		v.User.Status, v.User.Expired, v.User.ExpiredOn = roster.StatusInactive, true, dayInWords(deadlineValue(u.AccessUntil))
	}
	return s.render(w, r, pr, status, "user-form", "Edit User: "+u.FullName(), f, v)
}

// updatedMessage is the flash after a saved edit, saying what changed.
func updatedMessage(before, after *roster.User) string {
	roles, until := before.Access() != after.Access(), !before.AccessUntil.Equal(after.AccessUntil)
	// What they hold now, so that the Admin sees the change took, without
	// opening the user again.
	now := " They now have: " + orNone(accessNames(after.Access())) + "."
	ends := " Their access has no end date now."
	if !after.AccessUntil.IsZero() {
		ends = " Their access now ends " + when(after.AccessUntil) + "."
	}
	switch {
	case roles && until:
		return "Roles and access deadline of " + after.FullName() + " updated." + now + ends
	case roles:
		return "Roles of " + after.FullName() + " updated." + now
	case until:
		return "Access deadline of " + after.FullName() + " updated." + ends
	}
	return "Nothing to change: " + after.FullName() + " already had these roles and this access deadline."
}

// staleMessage says what someone else changed in u since the form of r was
// opened, comparing with the roles and deadline the form showed then.
func staleMessage(r *http.Request, u *roster.User) string {
	var was roster.RoleSet
	for _, id := range strings.Split(r.PostForm.Get("was_roles"), ",") {
		was |= roster.NewRoleSet(roster.RoleID(id))
	}
	wasUntil, nowUntil := r.PostForm.Get("was_until"), deadlineValue(u.AccessUntil)
	var what, changes []string
	wasAccess := roster.Access{Roles: was, Expert: roster.AccessLevel(r.PostForm.Get("was_level"))}
	if wasAccess != u.Access() {
		what = append(what, "roles")
		changes = append(changes, "the roles are now "+orNone(accessNames(u.Access()))+" (were "+orNone(accessNames(wasAccess))+")")
	}
	if wasUntil != nowUntil {
		what = append(what, "access deadline")
		changes = append(changes, "access till is now "+dayInWords(nowUntil)+" (was "+dayInWords(wasUntil)+")")
	}
	if len(what) == 0 {
		return "Someone else changed " + u.FullName() + " since you opened this form, though not their roles or access deadline. " +
			"Check and save again."
	}
	return "Someone changed " + u.FullName() + "'s " + strings.Join(what, " and ") + " since you opened this form: " +
		strings.Join(changes, "; ") + ". The form shows them as they are now. Check and save again."
}

// dayInWords reads a value of the Access till field: "30 Jun 2025".
func dayInWords(v string) string {
	day, err := time.Parse(time.DateOnly, v)
	if err != nil {
		return "none"
	}
	return day.Format("2 Jan 2006")
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

// maxAccessDays is how many days ahead an access deadline may be.
func (s *server) maxAccessDays() int { return int(s.svc.MaxAccessTime() / (24 * time.Hour)) }

// deadlineHint tells, beside Access till, what the date means and how far
// ahead it may be (0 days: the limit is not known).
func deadlineHint(maxDays int) string {
	h := "Required for an Expert: access ends at the end of this day (UTC)."
	if maxDays > 0 {
		h += " At most " + strconv.Itoa(maxDays) + " days from today."
	}
	return h
}
