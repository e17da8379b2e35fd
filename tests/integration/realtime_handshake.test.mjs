// Socket.IO handshake (realtime.md §1.4, §1.5, §9.2–9.4) and the simple events `ping` / `app-state`
// (§2.1, §2.2): exact CONNECT_ERROR messages in upstream order, accepted client types, credentials only
// from the auth object, retry on the same engine connection, and the event/ack basics.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
    TEST_TIMEOUT, HOOK_TIMEOUT, startServer, authAccount, SIO_ID_RE, waitConnect, waitConnectError, recordEvents, sleep,
    decodeJwt, mintJwt, newEd25519, b64url, assertHealthy,
} from './harness.mjs';
import { clientsClosedAfterEach } from './clients.mjs';

let srv;
let acct;
let forged;
let tampered;

before(async () => {
    srv = await startServer();
    acct = await authAccount(srv.url);
    const d = decodeJwt(acct.token);
    // Same header and claims, signed by a key that is not the server's.
    forged = mintJwt({ header: d.headerText, payload: d.payloadText, privateKey: newEd25519().privateKey });
    // Real signature, payload changed (another subject).
    const otherPayload = b64url(JSON.stringify({ ...d.payload, sub: d.payload.sub.replace(/.$/, (c) => (c === 'a' ? 'b' : 'a')) }));
    tampered = `${d.parts[0]}.${otherPayload}.${d.parts[2]}`;
}, { timeout: HOOK_TIMEOUT });

after(async () => { if (srv) await srv.stop(); }, { timeout: HOOK_TIMEOUT });

const clients = clientsClosedAfterEach();

const sio = (auth, opts) => clients.sio(srv.url, auth, opts);
const raw = (auth, opts) => clients.raw(srv.url, auth, opts);

const MISSING = 'Missing authentication token';
const NEED_SESSION = 'Session ID required for session-scoped clients';
const NEED_MACHINE = 'Machine ID required for machine-scoped clients';
const INVALID = 'Invalid authentication token';

function rejectionCases() {
    const T = acct.token;
    return [
        ['no auth object at all', undefined, MISSING],
        ['empty auth object', {}, MISSING],
        ['empty token', { token: '' }, MISSING],
        ['null token', { token: null }, MISSING],
        ['token 0', { token: 0 }, MISSING],
        ['token false', { token: false }, MISSING],
        ['no token, session-scoped without sessionId', { clientType: 'session-scoped' }, MISSING],
        ['no token, machine-scoped without machineId', { clientType: 'machine-scoped' }, MISSING],
        ['bad token, session-scoped without sessionId', { token: 'garbage', clientType: 'session-scoped' }, NEED_SESSION],
        ['good token, session-scoped with empty sessionId', { token: T, clientType: 'session-scoped', sessionId: '' }, NEED_SESSION],
        ['good token, session-scoped with only a machineId', { token: T, clientType: 'session-scoped', machineId: 'm1' }, NEED_SESSION],
        ['bad token, machine-scoped without machineId', { token: 'garbage', clientType: 'machine-scoped' }, NEED_MACHINE],
        ['good token, machine-scoped with null machineId', { token: T, clientType: 'machine-scoped', machineId: null }, NEED_MACHINE],
        ['good token, machine-scoped with only a sessionId', { token: T, clientType: 'machine-scoped', sessionId: 's1' }, NEED_MACHINE],
        ['garbage token', { token: 'garbage' }, INVALID],
        ['three-part garbage token', { token: 'a.b.c' }, INVALID],
        ['bad token, session-scoped with sessionId', { token: 'garbage', clientType: 'session-scoped', sessionId: 's1' }, INVALID],
        ['bad token, machine-scoped with machineId', { token: 'x.y.z', clientType: 'machine-scoped', machineId: 'm1' }, INVALID],
        ['forged token (foreign key)', { token: forged, clientType: 'user-scoped' }, INVALID],
        ['tampered token (payload changed)', { token: tampered }, INVALID],
        ['"Bearer " + token', { token: `Bearer ${T}` }, INVALID],
        ['numeric token', { token: 12345 }, INVALID],
        ['boolean token', { token: true }, INVALID],
        ['object token', { token: { token: T } }, INVALID],
        ['array token', { token: [T] }, INVALID],
    ];
}

