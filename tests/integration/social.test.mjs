// Users, friends and the feed (http-api.md §3.13, §6.20–22; realtime.md §3.2, §4; observed.md): public profiles,
// username search, the two-row relationship state machine between two and three accounts, feed items with their
// repeatKey and cursors, and the `new-feed-post` update that only the feed owner's apps receive (never
// `relationship-updated`). Usernames are set in the database directly: upstream sets them only through GitHub
// connect, which this server does not have yet.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
    TEST_TIMEOUT, HOOK_TIMEOUT, LONG_HEARTBEAT_REALTIME, startRealtimeServer, authAccount, req, authReq, bearer, bodies,
    assertJson, machineAuth, sessionAuth, recordEvents, sleep, TEST_SECRET, CUID_RE, named, until, assertEnvelope,
    ghostToken, sql, sqlJson,
} from './harness.mjs';
import { clientsClosedAfterEach } from './clients.mjs';

const T = { timeout: TEST_TIMEOUT };

let srv;

before(async () => {
    // exclusive off: sql() edits the live database (SQLite: with the sqlite3 tool; WAL: the server sees it on its next read).
    srv = await startRealtimeServer(LONG_HEARTBEAT_REALTIME,
        { env: { HANDY_MASTER_SECRET: TEST_SECRET }, config: { storage: { sqlite: { exclusive: false } } } });
}, { timeout: HOOK_TIMEOUT });
after(async () => { if (srv) await srv.stop(); }, { timeout: HOOK_TIMEOUT });

const clients = clientsClosedAfterEach();

const { connect, app } = clients.at(() => srv.url);

const getUser = (acct, id) => authReq(srv.url, 'GET', `/v1/user/${encodeURIComponent(id)}`, acct);
const search = (acct, qs) => authReq(srv.url, 'GET', `/v1/user/search${qs}`, acct);
const add = (acct, uid) => authReq(srv.url, 'POST', '/v1/friends/add', acct, { body: { uid } });
const remove = (acct, uid) => authReq(srv.url, 'POST', '/v1/friends/remove', acct, { body: { uid } });
const friends = (acct) => authReq(srv.url, 'GET', '/v1/friends', acct);
const feed = (acct, qs = '') => authReq(srv.url, 'GET', `/v1/feed${qs}`, acct);

const q = (v) => (v === null || v === undefined ? 'NULL' : `'${String(v).replace(/'/g, "''")}'`);
function setProfile(acct, { username = null, firstName = null, lastName = null, avatar = null } = {}) {
    sql(srv, `UPDATE account SET username = ${q(username)}, first_name = ${q(firstName)}, last_name = ${q(lastName)}, ` +
        `avatar = ${q(avatar && JSON.stringify(avatar))} WHERE id = ${q(acct.sub)}`);
}

/** UserProfile as upstream sends it for an account without GitHub. */
const profileOf = (acct, status, { username = '', firstName = '', lastName = null, avatar = null } = {}) =>
    ({ id: acct.sub, firstName, lastName, avatar, username, bio: null, status });

/** The REST feed item and the `new-feed-post` update body of one post. */
const feedItem = (update, repeatKey) => ({
    id: update.id, body: { kind: update.body.kind, uid: update.body.uid }, repeatKey, cursor: update.cursor,
    createdAt: update.createdAt,
});
function assertFeedUpdate(env, seq, kind, uid, cursor) {
    assertEnvelope(env, seq, { t: 'new-feed-post', id: env.body.id, body: { uid, kind }, cursor, createdAt: env.body.createdAt });
    assert.match(env.body.id, CUID_RE);
    assert.ok(Math.abs(env.body.createdAt - Date.now()) < 10_000);
}

// --- profiles and search ---------------------------------------------------------------------------------------

