// Heartbeat (realtime.md §1.3.4), connect timeout (§1.1), payload limits (§1.1, §9.26) and malformed
// input (§1.4 rules, §9.35): the offending connection is closed, every other connection and the server
// keep working.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import WebSocket from 'ws';
import {
    TEST_TIMEOUT, HOOK_TIMEOUT, FAST_REALTIME, startServer, startRealtimeServer, authAccount, req, parseOpenPacket,
    userAuth, sleep, assertHealthy,
} from './harness.mjs';
import { clientsClosedAfterEach } from './clients.mjs';

const EP = '/v1/updates/';
let fast; // ping 300/200, connect timeout 1000
let dflt; // upstream defaults
let FA;
let DA;

before(async () => {
    [fast, dflt] = await Promise.all([startRealtimeServer({ ...FAST_REALTIME }), startServer()]);
    [FA, DA] = await Promise.all([authAccount(fast.url), authAccount(dflt.url)]);
}, { timeout: HOOK_TIMEOUT });

after(async () => { await Promise.all([fast?.stop(), dflt?.stop()]); }, { timeout: HOOK_TIMEOUT });

const clients = clientsClosedAfterEach();

/** A connected websocket socket.io-client socket. */
const sio = (server, auth, opts) => clients.connect(server.url, auth, opts);
const raw = (server, auth, opts) => clients.raw(server.url, auth, opts);

const CONNECTED = /^40\{"sid":"[A-Za-z0-9_-]{20}"\}$/;

// ---------------------------------------------------------------------------------------------------
// Heartbeat

test('heartbeat: the OPEN packet advertises the configured values', { timeout: TEST_TIMEOUT }, async () => {
    const c = await raw(fast, undefined);
    assert.equal(c.frames[0].data, '0' + JSON.stringify({
        sid: c.engineSid, upgrades: [], pingInterval: 300, pingTimeout: 200, maxPayload: 1000000,
    }));
});

test('heartbeat: a client that never answers pings is closed after pingInterval + pingTimeout', { timeout: TEST_TIMEOUT }, async () => {
    // CONNECT first so that the connect timeout (1000 ms) is not what closes it.
    const c = await raw(fast, userAuth(FA));
    assert.match(c.connectReply, CONNECTED);
    const closed = await c.waitClosed(3000);
    assert.ok(closed, 'the connection must be closed (ping timeout)');
    const pings = c.frames.filter((f) => f.data === '2');
    assert.ok(pings.length >= 1, 'at least one ping must have been sent');
    const firstPing = pings[0].at - c.openedAt;
    const closedAfter = closed.at - c.openedAt;
    assert.ok(firstPing >= 200 && firstPing <= 800, `first ping after ${firstPing} ms (expected ~300)`);
    assert.ok(closedAfter >= 400 && closedAfter <= 1300, `closed after ${closedAfter} ms (expected ~500)`);
    await assertHealthy(fast);
});

test('heartbeat: a raw client answering pings, and socket.io-client, stay connected across many intervals', { timeout: TEST_TIMEOUT }, async () => {
    const c = await raw(fast, { token: FA.token }, { autoPong: true });
    assert.match(c.connectReply, CONNECTED);
    const s = await sio(fast, userAuth(FA));
    let disconnected = null;
    s.on('disconnect', (reason) => { disconnected = reason; });
    await sleep(2000);
    assert.equal(disconnected, null, `socket.io-client disconnected: ${disconnected}`);
    assert.equal(s.connected, true);
    assert.ok(c.isOpen, 'raw client answering pings must stay open');
    const pings = c.frames.filter((f) => f.data === '2').length;
    assert.ok(pings >= 4 && pings <= 9, `${pings} pings in 2 s at a 300 ms interval`);
    assert.deepStrictEqual(await s.timeout(2000).emitWithAck('ping'), {});
    c.send('4211["ping"]');
    assert.equal(await c.nextNonPing(2000), '4311[{}]');
});

