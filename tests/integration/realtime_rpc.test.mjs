// RPC through the server (realtime.md §2.12–2.14, §3.4, §9.22–9.25): register/unregister events, routing
// to the first registrant, ack shapes, grace wait, timeout, target disconnect, self-call, invalid method,
// account isolation. Timings come from a fast config: rpc_grace_ms 500, rpc_timeout_ms 1000.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
    TEST_TIMEOUT, HOOK_TIMEOUT, LONG_HEARTBEAT_REALTIME, startRealtimeServer, authAccount, userAuth, machineAuth,
    sessionAuth, waitEvent, recordEvents, sleep, assertKeyOrder, uniq, named, assertHealthy, CLUSTER_SIZE,
} from './harness.mjs';
import { clientsClosedAfterEach } from './clients.mjs';

const GRACE = 500;
const CALL_TIMEOUT = 1000;

let srv; // grace 500 ms, call timeout 1000 ms
let slow; // grace 500 ms, call timeout 10 s: room for the target-disconnect detection (upstream: 2–6 s)
let A;
let B;
let S; // account on `slow` (each server has its own secret)

before(async () => {
    // Long heartbeats here: an RPC test must not be disturbed by the engine's ping timeout.
    const rt = { ...LONG_HEARTBEAT_REALTIME, connect_timeout_ms: 20000 };
    srv = await startRealtimeServer({ ...rt, rpc_grace_ms: GRACE, rpc_timeout_ms: CALL_TIMEOUT });
    slow = await startRealtimeServer({ ...rt, rpc_grace_ms: GRACE, rpc_timeout_ms: 10000 });
    A = await authAccount(srv.url);
    B = await authAccount(srv.url);
    S = await authAccount(slow.url);
}, { timeout: HOOK_TIMEOUT });

after(async () => {
    await Promise.all([srv?.stop(), slow?.stop()]);
}, { timeout: HOOK_TIMEOUT });

const clients = clientsClosedAfterEach();

/** A connected websocket socket.io-client socket on `server` (default: srv). */
const sio = (auth, server = srv) => clients.connect(server.url, auth);

const app = (acct = A, server) => sio({ ...userAuth(acct), happyClient: 'ios/1.7.0' }, server);
const machine = (id, acct = A, server) => sio(machineAuth(acct, id), server);
const session = (id, acct = A, server) => sio(sessionAuth(acct, id), server);

/** Register and wait for the rpc-registered confirmation. */
async function register(s, method) {
    const got = waitEvent(s, 'rpc-registered', 3000);
    s.emit('rpc-register', { method });
    const [payload] = await got;
    assert.deepStrictEqual(payload, { method });
    return payload;
}

/** emitWithAck('rpc-call') with a generous client-side timeout; returns {res, ms}. */
async function call(s, payload, timeoutMs = 8000) {
    const t0 = Date.now();
    const res = await s.timeout(timeoutMs).emitWithAck('rpc-call', payload);
    return { res, ms: Date.now() - t0 };
}

// ---------------------------------------------------------------------------------------------------

test('rpc-register answers rpc-registered {method} (idempotent); invalid names get rpc-error', { timeout: TEST_TIMEOUT }, async () => {
    const m = uniq('M');
    const d = await machine(m);
    const events = recordEvents(d);
    await register(d, `${m}:spawn-happy-session`);
    await register(d, `${m}:spawn-happy-session`); // registering again is fine and confirmed again
    await register(d, 'with spaces and ünïcödé: and:colons');
    for (const bad of [{}, { method: '' }, { method: 7 }, { method: null }, { method: { a: 1 } }, { method: ['x'] }, { other: 'x' }]) {
        const got = waitEvent(d, 'rpc-error', 3000);
        d.emit('rpc-register', bad);
        const [payload] = await got;
        assert.deepStrictEqual(payload, { type: 'register', error: 'Invalid method name' }, JSON.stringify(bad));
        assertKeyOrder(payload, { type: 'register', error: 'Invalid method name' });
    }
    for (const bad of [{}, { method: '' }, { method: 7 }]) {
        const got = waitEvent(d, 'rpc-error', 3000);
        d.emit('rpc-unregister', bad);
        const [payload] = await got;
        assert.deepStrictEqual(payload, { type: 'unregister', error: 'Invalid method name' }, JSON.stringify(bad));
    }
    // register/unregister are never acked (events only)
    let acked = false;
    d.emit('rpc-register', { method: `${m}:x` }, () => { acked = true; });
    await waitEvent(d, 'rpc-registered', 3000);
    await sleep(200);
    assert.equal(acked, false, 'rpc-register must not be acked');
    assert.deepStrictEqual([...new Set(events.map((e) => e.event))].sort(), ['rpc-error', 'rpc-registered']);
});

