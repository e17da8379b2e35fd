// Several server instances as one deployment, for the cluster tests: N processes on ONE PostgreSQL database and ONE
// Redis, behind a real nginx running deploy/proxy/nginx.conf (balancer.mjs). Everything is started by the test on
// free loopback ports and removed by stop(): the PostgreSQL server is the suite's (HAPPY_TEST_DATABASE_URL, under
// scripts/pg_test_cluster.sh) or a throwaway one (pg.mjs), with a fresh database; Redis is redis.mjs's.
//
//   const c = await startCluster({ n: 2, realtime, config, env });
//   c.url                  the balancer (what clients use)
//   c.nodes[i]             startServer() results (url = that instance directly, bypassing the balancer)
//   await c.nodeOf(open)   runs `open()` (it connects something through the balancer) and tells which instance took
//                          the new Engine.IO session: {value, node}
//   await c.metric(i, name), c.kill(i) (SIGKILL), c.restart(i), c.stop()
//
// harness.mjs's startRealtimeServer() returns such a cluster when HAPPY_TEST_CLUSTER=N is set (the "cluster run" of
// the realtime test files in scripts/test.sh), and its clientTracker() then records the instance of every socket it
// connects and checks after each test that sockets opened one after the other sat on different instances.
import { startServer, writeConfigFile, req, until, psql } from './harness.mjs';
import { pgServer, createDatabase } from './pg.mjs';
import { startRedis } from './redis.mjs';
import { startBalancer } from './balancer.mjs';

/** The base URL of a server's metrics port (the server must run with METRICS_ENABLED=true, METRICS_PORT=0). */
export function metricsUrl(srv) {
    const line = srv.stdoutLines.find((l) => l.includes('"msg":"metrics listening"'));
    if (!line) throw new Error('the server has no metrics port (METRICS_ENABLED=true METRICS_PORT=0)');
    return `http://127.0.0.1:${Number(/"port":(\d+)/.exec(line)[1])}`;
}

/** A gauge or counter of a server's metrics port (its value with the `app` label); NaN when absent. */
export async function metric(srv, name) {
    const text = (await req(metricsUrl(srv), 'GET', '/metrics')).text;
    const m = new RegExp(`^${name}\\{[^}]*\\} (\\S+)$`, 'm').exec(text);
    return m ? Number(m[1]) : NaN;
}

/** Env of a cluster member: the shared database, Redis and signing secret, metrics on a free port. */
function memberEnv(databaseUrl, redisUrl, secret) {
    return { DATABASE_URL: databaseUrl, REDIS_URL: redisUrl, HANDY_MASTER_SECRET: secret, METRICS_ENABLED: 'true',
        METRICS_PORT: '0' };
}

let clusters = 0;
let sharedPg = null; // one PostgreSQL server per test process (pg.mjs stops a throwaway one at exit)

/**
 * Starts `n` instances (each with `{...config, realtime}` as its config file and `env` on top of the cluster's),
 * waits until every instance hears all the others on the bus, then starts the balancer in front of them.
 */
