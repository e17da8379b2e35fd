// The container image (deploy/Dockerfile), started by scripts/container.sh test with its port published on the
// host: the banner, POST /v1/auth (the account lands in the /data volume's database) and a Socket.IO connect.
//   HAPPY_CONTAINER_URL   http://127.0.0.1:<published port>
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TEST_TIMEOUT, authAccount, authReq, req, userAuth } from '../integration/harness.mjs';
import { clientsClosedAfterEach } from '../integration/clients.mjs';

const url = process.env.HAPPY_CONTAINER_URL;
assert.ok(url, 'HAPPY_CONTAINER_URL is set by scripts/container.sh test');
const clients = clientsClosedAfterEach();

test('the container serves the banner, POST /v1/auth and Socket.IO', { timeout: TEST_TIMEOUT }, async () => {
    const banner = await req(url, 'GET', '/');
    assert.equal(banner.status, 200);
    assert.equal(banner.text, 'Welcome to Happy Server!');
    const a = await authAccount(url, { timeoutMs: 60_000 });  // the first auth waits for the token keys (PBKDF2)
    const profile = await authReq(url, 'GET', '/v1/account/profile', a);
    assert.equal(profile.status, 200, profile.text);
    const socket = await clients.connect(url, userAuth(a));
    assert.equal(socket.connected, true);
});
