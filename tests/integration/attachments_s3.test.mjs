// Attachments and public files in S3 mode (http-api.md §3.5, scaleout.md §4; upstream routes/attachmentRoutes.ts
// and storage/files.ts with minio-js): the server runs with upstream's S3_* variables against an S3-compatible
// server on loopback (tests/integration/s3server.mjs, which checks our SigV4 header and query signatures).
// request-upload hands out a presigned POST policy that the test actually POSTs the file with, request-download
// a presigned GET, GET …/attachments/:file a 302, PUT the S3-mode 404; deleting a session removes its objects;
// avatars point at S3_PUBLIC_URL; /files/* is not routed; a missing bucket stops start-up with one clear line;
// an S3 outage while running costs no crash.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import {
    TEST_TIMEOUT, HOOK_TIMEOUT, SERVER_BIN, startServer, authAccount, req, authReq, assertJson, expectStatus,
    createSession, writeConfigFile, sql, makeTempDir, removeDir,
} from './harness.mjs';
import { startS3 } from './s3server.mjs';

const require = createRequire(import.meta.url);
const { SignatureV4 } = require('@smithy/signature-v4');
const { Sha256 } = require('@aws-crypto/sha256-js');

const MAX = 10 * 1024 * 1024;
const ENC_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}\.enc$/;
const BUCKET = 'happy';
const PUBLIC = 'https://cdn.example.com/happy-public';

let s3;
let srv;
let A;
let B;

const s3Env = (s, extra = {}) => ({
    S3_HOST: '127.0.0.1', S3_PORT: String(s.port), S3_USE_SSL: 'false', S3_ACCESS_KEY: s.accessKey,
    S3_SECRET_KEY: s.secretKey, S3_BUCKET: BUCKET, S3_PUBLIC_URL: PUBLIC, ...extra,
});

before(async () => {
    s3 = await startS3({ buckets: [BUCKET] });
    // exclusive off: sql() sets an avatar in the live database (SQLite: with the sqlite3 tool).
    srv = await startServer({
        env: { ...s3Env(s3), HAPPY_CONFIG: writeConfigFile({ storage: { sqlite: { exclusive: false } } }) },
    });
    A = await authAccount(srv.url);
    B = await authAccount(srv.url);
}, { timeout: HOOK_TIMEOUT });

after(async () => {
    await srv?.stop();
    await s3?.stop();
}, { timeout: HOOK_TIMEOUT });

const api = (method, p, acct, opts) => authReq(srv.url, method, p, acct, opts);
const newSessionId = async (acct = A) => (await createSession(srv.url, acct)).id;
const requestUpload = (acct, sid, size = 10) =>
    api('POST', `/v1/sessions/${sid}/attachments/request-upload`, acct, { body: { filename: 'x.png', size } });

/** The browser upload the app does with request-upload's answer: the form fields in order, the file last. */
async function postForm(upload, bytes) {
    const form = new FormData();
    for (const [k, v] of Object.entries(upload.formFields)) form.append(k, v);
    form.append('file', new Blob([bytes]), 'blob');
    return fetch(upload.uploadUrl, { method: 'POST', body: form });
}

async function upload(acct, sid, bytes) {
    const body = expectStatus(await requestUpload(acct, sid, bytes.length), 200);
    const res = await postForm(body, bytes);
    assert.equal(res.status, 204, await res.text());
    return body.ref;
}

