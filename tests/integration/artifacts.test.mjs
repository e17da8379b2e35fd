// Artifacts: REST list / get / create / versioned update / delete (http-api.md §3.8, §5 Artifact, §6) and the
// socket events artifact-read, artifact-create, artifact-update, artifact-delete (realtime.md §2.16–2.19, §3.1–3.2,
// §4): exact bodies and key orders, update fan-out to user-scoped sockets only, per-account seq, ack dialect.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import {
    TEST_TIMEOUT, HOOK_TIMEOUT, LONG_HEARTBEAT_REALTIME, startRealtimeServer, authAccount, req, authReq, bearer, bodies,
    assertJson, assertKeyOrder, recordEvents, sleep, b64, randomBytes, named, until, assertEnvelope,
} from './harness.mjs';
import { clientsClosedAfterEach } from './clients.mjs';

const T = { timeout: TEST_TIMEOUT };

let srv;

before(async () => {
    srv = await startRealtimeServer(LONG_HEARTBEAT_REALTIME);
}, { timeout: HOOK_TIMEOUT });
after(async () => { if (srv) await srv.stop(); }, { timeout: HOOK_TIMEOUT });

const clients = clientsClosedAfterEach();

const { app, daemon, cli } = clients.at(() => srv.url);

const create = (acct, body) => authReq(srv.url, 'POST', '/v1/artifacts', acct, { body });
const list = (acct) => authReq(srv.url, 'GET', '/v1/artifacts', acct);
const get = (acct, id) => authReq(srv.url, 'GET', `/v1/artifacts/${encodeURIComponent(id)}`, acct);
const update = (acct, id, body) => authReq(srv.url, 'POST', `/v1/artifacts/${encodeURIComponent(id)}`, acct, { body });
const del = (acct, id) => authReq(srv.url, 'DELETE', `/v1/artifacts/${encodeURIComponent(id)}`, acct);

const notFound = { error: 'Artifact not found' };
/** A fresh artifact input: header/body/key as standard base64. */
function input(id = crypto.randomUUID()) {
    return { id, header: b64(randomBytes(12)), body: b64(randomBytes(40)), dataEncryptionKey: b64(randomBytes(32)) };
}

/** The REST full object as upstream builds it. */
function full(a, inp, over = {}) {
    return {
        id: inp.id, header: inp.header, headerVersion: 1, body: inp.body, bodyVersion: 1,
        dataEncryptionKey: inp.dataEncryptionKey, seq: 0, createdAt: a.createdAt, updatedAt: a.updatedAt, ...over,
    };
}

// --- REST ---------------------------------------------------------------------------------------------------

test('POST /v1/artifacts creates: exact body, versions 1, seq 0; new-artifact to user-scoped sockets only', T, async () => {
    const A = await authAccount(srv.url);
    const ui = await app(A);
    const d = await daemon(A, 'some-machine');
    const s = await cli(A, 'some-session');
    const uiEv = recordEvents(ui);
    const dEv = recordEvents(d);
    const sEv = recordEvents(s);
    const inp = input();
    const before = Date.now();
    const r = await create(A, { ...inp, extra: 1 });
    const a = r.json;
    assertJson(r, 200, full(a, inp));
    assert.ok(a.createdAt >= before && a.createdAt <= Date.now() + 5);
    assert.equal(a.updatedAt, a.createdAt);
    const [env] = await until(() => named(uiEv, 'update').length && named(uiEv, 'update'), 3000, 'new-artifact');
    assertEnvelope(env, 1, {
        t: 'new-artifact', artifactId: inp.id, seq: 0, header: inp.header, headerVersion: 1, body: inp.body,
        bodyVersion: 1, dataEncryptionKey: inp.dataEncryptionKey, createdAt: a.createdAt, updatedAt: a.updatedAt,
    });
    await sleep(150);
    assert.deepStrictEqual(dEv, [], 'machine sockets get nothing');
    assert.deepStrictEqual(sEv, [], 'session sockets get nothing');
    assertJson(await get(A, inp.id), 200, full(a, inp));
});