test('GET /v1/user/:id: any account, UserProfile shape and key order, status as the caller sees it, 404', T, async () => {
    const A = await authAccount(srv.url);
    const B = await authAccount(srv.url);
    assertJson(await getUser(A, B.sub), 200, { user: profileOf(B, 'none') });
    assertJson(await getUser(A, A.sub), 200, { user: profileOf(A, 'none') });
    setProfile(B, {
        username: 'bob_' + B.sub.slice(-6), firstName: 'Bob', lastName: 'Builder',
        avatar: { thumbhash: 'th', width: 64, path: 'public/users/b.png', height: 32, extra: 1 },
    });
    assertJson(await getUser(A, B.sub), 200, {
        user: profileOf(B, 'none', {
            username: 'bob_' + B.sub.slice(-6), firstName: 'Bob', lastName: 'Builder',
            avatar: { path: 'public/users/b.png', url: `http://localhost:${srv.port}/files/public/users/b.png`, width: 64, height: 32, thumbhash: 'th' },
        }),
    });
    setProfile(B, { avatar: { path: 'p.png' } });
    assertJson(await getUser(A, B.sub), 200, {
        user: profileOf(B, 'none', { avatar: { path: 'p.png', url: `http://localhost:${srv.port}/files/p.png` } }),
    });
    assertJson(await getUser(A, 'cunknown000000000000000000'), 404, { error: 'User not found' });
    assertJson(await getUser(A, 'x'.repeat(101)), 404, bodies.notFound(`/v1/user/${'x'.repeat(101)}`, 'GET'));
    assertJson(await req(srv.url, 'GET', `/v1/user/${B.sub}`), 401, bodies.missingAuth);
    // A token whose account is gone still reads profiles.
    assertJson(await req(srv.url, 'GET', `/v1/user/${A.sub}`, { headers: bearer(ghostToken()) }), 200, { user: profileOf(A, 'none') });
});

test('GET /v1/user/search: case-insensitive username prefix, bytewise order, 10 results, LIKE wildcards, status', T, async () => {
    const tag = `s${Date.now().toString(36)}`;
    const accts = [];
    for (let i = 0; i < 12; i++) accts.push(await authAccount(srv.url));
    const [A, B, C] = accts;
    setProfile(A, { username: `${tag}_alice` });
    setProfile(B, { username: `${tag.toUpperCase()}_ALFRED` });
    setProfile(C, { username: `${tag}xbob` });
    for (let i = 3; i < 12; i++) setProfile(accts[i], { username: `${tag}_zed${String(i).padStart(2, '0')}` });
    const names = async (query) => {
        const r = await search(A, `?query=${encodeURIComponent(query)}`);
        assert.equal(r.status, 200, r.text);
        assert.deepStrictEqual(Object.keys(r.json), ['users']);
        return r.json.users.map((u) => u.username);
    };
    assert.deepStrictEqual(await names(`${tag}_al`), [`${tag.toUpperCase()}_ALFRED`, `${tag}_alice`]);
    assert.deepStrictEqual(await names(`${tag.toUpperCase()}_AL`), [`${tag.toUpperCase()}_ALFRED`, `${tag}_alice`]);
    const all = await names(tag);
    assert.equal(all.length, 10);
    assert.deepStrictEqual(all, [`${tag.toUpperCase()}_ALFRED`, `${tag}_alice`, ...[3, 4, 5, 6, 7, 8, 9, 10].map((i) => `${tag}_zed${String(i).padStart(2, '0')}`)]);
    // `_` is a one-character wildcard (so `<tag>_` also matches `<tag>xbob`); `\_` is a literal underscore.
    assert.ok((await names(`${tag}_b`)).includes(`${tag}xbob`));
    assert.deepStrictEqual(await names(`${tag}\\_b`), []);
    assert.deepStrictEqual(await names(`${tag}%bob`), [`${tag}xbob`]);
    assert.deepStrictEqual(await names(`${tag}nomatch`), []);
    // Whole profiles, including the caller and the caller's relationship to each.
    assertJson(await add(A, C.sub), 200, { user: profileOf(C, 'requested', { username: `${tag}xbob` }) });
    assertJson(await search(A, `?query=${tag}x`), 200, { users: [profileOf(C, 'requested', { username: `${tag}xbob` })] });
    assertJson(await search(C, `?query=${tag}_ali`), 200, { users: [profileOf(A, 'pending', { username: `${tag}_alice` })] });
    assertJson(await search(A, `?query=${tag}_ali`), 200, { users: [profileOf(A, 'none', { username: `${tag}_alice` })] });
    // Empty query: every account with a username (at most 10).
    const r = await search(A, '?query=');
    assert.equal(r.status, 200);
    assert.equal(r.json.users.length, 10);
    assert.ok(r.json.users.every((u) => u.username !== ''));
    assertJson(await search(A, ''), 400, bodies.validation('querystring/query Invalid input: expected string, received undefined'));
    assertJson(await search(A, '?query=a&query=b'), 400, bodies.validation('querystring/query Invalid input: expected string, received array'));
    assertJson(await req(srv.url, 'GET', '/v1/user/search?query=a'), 401, bodies.missingAuth);
});

