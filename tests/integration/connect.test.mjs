// Connect (http-api.md §3.12, §3.11 profile, §5 "Encryption at rest", §6 items 18/30/32; realtime.md §3 update-account):
// GitHub OAuth params/callback/webhook/disconnect and vendor tokens, with and without GitHub configured.
// Vendor tokens are checked at rest: the stored bytes are not the plaintext and decrypt with upstream's key tree
// (privacy-kit KeyTree) derived here independently from the master secret.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import {
    TEST_TIMEOUT, HOOK_TIMEOUT, startServer, authAccount, req, authReq, bearer, bodies, assertJson, decodeJwt,
    ed25519FromSeed, verifyJwtSignature, nowSec, userAuth, machineAuth, recordEvents, sleep, TEST_SECRET,
    writeConfigFile, sql, sqlHex, sqlBytes, named,
} from './harness.mjs';
import { clientsClosedAfterEach } from './clients.mjs';
import { startReceiver, closedPortUrl } from './receiver.mjs';

const T = { timeout: TEST_TIMEOUT };

const GITHUB = {
    GITHUB_CLIENT_ID: 'Iv1.client id',
    GITHUB_CLIENT_SECRET: 'client-secret',
    GITHUB_REDIRECT_URL: 'https://happy.example/v1/connect/github/callback?x=1&y=2',
    GITHUB_REDIRECT_URI: 'https://happy.example/cb',
    GITHUB_APP_ID: '12345',
    GITHUB_PRIVATE_KEY: '-----BEGIN RSA PRIVATE KEY-----\nabc\n-----END RSA PRIVATE KEY-----',
    GITHUB_WEBHOOK_SECRET: 'webhook secret',
};

let plain;   // nothing configured
let conf;    // GitHub configured (env, as upstream); GitHub itself is a local receiver
let down;    // GitHub configured, GitHub unreachable
let gh;      // the receiver

before(async () => {
    gh = await startReceiver();
    // exclusive off everywhere: sql() below reads the live databases (SQLite: with the sqlite3 tool).
    const shared = { storage: { sqlite: { exclusive: false } } };
    const github = (base) => writeConfigFile({
        ...shared, modules: { connect: { github: { oauth_url: `${base}/login/oauth`, api_url: `${base}/api` } } },
    });
    const unreachable = await closedPortUrl();
    [plain, conf, down] = await Promise.all([
        startServer({ env: { HANDY_MASTER_SECRET: TEST_SECRET, HAPPY_CONFIG: writeConfigFile(shared) } }),
        startServer({ env: { HANDY_MASTER_SECRET: TEST_SECRET, ...GITHUB, HAPPY_CONFIG: github(gh.url) } }),
        startServer({ env: { HANDY_MASTER_SECRET: TEST_SECRET, ...GITHUB, HAPPY_CONFIG: github(unreachable) } }),
    ]);
}, { timeout: HOOK_TIMEOUT });
after(async () => {
    await Promise.all([plain?.stop(), conf?.stop(), down?.stop()]);
    await gh?.close();
}, { timeout: HOOK_TIMEOUT });

const clients = clientsClosedAfterEach();

/** privacy-kit KeyTree over PBKDF2(secret, 'happy-server-tokens'): the AES key of a path. */
function keyTreeKey(secret, pathElems) {
    let state = crypto.pbkdf2Sync(Buffer.from(secret), Buffer.from('happy-server-tokens'), 210_000, 64, 'sha512');
    let i;
    for (const e of [...pathElems, '#aes256']) {
        i = crypto.createHmac('sha512', state).update(Buffer.concat([Buffer.from([0]), Buffer.from(e)])).digest();
        state = i.subarray(32);
    }
    return i.subarray(0, 32);
}
function keyTreeDecrypt(secret, pathElems, data) {
    assert.equal(data[0], 0, 'privacy-kit layout byte');
    const d = crypto.createDecipheriv('aes-256-gcm', keyTreeKey(secret, pathElems), data.subarray(1, 13));
    d.setAuthTag(data.subarray(data.length - 16));
    return Buffer.concat([d.update(data.subarray(13, data.length - 16)), d.final()]).toString('utf8');
}
function keyTreeEncrypt(secret, pathElems, text) {
    const nonce = crypto.randomBytes(12);
    const c = crypto.createCipheriv('aes-256-gcm', keyTreeKey(secret, pathElems), nonce);
    const body = Buffer.concat([c.update(Buffer.from(text)), c.final()]);
    return Buffer.concat([Buffer.from([0]), nonce, body, c.getAuthTag()]);
}