test('POST /v1/artifacts: same owner is idempotent (no event), another account gets 409, ids keep their case', T, async () => {
    const A = await authAccount(srv.url);
    const B = await authAccount(srv.url);
    const inp = input(crypto.randomUUID().toUpperCase());
    const first = await create(A, inp);
    assert.equal(first.status, 200);
    assert.equal(first.json.id, inp.id, 'upper case is stored as given');
    const ui = await app(A);
    const uiEv = recordEvents(ui);
    // Inputs are ignored (even undecodable ones) for the owner's existing id.
    const again = await create(A, { ...input(inp.id), header: 'not base64!' });
    assertJson(again, 200, first.json);
    assertJson(await create(B, input(inp.id)), 409, { error: 'Artifact with this ID already exists for another account' });
    assertJson(await get(B, inp.id), 404, notFound);
    // The lower-case spelling is a different id.
    assert.equal((await create(B, input(inp.id.toLowerCase()))).status, 200);
    await sleep(150);
    assert.deepStrictEqual(named(uiEv, 'update'), []);
    // The next update of A gets seq 2: creation consumed one, the idempotent call none.
    assertJson(await del(A, inp.id), 200, { success: true });
    const [env] = await until(() => named(uiEv, 'update').length && named(uiEv, 'update'), 3000, 'delete-artifact');
    assertEnvelope(env, 2, { t: 'delete-artifact', artifactId: inp.id });
});

test('POST /v1/artifacts: invalid strict base64 is the route 500; validation runs before auth', T, async () => {
    const A = await authAccount(srv.url);
    const failed = { error: 'Failed to create artifact' };
    for (const bad of [{ header: 'YWJj ' }, { body: 'YW-_' }, { dataEncryptionKey: 'YWJjZA=' }, { header: 'a===' }]) {
        const inp = { ...input(), ...bad };
        assertJson(await create(A, inp), 500, failed, JSON.stringify(bad));
        assertJson(await get(A, inp.id), 404, notFound, 'nothing was stored');
    }
    // Empty strings are valid (zero bytes).
    const empty = { ...input(), header: '', body: '' };
    const r = await create(A, empty);
    assertJson(r, 200, full(r.json, empty));

    const v = (body, headers = bearer(A.token)) => req(srv.url, 'POST', '/v1/artifacts', { headers, body });
    assertJson(await v({}), 400, bodies.validation(
        'body/id Invalid input: expected string, received undefined, body/header Invalid input: expected string, received undefined, ' +
        'body/body Invalid input: expected string, received undefined, body/dataEncryptionKey Invalid input: expected string, received undefined'));
    assertJson(await v({ ...input(), id: 'not-a-uuid' }), 400, bodies.validation('body/id Invalid UUID'));
    assertJson(await v({ ...input(), header: 5 }), 400, bodies.validation('body/header Invalid input: expected string, received number'));
    assertJson(await v({ ...input(), id: 'not-a-uuid' }, {}), 400, bodies.validation('body/id Invalid UUID'));
    assertJson(await v(input(), {}), 401, bodies.missingAuth);
    for (const [m, p] of [['GET', '/v1/artifacts'], ['GET', '/v1/artifacts/x'], ['DELETE', '/v1/artifacts/x']]) {
        assertJson(await req(srv.url, m, p), 401, bodies.missingAuth, `${m} ${p}`);
    }
    assertJson(await req(srv.url, 'POST', '/v1/artifacts/x', { body: {} }), 401, bodies.missingAuth);
});

test('GET /v1/artifacts: bare array without bodies, newest update first, per account', T, async () => {
    const A = await authAccount(srv.url);
    const B = await authAccount(srv.url);
    assertJson(await list(A), 200, []);
    const made = [];
    for (let i = 0; i < 3; i++) {
        const inp = input();
        made.push({ inp, a: (await create(A, inp)).json });
        await sleep(5);
    }
    await create(B, input());
    const shape = ({ inp, a }, over = {}) => ({
        id: inp.id, header: inp.header, headerVersion: 1, dataEncryptionKey: inp.dataEncryptionKey, seq: 0,
        createdAt: a.createdAt, updatedAt: a.updatedAt, ...over,
    });
    assertJson(await list(A), 200, [...made].reverse().map((m) => shape(m)));
    // An update (even one that changes nothing) moves the first artifact to the top.
    await sleep(5);
    assertJson(await update(A, made[0].inp.id, {}), 200, { success: true });
    const after = (await list(A)).json;
    assert.deepStrictEqual(after.map((x) => x.id), [made[0].inp.id, made[2].inp.id, made[1].inp.id]);
    assert.equal(after[0].seq, 1);
    assert.ok(after[0].updatedAt > made[0].a.updatedAt);
    assert.equal(after[0].createdAt, made[0].a.createdAt);
});

