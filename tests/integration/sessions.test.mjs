// Sessions and messages (http-api.md §3.3, §3.4, §6; realtime.md §2.3–2.7, §3.1–3.3, §4, §5.3, §9;
// observed.md): REST shapes and key orders, create-or-load by tag, pagination, message idempotency by localId,
// archive/delete, account isolation, and the session socket events with their ack dialects.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
    TEST_TIMEOUT, HOOK_TIMEOUT, LONG_HEARTBEAT_REALTIME, startRealtimeServer, authAccount, authReq, waitEvent,
    recordEvents, sleep, assertJson, assertKeyOrder, expectStatus, bodies, CUID_RE, uniq, createSession, named,
} from './harness.mjs';
import { clientsClosedAfterEach } from './clients.mjs';

let srv;
let A;
let B;

before(async () => {
    // Long heartbeats: these tests wait for events and must not be disturbed by the engine's ping timeout.
    srv = await startRealtimeServer({ ...LONG_HEARTBEAT_REALTIME, connect_timeout_ms: 20000 });
    A = await authAccount(srv.url);
    B = await authAccount(srv.url);
}, { timeout: HOOK_TIMEOUT });

after(async () => { await srv?.stop(); }, { timeout: HOOK_TIMEOUT });

const clients = clientsClosedAfterEach();

const { app, cli } = clients.at(() => srv.url);

const api = (method, path, acct, body) => authReq(srv.url, method, path, acct, { body });

const newSession = (acct = A, extra = {}) => createSession(srv.url, acct, { metadata: uniq('meta'), ...extra });


/** emitWithAck that resolves to 'no-ack' after ms instead of throwing. */
async function ackOrNone(s, event, payload, ms = 600) {
    try {
        const t = s.timeout(ms);
        return await (payload === undefined ? t.emitWithAck(event) : t.emitWithAck(event, payload));
    } catch {
        return 'no-ack';
    }
}

// --- REST -------------------------------------------------------------------------------------------------

test('POST /v1/sessions creates (new-session to user-scoped only) and loads by tag unchanged', { timeout: TEST_TIMEOUT }, async () => {
    const ui = await app(A);
    const uiEvents = recordEvents(ui);
    const other = await cli(A, 'some-session');
    const otherEvents = recordEvents(other);
    const tag = uniq('tag');
    const t0 = Date.now();
    const r = await api('POST', '/v1/sessions', A, { tag, metadata: 'M1', agentState: 'ignored', dataEncryptionKey: 'AAEC_w' });
    const s = expectStatus(r, 200).session;
    assert.match(s.id, CUID_RE);
    assert.ok(s.createdAt >= t0 && s.createdAt === s.updatedAt && s.activeAt === s.createdAt);
    const expected = {
        session: {
            id: s.id, seq: 0, metadata: 'M1', metadataVersion: 0, agentState: null, agentStateVersion: 0,
            dataEncryptionKey: 'AAEC/w==', active: true, activeAt: s.activeAt, createdAt: s.createdAt,
            updatedAt: s.updatedAt, lastMessage: null,
        },
    };
    assertJson(r, 200, expected);

    await sleep(200); // the update may reach the socket before the HTTP answer: read it from the recording
    const [env] = named(uiEvents, 'update');
    const { lastMessage, ...rest } = expected.session;
    const body = { t: 'new-session', ...rest };
    assert.deepStrictEqual(env.body, body);
    assertKeyOrder(env, { id: '', seq: 0, body, createdAt: 0 });
    assert.match(env.id, /^[A-Za-z0-9]{12}$/);

    // Same tag: the stored row, untouched, and no event.
    const again = await api('POST', '/v1/sessions', A, { tag, metadata: 'other', dataEncryptionKey: null });
    assertJson(again, 200, expected);
    // Same tag for another account: a different session.
    const b = await api('POST', '/v1/sessions', B, { tag, metadata: 'M1' });
    assert.notEqual(expectStatus(b, 200).session.id, s.id);
    assert.equal(b.json.session.dataEncryptionKey, null);
    await sleep(200);
    assert.equal(named(uiEvents, 'update').length, 1);
    assert.equal(named(otherEvents, 'update').length, 0);
});

