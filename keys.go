package roster

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// The audit actions of key management beyond ActionAPIKeyCreated.
const (
	ActionAPIKeyUpdated = "api_key.updated" // renamed, switched on or off
	ActionAPIKeyDeleted = "api_key.deleted"
)

// Limits of a key's settings.
const (
	MaxAllowedIPs  = 50                        // entries of an allow-list
	MaxKeysPerUser = 100                       // keys one user may have in an account, in any state
	MaxKeyLifetime = 10 * 365 * 24 * time.Hour // furthest expiry ahead
)

// KeyInput is a new API key.
type KeyInput struct {
	Name       string
	ExpiresAt  time.Time // zero: never
	AllowedIPs []string  // addresses and CIDR ranges; empty: any address
	Scope      []string  // permission ids; nil: every permission of the creator
	// UserEmail names the user who owns the key when the operator or an
	// Admin creates it for someone else; "": the actor.
	UserEmail string
}

// KeyUpdate changes a key; nil fields stay as they are.
type KeyUpdate struct {
	Name   *string
	Active *bool
}

// permIndex is each permission's position in Permissions.
var permIndex = func() map[string]int {
	m := make(map[string]int, len(Permissions))
	for i, p := range Permissions {
		m[p.ID] = i
	}
	return m
}()

// roleMasks holds, for each role of Roles, its permissions as bits of
// their positions in Permissions.
var roleMasks = func() []uint64 {
	out := make([]uint64, len(Roles))
	for i, r := range Roles {
		for _, p := range r.Permissions {
			out[i] |= 1 << permIndex[p]
		}
	}
	return out
}()

// permissionMask returns permission ids as bits of their positions in
// Permissions.
func permissionMask(ids []string) uint64 {
	var m uint64
	for _, p := range ids {
		m |= 1 << permIndex[p]
	}
	return m
}

// levelMasks holds what the Expert role grants at each access level, as
// bits; an unknown level grants what read-only does.
var levelMasks = func() map[AccessLevel]uint64 {
	m := map[AccessLevel]uint64{"": permissionMask(RolePermissions(RoleExpert, ""))}
	for _, l := range AccessLevels {
		m[l.ID] = permissionMask(l.Permissions)
	}
	return m
}()

// roleMask is what role i of Roles grants as bits, the Expert's at level.
func roleMask(i int, level AccessLevel) uint64 {
	if Roles[i].ID != RoleExpert {
		return roleMasks[i]
	}
	if m, ok := levelMasks[level]; ok {
		return m
	}
	return levelMasks[""]
}

// accessMask is what an Access grants, as bits.
func accessMask(a Access) uint64 {
	var m uint64
	for i := range Roles {
		if a.Roles&(1<<i) != 0 {
			m |= roleMask(i, a.Expert)
		}
	}
	return m
}

// userPermissions is what u may do now, as bits of Permissions: the
// permissions of their roles (the Expert's at their access level),
// nothing when they cannot act. It is the one place the key check learns
// a user's permissions.
func userPermissions(u *User, now time.Time) uint64 {
	if !u.CanSignIn(now) {
		return 0
	}
	return accessMask(u.Access())
}

// actorPermissions is what an actor may put into a key's scope.
func actorPermissions(a *Actor) uint64 {
	if a.Operator {
		return 1<<len(Permissions) - 1
	}
	return accessMask(a.Access())
}

// permissionIDs lists the permissions of a mask in catalogue order.
func permissionIDs(m uint64) []string {
	out := make([]string, 0, 16)
	for i, p := range Permissions {
		if m&(1<<i) != 0 {
			out = append(out, p.ID)
		}
	}
	return out
}

// scopeMask is a key's scope as bits; every permission for an unscoped key.
// Permissions no longer in the catalogue count for nothing.
func scopeMask(scope []string) uint64 {
	if scope == nil {
		return 1<<len(Permissions) - 1
	}
	var m uint64
	for _, p := range scope {
		if i, ok := permIndex[p]; ok {
			m |= 1 << i
		}
	}
	return m
}

