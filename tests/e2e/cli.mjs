// Drives the published `happy` CLI (node_modules/happy, pinned in package-lock.json) in a sandbox:
// a fresh HOME and HAPPY_HOME_DIR, HAPPY_SERVER_URL pointing at our server, a private tmux server
// (`tmux -S <sandbox>/tmux.sock`) giving `happy auth login` the terminal it insists on. Everything it starts is
// bounded in time and torn down by cleanup(), which never throws.

import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = import.meta.dirname ?? path.dirname(fileURLToPath(import.meta.url));
export const HAPPY_PKG = path.join(HERE, 'node_modules', 'happy');
export const HAPPY_BIN = path.join(HAPPY_PKG, 'bin', 'happy.mjs');
export const HAPPY_VERSION = '1.2.5';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Sandboxes not cleaned up yet: if the test process exits early (a signal; the integration harness turns
// SIGINT/SIGTERM/SIGHUP into process.exit), their processes, tmux server and directories go synchronously.
const live = new Set();
process.on('exit', () => { for (const c of live) c.cleanupSync(); });

const shq = (s) => `'${String(s).replace(/'/g, `'\\''`)}'`;

export class HappyCli {
    /**
     * @param {object} o
     * @param {string} o.serverUrl   HAPPY_SERVER_URL
     * @param {Record<string,string>} [o.env] extra environment for every CLI process
     */
    constructor({ serverUrl, env = {} }) {
        this.root = fs.mkdtempSync(path.join(os.tmpdir(), 'happy-e2e-'));
        this.home = path.join(this.root, 'home');            // HOME (claude, npm, ... write here, not in ~)
        this.happyHome = path.join(this.root, 'happy-home'); // HAPPY_HOME_DIR
        this.work = path.join(this.root, 'work', 'project'); // where sessions run; the daemon starts in its parent
        for (const d of [this.home, this.happyHome, this.work]) fs.mkdirSync(d, { recursive: true });
        // A private tmux server whose socket lives in the sandbox (-S), so removing the sandbox removes it too
        // (`kill-server` leaves a -L socket file behind in /tmp/tmux-<uid>/).
        this.tmuxSocket = path.join(this.root, 'tmux.sock');
        this.logs = [];
        live.add(this);

        const base = { ...process.env };
        for (const k of Object.keys(base)) {
            if (/^(HAPPY_|ANTHROPIC_|CLAUDE|OPENAI_|GEMINI_|TMUX)/.test(k)) delete base[k];
            // CI runs with CI=true: Ink then renders no interactive frame, so the login chooser never appears.
            if (/^(CI_|CONTINUOUS_INTEGRATION$|BUILD_ID$|BUILD_NUMBER$|RUN_ID$)/.test(k)) delete base[k];
        }
        base.CI = 'false';  // what is-in-ci and ci-info read as "not CI"
        this.env = {
            ...base,
            HOME: this.home,
            HAPPY_HOME_DIR: this.happyHome,
            HAPPY_SERVER_URL: serverUrl,
            // Only shapes the web-auth URL (never opened); keeps app.happy.engineering out of it.
            HAPPY_WEBAPP_URL: 'http://127.0.0.1:9',
            // Nothing Anthropic-hosted may be contacted (Claude Code is only started if a test sends a message,
            // and then ANTHROPIC_BASE_URL points at a loopback fake).
            DISABLE_AUTOUPDATER: '1',
            DISABLE_TELEMETRY: '1',
            DISABLE_ERROR_REPORTING: '1',
            CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
            NO_COLOR: '1',
            ...env,
        };
    }

    get accessKeyFile() { return path.join(this.happyHome, 'access.key'); }
    get settingsFile() { return path.join(this.happyHome, 'settings.json'); }
    get daemonStateFile() { return path.join(this.happyHome, 'daemon.state.json'); }

    readJson(file) {
        try { return JSON.parse(fs.readFileSync(file, 'utf8')); } catch { return null; }
    }

    tmux(...args) {
        // The tmux server gets the caller's environment minus TMUX; login.sh sets the CLI's own, so that only
        // the CLI processes carry HAPPY_HOME_DIR (ownProcesses() relies on it).
        const env = { ...process.env };
        delete env.TMUX;
        delete env.HAPPY_HOME_DIR;
        const r = spawnSync('tmux', ['-S', this.tmuxSocket, '-f', '/dev/null', ...args], {
            env, encoding: 'utf8', timeout: 10_000,
        });
        if (r.error) throw new Error(`tmux ${args[0]}: ${r.error.message}`);
        return r;
    }

    /** Starts `happy auth login` in a detached tmux pane and picks "1. Mobile App". */
    startLogin() {
        const script = path.join(this.root, 'login.sh');
        const exitFile = path.join(this.root, 'login.exit');
        this.loginExitFile = exitFile;
        fs.writeFileSync(script, [
            '#!/bin/sh',
            ...Object.entries(this.env)
                .filter(([k]) => /^[A-Za-z_][A-Za-z0-9_]*$/.test(k))
                .map(([k, v]) => `export ${k}=${shq(v)}`),
            `cd ${shq(this.work)}`,
            `${shq(process.execPath)} ${shq(HAPPY_BIN)} auth login`,
            `echo "$?" > ${shq(exitFile)}`,
            // Keep the pane (and its output) until cleanup kills the tmux server.
            'unset HAPPY_HOME_DIR',
            'exec sleep 600',
            '',
        ].join('\n'), { mode: 0o700 });
        const r = this.tmux('new-session', '-d', '-x', '200', '-y', '50', '-s', 'auth', script);
        if (r.status !== 0) throw new Error(`tmux new-session failed (${r.status}): ${r.stderr}`);
        this.tmuxStarted = true;
    }

    capturePane() {
        const r = this.tmux('capture-pane', '-p', '-J', '-S', '-200', '-t', 'auth');
        return r.status === 0 ? r.stdout : `(capture-pane failed: ${r.stderr})`;
    }

    /** Waits for the chooser, sends "1" (Mobile App), then scrapes happy://terminal?<base64url pk>. */
    async waitLoginUrl(timeoutMs = 60_000) {
        const end = Date.now() + timeoutMs;
        let sent = false;
        let pane = '';
        while (Date.now() < end) {
            pane = this.capturePane();
            const m = /happy:\/\/terminal\?([A-Za-z0-9_-]{43})/.exec(pane);
            if (m) return Buffer.from(m[1], 'base64url');
            if (!sent && /Mobile App/.test(pane)) {
                this.tmux('send-keys', '-t', 'auth', '1');
                sent = true;
            }
            if (fs.existsSync(this.loginExitFile)) break;
            await sleep(200);
        }
        throw new Error(`no happy://terminal URL from "happy auth login" within ${timeoutMs} ms; pane:\n${pane}`);
    }

    /** Runs the CLI to completion (stdout/stderr to a log file), bounded by timeoutMs. */
    run(args, { cwd = path.dirname(this.work), timeoutMs = 60_000 } = {}) {
        const logFile = path.join(this.root, `cli-${this.logs.length}-${args.join('-').replace(/[^a-z0-9-]/gi, '')}.log`);
        this.logs.push(logFile);
        const fd = fs.openSync(logFile, 'w');
        return new Promise((resolve) => {
            const p = spawn(process.execPath, [HAPPY_BIN, ...args], {
                cwd, env: this.env, stdio: ['ignore', fd, fd], detached: true,
            });
            fs.closeSync(fd);
            const t = setTimeout(() => {
                try { process.kill(-p.pid, 'SIGKILL'); } catch { /* gone */ }
            }, timeoutMs);
            const done = (code, signal, error) => {
                clearTimeout(t);
                resolve({ code, signal, error, output: fs.readFileSync(logFile, 'utf8') });
            };
            p.once('exit', (code, signal) => done(code, signal));
            p.once('error', (e) => done(null, null, e));
        });
    }

    /** PIDs of processes running with our HAPPY_HOME_DIR (the daemon and the session children it spawned). */
    ownProcesses() {
        const needle = `HAPPY_HOME_DIR=${this.happyHome}\0`;
        const pids = [];
        for (const d of fs.readdirSync('/proc')) {
            if (!/^\d+$/.test(d) || Number(d) === process.pid) continue;
            try {
                const env = fs.readFileSync(`/proc/${d}/environ`, 'latin1');
                if (env.includes(needle)) pids.push(Number(d));
            } catch { /* gone or not ours */ }
        }
        return pids;
    }

    daemonLogTail(lines = 40) {
        try {
            const dir = path.join(this.happyHome, 'logs');
            const files = fs.readdirSync(dir).map((f) => path.join(dir, f))
                .sort((a, b) => fs.statSync(a).mtimeMs - fs.statSync(b).mtimeMs);
            return files.slice(-3).map((f) => `--- ${f} ---\n${fs.readFileSync(f, 'utf8').split('\n').slice(-lines).join('\n')}`).join('\n');
        } catch (e) { return `(no CLI logs: ${e.message})`; }
    }

    /** Last-resort cleanup at process exit: SIGKILL, no waiting. */
    cleanupSync() {
        for (const pid of this.ownProcesses()) { try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ } }
        if (this.tmuxStarted) { try { this.tmux('kill-server'); } catch { /* ignore */ } }
        try { fs.rmSync(this.root, { recursive: true, force: true }); } catch { /* ignore */ }
        live.delete(this);
    }

    /** Stops everything this CLI sandbox started; never throws, bounded (~25 s worst case). */
    async cleanup({ keep = false } = {}) {
        live.delete(this);
        try {
            if (this.ownProcesses().length) await this.run(['daemon', 'stop'], { timeoutMs: 15_000 });
        } catch { /* ignore */ }
        for (const sig of ['SIGTERM', 'SIGKILL']) {
            const pids = this.ownProcesses();
            if (!pids.length) break;
            for (const pid of pids) { try { process.kill(pid, sig); } catch { /* gone */ } }
            for (let i = 0; i < 20 && this.ownProcesses().length; i++) await sleep(100);
        }
        if (this.tmuxStarted) { try { this.tmux('kill-server'); } catch { /* ignore */ } }
        if (!keep) { try { fs.rmSync(this.root, { recursive: true, force: true }); } catch { /* ignore */ } }
    }
}
