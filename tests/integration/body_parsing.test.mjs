// Foundation milestone: request body parsing quirks, validation error format, lifecycle order.
// Targets: POST /v1/auth, POST /v1/version, POST /v1/auth/response, POST /v1/auth/request.
// Spec: http-api.md §2.1 (body limit), §2.3, §2.4, §2.6, §6.1-6.3.

import test, { before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
    startServer, req, rawHttp, assertJson, bodies, TEST_TIMEOUT, HOOK_TIMEOUT, assertHealthy,
} from './harness.mjs';

const T = { timeout: TEST_TIMEOUT };
let srv;

before(async () => { srv = await startServer(); }, { timeout: HOOK_TIMEOUT });
after(async () => { await srv?.stop(); }, { timeout: HOOK_TIMEOUT });

const missing = (part, f) => `${part}/${f} Invalid input: expected string, received undefined`;
const AUTH_ALL_MISSING = `${missing('body', 'publicKey')}, ${missing('body', 'challenge')}, ${missing('body', 'signature')}`;
const VERSION_ALL_MISSING = `${missing('body', 'platform')}, ${missing('body', 'version')}, ${missing('body', 'app_id')}`;
const RESPONSE_ALL_MISSING = `${missing('body', 'response')}, ${missing('body', 'publicKey')}`;

// ------------------------------------------------------------------------------------------------
// Invalid JSON -> 400 SyntaxError + connection: close
// ------------------------------------------------------------------------------------------------

// Inputs chosen to produce exactly the Node 20 / V8 messages listed in http-api.md §2.3.
const SYNTAX_CASES = [
    ['{bad', "Expected property name or '}' in JSON at position 1"],
    ['abc', 'Unexpected token \'a\', "abc" is not valid JSON'],
    ['{"a":', 'Unexpected end of JSON input'],
    ['{"a":1}x', 'Unexpected non-whitespace character after JSON at position 7'],
    ['{"a":1"b":2}', "Expected ',' or '}' after property value in JSON at position 6"],
    ['{"a":"bcdefgh', 'Unterminated string in JSON at position 13'],
    ['{"a":01}', 'Unexpected number in JSON at position 6'],
];

for (const route of ['/v1/auth', '/v1/version']) {
    test(`invalid JSON on POST ${route} -> 400 SyntaxError with the V8 message and connection: close`, T, async () => {
        for (const [input, message] of SYNTAX_CASES) {
            const r = await req(srv.url, 'POST', route, { rawBody: input, contentType: 'application/json' });
            assertJson(r, 400, bodies.syntax(message), `input ${JSON.stringify(input)}`);
            assert.equal(r.headers['connection'], 'close', `connection header for ${JSON.stringify(input)}`);
            assert.equal(r.headers['access-control-allow-origin'], '*');
        }
    });
}

test('invalid JSON envelope for other malformed inputs (message text not pinned)', T, async () => {
    for (const input of ['[1,]', '{"a":1,}', "{'a':1}", 'tru', '{"a" 1}', '\u0000']) {
        const r = await req(srv.url, 'POST', '/v1/auth', { rawBody: input, contentType: 'application/json' });
        assert.equal(r.status, 400, `${JSON.stringify(input)}: ${r.text}`);
        assert.deepEqual(Object.keys(r.json ?? {}), ['error', 'message', 'statusCode'], r.text);
        assert.equal(r.json.error, 'SyntaxError');
        assert.equal(r.json.statusCode, 400);
        assert.equal(typeof r.json.message, 'string');
        assert.equal(r.headers['connection'], 'close');
    }
});

test('invalid JSON with a charset parameter / upper-case media type is still parsed as JSON', T, async () => {
    for (const ct of ['application/json; charset=utf-8', 'Application/JSON', 'APPLICATION/JSON; charset=UTF-8']) {
        const r = await req(srv.url, 'POST', '/v1/auth', { rawBody: '{bad', contentType: ct });
        assertJson(r, 400, bodies.syntax("Expected property name or '}' in JSON at position 1"), ct);
    }
});

test('valid JSON with a charset parameter / upper-case media type is accepted', T, async () => {
    for (const ct of ['application/json; charset=utf-8', 'Application/JSON', 'APPLICATION/JSON; charset=UTF-8']) {
        const r = await req(srv.url, 'POST', '/v1/version', {
            rawBody: JSON.stringify({ platform: 'web', version: '1.0.0', app_id: 'x' }), contentType: ct,
        });
        assertJson(r, 200, { updateUrl: null }, ct);
    }
});

