#!/usr/bin/env node
// Cluster benchmark (issue 11): two instances of the server on one Redis (started here, on a free loopback port, no
// persistence), the same HANDY_MASTER_SECRET, each on its own SQLite data directory. The load tool
// (bench/realtime_load.cpp with --port-b) holds N idle connections on each instance, then measures
//   - RPC round trip across instances: app socket on A → rpc-call → daemon socket on B → ack → result on A,
//   - fan-out across instances: `message` from a session socket on A → `update` new-message on an app socket on B,
// at a fixed rate. For reference, the same run against one instance with the local bus.
// Reports numbers; asserts nothing. Results: bench/results/cluster.json.
//
//   node bench/cluster.mjs [--bin build/release/happy-server] [--load build/release/bench/happy_realtime_load]
//                          [--connections 1000] [--rate 1000] [--seconds 10] [--repeat 1]
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort, manySocketsConfig, parseArgs, post, root, rssKb, signedLogin, sleep, stop, waitReady, writeResult }
    from './lib.mjs';
import { startRedis } from '../tests/integration/redis.mjs';

const args = parseArgs(process.argv.slice(2));
const bin = path.resolve(root, args.bin ?? 'build/release/happy-server');
const load = path.resolve(root, args.load ?? 'build/release/bench/happy_realtime_load');
const connections = Number(args.connections ?? 1000);
const rate = Number(args.rate ?? 1000);
const seconds = Number(args.seconds ?? 10);
const repeat = Number(args.repeat ?? 1);
const secret = 'cluster-bench-secret';

const results = {
    date: new Date().toISOString(),
    machine: `${os.cpus().length} cores, ${os.cpus()[0]?.model ?? ''}`,
    note: 'Everything on one machine: both servers, Redis, and the load tool share its cores.',
    runs: [],
};

/** A server whose log (warnings and errors only) goes to a file, reported with the run: a bus that flapped under
 *  load (peers timed out, Redis connection lost, messages lost) shows there. */
async function startInstance(env) {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'happy-cluster-bench-'));
    const port = await freePort();
    const logFile = path.join(dataDir, 'server.log');
    const log = fs.openSync(logFile, 'w');
    const proc = spawn(bin, [], {
        env: { ...process.env, PORT: String(port), HOST: '127.0.0.1', DATA_DIR: dataDir, HANDY_MASTER_SECRET: secret,
            HAPPY_LOG_LEVEL: 'warn', HAPPY_LOG_FORMAT: 'json', HAPPY_CONFIG: manySocketsConfig(dataDir), ...env },
        stdio: ['ignore', log, 'inherit'],
    });
    await waitReady(port, process.hrtime.bigint());
    return { proc, port, dataDir, logFile };
}

const warnings = (s) => fs.readFileSync(s.logFile, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l).msg);

function runLoad(toolArgs) {
    return new Promise((resolve, reject) => {
        const tool = spawn(load, toolArgs, { stdio: ['ignore', 'pipe', 'inherit'] });
        let out = '';
        tool.stdout.on('data', (c) => { out += c; });
        tool.once('exit', () => {
            const lines = out.trim().split('\n');
            try { resolve(JSON.parse(lines.pop())); } catch (e) { reject(new Error(`load tool output: ${out}`)); }
        });
    });
}

async function scenario(name, instances) {
    const [a, b] = instances;
    const token = (await post(a.port, '/v1/auth', signedLogin())).json.token;
    const idleToken = (await post(a.port, '/v1/auth', signedLogin())).json.token;
    const session = (await post(a.port, '/v1/sessions', { tag: 'bench', metadata: 'bench' },
        { authorization: `Bearer ${token}` })).json.session.id;
    await sleep(1500); // the instances hear each other's heartbeats
    const toolArgs = ['--port', String(a.port), '--token', token, '--idle-token', idleToken,
        '--connections', String(connections), '--rate', String(rate), '--seconds', String(seconds), '--session', session];
    if (b) toolArgs.push('--port-b', String(b.port));
    const r = await runLoad(toolArgs);
    const run = { scenario: name, connections_per_instance: connections, ...r };
    instances.forEach((s, i) => {
        run[`server_${'ab'[i]}_rss_kb`] = rssKb(s.proc.pid).rss;
        run[`server_${'ab'[i]}_warnings`] = warnings(s);
    });
    results.runs.push(run);
    console.log(JSON.stringify(run));
}

async function stopAll(instances) {
    for (const s of instances) {
        await stop(s.proc);
        fs.rmSync(s.dataDir, { recursive: true, force: true });
    }
}

for (let round = 0; round < repeat; round++) {
    // One instance, local bus (the reference).
    const one = [await startInstance({})];
    await scenario('one instance, local bus', one);
    await stopAll(one);

    // Two instances on one Redis: every measured message crosses.
    const redis = await startRedis();
    const env = { REDIS_URL: redis.url };
    const two = [await startInstance(env), await startInstance(env)];
    await scenario('two instances, redis bus (A to B)', two);
    await stopAll(two);
    await redis.stop();
}

writeResult('cluster', results);
