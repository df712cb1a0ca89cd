package testdb

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"roster"
)

var firstNames = []string{
	"Aarav", "Aditi", "Ajay", "Akash", "Alice", "Amara", "Amit", "Ana", "Anil", "Anjali", "Ankit", "Anna", "Annette",
	"Arjun", "Asha", "Bharat", "Bianca", "Carlos", "Chen", "Chloé", "Daniel", "Deepa", "Dev", "Divya", "Elena", "Emma",
	"Farah", "Fatima", "Gaurav", "Gita", "Hannah", "Hiro", "Ishaan", "Ivan", "Jana", "Joanna", "João", "Kabir",
	"Karan", "Kavya", "Lakshmi", "Leila", "Liam", "Maya", "Meera", "Mohan", "Nadia", "Neha", "Nikhil", "Noah",
	"Olga", "Omar", "Priya", "Rahul", "Ravi", "Riya", "Rohan", "Sanjay", "Sara", "Shreya", "Sofia", "Suresh",
	"Tanvi", "Tomás", "Uma", "Varun", "Vikram", "Wei", "Yusuf", "Zoe",
}

var lastNames = []string{
	"Agarwal", "Bose", "Chatterjee", "Das", "Desai", "Dubois", "Fernandes", "García", "Ghosh", "Gupta", "Iyer",
	"Jain", "Joshi", "Kapoor", "Khan", "Kowalski", "Kumar", "Mehta", "Menon", "Mishra", "Müller", "Nair", "Novak",
	"Pandey", "Patel", "Pillai", "Rao", "Reddy", "Rossi", "Sato", "Shah", "Sharma", "Singh", "Sinha", "Smith",
	"Tanaka", "Thomas", "Varma", "Verma", "Wang", "Yadav",
}

// Users returns n plausible users of an account, the same for the same
// seed: names from a few dozen first and last names (so a search for "ann"
// is common), unique emails, every status and a spread of roles, invitation
// and login times. Ids are UUIDv7 of the invitation time.
func Users(accountID string, n int, seed uint64) []*roster.User {
	r := rand.New(rand.NewPCG(seed, 0x726f73746572))
	base := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	roleSets := []roster.RoleSet{
		roster.NewRoleSet(roster.RoleAdmin),
		roster.NewRoleSet(roster.RoleCommunicationManager),
		roster.NewRoleSet(roster.RoleSupport),
		roster.NewRoleSet(roster.RoleCommunicationManager, roster.RoleSupport),
		roster.NewRoleSet(roster.RoleSupport),
		roster.NewRoleSet(roster.RoleCommunicationManager),
	}
	users := make([]*roster.User, n)
	for i := range users {
		invited := base.Add(time.Duration(r.Int64N(int64(500 * 24 * time.Hour)))).Truncate(time.Microsecond)
		u := &roster.User{
			ID:        roster.NewID(invited),
			AccountID: accountID,
			FirstName: firstNames[r.IntN(len(firstNames))],
			LastName:  lastNames[r.IntN(len(lastNames))],
			Roles:     roleSets[r.IntN(len(roleSets))],
			InvitedAt: invited,
			UpdatedAt: invited,
			Version:   1,
		}
		u.Email = fmt.Sprintf("%s.%s.%d@example%d.com", u.FirstName, u.LastName, i, i%7)
		switch k := r.IntN(10); {
		case k < 7:
			u.Status = roster.StatusActive
			u.JoinedAt = invited.Add(time.Hour)
			u.LastLoginAt = u.JoinedAt.Add(time.Duration(r.Int64N(int64(90 * 24 * time.Hour))))
			u.LastLoginIP = fmt.Sprintf("203.0.113.%d", r.IntN(250))
			u.LastLoginDevice = "Chrome on Linux"
		case k < 9:
			u.Status = roster.StatusInvited
		default:
			u.Status = roster.StatusInactive
			u.JoinedAt = invited.Add(time.Hour)
			u.RevokedAt = u.JoinedAt.Add(24 * time.Hour)
			u.RevokeReason = roster.ReasonIssueResolved
		}
		u.Keys()
		users[i] = u
	}
	return users
}

// Seed creates accounts accounts of users users each (Users with seeds
// 1, 2, ...) through the store's BulkLoader, and returns their ids.
func Seed(tb testing.TB, s roster.Store, accounts, users int) []string {
	tb.Helper()
	ctx := context.Background()
	bl, ok := s.(roster.BulkLoader)
	if !ok {
		tb.Fatalf("testdb: %T is not a roster.BulkLoader", s)
	}
	var ids []string
	for i := 0; i < accounts; i++ {
		now := time.Now()
		a := &roster.Account{ID: roster.NewID(now), Name: fmt.Sprintf("Seed %d", i+1), CreatedAt: now, UpdatedAt: now}
		if err := s.Update(ctx, func(tx roster.Tx) error { return tx.InsertAccount(ctx, a) }); err != nil {
			tb.Fatalf("testdb: seed account: %v", err)
		}
		all := Users(a.ID, users, uint64(i+1))
		for len(all) > 0 {
			batch := all[:min(10000, len(all))]
			all = all[len(batch):]
			if err := bl.BulkInsertUsers(ctx, batch); err != nil {
				tb.Fatalf("testdb: seed users: %v", err)
			}
		}
		ids = append(ids, a.ID)
	}
	return ids
}
