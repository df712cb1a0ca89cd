-- Sign-in: identities (a person, found by email, with a password), their
-- sessions, password reset links, sign-in throttling and the first-run
-- setup link. A user row links to the identity that registered it.
-- Identity, session and reset ids are text: users.identity_id is '' while
-- the user is invited.

CREATE TABLE identities (
    id                  text PRIMARY KEY,
    email               text NOT NULL,
    email_key           text COLLATE "C" NOT NULL UNIQUE, -- roster.CanonicalEmail(email)
    password_hash       text NOT NULL DEFAULT '', -- argon2id PHC string
    created_at          bigint NOT NULL,
    updated_at          bigint NOT NULL DEFAULT 0,
    password_changed_at bigint NOT NULL DEFAULT 0
);

-- Memberships, sign-in checks and login records find an identity's users
-- through the partial index, which leaves out the invited.
ALTER TABLE users ADD COLUMN identity_id text NOT NULL DEFAULT '';
CREATE INDEX users_identity ON users (identity_id, account_id) WHERE identity_id <> '';

-- Users who had a password (set by the operator CLI) get an identity, one
-- per folded email. users.email_key is roster.Fold(email): the same as
-- CanonicalEmail for every address without compatibility characters.
INSERT INTO identities (id, email, email_key, password_hash, created_at, updated_at, password_changed_at)
SELECT gen_random_uuid()::text, min(email), email_key, min(password_hash), min(t), min(t), min(t)
FROM (
    SELECT email, email_key, password_hash, CASE WHEN joined_at > 0 THEN joined_at ELSE invited_at END AS t
    FROM users WHERE password_hash <> ''
) u
GROUP BY email_key;
UPDATE users SET identity_id = i.id FROM identities i
WHERE i.email_key = users.email_key AND users.password_hash <> '';
ALTER TABLE users DROP COLUMN password_hash;

-- One signed-in browser each; only the hash of its token is stored.
CREATE TABLE sessions (
    id           text PRIMARY KEY,
    identity_id  text NOT NULL REFERENCES identities (id),
    token_hash   bytea NOT NULL UNIQUE,
    created_at   bigint NOT NULL,
    last_seen_at bigint NOT NULL,
    expires_at   bigint NOT NULL,
    ip           text NOT NULL DEFAULT '',
    device       text NOT NULL DEFAULT ''
);
CREATE INDEX sessions_identity ON sessions (identity_id);

CREATE TABLE password_resets (
    id          text PRIMARY KEY,
    identity_id text NOT NULL REFERENCES identities (id),
    token_hash  bytea NOT NULL UNIQUE,
    created_at  bigint NOT NULL,
    sent_at     bigint NOT NULL DEFAULT 0,
    used_at     bigint NOT NULL DEFAULT 0,
    superseded  boolean NOT NULL DEFAULT false
);
CREATE INDEX password_resets_identity ON password_resets (identity_id, created_at);

-- Sign-in failures per throttle key (a hash of an email or a client
-- address).
CREATE TABLE login_failures (
    key      bytea PRIMARY KEY,
    count    integer NOT NULL,
    first_at bigint NOT NULL,
    last_at  bigint NOT NULL
);

-- First-run setup links, and whether the first account exists. Claiming
-- the one row of setup_state locks it: of concurrent setups exactly one
-- succeeds.
CREATE TABLE setup_tokens (
    token_hash bytea PRIMARY KEY,
    created_at bigint NOT NULL,
    expires_at bigint NOT NULL,
    used_at    bigint NOT NULL DEFAULT 0
);
CREATE TABLE setup_state (
    id      integer PRIMARY KEY CHECK (id = 1),
    done_at bigint NOT NULL
);
INSERT INTO setup_state (id, done_at) SELECT 1, CASE WHEN EXISTS (SELECT 1 FROM accounts) THEN 1 ELSE 0 END;

-- A password reset email belongs to no account (account_id ''): the outbox
-- loses its foreign key to accounts, and account_id becomes text.
ALTER TABLE outbox DROP CONSTRAINT outbox_account_id_fkey;
ALTER TABLE outbox ALTER COLUMN account_id TYPE text USING account_id::text;
ALTER TABLE outbox ALTER COLUMN account_id SET DEFAULT '';
