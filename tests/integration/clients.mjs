// Realtime clients for the test files: the harness's clientTracker() with the real socket.io-client and ws.
// Kept out of harness.mjs, which imports no npm packages, so the HTTP-only test files need no `npm ci`.
import { afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { io } from 'socket.io-client';
import WebSocket from 'ws';
import { clientTracker, CLUSTER_SIZE } from './harness.mjs';

/**
 * clientTracker({ io, WebSocket }) for the calling test file, with an `afterEach` hook that closes every client
 * the test opened, so no socket outlives its test (call it once, at the top level of the file).
 * In a cluster run (HAPPY_TEST_CLUSTER=N) the hook also checks that a test which connected several sockets through
 * the balancer had them on more than one instance (the balancer's round robin over new WebSocket connections puts
 * consecutive ones on different instances), and reports where each one was.
 */
export function clientsClosedAfterEach() {
    const clients = clientTracker({ io, WebSocket });
    afterEach((t) => {
        // Top-level hooks run after every subtest too; a test's sockets live until the whole test has finished.
        if (t && t.fullName !== t.name) return;
        const nodes = clients.placements().filter((n) => n !== null);
        clients.closeAll();
        if (CLUSTER_SIZE > 1 && nodes.length > 0) {
            t?.diagnostic?.(`sockets on instances ${nodes.join(',')}`);
            if (nodes.length > 1) {
                assert.ok(new Set(nodes).size > 1, `all ${nodes.length} sockets of the test landed on instance ${nodes[0]}`);
            }
        }
    });
    return clients;
}
