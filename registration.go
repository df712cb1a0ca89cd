package roster

import (
	"context"
	"strings"
	"time"
	"unicode/utf8"
)

// SetupLink creates a one-time first-run setup link token when the platform
// has no account yet; "" when setup is done. Each call makes a new link;
// the first one used wins and ends the others.
func (s *Service) SetupLink(ctx context.Context) (string, error) {
	done, err := s.store.SetupDone(ctx)
	if err != nil || done {
		return "", err
	}
	if has, err := s.store.HasAccounts(ctx); err != nil || has {
		return "", err
	}
	token := NewToken()
	now := s.clock.Now()
	err = s.store.Update(ctx, func(tx Tx) error {
		return tx.InsertSetupToken(ctx, HashSecret(token), now, now.Add(s.cfg.SetupTTL))
	})
	if err != nil {
		return "", err
	}
	return token, nil
}

// SetupState describes a setup link for its page.
func (s *Service) SetupState(ctx context.Context, token string) (LinkState, error) {
	done, err := s.store.SetupDone(ctx)
	if err != nil {
		return "", err
	}
	if token == "" || len(token) > 128 {
		if done {
			return LinkSetupDone, nil
		}
		return LinkUnknown, nil
	}
	expires, used, err := s.store.SetupTokenByHash(ctx, HashSecret(token))
	switch {
	case ErrorCode(err) == CodeNotFound:
		if done {
			return LinkSetupDone, nil
		}
		return LinkUnknown, nil
	case err != nil:
		return "", err
	case !used.IsZero():
		return LinkUsed, nil
	case done:
		return LinkSetupDone, nil
	case !s.clock.Now().Before(expires):
		return LinkExpired, nil
	}
	return LinkValid, nil
}

// cleanAccountName trims and checks an account name, recording a problem
// under field.
func cleanAccountName(p *Problems, field, name string) string {
	name = strings.TrimSpace(name)
	switch n := utf8.RuneCountInString(name); {
	case n == 0:
		p.Add(field, "The account name is required.")
	case n > MaxAccountNameLen || hasControl(name) || !utf8.ValidString(name):
		p.Add(field, "The account name must be at most %d characters, without control characters.", MaxAccountNameLen)
	}
	return name
}

// Setup creates the first account and its Admin (with an identity and a
// password) through a setup link, and signs the Admin in. CodeInvalid with
// fields account_name, first_name, last_name, email, password, confirm;
// CodeConflict when the link is no longer valid (ask SetupState why).
func (s *Service) Setup(ctx context.Context, token string, in SetupInput, c Client) (*SignedIn, error) {
	state, err := s.SetupState(ctx, token)
	if err != nil {
		return nil, err
	}
	if state != LinkValid {
		return nil, errLinkGone()
	}
	var p Problems
	now := s.clock.Now()
	acct := &Account{ID: NewID(now), CreatedAt: now, UpdatedAt: now}
	acct.Name = cleanAccountName(&p, "account_name", in.AccountName)
	u := &User{ID: NewID(now), AccountID: acct.ID, Roles: NewRoleSet(RoleAdmin), Status: StatusActive, InvitedAt: now,
		JoinedAt: now, UpdatedAt: now, Version: 1, InvitedByName: "Setup"}
	u.FirstName = CleanName(&p, "first_name", "First name", in.FirstName)
	u.LastName = CleanName(&p, "last_name", "Last name", in.LastName)
	u.Email = CleanEmail(&p, "email", in.Email)
	s.checkNewPassword(&p, in.Password, in.Confirm, u.Email, u.FirstName, u.LastName, u.FullName(), acct.Name)
	if err := p.Err(); err != nil {
		return nil, err
	}
	u.Keys()
	h, err := s.hash(ctx, in.Password, c)
	if err != nil {
		return nil, err
	}
	ident := &Identity{ID: NewID(now), Email: u.Email, EmailKey: CanonicalEmail(u.Email), PasswordHash: h,
		CreatedAt: now, UpdatedAt: now, PasswordChangedAt: now}
	u.IdentityID = ident.ID
	var in2 *SignedIn
	err = s.store.Update(ctx, func(tx Tx) error {
		if err := tx.ClaimSetup(ctx, HashSecret(token), now); err != nil {
			if code := ErrorCode(err); code == CodeConflict || code == CodeNotFound {
				return errLinkGone()
			}
			return err
		}
		if err := tx.InsertAccount(ctx, acct); err != nil {
			return err
		}
		if err := tx.InsertIdentity(ctx, ident); err != nil {
			return err
		}
		if err := tx.InsertUser(ctx, u); err != nil {
			return err
		}
		actor := actorOf(u, c.IP)
		if err := tx.InsertAudit(ctx, s.event(actor, u, ActionAccountCreated, now, map[string]any{"name": acct.Name, "via": "setup"})); err != nil {
			return err
		}
		in2, err = s.startSession(ctx, tx, ident, c, now)
		return err
	})
	if err != nil {
		return nil, err
	}
	return in2, nil
}

