// Key-value store: GET /v1/kv/:key, GET /v1/kv, POST /v1/kv/bulk, POST /v1/kv (http-api.md §3.10, §5 UserKVStore,
// §6.19) and the kv-batch-update update (realtime.md §3.2, §4): exact bodies, 409 conflicts, strict/lenient base64,
// the unescaped LIKE prefix, seq consumption and fan-out to user-scoped sockets only.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
    TEST_TIMEOUT, HOOK_TIMEOUT, LONG_HEARTBEAT_REALTIME, startRealtimeServer, authAccount, req, authReq, bearer, bodies,
    assertJson, assertKeyOrder, machineAuth, recordEvents, sleep, b64, named, until, assertEnvelope,
} from './harness.mjs';
import { clientsClosedAfterEach } from './clients.mjs';

const T = { timeout: TEST_TIMEOUT };

let srv;

before(async () => {
    srv = await startRealtimeServer(LONG_HEARTBEAT_REALTIME);
}, { timeout: HOOK_TIMEOUT });
after(async () => { if (srv) await srv.stop(); }, { timeout: HOOK_TIMEOUT });

const clients = clientsClosedAfterEach();

const { connect, app } = clients.at(() => srv.url);

const get = (acct, key) => authReq(srv.url, 'GET', `/v1/kv/${encodeURIComponent(key)}`, acct);
const list = (acct, qs = '') => authReq(srv.url, 'GET', `/v1/kv${qs}`, acct);
const bulk = (acct, keys) => authReq(srv.url, 'POST', '/v1/kv/bulk', acct, { body: { keys } });
const mutate = (acct, mutations) => authReq(srv.url, 'POST', '/v1/kv', acct, { body: { mutations } });

const notFound = { error: 'Key not found' };
const v = (s) => b64(Buffer.from(s));

test('POST /v1/kv: create, update, delete; results and one kv-batch-update per batch (values as sent)', T, async () => {
    const A = await authAccount(srv.url);
    const ui = await app(A);
    const daemon = await connect(machineAuth(A, 'm1'));
    const uiEv = recordEvents(ui);
    const dEv = recordEvents(daemon);

    const r1 = await mutate(A, [{ key: 'a', value: v('one'), version: -1 }, { key: 'b/c', value: null, version: -1 }]);
    assertJson(r1, 200, { success: true, results: [{ key: 'a', version: 0 }, { key: 'b/c', version: 0 }] });
    const [e1] = await until(() => named(uiEv, 'update').length && named(uiEv, 'update'), 3000, 'kv-batch-update');
    assertEnvelope(e1, 1, {
        t: 'kv-batch-update',
        changes: [{ key: 'a', value: v('one'), version: 0 }, { key: 'b/c', value: null, version: 0 }],
    });
    assertJson(await get(A, 'a'), 200, { key: 'a', value: v('one'), version: 0 });
    assertJson(await get(A, 'b/c'), 404, notFound, 'created deleted');

    const r2 = await mutate(A, [{ key: 'a', value: v('two'), version: 0 }, { key: 'b/c', value: v('x'), version: 0 }]);
    assertJson(r2, 200, { success: true, results: [{ key: 'a', version: 1 }, { key: 'b/c', version: 1 }] });
    assertJson(await get(A, 'b/c'), 200, { key: 'b/c', value: v('x'), version: 1 });

    // Delete with null and with "" (both store NULL); the event echoes the value as sent.
    const r3 = await mutate(A, [{ key: 'a', value: '', version: 1 }, { key: 'b/c', value: null, version: 1 }]);
    assertJson(r3, 200, { success: true, results: [{ key: 'a', version: 2 }, { key: 'b/c', version: 2 }] });
    await until(() => named(uiEv, 'update').length === 3, 3000, 'third update');
    assertEnvelope(named(uiEv, 'update')[2], 3, {
        t: 'kv-batch-update',
        changes: [{ key: 'a', value: '', version: 2 }, { key: 'b/c', value: null, version: 2 }],
    });
    assertJson(await get(A, 'a'), 404, notFound);
    // The deleted row keeps counting.
    assertJson(await mutate(A, [{ key: 'a', value: v('back'), version: 2 }]), 200,
        { success: true, results: [{ key: 'a', version: 3 }] });
    assertJson(await get(A, 'a'), 200, { key: 'a', value: v('back'), version: 3 });
    await sleep(100);
    assert.deepStrictEqual(named(dEv, 'update'), [], 'kv-batch-update is user-scoped only');
});

