package web

import (
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"roster"
)

// The API Keys page of an account, for people with api_keys.manage: the
// keys they manage (every key of the account for an Admin), a form that
// creates one and shows its secret once, and Deactivate, Activate and
// Delete as confirmation pages that are also dialogs (like the Users
// page's actions).

// keysPagePath is the API Keys page of an account.
func keysPagePath(accountID string) string {
	return "/accounts/" + url.PathEscape(accountID) + "/api-keys"
}

// keysView is the data of templates/api-keys.html.
type keysView struct {
	Keys    []keyRow
	SeesAll bool // an Admin: every key of the account, with its creator
	NewPath string
}

// keyRow is one key of the list.
type keyRow struct {
	Name, Creator, Shown string
	Created, LastUsed    time.Time
	Expires              time.Time
	AllowedIPs, Scope    string
	State, StateLabel    string
	Actions              []keyLink
}

type keyLink struct{ Href, Text, Label string }

// scopeNames names a key's permissions as the create form does ("Manage
// billing, View usage and balance"), an unknown id as it is.
func scopeNames(scope []string) string {
	if len(scope) == 0 {
		return "None"
	}
	names := make([]string, len(scope))
	for i, id := range scope {
		names[i] = id
		if p, ok := roster.PermissionByID(id); ok {
			names[i] = p.Name
		}
	}
	return strings.Join(names, ", ")
}

// keyExpiry is a key's expiry as the create form asked for it: a key made
// with an expiry date ends at the midnight after it, and works until the
// end of that day.
func keyExpiry(t time.Time) string {
	t = t.UTC()
	if t.Hour() == 0 && t.Minute() == 0 && t.Second() == 0 && t.Nanosecond() == 0 {
		return "End of " + t.AddDate(0, 0, -1).Format("2 Jan 2006") + " (UTC)"
	}
	return when(t)
}

var keyStateLabels = map[string]string{
	roster.KeyActive: "Active", roster.KeyInactive: "Inactive", roster.KeyExpired: "Expired",
	roster.KeyCreatorInactive: "Creator inactive",
}

func (s *server) keysListPage(w http.ResponseWriter, r *http.Request, pr *pageRequest) error {
	keys, err := s.svc.APIKeys(r.Context(), pr.actor, pr.account.ID)
	if err != nil {
		return err
	}
	now := s.svc.Now()
	v := keysView{NewPath: keysPagePath(pr.account.ID) + "/new", SeesAll: pr.actor.Can("team.manage")}
	for _, k := range keys {
		row := keyRow{Name: k.Name, Shown: k.Prefix() + "…" + k.Hint, Created: k.CreatedAt, LastUsed: k.LastUsedAt,
			Expires: k.ExpiresAt, AllowedIPs: "Any address", Scope: "All of the creator's permissions", State: k.State(now)}
		row.StateLabel = keyStateLabels[row.State]
		if k.Owner != nil {
			row.Creator = k.Owner.FullName()
		}
		if len(k.AllowedIPs) > 0 {
			row.AllowedIPs = strings.Join(k.AllowedIPs, ", ")
		}
		if k.Scope != nil {
			row.Scope = scopeNames(k.Scope)
		}
		base := keysPagePath(pr.account.ID) + "/" + url.PathEscape(k.ID) + "/"
		if k.Disabled {
			row.Actions = append(row.Actions, keyLink{base + "activate", "Activate", "Activate " + k.Name})
		} else {
			row.Actions = append(row.Actions, keyLink{base + "deactivate", "Deactivate", "Deactivate " + k.Name})
		}
		row.Actions = append(row.Actions, keyLink{base + "delete", "Delete", "Delete " + k.Name})
		v.Keys = append(v.Keys, row)
	}
	return s.render(w, r, pr, http.StatusOK, "api-keys", "API Keys", nil, v)
}

// keyFormFields are the fields of the create form, in page order.
var keyFormFields = []string{"name", "expires_at", "allowed_ips", "scope"}

// keyFormView is the data of templates/api-key-form.html.
type keyFormView struct {
	Action, Back string
	ScopeSome    bool // "Only the permissions chosen below"
	Permissions  []permChoice
}

type permChoice struct {
	roster.Permission
	Checked bool
}

func (s *server) keyFormPage(w http.ResponseWriter, r *http.Request, pr *pageRequest) error {
	return s.renderKeyForm(w, r, pr, http.StatusOK, newForm(keyFormFields))
}

