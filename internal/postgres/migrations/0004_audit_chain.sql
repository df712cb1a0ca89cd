-- The tamper-evident audit log (docs/audit.md): each event carries its seq
-- in the account's log, the hash of the event before it and its own hash.
-- audit_heads holds each account's newest seq and hash: InsertAudit locks
-- its row to append (concurrent appends to one account wait there), and
-- verification compares the newest event with it. The Go part of this
-- migration (sqlstore.chainAuditEvents) hashes the events written before,
-- in the order numbered here.

ALTER TABLE audit_events
    ADD COLUMN seq bigint NOT NULL DEFAULT 0,
    ADD COLUMN prev_hash bytea NOT NULL DEFAULT '',
    ADD COLUMN hash bytea NOT NULL DEFAULT '';

UPDATE audit_events SET seq = n.n
FROM (SELECT id, row_number() OVER (PARTITION BY account_id ORDER BY id) AS n FROM audit_events) AS n
WHERE audit_events.id = n.id;

-- Every insert names them from now on.
ALTER TABLE audit_events
    ALTER COLUMN seq DROP DEFAULT,
    ALTER COLUMN prev_hash DROP DEFAULT,
    ALTER COLUMN hash DROP DEFAULT;

CREATE UNIQUE INDEX audit_events_seq ON audit_events (account_id, seq);

CREATE TABLE audit_heads (
    account_id uuid PRIMARY KEY REFERENCES accounts (id),
    seq        bigint NOT NULL,
    hash       bytea NOT NULL
);

CREATE FUNCTION audit_events_head() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE audit_heads SET seq = NEW.seq, hash = NEW.hash WHERE account_id = NEW.account_id;
    RETURN NULL;
END
$$;
CREATE TRIGGER audit_events_head AFTER INSERT ON audit_events
    FOR EACH ROW EXECUTE FUNCTION audit_events_head();
