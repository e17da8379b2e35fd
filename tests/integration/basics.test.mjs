// Foundation milestone: root banner, /health, 404 handler, CORS, POST /v1/version, param length limit.
// Spec: http-api.md §2.1, §2.2, §2.5, §3.1, §3.14; observed.md.

import test, { before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
    startServer, req, rawHttp, assertJson, bodies, JSON_CT, ISO_RE, TEST_TIMEOUT, HOOK_TIMEOUT,
} from './harness.mjs';

const T = { timeout: TEST_TIMEOUT };
let srv;

before(async () => { srv = await startServer(); }, { timeout: HOOK_TIMEOUT });
after(async () => { await srv?.stop(); }, { timeout: HOOK_TIMEOUT });

const IOS_URL = 'https://apps.apple.com/us/app/happy-claude-code-client/id6748571505';
const ANDROID_URL = 'https://play.google.com/store/apps/details?id=com.ex3ndr.happy';

function assertCorsSimple(r, where) {
    assert.equal(r.headers['access-control-allow-origin'], '*', `ACAO on ${where}`);
    assert.equal(r.headers['vary'], undefined, `no Vary on ${where}`);
    assert.equal(r.headers['access-control-allow-credentials'], undefined, `no credentials header on ${where}`);
    assert.equal(r.headers['access-control-expose-headers'], undefined, `no expose header on ${where}`);
}

// ------------------------------------------------------------------------------------------------
// Root and health
// ------------------------------------------------------------------------------------------------

test('GET / returns the plain-text banner', T, async () => {
    const r = await req(srv.url, 'GET', '/');
    assert.equal(r.status, 200);
    assert.equal(r.headers['content-type'], 'text/plain; charset=utf-8');
    assert.equal(r.text, 'Welcome to Happy Server!');
    assertCorsSimple(r, 'GET /');
});

test('HEAD / returns the GET headers without a body', T, async () => {
    const r = await req(srv.url, 'HEAD', '/');
    assert.equal(r.status, 200);
    assert.equal(r.headers['content-type'], 'text/plain; charset=utf-8');
    assert.equal(r.text, '');
});

test('GET /health returns {status, timestamp, service}', T, async () => {
    const before = Date.now();
    const r = await req(srv.url, 'GET', '/health');
    const afterT = Date.now();
    assert.equal(r.status, 200, r.text);
    assert.equal(r.headers['content-type'], JSON_CT);
    // Upstream's three fields first, unchanged; then the components (operations_observability.test.mjs).
    assert.deepEqual(Object.keys(r.json), ['status', 'timestamp', 'service', 'components']);
    assert.equal(r.json.status, 'ok');
    assert.equal(r.json.service, 'happy-server');
    assert.match(r.json.timestamp, ISO_RE);
    const ts = Date.parse(r.json.timestamp);
    assert.ok(ts >= before - 5_000 && ts <= afterT + 5_000, `timestamp ${r.json.timestamp} not near now`);
    assert.ok(r.text.startsWith(JSON.stringify({ status: 'ok', timestamp: r.json.timestamp, service: 'happy-server' }).slice(0, -1) + ',"components":{'), r.text);
    assertCorsSimple(r, 'GET /health');
});

test('GET /health ignores a query string', T, async () => {
    const r = await req(srv.url, 'GET', '/health?x=1');
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.status, 'ok');
});

test('HEAD /health answers 200 without a body', T, async () => {
    const r = await req(srv.url, 'HEAD', '/health');
    assert.equal(r.status, 200);
    assert.equal(r.headers['content-type'], JSON_CT);
    assert.equal(r.text, '');
});

test('keep-alive responses advertise Keep-Alive: timeout=72', T, async () => {
    const r = await req(srv.url, 'GET', '/health');
    assert.equal(r.status, 200);
    assert.notEqual(r.headers['connection'], 'close');
    assert.equal(r.headers['keep-alive'], 'timeout=72');
});

// ------------------------------------------------------------------------------------------------
// 404 handler
// ------------------------------------------------------------------------------------------------

test('404 for unknown paths includes the raw URL with query string and the method', T, async () => {
    const cases = [
        ['GET', '/nope?a=1&b=%20'],
        ['GET', '/nope'],
        ['POST', '/nope'],
        ['DELETE', '/nope/deeper?x=y'],
        ['PUT', '/v1/does-not-exist'],
        ['PATCH', '/nope'],
        ['GET', '/nope%20x?q=a+b&q=c'],
        ['GET', '/v2/nothing-here?'],
    ];
    for (const [method, p] of cases) {
        const r = await req(srv.url, method, p);
        assertJson(r, 404, bodies.notFound(p, method), `${method} ${p}`);
        assertCorsSimple(r, `${method} ${p}`);
    }
});