// ---------------------------------------------------------------------------------------------------

test('handshake rejections via socket.io-client: exact connect_error messages in upstream order', { timeout: TEST_TIMEOUT }, async () => {
    for (const [name, auth, message] of rejectionCases()) {
        const s = sio(auth);
        const err = await waitConnectError(s).catch((e) => { throw new Error(`${name}: ${e.message}`); });
        assert.equal(err.message, message, name);
        assert.equal(err.data, undefined, `${name}: CONNECT_ERROR carries only "message"`);
        assert.equal(s.connected, false, name);
        s.close();
    }
});

test('handshake rejections on the wire: exactly 44{"message":…}', { timeout: TEST_TIMEOUT }, async () => {
    for (const [name, auth, message] of rejectionCases()) {
        const c = await raw(auth === undefined ? null : auth);
        assert.equal(c.connectReply, `44${JSON.stringify({ message })}`, name);
        c.close();
    }
});

test('CONNECT to another namespace is answered "Invalid namespace"', { timeout: TEST_TIMEOUT }, async () => {
    // timeout undefined: socket.io-client's default connect timeout
    const s = clients.sio(`${srv.url}/nope`, { token: acct.token, clientType: 'user-scoped' }, { timeout: undefined });
    const err = await waitConnectError(s);
    assert.equal(err.message, 'Invalid namespace');
    assert.equal(err.data, undefined);

    const c = await raw(undefined);
    c.send(`40/nope,${JSON.stringify({ token: acct.token })}`);
    assert.equal(await c.nextNonPing(), '44/nope,{"message":"Invalid namespace"}');
    // the engine connection survives; the default namespace still works on it
    c.send(`40${JSON.stringify({ token: acct.token })}`);
    assert.match(await c.nextNonPing(), /^40\{"sid":"[A-Za-z0-9_-]{20}"\}$/);
});

test('the token is read only from the auth object (query string and Authorization header are ignored)', { timeout: TEST_TIMEOUT }, async () => {
    const s = sio({ clientType: 'user-scoped' }, {
        query: { token: acct.token, auth: acct.token },
        extraHeaders: { authorization: `Bearer ${acct.token}` },
    });
    const err = await waitConnectError(s);
    assert.equal(err.message, MISSING);
});

test('accepted handshakes: every client type, unknown clientType, unvalidated session/machine ids', { timeout: TEST_TIMEOUT }, async () => {
    const T = acct.token;
    const ok = [
        { token: T },
        { token: T, clientType: 'user-scoped', happyClient: 'ios/1.7.0', appState: 'active' },
        { token: T, clientType: 'user-scoped', appState: 'background' },
        { token: T, clientType: 'something-else' },
        { token: T, clientType: 'session-scoped', sessionId: 'no-such-session', happyClient: 'cli-coding-session/1.0.0' },
        { token: T, clientType: 'machine-scoped', machineId: 'no-such-machine', happyClient: 'cli-daemon/1.0.0' },
        { token: T, clientType: 'session-scoped', sessionId: 's', machineId: 'm' },
        { token: T, clientType: 'user-scoped', extra: { nested: [1, 2, 3] } },
    ];
    for (const auth of ok) {
        const s = sio(auth);
        await waitConnect(s).catch((e) => { throw new Error(`${JSON.stringify(auth).replace(T, 'T')}: ${e.message}`); });
        assert.match(s.id, SIO_ID_RE);
        assert.deepStrictEqual(await s.timeout(3000).emitWithAck('ping'), {});
        s.close();
    }
});

