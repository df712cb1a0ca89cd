package authcache

import (
	"context"
	"time"

	"roster"
)

// KeyOwner is what roster.Store.APIKeyOwner returns: a key and its creator,
// the inputs of a key check. Cached values are shared by every caller and
// must not be modified.
type KeyOwner struct {
	Key  *roster.APIKey
	User *roster.User
}

// OwnerEntry returns the Entry of a key and its creator: evicted by changes
// of either or of their account, dead at the key's expiry or the user's
// access deadline, whichever comes first.
func OwnerEntry(k *roster.APIKey, u *roster.User) Entry[KeyOwner] {
	until := k.ExpiresAt
	if !u.AccessUntil.IsZero() && (until.IsZero() || u.AccessUntil.Before(until)) {
		until = u.AccessUntil
	}
	return Entry[KeyOwner]{AccountID: k.AccountID, UserID: k.UserID, KeyID: k.ID, Until: until,
		Value: KeyOwner{Key: k, User: u}}
}

// Owner returns the key of a hash and its creator from the cache, or else
// from load (typically Store.APIKeyOwner), caching the answer. Errors of
// load (CodeNotFound for an unknown key) are returned and never cached.
func Owner(ctx context.Context, c *Cache[KeyOwner], hash []byte,
	load func(ctx context.Context, hash []byte) (*roster.APIKey, *roster.User, error)) (*roster.APIKey, *roster.User, error) {
	v, err := c.Load(ctx, hash, func(ctx context.Context) (Entry[KeyOwner], error) {
		k, u, err := load(ctx, hash)
		if err != nil {
			return Entry[KeyOwner]{}, err
		}
		return OwnerEntry(k, u), nil
	})
	return v.Key, v.User, err
}

// SyncAfterUpdate returns s with an Update that, once its transaction has
// committed, calls sync (a Cache's Sync) before returning: the instance
// that made a change is then exact about it at once, and no code path can
// forget to ask. A failed sync has already emptied the cache and is not the
// caller's failure: the change is committed. Other methods are s's own.
func SyncAfterUpdate(s roster.Store, sync func(context.Context) error) roster.Store {
	return syncingStore{Store: s, sync: sync}
}

type syncingStore struct {
	roster.Store
	sync func(context.Context) error
}

func (s syncingStore) Update(ctx context.Context, fn func(roster.Tx) error) error {
	if err := s.Store.Update(ctx, fn); err != nil {
		return err
	}
	// Not cancellable by the request: the change is committed whatever
	// the client does, and the sync is one short query.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	_ = s.sync(ctx)
	return nil
}