test('POST /v1/sessions validation comes before auth; auth errors', { timeout: TEST_TIMEOUT }, async () => {
    assertJson(await api('POST', '/v1/sessions', null, {}), 400, bodies.validation(
        'body/tag Invalid input: expected string, received undefined, body/metadata Invalid input: expected string, received undefined'));
    assertJson(await api('POST', '/v1/sessions', A, { tag: 1, metadata: 'x', agentState: 5 }), 400, bodies.validation(
        'body/tag Invalid input: expected string, received number, body/agentState Invalid input: expected string, received number'));
    assertJson(await api('POST', '/v1/sessions', null, { tag: 't', metadata: 'm' }), 401, bodies.missingAuth);
    assertJson(await api('GET', '/v1/sessions', null), 401, bodies.missingAuth);
});

test('GET /v1/sessions: updatedAt desc, lastMessage null, own sessions only', { timeout: TEST_TIMEOUT }, async () => {
    const acct = await authAccount(srv.url);
    const s1 = await newSession(acct);
    await sleep(5);
    const s2 = await newSession(acct);
    await sleep(5);
    // A message bumps s1's updatedAt: it moves to the top.
    expectStatus(await api('POST', `/v3/sessions/${s1.id}/messages`, acct, { messages: [{ content: 'x', localId: 'l' }] }), 200);
    const r = await api('GET', '/v1/sessions', acct);
    const list = expectStatus(r, 200).sessions;
    assert.deepEqual(list.map((s) => s.id), [s1.id, s2.id]);
    const top = list[0];
    assert.equal(top.seq, 1);
    assert.ok(top.updatedAt > s1.updatedAt);
    assertKeyOrder(top, {
        id: 0, seq: 0, createdAt: 0, updatedAt: 0, active: 0, activeAt: 0, metadata: 0, metadataVersion: 0,
        agentState: 0, agentStateVersion: 0, dataEncryptionKey: 0, lastMessage: 0,
    });
    assert.equal(top.lastMessage, null);
    assertJson(await api('GET', '/v1/sessions', await authAccount(srv.url)), 200, { sessions: [] });
});

test('GET /v1/sessions answers every write at once (encoded answers are kept per list version)', { timeout: TEST_TIMEOUT * 2 }, async () => {
    const acct = await authAccount(srv.url);
    const other = await authAccount(srv.url);
    const list = async (who = acct) => expectStatus(await api('GET', '/v1/sessions', who), 200).sessions;
    const row = async (id) => (await list()).find((x) => x.id === id);
    // Each step first reads the list (so that an answer is kept for it), then writes, then must see the write.
    const s1 = await newSession(acct);
    assert.deepEqual((await list()).map((x) => x.id), [s1.id]);
    const otherSession = await newSession(other);
    assert.deepEqual((await list(other)).map((x) => x.id), [otherSession.id]);
    const s2 = await newSession(acct);
    assert.deepEqual((await list()).map((x) => x.id), [s2.id, s1.id]);

    const sock = await cli(acct, s1.id);
    await list();
    assert.equal((await sock.timeout(3000).emitWithAck('update-metadata', { sid: s1.id, metadata: 'M2', expectedVersion: 0 })).result, 'success');
    assert.deepEqual(await row(s1.id).then((r) => [r.metadata, r.metadataVersion]), ['M2', 1]);
    assert.equal((await sock.timeout(3000).emitWithAck('update-state', { sid: s1.id, agentState: 'S1', expectedVersion: 0 })).result, 'success');
    assert.deepEqual(await row(s1.id).then((r) => [r.agentState, r.agentStateVersion]), ['S1', 1]);

    await list();
    expectStatus(await api('POST', `/v3/sessions/${s2.id}/messages`, acct, { messages: [{ content: 'x', localId: 'l1' }] }), 200);
    assert.equal((await list())[0].seq, 1);

    // A socket message has no ack: its update is emitted after the commit.
    const ui = await app(acct);
    await list();
    const upd = waitEvent(ui, 'update');
    sock.emit('message', { sid: s1.id, message: 'enc', localId: 'm1' });
    await upd;
    const top = (await list())[0];
    assert.deepEqual([top.id, top.seq], [s1.id, 1]);

    await list();
    const ended = waitEvent(ui, 'ephemeral');
    const tEnd = Date.now();
    sock.emit('session-end', { sid: s1.id, time: tEnd });
    await ended;  // emitted after the write committed
    assert.deepEqual(await row(s1.id).then((r) => [r.active, r.activeAt]), [false, tEnd]);

    await list();
    expectStatus(await api('POST', `/v1/sessions/${s2.id}/archive`, acct), 200);
    assert.equal((await row(s2.id)).active, false);

    await list();
    expectStatus(await api('DELETE', `/v1/sessions/${s2.id}`, acct), 200);
    assert.deepEqual((await list()).map((x) => x.id), [s1.id]);
    // The other account's list was never touched by any of it.
    assert.deepEqual((await list(other)).map((x) => x.id), [otherSession.id]);
});

