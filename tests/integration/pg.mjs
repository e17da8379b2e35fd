// PostgreSQL for test files that need a server of their own choosing (postgres.test.mjs): the suite's
// HAPPY_TEST_DATABASE_URL when it runs on PostgreSQL, or else a throwaway cluster started with
// scripts/pg_test_cluster.sh (temp dir, free loopback port) and removed by stop().

import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { REPO_ROOT, PG_ADMIN_URL, psql } from './harness.mjs';

const SCRIPT = path.join(REPO_ROOT, 'scripts/pg_test_cluster.sh');

/** {url, stop()}: a server the tests may create databases on. */
export function pgServer() {
    if (PG_ADMIN_URL) {
        return { url: PG_ADMIN_URL, stop() {} };
    }
    const r = spawnSync(SCRIPT, ['start'], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`pg_test_cluster.sh start failed:\n${r.stderr}`);
    const value = (key) => (r.stdout.match(new RegExp(`^${key}=(.*)$`, 'm')) || [])[1];
    const url = value('HAPPY_TEST_DATABASE_URL');
    const dir = value('HAPPY_TEST_PG_DIR');
    let stopped = false;
    const stop = () => {
        if (stopped) return;
        stopped = true;
        spawnSync(SCRIPT, ['stop', dir], { stdio: 'inherit' });
    };
    process.on('exit', stop);  // also when a test fails hard
    return { url, stop };
}

let counter = 0;
/** A fresh empty database on the server; returns its URL (the server's URL with the database name replaced). */
export function createDatabase(serverUrl) {
    const name = `happy_pg_${process.pid}_${++counter}`;
    psql(serverUrl, `CREATE DATABASE ${name} TEMPLATE template0`);
    const u = new URL(serverUrl);
    u.pathname = `/${name}`;
    return u.toString();
}

export { psql };
