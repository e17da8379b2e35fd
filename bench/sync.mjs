#!/usr/bin/env node
// Sync-core benchmarks (issue "Sync core"): GET /v1/sessions throughput and latency at 1/50/200 connections,
// compared in the same run with a raw Beast "hello" server (bench/beast_hello.cpp) using the same number of
// threads; and POST /v3/sessions/:id/messages append throughput (messages durably committed per second), for
// storage.sqlite.synchronous "normal" (the default: survives a process crash) and "full" (also power loss).
// wrk drives the load from this same machine. Reports numbers; asserts nothing.
//
// `--part wal` instead measures the SQLite WAL under sustained appends (8 connections, 10 messages a request, for
// --duration seconds): its largest size, sampled every 200 ms, then kills the server with SIGKILL under that load and
// times the restart to the first 200 (crash recovery replays the WAL).
//
// `--part pg` compares the storage backends in one run: GET /v1/sessions (20 sessions) and one-message appends at 50
// connections on SQLite and on PostgreSQL (a throwaway cluster, scripts/pg_test_cluster.sh, fsync off as in tests),
// with `pgbench -S` (primary-key SELECTs, 50 clients) on the same cluster and the Beast hello as anchors. With
// `--durable` (PostgreSQL's defaults plus fsync, synchronous_commit and full_page_writes on; nothing else tuned) it
// also records what the disk and PostgreSQL allow for durable writes (`pg.anchors`: pg_test_fsync, and pgbench
// INSERT transactions at 50 clients). `--pool-size N` sets storage.postgres.pool_size; `--backends postgres` leaves
// SQLite out; `--append-sessions N` spreads the appends over N sessions of N accounts.
//
//   node bench/sync.mjs [--bin build/release/happy-server] [--hello build/release/bench/happy_beast_hello]
//                       [--duration 10] [--sessions 20] [--threads 2] [--rounds 3]
//                       [--part all|get|same|append|wal|pg] [--durable] [--pool-size N]
//                       [--backends sqlite,postgres] [--append-sessions 1] [--source-commit SHA] [--out sync]
import { spawn, spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { freePort, median, parseArgs, post, root, rssKb, signedLogin, sleep, start as startBin, stop, waitReady,
    writeResult } from './lib.mjs';

const args = parseArgs(process.argv.slice(2));
const bin = path.resolve(root, args.bin ?? 'build/release/happy-server');
const helloBin = path.resolve(root, args.hello ?? 'build/release/bench/happy_beast_hello');
const duration = Number(args.duration ?? 10);
const sessionCount = Number(args.sessions ?? 20);
const threads = Number(args.threads ?? os.cpus().length);
const connectionSets = [1, 50, 200];
const part = args.part ?? 'all';
const appendSessions = Number(args['append-sessions'] ?? 1);

function wrkArgs(url, connections, luaBody) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'happy-wrk-'));
    const script = path.join(dir, 's.lua');
    fs.writeFileSync(script, luaBody ?? '');
    return { dir, argv: [`-t${Math.min(2, connections)}`, `-c${connections}`, `-d${duration}s`, '--latency', '-s', script, url] };
}

function wrk(url, connections, luaBody) {
    const { dir, argv } = wrkArgs(url, connections, luaBody);
    const r = spawnSync('wrk', argv, { encoding: 'utf8' });
    fs.rmSync(dir, { recursive: true, force: true });
    if (r.error) throw new Error(`wrk not available (${r.error.code}); apt-get install wrk`);
    return wrkParse(r.stdout, connections);
}

function wrkParse(out, connections) {
    const num = (re) => { const m = out.match(re); return m ? m[1] : null; };
    const toMs = (s) => (s == null ? null : s.endsWith('us') ? parseFloat(s) / 1000 : s.endsWith('ms') ? parseFloat(s) : parseFloat(s) * 1000);
    return {
        connections,
        rps: Number(num(/Requests\/sec:\s+([\d.]+)/)),
        requests: Number(num(/(\d+) requests in/)),
        p50_ms: toMs(num(/\s50%\s+([\d.]+\w+)/)),
        p99_ms: toMs(num(/\s99%\s+([\d.]+\w+)/)),
        non_2xx: Number(num(/Non-2xx or 3xx responses:\s+(\d+)/) ?? 0),
        errors: num(/Socket errors:\s+(.*)/),
    };
}

