-- Token/cost usage reports (upstream prisma: UsageReport); PostgreSQL twin of sql/sqlite/0008_usage.sql (types and
-- collations: see 0001_auth.sql). CASCADE from session gives the end state of upstream's explicit delete.
CREATE TABLE usage_report (
    id TEXT COLLATE "C" PRIMARY KEY,             -- cuid
    key TEXT COLLATE "C" NOT NULL,
    account_id TEXT COLLATE "C" NOT NULL REFERENCES account (id) ON DELETE RESTRICT,
    session_id TEXT COLLATE "C" REFERENCES session (id) ON DELETE CASCADE,
    data JSONB NOT NULL,                         -- {"tokens": {…}, "cost": {…}} as reported (upstream: Json)
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE (account_id, session_id, key)
);
CREATE INDEX usage_report_account_created ON usage_report (account_id, created_at);
CREATE INDEX usage_report_session ON usage_report (session_id);
