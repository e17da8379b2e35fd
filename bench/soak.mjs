#!/usr/bin/env node
// Soak (issue 13): the server under a realistic mix for a long time, watched for creeping resource use.
//
// Per user (account): a daemon (machine-scoped socket: machine-alive every 20 s, answers RPCs), CLI sessions
// (session-scoped sockets: session-alive every 2 s, messages every few seconds, half over the socket, half through
// POST /v3/sessions/:id/messages, a `ping` flush now and then), and an app (user-scoped socket receiving the
// updates, calling the daemon's RPC, reading sessions, machines and messages over REST). All along, random sockets
// drop and reconnect, and sessions end (some deleted) while new ones start.
//
// Sampled every --interval seconds: RSS (and its anonymous and file-backed parts, heap in use and SQLite memory from the
// metrics port), open file descriptors, threads, WAL and database size, and the latencies
// of the interval (message → update at the app, RPC round trip, REST). After the warm-up, the criteria are:
//   - RSS growth ≤ 2 % (median of the last window against the median of the first window after warm-up; not
//     judged under ASan, whose quarantine holds freed memory on purpose),
//   - no descriptor growth (minimum of the last window ≤ minimum of the first: the minimum ignores the sockets
//     that are reconnecting at the moment of a sample),
//   - no failed operation, and with --asan no sanitizer report (LeakSanitizer runs at the server's exit) and exit 0.
//
//   node bench/soak.mjs [--bin build/release/happy-server] [--duration 3600] [--users 10] [--sessions 3]
//                       [--warmup S] [--interval S] [--out soak|none] [--asan] [--check]
// --check exits 1 when a criterion fails (CI). --out none writes no results file. --asan: the binary is a sanitizer
// build (scripts/build.sh asan).
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { freePort, parseArgs, pct, root, rssKb, signedLogin, sleep, sourceRevision, waitReady, writeResult }
    from './lib.mjs';

// The socket.io-client the integration tests use (npm ci --prefix tests).
const { io } = createRequire(path.join(root, 'tests', 'package.json'))('socket.io-client');

const args = parseArgs(process.argv.slice(2));
const flag = (name) => process.argv.includes(`--${name}`);
const bin = path.resolve(root, args.bin ?? 'build/release/happy-server');
const duration = Number(args.duration ?? 3600);
const users = Number(args.users ?? 10);
const sessionsPerUser = Number(args.sessions ?? 3);
const warmup = Number(args.warmup ?? Math.min(300, Math.max(30, duration * 0.1)));
const interval = Number(args.interval ?? Math.min(10, Math.max(1, duration / 360)));
const outName = args.out ?? 'soak';
const asan = flag('asan');
const check = flag('check');
// Cadences, in seconds (the real clients': session-alive 2 s, machine-alive 20 s).
const every = {
    sessionAlive: 2, machineAlive: 20, message: 5, rpc: 5, rest: 10, ping: 30,
    reconnect: Number(args['reconnect-every'] ?? 5), churn: Number(args['churn-every'] ?? 30),
};

const source = sourceRevision();  // now: the work tree may move on during an hour
const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'happy-soak-'));
const port = await freePort();
const metricsPort = await freePort();
const t0 = Date.now();
const elapsed = () => (Date.now() - t0) / 1000;
const b64 = (s) => Buffer.from(s).toString('base64');

// --- server ----------------------------------------------------------------------------------------------------
const serverStderr = [];
const server = spawn(bin, [], {
    env: {
        ...process.env, PORT: String(port), HOST: '127.0.0.1', DATA_DIR: dataDir, HANDY_MASTER_SECRET: '',
        HAPPY_LOG_LEVEL: 'warn', HAPPY_LOG_FORMAT: 'json',
        // The metrics port: heap in use and SQLite's own memory tell a leak from caches filling (RSS cannot).
        METRICS_ENABLED: '1', METRICS_PORT: String(metricsPort),
        // LeakSanitizer at exit; UBSan with stacks. The server's own settings are the defaults.
        ASAN_OPTIONS: 'detect_leaks=1', UBSAN_OPTIONS: 'print_stacktrace=1',
    },
    stdio: ['ignore', 'ignore', 'pipe'],
});
server.stderr.setEncoding('utf8');
server.stderr.on('data', (d) => { serverStderr.push(d); process.stderr.write(d); });
const serverExit = new Promise((resolve) => server.once('exit', (code, signal) => resolve({ code, signal })));
await waitReady(port, process.hrtime.bigint(), asan ? 60000 : 10000);