// ScopeChoices returns the permissions an actor may give a key of their
// own, in catalogue order.
func ScopeChoices(a *Actor) []Permission {
	m := actorPermissions(a)
	var out []Permission
	for i, p := range Permissions {
		if m&(1<<i) != 0 {
			out = append(out, p)
		}
	}
	return out
}

// seesAllKeys reports whether the actor manages every key of the account
// (the operator, and Admins: team.manage with api_keys.manage) rather than
// only their own.
func seesAllKeys(a *Actor) bool {
	return a.Operator || a.Can("team.manage")
}

// CreateKey creates an API key and returns it with its secret, which is
// shown once and stored only as a hash. The actor needs api_keys.manage;
// the key is theirs; only the operator names another owner by
// in.UserEmail. A key created by a caller authenticated with a key
// inherits that key's expiry and allow-list as bounds. Its scope may hold only permissions its owner (and the
// actor) hold. Errors: CodeInvalid (every bad field at once), CodeForbidden
// (no api_keys.manage, or a scope beyond one's own permissions),
// CodeNotFound, CodeConflict (the owner cannot act, or has too many keys).
func (s *Service) CreateKey(ctx context.Context, actor *Actor, accountID string, in KeyInput) (*APIKey, string, error) {
	if err := actor.authorize(accountID, "api_keys.manage"); err != nil {
		return nil, "", err
	}
	now := s.clock.Now()
	var p Problems
	name := checkKeyName(&p, in.Name)
	switch {
	case in.ExpiresAt.IsZero():
	case !in.ExpiresAt.After(now):
		p.Add("expires_at", "The expiry must be in the future.")
	case in.ExpiresAt.Sub(now) > MaxKeyLifetime:
		p.Add("expires_at", "The expiry can be at most 10 years ahead.")
	}
	ips := CleanAllowedIPs(&p, "allowed_ips", in.AllowedIPs)
	scope, err := checkScope(&p, actor, in.Scope)
	if err != nil {
		return nil, "", err
	}
	email := ""
	if in.UserEmail != "" {
		email = CleanEmail(&p, "user_email", in.UserEmail)
		// A key acts as its owner, and the audit log names the owner:
		// only the operator may make one for somebody else, or an Admin
		// could act under a colleague's name.
		if !actor.Operator && Fold(email) != Fold(actor.Email) {
			return nil, "", Errorf(CodeForbidden, "A key belongs to the user who creates it: %s has to sign in and create their own. "+
				"You can switch off or delete anyone's key.", quoteShort(email))
		}
	} else if actor.Operator {
		p.Add("user_email", "Name the user who owns the key.")
	}
	inheritRestrictions(&p, actor.Key, in.ExpiresAt, ips)
	if err := p.Err(); err != nil {
		return nil, "", err
	}
	if !ValidID(accountID) {
		return nil, "", Errorf(CodeNotFound, "No account with this id exists.")
	}
	var owner *User
	if email != "" {
		owner, err = s.store.UserByEmail(ctx, accountID, Fold(email))
		if ErrorCode(err) == CodeNotFound {
			return nil, "", Errorf(CodeNotFound, "No user with the email %s exists in this account.", email)
		}
	} else {
		owner, err = s.store.User(ctx, accountID, actor.UserID)
	}
	if err != nil {
		return nil, "", err
	}
	if !owner.CanSignIn(now) {
		return nil, "", Errorf(CodeConflict, "%s is %s and cannot own an API key.", owner.Email, owner.Status)
	}
	if missing := scopeMask(scope) &^ userPermissions(owner, now); scope != nil && missing != 0 {
		return nil, "", Errorf(CodeForbidden, "%s does not have %s, so a key of theirs cannot have it.",
			owner.FullName(), strings.Join(permissionIDs(missing), ", "))
	}
	secret := NewAPIKeySecret()
	k := &APIKey{ID: NewID(now), AccountID: accountID, UserID: owner.ID, Name: name, Hint: secret[len(secret)-4:],
		Hash: HashSecret(secret), CreatedAt: now, ExpiresAt: in.ExpiresAt.Truncate(time.Microsecond), AllowedIPs: ips, Scope: scope}
	err = s.store.Update(ctx, func(tx Tx) error {
		// The owner's row, locked, serialises the creations of their keys,
		// so that two at once cannot both pass the count.
		if _, err := tx.UserForUpdate(ctx, accountID, owner.ID); err != nil {
			return err
		}
		n, err := tx.CountAPIKeys(ctx, accountID, owner.ID)
		if err != nil {
			return err
		}
		if n >= MaxKeysPerUser {
			return Errorf(CodeConflict, "%s already has %d API keys, the most allowed; delete one first.", owner.FullName(), n)
		}
		if err := tx.InsertAPIKey(ctx, k); err != nil {
			return err
		}
		d := map[string]any{"key_id": k.ID, "name": k.Name}
		if !k.ExpiresAt.IsZero() {
			d["expires_at"] = k.ExpiresAt.Format(time.RFC3339)
		}
		if ips != nil {
			d["allowed_ips"] = ips
		}
		if scope != nil {
			d["scope"] = scope
		}
		return tx.InsertAudit(ctx, s.event(actor, owner, ActionAPIKeyCreated, now, d))
	})
	if err != nil {
		return nil, "", err
	}
	k.Owner = owner
	return k, secret, nil
}

