// Built-in TLS (server.tls.cert_file / key_file): HTTPS and WSS with a certificate chain from a throw-away CA made
// here with openssl, TLS 1.2+ only, the real socket.io-client over wss trusting the CA through NODE_EXTRA_CA_CERTS,
// reload on SIGHUP without dropping connections, and clear start-up errors for a missing, mismatched or expired
// certificate.

import test, { before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import https from 'node:https';
import net from 'node:net';
import path from 'node:path';
import tls from 'node:tls';
import {
    startServer, makeTempDir, removeDir, REPO_ROOT, SERVER_BIN, cleanEnv, TEST_TIMEOUT, HOOK_TIMEOUT,
} from './harness.mjs';
import { TestCa } from './test_ca.mjs';

const T = { timeout: TEST_TIMEOUT };
const dir = makeTempDir('happy-tls-');
after(() => removeDir(dir));

const ca = new TestCa(dir);
const makeChain = (name, opts) => ca.leaf(name, opts);
const rootCa = () => ca.rootPem;

/** An HTTPS request trusting only the test root; resolves {status, text, json, cert, protocol}. */
function httpsReq(port, method, pathname, { body, headers = {}, agent = false } = {}) {
    return new Promise((resolve, reject) => {
        const data = body === undefined ? undefined : JSON.stringify(body);
        const r = https.request({
            host: '127.0.0.1', port, method, path: pathname, ca: rootCa(), agent,
            headers: { ...headers, ...(data ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data) } : {}) },
        }, (res) => {
            let text = '';
            res.setEncoding('utf8');
            res.on('data', (c) => { text += c; });
            res.on('end', () => {
                let json;
                try { json = JSON.parse(text); } catch { /* not JSON */ }
                resolve({ status: res.statusCode, text, json, cert: res.socket.getPeerCertificate?.() ?? null,
                    protocol: res.socket.getProtocol?.() });
            });
        });
        r.on('error', reject);
        r.setTimeout(8000, () => r.destroy(new Error('timeout')));
        if (data) r.write(data);
        r.end();
    });
}

/** The leaf certificate's fingerprint a fresh TLS connection sees. */
function peerFingerprint(port) {
    return new Promise((resolve, reject) => {
        const s = tls.connect({ host: '127.0.0.1', port, servername: 'localhost', ca: rootCa() }, () => {
            const fp = s.getPeerCertificate().fingerprint256;
            s.end();
            resolve(fp);
        });
        s.on('error', reject);
    });
}

/**
 * The real socket.io-client over wss in a child process, trusting the root CA only through NODE_EXTRA_CA_CERTS.
 * It connects, prints "connected", answers "ping?" lines on stdin with an emitWithAck('ping') round trip, and
 * prints "disconnected <reason>" if the server drops it.
 */
function wssClient(port, token) {
    const code = `
        import { io } from 'socket.io-client';
        import readline from 'node:readline';
        const s = io('wss://127.0.0.1:${port}', { path: '/v1/updates', transports: ['websocket'], reconnection: false,
            auth: { token: ${JSON.stringify(token)}, clientType: 'user-scoped' } });
        s.on('connect', () => console.log('connected'));
        s.on('connect_error', (e) => { console.log('connect_error ' + e.message); process.exit(2); });
        s.on('disconnect', (r) => console.log('disconnected ' + r));
        readline.createInterface({ input: process.stdin }).on('line', async (l) => {
            if (l === 'ping?') { const a = await s.timeout(5000).emitWithAck('ping'); console.log('pong ' + JSON.stringify(a)); }
            if (l === 'exit') { s.close(); process.exit(0); }
        });`;
    const child = spawn(process.execPath, ['--input-type=module', '-e', code], {
        cwd: path.join(REPO_ROOT, 'tests'),
        env: { ...process.env, NODE_EXTRA_CA_CERTS: path.join(dir, 'root.pem') },
        stdio: ['pipe', 'pipe', 'pipe'],
    });
    const lines = [];
    let waiters = [];
    let buf = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (c) => {
        buf += c;
        let i;
        while ((i = buf.indexOf('\n')) >= 0) {
            lines.push(buf.slice(0, i));
            buf = buf.slice(i + 1);
            waiters = waiters.filter((w) => !w());
        }
    });
    let stderr = '';
    child.stderr.on('data', (c) => { stderr += c; });
    let cursor = 0;  // each wait consumes the lines up to its match
    const waitLine = (re, ms = 8000) => new Promise((resolve, reject) => {
        const check = () => {
            const i = lines.findIndex((x, k) => k >= cursor && re.test(x));
            if (i >= 0) { cursor = i + 1; clearTimeout(timer); resolve(lines[i]); return true; }
            return false;
        };
        const timer = setTimeout(() => reject(new Error(`no line ${re} from the wss client: ${lines.join(' | ')} ${stderr}`)), ms);
        if (!check()) waiters.push(check);
    });
    return {
        waitLine,
        send: (l) => child.stdin.write(`${l}\n`),
        kill: () => child.kill('SIGKILL'),
    };
}