// ----- vendor tokens ---------------------------------------------------------------------------------------------

test('vendor tokens: register, read, list, delete; validation and auth order', T, async () => {
    const a = await authAccount(plain.url);
    const b = await authAccount(plain.url);
    assertJson(await authReq(plain.url, 'GET', '/v1/connect/tokens', a), 200, { tokens: [] });
    assertJson(await authReq(plain.url, 'GET', '/v1/connect/openai/token', a), 200, { token: null });

    assertJson(await authReq(plain.url, 'POST', '/v1/connect/openai/register', a, { body: { token: 'sk-one' } }),
        200, { success: true });
    assertJson(await authReq(plain.url, 'POST', '/v1/connect/gemini/register', a, { body: { token: 'g-ü✓' } }),
        200, { success: true });
    // Upsert: the second registration replaces the token.
    assertJson(await authReq(plain.url, 'POST', '/v1/connect/openai/register', a, { body: { token: 'sk-two', extra: 1 } }),
        200, { success: true });
    assertJson(await authReq(plain.url, 'GET', '/v1/connect/openai/token', a), 200, { token: 'sk-two' });
    assertJson(await authReq(plain.url, 'GET', '/v1/connect/gemini/token', a), 200, { token: 'g-ü✓' });
    assertJson(await authReq(plain.url, 'GET', '/v1/connect/tokens', a), 200,
        { tokens: [{ vendor: 'openai', token: 'sk-two' }, { vendor: 'gemini', token: 'g-ü✓' }] });
    // Another account sees nothing.
    assertJson(await authReq(plain.url, 'GET', '/v1/connect/tokens', b), 200, { tokens: [] });
    assertJson(await authReq(plain.url, 'GET', '/v1/connect/openai/token', b), 200, { token: null });

    // Profile lists the vendors.
    const prof = await authReq(plain.url, 'GET', '/v1/account/profile', a);
    assert.deepEqual(prof.json.connectedServices, ['openai', 'gemini']);
    assert.equal(prof.json.github, null);

    assertJson(await authReq(plain.url, 'DELETE', '/v1/connect/openai', a), 200, { success: true });
    assertJson(await authReq(plain.url, 'GET', '/v1/connect/openai/token', a), 200, { token: null });
    // Deleting a missing token is upstream's generic 500 (Prisma delete throws), not a 404.
    assertJson(await authReq(plain.url, 'DELETE', '/v1/connect/openai', a), 500, bodies.internal);
    assert.deepEqual((await authReq(plain.url, 'GET', '/v1/account/profile', a)).json.connectedServices, ['gemini']);

    // Validation before authentication, zod wording.
    const bad = 'params/vendor Invalid option: expected one of "openai"|"anthropic"|"gemini"';
    assertJson(await req(plain.url, 'POST', '/v1/connect/foo/register', { body: { token: 'x' } }), 400, bodies.validation(bad));
    assertJson(await authReq(plain.url, 'GET', '/v1/connect/github/token', a), 400, bodies.validation(bad));
    assertJson(await authReq(plain.url, 'DELETE', '/v1/connect/foo', a), 400, bodies.validation(bad));
    assertJson(await req(plain.url, 'POST', '/v1/connect/openai/register', { body: { token: 5 } }), 400,
        bodies.validation('body/token Invalid input: expected string, received number'));
    assertJson(await authReq(plain.url, 'POST', '/v1/connect/openai/register', a), 400,
        bodies.validation('body/ Invalid input: expected object, received null'));
    assertJson(await req(plain.url, 'POST', '/v1/connect/openai/register', { body: { token: 'x' } }), 401, bodies.missingAuth);
    assertJson(await req(plain.url, 'GET', '/v1/connect/tokens', { headers: bearer('nope') }), 401, bodies.invalidToken);
    assertJson(await req(plain.url, 'DELETE', '/v1/connect/anthropic'), 401, bodies.missingAuth);
});

