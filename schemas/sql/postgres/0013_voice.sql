-- Voice conversations (upstream prisma: VoiceConversation); PostgreSQL twin of sql/sqlite/0013_voice.sql (types and
-- collations: see 0001_auth.sql). Upstream's current routes never write it; it exists so the schemas stay parallel.
CREATE TABLE voice_conversation (
    id TEXT COLLATE "C" PRIMARY KEY,             -- cuid
    account_id TEXT COLLATE "C" NOT NULL REFERENCES account (id) ON DELETE RESTRICT,
    elevenlabs_conversation_id TEXT COLLATE "C" NOT NULL UNIQUE,
    duration_secs BIGINT,
    created_at BIGINT NOT NULL
);
CREATE INDEX voice_conversation_account_created ON voice_conversation (account_id, created_at DESC);
