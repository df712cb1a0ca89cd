-- Active Admins of an account (Admin is bit 0 of role_mask), for the
-- last-Admin check: a handful of rows per account, however many users.
CREATE INDEX users_active_admins ON users (account_id, access_until)
    WHERE status = 'active' AND (role_mask & 1) <> 0;