test('rpc-call round trip: machine and session providers, exact rpc-request and ack shapes', { timeout: TEST_TIMEOUT }, async () => {
    const m = uniq('M');
    const sid = uniq('S');
    const daemon = await machine(m);
    const cli = await session(sid);
    const caller = await app();
    const seen = [];
    daemon.on('rpc-request', (data, ack) => { seen.push(['daemon', data]); ack('cmVzdWx0LWRhZW1vbg=='); });
    cli.on('rpc-request', (data, ack) => { seen.push(['cli', data]); ack(`cli:${data.params}`); });
    await register(daemon, `${m}:spawn-happy-session`);
    await register(cli, `${sid}:bash`);

    let { res } = await call(caller, { method: `${m}:spawn-happy-session`, params: 'cGFyYW1z' });
    assert.deepStrictEqual(res, { ok: true, result: 'cmVzdWx0LWRhZW1vbg==' });
    assertKeyOrder(res, { ok: true, result: '' });
    ({ res } = await call(caller, { method: `${sid}:bash`, params: 'xyz' }));
    assert.deepStrictEqual(res, { ok: true, result: 'cli:xyz' });

    assert.deepStrictEqual(seen, [
        ['daemon', { method: `${m}:spawn-happy-session`, params: 'cGFyYW1z' }],
        ['cli', { method: `${sid}:bash`, params: 'xyz' }],
    ]);
    assertKeyOrder(seen[0][1], { method: '', params: '' });

    // scope is not enforced: a session socket may call a machine method too
    ({ res } = await call(cli, { method: `${m}:spawn-happy-session`, params: 'from-cli' }));
    assert.deepStrictEqual(res, { ok: true, result: 'cmVzdWx0LWRhZW1vbg==' });
});

test('rpc-call: params passed through verbatim (omitted stays omitted); ack results of every shape', { timeout: TEST_TIMEOUT }, async () => {
    const m = uniq('M');
    const method = `${m}:shape`;
    const p = await machine(m);
    const caller = await app();
    const requests = [];
    let answer = () => {};
    p.on('rpc-request', (data, ack) => { requests.push(data); answer(ack); });
    await register(p, method);

    // provider acks with no arguments -> {ok:true} (result omitted)
    answer = (ack) => ack();
    let { res } = await call(caller, { method });
    assert.deepStrictEqual(res, { ok: true });
    assert.ok(!('result' in res), 'result must be omitted');
    assert.deepStrictEqual(requests.at(-1), { method }, 'params omitted when the caller omitted it');
    assert.ok(!('params' in requests.at(-1)));

    // null params / null result
    answer = (ack) => ack(null);
    ({ res } = await call(caller, { method, params: null }));
    assert.deepStrictEqual(res, { ok: true, result: null });
    assert.deepStrictEqual(requests.at(-1), { method, params: null });

    // objects pass through both ways; only the first ack argument is used
    const params = { nested: { a: [1, 2, { b: 'c' }] }, s: 'é"\\\n', n: 1.5, t: true };
    answer = (ack) => ack({ x: 1, y: ['z'] }, 'second', 'third');
    ({ res } = await call(caller, { method, params }));
    assert.deepStrictEqual(res, { ok: true, result: { x: 1, y: ['z'] } });
    assert.deepStrictEqual(requests.at(-1), { method, params });
    assertKeyOrder(requests.at(-1).params, params);

    // numbers, booleans, arrays, empty string
    for (const v of [0, 42, false, true, [1, 'two'], '', 'a'.repeat(100000)]) {
        answer = (ack) => ack(v);
        ({ res } = await call(caller, { method, params: v }));
        assert.deepStrictEqual(res, { ok: true, result: v });
        assert.deepStrictEqual(requests.at(-1), { method, params: v });
    }
    // extra keys in the call payload are not forwarded
    answer = (ack) => ack('ok');
    ({ res } = await call(caller, { method, params: 'p', extra: 'nope' }));
    assert.deepStrictEqual(requests.at(-1), { method, params: 'p' });
});

