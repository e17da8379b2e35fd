// Voice (http-api.md §3.15, §6 item 30): POST /v1/voice/conversations and GET /v1/voice/usage. Without
// ELEVENLABS_API_KEY (and REVENUECAT_API_KEY for conversations) the routes answer upstream's 500s and the server
// sends nothing anywhere.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
    TEST_TIMEOUT, HOOK_TIMEOUT, startServer, authAccount, req, bearer, bodies, assertJson, TEST_SECRET,
} from './harness.mjs';

const T = { timeout: TEST_TIMEOUT };

let plain;    // nothing configured
let halfway;  // ElevenLabs key only

before(async () => {
    [plain, halfway] = await Promise.all([
        startServer({ env: { HANDY_MASTER_SECRET: TEST_SECRET } }),
        startServer({ env: { HANDY_MASTER_SECRET: TEST_SECRET, ELEVENLABS_API_KEY: 'xi-key' } }),
    ]);
}, { timeout: HOOK_TIMEOUT });
after(async () => { await Promise.all([plain?.stop(), halfway?.stop()]); }, { timeout: HOOK_TIMEOUT });

test('voice not configured: upstream 500s, validation before auth', T, async () => {
    const a = await authAccount(plain.url);
    const h = bearer(a.token);
    assertJson(await req(plain.url, 'POST', '/v1/voice/conversations', { headers: h, body: { agentId: 'agent_1' } }), 500,
        { error: 'ELEVENLABS_API_KEY not configured' });
    assertJson(await req(plain.url, 'GET', '/v1/voice/usage', { headers: h }), 500, { error: 'ELEVENLABS_API_KEY not configured' });
    assertJson(await req(plain.url, 'POST', '/v1/voice/conversations', { body: {} }), 400,
        bodies.validation('body/agentId Invalid input: expected string, received undefined'));
    assertJson(await req(plain.url, 'POST', '/v1/voice/conversations', { body: { agentId: 'a' } }), 401, bodies.missingAuth);
    assertJson(await req(plain.url, 'GET', '/v1/voice/usage'), 401, bodies.missingAuth);
    // The removed route stays removed.
    assertJson(await req(plain.url, 'POST', '/v1/voice/token', { headers: h, body: { agentId: 'a' } }), 404,
        bodies.notFound('/v1/voice/token', 'POST'));
});

test('voice without REVENUECAT_API_KEY: conversations refuse before any request', T, async () => {
    const a = await authAccount(halfway.url);
    assertJson(await req(halfway.url, 'POST', '/v1/voice/conversations', { headers: bearer(a.token), body: { agentId: 'x' } }),
        500, { error: 'REVENUECAT_API_KEY not configured' });
});
