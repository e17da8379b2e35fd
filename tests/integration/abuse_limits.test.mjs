// Limits against abuse (README "Limits"): connections per instance and per client address (HTTP and WebSocket
// alike, refused with a JSON answer before any upgrade), Socket.IO sockets per account (CONNECT_ERROR), and the
// request rate of the /v1/auth routes per client address (429 with Retry-After). Behind a reverse proxy the client
// address comes from X-Forwarded-For only when the proxy is listed in server.trusted_proxies. Loopback is exempt
// from the per-address limits by default, so most servers here clear `limits.exempt`.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { spawnSync } from 'node:child_process';
import WebSocket from 'ws';
import {
    TEST_TIMEOUT, HOOK_TIMEOUT, startServer, writeConfigFile, req, rawHttp, authAccount, until, waitConnectError,
    userAuth, SERVER_BIN, cleanEnv, newEd25519, b64,
} from './harness.mjs';
import { clientsClosedAfterEach } from './clients.mjs';

const T = { timeout: TEST_TIMEOUT };
const servers = [];
const sockets = new Set();
after(async () => {
    for (const s of sockets) s.destroy();
    for (const s of servers) await s.stop();
}, { timeout: HOOK_TIMEOUT });

const clients = clientsClosedAfterEach();

/** A server with `config` (HAPPY_CONFIG) and its metrics port on a free port. */
async function start(config) {
    const srv = await startServer({
        env: { HAPPY_CONFIG: writeConfigFile(config), METRICS_ENABLED: 'true', METRICS_PORT: '0' },
    });
    servers.push(srv);
    const line = await until(() => srv.stdoutLines.find((l) => l.includes('"msg":"metrics listening"')), 3000,
        'the metrics port in the log');
    srv.metricsUrl = `http://127.0.0.1:${JSON.parse(line).port}`;
    return srv;
}

/** The value of an unlabelled metric. */
async function metric(srv, name) {
    const r = await req(srv.metricsUrl, 'GET', '/metrics');
    const m = new RegExp(`^${name}\\{app="happy-server"\\} (\\d+)$`, 'm').exec(r.text);
    assert.ok(m, `metric ${name} in:\n${r.text}`);
    return Number(m[1]);
}

/**
 * A keep-alive connection that has been served one `GET /` (so the server has certainly counted it), with
 * `headers` on its request. Resolves with the socket; destroy it to give the connection back.
 */
function held(srv, headers = {}) {
    return new Promise((resolve, reject) => {
        const sock = net.connect({ host: '127.0.0.1', port: srv.port });
        sockets.add(sock);
        let buf = '';
        sock.on('error', reject);
        sock.on('data', (d) => {
            buf += d.toString('latin1');
            if (!buf.includes('\r\n\r\n')) return;
            const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(buf)?.[1]);
            if (status === 200) resolve(sock);
            else reject(new Error(`held connection answered: ${buf.slice(0, 300)}`));
        });
        const extra = Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join('');
        sock.write(`GET / HTTP/1.1\r\nHost: x\r\nConnection: keep-alive\r\n${extra}\r\n`);
    });
}

/** A GET / on a fresh connection (raw, so nothing is retried or pooled); `closed` tells whether the server closed it. */
const probe = (srv, headers = {}) => rawHttp(srv.url,
    `GET / HTTP/1.1\r\nHost: x\r\n${Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join('')}\r\n`,
    { timeoutMs: 5000, waitClose: 300 });

/**
 * A raw Engine.IO WebSocket handshake with `headers`; resolves {status, body} of a refusal, or 'open' if it was
 * upgraded (then closed at once, or with `keep` returned open: {ws}).
 */
function wsHandshake(srv, headers = {}, keep = false) {
    return new Promise((resolve, reject) => {
        const ws = new WebSocket(`ws://127.0.0.1:${srv.port}/v1/updates/?EIO=4&transport=websocket`, { headers });
        ws.on('open', () => {
            if (keep) { sockets.add({ destroy: () => ws.terminate() }); resolve({ ws }); return; }
            ws.terminate();
            resolve('open');
        });
        ws.on('unexpected-response', (_req, res) => {
            let body = '';
            res.on('data', (c) => { body += c; });
            res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: JSON.parse(body) }));
        });
        ws.on('error', reject);
    });
}

const OVER_INSTANCE = (n) => ({ error: `Too many connections to this server (limit ${n}); try again later` });
const OVER_ADDRESS = (n) => ({ error: `Too many connections from this address (limit ${n})` });

