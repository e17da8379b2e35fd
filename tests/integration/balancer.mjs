// A real nginx balancer (Debian's nginx-light; scripts/setup.sh installs it) in front of several test servers:
// deploy/proxy/nginx.conf itself, the file users copy, with only the `server` lines of its upstream blocks and the
// listen/TLS lines of its server block replaced. Started by the test on a free loopback port with a temporary prefix
// directory (`nginx -p DIR -e DIR/error.log -c DIR/nginx.conf -g 'daemon off;'`), one worker process (round robin
// is then strict: consecutive new connections alternate), stopped with the test process. Never the system service.
//
//   const lb = await startBalancer(['127.0.0.1:4001', '127.0.0.1:4002']);   // {url, port, dir, stop(), errorLog()}
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { REPO_ROOT } from './harness.mjs';
import { freePort, canConnect } from './redis.mjs';

export const PROXY_CONF = path.join(REPO_ROOT, 'deploy/proxy/nginx.conf');

// nginx runs as a process group of its own (detached): its worker would outlive a master killed alone.
const live = new Set();
const dirs = new Set(); // prefix directories not removed yet (a test process that ends without stop())
const signalGroup = (p, sig) => {
    try { process.kill(-p.pid, sig); } catch { /* gone */ }
};
const removeDir = (dir) => {
    dirs.delete(dir);
    if (!process.env.HAPPY_KEEP_DATA) fs.rmSync(dir, { recursive: true, force: true });
};
process.on('exit', () => {
    for (const p of live) signalGroup(p, 'SIGKILL');
    for (const d of dirs) removeDir(d);
});

export function nginxBin() {
    for (const p of ['/usr/sbin/nginx', '/usr/bin/nginx', '/usr/local/sbin/nginx']) {
        if (fs.existsSync(p)) return p;
    }
    return null;
}

/**
 * deploy/proxy/nginx.conf for these upstream addresses and this listen address: each upstream block's `server`
 * lines (and their commented-out examples) become one line per address; the server block's listen, server_name and
 * ssl_certificate* lines become one plain-HTTP listen line. Throws when the file does not have the shape this
 * relies on (upstream blocks, one server block with a listen line), so a change to the snippet that the tests
 * would no longer exercise is noticed.
 */
export function proxyConfFor(text, addresses, listen) {
    const lines = text.split('\n');
    const out = [];
    let block = null; // 'upstream' | 'server' while inside one of those top-level blocks
    let upstreams = 0;
    let listens = 0;
    let serversWritten = false;
    for (const line of lines) {
        if (block === null) {
            if (/^upstream\s+\S+\s*\{\s*$/.test(line)) { block = 'upstream'; upstreams++; serversWritten = false; }
            else if (/^server\s*\{\s*$/.test(line)) block = 'server';
            out.push(line);
            continue;
        }
        if (/^\}\s*$/.test(line)) { block = null; out.push(line); continue; }
        if (block === 'upstream' && /^\s*#?\s*server\s+\S+;/.test(line)) {
            if (!serversWritten) {
                for (const a of addresses) out.push(`    server ${a};`);
                serversWritten = true;
            }
            continue;
        }
        if (block === 'server' && /^\s*(server_name|ssl_certificate|ssl_certificate_key)\s/.test(line)) continue;
        if (block === 'server' && /^\s*listen\s/.test(line)) {
            if (listens++ === 0) out.push(`    listen ${listen};`);
            continue;
        }
        out.push(line);
    }
    if (upstreams < 2 || listens < 1) {
        throw new Error(`${PROXY_CONF}: expected upstream blocks and a server block with a listen line ` +
            `(found ${upstreams} upstreams, ${listens} listen lines); tests/integration/balancer.mjs needs updating`);
    }
    return out.join('\n');
}

/** Starts nginx in front of `addresses` ('host:port' each); rejects when it does not accept connections in 5 s. */
export async function startBalancer(addresses) {
    const bin = nginxBin();
    if (!bin) throw new Error('nginx not found (scripts/setup.sh installs the nginx-light package)');
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'happy-it-nginx-'));
    dirs.add(dir);
    // nginx started as root runs its worker as `nobody`, which must reach the prefix directory (temp files).
    fs.chmodSync(dir, 0o755);
    const snippet = fs.readFileSync(PROXY_CONF, 'utf8');
    let proc = null;
    let port = 0;

    const writeConf = () => {
        fs.writeFileSync(path.join(dir, 'happy.conf'), proxyConfFor(snippet, addresses, `127.0.0.1:${port}`));
        fs.writeFileSync(path.join(dir, 'nginx.conf'), [
            'worker_processes 1;',
            `pid ${dir}/nginx.pid;`,
            `error_log ${dir}/error.log notice;`,
            'events { worker_connections 4096; }',
            'http {',
            `    access_log ${dir}/access.log;`,
            `    client_body_temp_path ${dir}/client_body;`,
            `    proxy_temp_path ${dir}/proxy;`,
            `    fastcgi_temp_path ${dir}/fastcgi;`,
            `    uwsgi_temp_path ${dir}/uwsgi;`,
            `    scgi_temp_path ${dir}/scgi;`,
            `    include ${dir}/happy.conf;`,
            '}',
            '',
        ].join('\n'));
    };

    const launch = async () => {
        writeConf();
        const t = spawnSync(bin, ['-t', '-q', '-p', dir, '-e', `${dir}/error.log`, '-c', `${dir}/nginx.conf`],
            { encoding: 'utf8' });
        if (t.status !== 0) {
            removeDir(dir);
            throw new Error(`nginx -t refused the configuration:\n${t.stderr}`);
        }
        const p = spawn(bin, ['-p', dir, '-e', `${dir}/error.log`, '-c', `${dir}/nginx.conf`, '-g', 'daemon off;'],
            { stdio: 'ignore', detached: true });
        p.unref();
        live.add(p);
        p.exited = new Promise((r) => p.once('exit', () => { live.delete(p); r(); }));
        const end = Date.now() + 5000;
        while (Date.now() < end) {
            if (p.exitCode !== null || p.signalCode !== null) return false;
            if (await canConnect(port)) { proc = p; return true; }
            await new Promise((r) => setTimeout(r, 25));
        }
        signalGroup(p, 'SIGKILL');
        await p.exited;
        return false;
    };

    let ok = false;
    for (let attempt = 0; attempt < 5 && !ok; attempt++) {
        port = await freePort();
        ok = await launch();
    }
    const errorLog = () => {
        try { return fs.readFileSync(path.join(dir, 'error.log'), 'utf8'); } catch { return ''; }
    };
    if (!ok) {
        const log = errorLog();
        removeDir(dir);
        throw new Error(`nginx did not start:\n${log}`);
    }

    return {
        port,
        dir,
        url: `http://127.0.0.1:${port}`,
        /** nginx's error log so far (upstream failures are logged there). */
        errorLog,
        /** SIGTERM (nginx's fast shutdown: open connections are closed), SIGKILL to the group after 3 s; removes
         *  the prefix directory. */
        async stop() {
            if (proc) {
                const p = proc;
                proc = null;
                p.ref();
                signalGroup(p, 'SIGTERM');
                const t = setTimeout(() => signalGroup(p, 'SIGKILL'), 3000);
                await p.exited;
                clearTimeout(t);
                signalGroup(p, 'SIGKILL'); // a worker still closing
            }
            removeDir(dir);
        },
    };
}