function request(port, method, p, token, body) {
    return new Promise((resolve, reject) => {
        const data = body === undefined ? undefined : JSON.stringify(body);
        const headers = { authorization: `Bearer ${token}` };
        if (data !== undefined) Object.assign(headers, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data) });
        const req = http.request({ host: '127.0.0.1', port, path: p, method, agent: false, headers }, (res) => {
            let text = '';
            res.on('data', (c) => { text += c; });
            res.on('end', () => resolve({ status: res.statusCode, json: text ? JSON.parse(text) : null, text,
                bytes: Buffer.byteLength(text) }));
        });
        req.on('error', reject);
        req.end(data);
    });
}

const b64 = (n) => crypto.randomBytes(n).toString('base64');

async function startHello(extra = []) {
    const port = await freePort();
    const p = spawn(helloBin, ['--port', String(port), '--threads', String(threads), ...extra],
        { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise((resolve, reject) => {
        p.stdout.once('data', resolve);
        p.once('exit', (c) => reject(new Error(`hello server exited ${c}`)));
    });
    return { p, port };
}

// A server with one account holding `sessionCount` sessions shaped like the CLI's (encrypted metadata and
// agent state of realistic sizes, a data key), and one more session for the append runs.
async function account(port, sessions) {
    const login = await post(port, '/v1/auth', signedLogin());
    const token = login.json.token;
    for (let i = 0; i < sessions; i++) {
        const r = await request(port, 'POST', '/v1/sessions', token,
            { tag: crypto.randomUUID(), metadata: b64(600), agentState: b64(200), dataEncryptionKey: b64(61) });
        if (r.status !== 200) throw new Error(`session create: ${r.status}`);
    }
    return token;
}

async function startServer(extraEnv, listSizes = []) {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'happy-bench-sync-'));
    const port = await freePort();
    const p = startBin(bin, dataDir, port, { HAPPY_THREADS: String(threads), ...extraEnv });
    await waitReady(port, process.hrtime.bigint());
    const token = await account(port, 0);
    const s = await request(port, 'POST', '/v1/sessions', token, { tag: 'append', metadata: b64(600) });
    const lists = [];
    for (const n of listSizes) lists.push({ sessions: n, token: await account(port, n) });
    return { p, port, token, dataDir, appendSession: s.json.session.id, lists };
}

async function stopServer(srv) {
    await stop(srv.p);
    fs.rmSync(srv.dataDir, { recursive: true, force: true });
}

const getLua = (token) => `wrk.headers["Authorization"] = "Bearer ${token}"\nwrk.path = "/v1/sessions"\n`;

// Every request appends `batch` messages with fresh localIds (content: 200 bytes of base64, like a short
// encrypted chat message). The thread id keeps localIds unique across wrk threads. `targets` ([{token, sid}], given
// instead of one token and session) spreads the requests over those sessions in turn.
const appendLua = (token, sid, batch, targets = [{ token, sid }]) => `
local targets = {${targets.map((t) => `{"${t.token}", "${t.sid}"}`).join(', ')}}
local counter = 0
local threads = 0
-- setup() runs in the main Lua state and hands each thread its number as the global "tid".
function setup(thread) threads = threads + 1; thread:set("tid", threads) end
function init(args) prefix = "w" .. tid .. "-" .. tostring(os.time()) .. "-" end
local content = "${b64(150)}"
function request()
    local items = {}
    for i = 1, ${batch} do
        counter = counter + 1
        items[i] = '{"content":"' .. content .. '","localId":"' .. prefix .. counter .. '"}'
    end
    local target = targets[counter % #targets + 1]
    return wrk.format("POST", "/v3/sessions/" .. target[2] .. "/messages",
        {["Authorization"] = "Bearer " .. target[1], ["Content-Type"] = "application/json"},
        '{"messages":[' .. table.concat(items, ",") .. ']}')
end
`;