// ------------------------------------------------------------------------------------------------
// Empty JSON body -> {}
// ------------------------------------------------------------------------------------------------

test('empty application/json body on POST is {} -> validation lists every missing field in order', T, async () => {
    let r = await req(srv.url, 'POST', '/v1/auth', { rawBody: '', contentType: 'application/json' });
    assertJson(r, 400, bodies.validation(AUTH_ALL_MISSING));
    assert.notEqual(r.headers['connection'], 'close');

    r = await req(srv.url, 'POST', '/v1/version', { rawBody: '', contentType: 'application/json' });
    assertJson(r, 400, bodies.validation(VERSION_ALL_MISSING));

    // Content-Type json but no body bytes at all (no Content-Length body) is the same.
    r = await req(srv.url, 'POST', '/v1/auth', { contentType: 'application/json' });
    assertJson(r, 400, bodies.validation(AUTH_ALL_MISSING));
});

test('whitespace-only application/json body is {} as well', T, async () => {
    for (const ws of [' ', '  \n\t ', '\r\n']) {
        const r = await req(srv.url, 'POST', '/v1/auth', { rawBody: ws, contentType: 'application/json; charset=utf-8' });
        assertJson(r, 400, bodies.validation(AUTH_ALL_MISSING), JSON.stringify(ws));
    }
});

test('explicit {} body gives the same validation message (matches spec example)', T, async () => {
    const r = await req(srv.url, 'POST', '/v1/auth', { body: {} });
    assert.equal(r.status, 400);
    assert.equal(r.text,
        '{"error":"Error","message":"body/publicKey Invalid input: expected string, received undefined, ' +
        'body/challenge Invalid input: expected string, received undefined, ' +
        'body/signature Invalid input: expected string, received undefined","statusCode":400}');
});

// ------------------------------------------------------------------------------------------------
// Non-object JSON bodies and wrong field types
// ------------------------------------------------------------------------------------------------

test('non-object JSON bodies fail root-level validation ("body/ ...")', T, async () => {
    const cases = [
        ['[]', 'array'], ['[1,2]', 'array'], ['42', 'number'], ['-1.5', 'number'], ['null', 'null'],
        ['"str"', 'string'], ['true', 'boolean'], ['false', 'boolean'],
    ];
    for (const route of ['/v1/auth', '/v1/version']) {
        for (const [input, type] of cases) {
            const r = await req(srv.url, 'POST', route, { rawBody: input, contentType: 'application/json' });
            assertJson(r, 400, bodies.validation(`body/ Invalid input: expected object, received ${type}`),
                `${route} ${input}`);
        }
    }
});

test('wrong field types produce per-field zod messages in schema order', T, async () => {
    const cases = [
        [{ publicKey: 1, challenge: 'AA==', signature: 'AA==' },
            'body/publicKey Invalid input: expected string, received number'],
        [{ publicKey: 'AA==', challenge: true, signature: 'AA==' },
            'body/challenge Invalid input: expected string, received boolean'],
        [{ publicKey: 'AA==', challenge: 'AA==', signature: null },
            'body/signature Invalid input: expected string, received null'],
        [{ publicKey: {}, challenge: [], signature: 3.5 },
            'body/publicKey Invalid input: expected string, received object, ' +
            'body/challenge Invalid input: expected string, received array, ' +
            'body/signature Invalid input: expected string, received number'],
        [{ signature: 1, publicKey: 'AA==' },
            `body/challenge Invalid input: expected string, received undefined, ` +
            'body/signature Invalid input: expected string, received number'],
    ];
    for (const [body, message] of cases) {
        const r = await req(srv.url, 'POST', '/v1/auth', { body });
        assertJson(r, 400, bodies.validation(message), JSON.stringify(body));
    }
});

test('POST /v1/auth/request: supportsV2 must be boolean/null; publicKey string', T, async () => {
    let r = await req(srv.url, 'POST', '/v1/auth/request', { body: { publicKey: 'x'.repeat(4), supportsV2: 'yes' } });
    assertJson(r, 400, bodies.validation('body/supportsV2 Invalid input: expected boolean, received string'));
    r = await req(srv.url, 'POST', '/v1/auth/request', { body: { supportsV2: 1 } });
    assertJson(r, 400, bodies.validation(
        'body/publicKey Invalid input: expected string, received undefined, ' +
        'body/supportsV2 Invalid input: expected boolean, received number'));
    r = await req(srv.url, 'POST', '/v1/auth/account/request', { body: { publicKey: 5 } });
    assertJson(r, 400, bodies.validation('body/publicKey Invalid input: expected string, received number'));
});

