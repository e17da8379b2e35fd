// Voice (http-api.md §3.15, §6 item 30): POST /v1/voice/conversations and GET /v1/voice/usage. Without
// ELEVENLABS_API_KEY (and REVENUECAT_API_KEY for conversations) the routes answer upstream's 500s and the server
// sends nothing anywhere.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import {
    TEST_TIMEOUT, HOOK_TIMEOUT, startServer, authAccount, req, authReq, bodies, assertJson, TEST_SECRET,
    writeConfigFile, b64url,
} from './harness.mjs';
import { startReceiver, closedPortUrl } from './receiver.mjs';

const T = { timeout: TEST_TIMEOUT };

let plain;    // nothing configured
let halfway;  // ElevenLabs key only (its API is the receiver)
let voice;    // both keys; ElevenLabs and RevenueCat are the local receiver
let down;     // both keys; nothing listening
let rx;

before(async () => {
    rx = await startReceiver();
    const urls = (base) => writeConfigFile({
        modules: { voice: { elevenlabs_url: `${base}/v1/convai`, revenuecat_url: `${base}/rc/v2/projects/proj493735ad` } },
    });
    const unreachable = await closedPortUrl();
    [plain, halfway, voice, down] = await Promise.all([
        startServer({ env: { HANDY_MASTER_SECRET: TEST_SECRET } }),
        startServer({ env: { HANDY_MASTER_SECRET: TEST_SECRET, ELEVENLABS_API_KEY: 'xi-key', HAPPY_CONFIG: urls(rx.url) } }),
        startServer({ env: { HANDY_MASTER_SECRET: TEST_SECRET, ELEVENLABS_API_KEY: 'xi-key', REVENUECAT_API_KEY: 'rc-key',
            HAPPY_CONFIG: urls(rx.url) } }),
        startServer({ env: { HANDY_MASTER_SECRET: TEST_SECRET, ELEVENLABS_API_KEY: 'xi-key', REVENUECAT_API_KEY: 'rc-key',
            HAPPY_CONFIG: urls(unreachable) } }),
    ]);
}, { timeout: HOOK_TIMEOUT });
after(async () => {
    await Promise.all([plain?.stop(), halfway?.stop(), voice?.stop(), down?.stop()]);
    await rx?.close();
}, { timeout: HOOK_TIMEOUT });

const elevenUserId = (sub) => 'u_' + crypto.createHmac('sha256', TEST_SECRET).update(sub).digest('base64url');
const conversations = (durations) => ({ json: { conversations: durations.map((d) => ({ call_duration_secs: d, status: 'done' })),
    has_more: false } });
const livekitToken = (room) => `${b64url(JSON.stringify({ alg: 'HS256' }))}.${b64url(JSON.stringify({
    sub: 'x', video: { room, roomJoin: true } }))}.sig`;

