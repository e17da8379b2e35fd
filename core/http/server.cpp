#include "core/http/server.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <mutex>
#include <fmt/format.h>
#include <optional>
#include <unordered_map>
#include <variant>

#include "core/http/exchange.hpp"
#include "core/http/pipeline.hpp"
#include "core/limits/address.hpp"
#include "core/limits/counter.hpp"
#include "core/http/tls.hpp"
#include "core/log/log.hpp"
#include "core/metrics/metrics.hpp"
#include "core/trace/trace.hpp"
#include "core/util/time.hpp"
#include "core/util/utf8.hpp"

namespace happy::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
using tcp = asio::ip::tcp;

namespace {

std::int64_t steady_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch())
        .count();
}

struct connection {
    explicit connection(tcp::socket s)
        : ex(s.get_executor()), stream(std::in_place_type<beast::tcp_stream>, std::move(s)) {}
    connection(tcp::socket s, std::shared_ptr<asio::ssl::context> ctx)
        : ex(s.get_executor()), stream(std::in_place_type<tls_stream>, std::move(s), *ctx), tls_ctx(std::move(ctx)) {}
    /// The connection's strand (kept apart from the stream, which a protocol may move away).
    asio::any_io_executor ex;
    std::variant<beast::tcp_stream, tls_stream> stream;
    /// The TLS context the connection was accepted with: a reload (SIGHUP) swaps the listener's, not this one.
    std::shared_ptr<asio::ssl::context> tls_ctx;
    bool in_flight = false;  // touched only on the connection's strand
    bool taken = false;      // the stream was moved to a protocol (WebSocket); touched only on the strand
    std::uint64_t id = 0;
    limits::connection_slots slots;  // handed to a protocol that takes the stream
    /// When the current read or write must be done (steady ms; 0 = no limit). Checked by the server's deadline
    /// sweep instead of a timer per operation: Beast's per-operation timer costs a timer-queue insert and a
    /// cancelled-handler completion per read and per write, ~15% of a small request's throughput.
    std::atomic<std::int64_t> deadline{0};

    void arm(std::chrono::milliseconds d) { deadline.store(steady_ms() + d.count(), std::memory_order_relaxed); }
    void disarm() { deadline.store(0, std::memory_order_relaxed); }
    beast::tcp_stream& lowest() {
        return std::visit([](auto& st) -> beast::tcp_stream& { return beast::get_lowest_layer(st); }, stream);
    }
    const asio::any_io_executor& executor() const { return ex; }
};

/// The peer's address (IPv4-mapped IPv6 as IPv4); nullopt when the socket is already gone.
std::optional<asio::ip::address> peer_of(const tcp::socket& s) {
    boost::system::error_code ec;
    auto ep = s.remote_endpoint(ec);
    if (ec) {
        return std::nullopt;
    }
    return limits::address_normalize(ep.address());
}

/// Every X-Forwarded-For field of a request, joined as one list (RFC 9110 §5.3).
template <class Fields>
std::string forwarded_for(const Fields& h) {
    std::string out;
    for (const auto& f : h) {
        if (beast::iequals(f.name_string(), "x-forwarded-for")) {
            out += out.empty() ? "" : ",";
            out += f.value();
        }
    }
    return out;
}

void close_now(connection& c) {
    if (c.taken) {
        return;  // a protocol owns the stream now (and a moved-from TLS stream has no layers left)
    }
    boost::system::error_code ec;
    c.lowest().socket().shutdown(tcp::socket::shutdown_both, ec);
    c.lowest().socket().close(ec);
}

}  // namespace

namespace {

/// Node reads header values as latin1 (each byte one code point), so a raw 0xD1 is "Ñ" to every handler and
/// U+00D1 in any JSON that echoes it; kept as a raw byte it would make that JSON invalid UTF-8.
std::string latin1_to_utf8(std::string_view v) {
    if (std::all_of(v.begin(), v.end(), [](char c) { return static_cast<unsigned char>(c) < 0x80; })) {
        return std::string(v);  // the usual case: ASCII reads the same either way
    }
    std::string out;
    out.reserve(v.size() + 8);
    for (char ch : v) {
        util::append_utf8(out, static_cast<unsigned char>(ch));
    }
    return out;
}

/// The Date header's value, formatted once per second per thread rather than for every response.
const std::string& date_now() {
    thread_local std::int64_t second = -1;
    thread_local std::string text;
    std::int64_t ms = now_ms();
    if (ms / 1000 != second) {
        second = ms / 1000;
        text = http_date(ms);
    }
    return text;
}

}  // namespace

