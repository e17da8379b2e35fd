// Server lifecycle with realtime clients (realtime.md §8.4, README "SIGTERM" contract): reconnect after a
// restart on the same DATA_DIR (new socket id, token still valid), and graceful shutdown with open
// websockets, a long-poll and pending RPC calls.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import {
    TEST_TIMEOUT, HOOK_TIMEOUT, startServer, authAccount, req, parseOpenPacket, makeTempDir, removeDir, userAuth,
    machineAuth, sessionAuth, waitConnect, waitEvent, sleep, SIO_ID_RE,
} from './harness.mjs';
import { clientsClosedAfterEach } from './clients.mjs';

const servers = new Set();
const dirs = [];
after(async () => {
    await Promise.all([...servers].map((s) => s.stop()));
    for (const d of dirs) removeDir(d);
}, { timeout: HOOK_TIMEOUT });

const clients = clientsClosedAfterEach();

async function start(opts) {
    const s = await startServer(opts);
    servers.add(s);
    return s;
}

const sio = (server, auth, opts) => clients.sio(server.url, auth, opts);

// ---------------------------------------------------------------------------------------------------

test('reconnect: after a restart on the same DATA_DIR a socket.io-client reconnects with a new socket id', { timeout: TEST_TIMEOUT }, async () => {
    const dataDir = makeTempDir('happy-rt-restart-');
    dirs.push(dataDir);
    const srv1 = await start({ dataDir });
    const acct = await authAccount(srv1.url);
    const s = sio(srv1, userAuth(acct), {
        reconnection: true, reconnectionDelay: 100, reconnectionDelayMax: 300, randomizationFactor: 0,
    });
    await waitConnect(s);
    const firstId = s.id;
    const firstEngine = s.io.engine.id;
    assert.match(firstId, SIO_ID_RE);

    const disconnected = waitEvent(s, 'disconnect', 5000);
    const code = await srv1.stop({ keepDataDir: true });
    servers.delete(srv1);
    assert.equal(code, 0, 'SIGTERM exit code');
    const [reason] = await disconnected;
    assert.ok(['transport close', 'transport error', 'io server disconnect', 'ping timeout'].includes(reason), `reason ${reason}`);
    if (reason === 'io server disconnect') {
        // socket.io-client does not reconnect by itself after a server-side namespace disconnect
        s.connect();
    }

    // same port, same data dir (the generated secret is reused, so the token stays valid)
    const reconnected = waitEvent(s, 'connect', 15000);
    const srv2 = await start({ dataDir, env: { PORT: String(srv1.port) } });
    assert.equal(srv2.port, srv1.port);
    await reconnected;
    assert.equal(s.connected, true);
    assert.match(s.id, SIO_ID_RE);
    assert.notEqual(s.id, firstId, 'a reconnect is a brand-new socket');
    assert.notEqual(s.io.engine.id, firstEngine);
    assert.ok(!s.recovered, 'no connection state recovery');
    assert.deepStrictEqual(await s.timeout(3000).emitWithAck('ping'), {});

    // RPC registrations made after the reconnect work (nothing carried over, nothing stale)
    const provider = sio(srv2, machineAuth(acct, 'm-restart'));
    await waitConnect(provider);
    provider.on('rpc-request', (d, ack) => ack('after-restart'));
    const reg = waitEvent(provider, 'rpc-registered', 3000);
    provider.emit('rpc-register', { method: 'm-restart:x' });
    await reg;
    assert.deepStrictEqual(await s.timeout(5000).emitWithAck('rpc-call', { method: 'm-restart:x' }), { ok: true, result: 'after-restart' });
});

