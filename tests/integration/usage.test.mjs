// Usage (realtime.md §2.11, §3.3, §4; http-api.md §3.11, §5 UsageReport; observed.md): the `usage-report` socket
// event (upsert per account/session/key, ack shapes, `usage` ephemeral to the apps only, per-socket order) and
// POST /v1/usage/query (per-hour/day sums in the server's local time, filters, errors); reports of a deleted
// session are gone.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
    TEST_TIMEOUT, HOOK_TIMEOUT, LONG_HEARTBEAT_REALTIME, startRealtimeServer, authAccount, req, authReq, bearer, bodies,
    assertJson, assertKeyOrder, machineAuth, recordEvents, sleep, CUID_RE, makeTempDir, removeDir, named, until,
    createSession,
} from './harness.mjs';
import { clientsClosedAfterEach } from './clients.mjs';

const T = { timeout: TEST_TIMEOUT };

let srv;

before(async () => {
    srv = await startRealtimeServer(LONG_HEARTBEAT_REALTIME);
}, { timeout: HOOK_TIMEOUT });
after(async () => { if (srv) await srv.stop(); }, { timeout: HOOK_TIMEOUT });

const clients = clientsClosedAfterEach();

const { connect, app, cli } = clients.at(() => srv.url);

const newSessionId = async (acct, url = srv.url) => (await createSession(url, acct)).id;
const query = (acct, body, url = srv.url) => authReq(url, 'POST', '/v1/usage/query', acct, { body });

/** What the CLI sends (happy-cli apiSession.ts sendUsageData). */
function cliReport(sessionId, n = 1, key = 'claude-session') {
    return {
        key, sessionId,
        tokens: { total: 10 * n, input: 4 * n, output: 3 * n, cache_creation: 2 * n, cache_read: 1 * n },
        cost: { total: 6 * n, input: 2 * n, output: 4 * n },
    };
}

const ack = (sock, payload, ms = 3000) => sock.timeout(ms).emitWithAck('usage-report', payload);
async function ackOrNone(sock, ...args) {
    try {
        return await sock.timeout(500).emitWithAck('usage-report', ...args);
    } catch {
        return 'no-ack';
    }
}

/** Bucket start (Unix seconds) of a ms time in a fixed-offset zone (offset in minutes east of UTC). */
function bucket(ms, unit, offsetMin = -new Date(ms).getTimezoneOffset()) {
    const size = unit === 'hour' ? 3600 : 86400;
    const local = Math.floor(ms / 1000) + offsetMin * 60;
    return local - (((local % size) + size) % size) - offsetMin * 60;
}

// --- usage-report -------------------------------------------------------------------------------------------

test('usage-report: ack with the row, `usage` ephemeral (as sent) to the apps only', T, async () => {
    const A = await authAccount(srv.url);
    const B = await authAccount(srv.url);
    const sid = await newSessionId(A);
    const ui = await app(A);
    const sock = await cli(A, sid);
    const daemon = await connect(machineAuth(A, 'm1'));
    const other = await app(B);
    const [uiEv, cliEv, daemonEv, otherEv] = [ui, sock, daemon, other].map(recordEvents);

    const t0 = Date.now();
    const payload = cliReport(sid);
    const a = await ack(sock, payload);
    const t1 = Date.now();
    assert.deepStrictEqual(Object.keys(a), ['success', 'reportId', 'createdAt', 'updatedAt']);
    assert.equal(a.success, true);
    assert.match(a.reportId, CUID_RE);
    assert.ok(a.createdAt >= t0 && a.createdAt <= t1);
    assert.equal(a.updatedAt, a.createdAt);

    const [eph] = await until(() => named(uiEv, 'ephemeral').length && named(uiEv, 'ephemeral'), 3000, 'usage ephemeral');
    const expected = { type: 'usage', id: sid, key: 'claude-session', tokens: payload.tokens, cost: payload.cost, timestamp: eph.timestamp };
    assert.deepStrictEqual(eph, expected);
    assertKeyOrder(eph, expected);
    assert.ok(eph.timestamp >= t0 && eph.timestamp <= t1 + 5);
    await sleep(150);
    assert.deepStrictEqual(cliEv, [], 'the reporting session socket gets nothing');
    assert.deepStrictEqual(daemonEv, [], 'machine sockets get nothing');
    assert.deepStrictEqual(otherEv, [], 'other accounts get nothing');
});

