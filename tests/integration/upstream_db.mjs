// An upstream Happy server database for import-upstream tests and the import benchmark: upstream's own 37 Prisma
// migrations (tests/fixtures/upstream_prisma, with _prisma_migrations as Prisma keeps it) applied to a throwaway
// PostgreSQL database, then rows written in the formats upstream's code writes (packages/happy-server/sources at
// 2c8ecacc: public keys as uppercase hex, message content {"t":"encrypted","c":…} in JSONB, keys and artifact
// parts as bytea, TIMESTAMP(3) in UTC, GitHub and vendor tokens encrypted with the KeyTree of HANDY_MASTER_SECRET).

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import crypto from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { REPO_ROOT, psql } from './harness.mjs';

export const MIGRATIONS_DIR = path.join(REPO_ROOT, 'tests/fixtures/upstream_prisma');

/** Upstream's migration directories, in the order Prisma applies them (by name). */
export function migrationNames() {
    return fs.readdirSync(MIGRATIONS_DIR, { withFileTypes: true })
        .filter((e) => e.isDirectory()).map((e) => e.name).sort();
}

/** Runs a SQL file with psql (stops at the first error). */
export function psqlFile(url, file) {
    const r = spawnSync('psql', ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', url, '-f', file], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`psql -f ${file}: ${r.stderr}`);
}

/**
 * Applies upstream's migrations to the empty database `url` as `prisma migrate deploy` does: each file, and a row in
 * _prisma_migrations (its DDL as Prisma creates it). `count` applies only the first ones (an outdated upstream).
 */
export function applyUpstreamSchema(url, count = Infinity) {
    const names = migrationNames().slice(0, count);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'happy-upstream-'));
    try {
        const parts = [`CREATE TABLE "_prisma_migrations" (
    "id" VARCHAR(36) PRIMARY KEY NOT NULL, "checksum" VARCHAR(64) NOT NULL, "finished_at" TIMESTAMPTZ,
    "migration_name" VARCHAR(255) NOT NULL, "logs" TEXT, "rolled_back_at" TIMESTAMPTZ,
    "started_at" TIMESTAMPTZ NOT NULL DEFAULT now(), "applied_steps_count" INTEGER NOT NULL DEFAULT 0);`];
        for (const name of names) {
            const text = fs.readFileSync(path.join(MIGRATIONS_DIR, name, 'migration.sql'), 'utf8');
            const checksum = crypto.createHash('sha256').update(text).digest('hex');
            parts.push(text);
            parts.push(`INSERT INTO "_prisma_migrations" (id, checksum, finished_at, migration_name, applied_steps_count) ` +
                `VALUES ('${crypto.randomUUID()}', '${checksum}', now(), '${name}', 1);`);
        }
        const file = path.join(dir, 'schema.sql');
        fs.writeFileSync(file, parts.join('\n'));
        psqlFile(url, file);
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
    }
    return names;
}

// --- upstream's formats ------------------------------------------------------------------------------------------

let cuidCounter = 0;
/** A cuid v1 as Prisma's cuid() makes them: 'c', time, counter, fingerprint, random (25 chars, lowercase base36). */
export function cuid(ms = Date.now()) {
    const pad = (s, n) => s.slice(-n).padStart(n, '0');
    const time = pad(ms.toString(36), 8);
    const count = pad((cuidCounter++ % 1679616).toString(36), 4);
    const rand = pad(crypto.randomBytes(6).readUIntBE(0, 6).toString(36), 12);
    return `c${time}${count}${rand}`;
}

/** A TIMESTAMP(3) literal of `ms` (UTC, as Prisma stores DateTime). */
export const ts = (ms) => `'${new Date(ms).toISOString().replace('T', ' ').replace('Z', '')}'`;
export const str = (v) => (v === null || v === undefined ? 'NULL' : `'${String(v).replace(/'/g, "''")}'`);
export const bytea = (buf) => (buf === null || buf === undefined ? 'NULL' : `'\\x${Buffer.from(buf).toString('hex')}'::bytea`);
export const jsonb = (v) => (v === null || v === undefined ? 'NULL' : `${str(JSON.stringify(v))}::jsonb`);

