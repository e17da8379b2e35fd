// PostgreSQL for the integration tests: the server HAPPY_TEST_DATABASE_URL names, or a throwaway cluster started with
// scripts/pg_test_cluster.sh (temp dir, free loopback port) and removed by stop(). Databases are made with psql
// (Debian's postgresql-client, installed with the postgresql package by scripts/setup.sh).

import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { REPO_ROOT } from './harness.mjs';

const SCRIPT = path.join(REPO_ROOT, 'scripts/pg_test_cluster.sh');

/** {url, stop()}: a server the tests may create databases on. */
export function pgServer() {
    if (process.env.HAPPY_TEST_DATABASE_URL) {
        return { url: process.env.HAPPY_TEST_DATABASE_URL, stop() {} };
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

/** Runs SQL on the database `url` names; returns psql's unaligned output, trimmed. */
export function psql(url, sql) {
    const r = spawnSync('psql', ['-X', '-q', '-A', '-t', '-v', 'ON_ERROR_STOP=1', url, '-c', sql], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`psql ${sql}: ${r.stderr}`);
    return r.stdout.trim();
}

let counter = 0;
/** A fresh empty database on the server; returns its URL (the server's URL with the database name replaced). */
export function createDatabase(serverUrl) {
    const name = `happy_it_${process.pid}_${++counter}`;
    psql(serverUrl, `DROP DATABASE IF EXISTS ${name}`);
    psql(serverUrl, `CREATE DATABASE ${name} TEMPLATE template0`);
    const u = new URL(serverUrl);
    u.pathname = `/${name}`;
    return u.toString();
}