test('usage-report upserts per (session, key): same id and createdAt, newer updatedAt, data replaced', T, async () => {
    const A = await authAccount(srv.url);
    const sid = await newSessionId(A);
    const sid2 = await newSessionId(A);
    const sock = await cli(A, sid);
    const first = await ack(sock, cliReport(sid, 1));
    await sleep(5);
    const second = await ack(sock, cliReport(sid, 2));
    assert.equal(second.reportId, first.reportId);
    assert.equal(second.createdAt, first.createdAt);
    assert.ok(second.updatedAt > first.updatedAt);
    const otherKey = await ack(sock, cliReport(sid, 1, 'codex-session'));
    const otherSession = await ack(sock, cliReport(sid2, 1)); // any socket of the account may report any of its sessions
    assert.notEqual(otherKey.reportId, first.reportId);
    assert.notEqual(otherSession.reportId, first.reportId);
    assert.notEqual(otherSession.reportId, otherKey.reportId);

    const r = await query(A, { sessionId: sid });
    assert.equal(r.json.totalReports, 2);
    assert.deepStrictEqual(r.json.usage.map((u) => u.tokens.total), [20 + 10]); // replaced (2), plus the other key (1)
    assert.equal((await query(A, {})).json.totalReports, 3);
});

test('usage-report invalid payloads: upstream ack texts, nothing stored', T, async () => {
    const A = await authAccount(srv.url);
    const B = await authAccount(srv.url);
    const sid = await newSessionId(A);
    const theirs = await newSessionId(B);
    const sock = await cli(A, sid);
    const ok = cliReport(sid);
    const cases = [
        [{ ...ok, key: undefined }, 'Invalid key'],
        [{ ...ok, key: '' }, 'Invalid key'],
        [{ ...ok, key: 5 }, 'Invalid key'],
        ['a string', 'Invalid key'],
        [[1, 2], 'Invalid key'],
        [7, 'Invalid key'],
        [{ ...ok, tokens: undefined }, 'Invalid tokens object - must include total'],
        [{ ...ok, tokens: null }, 'Invalid tokens object - must include total'],
        [{ ...ok, tokens: { input: 1 } }, 'Invalid tokens object - must include total'],
        [{ ...ok, tokens: { total: '10' } }, 'Invalid tokens object - must include total'],
        [{ ...ok, tokens: [10] }, 'Invalid tokens object - must include total'],
        [{ ...ok, tokens: 10 }, 'Invalid tokens object - must include total'],
        [{ ...ok, tokens: { total: null }, cost: null }, 'Invalid tokens object - must include total'],
        [{ ...ok, cost: undefined }, 'Invalid cost object - must include total'],
        [{ ...ok, cost: { total: true } }, 'Invalid cost object - must include total'],
        [{ ...ok, sessionId: 5 }, 'Invalid sessionId'],
        [{ ...ok, sessionId: { id: sid } }, 'Invalid sessionId'],
        [{ ...ok, sessionId: 'nope' }, 'Session not found'],
        [{ ...ok, sessionId: theirs }, 'Session not found'],
        // Upstream cannot upsert with a null sessionId (observed.md): a report without a session is never stored.
        [{ ...ok, sessionId: undefined }, 'Failed to save usage report'],
        [{ ...ok, sessionId: null }, 'Failed to save usage report'],
        [{ ...ok, sessionId: '' }, 'Failed to save usage report'],
        [{ ...ok, sessionId: 0 }, 'Failed to save usage report'],
        [null, 'Internal error'],
    ];
    for (const [payload, error] of cases) {
        assert.deepStrictEqual(await ack(sock, payload), { success: false, error }, JSON.stringify(payload));
    }
    assertJson(await query(A, {}), 200, { usage: [], groupBy: 'day', totalReports: 0 });
    assertJson(await query(B, {}), 200, { usage: [], groupBy: 'day', totalReports: 0 });
});

