-- Roster schema for SQLite. Times are Unix microseconds, 0 = none; ids are
-- UUID text. STRICT tables keep every value in its declared type.

CREATE TABLE accounts (
    -- seq numbers accounts; a user's seq lives in the range seq << 32.
    seq             INTEGER PRIMARY KEY,
    id              TEXT NOT NULL UNIQUE,
    name            TEXT NOT NULL,
    enabled_roles   INTEGER NOT NULL DEFAULT 0,
    allowed_domains TEXT NOT NULL DEFAULT '', -- comma-separated
    created_at      INTEGER NOT NULL DEFAULT 0,
    updated_at      INTEGER NOT NULL DEFAULT 0
) STRICT;

CREATE TABLE users (
    -- seq = (accounts.seq << 32) | per-account counter: an account's users
    -- fill one rowid range, so the search index can be asked for one account
    -- only and an account's rows sit together in the table.
    seq               INTEGER PRIMARY KEY,
    id                TEXT NOT NULL UNIQUE,
    account_id        TEXT NOT NULL REFERENCES accounts (id),
    first_name        TEXT NOT NULL,
    last_name         TEXT NOT NULL,
    email             TEXT NOT NULL,
    email_key         TEXT NOT NULL,
    name_key          TEXT NOT NULL,
    search_key        TEXT NOT NULL,
    role_mask         INTEGER NOT NULL DEFAULT 0,
    status            TEXT NOT NULL,
    access_until      INTEGER NOT NULL DEFAULT 0,
    invited_by        TEXT NOT NULL DEFAULT '',
    invited_by_name   TEXT NOT NULL DEFAULT '',
    invited_at        INTEGER NOT NULL DEFAULT 0,
    joined_at         INTEGER NOT NULL DEFAULT 0,
    last_login_at     INTEGER NOT NULL DEFAULT 0,
    last_login_ip     TEXT NOT NULL DEFAULT '',
    last_login_device TEXT NOT NULL DEFAULT '',
    revoked_at        INTEGER NOT NULL DEFAULT 0,
    revoke_reason     TEXT NOT NULL DEFAULT '',
    revoke_note       TEXT NOT NULL DEFAULT '',
    password_hash     TEXT NOT NULL DEFAULT '',
    version           INTEGER NOT NULL DEFAULT 1,
    updated_at        INTEGER NOT NULL DEFAULT 0
) STRICT;

-- One index per sort order, (account, column, id): keyset paging reads a
-- page straight off the index. The unique email index serves the email sort
-- and exact email look-ups.
CREATE UNIQUE INDEX users_email ON users (account_id, email_key);
CREATE INDEX users_name ON users (account_id, name_key, id);
CREATE INDEX users_status ON users (account_id, status, id);
CREATE INDEX users_last_login ON users (account_id, last_login_at, id);
CREATE INDEX users_invited ON users (account_id, invited_at, id);

-- Substring search: trigrams of search_key (already folded, so the
-- tokenizer folds nothing). External content: the text lives in users only.
CREATE VIRTUAL TABLE users_fts USING fts5 (
    search_key,
    content = 'users',
    content_rowid = 'seq',
    tokenize = 'trigram case_sensitive 1',
    columnsize = 0
);

-- Users per (account, status, role mask), so that list totals and the
-- last-Admin check never scan an account's users. shard is always 0 here;
-- PostgreSQL spreads concurrent writers over several.
CREATE TABLE user_counts (
    account_id TEXT NOT NULL,
    status     TEXT NOT NULL,
    role_mask  INTEGER NOT NULL,
    shard      INTEGER NOT NULL DEFAULT 0,
    n          INTEGER NOT NULL,
    PRIMARY KEY (account_id, status, role_mask, shard)
) STRICT, WITHOUT ROWID;

CREATE TRIGGER users_after_insert AFTER INSERT ON users BEGIN
    INSERT INTO users_fts (rowid, search_key) VALUES (new.seq, new.search_key);
    INSERT INTO user_counts (account_id, status, role_mask, shard, n)
        VALUES (new.account_id, new.status, new.role_mask, 0, 1)
        ON CONFLICT (account_id, status, role_mask, shard) DO UPDATE SET n = n + 1;
END;

