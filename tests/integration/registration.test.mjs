// Registration control (auth.registration; slopus/happy#142): closed and approval modes refuse new public keys with
// a 403 in upstream's error shape, existing accounts and terminal pairing keep working, allow-listed keys register.

import test, { after } from 'node:test';
import assert from 'node:assert/strict';
import {
    startServer, req, authAccount, authReq, newEd25519, b64, randomBytes, edSign, randomBoxKey, makeTempDir,
    removeDir, writeConfigFile, sql, TEST_SECRET, TEST_TIMEOUT, HOOK_TIMEOUT,
} from './harness.mjs';

const T = { timeout: TEST_TIMEOUT };
const dirs = [];
after(() => { for (const d of dirs) removeDir(d); });

const CLOSED = 'Registration is closed on this server: only existing accounts can sign in';
const PENDING = 'Registration is pending: the server\'s administrator must approve this account';

function loginBody(kp) {
    const challenge = randomBytes(32);
    return { publicKey: b64(kp.publicRaw), challenge: b64(challenge), signature: b64(edSign(kp.privateKey, challenge)) };
}
const login = (url, kp) => req(url, 'POST', '/v1/auth', { body: loginBody(kp) });

/** A server on `dataDir` with auth.registration set by a config file (and sqlite3 allowed alongside). */
function start(dataDir, registration) {
    const config = writeConfigFile({ auth: { registration }, storage: { sqlite: { exclusive: false } } });
    return startServer({ dataDir, env: { HANDY_MASTER_SECRET: TEST_SECRET, HAPPY_CONFIG: config } });
}

/** Terminal pairing as the CLI does it (POST /v1/auth/request, approval by `approver`, the authorized poll). */
async function pairTerminal(url, approver) {
    const key = randomBoxKey();
    const first = await req(url, 'POST', '/v1/auth/request', { body: { publicKey: key, supportsV2: true } });
    assert.equal(first.status, 200, first.text);
    assert.deepEqual(first.json, { state: 'requested' });
    const answered = await authReq(url, 'POST', '/v1/auth/response', approver, { body: { publicKey: key, response: 'cipher' } });
    assert.equal(answered.status, 200, answered.text);
    const poll = await req(url, 'POST', '/v1/auth/request', { body: { publicKey: key, supportsV2: true } });
    assert.equal(poll.status, 200, poll.text);
    assert.equal(poll.json.state, 'authorized');
    return poll.json.token;
}

test('closed: existing accounts sign in and pair terminals, new keys get 403, allow-listed keys register', T, async () => {
    const dataDir = makeTempDir();
    dirs.push(dataDir);
    const existingKp = newEd25519();
    let srv = await start(dataDir, { mode: 'open' });
    const existing = await authAccount(srv.url, { keyPair: existingKp });
    await srv.stop();

    const allowedKp = newEd25519();
    srv = await start(dataDir, { mode: 'closed', allow: [b64(allowedKp.publicRaw)] });
    try {
        const again = await login(srv.url, existingKp);
        assert.equal(again.status, 200, again.text);
        assert.equal(JSON.parse(Buffer.from(again.json.token.split('.')[1], 'base64url')).sub, existing.sub);

        const stranger = await login(srv.url, newEd25519());
        assert.equal(stranger.status, 403);
        assert.equal(stranger.headers['content-type'], 'application/json; charset=utf-8');
        assert.deepEqual(stranger.json, { error: CLOSED });

        const allowed = await login(srv.url, allowedKp);
        assert.equal(allowed.status, 200, allowed.text);

        // The CLI's login: a terminal key is paired to an existing account, so closed registration lets it through.
        const cliToken = await pairTerminal(srv.url, existing);
        const machines = await authReq(srv.url, 'GET', '/v1/machines', { token: cliToken });
        assert.equal(machines.status, 200, machines.text);
        assert.deepEqual(machines.json, []);

        assert.equal(sql(srv, 'SELECT COUNT(*) FROM account'), '2');
        assert.equal(sql(srv, 'SELECT COUNT(*) FROM registration_request'), '0');
    } finally {
        await srv.stop();
    }
});

test('approval: a new key is recorded as pending, refused until approved, then registers once', T, async () => {
    const dataDir = makeTempDir();
    dirs.push(dataDir);
    const srv = await start(dataDir, { mode: 'approval' });
    try {
        const kp = newEd25519();
        const hex = Buffer.from(kp.publicRaw).toString('hex').toUpperCase();
        for (let i = 0; i < 2; ++i) {
            const r = await login(srv.url, kp);
            assert.equal(r.status, 403);
            assert.deepEqual(r.json, { error: PENDING });
        }
        assert.equal(sql(srv, `SELECT attempts FROM registration_request WHERE public_key = '${hex}' AND approved_at IS NULL`), '2');
        assert.equal(sql(srv, 'SELECT COUNT(*) FROM account'), '0');

        sql(srv, `UPDATE registration_request SET approved_at = 1 WHERE public_key = '${hex}'`);
        const ok = await login(srv.url, kp);
        assert.equal(ok.status, 200, ok.text);
        assert.equal(sql(srv, 'SELECT COUNT(*) FROM registration_request'), '0');
        const again = await login(srv.url, kp);
        assert.equal(again.status, 200, again.text);
        assert.equal(sql(srv, 'SELECT COUNT(*) FROM account'), '1');
    } finally {
        await srv.stop();
    }
});

test('a bad allow-list entry stops start-up with the key named (and --check-config says the same)', T, async () => {
    const config = writeConfigFile({ auth: { registration: { mode: 'closed', allow: ['not-a-key'] } } });
    const { spawnSync } = await import('node:child_process');
    const { SERVER_BIN, cleanEnv } = await import('./harness.mjs');
    const r = spawnSync(SERVER_BIN, ['--check-config'], { env: { ...cleanEnv(), HAPPY_CONFIG: config }, encoding: 'utf8' });
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, /auth\.registration\.allow\[0\]: expected a 32-byte public key/);
});
