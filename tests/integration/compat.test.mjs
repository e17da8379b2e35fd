// The README compatibility table cannot drift: it must list every upstream route (http-api.md §1) and every
// client event (realtime.md §2), and each route's status must agree with the binary — a route marked
// "implemented" is routed (it does not get the generic 404 of an unknown route), one marked "not yet" is not.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { startServer, req, authReq, authAccount, REPO_ROOT, TEST_TIMEOUT, HOOK_TIMEOUT } from './harness.mjs';

// Upstream's routes on the main port, as listed in shared/spec/http-api.md §1 (copied: the spec is not part of
// this repository). The metrics-port routes are checked by name only.
const UPSTREAM_ROUTES = `
GET /
GET /health
GET /files/*
POST /v1/auth
POST /v1/auth/request
GET /v1/auth/request/status
POST /v1/auth/response
POST /v1/auth/account/request
POST /v1/auth/account/response
GET /v1/sessions
GET /v2/sessions/active
GET /v2/sessions
POST /v1/sessions
GET /v1/sessions/:sessionId/messages
POST /v1/sessions/:sessionId/archive
DELETE /v1/sessions/:sessionId
GET /v3/sessions/:sessionId/messages
POST /v3/sessions/:sessionId/messages
POST /v1/sessions/:sessionId/attachments/request-upload
PUT /v1/sessions/:sessionId/attachments/:attachmentFile
POST /v1/sessions/:sessionId/attachments/request-download
GET /v1/sessions/:sessionId/attachments/:attachmentFile
POST /v1/sessions/:sessionId/push-event
POST /v1/push-tokens
DELETE /v1/push-tokens/:token
GET /v1/push-tokens
POST /v1/machines
GET /v1/machines
GET /v1/machines/:id
DELETE /v1/machines/:id
GET /v1/artifacts
GET /v1/artifacts/:id
POST /v1/artifacts
POST /v1/artifacts/:id
DELETE /v1/artifacts/:id
GET /v1/access-keys/:sessionId/:machineId
POST /v1/access-keys/:sessionId/:machineId
PUT /v1/access-keys/:sessionId/:machineId
GET /v1/kv/:key
GET /v1/kv
POST /v1/kv/bulk
POST /v1/kv
GET /v1/account/profile
GET /v1/account/settings
POST /v1/account/settings
POST /v1/usage/query
GET /v1/connect/github/params
GET /v1/connect/github/callback
POST /v1/connect/github/webhook
DELETE /v1/connect/github
POST /v1/connect/:vendor/register
GET /v1/connect/:vendor/token
DELETE /v1/connect/:vendor
GET /v1/connect/tokens
GET /v1/user/:id
GET /v1/user/search
POST /v1/friends/add
POST /v1/friends/remove
GET /v1/friends
GET /v1/feed
POST /v1/version
POST /v1/voice/conversations
GET /v1/voice/usage
POST /logs-combined-from-cli-and-mobile-for-simple-ai-debugging
GET /metrics
`.trim().split('\n').map((l) => l.trim());

// Client → server events (realtime.md §2).
const UPSTREAM_EVENTS = ['ping', 'app-state', 'session-alive', 'session-end', 'message', 'update-metadata',
    'update-state', 'machine-alive', 'machine-update-metadata', 'machine-update-state', 'usage-report',
    'rpc-register', 'rpc-unregister', 'rpc-call', 'access-key-get', 'artifact-read', 'artifact-create',
    'artifact-update', 'artifact-delete'];

// Routes that exist only when a feature is switched on: probed with that switch.
const CONDITIONAL = {
    'POST /logs-combined-from-cli-and-mobile-for-simple-ai-debugging':
        { DANGEROUSLY_LOG_TO_SERVER_FOR_AI_AUTO_DEBUGGING: 'true' },
};
const NOT_PROBED = new Set(['GET /metrics']);  // its own port

function readTable() {
    const readme = fs.readFileSync(path.join(REPO_ROOT, 'README.md'), 'utf8');
    const section = readme.slice(readme.indexOf('## Compatibility'));
    const rows = [];
    for (const line of section.split('\n')) {
        const m = line.match(/^\|(.*)\|(.*)\|\s*$/);
        if (!m || /^-+$/.test(m[1].trim()) || m[1].trim() === 'Route or event') continue;
        const [cell, status] = [m[1], m[2].trim()];
        const routes = [...cell.matchAll(/`(GET|POST|PUT|DELETE|PATCH) ([^`]+)`/g)].map((x) => `${x[1]} ${x[2]}`);
        const events = cell.trim().startsWith('socket ')
            ? [...cell.matchAll(/`([a-z-]+)`/g)].map((x) => x[1]) : [];
        const state = status.startsWith('implemented') ? 'implemented' : status.startsWith('not yet') ? 'not yet' : null;
        assert.ok(state, `README compatibility row without a status: ${line}`);
        rows.push({ routes, events, state, line });
    }
    return rows;
}

const table = readTable();
const statusOf = new Map();
for (const r of table) for (const route of r.routes) statusOf.set(route, r.state);

test('every upstream route and client event is in the README compatibility table', () => {
    const missing = UPSTREAM_ROUTES.filter((r) => !statusOf.has(r));
    assert.deepEqual(missing, [], 'routes missing from the README table');
    const listed = new Set(table.flatMap((r) => r.events));
    assert.deepEqual(UPSTREAM_EVENTS.filter((e) => !listed.has(e)), [], 'events missing from the README table');
    const unknown = [...statusOf.keys()].filter((r) => !UPSTREAM_ROUTES.includes(r));
    assert.deepEqual(unknown, [], 'README rows naming routes upstream does not have');
});

let srv, A;
before(async () => {
    srv = await startServer();
    A = await authAccount(srv.url);
}, { timeout: HOOK_TIMEOUT });
after(async () => { await srv?.stop(); });

function concrete(route) {
    const [method, pattern] = route.split(' ');
    const p = pattern.replace('*', 'x').replace(/:[A-Za-z]+/g, 'compat-probe');
    return { method, p };
}

function isUnrouted(r, method, p) {
    return r.status === 404 && r.json?.error === 'Not found' && r.json?.path === p && r.json?.method === method;
}

test('each route answers as its README status says', { timeout: TEST_TIMEOUT * 2 }, async () => {
    const wrong = [];
    for (const route of UPSTREAM_ROUTES) {
        if (NOT_PROBED.has(route) || CONDITIONAL[route]) continue;
        const { method, p } = concrete(route);
        const r = await authReq(srv.url, method, p, A);
        const routed = !isUnrouted(r, method, p);
        if (routed !== (statusOf.get(route) === 'implemented')) {
            wrong.push(`${route}: README says ${statusOf.get(route)}, server answered ${r.status} ${r.text.slice(0, 80)}`);
        }
    }
    assert.deepEqual(wrong, []);
});

test('routes behind a feature switch answer as their README status says when switched on', { timeout: TEST_TIMEOUT }, async () => {
    for (const [route, env] of Object.entries(CONDITIONAL)) {
        const s = await startServer({ env });
        try {
            const { method, p } = concrete(route);
            const r = await req(s.url, method, p, { body: {} });
            assert.equal(!isUnrouted(r, method, p), statusOf.get(route) === 'implemented', `${route}: ${r.status} ${r.text}`);
        } finally {
            await s.stop();
        }
    }
});