test('GET /v2/sessions/active and cursor pagination /v2/sessions', { timeout: TEST_TIMEOUT }, async () => {
    const acct = await authAccount(srv.url);
    const made = [];
    for (let i = 0; i < 3; i++) made.push(await newSession(acct));
    await sleep(5); // the archive must be strictly the latest update (ms clock)
    expectStatus(await api('POST', `/v1/sessions/${made[0].id}/archive`, acct), 200);

    const active = expectStatus(await api('GET', '/v2/sessions/active?limit=10', acct), 200).sessions;
    assert.deepEqual(new Set(active.map((s) => s.id)), new Set([made[1].id, made[2].id]));
    assertKeyOrder(active[0], {
        id: 0, seq: 0, createdAt: 0, updatedAt: 0, active: 0, activeAt: 0, metadata: 0, metadataVersion: 0,
        agentState: 0, agentStateVersion: 0, dataEncryptionKey: 0,
    });
    assertJson(await api('GET', '/v2/sessions/active?limit=0', acct), 400,
        bodies.validation('querystring/limit Too small: expected number to be >=1'));
    assertJson(await api('GET', '/v2/sessions/active?limit=', acct), 400,
        bodies.validation('querystring/limit Too small: expected number to be >=1'));

    const ids = made.map((s) => s.id).sort().reverse(); // id descending
    const p1 = await api('GET', '/v2/sessions?limit=2', acct);
    const j1 = expectStatus(p1, 200);
    assert.deepEqual(j1.sessions.map((s) => s.id), ids.slice(0, 2));
    assert.equal(j1.nextCursor, `cursor_v1_${ids[1]}`);
    assert.equal(j1.hasNext, true);
    assertKeyOrder(j1, { sessions: 0, nextCursor: 0, hasNext: 0 });
    const j2 = expectStatus(await api('GET', `/v2/sessions?limit=2&cursor=${j1.nextCursor}`, acct), 200);
    assert.deepEqual(j2.sessions.map((s) => s.id), ids.slice(2));
    assert.equal(j2.nextCursor, null);
    assert.equal(j2.hasNext, false);
    // observed.md: an empty id after the prefix is the first page.
    const j0 = expectStatus(await api('GET', '/v2/sessions?cursor=cursor_v1_', acct), 200);
    assert.equal(j0.sessions.length, 3);
    assertJson(await api('GET', '/v2/sessions?cursor=abc', acct), 400, { error: 'Invalid cursor format' });
    assertJson(await api('GET', '/v2/sessions?changedSince=0', acct), 400,
        bodies.validation('querystring/changedSince Too small: expected number to be >0'));
    // changedSince: only sessions updated after it (the archived one was updated last).
    const archivedAt = expectStatus(await api('GET', '/v1/sessions', acct), 200).sessions[0];
    assert.equal(archivedAt.id, made[0].id);
    const j3 = expectStatus(await api('GET', `/v2/sessions?changedSince=${archivedAt.updatedAt - 1}`, acct), 200);
    assert.deepEqual(j3.sessions.map((s) => s.id), [made[0].id]);
});

