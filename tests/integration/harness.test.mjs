// The harness itself: the runner's environment cannot reach a test server (every HAPPY_* variable, the other
// backends' DATABASE_URL / REDIS_URL / S3_*, upstream's service variables), and no test server can reach Expo.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { TEST_TIMEOUT, PG_ADMIN_URL, startServer, req } from './harness.mjs';

test('a server started by the harness sees none of the runner\'s server variables, and push delivery is off', { timeout: TEST_TIMEOUT }, async () => {
    const leaked = {
        HAPPY_LOG_LEVEL: 'warn', // would hide the "listening" line every start waits for
        HAPPY_LOG_FORMAT: 'console',
        HAPPY_CONFIG: '/nonexistent/config.json',
        HAPPY_THREADS: '7',
        DATABASE_URL: 'postgres://nobody@127.0.0.1:1/none',
        REDIS_URL: 'redis://127.0.0.1:1',
        S3_HOST: 's3.invalid',
        S3_BUCKET: 'nope',
        ELEVENLABS_API_KEY: 'xi-leaked',
        METRICS_ENABLED: 'true',
    };
    const saved = Object.fromEntries(Object.keys(leaked).map((k) => [k, process.env[k]]));
    Object.assign(process.env, leaked);
    let srv;
    try {
        srv = await startServer();
    } finally {
        for (const [k, v] of Object.entries(saved)) {
            if (v === undefined) delete process.env[k];
            else process.env[k] = v;
        }
    }
    try {
        const pairs = fs.readFileSync(`/proc/${srv.proc.pid}/environ`, 'utf8').split('\0').filter(Boolean)
            .map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]);
        const env = pairs.map(([k]) => k);
        for (const k of Object.keys(leaked)) {
            if (k === 'HAPPY_LOG_FORMAT' || k === 'HAPPY_CONFIG' || k === 'METRICS_ENABLED') continue; // the harness's own values
            if (k === 'DATABASE_URL' && PG_ADMIN_URL) {
                // The suite's PostgreSQL pass: the harness's own database for this server, never the runner's.
                const url = Object.fromEntries(pairs).DATABASE_URL;
                assert.equal(new URL(url).host, new URL(PG_ADMIN_URL).host, url);
                continue;
            }
            assert.ok(!env.includes(k), `${k} reached the server`);
        }
        assert.ok(env.every((k) => !k.startsWith('S3_')), env.join(' '));
        assert.equal((await req(srv.url, 'GET', '/')).status, 200);
        const lines = srv.stdoutLines.map((l) => JSON.parse(l));
        assert.notEqual(lines.find((j) => j.msg === 'listening').threads, 7, 'HAPPY_THREADS from the runner ignored');
        assert.ok(lines.some((j) => j.msg.startsWith('push delivery off')), 'push delivery off by default in tests');
        assert.ok(!lines.some((j) => j.msg === 'metrics listening'));
    } finally {
        await srv.stop();
    }
});