// --- the state machine over REST, with the updates on both accounts' sockets -------------------------------

test('request, accept, unfriend, re-accept between two accounts: bodies, friends lists, feeds, updates', T, async () => {
    const A = await authAccount(srv.url);
    const B = await authAccount(srv.url);
    const [uiA, uiB] = [await app(A), await app(B)];
    const daemonB = await connect(machineAuth(B, 'mB'));
    const cliB = await connect(sessionAuth(B, 'sB'));
    const [evA, evB, evDaemonB, evCliB] = [uiA, uiB, daemonB, cliB].map(recordEvents);

    // A asks B.
    assertJson(await add(A, B.sub), 200, { user: profileOf(B, 'requested') });
    const [req1] = await until(() => named(evB, 'update').length && named(evB, 'update'), 3000, 'new-feed-post to B');
    assertFeedUpdate(req1, 1, 'friend_request', A.sub, '0-1');
    assertJson(await getUser(A, B.sub), 200, { user: profileOf(B, 'requested') });
    assertJson(await getUser(B, A.sub), 200, { user: profileOf(A, 'pending') });
    assertJson(await friends(A), 200, { friends: [profileOf(B, 'requested')] });
    assertJson(await friends(B), 200, { friends: [profileOf(A, 'pending')] });
    assertJson(await feed(B), 200, { items: [feedItem(req1.body, `friend_request_${A.sub}`)], hasMore: false });
    assertJson(await feed(A), 200, { items: [], hasMore: false });
    // Asking again changes nothing and posts nothing.
    assertJson(await add(A, B.sub), 200, { user: profileOf(B, 'requested') });

    // B accepts: A gets friend_accepted; B (notified a moment ago) gets nothing.
    assertJson(await add(B, A.sub), 200, { user: profileOf(A, 'friend') });
    const [acc1] = await until(() => named(evA, 'update').length && named(evA, 'update'), 3000, 'new-feed-post to A');
    assertFeedUpdate(acc1, 1, 'friend_accepted', B.sub, '0-1');
    assertJson(await feed(A), 200, { items: [feedItem(acc1.body, `friend_accepted_${B.sub}`)], hasMore: false });
    assertJson(await friends(A), 200, { friends: [profileOf(B, 'friend')] });
    assertJson(await friends(B), 200, { friends: [profileOf(A, 'friend')] });
    assertJson(await add(A, B.sub), 200, { user: profileOf(B, 'friend') });

    // A unfriends: A's row pending, B's requested; the answer says `requested` (sic).
    assertJson(await remove(A, B.sub), 200, { user: profileOf(B, 'requested') });
    assertJson(await getUser(A, B.sub), 200, { user: profileOf(B, 'pending') });
    assertJson(await friends(A), 200, { friends: [profileOf(B, 'pending')] });
    assertJson(await friends(B), 200, { friends: [profileOf(A, 'requested')] });
    // A adds B back: B's standing request is accepted; everyone was notified within 24 h ⇒ no items.
    assertJson(await add(A, B.sub), 200, { user: profileOf(B, 'friend') });
    assertJson(await friends(B), 200, { friends: [profileOf(A, 'friend')] });

    // B unfriends (A's row becomes requested), then A withdraws that request → rejected.
    assertJson(await remove(B, A.sub), 200, { user: profileOf(A, 'requested') });
    assertJson(await remove(A, B.sub), 200, { user: profileOf(B, 'rejected') });
    assertJson(await friends(A), 200, { friends: [] });
    assertJson(await friends(B), 200, { friends: [profileOf(A, 'pending')] });
    // B's pending row cannot be accepted any more (A's row is not `requested`): unchanged.
    assertJson(await add(B, A.sub), 200, { user: profileOf(A, 'pending') });
    // B declines: B's row → none, A's rejected row stays.
    assertJson(await remove(B, A.sub), 200, { user: profileOf(A, 'none') });
    assertJson(await getUser(A, B.sub), 200, { user: profileOf(B, 'rejected') });
    assertJson(await friends(B), 200, { friends: [] });
    assertJson(await remove(B, A.sub), 200, { user: profileOf(A, 'none') });

    await sleep(200);
    assert.equal(named(evA, 'update').length, 1);
    assert.equal(named(evB, 'update').length, 1);
    for (const ev of [evA, evB]) {
        assert.deepStrictEqual(ev.filter((e) => e.event !== 'update'), [], 'no other events (no relationship-updated, no ephemerals)');
    }
    assert.deepStrictEqual(evDaemonB, [], 'machine-scoped sockets get no feed updates');
    assert.deepStrictEqual(evCliB, [], 'session-scoped sockets get no feed updates');
});

