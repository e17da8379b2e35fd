// Access keys: GET/POST/PUT /v1/access-keys/:sessionId/:machineId (http-api.md §3.9, §5 AccessKey) and the socket
// event access-key-get (realtime.md §2.15): exact bodies, ownership rules, versioning, and removal of the keys
// when their session or machine is deleted (§3.3 DELETE session, §3.7 DELETE machine).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
    TEST_TIMEOUT, HOOK_TIMEOUT, LONG_HEARTBEAT_REALTIME, startRealtimeServer, authAccount, req, authReq, bearer, bodies,
    assertJson, assertKeyOrder, machineAuth, sleep, startServer, writeConfigFile, uniq, createSession,
} from './harness.mjs';
import { clientsClosedAfterEach } from './clients.mjs';

const T = { timeout: TEST_TIMEOUT };

let srv;

before(async () => {
    srv = await startRealtimeServer(LONG_HEARTBEAT_REALTIME);
}, { timeout: HOOK_TIMEOUT });
after(async () => { if (srv) await srv.stop(); }, { timeout: HOOK_TIMEOUT });

const clients = clientsClosedAfterEach();


const path = (sid, mid) => `/v1/access-keys/${encodeURIComponent(sid)}/${encodeURIComponent(mid)}`;
const getKey = (acct, sid, mid) => authReq(srv.url, 'GET', path(sid, mid), acct);
const postKey = (acct, sid, mid, body) => authReq(srv.url, 'POST', path(sid, mid), acct, { body });
const putKey = (acct, sid, mid, body) => authReq(srv.url, 'PUT', path(sid, mid), acct, { body });

const scopeNotFound = { error: 'Session or machine not found' };

/** A session and a machine of the account. */
async function scope(acct) {
    const { id: sid } = await createSession(srv.url, acct);
    const mid = uniq('machine');
    const m = await authReq(srv.url, 'POST', '/v1/machines', acct, { body: { id: mid, metadata: 'm' } });
    assert.equal(m.status, 200);
    return { sid, mid };
}

function keyShape(k, data, dataVersion) {
    return { data, dataVersion, createdAt: k.createdAt, updatedAt: k.updatedAt };
}

test('POST then GET: version 1, exact bodies; a second POST is 409', T, async () => {
    const A = await authAccount(srv.url);
    const { sid, mid } = await scope(A);
    assertJson(await getKey(A, sid, mid), 200, { accessKey: null });
    const before = Date.now();
    const r = await postKey(A, sid, mid, { data: 'secret-b64', extra: 1 });
    const k = r.json.accessKey;
    assertJson(r, 200, { success: true, accessKey: keyShape(k, 'secret-b64', 1) });
    assert.ok(k.createdAt >= before && k.createdAt <= Date.now() + 5);
    assert.equal(k.updatedAt, k.createdAt);
    assertJson(await getKey(A, sid, mid), 200, { accessKey: keyShape(k, 'secret-b64', 1) });
    assertJson(await postKey(A, sid, mid, { data: 'other' }), 409, { error: 'Access key already exists' });
    assertJson(await getKey(A, sid, mid), 200, { accessKey: keyShape(k, 'secret-b64', 1) });
});

test('GET/POST need both the session and the machine of the caller', T, async () => {
    const A = await authAccount(srv.url);
    const B = await authAccount(srv.url);
    const a = await scope(A);
    const b = await scope(B);
    for (const [sid, mid] of [[a.sid, b.mid], [b.sid, a.mid], [b.sid, b.mid], ['nope', a.mid], [a.sid, 'nope']]) {
        assertJson(await getKey(A, sid, mid), 404, scopeNotFound, `${sid}/${mid}`);
        assertJson(await postKey(A, sid, mid, { data: 'd' }), 404, scopeNotFound, `${sid}/${mid}`);
    }
    await postKey(A, a.sid, a.mid, { data: 'mine' });
    assertJson(await getKey(B, a.sid, a.mid), 404, scopeNotFound);
});

