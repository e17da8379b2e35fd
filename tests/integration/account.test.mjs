// Account (http-api.md §3.11, §6, Appendix A; realtime.md §3.1–3.2, §4): GET /v1/account/profile,
// GET/POST /v1/account/settings with upstream's version-mismatch (HTTP 200) and literal 500 bodies, and the
// `update-account` update the apps (only they) receive, with its per-account seq.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
    TEST_TIMEOUT, HOOK_TIMEOUT, LONG_HEARTBEAT_REALTIME, startRealtimeServer, authAccount, req, authReq, bearer, bodies,
    assertJson, machineAuth, sessionAuth, recordEvents, TEST_SECRET, named, until, assertEnvelope, ghostToken,
    roundTrip,
} from './harness.mjs';
import { clientsClosedAfterEach } from './clients.mjs';

const T = { timeout: TEST_TIMEOUT };

let srv;

before(async () => {
    srv = await startRealtimeServer(LONG_HEARTBEAT_REALTIME, { env: { HANDY_MASTER_SECRET: TEST_SECRET } });
}, { timeout: HOOK_TIMEOUT });
after(async () => { if (srv) await srv.stop(); }, { timeout: HOOK_TIMEOUT });

const clients = clientsClosedAfterEach();

const { connect, app } = clients.at(() => srv.url);

const profile = (acct) => authReq(srv.url, 'GET', '/v1/account/profile', acct);
const getSettings = (acct) => authReq(srv.url, 'GET', '/v1/account/settings', acct);
const postSettings = (acct, body) => authReq(srv.url, 'POST', '/v1/account/settings', acct, { body });

// --- profile ------------------------------------------------------------------------------------------------

test('GET /v1/account/profile of a fresh account: nulls, no GitHub, no avatar, no services, server time', T, async () => {
    const A = await authAccount(srv.url);
    const t0 = Date.now();
    const r = await profile(A);
    const t1 = Date.now();
    assert.ok(r.json.timestamp >= t0 && r.json.timestamp <= t1, `timestamp ${r.json.timestamp} in [${t0}, ${t1}]`);
    assertJson(r, 200, {
        id: A.sub, timestamp: r.json.timestamp, firstName: null, lastName: null, username: null, avatar: null,
        github: null, connectedServices: [],
    });
    // Settings changes do not show up in the profile.
    assertJson(await postSettings(A, { settings: 'x', expectedVersion: 0 }), 200, { success: true, version: 1 });
    const again = await profile(A);
    assert.deepStrictEqual(Object.keys(again.json), ['id', 'timestamp', 'firstName', 'lastName', 'username', 'avatar', 'github', 'connectedServices']);
    assert.equal(again.json.id, A.sub);
});

test('GET /v1/account/profile: 401s, and the generic 500 for a valid token whose account does not exist', T, async () => {
    assertJson(await req(srv.url, 'GET', '/v1/account/profile'), 401, bodies.missingAuth);
    assertJson(await req(srv.url, 'GET', '/v1/account/profile', { headers: { authorization: 'Bearer nope' } }), 401, bodies.invalidToken);
    assertJson(await req(srv.url, 'GET', '/v1/account/profile', { headers: bearer(ghostToken()) }), 500, bodies.internal);
    const head = await authReq(srv.url, 'HEAD', '/v1/account/profile', await authAccount(srv.url));
    assert.equal(head.status, 200);
    assert.equal(head.text, '');
});

// --- settings -----------------------------------------------------------------------------------------------

test('GET /v1/account/settings starts at {settings: null, settingsVersion: 0}', T, async () => {
    const A = await authAccount(srv.url);
    assertJson(await getSettings(A), 200, { settings: null, settingsVersion: 0 });
});

