// Machines: REST create-or-load / list / get / delete (http-api.md §3.7, §5 Machine, §6.6–8, §6.17–18) and the
// daemon's socket events machine-alive, machine-update-metadata, machine-update-state (realtime.md §2.8–2.10,
// §3.1–3.3, §4, §5.6): exact bodies and key orders, update/ephemeral fan-out, seq consumption, ack dialects.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
    TEST_TIMEOUT, HOOK_TIMEOUT, LONG_HEARTBEAT_REALTIME, startRealtimeServer, authAccount, req, authReq, bearer, bodies,
    assertJson, assertKeyOrder, machineAuth, recordEvents, sleep, b64, randomBytes, startServer, makeTempDir, removeDir,
    writeConfigFile, named, until, assertEnvelope, uniq,
} from './harness.mjs';
import { clientsClosedAfterEach } from './clients.mjs';

const T = { timeout: TEST_TIMEOUT };
const FAST_FLUSH = { jobs: { 'machine-activity-flush': { schedule: '* * * * * *' } } };

let srv;

before(async () => {
    // Long heartbeats: these tests hold sockets open while doing REST calls. Heartbeat writes are batched
    // (realtime.md §5.2, upstream every 5 s): flushed every second here.
    srv = await startRealtimeServer(LONG_HEARTBEAT_REALTIME, { config: FAST_FLUSH });
}, { timeout: HOOK_TIMEOUT });
after(async () => { if (srv) await srv.stop(); }, { timeout: HOOK_TIMEOUT });

const clients = clientsClosedAfterEach();


const { app, daemon, cli } = clients.at(() => srv.url);

const post = (acct, body) => authReq(srv.url, 'POST', '/v1/machines', acct, { body });
const list = (acct) => authReq(srv.url, 'GET', '/v1/machines', acct);
const get = (acct, id) => authReq(srv.url, 'GET', `/v1/machines/${encodeURIComponent(id)}`, acct);
const del = (acct, id) => authReq(srv.url, 'DELETE', `/v1/machines/${encodeURIComponent(id)}`, acct);

const notFound = { error: 'Machine not found' };

/** The REST machine object as upstream builds it (POST omits seq). */
function machineShape(m, { withSeq }) {
    const o = {
        id: m.id, metadata: m.metadata, metadataVersion: m.metadataVersion, daemonState: m.daemonState,
        daemonStateVersion: m.daemonStateVersion, dataEncryptionKey: m.dataEncryptionKey,
    };
    if (withSeq) o.seq = 0;
    return { ...o, active: m.active, activeAt: m.activeAt, createdAt: m.createdAt, updatedAt: m.updatedAt };
}

// --- REST ---------------------------------------------------------------------------------------------------

test('POST /v1/machines creates: exact body without seq, versions 1/0, inactive, key re-encoded', T, async () => {
    const A = await authAccount(srv.url);
    const id = uniq();
    const key = randomBytes(32);
    const before = Date.now();
    // URL-safe alphabet without padding is accepted by Node's lenient decoder; the answer is standard base64.
    const r = await post(A, { id, metadata: 'meta-b64', dataEncryptionKey: key.toString('base64url'), extra: 1 });
    const m = r.json.machine;
    assertJson(r, 200, {
        machine: {
            id, metadata: 'meta-b64', metadataVersion: 1, daemonState: null, daemonStateVersion: 0,
            dataEncryptionKey: b64(key), active: false, activeAt: m.activeAt, createdAt: m.createdAt, updatedAt: m.updatedAt,
        },
    });
    assert.ok(m.createdAt >= before && m.createdAt <= Date.now() + 5);
    assert.equal(m.activeAt, m.createdAt);
    assert.equal(m.updatedAt, m.createdAt);

    const withState = await post(A, { id: uniq(), metadata: 'x', daemonState: 'ds' });
    assert.equal(withState.json.machine.daemonState, 'ds');
    assert.equal(withState.json.machine.daemonStateVersion, 1);
});

