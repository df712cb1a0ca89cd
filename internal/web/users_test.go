package web

import (
	"net/http"
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"roster"
	"roster/internal/testdb"
)

// userOut is the wire form of a user's details, as a client reads it.
type userOut struct {
	ID          string   `json:"id"`
	AccountID   string   `json:"account_id"`
	FirstName   string   `json:"first_name"`
	LastName    string   `json:"last_name"`
	Email       string   `json:"email"`
	Roles       []string `json:"roles"`
	Status      string   `json:"status"`
	AccessUntil *string  `json:"access_until"`
	InvitedAt   *string  `json:"invited_at"`
	JoinedAt    *string  `json:"joined_at"`
	InvitedBy   struct {
		UserID *string `json:"user_id"`
		Name   string  `json:"name"`
	} `json:"invited_by"`
	RevokedAt     *string `json:"revoked_at"`
	RevokeReason  *string `json:"revoke_reason"`
	RevokeNote    *string `json:"revoke_note"`
	ActiveAPIKeys int     `json:"active_api_keys"`
}

type listOut struct {
	Items      []userOut `json:"items"`
	Total      int       `json:"total"`
	NextCursor *string   `json:"next_cursor"`
	PrevCursor *string   `json:"prev_cursor"`
}

func names(users []userOut) []string {
	out := make([]string, len(users))
	for i, u := range users {
		out[i] = u.FirstName + " " + u.LastName
	}
	return out
}

func TestInviteAndGetUser(t *testing.T) {
	testdb.Each(t, func(t *testing.T, s roster.Store) {
		e := newTestEnv(t, s)
		a := e.mustAccount(t, "Acme")
		rq := request{method: http.MethodPost, path: usersPath(a.id), key: a.key, body: jsonBody(t, map[string]any{
			"first_name": "  Ajay ", "last_name": "Kumar", "email": "Ajay.Kumar@Example.COM",
			"roles": []string{"support", "communication_manager"}})}
		res := e.do(t, rq)
		res.wantStatus(t, rq, http.StatusCreated)
		var u userOut
		res.decode(t, &u)
		if got, want := res.header.Get("Location"), userPath(a.id, u.ID); got != want {
			t.Errorf("Location = %q, want %q", got, want)
		}
		if res.header.Get("ETag") == "" {
			t.Errorf("POST returned no ETag")
		}
		if u.FirstName != "Ajay" || u.Email != "Ajay.Kumar@example.com" || u.Status != "invited" || u.AccountID != a.id ||
			!slices.Equal(u.Roles, []string{"communication_manager", "support"}) || u.AccessUntil != nil || u.JoinedAt != nil ||
			u.InvitedAt == nil || u.InvitedBy.UserID == nil || *u.InvitedBy.UserID != a.admin.ID || u.InvitedBy.Name != "Alice Admin" ||
			u.ActiveAPIKeys != 0 || u.RevokeReason != nil {
			t.Errorf("POST %s = %s, want the invited user with trimmed names, lower-case domain and catalogue-ordered roles", rq.path, res.body)
		}

		get := request{method: http.MethodGet, path: res.header.Get("Location"), key: a.key}
		got := e.do(t, get)
		got.wantStatus(t, get, http.StatusOK)
		if string(got.body) != string(res.body) || got.header.Get("ETag") != res.header.Get("ETag") {
			t.Errorf("GET %s = %s (ETag %s), want what POST returned: %s (ETag %s)", get.path, got.body,
				got.header.Get("ETag"), res.body, res.header.Get("ETag"))
		}

		// An Expert: operator staff with a deadline.
		until := e.svc.Now().Add(48 * time.Hour).Truncate(time.Second)
		rq = request{method: http.MethodPost, path: usersPath(a.id), key: a.key, body: jsonBody(t, map[string]any{
			"first_name": "Esha", "last_name": "Expert", "email": "esha@tatacommunications.com",
			"roles": []string{"expert"}, "access_until": until.Format(time.RFC3339), "expert_access": "read_only"})}
		res = e.do(t, rq)
		res.wantStatus(t, rq, http.StatusCreated)
		res.decode(t, &u)
		if u.AccessUntil == nil || *u.AccessUntil != until.UTC().Format(time.RFC3339) {
			t.Errorf("POST expert: access_until = %v, want %s", u.AccessUntil, until.UTC().Format(time.RFC3339))
		}

		// The Admin reads their own details, with their one API key.
		get = request{method: http.MethodGet, path: userPath(a.id, a.admin.ID), key: a.key}
		got = e.do(t, get)
		got.wantStatus(t, get, http.StatusOK)
		got.decode(t, &u)
		if u.ActiveAPIKeys != 1 || u.Status != "active" || u.JoinedAt == nil || u.InvitedBy.UserID != nil || u.InvitedBy.Name != "Operator" {
			t.Errorf("GET own details = %s, want active, joined, invited by the operator, with 1 active key", got.body)
		}
	})
}