test('vendor tokens are encrypted at rest with upstream key tree (both directions)', T, async () => {
    const a = await authAccount(plain.url);
    const secretToken = 'sk-ant-VERY-SECRET-1234567890';
    await authReq(plain.url, 'POST', '/v1/connect/anthropic/register', a, { body: { token: secretToken } });
    const hex = sql(plain, `SELECT ${sqlHex('token')} FROM service_account_token WHERE account_id = '${a.sub}' AND vendor = 'anthropic'`);
    const stored = Buffer.from(hex, 'hex');
    assert.ok(!stored.includes(Buffer.from(secretToken)), 'plaintext must not be stored');
    assert.ok(!stored.includes(Buffer.from('VERY-SECRET')), 'no part of the plaintext stored');
    assert.equal(stored.length, 1 + 12 + Buffer.byteLength(secretToken) + 16);
    const tokenPath = ['user', a.sub, 'vendors', 'anthropic', 'token'];
    assert.equal(keyTreeDecrypt(TEST_SECRET, tokenPath, stored), secretToken);
    // A row written the way upstream writes it decrypts here.
    const upstreamRow = keyTreeEncrypt(TEST_SECRET, ['user', a.sub, 'vendors', 'gemini', 'token'], 'from-upstream');
    sql(plain, `INSERT INTO service_account_token (id, account_id, vendor, token, created_at, updated_at) ` +
        `VALUES ('cupstreamrow0000000000000', '${a.sub}', 'gemini', ${sqlBytes(upstreamRow)}, 1, 1)`);
    assertJson(await authReq(plain.url, 'GET', '/v1/connect/gemini/token', a), 200, { token: 'from-upstream' });
    // A token that does not decrypt (other path) is a generic 500, as privacy-kit throws.
    const wrong = keyTreeEncrypt(TEST_SECRET, ['user', 'someone-else', 'vendors', 'openai', 'token'], 'x');
    sql(plain, `INSERT INTO service_account_token (id, account_id, vendor, token, created_at, updated_at) ` +
        `VALUES ('cwrongrow0000000000000000', '${a.sub}', 'openai', ${sqlBytes(wrong)}, 2, 2)`);
    assertJson(await authReq(plain.url, 'GET', '/v1/connect/openai/token', a), 500, bodies.internal);
    assertJson(await authReq(plain.url, 'GET', '/v1/connect/tokens', a), 500, bodies.internal);
});

// ----- GitHub, not configured -------------------------------------------------------------------------------------

