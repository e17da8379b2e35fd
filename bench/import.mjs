#!/usr/bin/env node
// import-upstream benchmark (issue 12): an upstream database built from upstream's own Prisma migrations
// (tests/fixtures/upstream_prisma) on a throwaway PostgreSQL cluster (scripts/pg_test_cluster.sh, fsync off), filled
// with --messages session messages in upstream's format (JSONB {"t":"encrypted","c":<base64>}, per-session seqs) over
// --sessions sessions of --accounts accounts, then imported with `happy-server import-upstream` into a fresh SQLite
// data directory and into an empty PostgreSQL database on the same cluster. Reports the wall time of each import
// (process start to exit, as a user sees it), the import's own timing and the process's CPU time (user + system:
// on a shared machine the wall time is mostly waiting for a core), with the load average at each run; asserts
// nothing.
//
//   node bench/import.mjs [--bin build/release/happy-server] [--messages 100000] [--sessions 100] [--accounts 10]
//                         [--content-bytes 300] [--runs 3] [--out import]
import { spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { median, parseArgs, root, writeResult } from './lib.mjs';
import { applyUpstreamSchema, psqlFile } from '../tests/integration/upstream_db.mjs';

const args = parseArgs(process.argv.slice(2));
const bin = path.resolve(root, args.bin ?? 'build/release/happy-server');
const messages = Number(args.messages ?? 100000);
const sessions = Number(args.sessions ?? 100);
const accounts = Number(args.accounts ?? 10);
const contentBytes = Number(args['content-bytes'] ?? 300);
const runs = Number(args.runs ?? 3);
const secret = 'bench-import-secret';
const script = path.join(root, 'scripts/pg_test_cluster.sh');

function psql(url, sql) {
    const r = spawnSync('psql', ['-X', '-q', '-A', '-t', '-v', 'ON_ERROR_STOP=1', '-d', url, '-c', sql], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`psql: ${r.stderr}`);
    return r.stdout.trim();
}

function database(adminUrl, name) {
    psql(adminUrl, `CREATE DATABASE ${name} TEMPLATE template0`);
    const u = new URL(adminUrl);
    u.pathname = `/${name}`;
    return u.toString();
}

/** Upstream's rows, generated server-side in upstream's formats (ids are cuid-shaped, times TIMESTAMP(3) UTC). */
function fill(url) {
    const cuid = (expr) => `'c' || lpad(to_hex(${expr}), 12, '0') || substr(md5((${expr})::text), 1, 12)`;
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'happy-bench-'));
    const file = path.join(dir, 'fill.sql');
    // Content: base64 of random-looking bytes, about --content-bytes long, like the ciphertext the CLI sends.
    const chunks = Math.max(1, Math.round(contentBytes / 44));
    const c = Array.from({ length: chunks }, (_, i) => `encode(decode(md5(g::text || '${i}') || md5(g::text || 'x${i}'), 'hex'), 'base64')`).join(' || ');
    fs.writeFileSync(file, `
BEGIN;
INSERT INTO "Account" ("id", "publicKey", "seq", "feedSeq", "createdAt", "updatedAt", "settings", "settingsVersion")
SELECT ${cuid('a')}, upper(md5(a::text) || md5('k' || a::text)), a, 0, now() - interval '30 days', now(), 'settings-' || a, 1
FROM generate_series(1, ${accounts}) a;
INSERT INTO "Session" ("id", "tag", "accountId", "metadata", "metadataVersion", "dataEncryptionKey", "seq", "active",
    "lastActiveAt", "createdAt", "updatedAt")
SELECT ${cuid('1000000 + s')}, 'tag-' || s, ${cuid('1 + s % ' + accounts)}, 'metadata-' || s, 1,
    decode(md5(s::text) || md5('d' || s::text), 'hex'), ${Math.ceil(messages / sessions)}, false,
    now() - interval '1 day', now() - interval '20 days', now() - interval '1 day'
FROM generate_series(1, ${sessions}) s;
INSERT INTO "SessionMessage" ("id", "sessionId", "localId", "seq", "content", "createdAt", "updatedAt")
SELECT ${cuid('2000000 + g')}, ${cuid('1000000 + 1 + (g - 1) % ' + sessions)}, 'local-' || g, 1 + (g - 1) / ${sessions},
    jsonb_build_object('t', 'encrypted', 'c', ${c}),
    now() - interval '20 days' + g * interval '1 second', now() - interval '20 days' + g * interval '1 second'
FROM generate_series(1, ${messages}) g;
COMMIT;
ANALYZE;
`);
    psqlFile(url, file);
    fs.rmSync(dir, { recursive: true, force: true });
}

