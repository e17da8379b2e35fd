// Operations: config file and environment validation, module switches, slow clients, shutdown bound,
// refusal of a database newer than the binary.
import test, { after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import {
    SERVER_BIN, TEST_TIMEOUT, makeTempDir, removeDir, startServer, req, authReq, authAccount, randomBoxKey,
    PG_ADMIN_URL,
} from './harness.mjs';

const dirs = [];
after(() => { for (const d of dirs) removeDir(d); });
function tempDir() { const d = makeTempDir('happy-ops-'); dirs.push(d); return d; }

function writeConfig(dir, obj) {
    const file = path.join(dir, 'config.json');
    fs.writeFileSync(file, typeof obj === 'string' ? obj : JSON.stringify(obj));
    return file;
}

/**
 * Runs the binary to completion (it must exit by itself: configuration errors) on a fresh data directory;
 * `created` lists what the run left in it.
 */
function runToExit(env, args = []) {
    const dataDir = tempDir();
    const r = spawnSync(SERVER_BIN, args, {
        env: { PATH: process.env.PATH, PORT: '0', HOST: '127.0.0.1', DATA_DIR: dataDir, ...env },
        encoding: 'utf8', timeout: 10_000, killSignal: 'SIGKILL',
    });
    return { code: r.status, stderr: r.stderr, stdout: r.stdout, created: fs.readdirSync(dataDir) };
}

test('configuration errors stop start-up with exit code 2 and name the key', { timeout: TEST_TIMEOUT }, () => {
    let r = runToExit({ PORT: 'abc' });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /environment variable PORT: expected an integer, got "abc"/);

    r = runToExit({ PORT: '70000' });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /server\.port \(from environment variable PORT\): must be <= 65535, got 70000/);

    const dir = tempDir();
    r = runToExit({}, ['--config', writeConfig(dir, { server: { prot: 1 } })]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /server\.prot: unknown key/);

    r = runToExit({}, ['--config', writeConfig(dir, { modules: { nosuch: { enabled: false } } })]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /modules\.nosuch: unknown key \(allowed here: .*auth.*\)/);

    r = runToExit({}, ['--config', writeConfig(dir, { log: { format: 'xml' } })]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /log\.format: must be one of \["console","json"\], got "xml"/);

    r = runToExit({}, ['--config', writeConfig(dir, { storage: { kind: 'mongodb' } })]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /storage\.kind: unknown storage plugin "mongodb"/);

    r = runToExit({}, ['--config', path.join(dir, 'missing.json')]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /cannot be read/);

    r = runToExit({ HAPPY_CONFIG: writeConfig(dir, '{ "server": { "port": 0, }, // trailing comma and comment\n }') },
        ['--check-config']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /configuration ok/);
});