test('wrong method on a known path is 404 (never 405)', T, async () => {
    const cases = [
        ['POST', '/'],
        ['DELETE', '/health'],
        ['POST', '/health'],
        ['GET', '/v1/auth'],
        ['PUT', '/v1/auth'],
        ['DELETE', '/v1/auth/request'],
        ['POST', '/v1/auth/request/status'],
        ['GET', '/v1/auth/response'],
        ['GET', '/v1/auth/account/request'],
        ['GET', '/v1/version'],
        ['PUT', '/v1/version'],
    ];
    for (const [method, p] of cases) {
        const r = await req(srv.url, method, p);
        assertJson(r, 404, bodies.notFound(p, method), `${method} ${p}`);
    }
});

test('404 is decided before body parsing (bad JSON / unsupported type on unknown route)', T, async () => {
    let r = await req(srv.url, 'POST', '/nope', { rawBody: '{bad', contentType: 'application/json' });
    assertJson(r, 404, bodies.notFound('/nope', 'POST'));
    r = await req(srv.url, 'POST', '/nope', { rawBody: 'a=1', contentType: 'application/x-www-form-urlencoded' });
    assertJson(r, 404, bodies.notFound('/nope', 'POST'));
});

test('HEAD of an unknown path is 404 without a body', T, async () => {
    const r = await req(srv.url, 'HEAD', '/nope?z=1');
    assert.equal(r.status, 404);
    assert.equal(r.text, '');
    assert.equal(r.headers['access-control-allow-origin'], '*');
});

test('trailing slashes are significant', T, async () => {
    for (const [method, p] of [['GET', '/health/'], ['POST', '/v1/auth/'], ['POST', '/v1/version/'],
        ['GET', '/v1/auth/request/status/?publicKey=x']]) {
        const r = await req(srv.url, method, p, method === 'POST' ? { body: {} } : {});
        assertJson(r, 404, bodies.notFound(p, method), `${method} ${p}`);
    }
});

test('path parameter longer than 100 characters falls through to the 404 handler', T, async () => {
    const long = 'a'.repeat(101);
    for (const [method, p] of [
        ['GET', `/v1/sessions/${long}/messages`],
        ['GET', `/v1/sessions/${long}/messages?limit=1`],
        ['POST', `/v1/sessions/${long}/archive`],
    ]) {
        const r = await req(srv.url, method, p);
        assertJson(r, 404, bodies.notFound(p, method), `${method} ${p.slice(0, 30)}…`);
    }
});

// ------------------------------------------------------------------------------------------------
// CORS
// ------------------------------------------------------------------------------------------------

test('CORS: access-control-allow-origin * on success, 404, 400, 401, 415 and 500 responses', T, async () => {
    const origin = { origin: 'https://example.com' };
    const checks = [
        ['GET /', await req(srv.url, 'GET', '/', { headers: origin }), 200],
        ['GET /health', await req(srv.url, 'GET', '/health', { headers: origin }), 200],
        ['GET /nope', await req(srv.url, 'GET', '/nope', { headers: origin }), 404],
        ['POST /v1/auth {}', await req(srv.url, 'POST', '/v1/auth', { body: {}, headers: origin }), 400],
        ['POST /v1/auth bad json', await req(srv.url, 'POST', '/v1/auth',
            { rawBody: '{bad', contentType: 'application/json', headers: origin }), 400],
        ['POST /v1/auth/response no token', await req(srv.url, 'POST', '/v1/auth/response',
            { body: { response: 'x', publicKey: 'x' }, headers: origin }), 401],
        ['POST /v1/auth xml', await req(srv.url, 'POST', '/v1/auth',
            { rawBody: '<a/>', contentType: 'application/xml', headers: origin }), 415],
        ['POST /v1/auth bad base64', await req(srv.url, 'POST', '/v1/auth',
            { body: { publicKey: '!!!!', challenge: '', signature: '' }, headers: origin }), 500],
        ['POST /v1/version', await req(srv.url, 'POST', '/v1/version',
            { body: { platform: 'web', version: '1.0.0', app_id: 'x' }, headers: origin }), 200],
    ];
    for (const [name, r, status] of checks) {
        assert.equal(r.status, status, `${name}: ${r.status} ${r.text}`);
        assertCorsSimple(r, name);
    }
});