test('connections per instance: the connection over the limit gets 503 JSON at once (HTTP and WebSocket), counted; a freed place is reused', T, async () => {
    const srv = await start({ limits: { max_connections: 3 } });
    const a = await held(srv);
    const b = await held(srv);
    const c = await held(srv);

    const t0 = Date.now();
    const r = await probe(srv);
    assert.ok(Date.now() - t0 < 1000, `answered after ${Date.now() - t0} ms`);
    assert.equal(r.status, 503);
    assert.deepEqual(r.json, OVER_INSTANCE(3));
    assert.equal(r.headers['retry-after'], '5');
    assert.match(r.headers['content-type'], /^application\/json/);
    assert.equal(r.closed, true);

    // A WebSocket handshake is refused with the same answer, before any upgrade.
    const w = await wsHandshake(srv);
    assert.equal(w.status, 503);
    assert.deepEqual(w.body, OVER_INSTANCE(3));

    // (The metrics port is a listener of its own, with limits of its own: it still answers.)
    assert.equal(await metric(srv, 'http_connections_refused_instance_total'), 2);

    a.destroy();
    await until(async () => (await probe(srv)).status === 200, 3000, 'a freed place');
    b.destroy();
    c.destroy();
});

test('connections per instance: an open WebSocket holds its place until it closes', T, async () => {
    const srv = await start({ limits: { max_connections: 2 } });
    const acct = await authAccount(srv.url);
    // The auth request's connection is closed by the client; until the server has seen that, it holds one of the
    // two places (on a busy machine the WebSocket below could come first and be refused).
    await until(async () => (await metric(srv, 'http_open_connections')) === 0, 3000, 'the auth connection closed');
    const s1 = await clients.connect(srv.url, userAuth(acct));
    const s2 = await clients.connect(srv.url, userAuth(acct));
    assert.equal((await probe(srv)).status, 503);
    assert.equal((await wsHandshake(srv)).status, 503);
    s1.close();
    await until(async () => (await probe(srv)).status === 200, 3000, 'the WebSocket\'s place freed');
    s2.close();
});

test('connections per address: 429 JSON over the limit (HTTP and WebSocket), other limits untouched, counted', T, async () => {
    const srv = await start({ limits: { max_connections_per_ip: 2, exempt: [] } });
    const a = await held(srv);
    const b = await held(srv);
    const r = await probe(srv);
    assert.equal(r.status, 429);
    assert.deepEqual(r.json, OVER_ADDRESS(2));
    assert.equal(r.headers['retry-after'], '5');
    assert.equal(r.closed, true);
    const w = await wsHandshake(srv);
    assert.equal(w.status, 429);
    assert.deepEqual(w.body, OVER_ADDRESS(2));
    assert.equal(await metric(srv, 'http_connections_refused_address_total'), 2);
    assert.equal(await metric(srv, 'http_connections_refused_instance_total'), 0);
    a.destroy();
    await until(async () => (await probe(srv)).status === 200, 3000, 'a freed place');
    b.destroy();
});

test('connections per address: loopback is exempt by default', T, async () => {
    const srv = await start({ limits: { max_connections_per_ip: 1 } });
    const held3 = [await held(srv), await held(srv), await held(srv)];
    assert.equal((await probe(srv)).status, 200);
    for (const s of held3) s.destroy();
});

test('behind a trusted proxy, X-Forwarded-For names the client of a WebSocket; from any other peer it is ignored', T, async () => {
    const proxied = await start({ server: { trusted_proxies: ['127.0.0.1'] }, limits: { max_connections_per_ip: 1, exempt: [] } });
    const a = await wsHandshake(proxied, { 'x-forwarded-for': '203.0.113.1' }, true);
    assert.ok(a.ws, 'the first WebSocket of a client is upgraded');
    // The same client through the proxy: over its limit (answered once its handshake has been read).
    const r = await wsHandshake(proxied, { 'x-forwarded-for': '203.0.113.1' });
    assert.equal(r.status, 429);
    assert.deepEqual(r.body, OVER_ADDRESS(1));
    // A client-forged entry to the left does not help: the rightmost untrusted entry counts.
    assert.equal((await wsHandshake(proxied, { 'x-forwarded-for': '198.51.100.7, 203.0.113.1' })).status, 429);
    // Another client through the same proxy.
    assert.equal(await wsHandshake(proxied, { 'x-forwarded-for': '203.0.113.2' }), 'open');
    // Plain HTTP connections from the proxy are not counted per address: a proxy's keep-alive connection carries
    // the requests of any client in turn.
    const h1 = await held(proxied, { 'x-forwarded-for': '203.0.113.1' });
    const h2 = await held(proxied, { 'x-forwarded-for': '203.0.113.1' });
    a.ws.terminate();
    h1.destroy();
    h2.destroy();

    const direct = await start({ limits: { max_connections_per_ip: 1, exempt: [] } });
    const b = await held(direct, { 'x-forwarded-for': '203.0.113.1' });
    // Not a trusted proxy: both are 127.0.0.1, whatever the header says.
    const r2 = await probe(direct, { 'x-forwarded-for': '203.0.113.2' });
    assert.equal(r2.status, 429);
    b.destroy();
});