test('--check-config refuses exactly what start-up refuses: exit code 2, same message, nothing created or migrated',
    { timeout: TEST_TIMEOUT }, async () => {
    const dir = tempDir();
    // Each is refused by start-up; several passed --check-config before (it checked the schema only).
    const invalid = [
        [{ modules: { push: { expo_url: 'not a url' } } }, /modules\.push\.expo_url: invalid URL "not a url": missing scheme/],
        [{ modules: { push: { expo_url: 'ftp://exp.host/--/api/v2/push/send' } } }, /modules\.push\.expo_url: invalid URL .*only http and https/],
        [{ modules: { connect: { github: { api_url: 'api.github.com' } } } }, /modules\.connect\.github\.api_url: invalid URL "api\.github\.com"/],
        [{ modules: { connect: { app_url: 'app.happy.engineering' } } }, /modules\.connect\.app_url: invalid URL/],
        [{ modules: { voice: { revenuecat_url: 'https://' } } }, /modules\.voice\.revenuecat_url: invalid URL "https:\/\/": missing host/],
        [{ metrics: { host: 'metrics.internal' } }, /metrics\.host: must be an IP address/],
        [{ storage: { kind: 'postgresql' } }, /storage\.kind: unknown storage plugin "postgresql" \(compiled in: sqlite, postgres\)/],
        [{ files: { kind: 'ftp' } }, /files\.kind: unknown file store plugin "ftp" \(compiled in: local, s3\)/],
        [{ files: { kind: 's3', s3: { host: '127.0.0.1', bucket: 'b', access_key: 'k' } } },
            /files\.s3\.secret_key: required when files\.kind is "s3" \(S3_SECRET_KEY\)/],
        [{ storage: { kind: 'postgres' } }, /storage\.postgres\.url: no database is named: set DATABASE_URL/],
        [{ jobs: { 'malloc-trim': { schedule: '*/0 * * * *' } } }, /jobs\.malloc-trim\.schedule: invalid cron expression/],
        [{ metrics: { port: 70000 } }, /metrics\.port: must be <= 65535, got 70000/],
        [{ modules: { push: { retries: -1 } } }, /modules\.push\.retries: must be >= 0, got -1/],
    ];
    for (const [config, message] of invalid) {
        const file = writeConfig(dir, config);
        const what = JSON.stringify(config);
        const check = runToExit({}, ['--config', file, '--check-config']);
        assert.equal(check.code, 2, `--check-config ${what}: ${check.stderr}`);
        assert.match(check.stderr, message, what);
        assert.deepEqual(check.created, [], `--check-config ${what} created files`);
        const start = runToExit({}, ['--config', file]);
        assert.equal(start.code, 2, `start ${what}: ${start.stderr}`);
        assert.equal(start.stderr, check.stderr, `the same message at start-up: ${what}`);
        // Refused before the master secret, the database or its migrations were touched.
        assert.deepEqual(start.created, [], `start ${what} created ${start.created}`);
    }
    // Through the environment (runToExit sets HOST, which wins over a file's server.host).
    const check = runToExit({ HOST: 'localhost' }, ['--check-config']);
    assert.equal(check.code, 2);
    assert.match(check.stderr, /server\.host: must be an IP address such as 0\.0\.0\.0, 127\.0\.0\.1 or ::, got "localhost"/);
    const start = runToExit({ HOST: 'localhost' }, []);
    assert.equal(start.code, 2);
    assert.equal(start.stderr, check.stderr);
    assert.deepEqual(start.created, []);

    // A module that is switched off is not set up, so its settings are not checked either (by both).
    const offConfig = writeConfig(dir, { modules: { push: { enabled: false, expo_url: 'x' } } });
    const off = runToExit({}, ['--config', offConfig, '--check-config']);
    assert.equal(off.code, 0, off.stderr);
    const offServer = await startServer({ env: { HAPPY_CONFIG: offConfig } });
    assert.equal(await offServer.stop(), 0);
    // Valid: the check creates nothing either.
    const ok = runToExit({}, ['--config', writeConfig(dir, { modules: { push: { expo_url: '' } } }), '--check-config']);
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal(ok.stdout, 'configuration ok\n');
    assert.deepEqual(ok.created, []);
});

test('a disabled module answers 404 on its routes; the others keep working', { timeout: TEST_TIMEOUT }, async () => {
    const dir = tempDir();
    const srv = await startServer({ env: { HAPPY_CONFIG: writeConfig(dir, { modules: { auth: { enabled: false } } }) } });
    try {
        const r = await req(srv.url, 'POST', '/v1/auth', { body: {} });
        assert.equal(r.status, 404);
        assert.deepEqual(r.json, { error: 'Not found', path: '/v1/auth', method: 'POST' });
        const banner = await req(srv.url, 'GET', '/');
        assert.equal(banner.status, 200);
        assert.equal(banner.text, 'Welcome to Happy Server!');
    } finally {
        await srv.stop();
    }
});

