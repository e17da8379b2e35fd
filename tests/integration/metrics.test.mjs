// The metrics port (upstream app/monitoring/metrics.ts): off by default; when enabled, GET /metrics in the
// Prometheus text format with request counters, latency histogram and realtime gauges, and GET /health.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, req, sleep, TEST_TIMEOUT } from './harness.mjs';

const T = { timeout: TEST_TIMEOUT };

async function metricsPort(srv) {
    for (let i = 0; i < 100; i++) {
        for (const l of srv.stdoutLines) {
            if (l.includes('"msg":"metrics listening"')) return JSON.parse(l).port;
        }
        await sleep(20);
    }
    return null;
}

test('metrics are off by default: no listener', T, async () => {
    const srv = await startServer({ env: { METRICS_ENABLED: undefined } });
    try {
        await sleep(100);
        assert.equal(srv.stdoutLines.some((l) => l.includes('metrics listening')), false);
    } finally {
        await srv.stop();
    }
});

test('METRICS_ENABLED / METRICS_PORT: Prometheus text with request counts, latency buckets and gauges', T, async () => {
    const srv = await startServer({ env: { METRICS_ENABLED: 'true', METRICS_PORT: '0' } });
    try {
        const port = await metricsPort(srv);
        assert.ok(port > 0, 'metrics port from the log');
        const m = `http://127.0.0.1:${port}`;
        assert.equal((await req(srv.url, 'GET', '/')).status, 200);
        assert.equal((await req(srv.url, 'GET', '/nope')).status, 404);
        await req(srv.url, 'POST', '/v1/version', { body: {} });
        // A request is counted once its response is written, so the client can see the response a moment
        // before the counter moves: scrape until all three are in.
        let r;
        for (let i = 0; i < 100; i++) {
            r = await req(m, 'GET', '/metrics');
            if (/http_request_duration_seconds_count\{app="happy-server",method="POST"\} 1\n/.test(r.text) &&
                /http_request_duration_seconds_count\{app="happy-server",method="GET"\} 2\n/.test(r.text)) break;
            await sleep(20);
        }
        assert.equal(r.status, 200);
        assert.equal(r.headers['content-type'], 'text/plain; version=0.0.4; charset=utf-8');
        const lines = r.text.split('\n');
        const value = (prefix) => {
            const l = lines.find((x) => x.startsWith(prefix));
            return l === undefined ? undefined : Number(l.slice(l.lastIndexOf(' ') + 1));
        };
        assert.equal(value('http_requests_total{app="happy-server",method="GET",status="200"}'), 1);
        assert.equal(value('http_requests_total{app="happy-server",method="GET",status="404"}'), 1);
        assert.ok(value('http_requests_total{app="happy-server",method="POST",status="') >= 1);
        assert.equal(value('http_request_duration_seconds_count{app="happy-server",method="GET"}'), 2);
        assert.equal(value('http_request_duration_seconds_bucket{app="happy-server",method="GET",le="+Inf"}'), 2);
        assert.ok(lines.includes('# TYPE http_request_duration_seconds histogram'));
        assert.equal(value('socketio_connected_sockets{app="happy-server"}'), 0);
        assert.equal(value('engineio_sessions_opened_total{app="happy-server"}'), 0);
        assert.equal(value('engineio_slow_client_disconnects_total{app="happy-server"}'), 0);
        assert.ok(value('process_resident_memory_bytes{app="happy-server"}') > 1e6);
        // The metrics port's own requests are not counted.
        const again = await req(m, 'GET', '/metrics');
        assert.equal(again.text.split('\n').find((x) => x.startsWith('http_request_duration_seconds_count{app="happy-server",method="GET"}')),
            'http_request_duration_seconds_count{app="happy-server",method="GET"} 2');

        const h = await req(m, 'GET', '/health');
        assert.equal(h.status, 200);
        assert.deepEqual(Object.keys(h.json), ['status', 'timestamp']);
        assert.equal(h.json.status, 'ok');
        assert.match(h.json.timestamp, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
        assert.equal((await req(m, 'GET', '/v1/sessions')).status, 404);  // only the two routes
    } finally {
        await srv.stop();
    }
});
