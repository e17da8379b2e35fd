#!/usr/bin/env node
// Idle RSS (issue 13): the server started on an empty data directory, all modules, read 5 s after it answers, each
// of --runs times; reported as VmRSS and its parts (RssAnon: the process's own memory; RssFile: pages of the binary
// and shared libraries mapped in), the threads, the shared objects loaded, and the mappings that hold the most.
// With --before BIN, that binary is measured in the same run, alternating with --bin (before/after of a change).
//
//   node bench/idle_rss.mjs [--bin build/release/happy-server] [--before OTHER_BIN] [--before-label TEXT]
//                           [--runs 5] [--out idle_rss]
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort, median, parseArgs, root, sleep, start, stop, waitReady, writeResult } from './lib.mjs';

const args = parseArgs(process.argv.slice(2));
const bin = path.resolve(root, args.bin ?? 'build/release/happy-server');
const before = args.before ? path.resolve(root, args.before) : null;
const runs = Number(args.runs ?? 5);
const outName = args.out ?? 'idle_rss';

function status(pid) {
    const text = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    const field = (k) => Number(new RegExp(`^${k}:\\s+(\\d+)`, 'm').exec(text)?.[1] ?? 0);
    return { rss_kb: field('VmRSS'), anon_kb: field('RssAnon'), file_kb: field('RssFile'), threads: field('Threads') };
}

/** Resident kB per mapped file (or [heap], [stack], anonymous), largest first. */
function mappings(pid) {
    const sizes = new Map();
    let name = '';
    for (const line of fs.readFileSync(`/proc/${pid}/smaps`, 'utf8').split('\n')) {
        const head = /^[0-9a-f]+-[0-9a-f]+ \S+ \S+ \S+ \S+\s*(.*)$/.exec(line);
        if (head) { name = head[1] ? path.basename(head[1]) : '(anonymous)'; continue; }
        const rss = /^Rss:\s+(\d+) kB/.exec(line);
        if (rss) sizes.set(name, (sizes.get(name) ?? 0) + Number(rss[1]));
    }
    return Object.fromEntries([...sizes].filter(([, kb]) => kb > 0).sort((a, b) => b[1] - a[1]).slice(0, 12));
}

async function measure(binary) {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'happy-idle-rss-'));
    const port = await freePort();
    const p = start(binary, dataDir, port, { HAPPY_LOG_LEVEL: 'warn' });
    await waitReady(port, process.hrtime.bigint());
    await sleep(5000);
    const s = status(p.pid);
    const maps = mappings(p.pid);
    const libs = Object.keys(maps).filter((n) => n.includes('.so'));
    await stop(p);
    fs.rmSync(dataDir, { recursive: true, force: true });
    return { ...s, top_mappings_kb: maps, shared_objects_resident: libs };
}

const series = { after: [], ...(before ? { before: [] } : {}) };
for (let i = 0; i < runs; i++) {
    if (before) series.before.push(await measure(before));
    series.after.push(await measure(bin));
}
const summarize = (xs, binary) => ({
    bin: path.relative(root, binary),
    rss_kb_median: median(xs.map((x) => x.rss_kb)),
    anon_kb_median: median(xs.map((x) => x.anon_kb)),
    file_kb_median: median(xs.map((x) => x.file_kb)),
    rss_kb_runs: xs.map((x) => x.rss_kb),
    threads: xs[0].threads,
    top_mappings_kb: xs[0].top_mappings_kb,
});
const results = {
    date: new Date().toISOString(),
    machine: `${os.cpus().length} cores, ${os.cpus()[0]?.model ?? ''}`,
    runs,
    idle: summarize(series.after, bin),
    ...(before ? { before: { label: args['before-label'] ?? null, ...summarize(series.before, before) } } : {}),
};
console.log(JSON.stringify(results, null, 2));
writeResult(outName, results);