bool request_line_acceptable(std::string_view method, std::string_view target) {
    // Node's http.METHODS (v20): llhttp knows no other method.
    static constexpr std::string_view node_methods[] = {
        "ACL",    "BIND",     "CHECKOUT",  "CONNECT",    "COPY",       "DELETE", "GET",    "HEAD",       "LINK",
        "LOCK",   "M-SEARCH", "MERGE",     "MKACTIVITY", "MKCALENDAR", "MKCOL",  "MOVE",   "NOTIFY",     "OPTIONS",
        "PATCH",  "POST",     "PROPFIND",  "PROPPATCH",  "PURGE",      "PUT",    "QUERY",  "REBIND",     "REPORT",
        "SEARCH", "SOURCE",   "SUBSCRIBE", "TRACE",      "UNBIND",     "UNLINK", "UNLOCK", "UNSUBSCRIBE"};
    for (char ch : target) {
        auto c = static_cast<unsigned char>(ch);
        if (c < 0x21 || c > 0x7e) {
            return false;
        }
    }
    return std::find(std::begin(node_methods), std::end(node_methods), method) != std::end(node_methods);
}

incoming to_incoming(bhttp::request<bhttp::string_body>&& req, std::string remote_address) {
    incoming in;
    in.method = std::string(req.method_string());
    in.target = std::string(req.target());
    in.headers.reserve(16);
    for (const auto& f : req) {
        std::string name(f.name_string());
        for (auto& ch : name) {
            ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
        }
        in.headers.emplace_back(std::move(name), latin1_to_utf8(f.value()));
    }
    // fastify treats a request as bodiless when it has no Transfer-Encoding and Content-Length is absent or 0.
    auto cl = req.find(bhttp::field::content_length);
    in.body_declared =
        req.find(bhttp::field::transfer_encoding) != req.end() || (cl != req.end() && cl->value() != "0");
    in.body = std::move(req.body());
    in.remote_address = std::move(remote_address);
    return in;
}

/// Responses are written from a view of their body (response::text()).
using out_body = bhttp::span_body<const char>;

struct server::impl {
    impl(asio::io_context& ioc, server_options o, const pipeline& p)
        : ioc(ioc), opts(std::move(o)), pipe(p), acceptor(asio::make_strand(ioc)) {}

    asio::io_context& ioc;
    server_options opts;
    const pipeline& pipe;
    tcp::acceptor acceptor;
    limits::counter instance_count{opts.max_connections};
    limits::counter address_count{opts.max_connections_per_address};
    log::throttle refusal_log{std::chrono::seconds(10)};
    std::atomic<bool> stopping{false};
    std::atomic<bool> log_requests{opts.log_requests};
    /// The Keep-Alive header's value, fixed for the server's life like the timeout it announces.
    const std::string keep_alive_value = "timeout=" + std::to_string(opts.keep_alive_timeout.count() / 1000);
    mutable std::mutex mutex;
    std::unordered_map<std::uint64_t, std::weak_ptr<connection>> conns;
    std::uint64_t next_id = 1;
    std::vector<protocol_handler*> protocols;

    /// Closes connections whose deadline has passed, checking often enough that a timeout fires at most a
    /// quarter of the shortest limit late. The close makes the pending read or write fail, which ends the
    /// connection the way Beast's own timeout did.
    asio::awaitable<void> deadline_loop() {
        auto shortest = std::min({opts.header_timeout, opts.body_timeout, opts.keep_alive_timeout});
        auto period = std::clamp(shortest / 4, std::chrono::milliseconds(25), std::chrono::milliseconds(1000));
        asio::steady_timer t(acceptor.get_executor());
        while (!(stopping && connection_count() == 0)) {
            t.expires_after(period);
            co_await t.async_wait(asio::as_tuple(asio::use_awaitable));
            std::int64_t now = steady_ms();
            for (auto& c : snapshot()) {
                std::int64_t d = c->deadline.load(std::memory_order_relaxed);
                if (d != 0 && d <= now) {
                    asio::post(c->executor(), [c] {
                        std::int64_t d2 = c->deadline.load(std::memory_order_relaxed);
                        if (d2 != 0 && d2 <= steady_ms()) {  // not re-armed by progress in the meantime
                            close_now(*c);
                        }
                    });
                }
            }
        }
    }

