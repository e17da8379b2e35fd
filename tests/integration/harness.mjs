// Black-box integration test harness for Happy Server C++.
//
// Plain Node 20: node:child_process, node:http, node:net, node:crypto only (no npm packages).
//
// Exports:
//   startServer({env, dataDir, timeoutMs}) -> {url, port, proc, dataDir, stop(), stdoutLines, stderrLines}
//   req(url, method, path, {headers, body, rawBody, contentType, timeoutMs}) -> {status, headers, text, json}
//   rawHttp(url, bytes, {timeoutMs, head}) -> same shape, over a plain TCP socket (full control)
//   authAccount(url, {keyPair, challenge}) -> {token, publicKey, secretKey, publicKeyRaw, sub, ...}
//   crypto / JWT helpers (b64, b64url, decodeJwt, verifyJwt, mintJwt, deriveTokenKeyPair, ...)
//   assertion helpers (assertJson, assertKeyOrder) and expected-body builders.
//   realtime helpers (startRealtimeServer, RawEio, waitConnect, clientTracker({io, WebSocket}), ...); the
//   realtime test files pass the socket.io-client `io` and the `ws` WebSocket class in.
//
// Beside it, clients.mjs: clientsClosedAfterEach(), the clientTracker() every realtime test file uses, built with
// the real socket.io-client and ws and closed by an afterEach hook. It is a separate module because it imports
// those npm packages (and node:test), which this file does not.

import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import crypto from 'node:crypto';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';

const HERE = import.meta.dirname ?? path.dirname(fileURLToPath(import.meta.url));

export const REPO_ROOT = path.resolve(HERE, '../..');
export const SERVER_BIN = process.env.HAPPY_SERVER_BIN
    ? path.resolve(process.env.HAPPY_SERVER_BIN)
    : path.resolve(HERE, '../../build/release/happy-server');

/** Per-test timeout (ms) used by the test files. */
export const TEST_TIMEOUT = Number(process.env.HAPPY_TEST_TIMEOUT_MS || 30_000);
/** Timeout for before/after hooks that start/stop servers. */
export const HOOK_TIMEOUT = 60_000;

const VERBOSE = !!process.env.HAPPY_TEST_VERBOSE;

// ---------------------------------------------------------------------------------------------
// Child process bookkeeping: never leave a server running, never hang.
// ---------------------------------------------------------------------------------------------

const liveProcs = new Set();
const ownedDirs = new Set();

/** Signal the server's whole process group (it is spawned detached, as a group leader), so helper
 *  processes or wrapper scripts cannot outlive the test run. Falls back to the single process. */
function signalProc(p, sig) {
    try { process.kill(-p.pid, sig); return; } catch { /* no group: fall through */ }
    try { p.kill(sig); } catch { /* ignore */ }
}

function killAllSync() {
    for (const p of liveProcs) signalProc(p, 'SIGKILL');
    liveProcs.clear();
    if (!process.env.HAPPY_KEEP_DATA) {
        for (const d of ownedDirs) {
            try { fs.rmSync(d, { recursive: true, force: true }); } catch { /* ignore */ }
        }
        ownedDirs.clear();
    }
}
process.on('exit', killAllSync);
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
    process.once(sig, () => { killAllSync(); process.exit(128 + (os.constants.signals[sig] || 1)); });
}

// Variables the server reads (http-api.md Appendix B + harness contract), and every HAPPY_* variable (the server's
// own: HAPPY_CONFIG, HAPPY_LOG_LEVEL, ...; `HAPPY_LOG_LEVEL=warn` in the runner's environment would hide the
// "listening" line every start waits for). They are removed from the inherited environment so the runner's own
// environment cannot change what the tests see; DATABASE_URL, REDIS_URL and S3_* would select other backends.
const SERVER_ENV_VARS = [
    'PORT', 'HOST', 'DATA_DIR', 'HANDY_MASTER_SECRET', 'DB_PROVIDER', 'DATABASE_URL',
    'PGLITE_DIR', 'REDIS_URL', 'PUBLIC_URL', 'GITHUB_CLIENT_ID', 'GITHUB_CLIENT_SECRET',
    'GITHUB_REDIRECT_URL', 'GITHUB_APP_ID', 'GITHUB_PRIVATE_KEY', 'GITHUB_REDIRECT_URI',
    'GITHUB_WEBHOOK_SECRET', 'ELEVENLABS_API_KEY', 'REVENUECAT_API_KEY', 'METRICS_ENABLED', 'METRICS_PORT',
    'DANGEROUSLY_LOG_TO_SERVER_FOR_AI_AUTO_DEBUGGING',
];
const SERVER_ENV_PREFIXES = ['HAPPY_', 'S3_'];

/** The runner's environment without anything that would configure the server. */
export function cleanEnv(env = process.env) {
    const out = { ...env };
    for (const k of Object.keys(out)) {
        if (SERVER_ENV_VARS.includes(k) || SERVER_ENV_PREFIXES.some((p) => k.startsWith(p))) delete out[k];
    }
    return out;
}

/**
 * No test server may reach the internet, and modules.push.expo_url defaults to Expo's real endpoint: unless the
 * test's own config file says something about push delivery (expo_url, or the module's `enabled`), the server
 * gets `"expo_url": ""` (delivery off) through a copy of that file. Returns the config file path to use.
 */
function withPushOff(configFile) {
    let cfg = {};
    if (configFile) {
        const text = fs.readFileSync(configFile, 'utf8');
        try {
            cfg = JSON.parse(text);
        } catch (e) {
            throw new Error(`harness: ${configFile} is not plain JSON (${e.message}); set modules.push.expo_url in it ` +
                'or pass keepPushDefault: true', { cause: e });
        }
    }
    const push = cfg.modules?.push;
    if (push && ('expo_url' in push || 'enabled' in push)) return configFile;
    cfg = { ...cfg, modules: { ...cfg.modules, push: { ...push, expo_url: '' } } };
    const dir = makeTempDir('happy-cfg-');
    ownedDirs.add(dir);
    const file = path.join(dir, 'config.json');
    fs.writeFileSync(file, JSON.stringify(cfg));
    return file;
}