CREATE TRIGGER users_after_delete AFTER DELETE ON users BEGIN
    INSERT INTO users_fts (users_fts, rowid, search_key) VALUES ('delete', old.seq, old.search_key);
    UPDATE user_counts SET n = n - 1
        WHERE account_id = old.account_id AND status = old.status AND role_mask = old.role_mask AND shard = 0;
END;

CREATE TRIGGER users_after_update_search AFTER UPDATE OF search_key ON users
WHEN old.search_key <> new.search_key BEGIN
    INSERT INTO users_fts (users_fts, rowid, search_key) VALUES ('delete', old.seq, old.search_key);
    INSERT INTO users_fts (rowid, search_key) VALUES (new.seq, new.search_key);
END;

CREATE TRIGGER users_after_update_count AFTER UPDATE OF status, role_mask ON users
WHEN old.status <> new.status OR old.role_mask <> new.role_mask BEGIN
    UPDATE user_counts SET n = n - 1
        WHERE account_id = old.account_id AND status = old.status AND role_mask = old.role_mask AND shard = 0;
    INSERT INTO user_counts (account_id, status, role_mask, shard, n)
        VALUES (new.account_id, new.status, new.role_mask, 0, 1)
        ON CONFLICT (account_id, status, role_mask, shard) DO UPDATE SET n = n + 1;
END;

CREATE TABLE invitations (
    id         TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts (id),
    user_id    TEXT NOT NULL REFERENCES users (id),
    token_hash BLOB NOT NULL UNIQUE,
    created_at INTEGER NOT NULL,
    sent_at    INTEGER NOT NULL DEFAULT 0,
    used_at    INTEGER NOT NULL DEFAULT 0,
    superseded INTEGER NOT NULL DEFAULT 0
) STRICT;
CREATE INDEX invitations_user ON invitations (user_id, created_at);

-- Emails to send, written in the transaction of the change that needs them.
-- The mail worker leases due rows (state, next_attempt_at) and retries.
CREATE TABLE outbox (
    id              TEXT PRIMARY KEY,
    account_id      TEXT NOT NULL REFERENCES accounts (id),
    kind            TEXT NOT NULL,
    ref             TEXT NOT NULL DEFAULT '',
    to_addr         TEXT NOT NULL,
    created_at      INTEGER NOT NULL,
    state           TEXT NOT NULL DEFAULT 'pending', -- pending, sent, failed
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL DEFAULT 0,
    lease_owner     TEXT NOT NULL DEFAULT '',
    lease_until     INTEGER NOT NULL DEFAULT 0,
    sent_at         INTEGER NOT NULL DEFAULT 0,
    last_error      TEXT NOT NULL DEFAULT ''
) STRICT;
CREATE INDEX outbox_due ON outbox (state, next_attempt_at);
CREATE INDEX outbox_ref ON outbox (account_id, ref);

CREATE TABLE audit_events (
    id           TEXT PRIMARY KEY, -- UUIDv7: ordered by time
    account_id   TEXT NOT NULL REFERENCES accounts (id),
    at           INTEGER NOT NULL,
    actor_id     TEXT NOT NULL DEFAULT '',
    actor_name   TEXT NOT NULL DEFAULT '',
    actor_email  TEXT NOT NULL DEFAULT '',
    action       TEXT NOT NULL,
    target_id    TEXT NOT NULL DEFAULT '',
    target_name  TEXT NOT NULL DEFAULT '',
    target_email TEXT NOT NULL DEFAULT '',
    details      TEXT NOT NULL DEFAULT '{}', -- JSON
    ip           TEXT NOT NULL DEFAULT ''
) STRICT;
CREATE INDEX audit_events_account ON audit_events (account_id, id);

CREATE TABLE api_keys (
    id           TEXT PRIMARY KEY,
    account_id   TEXT NOT NULL REFERENCES accounts (id),
    user_id      TEXT NOT NULL REFERENCES users (id),
    name         TEXT NOT NULL,
    hint         TEXT NOT NULL,
    hash         BLOB NOT NULL UNIQUE, -- SHA-256 of the key
    created_at   INTEGER NOT NULL,
    last_used_at INTEGER NOT NULL DEFAULT 0,
    expires_at   INTEGER NOT NULL DEFAULT 0,
    disabled     INTEGER NOT NULL DEFAULT 0
) STRICT;
CREATE INDEX api_keys_user ON api_keys (user_id);
