// `happy-server copy` (issue 12 item 4): a SQLite server filled through the API (accounts, sessions and messages,
// machines, artifacts, KV, settings, access keys, friends and feed, push and vendor tokens, usage reports) is copied
// SQLite → PostgreSQL → SQLite; a server on each copy answers every read route exactly as the original did, to the
// tokens minted before the copy. Also: the verification printed per table, the refusals (non-empty target, same
// database, missing flags) and the all-or-nothing rollback when a write fails mid-copy.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { io } from 'socket.io-client';
import {
    startServer, authAccount, authReq, makeTempDir, removeDir, cleanEnv, writeConfigFile, sqlite, waitConnect,
    userAuth, sessionAuth, b64, randomBytes, SERVER_BIN, HOOK_TIMEOUT,
} from './harness.mjs';
import { pgServer, createDatabase, psql } from './pg.mjs';

const T = { timeout: 120_000 };
const SECRET = 'copy-test-secret';
const PUBLIC_URL = 'http://happy.test';  // avatar URLs carry it: the same on every server compared
let pg;
const dirs = [];
const tempDir = () => { const d = makeTempDir('happy-copy-'); dirs.push(d); return d; };

before(() => { pg = pgServer(); }, { timeout: HOOK_TIMEOUT });
after(() => { for (const d of dirs) removeDir(d); pg?.stop(); }, { timeout: HOOK_TIMEOUT });

/** A server on `dataDir`: SQLite unless `databaseUrl` is given (also when the suite itself runs on PostgreSQL). */
function serve(dataDir, databaseUrl, config = {}) {
    return startServer({
        dataDir,
        env: {
            DATABASE_URL: databaseUrl ?? null, HANDY_MASTER_SECRET: SECRET, PUBLIC_URL,
            HAPPY_CONFIG: writeConfigFile(config),
        },
    });
}

/** Runs `happy-server <args>` to completion: {status, stdout, stderr, json}. */
function run(args, { dataDir, databaseUrl } = {}) {
    const env = { ...cleanEnv(), HANDY_MASTER_SECRET: SECRET, HAPPY_LOG_LEVEL: 'warn' };
    if (dataDir) env.DATA_DIR = dataDir;
    if (databaseUrl) env.DATABASE_URL = databaseUrl;
    const r = spawnSync(SERVER_BIN, args, { env, encoding: 'utf8', timeout: 120_000 });
    let json;
    try { json = JSON.parse(r.stdout); } catch { /* text output */ }
    return { status: r.status, stdout: r.stdout, stderr: r.stderr, json };
}

const ok = (r, what) => {
    assert.ok(r.status >= 200 && r.status < 300, `${what}: ${r.status} ${r.text}`);
    return r.json;
};

