package web

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"roster"
)

// detailsView is the Account Details page of one user: every string the
// template shows is decided here, so the template only lays it out.
type detailsView struct {
	User     *roster.UserDetails
	Self     bool   // the Admin is looking at themselves
	Back     string // the Users page as the Admin left it
	Features string // the features page (also its pop-up)

	Roles   string        // role names, the Expert with the access level
	Status  roster.Status // as shown: Inactive when access expired
	Expired bool          // the access deadline has passed while the user is active
	Until   string        // Access Till in words
	Revoked string        // for an inactive user: when and why access was revoked

	Delivery *delivery // an invited user's invitation email
	Actions  []action
}

// delivery says where an invited user's invitation email stands and what the
// Admin can do about it.
type delivery struct {
	Class   string // badge class of the state
	State   string // "Sent", "Waiting to be sent", "Not delivered"
	Text    string
	Advice  string
	Attempt string // the mail server's last answer, when there is one
}

// action is a management link of the details page; each opens its page as a
// pop-up when scripts run.
type action struct {
	Href, Text, Class string
}

// userDetailsPage shows one user of the account: the Account Details page
// the three-dots menu's View Details opens.
func (s *server) userDetailsPage(w http.ResponseWriter, r *http.Request, pr *pageRequest) error {
	d, back, err := s.shownUser(r, pr)
	if err != nil {
		return err
	}
	now := s.svc.Now()
	v := detailsView{User: d, Self: d.ID == pr.actor.UserID, Back: back, Features: userPagePath(d.User, "/features", back),
		Roles: accessNames(d.Access()), Status: d.Status, Expired: expired(d.User, now), Until: accessTill(d.User, now)}
	if v.Expired {
		v.Status = roster.StatusInactive
	}
	if d.Status == roster.StatusInactive {
		v.Revoked = revokedText(d.User)
	}
	if d.Status == roster.StatusInvited {
		v.Delivery = deliveryOf(d.Invitation)
	}
	v.Actions = userActions(d.User, v.Self, v.Expired, back)
	return s.render(w, r, pr, http.StatusOK, "user-details", "Account Details: "+d.FullName(), nil, v)
}

// featuresView lists what a user may do, grouped by area of the platform.
type featuresView struct {
	User    *roster.UserDetails
	Roles   string
	Groups  []featureGroup
	Caveat  string // why the user cannot use them now, if so
	Details string // the details page, where Close leads without scripts
}

type featureGroup struct {
	Area     string
	Features []feature
}

type feature struct {
	Name, Description, GrantedBy string
}

// userFeaturesPage lists every feature (permission) a user has through
// their roles, with the roles that grant it: the View Details pop-up.
func (s *server) userFeaturesPage(w http.ResponseWriter, r *http.Request, pr *pageRequest) error {
	d, back, err := s.shownUser(r, pr)
	if err != nil {
		return err
	}
	v := featuresView{User: d, Roles: accessNames(d.Access()), Groups: featureGroups(d.Access().Grants()),
		Caveat: featuresCaveat(d.User, s.svc.Now()), Details: userPagePath(d.User, "", back)}
	return s.render(w, r, pr, http.StatusOK, "user-features", "Features of "+d.FullName(), nil, v)
}

// shownUser loads the user of the path and the list to return to. A user
// who is not there is CodeNotFound, which errorPage answers with "User not
// found" and the way back to the list, as on every page of one user.
func (s *server) shownUser(r *http.Request, pr *pageRequest) (*roster.UserDetails, string, error) {
	d, err := s.pageUser(r, pr)
	return d, backToList(pr.account.ID, r.URL.Query().Get("back")), err
}

// userPagePath is a page of one user (suffix "" for the details, "/edit", ...)
// carrying the list to return to.
func userPagePath(u *roster.User, suffix, back string) string {
	return usersPagePath(u.AccountID) + "/" + url.PathEscape(u.ID) + suffix + "?back=" + url.QueryEscape(back)
}

// accessNames lists the names of the roles of a, the Expert with its
// access level: "Support, Expert (read-only)".
func accessNames(a roster.Access) string {
	var names []string
	for _, id := range a.Roles.IDs() {
		names = append(names, roster.RoleLabel(id, a.Expert))
	}
	return strings.Join(names, ", ")
}

// expired reports an active user whose access deadline has passed: they
// can no longer sign in although nobody revoked them.
func expired(u *roster.User, now time.Time) bool { return u.AccessExpired(now) }

// accessTill is the Access Till of the details.
func accessTill(u *roster.User, now time.Time) string {
	switch {
	case u.AccessUntil.IsZero():
		return "No end date"
	case expired(u, now):
		return "Ended " + when(u.AccessUntil)
	}
	return when(u.AccessUntil)
}