test('three accounts: requests, acceptance and unfriending stay pairwise; each feed update reaches only its owner', T, async () => {
    const A = await authAccount(srv.url);
    const B = await authAccount(srv.url);
    const C = await authAccount(srv.url);
    const [evA, evB, evC] = (await Promise.all([A, B, C].map(app))).map(recordEvents);
    const updates = (ev) => named(ev, 'update');

    assertJson(await add(A, B.sub), 200, { user: profileOf(B, 'requested') });
    assertJson(await add(A, C.sub), 200, { user: profileOf(C, 'requested') });
    assertJson(await add(C, A.sub), 200, { user: profileOf(A, 'friend') });
    assertJson(await add(B, C.sub), 200, { user: profileOf(C, 'requested') });
    await until(() => updates(evA).length === 1 && updates(evB).length === 1 && updates(evC).length === 2, 3000, 'updates');
    assertFeedUpdate(updates(evB)[0], 1, 'friend_request', A.sub, '0-1');
    assertFeedUpdate(updates(evC)[0], 1, 'friend_request', A.sub, '0-1');
    assertFeedUpdate(updates(evA)[0], 1, 'friend_accepted', C.sub, '0-1');
    assertFeedUpdate(updates(evC)[1], 2, 'friend_request', B.sub, '0-2');

    assertJson(await friends(A), 200, { friends: [profileOf(B, 'requested'), profileOf(C, 'friend')] });
    assertJson(await friends(B), 200, { friends: [profileOf(A, 'pending'), profileOf(C, 'requested')] });
    assertJson(await friends(C), 200, { friends: [profileOf(A, 'friend'), profileOf(B, 'pending')] });
    assertJson(await feed(C), 200, {
        items: [feedItem(updates(evC)[1].body, `friend_request_${B.sub}`), feedItem(updates(evC)[0].body, `friend_request_${A.sub}`)],
        hasMore: false,
    });

    // C unfriends A; B's relations do not move.
    assertJson(await remove(C, A.sub), 200, { user: profileOf(A, 'requested') });
    assertJson(await friends(A), 200, { friends: [profileOf(B, 'requested'), profileOf(C, 'requested')] });
    assertJson(await friends(B), 200, { friends: [profileOf(A, 'pending'), profileOf(C, 'requested')] });
    assertJson(await friends(C), 200, { friends: [profileOf(A, 'pending'), profileOf(B, 'pending')] });
    // B accepts A: B's row was notified at A's request (within 24 h) ⇒ only A gets an item.
    assertJson(await add(B, A.sub), 200, { user: profileOf(A, 'friend') });
    await until(() => updates(evA).length === 2, 3000, 'A second update');
    assertFeedUpdate(updates(evA)[1], 2, 'friend_accepted', B.sub, '0-2');
    await sleep(200);
    assert.equal(updates(evB).length, 1);
    assert.equal(updates(evC).length, 2);
});