// inheritRestrictions refuses, for a key created by a caller who
// authenticated with an API key (from), an expiry or allow-list wider than
// that key's: a key made with a key cannot outlive it or be used from
// where it could not. (Its scope is bounded already: the caller holds only
// the roles the calling key's scope covers.)
func inheritRestrictions(p *Problems, from *APIKey, expires time.Time, ips []string) {
	if from == nil {
		return
	}
	if !from.ExpiresAt.IsZero() && (expires.IsZero() || expires.After(from.ExpiresAt)) {
		p.Add("expires_at", "The key you are calling with expires on %s; a key created with it must expire at or before then.",
			from.ExpiresAt.UTC().Format(time.RFC3339))
	}
	if len(from.AllowedIPs) == 0 {
		return
	}
	if len(ips) == 0 {
		p.Add("allowed_ips", "The key you are calling with works only from %s; a key created with it needs an allow-list within that.",
			strings.Join(from.AllowedIPs, ", "))
		return
	}
	for _, e := range ips {
		if !prefixWithin(e, from.AllowedIPs) {
			p.Add("allowed_ips", "%s is outside %s, where the key you are calling with works.", e, strings.Join(from.AllowedIPs, ", "))
		}
	}
}

// prefixWithin reports whether the canonical allow-list entry e (an
// address or a range) lies wholly inside one of the entries of list.
func prefixWithin(e string, list []string) bool {
	inner, ok := entryPrefix(e)
	if !ok {
		return false
	}
	for _, l := range list {
		outer, ok := entryPrefix(l)
		if ok && outer.Bits() <= inner.Bits() && outer.Contains(inner.Addr()) {
			return true
		}
	}
	return false
}

// entryPrefix reads a canonical allow-list entry as a prefix.
func entryPrefix(e string) (netip.Prefix, bool) {
	if pf, err := netip.ParsePrefix(e); err == nil {
		return pf, true
	}
	a, err := netip.ParseAddr(e)
	if err != nil {
		return netip.Prefix{}, false
	}
	return netip.PrefixFrom(a, a.BitLen()), true
}

// CreateAPIKey creates an unrestricted key named name for the user with
// email in an account, as CreateKey.
func (s *Service) CreateAPIKey(ctx context.Context, actor *Actor, accountID, userEmail, name string) (*APIKey, string, error) {
	if userEmail == "" {
		userEmail = " " // "" would mean the actor; make CleanEmail name the field
	}
	return s.CreateKey(ctx, actor, accountID, KeyInput{Name: name, UserEmail: userEmail})
}