func TestListUsers(t *testing.T) {
	testdb.Each(t, func(t *testing.T, s roster.Store) {
		e := newTestEnv(t, s)
		a := e.mustAccount(t, "Acme")
		e.mustInvite(t, a.id, "Ajay", "Kumar", "ajay@acme.example.com", roster.RoleSupport, roster.RoleCommunicationManager)
		e.mustActiveUser(t, a.id, "Anna", "Bell", "anna@acme.example.com", roster.RoleSupport)
		e.mustInvite(t, a.id, "Zoe", "Annison", "zoe@acme.example.com", roster.RoleAdmin)
		other := e.mustAccount(t, "Other")
		e.mustInvite(t, other.id, "Anne", "Elsewhere", "anne@other.example.com", roster.RoleSupport)

		for _, tc := range []struct {
			query string
			want  []string
		}{
			{"", []string{"Ajay Kumar", "Alice Admin", "Anna Bell", "Zoe Annison"}},
			{"q=ann", []string{"Anna Bell", "Zoe Annison"}},
			{"q=KUMAR", []string{"Ajay Kumar"}},
			{"q=a+bel", []string{"Anna Bell"}},
			{"q=alice%40acme.example.com", []string{"Alice Admin"}},
			{"q=nobody", []string{}},
			{"filter=status:is:active", []string{"Alice Admin", "Anna Bell"}},
			{"filter=status:is:invited&filter=role:is_not:admin", []string{"Ajay Kumar"}},
			{"filter=role:is:support&q=a", []string{"Ajay Kumar", "Anna Bell"}},
			{"filter=status:is_not:inactive&sort=-name", []string{"Zoe Annison", "Anna Bell", "Alice Admin", "Ajay Kumar"}},
			{"sort=email", []string{"Ajay Kumar", "Alice Admin", "Anna Bell", "Zoe Annison"}},
			{"sort=-invited_at&limit=200", []string{"Zoe Annison", "Anna Bell", "Ajay Kumar", "Alice Admin"}},
		} {
			rq := request{method: http.MethodGet, path: usersPath(a.id) + "?" + tc.query, key: a.key}
			res := e.do(t, rq)
			res.wantStatus(t, rq, http.StatusOK)
			var page listOut
			res.decode(t, &page)
			if diff := cmp.Diff(tc.want, names(page.Items)); diff != "" || page.Total != len(tc.want) || page.NextCursor != nil {
				t.Errorf("%s = %v (total %d, next %v), want %v (-want +got):\n%s", rq, names(page.Items), page.Total, page.NextCursor, tc.want, diff)
			}
		}

		// Paging one by one through the cursor visits everyone once, in order.
		var seen []string
		path := usersPath(a.id) + "?sort=-name&limit=1"
		var page listOut
		for range 10 {
			rq := request{method: http.MethodGet, path: path, key: a.key}
			res := e.do(t, rq)
			res.wantStatus(t, rq, http.StatusOK)
			page = listOut{}
			res.decode(t, &page)
			if page.Total != 4 {
				t.Errorf("%s: total = %d, want 4 on every page", rq, page.Total)
			}
			if (page.PrevCursor == nil) != (len(seen) == 0) {
				t.Errorf("%s: prev_cursor = %v, want one on every page but the first", rq, page.PrevCursor)
			}
			seen = append(seen, names(page.Items)...)
			if page.NextCursor == nil {
				break
			}
			path = usersPath(a.id) + "?sort=-name&limit=1&cursor=" + url.QueryEscape(*page.NextCursor)
		}
		if want := []string{"Zoe Annison", "Anna Bell", "Alice Admin", "Ajay Kumar"}; !slices.Equal(seen, want) {
			t.Errorf("paging by one = %v, want %v", seen, want)
		}
		// And back from the last page with prev_cursor.
		var back []string
		for i := 0; page.PrevCursor != nil && i < 10; i++ {
			rq := request{method: http.MethodGet, path: usersPath(a.id) + "?sort=-name&limit=1&cursor=" + url.QueryEscape(*page.PrevCursor), key: a.key}
			res := e.do(t, rq)
			res.wantStatus(t, rq, http.StatusOK)
			page = listOut{}
			res.decode(t, &page)
			back = append(back, names(page.Items)...)
		}
		if want := []string{"Alice Admin", "Anna Bell", "Zoe Annison"}; !slices.Equal(back, want) {
			t.Errorf("paging back by one = %v, want %v", back, want)
		}
	})
}

