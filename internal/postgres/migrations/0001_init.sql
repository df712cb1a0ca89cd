-- Roster schema for PostgreSQL. Times are Unix microseconds, 0 = none.
-- Sort and search keys use the "C" collation: byte order, as on SQLite and
-- in Go, whatever the database's locale.

CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE EXTENSION IF NOT EXISTS btree_gin;

CREATE TABLE accounts (
    id              uuid PRIMARY KEY,
    name            text NOT NULL,
    enabled_roles   bigint NOT NULL DEFAULT 0,
    allowed_domains text NOT NULL DEFAULT '', -- comma-separated
    created_at      bigint NOT NULL DEFAULT 0,
    updated_at      bigint NOT NULL DEFAULT 0
);

CREATE TABLE users (
    id                uuid PRIMARY KEY,
    account_id        uuid NOT NULL REFERENCES accounts (id),
    first_name        text NOT NULL,
    last_name         text NOT NULL,
    email             text NOT NULL,
    email_key         text COLLATE "C" NOT NULL,
    name_key          text COLLATE "C" NOT NULL,
    search_key        text COLLATE "C" NOT NULL,
    role_mask         bigint NOT NULL DEFAULT 0,
    status            text COLLATE "C" NOT NULL,
    access_until      bigint NOT NULL DEFAULT 0,
    invited_by        text NOT NULL DEFAULT '',
    invited_by_name   text NOT NULL DEFAULT '',
    invited_at        bigint NOT NULL DEFAULT 0,
    joined_at         bigint NOT NULL DEFAULT 0,
    last_login_at     bigint NOT NULL DEFAULT 0,
    last_login_ip     text NOT NULL DEFAULT '',
    last_login_device text NOT NULL DEFAULT '',
    revoked_at        bigint NOT NULL DEFAULT 0,
    revoke_reason     text NOT NULL DEFAULT '',
    revoke_note       text NOT NULL DEFAULT '',
    password_hash     text NOT NULL DEFAULT '',
    version           bigint NOT NULL DEFAULT 1,
    updated_at        bigint NOT NULL DEFAULT 0
);

-- One index per sort order, (account, column, id): keyset paging reads a
-- page straight off the index. The unique email index serves the email sort
-- and exact email look-ups.
CREATE UNIQUE INDEX users_email ON users (account_id, email_key);
CREATE INDEX users_name ON users (account_id, name_key, id);
CREATE INDEX users_status ON users (account_id, status, id);
CREATE INDEX users_last_login ON users (account_id, last_login_at, id);
CREATE INDEX users_invited ON users (account_id, invited_at, id);
-- Substring search: trigrams of search_key, with the account in the same
-- GIN index (btree_gin) so a search reads one account's entries only.
CREATE INDEX users_search ON users USING gin (account_id, search_key gin_trgm_ops);

-- Users per (account, status, role mask), so that list totals and the
-- last-Admin check never scan an account's users. Each change lands on a
-- random one of 8 shards, so concurrent invites do not queue on one row;
-- readers sum the shards.
CREATE TABLE user_counts (
    account_id uuid NOT NULL,
    status     text COLLATE "C" NOT NULL,
    role_mask  bigint NOT NULL,
    shard      smallint NOT NULL,
    n          bigint NOT NULL,
    PRIMARY KEY (account_id, status, role_mask, shard)
);

