// Realtime clients for the test files: the harness's clientTracker() with the real socket.io-client and ws.
// Kept out of harness.mjs, which imports no npm packages, so the HTTP-only test files need no `npm ci`.
import { afterEach } from 'node:test';
import { io } from 'socket.io-client';
import WebSocket from 'ws';
import { clientTracker } from './harness.mjs';

/**
 * clientTracker({ io, WebSocket }) for the calling test file, with an `afterEach` hook that closes every client
 * the test opened, so no socket outlives its test (call it once, at the top level of the file).
 */
export function clientsClosedAfterEach() {
    const clients = clientTracker({ io, WebSocket });
    afterEach(() => clients.closeAll());
    return clients;
}
