// Push (http-api.md §3.6, realtime.md §3.3 session-event and §6, observed.md): token registration, the
// session-event push with focus suppression, and delivery to Expo — here a local receiver on 127.0.0.1 standing
// in for https://exp.host/--/api/v2/push/send, which asserts the exact requests, answers 500s, hangs (timeouts)
// and reports DeviceNotRegistered; transient failures are re-sent in the background.
import { test, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import {
    TEST_TIMEOUT, HOOK_TIMEOUT, FAST_REALTIME, startRealtimeServer, authAccount, req, authReq, bearer, bodies,
    assertJson, userAuth, recordEvents, sleep, expectStatus, CUID_RE, createSession, named, until, roundTrip,
    nextMillisecond,
} from './harness.mjs';
import { clientsClosedAfterEach } from './clients.mjs';

const T = { timeout: TEST_TIMEOUT };
const EXPO_PATH = '/--/api/v2/push/send';

// ---- the local Expo stand-in ------------------------------------------------------------------
/** Records every request; answers with the next queued behaviour, else with one ok ticket per message. */
const expo = {
    requests: [],
    queue: [],
    server: null,
    url: '',
    reset() { this.requests = []; this.queue = []; },
    waitRequests(n, ms = 5000) {
        const end = Date.now() + ms;
        return (async () => {
            while (this.requests.length < n) {
                if (Date.now() > end) throw new Error(`expected ${n} Expo requests, got ${this.requests.length}`);
                await sleep(20);
            }
            return this.requests;
        })();
    },
};

function startExpo() {
    return new Promise((resolve) => {
        expo.server = http.createServer((rq, rs) => {
            const chunks = [];
            rq.on('data', (c) => chunks.push(c));
            rq.on('end', () => {
                const text = Buffer.concat(chunks).toString('utf8');
                expo.requests.push({ method: rq.method, url: rq.url, headers: rq.headers, text, json: JSON.parse(text) });
                const behaviour = expo.queue.shift() ?? 'ok';
                if (behaviour === 'hang') return; // never answers: the server's deadline fires
                if (typeof behaviour === 'number') {
                    rs.writeHead(behaviour, { 'content-type': 'text/plain' });
                    rs.end('nope');
                    return;
                }
                const tickets = typeof behaviour === 'function'
                    ? behaviour(JSON.parse(text))
                    : JSON.parse(text).map((_, i) => ({ status: 'ok', id: `ticket-${i}` }));
                rs.writeHead(200, { 'content-type': 'application/json' });
                rs.end(JSON.stringify({ data: tickets }));
            });
        });
        expo.server.listen(0, '127.0.0.1', () => {
            expo.url = `http://127.0.0.1:${expo.server.address().port}${EXPO_PATH}`;
            resolve();
        });
    });
}

const RETRY_DELAY_MS = 300;
let srv;
before(async () => {
    await startExpo();
    srv = await startRealtimeServer(FAST_REALTIME, {
        config: { modules: { push: { expo_url: expo.url, timeout_ms: 700, retries: 2, retry_delay_ms: RETRY_DELAY_MS } } },
    });
}, { timeout: HOOK_TIMEOUT });

/**
 * An absence check, not a synchronisation: a re-send would reach Expo RETRY_DELAY_MS after the route answered
 * (the first of them), so after twice that with no further request there is none.
 */
async function assertNoResend(count, why) {
    await sleep(2 * RETRY_DELAY_MS);
    assert.equal(expo.requests.length, count, why);
}

/** Waits for the server's log line `msg` about session `sid` (the push module logs each retry decision). */
const logged = (msg, sid, extra = () => true) => until(() => srv.stdoutLines.some((l) => {
    if (!l.includes(`"msg":"${msg}"`)) return false;
    const j = JSON.parse(l);
    return j.sessionId === sid && extra(j);
}), 5000, `log line "${msg}" for ${sid}`);

/** Sends app-state from an app socket and waits until the server has applied it (roundTrip()). */
async function appState(ui, state) {
    ui.emit('app-state', { state });
    await roundTrip(ui);
}
after(async () => {
    if (srv) await srv.stop();
    expo.server?.closeAllConnections?.();
    expo.server?.close();
}, { timeout: HOOK_TIMEOUT });

const clients = clientsClosedAfterEach();
afterEach(() => expo.reset());

const { connect, app, daemon, cli } = clients.at(() => srv.url);

const newSessionId = async (acct) => (await createSession(srv.url, acct)).id;
const addToken = (acct, token) => authReq(srv.url, 'POST', '/v1/push-tokens', acct, { body: { token } });
const listTokens = async (acct) => expectStatus(await authReq(srv.url, 'GET', '/v1/push-tokens', acct), 200).tokens;
const pushEvent = (acct, sid, body) =>
    authReq(srv.url, 'POST', `/v1/sessions/${encodeURIComponent(sid)}/push-event`, acct, { body });

/** What the CLI sends after a turn (happy-cli: "It's ready!", data {sessionId, ..., sessionTitle, url}). */
const doneEvent = (sid) => ({
    kind: 'done', title: "It's ready!", body: 'fix the tests',
    data: { sessionId: sid, type: 'ready', provider: 'claude', sessionTitle: 'fix the tests', url: `/session/${sid}` },
});
const expoMessage = (token, sid, ev) => ({
    to: token, title: ev.title, body: ev.body,
    data: { sessionId: sid, ...(ev.data ?? {}), kind: ev.kind }, sound: 'default', channelId: 'messages',
});

test('push tokens: register (upsert), list newest first, delete (idempotent), per account', T, async () => {
    const a = await authAccount(srv.url);
    const b = await authAccount(srv.url);
    assertJson(await addToken(a, 'ExponentPushToken[one]'), 200, { success: true });
    await nextMillisecond(); // "newest first" needs distinct timestamps
    assertJson(await addToken(a, 'ExponentPushToken[two]'), 200, { success: true });
    let tokens = await listTokens(a);
    assert.deepEqual(tokens.map((t) => t.token), ['ExponentPushToken[two]', 'ExponentPushToken[one]']);
    for (const t of tokens) {
        assert.match(t.id, CUID_RE);
        assert.deepEqual(Object.keys(t), ['id', 'token', 'createdAt', 'updatedAt']);
        assert.equal(t.createdAt, t.updatedAt);
    }
    const one = tokens[1];
    await nextMillisecond();
    assertJson(await addToken(a, 'ExponentPushToken[one]'), 200, { success: true });
    const again = (await listTokens(a)).find((t) => t.token === 'ExponentPushToken[one]');
    assert.equal(again.id, one.id);
    assert.equal(again.createdAt, one.createdAt);
    assert.ok(again.updatedAt > one.updatedAt);

    assert.deepEqual(await listTokens(b), []);
    // b deleting a's token changes nothing; deleting twice is fine; URL-encoded tokens are decoded.
    assertJson(await authReq(srv.url, 'DELETE', `/v1/push-tokens/${encodeURIComponent('ExponentPushToken[one]')}`, b), 200, { success: true });
    assert.equal((await listTokens(a)).length, 2);
    for (let i = 0; i < 2; i++) {
        assertJson(await authReq(srv.url, 'DELETE', `/v1/push-tokens/${encodeURIComponent('ExponentPushToken[one]')}`, a), 200, { success: true });
    }
    assert.deepEqual((await listTokens(a)).map((t) => t.token), ['ExponentPushToken[two]']);
});

test('push tokens: validation and authentication', T, async () => {
    const a = await authAccount(srv.url);
    assertJson(await authReq(srv.url, 'POST', '/v1/push-tokens', a, { body: {} }), 400,
        bodies.validation('body/token Invalid input: expected string, received undefined'));
    assertJson(await authReq(srv.url, 'POST', '/v1/push-tokens', a, { body: { token: 5 } }), 400,
        bodies.validation('body/token Invalid input: expected string, received number'));
    assertJson(await req(srv.url, 'POST', '/v1/push-tokens', { body: { token: 'x' } }), 401, bodies.missingAuth);
    assertJson(await req(srv.url, 'GET', '/v1/push-tokens'), 401, bodies.missingAuth);
    assertJson(await req(srv.url, 'DELETE', '/v1/push-tokens/x'), 401, bodies.missingAuth);
    assertJson(await req(srv.url, 'GET', '/v1/push-tokens', { headers: bearer('nope') }), 401, bodies.invalidToken);
});

test('push-event: validation, unknown and foreign sessions', T, async () => {
    const a = await authAccount(srv.url);
    const b = await authAccount(srv.url);
    const sid = await newSessionId(a);
    const ev = doneEvent(sid);
    assertJson(await pushEvent(b, sid, ev), 404, { error: 'Session not found' });
    assertJson(await pushEvent(a, 'nope', ev), 404, { error: 'Session not found' });
    assertJson(await pushEvent(a, sid, { ...ev, kind: 'other' }), 400,
        bodies.validation('body/kind Invalid option: expected one of "done"|"permission"|"question"'));
    assertJson(await pushEvent(a, sid, { ...ev, title: '' }), 400,
        bodies.validation('body/title Too small: expected string to have >=1 characters'));
    assertJson(await pushEvent(a, sid, { ...ev, body: 'x'.repeat(501) }), 400,
        bodies.validation('body/body Too big: expected string to have <=500 characters'));
    assertJson(await pushEvent(a, sid, { ...ev, data: [1] }), 400,
        bodies.validation('body/data Invalid input: expected record, received array'));
    assertJson(await req(srv.url, 'POST', `/v1/sessions/${sid}/push-event`, { body: ev }), 401, bodies.missingAuth);
    assert.equal(expo.requests.length, 0);
});

test('push-event without tokens: session-event to the session\'s listeners, no_tokens, no outbound request', T, async () => {
    const a = await authAccount(srv.url);
    const sid = await newSessionId(a);
    const other = await newSessionId(a);
    const appSock = await app(a);
    const cliSock = await cli(a, sid);
    const otherCli = await cli(a, other);
    const appEvents = recordEvents(appSock);
    const cliEvents = recordEvents(cliSock);
    const otherEvents = recordEvents(otherCli);
    const before = Date.now();
    assertJson(await pushEvent(a, sid, doneEvent(sid)), 200, { success: true, result: 'no_tokens' });
    await until(() => named(appEvents, 'ephemeral').length && named(cliEvents, 'ephemeral').length, 3000, 'session-event');
    await Promise.all([appSock, cliSock, otherCli].map((s) => roundTrip(s)));
    for (const evs of [appEvents, cliEvents]) {
        const got = named(evs, 'ephemeral');
        assert.equal(got.length, 1);
        const { timestamp, ...rest } = got[0];
        assert.deepEqual(rest, { type: 'session-event', sessionId: sid, kind: 'done', title: "It's ready!", body: 'fix the tests' });
        assert.deepEqual(Object.keys(got[0]), ['type', 'sessionId', 'kind', 'title', 'body', 'timestamp']);
        assert.ok(timestamp >= before && timestamp <= Date.now());
    }
    assert.equal(named(otherEvents, 'ephemeral').length, 0);
    assert.equal(expo.requests.length, 0);
});

test('push-event with tokens: exact Expo request, result sent', T, async () => {
    const a = await authAccount(srv.url);
    const sid = await newSessionId(a);
    await addToken(a, 'ExponentPushToken[aaa]');
    await nextMillisecond();
    await addToken(a, 'ExponentPushToken[bbb]');
    // A daemon, a CLI and an app that never reported its state are not proof of attention.
    await daemon(a, 'm1');
    await cli(a, sid);
    await connect({ token: a.token, appState: 'active' }); // no explicit clientType
    await app(a);
    const ev = { kind: 'permission', title: 'Permission request', body: 'Bash', data: { sessionId: 'spoofed', kind: 'done', extra: { n: 1 } } };
    assertJson(await pushEvent(a, sid, ev), 200, { success: true, result: 'sent', tokens: 2 });
    assert.equal(expo.requests.length, 1);
    const r = expo.requests[0];
    assert.equal(r.method, 'POST');
    assert.equal(r.url, EXPO_PATH);
    assert.equal(r.headers['content-type'], 'application/json');
    assert.equal(r.headers.authorization, undefined);
    const expected = ['ExponentPushToken[bbb]', 'ExponentPushToken[aaa]'].map((t) => ({
        to: t, title: 'Permission request', body: 'Bash',
        data: { sessionId: 'spoofed', kind: 'permission', extra: { n: 1 } }, sound: 'default', channelId: 'messages',
    }));
    assert.equal(r.text, JSON.stringify(expected));
    await assertNoResend(1, 'no retry after success');
});

test('push-event is suppressed while an app is focused (handshake appState or app-state event)', T, async () => {
    const a = await authAccount(srv.url);
    const sid = await newSessionId(a);
    await addToken(a, 'ExponentPushToken[focus]');
    const ui = await connect({ ...userAuth(a), appState: 'active' });
    assertJson(await pushEvent(a, sid, doneEvent(sid)), 200, { success: true, result: 'suppressed', reason: 'active-ui-client' });
    assert.equal(expo.requests.length, 0);
    await appState(ui, 'background');
    assertJson(await pushEvent(a, sid, doneEvent(sid)), 200, { success: true, result: 'sent', tokens: 1 });
    assert.equal(expo.requests.length, 1);
    assert.equal(expo.requests[0].text, JSON.stringify([expoMessage('ExponentPushToken[focus]', sid, doneEvent(sid))]));
    await appState(ui, 'active');
    assertJson(await pushEvent(a, sid, doneEvent(sid)), 200, { success: true, result: 'suppressed', reason: 'active-ui-client' });
    ui.disconnect();
    // The server notices the disconnect on its own time: push until it stops suppressing (a suppressed push sends
    // nothing, so Expo sees exactly one more request).
    const after = await until(async () => {
        const r = await pushEvent(a, sid, doneEvent(sid));
        return r.json?.result !== 'suppressed' && r;
    }, 3000, 'the disconnected app no longer counts as focused');
    assertJson(after, 200, { success: true, result: 'sent', tokens: 1 });
    assert.equal(expo.requests.length, 2);
});

test('Expo answers 500: failed with HTTP 500, then re-sent in the background until delivered', T, async () => {
    const a = await authAccount(srv.url);
    const sid = await newSessionId(a);
    await addToken(a, 'ExponentPushToken[r1]');
    await nextMillisecond();
    await addToken(a, 'ExponentPushToken[r2]');
    expo.queue.push(500);
    const started = Date.now();
    assertJson(await pushEvent(a, sid, doneEvent(sid)), 200, { success: true, result: 'failed', reason: 'HTTP 500, HTTP 500' });
    const reqs = await expo.waitRequests(2, 3000);
    assert.ok(Date.now() - started >= 250, 'retried after the configured delay');
    assert.equal(reqs[1].text, reqs[0].text, 'the same messages are re-sent');
    // The retry loop logs each round; "pending": 0 means it has ended.
    await logged('push retry', sid, (j) => j.delivered === 2 && j.pending === 0);
    assert.equal(expo.requests.length, 2, 'delivered: no further retry');
});

test('Expo hangs: Network error after the deadline, re-sent with back-off, then given up', T, async () => {
    const a = await authAccount(srv.url);
    const sid = await newSessionId(a);
    await addToken(a, 'ExponentPushToken[slow]');
    expo.queue.push('hang', 503, 503);
    const started = Date.now();
    assertJson(await pushEvent(a, sid, doneEvent(sid)), 200, { success: true, result: 'failed', reason: 'Network error' });
    const took = Date.now() - started;
    assert.ok(took >= 600 && took < 3000, `answered after the 700 ms deadline (${took} ms)`);
    // retries: 2 (after 300 ms, then 600 ms), both refused with 503: three requests in all, then nothing.
    await expo.waitRequests(3, 4000);
    await logged('push delivery gave up', sid);
    assert.equal(expo.requests.length, 3);
});

test('DeviceNotRegistered removes the token; partial result; 4xx is not retried', T, async () => {
    const a = await authAccount(srv.url);
    const sid = await newSessionId(a);
    await addToken(a, 'ExponentPushToken[gone]');
    await nextMillisecond();
    await addToken(a, 'ExponentPushToken[fine]');
    expo.queue.push((msgs) => msgs.map((m) => (m.to === 'ExponentPushToken[gone]'
        ? { status: 'error', message: '"ExponentPushToken[gone]" is not a registered push notification recipient', details: { error: 'DeviceNotRegistered' } }
        : { status: 'ok', id: 'x' })));
    assertJson(await pushEvent(a, sid, doneEvent(sid)), 200,
        { success: true, result: 'partial', tokens: 2, delivered: 1, reason: 'DeviceNotRegistered' });
    assert.deepEqual((await listTokens(a)).map((t) => t.token), ['ExponentPushToken[fine]']);
    expo.queue.push(400);
    assertJson(await pushEvent(a, sid, doneEvent(sid)), 200, { success: true, result: 'failed', reason: 'HTTP 400' });
    await assertNoResend(2, 'HTTP 400 is not re-sent');
});

test('a retry is dropped when the user has focused an app meanwhile', T, async () => {
    const a = await authAccount(srv.url);
    const sid = await newSessionId(a);
    await addToken(a, 'ExponentPushToken[later]');
    expo.queue.push(502);
    assertJson(await pushEvent(a, sid, doneEvent(sid)), 200, { success: true, result: 'failed', reason: 'HTTP 502' });
    await connect({ ...userAuth(a), appState: 'active' });
    await logged('push retry dropped: user active', sid);
    assert.equal(expo.requests.length, 1);
});

test('a re-send skips tokens deleted meanwhile', T, async () => {
    const a = await authAccount(srv.url);
    const sid = await newSessionId(a);
    await addToken(a, 'ExponentPushToken[keep]');
    await nextMillisecond();
    await addToken(a, 'ExponentPushToken[drop]');
    expo.queue.push(500);
    assertJson(await pushEvent(a, sid, doneEvent(sid)), 200, { success: true, result: 'failed', reason: 'HTTP 500, HTTP 500' });
    assertJson(await authReq(srv.url, 'DELETE', `/v1/push-tokens/${encodeURIComponent('ExponentPushToken[drop]')}`, a), 200, { success: true });
    const reqs = await expo.waitRequests(2, 3000);
    assert.deepEqual(reqs[1].json.map((m) => m.to), ['ExponentPushToken[keep]']);
    await logged('push retry', sid, (j) => j.delivered === 1 && j.pending === 0);
    assert.equal(expo.requests.length, 2);
});

test('path parameters over 100 characters are a 404 (http-api.md: long push tokens)', T, async () => {
    const a = await authAccount(srv.url);
    const long = 'x'.repeat(101);
    assertJson(await authReq(srv.url, 'DELETE', `/v1/push-tokens/${long}`, a), 404,
        bodies.notFound(`/v1/push-tokens/${long}`, 'DELETE'));
    assertJson(await authReq(srv.url, 'DELETE', `/v1/push-tokens/${'x'.repeat(100)}`, a), 200, { success: true });
});
