// Real-client end-to-end test: the published `happy` CLI (pinned in package-lock.json) against our server.
// A small fake app (app.mjs) creates the account, answers the CLI's terminal pairing, watches a user-scoped
// socket and calls RPCs through the server; see README.md for the flow step by step.
//
//   node --test tests/e2e/                   (after `npm ci --prefix tests/e2e` and building the server)
//   HAPPY_SERVER_BIN=/path/to/happy-server node --test tests/e2e/
//   HAPPY_E2E_MODES=v2 node --test tests/e2e/  (runs: v2 = dataKey pairing, v1 = legacy secret, secure = v2 over
//                                              https:// and wss:// (server.tls, a throw-away CA trusted through
//                                              NODE_EXTRA_CA_CERTS) with auth.registration "closed")
//   HAPPY_E2E_KEEP=1 ...                      (keep the CLI sandbox directories for inspection)
//   HAPPY_E2E_CLUSTER=1 ...                   (two instances on one PostgreSQL and one Redis behind nginx; the app
//                                              socket and the daemon on different instances)

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import {
    startServer, SERVER_BIN, req, bearer, until, makeTempDir, removeDir, writeConfigFile, trustTestCa, ed25519FromSeed,
    newEd25519, randomBytes, edSign,
} from '../integration/harness.mjs';
import { TestCa } from '../integration/test_ca.mjs';
import { startCluster } from '../integration/cluster.mjs';
import { FakeApp, b64 } from './app.mjs';
import { HappyCli, HAPPY_VERSION, HAPPY_PKG } from './cli.mjs';
import { startFakeAnthropic, startProxyTrap, FAKE_REPLY, TOOL_TRIGGER, TOOL_COMMAND, TOOL_DONE_REPLY } from './fake_anthropic.mjs';
import crypto from 'node:crypto';

const MODES = (process.env.HAPPY_E2E_MODES || 'v2,v1,secure').split(',').map((s) => s.trim()).filter(Boolean);
const KEEP = !!process.env.HAPPY_E2E_KEEP;
const VERBOSE = !!process.env.HAPPY_TEST_VERBOSE;
const STEP_TIMEOUT = 90_000;
// Two instances behind the balancer (tests/integration/cluster.mjs): everything, the CLI included, goes through it.
const CLUSTER = !!process.env.HAPPY_E2E_CLUSTER;

const log = (...a) => { if (VERBOSE) console.error('[e2e]', ...a); };

const TITLES = {
    v1: 'pairing v1: legacy secret',
    v2: 'pairing v2: dataKey',
    secure: 'pairing v2 over https:// and wss:// with built-in TLS, registration closed',
};