/** privacy-kit KeyTree of upstream's modules/encrypt.ts (http-api.md §5 "Encryption at rest"). */
export function keyTree(secret) {
    const master = crypto.pbkdf2Sync(Buffer.from(secret, 'utf8'), Buffer.from('happy-server-tokens', 'utf8'), 210000, 64, 'sha512');
    const keyOf = (p) => {
        let state = master;
        const parts = [...p, '#aes256'];
        for (let i = 0; i < parts.length; i++) {
            const I = crypto.createHmac('sha512', state).update(Buffer.concat([Buffer.from([0]), Buffer.from(parts[i], 'utf8')])).digest();
            if (i === parts.length - 1) return I.subarray(0, 32);
            state = I.subarray(32, 64);
        }
        throw new Error('unreachable');
    };
    return {
        encrypt(p, plaintext) {
            const nonce = crypto.randomBytes(12);
            const c = crypto.createCipheriv('aes-256-gcm', keyOf(p), nonce);
            const body = Buffer.concat([c.update(Buffer.from(plaintext, 'utf8')), c.final()]);
            return Buffer.concat([Buffer.from([0]), nonce, body, c.getAuthTag()]);
        },
    };
}

/** Rows of one table as INSERT statements (values already SQL literals). */
function insert(table, rows) {
    if (rows.length === 0) return '';
    const cols = Object.keys(rows[0]);
    const out = [];
    for (let i = 0; i < rows.length; i += 500) {
        const chunk = rows.slice(i, i + 500).map((r) => `(${cols.map((c) => r[c]).join(', ')})`);
        out.push(`INSERT INTO "${table}" (${cols.map((c) => `"${c}"`).join(', ')}) VALUES\n${chunk.join(',\n')};`);
    }
    return out.join('\n');
}

/** Writes `tables` ({Table: [row of SQL literals]}) into `url` in one psql run. */
export function writeRows(url, tables) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'happy-upstream-'));
    try {
        const file = path.join(dir, 'data.sql');
        const sql = ['BEGIN;', ...Object.entries(tables).map(([t, rows]) => insert(t, rows)), 'COMMIT;'].join('\n');
        fs.writeFileSync(file, sql);
        psqlFile(url, file);
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
    }
}

/**
 * A small upstream deployment with every kind of row: three accounts (A with GitHub, profile, settings, vendor
 * token; A and B friends; A asked C), sessions with messages, a machine with an access key, an artifact, KV items
 * (one deleted), a usage report, push tokens, pairing requests, a voice conversation and rows in the tables the
 * import leaves behind. Returns the model (plain JS values) the tests derive upstream's answers from.
 */