/** Fills a server through its API; returns what the reads need (accounts with their tokens, ids). */
async function fill(srv) {
    const url = srv.url;
    const [A, B, C] = [await authAccount(url), await authAccount(url), await authAccount(url)];
    // Usernames are set by GitHub connect upstream (no route); friends need them.
    sqlite(srv, `UPDATE account SET username = 'alice', first_name = 'Alice', last_name = 'A', ` +
        `avatar = '{"path":"public/users/a/avatar.png","width":64,"height":64,"thumbhash":"abc"}' WHERE id = '${A.sub}'`);
    sqlite(srv, `UPDATE account SET username = 'bob', first_name = 'Bob' WHERE id = '${B.sub}'`);
    sqlite(srv, `UPDATE account SET username = 'carol' WHERE id = '${C.sub}'`);

    const sessions = [];
    for (let i = 0; i < 3; i++) {
        const s = ok(await authReq(url, 'POST', '/v1/sessions', A, {
            body: { tag: `tag-${i}`, metadata: `meta-${i}-✓`, dataEncryptionKey: b64(randomBytes(32)) },
        }), 'create session').session;
        sessions.push(s.id);
        const messages = Array.from({ length: 5 + i }, (_, k) => ({ localId: `l-${i}-${k}`, content: `c${k}-${'x'.repeat(k * 40)}` }));
        ok(await authReq(url, 'POST', `/v3/sessions/${s.id}/messages`, A, { body: { messages } }), 'messages');
    }
    const bSession = ok(await authReq(url, 'POST', '/v1/sessions', B, { body: { tag: 'b', metadata: 'mb' } }), 'b').session.id;
    ok(await authReq(url, 'POST', `/v3/sessions/${bSession}/messages`, B, { body: { messages: [{ localId: 'x', content: 'hello' }] } }), 'b msg');
    // More messages than the copy reads in one page (2,000 rows).
    const bulkSession = ok(await authReq(url, 'POST', '/v1/sessions', C, { body: { tag: 'bulk', metadata: 'bulk' } }), 'bulk').session.id;
    for (let batch = 0; batch < 21; batch++) {
        const messages = Array.from({ length: 100 }, (_, k) => ({ localId: `b-${batch}-${k}`, content: `bulk-${batch * 100 + k}` }));
        ok(await authReq(url, 'POST', `/v3/sessions/${bulkSession}/messages`, C, { body: { messages } }), 'bulk messages');
    }

    const machineId = `machine-${A.sub}`;
    ok(await authReq(url, 'POST', '/v1/machines', A, {
        body: { id: machineId, metadata: 'machine-meta', daemonState: 'running', dataEncryptionKey: b64(randomBytes(32)) },
    }), 'machine');
    ok(await authReq(url, 'POST', '/v1/machines', B, { body: { id: `machine-${B.sub}`, metadata: 'mm' } }), 'machine b');

    const artifactId = '9f1c2a3b-4d5e-4f60-8a7b-1c2d3e4f5a6b';
    ok(await authReq(url, 'POST', '/v1/artifacts', A, {
        body: { id: artifactId, header: b64(Buffer.from('header')), body: b64(randomBytes(300)), dataEncryptionKey: b64(randomBytes(32)) },
    }), 'artifact');
    ok(await authReq(url, 'POST', `/v1/artifacts/${artifactId}`, A, {
        body: { header: b64(Buffer.from('header v2')), expectedHeaderVersion: 1 },
    }), 'artifact update');

    ok(await authReq(url, 'POST', '/v1/kv', A, {
        body: { mutations: [{ key: 'settings/theme', value: b64(Buffer.from('dark')), version: -1 },
            { key: 'todo/1', value: b64(randomBytes(50)), version: -1 }, { key: 'gone', value: b64(Buffer.from('x')), version: -1 }] },
    }), 'kv');
    ok(await authReq(url, 'POST', '/v1/kv', A, {
        body: { mutations: [{ key: 'settings/theme', value: b64(Buffer.from('light')), version: 0 }, { key: 'gone', value: null, version: 0 }] },
    }), 'kv update');

    ok(await authReq(url, 'POST', '/v1/account/settings', A, { body: { settings: 'enc-settings-1', expectedVersion: 0 } }), 'settings');
    ok(await authReq(url, 'POST', '/v1/account/settings', A, { body: { settings: 'enc-settings-2', expectedVersion: 1 } }), 'settings 2');

    const akPath = `/v1/access-keys/${sessions[0]}/${encodeURIComponent(machineId)}`;
    ok(await authReq(url, 'POST', akPath, A, { body: { data: 'ak-1' } }), 'access key');
    ok(await authReq(url, 'PUT', akPath, A, { body: { data: 'ak-2', expectedVersion: 1 } }), 'access key update');

    ok(await authReq(url, 'POST', '/v1/friends/add', A, { body: { uid: B.sub } }), 'friend a→b');
    ok(await authReq(url, 'POST', '/v1/friends/add', B, { body: { uid: A.sub } }), 'friend b→a');
    ok(await authReq(url, 'POST', '/v1/friends/add', A, { body: { uid: C.sub } }), 'friend a→c');

    ok(await authReq(url, 'POST', '/v1/push-tokens', A, { body: { token: 'ExponentPushToken[aaaa]' } }), 'push');
    ok(await authReq(url, 'POST', '/v1/push-tokens', B, { body: { token: 'ExponentPushToken[bbbb]' } }), 'push b');
    ok(await authReq(url, 'POST', '/v1/connect/openai/register', A, { body: { token: 'sk-secret-✓' } }), 'vendor token');

    const cli = await waitConnect(io(url, { path: '/v1/updates', transports: ['websocket'], reconnection: false, auth: sessionAuth(A, sessions[0]) }));
    try {
        for (const key of ['claude-session', 'other']) {
            const a = await cli.timeout(5000).emitWithAck('usage-report', {
                key, sessionId: sessions[0],
                tokens: { total: 10, input: 4, output: 3, cache_creation: 2, cache_read: 1 }, cost: { total: 0.25, input: 0.125, output: 0.125 },
            });
            assert.equal(a.success, true, JSON.stringify(a));
        }
    } finally {
        cli.close();
    }
    return { A, B, C, sessions, bSession, bulkSession, machineId, artifactId, akPath };
}

