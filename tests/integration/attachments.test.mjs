// Attachments and local files (http-api.md §3.1 GET /files/*, §3.5; upstream routes/attachmentRoutes.ts, api.ts,
// storage/files.ts): exact bodies, key orders and headers, ownership (another account's session is 404), name
// checks, size limits, a binary round trip, HEAD, the public /files/* route with its traversal guard, the
// request-upload rate limit and the removal of a session's blobs when the session is deleted.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';
import {
    TEST_TIMEOUT, HOOK_TIMEOUT, startServer, authAccount, req, authReq, rawHttp, assertJson, expectStatus, bodies,
    createSession,
} from './harness.mjs';

const MAX = 10 * 1024 * 1024;
const ENC_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}\.enc$/;

let srv;
let A;
let B;

before(async () => {
    srv = await startServer();
    A = await authAccount(srv.url);
    B = await authAccount(srv.url);
}, { timeout: HOOK_TIMEOUT });

after(async () => { await srv?.stop(); }, { timeout: HOOK_TIMEOUT });

const api = (method, p, acct, opts) => authReq(srv.url, method, p, acct, opts);

const newSessionId = async (acct = A) => (await createSession(srv.url, acct)).id;

const put = (acct, sid, file, bytes, contentType = 'application/octet-stream') =>
    api('PUT', `/v1/sessions/${sid}/attachments/${file}`, acct, { rawBody: bytes, contentType });

const blobPath = (sid, file) => path.join(srv.dataDir, 'files', 'sessions', sid, 'attachments', file);
const host = () => new URL(srv.url).host;

test('request-upload: ref, PUT url on the Host the request came to, method; forwarded headers win', { timeout: TEST_TIMEOUT }, async () => {
    const sid = await newSessionId();
    const r = await api('POST', `/v1/sessions/${sid}/attachments/request-upload`, A, { body: { filename: 'x.png', size: 1024 } });
    const body = expectStatus(r, 200);
    assert.deepEqual(Object.keys(body), ['ref', 'uploadUrl', 'method']);
    const file = body.ref.split('/').pop();
    assert.match(file, ENC_RE);
    assertJson(r, 200, {
        ref: `sessions/${sid}/attachments/${file}`,
        uploadUrl: `http://${host()}/v1/sessions/${sid}/attachments/${file}`,
        method: 'PUT',
    });

    const f = await api('POST', `/v1/sessions/${sid}/attachments/request-upload`, A, {
        body: { filename: 'x', size: 0 }, headers: { 'x-forwarded-host': 'happy.example:8443', 'x-forwarded-proto': 'https' },
    });
    const fb = expectStatus(f, 200);
    assert.ok(fb.uploadUrl.startsWith(`https://happy.example:8443/v1/sessions/${sid}/attachments/`), fb.uploadUrl);

    // Negative and fractional sizes pass upstream's schema (z.number().max(10 MiB)).
    expectStatus(await api('POST', `/v1/sessions/${sid}/attachments/request-upload`, A, { body: { filename: 'x', size: -1.5 } }), 200);
});

test('request-upload: validation, auth and ownership errors', { timeout: TEST_TIMEOUT }, async () => {
    const sid = await newSessionId();
    const p = `/v1/sessions/${sid}/attachments/request-upload`;
    assertJson(await api('POST', p, A, { body: { filename: 'x', size: MAX + 1 } }), 400,
        bodies.validation('body/size Too big: expected number to be <=10485760'));
    assertJson(await api('POST', p, A, { body: { size: '1' } }), 400,
        bodies.validation('body/filename Invalid input: expected string, received undefined, body/size Invalid input: expected number, received string'));
    assertJson(await api('POST', p, A), 400, bodies.validation('body/ Invalid input: expected object, received null'));
    assertJson(await api('POST', p, null, { body: { filename: 'x', size: 1 } }), 401, bodies.missingAuth);
    assertJson(await api('POST', p, B, { body: { filename: 'x', size: 1 } }), 404, { error: 'Session not found' });
    assertJson(await api('POST', '/v1/sessions/nope/attachments/request-upload', A, { body: { filename: 'x', size: 1 } }), 404,
        { error: 'Session not found' });
});