test('POST /v1/machines: empty daemonState and key are null; a key that decodes to nothing is ""', T, async () => {
    const A = await authAccount(srv.url);
    const a = await post(A, { id: uniq(), metadata: 'x', daemonState: '', dataEncryptionKey: '' });
    assert.equal(a.status, 200);
    assert.equal(a.json.machine.daemonState, null);
    assert.equal(a.json.machine.daemonStateVersion, 0);
    assert.equal(a.json.machine.dataEncryptionKey, null);
    const b = await post(A, { id: uniq(), metadata: 'x', dataEncryptionKey: null });
    assert.equal(b.json.machine.dataEncryptionKey, null);
    // Buffer.from('!!!', 'base64') is an empty buffer: stored (not NULL) and returned as "".
    const c = await post(A, { id: uniq(), metadata: 'x', dataEncryptionKey: '!!!' });
    assert.equal(c.json.machine.dataEncryptionKey, '');
    const g = await get(A, c.json.machine.id);
    assert.equal(g.json.machine.dataEncryptionKey, '');
    // Whitespace and garbage are skipped, decoding stops at the first '='.
    const d = await post(A, { id: uniq(), metadata: 'x', dataEncryptionKey: ' YW Jj=ZGVm' });
    assert.equal(d.json.machine.dataEncryptionKey, b64(Buffer.from('abc')));
});

test('POST /v1/machines emits new-machine (apps) then update-machine {metadata v1} (apps + that daemon), two seqs', T, async () => {
    const A = await authAccount(srv.url);
    const id = uniq();
    const ui = await app(A);
    const d = await daemon(A, id);
    const other = await daemon(A, uniq());
    const s = await cli(A, 'some-session');
    const uiEv = recordEvents(ui);
    const dEv = recordEvents(d);
    const otherEv = recordEvents(other);
    const sEv = recordEvents(s);
    const key = randomBytes(16);
    const r = await post(A, { id, metadata: 'meta', daemonState: 'ds', dataEncryptionKey: b64(key) });
    const m = r.json.machine;
    await until(() => named(uiEv, 'update').length === 2 && named(dEv, 'update').length === 1, 3000, 'updates');
    const [first, second] = named(uiEv, 'update');
    assertEnvelope(first, 1, {
        t: 'new-machine', machineId: id, seq: 0, metadata: 'meta', metadataVersion: 1, daemonState: 'ds',
        daemonStateVersion: 1, dataEncryptionKey: b64(key), active: false, activeAt: m.activeAt,
        createdAt: m.createdAt, updatedAt: m.updatedAt,
    });
    const upd = { t: 'update-machine', machineId: id, metadata: { version: 1, value: 'meta' } };
    assertEnvelope(second, 2, upd);
    const [mine] = named(dEv, 'update');
    assertEnvelope(mine, 2, upd);
    assert.equal(mine.id, second.id, 'one update, fanned out');
    await sleep(150);
    assert.deepStrictEqual(named(otherEv, 'update'), [], 'another machine of the account gets nothing');
    assert.deepStrictEqual(sEv, [], 'session sockets get nothing');
});

test('POST /v1/machines with an existing id returns it unchanged and emits nothing', T, async () => {
    const A = await authAccount(srv.url);
    const id = uniq();
    const first = await post(A, { id, metadata: 'meta', daemonState: 'ds' });
    const ui = await app(A);
    const uiEv = recordEvents(ui);
    const again = await post(A, { id, metadata: 'other', daemonState: 'other', dataEncryptionKey: b64(randomBytes(8)) });
    assertJson(again, 200, first.json);
    await sleep(200);
    assert.deepStrictEqual(named(uiEv, 'update'), []);
    // The next update gets seq 3: creation consumed two.
    const del1 = await del(A, id);
    assertJson(del1, 200, { success: true });
    const [env] = await until(() => named(uiEv, 'update').length && named(uiEv, 'update'), 3000, 'delete-machine');
    assertEnvelope(env, 3, { t: 'delete-machine', machineId: id });
});

