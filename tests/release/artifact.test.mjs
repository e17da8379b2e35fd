// Smoke test of a release artifact (dist/happy-server-linux-<arch>) where it is meant to run, driven from the host:
// scripts/release_test.sh runs it once for the x86_64 artifact inside a minimal Debian 11 root and once for the
// aarch64 artifact under qemu-aarch64-static (each through a wrapper script given as HAPPY_SERVER_BIN). Each run checks the banner, POST /v1/auth,
// a Socket.IO connect with the real socket.io-client, and an outbound HTTPS request from the server to a host
// name, verified against a CA the server finds where the run put it; optionally the same name served by DNS only.
//
// Environment (set by scripts/release_test.sh):
//   HAPPY_SERVER_BIN            the wrapper that runs the artifact in the Debian 11 root or under qemu
//   HAPPY_RELEASE_TARGET        the target `version` must report (x86_64-linux-gnu | aarch64-linux-gnu)
//   HAPPY_RELEASE_TLS_DIR       ca.pem, cert.pem, key.pem; the certificate names the hosts below
//   HAPPY_RELEASE_HOSTS_NAME    a name the server's /etc/hosts maps to 127.0.0.1
//   HAPPY_RELEASE_CA_ENV        "1": pass SSL_CERT_FILE=<ca.pem> (otherwise the CA is in the server's system store)
//   HAPPY_RELEASE_DNS_SERVER    optional: the address of the server's /etc/resolv.conf nameserver; a DNS server on
//                               its port 53 answers HAPPY_RELEASE_DNS_NAME with 127.0.0.1 (and nothing else)
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import dgram from 'node:dgram';
import fs from 'node:fs';
import path from 'node:path';
import {
    TEST_TIMEOUT, HOOK_TIMEOUT, SERVER_BIN, startServer, authAccount, req, authReq, writeConfigFile, userAuth,
} from '../integration/harness.mjs';
import { clientsClosedAfterEach } from '../integration/clients.mjs';
import { startReceiver } from '../integration/receiver.mjs';

const T = { timeout: Math.max(TEST_TIMEOUT, 90_000) };
// The first POST /v1/auth waits for the token keys (PBKDF2, 210,000 rounds, derived at start): under qemu, or on a
// loaded CI machine, that alone can pass the harness's default 8 s request timeout.
const FIRST_AUTH = { timeoutMs: 60_000 };
const tlsDir = process.env.HAPPY_RELEASE_TLS_DIR;
const hostsName = process.env.HAPPY_RELEASE_HOSTS_NAME;
const dnsServer = process.env.HAPPY_RELEASE_DNS_SERVER || '';
const dnsName = process.env.HAPPY_RELEASE_DNS_NAME || '';
assert.ok(tlsDir && hostsName, 'HAPPY_RELEASE_TLS_DIR and HAPPY_RELEASE_HOSTS_NAME are set by scripts/release_test.sh');

const clients = clientsClosedAfterEach();
let rx;
let dns;
let dnsQueries = 0;

/** A DNS server answering A queries for one name with 127.0.0.1, NOERROR/no data for its AAAA, NXDOMAIN else. */
function startDns(address, name) {
    const sock = dgram.createSocket('udp4');
    sock.on('message', (q, from) => {
        dnsQueries++;
        let p = 12;
        const labels = [];
        while (q[p] !== 0) { labels.push(q.subarray(p + 1, p + 1 + q[p]).toString()); p += 1 + q[p]; }
        const qtype = q.readUInt16BE(p + 1);
        const question = q.subarray(12, p + 5);
        const known = labels.join('.').toLowerCase() === name;
        const answers = known && qtype === 1
            ? Buffer.concat([Buffer.from([0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4]), Buffer.from([127, 0, 0, 1])])
            : Buffer.alloc(0);
        const head = Buffer.alloc(12);
        head.writeUInt16BE(q.readUInt16BE(0), 0);
        head.writeUInt16BE(known ? 0x8180 : 0x8183, 2);
        head.writeUInt16BE(1, 4);
        head.writeUInt16BE(answers.length ? 1 : 0, 6);
        sock.send(Buffer.concat([head, question, answers]), from.port, from.address);
    });
    return new Promise((resolve, reject) => {
        sock.once('error', reject);
        sock.bind(53, address, () => resolve(sock));
    });
}

