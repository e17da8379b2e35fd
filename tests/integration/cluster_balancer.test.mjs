// Two instances as one deployment (spec/scaleout.md): one PostgreSQL database, one Redis, and a real nginx running
// deploy/proxy/nginx.conf in front (cluster.mjs, balancer.mjs). Every socket connects through the balancer, and each
// test puts its sockets on the instances it wants and checks where they are (each instance's Engine.IO session
// counter): new WebSocket connections alternate, long-polling is sticky, writes on either instance fan out to every
// socket on every instance (the writes through one instance in order), RPC and presence cross instances, a focused
// app on one instance holds back a push asked of the other, and an instance SIGKILLed mid-traffic loses nothing that
// was acknowledged while its clients carry on through the balancer on the other one.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
    TEST_TIMEOUT, HOOK_TIMEOUT, LONG_HEARTBEAT_REALTIME, authAccount, authReq, req, userAuth, machineAuth, sessionAuth,
    waitEvent, recordEvents, named, until, uniq, createSession, expectStatus, roundTrip, sleep,
} from './harness.mjs';
import { clientsClosedAfterEach } from './clients.mjs';
import { startCluster } from './cluster.mjs';
import { startReceiver } from './receiver.mjs';

const T = { timeout: TEST_TIMEOUT };
const GRACE = 2000;
const CALL_TIMEOUT = 15000; // far above grace + peer timeout: an RPC that "waits out" a timeout is told apart
const PEER_TIMEOUT = 3000; // bus.redis.peer_timeout_ms (default)
const RT = {
    ...LONG_HEARTBEAT_REALTIME, connect_timeout_ms: 20000, rpc_grace_ms: GRACE, rpc_timeout_ms: CALL_TIMEOUT,
    cluster_query_timeout_ms: 1000,
};
const EXPO_PATH = '/--/api/v2/push/send';

let c;
let expo;

before(async () => {
    expo = await startReceiver();
    expo.on('POST', EXPO_PATH, (r) => ({ json: { data: JSON.parse(r.body).map((_, i) => ({ status: 'ok', id: `t${i}` })) } }));
    c = await startCluster({
        n: 2,
        realtime: RT,
        config: { modules: { push: { expo_url: `${expo.url}${EXPO_PATH}`, timeout_ms: 3000, retries: 0 } } },
    });
}, { timeout: HOOK_TIMEOUT });

after(async () => {
    await c?.stop();
    await expo?.close();
}, { timeout: HOOK_TIMEOUT });

const clients = clientsClosedAfterEach();

/**
 * A socket.io-client socket through the balancer that landed on instance `node`. The balancer's round robin over new
 * WebSocket connections is strict (one nginx worker), so a bare Engine.IO probe (no Socket.IO CONNECT: no presence,
 * nothing emitted) that lands on the other instance means the next connection lands on `node`; the socket's instance
 * is then checked, not assumed.
 */
async function connectOn(node, auth, opts = {}) {
    for (let i = 0; i < 4; i++) {
        const probe = await c.nodeOf(() => clients.open(c.url));
        probe.value.close();
        if (probe.node !== node) break;
    }
    const { value: s, node: got } = await c.nodeOf(() => clients.connect(c.url, auth, opts));
    assert.equal(got, node, 'the socket should have landed on the other instance than the probe');
    return s;
}
const on = (node) => ({
    app: (acct, extra = {}, opts) => connectOn(node, { ...userAuth(acct), ...extra }, opts),
    daemon: (acct, machineId, opts) => connectOn(node, machineAuth(acct, machineId), opts),
    cli: (acct, sessionId, opts) => connectOn(node, sessionAuth(acct, sessionId), opts),
});

async function register(s, method) {
    const got = waitEvent(s, 'rpc-registered', 3000);
    s.emit('rpc-register', { method });
    assert.deepEqual((await got)[0], { method });
}

async function call(s, payload, timeoutMs = CALL_TIMEOUT + 5000) {
    const t0 = Date.now();
    const res = await s.timeout(timeoutMs).emitWithAck('rpc-call', payload);
    return { res, ms: Date.now() - t0 };
}

// ---------------------------------------------------------------------------------------------------

test('the balancer alternates new WebSocket connections between the instances; each one holds its half', T, async () => {
    const acct = await authAccount(c.url);
    const placed = [];
    for (let i = 0; i < 6; i++) placed.push((await c.nodeOf(() => clients.connect(c.url, userAuth(acct)))).node);
    assert.ok(placed.every((n, i) => n !== null && (i === 0 || n !== placed[i - 1])), `landed on ${placed}`);
    await until(async () => (await c.metrics('socketio_connected_sockets')).every((n) => n === 3), 3000,
        'three sockets on each instance');
});

