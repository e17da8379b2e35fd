// Operations: `backup` of a running server under write load, `restore` (refusals and the way back), the snapshot an
// upgrade writes before migrating, the backup job, and `doctor`.
import test, { after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import {
    SERVER_BIN, TEST_TIMEOUT, PG_ADMIN_URL, makeTempDir, removeDir, startServer, req, authReq, authAccount,
    createSession, cleanEnv, until, REPO_ROOT,
} from './harness.mjs';

const T = { timeout: Math.max(TEST_TIMEOUT, 60_000) };
const dirs = [];
after(() => { for (const d of dirs) removeDir(d); });
function tempDir() { const d = makeTempDir('happy-backup-'); dirs.push(d); return d; }

/** Runs a subcommand to completion: {code, stdout, stderr, json (parsed stdout when --json)}. */
function run(args, { dataDir, env = {} } = {}) {
    const r = spawnSync(SERVER_BIN, args, {
        env: { ...cleanEnv(), HOST: '127.0.0.1', PORT: '0', ...(dataDir ? { DATA_DIR: dataDir } : {}), ...env },
        encoding: 'utf8', timeout: 60_000, killSignal: 'SIGKILL',
    });
    let json;
    if (args.includes('--json')) { try { json = JSON.parse(r.stdout); } catch { json = undefined; } }
    return { code: r.status, stdout: r.stdout, stderr: r.stderr, json };
}

/** The same without blocking the test's event loop (the server under test must keep answering meanwhile). */
function runAsync(args, { dataDir, env = {} } = {}) {
    return new Promise((resolve) => {
        const p = spawn(SERVER_BIN, args, {
            env: { ...cleanEnv(), HOST: '127.0.0.1', PORT: '0', DATA_DIR: dataDir, ...env },
        });
        let stdout = '', stderr = '';
        p.stdout.on('data', (c) => { stdout += c; });
        p.stderr.on('data', (c) => { stderr += c; });
        p.on('exit', (code) => {
            let json;
            try { json = JSON.parse(stdout); } catch { json = undefined; }
            resolve({ code, stdout, stderr, json });
        });
    });
}

const sqliteOnly = { ...T, skip: PG_ADMIN_URL ? 'SQLite backups (the suite runs on PostgreSQL)' : false };

test('backup of a running server under write load: the restored database holds every message acknowledged before the backup started',
    sqliteOnly, async (t) => {
    const srv = await startServer({ dataDir: tempDir() });
    const acct = await authAccount(srv.url);
    const s = await createSession(srv.url, acct);
    const acked = [];  // [localId, ackedAt]
    let stop = false;
    let n = 0;
    const writer = async () => {
        while (!stop) {
            const localId = `m${++n}`;
            const r = await authReq(srv.url, 'POST', `/v3/sessions/${s.id}/messages`, acct,
                { body: { messages: [{ content: `c-${localId}-${'x'.repeat(2000)}`, localId }] } });
            assert.equal(r.status, 200, r.text);
            acked.push([localId, Date.now()]);
        }
    };
    const writers = [writer(), writer(), writer()];
    await until(() => acked.length >= 1500, 30_000, '1500 messages written');
    const backupFile = path.join(tempDir(), 'live.sqlite');
    const startedAt = Date.now();
    const before = new Set(acked.filter(([, t]) => t <= startedAt).map(([id]) => id));
    const result = await runAsync(['backup', backupFile, '--json', '--include-secret'], { dataDir: srv.dataDir });
    const ackedDuring = acked.length;
    stop = true;
    await Promise.all(writers);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.json.ok, true);
    assert.equal(result.json.via, 'server', 'the running server took it (it owns the file)');
    assert.equal(result.json.integrity, 'ok');
    assert.equal(result.json.secret_included, true);
    assert.ok(result.json.bytes > 0 && result.json.schema_version > 0, JSON.stringify(result.json));
    assert.equal(fs.statSync(backupFile).mode & 0o777, 0o600);
    assert.ok(acked.length > before.size, `writes went on during the backup (${before.size} before, ${acked.length} at the end)`);
    await srv.stop();

    // Restore into a new data directory and read the messages back through the API.
    const target = tempDir();
    const r = run(['restore', backupFile, '--json'], { dataDir: target });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.json.ok, true);
    assert.equal(r.json.secret_restored, true);
    assert.equal(r.json.replaced_kept_as, null, 'nothing to keep aside in a new data directory');
    assert.equal(fs.statSync(path.join(target, 'master-secret')).mode & 0o777, 0o600);
    const restored = await startServer({ dataDir: target });
    const ids = new Set();
    for (let after = 0; ;) {
        const page = await authReq(restored.url, 'GET', `/v3/sessions/${s.id}/messages?after_seq=${after}&limit=500`, acct);
        assert.equal(page.status, 200, `the token minted before the backup works on the restore: ${page.text}`);
        for (const m of page.json.messages) ids.add(m.localId);
        if (!page.json.hasMore) break;
        after = page.json.messages.at(-1).seq;
    }
    const missing = [...before].filter((id) => !ids.has(id));
    assert.deepEqual(missing, [], `${missing.length} acknowledged messages missing`);
    assert.ok(ids.size <= ackedDuring + 3, 'nothing invented');
    t.diagnostic(`backup: ${before.size} acknowledged before, ${ids.size} in the copy, ${result.json.bytes} bytes in ${result.json.duration_ms} ms`);
    await restored.stop();
});