test('usage-report without an ack is still stored; no data or two data arguments get no ack', T, async () => {
    const A = await authAccount(srv.url);
    const sid = await newSessionId(A);
    const sock = await cli(A, sid);
    const ui = await app(A);
    const uiEv = recordEvents(ui);
    sock.emit('usage-report', cliReport(sid, 1));
    await until(() => named(uiEv, 'ephemeral').length === 1, 3000, 'ephemeral');
    assert.equal(await ackOrNone(sock), 'no-ack');
    // A second data argument sits where upstream expects the callback: processed, never acknowledged.
    assert.equal(await ackOrNone(sock, cliReport(sid, 3, 'second'), 'extra'), 'no-ack');
    await until(() => named(uiEv, 'ephemeral').length === 2, 3000, 'second ephemeral');
    const r = await query(A, {});
    assert.equal(r.json.totalReports, 2);
    assert.equal(r.json.usage[0].tokens.total, 40);
});

test('usage-report is serialised per socket: acks in order, the last report wins', T, async () => {
    const A = await authAccount(srv.url);
    const sid = await newSessionId(A);
    const sock = await cli(A, sid);
    const order = [];
    const acks = await Promise.all(Array.from({ length: 25 }, (_, i) =>
        ack(sock, cliReport(sid, i + 1)).then((a) => { order.push(i); return a; })));
    assert.deepStrictEqual(order, Array.from({ length: 25 }, (_, i) => i));
    assert.equal(new Set(acks.map((a) => a.reportId)).size, 1);
    for (let i = 1; i < acks.length; i++) assert.ok(acks[i].updatedAt >= acks[i - 1].updatedAt);
    const r = await query(A, { sessionId: sid });
    assert.equal(r.json.totalReports, 1);
    assert.equal(r.json.usage[0].tokens.total, 250);
});

test('usage-report accepts extra token/cost keys and forwards them verbatim', T, async () => {
    const A = await authAccount(srv.url);
    const sid = await newSessionId(A);
    const sock = await cli(A, sid);
    const ui = await app(A);
    const uiEv = recordEvents(ui);
    const payload = { key: 'k', sessionId: sid, tokens: { total: 1, nested: { a: 1 }, s: 'x' }, cost: { total: 0 }, extra: 1 };
    assert.equal((await ack(sock, payload)).success, true);
    const [eph] = await until(() => named(uiEv, 'ephemeral').length && named(uiEv, 'ephemeral'), 3000, 'ephemeral');
    assert.deepStrictEqual(eph.tokens, payload.tokens);
    assert.deepStrictEqual(Object.keys(eph), ['type', 'id', 'key', 'tokens', 'cost', 'timestamp']);
    // Only numbers are summed.
    assertJson(await query(A, {}), 200, {
        usage: [{ timestamp: bucket(Date.now(), 'day'), tokens: { total: 1 }, cost: { total: 0 }, reportCount: 1 }],
        groupBy: 'day', totalReports: 1,
    });
});

// --- POST /v1/usage/query -----------------------------------------------------------------------------------

test('POST /v1/usage/query sums per day/hour in JSONB key order (cache_read before cache_creation)', T, async () => {
    const A = await authAccount(srv.url);
    const s1 = await newSessionId(A);
    const s2 = await newSessionId(A);
    const sock = await cli(A, s1);
    const a1 = await ack(sock, cliReport(s1, 1));
    const a2 = await ack(sock, cliReport(s2, 2));
    await ack(sock, cliReport(s2, 3, 'other-key'));
    const tokens = { input: 24, total: 60, output: 18, cache_read: 6, cache_creation: 12 };
    const cost = { input: 12, total: 36, output: 24 };
    const sameDay = bucket(a1.createdAt, 'day') === bucket(Date.now(), 'day');
    const sameHour = bucket(a1.createdAt, 'hour') === bucket(Date.now(), 'hour');
    if (sameDay) {
        for (const body of [{}, { groupBy: 'day' }, { groupBy: null, sessionId: null, startTime: null, endTime: null }, { sessionId: '' }]) {
            assertJson(await query(A, body), 200, {
                usage: [{ timestamp: bucket(a1.createdAt, 'day'), tokens, cost, reportCount: 3 }], groupBy: 'day', totalReports: 3,
            }, JSON.stringify(body));
        }
    }
    if (sameHour) {
        assertJson(await query(A, { groupBy: 'hour' }), 200, {
            usage: [{ timestamp: bucket(a1.createdAt, 'hour'), tokens, cost, reportCount: 3 }], groupBy: 'hour', totalReports: 3,
        });
    }
    // One session only.
    const only2 = await query(A, { sessionId: s2, groupBy: 'hour' });
    assert.equal(only2.status, 200);
    assert.equal(only2.json.totalReports, 2);
    assert.equal(only2.json.usage.reduce((sum, u) => sum + u.tokens.total, 0), 50);
    // Inclusive bounds in seconds on createdAt.
    const startSec = Math.floor(a2.createdAt / 1000);
    assert.equal((await query(A, { startTime: Math.floor(a1.createdAt / 1000) })).json.totalReports, 3);
    assert.equal((await query(A, { endTime: Math.floor(Date.now() / 1000) + 1 })).json.totalReports, 3);
    assert.equal((await query(A, { startTime: startSec + 100 })).json.totalReports, 0);
    assert.equal((await query(A, { endTime: Math.floor(a1.createdAt / 1000) - 1 })).json.totalReports, 0);
    assertJson(await query(A, { endTime: 1 }), 200, { usage: [], groupBy: 'day', totalReports: 0 });
    assertJson(await query(A, { startTime: 1, endTime: 2, groupBy: 'hour' }), 200, { usage: [], groupBy: 'hour', totalReports: 0 });
});

