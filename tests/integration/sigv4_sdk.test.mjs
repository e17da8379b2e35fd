// Cross-check of our AWS Signature V4 (plugins/files_s3/sigv4.cpp, through the test-only happy-sigv4-tool built
// beside the server binary) against the AWS SDK for JavaScript's signer (@smithy/signature-v4 with
// @aws-crypto/sha256-js): header signing of the requests the S3 store sends, presigned GET URLs, and POST policy
// signatures, for several keys, times, regions and credentials. plugins/files_s3/sigv4_test.cpp checks the same
// code against AWS's published test vectors.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import { createRequire } from 'node:module';
import { SERVER_BIN } from './harness.mjs';

const require = createRequire(import.meta.url);
const { SignatureV4 } = require('@smithy/signature-v4');
const { Sha256 } = require('@aws-crypto/sha256-js');
const { HttpRequest } = require('@smithy/protocol-http');

const TOOL = path.join(path.dirname(SERVER_BIN), 'happy-sigv4-tool');

let tool;
let lines;

before(() => {
    assert.ok(fs.existsSync(TOOL), `${TOOL} not built (cmake --build build/release --target happy-sigv4-tool)`);
    tool = spawn(TOOL, [], { stdio: ['pipe', 'pipe', 'inherit'] });
    lines = readline.createInterface({ input: tool.stdout })[Symbol.asyncIterator]();
});
after(() => { tool?.stdin.end(); });

async function ours(request) {
    tool.stdin.write(JSON.stringify(request) + '\n');
    const { value } = await lines.next();
    const out = JSON.parse(value);
    assert.equal(out.error, undefined, out.error);
    return out;
}

const CASES = [
    { name: 'S3RVER', accessKey: 'S3RVER', secretKey: 'S3RVER', region: 'us-east-1', time: Date.UTC(2026, 7, 7, 12, 34, 56) },
    { name: 'AWS docs keys', accessKey: 'AKIAIOSFODNN7EXAMPLE', secretKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY', region: 'eu-central-1', time: Date.UTC(2013, 4, 24) },
    { name: 'odd secret', accessKey: 'minio', secretKey: 'p@ss+word/with=chars', region: 'auto', time: Date.UTC(2030, 11, 31, 23, 59, 59) },
];

const KEYS = [
    'sessions/cmabc123/attachments/0b9e7c1e-3f7a-4c1e-9d2b-3a6f1e2d4c5b.enc',
    'public/users/u 1/avatars/github_ab+cd(1)!.png',
    'odd/\u00e9t\u00e9/\u{1F600}/~tilde*star\'quote',
];

/** The path as S3 wants it on the wire: each segment percent-encoded per RFC 3986 (the S3 client's encoding). */
const encodePath = (p) => p.split('/').map((s) => encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)).join('/');
const sha256hex = (b) => crypto.createHash('sha256').update(b).digest('hex');
const amzDate = (ms) => new Date(ms).toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');

function sdk(c) {
    return new SignatureV4({
        credentials: { accessKeyId: c.accessKey, secretAccessKey: c.secretKey }, region: c.region, service: 's3',
        sha256: Sha256, uriEscapePath: false, applyChecksum: false,
    });
}

/** The requests the S3 store signs: PUT, GET, HEAD, DELETE of an object, ListObjectsV2, DeleteObjects, HeadBucket. */
function storeRequests(key) {
    const body = Buffer.from('<Delete><Object><Key>x</Key></Object></Delete>');
    return [
        { method: 'PUT', path: `/happy/${key}`, query: [], body: Buffer.from([0, 1, 2, 255]), extra: [['content-md5', crypto.createHash('md5').update('x').digest('base64')]] },
        { method: 'GET', path: `/happy/${key}`, query: [], body: Buffer.alloc(0), extra: [] },
        { method: 'HEAD', path: `/happy/${key}`, query: [], body: Buffer.alloc(0), extra: [] },
        { method: 'DELETE', path: `/happy/${key}`, query: [], body: Buffer.alloc(0), extra: [] },
        { method: 'GET', path: '/happy', query: [['list-type', '2'], ['prefix', key.split('/').slice(0, 2).join('/') + '/'], ['continuation-token', '1ueGcx/LPRx+1Tr=']], body: Buffer.alloc(0), extra: [] },
        { method: 'POST', path: '/happy', query: [['delete', '']], body, extra: [['content-md5', crypto.createHash('md5').update(body).digest('base64')]] },
        { method: 'HEAD', path: '/happy', query: [], body: Buffer.alloc(0), extra: [] },
    ];
}

