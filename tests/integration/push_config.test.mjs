// Push configuration edges (README modules.push.*): delivery switched off by the operator, and shutdown while a
// background re-send is waiting.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import {
    TEST_TIMEOUT, HOOK_TIMEOUT, startServer, writeConfigFile, authAccount, authReq, assertJson, expectStatus, sleep,
    createSession,
} from './harness.mjs';

const T = { timeout: TEST_TIMEOUT };
const servers = [];
const receivers = [];
after(async () => {
    for (const s of servers) await s.stop();
    for (const r of receivers) { r.closeAllConnections?.(); r.close(); }
}, { timeout: HOOK_TIMEOUT });

async function start(push) {
    const srv = await startServer({ env: { HAPPY_CONFIG: writeConfigFile({ modules: { push } }) } });
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

test('delivery is off unless expo_url is configured: the default makes no outbound request either', T, async () => {
    const srv = await start({});
    const { a, sid } = await accountWithTokenAndSession(srv);
    assertJson(await pushEvent(srv, a, sid), 200, { success: true, result: 'failed', reason: 'Push delivery disabled' });
});

test('expo_url "" disables delivery: tokens kept, no outbound request, failed "Push delivery disabled"', T, async () => {
    const srv = await start({ expo_url: '' });
    const { a, sid } = await accountWithTokenAndSession(srv);
    assertJson(await pushEvent(srv, a, sid), 200, { success: true, result: 'failed', reason: 'Push delivery disabled' });
    const tokens = expectStatus(await authReq(srv.url, 'GET', '/v1/push-tokens', a), 200).tokens;
    assert.equal(tokens.length, 1);
});

test('an invalid expo_url stops start-up with a message naming the key', T, async () => {
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
