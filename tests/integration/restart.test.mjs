// Foundation milestone: persistence across restarts, generated master secret, graceful SIGTERM.
// Contract (harness brief): without HANDY_MASTER_SECRET the server generates a secret in DATA_DIR
// (file mode 0600) and reuses it on restart; SIGTERM -> exit code 0 within ~1 s.
// Spec: http-api.md §2.7 (same secret => tokens keep working), §3.2, §5; observed.md (graceful shutdown).

import test, { after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import {
    startServer, req, authReq, assertJson, bodies, authAccount, randomBoxKey, b64, randomBytes, newEd25519, decodeJwt,
    makeTempDir, removeDir, HOOK_TIMEOUT, assertHealthy,
} from './harness.mjs';

const T = { timeout: 90_000 };
const NO_SECRET = { HANDY_MASTER_SECRET: undefined };

const dirs = [];
const servers = [];
after(async () => {
    await Promise.all(servers.map((s) => s.stop()));
    for (const d of dirs) removeDir(d);
}, { timeout: HOOK_TIMEOUT });

async function start(dataDir, env = NO_SECRET) {
    const s = await startServer({ dataDir, env });
    servers.push(s);
    return s;
}

async function stopAndCheck(s, what) {
    const t0 = Date.now();
    const code = await s.stop({ graceMs: 5_000 });
    const elapsed = Date.now() - t0;
    assert.equal(s.stopInfo.forced, false, `${what}: server ignored SIGTERM and had to be SIGKILLed`);
    assert.equal(code, 0, `${what}: exit code after SIGTERM (signal=${s.stopInfo.signal})\n${s.logs()}`);
    assert.ok(elapsed <= 2_000, `${what}: SIGTERM -> exit took ${elapsed} ms (limit 2000 ms)`);
}

function listFiles(dir, depth = 2, prefix = '') {
    const out = [];
    for (const ent of fs.readdirSync(dir, { withFileTypes: true })) {
        const rel = path.join(prefix, ent.name);
        const abs = path.join(dir, ent.name);
        if (ent.isFile()) {
            const st = fs.statSync(abs);
            out.push({ rel, abs, mode: st.mode & 0o777, size: st.size });
        } else if (ent.isDirectory() && depth > 1) {
            out.push(...listFiles(abs, depth - 1, rel));
        }
    }
    return out;
}

/** Files that look like the generated secret: names containing "secret", else any top-level 0600 file. */
function secretCandidates(dataDir) {
    const files = listFiles(dataDir);
    const named = files.filter((f) => /secret/i.test(f.rel));
    if (named.length) return { files, candidates: named, byName: true };
    return { files, candidates: files.filter((f) => !f.rel.includes(path.sep) && f.mode === 0o600), byName: false };
}

const fmtFiles = (files) => files.map((f) => `${f.rel} mode=${f.mode.toString(8)} size=${f.size}`).join('\n');

test('restart without HANDY_MASTER_SECRET: secret file 0600, tokens/accounts/pairing requests survive', T, async () => {
    const dataDir = makeTempDir('happy-it-restart-');
    dirs.push(dataDir);

    // ---- first run ----
    const s1 = await start(dataDir);

    const { files, candidates, byName } = secretCandidates(dataDir);
    assert.ok(candidates.length > 0, `no generated secret file found in DATA_DIR:\n${fmtFiles(files)}`);
    for (const f of candidates) {
        if (byName) assert.equal(f.mode, 0o600, `secret file ${f.rel} mode ${f.mode.toString(8)} (want 600)`);
        assert.ok(f.size > 0, `secret file ${f.rel} is empty`);
    }
    const secretBefore = new Map(candidates.map((f) => [f.rel, fs.readFileSync(f.abs)]));

    const kp = newEd25519();
    const acct = await authAccount(s1.url, { keyPair: kp });
    await (async () => {
        const r = await authReq(s1.url, 'POST', '/v1/auth/response', acct,
            { body: { response: 'x', publicKey: randomBoxKey() } });
        assertJson(r, 404, bodies.requestNotFound, 'token works before restart');
    })();

    // pending terminal request (supportsV2 true), an approved one, and a pending account-link request
    const pendingKey = randomBoxKey();
    assertJson(await req(s1.url, 'POST', '/v1/auth/request', { body: { publicKey: pendingKey, supportsV2: true } }),
        200, { state: 'requested' });
    const approvedKey = randomBoxKey();
    const approvedResponse = b64(randomBytes(40));
    assertJson(await req(s1.url, 'POST', '/v1/auth/request', { body: { publicKey: approvedKey } }), 200, { state: 'requested' });
    assertJson(await authReq(s1.url, 'POST', '/v1/auth/response', acct,
        { body: { response: approvedResponse, publicKey: approvedKey } }), 200, { success: true });
    const pollBefore = await req(s1.url, 'POST', '/v1/auth/request', { body: { publicKey: approvedKey } });
    assert.equal(pollBefore.status, 200, pollBefore.text);
    assert.equal(pollBefore.json.state, 'authorized', pollBefore.text);
    const sessionBefore = decodeJwt(pollBefore.json.token).payload.session;
    const linkKey = randomBoxKey();
    assertJson(await req(s1.url, 'POST', '/v1/auth/account/request', { body: { publicKey: linkKey } }), 200, { state: 'requested' });

    await stopAndCheck(s1, 'first run');

    // ---- second run, same DATA_DIR ----
    const s2 = await start(dataDir);

    for (const [rel, content] of secretBefore) {
        const abs = path.join(dataDir, rel);
        assert.ok(fs.existsSync(abs), `secret file ${rel} disappeared after restart`);
        assert.ok(fs.readFileSync(abs).equals(content), `secret file ${rel} changed after restart`);
        if (byName) assert.equal(fs.statSync(abs).mode & 0o777, 0o600, `secret file ${rel} mode after restart`);
    }

    // old token still authenticates
    assertJson(await authReq(s2.url, 'POST', '/v1/auth/response', acct,
        { body: { response: 'x', publicKey: randomBoxKey() } }),
    404, bodies.requestNotFound, 'old token after restart');

    // same key -> same account
    const again = await authAccount(s2.url, { keyPair: kp });
    assert.equal(again.sub, acct.sub, 'same key logs into the same account after restart');

    // pending request still pending (supportsV2 preserved)
    assertJson(await req(s2.url, 'GET', `/v1/auth/request/status?publicKey=${encodeURIComponent(pendingKey)}`),
        200, { status: 'pending', supportsV2: true });
    assertJson(await req(s2.url, 'POST', '/v1/auth/request', { body: { publicKey: pendingKey } }), 200, { state: 'requested' });

    // approved request still authorized, same row (session claim), same approver and response
    assertJson(await req(s2.url, 'GET', `/v1/auth/request/status?publicKey=${encodeURIComponent(approvedKey)}`),
        200, { status: 'authorized', supportsV2: false });
    const poll = await req(s2.url, 'POST', '/v1/auth/request', { body: { publicKey: approvedKey } });
    assert.equal(poll.status, 200, poll.text);
    assert.equal(poll.json.state, 'authorized');
    assert.equal(poll.json.response, approvedResponse);
    const pd = decodeJwt(poll.json.token).payload;
    assert.equal(pd.sub, acct.sub);
    assert.equal(pd.session, sessionBefore);

    // pending account-link request survives, and can be approved now
    assertJson(await req(s2.url, 'POST', '/v1/auth/account/request', { body: { publicKey: linkKey } }), 200, { state: 'requested' });
    assertJson(await authReq(s2.url, 'POST', '/v1/auth/account/response', again,
        { body: { response: 'linked', publicKey: linkKey } }), 200, { success: true });

    await stopAndCheck(s2, 'second run');

    // ---- a fresh DATA_DIR generates a different secret: old tokens are invalid there ----
    const otherDir = makeTempDir('happy-it-restart-other-');
    dirs.push(otherDir);
    const s3 = await start(otherDir);
    assertJson(await authReq(s3.url, 'POST', '/v1/auth/response', acct,
        { body: { response: 'x', publicKey: randomBoxKey() } }),
    401, bodies.invalidToken, 'token from another DATA_DIR secret');
    const fresh = await authAccount(s3.url, { keyPair: kp });
    assert.notEqual(fresh.token.split('.')[2], acct.token.split('.')[2]);
    await stopAndCheck(s3, 'fresh data dir');
});

test('SIGTERM on an idle server exits 0 promptly', T, async () => {
    const s = await start(undefined, { HANDY_MASTER_SECRET: 'sigterm-test-secret' });
    await assertHealthy(s);
    await stopAndCheck(s, 'idle server');
});

test('SIGTERM while a client holds an idle keep-alive connection still exits 0 promptly', T, async () => {
    const net = await import('node:net');
    const s = await start(undefined, { HANDY_MASTER_SECRET: 'sigterm-test-secret' });
    const sock = net.connect({ host: '127.0.0.1', port: s.port });
    try {
        await new Promise((resolve, reject) => {
            const timer = setTimeout(() => reject(new Error('no response to GET /health within 8 s')), 8_000);
            sock.once('data', () => clearTimeout(timer));
            sock.once('error', reject);
            sock.once('connect', () => {
                sock.write(`GET /health HTTP/1.1\r\nHost: x\r\nConnection: keep-alive\r\n\r\n`);
            });
            sock.once('data', () => resolve());
        });
        sock.on('error', () => {});
        await stopAndCheck(s, 'server with idle keep-alive client');
    } finally {
        sock.destroy();
    }
});