func (s *server) renderKeyForm(w http.ResponseWriter, r *http.Request, pr *pageRequest, status int, f *form) error {
	v := keyFormView{Action: keysPagePath(pr.account.ID) + "/new", Back: keysPagePath(pr.account.ID), ScopeSome: f.Values["scope_mode"] == "some"}
	chosen := strings.Fields(f.Values["scope"])
	for _, p := range roster.ScopeChoices(pr.actor) {
		v.Permissions = append(v.Permissions, permChoice{Permission: p, Checked: slices.Contains(chosen, p.ID)})
	}
	return s.render(w, r, pr, status, "api-key-form", "Create API Key", f, v)
}

// keyCreatedView is the data of templates/api-key-created.html: the
// secret, shown this once.
type keyCreatedView struct {
	Name, Secret, Back string
}

func (s *server) keyFormSubmit(w http.ResponseWriter, r *http.Request, pr *pageRequest) error {
	f := newForm(keyFormFields).fromRequest(r, "name", "expires_at", "allowed_ips", "scope_mode")
	f.Values["scope"] = strings.Join(r.PostForm["scope"], " ")
	in := roster.KeyInput{Name: r.PostForm.Get("name"), AllowedIPs: splitAllowList(r.PostForm.Get("allowed_ips"))}
	if d := strings.TrimSpace(r.PostForm.Get("expires_at")); d != "" {
		day, err := time.Parse(time.DateOnly, d)
		if err != nil {
			f.fail("expires_at", "Enter the expiry as a date such as 2030-01-31.")
			return s.renderKeyForm(w, r, pr, http.StatusUnprocessableEntity, f)
		}
		in.ExpiresAt = day.AddDate(0, 0, 1) // the key works until the end of that day (UTC)
	}
	if r.PostForm.Get("scope_mode") == "some" {
		in.Scope = r.PostForm["scope"]
		if in.Scope == nil {
			in.Scope = []string{}
		}
	}
	k, secret, err := s.svc.CreateKey(r.Context(), pr.actor, pr.account.ID, in)
	switch roster.ErrorCode(err) {
	case "":
		path := createdPath(pr.account.ID, k.ID)
		s.sealNewKey(w, path, k.ID, secret)
		return redirect(w, r, path)
	case roster.CodeInvalid:
		if f.failWith(err) {
			return s.renderKeyForm(w, r, pr, http.StatusUnprocessableEntity, f)
		}
	case roster.CodeForbidden, roster.CodeConflict:
		var e *roster.Error
		if errors.As(err, &e) {
			f.fail("", e.Message)
			return s.renderKeyForm(w, r, pr, statusOf[e.Code], f)
		}
	}
	return err
}

// keyCreatedPage shows a new key's secret, once: the creating form
// redirects here with the secret sealed in a cookie (newkey_cookie.go).
// Opened again, reloaded or from another browser, it says the secret
// cannot be shown again.
func (s *server) keyCreatedPage(w http.ResponseWriter, r *http.Request, pr *pageRequest) error {
	k, err := s.svc.APIKey(r.Context(), pr.actor, pr.account.ID, r.PathValue("key_id"))
	if err != nil {
		return err
	}
	v := keyCreatedView{Name: k.Name, Back: keysPagePath(pr.account.ID)}
	v.Secret = s.openNewKey(w, r, createdPath(pr.account.ID, k.ID), k.ID)
	return s.render(w, r, pr, http.StatusOK, "api-key-created", "API Key Created", nil, v)
}

// splitAllowList reads the allow-list textarea: addresses and ranges
// separated by line breaks, commas or spaces.
func splitAllowList(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' || r == '\n' || r == '\r' || r == '\t' })
}

// keyAction is Deactivate, Activate or Delete: its words and its call.
type keyAction struct {
	path, heading, button string
	danger, focusCancel   bool
	paras                 func(k *roster.APIKey) []string
	refusal               func(k *roster.APIKey) string
	do                    func(s *server, r *http.Request, pr *pageRequest, k *roster.APIKey) error
	done                  string // the flash, after the key's name
}

// keyActionView is the data of templates/api-key-action.html.
type keyActionView struct {
	ID, Heading, Button string
	Danger, FocusCancel bool
	Action, Back        string
	Lead                string
	Paras               []string
	Refusal             string
}