test('friend_request after the 24 h cooldown replaces the earlier item (repeatKey) under a new counter', T, async () => {
    const A = await authAccount(srv.url);
    const B = await authAccount(srv.url);
    const evB = recordEvents(await app(B));
    assertJson(await add(A, B.sub), 200, { user: profileOf(B, 'requested') });
    const [first] = await until(() => named(evB, 'update').length && named(evB, 'update'), 3000, 'first');
    // Withdraw and ask again at once: B's row is still pending and was notified now ⇒ no new item.
    assertJson(await remove(A, B.sub), 200, { user: profileOf(B, 'rejected') });
    assertJson(await add(A, B.sub), 200, { user: profileOf(B, 'requested') });
    await sleep(150);
    assert.equal(named(evB, 'update').length, 1);
    // A day later (moved back in the database) it is due again.
    sql(srv, `UPDATE user_relationship SET last_notified_at = last_notified_at - 86400001 WHERE from_user_id = ${q(B.sub)}`);
    assertJson(await remove(A, B.sub), 200, { user: profileOf(B, 'rejected') });
    assertJson(await add(A, B.sub), 200, { user: profileOf(B, 'requested') });
    const second = await until(() => named(evB, 'update')[1], 3000, 'second');
    assertFeedUpdate(second, 2, 'friend_request', A.sub, '0-2');
    assert.notEqual(second.body.id, first.body.id);
    assertJson(await feed(B), 200, { items: [feedItem(second.body, `friend_request_${A.sub}`)], hasMore: false });
});

test('POST /v1/friends/add and /remove: self, unknown ids, a token whose account is gone, bad bodies', T, async () => {
    const A = await authAccount(srv.url);
    const B = await authAccount(srv.url);
    const evA = recordEvents(await app(A));
    assertJson(await add(A, A.sub), 200, { user: null });
    assertJson(await add(A, 'cunknown000000000000000000'), 200, { user: null });
    assertJson(await add(A, ''), 200, { user: null });
    assertJson(await remove(A, 'cunknown000000000000000000'), 200, { user: null });
    // Removing oneself is allowed: the caller's own profile with `none`.
    assertJson(await remove(A, A.sub), 200, { user: profileOf(A, 'none') });
    assertJson(await req(srv.url, 'POST', '/v1/friends/add', { headers: bearer(ghostToken()), body: { uid: B.sub } }), 200, { user: null });
    assertJson(await req(srv.url, 'POST', '/v1/friends/remove', { headers: bearer(ghostToken()), body: { uid: B.sub } }), 200, { user: null });
    assertJson(await friends(B), 200, { friends: [] });
    for (const p of ['/v1/friends/add', '/v1/friends/remove']) {
        assertJson(await authReq(srv.url, 'POST', p, A, { body: {} }), 400,
            bodies.validation('body/uid Invalid input: expected string, received undefined'));
        assertJson(await authReq(srv.url, 'POST', p, A, { body: { uid: 7 } }), 400,
            bodies.validation('body/uid Invalid input: expected string, received number'));
        assertJson(await authReq(srv.url, 'POST', p, A, { body: { uid: null } }), 400,
            bodies.validation('body/uid Invalid input: expected string, received null'));
        // Validation runs before authentication.
        assertJson(await req(srv.url, 'POST', p, { body: {} }), 400,
            bodies.validation('body/uid Invalid input: expected string, received undefined'));
        assertJson(await req(srv.url, 'POST', p, { body: { uid: B.sub } }), 401, bodies.missingAuth);
    }
    assertJson(await req(srv.url, 'GET', '/v1/friends'), 401, bodies.missingAuth);
    await sleep(100);
    assert.deepStrictEqual(evA, []);
});

// --- feed pages ---------------------------------------------------------------------------------------------