export function makeTempDir(prefix = 'happy-it-') {
    return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

export function removeDir(dir) {
    if (!dir || process.env.HAPPY_KEEP_DATA) return;
    try { fs.rmSync(dir, { recursive: true, force: true }); } catch { /* ignore */ }
}

const LISTEN_RES = [
    /"msg":"listening".*?"port":(\d+)/,
    /\blistening\b.*?\bport=(\d+)/,
];

/**
 * Start the server binary.
 * @param {object} [opts]
 * @param {Record<string,string|undefined|null>} [opts.env] extra env; undefined/null deletes a variable
 * @param {string} [opts.dataDir] DATA_DIR to use (caller owns it); default: fresh temp dir owned by the harness
 * @param {string} [opts.cwd] working directory of the server (default: the data directory)
 * @param {string[]} [opts.prefix] command that runs the binary, e.g. ['prlimit', '--nofile=64:64', '--']
 * @param {boolean} [opts.keepPushDefault] leave modules.push.expo_url at its default (Expo itself) instead of
 *   turning delivery off; only for tests that never trigger a push
 * @param {number} [opts.timeoutMs] readiness timeout (default 10 s)
 */
export async function startServer({ env = {}, dataDir, cwd, prefix = [], keepPushDefault = false, timeoutMs = 10_000 } = {}) {
    if (!fs.existsSync(SERVER_BIN)) {
        throw new Error(`server binary not found at ${SERVER_BIN} (set HAPPY_SERVER_BIN)`);
    }
    let ownsDataDir = false;
    if (!dataDir) {
        dataDir = makeTempDir();
        ownsDataDir = true;
        ownedDirs.add(dataDir);
    }

    const childEnv = cleanEnv();
    Object.assign(childEnv, {
        PORT: '0',
        HOST: '127.0.0.1',
        DATA_DIR: dataDir,
        HAPPY_LOG_FORMAT: 'json',
        // Parallel test files each start a server: keep any metrics listener off a fixed port.
        METRICS_ENABLED: 'false',
    });
    if (PG_ADMIN_URL && env.DATABASE_URL === undefined) {
        // The whole suite on PostgreSQL: each data directory gets a database of its own, the same one again when a
        // test restarts a server on its data directory (unless the caller names one: cluster.mjs's shared one).
        childEnv.DATABASE_URL = databaseFor(dataDir);
    }
    for (const [k, v] of Object.entries(env)) {
        if (v === undefined || v === null) delete childEnv[k];
        else childEnv[k] = String(v);
    }
    if (!keepPushDefault) childEnv.HAPPY_CONFIG = withPushOff(childEnv.HAPPY_CONFIG);

    const [command, ...args] = [...prefix, SERVER_BIN];
    const proc = spawn(command, args, {
        cwd: cwd ?? dataDir,
        env: childEnv,
        stdio: ['ignore', 'pipe', 'pipe'],
        detached: true, // own process group: stop() signals the group
    });
    liveProcs.add(proc);

    const stdoutLines = [];
    const stderrLines = [];
    let exitInfo = null;
    const exited = new Promise((resolve) => {
        proc.once('exit', (code, signal) => {
            exitInfo = { code, signal };
            liveProcs.delete(proc);
            resolve(exitInfo);
        });
        proc.once('error', (err) => {
            exitInfo = exitInfo || { code: null, signal: null, error: err };
            liveProcs.delete(proc);
            resolve(exitInfo);
        });
    });

    // Do not let the child (or its pipes) keep the test process alive: the 'exit' handler kills it.
    proc.unref();

    let onLine = () => {};
    const splitLines = (stream, sink, tag) => {
        let buf = '';
        stream.setEncoding('utf8');
        stream.on('data', (chunk) => {
            buf += chunk;
            let i;
            while ((i = buf.indexOf('\n')) >= 0) {
                const line = buf.slice(0, i).replace(/\r$/, '');
                buf = buf.slice(i + 1);
                sink.push(line);
                if (VERBOSE) process.stderr.write(`[server ${tag}] ${line}\n`);
                onLine(line, tag);
            }
        });
        stream.on('end', () => { if (buf) { sink.push(buf); onLine(buf, tag); buf = ''; } });
        stream.unref?.();
    };
    splitLines(proc.stdout, stdoutLines, 'out');
    splitLines(proc.stderr, stderrLines, 'err');

    const tail = () => [
        '--- stdout (tail) ---', ...stdoutLines.slice(-20),
        '--- stderr (tail) ---', ...stderrLines.slice(-20),
    ].join('\n');

    let port;
    try {
        port = await new Promise((resolve, reject) => {
            const timer = setTimeout(() => {
                reject(new Error(`server did not print a "listening" line within ${timeoutMs} ms\n${tail()}`));
            }, timeoutMs);
            const check = (line) => {
                for (const re of LISTEN_RES) {
                    const m = re.exec(line);
                    if (m) { clearTimeout(timer); resolve(Number(m[1])); return true; }
                }
                return false;
            };
            for (const l of stdoutLines) if (check(l)) return;
            onLine = (line, tag) => { if (tag === 'out') check(line); };
            exited.then((info) => {
                clearTimeout(timer);
                reject(new Error(`server exited before listening (code=${info.code} signal=${info.signal}` +
                    `${info.error ? ' error=' + info.error.message : ''})\n${tail()}`));
            });
        });
    } catch (err) {
        await killProc(proc, exited, 0);
        if (ownsDataDir) { removeDir(dataDir); ownedDirs.delete(dataDir); }
        throw err;
    }
    onLine = () => {};

    const url = `http://127.0.0.1:${port}`;
    const server = {
        url, port, proc, dataDir, stdoutLines, stderrLines, exited,
        get exitInfo() { return exitInfo; },
        /** Last stop() measurement: {code, signal, elapsedMs, forced}. */
        stopInfo: null,
        /**
         * SIGTERM, wait up to graceMs, then SIGKILL. Resolves with the exit code (null when killed by a signal).
         * Never hangs. Rejects only when the server's stderr carries a sanitizer report (ASan/UBSan builds run
         * through HAPPY_SERVER_BIN): such a finding fails the test file even if every request looked right.
         */
        async stop({ graceMs = 5_000, keepDataDir = false } = {}) {
            const t0 = Date.now();
            let forced = false;
            if (!exitInfo) forced = await killProc(proc, exited, graceMs);
            const info = await exited;
            server.stopInfo = { code: info.code, signal: info.signal, elapsedMs: Date.now() - t0, forced };
            if (ownsDataDir && !keepDataDir) { removeDir(dataDir); ownedDirs.delete(dataDir); }
            const report = stderrLines.findIndex((l) => SANITIZER_RE.test(l));
            if (report >= 0) {
                throw new Error(`sanitizer report in the server's stderr:\n${stderrLines.slice(report, report + 30).join('\n')}`);
            }
            return info.code;
        },
        logs: tail,
    };
    return server;
}

/** A line that starts an AddressSanitizer, LeakSanitizer or UndefinedBehaviorSanitizer report. */
const SANITIZER_RE = /ERROR: (Address|Leak|Thread|Memory)Sanitizer|runtime error: |SUMMARY: \w+Sanitizer/;

/** Returns true when SIGKILL had to be used. */
async function killProc(proc, exited, graceMs) {
    let done = false;
    exited.then(() => { done = true; });
    if (proc.exitCode !== null || proc.signalCode !== null) {
        signalProc(proc, 'SIGKILL'); // leftover group members, if any
        return false;
    }
    if (graceMs > 0) {
        signalProc(proc, 'SIGTERM');
        let timer;
        await Promise.race([exited, new Promise((r) => { timer = setTimeout(r, graceMs); })]);
        clearTimeout(timer);
        if (done) { signalProc(proc, 'SIGKILL'); return false; }
    }
    signalProc(proc, 'SIGKILL');
    let timer;
    await Promise.race([exited, new Promise((r) => { timer = setTimeout(r, 5_000); })]);
    clearTimeout(timer);
    return true;
}

// HAPPY_TEST_DATABASE_URL (set by scripts/pg_test_cluster.sh): run every server on PostgreSQL instead of SQLite.
// The URL is the throwaway cluster's administrative one; each server gets a fresh database on that cluster.
export const PG_ADMIN_URL = process.env.HAPPY_TEST_DATABASE_URL || '';
const pgDatabases = new Map();

export function databaseFor(dataDir) {
    let url = pgDatabases.get(dataDir);
    if (!url) {
        const name = `it_${process.pid}_${pgDatabases.size + 1}`;
        psql(PG_ADMIN_URL, `CREATE DATABASE ${name}`);
        const u = new URL(PG_ADMIN_URL);
        u.pathname = `/${name}`;
        url = u.toString();
        pgDatabases.set(dataDir, url);
    }
    return url;
}

/** Runs `statement` with psql on the database `url` names; returns its unaligned output, trimmed. */
export function psql(url, statement) {
    const r = spawnSync('psql', ['-X', '-q', '-A', '-t', '-v', 'ON_ERROR_STOP=1', '-d', url, '-c', statement],
        { encoding: 'utf8' });
    assert.equal(r.status, 0, `psql: ${r.stderr}`);
    return r.stdout.trim();
}

/**
 * Runs SQL on a running server's database and returns its output, trimmed (rows on lines, columns separated by '|'):
 * with psql when the suite runs on PostgreSQL, otherwise with the sqlite3 tool (then the server must run with
 * `storage.sqlite.exclusive: false`, which by default locks other processes out of its database).
 */
export function sql(server, statement) {
    if (server.databaseUrl) return psql(server.databaseUrl, statement); // a cluster (cluster.mjs): its shared database
    return PG_ADMIN_URL ? psql(databaseFor(server.dataDir), statement) : sqlite(server, statement);
}

/** SQL for a BLOB/bytea column read as hex text (case differs by backend; Buffer.from(x, 'hex') takes both). */
export const sqlHex = (column) => (PG_ADMIN_URL ? `encode(${column}, 'hex')` : `hex(${column})`);
/** A text expression for a JSON column: TEXT on SQLite, JSONB on PostgreSQL (which needs the cast). */
export const sqlJson = (expr) => (PG_ADMIN_URL ? `(${expr})::jsonb` : expr);
/** A SQL literal of `bytes` for a BLOB/bytea column. */
export const sqlBytes = (bytes) => (PG_ADMIN_URL ? `'\\x${Buffer.from(bytes).toString('hex')}'::bytea`
    : `x'${Buffer.from(bytes).toString('hex')}'`);

/**
 * Runs SQL on a running server's database with the sqlite3 tool; returns its output, trimmed. The server must run
 * with `storage.sqlite.exclusive: false` (by default it locks other processes out of its database).
 */
export function sqlite(server, statement) {
    const db = path.join(server.dataDir, 'happy.sqlite');
    const r = spawnSync('sqlite3', ['-cmd', '.timeout 5000', db, statement], { encoding: 'utf8' });
    assert.equal(r.status, 0, `sqlite3: ${r.stderr}`);
    return r.stdout.trim();
}

// ---------------------------------------------------------------------------------------------
// HTTP helpers
// ---------------------------------------------------------------------------------------------

// HAPPY_FUZZ_CAPTURE=<dir>: every request req() and rawHttp() send is also written to <dir> as raw HTTP bytes (one
// file per distinct request), and every config file writeConfigFile() writes to <dir>/config: the material
// tests/fuzz/seeds.mjs turns into the fuzz targets' seeds.
const CAPTURE_DIR = process.env.HAPPY_FUZZ_CAPTURE || '';
function capture(bytes) {
    if (!CAPTURE_DIR) return;
    fs.mkdirSync(CAPTURE_DIR, { recursive: true });
    const name = crypto.createHash('sha1').update(bytes).digest('hex');
    fs.writeFileSync(path.join(CAPTURE_DIR, name), bytes);
}

// Fail fast against a hung server: after 2 consecutive request timeouts against the same origin,
// further requests to it fail immediately instead of each waiting for its own timeout.
const consecutiveTimeouts = new Map();
const MAX_CONSECUTIVE_TIMEOUTS = 2;

function parseJson(text) {
    if (text === '' || text === undefined) return undefined;
    try { return JSON.parse(text); } catch { return undefined; }
}

let testCa = null;
/** Trust `pem` (a test CA) for the https:// URLs req() is given (servers started with server.tls). */
export function trustTestCa(pem) { testCa = pem; }

/**
 * One HTTP request on a fresh connection (node:http, `Connection: keep-alive` requested so that a
 * `connection: close` in the response is the server's own decision).
 *
 * opts.body        JS value -> JSON.stringify, Content-Type application/json (unless contentType given)
 * opts.rawBody     string | Buffer | Uint8Array sent verbatim; Content-Type only if opts.contentType is set
 * opts.contentType string sets Content-Type; null forces no Content-Type
 * opts.headers     extra headers (an explicit header wins over the defaults above)
 */
export function req(url, method, pathname, opts = {}) {
    const { headers = {}, body, rawBody, contentType, timeoutMs = 8_000 } = opts;
    const u = new URL(url);
    if ((consecutiveTimeouts.get(u.origin) || 0) >= MAX_CONSECUTIVE_TIMEOUTS) {
        return Promise.reject(new Error(`server at ${u.origin} is unresponsive ` +
            `(${MAX_CONSECUTIVE_TIMEOUTS} consecutive request timeouts); not sending ${method} ${pathname}`));
    }
    const h = { connection: 'keep-alive' };
    let payload;
    if (rawBody !== undefined) {
        payload = Buffer.isBuffer(rawBody) ? rawBody : Buffer.from(rawBody);
        if (contentType) h['content-type'] = contentType;
    } else if (body !== undefined) {
        payload = Buffer.from(JSON.stringify(body));
        if (contentType !== null) h['content-type'] = contentType || 'application/json';
    } else if (contentType) {
        h['content-type'] = contentType;
    }
    if (payload !== undefined) h['content-length'] = String(payload.length);
    for (const [k, v] of Object.entries(headers)) {
        if (v === undefined || v === null) delete h[k.toLowerCase()];
        else h[k.toLowerCase()] = v;
    }
    if (CAPTURE_DIR) {
        const head = [`${method} ${pathname} HTTP/1.1`, `host: ${u.host}`,
            ...Object.entries(h).map(([k, v]) => `${k}: ${v}`)].join('\r\n');
        capture(Buffer.concat([Buffer.from(`${head}\r\n\r\n`), payload ?? Buffer.alloc(0)]));
    }
    const tls = u.protocol === 'https:';
    return new Promise((resolve, reject) => {
        const r = (tls ? https : http).request({
            host: u.hostname, port: u.port, method, path: pathname, headers: h, agent: false,
            ...(tls && testCa ? { ca: testCa } : {}),
        }, (res) => {
            const chunks = [];
            res.on('data', (c) => chunks.push(c));
            res.on('end', () => {
                clearTimeout(timer);
                consecutiveTimeouts.set(u.origin, 0);
                const buf = Buffer.concat(chunks);
                const text = buf.toString('utf8');
                resolve({
                    status: res.statusCode,
                    headers: res.headers,
                    rawHeaders: res.rawHeaders,
                    text,
                    bytes: buf,
                    json: parseJson(text),
                });
            });
            res.on('error', (e) => { clearTimeout(timer); reject(e); });
        });
        const timer = setTimeout(() => {
            consecutiveTimeouts.set(u.origin, (consecutiveTimeouts.get(u.origin) || 0) + 1);
            r.destroy(new Error(`request timeout after ${timeoutMs} ms: ${method} ${pathname}`));
        }, timeoutMs);
        r.on('error', (e) => { clearTimeout(timer); reject(e); });
        if (payload !== undefined) r.write(payload);
        r.end();
    });
}

/**
 * Send raw bytes over a fresh TCP connection and parse one HTTP/1.1 response.
 * Resolves as soon as one complete response has been read (the request may still be "open", e.g. a
 * declared Content-Length larger than what was sent). Also reports whether the server closed the socket.
 */
export function rawHttp(url, data, { timeoutMs = 8_000, head = false, waitClose = 0, countTimeout = true } = {}) {
    const u = new URL(url);
    if ((consecutiveTimeouts.get(u.origin) || 0) >= MAX_CONSECUTIVE_TIMEOUTS) {
        return Promise.reject(new Error(`server at ${u.origin} is unresponsive ` +
            `(${MAX_CONSECUTIVE_TIMEOUTS} consecutive request timeouts); not sending raw request`));
    }
    capture(Buffer.from(data));
    return new Promise((resolve, reject) => {
        const sock = net.connect({ host: u.hostname, port: Number(u.port) });
        let buf = Buffer.alloc(0);
        let result = null;
        let closed = false;
        let settled = false;
        const finish = (err) => {
            if (settled) return;
            settled = true;
            clearTimeout(timer);
            sock.destroy();
            if (err) reject(err);
            else { consecutiveTimeouts.set(u.origin, 0); resolve({ ...result, closed }); }
        };
        const timer = setTimeout(() => {
            if (result) finish();
            else {
                if (countTimeout) consecutiveTimeouts.set(u.origin, (consecutiveTimeouts.get(u.origin) || 0) + 1);
                finish(new Error(`raw request timeout after ${timeoutMs} ms; received so far: ${JSON.stringify(buf.toString('latin1').slice(0, 500))}`));
            }
        }, timeoutMs);
        const tryParse = (eof) => {
            if (result) return true;
            const idx = buf.indexOf('\r\n\r\n');
            if (idx < 0) return false;
            const head0 = buf.subarray(0, idx).toString('latin1').split('\r\n');
            const m = /^HTTP\/1\.[01] (\d{3})/.exec(head0[0]);
            if (!m) { finish(new Error(`bad status line: ${head0[0]}`)); return true; }
            const status = Number(m[1]);
            const headers = {};
            const rawHeaders = [];
            for (const line of head0.slice(1)) {
                const c = line.indexOf(':');
                const k = line.slice(0, c).trim().toLowerCase();
                const v = line.slice(c + 1).trim();
                rawHeaders.push(line.slice(0, c).trim(), v);
                headers[k] = headers[k] === undefined ? v : `${headers[k]}, ${v}`;
            }
            let rest = buf.subarray(idx + 4);
            let body;
            const noBody = head || status === 204 || status === 304 || (status >= 100 && status < 200);
            if (noBody) body = Buffer.alloc(0);
            else if (headers['transfer-encoding'] && /chunked/i.test(headers['transfer-encoding'])) {
                const parts = [];
                let off = 0;
                for (;;) {
                    const e = rest.indexOf('\r\n', off);
                    if (e < 0) return false;
                    const size = parseInt(rest.subarray(off, e).toString('latin1'), 16);
                    if (Number.isNaN(size)) { finish(new Error('bad chunk size')); return true; }
                    if (size === 0) {
                        // "0\r\n" [trailers] "\r\n"
                        if (rest.indexOf('\r\n\r\n', off) < 0) return false;
                        break;
                    }
                    if (rest.length < e + 2 + size + 2) return false;
                    parts.push(rest.subarray(e + 2, e + 2 + size));
                    off = e + 2 + size + 2;
                }
                body = Buffer.concat(parts);
            } else if (headers['content-length'] !== undefined) {
                const n = Number(headers['content-length']);
                if (rest.length < n) return false;
                body = rest.subarray(0, n);
            } else {
                if (!eof) return false;
                body = rest;
            }
            const text = body.toString('utf8');
            result = { status, headers, rawHeaders, text, bytes: body, json: parseJson(text) };
            return true;
        };
        sock.on('data', (d) => {
            buf = Buffer.concat([buf, d]);
            if (tryParse(false)) {
                if (!waitClose) finish();
                else setTimeout(() => finish(), waitClose).unref();
            }
        });
        sock.on('end', () => { closed = true; tryParse(true); if (result) finish(); });
        sock.on('close', () => {
            closed = true;
            tryParse(true);
            if (result) finish();
            else finish(new Error(`connection closed without a complete response; received: ${JSON.stringify(buf.toString('latin1').slice(0, 500))}`));
        });
        sock.on('error', (e) => {
            // EPIPE/ECONNRESET after a complete response is fine (the server may close early, e.g. on 413).
            if (tryParse(true)) finish(); else finish(e);
        });
        sock.on('connect', () => {
            sock.write(data, (err) => { if (err && !result) { /* reported via 'error' */ } });
        });
    });
}

// ---------------------------------------------------------------------------------------------
// Encodings, Ed25519, JWT
// ---------------------------------------------------------------------------------------------

export const b64 = (buf) => Buffer.from(buf).toString('base64');
export const b64url = (buf) => Buffer.from(buf).toString('base64url');
export const fromB64url = (s) => Buffer.from(s, 'base64url');
export const randomBytes = (n) => crypto.randomBytes(n);

const PKCS8_ED25519_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');

export function rawPublicKey(keyObject) {
    return Buffer.from(keyObject.export({ format: 'jwk' }).x, 'base64url');
}

export function newEd25519() {
    const { privateKey, publicKey } = crypto.generateKeyPairSync('ed25519');
    return { privateKey, publicKey, publicRaw: rawPublicKey(publicKey) };
}

export function ed25519FromSeed(seed) {
    assert.equal(seed.length, 32);
    const privateKey = crypto.createPrivateKey({
        key: Buffer.concat([PKCS8_ED25519_PREFIX, seed]), format: 'der', type: 'pkcs8',
    });
    const publicKey = crypto.createPublicKey(privateKey);
    return { privateKey, publicKey, publicRaw: rawPublicKey(publicKey) };
}

export function ed25519PublicFromRaw(raw) {
    return crypto.createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: b64url(raw) }, format: 'jwk' });
}