for (const run of MODES) {
    // `secure` is the v2 flow on a server with server.tls and auth.registration "closed" (the app's key allow-listed).
    const secure = run === 'secure';
    const mode = secure ? 'v2' : run;
    describe(`happy CLI ${HAPPY_VERSION} against the ${CLUSTER ? 'cluster (2 instances behind nginx)' : 'server'} (${TITLES[run] ?? run})`, { timeout: 600_000 }, () => {
        let server;
        let app;
        let cli;
        let failed = null; // first failed step: later steps are skipped
        let steps = 0; // steps declared
        let skipped = 0; // steps skipped because an earlier one failed
        let machineId;
        let machineKey; // {type, key} used for the machine's records and RPCs
        let sessionId;
        let sessionKey;
        let anthropic;
        let proxy;
        let serverUrl;       // http://127.0.0.1:<port>, or https://127.0.0.1:<port> in the secure run
        let masterSecret;    // the app's, made before the server starts (the secure run allow-lists its key)
        let caDir;
        let appNode; // cluster: the instance the app socket is on

        /** Wraps a step: skipped when an earlier one failed; dumps diagnostics on failure. */
        const step = (name, fn, { todo } = {}) => (steps++, it(name, { timeout: STEP_TIMEOUT, todo }, async (t) => {
            if (failed) { skipped++; t.skip(`earlier step failed: ${failed}`); return; }
            const t0 = Date.now();
            try {
                await fn(t);
                log(`${mode} ${name}: ${Date.now() - t0} ms`);
            } catch (e) {
                if (todo) throw e; // a known gap: its message is enough
                failed = name;
                const diag = [
                    `--- app socket events ---`,
                    ...(app?.events ?? []).slice(-30).map((e) => `${e.event} ${JSON.stringify(e.args).slice(0, 300)}`),
                    ...(cli?.tmuxStarted ? [`--- login pane ---`, cli.capturePane()] : []),
                    `--- CLI logs ---`, cli?.daemonLogTail() ?? '',
                    `--- server stdout (tail) ---`, ...(server?.stdoutLines ?? []).slice(-25),
                    `--- server stderr (tail) ---`, ...(server?.stderrLines ?? []).slice(-20),
                ].join('\n');
                throw new Error(`${e.message}\n${diag}`, { cause: e });
            }
        }));

        before(async () => {
            assert.ok(fs.existsSync(path.join(HAPPY_PKG, 'package.json')),
                'the happy CLI is not installed: run `npm ci --prefix tests/e2e`');
            assert.equal(JSON.parse(fs.readFileSync(path.join(HAPPY_PKG, 'package.json'), 'utf8')).version, HAPPY_VERSION);
            masterSecret = new Uint8Array(crypto.randomBytes(32));
            let cliEnv = {};
            if (secure) {
                caDir = makeTempDir('happy-e2e-ca-');
                const ca = new TestCa(caDir);
                const { cert, key } = ca.leaf('e2e-server');
                const appKey = ed25519FromSeed(Buffer.from(masterSecret)).publicRaw;
                const config = writeConfigFile({ auth: { registration: { mode: 'closed', allow: [b64(appKey)] } } });
                server = await startServer({ env: { HAPPY_TLS_CERT: cert, HAPPY_TLS_KEY: key, HAPPY_CONFIG: config } });
                serverUrl = `https://127.0.0.1:${server.port}`;
                trustTestCa(ca.rootPem);
                // Every CLI process (login, daemon, session children) trusts the throw-away root, as a user would.
                cliEnv = { NODE_EXTRA_CA_CERTS: ca.rootFile };
            } else {
                server = CLUSTER ? await startCluster({ n: 2 }) : await startServer();
                serverUrl = server.url;
            }
            log(`server ${SERVER_BIN} at ${serverUrl}${CLUSTER ? ` (balancer; instances ${server.nodes.map((n) => n.url)})` : ''}`);
            anthropic = await startFakeAnthropic();
            proxy = await startProxyTrap();
            cli = new HappyCli({ serverUrl, env: {
                ...cliEnv,
                ANTHROPIC_BASE_URL: anthropic.url,
                ANTHROPIC_API_KEY: 'sk-ant-e2e-fake-key',
                HTTPS_PROXY: proxy.url, HTTP_PROXY: proxy.url, https_proxy: proxy.url, http_proxy: proxy.url,
                NO_PROXY: '127.0.0.1,localhost', no_proxy: '127.0.0.1,localhost',
            } });
        });

        after(async (t) => {
            if (failed) {
                // The per-step "skipped" lines are easy to miss among the diagnostics of the failure: say how much
                // of the flow never ran.
                const note = `${skipped} of ${steps} steps skipped after "${failed}" failed`;
                if (typeof t?.diagnostic === 'function') t.diagnostic(note);
                console.error(`[e2e ${mode}] ${note}`);
            }
            app?.close();
            await cli?.cleanup({ keep: KEEP });
            if (KEEP) console.error(`[e2e] kept ${cli?.root}`);
            await server?.stop();
            await anthropic?.close();
            await proxy?.close();
            if (caDir) removeDir(caDir);
        });

        step('the app creates an account (POST /v1/auth) and connects a user-scoped socket', async (t) => {
            if (secure) {
                // Registration is closed: a stranger's key is refused with the message the app and CLI show.
                const kp = newEd25519();
                const challenge = randomBytes(32);
                const r = await req(serverUrl, 'POST', '/v1/auth', { body: {
                    publicKey: b64(kp.publicRaw), challenge: b64(challenge), signature: b64(edSign(kp.privateKey, challenge)),
                } });
                assert.equal(r.status, 403, r.text);
                assert.deepEqual(r.json, { error: 'Registration is closed on this server: only existing accounts can sign in' });
            }
            app = await FakeApp.create(serverUrl, { masterSecret, ca: secure ? fs.readFileSync(path.join(caDir, 'root.pem')) : undefined });
            if (!CLUSTER) {
                await app.connect();
                return;
            }
            // The balancer alternates new WebSocket connections, so the daemon's socket, the next one, goes to the
            // other instance; the daemon step checks that it did.
            ({ node: appNode } = await server.nodeOf(() => app.connect()));
            t.diagnostic(`app socket on instance ${appNode}`);
        });

        step('happy auth login ends up logged in after the app answers the terminal pairing', async () => {
            cli.startLogin();
            const cliPk = await cli.waitLoginUrl();
            const pk64 = b64(cliPk);

            const st = await app.http('GET', `/v1/auth/request/status?publicKey=${encodeURIComponent(pk64)}`);
            assert.equal(st.status, 200, st.text);
            assert.deepEqual(st.json, { status: 'pending', supportsV2: true });

            const resp = await app.http('POST', '/v1/auth/response', {
                publicKey: pk64, response: b64(app.pairingResponse(cliPk, mode)),
            });
            assert.equal(resp.status, 200, resp.text);
            assert.deepEqual(resp.json, { success: true });

            await FakeApp.poll('access.key', () => cli.readJson(cli.accessKeyFile), { timeoutMs: 20_000 });
            await FakeApp.poll('"Authentication successful" and the CLI exiting with 0',
                () => /Authentication successful/.test(cli.capturePane())
                    && fs.existsSync(cli.loginExitFile) && fs.readFileSync(cli.loginExitFile, 'utf8').trim() === '0',
                { timeoutMs: 20_000 }).catch((e) => { throw new Error(`${e.message}\npane:\n${cli.capturePane()}`); });

            const access = cli.readJson(cli.accessKeyFile);
            assert.equal(typeof access.token, 'string');
            if (mode === 'v1') {
                assert.equal(access.secret, b64(app.masterSecret), 'legacy access.key holds the master secret');
            } else {
                assert.equal(access.encryption?.publicKey, b64(app.content.publicKey), 'dataKey access.key holds the content public key');
                assert.equal(Buffer.from(access.encryption.machineKey, 'base64').length, 32);
            }
            // The CLI's token works against our server (and belongs to the app's account).
            const me = await FakeApp.poll('settings.json machineId', () => cli.readJson(cli.settingsFile)?.machineId);
            machineId = me;
            const r = await req(serverUrl, 'GET', '/v1/machines', { headers: bearer(access.token) });
            assert.equal(r.status, 200, r.text);
            assert.deepEqual(r.json, []);
        });

        step('happy daemon start: the machine registers, its daemonState reads "running" and it shows online', async (t) => {
            const from = app.events.length;
            const r = await cli.run(['daemon', 'start'], { timeoutMs: 60_000 });
            if (r.code !== 0) {
                // `daemon start` spawns a detached `daemon start-sync` and gives it only 5 s to write
                // daemon.state.json; on a loaded machine (CI, parallel builds) Node needs longer to load the CLI.
                // The daemon keeps starting, so that case is not a failure: wait for the state file ourselves.
                assert.match(r.output, /Failed to start daemon/, `happy daemon start exited with ${r.code}/${r.signal}:\n${r.output}`);
                await FakeApp.poll('daemon.state.json (after the CLI\'s 5 s start wait ran out)',
                    () => cli.readJson(cli.daemonStateFile)?.pid, { timeoutMs: 60_000 });
                t.diagnostic('happy daemon start gave up after its 5 s wait; the daemon came up later');
            }

            // GET /v1/machines until the decrypted daemonState says running.
            const machine = await FakeApp.poll('GET /v1/machines: daemonState.status == "running"', async () => {
                const res = await app.http('GET', '/v1/machines');
                const m = res.json?.find?.((x) => x.id === machineId);
                if (!m?.daemonState || !m.dataEncryptionKey && mode !== 'v1') return null;
                if (!machineKey) {
                    machineKey = mode === 'v1'
                        ? { type: 'legacy', key: app.masterSecret }
                        : { type: 'dataKey', key: app.openDataKey(m.dataEncryptionKey) };
                }
                return app.decrypt(machineKey, m.daemonState)?.status === 'running' ? m : null;
            }, { timeoutMs: 45_000 });

            if (mode !== 'v1') {
                // The key the daemon sealed for the app is the machineKey from its access.key.
                assert.equal(b64(machineKey.key), cli.readJson(cli.accessKeyFile).encryption.machineKey);
            }
            const state = app.decrypt(machineKey, machine.daemonState);
            assert.equal(state.status, 'running');
            assert.equal(typeof state.pid, 'number');
            assert.equal(machine.active, true);
            const meta = app.decrypt(machineKey, machine.metadata);
            assert.equal(meta.happyCliVersion, HAPPY_VERSION);
            assert.equal(meta.happyHomeDir, cli.happyHome);
            assert.equal(meta.homeDir, cli.home);

            // The app socket saw the machine appear, come online, and its state/metadata updates.
            await app.waitFor('update new-machine', (ev, u) => ev === 'update' && u.body.t === 'new-machine'
                && u.body.machineId === machineId, { from });
            await app.waitFor('machine-activity active:true', (ev, a) => ev === 'ephemeral' && a.type === 'machine-activity'
                && a.id === machineId && a.active === true, { from });
            await app.waitFor('update-machine with daemonState "running"', (ev, u) => ev === 'update'
                && u.body.t === 'update-machine' && u.body.machineId === machineId && u.body.daemonState
                && app.decrypt(machineKey, u.body.daemonState.value).status === 'running', { from });
            await app.waitFor('update-machine with metadata carrying cliAvailability', (ev, u) => ev === 'update'
                && u.body.t === 'update-machine' && u.body.machineId === machineId && u.body.metadata
                && app.decrypt(machineKey, u.body.metadata.value).cliAvailability, { from });
            if (CLUSTER) {
                // The app's socket alone on its instance, the daemon's on the other: every RPC and every update
                // between them below crosses the bus.
                const counts = await until(async () => {
                    const n = await server.metrics('socketio_connected_sockets');
                    return n[appNode] === 1 && n[1 - appNode] === 1 ? n : null;
                }, 5000, 'the app socket on one instance and the daemon on the other').catch(async (e) => {
                    throw new Error(`${e.message}: sockets per instance ${await server.metrics('socketio_connected_sockets')}`);
                });
                t.diagnostic(`sockets per instance ${counts}: app on ${appNode}, daemon on ${1 - appNode}`);
            }
        });

        step('machine RPCs through the server: bash, writeFile/readFile, listDirectory', async () => {
            const sh = await app.rpc(machineKey, `${machineId}:bash`, { command: 'echo hello-from-daemon; pwd', cwd: cli.work });
            assert.deepEqual(sh, { success: true, stdout: `hello-from-daemon\n${cli.work}\n`, stderr: '', exitCode: 0 });

            const file = path.join(cli.work, 'note.txt');
            const w = await app.rpc(machineKey, `${machineId}:writeFile`, {
                path: file, content: b64('written through the server\n'), expectedHash: null,
            });
            assert.equal(w.success, true, JSON.stringify(w));
            assert.equal(fs.readFileSync(file, 'utf8'), 'written through the server\n');

            const rd = await app.rpc(machineKey, `${machineId}:readFile`, { path: file });
            assert.deepEqual(rd, { success: true, content: b64('written through the server\n') });

            const ls = await app.rpc(machineKey, `${machineId}:listDirectory`, { path: cli.work });
            assert.equal(ls.success, true, JSON.stringify(ls));
            assert.deepEqual(ls.entries.map((e) => [e.name, e.type]), [['note.txt', 'file']]);
        });

        step('spawn-happy-session: a session is created, the app sees it, and its RPC runs in the session directory', async (t) => {
            const from = app.events.length;
            const res = await app.rpc(machineKey, `${machineId}:spawn-happy-session`, {
                directory: cli.work, agent: 'claude',
            }, 60_000);
            assert.equal(res?.type, 'success', JSON.stringify(res));
            sessionId = res.sessionId;
            assert.equal(typeof sessionId, 'string');

            await app.waitFor('update new-session', (ev, u) => ev === 'update' && u.body.t === 'new-session'
                && u.body.id === sessionId, { from });

            const list = await app.http('GET', '/v1/sessions');
            assert.equal(list.status, 200, list.text);
            const s = list.json.sessions.find((x) => x.id === sessionId);
            assert.ok(s, `session ${sessionId} in GET /v1/sessions`);
            sessionKey = mode === 'v1'
                ? { type: 'legacy', key: app.masterSecret }
                : { type: 'dataKey', key: app.openDataKey(s.dataEncryptionKey) };
            const meta = app.decrypt(sessionKey, s.metadata);
            assert.equal(meta.path, cli.work);
            assert.equal(meta.machineId, machineId);

            // Session RPC (the server waits up to 15 s for the session to register its methods).
            const pwd = await app.rpc(sessionKey, `${sessionId}:bash`, { command: 'pwd', cwd: cli.work });
            assert.deepEqual(pwd, { success: true, stdout: `${cli.work}\n`, stderr: '', exitCode: 0 });
            if (CLUSTER) t.diagnostic(`sockets per instance with the session: ${await server.metrics('socketio_connected_sockets')}`);
        });

        step('a message from the app reaches the CLI and its Claude reply comes back through the server', async () => {
            const from = app.events.length;
            const localId = crypto.randomUUID();
            const sent = await app.http('POST', `/v3/sessions/${sessionId}/messages`, { messages: [{
                localId,
                content: app.encrypt(sessionKey, { role: 'user', content: { type: 'text', text: 'Say hello' }, meta: { sentFrom: 'e2e' } }),
            }] });
            assert.equal(sent.status, 200, sent.text);
            assert.equal(sent.json.messages.length, 1);
            assert.equal(sent.json.messages[0].localId, localId);

            // The CLI posts its turn as role:"session" envelopes (turn-start, text, turn-end) via POST /v3; each
            // reaches the app socket as an update new-message.
            const decryptMsg = (m) => (m?.content?.t === 'encrypted' ? app.decrypt(sessionKey, m.content.c) : null);
            const agentEv = (u) => (u.body.t === 'new-message' && u.body.sid === sessionId
                ? decryptMsg(u.body.message)?.content?.ev : undefined);
            const dumpOnError = (e) => {
                const dump = app.events.slice(from).filter((x) => x.event === 'update' && x.args[0].body.t === 'new-message')
                    .map((x) => JSON.stringify(decryptMsg(x.args[0].body.message)).slice(0, 400));
                throw new Error(`${e.message}\ndecrypted messages:\n${dump.join('\n')}\n` +
                    `fake API requests: ${anthropic.requests.map((r) => `${r.method} ${r.url}`).join(', ')}`);
            };
            await app.waitFor(`a new-message with the text "${FAKE_REPLY}"`, (ev, u) => ev === 'update'
                && agentEv(u)?.t === 'text' && agentEv(u).text === FAKE_REPLY, { from, timeoutMs: 60_000 }).catch(dumpOnError);
            assert.ok(anthropic.requests.some((r) => r.method === 'POST' && r.url.startsWith('/v1/messages')),
                'Claude Code called the fake Messages API');

            // While working, the session reported thinking:true, and thinking:false once the turn was over
            // (session-alive → ephemeral activity); it put its Claude session id into the metadata
            // (update-metadata → update-session). A turn-end envelope is not awaited: CLI 1.2.5 closes the turn
            // before its outgoing queue has sent the reply (OutgoingMessageQueue), so turn-end often never comes.
            const thinking = await app.waitFor('ephemeral activity thinking:true', (ev, a) => ev === 'ephemeral'
                && a.type === 'activity' && a.id === sessionId && a.thinking === true, { from });
            await app.waitFor('ephemeral activity thinking:false after it', (ev, a) => ev === 'ephemeral'
                && a.type === 'activity' && a.id === sessionId && a.active === true && a.thinking === false,
            { from: app.events.indexOf(thinking) + 1, timeoutMs: 30_000 });
            await app.waitFor('update-session with metadata.claudeSessionId', (ev, u) => ev === 'update'
                && u.body.t === 'update-session' && u.body.id === sessionId && u.body.metadata
                && app.decrypt(sessionKey, u.body.metadata.value).claudeSessionId, { from });

            // The same conversation, read back with GET /v3 and decrypted.
            const list = await app.http('GET', `/v3/sessions/${sessionId}/messages?after_seq=0&limit=100`);
            assert.equal(list.status, 200, list.text);
            const plain = list.json.messages.map(decryptMsg);
            assert.deepEqual(plain[0], { role: 'user', content: { type: 'text', text: 'Say hello' }, meta: { sentFrom: 'e2e' } });
            assert.deepEqual(list.json.messages.map((m) => m.seq), plain.map((_, i) => i + 1));
            const evs = plain.slice(1).map((m) => m?.content?.ev?.t);
            assert.ok(evs.includes('turn-start') && evs.includes('text'), `agent events: ${evs}`);
        });

        step('a tool permission round trip: agentState request, the app approves over RPC, the tool runs', async () => {
            const from = app.events.length;
            const sent = await app.http('POST', `/v3/sessions/${sessionId}/messages`, { messages: [{
                localId: crypto.randomUUID(),
                content: app.encrypt(sessionKey, { role: 'user', content: { type: 'text', text: `Now ${TOOL_TRIGGER}` }, meta: { sentFrom: 'e2e' } }),
            }] });
            assert.equal(sent.status, 200, sent.text);

            // The CLI asks for permission through update-state: agentState.requests[<tool id>] = {tool:"Bash", arguments}.
            const stateOf = (u) => (u.body.t === 'update-session' && u.body.id === sessionId && u.body.agentState?.value
                ? app.decrypt(sessionKey, u.body.agentState.value) : null);
            const asked = await app.waitFor('update-session with a Bash permission request in agentState', (ev, u) => ev === 'update'
                && Object.values(stateOf(u)?.requests ?? {}).some((r) => r.tool === 'Bash'), { from, timeoutMs: 60_000 });
            const [requestId, request] = Object.entries(stateOf(asked.args[0]).requests).find(([, r]) => r.tool === 'Bash');
            assert.equal(request.arguments.command, TOOL_COMMAND);

            // The app approves through the session's `permission` RPC (the handler returns nothing: empty plaintext).
            const res = await app.rpc(sessionKey, `${sessionId}:permission`, { id: requestId, approved: true });
            assert.equal(res, undefined);

            await app.waitFor('update-session with the request approved in completedRequests', (ev, u) => ev === 'update'
                && stateOf(u)?.completedRequests?.[requestId]?.status === 'approved', { from, timeoutMs: 30_000 });
            await FakeApp.poll('the file written by the approved tool', () => {
                try { return fs.readFileSync(path.join(cli.work, 'tool-output.txt'), 'utf8') === 'written-by-claude\n'; } catch { return false; }
            }, { timeoutMs: 30_000 });
            const decryptMsg = (m) => (m?.content?.t === 'encrypted' ? app.decrypt(sessionKey, m.content.c) : null);
            await app.waitFor(`a new-message with the text "${TOOL_DONE_REPLY}"`, (ev, u) => ev === 'update' && u.body.t === 'new-message'
                && u.body.sid === sessionId && decryptMsg(u.body.message)?.content?.ev?.text === TOOL_DONE_REPLY, { from, timeoutMs: 30_000 });
        });

        // The CLI's POST /v1/sessions/:id/push-event at the end of a turn: the server emits the ephemeral
        // session-event to the session's interested sockets (no push token is registered, so nothing goes to Expo).
        step('the turn\'s push-event (kind "done") reaches the app as ephemeral session-event', async () => {
            await app.waitFor('ephemeral session-event kind:"done"', (ev, a) => ev === 'ephemeral' && a.type === 'session-event'
                && a.sessionId === sessionId && a.kind === 'done', { timeoutMs: 10_000 });
        });

        step('the turns\' usage-report reaches the app as ephemeral usage and POST /v1/usage/query', async () => {
            const usage = await app.waitFor('ephemeral usage for the session', (ev, a) => ev === 'ephemeral' && a.type === 'usage'
                && a.id === sessionId, { timeoutMs: 10_000 });
            const u = usage.args[0];
            assert.equal(u.key, 'claude-session');
            assert.equal(typeof u.tokens.total, 'number');
            assert.equal(typeof u.cost.total, 'number');
            // The fake API reports 10 input tokens per call; the report is upserted per (account, session, key).
            const q = await app.http('POST', '/v1/usage/query', { sessionId });
            assert.equal(q.status, 200, q.text);
            assert.equal(q.json.totalReports, 1, q.text);
            assert.ok(q.json.usage[0].tokens.input >= 10, q.text);
        });

        step('stop-session ends the session', async () => {
            const from = app.events.length;
            const res = await app.rpc(machineKey, `${machineId}:stop-session`, { sessionId });
            assert.deepEqual(res, { message: 'Session stopped' });
            await app.waitFor('activity active:false for the session', (ev, a) => ev === 'ephemeral' && a.type === 'activity'
                && a.id === sessionId && a.active === false, { from });
        });

        step('stop-daemon: the daemon reports shutting-down and goes offline', async () => {
            const from = app.events.length;
            const res = await app.rpc(machineKey, `${machineId}:stop-daemon`, {});
            assert.match(res?.message ?? '', /Daemon stop request acknowledged/);
            await app.waitFor('update-machine with daemonState "shutting-down"', (ev, u) => ev === 'update'
                && u.body.t === 'update-machine' && u.body.machineId === machineId && u.body.daemonState
                && app.decrypt(machineKey, u.body.daemonState.value).status === 'shutting-down', { from });
            await app.waitFor('machine-activity active:false', (ev, a) => ev === 'ephemeral' && a.type === 'machine-activity'
                && a.id === machineId && a.active === false, { from });
            await FakeApp.poll('daemon and session processes gone', () => cli.ownProcesses().length === 0, { timeoutMs: 20_000 });
        });

        step('nothing outside loopback was contacted through the proxy trap', async () => {
            assert.deepEqual(proxy.attempts, []);
        });
    });
}