function assertUsageRequest(r, sub) {
    assert.equal(r.method, 'GET');
    assert.equal(r.path, '/v1/convai/conversations');
    assert.deepEqual(Object.keys(r.query), ['user_id', 'created_after', 'page_size']);
    assert.equal(r.query.user_id, elevenUserId(sub));
    assert.equal(r.query.page_size, '100');
    assert.match(r.query.created_after, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
    assert.ok(Math.abs(Date.parse(r.query.created_after) - (Date.now() - 30 * 86400_000)) < 60_000);
    assert.equal(r.headers['xi-api-key'], 'xi-key');
}
function assertRevenueCatRequest(r, sub) {
    assert.equal(r.method, 'GET');
    assert.equal(r.url, `/rc/v2/projects/proj493735ad/customers/${sub}/active_entitlements`);
    assert.equal(r.headers.authorization, 'Bearer rc-key');
}

test('voice not configured: upstream 500s, validation before auth', T, async () => {
    const a = await authAccount(plain.url);
    assertJson(await authReq(plain.url, 'POST', '/v1/voice/conversations', a, { body: { agentId: 'agent_1' } }), 500,
        { error: 'ELEVENLABS_API_KEY not configured' });
    assertJson(await authReq(plain.url, 'GET', '/v1/voice/usage', a), 500, { error: 'ELEVENLABS_API_KEY not configured' });
    assertJson(await req(plain.url, 'POST', '/v1/voice/conversations', { body: {} }), 400,
        bodies.validation('body/agentId Invalid input: expected string, received undefined'));
    assertJson(await req(plain.url, 'POST', '/v1/voice/conversations', { body: { agentId: 'a' } }), 401, bodies.missingAuth);
    assertJson(await req(plain.url, 'GET', '/v1/voice/usage'), 401, bodies.missingAuth);
    // The removed route stays removed.
    assertJson(await authReq(plain.url, 'POST', '/v1/voice/token', a, { body: { agentId: 'a' } }), 404,
        bodies.notFound('/v1/voice/token', 'POST'));
});

test('voice without REVENUECAT_API_KEY: conversations refuse before any request', T, async () => {
    const a = await authAccount(halfway.url);
    assertJson(await authReq(halfway.url, 'POST', '/v1/voice/conversations', a, { body: { agentId: 'x' } }),
        500, { error: 'REVENUECAT_API_KEY not configured' });
});

test('voice usage: ElevenLabs usage and RevenueCat entitlement, exact requests', T, async () => {
    const a = await authAccount(voice.url);
    rx.clear();
    rx.on('GET', '/v1/convai/conversations', conversations([100, 50, 7]));
    rx.on('GET', `/rc/v2/projects/proj493735ad/customers/${a.sub}/active_entitlements`, { json: { items: [{ entitlement_id: 'pro' }] } });
    assertJson(await authReq(voice.url, 'GET', '/v1/voice/usage', a), 200, {
        usedSeconds: 157, limitSeconds: 18000, conversationCount: 3, conversationLimit: 100, elevenUserId: elevenUserId(a.sub),
    });
    assert.equal(rx.requests.length, 2);
    assertUsageRequest(rx.requests.find((r) => r.path.endsWith('/conversations')), a.sub);
    assertRevenueCatRequest(rx.requests.find((r) => r.path.startsWith('/rc/')), a.sub);

    // No entitlement / RevenueCat failing ⇒ free tier; ElevenLabs failing ⇒ zero usage.
    rx.clear();
    rx.on('GET', '/v1/convai/conversations', { status: 503, json: { detail: 'busy' } });
    rx.on('GET', `/rc/v2/projects/proj493735ad/customers/${a.sub}/active_entitlements`, { status: 500, body: 'x' });
    assertJson(await authReq(voice.url, 'GET', '/v1/voice/usage', a), 200, {
        usedSeconds: 0, limitSeconds: 1200, conversationCount: 0, conversationLimit: 100, elevenUserId: elevenUserId(a.sub),
    });
    // Without a RevenueCat key: not subscribed, and RevenueCat is never asked.
    const b = await authAccount(halfway.url);
    rx.clear();
    rx.on('GET', '/v1/convai/conversations', conversations([5]));
    assertJson(await authReq(halfway.url, 'GET', '/v1/voice/usage', b), 200, {
        usedSeconds: 5, limitSeconds: 1200, conversationCount: 1, conversationLimit: 100, elevenUserId: elevenUserId(b.sub),
    });
    assert.equal(rx.requests.length, 1);
    // ElevenLabs unreachable / not JSON.
    const c = await authAccount(down.url);
    assertJson(await authReq(down.url, 'GET', '/v1/voice/usage', c), 500, { error: 'Failed to get voice usage' });
    rx.clear();
    rx.on('GET', '/v1/convai/conversations', { body: 'not json' });
    assertJson(await authReq(voice.url, 'GET', '/v1/voice/usage', a), 500, { error: 'Failed to get voice usage' });
});

test('voice usage asks ElevenLabs and RevenueCat at the same time (upstream Promise.all)', T, async () => {
    const a = await authAccount(voice.url);
    rx.clear();
    // Each fake service answers only once both requests have arrived; asked one after the other, the first
    // would wait forever and the route would time out.
    let arrived = 0;
    let release;
    const both = new Promise((resolve) => { release = resolve; });
    const hold = (answer) => async () => {
        if (++arrived === 2) release();
        await both;
        return answer;
    };
    rx.on('GET', '/v1/convai/conversations', hold(conversations([60])));
    rx.on('GET', `/rc/v2/projects/proj493735ad/customers/${a.sub}/active_entitlements`, hold({ json: { items: [{}] } }));
    assertJson(await authReq(voice.url, 'GET', '/v1/voice/usage', a, { timeoutMs: 8000 }), 200, {
        usedSeconds: 60, limitSeconds: 18000, conversationCount: 1, conversationLimit: 100, elevenUserId: elevenUserId(a.sub),
    });
    assert.equal(arrived, 2);
});

test('voice conversation granted: token from ElevenLabs, conversation id from the JWT room', T, async () => {
    const a = await authAccount(voice.url);
    rx.clear();
    rx.on('GET', '/v1/convai/conversations', conversations([300]));
    const token = livekitToken('room_conv_01jxAbC9_extra');
    rx.on('GET', '/v1/convai/conversation/token', { json: { token } });
    assertJson(await authReq(voice.url, 'POST', '/v1/voice/conversations', a, { body: { agentId: 'agent_7' } }),
        200, {
            allowed: true, conversationToken: token, conversationId: 'conv_01jxAbC9', agentId: 'agent_7',
            elevenUserId: elevenUserId(a.sub), usedSeconds: 300, limitSeconds: 1200,
        });
    // Below the free tier RevenueCat is not asked.
    assert.deepEqual(rx.requests.map((r) => r.path), ['/v1/convai/conversations', '/v1/convai/conversation/token']);
    assertUsageRequest(rx.requests[0], a.sub);
    const t = rx.requests[1];
    assert.equal(t.url, `/v1/convai/conversation/token?agent_id=agent_7&participant_name=${elevenUserId(a.sub)}`);
    assert.equal(t.headers['xi-api-key'], 'xi-key');
});

test('voice conversation gating: count cap, hard cap, subscription', T, async () => {
    const a = await authAccount(voice.url);
    const post = () => authReq(voice.url, 'POST', '/v1/voice/conversations', a, { body: { agentId: 'ag' } });
    const rcPath = `/rc/v2/projects/proj493735ad/customers/${a.sub}/active_entitlements`;
    const setup = (durations, items) => {
        rx.clear();
        rx.on('GET', '/v1/convai/conversations', conversations(durations));
        if (items) rx.on('GET', rcPath, { json: { items } });
        rx.on('GET', '/v1/convai/conversation/token', { json: { token: livekitToken('conv_zz9') } });
    };
    setup(new Array(100).fill(1));
    assertJson(await post(), 200, { allowed: false, reason: 'voice_conversation_limit_reached', usedSeconds: 100,
        limitSeconds: 18000, agentId: 'ag' });
    assert.equal(rx.requests.length, 1);
    setup([18000]);
    assertJson(await post(), 200, { allowed: false, reason: 'voice_hard_limit_reached', usedSeconds: 18000,
        limitSeconds: 18000, agentId: 'ag' });
    assert.equal(rx.requests.length, 1, 'no RevenueCat, no token request');
    setup([1000, 200], []);
    assertJson(await post(), 200, { allowed: false, reason: 'subscription_required', usedSeconds: 1200,
        limitSeconds: 1200, agentId: 'ag' });
    assert.equal(rx.requests.length, 2);
    assertRevenueCatRequest(rx.requests[1], a.sub);
    setup([1000, 200], [{ entitlement_id: 'voice' }]);
    const granted = await post();
    assert.equal(granted.status, 200);
    assert.equal(granted.json.allowed, true);
    assert.equal(granted.json.conversationId, 'conv_zz9');
    assert.equal(granted.json.limitSeconds, 18000);
    assert.equal(rx.requests.length, 3);
});

test('voice conversation errors: token request, conversation id, unreachable ElevenLabs', T, async () => {
    const a = await authAccount(voice.url);
    const post = (srv = voice, acct = a) => authReq(srv.url, 'POST', '/v1/voice/conversations', acct,
        { body: { agentId: 'ag' } });
    rx.clear();
    rx.on('GET', '/v1/convai/conversations', conversations([]));
    rx.on('GET', '/v1/convai/conversation/token', { status: 401, json: { detail: 'bad key' } });
    assertJson(await post(), 500, { error: 'Failed to get voice credentials' });
    rx.on('GET', '/v1/convai/conversation/token', { json: { token: 'no-dots' } });
    assertJson(await post(), 500, { error: 'Failed to get voice credentials' });
    rx.on('GET', '/v1/convai/conversation/token', { json: {} });
    assertJson(await post(), 500, { error: 'Failed to get voice credentials' });
    rx.on('GET', '/v1/convai/conversation/token', { json: { token: livekitToken('room-without-id') } });
    assertJson(await post(), 500, { error: 'Failed to get conversation ID' });
    // The usage query is not guarded upstream: a network error is the route's filtered generic 500.
    const c = await authAccount(down.url);
    assertJson(await post(down, c), 500, { error: 'Internal Server Error' });
});