export const edSign = (privateKey, data) => crypto.sign(null, Buffer.from(data), privateKey);

/** tokens.md key derivation (slow by design: 210 000 PBKDF2 iterations). */
export function deriveTokenKeyPair(secret, service = 'handy') {
    const seed64 = crypto.pbkdf2Sync(Buffer.from(secret, 'utf8'), Buffer.from(`${service} Persistent Token`, 'utf8'),
        210_000, 64, 'sha512');
    return { seed: seed64.subarray(0, 32), ...ed25519FromSeed(seed64.subarray(0, 32)) };
}

export const TEST_SECRET = 'test-master-secret';
export const TEST_SEED_HEX = '8a4d3e06c079028cd5c0451b9d981e387b6313f8ab66af45a3179f6f7d141cc7';
export const TEST_PUBLIC_KEY_HEX = 'c4cd5f21e5de528864eb985b57566bf50b92435ae8c09cd29f4ece7010529033';
export const TEST_VECTOR_CLAIMS_TEXT =
    '{"sub":"cmvector","iat":1700000000,"nbf":1700000000,"iss":"handy","jti":"00000000-0000-4000-8000-000000000000"}';
export const TEST_VECTOR_TOKEN =
    'eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJjbXZlY3RvciIsImlhdCI6MTcwMDAwMDAwMCwibmJmIjoxNzAwMDAwMDAwLCJpc3MiOiJoYW5keSIsImp0aSI6IjAwMDAwMDAwLTAwMDAtNDAwMC04MDAwLTAwMDAwMDAwMDAwMCJ9.i64k__E-8XR5NaCU1iAQzLRYjA0Iel_fSS2K_RwUotWCoA5kW58Vk7K4lIB5R_xfRuWllOy_SZt8NrkQKn2KDg';

