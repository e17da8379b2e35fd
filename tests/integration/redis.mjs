// A real redis-server (Debian's package; scripts/setup.sh installs it) for the cluster tests, started by the test
// itself on a free loopback port with a temporary directory and no persistence (`--save '' --appendonly no`), and
// killed when the test process exits. Never the system service, never a fixed port.
//
//   const redis = await startRedis();   // {port, url, kill(), restart(), stop()}
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

const live = new Set();
process.on('exit', () => {
    for (const p of live) {
        try { p.kill('SIGKILL'); } catch { /* gone */ }
    }
});

export function redisServerBin() {
    for (const p of ['/usr/bin/redis-server', '/usr/local/bin/redis-server']) {
        if (fs.existsSync(p)) return p;
    }
    return null;
}

export function freePort() {
    return new Promise((resolve, reject) => {
        const s = net.createServer();
        s.once('error', reject);
        s.listen(0, '127.0.0.1', () => {
            const { port } = s.address();
            s.close(() => resolve(port));
        });
    });
}

function canConnect(port) {
    return new Promise((resolve) => {
        const c = net.connect({ host: '127.0.0.1', port });
        c.once('connect', () => { c.destroy(); resolve(true); });
        c.once('error', () => resolve(false));
    });
}

/** Starts redis-server; rejects when it does not accept connections within 5 s. */
export async function startRedis({ password } = {}) {
    const bin = redisServerBin();
    if (!bin) throw new Error('redis-server not found (scripts/setup.sh installs the redis-server package)');
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'happy-it-redis-'));
    let proc = null;
    let port = await freePort();

    const launch = async () => {
        const args = ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'no',
            '--daemonize', 'no', '--logfile', path.join(dir, 'redis.log')];
        if (password) args.push('--requirepass', password);
        const p = spawn(bin, args, { stdio: 'ignore' });
        p.unref();
        live.add(p);
        const exited = new Promise((r) => p.once('exit', () => { live.delete(p); r(); }));
        p.exited = exited;
        const end = Date.now() + 5000;
        while (Date.now() < end) {
            if (p.exitCode !== null) return false;
            if (await canConnect(port)) { proc = p; return true; }
            await new Promise((r) => setTimeout(r, 25));
        }
        p.kill('SIGKILL');
        return false;
    };

    let ok = false;
    for (let attempt = 0; attempt < 5 && !ok; attempt++) {
        ok = await launch();
        if (!ok) port = await freePort();
    }
    if (!ok) throw new Error('redis-server did not start');

    const kill = async () => {
        if (!proc) return;
        const p = proc;
        proc = null;
        p.ref(); // an unref'd child would not keep the event loop alive while we wait for its exit
        p.kill('SIGKILL');
        await p.exited;
    };
    return {
        get port() { return port; },
        get url() { return `redis://${password ? `:${password}@` : ''}127.0.0.1:${port}`; },
        /** SIGKILL: Redis crashes (nothing persisted). */
        kill,
        /** Starts again on the same port after kill(). */
        async restart() {
            for (let i = 0; i < 50; i++) {
                if (await launch()) return;
                await new Promise((r) => setTimeout(r, 100));
            }
            throw new Error('redis-server did not restart');
        },
        async stop() {
            await kill();
            fs.rmSync(dir, { recursive: true, force: true });
        },
    };
}