test('PUT then GET round-trips binary bytes exactly; HEAD has the same headers and no body', { timeout: TEST_TIMEOUT }, async () => {
    const sid = await newSessionId();
    const up = expectStatus(await api('POST', `/v1/sessions/${sid}/attachments/request-upload`, A, { body: { filename: 'a', size: 300000 } }), 200);
    const file = up.ref.split('/').pop();
    const bytes = Buffer.concat([Buffer.from([0, 1, 2, 255, 254, 0x0d, 0x0a, 0]), crypto.randomBytes(300000)]);
    assertJson(await put(A, sid, file, bytes), 200, { ok: true });
    assert.ok(fs.readFileSync(blobPath(sid, file)).equals(bytes), 'stored under <data>/files/sessions/<sid>/attachments/');
    // Atomic writes leave no temporary file behind.
    assert.deepEqual(fs.readdirSync(path.dirname(blobPath(sid, file))), [file]);

    const dl = expectStatus(await api('POST', `/v1/sessions/${sid}/attachments/request-download`, A, { body: { ref: up.ref } }), 200);
    assert.deepEqual(dl, { downloadUrl: `http://${host()}/v1/sessions/${sid}/attachments/${file}` });

    const g = await api('GET', `/v1/sessions/${sid}/attachments/${file}`, A);
    assert.equal(g.status, 200);
    assert.equal(g.headers['content-type'], 'application/octet-stream');
    assert.equal(g.headers['content-length'], String(bytes.length));
    assert.equal(g.headers['access-control-allow-origin'], '*');
    assert.ok(g.bytes.equals(bytes), 'downloaded bytes differ');

    const h = await api('HEAD', `/v1/sessions/${sid}/attachments/${file}`, A);
    assert.equal(h.status, 200);
    assert.equal(h.headers['content-type'], 'application/octet-stream');
    assert.equal(h.headers['content-length'], String(bytes.length));
    assert.equal(h.bytes.length, 0);

    // Overwrite (upstream writes over an existing file), any name, empty body.
    assertJson(await put(A, sid, file, Buffer.from('second')), 200, { ok: true });
    assert.equal((await api('GET', `/v1/sessions/${sid}/attachments/${file}`, A)).text, 'second');
    assertJson(await put(A, sid, 'any-name.bin', Buffer.alloc(0)), 200, { ok: true });
    const e = await api('GET', `/v1/sessions/${sid}/attachments/any-name.bin`, A);
    assert.equal(e.status, 200);
    assert.equal(e.headers['content-length'], '0');
});

test('size limit: 10 MiB is accepted, one byte more is 413', { timeout: TEST_TIMEOUT }, async () => {
    const sid = await newSessionId();
    assertJson(await put(A, sid, 'max.enc', Buffer.alloc(MAX, 7)), 200, { ok: true });
    assert.equal(fs.statSync(blobPath(sid, 'max.enc')).size, MAX);
    assertJson(await put(A, sid, 'big.enc', Buffer.alloc(MAX + 1, 7)), 413, { error: 'File too large (max 10MB)' });
    assert.equal(fs.existsSync(blobPath(sid, 'big.enc')), false);
    const g = await api('GET', `/v1/sessions/${sid}/attachments/max.enc`, A);
    assert.equal(g.status, 200);
    assert.equal(g.bytes.length, MAX);
});

test('bodies over the 100 MiB server limit: 413 filtered by the routes\' 413 schema to {"error":"FastifyError"}', { timeout: TEST_TIMEOUT }, async () => {
    const sid = await newSessionId();
    const head = (method, p, ct) => `${method} ${p} HTTP/1.1\r\nHost: ${host()}\r\nContent-Type: ${ct}\r\n` +
        `Content-Length: 104857601\r\nAuthorization: Bearer ${A.token}\r\n\r\nxx`;
    // PUT and request-upload declare a 413 response schema upstream; request-download does not.
    assertJson(await rawHttp(srv.url, head('PUT', `/v1/sessions/${sid}/attachments/x.enc`, 'application/octet-stream'), { timeoutMs: 10_000 }),
        413, { error: 'FastifyError' });
    assertJson(await rawHttp(srv.url, head('POST', `/v1/sessions/${sid}/attachments/request-upload`, 'application/json'), { timeoutMs: 10_000 }),
        413, { error: 'FastifyError' });
    assertJson(await rawHttp(srv.url, head('POST', `/v1/sessions/${sid}/attachments/request-download`, 'application/json'), { timeoutMs: 10_000 }),
        413, bodies.tooLarge);
});

test('bad attachment names are 404 "Invalid attachment file" and touch nothing', { timeout: TEST_TIMEOUT }, async () => {
    const sid = await newSessionId();
    for (const name of ['..', 'a..b', '%2E%2E', '..%2Fescape', '%2Fetc%2Fpasswd', 'x%2Fy', '.', 'a%5Cb', 'nul%00byte']) {
        assertJson(await put(A, sid, name, Buffer.from('x')), 404, { error: 'Invalid attachment file' }, `PUT ${name}`);
        assertJson(await api('GET', `/v1/sessions/${sid}/attachments/${name}`, A), 404, { error: 'Invalid attachment file' }, `GET ${name}`);
    }
    assert.equal(fs.existsSync(path.join(srv.dataDir, 'files', 'sessions', sid, 'escape')), false);
    assert.equal(fs.existsSync(path.join(srv.dataDir, 'files', 'sessions', sid, 'attachments')), false);
    // The ownership check comes first (upstream order).
    assertJson(await put(A, 'nope', '..', Buffer.from('x')), 404, { error: 'Session not found' });
});