test('POST /v1/kv: any version mismatch is a 409 listing every conflict; nothing written, nothing emitted', T, async () => {
    const A = await authAccount(srv.url);
    await mutate(A, [{ key: 'x', value: v('X'), version: -1 }, { key: 'gone', value: v('G'), version: -1 }]);
    await mutate(A, [{ key: 'gone', value: null, version: 0 }]);
    const ui = await app(A);
    const uiEv = recordEvents(ui);
    const r = await mutate(A, [
        { key: 'x', value: v('X2'), version: 0 },        // ok
        { key: 'x2', value: v('new'), version: 0 },      // does not exist: current -1
        { key: 'x', value: v('X3'), version: -1 },       // exists
        { key: 'gone', value: v('g'), version: -1 },     // deleted row still has version 1
        { key: 'x', value: v('X4'), version: 0.5 },      // fractional never matches
    ]);
    assertJson(r, 409, {
        success: false,
        errors: [
            { key: 'x2', error: 'version-mismatch', version: -1, value: null },
            { key: 'x', error: 'version-mismatch', version: 0, value: v('X') },
            { key: 'gone', error: 'version-mismatch', version: 1, value: null },
            { key: 'x', error: 'version-mismatch', version: 0, value: v('X') },
        ],
    });
    assertJson(await get(A, 'x'), 200, { key: 'x', value: v('X'), version: 0 });
    await sleep(150);
    assert.deepStrictEqual(named(uiEv, 'update'), []);
});

test('POST /v1/kv: lenient decoding on insert, strict on update (500), duplicate inserts 500', T, async () => {
    const A = await authAccount(srv.url);
    const failed = { error: 'Failed to mutate values' };
    // Insert: Node's Buffer.from(…, 'base64') — URL-safe, whitespace, garbage all accepted.
    assertJson(await mutate(A, [{ key: 'u', value: '-_8', version: -1 }, { key: 'e', value: '!!!!', version: -1 }]), 200,
        { success: true, results: [{ key: 'u', version: 0 }, { key: 'e', version: 0 }] });
    assertJson(await get(A, 'u'), 200, { key: 'u', value: b64(Buffer.from([0xfb, 0xff])), version: 0 });
    // Zero bytes are a live (non-NULL) value: read back as "".
    assertJson(await get(A, 'e'), 200, { key: 'e', value: '', version: 0 });
    assertJson(await mutate(A, [{ key: 'e', value: v('?'), version: 5 }]), 409,
        { success: false, errors: [{ key: 'e', error: 'version-mismatch', version: 0, value: '' }] });
    // Update: privacy-kit's strict decoder; one bad value aborts the whole batch.
    assertJson(await mutate(A, [{ key: 'ok', value: v('ok'), version: -1 }, { key: 'u', value: '-_8=', version: 0 }]), 500, failed);
    assertJson(await get(A, 'ok'), 404, notFound, 'rolled back');
    assertJson(await get(A, 'u'), 200, { key: 'u', value: b64(Buffer.from([0xfb, 0xff])), version: 0 });
    // Duplicate keys are checked against the state before the batch.
    assertJson(await mutate(A, [{ key: 'd', value: v('1'), version: -1 }, { key: 'd', value: v('2'), version: -1 }]), 500, failed);
    assertJson(await get(A, 'd'), 404, notFound);
    await mutate(A, [{ key: 'd', value: v('1'), version: -1 }]);
    assertJson(await mutate(A, [{ key: 'd', value: v('2'), version: 0 }, { key: 'd', value: v('3'), version: 0 }]), 200,
        { success: true, results: [{ key: 'd', version: 1 }, { key: 'd', version: 1 }] });
    assertJson(await get(A, 'd'), 200, { key: 'd', value: v('3'), version: 1 });
});

test('POST /v1/kv validation (before auth)', T, async () => {
    const A = await authAccount(srv.url);
    const p = (body, headers = bearer(A.token)) => req(srv.url, 'POST', '/v1/kv', { headers, body });
    assertJson(await p({}), 400, bodies.validation('body/mutations Invalid input: expected array, received undefined'));
    assertJson(await p({ mutations: [] }), 400, bodies.validation('body/mutations Too small: expected array to have >=1 items'));
    const many = Array.from({ length: 101 }, (_, i) => ({ key: `k${i}`, value: null, version: -1 }));
    assertJson(await p({ mutations: many }), 400, bodies.validation('body/mutations Too big: expected array to have <=100 items'));
    assertJson(await p({ mutations: [{ key: 'k', version: -1 }] }), 400,
        bodies.validation('body/mutations/0/value Invalid input: expected string, received undefined'));
    assertJson(await p({ mutations: [{ key: 1, value: 2, version: '3' }] }), 400, bodies.validation(
        'body/mutations/0/key Invalid input: expected string, received number, body/mutations/0/value Invalid input: expected string, received number, ' +
        'body/mutations/0/version Invalid input: expected number, received string'));
    assertJson(await p({ mutations: [{ key: 'k', value: null }] }, {}), 400,
        bodies.validation('body/mutations/0/version Invalid input: expected number, received undefined'));
    assertJson(await p({ mutations: [{ key: 'k', value: null, version: -1 }] }, {}), 401, bodies.missingAuth);
});

