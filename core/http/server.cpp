#include "core/http/server.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <mutex>
#include <optional>
#include <unordered_map>

#include "core/http/exchange.hpp"
#include "core/http/pipeline.hpp"
#include "core/log/log.hpp"
#include "core/metrics/metrics.hpp"
#include "core/util/time.hpp"

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
    explicit connection(tcp::socket s) : stream(std::move(s)) {}
    beast::tcp_stream stream;
    bool in_flight = false;  // touched only on the connection's strand
    std::uint64_t id = 0;
    /// When the current read or write must be done (steady ms; 0 = no limit). Checked by the server's deadline
    /// sweep instead of a timer per operation: Beast's per-operation timer costs a timer-queue insert and a
    /// cancelled-handler completion per read and per write, ~15% of a small request's throughput.
    std::atomic<std::int64_t> deadline{0};

    void arm(std::chrono::milliseconds d) { deadline.store(steady_ms() + d.count(), std::memory_order_relaxed); }
    void disarm() { deadline.store(0, std::memory_order_relaxed); }
};

std::string remote_of(const tcp::socket& s) {
    boost::system::error_code ec;
    auto ep = s.remote_endpoint(ec);
    return ec ? std::string() : ep.address().to_string();
}

void close_now(connection& c) {
    boost::system::error_code ec;
    c.stream.socket().shutdown(tcp::socket::shutdown_both, ec);
    c.stream.socket().close(ec);
}

}  // namespace

struct server::impl {
    impl(asio::io_context& ioc, server_options o, const pipeline& p)
        : ioc(ioc), opts(std::move(o)), pipe(p), acceptor(asio::make_strand(ioc)) {}

    asio::io_context& ioc;
    server_options opts;
    const pipeline& pipe;
    tcp::acceptor acceptor;
    std::atomic<bool> stopping{false};
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
                    asio::post(c->stream.get_executor(), [c] {
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
            auto [ec, sock] = co_await acceptor.async_accept(asio::make_strand(ioc), asio::as_tuple(asio::use_awaitable));
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
            auto c = std::make_shared<connection>(std::move(sock));
            track(c);
            asio::co_spawn(c->stream.get_executor(), session(c), asio::detached);
        }
    }

    asio::awaitable<void> write_response(connection& c, response& res, bool keep_alive, bool head) {
        bhttp::response<bhttp::string_body> out;
        out.version(11);
        out.result(res.status);
        out.set(bhttp::field::access_control_allow_origin, "*");
        if (!res.content_type.empty()) {
            out.set(bhttp::field::content_type, res.content_type);
        }
        for (const auto& [k, v] : res.headers) {
            out.set(k, v);
        }
        out.set(bhttp::field::date, http_date(now_ms()));
        if (keep_alive) {
            out.set(bhttp::field::connection, "keep-alive");
            out.set(bhttp::field::keep_alive, "timeout=" + std::to_string(opts.keep_alive_timeout.count() / 1000));
        } else {
            out.set(bhttp::field::connection, "close");
        }
        out.content_length(res.body.size());
        if (!head) {
            out.body() = std::move(res.body);
        }
        c.arm(opts.body_timeout);
        if (head) {
            bhttp::response_serializer<bhttp::string_body> sr(out);
            sr.split(true);
            co_await bhttp::async_write_header(c.stream, sr, asio::as_tuple(asio::use_awaitable));
        } else {
            co_await bhttp::async_write(c.stream, out, asio::as_tuple(asio::use_awaitable));
        }
    }

    asio::awaitable<void> write_error_and_close(connection& c, response res) {
        co_await write_response(c, res, false, false);
        close_now(c);
    }