test('the body limit comes from the config and answers 413', { timeout: TEST_TIMEOUT }, async () => {
    const dir = tempDir();
    const srv = await startServer({ env: { HAPPY_CONFIG: writeConfig(dir, { server: { body_limit: 2048 } }) } });
    try {
        const r = await req(srv.url, 'POST', '/v1/version', {
            body: { platform: 'ios', version: '1.0.0', app_id: 'x'.repeat(3000) },
        });
        assert.equal(r.status, 413);
        assert.deepEqual(r.json, { error: 'FastifyError', message: 'Request body is too large', statusCode: 413 });
        const ok = await req(srv.url, 'POST', '/v1/version', { body: { platform: 'ios', version: '9.0.0', app_id: 'x' } });
        assert.equal(ok.status, 200);
    } finally {
        await srv.stop();
    }
});

/** Opens a TCP connection, writes `data`, and resolves with the ms until the server closes it (or null). */
function timeUntilClosed(port, data, limitMs) {
    return new Promise((resolve) => {
        const t0 = Date.now();
        const sock = net.connect({ host: '127.0.0.1', port }, () => sock.write(data));
        const timer = setTimeout(() => { sock.destroy(); resolve(null); }, limitMs);
        sock.on('data', () => {});
        sock.on('error', () => {});
        sock.on('close', () => { clearTimeout(timer); resolve(Date.now() - t0); });
    });
}

test('slow clients: an unfinished header is cut off at server.header_timeout_ms', { timeout: TEST_TIMEOUT }, async () => {
    const dir = tempDir();
    const srv = await startServer({ env: { HAPPY_CONFIG: writeConfig(dir, { server: { header_timeout_ms: 300 } }) } });
    try {
        const ms = await timeUntilClosed(srv.port, 'GET / HTTP/1.1\r\nHost: x\r\nX-Slow: 1', 5000);
        assert.notEqual(ms, null, 'connection was not closed');
        assert.ok(ms >= 250 && ms < 3000, `closed after ${ms} ms`);
        const r = await req(srv.url, 'GET', '/');
        assert.equal(r.status, 200);
    } finally {
        await srv.stop();
    }
});

test('SIGTERM: idle exit is prompt; an unfinished request is bounded by shutdown_timeout_ms', { timeout: TEST_TIMEOUT }, async () => {
    const dir = tempDir();
    let srv = await startServer({ env: { HAPPY_CONFIG: writeConfig(dir, { server: { shutdown_timeout_ms: 700 } }) } });
    let t0 = Date.now();
    let code = await srv.stop();
    assert.equal(code, 0);
    assert.ok(Date.now() - t0 < 1000, `idle exit took ${Date.now() - t0} ms`);

    srv = await startServer({ env: { HAPPY_CONFIG: writeConfig(dir, { server: { shutdown_timeout_ms: 700 } }) } });
    // A request whose body never completes stays in flight.
    const sock = net.connect({ host: '127.0.0.1', port: srv.port });
    sock.on('error', () => {});
    await new Promise((r) => sock.once('connect', r));
    sock.write('POST /v1/version HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"pla');
    await new Promise((r) => setTimeout(r, 100));
    t0 = Date.now();
    code = await srv.stop();
    const took = Date.now() - t0;
    sock.destroy();
    assert.equal(code, 0);
    assert.ok(took >= 600 && took < 2500, `exit after ${took} ms`);
});

// These two edit or lock the SQLite file itself; on PostgreSQL postgres.test.mjs checks the refusal of a newer schema.
const SQLITE_FILE = { timeout: TEST_TIMEOUT, skip: PG_ADMIN_URL ? 'the SQLite file (the suite runs on PostgreSQL)' : false };