// invitation returns an invitation link's mail data and its view; m is nil
// when the link is unknown.
func (s *Service) invitation(ctx context.Context, token string) (*InvitationMail, *InvitationView, error) {
	unknown := &InvitationView{State: LinkUnknown}
	if token == "" || len(token) > 128 {
		return nil, unknown, nil
	}
	inv, err := s.store.InvitationByHash(ctx, HashSecret(token))
	var m *InvitationMail
	if err == nil {
		m, err = s.store.InvitationMail(ctx, inv.AccountID, inv.ID)
	}
	if ErrorCode(err) == CodeNotFound {
		return nil, unknown, nil
	}
	if err != nil {
		return nil, nil, err
	}
	u := m.User
	v := &InvitationView{AccountName: m.Account.Name, InvitedByName: u.InvitedByName, Email: u.Email,
		FirstName: u.FirstName, LastName: u.LastName, Roles: u.Roles}
	v.State, v.ExpiresAt = linkState(inv.CreatedAt, inv.SentAt, inv.UsedAt, inv.Superseded, s.cfg.InvitationTTL, s.clock.Now())
	if v.State == LinkValid && u.Status != StatusInvited {
		v.State, v.ExpiresAt = LinkUsed, time.Time{}
	}
	ident, err := s.identityByEmail(ctx, u.Email)
	if err != nil {
		return nil, nil, err
	}
	v.HasIdentity = ident != nil
	return m, v, nil
}

// Invitation describes an invitation link for the registration page. An
// unknown token is LinkUnknown, not an error.
func (s *Service) Invitation(ctx context.Context, token string) (*InvitationView, error) {
	_, v, err := s.invitation(ctx, token)
	return v, err
}

// join makes an invited user an active member with ident, using the
// invitation, in tx.
func (s *Service) join(ctx context.Context, tx Tx, m *InvitationMail, ident *Identity, first, last string, c Client) error {
	now := s.clock.Now()
	if err := tx.UseInvitation(ctx, m.Invitation.ID, now); err != nil {
		if ErrorCode(err) == CodeConflict {
			return errLinkGone()
		}
		return err
	}
	u, err := tx.UserForUpdate(ctx, m.User.AccountID, m.User.ID)
	if err != nil {
		if ErrorCode(err) == CodeNotFound {
			return errLinkGone()
		}
		return err
	}
	if u.Status != StatusInvited {
		return errLinkGone()
	}
	details := map[string]any{}
	if first != "" && (first != u.FirstName || last != u.LastName) {
		details["name"] = map[string]any{"from": u.FullName(), "to": first + " " + last}
		u.FirstName, u.LastName = first, last
		u.Keys()
	}
	u.Status, u.IdentityID, u.JoinedAt, u.UpdatedAt = StatusActive, ident.ID, now, now
	u.Version++
	if err := tx.UpdateUser(ctx, u); err != nil {
		return err
	}
	actor := actorOf(u, c.IP)
	return tx.InsertAudit(ctx, s.event(actor, u, ActionUserJoined, now, details))
}