test('heartbeat: a client-sent ping ("2") closes the connection (invalid heartbeat direction)', { timeout: TEST_TIMEOUT }, async () => {
    const witness = await sio(dflt, { token: DA.token });
    for (const auth of [undefined, { token: DA.token }]) {
        const c = await raw(dflt, auth);
        c.send('2');
        const closed = await c.waitClosed(2000);
        assert.ok(closed, `client ping must close the connection (${auth ? 'after' : 'before'} CONNECT)`);
        assert.ok(!c.frames.slice(1).some((f) => f.data === '3'), 'no pong is sent back');
    }
    assert.equal(witness.connected, true);
    await assertHealthy(dflt);
});

// ---------------------------------------------------------------------------------------------------
// Connect timeout

test('connect timeout: an engine connection without a Socket.IO CONNECT is closed after connect_timeout_ms', { timeout: TEST_TIMEOUT }, async () => {
    // Answer pings so that only the connect timeout can close it.
    const c = await raw(fast, undefined, { autoPong: true });
    const closed = await c.waitClosed(4000);
    assert.ok(closed, 'connection without CONNECT must be closed');
    const ms = closed.at - c.openedAt;
    assert.ok(ms >= 850 && ms <= 2500, `closed after ${ms} ms (connect_timeout_ms 1000)`);
});

test('connect timeout: keeps running after a rejected CONNECT; a connected socket is not affected', { timeout: TEST_TIMEOUT }, async () => {
    const rejected = await raw(fast, { token: 'garbage' }, { autoPong: true });
    assert.equal(rejected.connectReply, '44{"message":"Invalid authentication token"}');
    const ok = await raw(fast, { token: FA.token }, { autoPong: true });
    assert.match(ok.connectReply, CONNECTED);
    const closed = await rejected.waitClosed(4000);
    assert.ok(closed, 'a connection whose only CONNECT was rejected must still time out');
    const ms = closed.at - rejected.openedAt;
    assert.ok(ms >= 850 && ms <= 2500, `closed after ${ms} ms`);
    await sleep(Math.max(0, ok.openedAt + 1800 - Date.now()));
    assert.ok(ok.isOpen, 'a connected socket must not be closed by the connect timeout');
    ok.send('421["ping"]');
    assert.equal(await ok.nextNonPing(2000), '431[{}]');
});

test('connect timeout: a polling session without CONNECT is dropped (its sid becomes unknown)', { timeout: TEST_TIMEOUT }, async () => {
    const hs = await req(fast.url, 'GET', `${EP}?EIO=4&transport=polling`);
    assert.equal(hs.status, 200);
    const { sid } = parseOpenPacket(hs.text);
    const q = `${EP}?EIO=4&transport=polling&sid=${encodeURIComponent(sid)}`;
    // Keep the session alive at the engine level: answer pings by polling and posting pongs, but never CONNECT.
    const deadline = Date.now() + 3000;
    let last;
    while (Date.now() < deadline) {
        last = await req(fast.url, 'GET', q, { timeoutMs: 3000 });
        if (last.status !== 200) break;
        if (last.text.split('\x1e').includes('1')) break; // engine CLOSE packet
        if (last.text.split('\x1e').includes('2')) await req(fast.url, 'POST', q, { rawBody: '3', contentType: 'text/plain;charset=UTF-8' });
    }
    const after = await req(fast.url, 'GET', q);
    assert.equal(after.status, 400, `sid must be unknown after the connect timeout; last poll: ${last?.status} ${last?.text}`);
    assert.equal(after.text, '{"code":1,"message":"Session ID unknown"}');
});

// ---------------------------------------------------------------------------------------------------
// Payload limits