-- Statement-level triggers see all changed rows at once (transition
-- tables), so a bulk insert of thousands of users updates each count row
-- once instead of once per user.
CREATE FUNCTION user_counts_apply() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO user_counts AS c (account_id, status, role_mask, shard, n)
        SELECT account_id, status, role_mask, floor(random() * 8)::smallint, count(*)
        FROM new_rows GROUP BY account_id, status, role_mask ORDER BY account_id, status, role_mask
        ON CONFLICT (account_id, status, role_mask, shard) DO UPDATE SET n = c.n + excluded.n;
    ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO user_counts AS c (account_id, status, role_mask, shard, n)
        SELECT account_id, status, role_mask, floor(random() * 8)::smallint, -count(*)
        FROM old_rows GROUP BY account_id, status, role_mask ORDER BY account_id, status, role_mask
        ON CONFLICT (account_id, status, role_mask, shard) DO UPDATE SET n = c.n + excluded.n;
    ELSE
        INSERT INTO user_counts AS c (account_id, status, role_mask, shard, n)
        SELECT account_id, status, role_mask, floor(random() * 8)::smallint, sum(d)
        FROM (
            SELECT o.account_id, o.status, o.role_mask, -1 AS d
            FROM old_rows o JOIN new_rows w ON w.id = o.id
            WHERE o.status <> w.status OR o.role_mask <> w.role_mask
            UNION ALL
            SELECT w.account_id, w.status, w.role_mask, 1
            FROM old_rows o JOIN new_rows w ON w.id = o.id
            WHERE o.status <> w.status OR o.role_mask <> w.role_mask
        ) d
        GROUP BY account_id, status, role_mask HAVING sum(d) <> 0 ORDER BY account_id, status, role_mask
        ON CONFLICT (account_id, status, role_mask, shard) DO UPDATE SET n = c.n + excluded.n;
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER users_count_insert AFTER INSERT ON users
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION user_counts_apply();
CREATE TRIGGER users_count_delete AFTER DELETE ON users
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION user_counts_apply();
CREATE TRIGGER users_count_update AFTER UPDATE ON users
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION user_counts_apply();

CREATE TABLE invitations (
    id         uuid PRIMARY KEY,
    account_id uuid NOT NULL REFERENCES accounts (id),
    user_id    uuid NOT NULL REFERENCES users (id),
    token_hash bytea NOT NULL UNIQUE,
    created_at bigint NOT NULL,
    sent_at    bigint NOT NULL DEFAULT 0,
    used_at    bigint NOT NULL DEFAULT 0,
    superseded boolean NOT NULL DEFAULT false
);
CREATE INDEX invitations_user ON invitations (user_id, created_at);

-- Emails to send, written in the transaction of the change that needs them.
-- The mail worker leases due rows (state, next_attempt_at) and retries.
CREATE TABLE outbox (
    id              uuid PRIMARY KEY,
    account_id      uuid NOT NULL REFERENCES accounts (id),
    kind            text NOT NULL,
    ref             text NOT NULL DEFAULT '',
    to_addr         text NOT NULL,
    created_at      bigint NOT NULL,
    state           text NOT NULL DEFAULT 'pending', -- pending, sent, failed
    attempts        integer NOT NULL DEFAULT 0,
    next_attempt_at bigint NOT NULL DEFAULT 0,
    lease_owner     text NOT NULL DEFAULT '',
    lease_until     bigint NOT NULL DEFAULT 0,
    sent_at         bigint NOT NULL DEFAULT 0,
    last_error      text NOT NULL DEFAULT ''
);
CREATE INDEX outbox_due ON outbox (state, next_attempt_at);
CREATE INDEX outbox_ref ON outbox (account_id, ref);

CREATE TABLE audit_events (
    id           uuid PRIMARY KEY, -- UUIDv7: ordered by time
    account_id   uuid NOT NULL REFERENCES accounts (id),
    at           bigint NOT NULL,
    actor_id     text NOT NULL DEFAULT '',
    actor_name   text NOT NULL DEFAULT '',
    actor_email  text NOT NULL DEFAULT '',
    action       text NOT NULL,
    target_id    text NOT NULL DEFAULT '',
    target_name  text NOT NULL DEFAULT '',
    target_email text NOT NULL DEFAULT '',
    details      jsonb NOT NULL DEFAULT '{}',
    ip           text NOT NULL DEFAULT ''
);
CREATE INDEX audit_events_account ON audit_events (account_id, id);

CREATE TABLE api_keys (
    id           uuid PRIMARY KEY,
    account_id   uuid NOT NULL REFERENCES accounts (id),
    user_id      uuid NOT NULL REFERENCES users (id),
    name         text NOT NULL,
    hint         text NOT NULL,
    hash         bytea NOT NULL UNIQUE, -- SHA-256 of the key
    created_at   bigint NOT NULL,
    last_used_at bigint NOT NULL DEFAULT 0,
    expires_at   bigint NOT NULL DEFAULT 0,
    disabled     boolean NOT NULL DEFAULT false
);
CREATE INDEX api_keys_user ON api_keys (user_id);
