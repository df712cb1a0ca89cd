package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"roster"
	"roster/internal/password"
)

func migrateCommand() *command {
	return &command{
		name:    "migrate",
		summary: "apply the database migrations",
		help: `
Migrate applies the embedded database migrations that the database lacks and
prints {"applied": N}, the number it applied. "roster serve" does the same at
start; run it alone to upgrade the schema before starting new instances.
Migrations are safe to run from several instances at once.`,
		register: func(fs *flagSet) runner {
			db := addDBFlags(fs, false)
			return func(ctx context.Context, e *env) error {
				if err := db.check(); err != nil {
					return err
				}
				n, err := db.migrate(ctx)
				if err != nil {
					return err
				}
				return printJSON(e.stdout, map[string]int{"applied": n})
			}
		},
	}
}

func accountCreateCommand() *command {
	return &command{
		name:    "account create",
		summary: "create an account and its first Admin",
		help: `
Account create creates an account and its first Admin and prints
{"account_id", "admin_user_id"}.

With --admin-password-stdin the Admin's password is read from the first line
of standard input and the Admin is active at once, ready for automation;
without it the Admin is invited and gets an invitation link by email.`,
		register: func(fs *flagSet) runner {
			db := addDBFlags(fs, true)
			name := fs.String("name", "", "the account's name, usually the customer company's (required)")
			email := fs.String("admin-email", "", "the first Admin's email (required)")
			first := fs.String("admin-first-name", "", "the first Admin's first name (required)")
			last := fs.String("admin-last-name", "", "the first Admin's last name (required)")
			pwStdin := fs.Bool("admin-password-stdin", false, "read the Admin's password from the first line of standard input")
			return func(ctx context.Context, e *env) error {
				in := roster.CreateAccountInput{Name: *name, AdminEmail: *email, AdminFirstName: *first, AdminLastName: *last}
				if *pwStdin {
					pw, err := readPassword(e.stdin)
					if err != nil {
						return err
					}
					// The password must not be the Admin's own email, names or
					// the account's name.
					if err := password.Check(pw, *email, *first, *last, *first+" "+*last, *name); err != nil {
						return usageErrorf("--admin-password-stdin: %v", err)
					}
					in.AdminPassword = pw
				}
				svc, st, err := db.service(ctx, e, nil, false)
				if err != nil {
					return err
				}
				defer st.Close()
				hash := func(pw string) (string, error) { return password.Hash(ctx, pw) }
				acct, admin, err := svc.CreateAccount(ctx, in, hash)
				if err != nil {
					return domainError(err)
				}
				return printJSON(e.stdout, map[string]string{"account_id": acct.ID, "admin_user_id": admin.ID})
			}
		},
	}
}

// readPassword reads one line from r, without its line ending.
func readPassword(r io.Reader) (string, error) {
	const flagName = "--admin-password-stdin"
	line, err := bufio.NewReaderSize(r, password.MaxLen+2).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("%s: read standard input: %w", flagName, err)
	}
	line = strings.TrimSuffix(strings.TrimSuffix(line, "\n"), "\r")
	if line == "" {
		return "", usageErrorf("%s: standard input held no password; pipe one line with the password", flagName)
	}
	return line, nil
}

func accountUpdateCommand() *command {
	return &command{
		name:    "account update",
		summary: "enable additional roles, set the allowed email domains",
		help: `
Account update changes what the operator controls in an account and prints
the account as JSON (id, name, enabled_roles, allowed_domains).

The additional roles whatsapp_only and numbers_read_only can only be given
to users of an account where they are enabled. Disabling a role that users
still hold is refused.

Allowed domains restrict invitations to emails at those domains; with none,
any domain may be invited. --clear-allowed-domains empties the list before
the --allowed-domain values are added.`,
		register: func(fs *flagSet) runner {
			db := addDBFlags(fs, false)
			id := fs.String("account", "", "the account's id (required)")
			enable := fs.List("enable-role", nil, "additional role to enable: whatsapp_only or numbers_read_only")
			disable := fs.List("disable-role", nil, "additional role to disable")
			domains := fs.List("allowed-domain", nil, "email domain to add to the allowed domains")
			clear := fs.Bool("clear-allowed-domains", false, "empty the allowed domains first, so any domain may be invited unless --allowed-domain adds some")
			return func(ctx context.Context, e *env) error {
				if *id == "" {
					return usageErrorf("--account: give the id of the account to update")
				}
				in := roster.UpdateAccountInput{AllowedDomains: domains.values, ClearAllowedDomains: *clear}
				for _, r := range enable.values {
					in.EnableRoles = append(in.EnableRoles, roster.RoleID(r))
				}
				for _, r := range disable.values {
					in.DisableRoles = append(in.DisableRoles, roster.RoleID(r))
				}
				svc, st, err := db.service(ctx, e, nil, true)
				if err != nil {
					return err
				}
				defer st.Close()
				acct, err := svc.UpdateAccount(ctx, *id, in)
				if err != nil {
					return domainError(err)
				}
				return printJSON(e.stdout, acct.Settings())
			}
		},
	}
}

func apiKeyCreateCommand() *command {
	return &command{
		name:    "api-key create",
		summary: "create an API key for a user of an account",
		help: `
API-key create creates an API key owned by an active user of an account and
prints {"id", "key"}. The key is shown only this once: Roster keeps only its
hash. Use it as "Authorization: Bearer <key>"; it never grants more than its
owner may do, and it stops working when the owner is revoked or deleted.

--expires-at, --allowed-ips and --scope limit the key: an expiry (RFC 3339),
the addresses and CIDR ranges it may be used from, and the permissions
(a subset of the owner's) it is limited to. The two lists are repeatable.`,
		register: func(fs *flagSet) runner {
			db := addDBFlags(fs, false)
			id := fs.String("account", "", "the account's id (required)")
			email := fs.String("user-email", "", "email of the user who owns the key (required)")
			name := fs.String("name", "", "a name that says what the key is for (required)")
			expires := fs.String("expires-at", "", "when the key stops working, RFC 3339 (2030-01-31T18:00:00Z); unset: never")
			ips := fs.List("allowed-ips", nil, "an address or CIDR range the key may be used from; repeatable; unset: any")
			scope := fs.List("scope", nil, "a permission the key is limited to; repeatable; unset: every permission of its owner")
			return func(ctx context.Context, e *env) error {
				if *id == "" {
					return usageErrorf("--account: give the id of the account")
				}
				in := roster.KeyInput{Name: *name, UserEmail: *email, AllowedIPs: ips.values, Scope: scope.values}
				if in.UserEmail == "" {
					in.UserEmail = " " // "" would mean the operator; CleanEmail names the flag
				}
				if *expires != "" {
					t, err := time.Parse(time.RFC3339, *expires)
					if err != nil {
						return usageErrorf("--expires-at: give an RFC 3339 time such as 2030-01-31T18:00:00Z")
					}
					in.ExpiresAt = t
				}
				svc, st, err := db.service(ctx, e, nil, true)
				if err != nil {
					return err
				}
				defer st.Close()
				k, secret, err := svc.CreateKey(ctx, roster.OperatorActor(), *id, in)
				if err != nil {
					return domainError(err)
				}
				return printJSON(e.stdout, map[string]string{"id": k.ID, "key": secret})
			}
		},
	}
}
