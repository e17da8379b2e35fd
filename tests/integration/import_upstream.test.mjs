// `happy-server import-upstream` (issue 12 item 5): a database built from upstream's own 37 Prisma migrations
// (tests/fixtures/upstream_prisma) and filled the way upstream's code writes (upstream_db.mjs) is imported into
// SQLite and into PostgreSQL; a server on the result answers every account's old token, and reads sessions, messages
// with their seqs, machines, access keys, artifacts, KV, settings, profile, friends, feed, push and vendor tokens and
// usage as upstream serves them (http-api.md §3). Also: --dry-run, --files, the refusals (second import, wrong
// master secret, outdated upstream schema) and seqs continuing after the import.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';
import { spawnSync } from 'node:child_process';
import {
    startServer, req, authReq, makeTempDir, removeDir, cleanEnv, mintJwt, deriveTokenKeyPair, nowSec, b64,
    SERVER_BIN, HOOK_TIMEOUT,
} from './harness.mjs';
import { pgServer, createDatabase, psql } from './pg.mjs';
import { applyUpstreamSchema, upstreamModel, writeModel, cuid, ts } from './upstream_db.mjs';

const T = { timeout: 120_000 };
const SECRET = 'upstream-master-secret';
const PUBLIC_URL = 'http://happy.test';
let pg;
let upstreamUrl;
let model;
let tokenKey;
const dirs = [];
const tempDir = () => { const d = makeTempDir('happy-import-'); dirs.push(d); return d; };

before(() => {
    pg = pgServer();
    upstreamUrl = createDatabase(pg.url);
    assert.equal(applyUpstreamSchema(upstreamUrl).length, 37);
    model = upstreamModel(SECRET);
    writeModel(upstreamUrl, model);
    // A session with more messages than the import reads in one page (2,000 rows), written as upstream's v3 route
    // does ({"t":"encrypted","c":…}, seqs 1…n, Session.seq = n).
    const t = Date.now() - 3600_000;
    model.bulk = { id: cuid(t), tag: 'bulk', accountId: model.C.id, metadata: 'bulk-meta', metadataVersion: 0, agentState: null,
        agentStateVersion: 0, dataEncryptionKey: null, seq: 2100, active: false, lastActiveAt: t, createdAt: t, updatedAt: t + 2100 };
    psql(upstreamUrl, `INSERT INTO "Session" ("id", "tag", "accountId", "metadata", "seq", "active", "lastActiveAt", "createdAt", "updatedAt")
        VALUES ('${model.bulk.id}', 'bulk', '${model.C.id}', 'bulk-meta', 2100, false, ${ts(t)}, ${ts(t)}, ${ts(t + 2100)})`);
    psql(upstreamUrl, `INSERT INTO "SessionMessage" ("id", "sessionId", "localId", "seq", "content", "createdAt", "updatedAt")
        SELECT 'cbulk' || lpad(g::text, 20, '0'), '${model.bulk.id}', CASE WHEN g % 3 = 0 THEN NULL ELSE 'l' || g END, g,
            jsonb_build_object('t', 'encrypted', 'c', encode(sha256(g::text::bytea), 'base64')),
            ${ts(t)}::timestamp + g * interval '1 millisecond', ${ts(t)}::timestamp + g * interval '1 millisecond'
        FROM generate_series(1, 2100) g`);
    tokenKey = deriveTokenKeyPair(SECRET);
}, { timeout: HOOK_TIMEOUT });
after(() => { for (const d of dirs) removeDir(d); pg?.stop(); }, { timeout: HOOK_TIMEOUT });

/** A token as upstream mints it (privacy-kit persistent token: sub = account id; tokens.md). */
function upstreamToken(accountId) {
    const t = nowSec() - 86400;
    return { token: mintJwt({ payload: { sub: accountId, iat: t, nbf: t, iss: 'handy', jti: crypto.randomUUID() }, privateKey: tokenKey.privateKey }) };
}

function run(args, { dataDir, databaseUrl, secret = SECRET } = {}) {
    const env = { ...cleanEnv(), HAPPY_LOG_LEVEL: 'warn', DATA_DIR: dataDir };
    if (secret) env.HANDY_MASTER_SECRET = secret;
    if (databaseUrl) env.DATABASE_URL = databaseUrl;
    const r = spawnSync(SERVER_BIN, args, { env, encoding: 'utf8', timeout: 120_000 });
    let json;
    try { json = JSON.parse(r.stdout); } catch { /* text */ }
    return { status: r.status, stdout: r.stdout, stderr: r.stderr, json };
}