test('max payload: a websocket frame over 1,000,000 bytes closes only that connection (1009); exactly the limit is fine', { timeout: TEST_TIMEOUT }, async () => {
    const witness = await sio(dflt, userAuth(DA));
    const other = await raw(dflt, { token: DA.token });

    // exactly 1,000,000 bytes: accepted
    const head = '42["app-state",{"state":"';
    const tail = '"}]';
    const exact = head + 'x'.repeat(1000000 - head.length - tail.length) + tail;
    assert.equal(Buffer.byteLength(exact), 1000000);
    const c = await raw(dflt, { token: DA.token });
    c.send(exact);
    c.send('421["ping"]');
    assert.equal(await c.nextNonPing(5000), '431[{}]', 'a frame of exactly maxPayload must be accepted');

    // 1,000,001 bytes: closed with 1009
    c.send(exact + ' ');
    const closed = await c.waitClosed(5000);
    assert.ok(closed, 'oversized frame must close the connection');
    assert.equal(closed.code, 1009, `close code ${closed.code} ${closed.reason}`);

    // a binary oversized frame too
    const b = await raw(dflt, { token: DA.token });
    b.send(Buffer.alloc(1000001, 1));
    const closedB = await b.waitClosed(5000);
    assert.ok(closedB, 'oversized binary frame must close the connection');
    assert.equal(closedB.code, 1009);

    // everyone else is fine
    assert.equal(witness.connected, true);
    assert.deepStrictEqual(await witness.timeout(3000).emitWithAck('ping'), {});
    assert.ok(other.isOpen);
    other.send('427["ping"]');
    assert.equal(await other.nextNonPing(), '437[{}]');
    await assertHealthy(dflt);
});

test('max payload: after the 1009 close frame the server keeps draining (no reset while the client is still sending)', { timeout: TEST_TIMEOUT }, async () => {
    // Upstream (ws): on an oversized frame it sends the 1009 close frame, half-closes (FIN) and keeps reading
    // and discarding until the peer closes, so a client still transmitting the big frame gets no RST and
    // its WebSocket library reports 1009. A server that fully closes with unread input resets the connection
    // and the client sees 1006 (abnormal closure) instead, depending on timing.
    // allowHalfOpen: keep our sending side open after the server's FIN (that is what a browser/ws client
    // that is still transmitting effectively does).
    const sock = net.connect({ host: '127.0.0.1', port: dflt.port, allowHalfOpen: true });
    const events = [];
    let buf = Buffer.alloc(0);
    sock.on('data', (d) => { buf = Buffer.concat([buf, d]); });
    sock.on('error', (e) => events.push(`error ${e.code || e.message}`));
    sock.on('end', () => events.push('end'));
    sock.on('close', () => events.push('close'));
    try {
        await new Promise((r, j) => { sock.once('connect', r); sock.once('error', j); });
        sock.write(`GET ${EP}?EIO=4&transport=websocket HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n` +
            'Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n');
        const deadline = Date.now() + 3000;
        while (!buf.includes('\r\n\r\n') && Date.now() < deadline) await sleep(10);
        assert.match(buf.toString('latin1'), /^HTTP\/1\.1 101/);
        // masked text frame announcing 1,000,001 bytes; the payload follows later
        const hdr = Buffer.alloc(14);
        hdr[0] = 0x81; hdr[1] = 0x80 | 127; hdr.writeBigUInt64BE(1000001n, 2);
        sock.write(hdr);
        await sleep(200);
        const closeFrame = Buffer.from([0x88, 0x02, 0x03, 0xf1]);
        assert.ok(buf.includes(closeFrame), 'the server must send a close frame with code 1009');
        // now send the announced payload in chunks, like a client that was still transmitting
        const chunk = Buffer.alloc(64 * 1024, 0x41);
        let sent = 0;
        while (sent < 1000001 && !sock.destroyed) {
            const n = Math.min(chunk.length, 1000001 - sent);
            sock.write(chunk.subarray(0, n));
            sent += n;
            await sleep(2);
        }
        await sleep(300);
        assert.ok(!events.some((e) => e.startsWith('error')),
            `the connection was reset while the client was still sending (${sent} of 1000001 payload bytes ` +
            `written): ${events.join(', ')}`);
        assert.equal(sent, 1000001);
    } finally {
        sock.destroy();
    }
    await assertHealthy(dflt);
});

