// Two server processes on one PostgreSQL database, hammering the same rows at the same time (issue "Data layer for
// many instances", item 4): no lost update, no duplicate, contiguous seqs. Every read-check-write of the stores is a
// compare-and-set or rests on a unique key; these tests fail if one of them is a plain read-then-write.
//
// Runs on the throwaway cluster of HAPPY_TEST_DATABASE_URL when the suite runs on PostgreSQL, otherwise starts one
// of its own (pg.mjs), so it runs in both passes of the integration suite.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
    TEST_TIMEOUT, HOOK_TIMEOUT, TEST_SECRET, startServer, authAccount, authReq, expectStatus, uniq, b64,
} from './harness.mjs';
import { pgServer, createDatabase } from './pg.mjs';

const T = { timeout: TEST_TIMEOUT * 4 };
let pg;
let A, B; // the two server processes

before(async () => {
    pg = pgServer();
    const env = { DATABASE_URL: createDatabase(pg.url), HANDY_MASTER_SECRET: TEST_SECRET };
    // Started one after the other: the second finds the schema migrated (concurrent migration under the advisory
    // lock is tested in the plugin's unit tests); both then write the same database.
    A = await startServer({ env });
    B = await startServer({ env });
}, { timeout: HOOK_TIMEOUT });

after(async () => {
    await A?.stop();
    await B?.stop();
    pg?.stop();
}, { timeout: HOOK_TIMEOUT });

const on = (i) => (i % 2 === 0 ? A : B);

test('KV: concurrent compare-and-set on one key from both servers loses no update', T, async () => {
    const acct = await authAccount(A.url);
    const key = uniq('k');
    expectStatus(await authReq(A.url, 'POST', '/v1/kv', acct,
        { body: { mutations: [{ key, value: b64(Buffer.from('0')), version: -1 }] } }), 200);
    // 16 writers, each repeatedly: read the version on one server, write version+1 on the other.
    const wins = [];
    await Promise.all(Array.from({ length: 16 }, async (_, w) => {
        for (let round = 0; round < 6; round++) {
            const got = expectStatus(await authReq(on(w + round).url, 'GET', `/v1/kv/${key}`, acct), 200);
            const r = await authReq(on(w + round + 1).url, 'POST', '/v1/kv', acct,
                { body: { mutations: [{ key, value: b64(Buffer.from(`${w}.${round}`)), version: got.version }] } });
            const j = expectStatus(r, r.status === 409 ? 409 : 200);
            if (j.success) wins.push(j.results[0].version);
        }
    }));
    const final = expectStatus(await authReq(B.url, 'GET', `/v1/kv/${key}`, acct), 200);
    assert.ok(wins.length > 0, 'some writes won');
    assert.equal(final.version, wins.length, 'every successful write counted exactly once');
    assert.deepEqual([...wins].sort((x, y) => x - y), Array.from({ length: wins.length }, (_, i) => i + 1),
        'each version handed out once');
});

test('messages: the same localIds appended through both servers at once are stored once, seqs contiguous', T, async () => {
    const acct = await authAccount(A.url);
    const s = expectStatus(await authReq(A.url, 'POST', '/v1/sessions', acct, { body: { tag: uniq('t'), metadata: 'm' } }), 200).session;
    const p = `/v3/sessions/${s.id}/messages`;
    // 40 requests of 5 messages; localIds overlap between neighbours, so most are sent twice, to different servers.
    const acked = new Map();
    await Promise.all(Array.from({ length: 40 }, async (_, i) => {
        const messages = Array.from({ length: 5 }, (_, j) => ({ content: `c${i + j}`, localId: `l${(i * 3 + j) % 90}` }));
        const r = expectStatus(await authReq(on(i).url, 'POST', p, acct, { body: { messages } }), 200);
        for (const m of r.messages) {
            const prev = acked.get(m.localId);
            if (prev) assert.equal(prev.id, m.id, `localId ${m.localId} answered with two different messages`);
            acked.set(m.localId, m);
        }
    }));
    const all = [];
    for (let after = 0; ;) {
        const page = expectStatus(await authReq(B.url, 'GET', `${p}?after_seq=${after}&limit=500`, acct), 200);
        all.push(...page.messages);
        if (!page.hasMore) break;
        after = page.messages[page.messages.length - 1].seq;
    }
    assert.equal(all.length, acked.size, 'one stored message per distinct localId');
    assert.deepEqual(all.map((m) => m.seq), Array.from({ length: all.length }, (_, i) => i + 1), 'seqs 1..n, no gap');
    assert.equal(new Set(all.map((m) => m.localId)).size, all.length, 'no localId stored twice');
    for (const m of all) assert.equal(acked.get(m.localId).seq, m.seq, `acknowledged seq of ${m.localId} is the stored one`);
});