const results = { date: new Date().toISOString(), machine: `${os.cpus().length} cores, ${os.cpus()[0]?.model ?? ''}`,
    bin, threads, duration_s: duration, sessions: sessionCount };
// --source-commit SHA: --bin was built from that commit, not from this work tree (a before/after comparison).
if (args['source-commit']) {
    const sha = spawnSync('git', ['rev-parse', '--verify', `${args['source-commit']}^{commit}`], { cwd: root, encoding: 'utf8' });
    if (sha.status !== 0) throw new Error(`--source-commit ${args['source-commit']}: not a commit`);
    results.source = { commit: sha.stdout.trim(), dirty: false, bin_built_elsewhere: true };
}

// 1. GET /v1/sessions for accounts with 0, 5 and `sessionCount` sessions vs the raw Beast hello, interleaved per
// connection count so all see the same machine state.
if (part === 'all' || part === 'get') {
    const srv = await startServer({}, [0, 5, sessionCount]);
    const hello = await startHello();
    results.get_sessions = [];
    for (const l of srv.lists) {
        const sample = await request(srv.port, 'GET', '/v1/sessions', l.token);
        l.bytes = sample.bytes;
    }
    for (const c of connectionSets) {
        const h = wrk(`http://127.0.0.1:${hello.port}/`, c);
        const row = { connections: c, hello: h, lists: [] };
        for (const l of srv.lists) {
            const s = wrk(`http://127.0.0.1:${srv.port}`, c, getLua(l.token));
            row.lists.push({ sessions: l.sessions, response_bytes: l.bytes, ...s, ratio: Number((s.rps / h.rps).toFixed(3)) });
            console.log(`GET /v1/sessions (${l.sessions} sessions, ${l.bytes} B) c=${c}: ${s.rps.toFixed(0)} req/s` +
                ` p99 ${s.p99_ms} ms | hello ${h.rps.toFixed(0)} req/s p99 ${h.p99_ms} ms | ratio ${(s.rps / h.rps).toFixed(2)}`);
            await sleep(300);
        }
        results.get_sessions.push(row);
    }
    hello.p.kill('SIGTERM');
    results.rss_after_get_kb = rssKb(srv.p.pid);
    await stopServer(srv);
}

// 1b. The figure of issue 13: GET /v1/sessions (`sessionCount` sessions) at 50 connections against a Beast server
// answering the very same body (the bytes this server sent, with its content type): what producing the answer costs
// beyond moving it. The two alternate for --rounds rounds, so that both see the same machine state; the ratio is that
// of the median rates. `--part same` runs only this.
if (part === 'all' || part === 'get' || part === 'same') {
    const srv = await startServer({}, [sessionCount]);
    const list = srv.lists[0];
    const sample = await request(srv.port, 'GET', '/v1/sessions', list.token);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'happy-bench-body-'));
    const bodyFile = path.join(dir, 'body.json');
    fs.writeFileSync(bodyFile, sample.text);
    const same = await startHello(['--body-file', bodyFile, '--content-type', 'application/json; charset=utf-8']);
    const rounds = [];
    for (let i = 0; i < Number(args.rounds ?? 3); i++) {
        const h = wrk(`http://127.0.0.1:${same.port}/`, 50);
        await sleep(300);
        const s = wrk(`http://127.0.0.1:${srv.port}`, 50, getLua(list.token));
        await sleep(300);
        rounds.push({ hello_rps: h.rps, hello_p99_ms: h.p99_ms, rps: s.rps, p50_ms: s.p50_ms, p99_ms: s.p99_ms,
            non_2xx: s.non_2xx, errors: s.errors });
        console.log(`same bytes (${sample.bytes} B) round ${i + 1}: server ${s.rps.toFixed(0)} req/s p99 ${s.p99_ms} ms |` +
            ` hello ${h.rps.toFixed(0)} req/s p99 ${h.p99_ms} ms | ratio ${(s.rps / h.rps).toFixed(3)}`);
    }
    same.p.kill('SIGTERM');
    fs.rmSync(dir, { recursive: true, force: true });
    const m = (k) => median(rounds.map((r) => r[k]));
    results.same_bytes = { sessions: sessionCount, body_bytes: sample.bytes, connections: 50, rounds,
        hello_rps: m('hello_rps'), rps: m('rps'), p99_ms: m('p99_ms'), ratio: Number((m('rps') / m('hello_rps')).toFixed(3)) };
    console.log(`same bytes: median ${results.same_bytes.rps.toFixed(0)} req/s vs hello ${results.same_bytes.hello_rps.toFixed(0)}:` +
        ` ratio ${results.same_bytes.ratio}, p99 ${results.same_bytes.p99_ms} ms`);
    await stopServer(srv);
}