/** Every read route's answer for the filled data, as [label, status, body]; volatile fields left out. */
async function snapshot(url, d) {
    const out = [];
    const get = async (acct, label, method, p, body) => {
        const r = await authReq(url, method, p, acct, body === undefined ? {} : { body });
        let json = r.json;
        if (p === '/v1/account/profile' && json) json = { ...json, timestamp: 'now' };
        out.push([label, r.status, json ?? r.text]);
    };
    for (const [name, acct] of [['A', d.A], ['B', d.B], ['C', d.C]]) {
        await get(acct, `${name} profile`, 'GET', '/v1/account/profile');
        await get(acct, `${name} settings`, 'GET', '/v1/account/settings');
        await get(acct, `${name} sessions`, 'GET', '/v1/sessions');
        await get(acct, `${name} sessions v2`, 'GET', '/v2/sessions?limit=2');
        await get(acct, `${name} machines`, 'GET', '/v1/machines');
        await get(acct, `${name} artifacts`, 'GET', '/v1/artifacts');
        await get(acct, `${name} kv`, 'GET', '/v1/kv');
        await get(acct, `${name} friends`, 'GET', '/v1/friends');
        await get(acct, `${name} feed`, 'GET', '/v1/feed');
        await get(acct, `${name} push tokens`, 'GET', '/v1/push-tokens');
        await get(acct, `${name} vendor tokens`, 'GET', '/v1/connect/tokens');
        await get(acct, `${name} usage`, 'POST', '/v1/usage/query', {});
        await get(acct, `${name} search`, 'GET', '/v1/user/search?query=');
    }
    for (const sid of [...d.sessions, d.bSession]) {
        const owner = sid === d.bSession ? d.B : d.A;
        await get(owner, `messages v1 ${sid}`, 'GET', `/v1/sessions/${sid}/messages`);
        await get(owner, `messages v3 ${sid}`, 'GET', `/v3/sessions/${sid}/messages`);
        await get(owner, `messages v3 after 2 ${sid}`, 'GET', `/v3/sessions/${sid}/messages?after_seq=2&limit=2`);
    }
    for (const q of ['', '?after_seq=1990&limit=20', '?before_seq=50&limit=30', '?after_seq=2095']) {
        await get(d.C, `bulk messages ${q}`, 'GET', `/v3/sessions/${d.bulkSession}/messages${q}`);
    }
    await get(d.A, 'machine', 'GET', `/v1/machines/${encodeURIComponent(d.machineId)}`);
    await get(d.A, 'artifact', 'GET', `/v1/artifacts/${d.artifactId}`);
    await get(d.A, 'kv key', 'GET', '/v1/kv/settings%2Ftheme');
    await get(d.A, 'kv deleted', 'GET', '/v1/kv/gone');
    await get(d.A, 'kv bulk', 'POST', '/v1/kv/bulk', { keys: ['settings/theme', 'todo/1', 'gone'] });
    await get(d.A, 'access key', 'GET', d.akPath);
    await get(d.A, 'vendor token', 'GET', '/v1/connect/openai/token');
    await get(d.A, 'usage by session', 'POST', '/v1/usage/query', { sessionId: d.sessions[0], groupBy: 'hour' });
    await get(d.B, 'user A as B sees it', 'GET', `/v1/user/${d.A.sub}`);
    await get(d.C, 'user A as C sees it', 'GET', `/v1/user/${d.A.sub}`);
    return out;
}

