// Presence writes are batched (realtime.md §5.2; upstream app/presence/sessionCache.ts): session-alive and
// machine-alive emit their ephemerals at once, but lastActiveAt/active reach the database only when the
// session-/machine-activity-flush job runs (every 5 s by default) or at graceful shutdown. Also: job schedules
// come from the config (`jobs.<name>.schedule` / `.enabled`), and a bad cron expression stops start-up.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import {
    SERVER_BIN, TEST_TIMEOUT, LONG_HEARTBEAT_REALTIME, startRealtimeServer, authAccount, authReq, userAuth, machineAuth,
    sessionAuth, recordEvents, sleep, makeTempDir, removeDir, writeConfigFile, until, uniq, createSession, named,
} from './harness.mjs';
import { clientsClosedAfterEach } from './clients.mjs';

const clients = clientsClosedAfterEach();
const dirs = [];
after(() => { for (const d of dirs) removeDir(d); });


const flushEvery = (schedule) => ({
    jobs: {
        'session-activity-flush': { schedule },
        'machine-activity-flush': { schedule },
    },
});

function api(srv, acct) {
    const call = (method, path, body) => authReq(srv.url, method, path, acct, { body });
    return {
        session: async (id) => (await call('GET', '/v1/sessions')).json.sessions.find((s) => s.id === id),
        machine: async (id) => (await call('GET', `/v1/machines/${id}`)).json.machine,
        newSession: () => createSession(srv.url, acct),
        newMachine: async (id) => (await call('POST', '/v1/machines', { id, metadata: 'm' })).json.machine,
    };
}


test('heartbeats are written by the flush job, not at once; visible via GET after the flush', { timeout: TEST_TIMEOUT }, async () => {
    const srv = await startRealtimeServer(LONG_HEARTBEAT_REALTIME, { config: flushEvery('* * * * * *') });
    try {
        const A = await authAccount(srv.url);
        const r = api(srv, A);
        const s = await r.newSession();
        const mid = uniq('machine');
        const m = await r.newMachine(mid);
        assert.equal(m.active, false, 'new machines start inactive');
        const cli = await clients.connect(srv.url, sessionAuth(A, s.id));
        const daemon = await clients.connect(srv.url, machineAuth(A, mid));
        // Connected after the daemon: its connect-time machine-activity is not recorded.
        const ui = await clients.connect(srv.url, userAuth(A));
        const ev = recordEvents(ui);

        // More than 30 s from the stored lastActiveAt: queued for the next flush.
        const tS = Date.now() - 45_000;
        const tM = m.activeAt + 1; // within 30 s, but the machine is inactive: queued anyway
        cli.emit('session-alive', { sid: s.id, time: tS });
        daemon.emit('machine-alive', { machineId: mid, time: tM });
        await until(() => named(ev, 'ephemeral').length === 2, 3000, 'both activity ephemerals');
        assert.deepStrictEqual(named(ev, 'ephemeral').find((e) => e.type === 'activity'),
            { type: 'activity', id: s.id, active: true, activeAt: tS, thinking: false });
        assert.deepStrictEqual(named(ev, 'ephemeral').find((e) => e.type === 'machine-activity'),
            { type: 'machine-activity', id: mid, active: true, activeAt: tM });

        const ses = await until(async () => { const x = await r.session(s.id); return x.activeAt === tS && x; },
            3000, 'session lastActiveAt flushed');
        assert.equal(ses.active, true);
        const mac = await until(async () => { const x = await r.machine(mid); return x.active && x; },
            3000, 'machine flushed');
        assert.equal(mac.activeAt, tM);

        // Within 30 s of the last written time: the ephemeral goes out, nothing is queued.
        const tS2 = tS + 10_000;
        cli.emit('session-alive', { sid: s.id, time: tS2 });
        await until(() => named(ev, 'ephemeral').length === 3, 3000, 'third ephemeral');
        await sleep(1300);
        assert.equal((await r.session(s.id)).activeAt, tS, 'below the 30 s threshold: not written');

        // A heartbeat queued just before session-end is dropped: the flush must not revive the session, and
        // heartbeats in the 60 s window after the end are ignored entirely (no ephemeral either).
        cli.emit('session-alive', { sid: s.id, time: Date.now() });
        await until(() => named(ev, 'ephemeral').length === 4, 3000, 'fourth ephemeral');
        const tEnd = Date.now();
        cli.emit('session-end', { sid: s.id, time: tEnd });
        await until(() => named(ev, 'ephemeral').length === 5, 3000, 'session-end ephemeral');
        cli.emit('session-alive', { sid: s.id, time: Date.now() });
        await sleep(1300);
        assert.equal(named(ev, 'ephemeral').length, 5, 'no activity ephemeral in the stopped window');
        const ended = await r.session(s.id);
        assert.deepEqual([ended.active, ended.activeAt], [false, tEnd]);
    } finally {
        await srv.stop();
    }
});

