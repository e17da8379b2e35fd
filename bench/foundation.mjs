#!/usr/bin/env node
// Foundation benchmarks (issue "Foundation"): start-up time to the first HTTP answer with an existing database,
// idle RSS 5 s after start, SIGTERM-to-exit time when idle, and POST /v1/auth + authenticated-request throughput
// (wrk, on the same 2-core machine). Reports numbers; asserts nothing.
//
//   node bench/foundation.mjs [--bin build/release/happy-server] [--runs 20] [--duration 10] [--connections 50]
//                             [--out foundation]
// bench/release.mjs times the first start on an empty data directory.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort, median, parseArgs, pct, post, root, rssKb, signedLogin, sleep, start as startBin, stop, waitReady,
    writeResult } from './lib.mjs';

const args = parseArgs(process.argv.slice(2));
const bin = path.resolve(root, args.bin ?? 'build/release/happy-server');
const runs = Number(args.runs ?? 20);
const duration = Number(args.duration ?? 10);
const connections = Number(args.connections ?? 50);
const start = (dataDir, port) => startBin(bin, dataDir, port);

function wrk(port, luaBody, label) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'happy-wrk-'));
    const script = path.join(dir, 's.lua');
    fs.writeFileSync(script, luaBody);
    const r = spawnSync('wrk', ['-t2', `-c${connections}`, `-d${duration}s`, '--latency', '-s', script,
        `http://127.0.0.1:${port}`], { encoding: 'utf8' });
    fs.rmSync(dir, { recursive: true, force: true });
    if (r.error) return { label, error: `wrk not available (${r.error.code}); apt-get install wrk` };
    const out = r.stdout;
    const num = (re) => { const m = out.match(re); return m ? m[1] : null; };
    const toMs = (s) => (s == null ? null : s.endsWith('us') ? parseFloat(s) / 1000 : s.endsWith('ms') ? parseFloat(s) : parseFloat(s) * 1000);
    return {
        label,
        rps: Number(num(/Requests\/sec:\s+([\d.]+)/)),
        p50_ms: toMs(num(/\s50%\s+([\d.]+\w+)/)),
        p99_ms: toMs(num(/\s99%\s+([\d.]+\w+)/)),
        non_2xx: Number(num(/Non-2xx or 3xx responses:\s+(\d+)/) ?? 0),
    };
}

const luaPost = (p, body, headers = {}) => `wrk.method = "POST"
wrk.path = "${p}"
wrk.body = '${JSON.stringify(body)}'
wrk.headers["Content-Type"] = "application/json"
${Object.entries(headers).map(([k, v]) => `wrk.headers["${k}"] = "${v}"`).join('\n')}
`;

const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'happy-bench-'));
const port = await freePort();
const results = { date: new Date().toISOString(), machine: `${os.cpus().length} cores, ${os.cpus()[0]?.model ?? ''}`, bin };

// Prepare: an existing database (migrations applied, secret generated) and an account with a token.
{
    const p = start(dataDir, port);
    await waitReady(port, process.hrtime.bigint());
    const login = signedLogin();
    const r = await post(port, '/v1/auth', login);
    results.token_sample_ok = r.status === 200;
    results._login = login;
    results._token = r.json.token;
    await stop(p);
}

// Start-up to first 200 and SIGTERM-to-exit, existing database.
const ready = [], exits = [];
for (let i = 0; i < runs; i++) {
    const t0 = process.hrtime.bigint();
    const p = start(dataDir, port);
    ready.push(await waitReady(port, t0));
    await sleep(100);
    const s = await stop(p);
    exits.push(s.ms);
    if (s.code !== 0) results.nonzero_exit = (results.nonzero_exit ?? 0) + 1;
}
results.ready_ms = { median: median(ready), p90: pct(ready, 0.9), max: Math.max(...ready) };
results.sigterm_exit_ms = { median: median(exits), max: Math.max(...exits) };


// Idle RSS 5 s after start, then throughput, then RSS after load.
{
    const p = start(dataDir, port);
    await waitReady(port, process.hrtime.bigint());
    await sleep(5000);
    results.idle_rss_kb = rssKb(p.pid).rss;
    results.auth_login = wrk(port, luaPost('/v1/auth', results._login), 'POST /v1/auth');
    // An authenticated read: Bearer check + one database read answered 200 (the account's settings row).
    results.authenticated = wrk(port, `wrk.method = "GET"\nwrk.path = "/v1/account/settings"\n` +
        `wrk.headers["Authorization"] = "Bearer ${results._token}"\n`, 'GET /v1/account/settings (Bearer + DB read)');
    results.health = wrk(port, 'wrk.method = "GET"\nwrk.path = "/health"\n', 'GET /health (SELECT 1)');
    results.banner = wrk(port, 'wrk.method = "GET"\nwrk.path = "/"\n', 'GET / (banner)');
    const after = rssKb(p.pid);
    results.rss_after_load_kb = after.rss;
    results.peak_rss_kb = after.hwm;
    const s = await stop(p);
    results.sigterm_after_load_ms = s.ms;
}
delete results._login;
delete results._token;
fs.rmSync(dataDir, { recursive: true, force: true });

console.log(JSON.stringify(results, null, 2));
writeResult(args.out ?? 'foundation', results);