// Register creates the identity of an invited user whose email has none,
// makes the user active and signs them in. CodeInvalid with fields
// first_name, last_name, password, confirm; CodeConflict when the link is no
// longer valid or the email gained an identity meanwhile (ask Invitation
// why).
func (s *Service) Register(ctx context.Context, token string, in RegisterInput, c Client) (*SignedIn, error) {
	m, v, err := s.invitation(ctx, token)
	if err != nil {
		return nil, err
	}
	if v.State != LinkValid || v.HasIdentity {
		return nil, errLinkGone()
	}
	var p Problems
	first := CleanName(&p, "first_name", "First name", in.FirstName)
	last := CleanName(&p, "last_name", "Last name", in.LastName)
	s.checkNewPassword(&p, in.Password, in.Confirm, v.Email, first, last, first+" "+last, v.AccountName)
	if err := p.Err(); err != nil {
		return nil, err
	}
	h, err := s.hash(ctx, in.Password, c)
	if err != nil {
		return nil, err
	}
	now := s.clock.Now()
	ident := &Identity{ID: NewID(now), Email: m.User.Email, EmailKey: CanonicalEmail(m.User.Email), PasswordHash: h,
		CreatedAt: now, UpdatedAt: now, PasswordChangedAt: now}
	var out *SignedIn
	err = s.store.Update(ctx, func(tx Tx) error {
		if err := tx.InsertIdentity(ctx, ident); err != nil {
			if ErrorCode(err) == CodeConflict {
				return errLinkGone()
			}
			return err
		}
		if err := s.join(ctx, tx, m, ident, first, last, c); err != nil {
			return err
		}
		out, err = s.startSession(ctx, tx, ident, c, now)
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// AcceptInvitation joins an existing identity to the invitation's account.
// With signedIn (the caller's identity) it must be the invited email's
// identity (CodeForbidden otherwise) and no new session is made; without,
// password must be the identity's (the same CodeUnauthorized as SignIn,
// throttled alike) and a session is started. CodeConflict when the link is
// no longer valid.
func (s *Service) AcceptInvitation(ctx context.Context, token, password string, signedIn *Identity, c Client) (*SignedIn, error) {
	m, v, err := s.invitation(ctx, token)
	if err != nil {
		return nil, err
	}
	if v.State != LinkValid || !v.HasIdentity {
		return nil, errLinkGone()
	}
	ident, err := s.identityByEmail(ctx, v.Email)
	if err != nil {
		return nil, err
	}
	if ident == nil {
		return nil, errLinkGone()
	}
	now := s.clock.Now()
	if signedIn != nil {
		if signedIn.ID != ident.ID {
			return nil, Errorf(CodeForbidden, "You are signed in as %s, but this invitation is for %s. Sign out, then open the link again.", signedIn.Email, v.Email)
		}
		err := s.store.Update(ctx, func(tx Tx) error { return s.join(ctx, tx, m, ident, "", "", c) })
		if err != nil {
			return nil, err
		}
		return &SignedIn{Identity: ident}, nil
	}
	w, err := s.admit()
	if err != nil {
		return nil, err
	}
	defer w.Done()
	key, err := s.reserveAttempt(ctx, v.Email, c, now)
	if err != nil {
		return nil, err
	}
	ok, err := s.verify(ctx, w, ident, password)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, unauthorizedSignIn()
	}
	var out *SignedIn
	err = s.store.Update(ctx, func(tx Tx) error {
		if err := tx.ClearLoginFailures(ctx, key); err != nil {
			return err
		}
		if err := s.join(ctx, tx, m, ident, "", "", c); err != nil {
			return err
		}
		out, err = s.startSession(ctx, tx, ident, c, now)
		return err
	})
	if err != nil {
		return nil, err
	}
	s.ips.refund(c.IP, now) // a success spends nothing of the client's budget
	return out, nil
}
