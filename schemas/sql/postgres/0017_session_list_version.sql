-- A per-account version of the session list (not in upstream): PostgreSQL twin of
-- sql/sqlite/0017_session_list_version.sql. Every change of a session row, by any instance or tool, bumps its
-- account's version in the same transaction, so that an instance's cached GET /v1/sessions encoded at version V is
-- current exactly while the version is still V, whichever instance wrote since.
--
-- The trigger is a deferred constraint trigger: the bumps run at COMMIT, after every row lock the transaction takes,
-- so the version row is locked last and briefly. An immediate trigger would lock it between two session rows of one
-- transaction (the heartbeat flush updates many), and another transaction holding the second session while
-- waiting for the version row (a message append) would deadlock with it.
CREATE TABLE session_list_version (
    account_id TEXT COLLATE "C" PRIMARY KEY,
    version BIGINT NOT NULL
);

CREATE FUNCTION session_list_version_bump() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'DELETE' THEN
        INSERT INTO session_list_version (account_id, version) VALUES (NEW.account_id, 1)
            ON CONFLICT (account_id) DO UPDATE SET version = session_list_version.version + 1;
    END IF;
    IF TG_OP = 'DELETE' OR (TG_OP = 'UPDATE' AND OLD.account_id IS DISTINCT FROM NEW.account_id) THEN
        INSERT INTO session_list_version (account_id, version) VALUES (OLD.account_id, 1)
            ON CONFLICT (account_id) DO UPDATE SET version = session_list_version.version + 1;
    END IF;
    RETURN NULL;
END
$$;

CREATE CONSTRAINT TRIGGER session_list_version_bump AFTER INSERT OR UPDATE OR DELETE ON session
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION session_list_version_bump();
