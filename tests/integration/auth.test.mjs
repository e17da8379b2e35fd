// Foundation milestone: authentication routes and token compatibility.
// Spec: http-api.md §2.7, §2.8, §3.2, §6, §8; observed.md; tokens.md.

import test, { before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
    startServer, req, assertJson, bodies, authAccount, bearer, randomBoxKey, keyContaining,
    b64, b64url, randomBytes, newEd25519, edSign, decodeJwt, verifyJwtSignature, mintJwt,
    deriveTokenKeyPair, testTokenKeyPair, nowSec, TEST_SECRET, TEST_SEED_HEX, TEST_PUBLIC_KEY_HEX,
    TEST_VECTOR_TOKEN, TEST_VECTOR_CLAIMS_TEXT, CUID_RE, UUID_V4_RE, JSON_CT, TEST_TIMEOUT, HOOK_TIMEOUT,
} from './harness.mjs';

const T = { timeout: TEST_TIMEOUT };
const TEST_PUB = Buffer.from(TEST_PUBLIC_KEY_HEX, 'hex');
const OTHER_SECRET = 'a-completely-different-master-secret';

let srv;    // HANDY_MASTER_SECRET=test-master-secret
let other;  // HANDY_MASTER_SECRET=<other>

before(async () => {
    [srv, other] = await Promise.all([
        startServer({ env: { HANDY_MASTER_SECRET: TEST_SECRET } }),
        startServer({ env: { HANDY_MASTER_SECRET: OTHER_SECRET } }),
    ]);
}, { timeout: HOOK_TIMEOUT });
after(async () => { await Promise.all([srv?.stop(), other?.stop()]); }, { timeout: HOOK_TIMEOUT });

/** An authenticated request that reaches the handler answers 404 Request not found for an unknown key. */
async function probeAuth(url, authorization) {
    const headers = authorization === undefined ? {} : { authorization };
    return req(url, 'POST', '/v1/auth/response', { headers, body: { response: 'probe', publicKey: randomBoxKey() } });
}
const assertAuthPasses = async (url, authorization, msg) =>
    assertJson(await probeAuth(url, authorization), 404, bodies.requestNotFound, msg);
const assertInvalidToken = async (url, authorization, msg) =>
    assertJson(await probeAuth(url, authorization), 401, bodies.invalidToken, msg);

/** Token structure shared by every account token (tokens.md "Token layout"). */
function checkTokenShape(token, { extraKeys = [] } = {}) {
    assert.match(token, /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/, 'compact JWS, unpadded base64url');
    const d = decodeJwt(token);
    assert.equal(d.headerText, '{"alg":"EdDSA"}', 'header');
    assert.deepEqual(Object.keys(d.payload), ['sub', ...extraKeys, 'iat', 'nbf', 'iss', 'jti'], 'payload key order');
    assert.equal(d.payloadText, JSON.stringify(d.payload), 'payload is compact JSON');
    assert.match(d.payload.sub, CUID_RE, 'sub is a cuid');
    assert.ok(Number.isInteger(d.payload.iat), 'iat integer seconds');
    assert.ok(Math.abs(d.payload.iat - nowSec()) <= 120, `iat ${d.payload.iat} near now`);
    assert.equal(d.payload.nbf, d.payload.iat, 'nbf = iat');
    assert.equal(d.payload.iss, 'handy');
    assert.match(d.payload.jti, UUID_V4_RE, 'jti uuid v4');
    assert.equal(d.signature.length, 64, 'Ed25519 signature length');
    return d;
}

function loginBody(kp, challenge = randomBytes(32)) {
    return { publicKey: b64(kp.publicRaw), challenge: b64(challenge), signature: b64(edSign(kp.privateKey, challenge)) };
}

// ------------------------------------------------------------------------------------------------
// Test-helper sanity (tokens.md vectors) — failures here are bugs in the tests, not the server.
// ------------------------------------------------------------------------------------------------

