// The server on PostgreSQL, selected by upstream's DATABASE_URL: start-up, migrations, the routes whose modules are
// on the backend-neutral storage API, restarts, several instances at once, and the start-up failures (one clear
// line, password masked, non-zero exit). Runs against a throwaway cluster (pg.mjs) unless HAPPY_TEST_DATABASE_URL
// names a server.

import test, { before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { spawnSync } from 'node:child_process';
import {
    startServer, req, authAccount, authReq, bearer, makeTempDir, removeDir, SERVER_BIN, HOOK_TIMEOUT,
} from './harness.mjs';
import { pgServer, createDatabase, psql } from './pg.mjs';

const T = { timeout: 60_000 };
let pg;
const servers = [];
const dirs = [];

before(() => { pg = pgServer(); }, { timeout: HOOK_TIMEOUT });
after(async () => {
    await Promise.all(servers.map((s) => s.stop()));
    for (const d of dirs) removeDir(d);
    pg?.stop();
}, { timeout: HOOK_TIMEOUT });

async function start(databaseUrl, dataDir) {
    const s = await startServer({ dataDir, env: { DATABASE_URL: databaseUrl, HANDY_MASTER_SECRET: 'pg-test-secret' } });
    servers.push(s);
    return s;
}

/** Runs the binary expecting it to stop at start-up: {status, stderr}. */
function failingStart(databaseUrl) {
    const dataDir = makeTempDir();
    dirs.push(dataDir);
    const r = spawnSync(SERVER_BIN, [], {
        env: { PATH: process.env.PATH, PORT: '0', HOST: '127.0.0.1', DATA_DIR: dataDir, DATABASE_URL: databaseUrl,
            HANDY_MASTER_SECRET: 'x' },
        encoding: 'utf8', timeout: 30_000,
    });
    return { status: r.status, stderr: r.stderr.trim(), dataDir };
}

test('DATABASE_URL: the server migrates PostgreSQL, serves GET / and POST /v1/auth, and keeps accounts over a restart', T, async () => {
    const url = createDatabase(pg.url);
    const dataDir = makeTempDir();
    dirs.push(dataDir);
    let s = await start(url, dataDir);
    const root = await req(s.url, 'GET', '/');
    assert.equal(root.status, 200);
    assert.equal(root.text, 'Welcome to Happy Server!');
    const acct = await authAccount(s.url);
    assert.equal((await req(s.url, 'GET', '/health')).status, 200);
    // Everything is in PostgreSQL: no SQLite file in the data directory.
    assert.deepEqual(fs.readdirSync(dataDir).filter((f) => f.includes('sqlite')), []);
    const listening = s.stdoutLines.find((l) => l.includes('"listening"'));
    assert.match(listening, /"storage":"postgresql:\/\/happy:\*\*\*@127\.0\.0\.1:/, listening);
    assert.equal(psql(url, 'SELECT COUNT(*) FROM account'), '1');
    const versions = Number(psql(url, 'SELECT COUNT(*) FROM schema_migrations'));
    assert.ok(versions >= 13, `schema_migrations has ${versions} rows`);
    await s.stop();
    servers.splice(servers.indexOf(s), 1);

    s = await start(url, dataDir);
    assert.equal(psql(url, 'SELECT COUNT(*) FROM schema_migrations'), String(versions), 'a restart migrates nothing');
    const again = await authAccount(s.url, { keyPair: acct.keyPair });
    assert.equal(again.sub, acct.sub, 'the same key signs in to the same account');
    const probe = await req(s.url, 'POST', '/v1/auth/response', {
        headers: bearer(acct.token), body: { response: 'x', publicKey: Buffer.alloc(32, 7).toString('base64') },
    });
    assert.equal(probe.status, 404, `the old token still authenticates: ${probe.text}`);
    // The module routes run on PostgreSQL too (the whole suite does with HAPPY_TEST_DATABASE_URL set).
    for (const p of ['/v1/sessions', '/v1/machines', '/v1/kv', '/v1/account/profile', '/v1/artifacts']) {
        const r = await authReq(s.url, 'GET', p, acct);
        assert.equal(r.status, 200, `GET ${p}: ${r.status} ${r.text}`);
    }
});

test('instances started together on one database migrate it once', T, async () => {
    const url = createDatabase(pg.url);
    const [a, b, c] = await Promise.all([start(url), start(url), start(url)]);
    for (const s of [a, b, c]) assert.equal((await req(s.url, 'GET', '/')).status, 200);
    const dup = psql(url, 'SELECT COUNT(*) - COUNT(DISTINCT version) FROM schema_migrations');
    assert.equal(dup, '0');
    // An account made through one instance is seen by another.
    const acct = await authAccount(a.url);
    const same = await authAccount(c.url, { keyPair: acct.keyPair });
    assert.equal(same.sub, acct.sub);
});

test('start-up failures are one line naming the URL with the password masked, and exit non-zero', T, () => {
    const u = new URL(pg.url);
    const password = decodeURIComponent(u.password);
    const cases = [
        { what: 'wrong password', url: (() => { const x = new URL(pg.url); x.password = 'wrong-pw'; return x; })(),
            expect: /password authentication failed for user "happy"/ },
        { what: 'missing database', url: (() => { const x = new URL(pg.url); x.pathname = '/no_such_database'; return x; })(),
            expect: /database "no_such_database" does not exist; create it first/ },
        { what: 'nothing listening', url: (() => { const x = new URL(pg.url); x.port = '1'; return x; })(),
            expect: /Connection refused/ },
    ];
    for (const c of cases) {
        const r = failingStart(c.url.toString());
        assert.notEqual(r.status, 0, `${c.what}: exit status`);
        const lines = r.stderr.split('\n');
        assert.equal(lines.length, 1, `${c.what}: one line\n${r.stderr}`);
        assert.match(lines[0], /^happy-server: storage: cannot connect to PostgreSQL at postgresql:\/\/happy:\*\*\*@127\.0\.0\.1:\d+\//, c.what);
        assert.match(lines[0], c.expect, c.what);
        assert.ok(!lines[0].includes('wrong-pw') && !lines[0].includes(password), `${c.what}: no password in ${lines[0]}`);
        assert.deepEqual(fs.readdirSync(r.dataDir).filter((f) => f.includes('sqlite')), [], `${c.what}: no SQLite file`);
    }
});

test('a database migrated by a newer binary is refused with a clear message', T, async () => {
    const url = createDatabase(pg.url);
    const s = await start(url);
    await s.stop();
    servers.splice(servers.indexOf(s), 1);
    psql(url, "INSERT INTO schema_migrations VALUES (9999, '9999_future', 'future', 0)");
    const r = failingStart(url);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /^happy-server: storage: the database schema is at version 9999 \(9999_future\), newer than this happy-server binary supports/);
});

test('a database holding upstream Prisma tables is refused, not mixed with ours', T, () => {
    const url = createDatabase(pg.url);
    psql(url, 'CREATE TABLE "_prisma_migrations" (id TEXT); CREATE TABLE "Account" (id TEXT PRIMARY KEY)');
    const r = failingStart(url);
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /^happy-server: storage: database postgresql:\/\/happy:\*\*\*@.* already holds tables of another application \(Account, _prisma_migrations\)/);
    assert.match(r.stderr, /Prisma/);
    assert.equal(psql(url, "SELECT COUNT(*) FROM pg_tables WHERE schemaname = 'public'"), '2', 'nothing was created');
});