test('GitHub not configured: params 400, callback redirects, webhook 500', T, async () => {
    const a = await authAccount(plain.url);
    assertJson(await authReq(plain.url, 'GET', '/v1/connect/github/params', a), 400,
        { error: 'GitHub OAuth not configured' });
    assertJson(await req(plain.url, 'GET', '/v1/connect/github/params'), 401, bodies.missingAuth);

    // A valid state (minted by the params route of a configured server with the same secret) but no client id.
    const p = await authReq(conf.url, 'GET', '/v1/connect/github/params', await authAccount(conf.url));
    const state = new URL(p.json.url).searchParams.get('state');
    let r = await req(plain.url, 'GET', `/v1/connect/github/callback?code=c&state=${state}`);
    assert.equal(r.status, 302);
    assert.equal(r.headers.location, 'https://app.happy.engineering?error=server_config');
    assert.equal(r.text, '');
    r = await req(plain.url, 'GET', '/v1/connect/github/callback?code=c&state=garbage');
    assert.equal(r.status, 302);
    assert.equal(r.headers.location, 'https://app.happy.engineering?error=invalid_state');
    assertJson(await req(plain.url, 'GET', '/v1/connect/github/callback?state=x'), 400,
        bodies.validation('querystring/code Invalid input: expected string, received undefined'));

    const body = JSON.stringify({ zen: 'hi' });
    r = await req(plain.url, 'POST', '/v1/connect/github/webhook', {
        rawBody: body, contentType: 'application/json',
        headers: { 'x-hub-signature-256': sign(GITHUB.GITHUB_WEBHOOK_SECRET, body), 'x-github-event': 'ping' },
    });
    assertJson(r, 500, { error: 'Webhooks not configured' });
    assertJson(await authReq(plain.url, 'DELETE', '/v1/connect/github', a), 200, { success: true });
});

// ----- GitHub configured ----------------------------------------------------------------------------------------

test('GitHub params: authorize URL with a 5-minute github-happy state token', T, async () => {
    const a = await authAccount(conf.url);
    const r = await authReq(conf.url, 'GET', '/v1/connect/github/params', a);
    assert.equal(r.status, 200);
    assert.deepEqual(Object.keys(r.json), ['url']);
    const url = r.json.url;
    // modules.connect.github.oauth_url points at the local receiver here (default https://github.com/login/oauth).
    const prefix = `${gh.url}/login/oauth/authorize?client_id=Iv1.client+id` +
        '&redirect_uri=https%3A%2F%2Fhappy.example%2Fv1%2Fconnect%2Fgithub%2Fcallback%3Fx%3D1%26y%3D2' +
        '&scope=read%3Auser%2Cuser%3Aemail%2Cread%3Aorg%2Ccodespace&state=';
    assert.ok(url.startsWith(prefix), url);
    const state = url.slice(prefix.length);
    const { header, payload } = decodeJwt(state);
    assert.deepEqual(header, { alg: 'EdDSA' });
    assert.deepEqual(Object.keys(payload), ['sub', 'iat', 'nbf', 'exp', 'iss', 'jti']);
    assert.equal(payload.sub, a.sub);
    assert.equal(payload.iss, 'github-happy');
    assert.ok(Math.abs(payload.exp - nowSec() - 300) <= 2);
    const seed = crypto.pbkdf2Sync(TEST_SECRET, 'github-happy Ephemeral Token', 210_000, 64, 'sha512').subarray(0, 32);
    assert.ok(verifyJwtSignature(state, ed25519FromSeed(seed).publicRaw), 'signed with the github-happy ephemeral key');
    // The account token is not a state token.
    const cb = await req(conf.url, 'GET', `/v1/connect/github/callback?code=c&state=${a.token}`);
    assert.equal(cb.headers.location, 'https://app.happy.engineering?error=invalid_state');
});

function sign(secret, body) {
    return 'sha256=' + crypto.createHmac('sha256', secret).update(body).digest('hex');
}