test('tokens.md vectors: PBKDF2 seed, public key, deterministic token', T, async () => {
    const kp = deriveTokenKeyPair(TEST_SECRET);
    assert.equal(Buffer.from(kp.seed).toString('hex'), TEST_SEED_HEX);
    assert.equal(kp.publicRaw.toString('hex'), TEST_PUBLIC_KEY_HEX);
    assert.equal(mintJwt({ payload: TEST_VECTOR_CLAIMS_TEXT, privateKey: kp.privateKey }), TEST_VECTOR_TOKEN);
    assert.ok(verifyJwtSignature(TEST_VECTOR_TOKEN, TEST_PUB));
});

// ------------------------------------------------------------------------------------------------
// POST /v1/auth
// ------------------------------------------------------------------------------------------------

test('POST /v1/auth: success returns {"success":true,"token":...} with an upstream-format token', T, async () => {
    const kp = newEd25519();
    const r = await req(srv.url, 'POST', '/v1/auth', { body: loginBody(kp) });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.headers['content-type'], JSON_CT);
    assert.match(r.text, /^\{"success":true,"token":"[^"]+"\}$/);
    assert.deepEqual(Object.keys(r.json), ['success', 'token']);
    const d = checkTokenShape(r.json.token);
    assert.ok(verifyJwtSignature(r.json.token, TEST_PUB),
        'token must verify with the public key derived from HANDY_MASTER_SECRET=test-master-secret (c4cd5f21…)');
    assert.equal(d.payload.iss, 'handy');
    await assertAuthPasses(srv.url, `Bearer ${r.json.token}`, 'fresh token authenticates');
});

test('POST /v1/auth: same key twice -> same account (sub), new token each time', T, async () => {
    const kp = newEd25519();
    const a = await authAccount(srv.url, { keyPair: kp });
    const b = await authAccount(srv.url, { keyPair: kp });
    assert.equal(a.sub, b.sub);
    assert.notEqual(a.token, b.token);
    assert.notEqual(decodeJwt(a.token).payload.jti, decodeJwt(b.token).payload.jti);
    const c = await authAccount(srv.url);
    assert.notEqual(c.sub, a.sub, 'different key -> different account');
});

test('POST /v1/auth: challenge may be empty or long; the same challenge can be replayed', T, async () => {
    const kp = newEd25519();
    const empty = await authAccount(srv.url, { keyPair: kp, challenge: Buffer.alloc(0) });
    const long = await authAccount(srv.url, { keyPair: kp, challenge: randomBytes(4096) });
    assert.equal(empty.sub, long.sub);
    const fixed = Buffer.from('replayed challenge');
    const r1 = await authAccount(srv.url, { keyPair: kp, challenge: fixed });
    const r2 = await authAccount(srv.url, { keyPair: kp, challenge: fixed });
    assert.equal(r1.sub, r2.sub);
});

test('POST /v1/auth: signature that does not verify -> 401 Invalid signature', T, async () => {
    const kp = newEd25519();
    const kp2 = newEd25519();
    const ch = randomBytes(32);
    const good = loginBody(kp, ch);

    const overOther = { ...good, signature: b64(edSign(kp.privateKey, randomBytes(32))) };
    const byOtherKey = { ...good, signature: b64(edSign(kp2.privateKey, ch)) };
    const flipped = Buffer.from(good.signature, 'base64'); flipped[5] ^= 0x01;
    const flippedSig = { ...good, signature: b64(flipped) };
    const otherPk = { ...good, publicKey: b64(kp2.publicRaw) };
    const otherChallenge = { ...good, challenge: b64(randomBytes(32)) };
    const zeroSig = { ...good, signature: b64(Buffer.alloc(64)) };

    for (const [name, body] of Object.entries({ overOther, byOtherKey, flippedSig, otherPk, otherChallenge, zeroSig })) {
        const r = await req(srv.url, 'POST', '/v1/auth', { body });
        assertJson(r, 401, bodies.invalidSignature, name);
    }
});

