// Hosting the Happy web app (HAPPY_STATIC_DIR, upstream's self-host mode): files with their types and caching
// headers, the SPA fallback, window.__HAPPY_CONFIG__ injected as upstream does (HAPPY_INJECT_HTML_CONFIG), and the
// banner still answering the app's "is this a Happy server" check (Accept: text/plain) at GET / (slopus/happy#501).

import test, { before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { startServer, req, makeTempDir, removeDir, TEST_TIMEOUT, HOOK_TIMEOUT } from './harness.mjs';

const T = { timeout: TEST_TIMEOUT };
const webDir = makeTempDir('happy-web-');
const INDEX = '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Happy</title></head>' +
    '<body><div id="root"></div><script src="/_expo/static/js/web/entry-5d41402abc4b2a76b9719d911017c592.js"></script></body></html>';
const BUNDLE = `console.log(${JSON.stringify('x'.repeat(5000))});`;

let srv;
let custom;
before(async () => {
    fs.mkdirSync(path.join(webDir, '_expo/static/js/web'), { recursive: true });
    fs.mkdirSync(path.join(webDir, 'assets'), { recursive: true });
    fs.writeFileSync(path.join(webDir, 'index.html'), INDEX);
    fs.writeFileSync(path.join(webDir, '_expo/static/js/web/entry-5d41402abc4b2a76b9719d911017c592.js'), BUNDLE);
    fs.writeFileSync(path.join(webDir, 'favicon.ico'), Buffer.from([0, 0, 1, 0]));
    fs.writeFileSync(path.join(webDir, 'assets/font.woff2'), 'w');
    fs.writeFileSync(path.join(webDir, 'manifest.json'), '{"name":"Happy"}');
    [srv, custom] = await Promise.all([
        startServer({ env: { HAPPY_STATIC_DIR: webDir } }),
        startServer({ env: { HAPPY_STATIC_DIR: webDir, PUBLIC_URL: 'https://ignored.example',
            HAPPY_INJECT_HTML_CONFIG: '{"serverUrl":"https://happy.example.com","disableAnalytics":true}' } }),
    ]);
}, { timeout: HOOK_TIMEOUT });
after(async () => {
    await Promise.all([srv?.stop(), custom?.stop()]);
    removeDir(webDir);
});

const BROWSER_ACCEPT = 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8';

test('GET /: the banner for the app\'s server check and for curl, the web app for a browser', T, async () => {
    // happy-app sources/app/(app)/server.tsx validateServer(): fetch(url, {headers: {Accept: 'text/plain'}}).
    for (const accept of ['text/plain', '*/*', undefined]) {
        const r = await req(srv.url, 'GET', '/', { headers: accept ? { accept } : {} });
        assert.equal(r.status, 200);
        assert.equal(r.text, 'Welcome to Happy Server!', `Accept: ${accept}`);
        assert.equal(r.headers.vary, 'Accept');
    }
    const page = await req(srv.url, 'GET', '/', { headers: { accept: BROWSER_ACCEPT } });
    assert.equal(page.status, 200);
    assert.equal(page.headers['content-type'], 'text/html; charset=utf-8');
    assert.equal(page.headers['cache-control'], 'no-cache');
    assert.equal(page.headers.vary, 'Accept');
    // Upstream's shape, right after <head>; by default this server's origin, analytics off.
    assert.ok(page.text.startsWith('<!DOCTYPE html><html lang="en"><head>\n<script>window.__HAPPY_CONFIG__ = ' +
        '{"serverUrl":location.origin,"disableAnalytics":true};</script><meta charset="utf-8">'), page.text);
});

test('HAPPY_INJECT_HTML_CONFIG is injected as given (upstream: window.__HAPPY_CONFIG__ = JSON)', T, async () => {
    const page = await req(custom.url, 'GET', '/index.html');
    assert.equal(page.status, 200);
    assert.ok(page.text.includes('<head>\n<script>window.__HAPPY_CONFIG__ = ' +
        '{"serverUrl":"https://happy.example.com","disableAnalytics":true};</script>'), page.text);
});

test('files: types, caching headers, gzip, conditional requests', T, async () => {
    const js = await req(srv.url, 'GET', '/_expo/static/js/web/entry-5d41402abc4b2a76b9719d911017c592.js',
        { headers: { 'accept-encoding': 'gzip' } });
    assert.equal(js.status, 200);
    assert.equal(js.headers['content-type'], 'application/javascript; charset=utf-8');
    assert.equal(js.headers['cache-control'], 'public, max-age=31536000, immutable');
    assert.equal(js.headers['content-encoding'], 'gzip');
    assert.ok(js.headers.etag);
    const plain = await req(srv.url, 'GET', '/_expo/static/js/web/entry-5d41402abc4b2a76b9719d911017c592.js');
    assert.equal(plain.text, BUNDLE);
    const again = await req(srv.url, 'GET', '/_expo/static/js/web/entry-5d41402abc4b2a76b9719d911017c592.js',
        { headers: { 'if-none-match': js.headers.etag } });
    assert.equal(again.status, 304);
    assert.equal(again.text, '');
    assert.equal((await req(srv.url, 'GET', '/favicon.ico')).headers['content-type'], 'image/x-icon');
    assert.equal((await req(srv.url, 'GET', '/assets/font.woff2')).headers['content-type'], 'font/woff2');
    const manifest = await req(srv.url, 'GET', '/manifest.json');
    assert.equal(manifest.headers['content-type'], 'application/json; charset=utf-8');
    assert.equal(manifest.headers['cache-control'], 'public, max-age=3600');
    const head = await req(srv.url, 'HEAD', '/favicon.ico');
    assert.equal(head.status, 200);
});

test('SPA fallback for app routes; API paths, missing files and traversal stay 404', T, async () => {
    const route = await req(srv.url, 'GET', '/terminal/connect', { headers: { accept: BROWSER_ACCEPT } });
    assert.equal(route.status, 200);
    assert.ok(route.text.includes('window.__HAPPY_CONFIG__'));
    const api = await req(srv.url, 'GET', '/v1/nothing-here');
    assert.equal(api.status, 404);
    assert.deepEqual(api.json, { error: 'Not found', path: '/v1/nothing-here', method: 'GET' });
    assert.equal((await req(srv.url, 'GET', '/_expo/static/js/web/entry-old.js')).status, 404);
    assert.equal((await req(srv.url, 'GET', '/%2e%2e/%2e%2e/etc/passwd')).status, 404);
    // The API itself is untouched.
    assert.equal((await req(srv.url, 'GET', '/health')).status, 200);
    assert.equal((await req(srv.url, 'POST', '/v1/nothing')).status, 404);
});

test('a directory without index.html stops start-up with the directory named', T, async () => {
    const empty = makeTempDir('happy-web-empty-');
    try {
        await assert.rejects(startServer({ env: { HAPPY_STATIC_DIR: empty } }), /static_dir: .* has no index\.html/);
    } finally {
        removeDir(empty);
    }
});