test('header signing (Authorization) matches the SDK for the S3 store\'s requests', async () => {
    let n = 0;
    for (const c of CASES) {
        for (const key of KEYS) {
            for (const r of storeRequests(key)) {
                const host = c.region === 'auto' ? 'acct.r2.example:8443' : '127.0.0.1:9000';
                const payload = sha256hex(r.body);
                const headers = [['host', host], ['x-amz-content-sha256', payload], ['x-amz-date', amzDate(c.time)], ...r.extra];
                const mine = await ours({
                    op: 'sign', time: c.time / 1000, access_key: c.accessKey, secret_key: c.secretKey, region: c.region,
                    service: 's3', method: r.method, path: r.path, query: r.query, headers, payload_hash: payload,
                });
                const signed = await sdk(c).sign(new HttpRequest({
                    method: r.method, protocol: 'http:', hostname: host.split(':')[0], path: encodePath(r.path),
                    query: Object.fromEntries(r.query), headers: Object.fromEntries(headers), body: r.body,
                }), { signingDate: new Date(c.time) });
                assert.equal(mine.authorization, signed.headers.authorization, `${c.name} ${r.method} ${r.path}`);
                n += 1;
            }
        }
    }
    assert.equal(n, CASES.length * KEYS.length * 7);
});

test('presigned GET URLs match the SDK\'s presign (UNSIGNED-PAYLOAD, host signed)', async () => {
    for (const c of CASES) {
        for (const key of KEYS) {
            for (const expires of [1, 900, 604800]) {
                const host = '127.0.0.1:4568';
                const mine = await ours({
                    op: 'presign', time: c.time / 1000, access_key: c.accessKey, secret_key: c.secretKey, region: c.region,
                    service: 's3', method: 'GET', path: `/happy/${key}`, headers: [['host', host]], expires,
                });
                const presigned = await sdk(c).presign(new HttpRequest({
                    method: 'GET', protocol: 'http:', hostname: '127.0.0.1', port: 4568, path: encodePath(`/happy/${key}`),
                    headers: { host, 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' },
                }), {
                    signingDate: new Date(c.time), expiresIn: expires,
                    unhoistableHeaders: new Set(['x-amz-content-sha256']), unsignableHeaders: new Set(['x-amz-content-sha256']),
                });
                const [p, q] = mine.target.split('?');
                assert.equal(p, presigned.path, key);
                assert.deepEqual(Object.fromEntries(new URLSearchParams(q)), presigned.query, `${c.name} ${key} ${expires}`);
            }
        }
    }
});

test('POST policy signatures match the SDK\'s signString; the form is the policy it signs', async () => {
    for (const c of CASES) {
        for (const key of KEYS) {
            const expirationMs = c.time + 900_000 + 123;
            const mine = await ours({
                op: 'post', time: c.time / 1000, access_key: c.accessKey, secret_key: c.secretKey, region: c.region,
                bucket: 'happy', key, max: 10 * 1024 * 1024, expiration_ms: expirationMs,
            });
            const f = mine.fields;
            assert.equal(Buffer.from(f.policy, 'base64').toString('utf8'), mine.policy_json);
            const policy = JSON.parse(mine.policy_json);
            assert.equal(policy.expiration, new Date(expirationMs).toISOString());
            assert.deepEqual(policy.conditions[1], ['eq', '$key', key]);
            assert.equal(f['x-amz-signature'], await sdk(c).sign(f.policy, { signingDate: new Date(c.time) }), `${c.name} ${key}`);
            const direct = await ours({
                op: 'policy', time: c.time / 1000, access_key: c.accessKey, secret_key: c.secretKey, region: c.region, policy: f.policy,
            });
            assert.equal(direct.signature, f['x-amz-signature']);
        }
    }
});
