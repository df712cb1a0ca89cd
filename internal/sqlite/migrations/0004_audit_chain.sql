-- The tamper-evident audit log (docs/audit.md): each event carries its seq
-- in the account's log, the hash of the event before it and its own hash.
-- audit_heads holds each account's newest seq and hash: InsertAudit locks
-- its row to append, and verification compares the newest event with it.
-- The Go part of this migration (sqlstore.chainAuditEvents) hashes the
-- events written before, in the order numbered here.

ALTER TABLE audit_events ADD COLUMN seq INTEGER NOT NULL DEFAULT 0;
ALTER TABLE audit_events ADD COLUMN prev_hash BLOB NOT NULL DEFAULT X'';
ALTER TABLE audit_events ADD COLUMN hash BLOB NOT NULL DEFAULT X'';

UPDATE audit_events SET seq = n.n
FROM (SELECT id, row_number() OVER (PARTITION BY account_id ORDER BY id) AS n FROM audit_events) AS n
WHERE audit_events.id = n.id;

CREATE UNIQUE INDEX audit_events_seq ON audit_events (account_id, seq);

CREATE TABLE audit_heads (
    account_id TEXT PRIMARY KEY REFERENCES accounts (id),
    seq        INTEGER NOT NULL,
    hash       BLOB NOT NULL
) STRICT;

CREATE TRIGGER audit_events_head AFTER INSERT ON audit_events BEGIN
    UPDATE audit_heads SET seq = NEW.seq, hash = NEW.hash WHERE account_id = NEW.account_id;
END;