export async function startCluster({ n = 2, realtime, config = {}, env = {} } = {}) {
    sharedPg ??= pgServer();
    const pg = sharedPg;
    let redis;
    const nodes = [];
    let balancer;
    const secret = `cluster-secret-${process.pid}-${++clusters}`;
    try {
        const databaseUrl = createDatabase(pg.url);
        redis = await startRedis();
        const configFile = writeConfigFile(realtime ? { ...config, realtime } : config);
        const startNode = (port = 0) => startServer({
            env: { HAPPY_CONFIG: configFile, ...memberEnv(databaseUrl, redis.url, secret), ...env, PORT: String(port) },
        });
        // One after the other: the first migrates the empty database (concurrent starts are covered by the
        // advisory lock, but a start-up timeout should name one instance).
        for (let i = 0; i < n; i++) nodes.push(await startNode());
        const cluster = {
            pg, redis, nodes, databaseUrl, secret,
            get url() { return balancer.url; },
            get balancer() { return balancer; },
            /** For harness helpers that take a server: sql(cluster, …) runs on the shared database. */
            get port() { return balancer.port; },
            /** Every instance's stdout lines, instance by instance. */
            get stdoutLines() { return nodes.flatMap((s) => s.stdoutLines); },
            get stderrLines() { return nodes.flatMap((s) => s.stderrLines); },
            metric: (i, name) => metric(nodes[i], name),
            /** The same metric of every instance, in instance order. */
            metrics: (name) => Promise.all(nodes.map((s) => metric(s, name))),
            nodeOf: (open) => nodeOf(cluster, open),
            /** Waits until every live instance counts all the other live ones as bus peers. */
            async waitPeers(timeoutMs = 10_000) {
                const live = nodes.filter((s) => !s.exitInfo);
                await until(async () => (await Promise.all(live.map((s) => metric(s, 'bus_peers'))))
                    .every((p) => p >= live.length - 1), timeoutMs, 'the instances to hear each other on the bus');
            },
            /** SIGKILL instance i (no shutdown: its sockets and bus membership just vanish). */
            async kill(i) {
                await nodes[i].stop({ graceMs: 0 });
            },
            /** A new process in instance i's place, on its port (the balancer sends it traffic again once nginx
             *  retries it: up to 10 s after the failures that marked it down). */
            async restart(i) {
                if (!nodes[i].exitInfo) await nodes[i].stop();
                nodes[i] = await startNode(nodes[i].port);
                await cluster.waitPeers();
            },
            logs: () => nodes.map((s, i) => `=== instance ${i} ===\n${s.logs()}`).join('\n'),
            async stop() {
                await balancer?.stop();
                await Promise.all(nodes.map((s) => s.stop()));
                await redis.stop();
                psql(pg.url, `DROP DATABASE IF EXISTS ${new URL(databaseUrl).pathname.slice(1)} WITH (FORCE)`);
            },
        };
        await cluster.waitPeers();
        balancer = await startBalancer(nodes.map((s) => `127.0.0.1:${s.port}`));
        return cluster;
    } catch (e) {
        await balancer?.stop();
        await Promise.all(nodes.map((s) => s.stop().catch(() => {})));
        await redis?.stop();
        throw e;
    }
}

/**
 * Runs `open()`, which opens one Engine.IO session through the balancer (a socket.io-client connect, a raw Engine.IO
 * client), and returns {value, node}: the instance whose `engineio_sessions_opened_total` counter went up. The
 * counter is read before and after; a session another client opened meanwhile makes the answer ambiguous, which
 * throws rather than guesses.
 */
async function nodeOf(cluster, open) {
    const live = () => cluster.nodes.map((s) => !s.exitInfo);
    const count = () => Promise.all(cluster.nodes.map((s, i) => (live()[i] ? metric(s, 'engineio_sessions_opened_total') : 0)));
    const before = await count();
    const value = await open();
    let grew = [];
    // The counter goes up before the OPEN packet is sent, so it has moved by the time a client reports being open;
    // polling covers a client that resolves on the WebSocket's open event alone. A connection that opened no
    // session (refused by Engine.IO after the upgrade) has no instance: node null.
    const end = Date.now() + 2000;
    for (;;) {
        const after = await count();
        grew = after.map((v, i) => v - before[i]);
        if (grew.some((d) => d > 0)) break;
        if (Date.now() > end) return { value, node: null };
        await new Promise((r) => setTimeout(r, 20));
    }
    const total = grew.reduce((a, b) => a + b, 0);
    if (total !== 1) {
        throw new Error(`cannot tell which instance took the connection: sessions opened meanwhile per instance ${JSON.stringify(grew)}`);
    }
    return { value, node: grew.findIndex((d) => d === 1) };
}
