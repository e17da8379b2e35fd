// PostgreSQL from a release artifact, by host name: the static binary links libpq, whose name lookups go to the
// built-in resolver (plugins/storage_postgres/libpq_static.cpp), and whose TLS is the binary's own OpenSSL (the
// throwaway cluster serves TLS and libpq's default sslmode=prefer takes it). Run by scripts/release_test.sh under
// scripts/pg_test_cluster.sh, beside tests/integration/postgres.test.mjs (which reaches the cluster by address).
//   HAPPY_SERVER_BIN          the wrapper that runs the artifact (Debian 11 root or qemu)
//   HAPPY_TEST_DATABASE_URL   the cluster (set by pg_test_cluster.sh)
//   HAPPY_RELEASE_PG_HOST     a name the server's /etc/hosts maps to the cluster's address (127.0.0.1)
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { TEST_TIMEOUT, SERVER_BIN, PG_ADMIN_URL, startServer, authAccount, authReq, psql, makeTempDir, removeDir }
    from '../integration/harness.mjs';
import { createDatabase } from '../integration/pg.mjs';

const T = { timeout: Math.max(TEST_TIMEOUT, 90_000) };
const host = process.env.HAPPY_RELEASE_PG_HOST;
assert.ok(PG_ADMIN_URL && host, 'run by scripts/release_test.sh under scripts/pg_test_cluster.sh');
const dirs = [];
after(() => dirs.forEach(removeDir));

const byName = (url, name) => { const u = new URL(url); u.hostname = name; return u.toString(); };

test('the server migrates and serves PostgreSQL reached by a host name', T, async () => {
    const url = createDatabase(PG_ADMIN_URL);
    const srv = await startServer({ env: { DATABASE_URL: byName(url, host) } });
    try {
        const listening = srv.stdoutLines.find((l) => l.includes('"listening"'));
        assert.ok(listening.includes(`@${host}:`), listening);
        const a = await authAccount(srv.url, { timeoutMs: 60_000 });  // the first auth waits for the token keys
        const profile = await authReq(srv.url, 'GET', '/v1/account/profile', a);
        assert.equal(profile.status, 200, profile.text);
        assert.equal(psql(url, 'SELECT COUNT(*) FROM account'), '1');
        // The session really is TLS (libpq's sslmode=prefer against the cluster's certificate).
        const ssl = psql(url, 'SELECT bool_or(ssl) FROM pg_stat_ssl JOIN pg_stat_activity USING (pid) ' +
            `WHERE datname = current_database() AND pid <> pg_backend_pid()`);
        assert.equal(ssl, 't', 'the server\'s connections use TLS');
    } finally {
        await srv.stop();
    }
});

test('a host name that does not resolve is one clear start-up line', T, () => {
    const dataDir = makeTempDir();
    dirs.push(dataDir);
    const r = spawnSync(SERVER_BIN, [], {
        env: { PATH: process.env.PATH, PORT: '0', HOST: '127.0.0.1', DATA_DIR: dataDir, HANDY_MASTER_SECRET: 'x',
            DATABASE_URL: byName(PG_ADMIN_URL, 'no-such-host.invalid') },
        encoding: 'utf8', timeout: 60_000,
    });
    assert.notEqual(r.status, 0);
    assert.match(r.stderr.trim(), /^happy-server: storage: cannot connect to PostgreSQL at postgresql:\/\/happy:\*\*\*@no-such-host\.invalid:\d+\/.*could not translate host name "no-such-host\.invalid" to address/);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
});