test('graceful shutdown: SIGTERM exits 0 within 2 s with websockets, a long-poll and pending RPC calls open', { timeout: TEST_TIMEOUT }, async () => {
    const srv = await start(); // default realtime timings: 15 s grace, 30 s call timeout, 20 s connect timeout
    const acct = await authAccount(srv.url);

    const appSock = sio(srv, userAuth(acct));
    const daemon = sio(srv, machineAuth(acct, 'm-shutdown'));
    const cli = sio(srv, sessionAuth(acct, 's-shutdown'));
    const poller = sio(srv, userAuth(acct), { transports: ['polling'] });
    await Promise.all([appSock, daemon, cli, poller].map((s) => waitConnect(s)));

    // a provider that never answers, and a call waiting in the grace period for a method nobody has
    const reg = waitEvent(daemon, 'rpc-registered', 3000);
    daemon.emit('rpc-register', { method: 'm-shutdown:hang' });
    await reg;
    const gotReq = waitEvent(daemon, 'rpc-request', 3000);
    const hanging = appSock.timeout(20000).emitWithAck('rpc-call', { method: 'm-shutdown:hang' }).catch((e) => e);
    const waitingGrace = cli.timeout(20000).emitWithAck('rpc-call', { method: 'nobody:x' }).catch((e) => e);
    await gotReq;

    // raw websockets: one connected, one that never sent CONNECT
    const rawConnected = await clients.raw(srv.url, { token: acct.token });
    const rawIdle = await clients.raw(srv.url, undefined);
    // a raw long-poll pending on the server
    const hs = await req(srv.url, 'GET', '/v1/updates/?EIO=4&transport=polling');
    const { sid } = parseOpenPacket(hs.text);
    const pendingPoll = req(srv.url, 'GET', `/v1/updates/?EIO=4&transport=polling&sid=${encodeURIComponent(sid)}`, { timeoutMs: 6000 })
        .then((r) => ({ status: r.status, text: r.text }), (e) => ({ error: e.message }));
    await sleep(100);

    const disconnects = [appSock, daemon, cli, poller].map((s) => waitEvent(s, 'disconnect', 5000).then(([r]) => r));
    const code = await srv.stop({ graceMs: 5000 });
    servers.delete(srv);
    const info = srv.stopInfo;
    assert.equal(code, 0, `exit code ${code} (signal ${info.signal})`);
    assert.equal(info.forced, false, 'the server had to be SIGKILLed');
    assert.ok(info.elapsedMs < 2000, `shutdown took ${info.elapsedMs} ms`);

    const reasons = await Promise.all(disconnects);
    for (const r of reasons) assert.equal(typeof r, 'string');
    assert.ok(await rawConnected.waitClosed(3000), 'raw connected websocket must be closed');
    assert.ok(await rawIdle.waitClosed(3000), 'raw idle websocket must be closed');
    const poll = await pendingPoll;
    assert.ok(poll.error || poll.status !== 200 || poll.text.split('\x1e').includes('1') || poll.text === '6',
        `the pending long-poll must end: ${JSON.stringify(poll)}`);
    // the pending client-side acks fail (socket.io-client rejects them on disconnect or timeout); never an ok:true
    for (const r of [await hanging, await waitingGrace]) {
        assert.ok(r instanceof Error || r?.ok === false, `pending call result: ${JSON.stringify(r)}`);
    }
});

test('graceful shutdown: many idle websocket clients do not slow the exit', { timeout: TEST_TIMEOUT }, async () => {
    const srv = await start();
    const acct = await authAccount(srv.url);
    const clients = Array.from({ length: 30 }, (_, i) => sio(srv, { token: acct.token, clientType: i % 2 ? 'user-scoped' : 'machine-scoped', machineId: `m${i}` }));
    await Promise.all(clients.map((s) => waitConnect(s)));
    const disconnects = clients.map((s) => waitEvent(s, 'disconnect', 5000));
    const code = await srv.stop({ graceMs: 5000 });
    servers.delete(srv);
    assert.equal(code, 0);
    assert.ok(srv.stopInfo.elapsedMs < 2000, `shutdown took ${srv.stopInfo.elapsedMs} ms`);
    await Promise.all(disconnects);
});
