-- Time-limited Expert access (docs/expert.md).
--
-- expert_access is the Expert's access level ('' without the Expert role).
-- Experts before this release held what the limited-write level grants
-- (less flows.view and platform.view, which it adds), so they keep it.
--
-- The deadline job's bookkeeping, per user and per deadline so that a new
-- deadline starts afresh without anyone resetting it: reminder_stage is
-- the last reminder queued (1: 7 days, 2: 1 day) for the deadline
-- reminder_until; access_end_reported_until is the deadline whose end was
-- reported. Deadlines already passed count as reported: their end came
-- before there was a report to send.

ALTER TABLE users ADD COLUMN expert_access TEXT NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN reminder_stage INTEGER NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN reminder_until INTEGER NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN access_end_reported_until INTEGER NOT NULL DEFAULT 0;

-- Expert is bit 3 of role_mask (roster.Roles is append-only).
UPDATE users SET expert_access = 'limited_write' WHERE (role_mask & 8) <> 0;
UPDATE users SET access_end_reported_until = access_until
    WHERE access_until <> 0 AND access_until <= CAST(unixepoch('subsec') * 1000000 AS INTEGER);

-- The deadline job's work list across accounts: active users whose
-- deadline's end is not reported yet — Experts and the few others with a
-- deadline, not the whole table.
CREATE INDEX users_deadlines_due ON users (access_until)
    WHERE status = 'active' AND access_until <> 0 AND access_end_reported_until <> access_until;

-- Users whose access has a deadline, per account: the Users page's status
-- filters count active users past their deadline as inactive, and the list
-- total moves them across with a count through this small index.
CREATE INDEX users_deadlines ON users (account_id, access_until)
    WHERE status = 'active' AND access_until <> 0;