// 2. v3 append throughput. Committed messages are counted from the server afterwards (the session's last seq),
// not from wrk's request count, so nothing unacknowledged is credited.
results.append = [];
for (const sync of part === 'all' || part === 'append' ? ['normal', 'full'] : []) {
    for (const batch of [1, 10]) {
        const srv = await startServer({ HAPPY_CONFIG: writeSyncConfig(sync) });
        const r = wrk(`http://127.0.0.1:${srv.port}`, 50, appendLua(srv.token, srv.appendSession, batch));
        const last = await request(srv.port, 'GET', `/v3/sessions/${srv.appendSession}/messages?before_seq=1000000000&limit=1`, srv.token);
        const committed = last.json.messages[0]?.seq ?? 0;
        const row = { synchronous: sync, batch, connections: 50, committed_messages: committed,
            messages_per_s: Math.round(committed / duration), requests_per_s: r.rps, p50_ms: r.p50_ms, p99_ms: r.p99_ms,
            non_2xx: r.non_2xx };
        results.append.push(row);
        console.log(`append sync=${sync} batch=${batch}: ${row.messages_per_s} msg/s committed` +
            ` (${r.rps.toFixed(0)} req/s, p99 ${r.p99_ms} ms, non-2xx ${r.non_2xx})`);
        await stopServer(srv);
    }
}

// 3. The WAL under sustained writes, and crash recovery (--part wal).
if (part === 'wal') {
    const srv = await startServer({});
    const wal = path.join(srv.dataDir, 'happy.sqlite-wal');
    const walBytes = () => { try { return fs.statSync(wal).size; } catch { return 0; } };
    const { dir, argv } = wrkArgs(`http://127.0.0.1:${srv.port}`, 8, appendLua(srv.token, srv.appendSession, 10));
    const load = spawn('wrk', argv, { stdio: 'ignore' });
    const t0 = Date.now();
    let maxWal = 0;
    const samples = [];
    while (Date.now() - t0 < duration * 1000) {
        await sleep(200);
        const b = walBytes();
        maxWal = Math.max(maxWal, b);
        if (samples.length === 0 || Date.now() - samples[samples.length - 1].t >= 5000) samples.push({ t: Date.now(), s: (Date.now() - t0) / 1000, wal_bytes: b });
    }
    // Still under load: SIGKILL, then restart on the same data directory and time the first 200.
    const walAtKill = walBytes();
    srv.p.kill('SIGKILL');
    await new Promise((r) => srv.p.once('exit', r));
    load.kill('SIGTERM');
    fs.rmSync(dir, { recursive: true, force: true });
    const dbBytes = fs.statSync(path.join(srv.dataDir, 'happy.sqlite')).size;
    const t1 = process.hrtime.bigint();
    srv.p = startBin(bin, srv.dataDir, srv.port, { HAPPY_THREADS: String(threads) });
    const restartMs = await waitReady(srv.port, t1);
    const last = await request(srv.port, 'GET', `/v3/sessions/${srv.appendSession}/messages?before_seq=1000000000&limit=1`, srv.token);
    results.wal = { connections: 8, batch: 10, duration_s: duration, max_wal_bytes: maxWal, wal_bytes_at_kill: walAtKill,
        db_bytes: dbBytes, messages_committed: last.json.messages[0]?.seq ?? 0, restart_to_first_200_ms: Number(restartMs.toFixed(1)),
        samples: samples.map(({ s: at, wal_bytes }) => ({ at_s: Number(at.toFixed(1)), wal_bytes })) };
    console.log(`wal: max ${(maxWal / 1048576).toFixed(1)} MiB over ${duration} s, ${(walAtKill / 1048576).toFixed(1)} MiB at SIGKILL;` +
        ` database ${(dbBytes / 1048576).toFixed(1)} MiB, ${results.wal.messages_committed} messages;` +
        ` restart to first 200: ${restartMs.toFixed(1)} ms`);
    await stopServer(srv);
}

