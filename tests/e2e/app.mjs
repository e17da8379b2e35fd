// The "mobile app" side of the end-to-end test: account keys, terminal-pairing answers, record and RPC
// encryption, and a user-scoped Socket.IO connection. It mirrors happy-app (useConnectTerminal.ts,
// authApprove.ts, encryption/*) and the CLI 1.2.5 formats described in /work/shared/spec/cli-e2e.md §2.
//
// Formats (all base64 standard, padded):
//   encryptBox(data, pk)  = ephPk(32) ‖ nonce(24) ‖ crypto_box(data, nonce, pk, ephSk)      (tweetnacl box)
//   dataKey record        = 0x00 ‖ nonce(12) ‖ AES-256-GCM(JSON) ‖ tag(16)                 (node:crypto)
//   legacy record         = nonce(24) ‖ secretbox(JSON, masterSecret)                         (tweetnacl secretbox)
//   encrypted data key    = 0x00 ‖ encryptBox(key32, contentPk)   (machines' and sessions' dataEncryptionKey)

import crypto from 'node:crypto';
import nacl from 'tweetnacl';
import { io } from 'socket.io-client';
import { authAccount, ed25519FromSeed, req, bearer } from '../integration/harness.mjs';

export const b64 = (buf) => Buffer.from(buf).toString('base64');
export const unb64 = (s) => new Uint8Array(Buffer.from(s, 'base64'));

// --- key derivation (happy-app deriveKey.ts) --------------------------------------------------------------

function hmacSha512(key, data) {
    return new Uint8Array(crypto.createHmac('sha512', key).update(data).digest());
}

/** deriveKey(master, usage, path): BIP32-like HMAC-SHA512 tree. */
export function deriveKey(master, usage, pathParts) {
    let I = hmacSha512(Buffer.from(`${usage} Master Seed`, 'utf8'), master);
    let key = I.subarray(0, 32);
    let chainCode = I.subarray(32);
    for (const part of pathParts) {
        I = hmacSha512(chainCode, Buffer.concat([Buffer.from([0]), Buffer.from(part, 'utf8')]));
        key = I.subarray(0, 32);
        chainCode = I.subarray(32);
    }
    return key;
}

/** libsodium crypto_box_seed_keypair: sk = SHA-512(seed)[0:32], pk = X25519(sk). */
export function boxSeedKeyPair(seed) {
    const sk = new Uint8Array(crypto.createHash('sha512').update(seed).digest().subarray(0, 32));
    return nacl.box.keyPair.fromSecretKey(sk);
}

// --- box / record crypto ----------------------------------------------------------------------------------

export function encryptBox(data, recipientPk) {
    const eph = nacl.box.keyPair();
    const nonce = nacl.randomBytes(nacl.box.nonceLength);
    const ct = nacl.box(data, nonce, recipientPk, eph.secretKey);
    return Buffer.concat([eph.publicKey, nonce, ct]);
}

export function decryptBox(bundle, sk) {
    const ephPk = bundle.subarray(0, 32);
    const nonce = bundle.subarray(32, 56);
    const ct = bundle.subarray(56);
    return nacl.box.open(ct, nonce, ephPk, sk); // null when it does not authenticate
}

export function encryptDataKey(obj, key) {
    const nonce = crypto.randomBytes(12);
    const c = crypto.createCipheriv('aes-256-gcm', key, nonce);
    const ct = Buffer.concat([c.update(Buffer.from(JSON.stringify(obj), 'utf8')), c.final()]);
    return Buffer.concat([Buffer.from([0]), nonce, ct, c.getAuthTag()]);
}

/** Returns the decrypted JSON value; `undefined` for an empty plaintext (a handler that returned undefined).
 *  Throws if the bundle does not authenticate. */
export function decryptDataKey(bundle, key) {
    bundle = Buffer.from(bundle);
    if (bundle[0] !== 0) throw new Error(`dataKey bundle: version byte ${bundle[0]}, expected 0`);
    const d = crypto.createDecipheriv('aes-256-gcm', key, bundle.subarray(1, 13));
    d.setAuthTag(bundle.subarray(bundle.length - 16));
    const text = Buffer.concat([d.update(bundle.subarray(13, bundle.length - 16)), d.final()]).toString('utf8');
    return text === '' ? undefined : JSON.parse(text);
}

export function encryptLegacy(obj, secret) {
    const nonce = nacl.randomBytes(nacl.secretbox.nonceLength);
    return Buffer.concat([nonce, nacl.secretbox(Buffer.from(JSON.stringify(obj), 'utf8'), nonce, secret)]);
}

export function decryptLegacy(bundle, secret) {
    bundle = new Uint8Array(bundle);
    const pt = nacl.secretbox.open(bundle.subarray(24), bundle.subarray(0, 24), secret);
    if (!pt) throw new Error('legacy bundle does not authenticate');
    const text = Buffer.from(pt).toString('utf8');
    return text === '' ? undefined : JSON.parse(text);
}