/** Key pair for HANDY_MASTER_SECRET=test-master-secret (from the published seed, no PBKDF2 needed). */
export function testTokenKeyPair() {
    return ed25519FromSeed(Buffer.from(TEST_SEED_HEX, 'hex'));
}

/** Split a compact JWS. Throws if it is not 3 parts. */
export function decodeJwt(token) {
    const parts = token.split('.');
    assert.equal(parts.length, 3, `token must have 3 parts: ${token}`);
    const headerText = fromB64url(parts[0]).toString('utf8');
    const payloadText = fromB64url(parts[1]).toString('utf8');
    return {
        parts,
        headerText,
        payloadText,
        header: JSON.parse(headerText),
        payload: JSON.parse(payloadText),
        signature: fromB64url(parts[2]),
        signingInput: Buffer.from(`${parts[0]}.${parts[1]}`, 'ascii'),
    };
}

export function verifyJwtSignature(token, publicRaw) {
    const { signature, signingInput } = decodeJwt(token);
    return crypto.verify(null, signingInput, ed25519PublicFromRaw(publicRaw), signature);
}

/**
 * Build a compact JWS. header/payload: object (serialised with JSON.stringify, key order kept) or string.
 * privateKey: Ed25519 KeyObject; signature: override bytes (e.g. empty for alg none).
 */
