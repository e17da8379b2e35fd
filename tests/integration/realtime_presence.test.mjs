// Machine presence on connect/disconnect (realtime.md §1.5 side effects, §3.3, §4, §5.5, §5.6, §9.5):
// ephemeral machine-activity {type, id, active, activeAt} to the account's user-scoped sockets only;
// nothing for session-scoped or user-scoped connects; nothing across accounts.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
    TEST_TIMEOUT, HOOK_TIMEOUT, FAST_REALTIME, startRealtimeServer, authAccount, userAuth, machineAuth, sessionAuth,
    waitConnect, waitConnectError, recordEvents, sleep, assertKeyOrder, uniq,
} from './harness.mjs';
import { clientsClosedAfterEach } from './clients.mjs';

let srv;
let A;
let B;

before(async () => {
    // Fast heartbeats (300/200) so a silently dead machine socket is dropped quickly.
    srv = await startRealtimeServer({ ...FAST_REALTIME });
    A = await authAccount(srv.url);
    B = await authAccount(srv.url);
}, { timeout: HOOK_TIMEOUT });

after(async () => { if (srv) await srv.stop(); }, { timeout: HOOK_TIMEOUT });

const clients = clientsClosedAfterEach();

/** A connected websocket socket.io-client socket. */
const sio = (auth) => clients.connect(srv.url, auth);


/** Wait until `events` (from recordEvents) holds at least `count` entries matching `pred`. */
async function until(events, pred, count = 1, timeoutMs = 3000) {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
        const hits = events.filter(pred);
        if (hits.length >= count) return hits;
        if (Date.now() > deadline) {
            throw new Error(`expected ${count} matching event(s) within ${timeoutMs} ms; got ${JSON.stringify(events)}`);
        }
        await sleep(10);
    }
}

const isActivity = (id, active) => (e) => e.event === 'ephemeral' && e.args[0]?.type === 'machine-activity' &&
    e.args[0]?.id === id && (active === undefined || e.args[0]?.active === active);

function assertActivity(e, id, active, t0, t1) {
    assert.equal(e.args.length, 1, 'ephemeral carries a single argument');
    const p = e.args[0];
    assert.deepStrictEqual(Object.keys(p), ['type', 'id', 'active', 'activeAt']);
    assert.deepStrictEqual({ ...p, activeAt: 0 }, { type: 'machine-activity', id, active, activeAt: 0 });
    assertKeyOrder(p, { type: '', id: '', active: true, activeAt: 0 });
    assert.ok(Number.isInteger(p.activeAt), `activeAt must be an integer ms timestamp: ${p.activeAt}`);
    assert.ok(p.activeAt >= t0 - 5 && p.activeAt <= t1 + 5, `activeAt ${p.activeAt} not within [${t0}, ${t1}]`);
}

// ---------------------------------------------------------------------------------------------------

test('a machine-scoped connect/disconnect sends machine-activity true/false to user-scoped sockets of the account', { timeout: TEST_TIMEOUT }, async () => {
    const M = uniq('machine');
    const appSock = await sio({ token: A.token, clientType: 'user-scoped', happyClient: 'ios/1.7.0', appState: 'active' });
    const web = await sio({ token: A.token }); // no clientType: routed as user-scoped
    const odd = await sio({ token: A.token, clientType: 'weird' }); // unknown clientType: user-scoped
    const appEvents = recordEvents(appSock);
    const webEvents = recordEvents(web);
    const oddEvents = recordEvents(odd);

    const t0 = Date.now();
    const daemon = await sio({ token: A.token, clientType: 'machine-scoped', machineId: M, happyClient: 'cli-daemon/1.0.0' });
    const t1 = Date.now();
    const daemonEvents = recordEvents(daemon);
    for (const evs of [appEvents, webEvents, oddEvents]) {
        const [e] = await until(evs, isActivity(M, true));
        assertActivity(e, M, true, t0, t1);
    }

    const t2 = Date.now();
    daemon.disconnect();
    for (const evs of [appEvents, webEvents, oddEvents]) {
        const [e] = await until(evs, isActivity(M, false));
        assertActivity(e, M, false, t2, Date.now());
    }
    await sleep(200);
    // exactly one event of each kind, nothing else
    for (const evs of [appEvents, webEvents, oddEvents]) {
        assert.deepStrictEqual(evs.map((e) => [e.event, e.args[0].active]), [['ephemeral', true], ['ephemeral', false]]);
    }
    assert.deepStrictEqual(daemonEvents, [], 'the machine socket itself gets nothing');
});