test('POST /v1/auth: non-strict base64 in any field -> 500 generic', T, async () => {
    const cases = {};
    // unpadded challenge (observed.md)
    {
        const kp = newEd25519();
        const ch = randomBytes(1); // base64 "xx=="
        const body = loginBody(kp, ch);
        assert.ok(body.challenge.endsWith('=='));
        cases.unpaddedChallenge = { ...body, challenge: body.challenge.replace(/=+$/, '') };
    }
    {
        const kp = newEd25519();
        const ch = randomBytes(2); // base64 "xxx="
        const body = loginBody(kp, ch);
        cases.unpaddedChallenge2 = { ...body, challenge: body.challenge.replace(/=+$/, '') };
    }
    // URL-safe alphabet in the public key / signature / challenge
    {
        let kp;
        do { kp = newEd25519(); } while (!/[+/]/.test(b64(kp.publicRaw)));
        const body = loginBody(kp);
        cases.urlSafePublicKey = { ...body, publicKey: body.publicKey.replace(/\+/g, '-').replace(/\//g, '_') };
    }
    {
        const kp = newEd25519();
        let body;
        do { body = loginBody(kp); } while (!/[+/]/.test(body.signature));
        cases.urlSafeSignature = { ...body, signature: body.signature.replace(/\+/g, '-').replace(/\//g, '_') };
    }
    {
        const kp = newEd25519();
        const ch = keyContaining('+', 30);
        const body = loginBody(kp, ch);
        cases.urlSafeChallenge = { ...body, challenge: body.challenge.replace(/\+/g, '-') };
    }
    {
        const kp = newEd25519();
        const body = loginBody(kp, randomBytes(6));
        cases.whitespaceInChallenge = { ...body, challenge: `${body.challenge.slice(0, 4)} ${body.challenge.slice(4)}` };
        cases.invalidCharInPublicKey = { ...body, publicKey: `!${body.publicKey.slice(1)}` };
        cases.signatureWithoutPadding = { ...body, signature: body.signature.replace(/=+$/, '') };
    }
    for (const [name, body] of Object.entries(cases)) {
        const r = await req(srv.url, 'POST', '/v1/auth', { body });
        assertJson(r, 500, bodies.internal, name);
    }
});

test('POST /v1/auth: wrong public key or signature length -> 500 generic (not 401)', T, async () => {
    const kp = newEd25519();
    const ch = randomBytes(32);
    const good = loginBody(kp, ch);
    const sig = Buffer.from(good.signature, 'base64');
    const cases = {
        pk31: { ...good, publicKey: b64(kp.publicRaw.subarray(0, 31)) },
        pk33: { ...good, publicKey: b64(Buffer.concat([kp.publicRaw, Buffer.from([0])])) },
        pk0: { ...good, publicKey: '' },
        sig63: { ...good, signature: b64(sig.subarray(0, 63)) },
        sig65: { ...good, signature: b64(Buffer.concat([sig, Buffer.from([0])])) },
        sig0: { ...good, signature: '' },
    };
    for (const [name, body] of Object.entries(cases)) {
        const r = await req(srv.url, 'POST', '/v1/auth', { body });
        assertJson(r, 500, bodies.internal, name);
    }
});

// ------------------------------------------------------------------------------------------------
// Authorization header handling (on POST /v1/auth/response, the Foundation's authenticated route)
// ------------------------------------------------------------------------------------------------

test('auth header: missing or not "Bearer " -> 401 Missing authorization header', T, async () => {
    const { token } = await authAccount(srv.url);
    for (const h of [undefined, 'Bearer ', 'Bearer', `bearer ${token}`, `BEARER ${token}`, `Basic ${token}`,
        `Token ${token}`, token, '']) {
        const r = await probeAuth(srv.url, h);
        assertJson(r, 401, bodies.missingAuth, `authorization=${JSON.stringify(h && h.slice(0, 20))}`);
        assert.equal(r.headers['access-control-allow-origin'], '*');
    }
});

test('auth header: token that fails verification -> 401 Invalid token', T, async () => {
    const { token } = await authAccount(srv.url);
    const [h, p, s] = token.split('.');
    const random = newEd25519();
    const forged = mintJwt({ payload: decodeJwt(token).payloadText, privateKey: random.privateKey });
    const badSig = Buffer.from(s, 'base64url'); badSig[0] ^= 0xff;
    const cases = {
        garbage: 'Bearer garbage',
        dots: 'Bearer a.b.c',
        twoParts: `Bearer ${h}.${p}`,
        forgedByOtherKey: `Bearer ${forged}`,
        flippedSignature: `Bearer ${h}.${p}.${b64url(badSig)}`,
        shortSignature: `Bearer ${h}.${p}.${b64url(badSig.subarray(0, 32))}`,
        tamperedPayload: `Bearer ${h}.${b64url(decodeJwt(token).payloadText.replace(/"sub":"[^"]+"/, '"sub":"cattacker000000000000000000"'))}.${s}`,
        extraLeadingSpace: `Bearer  ${token}`,
        withQuotes: `Bearer "${token}"`,
    };
    for (const [name, value] of Object.entries(cases)) {
        await assertInvalidToken(srv.url, value, name);
    }
});

test('auth header: trailing whitespace after a valid token is ignored (HTTP OWS)', T, async () => {
    const { token } = await authAccount(srv.url);
    await assertAuthPasses(srv.url, `Bearer ${token} `, 'trailing space');
    await assertAuthPasses(srv.url, `Bearer ${token}`, 'plain');
});

// ------------------------------------------------------------------------------------------------
// Token compatibility with upstream (shared HANDY_MASTER_SECRET)
// ------------------------------------------------------------------------------------------------

test('tokens.md test-vector token is accepted with HANDY_MASTER_SECRET=test-master-secret', T, async () => {
    // sub "cmvector" does not exist: the middleware does not check account existence.
    await assertAuthPasses(srv.url, `Bearer ${TEST_VECTOR_TOKEN}`, 'vector token');
    const r = await req(srv.url, 'POST', '/v1/auth/account/response',
        { headers: bearer(TEST_VECTOR_TOKEN), body: { response: 'x', publicKey: randomBoxKey() } });
    assertJson(r, 404, bodies.requestNotFound);
});

test('the same vector token is rejected by a server with a different secret', T, async () => {
    await assertInvalidToken(other.url, `Bearer ${TEST_VECTOR_TOKEN}`, 'vector token on other secret');
});

test('tokens do not cross secrets in either direction', T, async () => {
    const a = await authAccount(srv.url);
    const b = await authAccount(other.url);
    await assertInvalidToken(other.url, `Bearer ${a.token}`, 'test-secret token on other server');
    await assertInvalidToken(srv.url, `Bearer ${b.token}`, 'other-secret token on test server');
    assert.equal(verifyJwtSignature(b.token, TEST_PUB), false);
    await assertAuthPasses(other.url, `Bearer ${b.token}`, 'other token on its own server');
});

test('server-issued tokens verify with the spec public key c4cd5f21… (node:crypto Ed25519)', T, async () => {
    for (let i = 0; i < 3; i++) {
        const { token } = await authAccount(srv.url);
        checkTokenShape(token);
        assert.ok(verifyJwtSignature(token, TEST_PUB), `token ${i} must verify with the spec public key`);
    }
});

test('verification rules: tokens minted by the test with the test-secret key', T, async () => {
    const { privateKey } = testTokenKeyPair();
    const now = nowSec();
    const base = (extra = {}) => ({ sub: 'cmintedbytests000000000000', iat: now, nbf: now, iss: 'handy',
        jti: '11111111-1111-4111-8111-111111111111', ...extra });
    const mint = (payload, header) => mintJwt({ payload, header, privateKey });

    const accepted = {
        standard: mint(base()),
        algEd25519: mint(base(), { alg: 'Ed25519' }),
        expInFuture: mint(base({ exp: now + 3600 })),
        iatInFuture: mint(base({ iat: now + 3600 })),
        noNbf: mint({ sub: 'cmintedbytests000000000000', iat: now, iss: 'handy', jti: 'x' }),
        extraClaim: mint({ sub: 'cmintedbytests000000000000', session: 'cabc', iat: now, nbf: now, iss: 'handy', jti: 'y' }),
    };
    for (const [name, token] of Object.entries(accepted)) {
        await assertAuthPasses(srv.url, `Bearer ${token}`, `should accept: ${name}`);
    }

    const rejected = {
        nbfInFuture: mint(base({ nbf: now + 3600 })),
        expInPast: mint(base({ exp: now - 60 })),
        issGithub: mint(base({ iss: 'github-happy' })),
        issMissing: mint({ sub: 'cmintedbytests000000000000', iat: now, nbf: now, jti: 'z' }),
        iatNotNumber: mint(base({ iat: 'yesterday' })),
        algNone: mintJwt({ header: { alg: 'none' }, payload: base(), signature: Buffer.alloc(0) }),
        algHS256: mint(base(), { alg: 'HS256' }),
        signedByRandomKey: mintJwt({ payload: base(), privateKey: newEd25519().privateKey }),
    };
    for (const [name, token] of Object.entries(rejected)) {
        await assertInvalidToken(srv.url, `Bearer ${token}`, `should reject: ${name}`);
    }
});

// ------------------------------------------------------------------------------------------------
// Terminal (CLI) pairing: /v1/auth/request, /v1/auth/request/status, /v1/auth/response
// ------------------------------------------------------------------------------------------------

const status = (url, publicKeyQuery) => req(url, 'GET', `/v1/auth/request/status?publicKey=${publicKeyQuery}`);
const statusOf = (url, keyB64) => status(url, encodeURIComponent(keyB64));

test('POST /v1/auth/request creates a request -> {"state":"requested"} (idempotent)', T, async () => {
    const key = randomBoxKey();
    assertJson(await req(srv.url, 'POST', '/v1/auth/request', { body: { publicKey: key } }), 200, { state: 'requested' });
    assertJson(await req(srv.url, 'POST', '/v1/auth/request', { body: { publicKey: key } }), 200, { state: 'requested' });
    assertJson(await statusOf(srv.url, key), 200, { status: 'pending', supportsV2: false });
});

test('POST /v1/auth/request: wrong key length -> 401 Invalid public key; bad base64 -> 500', T, async () => {
    for (const n of [0, 16, 31, 33, 64]) {
        const r = await req(srv.url, 'POST', '/v1/auth/request', { body: { publicKey: b64(randomBytes(n)) } });
        assertJson(r, 401, bodies.invalidPublicKey, `${n} bytes`);
    }
    const k = keyContaining('/');
    for (const bad of [b64(randomBytes(32)).replace(/=+$/, ''), b64(k).replace(/\//g, '_'), 'not base64!']) {
        const r = await req(srv.url, 'POST', '/v1/auth/request', { body: { publicKey: bad } });
        assertJson(r, 500, bodies.internal, JSON.stringify(bad));
    }
});

test('GET /v1/auth/request/status: supportsV2 stored on creation, later calls do not modify it', T, async () => {
    const kTrue = randomBoxKey();
    const kFalse = randomBoxKey();
    const kNull = randomBoxKey();
    assertJson(await req(srv.url, 'POST', '/v1/auth/request', { body: { publicKey: kTrue, supportsV2: true } }), 200, { state: 'requested' });
    assertJson(await req(srv.url, 'POST', '/v1/auth/request', { body: { publicKey: kFalse, supportsV2: false } }), 200, { state: 'requested' });
    assertJson(await req(srv.url, 'POST', '/v1/auth/request', { body: { publicKey: kNull, supportsV2: null } }), 200, { state: 'requested' });
    assertJson(await statusOf(srv.url, kTrue), 200, { status: 'pending', supportsV2: true });
    assertJson(await statusOf(srv.url, kFalse), 200, { status: 'pending', supportsV2: false });
    assertJson(await statusOf(srv.url, kNull), 200, { status: 'pending', supportsV2: false });

    // a later call with a different supportsV2 does not modify the row
    assertJson(await req(srv.url, 'POST', '/v1/auth/request', { body: { publicKey: kTrue, supportsV2: false } }), 200, { state: 'requested' });
    assertJson(await req(srv.url, 'POST', '/v1/auth/request', { body: { publicKey: kFalse, supportsV2: true } }), 200, { state: 'requested' });
    assertJson(await statusOf(srv.url, kTrue), 200, { status: 'pending', supportsV2: true });
    assertJson(await statusOf(srv.url, kFalse), 200, { status: 'pending', supportsV2: false });
});

test('GET /v1/auth/request/status: not_found for unknown, short or empty keys', T, async () => {
    assertJson(await statusOf(srv.url, randomBoxKey()), 200, { status: 'not_found', supportsV2: false });
    assertJson(await statusOf(srv.url, b64(randomBytes(16))), 200, { status: 'not_found', supportsV2: false });
    assertJson(await statusOf(srv.url, b64(randomBytes(33))), 200, { status: 'not_found', supportsV2: false });
    assertJson(await status(srv.url, ''), 200, { status: 'not_found', supportsV2: false });
});

test('GET /v1/auth/request/status: "+" must be percent-encoded; raw "+" (space) and bad base64 -> 500', T, async () => {
    const raw = keyContaining('+');
    const key = b64(raw);
    assertJson(await req(srv.url, 'POST', '/v1/auth/request', { body: { publicKey: key, supportsV2: true } }), 200, { state: 'requested' });
    assertJson(await status(srv.url, key.replace(/\+/g, '%2B').replace(/\//g, '%2F').replace(/=/g, '%3D')), 200,
        { status: 'pending', supportsV2: true });
    // unencoded: "+" decodes to a space, strict base64 decoder throws (observed.md)
    assertJson(await status(srv.url, key.replace(/=/g, '%3D')), 500, bodies.internal, 'unencoded +');
    assertJson(await status(srv.url, 'abc'), 500, bodies.internal, 'bad base64');
});

test('GET /v1/auth/request/status: query validation', T, async () => {
    assertJson(await req(srv.url, 'GET', '/v1/auth/request/status'), 400,
        bodies.validation('querystring/publicKey Invalid input: expected string, received undefined'));
    assertJson(await req(srv.url, 'GET', '/v1/auth/request/status?other=1'), 400,
        bodies.validation('querystring/publicKey Invalid input: expected string, received undefined'));
    const k = encodeURIComponent(randomBoxKey());
    assertJson(await req(srv.url, 'GET', `/v1/auth/request/status?publicKey=${k}&publicKey=${k}`), 400,
        bodies.validation('querystring/publicKey Invalid input: expected string, received array'));
});

test('POST /v1/auth/response: 401 Invalid public key / 404 Request not found / 500 bad base64', T, async () => {
    const { token } = await authAccount(srv.url);
    for (const n of [0, 31, 33]) {
        const r = await req(srv.url, 'POST', '/v1/auth/response',
            { headers: bearer(token), body: { response: 'x', publicKey: b64(randomBytes(n)) } });
        assertJson(r, 401, bodies.invalidPublicKey, `${n} bytes`);
    }
    let r = await req(srv.url, 'POST', '/v1/auth/response',
        { headers: bearer(token), body: { response: 'x', publicKey: randomBoxKey() } });
    assertJson(r, 404, bodies.requestNotFound);
    r = await req(srv.url, 'POST', '/v1/auth/response',
        { headers: bearer(token), body: { response: 'x', publicKey: b64(randomBytes(32)).replace(/=+$/, '') } });
    assertJson(r, 500, bodies.internal, 'unpadded key');
    // without a token the auth check comes first, even with a wrong-length key
    r = await req(srv.url, 'POST', '/v1/auth/response', { body: { response: 'x', publicKey: b64(randomBytes(5)) } });
    assertJson(r, 401, bodies.missingAuth);
});

test('terminal pairing: approve, poll -> authorized token with session claim; first approver wins', T, async () => {
    const a = await authAccount(srv.url);
    const b = await authAccount(srv.url);
    const key = randomBoxKey();
    const responseA = b64(randomBytes(80));
    const responseB = b64(randomBytes(80));

    assertJson(await req(srv.url, 'POST', '/v1/auth/request', { body: { publicKey: key, supportsV2: true } }), 200, { state: 'requested' });
    assertJson(await statusOf(srv.url, key), 200, { status: 'pending', supportsV2: true });

    let r = await req(srv.url, 'POST', '/v1/auth/response', { headers: bearer(a.token), body: { response: responseA, publicKey: key } });
    assertJson(r, 200, { success: true });

    // status reports supportsV2:false once authorized
    assertJson(await statusOf(srv.url, key), 200, { status: 'authorized', supportsV2: false });

    // poll
    const poll1 = await req(srv.url, 'POST', '/v1/auth/request', { body: { publicKey: key } });
    assert.equal(poll1.status, 200, poll1.text);
    assert.equal(poll1.headers['content-type'], JSON_CT);
    assert.deepEqual(Object.keys(poll1.json), ['state', 'token', 'response']);
    assert.equal(poll1.json.state, 'authorized');
    assert.equal(poll1.json.response, responseA);
    assert.equal(poll1.text, JSON.stringify({ state: 'authorized', token: poll1.json.token, response: responseA }));
    const d1 = checkTokenShape(poll1.json.token, { extraKeys: ['session'] });
    assert.equal(d1.payload.sub, a.sub, 'token is for the approving account');
    assert.equal(typeof d1.payload.session, 'string');
    assert.match(d1.payload.session, CUID_RE, 'session claim is the request row id (cuid)');
    assert.ok(verifyJwtSignature(poll1.json.token, TEST_PUB));
    await assertAuthPasses(srv.url, `Bearer ${poll1.json.token}`, 'pairing token authenticates');

    // polling again: never consumed, fresh token, same session claim
    const poll2 = await req(srv.url, 'POST', '/v1/auth/request', { body: { publicKey: key, supportsV2: false } });
    assert.equal(poll2.status, 200);
    assert.equal(poll2.json.state, 'authorized');
    assert.equal(poll2.json.response, responseA);
    const d2 = checkTokenShape(poll2.json.token, { extraKeys: ['session'] });
    assert.notEqual(poll2.json.token, poll1.json.token);
    assert.equal(d2.payload.session, d1.payload.session);
    assert.equal(d2.payload.sub, a.sub);

    // second approval by another account: still success, nothing changes
    r = await req(srv.url, 'POST', '/v1/auth/response', { headers: bearer(b.token), body: { response: responseB, publicKey: key } });
    assertJson(r, 200, { success: true });
    // and by the first account again
    r = await req(srv.url, 'POST', '/v1/auth/response', { headers: bearer(a.token), body: { response: responseB, publicKey: key } });
    assertJson(r, 200, { success: true });
    const poll3 = await req(srv.url, 'POST', '/v1/auth/request', { body: { publicKey: key } });
    assert.equal(poll3.json.state, 'authorized');
    assert.equal(poll3.json.response, responseA, 'first approver wins');
    assert.equal(decodeJwt(poll3.json.token).payload.sub, a.sub);
    assertJson(await statusOf(srv.url, key), 200, { status: 'authorized', supportsV2: false });
});

test('terminal pairing: the response string is stored and returned verbatim', T, async () => {
    const { token } = await authAccount(srv.url);
    const key = randomBoxKey();
    assertJson(await req(srv.url, 'POST', '/v1/auth/request', { body: { publicKey: key } }), 200, { state: 'requested' });
    const weird = 'not base64 at all: ünïcödé ✓ "quoted" \\ backslash';
    assertJson(await req(srv.url, 'POST', '/v1/auth/response', { headers: bearer(token), body: { response: weird, publicKey: key } }),
        200, { success: true });
    const poll = await req(srv.url, 'POST', '/v1/auth/request', { body: { publicKey: key } });
    assert.equal(poll.status, 200);
    assert.equal(poll.json.state, 'authorized');
    assert.equal(poll.json.response, weird);
});

// ------------------------------------------------------------------------------------------------
// Account linking: /v1/auth/account/request, /v1/auth/account/response
// ------------------------------------------------------------------------------------------------

test('account linking: request, errors, approve, poll -> token without extra claims', T, async () => {
    const a = await authAccount(srv.url);
    const b = await authAccount(srv.url);
    const key = randomBoxKey();

    for (const n of [0, 31, 33]) {
        assertJson(await req(srv.url, 'POST', '/v1/auth/account/request', { body: { publicKey: b64(randomBytes(n)) } }),
            401, bodies.invalidPublicKey, `request ${n} bytes`);
        assertJson(await req(srv.url, 'POST', '/v1/auth/account/response',
            { headers: bearer(a.token), body: { response: 'x', publicKey: b64(randomBytes(n)) } }),
        401, bodies.invalidPublicKey, `response ${n} bytes`);
    }
    assertJson(await req(srv.url, 'POST', '/v1/auth/account/request', { body: { publicKey: 'abc' } }), 500, bodies.internal);

    assertJson(await req(srv.url, 'POST', '/v1/auth/account/response', { body: { response: 'x', publicKey: key } }),
        401, bodies.missingAuth);
    assertJson(await req(srv.url, 'POST', '/v1/auth/account/response',
        { headers: { authorization: 'Bearer nope' }, body: { response: 'x', publicKey: key } }), 401, bodies.invalidToken);
    assertJson(await req(srv.url, 'POST', '/v1/auth/account/response',
        { headers: bearer(a.token), body: { response: 'x', publicKey: key } }), 404, bodies.requestNotFound);

    assertJson(await req(srv.url, 'POST', '/v1/auth/account/request', { body: { publicKey: key, supportsV2: true } }),
        200, { state: 'requested' });
    assertJson(await req(srv.url, 'POST', '/v1/auth/account/request', { body: { publicKey: key } }), 200, { state: 'requested' });

    const responseA = b64(randomBytes(48));
    assertJson(await req(srv.url, 'POST', '/v1/auth/account/response',
        { headers: bearer(a.token), body: { response: responseA, publicKey: key } }), 200, { success: true });

    const poll = await req(srv.url, 'POST', '/v1/auth/account/request', { body: { publicKey: key } });
    assert.equal(poll.status, 200, poll.text);
    assert.equal(poll.headers['content-type'], JSON_CT);
    assert.deepEqual(Object.keys(poll.json), ['state', 'token', 'response']);
    assert.equal(poll.text, JSON.stringify({ state: 'authorized', token: poll.json.token, response: responseA }));
    const d = checkTokenShape(poll.json.token); // exactly sub, iat, nbf, iss, jti
    assert.equal(d.payload.sub, a.sub);
    assert.ok(verifyJwtSignature(poll.json.token, TEST_PUB));
    await assertAuthPasses(srv.url, `Bearer ${poll.json.token}`, 'linking token authenticates');

    // second approver: success, no change
    assertJson(await req(srv.url, 'POST', '/v1/auth/account/response',
        { headers: bearer(b.token), body: { response: 'other', publicKey: key } }), 200, { success: true });
    const poll2 = await req(srv.url, 'POST', '/v1/auth/account/request', { body: { publicKey: key } });
    assert.equal(poll2.json.state, 'authorized');
    assert.equal(poll2.json.response, responseA);
    assert.equal(decodeJwt(poll2.json.token).payload.sub, a.sub);
    assert.notEqual(poll2.json.token, poll.json.token);
});

test('terminal and account-linking requests are separate tables', T, async () => {
    const { token } = await authAccount(srv.url);
    const terminalKey = randomBoxKey();
    const accountKey = randomBoxKey();
    assertJson(await req(srv.url, 'POST', '/v1/auth/request', { body: { publicKey: terminalKey } }), 200, { state: 'requested' });
    assertJson(await req(srv.url, 'POST', '/v1/auth/account/request', { body: { publicKey: accountKey } }), 200, { state: 'requested' });

    assertJson(await req(srv.url, 'POST', '/v1/auth/account/response',
        { headers: bearer(token), body: { response: 'x', publicKey: terminalKey } }), 404, bodies.requestNotFound);
    assertJson(await req(srv.url, 'POST', '/v1/auth/response',
        { headers: bearer(token), body: { response: 'x', publicKey: accountKey } }), 404, bodies.requestNotFound);
    assertJson(await statusOf(srv.url, accountKey), 200, { status: 'not_found', supportsV2: false });
    assertJson(await statusOf(srv.url, terminalKey), 200, { status: 'pending', supportsV2: false });
});