func checkKeyName(p *Problems, name string) string {
	name = strings.TrimSpace(name)
	if name == "" || utf8.RuneCountInString(name) > MaxAPIKeyNameLen || !utf8.ValidString(name) || hasControl(name) {
		p.Add("name", "Give the key a name of 1 to %d characters, without control characters.", MaxAPIKeyNameLen)
	}
	return name
}

// checkScope validates a scope: known permission ids, at least one, each
// held by the actor. It returns them without repeats in catalogue order.
func checkScope(p *Problems, actor *Actor, scope []string) ([]string, error) {
	if scope == nil {
		return nil, nil
	}
	if len(scope) == 0 {
		p.Add("scope", "Choose at least one permission, or leave the scope out to give the key every permission you have.")
		return nil, nil
	}
	var m uint64
	for _, id := range scope {
		i, ok := permIndex[id]
		if !ok {
			p.Add("scope", "Unknown permission %s: GET /api/v1/roles lists the permissions.", quoteShort(id))
			continue
		}
		m |= 1 << i
	}
	if missing := m &^ actorPermissions(actor); missing != 0 {
		return nil, Errorf(CodeForbidden, "You cannot give a key %s: you do not have it.", strings.Join(permissionIDs(missing), ", "))
	}
	return permissionIDs(m), nil
}

// CleanAllowedIPs validates an allow-list of addresses (192.0.2.7,
// 2001:db8::1) and CIDR ranges (198.51.100.0/24, 2001:db8::/32), recording
// each bad entry under field. It returns them in canonical form without
// repeats, in the order given; nil for an empty list.
func CleanAllowedIPs(p *Problems, field string, entries []string) []string {
	var out []string
	for _, e := range entries {
		e = strings.TrimSpace(e)
		if e == "" {
			continue
		}
		c, err := cleanIPEntry(e)
		if err != nil {
			p.Add(field, "%s", err.Error())
			continue
		}
		if !slices.Contains(out, c) {
			out = append(out, c)
		}
	}
	if len(out) > MaxAllowedIPs {
		p.Add(field, "List at most %d addresses or ranges; use wider ranges.", MaxAllowedIPs)
	}
	return out
}

func cleanIPEntry(e string) (string, error) {
	q := quoteShort(e)
	if strings.Contains(e, "/") {
		pf, err := netip.ParsePrefix(e)
		if err != nil {
			return "", fmt.Errorf("%s is not an address range: write one like 198.51.100.0/24 or 2001:db8::/32.", q)
		}
		if pf.Addr().Is4In6() {
			pf = netip.PrefixFrom(pf.Addr().Unmap(), max(pf.Bits()-96, 0))
		}
		if m := pf.Masked(); m != pf {
			return "", fmt.Errorf("%s has address bits set beyond its /%d: the range is written %s.", q, pf.Bits(), m)
		}
		if pf.IsSingleIP() {
			return pf.Addr().String(), nil
		}
		return pf.String(), nil
	}
	a, err := netip.ParseAddr(e)
	if err != nil || a.Zone() != "" {
		return "", fmt.Errorf("%s is not an IP address: write one like 192.0.2.7 or 2001:db8::1, or a range like 198.51.100.0/24.", q)
	}
	return a.Unmap().String(), nil
}

// ipAllowed reports whether ip is in an allow-list of canonical entries;
// any address is when the list is empty.
func ipAllowed(list []string, ip netip.Addr) bool {
	if len(list) == 0 {
		return true
	}
	if !ip.IsValid() {
		return false
	}
	ip = ip.Unmap()
	for _, e := range list {
		if strings.IndexByte(e, '/') >= 0 {
			if pf, err := netip.ParsePrefix(e); err == nil && pf.Contains(ip) {
				return true
			}
		} else if a, err := netip.ParseAddr(e); err == nil && a == ip {
			return true
		}
	}
	return false
}

