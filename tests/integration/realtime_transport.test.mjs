// Realtime transport layer (realtime.md §1.1, §1.3): websocket-only, polling-only and polling→websocket
// connections with the real socket.io-client, the exact OPEN packet, raw polling and raw upgrade,
// Engine.IO HTTP errors (polling and upgrade requests) and CORS on the engine path.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { io } from 'socket.io-client';
import WebSocket from 'ws';
import {
    TEST_TIMEOUT, HOOK_TIMEOUT, startServer, startRealtimeServer, authAccount, req, rawHttp, parseOpenPacket, SIO_ID_RE,
    userAuth, machineAuth, waitConnect, waitEvent, sleep, assertKeyOrder, assertHealthy, bodies,
} from './harness.mjs';
import { clientsClosedAfterEach } from './clients.mjs';

const EP = '/v1/updates/';
let srv;
let acct;

before(async () => {
    srv = await startServer(); // default realtime config: 15000/45000/1000000
    acct = await authAccount(srv.url);
}, { timeout: HOOK_TIMEOUT });

after(async () => { if (srv) await srv.stop(); }, { timeout: HOOK_TIMEOUT });

const clients = clientsClosedAfterEach();

const sio = (auth, opts) => clients.sio(srv.url, auth, opts);
const raw = (auth, opts) => clients.raw(srv.url, auth, opts);

/** The exact OPEN packet text for a given sid. */
function openPacket(sid, upgrades, { pingInterval = 15000, pingTimeout = 45000, maxPayload = 1000000 } = {}) {
    return '0' + JSON.stringify({ sid, upgrades, pingInterval, pingTimeout, maxPayload });
}

function assertCors(headers, where) {
    assert.equal(headers['access-control-allow-origin'], '*', `${where}: access-control-allow-origin`);
    assert.equal(headers['access-control-allow-credentials'], 'true', `${where}: access-control-allow-credentials`);
    assert.ok(!/origin/i.test(headers.vary ?? ''), `${where}: no Vary: Origin (got ${headers.vary})`);
}

/** Split an Engine.IO polling payload into packets. */
const splitPayload = (text) => text.split('\x1e');

// ---------------------------------------------------------------------------------------------------

test('websocket-only socket.io-client connects; socket id and engine id are distinct 20-char ids', { timeout: TEST_TIMEOUT }, async () => {
    const s = sio(userAuth(acct));
    await waitConnect(s);
    assert.equal(s.connected, true);
    assert.equal(s.io.engine.transport.name, 'websocket');
    assert.match(s.id, SIO_ID_RE);
    assert.match(s.io.engine.id, SIO_ID_RE);
    assert.notEqual(s.id, s.io.engine.id);
    assert.ok(!s.recovered, 'connection state recovery is disabled');
    assert.deepStrictEqual(await s.timeout(3000).emitWithAck('ping'), {});
});

test('raw websocket: exact OPEN packet with the default config, 101 carries CORS, no permessage-deflate', { timeout: TEST_TIMEOUT }, async () => {
    // ws offers permessage-deflate by default: the server must decline it (engine.io default).
    const c = await clients.open(srv.url, { wsOptions: { perMessageDeflate: true } });
    const frame = await c.next();
    const open = parseOpenPacket(frame);
    assert.match(open.sid, SIO_ID_RE);
    assert.equal(frame, openPacket(open.sid, []));
    const h = c.upgradeResponse.headers;
    assert.equal(h['sec-websocket-extensions'], undefined, 'compression extension must be declined');
    assert.equal(c.ws.extensions, '');
    assertCors(h, '101 response');
    assert.equal(h['set-cookie'], undefined, 'no io cookie');
});