test('a schedule from the config is used; queued heartbeats are flushed at graceful shutdown', { timeout: TEST_TIMEOUT }, async () => {
    const dataDir = makeTempDir();
    dirs.push(dataDir);
    const env = { HANDY_MASTER_SECRET: 'presence-batching-secret', HAPPY_LOG_LEVEL: 'debug' };
    // Yearly flush: within this test heartbeats reach the database only through the shutdown flush.
    let srv = await startRealtimeServer(LONG_HEARTBEAT_REALTIME, { config: flushEvery('0 0 1 1 *'), env, dataDir });
    let tS;
    let tM;
    let sid;
    const mid = uniq('machine');
    let A;
    try {
        assert.ok(srv.stdoutLines.some((l) => l.includes('job scheduled') && l.includes('session-activity-flush') &&
            l.includes('0 0 1 1 *')), 'the configured schedule is the one used');
        A = await authAccount(srv.url);
        const r = api(srv, A);
        const s = await r.newSession();
        sid = s.id;
        await r.newMachine(mid);
        const ui = await clients.connect(srv.url, userAuth(A));
        const ev = recordEvents(ui);
        const cli = await clients.connect(srv.url, sessionAuth(A, sid));
        tS = Date.now() - 60_000;
        tM = Date.now() - 50_000;
        cli.emit('session-alive', { sid, time: tS });
        cli.emit('machine-alive', { machineId: mid, time: tM });
        await until(() => named(ev, 'ephemeral').length === 2, 3000, 'ephemerals');
        // Longer than the default 5 s period: still nothing written.
        await sleep(5500);
        assert.notEqual((await r.session(sid)).activeAt, tS);
        assert.equal((await r.machine(mid)).active, false);
    } finally {
        clients.closeAll();
        await srv.stop();
    }
    srv = await startRealtimeServer(LONG_HEARTBEAT_REALTIME, { env, dataDir });
    try {
        const r = api(srv, A);
        const ses = await r.session(sid);
        assert.deepEqual([ses.active, ses.activeAt], [true, tS], 'session heartbeat written at shutdown');
        const mac = await r.machine(mid);
        assert.deepEqual([mac.active, mac.activeAt], [true, tM], 'machine heartbeat written at shutdown');
    } finally {
        await srv.stop();
    }
});

function runToExit(config) {
    const dataDir = makeTempDir();
    dirs.push(dataDir);
    const r = spawnSync(SERVER_BIN, ['--config', writeConfigFile(config)], {
        env: { PATH: process.env.PATH, PORT: '0', HOST: '127.0.0.1', DATA_DIR: dataDir },
        encoding: 'utf8', timeout: 10_000, killSignal: 'SIGKILL',
    });
    return { code: r.status, stderr: r.stderr };
}

test('a bad job schedule or an unknown job stops start-up with exit code 2', { timeout: TEST_TIMEOUT }, () => {
    let r = runToExit({ jobs: { 'session-activity-flush': { schedule: '*/0 * * * * *' } } });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /configuration error: jobs\.session-activity-flush\.schedule: invalid cron expression "\*\/0 \* \* \* \* \*": second field "\*\/0": step "0" must be a positive number/);

    r = runToExit({ jobs: { 'machine-inactivity-sweep': { schedule: '0 0 31 2 *' } } });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /jobs\.machine-inactivity-sweep\.schedule: invalid cron expression "0 0 31 2 \*": the expression never fires/);

    r = runToExit({ jobs: { 'malloc-trim': { schedule: '* * *' } } });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /jobs\.malloc-trim\.schedule: invalid cron expression "\* \* \*": expected 5 fields/);

    r = runToExit({ jobs: { 'no-such-job': { enabled: false } } });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /jobs\.no-such-job: unknown key \(allowed here: malloc-trim, db-maintain, /);
});