test('PUT: versioned update, mismatch shape, 404 without a key row', T, async () => {
    const A = await authAccount(srv.url);
    const B = await authAccount(srv.url);
    const { sid, mid } = await scope(A);
    assertJson(await putKey(A, sid, mid, { data: 'x', expectedVersion: 0 }), 404, { error: 'Access key not found' });
    const created = (await postKey(A, sid, mid, { data: 'v1' })).json.accessKey;
    await sleep(3);
    assertJson(await putKey(A, sid, mid, { data: 'v2', expectedVersion: 1 }), 200, { success: true, version: 2 });
    const g = (await getKey(A, sid, mid)).json.accessKey;
    assert.deepStrictEqual(g, { data: 'v2', dataVersion: 2, createdAt: created.createdAt, updatedAt: g.updatedAt });
    assert.ok(g.updatedAt > created.updatedAt);
    const mm = await putKey(A, sid, mid, { data: 'v3', expectedVersion: 1 });
    assertJson(mm, 200, { success: false, error: 'version-mismatch', currentVersion: 2, currentData: 'v2' });
    // Another account sees no row under its own id.
    assertJson(await putKey(B, sid, mid, { data: 'x', expectedVersion: 2 }), 404, { error: 'Access key not found' });

    const p = (body, headers = bearer(A.token)) => req(srv.url, 'PUT', path(sid, mid), { headers, body });
    assertJson(await p({ data: 'x' }), 400, bodies.validation('body/expectedVersion Invalid input: expected number, received undefined'));
    assertJson(await p({ data: 'x', expectedVersion: -1 }), 400, bodies.validation('body/expectedVersion Too small: expected number to be >=0'));
    assertJson(await p({ data: 'x', expectedVersion: 1.5 }), 400, bodies.validation('body/expectedVersion Invalid input: expected int, received number'));
    assertJson(await p({ data: 1, expectedVersion: 1 }, {}), 400, bodies.validation('body/data Invalid input: expected string, received number'));
    assertJson(await p({ data: 'x', expectedVersion: 2 }, {}), 401, bodies.missingAuth);
    assertJson(await authReq(srv.url, 'POST', path(sid, mid), A, { body: {} }), 400,
        bodies.validation('body/data Invalid input: expected string, received undefined'));
    assertJson(await req(srv.url, 'GET', path(sid, mid)), 401, bodies.missingAuth);
});

test('deleting the session or the machine deletes its access keys', T, async () => {
    const A = await authAccount(srv.url);
    const s1 = await scope(A);
    const s2 = await scope(A);
    // Keys: (s1.sid, s1.mid), (s1.sid, s2.mid), (s2.sid, s1.mid), (s2.sid, s2.mid).
    for (const sid of [s1.sid, s2.sid]) {
        for (const mid of [s1.mid, s2.mid]) {
            assert.equal((await postKey(A, sid, mid, { data: `${sid}|${mid}` })).status, 200);
        }
    }
    assertJson(await authReq(srv.url, 'DELETE', `/v1/sessions/${s1.sid}`, A), 200, { success: true });
    // The session is gone, so GET answers 404 for it; the other session's keys remain.
    assertJson(await getKey(A, s1.sid, s1.mid), 404, scopeNotFound);
    assert.equal((await getKey(A, s2.sid, s1.mid)).json.accessKey.data, `${s2.sid}|${s1.mid}`);
    // PUT looks at the key row only: a deleted key is "not found" even though the route does not check the session.
    assertJson(await putKey(A, s1.sid, s2.mid, { data: 'x', expectedVersion: 1 }), 404, { error: 'Access key not found' });
    assertJson(await putKey(A, s2.sid, s2.mid, { data: 'y', expectedVersion: 1 }), 200, { success: true, version: 2 });

    assertJson(await authReq(srv.url, 'DELETE', `/v1/machines/${encodeURIComponent(s1.mid)}`, A), 200, { success: true });
    assertJson(await putKey(A, s2.sid, s1.mid, { data: 'x', expectedVersion: 1 }), 404, { error: 'Access key not found' });
    assert.equal((await getKey(A, s2.sid, s2.mid)).json.accessKey.data, 'y');
    // Re-creating the machine does not bring the key back.
    await authReq(srv.url, 'POST', '/v1/machines', A, { body: { id: s1.mid, metadata: 'm' } });
    assertJson(await getKey(A, s2.sid, s1.mid), 200, { accessKey: null });
});

