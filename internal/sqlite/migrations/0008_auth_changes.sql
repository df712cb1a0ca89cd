-- The change log of access: one row per committed change to a user, an API
-- key or an account that may change what an API key may do. Triggers fill
-- it, so no code path can forget to; internal/authcache polls it to evict
-- its cached key checks (docs/key-cache.md). SQLite has one writer at a
-- time, so seq order is commit order; AUTOINCREMENT never reuses a seq,
-- even after pruning emptied the table. Prune deletes rows after ten
-- minutes.
CREATE TABLE auth_changes (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id TEXT NOT NULL,
    user_id    TEXT NOT NULL DEFAULT '', -- '' for an account's change
    key_id     TEXT NOT NULL DEFAULT '', -- '' for a user's or account's change
    changed_at INTEGER NOT NULL          -- Unix microseconds, database clock
) STRICT;
CREATE INDEX auth_changes_at ON auth_changes (changed_at);

-- Every column but the last sign-in's: SQLite cannot compare whole rows, so
-- the columns are listed, and storetest (AuthChanges/EveryColumn) fails when a
-- later migration adds a column that is not.
CREATE TRIGGER users_auth_update AFTER UPDATE ON users
WHEN old.seq IS NOT new.seq OR old.id IS NOT new.id OR old.account_id IS NOT new.account_id
    OR old.first_name IS NOT new.first_name OR old.last_name IS NOT new.last_name
    OR old.email IS NOT new.email OR old.email_key IS NOT new.email_key
    OR old.name_key IS NOT new.name_key OR old.search_key IS NOT new.search_key
    OR old.role_mask IS NOT new.role_mask OR old.status IS NOT new.status
    OR old.access_until IS NOT new.access_until OR old.invited_by IS NOT new.invited_by
    OR old.invited_by_name IS NOT new.invited_by_name OR old.invited_at IS NOT new.invited_at
    OR old.joined_at IS NOT new.joined_at OR old.revoked_at IS NOT new.revoked_at
    OR old.revoke_reason IS NOT new.revoke_reason OR old.revoke_note IS NOT new.revoke_note
    OR old.version IS NOT new.version OR old.updated_at IS NOT new.updated_at
    OR old.identity_id IS NOT new.identity_id OR old.expert_access IS NOT new.expert_access
    OR old.reminder_stage IS NOT new.reminder_stage OR old.reminder_until IS NOT new.reminder_until
    OR old.access_end_reported_until IS NOT new.access_end_reported_until
BEGIN
    INSERT INTO auth_changes (account_id, user_id, changed_at)
        VALUES (old.account_id, old.id, CAST(unixepoch('subsec') * 1000000 AS INTEGER));
END;

CREATE TRIGGER users_auth_delete AFTER DELETE ON users BEGIN
    INSERT INTO auth_changes (account_id, user_id, changed_at)
        VALUES (old.account_id, old.id, CAST(unixepoch('subsec') * 1000000 AS INTEGER));
END;

-- Every column but last_used_at, which key checks themselves write.
CREATE TRIGGER api_keys_auth_update AFTER UPDATE ON api_keys
WHEN old.id IS NOT new.id OR old.account_id IS NOT new.account_id OR old.user_id IS NOT new.user_id
    OR old.name IS NOT new.name OR old.hint IS NOT new.hint OR old.hash IS NOT new.hash
    OR old.created_at IS NOT new.created_at OR old.expires_at IS NOT new.expires_at
    OR old.disabled IS NOT new.disabled OR old.allowed_ips IS NOT new.allowed_ips OR old.scope IS NOT new.scope
BEGIN
    INSERT INTO auth_changes (account_id, user_id, key_id, changed_at)
        VALUES (old.account_id, old.user_id, old.id, CAST(unixepoch('subsec') * 1000000 AS INTEGER));
END;

CREATE TRIGGER api_keys_auth_delete AFTER DELETE ON api_keys BEGIN
    INSERT INTO auth_changes (account_id, user_id, key_id, changed_at)
        VALUES (old.account_id, old.user_id, old.id, CAST(unixepoch('subsec') * 1000000 AS INTEGER));
END;

CREATE TRIGGER accounts_auth_update AFTER UPDATE ON accounts
WHEN old.seq IS NOT new.seq OR old.id IS NOT new.id OR old.name IS NOT new.name
    OR old.enabled_roles IS NOT new.enabled_roles OR old.allowed_domains IS NOT new.allowed_domains
    OR old.created_at IS NOT new.created_at OR old.updated_at IS NOT new.updated_at
BEGIN
    INSERT INTO auth_changes (account_id, changed_at)
        VALUES (old.id, CAST(unixepoch('subsec') * 1000000 AS INTEGER));
END;

CREATE TRIGGER accounts_auth_delete AFTER DELETE ON accounts BEGIN
    INSERT INTO auth_changes (account_id, changed_at)
        VALUES (old.id, CAST(unixepoch('subsec') * 1000000 AS INTEGER));
END;