// --- HTTP ------------------------------------------------------------------------------------------------------
const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });
function api(method, p, token, body) {
    return new Promise((resolve) => {
        const data = body === undefined ? undefined : JSON.stringify(body);
        const headers = {};
        if (token) headers.authorization = `Bearer ${token}`;
        if (data !== undefined) { headers['content-type'] = 'application/json'; headers['content-length'] = Buffer.byteLength(data); }
        const start = performance.now();
        const r = http.request({ host: '127.0.0.1', port, path: p, method, agent, headers }, (res) => {
            let text = '';
            res.setEncoding('utf8');
            res.on('data', (c) => { text += c; });
            res.on('end', () => {
                let json = null;
                try { json = JSON.parse(text); } catch { /* not JSON */ }
                resolve({ status: res.statusCode, json, ms: performance.now() - start });
            });
        });
        r.on('error', (e) => resolve({ status: 0, json: null, ms: performance.now() - start, error: e.message }));
        r.end(data);
    });
}

// --- statistics ------------------------------------------------------------------------------------------------
const counts = {
    messages_socket: 0, messages_http: 0, updates_received: 0, session_alive: 0, machine_alive: 0, rpc_calls: 0,
    rest_calls: 0, pings: 0, reconnects: 0, sessions_started: 0, sessions_ended: 0, sessions_deleted: 0,
};
const errors = [];
const fail = (what) => {
    if (errors.length < 50) errors.push({ t: Math.round(elapsed()), what });
    counts.errors = (counts.errors ?? 0) + 1;
    console.error(`soak: error at ${Math.round(elapsed())} s: ${what}`);
};
let window = { message: [], rpc: [], rest: [] };  // latencies (ms) since the last sample
const all = { message: [], rpc: [], rest: [] };  // after warm-up
const record = (kind, ms) => {
    window[kind].push(ms);
    if (elapsed() >= warmup) all[kind].push(ms);
};
let stopping = false;

// --- clients ---------------------------------------------------------------------------------------------------
const timers = new Set();
/** Runs fn every `seconds` (first after a random part of it, to spread the clients); returns a cancel function. */
const repeat = (seconds, fn) => {
    let t = setTimeout(() => {
        timers.delete(t);
        if (stopping) return;
        fn();
        t = setInterval(() => { if (!stopping) fn(); }, seconds * 1000);
        timers.add(t);
    }, Math.random() * seconds * 1000);
    timers.add(t);
    return () => { clearTimeout(t); clearInterval(t); timers.delete(t); };
};
const sockets = new Set();
function connect(auth) {
    const s = io(`http://127.0.0.1:${port}`, {
        path: '/v1/updates', transports: ['websocket'], auth, forceNew: true,
        reconnection: true, reconnectionDelay: 200, reconnectionDelayMax: 2000, timeout: 20000,
    });
    s.on('connect_error', (e) => { if (!stopping) fail(`connect_error ${auth.clientType}: ${e.message}`); });
    // Disconnects so far: a call whose socket dropped meanwhile lost its answer with the connection (the client
    // does not resend), which is the reconnect the soak causes on purpose, not a failure.
    s.drops = 0;
    s.on('disconnect', () => { s.drops++; });
    sockets.add(s);
    return s;
}