var deactivateKey = &keyAction{
	path: "deactivate", heading: "Deactivate API Key", button: "Deactivate", danger: true,
	paras: func(k *roster.APIKey) []string {
		return []string{"Every call made with it is refused from now on, on every Roster instance.",
			"Nothing is deleted: Activate makes it work again."}
	},
	refusal: func(k *roster.APIKey) string {
		if k.Disabled {
			return `"` + k.Name + `" is already inactive. Use Activate to make it work again.`
		}
		return ""
	},
	do: func(s *server, r *http.Request, pr *pageRequest, k *roster.APIKey) error {
		_, err := s.svc.UpdateAPIKey(r.Context(), pr.actor, pr.account.ID, k.ID, roster.KeyUpdate{Active: new(false)})
		return err
	},
	done: " was deactivated.",
}

var activateKey = &keyAction{
	path: "activate", heading: "Activate API Key", button: "Activate",
	paras: func(k *roster.APIKey) []string {
		return []string{"It works again at once, with the same limits, as long as its creator may act and it has not expired."}
	},
	refusal: func(k *roster.APIKey) string {
		if !k.Disabled {
			return `"` + k.Name + `" is already active.`
		}
		return ""
	},
	do: func(s *server, r *http.Request, pr *pageRequest, k *roster.APIKey) error {
		_, err := s.svc.UpdateAPIKey(r.Context(), pr.actor, pr.account.ID, k.ID, roster.KeyUpdate{Active: new(true)})
		return err
	},
	done: " was activated.",
}

var deleteKey = &keyAction{
	path: "delete", heading: "Delete API Key", button: "Delete", danger: true, focusCancel: true,
	paras: func(k *roster.APIKey) []string {
		return []string{"Every call made with it is refused from now on. This cannot be undone: a deleted key never works again.",
			"To stop it only for now, use Deactivate instead."}
	},
	refusal: func(*roster.APIKey) string { return "" },
	do: func(s *server, r *http.Request, pr *pageRequest, k *roster.APIKey) error {
		return s.svc.DeleteAPIKey(r.Context(), pr.actor, pr.account.ID, k.ID)
	},
	done: " was deleted.",
}

// keyActions are routed under /accounts/{account_id}/api-keys/{key_id}/{path}.
var keyActions = []*keyAction{deactivateKey, activateKey, deleteKey}

func (s *server) keyActionPage(a *keyAction) pageHandler {
	return func(w http.ResponseWriter, r *http.Request, pr *pageRequest) error {
		k, err := s.svc.APIKey(r.Context(), pr.actor, pr.account.ID, r.PathValue("key_id"))
		if err != nil {
			return err
		}
		return s.renderKeyAction(w, r, pr, http.StatusOK, a, k, a.refusal(k))
	}
}

func (s *server) keyActionSubmit(a *keyAction) pageHandler {
	return func(w http.ResponseWriter, r *http.Request, pr *pageRequest) error {
		k, err := s.svc.APIKey(r.Context(), pr.actor, pr.account.ID, r.PathValue("key_id"))
		if err != nil {
			return err
		}
		if why := a.refusal(k); why != "" {
			return s.renderKeyAction(w, r, pr, http.StatusConflict, a, k, why+" Nothing was changed.")
		}
		if err := a.do(s, r, pr, k); err != nil {
			return err
		}
		s.setFlash(w, `API key "`+k.Name+`"`+a.done)
		return redirect(w, r, keysPagePath(pr.account.ID))
	}
}

func (s *server) renderKeyAction(w http.ResponseWriter, r *http.Request, pr *pageRequest, status int, a *keyAction, k *roster.APIKey, refusal string) error {
	v := keyActionView{ID: "key-" + a.path, Heading: a.heading, Button: a.button, Danger: a.danger, FocusCancel: a.focusCancel,
		Action:  keysPagePath(pr.account.ID) + "/" + url.PathEscape(k.ID) + "/" + a.path,
		Back:    keysPagePath(pr.account.ID),
		Refusal: refusal}
	if refusal == "" {
		v.Lead = a.heading[:strings.IndexByte(a.heading, ' ')] + ` the key "` + k.Name + `" (` + k.Prefix() + "…" + k.Hint + ")?"
		v.Paras = a.paras(k)
	}
	return s.render(w, r, pr, status, "api-key-action", a.heading+": "+k.Name, nil, v)
}