test("POST /v1/machines with another account's id is a 500 and leaves the machine alone", T, async () => {
    const A = await authAccount(srv.url);
    const B = await authAccount(srv.url);
    const id = uniq();
    const created = await post(A, { id, metadata: 'mine' });
    assertJson(await post(B, { id, metadata: 'theirs' }), 500, bodies.internal);
    const g = await get(A, id);
    assert.equal(g.json.machine.metadata, 'mine');
    assert.equal(g.json.machine.createdAt, created.json.machine.createdAt);
    assertJson(await get(B, id), 404, notFound);
});

test('POST /v1/machines validation (before auth) and auth errors', T, async () => {
    const A = await authAccount(srv.url);
    const v = (body, headers = bearer(A.token)) => req(srv.url, 'POST', '/v1/machines', { headers, body });
    assertJson(await v({}), 400, bodies.validation(
        'body/id Invalid input: expected string, received undefined, body/metadata Invalid input: expected string, received undefined'));
    assertJson(await v({ id: 1, metadata: 'x' }), 400, bodies.validation('body/id Invalid input: expected string, received number'));
    assertJson(await v({ id: 'a', metadata: 'x', daemonState: null }), 400,
        bodies.validation('body/daemonState Invalid input: expected string, received null'));
    assertJson(await v({ id: 'a', metadata: 'x', dataEncryptionKey: 5 }), 400,
        bodies.validation('body/dataEncryptionKey Invalid input: expected string, received number'));
    assertJson(await v([]), 400, bodies.validation('body/ Invalid input: expected object, received array'));
    // Validation runs before authentication.
    assertJson(await v({}, {}), 400, bodies.validation(
        'body/id Invalid input: expected string, received undefined, body/metadata Invalid input: expected string, received undefined'));
    assertJson(await v({ id: uniq(), metadata: 'x' }, {}), 401, bodies.missingAuth);
    assertJson(await v({ id: uniq(), metadata: 'x' }, { authorization: 'Bearer nope' }), 401, bodies.invalidToken);
    assertJson(await req(srv.url, 'GET', '/v1/machines'), 401, bodies.missingAuth);
    assertJson(await req(srv.url, 'GET', '/v1/machines/x'), 401, bodies.missingAuth);
    assertJson(await req(srv.url, 'DELETE', '/v1/machines/x'), 401, bodies.missingAuth);
});

test('GET /v1/machines is a bare array with seq, most recently active first, per account', T, async () => {
    const A = await authAccount(srv.url);
    const B = await authAccount(srv.url);
    assertJson(await list(A), 200, []);
    const ids = [uniq('a'), uniq('b'), uniq('c')];
    const made = [];
    for (const id of ids) {
        made.push((await post(A, { id, metadata: `meta-${id}` })).json.machine);
        await sleep(5);
    }
    await post(B, { id: uniq('b'), metadata: 'other account' });
    const r = await list(A);
    assertJson(r, 200, [...made].reverse().map((m) => machineShape(m, { withSeq: true })));

    // A daemon-state update moves the first machine to the top (lastActiveAt := now, active := true).
    const d = await daemon(A, ids[0]);
    const ack = await d.timeout(3000).emitWithAck('machine-update-state', { machineId: ids[0], daemonState: 'up', expectedVersion: 0 });
    assert.deepStrictEqual(ack, { result: 'success', version: 1, daemonState: 'up' });
    const after = (await list(A)).json;
    assert.deepStrictEqual(after.map((m) => m.id), [ids[0], ids[2], ids[1]]);
    assert.equal(after[0].active, true);
    assert.ok(after[0].activeAt > made[0].activeAt);
    assert.equal(after[0].updatedAt, after[0].activeAt);
});

test('GET /v1/machines/:id: wrapped GET shape; unknown and foreign ids are 404', T, async () => {
    const A = await authAccount(srv.url);
    const B = await authAccount(srv.url);
    const id = uniq();
    const key = randomBytes(32);
    const m = (await post(A, { id, metadata: 'meta', daemonState: 'ds', dataEncryptionKey: b64(key) })).json.machine;
    assertJson(await get(A, id), 200, { machine: machineShape(m, { withSeq: true }) });
    assertJson(await get(A, 'no-such-machine'), 404, notFound);
    assertJson(await get(B, id), 404, notFound);
    // An empty trailing segment is not the list route.
    assertJson(await authReq(srv.url, 'GET', '/v1/machines/', A), 404, notFound);
});