test('POST /v3 messages: batch-contiguous seqs, first localId wins, idempotent, no content in the answer', { timeout: TEST_TIMEOUT }, async () => {
    const s = await newSession();
    const path = `/v3/sessions/${s.id}/messages`;
    const r1 = await api('POST', path, A, { messages: [
        { content: 'c1', localId: 'a' }, { content: 'c2', localId: 'b' }, { content: 'dup', localId: 'a' },
    ] });
    const m = expectStatus(r1, 200).messages;
    assert.deepEqual(m.map((x) => [x.seq, x.localId]), [[1, 'a'], [2, 'b']]);
    assertJson(r1, 200, { messages: m.map((x) => ({ id: x.id, seq: x.seq, localId: x.localId, createdAt: x.createdAt, updatedAt: x.updatedAt })) });
    assert.match(m[0].id, CUID_RE);

    const r2 = await api('POST', path, A, { messages: [{ content: 'c3', localId: 'c' }, { content: 'changed', localId: 'b' }] });
    assert.deepEqual(expectStatus(r2, 200).messages.map((x) => [x.seq, x.localId]), [[2, 'b'], [3, 'c']]);
    assert.equal(r2.json.messages[0].id, m[1].id);

    // Reads: forward, backward, limit, content stored unchanged in JSONB key order.
    const all = await api('GET', path, A);
    const msgs = expectStatus(all, 200).messages;
    assert.deepEqual(msgs.map((x) => x.seq), [1, 2, 3]);
    assert.equal(all.json.hasMore, false);
    assert.ok(all.text.includes(`"content":{"c":"c2","t":"encrypted"}`), all.text);
    assertKeyOrder(msgs[0], { id: 0, seq: 0, content: 0, localId: 0, createdAt: 0, updatedAt: 0 });
    const fwd = expectStatus(await api('GET', `${path}?after_seq=1&limit=1`, A), 200);
    assert.deepEqual([fwd.messages.map((x) => x.seq), fwd.hasMore], [[2], true]);
    const back = expectStatus(await api('GET', `${path}?before_seq=3`, A), 200);
    assert.deepEqual([back.messages.map((x) => x.seq), back.hasMore], [[2, 1], false]);
    // Legacy list: newest first.
    const legacy = expectStatus(await api('GET', `/v1/sessions/${s.id}/messages`, A), 200).messages;
    assert.equal(legacy.length, 3);
    assert.deepEqual(legacy[0].content, { c: 'c3', t: 'encrypted' });
    assert.equal(Math.max(...legacy.map((x) => x.seq)), 3);
});

test('v3 messages: validation, mutually exclusive cursors, another account\'s session is 404', { timeout: TEST_TIMEOUT }, async () => {
    const s = await newSession();
    const path = `/v3/sessions/${s.id}/messages`;
    assertJson(await api('GET', `${path}?after_seq=1&before_seq=5`, A), 400,
        bodies.validation('querystring/ after_seq and before_seq are mutually exclusive'));
    assertJson(await api('GET', `${path}?before_seq=0&after_seq=1`, A), 400,
        bodies.validation('querystring/before_seq Too small: expected number to be >=1, querystring/ after_seq and before_seq are mutually exclusive'));
    assertJson(await api('GET', `${path}?limit=501`, A), 400,
        bodies.validation('querystring/limit Too big: expected number to be <=500'));
    assertJson(await api('POST', path, A, { messages: [] }), 400,
        bodies.validation('body/messages Too small: expected array to have >=1 items'));
    assertJson(await api('POST', path, A, { messages: [{ content: 1, localId: '' }] }), 400,
        bodies.validation('body/messages/0/content Invalid input: expected string, received number, body/messages/0/localId Too small: expected string to have >=1 characters'));
    const notFound = { error: 'Session not found' };
    assertJson(await api('GET', path, B), 404, notFound);
    assertJson(await api('POST', path, B, { messages: [{ content: 'x', localId: 'x' }] }), 404, notFound);
    assertJson(await api('GET', `/v1/sessions/${s.id}/messages`, B), 404, notFound);
    assertJson(await api('GET', '/v3/sessions/nope/messages', A), 404, notFound);
    // Nothing was written by B's attempt.
    assertJson(await api('GET', path, A), 200, { messages: [], hasMore: false });
});

