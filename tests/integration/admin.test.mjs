// Admin console API (modules/admin): the admin token (generated 0600 into the data directory, constant-time
// checked, failures rate-limited, never logged), the live status (one-shot and Server-Sent Events), and the account
// actions taking effect on a running server: disable (REST 403, sockets dropped and refused), enable, delete
// (typed confirmation; data gone; tokens refused), and approving pending registrations.

import test, { before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import {
    startServer, req, authReq, authAccount, newEd25519, b64, randomBytes, edSign, writeConfigFile, userAuth,
    machineAuth, waitConnectError, until, sleep, TEST_TIMEOUT, HOOK_TIMEOUT,
} from './harness.mjs';
import { clientsClosedAfterEach } from './clients.mjs';

const T = { timeout: TEST_TIMEOUT };
let srv;
let token;

before(async () => {
    const config = writeConfigFile({
        auth: { registration: { mode: 'approval' } },
        modules: { admin: { refresh_ms: 300, max_failures: 3 } },
    });
    srv = await startServer({ env: { HAPPY_CONFIG: config } });
    token = fs.readFileSync(path.join(srv.dataDir, 'admin-token'), 'utf8').trim();
}, { timeout: HOOK_TIMEOUT });
after(async () => { await srv?.stop(); }, { timeout: HOOK_TIMEOUT });

const clients = clientsClosedAfterEach();
const admin = (method, p, body) => req(srv.url, method, p, { headers: { authorization: `Bearer ${token}` }, body });

/** An account in approval mode: the first login is refused (pending), the admin approves, the second creates it. */
async function approvedAccount() {
    const kp = newEd25519();
    const login = () => {
        const challenge = randomBytes(32);
        return req(srv.url, 'POST', '/v1/auth', {
            body: { publicKey: b64(kp.publicRaw), challenge: b64(challenge), signature: b64(edSign(kp.privateKey, challenge)) },
        });
    };
    const first = await login();
    assert.equal(first.status, 403, first.text);
    const hex = Buffer.from(kp.publicRaw).toString('hex').toUpperCase();
    const approved = await admin('POST', `/admin/api/registrations/${hex}/approve`);
    assert.equal(approved.status, 200, approved.text);
    return authAccount(srv.url, { keyPair: kp });
}

test('the admin token is generated 0600 into the data directory and never logged', T, async () => {
    const st = fs.statSync(path.join(srv.dataDir, 'admin-token'));
    assert.equal(st.mode & 0o777, 0o600);
    assert.ok(token.length >= 40, 'a 32-byte random token');
    await admin('GET', '/admin/api/status');
    const all = [...srv.stdoutLines, ...srv.stderrLines].join('\n');
    assert.ok(!all.includes(token), 'the token appears in no log line');
    assert.ok(all.includes('admin-token'), 'the log says where it is');
});

test('the page and its assets are served without the token; the API needs it', T, async () => {
    const page = await req(srv.url, 'GET', '/admin');
    assert.equal(page.status, 200);
    assert.match(page.headers['content-type'], /^text\/html/);
    assert.match(page.headers['content-security-policy'], /default-src 'none'; script-src 'self'/);
    assert.match(page.text, /<script src="\/admin\/console\.js" defer><\/script>/);
    assert.ok(!/https?:\/\//.test(page.text.replace(/<!doctype[^>]*>/i, '')), 'no external URL in the page');
    const js = await req(srv.url, 'GET', '/admin/console.js');
    assert.equal(js.status, 200);
    assert.match(js.headers['content-type'], /^text\/javascript/);
    const css = await req(srv.url, 'GET', '/admin/console.css');
    assert.match(css.headers['content-type'], /^text\/css/);
    assert.equal((await req(srv.url, 'GET', '/admin/nope.js')).status, 404);
    const noToken = await req(srv.url, 'GET', '/admin/api/status');
    assert.equal(noToken.status, 401);
    assert.deepEqual(noToken.json, { error: 'Invalid admin token' });
});

test('wrong tokens are limited per address: 429 with Retry-After, even for the right token', T, async () => {
    // A second server, so that the limit does not lock the other tests out.
    const config = writeConfigFile({ modules: { admin: { token: 'the-right-admin-token-0123456789', max_failures: 3 } } });
    const other = await startServer({ env: { HAPPY_CONFIG: config } });
    try {
        const call = (t) => req(other.url, 'GET', '/admin/api/status', { headers: { authorization: `Bearer ${t}` } });
        assert.equal((await call('the-right-admin-token-0123456789')).status, 200);
        assert.ok(!fs.existsSync(path.join(other.dataDir, 'admin-token')), 'a configured token writes no file');
        for (let i = 0; i < 3; ++i) assert.equal((await call(`guess-${i}`)).status, 401);
        const limited = await call('the-right-admin-token-0123456789');
        assert.equal(limited.status, 429);
        assert.ok(Number(limited.headers['retry-after']) > 0);
        assert.ok(!other.stdoutLines.join('\n').includes('the-right-admin-token'), 'not logged');
    } finally {
        await other.stop();
    }
});

test('status: versions, counts, connections, requests, jobs; no user content', T, async () => {
    const acct = await approvedAccount();
    const sock = await clients.connect(srv.url, { ...machineAuth(acct, 'machine-admin-1'), happyClient: 'cli-daemon/9.9.9' });
    const r = await admin('GET', '/admin/api/status');
    assert.equal(r.status, 200);
    assert.equal(r.headers['cache-control'], 'no-store');
    const s = r.json;
    assert.equal(s.version, '0.1.0');
    assert.ok(s.uptimeMs >= 0 && s.startedAt > 0);
    assert.ok(s.process.rssBytes > 1e6);
    assert.ok(s.accounts.total >= 1);
    assert.equal(s.accounts.registrationMode, 'approval');
    assert.ok(s.connections.sockets >= 1);
    assert.ok(s.clients.byClient['cli-daemon/9.9.9'] >= 1);
    assert.ok(s.requests.total > 0);
    assert.ok(s.jobs.some((j) => j.name === 'accounts-refresh' && j.schedule === '*/5 * * * * *'));
    assert.equal(s.storage.kind, process.env.HAPPY_TEST_DATABASE_URL ? 'postgres' : 'sqlite');
    assert.ok(s.storage.databaseBytes > 0);
    assert.ok(Array.isArray(s.warnings));
    sock.close();
});

/** Reads the SSE stream until `pred(status)` holds; resolves that status. */
function watch(pred, ms = 8000) {
    return new Promise((resolve, reject) => {
        const r = http.get(`${srv.url}/admin/api/events`, { headers: { authorization: `Bearer ${token}` } }, (res) => {
            assert.equal(res.statusCode, 200);
            assert.match(res.headers['content-type'], /^text\/event-stream/);
            let buf = '';
            res.setEncoding('utf8');
            res.on('data', (c) => {
                buf += c;
                let i;
                while ((i = buf.indexOf('\n\n')) >= 0) {
                    const block = buf.slice(0, i);
                    buf = buf.slice(i + 2);
                    assert.match(block, /^event: status\ndata: /);
                    const status = JSON.parse(block.slice(block.indexOf('data: ') + 6));
                    if (pred(status)) { clearTimeout(timer); r.destroy(); resolve(status); }
                }
            });
        });
        const timer = setTimeout(() => { r.destroy(); reject(new Error('no matching status event')); }, ms);
        r.on('error', () => {});
    });
}

test('live: the event stream reports a socket connecting', T, async () => {
    const acct = await approvedAccount();
    const before = await watch(() => true);
    const seen = watch((s) => s.connections.sockets > before.connections.sockets &&
        (s.clients.byClient['cli-daemon/7.7.7'] ?? 0) >= 1);
    await clients.connect(srv.url, { ...machineAuth(acct, 'machine-live'), happyClient: 'cli-daemon/7.7.7' });
    const s = await seen;
    assert.ok(s.connections.sockets >= 1);
});

test('disable drops the account\'s sockets and refuses its tokens; enable lets it back', T, async () => {
    const acct = await approvedAccount();
    const other = await approvedAccount();
    const sock = await clients.connect(srv.url, userAuth(acct));
    const otherSock = await clients.connect(srv.url, userAuth(other));
    const dropped = new Promise((resolve) => sock.on('disconnect', resolve));
    const r = await admin('POST', `/admin/api/accounts/${acct.sub}/disable`);
    assert.deepEqual(r.json, { success: true });
    assert.equal(await dropped, 'io server disconnect');
    assert.ok(otherSock.connected, 'other accounts keep their sockets');

    const rest = await authReq(srv.url, 'GET', '/v1/machines', acct);
    assert.equal(rest.status, 403);
    assert.deepEqual(rest.json, { error: 'Account disabled' });
    const err = await waitConnectError(clients.sio(srv.url, userAuth(acct)));
    assert.equal(err.message, 'Account disabled');

    const list = await admin('GET', '/admin/api/accounts');
    const row = list.json.accounts.find((a) => a.id === acct.sub);
    assert.ok(row.disabledAt > 0);
    assert.equal((await admin('POST', '/admin/api/accounts/cnonexistent0000000000000/disable')).status, 404);

    assert.deepEqual((await admin('POST', `/admin/api/accounts/${acct.sub}/enable`)).json, { success: true });
    assert.equal((await authReq(srv.url, 'GET', '/v1/machines', acct)).status, 200);
    await clients.connect(srv.url, userAuth(acct));
});

test('delete needs the id typed again, removes the data and refuses the tokens for good', T, async () => {
    const acct = await approvedAccount();
    const created = await authReq(srv.url, 'POST', '/v1/sessions', acct, { body: { tag: 't1', metadata: 'cipher' } });
    assert.equal(created.status, 200, created.text);
    const sock = await clients.connect(srv.url, userAuth(acct));
    const dropped = new Promise((resolve) => sock.on('disconnect', resolve));

    const wrong = await admin('DELETE', `/admin/api/accounts/${acct.sub}`, { confirm: 'something else' });
    assert.equal(wrong.status, 400);
    assert.equal((await authReq(srv.url, 'GET', '/v1/sessions', acct)).status, 200, 'nothing happened');

    const ok = await admin('DELETE', `/admin/api/accounts/${acct.sub}`, { confirm: acct.sub });
    assert.deepEqual(ok.json, { success: true });
    await dropped;
    const rest = await authReq(srv.url, 'GET', '/v1/sessions', acct);
    assert.equal(rest.status, 403);
    assert.deepEqual(rest.json, { error: 'Account deleted' });
    const list = await admin('GET', '/admin/api/accounts?limit=1000');
    assert.ok(!list.json.accounts.some((a) => a.id === acct.sub));
    assert.equal((await admin('DELETE', `/admin/api/accounts/${acct.sub}`, { confirm: acct.sub })).status, 404);
    // Enabling cannot bring a deleted account back.
    assert.equal((await admin('POST', `/admin/api/accounts/${acct.sub}/enable`)).status, 404);
});

test('registrations: pending keys are listed, approved or rejected', T, async () => {
    const kp = newEd25519();
    const hex = Buffer.from(kp.publicRaw).toString('hex').toUpperCase();
    const login = () => {
        const challenge = randomBytes(32);
        return req(srv.url, 'POST', '/v1/auth', {
            body: { publicKey: b64(kp.publicRaw), challenge: b64(challenge), signature: b64(edSign(kp.privateKey, challenge)) },
        });
    };
    assert.equal((await login()).status, 403);
    let list = await admin('GET', '/admin/api/registrations');
    assert.equal(list.json.mode, 'approval');
    const row = list.json.requests.find((r) => r.publicKey === hex);
    assert.equal(row.attempts, 1);
    assert.equal(row.approvedAt, null);
    assert.deepEqual((await admin('DELETE', `/admin/api/registrations/${hex}`)).json, { success: true });
    list = await admin('GET', '/admin/api/registrations');
    assert.ok(!list.json.requests.some((r) => r.publicKey === hex), 'rejected: forgotten');
    assert.equal((await login()).status, 403, 'still not registered (pending again)');
    assert.equal((await admin('POST', '/admin/api/registrations/zzz/approve')).status, 400);
    assert.deepEqual((await admin('POST', `/admin/api/registrations/${hex}/approve`)).json, { success: true });
    assert.equal((await login()).status, 200);
});