test('DELETE /v1/machines/:id: 404 for unknown/foreign, success emits delete-machine to apps only', T, async () => {
    const A = await authAccount(srv.url);
    const B = await authAccount(srv.url);
    const id = uniq();
    await post(A, { id, metadata: 'meta' });
    const ui = await app(A);
    const d = await daemon(A, id);
    const uiB = await app(B);
    const uiEv = recordEvents(ui);
    const dEv = recordEvents(d);
    const bEv = recordEvents(uiB);
    assertJson(await del(B, id), 404, notFound);
    assertJson(await del(A, 'no-such-machine'), 404, notFound);
    assertJson(await del(A, id), 200, { success: true });
    const [env] = await until(() => named(uiEv, 'update').length && named(uiEv, 'update'), 3000, 'delete-machine');
    assertEnvelope(env, 3, { t: 'delete-machine', machineId: id });
    assertJson(await get(A, id), 404, notFound);
    assertJson(await del(A, id), 404, notFound);
    await sleep(150);
    assert.deepStrictEqual(named(dEv, 'update'), [], 'delete-machine is user-scoped only');
    assert.deepStrictEqual(named(bEv, 'update'), []);
    // The id is free again once deleted, for any account.
    assert.equal((await post(B, { id, metadata: 'reborn' })).status, 200);
});

// --- socket events ------------------------------------------------------------------------------------------

for (const [event, field, versionField] of [
    ['machine-update-metadata', 'metadata', 'metadataVersion'],
    ['machine-update-state', 'daemonState', 'daemonStateVersion'],
]) {
    test(`${event}: ack dialect, CAS, update-machine before the ack`, T, async () => {
        const A = await authAccount(srv.url);
        const B = await authAccount(srv.url);
        const id = uniq();
        const foreign = uniq();
        await post(A, { id, metadata: 'meta' });
        await post(B, { id: foreign, metadata: 'theirs' });
        const d = await daemon(A, id);
        const ui = await app(A);
        const s = await cli(A, 'sess');
        const dEv = recordEvents(d);
        const uiEv = recordEvents(ui);
        const sEv = recordEvents(s);
        const call = (payload) => d.timeout(3000).emitWithAck(event, payload);

        const invalid = { result: 'error', message: 'Invalid parameters' };
        assert.deepStrictEqual(await call({}), invalid);
        assert.deepStrictEqual(await call({ machineId: '', [field]: 'x', expectedVersion: 0 }), invalid);
        assert.deepStrictEqual(await call({ machineId: id, [field]: null, expectedVersion: 0 }), invalid);
        assert.deepStrictEqual(await call({ machineId: id, [field]: 'x', expectedVersion: '1' }), invalid);
        assert.deepStrictEqual(await call('just a string'), invalid);
        assert.deepStrictEqual(await call(null), { result: 'error', message: 'Internal error' });
        assert.deepStrictEqual(await call({ machineId: 7, [field]: 'x', expectedVersion: 0 }), { result: 'error', message: 'Internal error' });
        const missing = { result: 'error', message: 'Machine not found' };
        assert.deepStrictEqual(await call({ machineId: 'nope', [field]: 'x', expectedVersion: 0 }), missing);
        assert.deepStrictEqual(await call({ machineId: foreign, [field]: 'x', expectedVersion: 0 }), missing);

        const start = field === 'metadata' ? 1 : 0;
        const stored = field === 'metadata' ? 'meta' : null;
        const mismatch = await call({ machineId: id, [field]: 'x', expectedVersion: start + 5 });
        assert.deepStrictEqual(mismatch, { result: 'version-mismatch', version: start, [field]: stored });
        assertKeyOrder(mismatch, { result: 0, version: 0, [field]: 0 });
        assert.deepStrictEqual(await call({ machineId: id, [field]: 'x', expectedVersion: start + 0.5 }),
            { result: 'version-mismatch', version: start, [field]: stored });
        assert.deepStrictEqual(named(dEv, 'update'), [], 'failures emit nothing');

        // Success: the daemon sees its own update-machine before the ack.
        const order = [];
        d.on('update', () => order.push('update'));
        const ok = await call({ machineId: id, [field]: 'new-value', expectedVersion: start });
        order.push('ack');
        assert.deepStrictEqual(ok, { result: 'success', version: start + 1, [field]: 'new-value' });
        assertKeyOrder(ok, { result: 0, version: 0, [field]: 0 });
        assert.deepStrictEqual(order, ['update', 'ack']);
        const body = { t: 'update-machine', machineId: id, [field]: { value: 'new-value', version: start + 1 } };
        const [env] = named(dEv, 'update');
        assertEnvelope(env, 3, body); // creation took seqs 1 and 2
        const [uiEnv] = await until(() => named(uiEv, 'update').length && named(uiEv, 'update'), 3000, 'app update');
        assertEnvelope(uiEnv, 3, body);

        const stale = await call({ machineId: id, [field]: 'again', expectedVersion: start });
        assert.deepStrictEqual(stale, { result: 'version-mismatch', version: start + 1, [field]: 'new-value' });

        // Any socket of the account may update any of its machines (scope is not enforced).
        const viaApp = await ui.timeout(3000).emitWithAck(event, { machineId: id, [field]: 'from-app', expectedVersion: start + 1 });
        assert.deepStrictEqual(viaApp, { result: 'success', version: start + 2, [field]: 'from-app' });

        const g = (await get(A, id)).json.machine;
        assert.equal(g[field], 'from-app');
        assert.equal(g[versionField], start + 2);
        assert.equal(g.active, field === 'daemonState', 'only daemon-state updates mark the machine active');
        await sleep(100);
        assert.deepStrictEqual(named(sEv, 'update'), [], 'session sockets get no update-machine');
    });
}

