// A real redis-server (Debian's package; scripts/setup.sh installs it) for the cluster tests, started by the test
// itself on a free loopback port with a temporary directory and no persistence (`--save '' --appendonly no`), and
// killed when the test process exits. Never the system service, never a fixed port.
//
//   const redis = await startRedis();   // {port, url, kill(), restart(), stop()}
//   const tls = await startRedis({ tls: true });   // TLS only (rediss://), certificate from a throwaway CA: tls.caFile
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

const live = new Set();
const dirs = new Set(); // temporary directories of servers not stopped yet
process.on('exit', () => {
    for (const p of live) {
        try { p.kill('SIGKILL'); } catch { /* gone */ }
    }
    for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
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

/** Resolves true when something accepts TCP connections on 127.0.0.1:port. */
export function canConnect(port) {
    return new Promise((resolve) => {
        const c = net.connect({ host: '127.0.0.1', port });
        c.once('connect', () => { c.destroy(); resolve(true); });
        c.once('error', () => resolve(false));
    });
}

/** A CA and a server certificate for 127.0.0.1 signed by it (openssl, EC P-256, valid 2 days), in `dir`. */
function makeCertificates(dir) {
    const run = (args) => {
        const r = spawnSync('openssl', args, { cwd: dir, encoding: 'utf8' });
        if (r.status !== 0) throw new Error(`openssl ${args[0]} failed: ${r.stderr}`);
    };
    const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
    run(['req', '-x509', ...ec, '-days', '2', '-subj', '/CN=happy test CA', '-keyout', 'ca.key', '-out', 'ca.crt']);
    run(['req', ...ec, '-subj', '/CN=127.0.0.1', '-keyout', 'server.key', '-out', 'server.csr']);
    fs.writeFileSync(path.join(dir, 'san.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
    run(['x509', '-req', '-in', 'server.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '2',
        '-extfile', 'san.ext', '-out', 'server.crt']);
}

/**
 * Starts redis-server; rejects when it does not accept connections within 5 s. `tls`: TLS only (no plain port), with
 * a certificate for 127.0.0.1 from a CA made for this server (`caFile`); clients need no certificate.
 */
export async function startRedis({ password, tls = false } = {}) {
    const bin = redisServerBin();
    if (!bin) throw new Error('redis-server not found (scripts/setup.sh installs the redis-server package)');
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'happy-it-redis-'));
    dirs.add(dir);
    if (tls) makeCertificates(dir);
    let proc = null;
    let port = await freePort();

    const launch = async () => {
        const args = ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'no',
            '--daemonize', 'no', '--logfile', path.join(dir, 'redis.log')];
        if (tls) {
            args.splice(0, 2, '--port', '0', '--tls-port', String(port), '--tls-cert-file', path.join(dir, 'server.crt'),
                '--tls-key-file', path.join(dir, 'server.key'), '--tls-ca-cert-file', path.join(dir, 'ca.crt'),
                '--tls-auth-clients', 'no');
        }
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
    if (!ok) {
        fs.rmSync(dir, { recursive: true, force: true });
        dirs.delete(dir);
        throw new Error('redis-server did not start');
    }

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
        get url() { return `redis${tls ? 's' : ''}://${password ? `:${password}@` : ''}127.0.0.1:${port}`; },
        /** The CA that signed a TLS server's certificate (PEM). */
        caFile: tls ? path.join(dir, 'ca.crt') : null,
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
            dirs.delete(dir);
        },
    };
}