test('POST /v1/account/settings: versioned update, GET reflects it, update-account to the apps only with the next seq', T, async () => {
    const A = await authAccount(srv.url);
    const B = await authAccount(srv.url);
    const ui = await app(A);
    const implicitUi = await connect({ token: A.token }); // no clientType: routed as user-scoped
    const cliSock = await connect(sessionAuth(A, 'some-session'));
    const daemon = await connect(machineAuth(A, 'some-machine'));
    const otherUi = await app(B);
    const [uiEv, implicitEv, cliEv, daemonEv, otherEv] = [ui, implicitUi, cliSock, daemon, otherUi].map(recordEvents);

    assertJson(await postSettings(A, { settings: 'enc-v1', expectedVersion: 0, extra: true }), 200, { success: true, version: 1 });
    assertJson(await getSettings(A), 200, { settings: 'enc-v1', settingsVersion: 1 });
    const [env] = await until(() => named(uiEv, 'update').length && named(uiEv, 'update'), 3000, 'update-account');
    assertEnvelope(env, 1, { t: 'update-account', id: A.sub, settings: { value: 'enc-v1', version: 1 } });
    const [env2] = await until(() => named(implicitEv, 'update').length && named(implicitEv, 'update'), 3000, 'implicit');
    assert.equal(env2.id, env.id, 'one update, fanned out');

    assertJson(await postSettings(A, { settings: 'enc-v2', expectedVersion: 1 }), 200, { success: true, version: 2 });
    await until(() => named(uiEv, 'update').length === 2, 3000, 'second update');
    assertEnvelope(named(uiEv, 'update')[1], 2, { t: 'update-account', id: A.sub, settings: { value: 'enc-v2', version: 2 } });

    // Both updates were fanned out before their responses: once each socket has answered a ping, it has
    // received everything queued for it.
    await Promise.all([cliSock, daemon, otherUi].map((sock) => roundTrip(sock)));
    assert.deepStrictEqual(cliEv, [], 'session-scoped sockets get nothing');
    assert.deepStrictEqual(daemonEv, [], 'machine-scoped sockets get nothing');
    assert.deepStrictEqual(otherEv, [], 'other accounts get nothing');
    assertJson(await getSettings(B), 200, { settings: null, settingsVersion: 0 });
});

test('POST /v1/account/settings version mismatch is HTTP 200 with the stored state, changes nothing and emits nothing', T, async () => {
    const A = await authAccount(srv.url);
    const ui = await app(A);
    const uiEv = recordEvents(ui);
    const mismatch0 = { success: false, error: 'version-mismatch', currentVersion: 0, currentSettings: null };
    assertJson(await postSettings(A, { settings: 'x', expectedVersion: 1 }), 200, mismatch0);
    assertJson(await postSettings(A, { settings: 'x', expectedVersion: 9007199254740991 }), 200, mismatch0);
    assertJson(await postSettings(A, { settings: 's1', expectedVersion: 0 }), 200, { success: true, version: 1 });
    assertJson(await postSettings(A, { settings: 'late', expectedVersion: 0 }), 200,
        { success: false, error: 'version-mismatch', currentVersion: 1, currentSettings: 's1' });
    assertJson(await getSettings(A), 200, { settings: 's1', settingsVersion: 1 });
    // An empty string is stored and reported as such (only upstream's lost-race re-read turns it into null).
    assertJson(await postSettings(A, { settings: '', expectedVersion: 1 }), 200, { success: true, version: 2 });
    assertJson(await postSettings(A, { settings: 'y', expectedVersion: 1 }), 200,
        { success: false, error: 'version-mismatch', currentVersion: 2, currentSettings: '' });
    assertJson(await getSettings(A), 200, { settings: '', settingsVersion: 2 });
    // Two updates were emitted (seq 1, 2); the mismatches consumed no seq.
    await until(() => named(uiEv, 'update').length === 2, 3000, 'two updates');
    assert.deepStrictEqual(named(uiEv, 'update').map((e) => e.seq), [1, 2]);
    assert.deepStrictEqual(named(uiEv, 'update').map((e) => e.body.settings), [{ value: 's1', version: 1 }, { value: '', version: 2 }]);
});

test('POST /v1/account/settings with null clears the blob and still bumps the version', T, async () => {
    const A = await authAccount(srv.url);
    const ui = await app(A);
    const uiEv = recordEvents(ui);
    assertJson(await postSettings(A, { settings: 'a', expectedVersion: 0 }), 200, { success: true, version: 1 });
    assertJson(await postSettings(A, { settings: null, expectedVersion: 1 }), 200, { success: true, version: 2 });
    assertJson(await getSettings(A), 200, { settings: null, settingsVersion: 2 });
    await until(() => named(uiEv, 'update').length === 2, 3000, 'updates');
    assertEnvelope(named(uiEv, 'update')[1], 2, { t: 'update-account', id: A.sub, settings: { value: null, version: 2 } });
    assertJson(await postSettings(A, { settings: 'b', expectedVersion: 1 }), 200,
        { success: false, error: 'version-mismatch', currentVersion: 2, currentSettings: null });
});