func TestUpdateUser(t *testing.T) {
	testdb.Each(t, func(t *testing.T, s roster.Store) {
		e := newTestEnv(t, s)
		a := e.mustAccount(t, "Acme")
		target := e.mustInvite(t, a.id, "Ajay", "Kumar", "ajay@acme.example.com", roster.RoleSupport)
		path := userPath(a.id, target.ID)
		get := request{method: http.MethodGet, path: path, key: a.key}
		etag := e.do(t, get).header.Get("ETag")

		patch := func(body, ifMatch string) (*response, request) {
			rq := request{method: http.MethodPatch, path: path, key: a.key, body: body}
			if ifMatch != "" {
				rq.header = map[string]string{"If-Match": ifMatch}
			}
			return e.do(t, rq), rq
		}
		res, rq := patch(`{"roles": ["support", "communication_manager"]}`, etag)
		res.wantStatus(t, rq, http.StatusOK)
		var u userOut
		res.decode(t, &u)
		if !slices.Equal(u.Roles, []string{"communication_manager", "support"}) || res.header.Get("ETag") == etag {
			t.Errorf("%s = %s (ETag %s), want the new roles and a new ETag", rq, res.body, res.header.Get("ETag"))
		}
		newTag := res.header.Get("ETag")

		before := e.snapshot(t, a.id)
		res, rq = patch(`{"roles": ["admin"]}`, etag) // stale
		res.wantStatus(t, rq, http.StatusPreconditionFailed)
		if after := e.snapshot(t, a.id); after != before {
			t.Errorf("a stale PATCH changed the account:\n%s\nwant\n%s", after, before)
		}

		until := e.svc.Now().Add(72 * time.Hour).UTC().Truncate(time.Second).Format(time.RFC3339)
		res, rq = patch(`{"access_until": "`+until+`"}`, "W/"+newTag)
		res.wantStatus(t, rq, http.StatusOK)
		res.decode(t, &u)
		if u.AccessUntil == nil || *u.AccessUntil != until || !slices.Equal(u.Roles, []string{"communication_manager", "support"}) {
			t.Errorf("%s = %s, want access_until %s and the roles unchanged", rq, res.body, until)
		}

		res, rq = patch(`{"access_until": null}`, "*")
		res.wantStatus(t, rq, http.StatusOK)
		res.decode(t, &u)
		if u.AccessUntil != nil {
			t.Errorf("%s = %s, want no deadline", rq, res.body)
		}

		tag := res.header.Get("ETag")
		res, rq = patch(`{}`, "")
		res.wantStatus(t, rq, http.StatusOK)
		if res.header.Get("ETag") != tag {
			t.Errorf("%s changed the ETag from %s to %s, want no change", rq, tag, res.header.Get("ETag"))
		}

		// Nobody changes their own roles.
		rq = request{method: http.MethodPatch, path: userPath(a.id, a.admin.ID), key: a.key, body: `{"roles": ["support"]}`}
		e.do(t, rq).wantStatus(t, rq, http.StatusConflict)
	})
}