    std::size_t connection_count() const {
        std::lock_guard lock(mutex);
        return conns.size();
    }

    void track(const std::shared_ptr<connection>& c) {
        std::lock_guard lock(mutex);
        c->id = next_id++;
        conns.emplace(c->id, c);
    }
    void untrack(std::uint64_t id) {
        std::lock_guard lock(mutex);
        conns.erase(id);
    }
    std::vector<std::shared_ptr<connection>> snapshot() {
        std::vector<std::shared_ptr<connection>> out;
        std::lock_guard lock(mutex);
        for (auto& [id, w] : conns) {
            if (auto c = w.lock()) {
                out.push_back(std::move(c));
            }
        }
        return out;
    }

    protocol_handler* find_protocol(std::string_view target) const {
        for (auto* p : protocols) {
            if (p->matches(target)) {
                return p;
            }
        }
        return nullptr;
    }

    /// accept() calls that failed because the process or the system had no file descriptor left.
    std::atomic<std::uint64_t> fd_exhausted{0};

    asio::awaitable<void> accept_loop() {
        // Out of descriptors (EMFILE: this process's RLIMIT_NOFILE; ENFILE: the whole system), the pending client
        // stays in the listen backlog and every retry fails the same way until a connection closes. Existing
        // connections are served meanwhile (they need no new descriptor); the loop waits with a doubling delay
        // so that it does not spin, and logs once per interval so that a full table does not flood the log.
        constexpr auto min_backoff = std::chrono::milliseconds(10);
        constexpr auto max_backoff = std::chrono::milliseconds(500);
        constexpr auto log_interval = std::chrono::seconds(10);
        auto backoff = min_backoff;
        std::optional<std::chrono::steady_clock::time_point> last_log;
        std::uint64_t unlogged = 0;
        for (;;) {
            // A TLS connection runs on a strand<any_io_executor>: a WebSocket taking its stream keeps that strand as
            // its session's (a TLS stream cannot be moved onto another executor as a plain socket can).
            boost::system::error_code ec;
            tcp::socket sock(ioc);
            if (opts.tls) {
                auto [e, accepted] = co_await acceptor.async_accept(
                    asio::strand<asio::any_io_executor>(asio::any_io_executor(ioc.get_executor())),
                    asio::as_tuple(asio::use_awaitable));
                ec = e;
                sock = tcp::socket(std::move(accepted));
            } else {
                auto [e, accepted] = co_await acceptor.async_accept(asio::make_strand(ioc), asio::as_tuple(asio::use_awaitable));
                ec = e;
                sock = tcp::socket(std::move(accepted));
            }
            if (ec) {
                if (stopping || !acceptor.is_open() || ec == asio::error::operation_aborted) {
                    co_return;
                }
                bool no_fd = ec == asio::error::no_descriptors || ec == boost::system::errc::too_many_files_open_in_system;
                if (no_fd) {
                    fd_exhausted.fetch_add(1, std::memory_order_relaxed);
                }
                ++unlogged;
                auto now = std::chrono::steady_clock::now();
                if (!last_log || now - *last_log >= log_interval) {
                    boost::system::error_code ignored;
                    log::warn(no_fd ? "accept failed: out of file descriptors; serving existing connections"
                                    : "accept failed",
                              {{"error", ec.message()},
                               {"port", acceptor.local_endpoint(ignored).port()},
                               {"connections", connection_count()},
                               {"failures", unlogged}});
                    last_log = now;
                    unlogged = 0;
                }
                asio::steady_timer t(acceptor.get_executor(), backoff);
                co_await t.async_wait(asio::as_tuple(asio::use_awaitable));
                backoff = std::min(backoff * 2, max_backoff);
                continue;
            }
            backoff = min_backoff;
            boost::system::error_code ignored;
            sock.set_option(tcp::no_delay(true), ignored);
            auto c = opts.tls ? std::make_shared<connection>(std::move(sock), opts.tls->current())
                              : std::make_shared<connection>(std::move(sock));
            track(c);
            asio::co_spawn(c->executor(), session(c), asio::detached);
        }
    }