test('POST /v1/account/settings: concurrent writers with the same expected version, exactly one wins', T, async () => {
    const A = await authAccount(srv.url);
    const ui = await app(A);
    const uiEv = recordEvents(ui);
    const rs = await Promise.all(Array.from({ length: 12 }, (_, i) => postSettings(A, { settings: `w${i}`, expectedVersion: 0 })));
    const wins = rs.filter((r) => r.json.success === true);
    assert.equal(wins.length, 1);
    const winner = rs.indexOf(wins[0]);
    for (const [i, r] of rs.entries()) {
        if (i === winner) assertJson(r, 200, { success: true, version: 1 });
        else assertJson(r, 200, { success: false, error: 'version-mismatch', currentVersion: 1, currentSettings: `w${winner}` });
    }
    assertJson(await getSettings(A), 200, { settings: `w${winner}`, settingsVersion: 1 });
    await roundTrip(ui); // every answer is in, so every update that was emitted has reached the app by now
    assert.equal(named(uiEv, 'update').length, 1);
    assert.equal(named(uiEv, 'update')[0].body.settings.value, `w${winner}`);
});

test('POST /v1/account/settings stores a large blob verbatim (UTF-8 included)', T, async () => {
    const A = await authAccount(srv.url);
    const big = 'é€😀'.repeat(1000) + 'x'.repeat(2_000_000);
    assertJson(await postSettings(A, { settings: big, expectedVersion: 0 }), 200, { success: true, version: 1 });
    const r = await getSettings(A);
    assert.equal(r.status, 200);
    assert.equal(r.json.settings, big);
    assert.equal(r.json.settingsVersion, 1);
});

test('POST /v1/account/settings validation (before auth), 401s', T, async () => {
    const A = await authAccount(srv.url);
    const v = (body, headers = bearer(A.token)) => req(srv.url, 'POST', '/v1/account/settings', { headers, body });
    const both = 'body/settings Invalid input: expected string, received undefined, ' +
        'body/expectedVersion Invalid input: expected number, received undefined';
    assertJson(await v({}), 400, bodies.validation(both));
    assertJson(await v({}, {}), 400, bodies.validation(both));
    assertJson(await v({ expectedVersion: 0 }), 400, bodies.validation('body/settings Invalid input: expected string, received undefined'));
    assertJson(await v({ settings: 5, expectedVersion: 0 }), 400, bodies.validation('body/settings Invalid input: expected string, received number'));
    assertJson(await v({ settings: 'x', expectedVersion: '0' }), 400, bodies.validation('body/expectedVersion Invalid input: expected number, received string'));
    assertJson(await v({ settings: 'x', expectedVersion: null }), 400, bodies.validation('body/expectedVersion Invalid input: expected number, received null'));
    assertJson(await v({ settings: 'x', expectedVersion: -1 }), 400, bodies.validation('body/expectedVersion Too small: expected number to be >=0'));
    assertJson(await v({ settings: 'x', expectedVersion: 1.5 }), 400, bodies.validation('body/expectedVersion Invalid input: expected int, received number'));
    assertJson(await v([]), 400, bodies.validation('body/ Invalid input: expected object, received array'));
    const noBody = await authReq(srv.url, 'POST', '/v1/account/settings', A);
    assertJson(noBody, 400, bodies.validation('body/ Invalid input: expected object, received null'));
    assertJson(await v({ settings: 'x', expectedVersion: 0 }, {}), 401, bodies.missingAuth);
    assertJson(await v({ settings: 'x', expectedVersion: 0 }, { authorization: 'Bearer nope' }), 401, bodies.invalidToken);
    assertJson(await req(srv.url, 'GET', '/v1/account/settings'), 401, bodies.missingAuth);
    assertJson(await getSettings(A), 200, { settings: null, settingsVersion: 0 }, 'nothing was stored');
});

test('account settings for a valid token whose account does not exist: the literal 500 bodies', T, async () => {
    const ghost = { token: ghostToken() };
    assertJson(await getSettings(ghost), 500, { error: 'Failed to get account settings' });
    assertJson(await postSettings(ghost, { settings: 'x', expectedVersion: 0 }), 500,
        { success: false, error: 'Failed to update account settings' });
});
