-- Voice conversations (upstream prisma: VoiceConversation). Upstream keeps the table but its current routes never
-- write it (ElevenLabs is the source of truth for usage); it exists here so the schemas stay parallel.
CREATE TABLE voice_conversation (
    id TEXT PRIMARY KEY,                      -- cuid
    account_id TEXT NOT NULL REFERENCES account (id) ON DELETE RESTRICT,
    elevenlabs_conversation_id TEXT NOT NULL UNIQUE,
    duration_secs BIGINT,
    created_at BIGINT NOT NULL
);
CREATE INDEX voice_conversation_account_created ON voice_conversation (account_id, created_at DESC);