test('GET /v1/artifacts/:id: full object; unknown and foreign ids are 404', T, async () => {
    const A = await authAccount(srv.url);
    const B = await authAccount(srv.url);
    const inp = input();
    const a = (await create(A, inp)).json;
    assertJson(await get(A, inp.id), 200, full(a, inp));
    assertJson(await get(B, inp.id), 404, notFound);
    assertJson(await get(A, 'no-such-artifact'), 404, notFound);
});

test('POST /v1/artifacts/:id: versioned update, update-artifact with the sent values, mismatch shape', T, async () => {
    const A = await authAccount(srv.url);
    const B = await authAccount(srv.url);
    const inp = input();
    const a = (await create(A, inp)).json;
    const ui = await app(A);
    const d = await daemon(A, 'm');
    const uiB = await app(B);
    const uiEv = recordEvents(ui);
    const dEv = recordEvents(d);
    const bEv = recordEvents(uiB);
    const header2 = b64(Buffer.from('header two'));
    assertJson(await update(A, inp.id, { header: header2, expectedHeaderVersion: 1 }), 200, { success: true, headerVersion: 2 });
    const [e1] = await until(() => named(uiEv, 'update').length && named(uiEv, 'update'), 3000, 'update-artifact');
    assertEnvelope(e1, 2, { t: 'update-artifact', artifactId: inp.id, header: { value: header2, version: 2 } });
    let g = (await get(A, inp.id)).json;
    assertJson(await get(A, inp.id), 200, full(a, inp, { header: header2, headerVersion: 2, seq: 1, updatedAt: g.updatedAt }));

    // Both parts.
    const header3 = b64(randomBytes(5));
    const body2 = b64(randomBytes(7));
    const both = await update(A, inp.id, { body: body2, expectedBodyVersion: 1, header: header3, expectedHeaderVersion: 2 });
    assertJson(both, 200, { success: true, headerVersion: 3, bodyVersion: 2 });
    await until(() => named(uiEv, 'update').length === 2, 3000, 'second update-artifact');
    assertEnvelope(named(uiEv, 'update')[1], 3, {
        t: 'update-artifact', artifactId: inp.id, header: { value: header3, version: 3 }, body: { value: body2, version: 2 },
    });

    // Mismatch: only the stale part is reported; schema key order; nothing changes and nothing is emitted.
    const m1 = await update(A, inp.id, { header: 'AAAA', expectedHeaderVersion: 3, body: 'AAAA', expectedBodyVersion: 1 });
    assertJson(m1, 200, { success: false, error: 'version-mismatch', currentBodyVersion: 2, currentBody: body2 });
    const m2 = await update(A, inp.id, { header: 'AAAA', expectedHeaderVersion: 0, body: 'AAAA', expectedBodyVersion: 0 });
    assertJson(m2, 200, {
        success: false, error: 'version-mismatch', currentHeaderVersion: 3, currentBodyVersion: 2,
        currentHeader: header3, currentBody: body2,
    });
    // A value without its expected version (or vice versa) is ignored: success, seq still bumped.
    assertJson(await update(A, inp.id, { header: 'AAAA', expectedBodyVersion: 0 }), 200, { success: true });
    g = (await get(A, inp.id)).json;
    assert.equal(g.header, header3);
    assert.equal(g.seq, 3);
    await until(() => named(uiEv, 'update').length === 3, 3000, 'third update-artifact');
    assertEnvelope(named(uiEv, 'update')[2], 4, { t: 'update-artifact', artifactId: inp.id });

    // Bad base64 after a version match: the route's 500, nothing written.
    assertJson(await update(A, inp.id, { body: 'not base64', expectedBodyVersion: 2 }), 500, { error: 'Failed to update artifact' });
    assert.equal((await get(A, inp.id)).json.seq, 3);

    // Foreign / unknown.
    assertJson(await update(B, inp.id, { header: 'AAAA', expectedHeaderVersion: 3 }), 404, notFound);
    assertJson(await update(A, 'nope', {}), 404, notFound);

    // Validation.
    assertJson(await update(A, inp.id, { expectedHeaderVersion: -1 }), 400,
        bodies.validation('body/expectedHeaderVersion Too small: expected number to be >=0'));
    assertJson(await update(A, inp.id, { expectedBodyVersion: 1.5 }), 400,
        bodies.validation('body/expectedBodyVersion Invalid input: expected int, received number'));
    assertJson(await update(A, inp.id, { header: 1, expectedHeaderVersion: '1' }), 400, bodies.validation(
        'body/header Invalid input: expected string, received number, body/expectedHeaderVersion Invalid input: expected number, received string'));
    assertJson(await update(A, inp.id, []), 400, bodies.validation('body/ Invalid input: expected object, received array'));

    await sleep(150);
    assert.equal(named(uiEv, 'update').length, 3);
    assert.deepStrictEqual(dEv, [], 'machine sockets get nothing');
    assert.deepStrictEqual(bEv, [], 'other accounts get nothing');
});

