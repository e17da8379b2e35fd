// Loopback stand-ins so that a real Claude turn happens without contacting anything Anthropic-hosted:
//
//   startFakeAnthropic() — a tiny Anthropic Messages API. POST /v1/messages is answered with one assistant
//     content block (SSE when the request asks for a stream, JSON otherwise): a Bash tool_use when the last user
//     text contains TOOL_TRIGGER, "The tool ran" after a tool_result, "Hello from fake Claude" otherwise.
//     Anything else gets 404. The session's Claude Code gets ANTHROPIC_BASE_URL pointing here.
//   startProxyTrap() — an HTTP proxy that refuses everything and records what was attempted. The CLI gets
//     HTTPS_PROXY/HTTP_PROXY pointing here (NO_PROXY=127.0.0.1,localhost), so a proxy-aware client that tries
//     to reach the internet (Claude Code's telemetry, update checks, ...) fails at once and the test sees it.

import http from 'node:http';

export const FAKE_REPLY = 'Hello from fake Claude';
/** A user message containing this makes the fake model call its Bash tool with TOOL_COMMAND first. */
export const TOOL_TRIGGER = 'please use the bash tool';
export const TOOL_COMMAND = 'echo written-by-claude > tool-output.txt';
export const TOOL_DONE_REPLY = 'The tool ran';

/** The reply for a request: a Bash tool_use when the last user turn asks for it, text otherwise. */
function replyFor(body) {
    const last = body?.messages?.at?.(-1);
    const blocks = typeof last?.content === 'string' ? [{ type: 'text', text: last.content }] : (last?.content ?? []);
    if (blocks.some((b) => b.type === 'tool_result')) return { text: TOOL_DONE_REPLY };
    if (blocks.some((b) => b.type === 'text' && b.text.includes(TOOL_TRIGGER))) {
        return { tool: { id: `toolu_e2e_${Date.now()}`, name: 'Bash', input: { command: TOOL_COMMAND, description: 'Write a file' } } };
    }
    return { text: FAKE_REPLY };
}

function listen(server) {
    return new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(0, '127.0.0.1', () => resolve(server.address().port));
    });
}

function closer(server) {
    return () => new Promise((resolve) => {
        server.closeAllConnections?.();
        server.close(() => resolve());
        setTimeout(resolve, 2000).unref();
    });
}

export async function startFakeAnthropic() {
    const requests = [];
    const server = http.createServer((req, res) => {
        const chunks = [];
        req.on('data', (c) => chunks.push(c));
        req.on('end', () => {
            let body = null;
            try { body = JSON.parse(Buffer.concat(chunks).toString('utf8')); } catch { /* not JSON */ }
            requests.push({ method: req.method, url: req.url, body });
            const p = new URL(req.url, 'http://x').pathname;
            if (req.method !== 'POST' || p !== '/v1/messages') {
                res.writeHead(404, { 'content-type': 'application/json' });
                res.end(JSON.stringify({ type: 'error', error: { type: 'not_found_error', message: `fake: ${req.method} ${p}` } }));
                return;
            }
            const model = body?.model || 'claude-fake';
            const id = `msg_fake_${requests.length}`;
            const usage = { input_tokens: 10, output_tokens: 5, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 };
            const reply = replyFor(body);
            const stopReason = reply.tool ? 'tool_use' : 'end_turn';
            if (!body?.stream) {
                res.writeHead(200, { 'content-type': 'application/json' });
                res.end(JSON.stringify({
                    id, type: 'message', role: 'assistant', model,
                    content: [reply.tool ? { type: 'tool_use', ...reply.tool } : { type: 'text', text: reply.text }],
                    stop_reason: stopReason, stop_sequence: null, usage,
                }));
                return;
            }
            res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
            const ev = (type, data) => res.write(`event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`);
            ev('message_start', { message: {
                id, type: 'message', role: 'assistant', model, content: [], stop_reason: null, stop_sequence: null,
                usage: { ...usage, output_tokens: 1 },
            } });
            if (reply.tool) {
                ev('content_block_start', { index: 0, content_block: { type: 'tool_use', id: reply.tool.id, name: reply.tool.name, input: {} } });
                ev('content_block_delta', { index: 0, delta: { type: 'input_json_delta', partial_json: JSON.stringify(reply.tool.input) } });
            } else {
                ev('content_block_start', { index: 0, content_block: { type: 'text', text: '' } });
                ev('content_block_delta', { index: 0, delta: { type: 'text_delta', text: reply.text } });
            }
            ev('content_block_stop', { index: 0 });
            ev('message_delta', { delta: { stop_reason: stopReason, stop_sequence: null }, usage: { output_tokens: 5 } });
            ev('message_stop', {});
            res.end();
        });
    });
    const port = await listen(server);
    return { url: `http://127.0.0.1:${port}`, requests, close: closer(server) };
}

export async function startProxyTrap() {
    const attempts = [];
    const server = http.createServer((req, res) => {
        attempts.push(`${req.method} ${req.url}`);
        res.writeHead(403);
        res.end('e2e: outbound traffic is not allowed');
    });
    server.on('connect', (req, socket) => {
        attempts.push(`CONNECT ${req.url}`);
        socket.end('HTTP/1.1 403 Forbidden\r\ncontent-length: 0\r\n\r\n');
    });
    const port = await listen(server);
    return { url: `http://127.0.0.1:${port}`, attempts, close: closer(server) };
}