test('raw frames: rpc-register/-registered, rpc-request with an ack id answered by 43<id>, rpc-call ack text', { timeout: TEST_TIMEOUT }, async () => {
    const m = uniq('M');
    const method = `${m}:raw`;
    const prov = await clients.raw(srv.url, machineAuth(A, m));
    assert.match(prov.connectReply, /^40\{"sid":/);
    prov.send(`42["rpc-register",{"method":"${method}"}]`);
    assert.equal(await prov.nextNonPing(), `42["rpc-registered",{"method":"${method}"}]`);

    const caller = await clients.raw(srv.url, { token: A.token });
    caller.send(`4277["rpc-call",{"method":"${method}","params":"cA=="}]`);
    const reqFrame = await prov.nextNonPing();
    const mm = /^42(\d+)\["rpc-request",\{"method":"([^"]+)","params":"cA=="\}\]$/.exec(reqFrame);
    assert.ok(mm, `rpc-request frame: ${reqFrame}`);
    assert.equal(mm[2], method);
    prov.send(`43${mm[1]}["cmVz"]`);
    assert.equal(await caller.nextNonPing(), '4377[{"ok":true,"result":"cmVz"}]');

    // a second call uses another server->client ack id
    caller.send(`4278["rpc-call",{"method":"${method}"}]`);
    const reqFrame2 = await prov.nextNonPing();
    const mm2 = /^42(\d+)\["rpc-request",\{"method":"([^"]+)"\}\]$/.exec(reqFrame2);
    assert.ok(mm2, `rpc-request frame without params: ${reqFrame2}`);
    assert.notEqual(mm2[1], mm[1]);
    prov.send(`43${mm2[1]}[]`);
    assert.equal(await caller.nextNonPing(), '4378[{"ok":true}]');

    // an ack for an unknown id, and a duplicate ack, are ignored; the connection stays
    prov.send(`43${mm[1]}["late"]`);
    prov.send('43999999["nobody"]');
    prov.send('421["ping"]');
    assert.equal(await prov.nextNonPing(), '431[{}]');
});

test('unknown method: {ok:false, error:"RPC method not available"} after the grace wait', { timeout: TEST_TIMEOUT }, async () => {
    const caller = await app();
    const { res, ms } = await call(caller, { method: uniq('nobody:spawn-happy-session'), params: 'x' });
    assert.deepStrictEqual(res, { ok: false, error: 'RPC method not available' });
    assertKeyOrder(res, { ok: false, error: '' });
    assert.ok(ms >= GRACE - 50, `answered after ${ms} ms, before the ${GRACE} ms grace`);
    assert.ok(ms < GRACE + 2000, `answered after ${ms} ms`);
});

test('a method registered during the grace wait is still reached', { timeout: TEST_TIMEOUT }, async () => {
    const m = uniq('M');
    const method = `${m}:late`;
    const caller = await app();
    const provider = await machine(m);
    provider.on('rpc-request', (data, ack) => ack(`late:${data.params}`));
    const pending = call(caller, { method, params: 'p' });
    await sleep(200);
    await register(provider, method);
    const { res, ms } = await pending;
    assert.deepStrictEqual(res, { ok: true, result: 'late:p' });
    assert.ok(ms >= 150, `${ms} ms`);
});

test('provider never answers: {ok:false, error:"operation has timed out"}; a late answer is dropped', { timeout: TEST_TIMEOUT }, async () => {
    const m = uniq('M');
    const method = `${m}:slow`;
    const provider = await machine(m);
    const caller = await app();
    const acks = [];
    provider.on('rpc-request', (data, ack) => acks.push(ack));
    await register(provider, method);
    const { res, ms } = await call(caller, { method, params: 'p' });
    assert.deepStrictEqual(res, { ok: false, error: 'operation has timed out' });
    assert.ok(ms >= CALL_TIMEOUT - 50 && ms < CALL_TIMEOUT + 2000, `timed out after ${ms} ms`);
    assert.equal(acks.length, 1);
    const callerEvents = recordEvents(caller);
    acks[0]('too late');
    await sleep(300);
    assert.deepStrictEqual(callerEvents, []);
    // the provider is still registered and usable
    provider.off('rpc-request');
    provider.on('rpc-request', (data, ack) => ack('fast'));
    assert.deepStrictEqual((await call(caller, { method })).res, { ok: true, result: 'fast' });
    await assertHealthy(srv);
});

test('provider disconnects mid-call: {ok:false, error:"RPC target disconnected"} (client disconnect and dropped TCP)', { timeout: TEST_TIMEOUT }, async () => {
    const caller = await app(S, slow);
    const gone = [];
    // (a) socket.io-client disconnect (DISCONNECT packet, then close)
    {
        const m = uniq('M');
        const provider = await machine(m, S, slow);
        gone.push(`${m}:hang`);
        await register(provider, `${m}:hang`);
        const gotRequest = waitEvent(provider, 'rpc-request', 3000);
        const pending = call(caller, { method: `${m}:hang`, params: 'p' }, 15000);
        await gotRequest;
        const t0 = Date.now();
        provider.disconnect();
        const { res } = await pending;
        const ms = Date.now() - t0;
        assert.deepStrictEqual(res, { ok: false, error: 'RPC target disconnected' });
        assert.ok(ms < 8000, `detected after ${ms} ms (upstream: 2–6 s)`);
    }
    // (b) the provider's TCP connection is dropped without a close handshake
    {
        const m = uniq('M');
        const prov = await clients.raw(slow.url, machineAuth(S, m));
        gone.push(`${m}:hang`);
        prov.send(`42["rpc-register",{"method":"${m}:hang"}]`);
        assert.equal(await prov.nextNonPing(), `42["rpc-registered",{"method":"${m}:hang"}]`);
        const pending = call(caller, { method: `${m}:hang`, params: 'p' }, 15000);
        assert.match(await prov.nextNonPing(), /^42\d+\["rpc-request",/);
        const t0 = Date.now();
        prov.ws._socket.destroy(); // abrupt TCP close
        const { res } = await pending;
        const ms = Date.now() - t0;
        assert.deepStrictEqual(res, { ok: false, error: 'RPC target disconnected' });
        assert.ok(ms < 8000, `detected after ${ms} ms`);
    }
    // registrations of a disconnected provider are gone: grace, then not available
    for (const method of gone) {
        const { res } = await call(caller, { method, params: 1 });
        assert.deepStrictEqual(res, { ok: false, error: 'RPC method not available' }, method);
    }
    await assertHealthy(slow);
});

test('rpc-unregister answers rpc-unregistered {method}; the method is then unreachable', { timeout: TEST_TIMEOUT }, async () => {
    const m = uniq('M');
    const method = `${m}:stop-session`;
    const provider = await machine(m);
    const caller = await app();
    const requests = recordEvents(provider);
    provider.on('rpc-request', (data, ack) => ack('ok'));
    await register(provider, method);
    assert.deepStrictEqual((await call(caller, { method })).res, { ok: true, result: 'ok' });

    let got = waitEvent(provider, 'rpc-unregistered', 3000);
    provider.emit('rpc-unregister', { method });
    assert.deepStrictEqual((await got)[0], { method });
    const before = named(requests, 'rpc-request').length;
    const { res, ms } = await call(caller, { method });
    assert.deepStrictEqual(res, { ok: false, error: 'RPC method not available' });
    assert.ok(ms >= GRACE - 50, `${ms} ms`);
    assert.equal(named(requests, 'rpc-request').length, before, 'no rpc-request after unregister');

    // unregistering something never registered is confirmed as well
    got = waitEvent(provider, 'rpc-unregistered', 3000);
    provider.emit('rpc-unregister', { method: 'never-registered' });
    assert.deepStrictEqual((await got)[0], { method: 'never-registered' });
});

test('calling a method registered by the same socket: {ok:false, error:"Cannot call RPC on the same socket"}', { timeout: TEST_TIMEOUT }, async () => {
    const m = uniq('M');
    const method = `${m}:self`;
    const s = await machine(m);
    let requested = false;
    s.on('rpc-request', (data, ack) => { requested = true; ack('x'); });
    await register(s, method);
    const { res, ms } = await call(s, { method, params: 'p' });
    assert.deepStrictEqual(res, { ok: false, error: 'Cannot call RPC on the same socket' });
    assert.ok(ms < GRACE, `answered after ${ms} ms (no grace wait expected)`);
    assert.equal(requested, false);
});

/**
 * The registrant an rpc-call reaches among `registrants` (in registration order): the earliest. With several
 * instances (a HAPPY_TEST_CLUSTER run) it is the earliest on the caller's own instance when there is one, as
 * upstream's cross-replica fetchSockets lists the local sockets first (spec/scaleout.md §2), else the earliest.
 */
const firstRegistrant = (caller, registrants) =>
    (CLUSTER_SIZE ? registrants.find((r) => r.clusterNode === caller.clusterNode) : undefined) ?? registrants[0];

test('several registrants: the first one wins; the caller itself being first is a self-call', { timeout: TEST_TIMEOUT }, async () => {
    const m = uniq('M');
    const method = `${m}:bash`;
    const p1 = await machine(m);
    const p2 = await machine(m);
    const caller = await app();
    const hits = [];
    p1.on('rpc-request', (d, ack) => { hits.push('p1'); ack('p1'); });
    p2.on('rpc-request', (d, ack) => { hits.push('p2'); ack('p2'); });
    await register(p1, method);
    await register(p2, method);
    const first = firstRegistrant(caller, [p1, p2]) === p1 ? 'p1' : 'p2';
    for (let i = 0; i < 3; i++) assert.deepStrictEqual((await call(caller, { method })).res, { ok: true, result: first });
    assert.deepStrictEqual(hits, [first, first, first]);
    p1.disconnect();
    await sleep(100);
    assert.deepStrictEqual((await call(caller, { method })).res, { ok: true, result: 'p2' });

    // only the chosen (first) target is compared with the caller
    const method2 = `${m}:first-is-caller`;
    const c2 = await app();
    const p3 = await machine(m);
    p3.on('rpc-request', (d, ack) => ack('p3'));
    await register(c2, method2);
    await register(p3, method2);
    assert.deepStrictEqual((await call(c2, { method: method2 })).res, { ok: false, error: 'Cannot call RPC on the same socket' });
    // c2 is the first registrant and has no rpc-request handler, so the call from another socket times out (in a
    // cluster run, a caller on p3's instance but not c2's reaches p3)
    assert.deepStrictEqual((await call(caller, { method: method2 })).res, firstRegistrant(caller, [c2, p3]) === c2
        ? { ok: false, error: 'operation has timed out' } : { ok: true, result: 'p3' });
});

test('rpc-call with a missing or non-string method: "Invalid parameters: method is required"; the server stays up', { timeout: TEST_TIMEOUT }, async () => {
    const caller = await app();
    const bad = [{}, { params: 'x' }, { method: '' }, { method: 7 }, { method: null }, { method: false },
        { method: { a: 1 } }, { method: ['m'] }, 'a string payload', 42, []];
    for (const payload of bad) {
        const { res, ms } = await call(caller, payload);
        assert.deepStrictEqual(res, { ok: false, error: 'Invalid parameters: method is required' }, JSON.stringify(payload));
        assert.ok(ms < GRACE, `${JSON.stringify(payload)}: ${ms} ms (no grace wait expected)`);
    }
    assert.equal(caller.connected, true);
    await assertHealthy(srv);
    // and RPC still works afterwards
    const m = uniq('M');
    const p = await machine(m);
    p.on('rpc-request', (d, ack) => ack('alive'));
    await register(p, `${m}:x`);
    assert.deepStrictEqual((await call(caller, { method: `${m}:x` })).res, { ok: true, result: 'alive' });
});

test('accounts are isolated: another account cannot reach your methods, same names do not collide', { timeout: TEST_TIMEOUT }, async () => {
    const method = `${uniq('M')}:spawn-happy-session`;
    const provA = await machine('shared-id', A);
    const provB = await machine('shared-id', B);
    const callerA = await app(A);
    const callerB = await app(B);
    const seenA = [];
    const seenB = [];
    provA.on('rpc-request', (d, ack) => { seenA.push(d); ack('from-A'); });
    provB.on('rpc-request', (d, ack) => { seenB.push(d); ack('from-B'); });

    await register(provA, method);
    // B calls a method only A registered: grace wait, then not available; A's provider sees nothing
    const { res, ms } = await call(callerB, { method, params: 'b' });
    assert.deepStrictEqual(res, { ok: false, error: 'RPC method not available' });
    assert.ok(ms >= GRACE - 50, `${ms} ms`);
    assert.deepStrictEqual(seenA, []);

    await register(provB, method);
    assert.deepStrictEqual((await call(callerA, { method, params: 'a' })).res, { ok: true, result: 'from-A' });
    assert.deepStrictEqual((await call(callerB, { method, params: 'b' })).res, { ok: true, result: 'from-B' });
    assert.deepStrictEqual(seenA, [{ method, params: 'a' }]);
    assert.deepStrictEqual(seenB, [{ method, params: 'b' }]);
});

test('a pending rpc-call does not block the caller; calls run concurrently; a call without ack still reaches the target', { timeout: TEST_TIMEOUT }, async () => {
    const m = uniq('M');
    const method = `${m}:slowish`;
    const provider = await machine(m);
    const caller = await app();
    const received = [];
    provider.on('rpc-request', (d, ack) => {
        received.push(d.params);
        if (d.params === 'slow') setTimeout(() => ack('slow-done'), 600);
        else ack(`fast:${d.params}`);
    });
    await register(provider, method);
    const slowCall = call(caller, { method, params: 'slow' });
    await sleep(50);
    const t0 = Date.now();
    assert.deepStrictEqual(await caller.timeout(3000).emitWithAck('ping'), {});
    const fast = await call(caller, { method, params: 'f1' });
    assert.deepStrictEqual(fast.res, { ok: true, result: 'fast:f1' });
    assert.ok(Date.now() - t0 < 500, 'ping and a second call must not wait for the pending call');
    assert.deepStrictEqual((await slowCall).res, { ok: true, result: 'slow-done' });

    // no ack requested by the caller: routed anyway, result dropped (§3.4 step 9)
    caller.emit('rpc-call', { method, params: 'fire-and-forget' });
    const deadline = Date.now() + 3000;
    while (!received.includes('fire-and-forget') && Date.now() < deadline) await sleep(20);
    assert.ok(received.includes('fire-and-forget'), 'the target must get the request');

    // many concurrent calls
    const results = await Promise.all(Array.from({ length: 25 }, (_, i) => call(caller, { method, params: `c${i}` })));
    assert.deepStrictEqual(results.map((r) => r.res), Array.from({ length: 25 }, (_, i) => ({ ok: true, result: `fast:c${i}` })));
});

test('the caller disconnecting mid-call (or during the grace wait) is harmless; the provider keeps working', { timeout: TEST_TIMEOUT }, async () => {
    const m = uniq('M');
    const method = `${m}:x`;
    const provider = await machine(m);
    const pendingAcks = [];
    provider.on('rpc-request', (d, ack) => {
        if (d.params === 'hold') pendingAcks.push(ack);
        else ack(`ok:${d.params}`);
    });
    await register(provider, method);

    // (a) mid-call: the target answers after the caller is gone
    const c1 = await app();
    const got = waitEvent(provider, 'rpc-request', 3000);
    c1.emit('rpc-call', { method, params: 'hold' }, () => {});
    await got;
    c1.disconnect();
    await sleep(100);
    assert.equal(pendingAcks.length, 1);
    pendingAcks[0]('answer for nobody');

    // (b) during the grace wait for an unknown method
    const c2 = await app();
    c2.emit('rpc-call', { method: `${m}:not-yet`, params: 'x' }, () => {});
    await sleep(100);
    c2.close();
    await sleep(GRACE + 200);

    await assertHealthy(srv);
    const c3 = await app();
    assert.deepStrictEqual((await call(c3, { method, params: 'again' })).res, { ok: true, result: 'ok:again' });
});
