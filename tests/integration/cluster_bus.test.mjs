// Two instances on one Redis (spec/realtime.md §7, spec/scaleout.md §2): each server runs on its own SQLite data
// directory with the same HANDY_MASTER_SECRET, so a token minted by A is valid on B; fan-out, RPC and focus do not
// need shared rows. Covers: update/ephemeral emitted on A reaching sockets on B (skip-sender and seq order included),
// RPC from an app socket on A to a daemon socket on B (and back), `RPC method not available` with the grace re-poll,
// `RPC target disconnected` when the target socket leaves and when its whole instance is SIGKILLed, push suppression
// by a focused app on the other instance (and the bounded, fail-open question), Redis killed and restarted (health
// degraded, local service on, delivery resumes), and the start-up errors.
import { test, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import {
    TEST_TIMEOUT, HOOK_TIMEOUT, LONG_HEARTBEAT_REALTIME, startServer, startRealtimeServer, authAccount, authReq, req,
    userAuth, machineAuth, sessionAuth, waitEvent, recordEvents, sleep, named, until, uniq, createSession, expectStatus,
} from './harness.mjs';
import { clientsClosedAfterEach } from './clients.mjs';
import { startRedis, freePort } from './redis.mjs';
import { metric } from './cluster.mjs';

const T = { timeout: TEST_TIMEOUT };
const SECRET = 'cluster-bus-test-secret';
const GRACE = 1000;
const CALL_TIMEOUT = 6000; // above the ~3-4 s in which a killed instance is noticed
const RT = {
    ...LONG_HEARTBEAT_REALTIME, connect_timeout_ms: 20000, rpc_grace_ms: GRACE, rpc_timeout_ms: CALL_TIMEOUT,
    cluster_query_timeout_ms: 1000,
};

// ---- a local Expo stand-in (as push.test.mjs) ----------------------------------------------------
const expo = { requests: [], server: null, url: '' };
function startExpo() {
    return new Promise((resolve) => {
        expo.server = http.createServer((rq, rs) => {
            const chunks = [];
            rq.on('data', (c) => chunks.push(c));
            rq.on('end', () => {
                const messages = JSON.parse(Buffer.concat(chunks).toString('utf8'));
                expo.requests.push(messages);
                rs.writeHead(200, { 'content-type': 'application/json' });
                rs.end(JSON.stringify({ data: messages.map((_, i) => ({ status: 'ok', id: `t${i}` })) }));
            });
        });
        expo.server.listen(0, '127.0.0.1', () => {
            expo.url = `http://127.0.0.1:${expo.server.address().port}/--/api/v2/push/send`;
            resolve();
        });
    });
}

let redis;
let A;
let B;

/** One cluster member: REDIS_URL as upstream, a fast reconnect ceiling for the Redis-restart test, metrics on a free
 *  port (bus_peers tells when the instances have heard each other). */
const startNode = () => startRealtimeServer(RT, {
    env: { REDIS_URL: redis.url, HANDY_MASTER_SECRET: SECRET, METRICS_ENABLED: 'true', METRICS_PORT: '0' },
    config: {
        bus: { redis: { reconnect_max_ms: 500 } },
        modules: { push: { expo_url: expo.url, timeout_ms: 3000, retries: 0 } },
    },
});

const health = async (srv) => (await req(srv.url, 'GET', '/health')).json;

/** Waits until each server has heard the other (a cross-instance question can be answered). */
async function waitPeers() {
    await until(async () => (await metric(A, 'bus_peers')) >= 1 && (await metric(B, 'bus_peers')) >= 1, 8000,
        'the instances to see each other');
}

before(async () => {
    await startExpo();
    redis = await startRedis();
    [A, B] = await Promise.all([startNode(), startNode()]);
    await waitPeers();
}, { timeout: HOOK_TIMEOUT });

after(async () => {
    await Promise.all([A?.stop(), B?.stop()]);
    await redis?.stop();
    expo.server?.closeAllConnections?.();
    expo.server?.close();
}, { timeout: HOOK_TIMEOUT });

const clients = clientsClosedAfterEach();
afterEach(() => { expo.requests = []; });

const on = (srv) => ({
    app: (acct, extra = {}) => clients.connect(srv.url, { ...userAuth(acct), ...extra }),
    daemon: (acct, machineId) => clients.connect(srv.url, machineAuth(acct, machineId)),
    cli: (acct, sessionId) => clients.connect(srv.url, sessionAuth(acct, sessionId)),
});

async function register(s, method) {
    const got = waitEvent(s, 'rpc-registered', 3000);
    s.emit('rpc-register', { method });
    assert.deepEqual((await got)[0], { method });
}

async function call(s, payload, timeoutMs = 15000) {
    const t0 = Date.now();
    const res = await s.timeout(timeoutMs).emitWithAck('rpc-call', payload);
    return { res, ms: Date.now() - t0 };
}

// ---------------------------------------------------------------------------------------------------

test('start-up: an unreachable Redis is one clear error naming the URL (password masked), exit 1', T, async () => {
    const port = await freePort();
    await assert.rejects(
        startServer({ env: { REDIS_URL: `redis://:s3cret-pw@127.0.0.1:${port}/2` } }),
        (err) => {
            assert.match(err.message, /code=1 /);
            assert.ok(err.message.includes(`happy-server: bus: cannot connect to Redis at redis://:***@127.0.0.1:${port}/2:`), err.message);
            assert.match(err.message, /refused/i);
            assert.ok(!err.message.includes('s3cret-pw'), 'password leaked');
            return true;
        });
});

test('rediss://: two instances over TLS (a throwaway CA) deliver across; an untrusted certificate or a plain-text URL is refused at start', T, async () => {
    const tls = await startRedis({ tls: true });
    const nodes = [];
    try {
        // Not trusted without the CA: the system store does not know it.
        await assert.rejects(startServer({ env: { REDIS_URL: tls.url } }), (err) => {
            assert.match(err.message, /code=1 /);
            assert.ok(err.message.includes(`happy-server: bus: cannot connect to Redis at rediss://127.0.0.1:${tls.port}/0: ` +
                'TLS handshake failed: certificate verify failed'), err.message);
            return true;
        });
        // redis:// to the TLS port: the server closes the connection on our plain-text handshake.
        await assert.rejects(startServer({ env: { REDIS_URL: tls.url.replace('rediss:', 'redis:') } }),
            (err) => /code=1 /.test(err.message) && err.message.includes('cannot connect to Redis at redis://'));
        const startTls = () => startRealtimeServer(RT, {
            env: { REDIS_URL: tls.url, HANDY_MASTER_SECRET: SECRET, METRICS_ENABLED: 'true', METRICS_PORT: '0' },
            config: { bus: { redis: { ca_file: tls.caFile } } },
        });
        nodes.push(await startTls(), await startTls());
        const [X, Y] = nodes;
        await until(async () => (await metric(X, 'bus_peers')) >= 1 && (await metric(Y, 'bus_peers')) >= 1, 8000,
            'the instances to see each other over TLS');
        assert.equal((await health(X)).status, 'ok');
        const acct = await authAccount(X.url);
        const ev = recordEvents(await on(Y).app(acct));
        const sid = (await createSession(X.url, acct)).id;
        await until(() => named(ev, 'update').some((u) => u.body.t === 'new-session' && u.body.id === sid), 3000,
            'the update from X on Y');
    } finally {
        await Promise.all(nodes.map((n) => n.stop()));
        await tls.stop();
    }
});

test('health: ok on both instances while Redis is up', T, async () => {
    for (const srv of [A, B]) {
        const h = await health(srv);
        assert.equal(h.status, 'ok');
        assert.deepEqual(Object.keys(h), ['status', 'timestamp', 'service', 'components']);
        assert.equal(h.components.bus.status, 'ok');
    }
});

test('ephemerals emitted on A reach user-scoped sockets on B (machine presence, session activity)', T, async () => {
    const acct = await authAccount(A.url);
    const appB = await on(B).app(acct);
    const evB = recordEvents(appB);
    const m = uniq('machine');
    const d = await on(A).daemon(acct, m);
    await until(() => named(evB, 'ephemeral').some((e) => e.type === 'machine-activity' && e.id === m && e.active), 3000,
        'machine-activity active on B');
    const sid = (await createSession(A.url, acct)).id;
    const c = await on(A).cli(acct, sid);
    const t = Date.now();
    c.emit('session-alive', { sid, time: t, thinking: true });
    await until(() => named(evB, 'ephemeral').some((e) => e.type === 'activity' && e.id === sid), 3000, 'activity on B');
    assert.deepEqual(named(evB, 'ephemeral').find((e) => e.type === 'activity'),
        { type: 'activity', id: sid, active: true, activeAt: t, thinking: true });
    d.close();
    await until(() => named(evB, 'ephemeral').some((e) => e.type === 'machine-activity' && e.id === m && !e.active), 3000,
        'machine-activity inactive on B');
});

test('updates emitted on A reach B in seq order, with the same envelope; skip-sender holds across instances', T, async () => {
    const acct = await authAccount(A.url);
    const appA = await on(A).app(acct);
    const appB = await on(B).app(acct);
    const evA = recordEvents(appA);
    const evB = recordEvents(appB);
    for (let i = 0; i < 20; i++) await createSession(A.url, acct);
    await until(() => named(evB, 'update').length === 20 && named(evA, 'update').length === 20, 5000, '20 updates on B');
    const seqs = named(evB, 'update').map((u) => u.seq);
    assert.deepEqual(seqs, [...seqs].sort((x, y) => x - y));
    assert.deepEqual(named(evB, 'update'), named(evA, 'update'));

    // `message` from a session socket on A: to the session's sockets and the apps, except the sender.
    const sid = (await createSession(A.url, acct)).id;
    const sender = await on(A).cli(acct, sid);
    const otherCli = await on(B).cli(acct, sid);
    const evSender = recordEvents(sender);
    const evOther = recordEvents(otherCli);
    evB.length = 0;
    sender.emit('message', { sid, message: 'Y2lwaGVy', localId: uniq('l') });
    await until(() => named(evOther, 'update').length === 1 && named(evB, 'update').length === 1, 3000, 'new-message on B');
    assert.equal(named(evOther, 'update')[0].body.t, 'new-message');
    await sleep(200);
    assert.equal(named(evSender, 'update').length, 0);
});

test('rpc-call from an app on A reaches the daemon on B and returns its result (binary both ways); and back', T, async () => {
    const acct = await authAccount(A.url);
    const m = uniq('M');
    const d = await on(B).daemon(acct, m);
    await register(d, `${m}:spawn-happy-session`);
    d.on('rpc-request', (data, ack) => {
        assert.equal(data.method, `${m}:spawn-happy-session`);
        ack(Buffer.isBuffer(data.params) ? Buffer.concat([data.params, Buffer.from([9])]) : `done:${data.params}`);
    });
    const appA = await on(A).app(acct);
    let { res } = await call(appA, { method: `${m}:spawn-happy-session`, params: 'cGFyYW1z' });
    assert.deepEqual(res, { ok: true, result: 'done:cGFyYW1z' });
    ({ res } = await call(appA, { method: `${m}:spawn-happy-session`, params: Buffer.from([1, 2, 3]) }));
    assert.equal(res.ok, true);
    assert.deepEqual([...res.result], [1, 2, 3, 9]);

    // The other way round: a session on A, the app on B.
    const sid = uniq('S');
    const cliA = await on(A).cli(acct, sid);
    await register(cliA, `${sid}:bash`);
    cliA.on('rpc-request', (data, ack) => ack('ran'));
    const appB = await on(B).app(acct);
    ({ res } = await call(appB, { method: `${sid}:bash`, params: 'x' }));
    assert.deepEqual(res, { ok: true, result: 'ran' });
    // Another account cannot reach it from either instance.
    const other = await authAccount(A.url);
    const otherApp = await on(B).app(other);
    ({ res } = await call(otherApp, { method: `${sid}:bash`, params: 'x' }));
    assert.deepEqual(res, { ok: false, error: 'RPC method not available' });
});

test('RPC method not available after the grace; a registration on the other instance within the grace is found', T, async () => {
    const acct = await authAccount(A.url);
    const appA = await on(A).app(acct);
    let { res, ms } = await call(appA, { method: uniq('nobody:spawn'), params: 'p' });
    assert.deepEqual(res, { ok: false, error: 'RPC method not available' });
    assert.ok(ms >= GRACE - 50 && ms < GRACE + 2500, `took ${ms} ms`);

    const m = uniq('late');
    const pending = call(appA, { method: `${m}:spawn`, params: 'p' });
    await sleep(GRACE / 3);
    const d = await on(B).daemon(acct, m);
    d.on('rpc-request', (data, ack) => ack('late but there'));
    await register(d, `${m}:spawn`);
    ({ res } = await pending);
    assert.deepEqual(res, { ok: true, result: 'late but there' });
});

test('RPC target disconnected when the daemon on B drops mid-call', T, async () => {
    const acct = await authAccount(A.url);
    const m = uniq('M');
    const d = await on(B).daemon(acct, m);
    await register(d, `${m}:stop-daemon`);
    d.on('rpc-request', () => setTimeout(() => d.close(), 200)); // never acks
    const appA = await on(A).app(acct);
    const { res, ms } = await call(appA, { method: `${m}:stop-daemon`, params: 'p' });
    assert.deepEqual(res, { ok: false, error: 'RPC target disconnected' });
    assert.ok(ms < 2000, `took ${ms} ms`);
});

test('operation has timed out when the daemon on B never acks; its late ack is dropped', T, async () => {
    const acct = await authAccount(A.url);
    const m = uniq('M');
    const d = await on(B).daemon(acct, m);
    await register(d, `${m}:slow`);
    d.on('rpc-request', (data, ack) => setTimeout(() => ack('too late'), CALL_TIMEOUT + 500));
    const appA = await on(A).app(acct);
    const { res, ms } = await call(appA, { method: `${m}:slow`, params: 'p' });
    assert.deepEqual(res, { ok: false, error: 'operation has timed out' });
    assert.ok(ms >= CALL_TIMEOUT - 50 && ms < CALL_TIMEOUT + 1500, `took ${ms} ms`);
    await sleep(800); // the late ack reaches A and is discarded; the instance is fine
    d.removeAllListeners('rpc-request');
    d.on('rpc-request', (data, ack) => ack('quick'));
    assert.deepEqual((await call(appA, { method: `${m}:slow`, params: 'p' })).res, { ok: true, result: 'quick' });
});

test('reconnect storm: a daemon on B reconnecting over and over; every call from A answered once, none run twice', T, async (t) => {
    const acct = await authAccount(A.url);
    const m = uniq('storm');
    const method = `${m}:bash`;
    const seen = new Map(); // request param -> times a daemon got it
    let stop = false;
    // The daemon: connect, register, serve for a short while, drop, again (as the CLI's 1 s / 3 s loop, faster).
    const daemonLoop = (async () => {
        while (!stop) {
            const d = await on(B).daemon(acct, m);
            d.on('rpc-request', (data, ack) => {
                seen.set(data.params, (seen.get(data.params) ?? 0) + 1);
                ack(`ran ${data.params}`);
            });
            await register(d, method);
            await sleep(60 + Math.floor(Math.random() * 80));
            d.close();
            await sleep(Math.floor(Math.random() * 40));
        }
    })();
    const appA = await on(A).app(acct);
    const calls = [];
    for (let i = 0; i < 60; i++) {
        const params = `p${i}`;
        calls.push(appA.timeout(15000).emitWithAck('rpc-call', { method, params }).then((res) => ({ params, res })));
        await sleep(25);
    }
    const results = await Promise.all(calls);
    stop = true;
    await daemonLoop;
    let ok = 0;
    for (const { params, res } of results) {
        if (res.ok) {
            ok += 1;
            assert.equal(res.result, `ran ${params}`);
        } else {
            assert.ok(['RPC target disconnected', 'RPC method not available'].includes(res.error), JSON.stringify(res));
        }
    }
    for (const [params, n] of seen) assert.equal(n, 1, `${params} ran ${n} times`);
    assert.ok(ok >= 30, `only ${ok} of 60 calls succeeded`);
    t.diagnostic(`${ok} of 60 calls ran; the rest failed cleanly`);
});

test('has_active_ui across instances: a focused app on B suppresses the push from A; background lets it through', T, async () => {
    const acct = await authAccount(A.url);
    const sid = (await createSession(A.url, acct)).id;
    expectStatus(await authReq(A.url, 'POST', '/v1/push-tokens', acct, { body: { token: 'ExponentPushToken[c1]' } }), 200);
    const ev = { kind: 'done', title: "It's ready!", body: 'cluster', data: { sessionId: sid } };
    const appB = await on(B).app(acct, { appState: 'active' });
    let r = await authReq(A.url, 'POST', `/v1/sessions/${sid}/push-event`, acct, { body: ev });
    assert.deepEqual(expectStatus(r, 200), { success: true, result: 'suppressed', reason: 'active-ui-client' });
    assert.equal(expo.requests.length, 0);
    appB.emit('app-state', { state: 'background' });
    await sleep(100);
    r = await authReq(A.url, 'POST', `/v1/sessions/${sid}/push-event`, acct, { body: ev });
    assert.deepEqual(expectStatus(r, 200), { success: true, result: 'sent', tokens: 1 });
    assert.equal(expo.requests.length, 1);
});

test('has_active_ui fails open: an instance that does not answer does not hold the push back for long', T, async () => {
    const acct = await authAccount(A.url);
    const sid = (await createSession(A.url, acct)).id;
    expectStatus(await authReq(A.url, 'POST', '/v1/push-tokens', acct, { body: { token: 'ExponentPushToken[c2]' } }), 200);
    await on(B).app(acct, { appState: 'active' });
    process.kill(B.proc.pid, 'SIGSTOP');
    try {
        const t0 = Date.now();
        const r = await authReq(A.url, 'POST', `/v1/sessions/${sid}/push-event`, acct,
            { body: { kind: 'done', title: 't', body: 'b' } });
        const ms = Date.now() - t0;
        assert.deepEqual(expectStatus(r, 200), { success: true, result: 'sent', tokens: 1 });
        assert.ok(ms < 2500, `took ${ms} ms`);
    } finally {
        process.kill(B.proc.pid, 'SIGCONT');
    }
    await until(async () => (await health(B)).status === 'ok', 8000, 'B healthy again');
});

test('instance B killed with SIGKILL mid-call: RPC target disconnected within ~5 s', T, async (t) => {
    await waitPeers();
    const acct = await authAccount(A.url);
    const m = uniq('M');
    const d = await on(B).daemon(acct, m);
    await register(d, `${m}:spawn-happy-session`);
    let asked = false;
    d.on('rpc-request', () => { asked = true; }); // never acks
    const appA = await on(A).app(acct);
    const pending = call(appA, { method: `${m}:spawn-happy-session`, params: 'p' });
    await until(() => asked, 3000, 'the request to reach B');
    const killedAt = Date.now();
    await B.stop({ graceMs: 0 }); // SIGKILL
    const { res } = await pending;
    const ms = Date.now() - killedAt;
    assert.deepEqual(res, { ok: false, error: 'RPC target disconnected' });
    assert.ok(ms <= 5000, `took ${ms} ms after the kill`);
    t.diagnostic(`RPC target disconnected ${ms} ms after the SIGKILL`);
    B = await startNode();
    await until(async () => (await health(B)).status === 'ok', 5000, 'the new B');
});

test('Redis killed: both instances degraded but serving their own sockets; restarted: delivery across resumes', T, async () => {
    const acct = await authAccount(A.url);
    const appA = await on(A).app(acct);
    const appB = await on(B).app(acct);
    const evA = recordEvents(appA);
    const evB = recordEvents(appB);
    await redis.kill();
    await until(async () => (await health(A)).status === 'degraded' && (await health(B)).status === 'degraded', 5000,
        'degraded health');
    const h = await health(A);
    assert.deepEqual(Object.keys(h), ['status', 'timestamp', 'service', 'bus', 'components']);
    assert.equal(h.components.bus.status, 'error');
    assert.equal(h.components.bus.error, h.bus);
    assert.match(h.bus, new RegExp(`^redis redis://127\\.0\\.0\\.1:${redis.port}/0: `));
    // Local fan-out goes on.
    await createSession(A.url, acct);
    await until(() => named(evA, 'update').length === 1, 3000, 'local update on A');
    await sleep(300);
    assert.equal(named(evB, 'update').length, 0);
    assert.equal(A.stdoutLines.filter((l) => l.includes('"msg":"bus lost Redis')).length, 1, 'logged once');

    await redis.restart();
    await until(async () => (await health(A)).status === 'ok' && (await health(B)).status === 'ok', 8000, 'healthy again');
    await createSession(A.url, acct);
    await until(() => named(evB, 'update').length === 1, 3000, 'the update on B after the restart');
    assert.equal(named(evA, 'update').length, 2);
});