test('a successful connect sends nothing but the CONNECT reply', { timeout: TEST_TIMEOUT }, async () => {
    const c = await raw({ token: acct.token, clientType: 'user-scoped', appState: 'active' });
    assert.match(c.connectReply, /^40\{"sid":"[A-Za-z0-9_-]{20}"\}$/);
    await sleep(400);
    assert.deepStrictEqual(c.frames.map((f) => f.data).slice(1), [c.connectReply]);
});

test('after a rejection the engine connection stays open and a new CONNECT on it can succeed', { timeout: TEST_TIMEOUT }, async () => {
    // raw: reject, then accept on the same connection
    const c = await raw({ token: 'garbage' });
    assert.equal(c.connectReply, `44{"message":"${INVALID}"}`);
    assert.equal(await c.waitClosed(500), null, 'the server must not close the connection after a rejection');
    c.send(`40${JSON.stringify({ token: acct.token, clientType: 'user-scoped' })}`);
    assert.match(await c.nextNonPing(), /^40\{"sid":"[A-Za-z0-9_-]{20}"\}$/);
    c.send('425["ping"]');
    assert.equal(await c.nextNonPing(), '435[{}]');

    // socket.io-client: the app changes its token and calls connect() again on the same manager
    const s = sio({ token: forged, clientType: 'user-scoped' });
    const err = await waitConnectError(s);
    assert.equal(err.message, INVALID);
    s.auth = { token: acct.token, clientType: 'user-scoped' };
    s.connect(); // socket.io-client closes the engine after a connect_error; this opens a new one
    await waitConnect(s);
    assert.deepStrictEqual(await s.timeout(3000).emitWithAck('ping'), {});
});

test('ping: ack {} (raw and socket.io-client); no ack without an ack id; a data argument gets no ack', { timeout: TEST_TIMEOUT }, async () => {
    const s = sio({ token: acct.token, clientType: 'session-scoped', sessionId: 'sess-ping' });
    await waitConnect(s);
    const events = recordEvents(s);
    for (let i = 0; i < 3; i++) assert.deepStrictEqual(await s.timeout(3000).emitWithAck('ping'), {});
    const many = await Promise.all(Array.from({ length: 20 }, () => s.timeout(3000).emitWithAck('ping')));
    assert.deepStrictEqual(many, Array(20).fill({}));
    s.emit('ping'); // no ack requested: nothing comes back

    // realtime.md §2.1: with a data argument before the ack, upstream sends no ack.
    let acked = false;
    s.emit('ping', { hello: 1 }, () => { acked = true; });
    await sleep(600);
    assert.equal(acked, false, 'ping with a data argument must not be acked');
    assert.deepStrictEqual(events, [], 'no events expected');
    assert.equal(s.connected, true);

    const c = await raw({ token: acct.token });
    c.send('42["ping"]');
    c.send('4277["ping"]');
    assert.equal(await c.nextNonPing(), '4377[{}]', 'only the ping with an ack id is answered');
});

test('app-state is accepted silently in every shape; unknown events are ignored; the socket stays usable', { timeout: TEST_TIMEOUT }, async () => {
    const s = sio({ token: acct.token, clientType: 'user-scoped', appState: 'active' });
    await waitConnect(s);
    const events = recordEvents(s);
    let acks = 0;
    s.emit('app-state', { state: 'active' });
    s.emit('app-state', { state: 'background' });
    s.emit('app-state', { state: 'inactive' });
    s.emit('app-state', {});
    s.emit('app-state');
    s.emit('app-state', 'active');
    s.emit('app-state', null);
    s.emit('app-state', { state: 'active' }, () => { acks++; });
    s.emit('no-such-event', { a: 1 }, () => { acks++; });
    s.emit('auth', { token: 'x' }, () => { acks++; });
    s.emit('error', 'x');
    s.emit(12345, 'numeric event name');
    await sleep(600);
    assert.equal(acks, 0, 'app-state and unknown events are never acked');
    assert.deepStrictEqual(events, []);
    assert.equal(s.connected, true);
    assert.deepStrictEqual(await s.timeout(3000).emitWithAck('ping'), {});
    await assertHealthy(srv);
});