let srv;
let httpsPort;
before(async () => {
    const first = makeChain('first');
    srv = await startServer({ env: { HAPPY_TLS_CERT: first.cert, HAPPY_TLS_KEY: first.key } });
    httpsPort = srv.port;
}, { timeout: HOOK_TIMEOUT });
after(async () => { await srv?.stop(); });

test('HTTPS: banner, an account, and the log says which certificate', T, async () => {
    const r = await httpsReq(httpsPort, 'GET', '/');
    assert.equal(r.status, 200);
    assert.equal(r.text, 'Welcome to Happy Server!');
    assert.ok(['TLSv1.3', 'TLSv1.2'].includes(r.protocol), r.protocol);
    const loaded = srv.stdoutLines.map((l) => JSON.parse(l)).find((l) => l.msg === 'TLS certificate loaded');
    assert.ok(loaded, 'start-up log line');
    assert.match(loaded.subject, /CN\s*=\s*first/);
    assert.deepEqual(loaded.names, ['localhost', '127.0.0.1']);
    assert.equal(loaded.chain, 2, 'leaf + intermediate');
    assert.ok(srv.stdoutLines.some((l) => l.includes('"msg":"listening"') && l.includes('"tls":true')));
});

test('TLS only: plain HTTP and TLS 1.1 are refused, TLS 1.2 is accepted', T, async () => {
    // Plain HTTP on the TLS port: the handshake fails and the connection closes without an HTTP answer.
    const plain = await new Promise((resolve) => {
        const s = net.connect(httpsPort, '127.0.0.1', () => s.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n'));
        let got = '';
        s.on('data', (d) => { got += d.toString('latin1'); });
        s.on('close', () => resolve(got));
        s.on('error', () => resolve(got));
        s.setTimeout(5000, () => s.destroy());
    });
    assert.ok(!plain.includes('Welcome'), 'no HTTP answer on the TLS port');
    const old = await new Promise((resolve) => {
        const s = tls.connect({ host: '127.0.0.1', port: httpsPort, servername: 'localhost', ca: rootCa(),
            minVersion: 'TLSv1', maxVersion: 'TLSv1.1' }, () => { s.end(); resolve('connected'); });
        s.on('error', (e) => resolve(e.code || e.message));
    });
    assert.notEqual(old, 'connected', 'TLS 1.1 must fail');
    const v12 = await new Promise((resolve, reject) => {
        const s = tls.connect({ host: '127.0.0.1', port: httpsPort, servername: 'localhost', ca: rootCa(),
            maxVersion: 'TLSv1.2' }, () => { const p = s.getProtocol(); s.end(); resolve(p); });
        s.on('error', reject);
    });
    assert.equal(v12, 'TLSv1.2');
});

test('wss: the real socket.io-client connects with NODE_EXTRA_CA_CERTS, and SIGHUP swaps the certificate without dropping it', T, async () => {
    const acct = await authAccountTls();
    const client = wssClient(httpsPort, acct.token);
    try {
        await client.waitLine(/^connected$/);
        client.send('ping?');
        await client.waitLine(/^pong \{\}$/);

        const before = await peerFingerprint(httpsPort);
        const second = makeChain('second');
        fs.copyFileSync(second.cert, path.join(dir, 'first.pem'));
        fs.copyFileSync(second.key, path.join(dir, 'first.key'));
        process.kill(srv.proc.pid, 'SIGHUP');
        const deadline = Date.now() + 5000;
        while (!srv.stdoutLines.some((l) => l.includes('TLS certificate reloaded')) && Date.now() < deadline) {
            await new Promise((r) => setTimeout(r, 50));
        }
        const reloaded = srv.stdoutLines.map((l) => JSON.parse(l)).find((l) => l.msg === 'TLS certificate reloaded');
        assert.ok(reloaded, 'reload log line');
        assert.match(reloaded.subject, /CN\s*=\s*second/);
        const afterFp = await peerFingerprint(httpsPort);
        assert.notEqual(afterFp, before, 'new connections get the new certificate');

        // The WebSocket opened before the reload still works.
        client.send('ping?');
        await client.waitLine(/^pong \{\}$/);
        assert.equal(await client.waitLine(/^disconnected/, 300).then(() => true, () => false), false,
            'the socket stayed connected');

        // A broken file on reload keeps the current certificate.
        fs.writeFileSync(path.join(dir, 'first.key'), 'not a key');
        process.kill(srv.proc.pid, 'SIGHUP');
        const until = Date.now() + 5000;
        while (!srv.stdoutLines.some((l) => l.includes('TLS certificate reload failed')) && Date.now() < until) {
            await new Promise((r) => setTimeout(r, 50));
        }
        assert.ok(srv.stdoutLines.some((l) => l.includes('TLS certificate reload failed')));
        assert.equal(await peerFingerprint(httpsPort), afterFp, 'still the second certificate');
    } finally {
        client.send('exit');
        setTimeout(() => client.kill(), 500);
    }
});

async function authAccountTls() {
    // authAccount() speaks plain HTTP; the same request over HTTPS.
    const { newEd25519, b64, randomBytes, edSign, decodeJwt } = await import('./harness.mjs');
    const kp = newEd25519();
    const challenge = randomBytes(32);
    const r = await httpsReq(httpsPort, 'POST', '/v1/auth', {
        body: { publicKey: b64(kp.publicRaw), challenge: b64(challenge), signature: b64(edSign(kp.privateKey, challenge)) },
    });
    assert.equal(r.status, 200, r.text);
    return { token: r.json.token, sub: decodeJwt(r.json.token).payload.sub };
}

/** Runs the binary with `env` until it exits (it must fail to start); returns {code, stderr}. */
function startFails(env) {
    const data = makeTempDir('happy-tls-data-');
    try {
        const r = spawnSync(SERVER_BIN, [], {
            env: { ...cleanEnv(), PORT: '0', HOST: '127.0.0.1', DATA_DIR: data, ...env }, encoding: 'utf8', timeout: 15000,
        });
        return { code: r.status, stderr: r.stderr };
    } finally {
        removeDir(data);
    }
}

test('start-up refuses a missing, mismatched or expired certificate with a message naming it', T, () => {
    const good = { cert: path.join(dir, 'second.pem'), key: path.join(dir, 'second.key') };
    const missing = startFails({ HAPPY_TLS_CERT: path.join(dir, 'nope.pem'), HAPPY_TLS_KEY: good.key });
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /server\.tls\.cert_file: cannot read .*nope\.pem: No such file or directory/);

    const other = makeChain('other');
    const mismatch = startFails({ HAPPY_TLS_CERT: good.cert, HAPPY_TLS_KEY: other.key });
    assert.equal(mismatch.code, 1);
    assert.match(mismatch.stderr, /the key in .*other\.key does not match the certificate in .*second\.pem/);

    const expired = makeChain('expired', { days: -1 });
    const old = startFails({ HAPPY_TLS_CERT: expired.cert, HAPPY_TLS_KEY: expired.key });
    assert.equal(old.code, 1);
    assert.match(old.stderr, /certificate in .*expired\.pem \(.*CN\s*=\s*expired\) expired on \d{4}-\d\d-\d\d/);

    const half = startFails({ HAPPY_TLS_CERT: good.cert });
    assert.equal(half.code, 2);
    assert.match(half.stderr, /server\.tls: cert_file and key_file go together/);
});
