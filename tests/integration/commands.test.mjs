// The command line: subcommands, the common flags (standing for PORT/HOST/DATA_DIR), exit codes, `migrate`.
import test, { after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { SERVER_BIN, TEST_TIMEOUT, makeTempDir, removeDir, startServer, req, PG_ADMIN_URL, cleanEnv } from './harness.mjs';

const dirs = [];
after(() => { for (const d of dirs) removeDir(d); });
function tempDir() { const d = makeTempDir('happy-cmd-'); dirs.push(d); return d; }

/** Runs the binary to completion with a clean environment plus `env`. */
function run(args, env = {}) {
    const r = spawnSync(SERVER_BIN, args, {
        env: { ...cleanEnv(), ...env }, encoding: 'utf8', timeout: 20_000, killSignal: 'SIGKILL',
    });
    return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('--help lists every command; each command has its own help', { timeout: TEST_TIMEOUT }, () => {
    const r = run(['--help']);
    assert.equal(r.code, 0);
    for (const c of ['serve', 'migrate', 'version']) assert.match(r.stdout, new RegExp(`^  ${c} `, 'm'));
    assert.match(r.stdout, /--data-dir DIR/);
    const m = run(['migrate', '--help']);
    assert.equal(m.code, 0);
    assert.match(m.stdout, /^Usage: happy-server migrate/);
    assert.match(m.stdout, /--port N/);
});

test('an unknown command or flag exits 2 and changes nothing', { timeout: TEST_TIMEOUT }, () => {
    const dir = tempDir();
    let r = run(['frobnicate', '--data-dir', dir]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /unknown command "frobnicate"/);
    r = run(['serve', '--frobnicate', '--data-dir', dir]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /unknown argument --frobnicate/);
    r = run(['migrate', '--port']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--port needs a value/);
    assert.deepEqual(fs.readdirSync(dir), []);
});

test('the common flags stand for their environment variables and win over them', { timeout: TEST_TIMEOUT }, () => {
    let r = run(['--check-config', '--port', '70000']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /server\.port \(from environment variable PORT\): must be <= 65535, got 70000/);
    r = run(['serve', '--check-config', '--port=8080'], { PORT: '70000' });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /configuration ok/);
    r = run(['--check-config', '--host', 'localhost']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /server\.host: must be an IP address/);
});

test('version prints the version, also as JSON', { timeout: TEST_TIMEOUT }, () => {
    const r = run(['version']);
    assert.equal(r.code, 0);
    assert.match(r.stdout, /^happy-server \d+\.\d+\.\d+/);
    const j = run(['version', '--json']);
    assert.equal(j.code, 0);
    assert.match(JSON.parse(j.stdout).version, /^\d+\.\d+\.\d+/);
    assert.equal(run(['--version']).stdout, r.stdout);
});

test('migrate applies the migrations once, then a server starts on them without applying any',
    { timeout: TEST_TIMEOUT, skip: PG_ADMIN_URL ? 'SQLite data directory' : false }, async () => {
        const dir = tempDir();
        let r = run(['migrate', '--data-dir', dir, '--json']);
        assert.equal(r.code, 0, r.stderr);
        const first = JSON.parse(r.stdout);
        assert.ok(first.applied.length > 10, r.stdout);
        assert.equal(first.applied[0], '0001_auth');
        assert.ok(first.version >= 13);
        assert.ok(fs.existsSync(path.join(dir, 'happy.sqlite')));
        r = run(['migrate', '--data-dir', dir, '--json']);
        assert.equal(r.code, 0, r.stderr);
        const second = JSON.parse(r.stdout);
        assert.deepEqual(second.applied, []);
        assert.equal(second.version, first.version);
        r = run(['migrate', '--data-dir', dir]);
        assert.match(r.stdout, new RegExp(`schema at version ${first.version} \\(.*\\); 0 migration\\(s\\) applied now`));

        const server = await startServer({ dataDir: dir });
        try {
            const res = await req(server.url, 'GET', '/');
            assert.equal(res.status, 200);
            const lines = [...server.stdoutLines, ...server.stderrLines];
            assert.ok(lines.some((l) => /listening/.test(l)));
            assert.ok(!lines.some((l) => /migration applied/.test(l)), lines.join('\n'));
        } finally {
            await server.stop();
        }
    });

test('migrate on an unreachable PostgreSQL exits 1 naming the database', { timeout: TEST_TIMEOUT }, () => {
    const r = run(['migrate'], { DATABASE_URL: 'postgresql://u:secretpw@127.0.0.1:1/nodb?connect_timeout=2' });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^happy-server: storage: /);
    assert.doesNotMatch(r.stderr, /secretpw/);
});
