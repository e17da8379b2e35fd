// An S3-compatible server for the tests: @20minutes/s3rver (a maintained fork of s3rver that verifies SigV4
// header and query signatures) on 127.0.0.1, a free port and a temporary directory of its own.
//
// Imported: `const s3 = await startS3({buckets: ['happy']}); … await s3.stop();`
// s3rver encrypts ListObjectsV2 continuation tokens with DES: a listing longer than one page needs Node's
// `--openssl-legacy-provider` (the C++ store tests pass it; the integration tests list short prefixes).
// Run as a program (the C++ store tests do): `node tests/integration/s3server.mjs happy other` prints
// `{"port":N,"accessKey":…,"secretKey":…}` on one line, then serves until its standard input closes.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const S3rver = require('@20minutes/s3rver');

// s3rver's built-in account (lib/models/account.js).
export const S3_ACCESS_KEY = 'S3RVER';
export const S3_SECRET_KEY = 'S3RVER';

export async function startS3({ buckets = ['happy'] } = {}) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'happy-s3rver-'));
    const server = new S3rver({
        address: '127.0.0.1',
        port: 0,
        silent: true,
        directory: dir,
        configureBuckets: buckets.map((name) => ({ name })),
    });
    const { port } = await server.run();
    return {
        port,
        dir,
        endpoint: `http://127.0.0.1:${port}`,
        accessKey: S3_ACCESS_KEY,
        secretKey: S3_SECRET_KEY,
        /// The stored object's bytes as s3rver keeps them on disk (bypassing the S3 API), or null.
        async read(bucket, key) {
            const obj = await server.store.getObject(bucket, key);
            if (!obj) return null;
            const chunks = [];
            for await (const c of obj.content) chunks.push(c);
            return Buffer.concat(chunks);
        },
        async keys(bucket, prefix = '') {
            const r = await server.store.listObjects(bucket, { prefix, maxKeys: 1000 });
            return r.objects.map((o) => o.key);
        },
        async stop() {
            await server.close();
            fs.rmSync(dir, { recursive: true, force: true });
        },
    };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
    const buckets = process.argv.slice(2);
    const s3 = await startS3({ buckets: buckets.length ? buckets : ['happy'] });
    process.stdout.write(JSON.stringify({ port: s3.port, accessKey: s3.accessKey, secretKey: s3.secretKey }) + '\n');
    const stop = async () => {
        await s3.stop().catch(() => {});
        process.exit(0);
    };
    process.stdin.on('end', stop);
    process.stdin.on('close', stop);
    process.stdin.resume();
    process.on('SIGTERM', stop);
}