const serve = (dataDir, databaseUrl) => startServer({
    dataDir, env: { DATABASE_URL: databaseUrl ?? null, HANDY_MASTER_SECRET: SECRET, PUBLIC_URL, TZ: 'UTC' },
});

// --- upstream's answers, derived from the rows (http-api.md §3) ----------------------------------------------------

const b64n = (buf) => (buf ? Buffer.from(buf).toString('base64') : null);
const sessionV1 = (s) => ({ id: s.id, seq: s.seq, createdAt: s.createdAt, updatedAt: s.updatedAt, active: s.active, activeAt: s.lastActiveAt,
    metadata: s.metadata, metadataVersion: s.metadataVersion, agentState: s.agentState, agentStateVersion: s.agentStateVersion,
    dataEncryptionKey: b64n(s.dataEncryptionKey), lastMessage: null });
const messageOut = (m) => ({ id: m.id, seq: m.seq, content: m.content, localId: m.localId, createdAt: m.createdAt, updatedAt: m.updatedAt });
const machineOut = (x) => ({ id: x.id, metadata: x.metadata, metadataVersion: x.metadataVersion, daemonState: x.daemonState,
    daemonStateVersion: x.daemonStateVersion, dataEncryptionKey: b64n(x.dataEncryptionKey), seq: x.seq, active: x.active,
    activeAt: x.lastActiveAt, createdAt: x.createdAt, updatedAt: x.updatedAt });
const avatarOut = (a) => (a ? { ...a, url: `${PUBLIC_URL}/files/${a.path}` } : null);
function profileOf(acct, status) {
    const gh = acct.githubUserId ? model.github.profile : null;
    return { id: acct.id, firstName: acct.firstName ?? '', lastName: acct.lastName, avatar: avatarOut(acct.avatar),
        username: acct.username ?? gh?.login ?? '', bio: gh?.bio ?? null, status };
}
const byId = (a, b) => (a.id < b.id ? -1 : 1);

