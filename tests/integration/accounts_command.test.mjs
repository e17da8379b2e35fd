// `happy-server accounts list|disable|enable|delete|pending|approve|reject` beside a running server: the changes
// reach the server through the database and its accounts-refresh job (every second here), which refuses the tokens
// and closes the sockets of a disabled or deleted account.

import test, { before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import {
    startServer, req, authReq, authAccount, newEd25519, b64, randomBytes, edSign, writeConfigFile, userAuth,
    waitConnectError, until, cleanEnv, SERVER_BIN, PG_ADMIN_URL, databaseFor, TEST_TIMEOUT, HOOK_TIMEOUT,
} from './harness.mjs';
import { clientsClosedAfterEach } from './clients.mjs';

const T = { timeout: TEST_TIMEOUT };
let srv;
let config;

before(async () => {
    config = writeConfigFile({
        auth: { registration: { mode: 'approval' } },
        // The command opens the database beside the server (SQLite's default exclusive mode would refuse it).
        storage: { sqlite: { exclusive: false } },
        jobs: { 'accounts-refresh': { schedule: '* * * * * *' } },
    });
    srv = await startServer({ env: { HAPPY_CONFIG: config } });
}, { timeout: HOOK_TIMEOUT });
after(async () => { await srv?.stop(); }, { timeout: HOOK_TIMEOUT });

const clients = clientsClosedAfterEach();

/** `happy-server accounts …` on the server's database. */
function accounts(...args) {
    const env = { ...cleanEnv(), HAPPY_CONFIG: config, DATA_DIR: srv.dataDir, HAPPY_LOG_LEVEL: 'warn' };
    if (PG_ADMIN_URL) env.DATABASE_URL = databaseFor(srv.dataDir);
    const r = spawnSync(SERVER_BIN, ['accounts', ...args], { env, encoding: 'utf8', timeout: 20_000 });
    return { code: r.status, stdout: r.stdout, stderr: r.stderr, json: (() => { try { return JSON.parse(r.stdout); } catch { return undefined; } })() };
}

function login(kp) {
    const challenge = randomBytes(32);
    return req(srv.url, 'POST', '/v1/auth', {
        body: { publicKey: b64(kp.publicRaw), challenge: b64(challenge), signature: b64(edSign(kp.privateKey, challenge)) },
    });
}

/** A key approved with `accounts approve` (base64, as the app sends it) and its account. */
async function account() {
    const kp = newEd25519();
    assert.equal((await login(kp)).status, 403);
    const r = accounts('approve', b64(kp.publicRaw));
    assert.equal(r.code, 0, r.stderr);
    return authAccount(srv.url, { keyPair: kp });
}

test('usage: --help, a missing action or operand, delete without --yes', T, () => {
    const help = spawnSync(SERVER_BIN, ['accounts', '--help'], { env: cleanEnv(), encoding: 'utf8' });
    assert.equal(help.status, 0);
    assert.match(help.stdout, /^Usage: happy-server accounts <action>/);
    const overview = spawnSync(SERVER_BIN, ['--help'], { env: cleanEnv(), encoding: 'utf8' });
    assert.match(overview.stdout, /^ {2}accounts +list, disable, enable or delete accounts/m);
    assert.equal(accounts().code, 2);
    assert.equal(accounts('disable').code, 2);
    assert.equal(accounts('frobnicate', 'x').code, 2);
    const del = accounts('delete', 'cwhatever000000000000000000');
    assert.equal(del.code, 2);
    assert.match(del.stderr, /add --yes/);
    assert.equal(accounts('approve', 'not-a-key').code, 2);
});

test('pending lists waiting keys; approve and reject by hex or base64', T, async () => {
    const kp = newEd25519();
    const hex = Buffer.from(kp.publicRaw).toString('hex').toUpperCase();
    assert.equal((await login(kp)).status, 403);
    const pending = accounts('pending', '--json');
    assert.equal(pending.code, 0, pending.stderr);
    const row = pending.json.requests.find((r) => r.publicKey === hex);
    assert.equal(row.attempts, 1);
    assert.equal(row.approvedAt, null);
    assert.equal(accounts('reject', hex).code, 0);
    assert.equal(accounts('reject', hex).code, 1, 'nothing left to reject');
    assert.equal(accounts('approve', hex.toLowerCase()).code, 0);
    assert.equal((await login(kp)).status, 200);
    assert.equal(accounts('approve', hex).code, 1, 'an account exists for the key now');
});

test('list shows accounts with counts; disable reaches the running server, enable undoes it', T, async () => {
    const acct = await account();
    const list = accounts('list', '--json');
    assert.equal(list.code, 0, list.stderr);
    const row = list.json.accounts.find((a) => a.id === acct.sub);
    assert.equal(row.publicKey, Buffer.from(acct.publicKeyRaw).toString('hex').toUpperCase());
    assert.equal(row.disabledAt, null);
    const text = accounts('list');
    assert.match(text.stdout, new RegExp(`^${acct.sub} `, 'm'));

    const sock = await clients.connect(srv.url, userAuth(acct));
    const dropped = new Promise((resolve) => sock.on('disconnect', resolve));
    const off = accounts('disable', acct.sub);
    assert.equal(off.code, 0, off.stderr);
    assert.match(off.stdout, /disabled/);
    assert.equal(await dropped, 'io server disconnect');
    const r = await authReq(srv.url, 'GET', '/v1/machines', acct);
    assert.deepEqual(r.json, { error: 'Account disabled' });
    assert.equal((await waitConnectError(clients.sio(srv.url, userAuth(acct)))).message, 'Account disabled');

    assert.equal(accounts('enable', acct.sub).code, 0);
    await until(async () => (await authReq(srv.url, 'GET', '/v1/machines', acct)).status === 200, 5000, 'enabled');
    assert.equal(accounts('disable', 'cnobody00000000000000000000').code, 1);
});

test('delete --yes removes the account; its tokens stay refused', T, async () => {
    const acct = await account();
    await authReq(srv.url, 'POST', '/v1/sessions', acct, { body: { tag: 'x', metadata: 'cipher' } });
    const r = accounts('delete', acct.sub, '--yes', '--json');
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(r.json, { success: true });
    await until(async () => (await authReq(srv.url, 'GET', '/v1/sessions', acct)).json?.error === 'Account deleted',
        5000, 'the server refusing the deleted account');
    const list = accounts('list', '--json');
    assert.ok(!list.json.accounts.some((a) => a.id === acct.sub));
    assert.equal(accounts('delete', acct.sub, '--yes').code, 1);
});