test('max payload: the limit follows realtime.max_payload', { timeout: TEST_TIMEOUT }, async () => {
    const small = await startRealtimeServer({ ...FAST_REALTIME, ping_interval_ms: 15000, ping_timeout_ms: 45000, max_payload: 2000 });
    try {
        const acct = await authAccount(small.url);
        const c = await clients.raw(small.url, { token: acct.token });
        assert.equal(c.handshake.maxPayload, 2000);
        c.send('42["app-state",' + JSON.stringify({ state: 'x'.repeat(1900) }) + ']');
        c.send('421["ping"]');
        assert.equal(await c.nextNonPing(), '431[{}]');
        c.send('42["app-state",' + JSON.stringify({ state: 'x'.repeat(2100) }) + ']');
        const closed = await c.waitClosed(3000);
        assert.ok(closed);
        assert.equal(closed.code, 1009);
        // polling
        const hs = await req(small.url, 'GET', `${EP}?EIO=4&transport=polling`);
        const { sid } = parseOpenPacket(hs.text);
        const r = await pollPost(small, sid, 'x'.repeat(2001));
        assert.equal(r.status, 413);
    } finally {
        await small.stop();
    }
});

/**
 * POST a polling body over a raw socket. The headers go first; the body follows only if no response came
 * within 300 ms (a server may answer 413 from Content-Length alone and close; writing the body into a
 * closed connection would turn that answer into EPIPE/ECONNRESET on our side). Resolves {status, text, early}.
 */
function pollPost(server, sid, body) {
    const b = Buffer.from(body);
    const head = `POST ${EP}?EIO=4&transport=polling&sid=${encodeURIComponent(sid)} HTTP/1.1\r\n` +
        `Host: 127.0.0.1\r\nContent-Type: text/plain;charset=UTF-8\r\nContent-Length: ${b.length}\r\n\r\n`;
    return new Promise((resolve, reject) => {
        const sock = net.connect({ host: '127.0.0.1', port: server.port });
        let buf = Buffer.alloc(0);
        let bodySent = false;
        const done = (err, v) => { clearTimeout(timer); clearTimeout(bodyTimer); sock.destroy(); if (err) reject(err); else resolve(v); };
        const parse = () => {
            const i = buf.indexOf('\r\n\r\n');
            if (i < 0) return false;
            const lines = buf.subarray(0, i).toString('latin1').split('\r\n');
            const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(lines[0])?.[1]);
            const cl = lines.find((l) => /^content-length:/i.test(l));
            const len = cl ? Number(cl.split(':')[1]) : 0;
            if (buf.length < i + 4 + len) return false;
            done(null, { status, text: buf.subarray(i + 4, i + 4 + len).toString('utf8'), early: !bodySent });
            return true;
        };
        const timer = setTimeout(() => done(new Error(`no response; got ${JSON.stringify(buf.toString('latin1').slice(0, 200))}`)), 8000);
        let bodyTimer;
        sock.on('data', (d) => { buf = Buffer.concat([buf, d]); parse(); });
        sock.on('error', (e) => { if (!parse()) done(e); });
        sock.on('close', () => { if (!parse()) done(new Error('closed without a response')); });
        sock.on('connect', () => {
            sock.write(head);
            bodyTimer = setTimeout(() => { bodySent = true; sock.write(b); }, 300);
        });
    });
}

test('max payload: a polling POST over 1,000,000 bytes is answered 413; exactly the limit is accepted', { timeout: TEST_TIMEOUT }, async () => {
    const hs = await req(dflt.url, 'GET', `${EP}?EIO=4&transport=polling`);
    const { sid } = parseOpenPacket(hs.text);
    const q = `${EP}?EIO=4&transport=polling&sid=${encodeURIComponent(sid)}`;
    const post = await req(dflt.url, 'POST', q, { rawBody: '40' + JSON.stringify({ token: DA.token }), contentType: 'text/plain;charset=UTF-8' });
    assert.equal(post.text, 'ok');
    const g = await req(dflt.url, 'GET', q);
    assert.match(g.text, CONNECTED);

    const head = '42["app-state",{"state":"';
    const tail = '"}]';
    const exact = head + 'y'.repeat(1000000 - head.length - tail.length) + tail;
    const ok = await pollPost(dflt, sid, exact);
    assert.equal(ok.status, 200, `exactly maxPayload: ${ok.status} ${ok.text.slice(0, 200)}`);
    assert.equal(ok.text, 'ok');

    const big = await pollPost(dflt, sid, exact + 'z');
    assert.equal(big.status, 413, `over maxPayload: ${big.status} ${big.text.slice(0, 200)}`);
    await assertHealthy(dflt);
});

