-- Sign-in: identities (a person, found by email, with a password), their
-- sessions, password reset links, sign-in throttling and the first-run
-- setup link. A user row links to the identity that registered it.

CREATE TABLE identities (
    id                  TEXT PRIMARY KEY,
    email               TEXT NOT NULL,
    email_key           TEXT NOT NULL UNIQUE, -- roster.CanonicalEmail(email)
    password_hash       TEXT NOT NULL DEFAULT '', -- argon2id PHC string
    created_at          INTEGER NOT NULL,
    updated_at          INTEGER NOT NULL DEFAULT 0,
    password_changed_at INTEGER NOT NULL DEFAULT 0
) STRICT;

-- '' while the user is invited. Memberships, sign-in checks and login
-- records find an identity's users through the partial index, which
-- leaves out the invited.
ALTER TABLE users ADD COLUMN identity_id TEXT NOT NULL DEFAULT '';
CREATE INDEX users_identity ON users (identity_id, account_id) WHERE identity_id <> '';

-- Users who had a password (set by the operator CLI) get an identity, one
-- per folded email. users.email_key is roster.Fold(email): the same as
-- CanonicalEmail for every address without compatibility characters.
INSERT INTO identities (id, email, email_key, password_hash, created_at, updated_at, password_changed_at)
SELECT lower(hex(randomblob(4)) || '-' || hex(randomblob(2)) || '-4' || substr(hex(randomblob(2)), 2) || '-'
        || substr('89ab', 1 + abs(random()) % 4, 1) || substr(hex(randomblob(2)), 2) || '-' || hex(randomblob(6))),
    min(email), email_key, min(password_hash), min(t), min(t), min(t)
FROM (
    SELECT email, email_key, password_hash, CASE WHEN joined_at > 0 THEN joined_at ELSE invited_at END AS t
    FROM users WHERE password_hash <> ''
)
GROUP BY email_key;
UPDATE users SET identity_id = (SELECT i.id FROM identities i WHERE i.email_key = users.email_key)
WHERE password_hash <> '';
ALTER TABLE users DROP COLUMN password_hash;

-- One signed-in browser each; only the hash of its token is stored.
CREATE TABLE sessions (
    id           TEXT PRIMARY KEY,
    identity_id  TEXT NOT NULL REFERENCES identities (id),
    token_hash   BLOB NOT NULL UNIQUE,
    created_at   INTEGER NOT NULL,
    last_seen_at INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL,
    ip           TEXT NOT NULL DEFAULT '',
    device       TEXT NOT NULL DEFAULT ''
) STRICT;
CREATE INDEX sessions_identity ON sessions (identity_id);

CREATE TABLE password_resets (
    id          TEXT PRIMARY KEY,
    identity_id TEXT NOT NULL REFERENCES identities (id),
    token_hash  BLOB NOT NULL UNIQUE,
    created_at  INTEGER NOT NULL,
    sent_at     INTEGER NOT NULL DEFAULT 0,
    used_at     INTEGER NOT NULL DEFAULT 0,
    superseded  INTEGER NOT NULL DEFAULT 0
) STRICT;
CREATE INDEX password_resets_identity ON password_resets (identity_id, created_at);

-- Sign-in failures per throttle key (a hash of an email or a client
-- address).
CREATE TABLE login_failures (
    key      BLOB PRIMARY KEY,
    count    INTEGER NOT NULL,
    first_at INTEGER NOT NULL,
    last_at  INTEGER NOT NULL
) STRICT, WITHOUT ROWID;

-- First-run setup links, and whether the first account exists (one row:
-- claiming it is what makes exactly one setup succeed).
CREATE TABLE setup_tokens (
    token_hash BLOB PRIMARY KEY,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    used_at    INTEGER NOT NULL DEFAULT 0
) STRICT, WITHOUT ROWID;
CREATE TABLE setup_state (
    id      INTEGER PRIMARY KEY CHECK (id = 1),
    done_at INTEGER NOT NULL
) STRICT;
INSERT INTO setup_state (id, done_at) SELECT 1, CASE WHEN EXISTS (SELECT 1 FROM accounts) THEN 1 ELSE 0 END;

-- A password reset email belongs to no account (account_id ''): the outbox
-- loses its foreign key to accounts. SQLite cannot drop a constraint, so
-- the table is rebuilt.
CREATE TABLE outbox_new (
    id              TEXT PRIMARY KEY,
    account_id      TEXT NOT NULL DEFAULT '', -- '' for mail to an identity
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
INSERT INTO outbox_new (id, account_id, kind, ref, to_addr, created_at, state, attempts, next_attempt_at,
    lease_owner, lease_until, sent_at, last_error)
SELECT id, account_id, kind, ref, to_addr, created_at, state, attempts, next_attempt_at,
    lease_owner, lease_until, sent_at, last_error FROM outbox;
DROP TABLE outbox;
ALTER TABLE outbox_new RENAME TO outbox;
CREATE INDEX outbox_due ON outbox (state, next_attempt_at);
CREATE INDEX outbox_ref ON outbox (account_id, ref);