test('GitHub webhook: HMAC verified over the raw body', T, async () => {
    const hook = (body, headers, contentType = 'application/json') => req(conf.url, 'POST', '/v1/connect/github/webhook',
        { rawBody: body, contentType, headers });
    const secret = GITHUB.GITHUB_WEBHOOK_SECRET;
    // Whitespace and key order as GitHub sent them: the signature covers the bytes, not a re-serialisation.
    const body = '{ "zen": "Keep it logically awesome.",  "hook_id": 1 }';
    assertJson(await hook(body, { 'x-hub-signature-256': sign(secret, body), 'x-github-event': 'ping', 'x-github-delivery': 'd-1' }),
        200, { received: true });
    const push = JSON.stringify({ ref: 'refs/heads/main', repository: { full_name: 'o/r' }, pusher: { name: 'n' } });
    assertJson(await hook(push, { 'x-hub-signature-256': sign(secret, push), 'x-github-event': 'push' }), 200, { received: true });
    // Wrong secret, tampered body, upper-case hex, missing prefix: rejected with upstream's 500.
    for (const sig of [sign('other', body), sign(secret, body + ' '), sign(secret, body).toUpperCase(),
        sign(secret, body).slice(7), '']) {
        assertJson(await hook(body, { 'x-hub-signature-256': sig, 'x-github-event': 'ping' }), 500,
            { error: 'Internal server error' }, `signature ${sig}`);
    }
    // A handler that reads a missing field throws upstream (push without pusher).
    const badPush = JSON.stringify({ repository: { full_name: 'o/r' } });
    assertJson(await hook(badPush, { 'x-hub-signature-256': sign(secret, badPush), 'x-github-event': 'push' }), 500,
        { error: 'Internal server error' });
    // Required headers are validated first (400), raw JSON body needed (500).
    assertJson(await hook(body, {}), 400, bodies.validation('headers/x-hub-signature-256 Invalid input: expected string, ' +
        'received undefined, headers/x-github-event Invalid input: expected string, received undefined'));
    assertJson(await hook(body, { 'x-hub-signature-256': sign(secret, body), 'x-github-event': 'ping' }, 'text/plain'), 500,
        { error: 'Server configuration error' });
    assertJson(await hook('', { 'x-hub-signature-256': sign(secret, ''), 'x-github-event': 'ping' }), 500,
        { error: 'Server configuration error' });
    const r = await hook('{bad', { 'x-hub-signature-256': 'x', 'x-github-event': 'ping' });
    assert.equal(r.status, 400);
    assert.equal(r.json.error, 'SyntaxError');
});

test('GitHub link: profile shows it; DELETE unlinks and emits update-account to the apps', T, async () => {
    const a = await authAccount(conf.url);
    const profileJson = JSON.stringify({ login: 'octo', id: 583231, name: 'The Octocat', bio: null });
    sql(conf, `INSERT INTO github_user (id, profile, created_at, updated_at) VALUES ('583231', '${profileJson}', 1, 1);` +
        `UPDATE account SET github_user_id = '583231', username = 'octo', first_name = 'The', last_name = 'Octocat' WHERE id = '${a.sub}'`);
    const prof = await authReq(conf.url, 'GET', '/v1/account/profile', a);
    assert.equal(prof.status, 200);
    // JSONB key order (shorter keys first), as upstream reads its Json column.
    assert.equal(JSON.stringify(prof.json.github), '{"id":583231,"bio":null,"name":"The Octocat","login":"octo"}');
    assert.equal(prof.json.username, 'octo');

    const app = await clients.connect(conf.url, userAuth(a));
    const cli = await clients.connect(conf.url, machineAuth(a, 'm1'));
    const appEvents = recordEvents(app);
    const cliEvents = recordEvents(cli);
    assertJson(await authReq(conf.url, 'DELETE', '/v1/connect/github', a), 200, { success: true });
    for (let i = 0; i < 100 && !appEvents.some((e) => e.event === 'update'); i++) await sleep(20);
    const updates = named(appEvents, 'update');
    assert.equal(updates.length, 1);
    assert.deepEqual(Object.keys(updates[0]), ['id', 'seq', 'body', 'createdAt']);
    assert.equal(JSON.stringify(updates[0].body), JSON.stringify({ t: 'update-account', id: a.sub, github: null, username: null }));
    await sleep(100);
    assert.equal(named(cliEvents, 'update').length, 0, 'user-scoped only');

    const after = (await authReq(conf.url, 'GET', '/v1/account/profile', a)).json;
    assert.equal(after.github, null);
    assert.equal(after.username, null);
    assert.equal(after.firstName, 'The');  // names stay
    assert.equal(sql(conf, "SELECT count(*) FROM github_user WHERE id = '583231'"), '0');
    // Not linked any more: a no-op, no update.
    assertJson(await authReq(conf.url, 'DELETE', '/v1/connect/github', a), 200, { success: true });
    await sleep(100);
    assert.equal(named(appEvents, 'update').length, 1);
    assertJson(await req(conf.url, 'DELETE', '/v1/connect/github'), 401, bodies.missingAuth);
});