function assertSameAnswers(actual, expected, where) {
    assert.equal(actual.length, expected.length);
    for (let i = 0; i < expected.length; i++) {
        assert.deepStrictEqual(actual[i], expected[i], `${where}: ${expected[i][0]}`);
    }
}

/** Checks a --json copy report: every table verified, counts and checksums equal on both sides. */
function assertVerified(report, minTables = 16) {
    assert.equal(report.verified, true);
    assert.ok(report.tables.length >= minTables, JSON.stringify(report.tables.map((t) => t.table)));
    for (const t of report.tables) {
        assert.equal(t.match, true, JSON.stringify(t));
        assert.equal(t.source_rows, t.target_rows, t.table);
        assert.equal(t.source_checksum, t.target_checksum, t.table);
        assert.match(t.source_checksum, /^[0-9a-f]{32}$/);
    }
    const rows = Object.fromEntries(report.tables.map((t) => [t.table, t.target_rows]));
    return rows;
}

test('copy SQLite → PostgreSQL → SQLite: every API answer identical, tokens minted before the copy still work', T, async () => {
    const dirA = tempDir();
    let srv = await serve(dirA, undefined, { storage: { sqlite: { exclusive: false } } });
    const data = await fill(srv);
    const before = await snapshot(srv.url, data);
    await srv.stop();
    // The answers compared are real ones: every read succeeded except the deleted key's 404.
    assert.deepStrictEqual(before.filter(([, status]) => status !== 200).map(([label, status]) => [label, status]), [['kv deleted', 404]]);
    assert.ok(before.length > 60, String(before.length));
    const bodies = Object.fromEntries(before.map(([label, , body]) => [label, body]));
    assert.equal(bodies['A sessions'].sessions.length, 3);
    assert.equal(bodies['A vendor tokens'].tokens[0].token, 'sk-secret-✓');
    assert.equal(bodies['A usage'].totalReports, 2);
    assert.equal(bodies['A friends'].friends.length, 2);
    assert.ok(bodies['B feed'].items.length > 0);

    // SQLite (the configured storage) → PostgreSQL.
    const pgUrl = createDatabase(pg.url);
    const toPg = run(['copy', '--to', pgUrl, '--json'], { dataDir: dirA });
    assert.equal(toPg.status, 0, toPg.stderr);
    const rows = assertVerified(toPg.json);
    assert.equal(rows.account, 3);
    assert.equal(rows.session, 5);
    assert.equal(rows.session_message, 5 + 6 + 7 + 1 + 2100);
    assert.equal(rows.usage_report, 2);
    assert.equal(rows.user_feed_item > 0, true);
    assert.equal(toPg.json.to.startsWith('postgresql://'), true, toPg.json.to);
    assert.equal(toPg.json.to.includes('***'), true, 'the password is masked');
    assert.equal(Number(psql(pgUrl, 'SELECT COUNT(*) FROM session_message')), 2119);

    srv = await serve(tempDir(), pgUrl);
    assertSameAnswers(await snapshot(srv.url, data), before, 'on PostgreSQL');
    await srv.stop();

    // PostgreSQL → a new SQLite file, then a server on it.
    const dirC = tempDir();
    const back = run(['copy', '--from', pgUrl, '--to', path.join(dirC, 'happy.sqlite'), '--json'], { dataDir: dirA });
    assert.equal(back.status, 0, back.stderr);
    assert.deepEqual(assertVerified(back.json), rows);
    // The checksums do not depend on the backend: SQLite → PG and PG → SQLite report the same ones.
    const sums = (r) => Object.fromEntries(r.tables.map((t) => [t.table, t.target_checksum]));
    assert.deepEqual(sums(back.json), sums(toPg.json));

    srv = await serve(dirC);
    assertSameAnswers(await snapshot(srv.url, data), before, 'back on SQLite');
    // The copy goes on where the original stopped: the next message of a session gets the next seq.
    const next = ok(await authReq(srv.url, 'POST', `/v3/sessions/${data.sessions[0]}/messages`, data.A,
        { body: { messages: [{ localId: 'after-copy', content: 'x' }] } }), 'append after copy');
    assert.equal(next.messages[0].seq, 6);
    await srv.stop();
});