test('other accounts, session-scoped and machine-scoped sockets receive no machine-activity', { timeout: TEST_TIMEOUT }, async () => {
    const M = uniq('machine');
    const appA = await sio(userAuth(A));
    const appB = await sio(userAuth(B));
    const sessA = await sio(sessionAuth(A, 'sess-1'));
    const otherDaemonA = await sio(machineAuth(A, uniq('other')));
    const daemonB = await sio(machineAuth(B, `${M}-b`));
    const evA = recordEvents(appA);
    const evB = recordEvents(appB);
    const evS = recordEvents(sessA);
    const evO = recordEvents(otherDaemonA);
    const evD = recordEvents(daemonB);

    const d = await sio(machineAuth(A, M));
    await until(evA, isActivity(M, true));
    d.close();
    await until(evA, isActivity(M, false));
    await sleep(300);
    // (B's own daemon connected just before recording started, so only look at events about M)
    assert.deepStrictEqual(evB.filter(isActivity(M)), [], 'another account hears nothing about A\'s machine');
    assert.deepStrictEqual(evS, [], 'session-scoped sockets get no machine-activity');
    assert.deepStrictEqual(evO, [], 'machine-scoped sockets get no machine-activity');
    assert.deepStrictEqual(evD, []);
});

test('session-scoped and user-scoped connects/disconnects emit nothing', { timeout: TEST_TIMEOUT }, async () => {
    const appSock = await sio(userAuth(A));
    const events = recordEvents(appSock);
    const s1 = await sio(sessionAuth(A, uniq('s')));
    const u1 = await sio(userAuth(A));
    const n1 = await sio({ token: A.token });
    await sleep(150);
    s1.disconnect();
    u1.disconnect();
    n1.close();
    // a session socket that also names a machine is still session-scoped: no machine-activity
    const s2 = await sio({ token: A.token, clientType: 'session-scoped', sessionId: uniq('s'), machineId: 'also-a-machine' });
    await sleep(150);
    s2.disconnect();
    await sleep(400);
    assert.deepStrictEqual(events, []);
});

test('a rejected machine-scoped handshake emits nothing', { timeout: TEST_TIMEOUT }, async () => {
    const appSock = await sio(userAuth(A));
    const events = recordEvents(appSock);
    for (const auth of [
        { token: 'garbage', clientType: 'machine-scoped', machineId: 'x' },
        { token: A.token, clientType: 'machine-scoped' },
        { clientType: 'machine-scoped', machineId: 'x' },
    ]) {
        const s = clients.sio(srv.url, auth, { timeout: undefined }); // socket.io-client's default connect timeout
        await waitConnectError(s);
        s.close();
    }
    await sleep(400);
    assert.deepStrictEqual(events, []);
});

test('two daemons with the same machine id: one event per connect and per disconnect', { timeout: TEST_TIMEOUT }, async () => {
    const M = uniq('machine');
    const appSock = await sio(userAuth(A));
    const events = recordEvents(appSock);
    const d1 = await sio(machineAuth(A, M));
    const d2 = await sio(machineAuth(A, M));
    await until(events, isActivity(M, true), 2);
    d1.disconnect();
    await until(events, isActivity(M, false), 1);
    d2.disconnect();
    await until(events, isActivity(M, false), 2);
    await sleep(200);
    assert.deepStrictEqual(events.map((e) => e.args[0].active), [true, true, false, false]);
});

test('a machine socket dropped by the heartbeat (no pong) produces machine-activity false', { timeout: TEST_TIMEOUT }, async () => {
    const M = uniq('machine');
    const appSock = await sio(userAuth(A));
    const events = recordEvents(appSock);
    // raw client that never answers the engine's pings
    const raw = await clients.raw(srv.url, machineAuth(A, M));
    assert.match(raw.connectReply, /^40\{"sid":/);
    await until(events, isActivity(M, true));
    const closed = await raw.waitClosed(3000);
    assert.ok(closed, 'the server must close a connection that does not answer pings');
    const t = Date.now();
    const [e] = await until(events, isActivity(M, false), 1, 3000);
    assert.ok(e.t - t < 1000, 'machine-activity false follows the close promptly');
    assertActivity(e, M, false, raw.openedAt, Date.now());
    assert.equal(appSock.connected, true, 'the app socket (socket.io-client answers pings) stays connected');
});

test('machine-activity is delivered over polling too', { timeout: TEST_TIMEOUT }, async () => {
    const M = uniq('machine');
    // timeout undefined: socket.io-client's default connect timeout
    const s = clients.sio(srv.url, userAuth(A), { transports: ['polling'], timeout: undefined });
    await waitConnect(s);
    const events = recordEvents(s);
    const d = await sio(machineAuth(A, M));
    await until(events, isActivity(M, true));
    d.disconnect();
    await until(events, isActivity(M, false));
});