let seq = 0;
class Session {
    constructor(user) { this.user = user; this.tag = `soak-${user.n}-${++seq}`; }
    async start() {
        const r = await api('POST', '/v1/sessions', this.user.token, { tag: this.tag, metadata: b64(`{"path":"/soak/${this.tag}"}`) });
        if (r.status !== 200) { fail(`POST /v1/sessions ${r.status}`); return false; }
        this.id = r.json.session.id;
        this.socket = connect({ token: this.user.token, clientType: 'session-scoped', sessionId: this.id });
        this.socket.on('connect', () => {
            this.socket.emit('rpc-register', { method: `${this.id}:permission` });
            this.alive();
        });
        this.socket.on('rpc-request', (data, ack) => ack(`ok:${data.params}`));
        this.cancel = [
            repeat(every.sessionAlive, () => this.alive()),
            repeat(every.message, () => this.message()),
            repeat(every.ping, () => this.ping()),
        ];
        counts.sessions_started++;
        return true;
    }
    alive() {
        if (!this.socket.connected) return;
        this.socket.volatile.emit('session-alive', { sid: this.id, time: Date.now(), thinking: false, mode: 'remote' });
        counts.session_alive++;
    }
    async message() {
        if (!this.socket?.connected) return;
        const localId = `l${++seq}`;
        const content = b64(JSON.stringify({ sent: Date.now(), pad: 'x'.repeat(200 + (seq % 400)) }));
        if (seq % 2 === 0) {
            this.socket.emit('message', { sid: this.id, message: content, localId });
            counts.messages_socket++;
        } else {
            const r = await api('POST', `/v3/sessions/${this.id}/messages`, this.user.token, { messages: [{ content, localId }] });
            record('rest', r.ms);
            counts.messages_http++;
            if (r.status !== 200 && !this.ended) fail(`POST /v3/sessions/:id/messages ${r.status}`);
        }
    }
    async ping() {
        if (!this.socket?.connected) return;
        const drops = this.socket.drops;
        try {
            await this.socket.timeout(10000).emitWithAck('ping');
            counts.pings++;
        } catch (e) {
            if (this.socket.drops === drops && !this.ended && !stopping) fail(`ping: ${e.message}`);
            else counts.interrupted = (counts.interrupted ?? 0) + 1;
        }
    }
    end(deleteIt) {
        this.ended = true;
        for (const c of this.cancel) c();
        if (this.socket.connected) this.socket.emit('session-end', { sid: this.id, time: Date.now() });
        counts.sessions_ended++;
        setTimeout(async () => {
            this.socket.close();
            sockets.delete(this.socket);
            if (deleteIt) {
                const r = await api('DELETE', `/v1/sessions/${this.id}`, this.user.token);
                if (r.status !== 200) fail(`DELETE /v1/sessions/:id ${r.status}`);
                counts.sessions_deleted++;
            }
        }, 500);
    }
}