export function upstreamModel(secret, now = Date.now()) {
    const tree = keyTree(secret);
    const t0 = now - 3 * 24 * 3600 * 1000;  // three days ago
    const at = (min) => t0 + min * 60_000 + 123;  // ms precision kept
    const pk = () => crypto.randomBytes(32).toString('hex').toUpperCase();
    const A = { id: cuid(at(0)), publicKey: pk(), seq: 42, feedSeq: 2, createdAt: at(0), updatedAt: at(50),
        settings: 'enc-settings-✓', settingsVersion: 3, githubUserId: '12345', firstName: 'Alice', lastName: 'Liddell',
        username: 'alice', avatar: { path: 'public/users/ALICE/avatars/a1.png', width: 64, height: 48, thumbhash: 'thumb==' } };
    A.avatar.path = `public/users/${A.id}/avatars/a1.png`;
    const B = { id: cuid(at(1)), publicKey: pk(), seq: 7, feedSeq: 1, createdAt: at(1), updatedAt: at(40), settings: null,
        settingsVersion: 0, githubUserId: null, firstName: 'Bob', lastName: null, username: 'bob', avatar: null };
    const C = { id: cuid(at(2)), publicKey: pk(), seq: 0, feedSeq: 1, createdAt: at(2), updatedAt: at(2), settings: null,
        settingsVersion: 0, githubUserId: null, firstName: null, lastName: null, username: null, avatar: null };
    const github = { id: '12345', profile: { login: 'alice-gh', id: 12345, name: 'Alice G', bio: 'down the hole',
        avatar_url: 'https://avatars.example/u/12345' }, token: tree.encrypt(['user', A.id, 'github', 'token'], 'gho_upstream'),
    createdAt: at(3), updatedAt: at(3) };
    const dek = () => crypto.randomBytes(32);
    const s1 = { id: cuid(at(10)), tag: 'tag-1', accountId: A.id, metadata: 'meta-1', metadataVersion: 5, agentState: 'state-1',
        agentStateVersion: 2, dataEncryptionKey: dek(), seq: 3, active: true, lastActiveAt: now - 60_000, createdAt: at(10), updatedAt: at(30) };
    const s2 = { id: cuid(at(11)), tag: 'tag-2', accountId: A.id, metadata: 'meta-2', metadataVersion: 0, agentState: null,
        agentStateVersion: 0, dataEncryptionKey: null, seq: 2, active: false, lastActiveAt: at(20), createdAt: at(11), updatedAt: at(20) };
    const s3 = { id: cuid(at(12)), tag: 'tag-b', accountId: B.id, metadata: 'meta-b', metadataVersion: 1, agentState: null,
        agentStateVersion: 0, dataEncryptionKey: dek(), seq: 1, active: false, lastActiveAt: at(13), createdAt: at(12), updatedAt: at(13) };
    const msg = (s, seq, localId, min) => ({ id: cuid(at(min)), sessionId: s.id, localId, seq,
        content: { t: 'encrypted', c: crypto.randomBytes(24 + seq).toString('base64') }, createdAt: at(min), updatedAt: at(min) });
    const messages = [msg(s1, 1, 'l-1', 14), msg(s1, 2, null, 15), msg(s1, 3, 'l-3', 16), msg(s2, 1, 'x', 17), msg(s2, 2, 'y', 18),
        msg(s3, 1, null, 13)];
    const m1 = { id: `machine-${A.id}`, accountId: A.id, metadata: 'machine-meta', metadataVersion: 2, daemonState: 'daemon',
        daemonStateVersion: 3, dataEncryptionKey: dek(), seq: 5, active: true, lastActiveAt: now - 30_000, createdAt: at(5), updatedAt: at(25) };
    const m2 = { id: 'machine-b', accountId: B.id, metadata: 'mb', metadataVersion: 1, daemonState: null, daemonStateVersion: 0,
        dataEncryptionKey: null, seq: 0, active: false, lastActiveAt: at(6), createdAt: at(6), updatedAt: at(6) };
    const accessKey = { id: cuid(at(26)), accountId: A.id, machineId: m1.id, sessionId: s1.id, data: 'access-data', dataVersion: 2,
        createdAt: at(26), updatedAt: at(27) };
    const artifact = { id: '0b6f3c2e-9a1d-4e5f-8b7c-6d5e4f3a2b1c', accountId: A.id, header: Buffer.from('{"title":"t"}'), headerVersion: 2,
        body: crypto.randomBytes(200), bodyVersion: 3, dataEncryptionKey: dek(), seq: 4, createdAt: at(28), updatedAt: at(29) };
    const kv = [
        { id: cuid(at(31)), accountId: A.id, key: 'settings/theme', value: Buffer.from('dark'), version: 2, createdAt: at(31), updatedAt: at(32) },
        { id: cuid(at(31)), accountId: A.id, key: 'deleted', value: null, version: 1, createdAt: at(31), updatedAt: at(33) },
        { id: cuid(at(31)), accountId: A.id, key: 'todo/1', value: crypto.randomBytes(40), version: 0, createdAt: at(31), updatedAt: at(31) },
    ];
    const usage = [{ id: cuid(at(34)), key: 'claude-session', accountId: A.id, sessionId: s1.id,
        data: { tokens: { total: 100, input: 60, output: 40 }, cost: { total: 0.5, input: 0.25, output: 0.25 } },
        createdAt: at(34), updatedAt: at(35) }];
    const pushTokens = [{ id: cuid(at(36)), accountId: A.id, token: 'ExponentPushToken[upstream-a]', createdAt: at(36), updatedAt: at(36) },
        { id: cuid(at(37)), accountId: B.id, token: 'ExponentPushToken[upstream-b]', createdAt: at(37), updatedAt: at(37) }];
    const vendorTokens = [{ id: cuid(at(38)), accountId: A.id, vendor: 'openai',
        token: tree.encrypt(['user', A.id, 'vendors', 'openai', 'token'], 'sk-upstream-✓'), metadata: null, lastUsedAt: null,
        createdAt: at(38), updatedAt: at(38) }];
    const relationships = [
        { fromUserId: A.id, toUserId: B.id, status: 'friend', createdAt: at(40), updatedAt: at(41), acceptedAt: at(41), lastNotifiedAt: at(40) },
        { fromUserId: B.id, toUserId: A.id, status: 'friend', createdAt: at(40), updatedAt: at(41), acceptedAt: at(41), lastNotifiedAt: null },
        { fromUserId: A.id, toUserId: C.id, status: 'requested', createdAt: at(42), updatedAt: at(42), acceptedAt: null, lastNotifiedAt: null },
        { fromUserId: C.id, toUserId: A.id, status: 'pending', createdAt: at(42), updatedAt: at(42), acceptedAt: null, lastNotifiedAt: at(42) },
    ];
    const feed = [
        { id: cuid(at(40)), userId: A.id, counter: 1, repeatKey: `friend_request_${B.id}`, body: { kind: 'friend_request', uid: B.id }, createdAt: at(40), updatedAt: at(40) },
        { id: cuid(at(41)), userId: B.id, counter: 1, repeatKey: `friend_accepted_${A.id}`, body: { kind: 'friend_accepted', uid: A.id }, createdAt: at(41), updatedAt: at(41) },
        { id: cuid(at(42)), userId: C.id, counter: 1, repeatKey: `friend_request_${A.id}`, body: { kind: 'friend_request', uid: A.id }, createdAt: at(42), updatedAt: at(42) },
        { id: cuid(at(43)), userId: A.id, counter: 2, repeatKey: null, body: { kind: 'text', text: 'welcome' }, createdAt: at(43), updatedAt: at(43) },
    ];
    const terminalRequests = [
        { id: cuid(at(44)), publicKey: pk(), supportsV2: true, response: 'encrypted-response', responseAccountId: A.id, createdAt: at(44), updatedAt: at(45) },
        { id: cuid(at(46)), publicKey: pk(), supportsV2: false, response: null, responseAccountId: null, createdAt: at(46), updatedAt: at(46) },
    ];
    const accountRequests = [{ id: cuid(at(47)), publicKey: pk(), response: 'acct-response', responseAccountId: B.id, createdAt: at(47), updatedAt: at(48) }];
    const voice = [{ id: cuid(at(49)), accountId: A.id, elevenLabsConversationId: 'conv_upstream1', durationSecs: 93, createdAt: at(49) }];
    const leftBehind = {
        UploadedFile: [{ id: str(cuid()), accountId: str(A.id), path: str(A.avatar.path), width: 64, height: 48, thumbhash: str('thumb=='),
            reuseKey: str('image-url:https://avatars.example/u/12345'), createdAt: ts(at(3)), updatedAt: ts(at(3)) }],
        GithubOrganization: [{ id: str('777'), profile: jsonb({ login: 'org' }), createdAt: ts(at(3)), updatedAt: ts(at(3)) }],
        SimpleCache: [{ key: str('k'), value: str('v'), createdAt: ts(at(3)), updatedAt: ts(at(3)) }],
        GlobalLock: [{ key: str('timeout'), value: str('x'), createdAt: ts(at(3)), updatedAt: ts(at(3)), expiresAt: ts(at(4)) }],
        RepeatKey: [{ key: str('rk'), value: str('v'), createdAt: ts(at(3)), expiresAt: ts(at(4)) }],
    };
    return { A, B, C, github, sessions: [s1, s2, s3], messages, machines: [m1, m2], accessKey, artifact, kv, usage, pushTokens,
        vendorTokens, relationships, feed, terminalRequests, accountRequests, voice, leftBehind };
}

