-- The change log of access: one row per committed change to a user, an API
-- key or an account that may change what an API key may do. Triggers fill
-- it, so no code path can forget to; internal/authcache polls it (and
-- LISTENs on roster_auth) to evict its cached key checks on every Roster
-- instance (docs/key-cache.md). Prune deletes rows after ten minutes.
CREATE TABLE auth_changes (
    seq        bigserial PRIMARY KEY,
    account_id text NOT NULL,
    user_id    text NOT NULL DEFAULT '', -- '' for an account's change
    key_id     text NOT NULL DEFAULT '', -- '' for a user's or account's change
    changed_at bigint NOT NULL           -- Unix microseconds, database clock
);
CREATE INDEX auth_changes_at ON auth_changes (changed_at);

-- A poller that has seen seq n must have seen every smaller seq, so seq
-- order must be commit order. A sequence alone does not give that: a
-- transaction may draw 10, another 11 and commit first, and a poll between
-- the two commits would move past 10 for ever. So the rows are written by
-- deferred triggers, at commit, under a transaction-scoped advisory lock
-- that PostgreSQL releases only after the commit is visible: the next
-- writer draws its seq after. The lock is held from the trigger to the end
-- of the commit, and NOTIFY already serialises committing notifiers in the
-- same way, so this adds little. The notification is delivered at commit;
-- its payload is the account, so a transaction sends one per account.
CREATE FUNCTION auth_changes_record() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    acct text;
    usr text := '';
    k text := '';
BEGIN
    -- Updates and deletes only: the old row's ids are those caches know.
    IF TG_TABLE_NAME = 'users' THEN
        acct := OLD.account_id::text; usr := OLD.id::text;
    ELSIF TG_TABLE_NAME = 'api_keys' THEN
        acct := OLD.account_id::text; usr := OLD.user_id::text; k := OLD.id::text;
    ELSE
        acct := OLD.id::text;
    END IF;
    PERFORM pg_advisory_xact_lock(8245936386494049889); -- 0x726f737465722e61, "roster.a"
    INSERT INTO auth_changes (account_id, user_id, key_id, changed_at)
        VALUES (acct, usr, k, (extract(epoch FROM clock_timestamp()) * 1000000)::bigint);
    PERFORM pg_notify('roster_auth', acct);
    RETURN NULL;
END
$$;

-- Updates fire when any column but the excluded ones changed, compared as
-- whole rows: a column added later is covered without touching this.
CREATE CONSTRAINT TRIGGER users_auth_update AFTER UPDATE ON users
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
    WHEN (to_jsonb(OLD) - '{last_login_at,last_login_ip,last_login_device}'::text[]
        IS DISTINCT FROM to_jsonb(NEW) - '{last_login_at,last_login_ip,last_login_device}'::text[])
    EXECUTE FUNCTION auth_changes_record();
CREATE CONSTRAINT TRIGGER users_auth_delete AFTER DELETE ON users
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION auth_changes_record();

CREATE CONSTRAINT TRIGGER api_keys_auth_update AFTER UPDATE ON api_keys
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
    WHEN (to_jsonb(OLD) - 'last_used_at' IS DISTINCT FROM to_jsonb(NEW) - 'last_used_at')
    EXECUTE FUNCTION auth_changes_record();
CREATE CONSTRAINT TRIGGER api_keys_auth_delete AFTER DELETE ON api_keys
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION auth_changes_record();

CREATE CONSTRAINT TRIGGER accounts_auth_update AFTER UPDATE ON accounts
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
    WHEN (OLD.* IS DISTINCT FROM NEW.*)
    EXECUTE FUNCTION auth_changes_record();
CREATE CONSTRAINT TRIGGER accounts_auth_delete AFTER DELETE ON accounts
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION auth_changes_record();