export function mintJwt({ header = { alg: 'EdDSA' }, payload, privateKey, signature }) {
    const h = b64url(typeof header === 'string' ? header : JSON.stringify(header));
    const p = b64url(typeof payload === 'string' ? payload : JSON.stringify(payload));
    const sig = signature !== undefined ? Buffer.from(signature) : edSign(privateKey, `${h}.${p}`);
    return `${h}.${p}.${b64url(sig)}`;
}

export const nowSec = () => Math.floor(Date.now() / 1000);

// ---------------------------------------------------------------------------------------------
// API helpers
// ---------------------------------------------------------------------------------------------

/** Signature login (POST /v1/auth). Throws with the response if it is not a 200. */
export async function authAccount(url, { keyPair, challenge, timeoutMs } = {}) {
    const kp = keyPair || newEd25519();
    const ch = challenge !== undefined ? Buffer.from(challenge) : randomBytes(32);
    const signature = edSign(kp.privateKey, ch);
    const body = { publicKey: b64(kp.publicRaw), challenge: b64(ch), signature: b64(signature) };
    const r = await req(url, 'POST', '/v1/auth', { body, ...(timeoutMs ? { timeoutMs } : {}) });
    if (r.status !== 200 || !r.json || typeof r.json.token !== 'string') {
        throw new Error(`POST /v1/auth failed: ${r.status} ${r.text}`);
    }
    const { payload } = decodeJwt(r.json.token);
    return {
        token: r.json.token,
        publicKey: b64(kp.publicRaw),
        secretKey: kp.privateKey,
        publicKeyRaw: kp.publicRaw,
        keyPair: kp,
        sub: payload.sub,
        response: r,
    };
}

export const bearer = (token) => ({ authorization: `Bearer ${token}` });

/**
 * req() as an account: adds the bearer token of `acct` (an authAccount() result, or any `{token}`; null sends no
 * Authorization header). A header given in opts.headers wins, so a test can still send a broken one.
 */
export function authReq(url, method, pathname, acct, opts = {}) {
    return req(url, method, pathname, { ...opts, headers: { ...(acct ? bearer(acct.token) : {}), ...opts.headers } });
}

/**
 * A valid token for an account that does not exist: signed with the key of HANDY_MASTER_SECRET=TEST_SECRET, so
 * such a server accepts it, and then finds no account.
 */
export function ghostToken() {
    const t = nowSec();
    return mintJwt({
        payload: { sub: 'cghostaccount0000000000000', iat: t, nbf: t, iss: 'handy', jti: '00000000-0000-4000-8000-000000000001' },
        privateKey: testTokenKeyPair().privateKey,
    });
}

let uniqCounter = 0;
/**
 * A string no earlier call returned, for tags and client-chosen ids (machines, sessions, methods): the pid and a
 * counter keep it unique within the test process, and each test file runs in its own process.
 */
export const uniq = (prefix = 'id') => `${prefix}-${process.pid}-${++uniqCounter}`;

/**
 * POST /v1/sessions as `acct` with a fresh tag and metadata 'm' (`body` adds or overrides fields); asserts the 200
 * and returns the session object.
 */
export async function createSession(url, acct, body = {}) {
    const r = await authReq(url, 'POST', '/v1/sessions', acct, { body: { tag: uniq('tag'), metadata: 'm', ...body } });
    return expectStatus(r, 200).session;
}

/** Random 32-byte "box" public key as base64 (terminal/account pairing requests only check the length). */
export const randomBoxKey = () => b64(randomBytes(32));

/** Random 32-byte key whose standard base64 contains the given character (e.g. '+', '/'). */
export function keyContaining(ch, n = 32) {
    for (;;) {
        const k = randomBytes(n);
        if (b64(k).includes(ch)) return k;
    }
}

// ---------------------------------------------------------------------------------------------
// Expected bodies and assertions
// ---------------------------------------------------------------------------------------------

export const JSON_CT = 'application/json; charset=utf-8';

