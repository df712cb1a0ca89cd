package main

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"roster"
)

func newTestGen(seed uint64, now time.Time) *seedGen {
	g := newSeedGen(seedOptions{accounts: 1, users: 10_000, seed: seed, staffDomain: "staff.example"}, 1, now)
	admin := &roster.User{ID: roster.NewID(now), FirstName: "Ada", LastName: "Admin", Email: "admin@acct1.example"}
	admin.Keys()
	g.startAccount(1, admin)
	return g
}

func TestSeedUsers(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	g := newTestGen(7, now)
	const n = 10_000
	emails := map[string]bool{}
	statuses := map[roster.Status]int{}
	roles := map[roster.RoleSet]int{}
	var lastID string
	var accented, withLogin int
	for i := range n {
		u := g.user("acct")
		var p roster.Problems
		roster.CleanName(&p, "first_name", "First name", u.FirstName)
		roster.CleanName(&p, "last_name", "Last name", u.LastName)
		if e := roster.CleanEmail(&p, "email", u.Email); e != u.Email {
			t.Errorf("user %d: email %q is not in clean form (%q)", i, u.Email, e)
		}
		if len(p) > 0 {
			t.Fatalf("user %d (%s %s <%s>) fails validation: %v", i, u.FirstName, u.LastName, u.Email, p)
		}
		if emails[u.EmailKey] {
			t.Fatalf("user %d: email %s repeats in the account", i, u.Email)
		}
		emails[u.EmailKey] = true
		if !roster.ValidID(u.ID) || u.ID <= lastID {
			t.Fatalf("user %d: id %q is not a valid id after %q", i, u.ID, lastID)
		}
		lastID = u.ID
		if u.NameKey == "" || u.SearchKey == "" || u.Version != 1 || u.InvitedBy != g.admin.ID {
			t.Fatalf("user %d lacks keys, version or inviter: %+v", i, u)
		}
		if u.InvitedAt.After(now) || u.UpdatedAt.Before(u.InvitedAt) || u.UpdatedAt.After(now) {
			t.Errorf("user %d: invited %v, updated %v: not in the past and ordered", i, u.InvitedAt, u.UpdatedAt)
		}
		statuses[u.Status]++
		roles[u.Roles]++
		if utf8.RuneCountInString(u.FirstName+u.LastName) != len(u.FirstName+u.LastName) {
			accented++
		}
		switch u.Status {
		case roster.StatusInvited:
			if !u.JoinedAt.IsZero() || !u.LastLoginAt.IsZero() {
				t.Errorf("invited user %d joined or logged in: %+v", i, u)
			}
		case roster.StatusInactive:
			if u.RevokedAt.IsZero() || u.RevokeReason == "" || (u.RevokeReason == roster.ReasonOther) != (u.RevokeNote != "") {
				t.Errorf("inactive user %d has no revocation, or a note without reason other: %+v", i, u)
			}
		}
		if !u.LastLoginAt.IsZero() {
			withLogin++
			if u.LastLoginIP == "" || u.LastLoginDevice == "" || u.LastLoginAt.Before(u.JoinedAt) {
				t.Errorf("user %d: last login %v without IP or device, or before joining %v", i, u.LastLoginAt, u.JoinedAt)
			}
		}
		if u.Roles.Has(roster.RoleExpert) {
			if roster.EmailDomain(u.Email) != "staff.example" || !u.AccessUntil.After(now) || u.AccessUntil.Sub(now) > 90*24*time.Hour {
				t.Errorf("Expert %d: %s until %v, want a staff email and a deadline within 90 days", i, u.Email, u.AccessUntil)
			}
		} else if roster.EmailDomain(u.Email) != "acct1.example" || !u.AccessUntil.IsZero() {
			t.Errorf("user %d (%s): %s until %v, want the account's domain and no deadline", i, u.Roles, u.Email, u.AccessUntil)
		}
	}
	// The mix the help text promises, with wide margins: the draw is
	// deterministic, so these bounds cannot flake.
	share := func(k int) float64 { return float64(k) / n }
	checks := []struct {
		what     string
		got      float64
		from, to float64
	}{
		{"active", share(statuses[roster.StatusActive]), 0.75, 0.85},
		{"inactive", share(statuses[roster.StatusInactive]), 0.07, 0.13},
		{"invited", share(statuses[roster.StatusInvited]), 0.07, 0.13},
		{"Admins", share(roles[roster.NewRoleSet(roster.RoleAdmin)]), 0.01, 0.05},
		{"Experts", share(roles[roster.NewRoleSet(roster.RoleExpert)]), 0.01, 0.04},
		{"two roles", share(roles[roster.NewRoleSet(roster.RoleCommunicationManager, roster.RoleSupport)]), 0.05, 0.15},
		{"accented names", share(accented), 0.1, 0.9},
		{"last logins", share(withLogin), 0.5, 0.8},
	}
	for _, c := range checks {
		if c.got < c.from || c.got > c.to {
			t.Errorf("share of %s = %.3f, want %.2f–%.2f", c.what, c.got, c.from, c.to)
		}
	}
}