/** Bash's `times` after the child: its user and system CPU seconds (on a loaded machine, wall time is mostly waiting). */
function childCpu(stderr) {
    const lines = stderr.trim().split('\n');
    const m = /(\d+)m([\d.]+)s (\d+)m([\d.]+)s/.exec(lines[lines.length - 1] ?? '');
    return m ? { user_s: Number(m[1]) * 60 + Number(m[2]), sys_s: Number(m[3]) * 60 + Number(m[4]) } : null;
}

function importInto(upstreamUrl, env) {
    const t0 = process.hrtime.bigint();
    const r = spawnSync('bash', ['-c', '"$0" "$@"; status=$?; times >&2; exit $status', bin, 'import-upstream', '--from',
        upstreamUrl, '--json'], {
        env: { PATH: process.env.PATH, HANDY_MASTER_SECRET: secret, HAPPY_LOG_LEVEL: 'warn', ...env }, encoding: 'utf8',
    });
    const wall = Number(process.hrtime.bigint() - t0) / 1e9;
    if (r.status !== 0) throw new Error(`import-upstream failed (${r.status}): ${r.stderr}`);
    const cpu = childCpu(r.stderr);
    const report = JSON.parse(r.stdout);
    const written = report.tables.find((t) => t.upstream === 'SessionMessage').written;
    if (written !== messages) throw new Error(`imported ${written} messages, expected ${messages}`);
    return { wall_s: Math.round(wall * 1000) / 1000, import_s: Math.round(report.seconds * 1000) / 1000, rows: report.rows,
        cpu_s: cpu && Math.round((cpu.user_s + cpu.sys_s) * 1000) / 1000, load_average_1m: Math.round(os.loadavg()[0] * 100) / 100 };
}

const started = spawnSync(script, ['start'], { encoding: 'utf8' });
if (started.status !== 0) throw new Error(`pg_test_cluster.sh start failed: ${started.stderr}`);
const value = (key) => (started.stdout.match(new RegExp(`^${key}=(.*)$`, 'm')) || [])[1];
const adminUrl = value('HAPPY_TEST_DATABASE_URL');
const clusterDir = value('HAPPY_TEST_PG_DIR');
try {
    const upstreamUrl = database(adminUrl, 'bench_upstream');
    applyUpstreamSchema(upstreamUrl);
    const t0 = process.hrtime.bigint();
    fill(upstreamUrl);
    const fillSeconds = Number(process.hrtime.bigint() - t0) / 1e9;
    const contentAvg = Number(psql(upstreamUrl, 'SELECT round(avg(length(content::text))) FROM "SessionMessage"'));
    const results = { sqlite: [], postgres: [] };
    for (let i = 0; i < runs; i++) {
        const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'happy-bench-import-'));
        try {
            results.sqlite.push(importInto(upstreamUrl, { DATA_DIR: dataDir }));
            results.sqlite.at(-1).db_bytes = fs.statSync(path.join(dataDir, 'happy.sqlite')).size;
        } finally {
            fs.rmSync(dataDir, { recursive: true, force: true });
        }
        const target = database(adminUrl, `bench_target_${i}`);
        const dataDir2 = fs.mkdtempSync(path.join(os.tmpdir(), 'happy-bench-import-'));
        try {
            results.postgres.push(importInto(upstreamUrl, { DATA_DIR: dataDir2, DATABASE_URL: target }));
        } finally {
            fs.rmSync(dataDir2, { recursive: true, force: true });
        }
        console.log(`run ${i + 1}: SQLite ${results.sqlite.at(-1).wall_s} s, PostgreSQL ${results.postgres.at(-1).wall_s} s`);
    }
    const summary = (xs) => ({ median_wall_s: median(xs.map((x) => x.wall_s)), runs: xs,
        messages_per_s: Math.round(messages / median(xs.map((x) => x.wall_s))) });
    const out = {
        date: new Date().toISOString(),
        machine: `${os.cpus().length} cores, ${os.cpus()[0]?.model ?? 'unknown'}`,
        bin,
        upstream: { accounts, sessions, messages, content_avg_chars: contentAvg, fill_s: Math.round(fillSeconds * 10) / 10,
            migrations: 37 },
        sqlite: summary(results.sqlite),
        postgres: summary(results.postgres),
    };
    writeResult(args.out ?? 'import', out);
    console.log(JSON.stringify({ sqlite: out.sqlite.median_wall_s, postgres: out.postgres.median_wall_s }));
} finally {
    spawnSync(script, ['stop', clusterDir], { stdio: 'inherit' });
}