export const bodies = {
    notFound: (pathWithQuery, method) => ({ error: 'Not found', path: pathWithQuery, method }),
    validation: (message) => ({ error: 'Error', message, statusCode: 400 }),
    syntax: (message) => ({ error: 'SyntaxError', message, statusCode: 400 }),
    unsupported: (ct) => ({ error: 'FastifyError', message: `Unsupported Media Type: ${ct}`, statusCode: 415 }),
    tooLarge: { error: 'FastifyError', message: 'Request body is too large', statusCode: 413 },
    internal: { error: 'Internal Server Error', message: 'An unexpected error occurred', statusCode: 500 },
    missingAuth: { error: 'Missing authorization header' },
    invalidToken: { error: 'Invalid token' },
    invalidSignature: { error: 'Invalid signature' },
    invalidPublicKey: { error: 'Invalid public key' },
    requestNotFound: { error: 'Request not found' },
};

/** Recursively assert that object keys appear in the same order as in `expected`. */
export function assertKeyOrder(actual, expected, where = '$') {
    if (expected && typeof expected === 'object' && !Array.isArray(expected)) {
        assert.deepEqual(Object.keys(actual), Object.keys(expected), `key order at ${where}`);
        for (const k of Object.keys(expected)) assertKeyOrder(actual[k], expected[k], `${where}.${k}`);
    } else if (Array.isArray(expected)) {
        expected.forEach((e, i) => assertKeyOrder(actual[i], e, `${where}[${i}]`));
    }
}

function describeRes(r) {
    return `status=${r.status} content-type=${r.headers['content-type']} body=${r.text.slice(0, 600)}`;
}

/**
 * Exact JSON response: status, content-type, deep-equal body, key order, and the raw text equal to the
 * compact serialisation (what fastify sends).
 */
export function assertJson(r, status, expected, msg = '') {
    const ctx = `${msg ? msg + ': ' : ''}${describeRes(r)}`;
    assert.equal(r.status, status, `status; ${ctx}`);
    assert.equal(r.headers['content-type'], JSON_CT, `content-type; ${ctx}`);
    assert.notEqual(r.json, undefined, `body is not JSON; ${ctx}`);
    assert.deepStrictEqual(r.json, expected, `body; ${ctx}`);
    assertKeyOrder(r.json, expected);
    assert.equal(r.text, JSON.stringify(expected), `raw body text; ${ctx}`);
}

/** GET /health answers 200: the server survived what the test did to it. */
export async function assertHealthy(server) {
    const h = await req(server.url, 'GET', '/health');
    assert.equal(h.status, 200, `/health: ${h.status} ${h.text}`);
}

/** Status + JSON body, allowing extra checks by the caller. Returns parsed json. */
export function expectStatus(r, status, msg = '') {
    assert.equal(r.status, status, `${msg ? msg + ': ' : ''}${describeRes(r)}`);
    return r.json;
}

export const CUID_RE = /^c[a-z0-9]{24}$/;
export const UUID_V4_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
export const ISO_RE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

// ---------------------------------------------------------------------------------------------
// Realtime (Engine.IO / Socket.IO) helpers. Still no npm imports here: the realtime test files import
// `socket.io-client` / `ws` themselves and pass the WebSocket class in where one is needed.
// ---------------------------------------------------------------------------------------------

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Write a JSON config file (for HAPPY_CONFIG) into a fresh temp dir owned by the harness; returns its path. */
export function writeConfigFile(obj) {
    const dir = makeTempDir('happy-cfg-');
    ownedDirs.add(dir);
    const file = path.join(dir, 'config.json');
    const text = typeof obj === 'string' ? obj : JSON.stringify(obj);
    fs.writeFileSync(file, text);
    if (CAPTURE_DIR) {
        // Config files too, for the config fuzz target's seeds (tests/fuzz/seeds.mjs).
        const dir = path.join(CAPTURE_DIR, 'config');
        fs.mkdirSync(dir, { recursive: true });
        fs.writeFileSync(path.join(dir, crypto.createHash('sha1').update(text).digest('hex')), text);
    }
    return file;
}

/** Fast realtime timings for tests (upstream defaults: 15000/45000/20000/15000/30000). */
export const FAST_REALTIME = Object.freeze({
    ping_interval_ms: 300, ping_timeout_ms: 200, connect_timeout_ms: 1000,
    rpc_grace_ms: 500, rpc_timeout_ms: 1000, max_payload: 1000000, polling: true,
});

/**
 * FAST_REALTIME with upstream's heartbeat (ping 15000/45000). For the feature tests, which hold sockets open
 * across REST calls and event waits: a 300/200 ms heartbeat could drop such a socket on a busy machine.
 */
export const LONG_HEARTBEAT_REALTIME = Object.freeze({ ...FAST_REALTIME, ping_interval_ms: 15000, ping_timeout_ms: 45000 });

/**
 * HAPPY_TEST_CLUSTER=N: startRealtimeServer() starts N instances on one PostgreSQL database and one Redis behind an
 * nginx balancer (cluster.mjs) and returns that cluster, whose `url` is the balancer's; clientTracker() then notes
 * which instance each socket it connects lands on, and clientsClosedAfterEach() checks that a test's sockets were
 * spread over instances. The realtime test files that involve several sockets run this way in scripts/test.sh.
 */
export const CLUSTER_SIZE = Number(process.env.HAPPY_TEST_CLUSTER || 0);
const clusters = new Set();

/** startServer() with `{"realtime": realtime, ...config}` passed through HAPPY_CONFIG (a cluster: see CLUSTER_SIZE). */
export async function startRealtimeServer(realtime = FAST_REALTIME, { config = {}, env = {}, dataDir } = {}) {
    if (CLUSTER_SIZE > 0) {
        assert.equal(dataDir, undefined, 'HAPPY_TEST_CLUSTER: a cluster has no data directory to reuse');
        // Imported here: cluster.mjs imports this file.
        const { startCluster } = await import('./cluster.mjs');
        const c = await startCluster({ n: CLUSTER_SIZE, realtime, config, env });
        clusters.add(c);
        const stop = c.stop;
        c.stop = async () => { clusters.delete(c); await stop(); };
        return c;
    }
    const file = writeConfigFile({ ...config, realtime });
    return startServer({ env: { HAPPY_CONFIG: file, ...env }, dataDir });
}

/**
 * Resolve with the argument list of the next `name` event of an emitter (node EventEmitter, ws, or a
 * socket.io-client Socket/Manager); reject after timeoutMs.
 */
export function waitEvent(emitter, name, timeoutMs = 5_000) {
    return new Promise((resolve, reject) => {
        const h = (...args) => { clearTimeout(t); resolve(args); };
        const t = setTimeout(() => {
            emitter.off(name, h);
            reject(new Error(`timeout after ${timeoutMs} ms waiting for "${name}"`));
        }, timeoutMs);
        emitter.once(name, h);
    });
}