async function assertServesUpstreamData(url) {
    const { A, B, C } = model;
    const [tA, tB, tC] = [upstreamToken(A.id), upstreamToken(B.id), upstreamToken(C.id)];
    const get = async (acct, p, body) => {
        const r = await authReq(url, body === undefined ? 'GET' : 'POST', p, acct, body === undefined ? {} : { body });
        assert.equal(r.status, 200, `${p}: ${r.status} ${r.text}`);
        return r.json;
    };
    // Every account's old token is accepted.
    const profile = await get(tA, '/v1/account/profile');
    assert.deepStrictEqual({ ...profile, timestamp: 0 }, {
        id: A.id, timestamp: 0, firstName: A.firstName, lastName: A.lastName, username: A.username, avatar: avatarOut(A.avatar),
        github: model.github.profile, connectedServices: ['openai'],
    });
    assert.deepStrictEqual(await get(tA, '/v1/account/settings'), { settings: A.settings, settingsVersion: A.settingsVersion });
    assert.deepStrictEqual(await get(tB, '/v1/account/settings'), { settings: null, settingsVersion: 0 });

    const mine = (acct) => model.sessions.filter((s) => s.accountId === acct.id).sort((a, b) => b.updatedAt - a.updatedAt);
    assert.deepStrictEqual(await get(tA, '/v1/sessions'), { sessions: mine(A).map(sessionV1) });
    assert.deepStrictEqual(await get(tB, '/v1/sessions'), { sessions: mine(B).map(sessionV1) });
    assert.deepStrictEqual(await get(tC, '/v1/sessions'), { sessions: [sessionV1(model.bulk)] });
    // The big session, read in pages as the app does, against what upstream holds.
    const bulk = (q) => JSON.parse(psql(upstreamUrl, `SELECT COALESCE(json_agg(json_build_object('id', "id", 'seq', "seq",
        'content', "content", 'localId', "localId", 'createdAt', (EXTRACT(EPOCH FROM "createdAt") * 1000)::bigint,
        'updatedAt', (EXTRACT(EPOCH FROM "updatedAt") * 1000)::bigint) ORDER BY ${q}), '[]') FROM (SELECT * FROM "SessionMessage"
        WHERE "sessionId" = '${model.bulk.id}' ORDER BY ${q}) m`));
    const all = bulk('"seq"');
    assert.equal(all.length, 2100);
    assert.deepStrictEqual(await get(tC, `/v3/sessions/${model.bulk.id}/messages?after_seq=1990&limit=20`),
        { messages: all.slice(1990, 2010), hasMore: true });
    assert.deepStrictEqual(await get(tC, `/v3/sessions/${model.bulk.id}/messages?after_seq=2095`), { messages: all.slice(2095), hasMore: false });
    assert.deepStrictEqual(await get(tC, `/v3/sessions/${model.bulk.id}/messages?before_seq=11&limit=5`),
        { messages: all.slice(5, 10).reverse(), hasMore: true });
    assert.deepStrictEqual(await get(tC, `/v1/sessions/${model.bulk.id}/messages`), { messages: [...all].reverse().slice(0, 150) });
    const v2 = await get(tA, '/v2/sessions?limit=1');
    const byIdDesc = mine(A).sort((a, b) => (a.id < b.id ? 1 : -1));
    assert.deepStrictEqual(v2, { sessions: [(({ lastMessage, ...s }) => s)(sessionV1(byIdDesc[0]))], nextCursor: `cursor_v1_${byIdDesc[0].id}`, hasNext: true });
    for (const s of model.sessions) {
        const owner = s.accountId === A.id ? tA : tB;
        const msgs = model.messages.filter((m) => m.sessionId === s.id);
        assert.deepStrictEqual(await get(owner, `/v3/sessions/${s.id}/messages`),
            { messages: [...msgs].sort((a, b) => a.seq - b.seq).map(messageOut), hasMore: false });
        assert.deepStrictEqual(await get(owner, `/v1/sessions/${s.id}/messages`),
            { messages: [...msgs].sort((a, b) => b.createdAt - a.createdAt).map(messageOut) });
    }
    assert.deepStrictEqual(await get(tA, '/v1/machines'), model.machines.filter((x) => x.accountId === A.id).map(machineOut));
    assert.deepStrictEqual(await get(tA, `/v1/machines/${encodeURIComponent(model.machines[0].id)}`), { machine: machineOut(model.machines[0]) });
    const ak = model.accessKey;
    assert.deepStrictEqual(await get(tA, `/v1/access-keys/${ak.sessionId}/${encodeURIComponent(ak.machineId)}`),
        { accessKey: { data: ak.data, dataVersion: ak.dataVersion, createdAt: ak.createdAt, updatedAt: ak.updatedAt } });
    const art = model.artifact;
    assert.deepStrictEqual(await get(tA, '/v1/artifacts'), [{ id: art.id, header: b64(art.header), headerVersion: art.headerVersion,
        dataEncryptionKey: b64(art.dataEncryptionKey), seq: art.seq, createdAt: art.createdAt, updatedAt: art.updatedAt }]);
    assert.deepStrictEqual(await get(tA, `/v1/artifacts/${art.id}`), { id: art.id, header: b64(art.header), headerVersion: art.headerVersion,
        body: b64(art.body), bodyVersion: art.bodyVersion, dataEncryptionKey: b64(art.dataEncryptionKey), seq: art.seq,
        createdAt: art.createdAt, updatedAt: art.updatedAt });
    const live = model.kv.filter((k) => k.value).sort((a, b) => (a.key < b.key ? -1 : 1))
        .map((k) => ({ key: k.key, value: b64(k.value), version: k.version }));
    assert.deepStrictEqual(await get(tA, '/v1/kv'), { items: live });
    assert.deepStrictEqual(await get(tA, '/v1/kv/settings%2Ftheme'), live.find((k) => k.key === 'settings/theme'));
    const deleted = await authReq(url, 'GET', '/v1/kv/deleted', tA);
    assert.deepStrictEqual([deleted.status, deleted.json], [404, { error: 'Key not found' }]);
    // A deleted key keeps its version: updating it expects version 1 (upstream kvMutate).
    const reuse = await authReq(url, 'POST', '/v1/kv', tA, { body: { mutations: [{ key: 'deleted', value: b64(Buffer.from('again')), version: 0 }] } });
    assert.deepStrictEqual([reuse.status, reuse.json?.errors?.[0]?.version], [409, 1]);

    const friendsA = (await get(tA, '/v1/friends')).friends.sort(byId);
    assert.deepStrictEqual(friendsA, [profileOf(B, 'friend'), profileOf(C, 'requested')].sort(byId));
    assert.deepStrictEqual((await get(tC, '/v1/friends')).friends, [profileOf(A, 'pending')]);
    assert.deepStrictEqual(await get(tB, `/v1/user/${A.id}`), { user: profileOf(A, 'friend') });
    const feedOf = (acct) => model.feed.filter((f) => f.userId === acct.id).sort((a, b) => b.counter - a.counter)
        .map((f) => ({ id: f.id, body: f.body, repeatKey: f.repeatKey, cursor: `0-${f.counter}`, createdAt: f.createdAt }));
    assert.deepStrictEqual(await get(tA, '/v1/feed'), { items: feedOf(A), hasMore: false });
    assert.deepStrictEqual(await get(tC, '/v1/feed'), { items: feedOf(C), hasMore: false });

    assert.deepStrictEqual(await get(tA, '/v1/push-tokens'), { tokens: model.pushTokens.filter((p) => p.accountId === A.id)
        .map((p) => ({ id: p.id, token: p.token, createdAt: p.createdAt, updatedAt: p.updatedAt })) });
    // Vendor tokens were encrypted by upstream with the key tree of the same secret: they decrypt here.
    assert.deepStrictEqual(await get(tA, '/v1/connect/tokens'), { tokens: [{ vendor: 'openai', token: 'sk-upstream-✓' }] });
    assert.deepStrictEqual(await get(tA, '/v1/connect/openai/token'), { token: 'sk-upstream-✓' });
    const u = model.usage[0];
    const day = Math.floor(u.createdAt / 86_400_000) * 86_400;
    assert.deepStrictEqual(await get(tA, '/v1/usage/query', {}), { usage: [{ timestamp: day, tokens: u.data.tokens, cost: u.data.cost,
        reportCount: 1 }], groupBy: 'day', totalReports: 1 });

    // Counters go on where upstream left them: the next message of s1 (seq 3) is 4.
    const s1 = model.sessions[0];
    const next = await authReq(url, 'POST', `/v3/sessions/${s1.id}/messages`, tA, { body: { messages: [{ localId: 'after-import', content: 'c' }] } });
    assert.equal(next.status, 200, next.text);
    assert.equal(next.json.messages[0].seq, s1.seq + 1);
    // An idempotent resend of an upstream message (same localId) returns the stored one.
    const resend = await authReq(url, 'POST', `/v3/sessions/${s1.id}/messages`, tA, { body: { messages: [{ localId: 'l-1', content: 'other' }] } });
    assert.equal(resend.json.messages[0].id, model.messages[0].id);
}