test('GET /v1/kv/:key: 404 for missing, deleted and foreign keys; percent-decoded keys', T, async () => {
    const A = await authAccount(srv.url);
    const B = await authAccount(srv.url);
    await mutate(A, [{ key: 'settings/theme', value: v('dark'), version: -1 }, { key: 'sp ace', value: v('s'), version: -1 }]);
    assertJson(await get(A, 'settings/theme'), 200, { key: 'settings/theme', value: v('dark'), version: 0 });
    assertJson(await authReq(srv.url, 'GET', '/v1/kv/sp%20ace', A), 200, { key: 'sp ace', value: v('s'), version: 0 });
    assertJson(await get(A, 'nope'), 404, notFound);
    assertJson(await get(B, 'settings/theme'), 404, notFound);
    assertJson(await req(srv.url, 'GET', '/v1/kv/x'), 401, bodies.missingAuth);
    // An unencoded slash is another path.
    const r = await authReq(srv.url, 'GET', '/v1/kv/settings/theme', A);
    assertJson(r, 404, bodies.notFound('/v1/kv/settings/theme', 'GET'));
});

test('GET /v1/kv: live items by key, prefix is an unescaped LIKE (_ and % are wildcards), limit', T, async () => {
    const A = await authAccount(srv.url);
    const B = await authAccount(srv.url);
    assertJson(await list(A), 200, { items: [] });
    const keys = ['settings/b', 'settings/a', 'Settings/c', 'sXttings', 's_x', 'other', 'dead'];
    await mutate(A, keys.map((key) => ({ key, value: v(key), version: -1 })));
    await mutate(A, [{ key: 'dead', value: null, version: 0 }]);
    await mutate(B, [{ key: 'settings/zz', value: v('b'), version: -1 }]);
    const item = (key) => ({ key, value: v(key), version: 0 });
    assertJson(await list(A), 200, { items: ['Settings/c', 'other', 'sXttings', 's_x', 'settings/a', 'settings/b'].map(item) }, 'bytewise');
    assertJson(await list(A, '?prefix=settings/'), 200, { items: ['settings/a', 'settings/b'].map(item) });
    assertJson(await list(A, '?prefix=s_ttings'), 200, { items: ['sXttings', 'settings/a', 'settings/b'].map(item) });
    assertJson(await list(A, '?prefix=s%25%2Fb'), 200, { items: ['settings/b'].map(item) });
    assertJson(await list(A, '?prefix=s%5C_'), 200, { items: ['s_x'].map(item) }, 'backslash escapes');
    assertJson(await list(A, '?prefix='), 200, (await list(A)).json, 'empty prefix = no filter');
    assertJson(await list(A, '?limit=2'), 200, { items: ['Settings/c', 'other'].map(item) });
    assertJson(await list(A, '?prefix=settings&limit=1'), 200, { items: ['settings/a'].map(item) });
    assertJson(await list(A, '?limit=0'), 400, bodies.validation('querystring/limit Too small: expected number to be >=1'));
    assertJson(await list(A, '?limit=1001'), 400, bodies.validation('querystring/limit Too big: expected number to be <=1000'));
    assertJson(await list(A, '?limit=abc'), 400, bodies.validation('querystring/limit Invalid input: expected number, received NaN'));
    assertJson(await list(A, '?limit=1.5'), 400, bodies.validation('querystring/limit Invalid input: expected int, received number'));
    assertJson(await req(srv.url, 'GET', '/v1/kv'), 401, bodies.missingAuth);
});

test('POST /v1/kv/bulk: only live keys of the caller', T, async () => {
    const A = await authAccount(srv.url);
    const B = await authAccount(srv.url);
    await mutate(A, [{ key: 'a', value: v('1'), version: -1 }, { key: 'b', value: v('2'), version: -1 }, { key: 'c', value: v('3'), version: -1 }]);
    await mutate(A, [{ key: 'b', value: null, version: 0 }]);
    await mutate(B, [{ key: 'z', value: v('9'), version: -1 }]);
    const r = await bulk(A, ['c', 'b', 'a', 'missing', 'z']);
    assert.equal(r.status, 200);
    const values = [...r.json.values].sort((x, y) => (x.key < y.key ? -1 : 1));
    assert.deepStrictEqual(values, [{ key: 'a', value: v('1'), version: 0 }, { key: 'c', value: v('3'), version: 0 }]);
    assertKeyOrder(r.json, { values: [{ key: 0, value: 0, version: 0 }, { key: 0, value: 0, version: 0 }] });
    assertJson(await bulk(A, ['missing']), 200, { values: [] });
    assertJson(await bulk(A, []), 400, bodies.validation('body/keys Too small: expected array to have >=1 items'));
    assertJson(await bulk(A, Array.from({ length: 101 }, (_, i) => `k${i}`)), 400,
        bodies.validation('body/keys Too big: expected array to have <=100 items'));
    assertJson(await bulk(A, [1]), 400, bodies.validation('body/keys/0 Invalid input: expected string, received number'));
    assertJson(await req(srv.url, 'POST', '/v1/kv/bulk', { body: { keys: ['a'] } }), 401, bodies.missingAuth);
});
