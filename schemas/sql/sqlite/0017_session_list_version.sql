-- A per-account version of the session list (not in upstream): every change of a session row, whoever makes it
-- (this server, another tool on the file, a future writer), bumps its account's version in the same transaction,
-- so that a copy of GET /v1/sessions encoded at version V is current exactly while the version is still V
-- (modules/sessions/session_list_cache.hpp). A table of its own keeps the upstream tables in upstream's shape. An
-- account without a row has version 0: none of its sessions changed since this migration.
CREATE TABLE session_list_version (
    account_id TEXT PRIMARY KEY,
    version BIGINT NOT NULL
);

CREATE TRIGGER session_list_version_insert AFTER INSERT ON session
BEGIN
    INSERT INTO session_list_version (account_id, version) VALUES (NEW.account_id, 1)
        ON CONFLICT (account_id) DO UPDATE SET version = version + 1;
END;

-- Every UPDATE, also one that changes no value: cheaper than comparing 13 columns, and never misses a change.
CREATE TRIGGER session_list_version_update AFTER UPDATE ON session
BEGIN
    INSERT INTO session_list_version (account_id, version) VALUES (NEW.account_id, 1)
        ON CONFLICT (account_id) DO UPDATE SET version = version + 1;
    INSERT INTO session_list_version (account_id, version)
        SELECT OLD.account_id, 1 WHERE OLD.account_id IS NOT NEW.account_id
        ON CONFLICT (account_id) DO UPDATE SET version = version + 1;
END;

CREATE TRIGGER session_list_version_delete AFTER DELETE ON session
BEGIN
    INSERT INTO session_list_version (account_id, version) VALUES (OLD.account_id, 1)
        ON CONFLICT (account_id) DO UPDATE SET version = version + 1;
END;