/**
 * A barrier on one socket: resolves once the server has answered a `ping` sent now. The server handles a socket's
 * packets in order and writes each socket's frames in order, so after this resolves the socket has received
 * everything the server queued for it before, e.g. the fan-out of a REST call whose response came back earlier,
 * and every event it sent before (an `app-state`) has been applied. Waiting for this instead of a fixed sleep
 * makes "this socket got nothing" a statement about the server rather than about timing.
 */
export async function roundTrip(socket, timeoutMs = 5_000) {
    assert.deepStrictEqual(await socket.timeout(timeoutMs).emitWithAck('ping'), {});
}

/**
 * Resolves once the clock has moved past the current millisecond. Server and tests read the same clock, so a
 * row the server stamped before a response that has come back is older than anything it stamps after this.
 */
export async function nextMillisecond() {
    const t = Date.now();
    while (Date.now() <= t) await new Promise((r) => setImmediate(r));
}

/** Record every event a socket.io-client Socket receives: [{event, args, t}]. */
export function recordEvents(socket) {
    const events = [];
    socket.onAny((event, ...args) => events.push({ event, args, t: Date.now() }));
    return events;
}

/**
 * A raw Engine.IO WebSocket client (no socket.io-client logic): every incoming frame is queued.
 *   const c = await RawEio.open(WebSocket, srv.url, {query, headers, autoPong})
 *   await c.next(ms)        -> next frame as string (text) or Buffer (binary)
 *   c.send(data)            -> text frame for strings, binary frame for Buffers
 *   await c.waitClosed(ms)  -> {code, reason, at} or null when still open after ms
 *   c.frames                -> every frame received so far [{data, at}]
 *   c.openedAt, c.upgradeResponse (the 101 response: headers)
 */
export class RawEio {
    static open(WebSocketClass, baseUrl, { query = 'EIO=4&transport=websocket', path: p = '/v1/updates/',
        headers = {}, autoPong = false, timeoutMs = 5_000, wsOptions = {} } = {}) {
        const url = `${baseUrl.replace(/^http/, 'ws')}${p}?${query}`;
        return new Promise((resolve, reject) => {
            const c = new RawEio();
            const ws = new WebSocketClass(url, { headers, perMessageDeflate: false, maxPayload: 0, ...wsOptions });
            c.ws = ws;
            c.autoPong = autoPong;
            const t = setTimeout(() => { try { ws.terminate(); } catch { /* ignore */ } reject(new Error(`ws open timeout: ${url}`)); }, timeoutMs);
            ws.on('upgrade', (res) => { c.upgradeResponse = res; });
            ws.on('open', () => { clearTimeout(t); c.openedAt = Date.now(); resolve(c); });
            ws.on('unexpected-response', (_req, res) => {
                clearTimeout(t);
                const chunks = [];
                res.on('data', (d) => chunks.push(d));
                res.on('end', () => {
                    const err = new Error(`unexpected response ${res.statusCode}: ${Buffer.concat(chunks).toString()}`);
                    err.statusCode = res.statusCode;
                    err.body = Buffer.concat(chunks).toString();
                    reject(err);
                });
            });
            ws.on('error', (e) => { c.error = e; clearTimeout(t); if (!c.openedAt) reject(e); });
            ws.on('message', (data, isBinary) => {
                const frame = isBinary ? Buffer.from(data) : data.toString('utf8');
                c.frames.push({ data: frame, at: Date.now() });
                if (c.autoPong && frame === '2') { try { ws.send('3'); } catch { /* ignore */ } }
                const w = c.waiters.shift();
                if (w) w.resolve(frame); else c.queue.push(frame);
            });
            ws.on('close', (code, reason) => {
                c.closeInfo = { code, reason: reason.toString(), at: Date.now() };
                for (const w of c.waiters.splice(0)) w.reject(new Error(`connection closed (code ${code}) while waiting for a frame`));
                for (const w of c.closeWaiters.splice(0)) w(c.closeInfo);
            });
        });
    }

    /**
     * Open, read the OPEN packet (c.handshake, c.engineSid), then send a Socket.IO CONNECT with `auth`
     * (an object -> `40{json}`, null -> bare `40`, a string -> sent verbatim after `40`) and read the reply
     * into c.connectReply (raw frame text). auth === undefined: no CONNECT is sent.
     */
    static async connect(WebSocketClass, baseUrl, auth, opts = {}) {
        const c = await RawEio.open(WebSocketClass, baseUrl, opts);
        try {
            c.handshake = parseOpenPacket(await c.next());
            c.engineSid = c.handshake.sid;
            if (auth !== undefined) {
                c.send('40' + (auth === null ? '' : typeof auth === 'string' ? auth : JSON.stringify(auth)));
                c.connectReply = await c.nextNonPing();
            }
        } catch (e) {
            c.close();
            throw e;
        }
        return c;
    }

    constructor() {
        this.queue = [];
        this.waiters = [];
        this.closeWaiters = [];
        this.frames = [];
        this.closeInfo = null;
    }

    /** Next frame not consumed yet (string or Buffer). */
    next(timeoutMs = 5_000) {
        if (this.queue.length) return Promise.resolve(this.queue.shift());
        if (this.closeInfo) return Promise.reject(new Error(`connection closed (code ${this.closeInfo.code})`));
        return new Promise((resolve, reject) => {
            const w = {
                resolve: (v) => { clearTimeout(t); resolve(v); },
                reject: (e) => { clearTimeout(t); reject(e); },
            };
            const t = setTimeout(() => {
                const i = this.waiters.indexOf(w);
                if (i >= 0) this.waiters.splice(i, 1);
                reject(new Error(`timeout after ${timeoutMs} ms waiting for a frame`));
            }, timeoutMs);
            this.waiters.push(w);
        });
    }

    /** Next frame that is not an engine ping ("2"); pings are answered when autoPong is set. */
    async nextNonPing(timeoutMs = 5_000) {
        const end = Date.now() + timeoutMs;
        for (;;) {
            const f = await this.next(Math.max(1, end - Date.now()));
            if (f !== '2') return f;
        }
    }

    send(data) { this.ws.send(data); }

    /** Resolves with the close info, or null if the connection is still open after timeoutMs. */
    waitClosed(timeoutMs = 5_000) {
        if (this.closeInfo) return Promise.resolve(this.closeInfo);
        return new Promise((resolve) => {
            const h = (info) => { clearTimeout(t); resolve(info); };
            const t = setTimeout(() => {
                const i = this.closeWaiters.indexOf(h);
                if (i >= 0) this.closeWaiters.splice(i, 1);
                resolve(null);
            }, timeoutMs);
            this.closeWaiters.push(h);
        });
    }

    get isOpen() { return !this.closeInfo; }

    close() { try { this.ws.terminate(); } catch { /* ignore */ } }
}

/** Engine.IO OPEN packet matcher; returns the parsed handshake object. */
export function parseOpenPacket(frame) {
    assert.equal(typeof frame, 'string', 'OPEN packet must be a text frame');
    assert.equal(frame[0], '0', `expected an OPEN packet, got ${JSON.stringify(frame)}`);
    return JSON.parse(frame.slice(1));
}

