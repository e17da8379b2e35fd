// The admin console in a real browser: Debian's headless chromium driven by playwright-core. Signs in with the
// admin token, watches the live counts move when a client connects, disables an account from the page and sees its
// socket dropped, deletes one with the typed confirmation, and approves a pending registration.
// HAPPY_SCREENSHOT=<file.png> also saves a screenshot of the populated console (docs/admin-console.png is made so).

import test, { before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { chromium } from 'playwright-core';
import {
    startServer, req, authAccount, newEd25519, b64, randomBytes, edSign, writeConfigFile, userAuth, machineAuth,
    sessionAuth, HOOK_TIMEOUT,
} from './harness.mjs';
import { clientsClosedAfterEach } from './clients.mjs';

const T = { timeout: 90_000 };
const CHROMIUM = process.env.HAPPY_CHROMIUM || '/usr/bin/chromium';

let srv;
let token;
let browser;
let page;

before(async () => {
    assert.ok(fs.existsSync(CHROMIUM), `${CHROMIUM} is missing: scripts/setup.sh installs Debian's chromium`);
    const config = writeConfigFile({
        auth: { registration: { mode: 'approval' } },
        modules: { admin: { refresh_ms: 300 } },
    });
    srv = await startServer({ env: { HAPPY_CONFIG: config } });
    token = fs.readFileSync(path.join(srv.dataDir, 'admin-token'), 'utf8').trim();
    // --no-sandbox: CI runs as root, where chromium's sandbox refuses to start.
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-gpu'] });
    page = await browser.newPage({ viewport: { width: 1280, height: 1400 } });
    page.setDefaultTimeout(30_000);  // a loaded CI machine
}, { timeout: HOOK_TIMEOUT });
after(async () => {
    await browser?.close();
    await srv?.stop();
}, { timeout: HOOK_TIMEOUT });

const clients = clientsClosedAfterEach();

/** A key that asked to register (approval mode) and an account approved through the API. */
async function pendingKey() {
    const kp = newEd25519();
    const challenge = randomBytes(32);
    const r = await req(srv.url, 'POST', '/v1/auth', {
        body: { publicKey: b64(kp.publicRaw), challenge: b64(challenge), signature: b64(edSign(kp.privateKey, challenge)) },
    });
    assert.equal(r.status, 403);
    return { kp, hex: Buffer.from(kp.publicRaw).toString('hex').toUpperCase() };
}
async function account() {
    const { kp, hex } = await pendingKey();
    const ok = await req(srv.url, 'POST', `/admin/api/registrations/${hex}/approve`,
        { headers: { authorization: `Bearer ${token}` } });
    assert.equal(ok.status, 200);
    return authAccount(srv.url, { keyPair: kp });
}

const text = (id) => page.locator(`#${id}`).innerText();
/** Waits until the number shown in #id is `n` (or at least `n` with atLeast). The predicate is a real function:
 *  the page's Content-Security-Policy refuses eval, so a string predicate could not run there. */
async function waitCount(id, n, { atLeast = false } = {}) {
    await page.waitForFunction(([i, want, min]) => {
        const v = Number(document.getElementById(i)?.textContent);
        return min ? v >= want : v === want;
    }, [id, n, atLeast], { timeout: 30_000 }).catch(async (e) => {
        throw new Error(`#${id} never showed ${atLeast ? 'at least ' : ''}${n} (now "${await text(id)}"): ${e.message}`);
    });
}

test('sign in: a wrong token is refused on the page, the right one opens the console', T, async () => {
    await page.goto(`${srv.url}/admin`);
    await page.locator('#login').waitFor({ state: 'visible' });
    await page.fill('#token', 'not-the-token');
    await page.click('#login-button', { noWaitAfter: true });
    await page.locator('#login-error').filter({ hasText: 'Invalid admin token' }).waitFor();
    await page.fill('#token', token);
    await page.click('#login-button', { noWaitAfter: true });
    await page.locator('#console').waitFor({ state: 'visible' });
    assert.equal(await text('version'), '0.1.0');
    assert.equal(await text('registration-mode'), 'approval');
    await page.locator('#live.on').waitFor();
});

test('live counts follow a client connecting', T, async () => {
    await waitCount('sockets', 0);
    const acct = await account();
    await clients.connect(srv.url, { ...machineAuth(acct, 'laptop-7f3a'), happyClient: 'cli-daemon/1.2.5' });
    await waitCount('sockets', 1);
    await page.locator('#clients', { hasText: 'cli-daemon/1.2.5' }).waitFor();
    await page.locator(`tr[data-account="${acct.sub}"]`).waitFor();
});

test('disabling an account on the page drops its socket; deleting needs the typed id', T, async () => {
    const acct = await account();
    const sock = await clients.connect(srv.url, userAuth(acct));
    const dropped = new Promise((resolve) => sock.on('disconnect', resolve));
    const row = page.locator(`tr[data-account="${acct.sub}"]`);
    await row.waitFor();
    await row.locator('button[data-testid="disable"]').click();
    assert.equal(await dropped, 'io server disconnect');
    await row.locator('.pill', { hasText: 'disabled' }).waitFor();
    const rest = await req(srv.url, 'GET', '/v1/machines', { headers: { authorization: `Bearer ${acct.token}` } });
    assert.equal(rest.status, 403);

    await row.locator('button[data-testid="delete"]').click();
    await page.locator('#confirm-delete[open]').waitFor();
    assert.equal(await page.locator('#delete-confirm').isDisabled(), true, 'disabled until the id is typed');
    await page.fill('#delete-input', acct.sub.slice(0, -1));
    assert.equal(await page.locator('#delete-confirm').isDisabled(), true);
    await page.fill('#delete-input', acct.sub);
    await page.click('#delete-confirm');
    await row.waitFor({ state: 'detached' });
    const gone = await req(srv.url, 'GET', '/v1/machines', { headers: { authorization: `Bearer ${acct.token}` } });
    assert.deepEqual(gone.json, { error: 'Account deleted' });
});

test('a pending registration is approved from the page', T, async () => {
    const { kp, hex } = await pendingKey();
    const row = page.locator(`tr[data-registration="${hex}"]`);
    await row.waitFor();
    await row.locator('button[data-testid="approve"]').click();
    await row.locator('.pill', { hasText: 'approved' }).waitFor();
    const acct = await authAccount(srv.url, { keyPair: kp });
    assert.ok(acct.token);
});

test('screenshot of the populated console', T, async (t) => {
    const out = process.env.HAPPY_SCREENSHOT;
    // A few clients of each kind, so that the page shows what it is for.
    const a = await account();
    const b = await account();
    for (const [acct, id] of [[a, 'workstation-91c2'], [b, 'build-box-04']]) {
        const m = await req(srv.url, 'POST', '/v1/machines', { headers: { authorization: `Bearer ${acct.token}` },
            body: { id, metadata: 'ciphertext', daemonState: 'ciphertext' } });
        assert.equal(m.status, 200, m.text);
    }
    for (const tag of ['s1', 's2', 's3']) {
        await req(srv.url, 'POST', '/v1/sessions', { headers: { authorization: `Bearer ${a.token}` },
            body: { tag, metadata: 'ciphertext' } });
    }
    await clients.connect(srv.url, { ...machineAuth(a, 'workstation-91c2'), happyClient: 'cli-daemon/1.2.5' });
    await clients.connect(srv.url, { ...sessionAuth(a, 'session-demo'), happyClient: 'cli-coding-session/1.2.5' });
    await clients.connect(srv.url, { ...userAuth(a), happyClient: 'app-ios/1.6.2' });
    await clients.connect(srv.url, { ...machineAuth(b, 'build-box-04'), happyClient: 'cli-daemon/1.2.4' });
    await pendingKey();
    await waitCount('sockets', 4);
    await page.waitForTimeout(800);
    if (!out) {
        t.diagnostic('HAPPY_SCREENSHOT not set: no file written');
        return;
    }
    await page.screenshot({ path: out, fullPage: true });
    assert.ok(fs.statSync(out).size > 10_000);
});