test('long-polling is sticky: handshake, polls and the upgrade reach one instance, and it talks to a WebSocket on the other', T, async () => {
    const acct = await authAccount(c.url);
    const { value: polling, node: p } = await c.nodeOf(() => clients.connect(c.url, userAuth(acct),
        { transports: ['polling'] }));
    assert.equal(polling.io.engine.transport.name, 'polling');
    for (let i = 0; i < 5; i++) await roundTrip(polling); // each a POST and a GET answered by the session's instance
    const ws = await on(1 - p).app(acct);
    const [evPoll, evWs] = [recordEvents(polling), recordEvents(ws)];
    const sid = (await createSession(c.nodes[1 - p].url, acct)).id;
    await until(() => named(evPoll, 'update').some((u) => u.body.id === sid) && named(evWs, 'update').length === 1, 3000,
        'new-session on the polling and the WebSocket client');

    // Polling, then the upgrade (its WebSocket request carries the sid): it must reach the instance holding the session.
    const { value: upgrading, node: u } = await c.nodeOf(() => clients.connect(c.url, userAuth(acct),
        { transports: ['polling', 'websocket'] }));
    if (upgrading.io.engine.transport.name !== 'websocket') await waitEvent(upgrading.io.engine, 'upgrade', 5000);
    assert.equal(upgrading.io.engine.transport.name, 'websocket');
    await roundTrip(upgrading);
    assert.equal(u, p, 'the same client address hashes to the same instance');

    // The session exists on one instance only: a packet for it sent to the other instance directly is refused, which
    // is why the balancer must be sticky for polling (here a CLOSE packet, which the right instance accepts).
    const hs = await req(c.nodes[p].url, 'GET', '/v1/updates/?EIO=4&transport=polling');
    const eioSid = JSON.parse(hs.text.slice(1)).sid;
    const post = (node) => req(c.nodes[node].url, 'POST', `/v1/updates/?EIO=4&transport=polling&sid=${eioSid}`,
        { rawBody: '1', contentType: 'text/plain;charset=UTF-8' });
    const elsewhere = await post(1 - p);
    assert.deepEqual([elsewhere.status, elsewhere.json], [400, { code: 1, message: 'Session ID unknown' }]);
    const there = await post(p);
    assert.deepEqual([there.status, there.text], [200, 'ok']);
});

test('fan-out: writes on either instance (and through the balancer) reach every socket on both instances, once, the writes through one instance in order', T, async () => {
    const acct = await authAccount(c.url);
    const other = await authAccount(c.url);
    const apps = [await on(0).app(acct), await on(1).app(acct)];
    const stranger = await on(0).app(other);
    const ev = apps.map(recordEvents);
    const evStranger = recordEvents(stranger);
    const urls = [c.nodes[0].url, c.nodes[1].url, c.url];
    const made = [];
    const via = new Map(); // session id -> the instance written through (null: the balancer chose)
    for (let i = 0; i < 12; i++) {
        const id = (await createSession(urls[i % 3], acct)).id;
        made.push(id);
        via.set(id, i % 3 < 2 ? i % 3 : null);
    }
    await until(() => ev.every((e) => named(e, 'update').length === 12), 5000, '12 updates on both sockets');
    const bySeq = (ups) => [...ups].sort((x, y) => x.seq - y.seq);
    for (const e of ev) {
        const ups = named(e, 'update');
        // Each update once, with the seqs of the writes' order.
        assert.deepEqual(bySeq(ups).map((x) => x.body.id), made);
        // The writes through one instance arrive in their order. Writes through different instances take different
        // paths to a socket (delivered by its own instance, or through Redis from the other), so how those
        // interleave is the bus's arrival order, as with upstream's Socket.IO adapter.
        for (const node of [0, 1]) {
            const seqs = ups.filter((x) => via.get(x.body.id) === node).map((x) => x.seq);
            assert.deepEqual(seqs, [...seqs].sort((x, y) => x - y), `updates written through instance ${node}`);
        }
    }
    assert.deepEqual(bySeq(named(ev[0], 'update')), bySeq(named(ev[1], 'update')));

    // A session socket on instance 1 sends `message`: the app on instance 0 and another session socket on instance 0
    // get new-message, the sender does not (skip-sender across instances).
    const sid = made[0];
    const sender = await on(1).cli(acct, sid);
    const peer = await on(0).cli(acct, sid);
    const [evSender, evPeer] = [recordEvents(sender), recordEvents(peer)];
    ev[0].length = 0;
    sender.emit('message', { sid, message: 'Y2lwaGVy', localId: uniq('l') });
    await until(() => named(evPeer, 'update').length === 1 && named(ev[0], 'update').length === 1, 3000,
        'new-message on instance 0');
    assert.equal(named(evPeer, 'update')[0].body.t, 'new-message');
    await roundTrip(sender); // the sender's instance has delivered everything it queued for it
    assert.equal(named(evSender, 'update').length, 0);
    await roundTrip(stranger);
    assert.equal(named(evStranger, 'update').length, 0);
});