test('machine-update-* without a data argument or with extra arguments send no ack', T, async () => {
    const A = await authAccount(srv.url);
    const id = uniq();
    await post(A, { id, metadata: 'meta' });
    const d = await daemon(A, id);
    await assert.rejects(d.timeout(400).emitWithAck('machine-update-metadata'), /timed out/);
    // A second data argument takes the callback's place upstream: the update happens, no ack is sent.
    await assert.rejects(d.timeout(400).emitWithAck('machine-update-metadata',
        { machineId: id, metadata: 'extra-arg', expectedVersion: 1 }, 'x'), /timed out/);
    assert.equal((await get(A, id)).json.machine.metadata, 'extra-arg');
});

test('machine-alive: machine-activity to apps, DB active/lastActiveAt, clamping, rejects', T, async () => {
    const A = await authAccount(srv.url);
    const B = await authAccount(srv.url);
    const id = uniq();
    const foreign = uniq();
    const created = (await post(A, { id, metadata: 'meta' })).json.machine;
    await post(B, { id: foreign, metadata: 'theirs' });
    const ui = await app(A);
    const d = await daemon(A, id);
    const uiB = await app(B);
    await sleep(100);
    const uiEv = recordEvents(ui);
    const dEv = recordEvents(d);
    const bEv = recordEvents(uiB);
    const activity = () => named(uiEv, 'ephemeral').filter((e) => e.type === 'machine-activity');

    // Ignored: bad payloads, unknown or foreign machines, times older than 10 minutes.
    d.emit('machine-alive');
    d.emit('machine-alive', null);
    d.emit('machine-alive', { machineId: id });
    d.emit('machine-alive', { machineId: id, time: String(Date.now()) });
    d.emit('machine-alive', { machineId: '', time: Date.now() });
    d.emit('machine-alive', { machineId: 5, time: Date.now() });
    d.emit('machine-alive', { machineId: 'nope', time: Date.now() });
    d.emit('machine-alive', { machineId: foreign, time: Date.now() });
    d.emit('machine-alive', { machineId: id, time: Date.now() - 11 * 60 * 1000 });
    await sleep(300);
    assert.deepStrictEqual(activity(), []);
    assert.deepStrictEqual(named(bEv, 'ephemeral'), []);

    // Accepted: the ephemeral echoes the client time; the first heartbeat of an inactive machine is written.
    const t = created.createdAt + 1; // within 30 s of lastActiveAt: written anyway because the machine is inactive
    const acked = [];
    d.emit('machine-alive', { machineId: id, time: t }, () => acked.push(1));
    const [ev] = await until(() => activity().length && activity(), 3000, 'machine-activity');
    assert.deepStrictEqual(ev, { type: 'machine-activity', id, active: true, activeAt: t });
    assertKeyOrder(ev, { type: 0, id: 0, active: 0, activeAt: 0 });
    // The write is batched: visible after the next flush.
    const g = await until(async () => { const m = (await get(A, id)).json.machine; return m.active && m; },
        3000, 'batched heartbeat write');
    assert.equal(g.active, true);
    assert.equal(g.activeAt, t);

    // Future times are clamped to now.
    const before = Date.now();
    d.emit('machine-alive', { machineId: id, time: Date.now() + 3_600_000 });
    await until(() => activity().length === 2, 3000, 'second machine-activity');
    const clamped = activity()[1].activeAt;
    assert.ok(clamped >= before && clamped <= Date.now(), `clamped ${clamped}`);

    // Any socket of the account may send it; a time older than 30 s past the last write is written again.
    const later = Date.now() - 5 * 60 * 1000;
    ui.emit('machine-alive', { machineId: id, time: later });
    await until(() => activity().length === 3, 3000, 'third machine-activity');
    await until(async () => (await get(A, id)).json.machine.activeAt === later, 3000, 'second batched write');

    await sleep(100);
    assert.deepStrictEqual(acked, [], 'machine-alive is never acked');
    assert.deepStrictEqual(named(dEv, 'ephemeral'), [], 'machine-activity goes to user-scoped sockets only');
    assert.deepStrictEqual(named(uiEv, 'update'), [], 'heartbeats emit no update');
});

