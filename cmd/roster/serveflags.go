package main

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/mail"
	"net/netip"
	"net/url"
	"strings"
	"time"

	"roster/internal/email"
)

// webFlags configure the sign-in pages, sessions and links.
type webFlags struct {
	publicURL     *string
	trustedProxy  *listFlag
	invitationTTL *time.Duration
	resetTTL      *time.Duration
	sessionIdle   *time.Duration
	sessionMax    *time.Duration
	operatorToken *string
}

func addWebFlags(fs *flagSet) *webFlags {
	return &webFlags{
		publicURL: fs.EnvString("public-url", "",
			"the URL people reach this server at, for links in emails and the setup link (https://roster.example.com); "+
				"unset: http://<the listening address>. With https, cookies are marked Secure"),
		trustedProxy: fs.EnvList("trusted-proxy", nil,
			"address range (CIDR, such as 10.0.0.0/8) of a reverse proxy whose X-Forwarded-For is believed; "+
				"unset: the peer address is the client"),
		invitationTTL: fs.EnvDuration("invitation-ttl", time.Hour, "how long an invitation link lives after its email is sent"),
		resetTTL:      fs.EnvDuration("reset-ttl", time.Hour, "how long a password reset link lives after its email is sent"),
		sessionIdle:   fs.EnvDuration("session-idle", time.Hour, "a session ends after this long without a request"),
		sessionMax:    fs.EnvDuration("session-max", 24*time.Hour, "a session ends this long after sign-in in any case"),
		operatorToken: fs.EnvString("operator-token", "",
			"bearer token of the operator API (/api/operator/v1: additional roles of accounts), at least 32 characters; "+
				"unset: the operator API is off. Prefer ROSTER_OPERATOR_TOKEN to the flag, which other users can see in ps"),
	}
}

// parsed returns the public URL (derived from the bound address when unset)
// and the trusted proxy ranges.
func (f *webFlags) parsed(bound string) (*url.URL, []netip.Prefix, error) {
	raw := strings.TrimSpace(*f.publicURL)
	if raw == "" {
		raw = "http://" + bound
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return nil, nil, usageErrorf("--public-url: give an http:// or https:// URL such as https://roster.example.com, not %q", raw)
	}
	u.Path = strings.TrimRight(u.Path, "/")
	var proxies []netip.Prefix
	for _, v := range f.trustedProxy.values {
		p, err := netip.ParsePrefix(strings.TrimSpace(v))
		if err != nil {
			a, aerr := netip.ParseAddr(strings.TrimSpace(v))
			if aerr != nil {
				return nil, nil, usageErrorf("--trusted-proxy: %q is not an address range such as 10.0.0.0/8 or an address", v)
			}
			p = netip.PrefixFrom(a, a.BitLen())
		}
		proxies = append(proxies, p.Masked())
	}
	return u, proxies, nil
}

// check reports durations that cannot work.
func (f *webFlags) check() error {
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"invitation-ttl", *f.invitationTTL}, {"reset-ttl", *f.resetTTL}, {"session-idle", *f.sessionIdle}, {"session-max", *f.sessionMax}} {
		if d.v < time.Minute {
			return usageErrorf("--%s: give a duration of at least a minute, such as 1h", d.name)
		}
	}
	if *f.sessionIdle > *f.sessionMax {
		return usageErrorf("--session-idle: must not exceed --session-max (%s)", *f.sessionMax)
	}
	if t := *f.operatorToken; t != "" && (len(t) < 32 || strings.TrimSpace(t) != t) {
		return usageErrorf("--operator-token: give at least 32 characters without spaces around them, such as the output of openssl rand -hex 32")
	}
	return nil
}

// mailFlags choose how email leaves.
type mailFlags struct {
	smtpURL *string
	from    *string
}

func addMailFlags(fs *flagSet) *mailFlags {
	return &mailFlags{
		smtpURL: fs.EnvString("smtp-url", "",
			"SMTP server for outgoing mail: smtp://user:pass@host:587 (STARTTLS when offered; ?starttls=required to insist) "+
				"or smtps://user:pass@host:465 (implicit TLS). Unset: mail goes to the local outbox (the log and /dev/mail)"),
		from: fs.EnvString("mail-from", "", "the From address of Roster's email, such as \"Roster <roster@example.com>\"; required with --smtp-url"),
	}
}

// sender returns the SMTP sender, or nil for the local outbox.
func (f *mailFlags) sender() (*email.SMTP, string, error) {
	from := strings.TrimSpace(*f.from)
	if *f.smtpURL == "" {
		if from == "" {
			from = "Roster <roster@localhost>"
		}
		if _, err := mail.ParseAddress(from); err != nil {
			return nil, "", usageErrorf("--mail-from: %q is not an email address; give one such as \"Roster <roster@example.com>\"", from)
		}
		return nil, from, nil
	}
	if from == "" {
		return nil, "", usageErrorf("--mail-from: give the From address of Roster's email, such as \"Roster <roster@example.com>\"")
	}
	if _, err := mail.ParseAddress(from); err != nil {
		return nil, "", usageErrorf("--mail-from: %q is not an email address; give one such as \"Roster <roster@example.com>\"", from)
	}
	s, err := email.NewSMTP(*f.smtpURL, from)
	if err != nil {
		return nil, "", usageErrorf("--smtp-url: %v", err)
	}
	return s, from, nil
}

// operatorToken derives the token of the operator's local outbox page from
// the server secret, so it is the same on every start and instance.
func operatorToken(secret []byte) string {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte("roster operator outbox v1"))
	return hex.EncodeToString(m.Sum(nil)[:16])
}