class User {
    constructor(n) { this.n = n; this.sessions = []; this.afterSeq = new Map(); }
    async start() {
        const login = await api('POST', '/v1/auth', null, signedLogin());
        if (login.status !== 200) throw new Error(`POST /v1/auth ${login.status}`);
        this.token = login.json.token;
        this.machineId = `soak-machine-${this.n}`;
        const m = await api('POST', '/v1/machines', this.token, { id: this.machineId, metadata: b64('{"host":"soak"}') });
        if (m.status !== 200) throw new Error(`POST /v1/machines ${m.status}`);
        this.daemon = connect({ token: this.token, clientType: 'machine-scoped', machineId: this.machineId });
        this.daemon.on('connect', () => {
            this.daemon.connectedAt = Date.now();
            this.daemon.emit('rpc-register', { method: `${this.machineId}:bash` });
            this.machineAlive();
        });
        this.daemon.on('rpc-request', (data, ack) => ack(`result:${data.params}`));
        this.app = connect({ token: this.token, clientType: 'user-scoped' });
        this.app.on('connect', () => this.app.emit('app-state', { state: 'active' }));
        this.app.on('update', (u) => {
            if (u?.body?.t !== 'new-message') return;
            counts.updates_received++;
            try {
                const { sent } = JSON.parse(Buffer.from(u.body.message.content.c, 'base64').toString());
                record('message', Date.now() - sent);
            } catch { fail('update with an unreadable message'); }
        });
        for (let i = 0; i < sessionsPerUser; i++) await this.startSession();
        repeat(every.machineAlive, () => this.machineAlive());
        repeat(every.rpc, () => this.rpc());
        repeat(every.rest, () => this.rest());
    }
    async startSession() {
        const s = new Session(this);
        if (await s.start()) this.sessions.push(s);
    }
    machineAlive() {
        if (!this.daemon.connected) return;
        this.daemon.emit('machine-alive', { machineId: this.machineId, time: Date.now() });
        counts.machine_alive++;
    }
    async rpc() {
        // rpc-register has no ack (upstream): a daemon that reconnected less than a second ago may not be registered
        // yet, and a call then gets "RPC method not available" by design. Such a daemon is not called.
        if (!this.app.connected || !this.daemon.connected || Date.now() - (this.daemon.connectedAt ?? 0) < 1000) return;
        const start = performance.now();
        const drops = [this.app.drops, this.daemon.drops];
        try {
            const r = await this.app.timeout(60000).emitWithAck('rpc-call', { method: `${this.machineId}:bash`, params: 'echo' });
            counts.rpc_calls++;
            if (r?.ok === true && r.result === 'result:echo') record('rpc', performance.now() - start);
            // The daemon dropped while it held the request: upstream's answer for that, not a failure of the server.
            else if (this.daemon.drops !== drops[1] && ['RPC target disconnected', 'RPC method not available'].includes(r?.error)) {
                counts.interrupted = (counts.interrupted ?? 0) + 1;
            }
            else fail(`rpc-call: ${JSON.stringify(r)}`);
        } catch (e) {
            if (this.app.drops === drops[0] && !stopping) fail(`rpc-call: ${e.message}`);
            else counts.interrupted = (counts.interrupted ?? 0) + 1;
        }
    }
    async rest() {
        const list = await api('GET', '/v1/sessions', this.token);
        record('rest', list.ms);
        if (list.status !== 200) fail(`GET /v1/sessions ${list.status}`);
        const machines = await api('GET', '/v1/machines', this.token);
        record('rest', machines.ms);
        if (machines.status !== 200) fail(`GET /v1/machines ${machines.status}`);
        const live = this.sessions.filter((s) => !s.ended);
        if (live.length === 0) return;
        const s = live[Math.floor(Math.random() * live.length)];
        const after = this.afterSeq.get(s.id) ?? 0;
        const msgs = await api('GET', `/v3/sessions/${s.id}/messages?after_seq=${after}&limit=100`, this.token);
        record('rest', msgs.ms);
        if (msgs.status !== 200) { if (!s.ended) fail(`GET /v3/sessions/:id/messages ${msgs.status}`); return; }
        const last = msgs.json.messages.at(-1);
        if (last) this.afterSeq.set(s.id, last.seq);
        counts.rest_calls += 3;
    }
    churn() {
        const live = this.sessions.filter((s) => !s.ended);
        if (live.length > 0) live[0].end(counts.sessions_ended % 2 === 0);
        this.sessions = this.sessions.filter((s) => !s.ended);
        this.startSession();
    }
}

const people = [];
for (let i = 0; i < users; i++) {
    const u = new User(i);
    await u.start();
    people.push(u);
}
const allSockets = () => [...sockets].filter((s) => s.connected);
// A dropped connection (as a network blip): the client notices and reconnects by itself.
repeat(every.reconnect, () => {
    const live = allSockets();
    if (live.length === 0) return;
    const s = live[Math.floor(Math.random() * live.length)];
    s.io.engine.close();
    counts.reconnects++;
});
repeat(every.churn, () => people[Math.floor(Math.random() * people.length)].churn());

