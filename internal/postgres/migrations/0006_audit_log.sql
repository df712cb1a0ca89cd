-- The audit log as people query it (docs/audit.md): newest first by
-- (at, seq), filtered by actor, target, action and a time range. Each
-- filter has an index that leads with it and ends with that order, so a
-- page is one stretch of one index; (account_id, at, seq) replaces
-- (account_id, id) for the unfiltered log.

CREATE INDEX audit_events_at ON audit_events (account_id, at, seq);
CREATE INDEX audit_events_actor ON audit_events (account_id, actor_id, at, seq);
CREATE INDEX audit_events_target ON audit_events (account_id, target_id, at, seq);
CREATE INDEX audit_events_action ON audit_events (account_id, action, at, seq);
DROP INDEX audit_events_account;

-- The end of an Expert's access (expired, revoked or deleted), with the
-- name and email of the time: the Admins' report email is rendered from it
-- and from the audit log, and outlives the user.
CREATE TABLE expert_access_ends (
    id         uuid PRIMARY KEY, -- UUIDv7
    account_id uuid NOT NULL REFERENCES accounts (id),
    user_id    uuid NOT NULL,
    name       text NOT NULL,
    email      text NOT NULL,
    reason     text NOT NULL CHECK (reason IN ('expired', 'revoked', 'deleted')),
    ended_at   bigint NOT NULL
);
CREATE INDEX expert_access_ends_user ON expert_access_ends (account_id, user_id, ended_at);