    asio::awaitable<void> session(std::shared_ptr<connection> c) {
        beast::flat_buffer buffer;
        bool first = true;
        std::string remote = remote_of(c->stream.socket());
        for (;;) {
            c->in_flight = false;
            if (stopping) {
                break;
            }
            bhttp::request_parser<bhttp::string_body> parser;
            parser.header_limit(static_cast<std::uint32_t>(opts.header_limit));
            parser.body_limit(opts.body_limit);
            c->arm(first ? opts.header_timeout : opts.keep_alive_timeout);
            auto [ec, n] = co_await bhttp::async_read_header(c->stream, buffer, parser, asio::as_tuple(asio::use_awaitable));
            if (ec) {
                c->in_flight = true;
                if (ec == bhttp::error::body_limit) {
                    const auto& h = parser.get();
                    co_await write_error_and_close(*c, pipe.body_too_large_for(h.method_string(), h.target()));
                } else if (ec == bhttp::error::header_limit) {
                    co_await write_error_and_close(*c, response::text("", 431, ""));
                } else if (ec != bhttp::error::end_of_stream && ec != beast::error::timeout &&
                           ec != asio::error::operation_aborted && ec != asio::error::connection_reset &&
                           ec != asio::error::eof && buffer.size() + n > 0) {
                    // Malformed request line or headers: Node answers 400 and closes.
                    co_await write_error_and_close(*c, response::text("", 400, ""));
                }
                break;
            }
            c->in_flight = true;
            auto started = std::chrono::steady_clock::now();
            auto& hdr = parser.get();
            c->disarm();
            if (protocol_handler* proto = find_protocol(hdr.target())) {
                // The protocol sets its own limits (long polls wait for data on purpose).
                exchange ex{c->stream, buffer, parser, remote};
                bool keep = co_await proto->serve(ex);
                if (ex.taken) {
                    untrack(c->id);  // the protocol owns the socket now
                    co_return;
                }
                if (!keep || stopping) {
                    break;
                }
                c->stream.expires_never();  // whatever limit the protocol set; ours is the deadline again
                first = false;
                continue;
            }
            if (hdr[bhttp::field::expect] == "100-continue" && !parser.is_done()) {
                bhttp::response<bhttp::empty_body> cont{bhttp::status::continue_, 11};
                co_await bhttp::async_write(c->stream, cont, asio::as_tuple(asio::use_awaitable));
            }
            if (!parser.is_done()) {
                c->arm(opts.body_timeout);
                auto [ec2, n2] = co_await bhttp::async_read(c->stream, buffer, parser, asio::as_tuple(asio::use_awaitable));
                if (ec2) {
                    if (ec2 == bhttp::error::body_limit) {
                        co_await write_error_and_close(*c, pipe.body_too_large_for(hdr.method_string(), hdr.target()));
                    }
                    break;
                }
            }
            auto req = parser.release();
            incoming in;
            in.method = std::string(req.method_string());
            in.target = std::string(req.target());
            in.headers.reserve(16);
            for (const auto& f : req) {
                std::string name(f.name_string());
                for (auto& ch : name) {
                    ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
                }
                in.headers.emplace_back(std::move(name), std::string(f.value()));
            }
            // fastify treats a request as bodiless when it has no Transfer-Encoding and Content-Length is absent or 0.
            auto cl = req.find(bhttp::field::content_length);
            in.body_declared = req.find(bhttp::field::transfer_encoding) != req.end() ||
                               (cl != req.end() && cl->value() != "0");
            in.body = std::move(req.body());
            in.remote_address = remote;
            bool keep_alive = req.keep_alive();
            bool head = req.method() == bhttp::verb::head;

            c->disarm();
            response res;
            try {
                res = co_await pipe.handle(in);
            } catch (const std::exception& e) {
                log::error("request failed", {{"error", e.what()}});
                res = response::internal_error();
            }
            bool keep = keep_alive && !res.close && !stopping;
            unsigned status = res.status;
            co_await write_response(*c, res, keep, head);
            double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
            if (opts.metrics) {
                metrics::global().http_request(in.method, status, seconds);
            }
            if (opts.log_requests && log::enabled(log::level::info)) {
                double ms = seconds * 1000;
                auto path = std::string_view(in.target).substr(0, in.target.find('?'));
                log::info("request", {{"method", in.method}, {"path", path}, {"status", status},
                                      {"duration_ms", std::round(ms * 1000) / 1000}});
            }
            if (!keep) {
                break;
            }
            first = false;
        }
        close_now(*c);
        untrack(c->id);
    }
};

server::server(asio::io_context& ioc, server_options opts, const pipeline& p)
    : impl_(std::make_unique<impl>(ioc, std::move(opts), p)) {}

server::~server() = default;

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
        asio::post(c->stream.get_executor(), [c] {
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
            asio::post(c->stream.get_executor(), [c] { close_now(*c); });
        }
        t.expires_after(std::chrono::milliseconds(50));
        co_await t.async_wait(asio::as_tuple(asio::use_awaitable));
    }
}

std::size_t server::connection_count() const { return impl_->connection_count(); }

std::uint64_t server::accept_fd_exhausted() const { return impl_->fd_exhausted.load(std::memory_order_relaxed); }

}  // namespace happy::http