test('copy refuses a target that holds data unless --force; text output lists each table verified', T, async () => {
    const dirA = tempDir();
    let srv = await serve(dirA);
    const A = await authAccount(srv.url);
    ok(await authReq(srv.url, 'POST', '/v1/sessions', A, { body: { tag: 't', metadata: 'm' } }), 'session');
    await srv.stop();

    const pgUrl = createDatabase(pg.url);
    const first = run(['copy', '--to', pgUrl], { dataDir: dirA });
    assert.equal(first.status, 0, first.stderr);
    assert.match(first.stdout, /^account\s+1\s+[0-9a-f]{32}\s+ok$/m);
    assert.match(first.stdout, /^session\s+1\s+[0-9a-f]{32}\s+ok$/m);
    assert.match(first.stdout, /tables, 2 rows copied and verified in/);

    // The source changes; copying again into the now non-empty target is refused and changes nothing.
    srv = await serve(dirA);
    await authAccount(srv.url);
    await srv.stop();
    const again = run(['copy', '--to', pgUrl], { dataDir: dirA });
    assert.equal(again.status, 1);
    assert.match(again.stderr, /already holds data: account \(1 rows\), session \(1 rows\); pass --force/);
    assert.equal(psql(pgUrl, 'SELECT COUNT(*) FROM account'), '1');

    const forced = run(['copy', '--to', pgUrl, '--force', '--json'], { dataDir: dirA });
    assert.equal(forced.status, 0, forced.stderr);
    assert.equal(forced.json.replaced_rows, 2);
    assert.equal(assertVerified(forced.json).account, 2);
    assert.equal(psql(pgUrl, 'SELECT COUNT(*) FROM account'), '2');
});

test('copy: a write failing mid-copy rolls the whole target back; usage errors exit 2', T, async () => {
    const dirA = tempDir();
    let srv = await serve(dirA);
    const A = await authAccount(srv.url);
    ok(await authReq(srv.url, 'POST', '/v1/kv', A, { body: { mutations: [{ key: 'k', value: b64(Buffer.from('v')), version: -1 }] } }), 'kv');
    await srv.stop();

    // A target migrated by a server start, with a trigger that fails the KV rows (written after the accounts).
    const pgUrl = createDatabase(pg.url);
    srv = await serve(tempDir(), pgUrl);
    await srv.stop();
    psql(pgUrl, "CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'refused by test'; END $$");
    psql(pgUrl, 'CREATE TRIGGER refuse BEFORE INSERT ON user_kv FOR EACH ROW EXECUTE FUNCTION refuse()');
    const failed = run(['copy', '--to', pgUrl], { dataDir: dirA });
    assert.equal(failed.status, 1);
    assert.match(failed.stderr, /refused by test/);
    assert.equal(psql(pgUrl, 'SELECT COUNT(*) FROM account'), '0', 'the accounts written before the failure are rolled back');

    const same = run(['copy', '--to', path.join(dirA, 'happy.sqlite')], { dataDir: dirA });
    assert.equal(same.status, 1);
    assert.match(same.stderr, /the source and the target are the same database/);
    const none = run(['copy'], { dataDir: dirA });
    assert.equal(none.status, 2);
    assert.match(none.stderr, /name the target with --to/);
    const bad = run(['copy', '--to', pgUrl, '--bogus'], { dataDir: dirA });
    assert.equal(bad.status, 2);
    const emptyDir = tempDir();
    const missing = run(['copy', '--to', path.join(emptyDir, 'x.sqlite')], { dataDir: emptyDir });
    assert.equal(missing.status, 1);
    assert.match(missing.stderr, /no SQLite database at .*happy\.sqlite/);
    assert.equal(fs.existsSync(path.join(emptyDir, 'happy.sqlite')), false, 'a missing source is not created');
    // A database that is not one of ours (no schema_migrations) is refused as a source.
    spawnSync('sqlite3', [path.join(emptyDir, 'other.sqlite'), 'CREATE TABLE t (x)']);
    const foreign = run(['copy', '--from', path.join(emptyDir, 'other.sqlite'), '--to', pgUrl, '--force'], { dataDir: emptyDir });
    assert.equal(foreign.status, 1);
    assert.match(foreign.stderr, /holds no happy-server database/);
});