test('GET /v1/feed: newest first, default limit 50, before/after cursors, hasMore', T, async () => {
    const A = await authAccount(srv.url);
    const others = [];
    for (let i = 0; i < 5; i++) others.push(await authAccount(srv.url));
    for (const o of others) assertJson(await add(o, A.sub), 200, { user: profileOf(A, 'requested') });
    const all = (await feed(A)).json.items;
    assert.deepStrictEqual(all.map((i) => i.cursor), ['0-5', '0-4', '0-3', '0-2', '0-1']);
    assert.deepStrictEqual(all.map((i) => i.body.uid), others.map((o) => o.sub).reverse());
    for (const [n, i] of all.entries()) {
        assert.deepStrictEqual(Object.keys(i), ['id', 'body', 'repeatKey', 'cursor', 'createdAt']);
        assert.deepStrictEqual(i.body, { kind: 'friend_request', uid: others[4 - n].sub });
        assert.deepStrictEqual(Object.keys(i.body), ['kind', 'uid']);
        assert.equal(i.repeatKey, `friend_request_${others[4 - n].sub}`);
    }
    assertJson(await feed(A, '?limit=2'), 200, { items: all.slice(0, 2), hasMore: true });
    assertJson(await feed(A, '?limit=2&before=0-4'), 200, { items: all.slice(2, 4), hasMore: true });
    assertJson(await feed(A, '?limit=2&before=0-2'), 200, { items: all.slice(4), hasMore: false });
    assertJson(await feed(A, '?limit=3&before=0-4'), 200, { items: all.slice(2), hasMore: false });
    // `after` is newest first too: the newest items above the cursor.
    assertJson(await feed(A, '?limit=2&after=0-1'), 200, { items: all.slice(0, 2), hasMore: true });
    assertJson(await feed(A, '?after=0-3'), 200, { items: all.slice(0, 2), hasMore: false });
    assertJson(await feed(A, '?after=0-5'), 200, { items: [], hasMore: false });
    // `before` wins; parseInt leniency.
    assertJson(await feed(A, '?before=0-3&after=0-4'), 200, { items: all.slice(3), hasMore: false });
    assertJson(await feed(A, '?before=0-3xyz'), 200, { items: all.slice(3), hasMore: false });
    assertJson(await feed(A, '?before=0-0'), 200, { items: [], hasMore: false });
    assertJson(await feed(A, '?limit=200'), 200, { items: all, hasMore: false });

    // 55 items: the default page is 50.
    sql(srv, `WITH RECURSIVE n(i) AS (SELECT 6 UNION ALL SELECT i + 1 FROM n WHERE i < 55) ` +
        `INSERT INTO user_feed_item (id, user_id, counter, repeat_key, body, created_at, updated_at) ` +
        `SELECT 'cfill' || i, ${q(A.sub)}, i, NULL, ${sqlJson(`'{"kind":"text","text":"t' || i || '"}'`)}, 1000 + i, ` +
        `1000 + i FROM n`);
    const page = await feed(A);
    assert.equal(page.status, 200);
    assert.equal(page.json.items.length, 50);
    assert.equal(page.json.hasMore, true);
    assert.deepStrictEqual(page.json.items[0], { id: 'cfill55', body: { kind: 'text', text: 't55' }, repeatKey: null, cursor: '0-55', createdAt: 1055 });
    assert.equal(page.json.items[49].cursor, '0-6');
    assertJson(await feed(A, '?before=0-6'), 200, { items: all, hasMore: false });
});

test('GET /v1/feed: bad limits are 400s, malformed cursors the generic 500, other accounts are invisible', T, async () => {
    const A = await authAccount(srv.url);
    const v = (m) => bodies.validation(m);
    assertJson(await feed(A, '?limit=0'), 400, v('querystring/limit Too small: expected number to be >=1'));
    assertJson(await feed(A, '?limit=201'), 400, v('querystring/limit Too big: expected number to be <=200'));
    assertJson(await feed(A, '?limit=abc'), 400, v('querystring/limit Invalid input: expected number, received NaN'));
    assertJson(await feed(A, '?limit=1.5'), 400, v('querystring/limit Invalid input: expected int, received number'));
    assertJson(await feed(A, '?before=a&before=b'), 400, v('querystring/before Invalid input: expected string, received array'));
    for (const c of ['', '5', '1-5', '0-', '0-abc', 'cursor']) {
        assertJson(await feed(A, `?before=${encodeURIComponent(c)}`), 500, bodies.internal, `before=${c}`);
        assertJson(await feed(A, `?after=${encodeURIComponent(c)}`), 500, bodies.internal, `after=${c}`);
    }
    // B's items (posted by A's request) are not in A's feed.
    const B = await authAccount(srv.url);
    assertJson(await add(A, B.sub), 200, { user: profileOf(B, 'requested') });
    assert.equal((await feed(B)).json.items.length, 1);
    assertJson(await feed(A, '?limit=1'), 200, { items: [], hasMore: false });
    assertJson(await feed(A, '?after=0-0'), 200, { items: [], hasMore: false });
    assertJson(await req(srv.url, 'GET', '/v1/feed'), 401, bodies.missingAuth);
});