test('numbers in strings are not coerced for body fields', T, async () => {
    const r = await req(srv.url, 'POST', '/v1/version', { body: { platform: 'ios', version: 1, app_id: 2 } });
    assertJson(r, 400, bodies.validation(
        'body/version Invalid input: expected string, received number, ' +
        'body/app_id Invalid input: expected string, received number'));
});

test('unknown extra keys are ignored', T, async () => {
    const r = await req(srv.url, 'POST', '/v1/version', {
        body: { platform: 'ios', version: '1.4.1', app_id: 'x', extra: true, __proto__x: 1, nested: { deep: [1] } },
    });
    assertJson(r, 200, { updateUrl: null });
    const r2 = await req(srv.url, 'POST', '/v1/version', {
        rawBody: '{"platform":"ios","version":"1.4.1","app_id":"x","__proto__":{"polluted":1}}',
        contentType: 'application/json',
    });
    assertJson(r2, 200, { updateUrl: null });
});

// ------------------------------------------------------------------------------------------------
// Content types
// ------------------------------------------------------------------------------------------------

test('text/plain body is a raw string -> fails object validation', T, async () => {
    for (const route of ['/v1/auth', '/v1/version']) {
        for (const ct of ['text/plain', 'text/plain; charset=utf-8']) {
            const r = await req(srv.url, 'POST', route, { rawBody: '{"platform":"ios"}', contentType: ct });
            assertJson(r, 400, bodies.validation('body/ Invalid input: expected object, received string'), `${route} ${ct}`);
        }
    }
});

test('unsupported content types with a body -> 415 echoing the header as sent', T, async () => {
    const cts = [
        'application/x-www-form-urlencoded',
        'application/vnd.api+json',
        'image/png',
        'application/xml; charset=utf-8',
        'multipart/form-data; boundary=xyz',
    ];
    for (const route of ['/v1/auth', '/v1/version']) {
        for (const ct of cts) {
            const r = await req(srv.url, 'POST', route, { rawBody: '{"a":1}', contentType: ct });
            assertJson(r, 415, bodies.unsupported(ct), `${route} ${ct}`);
            assert.equal(r.headers['access-control-allow-origin'], '*');
        }
    }
});

test('body bytes without any Content-Type -> 415 "Unsupported Media Type: undefined"', T, async () => {
    const r = await req(srv.url, 'POST', '/v1/auth', { rawBody: Buffer.from('{"publicKey":"x"}') });
    assertJson(r, 415, bodies.unsupported('undefined'));
    const r2 = await req(srv.url, 'POST', '/v1/version', { rawBody: Buffer.from([1, 2, 3]) });
    assertJson(r2, 415, bodies.unsupported('undefined'));
});

test('fetch() with a Uint8Array body sends no Content-Type -> 415 undefined', T, async () => {
    const res = await fetch(`${srv.url}/v1/auth`,
        { method: 'POST', body: new Uint8Array([123, 125]), signal: AbortSignal.timeout(8_000) });
    const text = await res.text();
    assert.equal(res.status, 415, text);
    assert.equal(res.headers.get('content-type'), 'application/json; charset=utf-8');
    assert.equal(text, JSON.stringify(bodies.unsupported('undefined')));
});

test('no body and no Content-Type -> validator receives null', T, async () => {
    for (const route of ['/v1/auth', '/v1/version', '/v1/auth/request', '/v1/auth/account/request']) {
        const r = await req(srv.url, 'POST', route);
        assertJson(r, 400, bodies.validation('body/ Invalid input: expected object, received null'), route);
    }
    const f = await fetch(`${srv.url}/v1/auth`, { method: 'POST', signal: AbortSignal.timeout(8_000) });
    assert.equal(f.status, 400);
    assert.equal(await f.text(), JSON.stringify(bodies.validation('body/ Invalid input: expected object, received null')));
});

// ------------------------------------------------------------------------------------------------
// Body limit (100 MiB): decided from Content-Length alone
// ------------------------------------------------------------------------------------------------

function oversizedRequest(route, extraHeaders = '') {
    return `POST ${route} HTTP/1.1\r\nHost: 127.0.0.1:${srv.port}\r\nContent-Type: application/json\r\n` +
        `Content-Length: 104857601\r\n${extraHeaders}\r\n{"publicKey":"`;
}