test('backup with no server running is taken directly; restore refuses a running data directory and keeps the replaced database aside',
    sqliteOnly, async () => {
    const dataDir = tempDir();
    let srv = await startServer({ dataDir });
    const acct = await authAccount(srv.url);
    const s = await createSession(srv.url, acct);
    await srv.stop({ keepDataDir: true });

    const file = path.join(tempDir(), 'b.sqlite');
    let r = run(['backup', file], { dataDir });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /backup written: .*b\.sqlite \(\d+ bytes, schema version \d+, integrity ok\), directly \(no server running\)/);
    assert.match(r.stdout, /master secret: not included; keep it with the backup/);
    r = run(['backup', file], { dataDir });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /exists; choose another name or pass --force/);

    srv = await startServer({ dataDir });
    await authReq(srv.url, 'POST', '/v1/sessions', acct, { body: { tag: 'after-backup', metadata: 'm' } });
    r = run(['restore', file], { dataDir });
    assert.equal(r.code, 1, 'refused while the server runs');
    assert.match(r.stderr, /a happy-server \(pid \d+\) is serving this data directory/);
    assert.equal((await req(srv.url, 'GET', '/health')).status, 200, 'the server is untouched');
    await srv.stop({ keepDataDir: true });

    r = run(['restore', file], { dataDir });
    assert.equal(r.code, 0, r.stderr);
    const aside = /the replaced database is kept as (\S+)/.exec(r.stdout)[1];
    assert.ok(fs.existsSync(aside), aside);
    assert.match(r.stdout, /the backup carries no master secret/);
    srv = await startServer({ dataDir });
    const list = await authReq(srv.url, 'GET', '/v1/sessions', acct);
    assert.deepEqual(list.json.sessions.map((x) => x.id), [s.id], 'the session created after the backup is gone');
    await srv.stop({ keepDataDir: true });
});

test('restore refuses a backup from a newer schema and a file that is not a happy-server database', sqliteOnly, async () => {
    const dataDir = tempDir();
    const srv = await startServer({ dataDir });
    await srv.stop({ keepDataDir: true });
    const file = path.join(tempDir(), 'newer.sqlite');
    assert.equal(run(['backup', file], { dataDir }).code, 0);
    // What a later release's migration would have recorded.
    const bump = spawnSync('sqlite3', [file, "INSERT INTO schema_migrations VALUES (9999, '9999_future', 'core', 0)"]);
    assert.equal(bump.status, 0, String(bump.stderr));
    const before = fs.readFileSync(path.join(dataDir, 'happy.sqlite'));
    let r = run(['restore', file, '--json'], { dataDir });
    assert.equal(r.code, 1);
    assert.equal(r.json.ok, false);
    assert.equal(r.json.schema_version, 9999);
    assert.match(r.json.error, /schema version 9999, newer than this happy-server supports \(up to \d+\)/);
    assert.deepEqual(fs.readFileSync(path.join(dataDir, 'happy.sqlite')), before, 'the live database is untouched');
    assert.deepEqual(fs.readdirSync(dataDir).filter((f) => f.includes('restore-tmp') || f.includes('replaced')), []);

    const junk = path.join(tempDir(), 'junk.sqlite');
    spawnSync('sqlite3', [junk, 'CREATE TABLE t (x)']);
    r = run(['restore', junk], { dataDir });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /not a happy-server database \(no schema_migrations table\)/);
});