test('raw websocket: CONNECT reply is exactly 40{"sid":…} (no pid), ping ack is 4312[{}]', { timeout: TEST_TIMEOUT }, async () => {
    const c = await raw(userAuth(acct));
    const m = /^40\{"sid":"([^"]+)"\}$/.exec(c.connectReply);
    assert.ok(m, `CONNECT reply: ${c.connectReply}`);
    assert.match(m[1], SIO_ID_RE);
    assert.notEqual(m[1], c.engineSid);
    c.send('4212["ping"]');
    assert.equal(await c.nextNonPing(), '4312[{}]');
    // ack ids are echoed whatever their size
    c.send('42987654321["ping"]');
    assert.equal(await c.nextNonPing(), '43987654321[{}]');
});

test('two sockets of one client get different ids; reconnecting gives a new engine and socket id', { timeout: TEST_TIMEOUT }, async () => {
    const a = sio(userAuth(acct));
    const b = sio(userAuth(acct));
    await Promise.all([waitConnect(a), waitConnect(b)]);
    assert.notEqual(a.id, b.id);
    assert.notEqual(a.io.engine.id, b.io.engine.id);
    const firstId = a.id;
    const firstEngineId = a.io.engine.id;
    a.disconnect(); // the manager's last socket: the engine connection closes too
    a.connect();
    await waitConnect(a);
    assert.match(a.io.engine.id, SIO_ID_RE);
    assert.notEqual(a.io.engine.id, firstEngineId, 'a new Engine.IO session');
    assert.notEqual(a.io.engine.id, b.io.engine.id);
    assert.match(a.id, SIO_ID_RE);
    assert.notEqual(a.id, firstId, 'a new socket id');
    assert.deepStrictEqual(await a.timeout(3000).emitWithAck('ping'), {});
});

test('polling-only socket.io-client connects; acks and server events flow over long-polling', { timeout: TEST_TIMEOUT }, async () => {
    const s = sio(machineAuth(acct, 'poll-machine'), { transports: ['polling'] });
    await waitConnect(s);
    assert.equal(s.io.engine.transport.name, 'polling');
    assert.match(s.id, SIO_ID_RE);
    assert.deepStrictEqual(await s.timeout(3000).emitWithAck('ping'), {});
    const got = waitEvent(s, 'rpc-registered', 3000);
    s.emit('rpc-register', { method: 'poll-machine:bash' });
    assert.deepStrictEqual((await got)[0], { method: 'poll-machine:bash' });
    // RPC through a polling provider, called from a websocket caller
    s.on('rpc-request', (data, ack) => ack(`echo:${data.params}`));
    const caller = sio(userAuth(acct));
    await waitConnect(caller);
    const r = await caller.timeout(5000).emitWithAck('rpc-call', { method: 'poll-machine:bash', params: 'p1' });
    assert.deepStrictEqual(r, { ok: true, result: 'echo:p1' });
    assert.equal(s.io.engine.transport.name, 'polling');
});

test('default transports: polling handshake upgrades to websocket', { timeout: TEST_TIMEOUT }, async () => {
    const s = sio(userAuth(acct), { transports: undefined }); // socket.io-client's default transports
    const upgraded = waitEvent(s.io, 'open', 5000).then(() => waitEvent(s.io.engine, 'upgrade', 5000));
    await waitConnect(s);
    if (s.io.engine.transport.name !== 'websocket') await upgraded;
    else upgraded.catch(() => {});
    assert.equal(s.io.engine.transport.name, 'websocket');
    assert.deepStrictEqual(await s.timeout(3000).emitWithAck('ping'), {});
    assert.equal(s.connected, true);
});