// ----- GitHub OAuth callback against a local GitHub --------------------------------------------------------------

const OCTO = {
    login: 'octo cat', id: 583231, node_id: 'MDQ6VXNlcjU4MzIzMQ==', avatar_url: 'https://avatars.example/u/583231',
    type: 'User', site_admin: false, name: '  Mona \t Lisa   Octocat ', company: null, bio: 'hi',
    public_repos: 8, created_at: '2011-01-25T18:44:36Z',
};

async function stateFor(srv, acct) {
    const p = await authReq(srv.url, 'GET', '/v1/connect/github/params', acct);
    return new URL(p.json.url).searchParams.get('state');
}

function githubReplies({ token = { access_token: 'gho_SECRET_token_123', token_type: 'bearer', scope: 'read:user' },
    user = OCTO, userStatus = 200 } = {}) {
    gh.clear();
    gh.on('POST', '/login/oauth/access_token', typeof token === 'string' ? { body: token } : { json: token });
    gh.on('GET', '/api/user', { status: userStatus, json: user });
}

async function updatesOf(events, n = 1) {
    for (let i = 0; i < 150 && named(events, 'update').length < n; i++) await sleep(20);
    return named(events, 'update');
}

test('GitHub callback: code exchange, user fetch, link, update-account, token encrypted at rest', T, async () => {
    const a = await authAccount(conf.url);
    const app = await clients.connect(conf.url, userAuth(a));
    const events = recordEvents(app);
    githubReplies();
    const state = await stateFor(conf, a);
    const r = await req(conf.url, 'GET', `/v1/connect/github/callback?code=the%20code&state=${state}`);
    assert.equal(r.status, 302, r.text);
    assert.equal(r.headers.location, 'https://app.happy.engineering?github=connected&user=octo%20cat');

    // Exactly upstream's two requests.
    assert.equal(gh.requests.length, 2);
    const [ex, user] = gh.requests;
    assert.equal(ex.method, 'POST');
    assert.equal(ex.url, '/login/oauth/access_token');
    assert.equal(ex.headers.accept, 'application/json');
    assert.equal(ex.headers['content-type'], 'application/json');
    assert.equal(ex.body, JSON.stringify({ client_id: GITHUB.GITHUB_CLIENT_ID, client_secret: GITHUB.GITHUB_CLIENT_SECRET,
        code: 'the code' }));
    assert.equal(user.method, 'GET');
    assert.equal(user.url, '/api/user');
    assert.equal(user.headers.authorization, 'Bearer gho_SECRET_token_123');
    assert.equal(user.headers.accept, 'application/vnd.github.v3+json');

    const [upd] = await updatesOf(events);
    assert.equal(JSON.stringify(upd.body), JSON.stringify({
        t: 'update-account', id: a.sub, github: OCTO, username: 'octo cat', firstName: 'Mona', lastName: 'Lisa Octocat',
    }));
    const prof = (await authReq(conf.url, 'GET', '/v1/account/profile', a)).json;
    assert.deepEqual(prof.github, OCTO);
    assert.deepEqual(Object.keys(prof.github), ['id', 'bio', 'name', 'type', 'login', 'company', 'node_id',
        'avatar_url', 'created_at', 'site_admin', 'public_repos']);  // JSONB order
    assert.equal(prof.username, 'octo cat');
    assert.equal(prof.firstName, 'Mona');
    assert.equal(prof.lastName, 'Lisa Octocat');

    const stored = Buffer.from(sql(conf, `SELECT ${sqlHex('token')} FROM github_user WHERE id = '583231'`), 'hex');
    assert.ok(!stored.includes(Buffer.from('gho_SECRET_token_123')) && !stored.includes(Buffer.from('SECRET')));
    assert.equal(keyTreeDecrypt(TEST_SECRET, ['user', a.sub, 'github', 'token'], stored), 'gho_SECRET_token_123');

    // The same GitHub user linked again: nothing changes, no update.
    githubReplies();
    const again = await req(conf.url, 'GET', `/v1/connect/github/callback?code=c2&state=${await stateFor(conf, a)}`);
    assert.equal(again.headers.location, 'https://app.happy.engineering?github=connected&user=octo%20cat');
    await sleep(150);
    assert.equal((await updatesOf(events)).length, 1);

    // Another account takes the GitHub user over: the first one is disconnected (its own update).
    const b = await authAccount(conf.url);
    const appB = await clients.connect(conf.url, userAuth(b));
    const eventsB = recordEvents(appB);
    githubReplies();
    const take = await req(conf.url, 'GET', `/v1/connect/github/callback?code=c3&state=${await stateFor(conf, b)}`);
    assert.equal(take.headers.location, 'https://app.happy.engineering?github=connected&user=octo%20cat');
    const updsA = await updatesOf(events, 2);
    assert.equal(JSON.stringify(updsA[1].body), JSON.stringify({ t: 'update-account', id: a.sub, github: null, username: null }));
    const [updB] = await updatesOf(eventsB);
    assert.equal(updB.body.id, b.sub);
    assert.equal(updB.body.username, 'octo cat');
    assert.equal((await authReq(conf.url, 'GET', '/v1/account/profile', a)).json.github, null);
    const sealedB = Buffer.from(sql(conf, `SELECT ${sqlHex('token')} FROM github_user WHERE id = '583231'`), 'hex');
    assert.equal(keyTreeDecrypt(TEST_SECRET, ['user', b.sub, 'github', 'token'], sealedB), 'gho_SECRET_token_123');
    // Other users see the GitHub login and bio in B's public profile (social module).
    const seen = await authReq(conf.url, 'GET', `/v1/user/${b.sub}`, a);
    assert.equal(seen.status, 200, seen.text);
    assert.equal(seen.json.user.username, 'octo cat');
    assert.equal(seen.json.user.bio, 'hi');
    assert.equal(seen.json.user.firstName, 'Mona');
    assertJson(await authReq(conf.url, 'DELETE', '/v1/connect/github', b), 200, { success: true });
    const gone = (await authReq(conf.url, 'GET', `/v1/user/${b.sub}`, a)).json.user;
    assert.equal(gone.username, '');
    assert.equal(gone.bio, null);
});