test('RPC and presence across instances: app on one, daemon and session on the other', T, async () => {
    const acct = await authAccount(c.url);
    const appEv = recordEvents(await on(1).app(acct));
    const app = await on(0).app(acct);
    const m = uniq('M');
    const d = await on(1).daemon(acct, m);
    await until(() => named(appEv, 'ephemeral').some((e) => e.type === 'machine-activity' && e.id === m && e.active), 3000,
        'machine-activity active');
    await register(d, `${m}:bash`);
    d.on('rpc-request', (data, ack) => ack(`ran ${data.params}`));
    assert.deepEqual((await call(app, { method: `${m}:bash`, params: 'x' })).res, { ok: true, result: 'ran x' });

    const sid = (await createSession(c.url, acct)).id;
    const s = await on(1).cli(acct, sid);
    await register(s, `${sid}:permission`);
    s.on('rpc-request', (data, ack) => ack('approved'));
    assert.deepEqual((await call(app, { method: `${sid}:permission`, params: 'p' })).res, { ok: true, result: 'approved' });
    const t = Date.now();
    s.emit('session-alive', { sid, time: t, thinking: true });
    await until(() => named(appEv, 'ephemeral').some((e) => e.type === 'activity' && e.id === sid), 3000, 'activity');
    assert.deepEqual(named(appEv, 'ephemeral').find((e) => e.type === 'activity'),
        { type: 'activity', id: sid, active: true, activeAt: t, thinking: true });

    d.close();
    await until(() => named(appEv, 'ephemeral').some((e) => e.type === 'machine-activity' && e.id === m && !e.active), 3000,
        'machine-activity inactive');
    const gone = await call(app, { method: `${m}:bash`, params: 'x' });
    assert.deepEqual(gone.res, { ok: false, error: 'RPC method not available' });
});

test('push: a focused app on one instance suppresses the push asked of the other; in background it is sent', T, async () => {
    const acct = await authAccount(c.url);
    const sid = (await createSession(c.url, acct)).id;
    expectStatus(await authReq(c.url, 'POST', '/v1/push-tokens', acct, { body: { token: 'ExponentPushToken[lb]' } }), 200);
    const ev = { kind: 'done', title: 'Ready', body: 'balancer', data: { sessionId: sid } };
    const ui = await on(0).app(acct, { appState: 'active' });
    expo.requests.length = 0;
    let r = await authReq(c.nodes[1].url, 'POST', `/v1/sessions/${sid}/push-event`, acct, { body: ev });
    assert.deepEqual(expectStatus(r, 200), { success: true, result: 'suppressed', reason: 'active-ui-client' });
    ui.emit('app-state', { state: 'background' });
    await roundTrip(ui); // applied on instance 0 before the question comes
    r = await authReq(c.nodes[1].url, 'POST', `/v1/sessions/${sid}/push-event`, acct, { body: ev });
    assert.deepEqual(expectStatus(r, 200), { success: true, result: 'sent', tokens: 1 });
    assert.equal(expo.requests.length, 1);
});