test('DELETE /v1/artifacts/:id: 404 for unknown/foreign, success emits delete-artifact, id reusable', T, async () => {
    const A = await authAccount(srv.url);
    const B = await authAccount(srv.url);
    const inp = input();
    await create(A, inp);
    const ui = await app(A);
    const s = await cli(A, 'sess');
    const uiEv = recordEvents(ui);
    const sEv = recordEvents(s);
    assertJson(await del(B, inp.id), 404, notFound);
    assertJson(await del(A, 'nope'), 404, notFound);
    assertJson(await del(A, inp.id), 200, { success: true });
    const [env] = await until(() => named(uiEv, 'update').length && named(uiEv, 'update'), 3000, 'delete-artifact');
    assertEnvelope(env, 2, { t: 'delete-artifact', artifactId: inp.id });
    assertJson(await get(A, inp.id), 404, notFound);
    assertJson(await del(A, inp.id), 404, notFound);
    await sleep(100);
    assert.deepStrictEqual(sEv, []);
    assert.equal((await create(B, input(inp.id))).status, 200, 'the id is free again');
});

// --- socket events ------------------------------------------------------------------------------------------

/** The socket artifact object: the REST one without dataEncryptionKey. */
function sockArtifact(restObj) {
    const { dataEncryptionKey, ...rest } = restObj;
    return rest;
}

test('artifact-read: ack shapes (no dataEncryptionKey), foreign ids not found', T, async () => {
    const A = await authAccount(srv.url);
    const B = await authAccount(srv.url);
    const inp = input();
    const a = (await create(A, inp)).json;
    await create(B, input());
    const s = await app(A);
    const call = (p) => s.timeout(3000).emitWithAck('artifact-read', p);
    const ok = await call({ artifactId: inp.id });
    const expected = { result: 'success', artifact: sockArtifact(full(a, inp)) };
    assert.deepStrictEqual(ok, expected);
    assertKeyOrder(ok, expected);
    const invalid = { result: 'error', message: 'Invalid parameters' };
    assert.deepStrictEqual(await call({}), invalid);
    assert.deepStrictEqual(await call({ artifactId: '' }), invalid);
    assert.deepStrictEqual(await call('str'), invalid);
    assert.deepStrictEqual(await call(null), { result: 'error', message: 'Internal error' });
    assert.deepStrictEqual(await call({ artifactId: 7 }), { result: 'error', message: 'Internal error' });
    assert.deepStrictEqual(await call({ artifactId: 'nope' }), { result: 'error', message: 'Artifact not found' });
    const other = await authAccount(srv.url);
    const so = await app(other);
    assert.deepStrictEqual(await so.timeout(3000).emitWithAck('artifact-read', { artifactId: inp.id }),
        { result: 'error', message: 'Artifact not found' });
});