    template <class Stream>
    asio::awaitable<void> write_response(connection& c, Stream& stream, response& res, bool keep_alive, bool head) {
        // The body is sent from where the response keeps it (its string, or a cache's shared one), never copied.
        bhttp::response<out_body> out;
        out.version(11);
        out.result(res.status);
        out.set(bhttp::field::access_control_allow_origin, "*");
        if (!res.content_type.empty()) {
            out.set(bhttp::field::content_type, res.content_type);
        }
        for (const auto& [k, v] : res.headers) {
            out.set(k, v);
        }
        out.set(bhttp::field::date, date_now());
        if (res.stream && !head) {
            co_await write_stream(c, stream, out, res);
            co_return;
        }
        if (keep_alive) {
            out.set(bhttp::field::connection, "keep-alive");
            out.set(bhttp::field::keep_alive, keep_alive_value);
        } else {
            out.set(bhttp::field::connection, "close");
        }
        std::string_view text = res.text();
        out.content_length(text.size());
        if (!head) {
            out.body() = {text.data(), text.size()};
        }
        c.arm(opts.body_timeout);
        if (head) {
            bhttp::response_serializer<out_body> sr(out);
            sr.split(true);
            co_await bhttp::async_write_header(stream, sr, asio::as_tuple(asio::use_awaitable));
        } else {
            co_await bhttp::async_write(stream, out, asio::as_tuple(asio::use_awaitable));
        }
    }

    /// A streamed body (response::stream): chunked, one chunk per piece, until the producer ends, the client goes
    /// (a failed write), or shutdown begins. The connection closes afterwards.
    template <class Stream>
    asio::awaitable<void> write_stream(connection& c, Stream& stream, bhttp::response<out_body>& out,
                                       response& res) {
        out.set(bhttp::field::connection, "close");
        out.set(bhttp::field::cache_control, "no-store");
        out.chunked(true);
        bhttp::response_serializer<out_body> sr(out);
        c.arm(opts.body_timeout);
        auto [ec, n] = co_await bhttp::async_write_header(stream, sr, asio::as_tuple(asio::use_awaitable));
        c.disarm();
        std::optional<std::string> piece;
        if (!res.text().empty()) {
            piece = std::string(res.text());
        }
        while (!ec && !stopping) {
            if (!piece) {
                piece = co_await res.stream();
                if (!piece || stopping) {
                    break;
                }
            }
            c.arm(opts.body_timeout);
            std::tie(ec, n) = co_await asio::async_write(stream, bhttp::make_chunk(asio::buffer(*piece)),
                                                         asio::as_tuple(asio::use_awaitable));
            c.disarm();
            piece.reset();
        }
        if (!ec) {
            c.arm(opts.body_timeout);
            co_await asio::async_write(stream, bhttp::make_chunk_last(), asio::as_tuple(asio::use_awaitable));
            c.disarm();
        }
        res.close = true;
    }

    template <class Stream>
    asio::awaitable<void> write_error_and_close(connection& c, Stream& stream, response res) {
        co_await write_response(c, stream, res, false, false);
        close_now(c);
    }

    /// At most one log line per 10 s about refused connections (a flood must not flood the log too).
    void log_refusal(std::string_view what, std::size_t limit, const std::string& client) {
        if (!refusal_log.ready()) {
            return;
        }
        log::warn(what, {{"limit", limit},
                         {"client", client},
                         {"refused_instance", instance_count.refused()},
                         {"refused_address", address_count.refused()}});
    }

    /// Counts a new connection against the listener's limit. The answer to send when it is full.
    std::optional<response> admit_connection(connection& c, const std::string& client) {
        auto s = instance_count.try_acquire({});
        if (!s) {
            log_refusal("connection refused: server at its connection limit (limits.max_connections)",
                        opts.max_connections, client);
            response r = response::error(503, fmt::format("Too many connections to this server (limit {}); try again later",
                                                          opts.max_connections));
            r.headers.emplace_back("retry-after", "5");
            return r;
        }
        c.slots.instance = std::move(*s);
        return std::nullopt;
    }

    /// The key a client is counted under by the per-address limits; empty when exempt from them.
    std::string limit_key(const std::optional<asio::ip::address>& a) const {
        return a && !opts.limit_exempt.contains(*a) ? limits::address_limit_key(*a) : std::string();
    }