test('raw polling: handshake, CONNECT by POST, batched packets, exact headers and bodies', { timeout: TEST_TIMEOUT }, async () => {
    const hs = await req(srv.url, 'GET', `${EP}?EIO=4&transport=polling&t=abc`, { headers: { origin: 'https://app.example' } });
    assert.equal(hs.status, 200, hs.text);
    assert.equal(hs.headers['content-type'], 'text/plain; charset=UTF-8');
    assert.equal(hs.headers['cache-control'], 'no-store');
    assert.equal(hs.headers['set-cookie'], undefined);
    assertCors(hs.headers, 'polling handshake');
    const open = parseOpenPacket(hs.text);
    assert.match(open.sid, SIO_ID_RE);
    assert.equal(hs.text, openPacket(open.sid, ['websocket']));
    const q = `${EP}?EIO=4&transport=polling&sid=${encodeURIComponent(open.sid)}`;

    const post = await req(srv.url, 'POST', q, {
        rawBody: '40' + JSON.stringify(userAuth(acct)), contentType: 'text/plain;charset=UTF-8',
        headers: { origin: 'https://app.example' },
    });
    assert.equal(post.status, 200);
    assert.equal(post.text, 'ok');
    assert.equal(post.headers['content-type'], 'text/html');
    assertCors(post.headers, 'polling POST');

    const g1 = await req(srv.url, 'GET', q, { headers: { origin: 'https://app.example' } });
    assert.equal(g1.status, 200);
    assert.equal(g1.headers['content-type'], 'text/plain; charset=UTF-8');
    assertCors(g1.headers, 'polling GET');
    assert.match(g1.text, /^40\{"sid":"[A-Za-z0-9_-]{20}"\}$/);

    // two packets in one POST, separated by the record separator
    const p2 = await req(srv.url, 'POST', q, { rawBody: '421["ping"]\x1e422["ping"]', contentType: 'text/plain;charset=UTF-8' });
    assert.equal(p2.status, 200);
    assert.equal(p2.text, 'ok');
    const got = [];
    const deadline = Date.now() + 5000;
    while (got.length < 2 && Date.now() < deadline) {
        const g = await req(srv.url, 'GET', q);
        assert.equal(g.status, 200, g.text);
        got.push(...splitPayload(g.text).filter((p) => p !== '6'));
    }
    assert.deepStrictEqual(got.sort(), ['431[{}]', '432[{}]']);

    // close the session from the client side (engine CLOSE packet); the sid is then unknown
    await req(srv.url, 'POST', q, { rawBody: '1', contentType: 'text/plain;charset=UTF-8' });
    await sleep(100);
    const gone = await req(srv.url, 'GET', q);
    assert.equal(gone.status, 400);
    assert.equal(gone.text, '{"code":1,"message":"Session ID unknown"}');
});

test('raw upgrade: 2probe → 3probe, the pending poll gets a noop, 5 switches, then traffic uses the websocket', { timeout: TEST_TIMEOUT }, async () => {
    const hs = await req(srv.url, 'GET', `${EP}?EIO=4&transport=polling`);
    const { sid } = parseOpenPacket(hs.text);
    const q = `${EP}?EIO=4&transport=polling&sid=${encodeURIComponent(sid)}`;
    const pending = req(srv.url, 'GET', q, { timeoutMs: 6000 });
    await sleep(100);
    const ws = await clients.open(srv.url, { query: `EIO=4&transport=websocket&sid=${encodeURIComponent(sid)}` });
    assertCors(ws.upgradeResponse.headers, '101 (upgrade)');
    ws.send('2probe');
    assert.equal(await ws.next(3000), '3probe');
    const p = await pending;
    assert.equal(p.status, 200);
    assert.equal(p.text, '6');
    ws.send('5');
    await sleep(50);
    ws.send('40' + JSON.stringify(userAuth(acct)));
    assert.match(await ws.nextNonPing(3000), /^40\{"sid":"[A-Za-z0-9_-]{20}"\}$/);
    ws.send('4213["ping"]');
    assert.equal(await ws.nextNonPing(3000), '4313[{}]');
    // the session now belongs to the websocket: polling on it is a transport mismatch
    const mismatch = await req(srv.url, 'GET', q);
    assert.equal(mismatch.status, 400);
    assert.equal(mismatch.headers['content-type'], 'application/json');
    assert.equal(mismatch.text, '{"code":3,"message":"Bad request"}');
    assert.ok(ws.isOpen, 'the upgraded websocket must stay open');
});