const account = (a) => ({ id: str(a.id), publicKey: str(a.publicKey), seq: a.seq, feedSeq: a.feedSeq, createdAt: ts(a.createdAt),
    updatedAt: ts(a.updatedAt), settings: str(a.settings), settingsVersion: a.settingsVersion, githubUserId: str(a.githubUserId),
    firstName: str(a.firstName), lastName: str(a.lastName), username: str(a.username), avatar: jsonb(a.avatar) });
const session = (s) => ({ id: str(s.id), tag: str(s.tag), accountId: str(s.accountId), metadata: str(s.metadata),
    metadataVersion: s.metadataVersion, agentState: str(s.agentState), agentStateVersion: s.agentStateVersion,
    dataEncryptionKey: bytea(s.dataEncryptionKey), seq: s.seq, active: s.active, lastActiveAt: ts(s.lastActiveAt),
    createdAt: ts(s.createdAt), updatedAt: ts(s.updatedAt) });
export const messageRow = (m) => ({ id: str(m.id), sessionId: str(m.sessionId), localId: str(m.localId), seq: m.seq,
    content: jsonb(m.content), createdAt: ts(m.createdAt), updatedAt: ts(m.updatedAt) });

/** Writes upstreamModel() into the migrated upstream database `url`. */
export function writeModel(url, m) {
    writeRows(url, {
        GithubUser: [{ id: str(m.github.id), profile: jsonb(m.github.profile), token: bytea(m.github.token), createdAt: ts(m.github.createdAt),
            updatedAt: ts(m.github.updatedAt) }],
        Account: [m.A, m.B, m.C].map(account),
        Session: m.sessions.map(session),
        SessionMessage: m.messages.map(messageRow),
        Machine: m.machines.map((x) => ({ id: str(x.id), accountId: str(x.accountId), metadata: str(x.metadata), metadataVersion: x.metadataVersion,
            daemonState: str(x.daemonState), daemonStateVersion: x.daemonStateVersion, dataEncryptionKey: bytea(x.dataEncryptionKey),
            seq: x.seq, active: x.active, lastActiveAt: ts(x.lastActiveAt), createdAt: ts(x.createdAt), updatedAt: ts(x.updatedAt) })),
        AccessKey: [m.accessKey].map((k) => ({ id: str(k.id), accountId: str(k.accountId), machineId: str(k.machineId), sessionId: str(k.sessionId),
            data: str(k.data), dataVersion: k.dataVersion, createdAt: ts(k.createdAt), updatedAt: ts(k.updatedAt) })),
        Artifact: [m.artifact].map((a) => ({ id: str(a.id), accountId: str(a.accountId), header: bytea(a.header), headerVersion: a.headerVersion,
            body: bytea(a.body), bodyVersion: a.bodyVersion, dataEncryptionKey: bytea(a.dataEncryptionKey), seq: a.seq,
            createdAt: ts(a.createdAt), updatedAt: ts(a.updatedAt) })),
        UserKVStore: m.kv.map((k) => ({ id: str(k.id), accountId: str(k.accountId), key: str(k.key), value: bytea(k.value), version: k.version,
            createdAt: ts(k.createdAt), updatedAt: ts(k.updatedAt) })),
        UsageReport: m.usage.map((u) => ({ id: str(u.id), key: str(u.key), accountId: str(u.accountId), sessionId: str(u.sessionId),
            data: jsonb(u.data), createdAt: ts(u.createdAt), updatedAt: ts(u.updatedAt) })),
        AccountPushToken: m.pushTokens.map((p) => ({ id: str(p.id), accountId: str(p.accountId), token: str(p.token), createdAt: ts(p.createdAt),
            updatedAt: ts(p.updatedAt) })),
        ServiceAccountToken: m.vendorTokens.map((v) => ({ id: str(v.id), accountId: str(v.accountId), vendor: str(v.vendor), token: bytea(v.token),
            metadata: jsonb(v.metadata), lastUsedAt: v.lastUsedAt === null ? 'NULL' : ts(v.lastUsedAt), createdAt: ts(v.createdAt),
            updatedAt: ts(v.updatedAt) })),
        UserRelationship: m.relationships.map((r) => ({ fromUserId: str(r.fromUserId), toUserId: str(r.toUserId),
            status: `${str(r.status)}::"RelationshipStatus"`, createdAt: ts(r.createdAt), updatedAt: ts(r.updatedAt),
            acceptedAt: r.acceptedAt === null ? 'NULL' : ts(r.acceptedAt), lastNotifiedAt: r.lastNotifiedAt === null ? 'NULL' : ts(r.lastNotifiedAt) })),
        UserFeedItem: m.feed.map((f) => ({ id: str(f.id), userId: str(f.userId), counter: f.counter, repeatKey: str(f.repeatKey), body: jsonb(f.body),
            createdAt: ts(f.createdAt), updatedAt: ts(f.updatedAt) })),
        TerminalAuthRequest: m.terminalRequests.map((r) => ({ id: str(r.id), publicKey: str(r.publicKey), supportsV2: r.supportsV2,
            response: str(r.response), responseAccountId: str(r.responseAccountId), createdAt: ts(r.createdAt), updatedAt: ts(r.updatedAt) })),
        AccountAuthRequest: m.accountRequests.map((r) => ({ id: str(r.id), publicKey: str(r.publicKey), response: str(r.response),
            responseAccountId: str(r.responseAccountId), createdAt: ts(r.createdAt), updatedAt: ts(r.updatedAt) })),
        VoiceConversation: m.voice.map((v) => ({ id: str(v.id), accountId: str(v.accountId), elevenLabsConversationId: str(v.elevenLabsConversationId),
            durationSecs: v.durationSecs, createdAt: ts(v.createdAt) })),
        ...m.leftBehind,
    });
}

export { psql };
