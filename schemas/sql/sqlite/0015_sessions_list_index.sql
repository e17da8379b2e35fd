-- GET /v1/sessions orders by updated_at DESC, id DESC: with id in the index SQLite walks it in order instead of
-- copying every matching row into a temporary b-tree to sort ties (bench/sync.mjs: most of a 20-session list's
-- cost).
DROP INDEX IF EXISTS session_account_updated;
CREATE INDEX session_account_updated_id ON session (account_id, updated_at DESC, id DESC);
