#!/usr/bin/env node
// The release artifact against the development build (issue "Release"): start to the first HTTP 200 on an EMPTY
// data directory (what a new user's first start does: create the directory, generate the master secret, create and
// migrate the SQLite database), idle RSS 5 s after start, and the file sizes. Reports numbers; asserts nothing.
//
//   node bench/release.mjs [--static dist/happy-server-linux-x86_64] [--dynamic build/release/happy-server] [--runs 20]
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort, median, parseArgs, pct, root, rssKb, sleep, start, stop, waitReady, writeResult } from './lib.mjs';

const args = parseArgs(process.argv.slice(2));
const bins = {
    static: path.resolve(root, args.static ?? 'dist/happy-server-linux-x86_64'),
    dynamic: path.resolve(root, args.dynamic ?? 'build/release/happy-server'),
};
const runs = Number(args.runs ?? 20);
const results = { date: new Date().toISOString(), machine: `${os.cpus().length} cores, ${os.cpus()[0]?.model ?? ''}`, runs };

async function firstStart(bin) {
    const ready = [];
    const port = await freePort();
    for (let i = 0; i < runs; i++) {
        const dataDir = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'happy-bench-release-')), 'data');  // absent
        const t0 = process.hrtime.bigint();
        const p = start(bin, dataDir, port);
        ready.push(await waitReady(port, t0));
        await stop(p);
        fs.rmSync(path.dirname(dataDir), { recursive: true, force: true });
    }
    return { median: median(ready), p90: pct(ready, 0.9), max: Math.max(...ready), min: Math.min(...ready) };
}

async function idleRss(bin) {
    const samples = [];
    const port = await freePort();
    for (let i = 0; i < 3; i++) {
        const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'happy-bench-release-'));
        const p = start(bin, dataDir, port);
        await waitReady(port, process.hrtime.bigint());
        await sleep(5000);
        samples.push(rssKb(p.pid).rss);
        await stop(p);
        fs.rmSync(dataDir, { recursive: true, force: true });
    }
    return { median: median(samples), samples };
}

// Interleaved, so that a change in the machine's load hits both builds alike.
for (const [name, bin] of Object.entries(bins)) {
    results[name] = { bin: path.relative(root, bin), bytes: fs.statSync(bin).size };
}
for (const [name, bin] of Object.entries(bins)) {
    results[name].first_start_ready_ms = await firstStart(bin);
}
for (const [name, bin] of Object.entries(bins)) {
    results[name].idle_rss_kb = await idleRss(bin);
}
for (const f of ['happy-server-linux-x86_64', 'happy-server-linux-aarch64']) {
    const p = path.join(root, 'dist', f);
    if (fs.existsSync(p)) results[`${f}_bytes`] = fs.statSync(p).size;
}
console.log(JSON.stringify(results, null, 2));
writeResult('release', results);