test('POST /v1/usage/query sums fractional costs as JavaScript numbers', T, async () => {
    const A = await authAccount(srv.url);
    const sid = await newSessionId(A);
    const sock = await cli(A, sid);
    await ack(sock, { key: 'a', sessionId: sid, tokens: { total: 1 }, cost: { total: 0.1, input: 0.05 } });
    await ack(sock, { key: 'b', sessionId: sid, tokens: { total: 2 }, cost: { total: 0.2, input: 0.25 } });
    const r = await query(A, { sessionId: sid });
    assert.equal(r.status, 200);
    assert.equal(r.json.usage.length, 1);
    const { cost } = r.json.usage[0];
    assert.deepStrictEqual(Object.keys(cost), ['input', 'total']);
    assert.equal(cost.total, 0.2 + 0.1); // summed newest first, as upstream does: 0.30000000000000004
    assert.equal(cost.input, 0.25 + 0.05);
    // The text is JSON.stringify's (0.3, not 3E-1), byte for byte.
    assert.ok(r.text.includes('"cost":{"input":0.3,"total":0.30000000000000004}'), r.text);
});

test('POST /v1/usage/query: unknown or foreign session 404, validation before auth, 401s, out-of-range dates 500', T, async () => {
    const A = await authAccount(srv.url);
    const B = await authAccount(srv.url);
    const theirs = await newSessionId(B);
    assertJson(await query(A, { sessionId: 'nope' }), 404, { error: 'Session not found' });
    assertJson(await query(A, { sessionId: theirs }), 404, { error: 'Session not found' });
    const v = (body, headers = bearer(A.token)) => req(srv.url, 'POST', '/v1/usage/query', { headers, body });
    assertJson(await v({ sessionId: 5 }), 400, bodies.validation('body/sessionId Invalid input: expected string, received number'));
    assertJson(await v({ startTime: 0 }), 400, bodies.validation('body/startTime Too small: expected number to be >0'));
    assertJson(await v({ startTime: 1.5 }), 400, bodies.validation('body/startTime Invalid input: expected int, received number'));
    assertJson(await v({ endTime: '5' }), 400, bodies.validation('body/endTime Invalid input: expected number, received string'));
    assertJson(await v({ groupBy: 'week' }), 400, bodies.validation('body/groupBy Invalid option: expected one of "hour"|"day"'));
    assertJson(await v({ sessionId: 1, groupBy: 'week' }), 400, bodies.validation(
        'body/sessionId Invalid input: expected string, received number, body/groupBy Invalid option: expected one of "hour"|"day"'));
    assertJson(await v({ groupBy: 'week' }, {}), 400, bodies.validation('body/groupBy Invalid option: expected one of "hour"|"day"'));
    assertJson(await v('x'), 400, bodies.validation('body/ Invalid input: expected object, received string'));
    const noBody = await authReq(srv.url, 'POST', '/v1/usage/query', A);
    assertJson(noBody, 400, bodies.validation('body/ Invalid input: expected object, received null'));
    const empty = await authReq(srv.url, 'POST', '/v1/usage/query', A, { rawBody: '', contentType: 'application/json' });
    assertJson(empty, 200, { usage: [], groupBy: 'day', totalReports: 0 });
    assertJson(await v({}, {}), 401, bodies.missingAuth);
    assertJson(await v({}, { authorization: 'Bearer nope' }), 401, bodies.invalidToken);
    // new Date(t * 1000) beyond JavaScript's date range is Invalid Date, which the database query rejects.
    assertJson(await v({ startTime: 9_000_000_000_000 }), 500, { error: 'Failed to query usage reports' });
    assertJson(await v({ endTime: 8_640_000_000_000 }), 200, { usage: [], groupBy: 'day', totalReports: 0 });
    // The 404 comes first.
    assertJson(await v({ sessionId: 'nope', endTime: 9_000_000_000_000 }), 404, { error: 'Session not found' });
});

