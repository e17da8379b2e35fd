// Push configuration (README modules.push.*): Expo's endpoint by default, delivery to an Expo-compatible receiver
// with nothing else configured, delivery switched off by the operator, the start-up line that says which, and
// shutdown while a background re-send is waiting. No test here reaches the internet: a server that keeps the
// default URL is never sent a push.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import {
    TEST_TIMEOUT, HOOK_TIMEOUT, startServer, writeConfigFile, authAccount, authReq, assertJson, expectStatus, sleep,
    createSession, bodies,
} from './harness.mjs';
import { startReceiver } from './receiver.mjs';

const T = { timeout: TEST_TIMEOUT };
const EXPO_URL = 'https://exp.host/--/api/v2/push/send'; // upstream's pushSend.ts EXPO_PUSH_URL
const servers = [];
const receivers = [];
after(async () => {
    for (const s of servers) await s.stop();
    for (const r of receivers) { r.closeAllConnections?.(); r.close(); }
}, { timeout: HOOK_TIMEOUT });

async function start(push, opts = {}) {
    const srv = await startServer({ env: { HAPPY_CONFIG: writeConfigFile({ modules: { push } }) }, ...opts });
    servers.push(srv);
    return srv;
}

async function accountWithTokenAndSession(srv) {
    const a = await authAccount(srv.url);
    assertJson(await authReq(srv.url, 'POST', '/v1/push-tokens', a, { body: { token: 'ExponentPushToken[x]' } }), 200, { success: true });
    const { id: sid } = await createSession(srv.url, a);
    return { a, sid };
}
const pushEvent = (srv, a, sid) => authReq(srv.url, 'POST', `/v1/sessions/${sid}/push-event`, a,
    { body: { kind: 'done', title: "It's ready!", body: 'b' } });
const logLines = (srv, msg) => srv.stdoutLines.map((l) => { try { return JSON.parse(l); } catch { return null; } })
    .filter((j) => j?.msg === msg);
const logLine = (srv, msg) => logLines(srv, msg)[0];

test('the default expo_url is upstream\'s Expo endpoint, and start-up says pushes are delivered there', T, async () => {
    // Nothing configured: the server starts with Expo's URL (this test sends no push, so nothing goes out).
    const srv = await startServer({ keepPushDefault: true });
    servers.push(srv);
    assert.equal(logLine(srv, 'push delivery on')?.expo_url, EXPO_URL);
    assert.equal(logLine(srv, 'push delivery off: modules.push.expo_url is empty; push-event answers "Push delivery disabled"'), undefined);
});

test('with only the URL changed, a push reaches a local Expo-compatible receiver: exact request, result sent', T, async () => {
    const expo = await startReceiver();
    receivers.push({ close: () => expo.close() });
    expo.on('POST', '/--/api/v2/push/send', (r) => ({ json: { data: JSON.parse(r.body).map(() => ({ status: 'ok', id: 't' })) } }));
    const srv = await start({ expo_url: `${expo.url}/--/api/v2/push/send` }); // every other push setting: defaults
    assert.equal(logLine(srv, 'push delivery on')?.expo_url, `${expo.url}/--/api/v2/push/send`);
    const { a, sid } = await accountWithTokenAndSession(srv);
    assertJson(await pushEvent(srv, a, sid), 200, { success: true, result: 'sent', tokens: 1 });
    assert.equal(expo.requests.length, 1);
    const r = expo.requests[0];
    assert.equal(r.method, 'POST');
    assert.equal(r.headers['content-type'], 'application/json');
    assert.deepEqual(JSON.parse(r.body), [{ to: 'ExponentPushToken[x]', title: "It's ready!", body: 'b',
        data: { sessionId: sid, kind: 'done' }, sound: 'default', channelId: 'messages' }]);
});

test('modules.push.enabled false: the push routes are gone (404), the start-up log says the module is off', T, async () => {
    const srv = await start({ enabled: false });
    const a = await authAccount(srv.url);
    assertJson(await authReq(srv.url, 'GET', '/v1/push-tokens', a), 404, bodies.notFound('/v1/push-tokens', 'GET'));
    assert.ok(logLines(srv, 'module disabled').some((j) => j.module === 'push'));
    assert.equal(logLine(srv, 'push delivery on'), undefined);
});

test('expo_url "" turns delivery off: said at start, tokens kept, failed "Push delivery disabled"', T, async () => {
    const srv = await start({ expo_url: '' });
    assert.ok(logLine(srv, 'push delivery off: modules.push.expo_url is empty; push-event answers "Push delivery disabled"'));
    assert.equal(logLine(srv, 'push delivery on'), undefined);
    const { a, sid } = await accountWithTokenAndSession(srv);
    assertJson(await pushEvent(srv, a, sid), 200, { success: true, result: 'failed', reason: 'Push delivery disabled' });
    const tokens = expectStatus(await authReq(srv.url, 'GET', '/v1/push-tokens', a), 200).tokens;
    assert.equal(tokens.length, 1);
});

test('an invalid expo_url stops start-up with a message naming the key (exit code 2)', T, async () => {
    await assert.rejects(start({ expo_url: 'exp.host/--/api/v2/push/send' }), (e) => {
        assert.match(String(e.message), /modules\.push\.expo_url: invalid URL "exp\.host\/--\/api\/v2\/push\/send": missing scheme/);
        return true;
    });
});

test('SIGTERM while a re-send waits: prompt, clean exit', T, async () => {
    const hits = [];
    const receiver = http.createServer((rq, rs) => { hits.push(rq.url); rq.resume(); rs.writeHead(503); rs.end(); });
    receivers.push(receiver);
    await new Promise((r) => receiver.listen(0, '127.0.0.1', r));
    const srv = await start({ expo_url: `http://127.0.0.1:${receiver.address().port}/push`, retries: 3, retry_delay_ms: 60000 });
    const { a, sid } = await accountWithTokenAndSession(srv);
    assertJson(await pushEvent(srv, a, sid), 200, { success: true, result: 'failed', reason: 'HTTP 503' });
    await sleep(100);
    assert.equal(await srv.stop(), 0);
    assert.equal(srv.stopInfo.forced, false);
    assert.ok(srv.stopInfo.elapsedMs < 3000, `stopped in ${srv.stopInfo.elapsedMs} ms`);
    assert.deepEqual(hits, ['/push']);
});