test('request-upload: presigned POST policy shaped as minio-js builds it, accepted by the store', { timeout: TEST_TIMEOUT }, async () => {
    const sid = await newSessionId();
    const before = Date.now();
    const r = await requestUpload(A, sid, 1234);
    const body = expectStatus(r, 200);
    assert.deepEqual(Object.keys(body), ['ref', 'uploadUrl', 'method', 'formFields']);
    const file = body.ref.split('/').pop();
    assert.match(file, ENC_RE);
    assert.equal(body.ref, `sessions/${sid}/attachments/${file}`);
    assert.equal(body.uploadUrl, `${s3.endpoint}/${BUCKET}`);
    assert.equal(body.method, 'POST');
    const f = body.formFields;
    assert.deepEqual(Object.keys(f), ['bucket', 'key', 'x-amz-date', 'x-amz-algorithm', 'x-amz-credential', 'policy', 'x-amz-signature']);
    assert.equal(f.bucket, BUCKET);
    assert.equal(f.key, body.ref);
    assert.equal(f['x-amz-algorithm'], 'AWS4-HMAC-SHA256');
    assert.match(f['x-amz-date'], /^\d{8}T\d{6}Z$/);
    assert.equal(f['x-amz-credential'], `${s3.accessKey}/${f['x-amz-date'].slice(0, 8)}/us-east-1/s3/aws4_request`);

    // The policy: minio-js's condition order, content-length-range 0..10 MiB, expiring in 15 minutes.
    const policy = JSON.parse(Buffer.from(f.policy, 'base64').toString('utf8'));
    assert.deepEqual(Object.keys(policy), ['conditions', 'expiration']);
    assert.deepEqual(policy.conditions, [
        ['eq', '$bucket', BUCKET],
        ['eq', '$key', body.ref],
        ['content-length-range', 0, MAX],
        ['eq', '$x-amz-date', f['x-amz-date']],
        ['eq', '$x-amz-algorithm', 'AWS4-HMAC-SHA256'],
        ['eq', '$x-amz-credential', f['x-amz-credential']],
    ]);
    const expires = Date.parse(policy.expiration);
    assert.match(policy.expiration, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
    assert.ok(expires >= before + 900_000 - 2_000 && expires <= Date.now() + 900_000 + 2_000, policy.expiration);

    // The signature, recomputed with the AWS SDK's signer (the store used here does not check POST policies).
    const d = f['x-amz-date'];
    const signingDate = new Date(Date.UTC(+d.slice(0, 4), +d.slice(4, 6) - 1, +d.slice(6, 8), +d.slice(9, 11), +d.slice(11, 13), +d.slice(13, 15)));
    const signer = new SignatureV4({
        credentials: { accessKeyId: s3.accessKey, secretAccessKey: s3.secretKey }, region: 'us-east-1', service: 's3', sha256: Sha256,
    });
    assert.equal(f['x-amz-signature'], await signer.sign(f.policy, { signingDate }));

    // The upload itself, as the app does it.
    const bytes = Buffer.from([0, 1, 2, 250, 251, 252, 13, 10]);
    const res = await postForm(body, bytes);
    assert.equal(res.status, 204, await res.text());
    assert.ok((await s3.read(BUCKET, body.ref)).equals(bytes));
});

test('request-upload: ownership and oversize answer as in local mode', { timeout: TEST_TIMEOUT }, async () => {
    const sid = await newSessionId();
    assertJson(await requestUpload(B, sid), 404, { error: 'Session not found' });
    expectStatus(await requestUpload(A, sid, MAX + 1), 400);
});

test('request-download: a presigned GET (15 min) that returns the bytes; ref checks first', { timeout: TEST_TIMEOUT }, async () => {
    const sid = await newSessionId();
    const bytes = Buffer.from('hello from S3 \u00e9', 'utf8');
    const ref = await upload(A, sid, bytes);
    const r = await api('POST', `/v1/sessions/${sid}/attachments/request-download`, A, { body: { ref } });
    const { downloadUrl } = expectStatus(r, 200);
    assert.deepEqual(Object.keys(r.json), ['downloadUrl']);
    const u = new URL(downloadUrl);
    assert.equal(`${u.origin}${u.pathname}`, `${s3.endpoint}/${BUCKET}/${ref}`);
    assert.deepEqual([...u.searchParams.keys()],
        ['X-Amz-Algorithm', 'X-Amz-Credential', 'X-Amz-Date', 'X-Amz-Expires', 'X-Amz-SignedHeaders', 'X-Amz-Signature']);
    assert.equal(u.searchParams.get('X-Amz-Expires'), '900');
    assert.equal(u.searchParams.get('X-Amz-SignedHeaders'), 'host');
    const got = await fetch(downloadUrl);
    assert.equal(got.status, 200);
    assert.ok(Buffer.from(await got.arrayBuffer()).equals(bytes));

    assertJson(await api('POST', `/v1/sessions/${sid}/attachments/request-download`, A, { body: { ref: `sessions/other/attachments/x.enc` } }),
        400, { error: 'Ref does not belong to this session' });
    assertJson(await api('POST', `/v1/sessions/${sid}/attachments/request-download`, A, { body: { ref: `sessions/${sid}/attachments/a/../b` } }),
        400, { error: 'Invalid attachment ref' });
    assertJson(await api('POST', `/v1/sessions/${sid}/attachments/request-download`, B, { body: { ref } }), 404, { error: 'Session not found' });
});

test('GET …/attachments/:file: 302 to a presigned GET with an empty body; ownership and name checks first', { timeout: TEST_TIMEOUT }, async () => {
    const sid = await newSessionId();
    const bytes = Buffer.from('redirected bytes');
    const ref = await upload(A, sid, bytes);
    const file = ref.split('/').pop();
    const r = await api('GET', `/v1/sessions/${sid}/attachments/${file}`, A);
    assert.equal(r.status, 302);
    assert.equal(r.text, '');
    assert.equal(r.headers['content-type'], undefined);
    const loc = new URL(r.headers.location);
    assert.equal(`${loc.origin}${loc.pathname}`, `${s3.endpoint}/${BUCKET}/${ref}`);
    assert.equal(loc.searchParams.get('X-Amz-Expires'), '900');
    const got = await fetch(r.headers.location);
    assert.ok(Buffer.from(await got.arrayBuffer()).equals(bytes));

    // Existence is not checked in S3 mode (upstream presigns whatever is asked for): the store answers 404.
    const missing = await api('GET', `/v1/sessions/${sid}/attachments/none.enc`, A);
    assert.equal(missing.status, 302);
    assert.equal((await fetch(missing.headers.location)).status, 404);

    assertJson(await api('GET', `/v1/sessions/${sid}/attachments/${file}`, B), 404, { error: 'Session not found' });
    assertJson(await api('GET', `/v1/sessions/${sid}/attachments/..%2Fx`, A), 404, { error: 'Invalid attachment file' });
});

test('PUT …/attachments/:file: the S3-mode 404 before any other check', { timeout: TEST_TIMEOUT }, async () => {
    const sid = await newSessionId();
    const put = (acct, s) => api('PUT', `/v1/sessions/${s}/attachments/a.enc`, acct, { rawBody: Buffer.from('x'), contentType: 'application/octet-stream' });
    assertJson(await put(A, sid), 404, { error: 'Direct upload not available in S3 mode' });
    assertJson(await put(B, sid), 404, { error: 'Direct upload not available in S3 mode' });
    assertJson(await put(A, 'no-such-session'), 404, { error: 'Direct upload not available in S3 mode' });
    assert.deepEqual(await s3.keys(BUCKET, `sessions/${sid}/`), []);
});

test('deleting a session removes its objects, and only its', { timeout: TEST_TIMEOUT }, async () => {
    const sid = await newSessionId();
    const other = await newSessionId();
    const refs = [await upload(A, sid, Buffer.from('1')), await upload(A, sid, Buffer.from('2'))];
    const kept = await upload(A, other, Buffer.from('3'));
    assert.deepEqual((await s3.keys(BUCKET, `sessions/${sid}/`)).sort(), refs.sort());
    assertJson(await api('DELETE', `/v1/sessions/${sid}`, A), 200, { success: true });
    assert.deepEqual(await s3.keys(BUCKET, `sessions/${sid}/`), []);
    assert.deepEqual(await s3.keys(BUCKET, `sessions/${other}/`), [kept]);
});

test('public files: avatar URLs under S3_PUBLIC_URL, GET /files/* not routed', { timeout: TEST_TIMEOUT }, async () => {
    const C = await authAccount(srv.url);
    sql(srv, `UPDATE account SET avatar = '${JSON.stringify({ path: 'public/users/c/avatars/a.png', width: 2, height: 3, thumbhash: 't' })}' WHERE id = '${C.sub}'`);
    const p = expectStatus(await api('GET', '/v1/account/profile', C), 200);
    assert.deepEqual(p.avatar, { path: 'public/users/c/avatars/a.png', width: 2, height: 3, thumbhash: 't', url: `${PUBLIC}/public/users/c/avatars/a.png` });
    const files = await req(srv.url, 'GET', '/files/public/users/c/avatars/a.png');
    assert.equal(files.status, 404);
    assert.notEqual(files.text, 'Not found', 'the local-storage route answered');
});

test('start-up: a missing bucket or an unreachable store stops the server with one line naming host, bucket and reason', { timeout: TEST_TIMEOUT }, async () => {
    // Asynchronous: the S3 server runs in this process and must keep answering while the binary starts.
    const run = (env) => new Promise((resolve, reject) => {
        const dir = makeTempDir();
        const p = spawn(SERVER_BIN, [], {
            cwd: dir, stdio: ['ignore', 'ignore', 'pipe'],
            env: { PATH: process.env.PATH, PORT: '0', HOST: '127.0.0.1', DATA_DIR: dir, METRICS_ENABLED: 'false', ...env },
        });
        let stderr = '';
        p.stderr.setEncoding('utf8');
        p.stderr.on('data', (c) => { stderr += c; });
        const timer = setTimeout(() => p.kill('SIGKILL'), 20_000);
        p.on('error', reject);
        p.on('close', (status) => { clearTimeout(timer); removeDir(dir); resolve({ status, stderr }); });
    });
    const missing = await run(s3Env(s3, { S3_BUCKET: 'no-such-bucket' }));
    assert.notEqual(missing.status, 0);
    const line = missing.stderr.trim().split('\n').pop();
    assert.equal(line, `happy-server: files: S3 bucket "no-such-bucket" at ${s3.endpoint}: the bucket does not exist (HeadBucket answered 404)`);

    const denied = await run(s3Env(s3, { S3_SECRET_KEY: 'wrong' }));
    assert.notEqual(denied.status, 0);
    assert.match(denied.stderr, /S3 bucket "happy" at http:\/\/127\.0\.0\.1:\d+: access denied/);

    const closed = await run(s3Env({ ...s3, port: 1 }));
    assert.notEqual(closed.status, 0);
    assert.match(closed.stderr, /happy-server: files: S3 bucket "happy" at http:\/\/127\.0\.0\.1:1: unreachable: cannot connect to 127\.0\.0\.1:1/);

    // Refused by the configuration check, before anything is opened (exit code 2, as --check-config).
    const noBucket = await run(s3Env(s3, { S3_BUCKET: '' }));
    assert.equal(noBucket.status, 2);
    assert.match(noBucket.stderr, /files\.s3\.bucket: required when files\.kind is "s3" \(S3_BUCKET\)/);
});

test('an S3 outage while running: presigning still answers, session deletion still succeeds, nothing crashes', { timeout: TEST_TIMEOUT }, async () => {
    const s3b = await startS3({ buckets: [BUCKET] });
    const srv2 = await startServer({ env: s3Env(s3b) });
    try {
        const C = await authAccount(srv2.url);
        const sid = (await createSession(srv2.url, C)).id;
        await s3b.stop();
        const up = await authReq(srv2.url, 'POST', `/v1/sessions/${sid}/attachments/request-upload`, C, { body: { filename: 'x', size: 1 } });
        assert.equal(expectStatus(up, 200).method, 'POST');
        // upstream deleteSessionAttachments failures are ignored: the session is gone either way.
        assertJson(await authReq(srv2.url, 'DELETE', `/v1/sessions/${sid}`, C), 200, { success: true });
        // Still answering, and saying which component is down (503: the file store is one of /health's components).
        const h = await req(srv2.url, 'GET', '/health');
        expectStatus(h, 503);
        assert.equal(h.json.error, 'File store unavailable');
        assert.equal(h.json.components.files.status, 'error');
        assert.equal(h.json.components.database.status, 'ok');
    } finally {
        assert.equal(await srv2.stop(), 0);
    }
});
