// The open-file limit (README "Open files"): at start the server raises its soft RLIMIT_NOFILE to the hard limit
// and logs both; when accept() finds no descriptor left (EMFILE) it keeps serving the connections it has, retries
// with a back-off, logs once per interval and counts the failures in /metrics. The limits are set with prlimit(1)
// (util-linux), which sets them and then runs the server in the same process.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import { TEST_TIMEOUT, HOOK_TIMEOUT, startServer, req, sleep, until } from './harness.mjs';

const T = { timeout: TEST_TIMEOUT };
const servers = [];
const sockets = [];
after(async () => {
    for (const s of sockets) s.destroy();
    for (const s of servers) await s.stop();
}, { timeout: HOOK_TIMEOUT });

const logged = (srv, msg) => srv.stdoutLines.filter((l) => l.includes(`"msg":"${msg}`)).map((l) => JSON.parse(l));

test('the soft open-file limit is raised to the hard one at start, and both are logged', T, async () => {
    const srv = await startServer({ prefix: ['prlimit', '--nofile=1024:4096', '--'] });
    servers.push(srv);
    const [line] = logged(srv, 'open-file limit');
    assert.deepEqual([line.soft_at_start, line.soft, line.hard], [1024, 4096, 4096]);
    assert.match(fs.readFileSync(`/proc/${srv.proc.pid}/limits`, 'utf8'), /^Max open files\s+4096\s+4096\s+files/m);
    // 4096 cannot hold the 10,000 connections the server is sized for: said at start.
    assert.equal(logged(srv, 'the open-file limit caps the connections')[0]?.limit, 4096);
});

/**
 * A keep-alive connection that sends `GET /` now and on each ask(); ask() resolves with the status line once the
 * answer is in. The server answers a connection only after accepting it.
 */
function keepAlive(port) {
    const sock = net.connect({ host: '127.0.0.1', port });
    sockets.push(sock);
    sock.on('error', () => {});
    let buf = '';
    let waiting = null;
    sock.on('data', (d) => {
        buf += d.toString('latin1');
        // Responses of GET / carry Content-Length: one complete response per ask().
        const end = buf.indexOf('\r\n\r\n');
        if (end < 0) return;
        const head = buf.slice(0, end);
        const length = Number(/\r\ncontent-length: (\d+)/i.exec(head)?.[1] ?? 0);
        if (buf.length < end + 4 + length) return;
        buf = buf.slice(end + 4 + length);
        const w = waiting;
        waiting = null;
        w?.(head.slice(0, head.indexOf('\r\n')));
    });
    const ask = () => new Promise((resolve) => {
        waiting = resolve;
        sock.write('GET / HTTP/1.1\r\nHost: x\r\nConnection: keep-alive\r\n\r\n');
    });
    return { sock, ask, answered: ask() };
}

test('out of descriptors: connections held are served, new ones wait, one log line, counted in /metrics', T, async () => {
    const srv = await startServer({
        prefix: ['prlimit', '--nofile=64:64', '--'],
        env: { METRICS_ENABLED: 'true', METRICS_PORT: '0' },
    });
    servers.push(srv);
    const metricsPort = logged(srv, 'metrics listening')[0].port;
    // Connect until the server stops answering: its descriptor table is full. (An unanswered connection sits in
    // the listen backlog; the kernel completed its TCP handshake.)
    const held = [];
    let waiting = null;
    for (let i = 0; i < 200 && !waiting; i++) {
        const c = keepAlive(srv.port);
        const status = await Promise.race([c.answered, sleep(1000).then(() => null)]);
        if (status === null) waiting = c;
        else { assert.equal(status, 'HTTP/1.1 200 OK'); held.push(c); }
    }
    assert.ok(waiting, 'the server ran out of descriptors');
    assert.ok(held.length > 20, `held ${held.length} connections under a limit of 64`);

    // The connections it holds are still served.
    for (const c of [held[0], held[held.length - 1]]) assert.equal(await c.ask(), 'HTTP/1.1 200 OK');
    // Retries (with back-off) went on meanwhile, logged once: the next line is due 10 s after the first.
    await sleep(1500);
    const lines = logged(srv, 'accept failed: out of file descriptors').filter((j) => j.port === srv.port);
    assert.equal(lines.length, 1, JSON.stringify(lines));
    assert.equal(lines[0].error, 'Too many open files');
    assert.equal(lines[0].level, 'warn');

    // Descriptors free up: the waiting connection is accepted and answered, the server carries on.
    for (const c of held.splice(0, 4)) c.sock.destroy();
    assert.equal(await Promise.race([waiting.answered, sleep(5000).then(() => 'not answered within 5 s')]), 'HTTP/1.1 200 OK');
    const metrics = await until(async () => {
        const r = await req(`http://127.0.0.1:${metricsPort}`, 'GET', '/metrics');
        return r.status === 200 && r.text;
    }, 5000, 'a /metrics scrape');
    const counted = Number(/^http_accept_fd_exhausted_total\{app="happy-server"\} (\d+)$/m.exec(metrics)?.[1]);
    assert.ok(counted >= 2, `http_accept_fd_exhausted_total ${counted}`);
    assert.equal((await req(srv.url, 'GET', '/')).status, 200);
});
