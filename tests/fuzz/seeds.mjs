// Turns the requests the integration tests send into seeds for the HTTP fuzz targets:
//   HAPPY_FUZZ_CAPTURE=/tmp/capture node --test --test-concurrency=1 tests/integration/   (harness.mjs writes them)
//   node tests/fuzz/seeds.mjs /tmp/capture                                                (this script)
// writes tests/fuzz/corpus/http/ (raw requests), tests/fuzz/corpus/body/ (route byte + JSON body, see
// body_fuzz.cpp) and tests/fuzz/corpus/config/ (the config files the tests wrote). Bearer tokens become @TA and the ids in the paths of routes with parameters become the fuzz
// fixture's placeholders (@S session, @M machine, @R artifact, @B user; app_fixture.hpp), so that the seeds reach
// the handlers behind the ownership checks. The route table comes from `happy-server --print-routes`
// (HAPPY_SERVER_BIN, default build/release/happy-server).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import crypto from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const captureDir = process.argv[2];
if (!captureDir) {
    console.error('usage: node tests/fuzz/seeds.mjs <capture dir>');
    process.exit(2);
}
const bin = process.env.HAPPY_SERVER_BIN || path.join(ROOT, 'build/release/happy-server');
const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'happy-seeds-'));
const printed = spawnSync(bin, ['--print-routes'], {
    env: { PATH: process.env.PATH, DATA_DIR: dataDir, HAPPY_LOG_LEVEL: 'warn' }, encoding: 'utf8',
});
fs.rmSync(dataDir, { recursive: true, force: true });
if (printed.status !== 0) throw new Error(`--print-routes: ${printed.stderr}`);
const routes = JSON.parse(printed.stdout).routes;
// body_fuzz.cpp's route index: the routes that take a body, in route-table order.
const bodyRoutes = routes.filter((r) => ['POST', 'PUT', 'PATCH', 'DELETE'].includes(r.method));

/** The route find-my-way would pick for method + path: static segments beat parameters. */
function match(method, p) {
    const parts = p.split('/').slice(1);
    let best = null;
    let bestScore = -1;
    for (const r of routes) {
        if (r.method !== method && !(method === 'HEAD' && r.method === 'GET')) continue;
        const segs = r.path.split('/').slice(1);
        const wildcard = segs.at(-1) === '*';
        if (wildcard ? parts.length < segs.length : parts.length !== segs.length) continue;
        let score = 0;
        let ok = true;
        segs.forEach((s, i) => {
            if (s === '*') score = score * 4 + 1;
            else if (s.startsWith(':')) score = score * 4 + 2;
            else if (s === parts[i]) score = score * 4 + 3;
            else ok = false;
        });
        if (ok && score > bestScore) { best = r; bestScore = score; }
    }
    return best;
}

const placeholder = (route, name) => {
    if (name === 'sessionId') return '@S';
    if (name === 'machineId' || (name === 'id' && route.path.startsWith('/v1/machines/'))) return '@M';
    if (name === 'id' && route.path.startsWith('/v1/artifacts/')) return '@R';
    if (name === 'id' && route.path.startsWith('/v1/user/')) return '@B';
    return null;  // keys, tokens, vendors, file names: kept as the test sent them
};

const JWT = /eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+/g;
const out = { http: new Map(), body: new Map() };
const perRoute = new Map();
const files = fs.readdirSync(captureDir).filter((f) => f !== 'config').sort();
for (const f of files) {
    let text = fs.readFileSync(path.join(captureDir, f)).toString('latin1');
    text = text.replace(JWT, '@TA').replace(/^host: [^\r\n]*/im, 'host: localhost');
    const end = text.indexOf('\r\n\r\n');
    const line = /^([A-Z]+) (\S+) HTTP\/1\.[01]\r\n/.exec(text);
    let route = null;
    if (line && end > 0) {
        const [, method, target] = line;
        const p = target.split('?')[0];
        route = match(method, p);
        if (route) {
            // Ids in the path → the fixture's placeholders.
            const segs = route.path.split('/');
            const parts = p.split('/');
            const rewritten = parts.map((v, i) => (segs[i]?.startsWith(':') ? placeholder(route, segs[i].slice(1)) ?? v : v));
            text = text.replace(`${method} ${p}`, `${method} ${rewritten.join('/')}`);
            const ct = /^content-type: *application\/json/im.test(text.slice(0, end));
            const body = text.slice(end + 4);
            const index = bodyRoutes.indexOf(route);
            if (ct && index >= 0 && body.length > 0 && body.length < 4000) {
                const seed = Buffer.concat([Buffer.from([index]), Buffer.from(body, 'latin1')]);
                out.body.set(crypto.createHash('sha1').update(seed).digest('hex'), { route, seed });
            }
        }
    }
    if (text.length > 4000) continue;
    // At most 12 requests per route, 150 that match none (404s, malformed and raw requests).
    const key = route ? `${route.method} ${route.path}` : 'none';
    const n = perRoute.get(key) ?? 0;
    if (n >= (route ? 12 : 150)) continue;
    perRoute.set(key, n + 1);
    const seed = Buffer.from(text, 'latin1');
    out.http.set(crypto.createHash('sha1').update(seed).digest('hex'), { route, seed });
}