test("another account's session is 404 for every attachment route", { timeout: TEST_TIMEOUT }, async () => {
    const sid = await newSessionId(A);
    assertJson(await put(A, sid, 'mine.enc', Buffer.from('secret')), 200, { ok: true });
    assertJson(await put(B, sid, 'mine.enc', Buffer.from('overwrite')), 404, { error: 'Session not found' });
    assertJson(await api('GET', `/v1/sessions/${sid}/attachments/mine.enc`, B), 404, { error: 'Session not found' });
    assertJson(await api('POST', `/v1/sessions/${sid}/attachments/request-download`, B, { body: { ref: `sessions/${sid}/attachments/mine.enc` } }),
        404, { error: 'Session not found' });
    assert.equal(fs.readFileSync(blobPath(sid, 'mine.enc'), 'utf8'), 'secret');
    assertJson(await api('GET', `/v1/sessions/${sid}/attachments/mine.enc`, null), 401, bodies.missingAuth);
    assertJson(await api('GET', `/v1/sessions/${sid}/attachments/missing.enc`, A), 404, { error: 'Attachment not found' });
});

test('request-download: ref checks and schema-filtered 400 bodies', { timeout: TEST_TIMEOUT }, async () => {
    const sid = await newSessionId();
    const other = await newSessionId();
    const p = `/v1/sessions/${sid}/attachments/request-download`;
    const dl = (ref) => api('POST', p, A, { body: { ref } });
    assertJson(await dl(`sessions/${other}/attachments/x.enc`), 400, { error: 'Ref does not belong to this session' });
    assertJson(await dl(`sessions/${sid}/attachments`), 400, { error: 'Ref does not belong to this session' });
    assertJson(await dl(`sessions/${sid}/attachments/`), 400, { error: 'Invalid attachment ref' });
    assertJson(await dl(`sessions/${sid}/attachments/a/b`), 400, { error: 'Invalid attachment ref' });
    assertJson(await dl(`sessions/${sid}/attachments/..`), 400, { error: 'Invalid attachment ref' });
    // Existence is not checked.
    assertJson(await dl(`sessions/${sid}/attachments/never-uploaded`), 200,
        { downloadUrl: `http://${host()}/v1/sessions/${sid}/attachments/never-uploaded` });
    // This route declares a 400 response schema: validation and syntax errors keep only `error`.
    assertJson(await api('POST', p, A, { body: {} }), 400, { error: 'Error' });
    assertJson(await api('POST', p, A, { rawBody: '{bad', contentType: 'application/json' }), 400, { error: 'SyntaxError' });
});

test('PUT bodies other than bytes: JSON object or none is the generic 500, unknown type 415', { timeout: TEST_TIMEOUT }, async () => {
    const sid = await newSessionId();
    assertJson(await api('PUT', `/v1/sessions/${sid}/attachments/j.enc`, A, { body: { a: 1 } }), 500, bodies.internal);
    assertJson(await api('PUT', `/v1/sessions/${sid}/attachments/n.enc`, A), 500, bodies.internal);
    assertJson(await put(A, sid, 'p.enc', Buffer.from('x'), 'image/png'), 415, bodies.unsupported('image/png'));
    // A text/plain body is a string upstream, written as is.
    assertJson(await put(A, sid, 't.txt', Buffer.from('hello'), 'text/plain'), 200, { ok: true });
    assert.equal(fs.readFileSync(blobPath(sid, 't.txt'), 'utf8'), 'hello');
});