test('v3 POST emits one new-message per created message to the session and UI sockets (sender too)', { timeout: TEST_TIMEOUT }, async () => {
    const s = await newSession();
    const ui = await app(A);
    const mine = await cli(A, s.id);
    const otherCli = await cli(A, 'another-session');
    const [uiEv, mineEv, otherEv] = [recordEvents(ui), recordEvents(mine), recordEvents(otherCli)];
    const r = await api('POST', `/v3/sessions/${s.id}/messages`, A, { messages: [{ content: 'x1', localId: 'p' }, { content: 'x2', localId: 'q' }] });
    const created = expectStatus(r, 200).messages;
    await sleep(300);
    for (const evs of [uiEv, mineEv]) {
        const ups = named(evs, 'update');
        assert.equal(ups.length, 2);
        assert.equal(ups[1].seq, ups[0].seq + 1);
        const body = { t: 'new-message', sid: s.id, message: {
            id: created[0].id, seq: 1, content: { t: 'encrypted', c: 'x1' }, localId: 'p', createdAt: created[0].createdAt, updatedAt: created[0].updatedAt,
        } };
        assert.deepStrictEqual(ups[0].body, body);
        assertKeyOrder(ups[0].body, body);
    }
    assert.equal(named(otherEv, 'update').length, 0);
    // Replaying the batch creates nothing and emits nothing.
    expectStatus(await api('POST', `/v3/sessions/${s.id}/messages`, A, { messages: [{ content: 'x1', localId: 'p' }] }), 200);
    await sleep(200);
    assert.equal(named(uiEv, 'update').length, 2);
});

test('archive: 404 for another account, activity ephemeral, inactive afterwards', { timeout: TEST_TIMEOUT }, async () => {
    const s = await newSession();
    const ui = await app(A);
    const uiEv = recordEvents(ui);
    assertJson(await api('POST', `/v1/sessions/${s.id}/archive`, B), 404, { error: 'Session not found' });
    const t0 = Date.now();
    // Listen first: the ephemeral is emitted before the HTTP reply (as upstream) and may arrive before it.
    const ephemeral = waitEvent(ui, 'ephemeral');
    assertJson(await api('POST', `/v1/sessions/${s.id}/archive`, A), 200, { success: true });
    const [eph] = await ephemeral;
    assertKeyOrder(eph, { type: 0, id: 0, active: 0, activeAt: 0, thinking: 0 });
    assert.deepEqual({ ...eph, activeAt: 0 }, { type: 'activity', id: s.id, active: false, activeAt: 0, thinking: false });
    assert.ok(eph.activeAt >= t0);
    const row = expectStatus(await api('GET', '/v1/sessions', A), 200).sessions.find((x) => x.id === s.id);
    assert.equal(row.active, false);
    assert.equal(row.activeAt, eph.activeAt);
    assert.equal(named(uiEv, 'update').length, 0);
});

test('DELETE: 404 text for others, delete-session after commit, messages gone', { timeout: TEST_TIMEOUT }, async () => {
    const s = await newSession();
    expectStatus(await api('POST', `/v3/sessions/${s.id}/messages`, A, { messages: [{ content: 'x', localId: 'x' }] }), 200);
    const ui = await app(A);
    assertJson(await api('DELETE', `/v1/sessions/${s.id}`, B), 404, { error: 'Session not found or not owned by user' });
    const upd = waitEvent(ui, 'update');
    assertJson(await api('DELETE', `/v1/sessions/${s.id}`, A), 200, { success: true });
    const [env] = await upd;
    assert.deepStrictEqual(env.body, { t: 'delete-session', sid: s.id });
    assertJson(await api('GET', `/v3/sessions/${s.id}/messages`, A), 404, { error: 'Session not found' });
    assertJson(await api('DELETE', `/v1/sessions/${s.id}`, A), 404, { error: 'Session not found or not owned by user' });
});

// --- socket events ----------------------------------------------------------------------------------------