test('Engine.IO polling errors: exact status, content-type, body and CORS', { timeout: TEST_TIMEOUT }, async () => {
    const cases = [
        ['GET', `${EP}?transport=polling`, 5, 'Unsupported protocol version'],
        ['GET', `${EP}?EIO=3&transport=polling`, 5, 'Unsupported protocol version'],
        ['GET', `${EP}?EIO=5&transport=polling`, 5, 'Unsupported protocol version'],
        ['GET', `${EP}?EIO=4&transport=foo`, 0, 'Transport unknown'],
        ['GET', `${EP}?EIO=4`, 0, 'Transport unknown'],
        ['GET', `${EP}?EIO=4&transport=webtransport`, 0, 'Transport unknown'],
        ['GET', `${EP}?EIO=4&transport=polling&sid=AAAAAAAAAAAAAAAAAAAA`, 1, 'Session ID unknown'],
        ['POST', `${EP}?EIO=4&transport=polling&sid=nope`, 1, 'Session ID unknown'],
        ['POST', `${EP}?EIO=4&transport=polling`, 2, 'Bad handshake method'],
        ['PUT', `${EP}?EIO=4&transport=polling`, 2, 'Bad handshake method'],
        ['GET', `${EP}?EIO=4&transport=websocket`, 3, 'Bad request'],
        // engine.io's order (verify, then handshake): transport, sid, method and websocket-without-upgrade are
        // checked before the protocol revision, so a request without EIO fails those first.
        ['GET', `${EP}`, 0, 'Transport unknown'],
        ['POST', `${EP}?transport=polling`, 2, 'Bad handshake method'],
        ['GET', `${EP}?transport=polling&sid=AAAAAAAAAAAAAAAAAAAA`, 1, 'Session ID unknown'],
        ['GET', `${EP}?transport=websocket`, 3, 'Bad request'],
    ];
    for (const [method, path, code, message] of cases) {
        const r = await req(srv.url, method, path, { headers: { origin: 'https://x.example' } });
        const where = `${method} ${path}`;
        assert.equal(r.status, 400, `${where}: ${r.status} ${r.text}`);
        assert.equal(r.headers['content-type'], 'application/json', where);
        assert.equal(r.text, JSON.stringify({ code, message }), where);
        assertKeyOrder(r.json, { code, message });
        assertCors(r.headers, where);
    }
});

test('Engine.IO upgrade-request errors: raw "HTTP/1.1 400 Bad Request" with the message, then the socket is closed', { timeout: TEST_TIMEOUT }, async () => {
    const upgrade = (query) => `GET ${EP}?${query} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n` +
        'Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n';
    const cases = [
        ['EIO=4&transport=websocket&sid=AAAAAAAAAAAAAAAAAAAA', 'Session ID unknown'],
        ['EIO=4&transport=foo', 'Transport unknown'],
        ['transport=foo', 'Transport unknown'],
    ];
    for (const [query, message] of cases) {
        const r = await rawHttp(srv.url, upgrade(query), { waitClose: 500 });
        assert.equal(r.status, 400, `${query}: ${r.status} ${r.text}`);
        assert.equal(r.headers.connection?.toLowerCase(), 'close', query);
        assert.equal(r.headers['content-type'], 'text/html', query);
        assert.equal(r.text, message, query);
        assert.equal(r.closed, true, `${query}: connection must be closed`);
    }
    // The server is still fine
    await assertHealthy(srv);
});

/** Writes `data` on a fresh TCP connection and collects every byte until the server closes it. */
function rawExchange(url, data, timeoutMs = 3000) {
    const u = new URL(url);
    return new Promise((resolve, reject) => {
        const sock = net.connect({ host: u.hostname, port: Number(u.port) });
        const chunks = [];
        const timer = setTimeout(() => { sock.destroy(); reject(new Error(`not closed within ${timeoutMs} ms: ${Buffer.concat(chunks).toString('latin1')}`)); }, timeoutMs);
        sock.on('data', (d) => chunks.push(d));
        sock.on('error', () => {}); // a reset after the close is still a close
        sock.on('close', () => { clearTimeout(timer); resolve(Buffer.concat(chunks).toString('latin1')); });
        sock.write(data);
    });
}