test('account settings: concurrent versioned updates from both servers, each version won once', T, async () => {
    const acct = await authAccount(A.url);
    const wins = [];
    await Promise.all(Array.from({ length: 12 }, async (_, w) => {
        for (let round = 0; round < 6; round++) {
            const cur = expectStatus(await authReq(on(w).url, 'GET', '/v1/account/settings', acct), 200);
            const r = expectStatus(await authReq(on(w + 1).url, 'POST', '/v1/account/settings', acct,
                { body: { settings: `s${w}.${round}`, expectedVersion: cur.settingsVersion } }), 200);
            if (r.success) wins.push(r.version);
            else assert.equal(r.error, 'version-mismatch');
        }
    }));
    const final = expectStatus(await authReq(A.url, 'GET', '/v1/account/settings', acct), 200);
    assert.ok(wins.length > 0);
    assert.equal(final.settingsVersion, wins.length, 'no lost update');
    assert.deepEqual([...wins].sort((x, y) => x - y), Array.from({ length: wins.length }, (_, i) => i + 1));
});

test('machines: create-or-load of one id through both servers at once yields one machine', T, async () => {
    const acct = await authAccount(A.url);
    const id = uniq('m');
    const got = await Promise.all(Array.from({ length: 16 }, (_, i) =>
        authReq(on(i).url, 'POST', '/v1/machines', acct, { body: { id, metadata: `meta${i}` } })));
    const machines = got.map((r) => expectStatus(r, 200).machine);
    assert.equal(new Set(machines.map((m) => m.createdAt)).size, 1, 'every answer is the same row');
    assert.equal(new Set(machines.map((m) => m.metadata)).size, 1, 'the first creator\'s metadata for everyone');
    const list = expectStatus(await authReq(B.url, 'GET', '/v1/machines', acct), 200);
    assert.equal(list.filter((m) => m.id === id).length, 1);
});

test('sessions: one tag created through both servers at once is one session', T, async () => {
    const acct = await authAccount(A.url);
    const tag = uniq('tag');
    const got = await Promise.all(Array.from({ length: 12 }, (_, i) =>
        authReq(on(i).url, 'POST', '/v1/sessions', acct, { body: { tag, metadata: `m${i}` } })));
    const ids = new Set(got.map((r) => expectStatus(r, 200).session.id));
    assert.equal(ids.size, 1, 'one session id for one tag');
});

test('sessions list: each server answers GET /v1/sessions with what the other wrote, at once', T, async () => {
    // Each server keeps encoded answers per list version; the version lives in the database, so a write through one
    // server must show in the other's very next answer, never an answer kept from before it.
    const acct = await authAccount(A.url);
    const list = async (srv) => expectStatus(await authReq(srv.url, 'GET', '/v1/sessions', acct), 200).sessions;
    const s = expectStatus(await authReq(B.url, 'POST', '/v1/sessions', acct, { body: { tag: uniq('t'), metadata: 'm' } }), 200).session;
    assert.deepEqual((await list(A)).map((x) => x.id), [s.id]);
    await list(B);
    // Appends through one server while the other polls: every answer shows at least the seq of every append
    // acknowledged before the poll was sent.
    let acked = 0;
    let stop = false;
    const writer = (async () => {
        for (let i = 0; i < 60; i++) {
            const r = await authReq(on(i).url, 'POST', `/v3/sessions/${s.id}/messages`, acct,
                { body: { messages: [{ content: `c${i}`, localId: `l${i}` }] } });
            acked = Math.max(acked, expectStatus(r, 200).messages[0].seq);
        }
        stop = true;
    })();
    let polls = 0;
    while (!stop) {
        const floor = acked;
        const srv = on(polls++ + 1);
        const row = (await list(srv)).find((x) => x.id === s.id);
        assert.ok(row.seq >= floor, `poll ${polls} saw seq ${row.seq} after seq ${floor} was acknowledged`);
    }
    await writer;
    assert.ok(polls > 5, 'the polls ran alongside the appends');
    for (const srv of [A, B]) assert.equal((await list(srv))[0].seq, 60);
    // Archive, create, delete through B, each read back through A (which has an answer kept from before each).
    await list(A);
    expectStatus(await authReq(B.url, 'POST', `/v1/sessions/${s.id}/archive`, acct), 200);
    assert.equal((await list(A))[0].active, false);
    const s2 = expectStatus(await authReq(B.url, 'POST', '/v1/sessions', acct, { body: { tag: uniq('t'), metadata: 'm2' } }), 200).session;
    assert.deepEqual((await list(A)).map((x) => x.id), [s2.id, s.id]);
    expectStatus(await authReq(B.url, 'DELETE', `/v1/sessions/${s.id}`, acct), 200);
    assert.deepEqual((await list(A)).map((x) => x.id), [s2.id]);
});