test('inactivity sweep (runs at start-up): a machine idle for 10 minutes becomes inactive', { timeout: 60_000 }, async () => {
    // The sweep runs at start-up and then every minute; a restart on the same DATA_DIR triggers one without
    // waiting a minute. The heartbeat puts lastActiveAt just inside the 10-minute window.
    const dataDir = makeTempDir();
    const env = { HANDY_MASTER_SECRET: 'machines-sweep-secret', HAPPY_CONFIG: writeConfigFile(FAST_FLUSH) };
    let s1;
    let s2;
    try {
        s1 = await startServer({ dataDir, env });
        const A = await authAccount(s1.url);
        const idle = uniq('idle');
        const fresh = uniq('fresh');
        for (const id of [idle, fresh]) {
            const r = await authReq(s1.url, 'POST', '/v1/machines', A, { body: { id, metadata: 'm' } });
            assert.equal(r.status, 200);
        }
        const d = await clients.connect(s1.url, machineAuth(A, idle));
        const t = Date.now() - 10 * 60 * 1000 + 1500;
        d.emit('machine-alive', { machineId: idle, time: t });
        d.emit('machine-alive', { machineId: fresh, time: Date.now() });
        const getOne = (url, id) => authReq(url, 'GET', `/v1/machines/${id}`, A);
        const deadline = Date.now() + 3000;
        while (!(await getOne(s1.url, idle)).json.machine.active) {
            assert.ok(Date.now() < deadline, 'heartbeat written');
            await sleep(20);
        }
        clients.closeAll();
        await s1.stop();
        await sleep(Math.max(0, t + 10 * 60 * 1000 - Date.now() + 100)); // now the machine is 10 minutes idle
        s2 = await startServer({ dataDir, env });
        const end = Date.now() + 5000;
        let m;
        while ((m = (await getOne(s2.url, idle)).json.machine).active) {
            assert.ok(Date.now() < end, 'swept after restart');
            await sleep(50);
        }
        assert.equal(m.activeAt, t, 'lastActiveAt is kept');
        assert.ok(m.updatedAt > t);
        assert.equal((await getOne(s2.url, fresh)).json.machine.active, true, 'recently active machines stay active');
    } finally {
        await s1?.stop();
        await s2?.stop();
        removeDir(dataDir);
    }
});