test('GET /files/*: public, bytes without content-type, 403 outside the files dir, 404 text', { timeout: TEST_TIMEOUT }, async () => {
    const sid = await newSessionId();
    const bytes = crypto.randomBytes(1000);
    assertJson(await put(A, sid, 'pub.enc', bytes), 200, { ok: true });
    const g = await req(srv.url, 'GET', `/files/sessions/${sid}/attachments/pub.enc`);
    assert.equal(g.status, 200);
    assert.equal(g.headers['content-type'], undefined);
    assert.ok(g.bytes.equals(bytes));
    const h = await req(srv.url, 'HEAD', `/files/sessions/${sid}/attachments/pub.enc`);
    assert.equal(h.status, 200);
    assert.equal(h.bytes.length, 0);
    // path.resolve semantics: `x/../` inside the base is fine.
    const viaDots = await req(srv.url, 'GET', `/files/sessions/${sid}/x/../attachments/pub.enc`);
    assert.equal(viaDots.status, 200);

    for (const p of ['/files/', '/files/..', '/files/../happy.sqlite', '/files/%2E%2E/happy.sqlite', '/files/a/../../master-secret',
        '/files//etc/passwd', '/files/%2Fetc%2Fpasswd', '/files/.']) {
        const r = await req(srv.url, 'GET', p);
        assert.equal(r.status, 403, p);
        assert.equal(r.headers['content-type'], 'text/plain', p);
        assert.equal(r.text, 'Forbidden', p);
    }
    const nf = await req(srv.url, 'GET', '/files/public/none.png');
    assert.equal(nf.status, 404);
    assert.equal(nf.headers['content-type'], 'text/plain; charset=utf-8');
    assert.equal(nf.text, 'Not found');
    // A directory: upstream's stream fails → the generic 500.
    assertJson(await req(srv.url, 'GET', `/files/sessions/${sid}`), 500, bodies.internal);
    // Only GET/HEAD.
    assertJson(await req(srv.url, 'PUT', '/files/x', { rawBody: 'x', contentType: 'application/octet-stream' }), 404,
        bodies.notFound('/files/x', 'PUT'));
});

test('deleting a session removes its attachments, and only its own', { timeout: TEST_TIMEOUT }, async () => {
    const sid = await newSessionId();
    const keep = await newSessionId();
    assertJson(await put(A, sid, 'a.enc', Buffer.from('a')), 200, { ok: true });
    assertJson(await put(A, sid, 'b.enc', Buffer.from('b')), 200, { ok: true });
    assertJson(await put(A, keep, 'c.enc', Buffer.from('c')), 200, { ok: true });
    assertJson(await api('DELETE', `/v1/sessions/${sid}`, A), 200, { success: true });
    assert.equal(fs.existsSync(path.join(srv.dataDir, 'files', 'sessions', sid, 'attachments')), false);
    assertJson(await api('GET', `/v1/sessions/${sid}/attachments/a.enc`, A), 404, { error: 'Session not found' });
    assert.equal((await req(srv.url, 'GET', `/files/sessions/${sid}/attachments/a.enc`)).status, 404);
    assert.equal(fs.readFileSync(blobPath(keep, 'c.enc'), 'utf8'), 'c');
});

test('request-upload is limited to 60 calls a minute per account, counted before the ownership check', { timeout: TEST_TIMEOUT }, async () => {
    const C = await authAccount(srv.url);
    const sid = await newSessionId(C);
    for (let i = 0; i < 60; i++) {
        const r = await api('POST', '/v1/sessions/not-mine/attachments/request-upload', C, { body: { filename: 'x', size: 1 } });
        assert.equal(r.status, 404, `call ${i}`);
    }
    assertJson(await api('POST', `/v1/sessions/${sid}/attachments/request-upload`, C, { body: { filename: 'x', size: 1 } }), 429,
        { error: 'Too many upload requests. Try again in a minute.' });
    // Per account: another account is unaffected.
    const other = await newSessionId(B);
    expectStatus(await api('POST', `/v1/sessions/${other}/attachments/request-upload`, B, { body: { filename: 'x', size: 1 } }), 200);
});

test('PUBLIC_URL is the base of upload and download URLs', { timeout: TEST_TIMEOUT }, async () => {
    const pub = await startServer({ env: { PUBLIC_URL: 'https://happy.example.com' } });
    try {
        const acct = await authAccount(pub.url);
        const s = expectStatus(await authReq(pub.url, 'POST', '/v1/sessions', acct, { body: { tag: 't', metadata: 'm' } }), 200);
        const sid = s.session.id;
        const up = expectStatus(await authReq(pub.url, 'POST', `/v1/sessions/${sid}/attachments/request-upload`, acct,
            { headers: { 'x-forwarded-host': 'ignored.example' }, body: { filename: 'x', size: 1 } }), 200);
        const file = up.ref.split('/').pop();
        assert.equal(up.uploadUrl, `https://happy.example.com/v1/sessions/${sid}/attachments/${file}`);
        const dl = await authReq(pub.url, 'POST', `/v1/sessions/${sid}/attachments/request-download`, acct,
            { body: { ref: up.ref } });
        assertJson(dl, 200, { downloadUrl: `https://happy.example.com/v1/sessions/${sid}/attachments/${file}` });
    } finally {
        await pub.stop();
    }
});