    /// Counts the connection against its client address's limit (once). The answer to send when that is full.
    std::optional<response> admit_address(connection& c, const asio::ip::address& client) {
        if (c.slots.address || opts.limit_exempt.contains(client)) {
            return std::nullopt;
        }
        auto s = address_count.try_acquire(limits::address_limit_key(client));
        if (!s) {
            log_refusal("connection refused: address at its connection limit (limits.max_connections_per_ip)",
                        opts.max_connections_per_address, client.to_string());
            response r = response::error(429, fmt::format("Too many connections from this address (limit {})",
                                                          opts.max_connections_per_address));
            r.headers.emplace_back("retry-after", "5");
            return r;
        }
        c.slots.address = std::move(*s);
        return std::nullopt;
    }

    /// Answers a refused connection at once (before or after its request was read) and closes it the way servers
    /// close with a request possibly unread: stop sending, then read and discard until the client closes (bounded),
    /// so that the close does not reset the connection before the client has read the answer.
    template <class Stream>
    asio::awaitable<void> refuse(connection& c, Stream& stream, response res) {
        c.in_flight = true;
        co_await write_response(c, stream, res, false, false);
        boost::system::error_code ec;
        c.lowest().socket().shutdown(tcp::socket::shutdown_send, ec);
        c.arm(std::chrono::seconds(1));
        std::array<char, 1024> sink;
        for (;;) {
            // Raw bytes below TLS too: they are discarded unread.
            auto [rec, n] = co_await c.lowest().async_read_some(asio::buffer(sink), asio::as_tuple(asio::use_awaitable));
            if (rec) {
                break;
            }
        }
    }

    /// A connection from start to end. An exception that escapes it (a bug) ends this connection only, logged,
    /// and leaves nothing behind: co_spawn's detached completion would drop it silently.
    asio::awaitable<void> session(std::shared_ptr<connection> c) {
        try {
            co_await session_steps(c);
        } catch (const std::exception& e) {
            log::error("connection ended by an unexpected error", {{"error", e.what()}});
            close_now(*c);
            untrack(c->id);
        }
    }

    asio::awaitable<void> session_steps(std::shared_ptr<connection> c) {
        auto peer = peer_of(c->lowest().socket());
        std::string remote = peer ? peer->to_string() : std::string();
        if (auto* tls = std::get_if<tls_stream>(&c->stream)) {
            c->arm(opts.header_timeout);
            auto [ec] = co_await tls->async_handshake(asio::ssl::stream_base::server, asio::as_tuple(asio::use_awaitable));
            c->disarm();
            if (ec) {
                // Scanners and clients that distrust the certificate end here; not worth a warning each.
                log::debug("TLS handshake failed", {{"remote", remote}, {"error", ec.message()}});
                close_now(*c);
                untrack(c->id);
                co_return;
            }
            co_await serve_on(c, *tls, peer);
        } else {
            co_await serve_on(c, std::get<beast::tcp_stream>(c->stream), peer);
        }
    }