const name = (route, hash) => {
    const r = route ? `${route.method}${route.path}`.replace(/[^A-Za-z0-9]+/g, '-').replace(/-$/, '') : 'unrouted';
    return `${r}-${hash.slice(0, 8)}`;
};
for (const [target, seeds] of Object.entries(out)) {
    const dir = path.join(ROOT, 'tests/fuzz/corpus', target);
    fs.mkdirSync(dir, { recursive: true });
    const perBodyRoute = new Map();
    let written = 0;
    for (const [hash, { route, seed }] of seeds) {
        if (target === 'body') {
            const n = perBodyRoute.get(route) ?? 0;
            if (n >= 12) continue;
            perBodyRoute.set(route, n + 1);
        }
        fs.writeFileSync(path.join(dir, name(route, hash)), seed);
        written += 1;
    }
    console.log(`${target}: ${written} seeds (${seeds.size} distinct captured)`);
}

// Config files as the tests wrote them (config_fuzz.cpp: the file's text; environment lines would follow a NUL).
const configDir = path.join(captureDir, 'config');
if (fs.existsSync(configDir)) {
    const dir = path.join(ROOT, 'tests/fuzz/corpus/config');
    fs.mkdirSync(dir, { recursive: true });
    let n = 0;
    for (const f of fs.readdirSync(configDir).sort()) {
        const text = fs.readFileSync(path.join(configDir, f));
        if (text.length > 4000) continue;
        // Data directories of the test run mean nothing to the fuzzer.
        fs.writeFileSync(path.join(dir, `test-${f.slice(0, 12)}`), text);
        n += 1;
    }
    console.log(`config: ${n} seeds`);
}

// Dictionaries (libFuzzer -dict): the route table's path segments, the fixture's placeholders and HTTP's own words
// for the http target; the JSON keys the tests' bodies use for the body target.
// libFuzzer's dictionary syntax: backslash and quote escaped, other bytes outside printable ASCII as \xNN.
const quote = (s) => `"${[...Buffer.from(s, 'latin1')].map((b) => (b === 0x5c ? '\\\\' : b === 0x22 ? '\\"'
    : b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : `\\x${b.toString(16).padStart(2, '0').toUpperCase()}`)).join('')}"`;
const httpWords = new Set(['@TA', '@TB', '@A', '@B', '@S', '@M', '@R', 'Bearer @TA', 'Bearer @TB', 'HTTP/1.1', 'HTTP/1.0',
    '\r\n', 'content-type: application/json', 'content-length: ', 'transfer-encoding: chunked', 'connection: close',
    'expect: 100-continue', 'authorization: ', 'application/octet-stream', 'text/plain', '0\r\n\r\n', '%2F', '%00', '?',
    '&', '=', 'GET ', 'POST ', 'PUT ', 'DELETE ', 'PATCH ', 'HEAD ', 'OPTIONS ']);
for (const r of routes) for (const s of r.path.split('/')) if (s && !s.startsWith(':')) httpWords.add(`/${s}`);
fs.writeFileSync(path.join(ROOT, 'tests/fuzz/http.dict'), `# Generated by tests/fuzz/seeds.mjs.\n${
    [...httpWords].sort().map(quote).join('\n')}\n`);
const keys = new Set();
const collect = (v) => {
    if (Array.isArray(v)) v.forEach(collect);
    else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) { keys.add(k); collect(x); }
};
for (const { seed } of out.body.values()) {
    try { collect(JSON.parse(seed.subarray(1).toString('utf8'))); } catch { /* not JSON: no keys */ }
}
fs.writeFileSync(path.join(ROOT, 'tests/fuzz/body.dict'), `# Generated by tests/fuzz/seeds.mjs.\n${
    [...keys].sort().map((k) => quote(`"${k}":`)).join('\n')}\n`);
console.log(`dictionaries: http ${httpWords.size} words, body ${keys.size} keys`);