/** Socket / engine id format: 20 chars of base64url. */
export const SIO_ID_RE = /^[A-Za-z0-9_-]{20}$/;

/** Resolve when a socket.io-client Socket emits `connect`; reject on `connect_error` (message kept) or timeout. */
export function waitConnect(socket, timeoutMs = 5_000) {
    return new Promise((resolve, reject) => {
        const done = (err) => {
            clearTimeout(t);
            socket.off('connect', onConnect);
            socket.off('connect_error', onError);
            if (err) reject(err); else resolve(socket);
        };
        const onConnect = () => done();
        const onError = (e) => done(Object.assign(new Error(`connect_error: ${e && e.message}`), { cause: e }));
        const t = setTimeout(() => done(new Error(`no connect within ${timeoutMs} ms`)), timeoutMs);
        socket.on('connect', onConnect);
        socket.on('connect_error', onError);
    });
}

/** Resolve with the Error of the next `connect_error`; reject if the socket connects instead, or on timeout. */
export function waitConnectError(socket, timeoutMs = 5_000) {
    return new Promise((resolve, reject) => {
        const done = (err, value) => {
            clearTimeout(t);
            socket.off('connect', onConnect);
            socket.off('connect_error', onError);
            if (err) reject(err); else resolve(value);
        };
        const onConnect = () => done(new Error('connected, but a connect_error was expected'));
        const onError = (e) => done(null, e);
        const t = setTimeout(() => done(new Error(`no connect_error within ${timeoutMs} ms`)), timeoutMs);
        socket.on('connect', onConnect);
        socket.on('connect_error', onError);
    });
}

/** Socket.IO `auth` objects of the three client kinds (realtime.md §1.4) for an authAccount() result. */
export const userAuth = (acct) => ({ token: acct.token, clientType: 'user-scoped' });
export const machineAuth = (acct, machineId) => ({ token: acct.token, clientType: 'machine-scoped', machineId });
export const sessionAuth = (acct, sessionId) => ({ token: acct.token, clientType: 'session-scoped', sessionId });

/**
 * Clients opened by a realtime test file, all closed by one call (from its `afterEach`). The caller passes
 * socket.io-client's `io` and the `ws` WebSocket class, so this file stays free of npm imports.
 *   const clients = clientTracker({ io, WebSocket });
 *   afterEach(() => clients.closeAll());
 *   clients.sio(url, auth, opts)        -> socket.io-client Socket on /v1/updates: websocket only, no
 *                                          reconnection, a new manager, 5 s connect timeout; `opts` override
 *                                          these (a key set to undefined gives socket.io-client's default)
 *   await clients.connect(url, auth, opts) -> the same Socket once connected (waitConnect())
 *   clients.at(url)                     -> {connect(auth, opts), app(acct), daemon(acct, machineId), cli(acct, sessionId)}:
 *                                          connect() on one server, also as a user-, machine- or session-scoped client.
 *                                          `url` may be a function (`() => srv.url`), for a server that a file
 *                                          starts later, in its `before` hook
 *   await clients.raw(url, auth, opts)  -> RawEio.connect(WebSocket, url, auth, opts)
 *   await clients.open(url, opts)       -> RawEio.open(WebSocket, url, opts)
 *   clients.placements()                -> cluster runs (CLUSTER_SIZE): the instance each connection through a
 *                                          cluster's balancer reached, in connect order (connects through a balancer
 *                                          run one at a time, so that each one can be attributed)
 * sio() does not wait for a socket.io connect: tests of connect errors use it with waitConnectError().
 */
export function clientTracker({ io, WebSocket }) {
    const sockets = new Set();
    const raws = new Set();
    const keepRaw = (c) => { raws.add(c); return c; };
    const sio = (url, auth, opts = {}) => {
        const s = io(url, {
            path: '/v1/updates', transports: ['websocket'], reconnection: false, forceNew: true, timeout: 5000, auth, ...opts,
        });
        sockets.add(s);
        return s;
    };
    // Cluster runs (CLUSTER_SIZE): connections through a cluster's balancer are opened one at a time and the instance
    // each one reached is noted, in order, until placements() hands the list over.
    const placed = [];
    let queue = Promise.resolve();
    const placedOpen = (url, open) => {
        const c = [...clusters].find((x) => x.url === url);
        if (!c) return open();
        const run = queue.then(async () => {
            const { value, node } = await c.nodeOf(open);
            placed.push(node);
            value.clusterNode = node; // for a test whose expectation depends on it (which registrant is "first")
            return value;
        });
        queue = run.catch(() => {});
        return run;
    };
    const connect = (url, auth, opts) => placedOpen(url, () => waitConnect(sio(url, auth, opts)));
    return {
        sio,
        connect,
        at(url) {
            const urlNow = typeof url === 'function' ? url : () => url;
            return {
                connect: (auth, opts) => connect(urlNow(), auth, opts),
                app: (acct) => connect(urlNow(), userAuth(acct)),
                daemon: (acct, machineId) => connect(urlNow(), machineAuth(acct, machineId)),
                cli: (acct, sessionId) => connect(urlNow(), sessionAuth(acct, sessionId)),
            };
        },
        raw: (url, auth, opts) => placedOpen(url, () => RawEio.connect(WebSocket, url, auth, opts).then(keepRaw)),
        open: (url, opts) => placedOpen(url, () => RawEio.open(WebSocket, url, opts).then(keepRaw)),
        /** Cluster runs: the instance (index) each connection opened since the last call reached, in order. */
        placements: () => placed.splice(0),
        closeAll() {
            for (const s of sockets) s.close();
            sockets.clear();
            for (const r of raws) r.close();
            raws.clear();
        },
    };
}

// ---------------------------------------------------------------------------------------------
// Shared assertions of the feature tests (sessions, machines, artifacts, kv, account, usage, social).
// ---------------------------------------------------------------------------------------------

/** First argument of every recorded event called `name` (recordEvents() entries). */
export const named = (events, name) => events.filter((e) => e.event === name).map((e) => e.args[0]);

/**
 * Polls `fn` every 20 ms until it returns something truthy (returned), or throws after `ms`. `fn` may be async
 * (its result is awaited), so a condition can also poll the REST API.
 */
export async function until(fn, ms = 3000, what = 'condition') {
    const end = Date.now() + ms;
    for (;;) {
        const v = await fn();
        if (v) return v;
        if (Date.now() > end) throw new Error(`timeout waiting for ${what}`);
        await sleep(20);
    }
}

/** An `update` envelope: exactly {id, seq, body, createdAt} with the given seq and body (keys in order). */
export function assertEnvelope(env, seq, body) {
    assert.deepStrictEqual(Object.keys(env), ['id', 'seq', 'body', 'createdAt']);
    assert.match(env.id, /^[A-Za-z0-9]{12}$/);
    assert.equal(env.seq, seq);
    assert.equal(typeof env.createdAt, 'number');
    assert.deepStrictEqual(env.body, body);
    assertKeyOrder(env.body, body, '$.body');
}
