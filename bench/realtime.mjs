#!/usr/bin/env node
// Realtime benchmarks (issue "Realtime"): server RSS while holding N idle authenticated WebSocket Socket.IO
// connections (another account), connect rate, RPC round-trip latency (two hops) and `message` → `update`
// fan-out latency from one socket to another at a sustained rate.
// Reports numbers; asserts nothing.
//
//   node bench/realtime.mjs [--bin build/release/happy-server] [--load build/release/bench/happy_realtime_load]
//                           [--counts 1000,10000] [--rate 1000] [--seconds 10] [--out realtime]
//                           [--nofile-soft 1024]
// --nofile-soft starts the server with that soft open-file limit (the hard one unchanged, via prlimit), as systemd
// does (1024): the server must raise it itself to hold the connections. Each run records the limits the server
// started with and ran with.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort, manySocketsConfig, openFileLimits, post, root, rssKb, signedLogin, sleep, start, stop, waitReady,
    writeResult } from './lib.mjs';
import { parseArgs } from './lib.mjs';

const args = parseArgs(process.argv.slice(2));
const bin = path.resolve(root, args.bin ?? 'build/release/happy-server');
const load = path.resolve(root, args.load ?? 'build/release/bench/happy_realtime_load');
const counts = (args.counts ?? '1000,10000').split(',').map(Number);
const rate = Number(args.rate ?? 1000);
const seconds = Number(args.seconds ?? 10);
const settle = Number(args.settle ?? 35);  // seconds to keep holding after the RPC phase (the server trims every 30 s)
const nofileSoft = args['nofile-soft'] ? Number(args['nofile-soft']) : null;
const outName = args.out ?? 'realtime';

const results = { date: new Date().toISOString(), machine: `${os.cpus().length} cores, ${os.cpus()[0]?.model ?? ''}`, runs: [] };

for (const n of counts) {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'happy-rt-bench-'));
    const port = await freePort();
    const own = openFileLimits(process.pid);  // what the server inherits unless --nofile-soft is given
    const prefix = nofileSoft ? ['prlimit', `--nofile=${nofileSoft}:${own.hard}`, '--'] : [];
    const server = start(bin, dataDir, port, { HAPPY_LOG_LEVEL: 'warn', HAPPY_CONFIG: manySocketsConfig(dataDir) }, prefix);
    await waitReady(port, process.hrtime.bigint());
    const limits = openFileLimits(server.pid);
    const token = (await post(port, '/v1/auth', signedLogin())).json.token;
    const idleToken = (await post(port, '/v1/auth', signedLogin())).json.token;  // the other clients' account
    const session = (await post(port, '/v1/sessions', { tag: 'bench', metadata: 'bench' },
        { authorization: `Bearer ${token}` })).json.session.id;
    const idleBefore = rssKb(server.pid).rss;

    // The load generator holds as many sockets as the server: it runs with its soft limit at the hard one.
    const raise = own.hard === 'unlimited' ? [] : ['prlimit', `--nofile=${own.hard}:${own.hard}`, '--'];
    const [cmd, ...pre] = [...raise, load];
    const tool = spawn(cmd, [...pre, '--port', String(port), '--token', token, '--idle-token', idleToken, '--connections', String(n),
        '--rate', String(rate), '--seconds', String(seconds), '--linger', String(settle + 1), '--session', session],
    { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    let heldRss = null;
    const connected = new Promise((resolve) => {
        tool.stdout.on('data', (chunk) => {
            out += chunk;
            if (out.includes('"phase":"connected"')) resolve();
        });
    });
    await connected;
    await sleep(2000);
    heldRss = rssKb(server.pid).rss;
    const exited = new Promise((r) => tool.once('exit', r));
    await new Promise((resolve) => {
        const check = () => (out.includes('rpc_rtt_p50_ms') ? resolve() : setTimeout(check, 50));
        check();
    });
    const final = JSON.parse(out.trim().split('\n').pop());
    const after = rssKb(server.pid);
    await sleep(settle * 1000);
    const settled = rssKb(server.pid);
    await exited;
    const s = await stop(server);
    fs.rmSync(dataDir, { recursive: true, force: true });
    results.runs.push({
        connections_requested: n,
        server_nofile_soft_at_start: nofileSoft ?? own.soft,
        server_nofile_running: limits,
        ...final,
        server_rss_idle_kb: idleBefore,
        server_rss_holding_kb: heldRss,
        server_rss_after_rpc_kb: after.rss,
        server_rss_settled_kb: settled.rss,
        server_peak_rss_kb: settled.hwm,
        sigterm_exit_ms: s.ms,
        exit_code: s.code,
    });
    console.log(JSON.stringify(results.runs.at(-1)));
}
writeResult(outName, results);