test('GitHub callback failures redirect with upstream error codes', T, async () => {
    const a = await authAccount(conf.url);
    const cb = async (srv = conf) => (await req(srv.url, 'GET',
        `/v1/connect/github/callback?code=c&state=${await stateFor(srv, a)}`)).headers.location;
    githubReplies({ token: { error: 'bad_verification_code', error_description: 'The code passed is incorrect.' } });
    assert.equal(await cb(), 'https://app.happy.engineering?error=bad_verification_code');
    assert.equal(gh.requests.length, 1, 'no user fetch after an exchange error');
    githubReplies({ token: { error: 'a b/c' } });
    assert.equal(await cb(), 'https://app.happy.engineering?error=a%20b%2Fc');
    githubReplies({ userStatus: 401, user: { message: 'Bad credentials' } });
    assert.equal(await cb(), 'https://app.happy.engineering?error=github_user_fetch_failed');
    githubReplies({ token: '<html>not json</html>' });
    assert.equal(await cb(), 'https://app.happy.engineering?error=server_error');
    githubReplies({ user: { message: 'no id' } });
    assert.equal(await cb(), 'https://app.happy.engineering?error=server_error');
    assert.equal(sql(conf, `SELECT count(*) FROM account WHERE id = '${a.sub}' AND github_user_id IS NOT NULL`), '0');
    // GitHub unreachable.
    assert.equal(await cb(down), 'https://app.happy.engineering?error=server_error');
});