test('declared Content-Length over 100 MiB -> 413 without reading the body', T, async () => {
    for (const route of ['/v1/auth', '/v1/version']) {
        const r = await rawHttp(srv.url, oversizedRequest(route), { timeoutMs: 10_000 });
        assertJson(r, 413, bodies.tooLarge, route);
        assert.equal(r.headers['access-control-allow-origin'], '*');
    }
});

test('413 is produced before authentication', T, async () => {
    const r = await rawHttp(srv.url, oversizedRequest('/v1/auth/response'), { timeoutMs: 10_000 });
    assertJson(r, 413, bodies.tooLarge);
});

test('Content-Length of exactly 100 MiB is not rejected up front', T, async () => {
    // The server must keep waiting for the body (no immediate 413). We send a few bytes and expect
    // no response within 1.5 s; the connection is then dropped by the client.
    const data = `POST /v1/version HTTP/1.1\r\nHost: 127.0.0.1:${srv.port}\r\nContent-Type: application/json\r\n` +
        `Content-Length: 104857600\r\n\r\n{"platform":"`;
    let got = null;
    try {
        got = await rawHttp(srv.url, data, { timeoutMs: 1_500, countTimeout: false });
    } catch (e) {
        assert.match(String(e.message), /timeout/, `unexpected error: ${e.message}`);
    }
    assert.equal(got, null, `server answered early: ${got && got.status} ${got && got.text}`);
    // server still healthy
    await assertHealthy(srv);
});

// ------------------------------------------------------------------------------------------------
// Lifecycle: parsing and validation before authentication
// ------------------------------------------------------------------------------------------------

test('validation happens before authentication (400, not 401)', T, async () => {
    let r = await req(srv.url, 'POST', '/v1/auth/response', { body: {} });
    assertJson(r, 400, bodies.validation(RESPONSE_ALL_MISSING));

    r = await req(srv.url, 'POST', '/v1/auth/response', { body: { response: 'x' } });
    assertJson(r, 400, bodies.validation(missing('body', 'publicKey')));

    r = await req(srv.url, 'POST', '/v1/auth/account/response', { body: { publicKey: 1 } });
    assertJson(r, 400, bodies.validation(
        `${missing('body', 'response')}, body/publicKey Invalid input: expected string, received number`));

    r = await req(srv.url, 'POST', '/v1/auth/response', { headers: { authorization: 'Bearer garbage' }, body: [] });
    assertJson(r, 400, bodies.validation('body/ Invalid input: expected object, received array'));

    r = await req(srv.url, 'POST', '/v1/auth/response');
    assertJson(r, 400, bodies.validation('body/ Invalid input: expected object, received null'));
});

test('parse errors happen before authentication (400 SyntaxError / 415, not 401)', T, async () => {
    let r = await req(srv.url, 'POST', '/v1/auth/response', { rawBody: '{bad', contentType: 'application/json' });
    assertJson(r, 400, bodies.syntax("Expected property name or '}' in JSON at position 1"));
    assert.equal(r.headers['connection'], 'close');

    r = await req(srv.url, 'POST', '/v1/auth/account/response', { rawBody: 'a=b', contentType: 'application/x-www-form-urlencoded' });
    assertJson(r, 415, bodies.unsupported('application/x-www-form-urlencoded'));

    r = await req(srv.url, 'POST', '/v1/auth/response', { rawBody: Buffer.from('xx') });
    assertJson(r, 415, bodies.unsupported('undefined'));
});

test('a valid body without a token reaches authentication (401)', T, async () => {
    const r = await req(srv.url, 'POST', '/v1/auth/response', { body: { response: 'x', publicKey: 'AAAA' } });
    assertJson(r, 401, bodies.missingAuth);
});

test('the server survives a SyntaxError + connection close and keeps serving', T, async () => {
    await req(srv.url, 'POST', '/v1/auth', { rawBody: '{bad', contentType: 'application/json' });
    // On a raw keep-alive socket: after the SyntaxError response the server closes the connection.
    const r = await rawHttp(srv.url,
        `POST /v1/version HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 4\r\n\r\n{bad`,
        { waitClose: 2_000 });
    assertJson(r, 400, bodies.syntax("Expected property name or '}' in JSON at position 1"));
    assert.equal(r.headers['connection'], 'close');
    assert.equal(r.closed, true, 'server should close the socket after connection: close');
    await assertHealthy(srv);
});