func TestUserPermissionsAndRoles(t *testing.T) {
	testdb.Each(t, func(t *testing.T, s roster.Store) {
		e := newTestEnv(t, s)
		a := e.mustAccount(t, "Acme")
		target := e.mustInvite(t, a.id, "Ajay", "Kumar", "ajay@acme.example.com", roster.RoleSupport, roster.RoleCommunicationManager)

		rq := request{method: http.MethodGet, path: userPath(a.id, target.ID) + "/permissions", key: a.key}
		res := e.do(t, rq)
		res.wantStatus(t, rq, http.StatusOK)
		var perms struct {
			Items []struct {
				ID        string   `json:"id"`
				GrantedBy []string `json:"granted_by"`
			} `json:"items"`
		}
		res.decode(t, &perms)
		got := map[string][]string{}
		for _, p := range perms.Items {
			got[p.ID] = p.GrantedBy
		}
		want := map[string][]string{
			"usage.view": {"communication_manager", "support"}, "logs.view": {"communication_manager", "support"},
			"analytics.view": {"communication_manager"}, "flows.manage": {"communication_manager"}, "flows.view": {"communication_manager"},
			"campaigns.manage": {"communication_manager"}, "tools.use": {"communication_manager"},
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s (-want +got):\n%s", rq, diff)
		}

		rq = request{method: http.MethodGet, path: "/api/v1/roles", key: a.key}
		res = e.do(t, rq)
		res.wantStatus(t, rq, http.StatusOK)
		var roles struct {
			Items []struct {
				ID          string `json:"id"`
				Additional  bool   `json:"additional"`
				StaffOnly   bool   `json:"staff_only"`
				Permissions []struct {
					ID string `json:"id"`
				} `json:"permissions"`
				AccessLevels map[string]struct {
					Permissions []struct {
						ID string `json:"id"`
					} `json:"permissions"`
				} `json:"access_levels"`
			} `json:"items"`
		}
		res.decode(t, &roles)
		if len(roles.Items) != len(roster.Roles) {
			t.Fatalf("%s = %d roles, want %d", rq, len(roles.Items), len(roster.Roles))
		}
		for i, r := range roles.Items {
			want := roster.Roles[i]
			var ids []string
			for _, p := range r.Permissions {
				ids = append(ids, p.ID)
			}
			if r.ID != string(want.ID) || r.Additional != want.Additional || r.StaffOnly != want.StaffOnly || !slices.Equal(ids, want.Permissions) {
				t.Errorf("%s: item %d = %+v, want %+v", rq, i, r, want)
			}
			if (len(r.AccessLevels) > 0) != (want.ID == roster.RoleExpert) {
				t.Errorf("%s: item %s has access_levels %v; only the Expert has them", rq, r.ID, r.AccessLevels)
			}
			for _, l := range roster.AccessLevels {
				if want.ID != roster.RoleExpert {
					break
				}
				var ids []string
				for _, p := range r.AccessLevels[string(l.ID)].Permissions {
					ids = append(ids, p.ID)
				}
				if !slices.Equal(ids, l.Permissions) {
					t.Errorf("%s: Expert access level %s = %v, want %v", rq, l.ID, ids, l.Permissions)
				}
			}
		}
	})
}

