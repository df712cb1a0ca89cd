package main

import (
	"context"
	"time"

	"roster"
)

// The operator's key commands beside api-key create: list an account's
// keys, switch one off or on (or rename it), and delete one. They act as
// the operator, so each change is audited with the actor "Operator".

// apiKeyOut is a key as the commands print it; never its secret.
type apiKeyOut struct {
	ID          string   `json:"id"`
	Name        string   `json:"name"`
	CreatorID   string   `json:"creator_id"`
	CreatorName string   `json:"creator_name"`
	LastFour    string   `json:"last_four"`
	CreatedAt   string   `json:"created_at"`
	LastUsedAt  *string  `json:"last_used_at"`
	ExpiresAt   *string  `json:"expires_at"`
	AllowedIPs  []string `json:"allowed_ips"`
	Scope       []string `json:"scope"`
	State       string   `json:"state"`
}

func newAPIKeyOut(k *roster.APIKey, now time.Time) apiKeyOut {
	opt := func(t time.Time) *string {
		if t.IsZero() {
			return nil
		}
		s := t.UTC().Format(time.RFC3339)
		return &s
	}
	out := apiKeyOut{ID: k.ID, Name: k.Name, CreatorID: k.UserID, LastFour: k.Hint, CreatedAt: k.CreatedAt.UTC().Format(time.RFC3339),
		LastUsedAt: opt(k.LastUsedAt), ExpiresAt: opt(k.ExpiresAt), AllowedIPs: k.AllowedIPs, Scope: k.Scope, State: k.State(now)}
	if k.Owner != nil {
		out.CreatorName = k.Owner.FullName()
	}
	if out.AllowedIPs == nil {
		out.AllowedIPs = []string{}
	}
	return out
}

// keyCommand registers the flags every key command shares (the database,
// --account and, unless list, --id) and runs fn with the service.
func keyCommand(fs *flagSet, withID bool, fn func(ctx context.Context, e *env, svc *roster.Service, account, id string) error) runner {
	db := addDBFlags(fs, false)
	account := fs.String("account", "", "the account's id (required)")
	var id *string
	if withID {
		id = fs.String("id", "", "the key's id (required)")
	}
	return func(ctx context.Context, e *env) error {
		if *account == "" {
			return usageErrorf("--account: give the id of the account")
		}
		keyID := ""
		if withID {
			if *id == "" {
				return usageErrorf("--id: give the id of the key (roster api-key list shows them)")
			}
			keyID = *id
		}
		svc, st, err := db.service(ctx, e, nil, true)
		if err != nil {
			return err
		}
		defer st.Close()
		return fn(ctx, e, svc, *account, keyID)
	}
}

func apiKeyListCommand() *command {
	return &command{
		name:    "api-key list",
		summary: "list an account's API keys",
		help: `
API-key list prints every API key of an account as a JSON array, newest
first: id, name, creator, last four characters, times, allow-list, scope
and state (active, inactive, expired or creator_inactive). Secrets are
never shown: Roster keeps only their hashes.`,
		register: func(fs *flagSet) runner {
			return keyCommand(fs, false, func(ctx context.Context, e *env, svc *roster.Service, account, _ string) error {
				keys, err := svc.APIKeys(ctx, roster.OperatorActor(), account)
				if err != nil {
					return domainError(err)
				}
				out := make([]apiKeyOut, len(keys))
				for i, k := range keys {
					out[i] = newAPIKeyOut(k, svc.Now())
				}
				return printJSON(e.stdout, out)
			})
		},
	}
}

func apiKeyUpdateCommand() *command {
	return &command{
		name:    "api-key update",
		summary: "switch an API key off or on, or rename it",
		help: `
API-key update changes a key of an account and prints it as JSON.
--active=false switches it off at once (every check answers "inactive");
--active=true switches it on again. --name renames it.`,
		register: func(fs *flagSet) runner {
			active := fs.String("active", "", "true or false")
			name := fs.String("name", "", "a new name")
			return keyCommand(fs, true, func(ctx context.Context, e *env, svc *roster.Service, account, id string) error {
				var in roster.KeyUpdate
				switch *active {
				case "":
				case "true", "false":
					in.Active = new(*active == "true")
				default:
					return usageErrorf("--active: give true or false")
				}
				if *name != "" {
					in.Name = name
				}
				if in.Active == nil && in.Name == nil {
					return usageErrorf("--active or --name: say what to change")
				}
				k, err := svc.UpdateAPIKey(ctx, roster.OperatorActor(), account, id, in)
				if err != nil {
					return domainError(err)
				}
				return printJSON(e.stdout, newAPIKeyOut(k, svc.Now()))
			})
		},
	}
}

func apiKeyDeleteCommand() *command {
	return &command{
		name:    "api-key delete",
		summary: "delete an API key for ever",
		help: `
API-key delete deletes a key of an account: every later check answers
"unknown". It prints {"deleted": "<id>"}.`,
		register: func(fs *flagSet) runner {
			return keyCommand(fs, true, func(ctx context.Context, e *env, svc *roster.Service, account, id string) error {
				if err := svc.DeleteAPIKey(ctx, roster.OperatorActor(), account, id); err != nil {
					return domainError(err)
				}
				return printJSON(e.stdout, map[string]string{"deleted": id})
			})
		},
	}
}