/** Runs SQL on a stopped server's database with the sqlite3 tool; returns its output. */
function sqlite3(file, statement) {
    const r = spawnSync('sqlite3', [file, statement], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    return r.stdout.trim();
}

/**
 * Takes a database back to before its last migration, from that migration's SQL: what it created is dropped and its
 * schema_migrations row deleted, so that the next start is an upgrade.
 */
function undoLastMigration(db) {
    const [version, name] = sqlite3(db, 'SELECT version, name FROM schema_migrations ORDER BY version DESC LIMIT 1').split('|');
    const text = fs.readFileSync(path.join(REPO_ROOT, 'schemas/sql/sqlite', `${name}.sql`), 'utf8')
        .replace(/--[^\n]*\n/g, '\n');
    const undo = [];
    // Statements end at `;`, except a trigger's, whose body has its own: it ends at `END;`.
    const statements = text.match(/\s*(?:CREATE TRIGGER[\s\S]*?\bEND\s*;|[^;]+;?)/gi) ?? [];
    for (const stmt of statements.map((x) => x.trim().replace(/;$/, '').replace(/\s+/g, ' ')).filter(Boolean)) {
        let m;
        if ((m = /^CREATE TRIGGER (?:IF NOT EXISTS )?"?(\w+)"?/i.exec(stmt))) undo.push(`DROP TRIGGER ${m[1]}`);
        else if ((m = /^CREATE (?:UNIQUE )?INDEX (?:IF NOT EXISTS )?"?(\w+)"?/i.exec(stmt))) undo.push(`DROP INDEX ${m[1]}`);
        else if ((m = /^CREATE TABLE (?:IF NOT EXISTS )?"?(\w+)"?/i.exec(stmt))) undo.push(`DROP TABLE ${m[1]}`);
        else if ((m = /^ALTER TABLE "?(\w+)"? ADD COLUMN "?(\w+)"?/i.exec(stmt))) undo.push(`ALTER TABLE ${m[1]} DROP COLUMN ${m[2]}`);
        else if (/^DROP INDEX IF EXISTS/i.test(stmt)) continue;
        else assert.fail(`undoLastMigration: cannot undo "${stmt}" of ${name}; teach this test how`);
    }
    sqlite3(db, `${undo.reverse().join('; ')}; DELETE FROM schema_migrations WHERE version = ${version}`);
    return { version: Number(version), name, previous: Number(sqlite3(db, 'SELECT MAX(version) FROM schema_migrations')) };
}

test('an upgrade writes a snapshot beside the database before migrating and logs where; restoring it goes back',
    sqliteOnly, async () => {
    const dataDir = tempDir();
    let srv = await startServer({ dataDir });
    const acct = await authAccount(srv.url);
    await srv.stop({ keepDataDir: true });
    const db = path.join(dataDir, 'happy.sqlite');
    const undone = undoLastMigration(db);

    srv = await startServer({ dataDir });
    const line = srv.stdoutLines.find((l) => l.includes('"msg":"snapshot written before migrations"'));
    assert.ok(line, srv.logs());
    const logged = JSON.parse(line);
    assert.equal(logged.from_version, undone.previous);
    assert.equal(logged.to_version, undone.version);
    assert.equal(path.dirname(logged.path), dataDir, 'beside the database');
    assert.match(path.basename(logged.path), new RegExp(`^happy\\.sqlite\\.pre-upgrade-\\d{8}T\\d{6}\\.\\d{3}Z-v${undone.previous}\\.sqlite$`));
    const applied = srv.stdoutLines.findIndex((l) => l.includes('"msg":"migration applied"'));
    assert.ok(applied > srv.stdoutLines.indexOf(line), 'the snapshot comes before the migration');
    assert.equal((await authReq(srv.url, 'GET', '/v1/sessions', acct)).status, 200);
    await srv.stop({ keepDataDir: true });
    assert.equal(sqlite3(logged.path, 'SELECT MAX(version) FROM schema_migrations'), String(undone.previous));
    // A start with nothing to migrate writes none.
    srv = await startServer({ dataDir });
    assert.ok(!srv.stdoutLines.some((l) => l.includes('snapshot written')));
    await srv.stop({ keepDataDir: true });

    // The way back (README "Upgrades"): restore the snapshot.
    const r = run(['restore', logged.path], { dataDir });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`schema version ${undone.previous}; the next start migrates it to ${undone.version}`));
    assert.equal(sqlite3(db, 'SELECT MAX(version) FROM schema_migrations'), String(undone.previous));
});