// ---------------------------------------------------------------------------------------------------
// Malformed input

test('malformed Socket.IO / Engine.IO input closes only the offending connection; the server survives', { timeout: TEST_TIMEOUT * 2 }, async () => {
    const witness = await sio(dflt, userAuth(DA));
    const auth = userAuth(DA);
    // [name, connectFirst, frames...]
    const cases = [
        ['EVENT with invalid JSON: 42garbage', true, '42garbage'],
        ['EVENT named "connect"', true, '42["connect"]'],
        ['EVENT named "connect_error"', true, '42["connect_error",{}]'],
        ['EVENT named "disconnect"', true, '42["disconnect"]'],
        ['EVENT named "disconnecting"', true, '42["disconnecting"]'],
        ['EVENT named "newListener"', true, '42["newListener","x"]'],
        ['EVENT named "removeListener"', true, '42["removeListener","x"]'],
        ['EVENT payload is an object', true, '42{"a":1}'],
        ['EVENT payload is an empty array', true, '42[]'],
        ['EVENT name is an object', true, '42[{"a":1},2]'],
        ['EVENT name is null', true, '42[null]'],
        ['ACK payload is not an array', true, '431{"a":1}'],
        ['DISCONNECT with a payload', true, '41{"a":1}'],
        ['second CONNECT on a connected namespace', true, `40${JSON.stringify(auth)}`],
        ['client-sent CONNECT_ERROR', true, '44{"message":"x"}'],
        ['unknown Socket.IO packet type', true, '47["x"]'],
        ['binary attachment without a BINARY_EVENT header', true, Buffer.from([1, 2, 3])],
        ['BINARY_EVENT header followed by text instead of the attachment', true,
            '451-["app-state",{"_placeholder":true,"num":0}]', '421["ping"]'],
        ['illegal attachment count', true, '45x-["a"]'],
        ['CONNECT with a non-object payload', false, '40"token"'],
        ['CONNECT with an array payload', false, '40[1,2]'],
        ['EVENT before CONNECT', false, '42["ping"]'],
        ['EVENT with ack before CONNECT', false, '421["ping"]'],
        ['ACK before CONNECT', false, '431[]'],
        ['DISCONNECT before CONNECT', false, '41'],
        ['unknown Engine.IO packet type', true, '9hello'],
        ['empty Engine.IO frame', true, ''],
    ];
    const failures = [];
    for (const [name, connectFirst, ...frames] of cases) {
        const c = await raw(dflt, connectFirst ? auth : undefined);
        if (connectFirst) assert.match(c.connectReply, CONNECTED, name);
        for (const f of frames) c.send(f);
        const closed = await c.waitClosed(2000);
        if (!closed) {
            // show what the server sent back, if anything
            failures.push(`${name}: connection still open after 2 s; frames after CONNECT: ` +
                JSON.stringify(c.frames.slice(connectFirst ? 2 : 1).map((x) => String(x.data).slice(0, 80))));
        }
        c.close();
    }
    assert.equal(witness.connected, true, 'the witness socket must stay connected');
    assert.deepStrictEqual(await witness.timeout(3000).emitWithAck('ping'), {});
    await assertHealthy(dflt);
    assert.deepStrictEqual(failures, [], 'every malformed input must close its connection');
});

test('well-formed but unusual input is tolerated: namespace "/" spelled out, whitespace in JSON, unicode', { timeout: TEST_TIMEOUT }, async () => {
    const c = await raw(dflt, undefined);
    c.send(`40/,${JSON.stringify({ token: DA.token })}`);
    assert.match(await c.nextNonPing(), CONNECTED);
    c.send('4212[ "ping" ]');
    assert.equal(await c.nextNonPing(), '4312[{}]');
    c.send('42["app-state",{"state":"\u00e9\ud83d\ude00"}]');
    c.send('4213["ping"]');
    assert.equal(await c.nextNonPing(), '4313[{}]');
    assert.ok(c.isOpen);
});