    template <class Stream>
    asio::awaitable<void> serve_on(std::shared_ptr<connection> c, Stream& stream, std::optional<asio::ip::address> peer) {
        beast::flat_buffer buffer;
        bool first = true;
        auto remote = peer ? peer->to_string() : std::string();
        // Behind a trusted proxy the client is known only from each request's X-Forwarded-For, and the proxy's
        // keep-alive connections carry requests of any client one after another: only a WebSocket (which the proxy
        // holds for one client) is counted against its client's address, when its handshake arrives.
        bool via_proxy = peer && opts.trusted_proxies.contains(*peer);
        std::string peer_key = limit_key(peer);
        auto refusal = admit_connection(*c, remote);
        if (!refusal && peer && !via_proxy) {
            refusal = admit_address(*c, *peer);
        }
        if (refusal) {
            co_await refuse(*c, stream, std::move(*refusal));
            close_now(*c);
            untrack(c->id);
            co_return;
        }
        for (;;) {
            c->in_flight = false;
            if (stopping) {
                break;
            }
            bhttp::request_parser<bhttp::string_body> parser;
            parser.header_limit(static_cast<std::uint32_t>(opts.header_limit));
            parser.body_limit(opts.body_limit);
            c->arm(first ? opts.header_timeout : opts.keep_alive_timeout);
            auto [ec, n] = co_await bhttp::async_read_header(stream, buffer, parser, asio::as_tuple(asio::use_awaitable));
            if (ec) {
                c->in_flight = true;
                if (ec == bhttp::error::body_limit) {
                    const auto& h = parser.get();
                    co_await write_error_and_close(*c, stream, pipe.body_too_large_for(h.method_string(), h.target()));
                } else if (ec == bhttp::error::header_limit) {
                    co_await write_error_and_close(*c, stream, response::text("", 431, ""));
                } else if (ec != bhttp::error::end_of_stream && ec != beast::error::timeout &&
                           ec != asio::error::operation_aborted && ec != asio::error::connection_reset &&
                           ec != asio::error::eof && buffer.size() + n > 0) {
                    // Malformed request line or headers: Node answers 400 and closes.
                    co_await write_error_and_close(*c, stream, response::text("", 400, ""));
                }
                break;
            }
            c->in_flight = true;
            auto started = std::chrono::steady_clock::now();
            std::int64_t started_unix_ns = opts.tracer ? std::chrono::duration_cast<std::chrono::nanoseconds>(
                                                             std::chrono::system_clock::now().time_since_epoch())
                                                             .count()
                                                       : 0;
            auto& hdr = parser.get();
            c->disarm();
            std::string client = remote;
            std::string client_key = peer_key;
            if (via_proxy) {
                auto a = limits::client_address(*peer, forwarded_for(hdr), opts.trusted_proxies);
                client = a.to_string();
                client_key = limit_key(a);
                if (hdr.find(bhttp::field::upgrade) != hdr.end()) {
                    if (auto r = admit_address(*c, a)) {
                        co_await refuse(*c, stream, std::move(*r));
                        break;
                    }
                }
            }
            if (!request_line_acceptable(hdr.method_string(), hdr.target())) {
                co_await write_error_and_close(*c, stream, response::text("", 400, ""));
                break;
            }
            if (protocol_handler* proto = find_protocol(hdr.target())) {
                // The protocol sets its own limits (long polls wait for data on purpose).
                exchange ex{&stream, buffer, parser, client, &c->slots};
                bool keep = co_await proto->serve(ex);
                if (ex.taken) {
                    c->taken = true;
                    untrack(c->id);  // the protocol owns the socket now
                    co_return;
                }
                if (!keep || stopping) {
                    break;
                }
                beast::get_lowest_layer(stream).expires_never();  // whatever limit the protocol set; ours is the deadline again
                first = false;
                continue;
            }
            if (hdr[bhttp::field::expect] == "100-continue" && !parser.is_done()) {
                bhttp::response<bhttp::empty_body> cont{bhttp::status::continue_, 11};
                co_await bhttp::async_write(stream, cont, asio::as_tuple(asio::use_awaitable));
            }
            if (!parser.is_done()) {
                c->arm(opts.body_timeout);
                auto [ec2, n2] = co_await bhttp::async_read(stream, buffer, parser, asio::as_tuple(asio::use_awaitable));
                if (ec2) {
                    if (ec2 == bhttp::error::body_limit) {
                        co_await write_error_and_close(*c, stream, pipe.body_too_large_for(hdr.method_string(), hdr.target()));
                    }
                    break;
                }
            }
            auto req = parser.release();
            bool keep_alive = req.keep_alive();
            bool head = req.method() == bhttp::verb::head;
            incoming in = to_incoming(std::move(req), client);
            in.limit_key = std::move(client_key);

            c->disarm();
            // W3C Trace Context, read before the pipeline takes the headers: the caller's trace when it sent a valid
            // traceparent, else a trace of our own (below).
            std::optional<trace::parent> parent;
            for (const auto& [name, value] : in.headers) {
                if (name == "traceparent") {
                    parent = trace::parse_traceparent(value);
                    break;
                }
            }
            response res;
            try {
                res = co_await pipe.handle(in);
            } catch (const std::exception& e) {
                log::error("request failed", {{"error", e.what()}});
                res = response::internal_error();
            }
            bool keep = keep_alive && !res.close && !res.stream && !stopping;
            unsigned status = res.status;
            co_await write_response(*c, stream, res, keep, head);
            double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
            if (opts.metrics) {
                metrics::global().http_request(in.method, status, seconds);
            }
            bool log_line = log_requests.load(std::memory_order_relaxed) && log::enabled(log::level::info);
            if (log_line || opts.tracer) {
                trace::trace_id tid = parent ? parent->trace : trace::new_trace_id();
                auto path = std::string_view(in.target).substr(0, in.target.find('?'));
                std::string tid_hex = trace::hex(tid);
                if (log_line) {
                    double ms = seconds * 1000;
                    log::info("request", {{"method", in.method}, {"path", path}, {"status", status},
                                          {"duration_ms", std::round(ms * 1000) / 1000}, {"trace_id", tid_hex}});
                }
                // Parent-based sampling: a caller that said "not sampled" is not exported; our own roots are.
                if (opts.tracer && (!parent || parent->sampled)) {
                    trace::span sp;
                    sp.trace = tid;
                    sp.id = trace::new_span_id();
                    if (parent) {
                        sp.parent_id = parent->span;
                    }
                    sp.method = in.method;
                    sp.path = std::string(path);
                    sp.status = status;
                    sp.start_unix_nano = started_unix_ns;
                    sp.end_unix_nano = started_unix_ns + static_cast<std::int64_t>(seconds * 1e9);
                    sp.peer = in.remote_address;
                    opts.tracer->add(std::move(sp));
                }
            }
            if (!keep) {
                break;
            }
            first = false;
        }
        if constexpr (std::is_same_v<Stream, tls_stream>) {
            // close_notify, bounded: a peer that does not answer must not hold the connection.
            if (!stopping && !c->taken) {
                c->arm(std::chrono::milliseconds(1000));
                co_await stream.async_shutdown(asio::as_tuple(asio::use_awaitable));
                c->disarm();
            }
        }
        close_now(*c);
        untrack(c->id);
    }
};

