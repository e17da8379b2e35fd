// Dev logging (http-api.md §3.16; upstream devRoutes.ts + utils/log.ts): the route exists only when
// DANGEROUSLY_LOG_TO_SERVER_FOR_AI_AUTO_DEBUGGING is non-empty (or modules.dev.enabled), is public, validates its
// body and appends one pino-style JSON line per call to <data_dir>/.logs/<MM-DD-HH-mm-ss>.log (upstream: ./.logs in
// its working directory, which is / under systemd and in a container; here relative to data_dir unless absolute).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { TEST_TIMEOUT, HOOK_TIMEOUT, startServer, req, bodies, assertJson, writeConfigFile } from './harness.mjs';

const T = { timeout: TEST_TIMEOUT };
const ROUTE = '/logs-combined-from-cli-and-mobile-for-simple-ai-debugging';
const servers = [];
after(async () => { for (const s of servers) await s.stop(); }, { timeout: HOOK_TIMEOUT });
const start = async (opts) => { const s = await startServer(opts); servers.push(s); return s; };

const entry = { timestamp: '2026-01-02T03:04:05.678Z', level: 'warn', message: 'socket reconnect', source: 'mobile', platform: 'ios', messageRawObject: { a: 1 } };

test('off by default: 404 like any unknown route', T, async () => {
    const srv = await start();
    assertJson(await req(srv.url, 'POST', ROUTE, { body: entry }), 404, bodies.notFound(ROUTE, 'POST'));
    assert.equal(fs.existsSync(path.join(srv.dataDir, '.logs')), false);
});

test('enabled by the upstream variable: public, validated, one JSON line per call', T, async () => {
    const srv = await start({ env: { DANGEROUSLY_LOG_TO_SERVER_FOR_AI_AUTO_DEBUGGING: '1' } });
    assertJson(await req(srv.url, 'POST', ROUTE, { body: entry }), 200, { success: true });
    const { platform, ...noPlatform } = entry;
    assertJson(await req(srv.url, 'POST', ROUTE, { body: { ...noPlatform, level: 'ERROR', source: 'cli' } }), 200, { success: true });
    assertJson(await req(srv.url, 'POST', ROUTE, { body: { ...entry, source: 'web' } }), 400,
        bodies.validation('body/source Invalid option: expected one of "mobile"|"cli"'));
    assertJson(await req(srv.url, 'POST', ROUTE, { body: { ...entry, message: 1 } }), 400,
        bodies.validation('body/message Invalid input: expected string, received number'));

    const dir = path.join(srv.dataDir, '.logs');
    const files = fs.readdirSync(dir);
    assert.equal(files.length, 1);
    assert.match(files[0], /^\d{2}-\d{2}-\d{2}-\d{2}-\d{2}\.log$/);
    const lines = fs.readFileSync(path.join(dir, files[0]), 'utf8').trim().split('\n');
    assert.equal(lines.length, 2);
    const first = JSON.parse(lines[0]);
    assert.deepEqual(Object.keys(first), ['level', 'time', 'localTime', 'pid', 'hostname', 'source', 'platform', 'timestamp', 'msg']);
    assert.equal(first.level, 40);
    assert.equal(first.pid, srv.proc.pid);
    assert.equal(first.hostname, os.hostname());
    assert.equal(first.source, 'mobile');
    assert.equal(first.platform, 'ios');
    assert.equal(first.timestamp, entry.timestamp);
    assert.equal(first.msg, 'socket reconnect');
    assert.match(first.localTime, /^\d{2}:\d{2}:\d{2}\.\d{3}$/);
    assert.equal((lines[0].match(/"localTime"/g) || []).length, 2, 'localTime twice, as pino writes it upstream');
    const second = JSON.parse(lines[1]);
    assert.equal(second.level, 50);
    assert.equal(second.source, 'cli');
    assert.equal('platform' in second, false);
});

test('enabled by modules.dev with a custom directory', T, async () => {
    const logDir = fs.mkdtempSync(path.join(os.tmpdir(), 'happy-devlogs-'));
    try {
        const file = writeConfigFile({ modules: { dev: { enabled: true, log_dir: logDir } } });
        const srv = await start({ env: { HAPPY_CONFIG: file } });
        assertJson(await req(srv.url, 'POST', ROUTE, { body: entry }), 200, { success: true });
        const files = fs.readdirSync(logDir);
        assert.equal(files.length, 1);
        assert.equal(JSON.parse(fs.readFileSync(path.join(logDir, files[0]), 'utf8')).msg, 'socket reconnect');
    } finally {
        fs.rmSync(logDir, { recursive: true, force: true });
    }
});

test('the log directory is under data_dir, whatever the working directory', T, async () => {
    const cwd = fs.mkdtempSync(path.join(os.tmpdir(), 'happy-devcwd-'));
    try {
        const srv = await start({ cwd, env: { DANGEROUSLY_LOG_TO_SERVER_FOR_AI_AUTO_DEBUGGING: '1' } });
        assertJson(await req(srv.url, 'POST', ROUTE, { body: entry }), 200, { success: true });
        assert.equal(fs.readdirSync(path.join(srv.dataDir, '.logs')).length, 1);
        assert.deepEqual(fs.readdirSync(cwd), [], 'nothing written to the working directory');

        const file = writeConfigFile({ modules: { dev: { enabled: true, log_dir: 'debug/logs' } } });
        const nested = await start({ cwd, env: { HAPPY_CONFIG: file } });
        assertJson(await req(nested.url, 'POST', ROUTE, { body: entry }), 200, { success: true });
        assert.equal(fs.readdirSync(path.join(nested.dataDir, 'debug', 'logs')).length, 1);
        assert.deepEqual(fs.readdirSync(cwd), []);
    } finally {
        fs.rmSync(cwd, { recursive: true, force: true });
    }
});
