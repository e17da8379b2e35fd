-- GET /v1/sessions orders by updated_at DESC, id DESC: with id in the index the list is read in index order with no
-- sort step for ties (PostgreSQL twin of sql/sqlite/0015_sessions_list_index.sql).
DROP INDEX IF EXISTS session_account_updated;
CREATE INDEX session_account_updated_id ON session (account_id, updated_at DESC, id DESC);