server::server(asio::io_context& ioc, server_options opts, const pipeline& p)
    : impl_(std::make_unique<impl>(ioc, std::move(opts), p)) {}

server::~server() = default;

void server::set_log_requests(bool on) { impl_->log_requests.store(on); }

std::uint16_t server::listen() {
    auto& a = impl_->acceptor;
    auto addr = asio::ip::make_address(impl_->opts.host);
    tcp::endpoint ep(addr, impl_->opts.port);
    a.open(ep.protocol());
    a.set_option(asio::socket_base::reuse_address(true));
    a.bind(ep);
    a.listen(asio::socket_base::max_listen_connections);
    return a.local_endpoint().port();
}

void server::add_protocol(protocol_handler* h) { impl_->protocols.push_back(h); }

void server::start() {
    asio::co_spawn(impl_->acceptor.get_executor(), impl_->accept_loop(), asio::detached);
    asio::co_spawn(impl_->acceptor.get_executor(), impl_->deadline_loop(), asio::detached);
}

void server::begin_shutdown() {
    impl_->stopping = true;
    asio::post(impl_->acceptor.get_executor(), [this] {
        boost::system::error_code ec;
        impl_->acceptor.close(ec);
    });
    for (auto& c : impl_->snapshot()) {
        asio::post(c->executor(), [c] {
            if (!c->in_flight) {
                close_now(*c);  // idle keep-alive connection: nothing to lose
            }
        });
    }
}

asio::awaitable<void> server::drain(std::chrono::milliseconds bound) {
    auto deadline = std::chrono::steady_clock::now() + bound;
    asio::steady_timer t(co_await asio::this_coro::executor);
    while (connection_count() > 0 && std::chrono::steady_clock::now() < deadline) {
        t.expires_after(std::chrono::milliseconds(5));
        co_await t.async_wait(asio::as_tuple(asio::use_awaitable));
    }
    auto left = impl_->snapshot();
    if (!left.empty()) {
        log::warn("shutdown bound reached; closing connections", {{"connections", left.size()}});
        for (auto& c : left) {
            asio::post(c->executor(), [c] { close_now(*c); });
        }
        t.expires_after(std::chrono::milliseconds(50));
        co_await t.async_wait(asio::as_tuple(asio::use_awaitable));
    }
}

std::size_t server::connection_count() const { return impl_->connection_count(); }

std::uint64_t server::accept_fd_exhausted() const { return impl_->fd_exhausted.load(std::memory_order_relaxed); }

std::uint64_t server::refused_instance() const { return impl_->instance_count.refused(); }

std::uint64_t server::refused_address() const { return impl_->address_count.refused(); }

}  // namespace happy::http
