// Shared helpers of the macro benchmarks: start/stop the server, wait for readiness, sample RSS, log in.
import { spawn, spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

export const root = path.resolve(import.meta.dirname, '..');

export function parseArgs(argv) {
    const out = {};
    for (let i = 0; i < argv.length; i++) {
        if (argv[i].startsWith('--')) out[argv[i].slice(2)] = argv[i + 1];
    }
    return out;
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
export const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)]; };
export const pct = (xs, p) => { const s = [...xs].sort((a, b) => a - b); return s[Math.min(s.length - 1, Math.floor(s.length * p))]; };

export function freePort() {
    return new Promise((resolve) => {
        const srv = net.createServer();
        srv.listen(0, '127.0.0.1', () => { const { port } = srv.address(); srv.close(() => resolve(port)); });
    });
}

export function get(port, p) {
    return new Promise((resolve) => {
        const req = http.get({ host: '127.0.0.1', port, path: p, agent: false }, (res) => {
            res.resume();
            res.on('end', () => resolve(res.statusCode));
        });
        req.on('error', () => resolve(0));
    });
}

export function post(port, p, body, headers = {}) {
    return new Promise((resolve, reject) => {
        const data = JSON.stringify(body);
        const req = http.request({ host: '127.0.0.1', port, path: p, method: 'POST', agent: false,
            headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data), ...headers } }, (res) => {
            let text = '';
            res.on('data', (c) => { text += c; });
            res.on('end', () => resolve({ status: res.statusCode, json: JSON.parse(text) }));
        });
        req.on('error', reject);
        req.end(data);
    });
}

/**
 * Writes a config file (for HAPPY_CONFIG) into `dir` that lifts limits.max_sockets_per_account: the load tool holds
 * its thousands of idle connections in one account, which no real account does. Returns its path.
 */
export function manySocketsConfig(dir) {
    const file = path.join(dir, 'bench-config.json');
    fs.writeFileSync(file, JSON.stringify({ limits: { max_sockets_per_account: 0 } }));
    return file;
}

/** Starts the server; `prefix` runs it through another command, e.g. ['prlimit', '--nofile=1024:20000', '--']. */
export function start(bin, dataDir, port, extraEnv = {}, prefix = []) {
    const [command, ...args] = [...prefix, bin];
    return spawn(command, args, {
        env: { ...process.env, PORT: String(port), HOST: '127.0.0.1', DATA_DIR: dataDir, HANDY_MASTER_SECRET: '', ...extraEnv },
        stdio: ['ignore', 'ignore', 'inherit'],
    });
}

export async function waitReady(port, t0, limitMs = 10000) {
    for (;;) {
        if (await get(port, '/') === 200) return Number(process.hrtime.bigint() - t0) / 1e6;
        if (Number(process.hrtime.bigint() - t0) / 1e6 > limitMs) throw new Error('server did not become ready');
    }
}

export function stop(proc) {
    return new Promise((resolve) => {
        const t0 = process.hrtime.bigint();
        proc.once('exit', (code, signal) => resolve({ ms: Number(process.hrtime.bigint() - t0) / 1e6, code, signal }));
        proc.kill('SIGTERM');
    });
}

export function rssKb(pid) {
    const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    const field = (k) => Number((status.match(new RegExp(`${k}:\\s+(\\d+)`)) ?? [0, 0])[1]);
    return { rss: field('VmRSS'), hwm: field('VmHWM'), anon: field('RssAnon'), file: field('RssFile') };
}

export function signedLogin() {
    const { publicKey, privateKey } = crypto.generateKeyPairSync('ed25519');
    const raw = publicKey.export({ format: 'der', type: 'spki' }).subarray(-32);
    const challenge = crypto.randomBytes(32);
    const signature = crypto.sign(null, challenge, privateKey);
    return { publicKey: raw.toString('base64'), challenge: challenge.toString('base64'), signature: signature.toString('base64') };
}

/** The source the measured binary was built from: the commit, and whether the work tree differed from it. */
export function sourceRevision() {
    const git = (...a) => spawnSync('git', a, { cwd: root, encoding: 'utf8' });
    const head = git('rev-parse', 'HEAD');
    if (head.status !== 0) return null;
    const dirty = git('status', '--porcelain', '--untracked-files=no', '--', 'core', 'modules', 'plugins', 'schemas',
        'CMakeLists.txt').stdout.trim() !== '';
    return { commit: head.stdout.trim(), dirty };
}

/** Open-file limits of a running process, from /proc/<pid>/limits. */
export function openFileLimits(pid) {
    const m = /^Max open files\s+(\S+)\s+(\S+)/m.exec(fs.readFileSync(`/proc/${pid}/limits`, 'utf8'));
    const num = (v) => (v === 'unlimited' ? v : Number(v));
    return m ? { soft: num(m[1]), hard: num(m[2]) } : null;
}

export function writeResult(name, results) {
    const outDir = path.join(root, 'bench', 'results');
    fs.mkdirSync(outDir, { recursive: true });
    // The load average over the last 1, 5 and 15 minutes when the run ended: on a shared machine, other work skews
    // every figure (the machine has os.cpus().length cores).
    // A long run records the revision it started from (`results.source`): the work tree may move on meanwhile.
    const out = { ...results, source: results.source ?? sourceRevision(),
        load_average_at_end: os.loadavg().map((x) => Math.round(x * 100) / 100) };
    fs.writeFileSync(path.join(outDir, `${name}.json`), JSON.stringify(out, null, 2) + '\n');
}
