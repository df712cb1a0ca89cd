-- Issue 6: an API key's optional IP allow-list and permission scope, each a
-- space-separated list ('' = none: any address, every permission of its
-- creator), and the account's key list newest first.
ALTER TABLE api_keys
    ADD COLUMN allowed_ips text NOT NULL DEFAULT '',
    ADD COLUMN scope text NOT NULL DEFAULT '';
CREATE INDEX api_keys_account ON api_keys (account_id, id);