async function assertPreflightOk(p, extraHeaders = {}) {
    const r = await req(srv.url, 'OPTIONS', p, {
        headers: { origin: 'https://example.com', 'access-control-request-method': 'POST', ...extraHeaders },
    });
    assert.equal(r.status, 204, `OPTIONS ${p}: ${r.status} ${r.text}`);
    assert.equal(r.text, '');
    assert.equal(r.headers['access-control-allow-origin'], '*');
    assert.equal(r.headers['access-control-allow-methods'], 'GET, POST, PUT, DELETE');
    assert.equal(r.headers['access-control-allow-headers'], '*');
    assert.equal(r.headers['content-length'], '0');
    const acHeaders = Object.keys(r.headers).filter((k) => k.startsWith('access-control-')).sort();
    assert.deepEqual(acHeaders,
        ['access-control-allow-headers', 'access-control-allow-methods', 'access-control-allow-origin'],
        `exact set of CORS headers on OPTIONS ${p}`);
    assert.equal(r.headers['vary'], undefined, 'no Vary on preflight');
}

test('CORS preflight on any path (existing or not) answers 204 with the fixed headers', T, async () => {
    for (const p of ['/', '/health', '/v1/auth', '/v1/version', '/does/not/exist?x=1',
        `/v1/sessions/abc/messages`, `/v1/sessions/${'b'.repeat(150)}/messages`]) {
        await assertPreflightOk(p);
    }
});

test('CORS preflight: allow-headers is the literal *, never the echoed request headers', T, async () => {
    await assertPreflightOk('/v1/auth/response', { 'access-control-request-headers': 'authorization, content-type, x-foo' });
    await assertPreflightOk('/v1/auth', { 'access-control-request-method': 'DELETE' });
});

test('CORS preflight without Origin or Access-Control-Request-Method is 400 Invalid Preflight Request', T, async () => {
    const cases = [
        { 'access-control-request-method': 'POST' },
        { origin: 'https://example.com' },
        {},
    ];
    for (const headers of cases) {
        for (const p of ['/v1/auth', '/nope']) {
            const r = await req(srv.url, 'OPTIONS', p, { headers });
            const what = `OPTIONS ${p} headers=${JSON.stringify(headers)}`;
            assert.equal(r.status, 400, `${what}: ${r.status} ${r.text}`);
            assert.equal(r.headers['content-type'], 'text/plain', what);
            assert.equal(r.text, 'Invalid Preflight Request', what);
            assert.equal(r.headers['access-control-allow-origin'], '*', what);
        }
    }
});

// ------------------------------------------------------------------------------------------------
// POST /v1/version
// ------------------------------------------------------------------------------------------------

test('POST /v1/version: iOS and Android update URLs by semver range >=1.4.1', T, async () => {
    const cases = [
        ['ios', '1.0.0', IOS_URL],
        ['ios', '1.4.0', IOS_URL],
        ['ios', '1.4.1', null],
        ['ios', '1.5.0', null],
        ['ios', '2.0.0', null],
        ['iOS', '1.0.0', IOS_URL],
        ['IOS', '1.4.1', null],
        ['android', '1.0.0', ANDROID_URL],
        ['android', '1.4.0', ANDROID_URL],
        ['android', '1.4.1', null],
        ['android', '10.0.0', null],
        ['Android', '0.9.9', ANDROID_URL],
        ['ANDROID', '3.2.1', null],
    ];
    for (const [platform, version, url] of cases) {
        const r = await req(srv.url, 'POST', '/v1/version', { body: { platform, version, app_id: 'com.ex3ndr.happy' } });
        assertJson(r, 200, { updateUrl: url }, `${platform} ${version}`);
    }
});

test('POST /v1/version: other platforms never get an update URL', T, async () => {
    for (const [platform, version] of [['web', '0.0.1'], ['macos', '0.1.0'], ['', 'garbage'], ['windows', '1.5.0-beta']]) {
        const r = await req(srv.url, 'POST', '/v1/version', { body: { platform, version, app_id: '' } });
        assertJson(r, 200, { updateUrl: null }, `${platform} ${version}`);
    }
});

test('POST /v1/version: prereleases and invalid semver do not satisfy the range', T, async () => {
    const cases = [
        ['ios', '1.5.0-beta', IOS_URL],
        ['ios', '2.0.0-rc.1', IOS_URL],
        ['android', '1.5.0-beta', ANDROID_URL],
        ['ios', 'garbage', IOS_URL],
        ['ios', '', IOS_URL],
        ['ios', '1.5', IOS_URL],
        ['android', 'not.a.version', ANDROID_URL],
        ['android', '', ANDROID_URL],
    ];
    for (const [platform, version, url] of cases) {
        const r = await req(srv.url, 'POST', '/v1/version', { body: { platform, version, app_id: 'x' } });
        assertJson(r, 200, { updateUrl: url }, `${platform} ${JSON.stringify(version)}`);
    }
});

test('POST /v1/version: observed example (iOS 1.0.0)', T, async () => {
    const r = await req(srv.url, 'POST', '/v1/version', { body: { platform: 'ios', version: '1.0.0', app_id: 'a' } });
    assert.equal(r.status, 200);
    assert.equal(r.text, '{"updateUrl":"https://apps.apple.com/us/app/happy-claude-code-client/id6748571505"}');
});