// 4. SQLite vs PostgreSQL (--part pg).
if (part === 'pg') {
    const script = path.join(root, 'scripts/pg_test_cluster.sh');
    // --durable: fsync and synchronous_commit on (PostgreSQL's defaults), so appends are durably committed as on
    // SQLite (synchronous=normal in WAL mode, fsync at checkpoints); without it the throwaway cluster runs fsync off.
    const durable = process.argv.includes('--durable');
    const started = spawnSync('bash', [script, 'start'], { encoding: 'utf8',
        env: { ...process.env, ...(durable ? { PG_TEST_DURABLE: '1' } : {}) } });
    if (started.status !== 0) throw new Error(`pg_test_cluster.sh start: ${started.stderr}`);
    const value = (key) => (started.stdout.match(new RegExp(`^${key}=(.*)$`, 'm')) || [])[1];
    const admin = value('HAPPY_TEST_DATABASE_URL');
    const database = (name) => {
        const r = spawnSync('psql', ['-X', '-q', '-d', admin, '-c', `CREATE DATABASE ${name}`], { encoding: 'utf8' });
        if (r.status !== 0) throw new Error(r.stderr);
        const u = new URL(admin);
        u.pathname = `/${name}`;
        return u.toString();
    };
    try {
        const pgbenchUrl = database('pgbench');
        spawnSync('pgbench', ['-i', '-q', '-s', '1', pgbenchUrl], { encoding: 'utf8' });
        const pb = spawnSync('pgbench', ['-S', '-n', '-c', '50', '-j', String(threads), '-T', String(duration), pgbenchUrl],
            { encoding: 'utf8' });
        const tps = Number((pb.stdout.match(/tps = ([\d.]+)/) || [])[1]);
        results.pg = { durable, pgbench_select_tps: tps, backends: [] };
        console.log(`pgbench -S, 50 clients: ${tps.toFixed(0)} tps`);
        if (durable) results.pg.anchors = durableAnchors(pgbenchUrl, value('HAPPY_TEST_PG_DIR'));
        const hello = await startHello();
        results.pg.hello = wrk(`http://127.0.0.1:${hello.port}/`, 50);
        hello.p.kill('SIGTERM');
        for (const backend of (args.backends ?? 'sqlite,postgres').split(',')) {
            const env = backend === 'postgres' ? { DATABASE_URL: database(`happy_${backend}`) } : {};
            if (backend === 'postgres' && args['pool-size']) env.HAPPY_CONFIG = writeConfig({ storage: { postgres: { pool_size: Number(args['pool-size']) } } });
            const srv = await startServer(env, [sessionCount]);
            const list = srv.lists[0];
            const get = wrk(`http://127.0.0.1:${srv.port}`, 50, getLua(list.token));
            // --append-sessions N: the appends go to N sessions of N accounts in turn (each append also takes its
            // account's next seq, so sessions of one account would still wait for each other) instead of one.
            const targets = [{ token: srv.token, sid: srv.appendSession }];
            for (let i = 1; i < appendSessions; i++) {
                const token = await account(srv.port, 0);
                const s = await request(srv.port, 'POST', '/v1/sessions', token, { tag: 'append', metadata: b64(600) });
                targets.push({ token, sid: s.json.session.id });
            }
            const app = wrk(`http://127.0.0.1:${srv.port}`, 50, appendLua(null, null, 1, targets));
            let committed = 0;
            for (const t of targets) {
                const last = await request(srv.port, 'GET', `/v3/sessions/${t.sid}/messages?before_seq=1000000000&limit=1`, t.token);
                committed += last.json.messages[0]?.seq ?? 0;
            }
            const row = { backend, get_sessions: { sessions: sessionCount, ...get }, append: { batch: 1, connections: 50,
                sessions: appendSessions, committed_messages: committed, messages_per_s: Math.round(committed / duration),
                p99_ms: app.p99_ms, non_2xx: app.non_2xx } };
            results.pg.backends.push(row);
            console.log(`${backend}: GET /v1/sessions (${sessionCount}) ${get.rps.toFixed(0)} req/s p99 ${get.p99_ms} ms;` +
                ` append ${row.append.messages_per_s} msg/s committed, p99 ${app.p99_ms} ms, non-2xx ${app.non_2xx}`);
            await stopServer(srv);
        }
    } finally {
        spawnSync('bash', [script, 'stop', value('HAPPY_TEST_PG_DIR')]);
    }
}