// APIKeys lists the keys of an account the actor manages, newest first:
// every key for the operator and Admins, one's own otherwise. Errors:
// CodeForbidden, CodeNotFound.
func (s *Service) APIKeys(ctx context.Context, actor *Actor, accountID string) ([]*APIKey, error) {
	if err := actor.authorize(accountID, "api_keys.manage"); err != nil {
		return nil, err
	}
	if seesAllKeys(actor) {
		return s.store.APIKeys(ctx, accountID, "")
	}
	return s.store.APIKeys(ctx, accountID, actor.UserID)
}

func errKeyNotFound() error { return Errorf(CodeNotFound, "No API key with this id exists.") }

// mayManageKey returns errKeyNotFound for a key the actor may not see, so
// that someone else's key looks like a missing one.
func mayManageKey(actor *Actor, k *APIKey) error {
	if !seesAllKeys(actor) && k.UserID != actor.UserID {
		return errKeyNotFound()
	}
	return nil
}

// APIKey returns one key the actor manages. Errors: CodeForbidden,
// CodeNotFound (also for a key of someone else that only an Admin sees).
func (s *Service) APIKey(ctx context.Context, actor *Actor, accountID, keyID string) (*APIKey, error) {
	if err := actor.authorize(accountID, "api_keys.manage"); err != nil {
		return nil, err
	}
	if !ValidID(keyID) {
		return nil, errKeyNotFound()
	}
	k, err := s.store.APIKey(ctx, accountID, keyID)
	if err != nil {
		return nil, err
	}
	return k, mayManageKey(actor, k)
}

// changeKey loads a key the actor manages for update and lets fn change it.
func (s *Service) changeKey(ctx context.Context, actor *Actor, accountID, keyID string, fn func(tx Tx, k *APIKey, now time.Time) error) (*APIKey, error) {
	if err := actor.authorize(accountID, "api_keys.manage"); err != nil {
		return nil, err
	}
	if !ValidID(keyID) {
		return nil, errKeyNotFound()
	}
	var out *APIKey
	err := s.store.Update(ctx, func(tx Tx) error {
		k, err := tx.APIKeyForUpdate(ctx, accountID, keyID)
		if err != nil {
			return err
		}
		if err := mayManageKey(actor, k); err != nil {
			return err
		}
		if err := fn(tx, k, s.clock.Now()); err != nil {
			return err
		}
		out = k
		return nil
	})
	return out, err
}

// UpdateAPIKey renames a key and/or switches it on or off (reversibly).
// Errors: CodeInvalid, CodeForbidden, CodeNotFound.
func (s *Service) UpdateAPIKey(ctx context.Context, actor *Actor, accountID, keyID string, in KeyUpdate) (*APIKey, error) {
	var p Problems
	var name string
	if in.Name != nil {
		name = checkKeyName(&p, *in.Name)
	}
	if err := actor.authorize(accountID, "api_keys.manage"); err != nil {
		return nil, err
	}
	if err := p.Err(); err != nil {
		return nil, err
	}
	return s.changeKey(ctx, actor, accountID, keyID, func(tx Tx, k *APIKey, now time.Time) error {
		d := map[string]any{"key_id": k.ID}
		if in.Name != nil && name != k.Name {
			d["name_from"], d["name_to"] = k.Name, name
			k.Name = name
		}
		if in.Active != nil && *in.Active == k.Disabled {
			d["active"] = *in.Active
			k.Disabled = !*in.Active
		}
		if len(d) == 1 {
			return nil // nothing changes: no write, no event
		}
		d["name"] = k.Name
		if err := tx.UpdateAPIKey(ctx, k); err != nil {
			return err
		}
		return tx.InsertAudit(ctx, s.event(actor, k.Owner, ActionAPIKeyUpdated, now, d))
	})
}

// DeleteAPIKey deletes a key for ever. Errors: CodeForbidden, CodeNotFound.
func (s *Service) DeleteAPIKey(ctx context.Context, actor *Actor, accountID, keyID string) error {
	_, err := s.changeKey(ctx, actor, accountID, keyID, func(tx Tx, k *APIKey, now time.Time) error {
		if err := tx.DeleteAPIKey(ctx, accountID, keyID); err != nil {
			return err
		}
		return tx.InsertAudit(ctx, s.event(actor, k.Owner, ActionAPIKeyDeleted, now, map[string]any{"key_id": k.ID, "name": k.Name}))
	})
	return err
}