test("deleting a session deletes its usage reports; other sessions' reports stay", T, async () => {
    const A = await authAccount(srv.url);
    const s1 = await newSessionId(A);
    const s2 = await newSessionId(A);
    const sock = await cli(A, s1);
    await ack(sock, cliReport(s1, 1));
    await ack(sock, cliReport(s1, 1, 'second-key'));
    await ack(sock, cliReport(s2, 2));
    assert.equal((await query(A, {})).json.totalReports, 3);
    const del = await authReq(srv.url, 'DELETE', `/v1/sessions/${s1}`, A);
    assertJson(del, 200, { success: true });
    const r = await query(A, {});
    assert.equal(r.json.totalReports, 1);
    assert.equal(r.json.usage[0].tokens.total, 20);
    assertJson(await query(A, { sessionId: s1 }), 404, { error: 'Session not found' });
    assert.deepStrictEqual(await ack(sock, cliReport(s1, 1)), { success: false, error: 'Session not found' });
});

test("POST /v1/usage/query buckets in the server's local time zone (TZ=UTC+5:30)", T, async () => {
    const local = await startRealtimeServer(LONG_HEARTBEAT_REALTIME, { env: { TZ: 'IST-5:30' } });
    try {
        const A = await authAccount(local.url);
        const sid = await newSessionId(A, local.url);
        const sock = await clients.at(local.url).cli(A, sid);
        const a = await ack(sock, cliReport(sid, 1));
        const hour = await query(A, { groupBy: 'hour' }, local.url);
        const day = await query(A, {}, local.url);
        assert.equal(hour.json.usage[0].timestamp, bucket(a.createdAt, 'hour', 330));
        assert.equal(day.json.usage[0].timestamp, bucket(a.createdAt, 'day', 330));
        assert.equal((hour.json.usage[0].timestamp + 1800) % 3600, 0, 'half-hour offset from UTC hours');
    } finally {
        await local.stop();
    }
});

test('usage reports and account settings survive a restart; the upsert keeps its row afterwards', T, async () => {
    const dataDir = makeTempDir('happy-it-usage-restart-');
    try {
        const s1 = await startRealtimeServer(LONG_HEARTBEAT_REALTIME, { dataDir });
        const A = await authAccount(s1.url);
        const sid = await newSessionId(A, s1.url);
        const sock = await clients.at(s1.url).cli(A, sid);
        const first = await ack(sock, cliReport(sid, 1));
        const set = await authReq(s1.url, 'POST', '/v1/account/settings', A, { body: { settings: 'kept', expectedVersion: 0 } });
        assertJson(set, 200, { success: true, version: 1 });
        const before = await query(A, {}, s1.url);
        sock.close();
        await s1.stop();

        const s2 = await startRealtimeServer(LONG_HEARTBEAT_REALTIME, { dataDir });
        try {
            assertJson(await query(A, {}, s2.url), 200, before.json);
            assertJson(await authReq(s2.url, 'GET', '/v1/account/settings', A), 200,
                { settings: 'kept', settingsVersion: 1 });
            const sock2 = await clients.at(s2.url).cli(A, sid);
            const again = await ack(sock2, cliReport(sid, 5));
            assert.equal(again.reportId, first.reportId);
            assert.equal(again.createdAt, first.createdAt);
            assert.equal((await query(A, {}, s2.url)).json.usage[0].tokens.total, 50);
        } finally {
            await s2.stop();
        }
    } finally {
        removeDir(dataDir);
    }
});