test('WebSocket handshake without EIO (or EIO=3): 101, then upstream\'s raw 400 "Unsupported protocol version", closed', { timeout: TEST_TIMEOUT }, async () => {
    // engine.io runs the protocol check in handshake(), after ws has already answered 101; its abortUpgrade()
    // then writes a plain HTTP 400 onto the upgraded socket and destroys it.
    const upgrade = (query) => `GET ${EP}?${query} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n` +
        'Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n';
    for (const query of ['transport=websocket', 'EIO=3&transport=websocket', 'EIO=5&transport=websocket']) {
        const text = await rawExchange(srv.url, upgrade(query));
        const end = text.indexOf('\r\n\r\n');
        const head = text.slice(0, end).split('\r\n');
        assert.equal(head[0], 'HTTP/1.1 101 Switching Protocols', `${query}: ${text}`);
        assert.ok(head.includes('Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo='), `${query}: ${text}`);
        assert.equal(text.slice(end + 4), 'HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-type: text/html\r\n' +
            'Content-Length: 28\r\n\r\nUnsupported protocol version', query);
    }
    // No engine session was opened by them: a handshake with EIO=4 still works.
    const c = await clients.open(srv.url);
    parseOpenPacket(await c.next());
    await assertHealthy(srv);
});

test('CORS preflight on the engine path: 204, empty body, allow-origin *, credentials, methods, headers', { timeout: TEST_TIMEOUT }, async () => {
    for (const path of [`${EP}?EIO=4&transport=polling`, `${EP}?EIO=4&transport=polling&sid=whatever`]) {
        const r = await req(srv.url, 'OPTIONS', path, {
            headers: {
                origin: 'https://web.example',
                'access-control-request-method': 'POST',
                'access-control-request-headers': 'content-type,x-custom',
            },
        });
        assert.equal(r.status, 204, `${path}: ${r.status} ${r.text}`);
        assert.equal(r.text, '');
        assert.equal(r.headers['content-length'], '0');
        assertCors(r.headers, `preflight ${path}`);
        assert.equal(r.headers['access-control-allow-methods'], 'GET,POST,OPTIONS');
        assert.equal(r.headers['access-control-allow-headers'], '*');
    }
});

test('the path without the trailing slash and other paths are not the engine (no OPEN packet)', { timeout: TEST_TIMEOUT }, async () => {
    // engine.io intercepts a request only when its URL starts with the normalised path "/v1/updates/"; anything
    // else falls through to the REST router's 404 (upstream: fastify's not-found body).
    for (const p of ['/v1/updates?EIO=4&transport=polling', '/v1/updatesX/?EIO=4&transport=polling',
        '/socket.io/?EIO=4&transport=polling', '/socket.io/socket.io.js']) {
        const r = await req(srv.url, 'GET', p);
        assert.equal(r.status, 404, `${p}: ${r.status} ${r.text}`);
        assert.deepStrictEqual(r.json, bodies.notFound(p, 'GET'), p);
        assert.ok(!r.text.startsWith('0'), `${p}: no OPEN packet`);
    }
});