test('update-metadata: success (update before ack), mismatch, unknown session gets no ack, bad input', { timeout: TEST_TIMEOUT }, async () => {
    const s = await newSession();
    const sock = await cli(A, s.id);
    const ui = await app(A);
    const uiEv = recordEvents(ui);
    const order = [];
    sock.on('update', (u) => order.push(['update', u]));
    const ack = await sock.timeout(3000).emitWithAck('update-metadata', { sid: s.id, metadata: 'M2', expectedVersion: 0 });
    order.push(['ack', ack]);
    assert.deepStrictEqual(ack, { result: 'success', version: 1, metadata: 'M2' });
    assertKeyOrder(ack, { result: 0, version: 0, metadata: 0 });
    assert.equal(order[0][0], 'update', 'the sender gets its own update before the ack');
    const body = { t: 'update-session', id: s.id, metadata: { value: 'M2', version: 1 } };
    assert.deepStrictEqual(order[0][1].body, body);
    assertKeyOrder(order[0][1].body, body);
    await sleep(100);
    assert.deepStrictEqual(named(uiEv, 'update').map((u) => u.body), [body]);

    assert.deepStrictEqual(await sock.timeout(3000).emitWithAck('update-metadata', { sid: s.id, metadata: 'M3', expectedVersion: 0 }),
        { result: 'version-mismatch', version: 1, metadata: 'M2' });
    assert.equal(await ackOrNone(sock, 'update-metadata', { sid: 'nope', metadata: 'x', expectedVersion: 0 }), 'no-ack');
    const bSock = await app(B);
    assert.equal(await ackOrNone(bSock, 'update-metadata', { sid: s.id, metadata: 'x', expectedVersion: 1 }), 'no-ack');
    for (const bad of [{ sid: s.id, metadata: 5, expectedVersion: 1 }, { sid: '', metadata: 'x', expectedVersion: 1 },
        { sid: s.id, metadata: 'x', expectedVersion: '1' }, null]) {
        assert.deepStrictEqual(await sock.timeout(3000).emitWithAck('update-metadata', bad), { result: 'error' });
    }
    // Only an ack function: upstream takes it as `data`, its callback is undefined, so nothing answers.
    assert.equal(await ackOrNone(sock, 'update-metadata'), 'no-ack');
    assert.equal(await ackOrNone(sock, 'update-state'), 'no-ack');
    const row = expectStatus(await api('GET', '/v1/sessions', A), 200).sessions.find((x) => x.id === s.id);
    assert.deepEqual([row.metadata, row.metadataVersion], ['M2', 1]);
});

test('update-state: success with a string and with null, mismatch, unknown session acks error', { timeout: TEST_TIMEOUT }, async () => {
    const s = await newSession();
    const sock = await cli(A, s.id);
    const upd = waitEvent(sock, 'update');
    assert.deepStrictEqual(await sock.timeout(3000).emitWithAck('update-state', { sid: s.id, agentState: 'S1', expectedVersion: 0 }),
        { result: 'success', version: 1, agentState: 'S1' });
    const [env] = await upd;
    assert.deepStrictEqual(env.body, { t: 'update-session', id: s.id, agentState: { value: 'S1', version: 1 } });
    assert.deepStrictEqual(await sock.timeout(3000).emitWithAck('update-state', { sid: s.id, agentState: null, expectedVersion: 1 }),
        { result: 'success', version: 2, agentState: null });
    assert.deepStrictEqual(await sock.timeout(3000).emitWithAck('update-state', { sid: s.id, agentState: 'x', expectedVersion: 1 }),
        { result: 'version-mismatch', version: 2, agentState: null });
    assert.deepStrictEqual(await sock.timeout(3000).emitWithAck('update-state', { sid: 'nope', agentState: 'x', expectedVersion: 0 }),
        { result: 'error' });
    assert.deepStrictEqual(await sock.timeout(3000).emitWithAck('update-state', { sid: s.id, agentState: 3, expectedVersion: 2 }),
        { result: 'error' });
    const bSock = await app(B);
    assert.deepStrictEqual(await bSock.timeout(3000).emitWithAck('update-state', { sid: s.id, agentState: 'x', expectedVersion: 2 }),
        { result: 'error' });
    const row = expectStatus(await api('GET', '/v1/sessions', A), 200).sessions.find((x) => x.id === s.id);
    assert.deepEqual([row.agentState, row.agentStateVersion], [null, 2]);
});

