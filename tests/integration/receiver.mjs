// A local HTTP receiver standing in for external services (GitHub, ElevenLabs, RevenueCat): it records every
// request exactly as received and answers from per-route handlers the test sets. With `tls` ({key, cert}, PEM) it
// serves HTTPS instead (tests/release: outbound HTTPS from the release artifact by host name).
import http from 'node:http';
import https from 'node:https';

/**
 * startReceiver({tls, host}) -> {url, port, requests, on(method, path, handler), clear(), close()}
 * handler(req) -> {status = 200, json, body, headers}; `req` = {method, url, path, query, headers, body}.
 * Unmatched requests get 404 {"error":"no handler"}.
 */
export async function startReceiver({ tls, host = '127.0.0.1' } = {}) {
    const routes = new Map();
    const requests = [];
    const handler = (r, res) => {
        const chunks = [];
        r.on('data', (c) => chunks.push(c));
        r.on('end', async () => {
            const u = new URL(r.url, 'http://x');
            const rec = {
                method: r.method, url: r.url, path: u.pathname, query: Object.fromEntries(u.searchParams),
                headers: r.headers, body: Buffer.concat(chunks).toString('utf8'),
            };
            requests.push(rec);
            const h = routes.get(`${r.method} ${u.pathname}`);
            const out = h ? await h(rec) : { status: 404, json: { error: 'no handler' } };
            const body = out.json !== undefined ? JSON.stringify(out.json) : (out.body ?? '');
            res.writeHead(out.status ?? 200, {
                'content-type': out.json !== undefined ? 'application/json' : 'text/plain', ...(out.headers || {}),
            });
            res.end(body);
        });
    };
    const server = tls ? https.createServer(tls, handler) : http.createServer(handler);
    await new Promise((resolve) => server.listen(0, host, resolve));
    const url = `${tls ? 'https' : 'http'}://${host}:${server.address().port}`;
    return {
        url,
        port: server.address().port,
        requests,
        on(method, path, handler) { routes.set(`${method} ${path}`, typeof handler === 'function' ? handler : () => handler); },
        clear() { requests.length = 0; routes.clear(); },
        close() { return new Promise((resolve) => { server.closeAllConnections?.(); server.close(() => resolve()); }); },
    };
}

/** A local port with nothing listening (connection refused). */
export async function closedPortUrl() {
    const s = http.createServer();
    await new Promise((resolve) => s.listen(0, '127.0.0.1', resolve));
    const port = s.address().port;
    await new Promise((resolve) => s.close(resolve));
    return `http://127.0.0.1:${port}`;
}