// --- the app -----------------------------------------------------------------------------------------------

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export class FakeApp {
    /** Creates the account: POST /v1/auth signed with crypto_sign_seed_keypair(masterSecret). */
    static async create(url, { masterSecret, ca } = {}) {
        const app = new FakeApp(url);
        app.ca = ca;  // the test CA, for an https:// server
        app.masterSecret = masterSecret ?? new Uint8Array(crypto.randomBytes(32));
        const acc = await authAccount(url, { keyPair: ed25519FromSeed(Buffer.from(app.masterSecret)) });
        app.token = acc.token;
        app.userId = acc.sub;
        app.content = boxSeedKeyPair(deriveKey(app.masterSecret, 'Happy EnCoder', ['content']));
        return app;
    }

    constructor(url) {
        this.url = url;
        this.events = []; // every event the user-scoped socket received: {event, args, t}
        this.socket = null;
        this.waiters = new Set();
    }

    http(method, path, body) {
        return req(this.url, method, path, { headers: bearer(this.token), body });
    }

    /** The app's answer to a terminal-pairing request (v2: dataKey, v1: the legacy master secret). */
    pairingResponse(cliPublicKey, mode) {
        const plain = mode === 'v1' ? this.masterSecret : Buffer.concat([Buffer.from([0]), this.content.publicKey]);
        return encryptBox(plain, cliPublicKey);
    }

    /** Opens a data-encryption key (0x00 ‖ box bundle) sent by the CLI for a machine or session. */
    openDataKey(encB64) {
        const raw = Buffer.from(encB64, 'base64');
        if (raw[0] !== 0) throw new Error(`dataEncryptionKey: version byte ${raw[0]}, expected 0`);
        const key = decryptBox(raw.subarray(1), this.content.secretKey);
        if (!key || key.length !== 32) throw new Error('dataEncryptionKey does not open with the content key');
        return Buffer.from(key);
    }

    /** key = {type:'dataKey', key} | {type:'legacy', key: masterSecret} */
    encrypt(key, obj) {
        return b64(key.type === 'legacy' ? encryptLegacy(obj, key.key) : encryptDataKey(obj, key.key));
    }

    decrypt(key, s) {
        const raw = Buffer.from(s, 'base64');
        return key.type === 'legacy' ? decryptLegacy(raw, key.key) : decryptDataKey(raw, key.key);
    }

    connect(timeoutMs = 10_000) {
        const s = io(this.url, {
            path: '/v1/updates',
            transports: ['websocket'],
            reconnection: false,
            forceNew: true,
            timeout: timeoutMs,
            auth: { token: this.token, clientType: 'user-scoped' },
            ...(this.ca ? { ca: this.ca } : {}),
        });
        this.socket = s;
        s.onAny((event, ...args) => {
            this.events.push({ event, args, t: Date.now() });
            for (const w of this.waiters) w();
        });
        return new Promise((resolve, reject) => {
            const t = setTimeout(() => reject(new Error(`app socket: no connect within ${timeoutMs} ms`)), timeoutMs);
            s.once('connect', () => { clearTimeout(t); resolve(); });
            s.once('connect_error', (e) => { clearTimeout(t); reject(new Error(`app socket connect_error: ${e?.message}`)); });
        });
    }

    /** Waits for a received event (past or future, from index `from`) matching pred(event, args). */
    waitFor(desc, pred, { timeoutMs = 30_000, from = 0 } = {}) {
        return new Promise((resolve, reject) => {
            const check = () => {
                for (let i = from; i < this.events.length; i++) {
                    const e = this.events[i];
                    let ok = false;
                    try { ok = pred(e.event, ...e.args); } catch { ok = false; }
                    if (ok) { done(); resolve(e); return true; }
                }
                return false;
            };
            const done = () => { clearTimeout(t); this.waiters.delete(check); };
            const t = setTimeout(() => {
                done();
                const seen = this.events.slice(from).map((e) => e.event === 'update' ? `update:${e.args[0]?.body?.t}` : e.event);
                reject(new Error(`timeout after ${timeoutMs} ms waiting for ${desc}; app socket saw: ${seen.join(', ') || '(nothing)'}`));
            }, timeoutMs);
            if (!check()) this.waiters.add(check);
        });
    }

    /** rpc-call through the server; returns the raw ack ({ok, result|error}). */
    rpcRaw(method, paramsB64, timeoutMs = 40_000) {
        return this.socket.timeout(timeoutMs).emitWithAck('rpc-call', { method, params: paramsB64 });
    }

    /** Encrypted rpc-call; returns the decrypted result (throws on {ok:false}). */
    async rpc(key, method, params, timeoutMs = 40_000) {
        const ack = await this.rpcRaw(method, this.encrypt(key, params), timeoutMs);
        if (!ack || ack.ok !== true) throw new Error(`rpc-call ${method}: ${JSON.stringify(ack)}`);
        if (typeof ack.result !== 'string') throw new Error(`rpc-call ${method}: result is not a string: ${JSON.stringify(ack)}`);
        return this.decrypt(key, ack.result);
    }

    /** Polls until fn() returns a truthy value. */
    static async poll(desc, fn, { timeoutMs = 30_000, intervalMs = 250 } = {}) {
        const end = Date.now() + timeoutMs;
        let last;
        for (;;) {
            try {
                const v = await fn();
                if (v) return v;
            } catch (e) { last = e; }
            if (Date.now() > end) throw new Error(`timeout after ${timeoutMs} ms waiting for ${desc}${last ? `: ${last.message}` : ''}`);
            await sleep(intervalMs);
        }
    }

    close() {
        try { this.socket?.close(); } catch { /* ignore */ }
    }
}