test('POST /v1/version: missing or mistyped fields are 400 validation errors', T, async () => {
    const u = (f) => `body/${f} Invalid input: expected string, received undefined`;
    const cases = [
        [{}, `${u('platform')}, ${u('version')}, ${u('app_id')}`],
        [{ platform: 'ios' }, `${u('version')}, ${u('app_id')}`],
        [{ platform: 'ios', version: '1.0.0' }, u('app_id')],
        [{ version: '1.0.0', app_id: 'x' }, u('platform')],
        [{ platform: 'ios', version: 141, app_id: 'x' }, 'body/version Invalid input: expected string, received number'],
        [{ platform: null, version: '1.0.0', app_id: 'x' }, 'body/platform Invalid input: expected string, received null'],
        [{ platform: 'ios', version: '1.0.0', app_id: true }, 'body/app_id Invalid input: expected string, received boolean'],
        [{ platform: ['ios'], version: {}, app_id: 'x' },
            'body/platform Invalid input: expected string, received array, body/version Invalid input: expected string, received object'],
    ];
    for (const [body, message] of cases) {
        const r = await req(srv.url, 'POST', '/v1/version', { body });
        assertJson(r, 400, bodies.validation(message), JSON.stringify(body));
        assert.equal(r.headers['access-control-allow-origin'], '*');
    }
});

test('POST /v1/version: without a body is a 400 on the whole object', T, async () => {
    const r = await req(srv.url, 'POST', '/v1/version');
    assertJson(r, 400, bodies.validation('body/ Invalid input: expected object, received null'));
});

test('POST /v1/version: unknown keys are ignored', T, async () => {
    const r = await req(srv.url, 'POST', '/v1/version',
        { body: { platform: 'android', version: '1.0.0', app_id: 'x', extra: 1, nested: { a: 1 } } });
    assertJson(r, 200, { updateUrl: ANDROID_URL });
});

test('listening log line was printed on stdout', T, async () => {
    assert.ok(srv.stdoutLines.some((l) => /listening/.test(l) && l.includes(String(srv.port))),
        `stdout: ${srv.stdoutLines.slice(0, 10).join('\n')}`);
});

// Node's parser (llhttp) takes only http.METHODS and visible ASCII in the request target; anything else is a 400 with
// an empty body and the connection closed, before routing (checked against Node 20). Found by tests/fuzz/http_fuzz.cpp:
// a raw 0xD1 in the path reached the 404 body as a raw byte, which made it invalid UTF-8 JSON.
test('request line Node refuses (raw non-ASCII byte in the target, unknown method): 400, empty, closed', T, async () => {
    const host = `Host: 127.0.0.1:${srv.port}\r\n`;
    for (const line of [Buffer.from('GET /v1\xd1\x8cx HTTP/1.1\r\n', 'latin1'), Buffer.from('GET /a\x7f HTTP/1.1\r\n', 'latin1'),
        Buffer.from('FOO / HTTP/1.1\r\n'), Buffer.from('get / HTTP/1.1\r\n'), Buffer.from('PRI /v1/updates/ HTTP/1.1\r\n')]) {
        const r = await rawHttp(srv.url, Buffer.concat([line, Buffer.from(`${host}\r\n`)]), { waitClose: 300 });
        assert.equal(r.status, 400, line.toString('latin1'));
        assert.equal(r.text, '', line.toString('latin1'));
        assert.ok(r.closed, line.toString('latin1'));
    }
    // Methods Node knows but no route has are still the JSON 404.
    const r = await rawHttp(srv.url, `PROPFIND /x HTTP/1.1\r\n${host}Connection: close\r\n\r\n`);
    assertJson(r, 404, bodies.notFound('/x', 'PROPFIND'));
});

test('header values are read as latin1, as Node does: a raw 0xD1 is U+00D1 in JSON that echoes it', T, async () => {
    const r = await rawHttp(srv.url, Buffer.from(`POST /v1/version HTTP/1.1\r\nHost: 127.0.0.1:${srv.port}\r\n` +
        'Content-Type: text/x\xd1\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}', 'latin1'));
    assertJson(r, 415, bodies.unsupported('text/x\u00d1'));
});

test('raw HTTP/1.1 request via plain socket gets the same 404 body', T, async () => {
    const r = await rawHttp(srv.url,
        `GET /raw-check?x=%41 HTTP/1.1\r\nHost: 127.0.0.1:${srv.port}\r\nConnection: close\r\n\r\n`);
    assertJson(r, 404, bodies.notFound('/raw-check?x=%41', 'GET'));
});