func TestRevokeRestoreResendDelete(t *testing.T) {
	testdb.Each(t, func(t *testing.T, s roster.Store) {
		e := newTestEnv(t, s)
		a := e.mustAccount(t, "Acme")
		anna, annaKey := e.mustActiveUser(t, a.id, "Anna", "Bell", "anna@acme.example.com", roster.RoleSupport)
		invited := e.mustInvite(t, a.id, "Ajay", "Kumar", "ajay@acme.example.com", roster.RoleSupport)
		annaPath := userPath(a.id, anna.ID)
		annaSelf := request{method: http.MethodGet, path: annaPath, key: annaKey}
		e.do(t, annaSelf).wantStatus(t, annaSelf, http.StatusOK)

		rq := request{method: http.MethodPost, path: annaPath + "/revoke", key: a.key, body: `{"reason": "other", "note": "Left the team."}`}
		res := e.do(t, rq)
		res.wantStatus(t, rq, http.StatusOK)
		var u userOut
		res.decode(t, &u)
		if u.Status != "inactive" || u.RevokedAt == nil || u.RevokeReason == nil || *u.RevokeReason != "other" ||
			u.RevokeNote == nil || *u.RevokeNote != "Left the team." || u.ActiveAPIKeys != 1 || !slices.Equal(u.Roles, []string{"support"}) {
			t.Errorf("%s = %s, want inactive with the reason, the note, the roles and the key kept", rq, res.body)
		}
		e.do(t, annaSelf).wantStatus(t, annaSelf, http.StatusUnauthorized)
		e.do(t, rq).wantStatus(t, rq, http.StatusConflict) // already inactive

		rq = request{method: http.MethodPost, path: annaPath + "/restore", key: a.key}
		res = e.do(t, rq)
		res.wantStatus(t, rq, http.StatusOK)
		res.decode(t, &u)
		if u.Status != "active" || u.RevokedAt != nil || u.RevokeReason != nil || u.RevokeNote != nil {
			t.Errorf("%s = %s, want active without revoke details", rq, res.body)
		}
		e.do(t, annaSelf).wantStatus(t, annaSelf, http.StatusOK) // the key works again
		e.do(t, rq).wantStatus(t, rq, http.StatusConflict)       // already active

		// Resend: only while invited, at most 5 invitations an hour.
		rq = request{method: http.MethodPost, path: annaPath + "/resend-invitation", key: a.key}
		e.do(t, rq).wantStatus(t, rq, http.StatusConflict)
		rq = request{method: http.MethodPost, path: userPath(a.id, invited.ID) + "/resend-invitation", key: a.key}
		sent := 0
		for range 10 {
			res = e.do(t, rq)
			if res.status != http.StatusOK {
				break
			}
			sent++
		}
		res.wantStatus(t, rq, http.StatusTooManyRequests)
		if sent != 4 || res.header.Get("Retry-After") != "3600" {
			t.Errorf("%s: %d resends before 429 with Retry-After %q, want 4 (the invitation was the first) and 3600",
				rq, sent, res.header.Get("Retry-After"))
		}
		for _, action := range []string{"revoke", "restore"} {
			rq := request{method: http.MethodPost, path: userPath(a.id, invited.ID) + "/" + action, key: a.key, body: `{"reason": "issue_resolved"}`}
			if action == "restore" {
				rq.body = ""
			}
			e.do(t, rq).wantStatus(t, rq, http.StatusConflict)
		}

		// Nobody revokes or deletes themselves.
		rq = request{method: http.MethodPost, path: userPath(a.id, a.admin.ID) + "/revoke", key: a.key, body: `{"reason": "issue_resolved"}`}
		e.do(t, rq).wantStatus(t, rq, http.StatusConflict)
		rq = request{method: http.MethodDelete, path: userPath(a.id, a.admin.ID), key: a.key}
		e.do(t, rq).wantStatus(t, rq, http.StatusConflict)

		rq = request{method: http.MethodDelete, path: annaPath, key: a.key}
		res = e.do(t, rq)
		res.wantStatus(t, rq, http.StatusNoContent)
		if len(res.body) != 0 {
			t.Errorf("%s = 204 with body %q, want none", rq, res.body)
		}
		e.do(t, annaSelf).wantStatus(t, annaSelf, http.StatusUnauthorized) // her key died with her
		get := request{method: http.MethodGet, path: annaPath, key: a.key}
		e.do(t, get).wantStatus(t, get, http.StatusNotFound)
		e.do(t, rq).wantStatus(t, rq, http.StatusNotFound)
	})
}