// The reasons the gateway check gives for refusing a key. They are part of
// the API.
const (
	KeyMalformed        = "malformed"         // not a Roster key: empty, wrong prefix or length, bad checksum, spaces
	KeyUnknown          = "unknown"           // well-formed but no such key (never created, deleted, or its user deleted)
	KeyReasonInactive   = "inactive"          // switched off
	KeyReasonExpired    = "expired"           // past its expiry
	KeyIPNotAllowed     = "ip_not_allowed"    // the client address is not on the key's allow-list
	KeyUserInactive     = "user_inactive"     // its creator cannot act now: revoked, or past their access deadline
	KeyPermissionDenied = "permission_denied" // the key cannot do the permission asked about
)

// KeyVerdict is the answer of the gateway check: valid with who the key acts
// for and what it may do now, or refused with a Reason.
type KeyVerdict struct {
	Valid       bool
	Reason      string // when not Valid
	AccountID   string
	UserID      string
	KeyID       string
	Permissions []string // the key's scope intersected with what its creator may do now
}

// DecideKey is the whole decision of the gateway check over what was loaded
// for a well-formed key: the key (nil: unknown), its creator (nil: deleted),
// the time, the permission asked about ("" for none) and the client address
// (invalid: not given). It does no I/O, so a cache of keys and creators can
// call it on every request.
func DecideKey(k *APIKey, creator *User, now time.Time, permission string, ip netip.Addr) KeyVerdict {
	if k == nil || creator == nil {
		return KeyVerdict{Reason: KeyUnknown}
	}
	switch {
	case k.Disabled:
		return KeyVerdict{Reason: KeyReasonInactive}
	case k.Expired(now):
		return KeyVerdict{Reason: KeyReasonExpired}
	case !ipAllowed(k.AllowedIPs, ip):
		return KeyVerdict{Reason: KeyIPNotAllowed}
	case !creator.CanSignIn(now):
		return KeyVerdict{Reason: KeyUserInactive}
	}
	m := scopeMask(k.Scope) & userPermissions(creator, now)
	if permission != "" {
		if i, ok := permIndex[permission]; !ok || m&(1<<i) == 0 {
			return KeyVerdict{Reason: KeyPermissionDenied}
		}
	}
	return KeyVerdict{Valid: true, AccountID: k.AccountID, UserID: k.UserID, KeyID: k.ID, Permissions: permissionIDs(m)}
}

// VerifyKey is the gateway check: is key valid now, from clientIP (""
// when unknown), for permission ("" to ask about none)? A refusal is a
// verdict with a reason, not an error. Errors: CodeInvalid for a
// permission that is not in the catalogue or a client_ip that is not an
// address.
func (s *Service) VerifyKey(ctx context.Context, key, permission, clientIP string) (*KeyVerdict, error) {
	var p Problems
	if _, ok := permIndex[permission]; permission != "" && !ok {
		p.Add("permission", "Unknown permission %s: GET /api/v1/roles lists the permissions.", quoteShort(permission))
	}
	var ip netip.Addr
	if clientIP != "" {
		var err error
		if ip, err = netip.ParseAddr(clientIP); err != nil || ip.Zone() != "" {
			p.Add("client_ip", "client_ip must be an IP address such as 192.0.2.7 or 2001:db8::1.")
		}
	}
	if err := p.Err(); err != nil {
		return nil, err
	}
	v, _, _, err := s.checkKey(ctx, key, permission, ip)
	return &v, err
}