func TestSeedDeterministic(t *testing.T) {
	now := time.Now()
	summary := func(seed uint64) string {
		g := newTestGen(seed, now)
		var b strings.Builder
		for range 500 {
			u := g.user("acct")
			fmt.Fprintf(&b, "%s|%s|%s|%s|%s\n", u.FirstName, u.LastName, u.Email, u.Status, u.Roles)
		}
		return b.String()
	}
	if a, b := summary(3), summary(3); a != b {
		t.Errorf("two runs with seed 3 differ")
	}
	if a, b := summary(3), summary(4); a == b {
		t.Errorf("seeds 3 and 4 gave the same users")
	}
}

func TestEmailLocal(t *testing.T) {
	tests := []struct{ first, last, want string }{
		{"Sören", "Ström", "soren.strom"},
		{"Íñigo", "O'Brien", "inigo.obrien"},
		{"İlkay", "Öztürk", "ilkay.ozturk"},
		{"Łukasz", "Wiśniewski", "lukasz.wisniewski"},
		{"Ann", "Al-Farsi", "ann.al-farsi"},
		{"Gergő", "Đorđević", "gergo.dordevic"},
	}
	for _, tt := range tests {
		if got := emailLocal(tt.first, tt.last); got != tt.want {
			t.Errorf("emailLocal(%q, %q) = %q, want %q", tt.first, tt.last, got, tt.want)
		}
	}
	// No letter of the name lists is lost on the way to ASCII.
	for _, list := range [][]string{seedFirstNames, seedLastNames} {
		for _, name := range list {
			want := utf8.RuneCountInString(strings.ReplaceAll(name, "'", ""))
			if got := len(emailLocal(name, "")) - 1; got < want {
				t.Errorf("emailLocal(%q) = %q drops letters", name, emailLocal(name, ""))
			}
		}
	}
}

func TestDevSeed(t *testing.T) {
	eachStore(t, func(t *testing.T, db dbArgs) {
		args := db.with("dev", "seed", "--accounts", "2", "--users-per-account", "30", "--batch", "7", "--seed", "5")
		r := runCLI(t, "", args...)
		if r.err != nil {
			t.Fatalf("roster %s: %v\n%s", strings.Join(args, " "), r.err, r.stderr)
		}
		if !strings.Contains(r.stderr, "\rseeding users: 60/60 (100%)") {
			t.Errorf("stderr lacks the final progress line:\n%q", r.stderr)
		}
		out := mustRunJSON[seedOutput](t, "", args...) // seeding again adds two more accounts
		if len(out.Accounts) != 2 || out.UsersLoaded != 60 || out.AdminPassword != seedAdminPassword {
			t.Fatalf("dev seed output = %+v, want 2 accounts and 60 users", out)
		}
		ctx := context.Background()
		st := db.open(t)
		svc := roster.NewService(st, roster.Config{StaffDomains: []string{defaultStaffDomain}, Secret: make([]byte, 32)})
		for k, a := range out.Accounts {
			if want := fmt.Sprintf("admin@acct%d.example", k+1); a.AdminEmail != want || a.Users != 31 {
				t.Errorf("account %d = %+v, want Admin %s and 31 users", k+1, a, want)
			}
			actor, err := svc.AuthenticateAPIKey(ctx, a.APIKey, "127.0.0.1")
			if err != nil || actor.AccountID != a.ID || actor.UserID != a.AdminUserID {
				t.Fatalf("AuthenticateAPIKey(key of account %d) = %+v, %v; want its Admin", k+1, actor, err)
			}
			page, err := svc.ListUsers(ctx, actor, a.ID, roster.ListQuery{Sort: roster.Sort{Field: roster.SortEmail}, Limit: 100})
			if err != nil {
				t.Fatal(err)
			}
			if page.Total != 31 || len(page.Items) != 31 {
				t.Errorf("account %d lists %d of %d users, want 31", k+1, len(page.Items), page.Total)
			}
			acct, err := st.Account(ctx, a.ID)
			if err != nil {
				t.Fatal(err)
			}
			if acct.EnabledRoles != roster.AdditionalRoles {
				t.Errorf("account %d enabled roles = %s, want the additional roles", k+1, acct.EnabledRoles)
			}
		}
	})
}