// What the disk and PostgreSQL allow for durable writes, measured on the same cluster and disk as the appends:
// pg_test_fsync's one 8 kB write + fdatasync per operation (PostgreSQL's default wal_sync_method on Linux), and pgbench
// at the benchmark's 50 clients running one-row INSERT transactions (independent rows: PostgreSQL's commits can share
// a WAL flush) and transactions shaped like one append to one session (the same row updated, then a row inserted:
// each waits for the commit of the one before).
function durableAnchors(url, dir) {
    const out = {};
    const fsyncBin = path.join(process.env.PG_BIN ?? '/usr/lib/postgresql/15/bin', 'pg_test_fsync');
    const ft = spawnSync(fsyncBin, ['-s', '2', '-f', path.join(dir, 'fsync_test')], { encoding: 'utf8' });
    const fdatasync = (ft.stdout ?? '').match(/^\s*fdatasync\s+([\d.]+) ops\/sec/m);
    out.fdatasync_8k_ops_per_s = fdatasync ? Number(fdatasync[1]) : null;
    const content = 'x'.repeat(200);
    const psql = (sql) => {
        const r = spawnSync('psql', ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', url, '-c', sql], { encoding: 'utf8' });
        if (r.status !== 0) throw new Error(r.stderr);
    };
    psql('CREATE TABLE anchor_msg (id BIGSERIAL PRIMARY KEY, c TEXT NOT NULL);' +
        'CREATE TABLE anchor_seq (id INT PRIMARY KEY, seq BIGINT NOT NULL); INSERT INTO anchor_seq VALUES (1, 0);');
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'happy-pgbench-'));
    const pgbench = (name, sql) => {
        const f = path.join(tmp, `${name}.sql`);
        fs.writeFileSync(f, sql);
        const r = spawnSync('pgbench', ['-n', '-c', '50', '-j', String(threads), '-T', String(duration), '-f', f, url],
            { encoding: 'utf8' });
        return Number(((r.stdout ?? '').match(/tps = ([\d.]+)/) || [])[1]);
    };
    out.pgbench_insert_tps = pgbench('insert', `INSERT INTO anchor_msg (c) VALUES ('${content}');\n`);
    out.pgbench_same_row_tps = pgbench('same_row', `BEGIN;\nUPDATE anchor_seq SET seq = seq + 1 WHERE id = 1;\n` +
        `INSERT INTO anchor_msg (c) VALUES ('${content}');\nEND;\n`);
    fs.rmSync(tmp, { recursive: true, force: true });
    console.log(`anchors: fdatasync (8 kB) ${out.fdatasync_8k_ops_per_s} ops/s; pgbench 50 clients, one-row INSERT ` +
        `${out.pgbench_insert_tps?.toFixed(0)} tps, same row UPDATE + INSERT ${out.pgbench_same_row_tps?.toFixed(0)} tps`);
    return out;
}

function writeConfig(config) {
    const f = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'happy-bench-cfg-')), 'config.json');
    fs.writeFileSync(f, JSON.stringify(config));
    return f;
}

function writeSyncConfig(sync) {
    return writeConfig({ storage: { sqlite: { synchronous: sync } } });
}

writeResult(args.out ?? 'sync', results);