test('an instance SIGKILLed mid-traffic: its clients carry on through the balancer, nothing acknowledged is lost, RPCs to it fail fast', { timeout: 90_000 }, async (t) => {
    const acct = await authAccount(c.url);
    const sid = (await createSession(c.url, acct)).id;
    const path = `/v3/sessions/${sid}/messages`;
    const reconnecting = { reconnection: true, reconnectionDelay: 100, reconnectionDelayMax: 500, randomizationFactor: 0 };

    // Sockets on both instances, reconnecting as the app and the CLI do. The daemon on instance 1 registers its method
    // again on each connect, as the CLI does.
    const app0 = await on(0).app(acct, {}, reconnecting);
    const app1 = await on(1).app(acct, {}, reconnecting);
    const [ev0, ev1] = [recordEvents(app0), recordEvents(app1)];
    const m = uniq('M');
    const daemon = await on(1).daemon(acct, m, reconnecting);
    const method = `${m}:bash`;
    let stall = false; // while true the daemon never answers
    daemon.on('rpc-request', (data, ack) => { if (!stall) ack(`ran ${data.params}`); });
    daemon.on('connect', () => daemon.emit('rpc-register', { method }));
    await register(daemon, method);
    const onceMachine = uniq('once');
    const once = await on(1).daemon(acct, onceMachine); // no reconnection: its method goes away with instance 1
    const onceMethod = `${onceMachine}:bash`;
    await register(once, onceMethod);
    assert.deepEqual((await call(app0, { method, params: 'before' })).res, { ok: true, result: 'ran before' });

    // Writers: POST /v3 through the balancer, each message retried with its localId until acknowledged (200), as a
    // client does after a 502 or a dropped connection.
    const acked = new Map(); // localId -> time of the 200
    let stop = false;
    let failures = 0;
    const writer = async (w) => {
        for (let i = 0; !stop; i++) {
            const localId = `w${w}-${i}`;
            for (;;) {
                let r = null;
                try {
                    r = await authReq(c.url, 'POST', path, acct, { body: { messages: [{ localId, content: `c-${localId}` }] } });
                } catch { /* connection dropped */ }
                if (r?.status === 200) {
                    assert.equal(r.json.messages[0].localId, localId);
                    acked.set(localId, Date.now());
                    break;
                }
                failures++;
                await sleep(20); // the client's back-off before its retry
            }
        }
    };
    const writers = [0, 1, 2, 3].map(writer);
    await until(() => acked.size >= 40, 15000, '40 acknowledged messages');

    // A call in flight to the daemon on instance 1 when it dies.
    stall = true;
    let asked = false;
    daemon.once('rpc-request', () => { asked = true; });
    const inFlight = call(app0, { method, params: 'in-flight' });
    await until(() => asked, 3000, 'the call to reach the daemon');
    const ackedBefore = acked.size;
    const killedAt = Date.now();
    await c.kill(1);
    stall = false;
    // Calls right after the kill, to the method of a daemon that does not come back.
    const toGone = call(app0, { method: onceMethod, params: 'x' });

    let { res, ms } = await inFlight;
    const inFlightMs = Date.now() - killedAt;
    assert.deepEqual(res, { ok: false, error: 'RPC target disconnected' });
    assert.ok(inFlightMs <= PEER_TIMEOUT + 2000, `in-flight call failed ${inFlightMs} ms after the kill`);
    ({ res, ms } = await toGone);
    assert.ok(['RPC target disconnected', 'RPC method not available'].includes(res.error), JSON.stringify(res));
    const goneError = res.error;
    assert.ok(ms <= PEER_TIMEOUT + GRACE + 2000, `the call to the vanished daemon took ${ms} ms`);

    // The clients of instance 1 reconnect through the balancer, which now sends everything to instance 0.
    await until(() => app1.connected && daemon.connected && app1.io.engine.id !== undefined, 15000, 'reconnects');
    await until(async () => (await c.metric(0, 'socketio_connected_sockets')) === 3, 5000,
        'app0, app1 and the daemon all on instance 0');
    await until(async () => (await call(app0, { method, params: 'after' })).res.ok, 10000, 'the daemon reachable again');
    assert.deepEqual((await call(app1, { method, params: 'again' })).res, { ok: true, result: 'ran again' });

    // Writing goes on; the apps see messages written after the reconnect.
    const target = acked.size + 40;
    await until(() => acked.size >= target, 20000, '40 more acknowledged messages');
    stop = true;
    await Promise.all(writers);
    const late = [...acked.entries()].filter(([, at]) => at > Date.now() - 2000).map(([id]) => id);
    for (const e of [ev0, ev1]) {
        await until(() => named(e, 'update').some((u) => u.body.t === 'new-message' && late.includes(u.body.message.localId)),
            5000, 'a new-message written after the kill');
    }

    // Every acknowledged message is stored, once; seqs strictly increase.
    const stored = [];
    for (let after = 0; ;) {
        const page = expectStatus(await authReq(c.url, 'GET', `${path}?after_seq=${after}&limit=500`, acct), 200);
        stored.push(...page.messages);
        if (!page.hasMore) break;
        after = page.messages.at(-1).seq;
    }
    const ids = stored.map((x) => x.localId);
    assert.equal(new Set(ids).size, ids.length, 'a localId stored twice');
    const missing = [...acked.keys()].filter((id) => !ids.includes(id));
    assert.deepEqual(missing, [], 'acknowledged messages missing');
    assert.ok(stored.every((x, i) => i === 0 || x.seq > stored[i - 1].seq));
    t.diagnostic(`${acked.size} messages acknowledged (${ackedBefore} before the kill), ${failures} attempts failed and ` +
        `were retried; in-flight RPC failed ${inFlightMs} ms after the kill, the call to the vanished daemon got ` +
        `"${goneError}" after ${ms} ms`);
});