test('import-upstream --dry-run: counts per table, what is left behind and why, the secret checked; nothing written', T, async () => {
    const dataDir = tempDir();
    const r = run(['import-upstream', '--from', upstreamUrl, '--dry-run', '--json'], { dataDir });
    assert.equal(r.status, 0, r.stderr);
    const rep = r.json;
    assert.equal(rep.dry_run, true);
    assert.equal(rep.upstream_migration, '20260407053500_add_voice_conversation');
    const rows = Object.fromEntries(rep.tables.map((t) => [t.upstream, t.rows]));
    assert.deepStrictEqual(rows, {
        Account: 3, GithubUser: 1, TerminalAuthRequest: 2, AccountAuthRequest: 1, AccountPushToken: 2, Session: 4, SessionMessage: 2106,
        Machine: 2, AccessKey: 1, Artifact: 1, UsageReport: 1, ServiceAccountToken: 1, UserRelationship: 4, UserFeedItem: 4,
        UserKVStore: 3, VoiceConversation: 1,
    });
    const skipped = Object.fromEntries(rep.skipped.map((s) => [s.what, [s.rows, s.blocking]]));
    assert.deepStrictEqual(skipped, {
        'table "GithubOrganization"': [1, false], 'table "GlobalLock"': [1, false], 'table "RepeatKey"': [1, false],
        'table "SimpleCache"': [1, false], 'table "UploadedFile"': [1, false],
    });
    assert.match(rep.skipped.find((s) => s.what === 'table "UploadedFile"').why, /Account\.avatar/);
    assert.deepStrictEqual(rep.master_secret, { check: 'match', tokens_decrypted: 2 });
    assert.equal(rep.rows, 2137);
    const text = run(['import-upstream', '--from', upstreamUrl, '--dry-run'], { dataDir });
    assert.equal(text.status, 0, text.stderr);
    assert.match(text.stdout, /^SessionMessage\s+session_message\s+2106$/m);
    assert.match(text.stdout, /left behind: table "SimpleCache" \(1 rows\): upstream's cache/);
    assert.match(text.stdout, /master secret: the configured master secret decrypts upstream's encrypted tokens/);
    // Nothing was written: no account table in the target (an empty database file at most).
    const db = path.join(dataDir, 'happy.sqlite');
    if (fs.existsSync(db)) {
        const t = spawnSync('sqlite3', [db, "SELECT COUNT(*) FROM sqlite_master WHERE name = 'account'"], { encoding: 'utf8' });
        assert.equal(t.stdout.trim(), '0');
    }
    // The wrong secret is reported (the dry run still succeeds).
    const wrong = run(['import-upstream', '--from', upstreamUrl, '--dry-run', '--json'], { dataDir, secret: 'not-upstreams' });
    assert.deepStrictEqual(wrong.json.master_secret, { check: 'mismatch', tokens_decrypted: 0 });
});

test('import-upstream into SQLite with --files: old tokens, data and files served as upstream did; a second import is refused', T, async () => {
    const dataDir = tempDir();
    const filesDir = tempDir();
    const avatar = crypto.randomBytes(500);
    const attachment = crypto.randomBytes(3000);
    const attachmentKey = `sessions/${model.sessions[0].id}/attachments/${crypto.randomUUID()}.enc`;
    for (const [key, bytes] of [[model.A.avatar.path, avatar], [attachmentKey, attachment]]) {
        fs.mkdirSync(path.dirname(path.join(filesDir, key)), { recursive: true });
        fs.writeFileSync(path.join(filesDir, key), bytes);
    }
    const r = run(['import-upstream', '--from', upstreamUrl, '--files', filesDir, '--json'], { dataDir });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.json.dry_run, false);
    assert.equal(r.json.files, 2);
    assert.equal(r.json.file_bytes, 3500);
    for (const t of r.json.tables) assert.equal(t.written, t.rows, t.upstream);
    assert.equal(r.json.rows, 2137);

    const again = run(['import-upstream', '--from', upstreamUrl], { dataDir });
    assert.equal(again.status, 1);
    assert.match(again.stderr, /already holds data: .*account \(3 rows\).*a second import of the same database is refused/);

    const srv = await serve(dataDir);
    try {
        await assertServesUpstreamData(srv.url);
        const file = await req(srv.url, 'GET', `/files/${model.A.avatar.path}`);
        assert.equal(file.status, 200);
        assert.ok(file.bytes.equals(avatar), 'the avatar file is served as upstream stored it');
        const att = await authReq(srv.url, 'GET', `/v1/${attachmentKey}`, upstreamToken(model.A.id));
        assert.equal(att.status, 200, att.text);
        assert.ok(att.bytes.equals(attachment), 'the attachment is served as upstream stored it');
    } finally {
        await srv.stop();
    }
});

test('import-upstream into PostgreSQL: the same answers; refused with the wrong secret or an outdated upstream schema', T, async () => {
    const target = createDatabase(pg.url);
    const dataDir = tempDir();
    const wrong = run(['import-upstream', '--from', upstreamUrl], { dataDir, databaseUrl: target, secret: 'not-upstreams' });
    assert.equal(wrong.status, 1);
    assert.match(wrong.stderr, /does not decrypt upstream's encrypted tokens/);
    const none = run(['import-upstream', '--from', upstreamUrl], { dataDir, databaseUrl: target, secret: null });
    assert.equal(none.status, 1);
    assert.match(none.stderr, /no master secret is configured/);

    const r = run(['import-upstream', '--from', upstreamUrl, '--json'], { dataDir, databaseUrl: target });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(psql(target, 'SELECT COUNT(*) FROM session_message'), '2106');
    const srv = await serve(tempDir(), target);
    try {
        await assertServesUpstreamData(srv.url);
    } finally {
        await srv.stop();
    }

    const old = createDatabase(pg.url);
    applyUpstreamSchema(old, 36);
    const outdated = run(['import-upstream', '--from', old, '--dry-run'], { dataDir: tempDir() });
    assert.equal(outdated.status, 1);
    assert.match(outdated.stderr, /lacks 1 of its 37 migrations \(first missing: 20260407053500_add_voice_conversation\)/);
    const notUpstream = run(['import-upstream', '--from', target, '--dry-run'], { dataDir: tempDir() });
    assert.equal(notUpstream.status, 1);
    assert.match(notUpstream.stderr, /no _prisma_migrations table/);
});