func TestAuditEvents(t *testing.T) {
	testdb.Each(t, func(t *testing.T, s roster.Store) {
		e := newTestEnv(t, s)
		a := e.mustAccount(t, "Acme")
		anna, _ := e.mustActiveUser(t, a.id, "Anna", "Bell", "anna@acme.example.com", roster.RoleSupport)
		annaPath := userPath(a.id, anna.ID)
		for _, step := range []struct {
			rq   request
			want int
		}{
			{request{method: http.MethodPost, path: annaPath + "/revoke", key: a.key, body: `{"reason": "security_privacy"}`}, http.StatusOK},
			{request{method: http.MethodPost, path: annaPath + "/restore", key: a.key}, http.StatusOK},
			{request{method: http.MethodPatch, path: annaPath, key: a.key, body: `{"roles": ["communication_manager"]}`}, http.StatusOK},
			{request{method: http.MethodDelete, path: annaPath, key: a.key}, http.StatusNoContent},
		} {
			e.do(t, step.rq).wantStatus(t, step.rq, step.want)
		}

		type event struct {
			ID     string `json:"id"`
			Action string `json:"action"`
			Actor  struct {
				UserID *string `json:"user_id"`
				Name   *string `json:"name"`
			} `json:"actor"`
			Target *struct {
				UserID *string `json:"user_id"`
				Email  *string `json:"email"`
			} `json:"target"`
			Details map[string]any `json:"details"`
			IP      *string        `json:"ip"`
		}
		var all []event
		path := "/api/v1/accounts/" + a.id + "/audit-events?limit=3"
		for range 10 {
			rq := request{method: http.MethodGet, path: path, key: a.key}
			res := e.do(t, rq)
			res.wantStatus(t, rq, http.StatusOK)
			var page struct {
				Items      []event `json:"items"`
				NextCursor *string `json:"next_cursor"`
			}
			res.decode(t, &page)
			all = append(all, page.Items...)
			if page.NextCursor == nil {
				break
			}
			path = "/api/v1/accounts/" + a.id + "/audit-events?limit=3&cursor=" + url.QueryEscape(*page.NextCursor)
		}
		var actions []string
		for _, ev := range all {
			actions = append(actions, ev.Action)
		}
		want := []string{roster.ActionUserDeleted, roster.ActionUserUpdated, roster.ActionUserRestored, roster.ActionUserRevoked,
			roster.ActionAPIKeyCreated, roster.ActionUserInvited, roster.ActionAPIKeyCreated, roster.ActionAccountCreated}
		if diff := cmp.Diff(want, actions); diff != "" {
			t.Fatalf("audit actions, newest first (-want +got):\n%s", diff)
		}
		del, revoke := all[0], all[3]
		if del.Actor.UserID == nil || *del.Actor.UserID != a.admin.ID || del.IP == nil || *del.IP != "127.0.0.1" ||
			del.Target == nil || del.Target.Email == nil || *del.Target.Email != "anna@acme.example.com" {
			t.Errorf("user.deleted event = %+v, want actor Alice from 127.0.0.1 and target Anna's email", del)
		}
		if revoke.Details["reason"] != "security_privacy" {
			t.Errorf("user.access_revoked details = %v, want reason security_privacy", revoke.Details)
		}
		if op := all[len(all)-1]; op.Actor.UserID != nil || op.Actor.Name == nil || *op.Actor.Name != "Operator" || op.IP != nil {
			t.Errorf("account.created event = %+v, want the operator without user id or IP", op)
		}
	})
}