test('sockets per account: the socket over the limit gets a CONNECT_ERROR naming it; other accounts unaffected; a freed place is reused', T, async () => {
    const srv = await start({ limits: { max_sockets_per_account: 2 } });
    const [acct, other] = await Promise.all([authAccount(srv.url), authAccount(srv.url)]);
    const s1 = await clients.connect(srv.url, userAuth(acct));
    await clients.connect(srv.url, { token: acct.token, clientType: 'machine-scoped', machineId: 'm1' });
    const err = await waitConnectError(clients.sio(srv.url, userAuth(acct)));
    assert.equal(err.message, 'Too many connections for this account (limit 2)');
    await clients.connect(srv.url, userAuth(other));
    assert.equal(await metric(srv, 'socketio_connects_refused_account_total'), 1);
    s1.close();
    await until(async () => {
        const s = clients.sio(srv.url, userAuth(acct));
        return new Promise((resolve) => {
            s.on('connect', () => resolve(true));
            s.on('connect_error', () => { s.close(); resolve(false); });
        });
    }, 3000, 'the closed socket\'s place');
});

/** POST /v1/auth/request with a fresh key (creates a pairing request). */
const pairingRequest = (srv, headers = {}) =>
    req(srv.url, 'POST', '/v1/auth/request', { body: { publicKey: b64(newEd25519().publicRaw) }, headers });

test('auth routes: a burst, then 429 with Retry-After per client address; other routes unaffected; counted', T, async () => {
    // 6 per minute = one every 10 s; 3 at once.
    const srv = await start({ limits: { auth_requests_per_minute: 6, auth_burst: 3, exempt: [] } });
    for (let i = 0; i < 3; i++) assert.equal((await pairingRequest(srv)).status, 200, `request ${i}`);
    const r = await pairingRequest(srv);
    assert.equal(r.status, 429);
    const wait = Number(r.headers['retry-after']);
    assert.ok(wait >= 9 && wait <= 10, `Retry-After ${r.headers['retry-after']}`);
    assert.deepEqual(r.json, { error: `Too many authentication requests from this address; try again in ${wait} seconds` });
    // Every /v1/auth route shares the budget, whatever the body (the limit is checked before validation).
    assert.equal((await req(srv.url, 'POST', '/v1/auth', { body: {} })).status, 429);
    assert.equal((await req(srv.url, 'GET', '/v1/auth/request/status?publicKey=x')).status, 429);
    assert.equal((await req(srv.url, 'POST', '/v1/auth/account/request', { body: {} })).status, 429);
    // Other routes are not limited.
    assert.equal((await req(srv.url, 'GET', '/')).status, 200);
    assert.equal((await req(srv.url, 'GET', '/v1/sessions')).status, 401);
    assert.equal(await metric(srv, 'http_auth_rate_limited_total'), 4);
});

test('auth routes: the rate is counted per client address (X-Forwarded-For from a trusted proxy)', T, async () => {
    const srv = await start({
        server: { trusted_proxies: ['127.0.0.0/8'] },
        limits: { auth_requests_per_minute: 6, auth_burst: 1, exempt: [] },
    });
    const from = (ip) => ({ 'x-forwarded-for': ip });
    assert.equal((await pairingRequest(srv, from('203.0.113.1'))).status, 200);
    assert.equal((await pairingRequest(srv, from('203.0.113.1'))).status, 429);
    assert.equal((await pairingRequest(srv, from('203.0.113.2'))).status, 200);
    // IPv6 clients share a /64.
    assert.equal((await pairingRequest(srv, from('2001:db8:1:2::1'))).status, 200);
    assert.equal((await pairingRequest(srv, from('2001:db8:1:2::ffff'))).status, 429);
    assert.equal((await pairingRequest(srv, from('2001:db8:1:3::1'))).status, 200);
});

test('auth routes: with the defaults, loopback clients are not limited (the CLI polls once a second while pairing)', T, async () => {
    const srv = await start({});
    const statuses = [];
    for (let i = 0; i < 80; i++) statuses.push((await pairingRequest(srv)).status);
    assert.deepEqual([...new Set(statuses)], [200]);
});

test('--check-config refuses a malformed address range and names the key', T, async () => {
    const file = writeConfigFile({ server: { trusted_proxies: ['10.0.0.0/8', 'my-proxy'] } });
    const r = spawnSync(SERVER_BIN, ['--check-config', '--config', file], { env: cleanEnv(), encoding: 'utf8' });
    assert.equal(r.status, 2);
    assert.match(r.stderr, /server\.trusted_proxies: "my-proxy" is not an IP address or CIDR range/);
});