test('polling responses of 1024 bytes or more are compressed per Accept-Encoding (engine.io httpCompression)', { timeout: TEST_TIMEOUT }, async () => {
    const zlib = await import('node:zlib');
    // A raw polling provider receives a large rpc-request through its long-poll.
    const hs = await req(srv.url, 'GET', `${EP}?EIO=4&transport=polling`);
    const { sid } = parseOpenPacket(hs.text);
    const q = `${EP}?EIO=4&transport=polling&sid=${encodeURIComponent(sid)}`;
    const auth = machineAuth(acct, 'gz-machine');
    await req(srv.url, 'POST', q, { rawBody: '40' + JSON.stringify(auth), contentType: 'text/plain;charset=UTF-8' });
    assert.match((await req(srv.url, 'GET', q)).text, /^40\{"sid"/);
    await req(srv.url, 'POST', q, { rawBody: '42["rpc-register",{"method":"gz-machine:big"}]', contentType: 'text/plain;charset=UTF-8' });
    assert.equal((await req(srv.url, 'GET', q)).text, '42["rpc-registered",{"method":"gz-machine:big"}]');

    const caller = sio(userAuth(acct));
    await waitConnect(caller);
    const big = 'A'.repeat(5000);
    const pending = caller.timeout(5000).emitWithAck('rpc-call', { method: 'gz-machine:big', params: big })
        .catch((e) => e); // settled on every path (no unhandled rejection if an assertion below fails)
    const g = await req(srv.url, 'GET', q, { headers: { 'accept-encoding': 'gzip, deflate' } });
    assert.equal(g.status, 200);
    assert.equal(g.headers['content-encoding'], 'gzip',
        `response (${g.bytes.length} bytes) not compressed: ${g.text.slice(0, 60)}…`);
    const text = zlib.gunzipSync(g.bytes).toString('utf8');
    const m = /^42(\d+)\["rpc-request",\{"method":"gz-machine:big","params":"(A+)"\}\]$/.exec(text);
    assert.ok(m, text.slice(0, 100));
    assert.equal(m[2], big);
    await req(srv.url, 'POST', q, { rawBody: `43${m[1]}["done"]`, contentType: 'text/plain;charset=UTF-8' });
    assert.deepStrictEqual(await pending, { ok: true, result: 'done' });

    // small responses are not compressed
    await req(srv.url, 'POST', q, { rawBody: '421["ping"]', contentType: 'text/plain;charset=UTF-8' });
    const small = await req(srv.url, 'GET', q, { headers: { 'accept-encoding': 'gzip' } });
    assert.equal(small.headers['content-encoding'], undefined);
    assert.equal(small.text, '431[{}]');
});

test('binary payloads (BINARY_EVENT / BINARY_ACK) are decoded and forwarded like upstream socket.io', { timeout: TEST_TIMEOUT }, async () => {
    const provider = sio(machineAuth(acct, 'bin-machine'));
    const caller = sio(userAuth(acct));
    await Promise.all([waitConnect(provider), waitConnect(caller)]);
    // a binary argument to a handler that ignores it: accepted silently
    caller.emit('app-state', Buffer.from('active'));
    assert.deepStrictEqual(await caller.timeout(3000).emitWithAck('ping'), {});
    assert.equal(caller.connected, true);

    let seen;
    provider.on('rpc-request', (data, ack) => { seen = data; ack({ echoed: data.params, extra: Buffer.from([9, 8, 7]) }); });
    const reg = waitEvent(provider, 'rpc-registered', 3000);
    provider.emit('rpc-register', { method: 'bin-machine:x' });
    await reg;
    const params = Buffer.from([0, 1, 2, 250, 255]);
    const res = await caller.timeout(5000).emitWithAck('rpc-call', { method: 'bin-machine:x', params });
    assert.ok(Buffer.isBuffer(seen.params) || seen.params instanceof ArrayBuffer, `provider got ${JSON.stringify(seen)}`);
    assert.deepStrictEqual(Buffer.from(seen.params), params);
    assert.equal(res.ok, true);
    assert.deepStrictEqual(Buffer.from(res.result.echoed), params);
    assert.deepStrictEqual(Buffer.from(res.result.extra), Buffer.from([9, 8, 7]));
});

test('realtime.polling=false: polling requests are "Transport unknown", websocket still works', { timeout: TEST_TIMEOUT }, async () => {
    const ws = await startRealtimeServer({ polling: false });
    try {
        const r = await req(ws.url, 'GET', `${EP}?EIO=4&transport=polling`);
        assert.equal(r.status, 400);
        assert.equal(r.text, '{"code":0,"message":"Transport unknown"}');
        const a = await authAccount(ws.url);
        const c = await clients.raw(ws.url, { token: a.token });
        assert.equal(c.frames[0].data, openPacket(c.engineSid, []));
        assert.match(c.connectReply, /^40\{"sid":/);
    } finally {
        await ws.stop();
    }
});