test('message: skip sender, {c,t} content order, duplicates consume seqs and emit nothing', { timeout: TEST_TIMEOUT }, async () => {
    const s = await newSession();
    const sender = await cli(A, s.id);
    const ui = await app(A);
    const [senderEv, uiEv] = [recordEvents(sender), recordEvents(ui)];
    sender.emit('message', { sid: s.id, message: 'enc1', localId: 'L1' });
    const [u1] = await waitEvent(ui, 'update');
    const msg = u1.body.message;
    assert.equal(u1.body.t, 'new-message');
    assert.equal(u1.body.sid, s.id);
    assertKeyOrder(msg, { id: 0, seq: 0, content: { c: 0, t: 0 }, localId: 0, createdAt: 0, updatedAt: 0 });
    assert.deepStrictEqual(msg.content, { c: 'enc1', t: 'encrypted' });
    assert.equal(msg.seq, 1);
    assert.equal(msg.localId, 'L1');

    sender.emit('message', { sid: s.id, message: 'enc1-again', localId: 'L1' }); // duplicate: seqs consumed, nothing emitted
    sender.emit('message', { sid: s.id, message: 'enc2' }); // no localId: null
    const [u2] = await waitEvent(ui, 'update');
    assert.equal(u2.body.message.seq, 3);
    assert.equal(u2.body.message.localId, null);
    assert.equal(u2.seq, u1.seq + 2);
    sender.emit('message', { sid: 'nope', message: 'x' });
    bogusMessages(sender, s.id);
    await sleep(300);
    assert.equal(named(senderEv, 'update').length, 0, 'the sender is skipped');
    assert.equal(named(uiEv, 'update').length, 2);
    const msgs = expectStatus(await api('GET', `/v3/sessions/${s.id}/messages`, A), 200).messages;
    assert.deepEqual(msgs.map((x) => [x.seq, x.content.c]), [[1, 'enc1'], [3, 'enc2']]);
    // Another account cannot post into it.
    const bSock = await app(B);
    bSock.emit('message', { sid: s.id, message: 'intruder' });
    await sleep(200);
    assert.equal(expectStatus(await api('GET', `/v3/sessions/${s.id}/messages`, A), 200).messages.length, 2);
});

function bogusMessages(sock, sid) {
    sock.emit('message', { sid }); // no message: dropped
    sock.emit('message', null);
    sock.emit('message', { sid: 5, message: 'x' });
}

test('session-alive / session-end: activity ephemerals, stopped window, resume by POST /v1/sessions', { timeout: TEST_TIMEOUT }, async () => {
    const tag = uniq('tag');
    const s = expectStatus(await api('POST', '/v1/sessions', A, { tag, metadata: 'm' }), 200).session;
    const sock = await cli(A, s.id);
    const ui = await app(A);
    const uiEv = recordEvents(ui);
    const t = Date.now() - 1000;
    sock.emit('session-alive', { sid: s.id, time: t, thinking: true, mode: 'remote' });
    const [a1] = await waitEvent(ui, 'ephemeral');
    assert.deepStrictEqual(a1, { type: 'activity', id: s.id, active: true, activeAt: t, thinking: true });
    assertKeyOrder(a1, { type: 0, id: 0, active: 0, activeAt: 0, thinking: 0 });
    // Future times are clamped to now; thinking defaults to false.
    const future = Date.now() + 60_000;
    sock.emit('session-alive', { sid: s.id, time: future });
    const [a2] = await waitEvent(ui, 'ephemeral');
    assert.ok(a2.activeAt < future && a2.thinking === false);
    // Ignored: too old, no time, someone else's session, unknown session.
    sock.emit('session-alive', { sid: s.id, time: Date.now() - 11 * 60_000 });
    sock.emit('session-alive', { sid: s.id });
    sock.emit('session-alive', { sid: 'nope', time: Date.now() });
    (await app(B)).emit('session-alive', { sid: s.id, time: Date.now() });
    await sleep(300);
    assert.equal(named(uiEv, 'ephemeral').length, 2);

    const tEnd = Date.now();
    sock.emit('session-end', { sid: s.id, time: tEnd });
    const [e] = await waitEvent(ui, 'ephemeral');
    assert.deepStrictEqual(e, { type: 'activity', id: s.id, active: false, activeAt: tEnd, thinking: false });
    const row = expectStatus(await api('GET', '/v1/sessions', A), 200).sessions.find((x) => x.id === s.id);
    assert.deepEqual([row.active, row.activeAt], [false, tEnd]);
    // Stopped window: heartbeats are ignored entirely.
    sock.emit('session-alive', { sid: s.id, time: Date.now() });
    await sleep(300);
    assert.equal(named(uiEv, 'ephemeral').length, 3);
    // The session restarting (same tag) lifts the suppression at once.
    expectStatus(await api('POST', '/v1/sessions', A, { tag, metadata: 'm' }), 200);
    const tAlive = Date.now();
    sock.emit('session-alive', { sid: s.id, time: tAlive });
    const [a3] = await waitEvent(ui, 'ephemeral');
    assert.equal(a3.active, true);
    assert.equal(a3.activeAt, tAlive);
});