// revokeReasons are the reasons of the Revoke Access dialog, in its words.
var revokeReasons = map[roster.RevokeReason]string{
	roster.ReasonIssueResolved:   "Issue was resolved",
	roster.ReasonSecurityPrivacy: "Security & Privacy concerns",
	roster.ReasonOther:           "Other",
}

// revokedText says when and why an inactive user's access was revoked.
func revokedText(u *roster.User) string {
	var b strings.Builder
	b.WriteString("Access was revoked")
	if !u.RevokedAt.IsZero() {
		b.WriteString(" on " + when(u.RevokedAt))
	}
	if reason, ok := revokeReasons[u.RevokeReason]; ok {
		b.WriteString(". Reason: " + reason)
		if u.RevokeNote != "" {
			b.WriteString(" (" + u.RevokeNote + ")")
		}
	}
	b.WriteString(". They cannot sign in and their API keys do not work until access is restored.")
	return b.String()
}

// deliveryOf puts an invitation email's state into words with what to do.
func deliveryOf(d *roster.InvitationDelivery) *delivery {
	resend := "If they cannot find it or its link has expired, resend the invitation: it sends a fresh link and the old one stops working."
	switch {
	case d == nil:
		return &delivery{Class: "badge-inactive", State: "No email on record",
			Text:   "Roster has no invitation email for this user.",
			Advice: "Resend the invitation to send them a link to join."}
	case d.State == roster.OutboxSent:
		return &delivery{Class: "badge-active", State: "Sent",
			Text: "The invitation email was sent " + when(d.SentAt) + ".", Advice: resend}
	case d.State == roster.OutboxFailed:
		return &delivery{Class: "badge-expired", State: "Not delivered",
			Text:    "The invitation email could not be delivered after " + attempts(d.Attempts) + ".",
			Advice:  "Check the email address. If it is wrong, delete this user and add them again with the right address; if it is right, resend the invitation.",
			Attempt: d.LastError}
	case d.Attempts > 0 && d.LastError != "":
		return &delivery{Class: "badge-invited", State: "Waiting to be sent",
			Text:    "The mail server did not take the invitation email yet (" + attempts(d.Attempts) + " so far). Roster keeps trying on its own.",
			Advice:  "Nothing to do for now. If this stays so for long, ask your platform operator to check the mail server.",
			Attempt: d.LastError}
	}
	return &delivery{Class: "badge-invited", State: "Waiting to be sent",
		Text:   "The invitation email is queued and normally goes out within a minute.",
		Advice: "Reload this page in a moment to see it sent."}
}

func attempts(n int) string {
	if n == 1 {
		return "1 attempt"
	}
	return strconv.Itoa(n) + " attempts"
}

// userActions are the management actions that apply to the user's status,
// the same as the three-dots menu of the Users page. Nobody revokes or
// deletes themselves, so those are not offered on one's own details.
func userActions(u *roster.User, self, expired bool, back string) []action {
	acts := []action{{userPagePath(u, "/edit", back), "Edit", "secondary"}}
	switch u.Status {
	case roster.StatusActive:
		// An expired user's access is extended (Edit) or they are
		// deleted; revoking is refused.
		if !self && !expired {
			acts = append(acts, action{userPagePath(u, "/revoke", back), "Revoke Access", "secondary"})
		}
	case roster.StatusInactive:
		acts = append(acts, action{userPagePath(u, "/restore", back), "Restore Access", "secondary"})
	case roster.StatusInvited:
		acts = append(acts, action{userPagePath(u, "/resend", back), "Resend Invitation", "secondary"})
	}
	if !self {
		acts = append(acts, action{userPagePath(u, "/delete", back), "Delete", "danger"})
	}
	return acts
}

// featureGroups groups grants by the area of the platform they belong to,
// in catalogue order.
func featureGroups(grants []roster.Grant) []featureGroup {
	var groups []featureGroup
	at := map[string]int{}
	for _, g := range grants {
		i, ok := at[g.Area]
		if !ok {
			i = len(groups)
			at[g.Area] = i
			groups = append(groups, featureGroup{Area: g.Area})
		}
		groups[i].Features = append(groups[i].Features, feature{Name: g.Name, Description: g.Description,
			GrantedBy: accessNames(roster.Access{Roles: roster.NewRoleSet(g.GrantedBy...), Expert: g.ExpertAccess})})
	}
	return groups
}

// featuresCaveat says why a user cannot use their features at the moment.
func featuresCaveat(u *roster.User, now time.Time) string {
	switch {
	case u.Status == roster.StatusInvited:
		return "They can use these features once they accept the invitation."
	case u.Status == roster.StatusInactive:
		return "Their access is revoked: they cannot use these features until access is restored."
	case expired(u, now):
		return "Their access ended " + when(u.AccessUntil) + ": they cannot use these features unless an Admin sets a new Access Till."
	}
	return ""
}