test('the backup job writes happy-<time>.sqlite into its directory and keeps jobs.backup.keep', sqliteOnly, async () => {
    const dataDir = tempDir();
    const cfg = path.join(tempDir(), 'config.json');
    fs.writeFileSync(cfg, JSON.stringify({
        jobs: { backup: { enabled: true, schedule: '* * * * * *', keep: 2, directory: 'nightly' } },
        modules: { push: { expo_url: '' } },
    }));
    const srv = await startServer({ dataDir, env: { HAPPY_CONFIG: cfg } });
    const dir = path.join(dataDir, 'nightly');
    const written = () => srv.stdoutLines.filter((l) => l.includes('"msg":"backup job: backup written"')).length;
    await until(() => written() >= 3, 10_000, 'three runs of the job');
    await srv.stop({ keepDataDir: true });
    const files = fs.readdirSync(dir).sort();
    assert.equal(files.length, 2, `keep 2: ${files}`);
    for (const f of files) {
        assert.match(f, /^happy-\d{8}T\d{6}\.\d{3}Z\.sqlite$/);
        assert.equal(fs.statSync(path.join(dir, f)).mode & 0o777, 0o600);
        assert.equal(sqlite3(path.join(dir, f), 'PRAGMA integrity_check'), 'ok');
        assert.equal(sqlite3(path.join(dir, f), "SELECT COUNT(*) FROM happy_backup WHERE key = 'master_secret'"), '0');
    }
    assert.equal(fs.statSync(dir).mode & 0o777, 0o700);
});

test('backup and restore on PostgreSQL print the pg_dump / pg_restore lines (exit 2), password masked; the job is refused', T, async () => {
    const env = { DATABASE_URL: 'postgresql://happy:s3cret@127.0.0.1:1/happydb' };
    let r = run(['backup', '/tmp/x.dump'], { dataDir: tempDir(), env });
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stdout, /pg_dump --format=custom --no-owner --file='\/tmp\/x\.dump' "\$DATABASE_URL"/);
    assert.match(r.stdout, /postgresql:\/\/happy:\*\*\*@127\.0\.0\.1:1\/happydb/);
    assert.ok(!r.stdout.includes('s3cret'));
    r = run(['restore', '/tmp/x.dump', '--json'], { dataDir: tempDir(), env });
    assert.equal(r.code, 2);
    assert.equal(r.json.ok, false);
    assert.match(r.json.instructions, /pg_restore --no-owner --exit-on-error --dbname="\$DATABASE_URL" '\/tmp\/x\.dump'/);
    const cfg = path.join(tempDir(), 'config.json');
    fs.writeFileSync(cfg, JSON.stringify({ jobs: { backup: { enabled: true } } }));
    r = run(['serve', '--check-config'], { dataDir: tempDir(), env: { ...env, HAPPY_CONFIG: cfg } });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /jobs\.backup\.enabled: the backup job copies a SQLite database; storage\.kind "postgres" is backed up with its own tools/);
});