before(async () => {
    rx = await startReceiver({
        tls: { key: fs.readFileSync(path.join(tlsDir, 'key.pem')), cert: fs.readFileSync(path.join(tlsDir, 'cert.pem')) },
    });
    if (dnsServer) dns = await startDns(dnsServer, dnsName);
}, { timeout: HOOK_TIMEOUT });
after(async () => {
    await rx?.close();
    dns?.close();
});

/** The server, configured to fetch ElevenLabs usage from the HTTPS receiver under `name`. */
function start(name) {
    const env = {
        ELEVENLABS_API_KEY: 'xi-release',
        HAPPY_CONFIG: writeConfigFile({ modules: { voice: { elevenlabs_url: `https://${name}:${rx.port}/v1/convai` } } }),
    };
    if (process.env.HAPPY_RELEASE_CA_ENV === '1') env.SSL_CERT_FILE = path.join(tlsDir, 'ca.pem');
    return startServer({ env, timeoutMs: 20_000 });
}

test('version names the target and a static link', T, () => {
    const r = spawnSync(SERVER_BIN, ['version'], { encoding: 'utf8', timeout: 20_000 });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^happy-server \d+\.\d+\.\d+\n/);
    if (process.env.HAPPY_RELEASE_TARGET) {
        assert.match(r.stdout, new RegExp(`\\ntarget: ${process.env.HAPPY_RELEASE_TARGET} \\(static\\)\\n`));
    }
});

test('banner, POST /v1/auth, a Socket.IO connect, and HTTPS out by a name from /etc/hosts', T, async () => {
    const srv = await start(hostsName);
    try {
        const banner = await req(srv.url, 'GET', '/');
        assert.equal(banner.status, 200);
        assert.equal(banner.text, 'Welcome to Happy Server!');

        const a = await authAccount(srv.url, FIRST_AUTH);
        assert.match(a.token, /^[\w-]+\.[\w-]+\.[\w-]+$/);

        const socket = await clients.connect(srv.url, userAuth(a));
        assert.equal(socket.connected, true);

        rx.clear();
        rx.on('GET', '/v1/convai/conversations', {
            json: { conversations: [{ call_duration_secs: 40, status: 'done' }, { call_duration_secs: 2, status: 'done' }], has_more: false },
        });
        const usage = await authReq(srv.url, 'GET', '/v1/voice/usage', a, { timeoutMs: 15_000 });
        assert.equal(usage.status, 200, usage.text);
        assert.equal(usage.json.usedSeconds, 42, usage.text);
        assert.equal(rx.requests.length, 1);
        assert.equal(rx.requests[0].headers.host, `${hostsName}:${rx.port}`);
        assert.equal(rx.requests[0].headers['xi-api-key'], 'xi-release');
    } finally {
        await srv.stop();
    }
});

test('HTTPS out by a name only DNS knows (the resolv.conf nameserver)', { ...T, skip: !dnsServer && 'no DNS server configured for this run' }, async () => {
    const srv = await start(dnsName);
    try {
        const a = await authAccount(srv.url, FIRST_AUTH);
        rx.clear();
        rx.on('GET', '/v1/convai/conversations', {
            json: { conversations: [{ call_duration_secs: 5, status: 'done' }], has_more: false },
        });
        const before = dnsQueries;
        const usage = await authReq(srv.url, 'GET', '/v1/voice/usage', a, { timeoutMs: 15_000 });
        assert.equal(usage.status, 200, usage.text);
        assert.equal(usage.json.usedSeconds, 5, usage.text);
        assert.equal(rx.requests.length, 1);
        assert.equal(rx.requests[0].headers.host, `${dnsName}:${rx.port}`);
        assert.ok(dnsQueries - before >= 2, `the server asked the DNS server (A and AAAA): ${dnsQueries - before} queries`);
    } finally {
        await srv.stop();
    }
});