test('access-key-get: ack shapes', T, async () => {
    const A = await authAccount(srv.url);
    const B = await authAccount(srv.url);
    const { sid, mid } = await scope(A);
    const b = await scope(B);
    const sock = await clients.connect(srv.url, machineAuth(A, mid));
    const call = (p) => sock.timeout(3000).emitWithAck('access-key-get', p);
    const invalid = { ok: false, error: 'Invalid parameters: sessionId and machineId are required' };
    assert.deepStrictEqual(await call({}), invalid);
    assert.deepStrictEqual(await call({ sessionId: sid }), invalid);
    assert.deepStrictEqual(await call({ sessionId: '', machineId: mid }), invalid);
    assert.deepStrictEqual(await call('str'), invalid);
    assert.deepStrictEqual(await call(null), { ok: false, error: 'Internal error' });
    assert.deepStrictEqual(await call({ sessionId: 5, machineId: mid }), { ok: false, error: 'Internal error' });
    assert.deepStrictEqual(await call({ sessionId: sid, machineId: b.mid }), { ok: false, error: 'Session or machine not found' });
    assert.deepStrictEqual(await call({ sessionId: b.sid, machineId: mid }), { ok: false, error: 'Session or machine not found' });
    assert.deepStrictEqual(await call({ sessionId: sid, machineId: mid }), { ok: true, accessKey: null });
    const k = (await postKey(A, sid, mid, { data: 'sock-data' })).json.accessKey;
    const found = await call({ sessionId: sid, machineId: mid });
    const expected = { ok: true, accessKey: keyShape(k, 'sock-data', 1) };
    assert.deepStrictEqual(found, expected);
    assertKeyOrder(found, expected);
    // No data argument, or extra arguments: no ack.
    await assert.rejects(sock.timeout(300).emitWithAck('access-key-get'), /timed out/);
    await assert.rejects(sock.timeout(300).emitWithAck('access-key-get', { sessionId: sid, machineId: mid }, 1), /timed out/);
});

test('disabled artifacts/kv/access_keys modules answer 404; their tables still exist for the cascades', T, async () => {
    const off = { enabled: false };
    const cfg = writeConfigFile({ modules: { artifacts: off, kv: off, access_keys: off } });
    const s2 = await startServer({ env: { HAPPY_CONFIG: cfg } });
    try {
        const A = await authAccount(s2.url);
        for (const [m, p, body] of [
            ['GET', '/v1/artifacts'], ['GET', '/v1/artifacts/x'], ['POST', '/v1/artifacts', {}], ['DELETE', '/v1/artifacts/x'],
            ['GET', '/v1/kv'], ['GET', '/v1/kv/x'], ['POST', '/v1/kv/bulk', {}], ['POST', '/v1/kv', {}],
            ['GET', '/v1/access-keys/s/m'], ['PUT', '/v1/access-keys/s/m', {}],
        ]) {
            assertJson(await authReq(s2.url, m, p, A, { body }), 404, bodies.notFound(p, m), `${m} ${p}`);
        }
        const sock = await clients.connect(s2.url, { token: A.token });
        await assert.rejects(sock.timeout(300).emitWithAck('artifact-read', { artifactId: 'x' }), /timed out/);
        await assert.rejects(sock.timeout(300).emitWithAck('access-key-get', { sessionId: 's', machineId: 'm' }), /timed out/);
        const sess = await authReq(s2.url, 'POST', '/v1/sessions', A, { body: { tag: 't', metadata: 'm' } });
        assertJson(await authReq(s2.url, 'DELETE', `/v1/sessions/${sess.json.session.id}`, A), 200, { success: true });
    } finally {
        await s2.stop();
    }
});