test('artifact-create: validation, idempotent, conflict, bad base64; new-artifact emitted before the ack', T, async () => {
    const A = await authAccount(srv.url);
    const B = await authAccount(srv.url);
    const s = await cli(A, 'x');
    const ui = await app(A);
    const uiEv = recordEvents(ui);
    const sEv = recordEvents(s);
    const call = (p, sock = s) => sock.timeout(3000).emitWithAck('artifact-create', p);
    const invalid = { result: 'error', message: 'Invalid parameters' };
    const inp = { ...input(), id: 'any-string-id-' + crypto.randomUUID() }; // the socket does not require a UUID
    assert.deepStrictEqual(await call({}), invalid);
    assert.deepStrictEqual(await call({ ...inp, id: '' }), invalid);
    assert.deepStrictEqual(await call({ ...inp, header: 5 }), invalid);
    assert.deepStrictEqual(await call({ ...inp, body: null }), invalid);
    assert.deepStrictEqual(await call({ ...inp, dataEncryptionKey: undefined }), invalid);
    assert.deepStrictEqual(await call(null), { result: 'error', message: 'Internal error' });
    assert.deepStrictEqual(await call({ ...inp, id: 12 }), { result: 'error', message: 'Internal error' });
    assert.deepStrictEqual(await call({ ...inp, header: 'bad!' }), { result: 'error', message: 'Internal error' });

    // The UI socket sees new-artifact; the creating (session-scoped) socket is not a recipient.
    const order = [];
    ui.on('update', () => order.push('update'));
    const created = await call(inp, ui);
    order.push('ack');
    assert.deepStrictEqual(order, ['update', 'ack'], 'update before ack');
    const art = created.artifact;
    const expected = {
        result: 'success',
        artifact: {
            id: inp.id, header: inp.header, headerVersion: 1, body: inp.body, bodyVersion: 1, seq: 0,
            createdAt: art.createdAt, updatedAt: art.updatedAt,
        },
    };
    assert.deepStrictEqual(created, expected);
    assertKeyOrder(created, expected);
    const [env] = named(uiEv, 'update');
    assertEnvelope(env, 1, {
        t: 'new-artifact', artifactId: inp.id, seq: 0, header: inp.header, headerVersion: 1, body: inp.body,
        bodyVersion: 1, dataEncryptionKey: inp.dataEncryptionKey, createdAt: art.createdAt, updatedAt: art.updatedAt,
    });
    // REST sees it with its key.
    assertJson(await get(A, inp.id), 200, full(art, inp));

    assert.deepStrictEqual(await call({ ...input(inp.id), header: 'bad!' }), expected, 'idempotent, inputs ignored');
    const sb = await app(B);
    assert.deepStrictEqual(await call(input(inp.id), sb),
        { result: 'error', message: 'Artifact with this ID already exists for another account' });
    await sleep(150);
    assert.equal(named(uiEv, 'update').length, 1);
    assert.deepStrictEqual(named(sEv, 'update'), []);
});