// --- sampling --------------------------------------------------------------------------------------------------
const walFile = path.join(dataDir, 'happy.sqlite-wal');
const dbFile = path.join(dataDir, 'happy.sqlite');
const size = (f) => { try { return fs.statSync(f).size; } catch { return 0; } };
const threads = (pid) => Number(/^Threads:\s+(\d+)/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
const round = (x, n = 2) => (x === undefined ? null : Math.round(x * 10 ** n) / 10 ** n);
const samples = [];
// What the descriptors are, by kind (sockets, pipes, eventfds, files by name): kept at the end of the warm-up and at
// the end, so that a growth says what grew.
function fdKinds(pid) {
    const kinds = {};
    for (const fd of fs.readdirSync(`/proc/${pid}/fd`)) {
        let target;
        try { target = fs.readlinkSync(`/proc/${pid}/fd/${fd}`); } catch { continue; }
        const kind = /^(socket|pipe|anon_inode):/.test(target) ? target.replace(/:\[?\d+\]?$/, '') : path.basename(target);
        kinds[kind] = (kinds[kind] ?? 0) + 1;
    }
    return kinds;
}
let fdsAfterWarmup = null;
const agentSockets = () => [agent.sockets, agent.freeSockets]
    .reduce((n, pool) => n + Object.values(pool).reduce((m, list) => m + list.length, 0), 0);
// The gauges of GET /metrics, in KiB (null when the scrape fails).
async function gauges() {
    try {
        const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
        const read = (name) => {
            const m = new RegExp(`^${name}\\{[^}]*\\} (\\S+)$`, 'm').exec(text);
            return m ? Math.round(Number(m[1]) / 1024) : null;
        };
        return { heap_kb: read('process_heap_in_use_bytes'), sqlite_kb: read('storage_memory_bytes') };
    } catch {
        return { heap_kb: null, sqlite_kb: null };
    }
}
console.error(`soak: ${users} users × (daemon + app + ${sessionsPerUser} sessions), ${duration} s, warm-up ${warmup} s, ` +
    `sample every ${interval} s, server pid ${server.pid}${asan ? ' (sanitizer build)' : ''}`);
while (elapsed() < duration) {
    await sleep(interval * 1000);
    const w = window;
    window = { message: [], rpc: [], rest: [] };
    const sample = {
        t_s: Math.round(elapsed()),
        ...(({ rss, anon, file }) => ({ rss_kb: rss, rss_anon_kb: anon, rss_file_kb: file }))(rssKb(server.pid)),
        ...(await gauges()),
        fds: fs.readdirSync(`/proc/${server.pid}/fd`).length,
        threads: threads(server.pid),
        wal_bytes: size(walFile),
        db_bytes: size(dbFile),
        sockets_connected: allSockets().length,
        // Connections the load holds open to the server right now (socket.io plus the REST agent's keep-alive
        // pool): they come and go with churn and reconnects, so descriptors are judged net of them.
        client_connections: allSockets().length + agentSockets(),
        message_p50_ms: round(pct(w.message, 0.5)), message_p99_ms: round(pct(w.message, 0.99)),
        rpc_p50_ms: round(pct(w.rpc, 0.5)), rpc_p99_ms: round(pct(w.rpc, 0.99)),
        rest_p50_ms: round(pct(w.rest, 0.5)), rest_p99_ms: round(pct(w.rest, 0.99)),
        errors: counts.errors ?? 0,
    };
    samples.push(sample);
    if (!fdsAfterWarmup && elapsed() >= warmup) fdsAfterWarmup = fdKinds(server.pid);
    if (samples.length % Math.max(1, Math.round(60 / interval)) === 0 || elapsed() >= duration) {
        console.error(`soak: ${JSON.stringify(sample)}`);
    }
}

// --- stop and judge --------------------------------------------------------------------------------------------
const fdsAtEnd = fdKinds(server.pid);
stopping = true;
for (const t of timers) { clearTimeout(t); clearInterval(t); }
await sleep(1000);
for (const s of sockets) s.close();
agent.destroy();
await sleep(500);
server.kill('SIGTERM');
const exit = await Promise.race([serverExit, sleep(asan ? 60000 : 15000).then(() => null)]);
if (!exit) server.kill('SIGKILL');
fs.rmSync(dataDir, { recursive: true, force: true });

const after = samples.filter((s) => s.t_s >= warmup);
const win = Math.max(3, Math.ceil(after.length * 0.1));
const first = after.slice(0, win);
const last = after.slice(-win);
const med = (xs) => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)]; };
const rssFirst = med(first.map((s) => s.rss_kb));
const rssLast = med(last.map((s) => s.rss_kb));
const fdFirst = Math.min(...first.map((s) => s.fds));
const fdLast = Math.min(...last.map((s) => s.fds));
// Descriptors beyond the connections the load holds: a leak grows this, a reconnect in flight does not. The median
// of each window: a connection one side counts a moment before the other (a socket still connecting, a close not
// yet seen) moves single samples either way.
const fdNetFirst = med(first.map((s) => s.fds - s.client_connections));
const fdNetLast = med(last.map((s) => s.fds - s.client_connections));
const stderrText = serverStderr.join('');
const sanitizer = /ERROR: (Address|Leak)Sanitizer|runtime error: |SUMMARY: \w+Sanitizer/.exec(stderrText);
const pctOf = (xs) => ({ p50: round(pct(xs, 0.5)), p90: round(pct(xs, 0.9)), p99: round(pct(xs, 0.99)), max: round(Math.max(...xs)), n: xs.length });
const summary = {
    rss_kb_after_warmup: rssFirst,
    rss_kb_at_end: rssLast,
    rss_growth_pct: round((rssLast - rssFirst) / rssFirst * 100),
    rss_peak_kb: Math.max(...samples.map((s) => s.rss_kb)),
    // Where a growth went: malloc'd and not freed (a leak grows this), and SQLite's page caches and statements
    // (bounded by cache_size per connection) within it.
    // RSS in two parts: anonymous memory (heap, stacks: what a leak grows) and pages of mapped files (the
    // executable's and libraries' code faulted in as code paths first run; clean, shared, reclaimable).
    rss_anon_kb_after_warmup: med(first.map((s) => s.rss_anon_kb)),
    rss_anon_kb_at_end: med(last.map((s) => s.rss_anon_kb)),
    rss_file_kb_after_warmup: med(first.map((s) => s.rss_file_kb)),
    rss_file_kb_at_end: med(last.map((s) => s.rss_file_kb)),
    heap_kb_after_warmup: med(first.map((s) => s.heap_kb)),
    heap_kb_at_end: med(last.map((s) => s.heap_kb)),
    sqlite_kb_after_warmup: med(first.map((s) => s.sqlite_kb)),
    sqlite_kb_at_end: med(last.map((s) => s.sqlite_kb)),
    fds_after_warmup: fdFirst,
    fds_at_end: fdLast,
    fd_growth: fdLast - fdFirst,
    fd_net_of_connections_after_warmup: fdNetFirst,
    fd_net_of_connections_at_end: fdNetLast,
    fd_net_growth: fdNetLast - fdNetFirst,
    fd_kinds_after_warmup: fdsAfterWarmup,
    fd_kinds_at_end: fdsAtEnd,
    wal_max_bytes: Math.max(...samples.map((s) => s.wal_bytes)),
    db_bytes_at_end: samples.at(-1)?.db_bytes,
    threads_max: Math.max(...samples.map((s) => s.threads)),
    latency_ms: { message_to_update: pctOf(all.message), rpc_round_trip: pctOf(all.rpc), rest: pctOf(all.rest) },
    errors: counts.errors ?? 0,
    server_exit: exit,
    sanitizer_report: sanitizer ? stderrText.slice(sanitizer.index, sanitizer.index + 4000) : null,
};
const criteria = {
    rss_growth_le_2pct: asan ? 'not judged (sanitizer build)' : summary.rss_growth_pct <= 2,
    no_fd_growth: summary.fd_net_growth <= 0,
    no_errors: summary.errors === 0,
    clean_exit: exit?.code === 0,
    no_sanitizer_report: !sanitizer,
};
const pass = Object.values(criteria).every((v) => v === true || typeof v === 'string');
const results = {
    date: new Date().toISOString(),
    machine: `${os.cpus().length} cores, ${os.cpus()[0]?.model ?? ''}`,
    bin: path.relative(root, bin),
    sanitizer_build: asan,
    duration_s: duration, warmup_s: warmup, interval_s: interval,
    mix: { users, sessions_per_user: sessionsPerUser, cadence_s: every },
    counts, summary, criteria, pass, errors, samples, source,
};
console.error(`soak: ${JSON.stringify({ summary: { ...summary, sanitizer_report: undefined }, criteria, pass, counts })}`);
if (sanitizer) console.error(`soak: sanitizer report:\n${summary.sanitizer_report}`);
if (outName !== 'none') writeResult(outName, results);
process.exit(check && !pass ? 1 : 0);