// checkKey loads what DecideKey needs for a key and decides; a valid key's
// use is recorded for the batched last_used_at write. It returns the
// creator of a valid key too.
func (s *Service) checkKey(ctx context.Context, key, permission string, ip netip.Addr) (KeyVerdict, *APIKey, *User, error) {
	if !CheckAPIKeyFormat(key) {
		return KeyVerdict{Reason: KeyMalformed}, nil, nil, nil
	}
	k, u, err := s.loadKey(ctx, key)
	if err != nil {
		return KeyVerdict{}, nil, nil, err
	}
	now := s.clock.Now()
	v := DecideKey(k, u, now, permission, ip)
	if v.Valid {
		s.keyUses.add(k.ID, now)
	}
	return v, k, u, nil
}

// loadKey reads a well-formed key and its creator; nil, nil when unknown.
// In roster serve the answer comes from the key check cache while it is
// fresh (Config.KeyOwner, docs/key-cache.md), else from the database.
func (s *Service) loadKey(ctx context.Context, key string) (*APIKey, *User, error) {
	owner := s.store.APIKeyOwner
	if s.cfg.KeyOwner != nil {
		owner = s.cfg.KeyOwner
	}
	k, u, err := owner(ctx, HashSecret(key))
	if ErrorCode(err) == CodeNotFound {
		return nil, nil, nil
	}
	return k, u, err
}

// AuthenticateAPIKey returns the actor of an API key calling Roster's own
// API, under the same rules as the gateway check from address ip. The
// actor holds only the creator's roles whose every permission is in the
// key's effective permissions, so a scoped key never manages more than
// its scope. CodeUnauthorized otherwise, with one message for every reason.
func (s *Service) AuthenticateAPIKey(ctx context.Context, key, ip string) (*Actor, error) {
	addr, _ := netip.ParseAddr(ip)
	v, k, u, err := s.checkKey(ctx, key, "", addr)
	if err != nil {
		return nil, err
	}
	if !v.Valid {
		return nil, Errorf(CodeUnauthorized, "The API key is missing, malformed, unknown or no longer valid.")
	}
	a := actorOf(u, ip)
	a.Roles = coveredRoles(u.Access(), scopeMask(v.Permissions))
	a.Key = k
	return a, nil
}

// coveredRoles keeps the roles of a whose every permission is in m.
func coveredRoles(a Access, m uint64) RoleSet {
	var out RoleSet
	for i := range Roles {
		if a.Roles&(1<<i) != 0 && roleMask(i, a.Expert)&^m == 0 {
			out |= 1 << i
		}
	}
	return out
}

// keyUses holds the last use of each key not yet written, so that
// last_used_at costs at most one write per key per flush (a minute in
// roster serve) instead of one per request.
type keyUses struct {
	mu      sync.Mutex
	pending map[string]time.Time
}

func (u *keyUses) add(id string, at time.Time) {
	u.mu.Lock()
	if u.pending == nil {
		u.pending = make(map[string]time.Time)
	}
	if at.After(u.pending[id]) {
		u.pending[id] = at
	}
	u.mu.Unlock()
}

func (u *keyUses) take() map[string]time.Time {
	u.mu.Lock()
	defer u.mu.Unlock()
	m := u.pending
	u.pending = nil
	return m
}

// FlushKeyUses writes the keys' last uses recorded since the previous
// flush, in one transaction. On failure they are kept for the next flush.
func (s *Service) FlushKeyUses(ctx context.Context) error {
	m := s.keyUses.take()
	if len(m) == 0 {
		return nil
	}
	if err := s.store.TouchAPIKeys(ctx, m); err != nil {
		for id, at := range m {
			s.keyUses.add(id, at)
		}
		return fmt.Errorf("record api key uses: %w", err)
	}
	return nil
}

// RunKeyUses flushes the keys' last uses every interval until ctx ends,
// then once more, so a shutdown loses none.
func (s *Service) RunKeyUses(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
			defer cancel()
			if err := s.FlushKeyUses(fctx); err != nil {
				s.cfg.Logger.Error("api key uses lost at shutdown", "err", err)
			}
			return
		case <-t.C:
		}
		if err := s.FlushKeyUses(ctx); err != nil && ctx.Err() == nil {
			s.cfg.Logger.Error("record api key uses", "err", err)
		}
	}
}
