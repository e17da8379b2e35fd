// The long fuzz run (issue 13): every libFuzzer target of tests/fuzz for up to --runs inputs (default 10M) or
// --max-seconds (default 2 h) each, one after the other, through scripts/fuzz.sh (fixed seed, corpus from the
// committed seeds). Records per target the inputs executed, exec/s, coverage (libFuzzer's covered edges `cov` and
// features `ft`), the corpus it grew, peak RSS and any crash in bench/results/fuzz.json. A run of some targets
// (--targets http,body) replaces only their entries; runs of different targets may go side by side.
// --fork J runs J fuzzing processes sharing the corpus (libFuzzer's -fork), --runs inputs in all: the slow config
// target reaches 10M on both cores of the machine in half the time.
//   node bench/fuzz.mjs [--runs 10000000] [--max-seconds 7200] [--targets codec,cron,...] [--fork 1]
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs, root, sourceRevision, writeResult } from './lib.mjs';

const args = parseArgs(process.argv.slice(2));
const runs = Number(args.runs ?? 10_000_000);
const maxSeconds = Number(args['max-seconds'] ?? 7200);
const all = ['codec', 'cron', 'base64', 'token', 'config', 'http', 'body'];
const targets = args.targets ? args.targets.split(',') : all;
const fork = Number(args.fork ?? 1);

const resultsFile = path.join(root, 'bench/results/fuzz.json');
// The entries recorded so far, read again before each write: two runs of different targets side by side (one per
// core) keep each other's results.
const recorded = () => {
    const previous = fs.existsSync(resultsFile) ? JSON.parse(fs.readFileSync(resultsFile, 'utf8')) : {};
    return new Map((previous.targets ?? []).map((t) => [t.target, t]));
};

// The last value in the log: another run of the target (scripts/test.sh's short one) may have written the same
// log file while a long one was going; the long one's final statistics come last.
const stat = (log, name) => {
    const all = [...log.matchAll(new RegExp(`^stat::${name}:\\s*(\\d+)`, 'gm'))];
    return all.length ? Number(all.at(-1)[1]) : null;
};

for (const target of targets) {
    const started = Date.now();
    // The commit the target is built from (scripts/fuzz.sh builds it first), not the one checked out when it ends.
    const source = sourceRevision();
    const r = spawnSync('scripts/fuzz.sh', [target], {
        cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'],
        env: { ...process.env, FUZZ_RUNS: String(runs), FUZZ_MAX_SECONDS: String(maxSeconds), FUZZ_FORK: String(fork) },
    });
    const seconds = (Date.now() - started) / 1000;
    const log = fs.readFileSync(path.join(root, 'build/fuzz', `${target}.log`), 'utf8');
    // The last status line: "#123456 DONE cov: 1234 ft: 5678 corp: 321/45Kb ..." (or the last before a crash); with
    // --fork the parent's "#123456: cov: 1234 ft: 5678 corp: 321 exec/s 2000 ... time: 60s job: 7" (printed when a
    // job adds to the corpus), and no final statistics: those are the children's. Its inputs in all come from
    // "INFO: fuzzed for N iterations" and its time from "INFO: exiting: 0 time: Ts".
    const lines = log.split('\n').filter((l) => /^#\d+:?\s/.test(l));
    const last = lines.at(-1) ?? '';
    const num = (re) => { const m = re.exec(last); return m ? Number(m[1]) : null; };
    const corpusDir = path.join(root, 'build/fuzz/corpus', target);
    const files = fs.existsSync(corpusDir) ? fs.readdirSync(corpusDir) : [];
    const crash = /Test unit written to (\S+)/.exec(log);
    const logNum = (re) => { const m = re.exec(log); return m ? Number(m[1]) : null; };
    const forkSeconds = logNum(/^INFO: exiting: \d+ time: (\d+)s/m);
    const executions = fork > 1 ? logNum(/^INFO: fuzzed for (\d+) iterations/m) ?? num(/^#(\d+)/)
        : stat(log, 'number_of_executed_units') ?? num(/^#(\d+)/);
    const entry = {
        target,
        runs_requested: runs,
        max_seconds: maxSeconds,
        executions,
        reached_runs: executions !== null && executions >= runs,
        fuzz_processes: fork,
        fuzz_seconds: fork > 1 ? forkSeconds
            : stat(log, 'average_exec_per_sec') ? Math.round(executions / stat(log, 'average_exec_per_sec')) : null,
        wall_seconds_with_build: Math.round(seconds),
        exec_per_s: fork > 1 ? (forkSeconds ? Math.round(executions / forkSeconds) : null) : stat(log, 'average_exec_per_sec'),
        cov: num(/cov: (\d+)/),
        ft: num(/ft: (\d+)/),
        corpus_files: files.length,
        corpus_bytes: files.reduce((n, f) => n + fs.statSync(path.join(corpusDir, f)).size, 0),
        new_units: stat(log, 'new_units_added'),
        peak_rss_mb: stat(log, 'peak_rss_mb'),
        slowest_unit_s: stat(log, 'slowest_unit_time_sec'),
        crashes: r.status === 0 ? [] : [{ exit: r.status, artifact: crash ? crash[1] : null, summary: (/SUMMARY: .*/.exec(log) ?? [''])[0] }],
        // Targets may be run at different times: each records its own source and machine load.
        source,
        date: new Date().toISOString(),
        load_average_at_end: os.loadavg().map((x) => Math.round(x * 100) / 100),
    };
    const byTarget = recorded();
    byTarget.set(target, entry);
    console.log(JSON.stringify(entry));
    // Written after every target: a long run interrupted later keeps what it measured.
    writeResult('fuzz', {
        date: new Date().toISOString(),
        machine: `${os.cpus().length} cores, ${os.cpus()[0]?.model ?? 'unknown'}`,
        build: 'fuzz preset: clang 14, -O1 -g, ASan + UBSan (no recover), libFuzzer coverage instrumentation of the whole tree',
        targets: all.filter((t) => byTarget.has(t)).map((t) => byTarget.get(t)),
    });
}