test('a database written by a newer binary is refused with a clear message', SQLITE_FILE, async () => {
    // scripts/setup.sh installs the sqlite3 command-line tool.
    assert.equal(spawnSync('sqlite3', ['-version']).status, 0, 'sqlite3 command-line tool missing');
    const dataDir = tempDir();
    const srv = await startServer({ dataDir });
    await srv.stop();
    const db = path.join(dataDir, 'happy.sqlite');
    const ins = spawnSync('sqlite3', [db, "INSERT INTO schema_migrations VALUES (9999, '9999_future', 'future', 0)"]);
    assert.equal(ins.status, 0, String(ins.stderr));
    const r = spawnSync(SERVER_BIN, [], {
        env: { PATH: process.env.PATH, PORT: '0', HOST: '127.0.0.1', DATA_DIR: dataDir }, encoding: 'utf8', timeout: 10_000, killSignal: 'SIGKILL',
    });
    assert.equal(r.status, 1);
    assert.match(r.stderr, /database schema is at version 9999 \(9999_future\), newer than this happy-server binary supports/);
});

test('a second server on a data directory in use is refused; exclusive: false lets the sqlite3 tool in',
    SQLITE_FILE, async () => {
    const dataDir = tempDir();
    const db = path.join(dataDir, 'happy.sqlite');
    const srv = await startServer({ dataDir });
    try {
        await authAccount(srv.url);
        // Default storage.sqlite.exclusive: the running server owns the file. The refusal is immediate, not after
        // the busy timeout: with one of 30 s configured, a wait would show as a kill by spawnSync's 20 s timeout.
        const slowLock = writeConfig(tempDir(), { storage: { sqlite: { busy_timeout_ms: 30000 } } });
        const t0 = Date.now();
        const second = spawnSync(SERVER_BIN, ['--config', slowLock], {
            env: { PATH: process.env.PATH, PORT: '0', HOST: '127.0.0.1', DATA_DIR: dataDir }, encoding: 'utf8',
            timeout: 20_000, killSignal: 'SIGKILL',
        });
        const took = Date.now() - t0;
        assert.equal(second.status, 1, second.stderr);
        assert.ok(took < 2000, `refused after ${took} ms`);
        assert.match(second.stderr, /database .*happy\.sqlite is in use by another process \(another happy-server on this data directory\?\)/);
        const peek = spawnSync('sqlite3', [db, 'SELECT COUNT(*) FROM account'], { encoding: 'utf8' });
        assert.notEqual(peek.status, 0);
        assert.match(peek.stderr, /database is locked/);
        // The refused start changed nothing: the first server still answers from its data.
        assert.equal((await authReq(srv.url, 'GET', '/v1/account/profile', await authAccount(srv.url))).status, 200);
    } finally {
        await srv.stop();
    }
    const config = writeConfig(dataDir, { storage: { sqlite: { exclusive: false } } });
    const shared = await startServer({ dataDir, env: { HAPPY_CONFIG: config } });
    try {
        await authAccount(shared.url);
        const peek = spawnSync('sqlite3', ['-cmd', '.timeout 5000', db, 'SELECT COUNT(*) FROM account'], { encoding: 'utf8' });
        assert.equal(peek.status, 0, peek.stderr);
        assert.equal(peek.stdout.trim(), '3');
    } finally {
        await shared.stop();
    }
});

test('pairing approval survives in the database across restarts', { timeout: TEST_TIMEOUT }, async () => {
    const dataDir = tempDir();
    let srv = await startServer({ dataDir });
    const account = await authAccount(srv.url);
    const key = randomBoxKey();
    assert.equal((await req(srv.url, 'POST', '/v1/auth/request', { body: { publicKey: key } })).status, 200);
    assert.equal((await authReq(srv.url, 'POST', '/v1/auth/response', account, {
        body: { publicKey: key, response: 'sealed' },
    })).status, 200);
    await srv.stop();
    srv = await startServer({ dataDir });
    try {
        const r = await req(srv.url, 'POST', '/v1/auth/request', { body: { publicKey: key } });
        assert.equal(r.status, 200);
        assert.equal(r.json.state, 'authorized');
        assert.equal(r.json.response, 'sealed');
    } finally {
        await srv.stop();
    }
});
