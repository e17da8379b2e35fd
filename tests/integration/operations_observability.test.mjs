// Operations, seen from outside: GET /health per component (503 when the database or the file store is down),
// SIGHUP reload, the log file and its rotation, W3C traceparent on request log lines, OTLP span export, and doctor.
import test, { after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import {
    SERVER_BIN, TEST_TIMEOUT, PG_ADMIN_URL, REPO_ROOT, makeTempDir, removeDir, startServer, req, authAccount, cleanEnv,
    until, sleep, JSON_CT,
} from './harness.mjs';
import { startReceiver, closedPortUrl } from './receiver.mjs';

const T = { timeout: Math.max(TEST_TIMEOUT, 60_000) };
const dirs = [];
after(() => { for (const d of dirs) removeDir(d); });
function tempDir() { const d = makeTempDir('happy-obs-'); dirs.push(d); return d; }
function writeJson(file, obj) { fs.writeFileSync(file, JSON.stringify(obj, null, 2)); return file; }

async function freePort() {
    const s = net.createServer();
    await new Promise((r) => s.listen(0, '127.0.0.1', r));
    const { port } = s.address();
    await new Promise((r) => s.close(r));
    return port;
}

const jsonLines = (lines) => lines.filter((l) => l.startsWith('{')).map((l) => JSON.parse(l));

// ---------------------------------------------------------------------------------------------------------------
// /health

test('GET /health: upstream\'s fields first, then each component with its latency', T, async () => {
    const srv = await startServer();
    const r = await req(srv.url, 'GET', '/health');
    assert.equal(r.status, 200, r.text);
    assert.equal(r.headers['content-type'], JSON_CT);
    assert.deepEqual(Object.keys(r.json), ['status', 'timestamp', 'service', 'components']);
    assert.equal(r.json.status, 'ok');
    assert.deepEqual(Object.keys(r.json.components), ['database', 'bus', 'files']);
    for (const [name, c] of Object.entries(r.json.components)) {
        assert.equal(c.status, 'ok', name);
        assert.equal(typeof c.latency_ms, 'number', name);
        assert.ok(c.latency_ms >= 0 && c.latency_ms < 2000, `${name} ${c.latency_ms}`);
    }
    await srv.stop();
});

test('GET /health: 503 naming the file store when its directory is gone', T, async () => {
    const srv = await startServer();
    fs.rmSync(path.join(srv.dataDir, 'files'), { recursive: true, force: true });
    const r = await req(srv.url, 'GET', '/health');
    assert.equal(r.status, 503, r.text);
    assert.equal(r.json.status, 'error');
    assert.equal(r.json.error, 'File store unavailable');
    assert.equal(r.json.components.files.status, 'error');
    assert.match(r.json.components.files.error, /files is not writable/);
    assert.equal(r.json.components.database.status, 'ok');
    fs.mkdirSync(path.join(srv.dataDir, 'files'));
    assert.equal((await req(srv.url, 'GET', '/health')).status, 200, 'healthy again once the directory is back');
    await srv.stop();
});

test('GET /health: 503 with upstream\'s error when PostgreSQL goes down, answered within the bound', T, async () => {
    // A cluster of its own (not the suite's shared one): this test stops it.
    const script = path.join(REPO_ROOT, 'scripts/pg_test_cluster.sh');
    const started = spawnSync(script, ['start'], { encoding: 'utf8' });
    assert.equal(started.status, 0, started.stderr);
    const value = (k) => new RegExp(`^${k}=(.*)$`, 'm').exec(started.stdout)[1];
    const pgDir = value('HAPPY_TEST_PG_DIR');
    let stopped = false;
    const stopPg = () => { if (!stopped) { stopped = true; spawnSync(script, ['stop', pgDir]); } };
    try {
        const srv = await startServer({ env: { DATABASE_URL: value('HAPPY_TEST_DATABASE_URL'), HANDY_MASTER_SECRET: 'x' } });
        let r = await req(srv.url, 'GET', '/health');
        assert.equal(r.status, 200, r.text);
        assert.equal(r.json.components.database.status, 'ok');
        stopPg();
        const t0 = Date.now();
        r = await req(srv.url, 'GET', '/health');
        const ms = Date.now() - t0;
        assert.equal(r.status, 503, r.text);
        assert.deepEqual(Object.keys(r.json), ['status', 'timestamp', 'service', 'error', 'components']);
        assert.equal(r.json.status, 'error');
        assert.equal(r.json.error, 'Database connectivity failed');
        assert.equal(r.json.components.database.status, 'error');
        assert.equal(r.json.components.files.status, 'ok');
        assert.ok(ms < 3500, `answered in ${ms} ms (bound: modules.system.health_timeout_ms 2000)`);
        await srv.stop();
    } finally {
        stopPg();
    }
});

// ---------------------------------------------------------------------------------------------------------------
// SIGHUP, log file, tracing

test('SIGHUP applies log settings, says which changed settings need a restart, and survives a broken file', T, async () => {
    const dir = tempDir();
    const cfgFile = path.join(dir, 'config.json');
    const base = { log: { format: 'json', level: 'info', requests: true }, modules: { push: { expo_url: '' } } };
    writeJson(cfgFile, base);
    const srv = await startServer({ env: { HAPPY_CONFIG: cfgFile, HAPPY_LOG_FORMAT: undefined } });
    const requestLines = () => jsonLines(srv.stdoutLines).filter((l) => l.msg === 'request').length;
    await req(srv.url, 'GET', '/');
    await until(() => requestLines() === 1, 2000, 'a request line');

    writeJson(cfgFile, { ...base, log: { ...base.log, requests: false }, realtime: { ping_interval_ms: 1000 },
        modules: { push: { expo_url: '', retries: 1 } } });
    process.kill(srv.proc.pid, 'SIGHUP');
    await until(() => jsonLines(srv.stdoutLines).some((l) => l.msg.startsWith('configuration reloaded')), 3000, 'reload logged');
    const line = jsonLines(srv.stdoutLines).find((l) => l.msg.startsWith('configuration reloaded'));
    assert.deepEqual([...line.applied].sort(), ['log.requests', 'modules.push.retries']);
    assert.deepEqual(line.not_reloaded, ['realtime.ping_interval_ms']);
    assert.equal(line.level, 'warn', 'a change that needs a restart is a warning');
    await req(srv.url, 'GET', '/');
    await sleep(200);
    assert.equal(requestLines(), 1, 'log.requests false took effect');

    fs.writeFileSync(cfgFile, '{ "log": { "level": "loud" } }');
    process.kill(srv.proc.pid, 'SIGHUP');
    await until(() => jsonLines(srv.stdoutLines).some((l) => l.msg === 'configuration reload failed'), 3000, 'failure logged');
    const failed = jsonLines(srv.stdoutLines).find((l) => l.msg === 'configuration reload failed');
    assert.match(failed.error, /log\.level: must be one of/);
    assert.equal((await req(srv.url, 'GET', '/health')).status, 200, 'still serving with the previous settings');
    await srv.stop();
});

test('log.file: lines go to the file, which rotates at log.max_size_mb keeping log.max_files; SIGHUP reopens it', T, async () => {
    const dir = tempDir();
    const port = await freePort();
    const cfgFile = writeJson(path.join(dir, 'config.json'), {
        server: { port }, log: { format: 'json', file: 'server.log', max_size_mb: 1, max_files: 2 },
        modules: { push: { expo_url: '' } },
    });
    const dataDir = tempDir();
    const proc = spawn(SERVER_BIN, [], {
        env: { ...cleanEnv(), HAPPY_CONFIG: cfgFile, DATA_DIR: dataDir, HOST: '127.0.0.1' }, stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    proc.stdout.on('data', (c) => { stdout += c; });
    const logFile = path.join(dataDir, 'server.log');
    try {
        await until(() => fs.existsSync(logFile) && fs.readFileSync(logFile, 'utf8').includes('"listening"'), 10_000, 'listening in the log file');
        const url = `http://127.0.0.1:${port}`;
        // Request lines of ~2.2 KB each (the path is logged): 1,200 of them make ~2.6 MB.
        const long = `/${'x'.repeat(2000)}`;
        for (let i = 0; i < 1200; i += 20) {
            await Promise.all(Array.from({ length: 20 }, () => req(url, 'GET', long)));
        }
        await sleep(100);
        const files = fs.readdirSync(dataDir).filter((f) => f.startsWith('server.log')).sort();
        assert.deepEqual(files, ['server.log', 'server.log.1', 'server.log.2']);
        for (const f of files) assert.ok(fs.statSync(path.join(dataDir, f)).size <= 1024 * 1024, `${f} within 1 MiB`);
        assert.equal(stdout, '', 'nothing on stdout while logging to a file');

        fs.renameSync(logFile, `${logFile}.moved`);
        proc.kill('SIGHUP');
        await until(() => fs.existsSync(logFile), 3000, 'a new log file after SIGHUP');
        await req(url, 'GET', '/');
        await until(() => fs.readFileSync(logFile, 'utf8').includes('"msg":"request"'), 3000, 'requests logged to the new file');
    } finally {
        proc.kill('SIGTERM');
        await new Promise((r) => proc.once('exit', r));
    }
});

test('traceparent: its trace id is on the request\'s log line; without one the server starts a trace', T, async () => {
    const srv = await startServer();
    const tid = '4bf92f3577b34da6a3ce929d0e0e4736';
    await req(srv.url, 'GET', '/health', { headers: { traceparent: `00-${tid}-00f067aa0ba902b7-01` } });
    await req(srv.url, 'GET', '/', {});
    await req(srv.url, 'GET', '/', { headers: { traceparent: '00-zz-bad-01' } });
    await until(() => jsonLines(srv.stdoutLines).filter((l) => l.msg === 'request').length === 3, 2000, 'three request lines');
    const lines = jsonLines(srv.stdoutLines).filter((l) => l.msg === 'request');
    assert.equal(lines[0].trace_id, tid);
    for (const l of lines.slice(1)) {
        assert.match(l.trace_id, /^[0-9a-f]{32}$/);
        assert.notEqual(l.trace_id, tid);
    }
    assert.notEqual(lines[1].trace_id, lines[2].trace_id);
    await srv.stop();
});

test('tracing.otlp_url: each request becomes an OTLP/HTTP JSON span at the collector; an unsampled parent is not exported', T, async () => {
    const rx = await startReceiver();
    rx.on('POST', '/v1/traces', { json: {} });
    const cfg = writeJson(path.join(tempDir(), 'config.json'), {
        tracing: { otlp_url: `${rx.url}/v1/traces`, export_interval_ms: 50, service_name: 'happy-test' },
        modules: { push: { expo_url: '' } },
    });
    const srv = await startServer({ env: { HAPPY_CONFIG: cfg } });
    try {
        const tid = 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa';
        await req(srv.url, 'GET', '/v1/nothing-here', { headers: { traceparent: `00-${tid}-bbbbbbbbbbbbbbbb-01` } });
        await req(srv.url, 'GET', '/', { headers: { traceparent: '00-cccccccccccccccccccccccccccccccc-bbbbbbbbbbbbbbbb-00' } });
        await req(srv.url, 'GET', '/');
        const spans = () => rx.requests.flatMap((r) => JSON.parse(r.body).resourceSpans
            .flatMap((rs) => rs.scopeSpans.flatMap((ss) => ss.spans.map((sp) => ({ ...sp, service: rs.resource.attributes }))) ));
        await until(() => spans().length >= 2, 5000, 'two spans exported');
        await sleep(200);
        const all = spans();
        assert.equal(all.length, 2, 'the unsampled request is not exported');
        const mine = all.find((s) => s.traceId === tid);
        assert.ok(mine, JSON.stringify(all));
        assert.equal(mine.parentSpanId, 'bbbbbbbbbbbbbbbb');
        assert.match(mine.spanId, /^[0-9a-f]{16}$/);
        assert.equal(mine.kind, 2);
        assert.equal(mine.name, 'GET');
        const attr = Object.fromEntries(mine.attributes.map((a) => [a.key, a.value]));
        assert.deepEqual(attr['url.path'], { stringValue: '/v1/nothing-here' });
        assert.deepEqual(attr['http.response.status_code'], { intValue: '404' });
        assert.ok(BigInt(mine.endTimeUnixNano) >= BigInt(mine.startTimeUnixNano));
        assert.deepEqual(mine.service, [{ key: 'service.name', value: { stringValue: 'happy-test' } }]);
        assert.equal(rx.requests[0].headers['content-type'], 'application/json');
        const other = all.find((s) => s.traceId !== tid);
        assert.equal(other.parentSpanId, undefined, 'a root span of our own');
        // The log line of the exported request carries the same trace id.
        assert.ok(jsonLines(srv.stdoutLines).some((l) => l.msg === 'request' && l.trace_id === other.traceId));
    } finally {
        await srv.stop();
        await rx.close();
    }
});

// ---------------------------------------------------------------------------------------------------------------
// doctor

/** Runs `doctor` with a config file (push delivery pointed somewhere local: the default is Expo on the internet). */
// Asynchronous: the local receivers it probes live in this process and must keep answering meanwhile.
async function doctor(config, { dataDir = tempDir(), env = {}, args = ['--json'] } = {}) {
    const file = writeJson(path.join(tempDir(), 'config.json'), config);
    const p = spawn(SERVER_BIN, ['doctor', ...args], {
        env: { ...cleanEnv(), HAPPY_CONFIG: file, DATA_DIR: dataDir, HOST: '127.0.0.1', PORT: '0', ...env },
    });
    let stdout = '', stderr = '';
    p.stdout.on('data', (c) => { stdout += c; });
    p.stderr.on('data', (c) => { stderr += c; });
    const code = await new Promise((resolve) => p.on('exit', resolve));
    let json;
    try { json = JSON.parse(stdout); } catch { json = undefined; }
    const byName = json ? Object.fromEntries(json.checks.map((c) => [c.check, c])) : {};
    return { code, stdout, stderr, json, byName };
}

test('doctor on a fresh data directory: every check passes, one line each, exit 0', T, async () => {
    const rx = await startReceiver();
    rx.on('GET', '/push', { status: 405, json: { error: 'method' } });
    try {
        const r = await doctor({ modules: { push: { expo_url: `${rx.url}/push` } } });
        assert.equal(r.code, 0, r.stdout + r.stderr);
        assert.equal(r.json.ok, true);
        assert.deepEqual(Object.keys(r.byName), ['config', 'data_dir', 'database', 'disk', 'master_secret', 'port', 'expo', 'clock']);
        for (const c of r.json.checks) assert.notEqual(c.status, 'fail', JSON.stringify(c));
        assert.match(r.byName.database.detail, /not created yet; the first start creates it/);
        assert.match(r.byName.expo.detail, /Expo push service reachable: .* answered HTTP 405/);
        assert.match(r.byName.clock.detail, /within 60 s of http:\/\/127\.0\.0\.1/);
        assert.match(r.byName.port.detail, /picks a free port/);

        const text = await doctor({ modules: { push: { expo_url: `${rx.url}/push` } } }, { args: [] });
        assert.equal(text.code, 0);
        const lines = text.stdout.trim().split('\n');
        assert.equal(lines.length, 9, text.stdout);
        assert.match(lines[0], /^ok {3}config {8}valid/);
        assert.match(lines.at(-1), /^8 check\(s\): 0 failed, \d+ warning\(s\)$/);
    } finally {
        await rx.close();
    }
});

test('doctor finds what is wrong and says how to fix it: exit 1', T, async () => {
    const closed = await closedPortUrl();
    const dataDir = tempDir();
    fs.writeFileSync(path.join(dataDir, 'master-secret'), 'abc', { mode: 0o644 });
    fs.chmodSync(path.join(dataDir, 'master-secret'), 0o644);
    const blocker = net.createServer();
    await new Promise((r) => blocker.listen(0, '127.0.0.1', r));
    try {
        const r = await doctor({ server: { port: blocker.address().port }, modules: { push: { expo_url: `${closed}/push` } } },
            { dataDir, env: { PORT: String(blocker.address().port), REDIS_URL: closed.replace('http', 'redis') } });
        assert.equal(r.code, 1, r.stdout);
        assert.equal(r.json.ok, false);
        assert.equal(r.byName.master_secret.status, 'fail');
        assert.match(r.byName.master_secret.detail, /mode 0644: readable by others/);
        assert.match(r.byName.master_secret.fix, /^chmod 600 /);
        assert.equal(r.byName.port.status, 'fail');
        assert.match(r.byName.port.detail, /is in use by another program/);
        assert.equal(r.byName.bus.status, 'fail');
        assert.match(r.byName.bus.fix, /REDIS_URL/);
        assert.equal(r.byName.expo.status, 'fail');
        assert.match(r.byName.expo.detail, /Expo push service unreachable/);
        const text = await doctor({ server: { port: blocker.address().port }, modules: { push: { expo_url: '' } } },
            { dataDir, args: [] });
        assert.match(text.stdout, /^FAIL master_secret .* — fix: chmod 600 /m);

        const bad = await doctor({ server: { prot: 1 } });
        assert.equal(bad.code, 1);
        assert.equal(bad.byName.config.status, 'fail');
        assert.match(bad.byName.config.detail, /server\.prot: unknown key/);
    } finally {
        blocker.close();
    }
});

test('doctor next to a running server: the server checks its own database and its port counts as ours', {
    ...T, skip: PG_ADMIN_URL ? 'SQLite (the suite runs on PostgreSQL)' : false,
}, async () => {
    const port = await freePort();
    const srv = await startServer({ env: { PORT: String(port) } });
    try {
        const r = await doctor({ modules: { push: { expo_url: '' } } }, { dataDir: srv.dataDir, env: { PORT: String(port) } });
        assert.equal(r.code, 0, r.stdout);
        assert.match(r.byName.database.detail, /checked by the running server\): integrity ok, schema version \d+ \(current\)/);
        assert.match(r.byName.port.detail, /served by the running happy-server/);
        assert.match(r.byName.master_secret.detail, /present, mode 0600, owned by this user/);
    } finally {
        await srv.stop();
    }
});

test('doctor with PostgreSQL unreachable: the database check fails quickly with the fix', T, async () => {
    const closed = (await closedPortUrl()).replace('http://', 'postgresql://u:p@') + '/db';
    const t0 = Date.now();
    const r = await doctor({ modules: { push: { expo_url: '' } } }, { env: { DATABASE_URL: closed } });
    assert.equal(r.code, 1);
    assert.equal(r.byName.database.status, 'fail');
    assert.match(r.byName.database.detail, /postgresql:\/\/u:\*\*\*@127\.0\.0\.1:\d+\/db unreachable/);
    assert.match(r.byName.database.fix, /DATABASE_URL/);
    assert.ok(Date.now() - t0 < 15_000);
});