test('artifact-update: ack dialect, version checks, update-artifact (value) vs ack (data)', T, async () => {
    const A = await authAccount(srv.url);
    const B = await authAccount(srv.url);
    const inp = input();
    await create(A, inp);
    const foreign = input();
    await create(B, foreign);
    const ui = await app(A);
    const uiEv = recordEvents(ui);
    const call = (p) => ui.timeout(3000).emitWithAck('artifact-update', p);
    const err = (message) => ({ result: 'error', message });
    const h = (data, expectedVersion) => ({ data, expectedVersion });

    assert.deepStrictEqual(await call({}), err('Invalid parameters'));
    assert.deepStrictEqual(await call({ artifactId: '', header: h('AAAA', 1) }), err('Invalid parameters'));
    assert.deepStrictEqual(await call({ artifactId: inp.id }), err('No updates provided'));
    assert.deepStrictEqual(await call({ artifactId: inp.id, header: null, body: 0 }), err('No updates provided'));
    assert.deepStrictEqual(await call({ artifactId: inp.id, header: 'x' }), err('Invalid header parameters'));
    assert.deepStrictEqual(await call({ artifactId: inp.id, header: h('AAAA', '1') }), err('Invalid header parameters'));
    assert.deepStrictEqual(await call({ artifactId: inp.id, header: h('AAAA', 1), body: { data: 5, expectedVersion: 1 } }),
        err('Invalid body parameters'));
    assert.deepStrictEqual(await call(null), err('Internal error'));
    assert.deepStrictEqual(await call({ artifactId: 3, header: h('AAAA', 1) }), err('Internal error'));
    assert.deepStrictEqual(await call({ artifactId: 'nope', header: h('AAAA', 1) }), err('Artifact not found'));
    assert.deepStrictEqual(await call({ artifactId: foreign.id, header: h('AAAA', 1) }), err('Artifact not found'));

    // Mismatch: only the mismatching parts, current data as base64.
    const mm = await call({ artifactId: inp.id, header: h('AAAA', 1), body: h('AAAA', 4) });
    const mmExp = { result: 'version-mismatch', body: { currentVersion: 1, currentData: inp.body } };
    assert.deepStrictEqual(mm, mmExp);
    assertKeyOrder(mm, mmExp);
    assert.deepStrictEqual(await call({ artifactId: inp.id, header: h('AAAA', 1.5) }),
        { result: 'version-mismatch', header: { currentVersion: 1, currentData: inp.header } });
    assert.deepStrictEqual(await call({ artifactId: inp.id, header: h('bad base64', 1) }), err('Internal error'));
    assert.deepStrictEqual(named(uiEv, 'update'), [], 'failures emit nothing');

    const order = [];
    ui.on('update', () => order.push('update'));
    const nh = b64(randomBytes(9));
    const nb = b64(randomBytes(3));
    const ok = await call({ artifactId: inp.id, header: h(nh, 1), body: h(nb, 1) });
    order.push('ack');
    const okExp = { result: 'success', header: { version: 2, data: nh }, body: { version: 2, data: nb } };
    assert.deepStrictEqual(ok, okExp);
    assertKeyOrder(ok, okExp);
    assert.deepStrictEqual(order, ['update', 'ack']);
    assertEnvelope(named(uiEv, 'update')[0], 2, {
        t: 'update-artifact', artifactId: inp.id, header: { value: nh, version: 2 }, body: { value: nb, version: 2 },
    });
    const only = await call({ artifactId: inp.id, body: h('AAAA', 2) });
    assert.deepStrictEqual(only, { result: 'success', body: { version: 3, data: 'AAAA' } });
    const g = (await get(A, inp.id)).json;
    assert.equal(g.header, nh);
    assert.equal(g.headerVersion, 2);
    assert.equal(g.body, 'AAAA');
    assert.equal(g.bodyVersion, 3);
    assert.equal(g.seq, 2);
});

test('artifact-delete: acks and delete-artifact to user-scoped sockets', T, async () => {
    const A = await authAccount(srv.url);
    const B = await authAccount(srv.url);
    const inp = input();
    await create(A, inp);
    const foreign = input();
    await create(B, foreign);
    const d = await daemon(A, 'mm');
    const ui = await app(A);
    const uiEv = recordEvents(ui);
    const dEv = recordEvents(d);
    const call = (p) => d.timeout(3000).emitWithAck('artifact-delete', p);
    assert.deepStrictEqual(await call({}), { result: 'error', message: 'Invalid parameters' });
    assert.deepStrictEqual(await call(null), { result: 'error', message: 'Internal error' });
    assert.deepStrictEqual(await call({ artifactId: true }), { result: 'error', message: 'Internal error' });
    assert.deepStrictEqual(await call({ artifactId: foreign.id }), { result: 'error', message: 'Artifact not found' });
    assert.deepStrictEqual(await call({ artifactId: inp.id }), { result: 'success' });
    const [env] = await until(() => named(uiEv, 'update').length && named(uiEv, 'update'), 3000, 'delete-artifact');
    assertEnvelope(env, 2, { t: 'delete-artifact', artifactId: inp.id });
    assert.deepStrictEqual(await call({ artifactId: inp.id }), { result: 'error', message: 'Artifact not found' });
    assertJson(await get(A, inp.id), 404, notFound);
    assertJson(await get(B, foreign.id), 200, (await get(B, foreign.id)).json);
    await sleep(100);
    assert.deepStrictEqual(named(dEv, 'update'), [], 'machine sockets get nothing');
});

test('artifact-* without a data argument or with extra arguments send no ack (the work is still done)', T, async () => {
    const A = await authAccount(srv.url);
    const ui = await app(A);
    for (const ev of ['artifact-read', 'artifact-create', 'artifact-update', 'artifact-delete']) {
        await assert.rejects(ui.timeout(300).emitWithAck(ev), /timed out/, ev);
    }
    const inp = input();
    await assert.rejects(ui.timeout(400).emitWithAck('artifact-create', inp, 'x'), /timed out/);
    assert.equal((await get(A, inp.id)).status, 200, 'created anyway');
    await assert.rejects(ui.timeout(400).emitWithAck('artifact-read', { artifactId: inp.id }, null), /timed out/);
});
