#include "core/engineio/server.hpp"

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <boost/json.hpp>
#include <array>
#include <charconv>
#include <deque>
#include <variant>

#include "core/crypto/base64.hpp"
#include "core/engineio/codec.hpp"
#include "core/http/compression.hpp"
#include "core/http/router.hpp"
#include "core/log/log.hpp"

namespace happy::engineio {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;

namespace drain {

/// The TCP layer under our WebSockets: beast::tcp_stream with its own WebSocket teardown (found by ADL).
/// Beast 1.81's TCP teardown stops after its first successful read (it never records read_some's byte count, see
/// boost/beast/websocket/impl/teardown.hpp), so a client still uploading an oversized frame was reset before it
/// could read the 1009 close frame. Like ws, this keeps reading and discarding until the peer closes, bounded.
struct eio_stream : beast::tcp_stream {
    using beast::tcp_stream::tcp_stream;
};

template <class Handler>
struct teardown_reader {
    eio_stream& stream;
    std::shared_ptr<std::array<char, 8192>> buf;
    Handler handler;

    void operator()(boost::system::error_code ec, std::size_t) {
        if (!ec) {
            stream.async_read_some(asio::buffer(*buf), std::move(*this));
            return;
        }
        boost::system::error_code ignored;
        stream.socket().close(ignored);
        if (ec == asio::error::eof) {
            ec = {};
        }
        std::move(handler)(ec);
    }
};

template <class TeardownHandler>
void async_teardown(beast::role_type role, eio_stream& stream, TeardownHandler&& handler) {
    boost::system::error_code ignored;
    if (role == beast::role_type::server) {
        stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
    }
    stream.expires_after(std::chrono::seconds(30));  // ws closeTimeout
    auto buf = std::make_shared<std::array<char, 8192>>();
    stream.async_read_some(asio::buffer(*buf), teardown_reader<std::decay_t<TeardownHandler>>{
                                                   stream, buf, std::forward<TeardownHandler>(handler)});
}

inline void teardown(beast::role_type role, eio_stream& stream, boost::system::error_code& ec) {
    websocket::teardown(role, stream.socket(), ec);
}

}  // namespace drain

using ws_stream = websocket::stream<drain::eio_stream>;
/// A WebSocket over the TLS listener (server.tls). Beast's TLS teardown sends close_notify and reads until the peer's.
using ws_tls_stream = websocket::stream<http::tls_stream>;

namespace {

/// engine.io's httpCompression.threshold default: smaller polling payloads are sent as they are.
constexpr std::size_t compression_threshold = 1024;

// Reference server (engine.io Server.errors / errorMessages).
enum class eio_error { unknown_transport = 0, unknown_sid = 1, bad_handshake_method = 2, bad_request = 3, forbidden = 4,
                       unsupported_protocol_version = 5 };

const char* error_message(eio_error e) {
    switch (e) {
        case eio_error::unknown_transport: return "Transport unknown";
        case eio_error::unknown_sid: return "Session ID unknown";
        case eio_error::bad_handshake_method: return "Bad handshake method";
        case eio_error::bad_request: return "Bad request";
        case eio_error::forbidden: return "Forbidden";
        case eio_error::unsupported_protocol_version: return "Unsupported protocol version";
    }
    return "Bad request";
}

std::string query_value(const boost::json::object& q, std::string_view key) {
    if (auto* v = q.if_contains(key); v && v->is_string()) {
        return std::string(v->get_string());
    }
    return {};
}

bool has_query(const boost::json::object& q, std::string_view key) { return q.contains(key); }

void set_cors(bhttp::response<bhttp::string_body>& res) {
    // engine.io runs the `cors` module with origin "*" and credentials true: the literal star is sent.
    res.set(bhttp::field::access_control_allow_origin, "*");
    res.set(bhttp::field::access_control_allow_credentials, "true");
}

template <class Stream>
asio::awaitable<bool> write_http(Stream& stream, bhttp::response<bhttp::string_body> res, bool keep_alive) {
    res.version(11);
    set_cors(res);
    res.keep_alive(keep_alive);
    res.prepare_payload();
    beast::get_lowest_layer(stream).expires_after(std::chrono::seconds(30));
    auto [ec, n] = co_await bhttp::async_write(stream, res, asio::as_tuple(asio::use_awaitable));
    beast::get_lowest_layer(stream).expires_never();
    co_return !ec && keep_alive;
}

template <class Stream>
asio::awaitable<bool> write_error(Stream& stream, eio_error e, bool keep_alive) {
    bhttp::response<bhttp::string_body> res;
    res.result(e == eio_error::forbidden ? bhttp::status::forbidden : bhttp::status::bad_request);
    res.set(bhttp::field::content_type, "application/json");
    res.body() = boost::json::serialize(boost::json::object{{"code", static_cast<int>(e)}, {"message", error_message(e)}});
    co_return co_await write_http(stream, std::move(res), keep_alive);
}

/// engine.io's abortUpgrade: a raw 400 on the socket, then the connection is destroyed.
template <class Stream>
asio::awaitable<void> abort_upgrade(Stream& stream, std::string_view message) {
    std::string raw = "HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-type: text/html\r\nContent-Length: " +
                      std::to_string(message.size()) + "\r\n\r\n" + std::string(message);
    auto& tcp_layer = beast::get_lowest_layer(stream);
    tcp_layer.expires_after(std::chrono::seconds(5));
    co_await asio::async_write(stream, asio::buffer(raw), asio::as_tuple(asio::use_awaitable));
    boost::system::error_code ec;
    tcp_layer.socket().shutdown(tcp::socket::shutdown_both, ec);
    tcp_layer.socket().close(ec);
}

/// The upgraded connection's places under the connection limits: the WebSocket keeps them for as long as it lives.
limits::connection_slots take_slots(http::exchange& ex) {
    return ex.slots ? std::move(*ex.slots) : limits::connection_slots{};
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Session state. Everything here is touched only on the session strand.
// ---------------------------------------------------------------------------------------------
struct socket::impl {
    explicit impl(const socket::strand_type& s)
        : wake(s, asio::steady_timer::time_point::max()), ping_timer(s) {}

    enum class transport { polling, websocket } kind = transport::polling;
    // Outgoing frames: a vector with a read index rather than a std::deque, whose 512-byte first chunk per
    // connection adds up at 10k connections.
    std::vector<frame> outbox;
    std::size_t outbox_head = 0;
    std::size_t outbox_bytes = 0;
    asio::steady_timer wake;  // cancelled to wake the poll GET
    asio::steady_timer ping_timer;
    bool awaiting_pong = false;
    bool pong_received = false;
    bool writing = false;      // a WebSocket write is in flight
    bool ws_closing = false;   // the WebSocket close handshake has started
    frame writing_frame;       // keeps the frame alive during its write
    beast::flat_buffer read_buffer;
    bool poll_pending = false;
    bool noop_requested = false;  // upgrade probe: answer the pending poll with a noop
    bool upgrading = false;
    bool closed_by_client = false;  // the client sent a CLOSE packet (vs. a server-side close)
    /// The WebSocket, once the session has one: plain or over TLS.
    std::variant<std::monostate, std::shared_ptr<ws_stream>, std::shared_ptr<ws_tls_stream>> ws;

    bool has_ws() const { return ws.index() != 0; }
    /// Calls `f` with the WebSocket stream (either kind); nothing when there is none.
    template <class F>
    void with_ws(F&& f) {
        if (auto* p = std::get_if<std::shared_ptr<ws_stream>>(&ws)) {
            f(*p);
        } else if (auto* q = std::get_if<std::shared_ptr<ws_tls_stream>>(&ws)) {
            f(*q);
        }
    }
    limits::connection_slots ws_slots;  // the WebSocket connection's counts under the connection limits

    void notify() { wake.cancel(); }

    bool outbox_empty() const { return outbox_head == outbox.size(); }
    frame pop() {
        frame f = std::move(outbox[outbox_head++]);
        outbox_bytes -= f.data->size();
        if (outbox_head == outbox.size()) {
            outbox.clear();
            outbox_head = 0;
            if (outbox.capacity() > 64) {
                outbox.shrink_to_fit();  // give a burst's memory back
            }
        }
        return f;
    }
    void clear_outbox() {
        outbox.clear();
        outbox.shrink_to_fit();
        outbox_head = 0;
        outbox_bytes = 0;
    }
};

socket::socket(server& srv, std::string id, strand_type strand)
    : impl_(std::make_unique<impl>(strand)), server_(srv), id_(std::move(id)), strand_(std::move(strand)) {}

socket::~socket() = default;

struct server::impl {
    using sock_ptr = std::shared_ptr<socket>;

    static void enqueue(server& srv, const sock_ptr& s, frame f) {
        if (s->closed_) {
            return;
        }
        auto& st = *s->impl_;
        st.outbox_bytes += f.data->size();
        st.outbox.push_back(std::move(f));
        if (st.outbox_bytes > srv.opts_.max_queued_bytes) {
            ++srv.slow_disconnects_;
            log::warn("engine.io client too slow; disconnecting", {{"sid", s->id_}, {"queued_bytes", st.outbox_bytes}});
            do_close(srv, s, "transport error");
            return;
        }
        if (st.kind == socket::impl::transport::websocket && st.has_ws()) {
            ws_flush(srv, s);
        } else {
            st.notify();
        }
    }

    static frame control(packet_type t, std::string_view data = {}) {
        std::string text(1, static_cast<char>(t));
        text.append(data);
        return frame{std::make_shared<const std::string>(std::move(text)), false};
    }

    static void do_close(server& srv, const sock_ptr& s, std::string_view reason) {
        if (s->closed_) {
            return;
        }
        s->closed_ = true;
        auto& st = *s->impl_;
        st.ping_timer.cancel();
        st.notify();
        if (st.kind == socket::impl::transport::websocket && st.has_ws()) {
            ws_flush(srv, s);  // flushes what is queued, then performs the close handshake
        }
        srv.remove(s->id_);
        srv.handler_.on_close(s, reason);
    }

    static void on_packet(server& srv, const sock_ptr& s, packet p) {
        auto& st = *s->impl_;
        switch (p.type) {
            case packet_type::pong:
                if (st.awaiting_pong) {
                    st.pong_received = true;
                    st.ping_timer.cancel();
                }
                break;
            case packet_type::ping:
                // v4 heartbeats are server-driven; a client ping is a protocol error (engine.io socket.ts).
                do_close(srv, s, "transport error");
                break;
            case packet_type::message:
                srv.handler_.on_message(s, std::move(p.data), p.binary);
                break;
            case packet_type::close:
                st.closed_by_client = true;
                do_close(srv, s, "transport close");
                break;
            default:
                break;  // open / upgrade / noop carry nothing for an established session
        }
    }

    // The per-connection machinery below is callback-driven rather than one coroutine each: a coroutine frame per
    // reader, writer and heartbeat cost ~5 KB per idle connection, which matters at 10k connections.

    /// Server-driven heartbeat (engine.io socket.ts schedulePing / resetPingTimeout).
    static void schedule_ping(server& srv, const sock_ptr& s) {
        auto& st = *s->impl_;
        st.awaiting_pong = false;
        st.ping_timer.expires_after(srv.opts_.ping_interval);
        st.ping_timer.async_wait([&srv, s](const boost::system::error_code& ec) {
            if (ec || s->closed_) {
                return;
            }
            auto& st = *s->impl_;
            st.awaiting_pong = true;
            st.pong_received = false;
            // One shared PING frame for every connection: no allocation per heartbeat.
            static const frame ping_frame = control(packet_type::ping);
            enqueue(srv, s, ping_frame);
            st.ping_timer.expires_after(srv.opts_.ping_timeout);
            st.ping_timer.async_wait([&srv, s](const boost::system::error_code&) {
                if (s->closed_) {
                    return;
                }
                if (s->impl_->pong_received) {
                    schedule_ping(srv, s);
                } else {
                    do_close(srv, s, "ping timeout");
                }
            });
        });
    }

    static void ws_read(server& srv, const sock_ptr& s) {
        s->impl_->with_ws([&](const auto& ws) { ws_read_on(srv, s, ws); });
    }

    template <class Ws>
    static void ws_read_on(server& srv, const sock_ptr& s, const std::shared_ptr<Ws>& ws) {
        auto& st = *s->impl_;
        ws->async_read(st.read_buffer, [&srv, s, ws](const boost::system::error_code& ec, std::size_t) {
            auto& st = *s->impl_;
            if (ec) {
                if (ec == websocket::error::message_too_big) {
                    // Beast has sent the 1009 close frame and drained the connection (drain::async_teardown).
                    log::info("engine.io frame over maxPayload; closing", {{"sid", s->id_}});
                    st.ws_closing = true;
                    do_close(srv, s, "transport error");
                    return;
                }
                do_close(srv, s, ec == websocket::error::closed ? "transport close" : "transport error");
                return;
            }
            if (s->closed_) {
                return;
            }
            std::string data = beast::buffers_to_string(st.read_buffer.data());
            st.read_buffer.consume(st.read_buffer.size());
            st.read_buffer.shrink_to_fit();  // an idle connection holds no read buffer (10k connections add up)
            if (ws->got_binary()) {
                on_packet(srv, s, make_binary_packet(std::move(data)));
            } else if (auto p = decode_text_packet(data)) {
                on_packet(srv, s, std::move(*p));
            } else {
                do_close(srv, s, "parse error");
                return;
            }
            if (!s->closed_) {
                ws_read_on(srv, s, ws);
            }
        });
    }

    /// Writes queued frames one at a time; once closed and drained, performs the close handshake.
    static void ws_flush(server& srv, const sock_ptr& s) {
        auto& st = *s->impl_;
        if (st.writing || st.ws_closing) {
            return;
        }
        if (st.outbox_empty()) {
            if (s->closed_) {
                ws_close(s);
            }
            return;
        }
        st.writing = true;
        st.writing_frame = st.pop();
        st.with_ws([&](const auto& ws) {
            ws->binary(st.writing_frame.binary);
            ws->async_write(asio::buffer(*st.writing_frame.data), [&srv, s](const boost::system::error_code& ec, std::size_t) {
                auto& st = *s->impl_;
                st.writing = false;
                st.writing_frame = {};
                if (ec) {
                    st.clear_outbox();
                    do_close(srv, s, "transport error");
                    ws_close(s);
                    return;
                }
                ws_flush(srv, s);
            });
        });
    }

    static void ws_close(const sock_ptr& s) {
        auto& st = *s->impl_;
        if (st.ws_closing) {
            return;
        }
        st.ws_closing = true;
        st.clear_outbox();
        st.with_ws([&](const auto& ws) {
            auto finish = [s, ws]() {
                boost::system::error_code ignored;
                beast::get_lowest_layer(*ws).socket().shutdown(tcp::socket::shutdown_both, ignored);
                beast::get_lowest_layer(*ws).socket().close(ignored);
                s->impl_->ws_slots = {};  // the connection is gone: its place under the limits is free
            };
            if (!ws->is_open()) {
                finish();
                return;
            }
            beast::get_lowest_layer(*ws).expires_after(std::chrono::seconds(2));
            ws->async_close(websocket::close_code::normal, [s, finish](const boost::system::error_code&) { finish(); });
        });
    }

    template <class Ws>
    static void configure_ws(server& srv, Ws& ws) {
        ws.set_option(websocket::stream_base::timeout{std::chrono::seconds(30), websocket::stream_base::none(), false});
        ws.read_message_max(srv.opts_.max_payload);
        ws.auto_fragment(false);
        ws.set_option(websocket::stream_base::decorator([](websocket::response_type& res) {
            res.set(bhttp::field::access_control_allow_origin, "*");
            res.set(bhttp::field::access_control_allow_credentials, "true");
        }));
    }

    template <class Ws>
    static void start_ws(server& srv, const sock_ptr& s, std::shared_ptr<Ws> ws, limits::connection_slots slots) {
        auto& st = *s->impl_;
        st.kind = socket::impl::transport::websocket;
        st.ws = std::move(ws);
        st.ws_slots = std::move(slots);
        ws_read(srv, s);
        ws_flush(srv, s);
    }

    /// A brand-new session over WebSocket (no sid).
    template <class Ws>
    static asio::awaitable<void> ws_session(server& srv, socket::strand_type strand, std::shared_ptr<Ws> ws,
                                            bhttp::request<bhttp::string_body> req, open_info info,
                                            bool supported_protocol, limits::connection_slots slots) {
        configure_ws(srv, *ws);
        auto [ec] = co_await ws->async_accept(req, asio::as_tuple(asio::use_awaitable));
        if (ec) {
            co_return;
        }
        if (!supported_protocol) {
            // As engine.io: its handshake() refuses the protocol revision only after ws has sent the 101, and its
            // abortUpgrade() then writes the HTTP 400 text onto the upgraded connection and destroys it.
            co_await abort_upgrade(ws->next_layer(), error_message(eio_error::unsupported_protocol_version));
            co_return;
        }
        auto s = std::make_shared<socket>(srv, make_sid(), strand);
        srv.add(s);
        enqueue(srv, s,
                frame{std::make_shared<const std::string>(open_packet(
                          s->id_, false, static_cast<int>(srv.opts_.ping_interval.count()),
                          static_cast<int>(srv.opts_.ping_timeout.count()), srv.opts_.max_payload)),
                      false});
        start_ws(srv, s, ws, std::move(slots));
        schedule_ping(srv, s);
        srv.handler_.on_open(s, info);
    }

    /// polling → websocket upgrade: probe, then switch (engine.io socket.ts maybeUpgrade).
    static asio::awaitable<void> ws_upgrade(server& srv, sock_ptr s, tcp::socket sock,
                                            bhttp::request<bhttp::string_body> req, limits::connection_slots slots) {
        auto ws = std::make_shared<ws_stream>(drain::eio_stream(std::move(sock)));
        configure_ws(srv, *ws);
        auto [ec] = co_await ws->async_accept(req, asio::as_tuple(asio::use_awaitable));
        if (ec) {
            co_return;
        }
        auto& st = *s->impl_;
        auto fail = [&]() -> asio::awaitable<void> {
            st.upgrading = false;
            beast::get_lowest_layer(*ws).expires_after(std::chrono::seconds(2));
            co_await ws->async_close(websocket::close_code::normal, asio::as_tuple(asio::use_awaitable));
        };
        if (s->closed_ || st.upgrading || st.kind != socket::impl::transport::polling) {
            co_await fail();
            co_return;
        }
        st.upgrading = true;
        beast::get_lowest_layer(*ws).expires_after(srv.opts_.upgrade_timeout);
        beast::flat_buffer buf;
        for (;;) {
            buf.clear();
            auto [rec, n] = co_await ws->async_read(buf, asio::as_tuple(asio::use_awaitable));
            if (rec || s->closed_) {
                co_await fail();
                co_return;
            }
            auto p = decode_text_packet(beast::buffers_to_string(buf.data()));
            if (p && p->type == packet_type::ping && p->data == "probe") {
                ws->text(true);
                std::string pong = "3probe";
                auto [wec, wn] = co_await ws->async_write(asio::buffer(pong), asio::as_tuple(asio::use_awaitable));
                if (wec) {
                    co_await fail();
                    co_return;
                }
                // Let the pending long-poll return so the client can pause polling and send the upgrade. Only a
                // poll pending now is answered at once; a poll that arrives later is held by poll_get (see there).
                if (st.poll_pending) {
                    st.noop_requested = true;
                    st.notify();
                }
                continue;
            }
            if (p && p->type == packet_type::upgrade) {
                break;
            }
            co_await fail();  // anything else during the probe aborts the upgrade
            co_return;
        }
        beast::get_lowest_layer(*ws).expires_never();
        st.upgrading = false;
        st.noop_requested = false;
        start_ws(srv, s, ws, std::move(slots));
        st.notify();
    }

    /// Long-poll GET: returns the payload to send (waits until there is something).
    static asio::awaitable<std::optional<std::string>> poll_get(server& srv, sock_ptr s) {
        auto& st = *s->impl_;
        if (st.poll_pending) {
            do_close(srv, s, "transport error");  // "overlap from client"
            co_return std::nullopt;
        }
        if (st.kind != socket::impl::transport::polling) {
            co_return std::nullopt;
        }
        st.poll_pending = true;
        // A poll that arrives while a WebSocket probe is in progress is held until the upgrade settles, for at most
        // engine.io's upgrade check interval (100 ms; its `check` then answers the poll with a noop). Answering it at
        // once made the outcome depend on whether the GET or the client's UPGRADE packet, sent before the GET, was
        // processed first: the WebSocket read of "5" waits behind the "3probe" write, so the GET could slip in
        // between and get 200 "6" instead of the 400 of a poll on an upgraded session (engine.io-protocol test
        // "ignores HTTP requests with same sid after upgrade", about 1 run in 200).
        auto probe_deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(100);
        while (st.outbox_empty() && !s->closed_ && !st.noop_requested && st.kind == socket::impl::transport::polling) {
            if (st.upgrading && std::chrono::steady_clock::now() >= probe_deadline) {
                break;  // still probing: noop, so that the client can pause polling
            }
            st.wake.expires_at(st.upgrading ? probe_deadline : asio::steady_timer::time_point::max());
            co_await st.wake.async_wait(asio::as_tuple(asio::use_awaitable));
        }
        st.poll_pending = false;
        if (st.kind != socket::impl::transport::polling) {
            co_return std::nullopt;  // upgraded while this poll waited: the same 400 as a poll arriving afterwards
        }
        std::vector<packet> packets;
        while (!st.outbox_empty()) {
            frame f = st.pop();
            if (f.binary) {
                packets.push_back(packet{packet_type::message, *f.data, true});
            } else {
                auto p = decode_text_packet(*f.data);
                if (p) {
                    packets.push_back(std::move(*p));
                }
            }
        }
        if (packets.empty()) {
            // A server-side close ends the pending poll with CLOSE; a close the client asked for ends it with NOOP,
            // like engine.io's polling transport (onClose answers the pending GET with a noop; only doClose, the
            // server-initiated path, writes a close packet).
            if (s->closed_ && !st.closed_by_client) {
                packets.push_back(packet{packet_type::close, "", false});
            } else {
                packets.push_back(packet{packet_type::noop, "", false});
                st.noop_requested = false;
            }
        }
        co_return encode_payload(packets);
    }

    /// serve() on the connection's own stream type.
    template <class Stream>
    static asio::awaitable<bool> serve_on(server& srv, http::exchange& ex, Stream& stream);

    static asio::awaitable<void> poll_post(server& srv, sock_ptr s, std::string body) {
        auto packets = decode_payload(body);
        if (!packets) {
            do_close(srv, s, "parse error");
            co_return;
        }
        for (auto& p : *packets) {
            if (s->closed_) {
                break;
            }
            on_packet(srv, s, std::move(p));
        }
    }
};

void socket::send(frame f) {
    asio::post(strand_, [self = shared_from_this(), f = std::move(f)]() mutable {
        server::impl::enqueue(self->server_, self, std::move(f));
    });
}

void socket::close(std::string reason) {
    asio::post(strand_, [self = shared_from_this(), reason = std::move(reason)] {
        server::impl::do_close(self->server_, self, reason);
    });
}

server::server(asio::io_context& ioc, options opts, handler& h) : ioc_(ioc), opts_(std::move(opts)), handler_(h) {}

server::~server() = default;

bool server::matches(std::string_view target) const {
    return target.substr(0, opts_.path.size()) == opts_.path;
}

std::shared_ptr<socket> server::find(const std::string& sid) const {
    std::lock_guard lock(mutex_);
    auto it = sessions_.find(sid);
    return it == sessions_.end() ? nullptr : it->second;
}

void server::remove(const std::string& sid) {
    std::lock_guard lock(mutex_);
    sessions_.erase(sid);
}

void server::add(const std::shared_ptr<socket>& s) {
    std::lock_guard lock(mutex_);
    sessions_.emplace(s->id(), s);
    ++opened_;
}

std::size_t server::session_count() const {
    std::lock_guard lock(mutex_);
    return sessions_.size();
}

void server::close_all(std::string_view reason) {
    std::vector<std::shared_ptr<socket>> all;
    {
        std::lock_guard lock(mutex_);
        for (auto& [id, s] : sessions_) {
            all.push_back(s);
        }
    }
    for (auto& s : all) {
        s->close(std::string(reason));
    }
}

template <class Stream>
asio::awaitable<bool> server::impl::serve_on(server& srv, http::exchange& ex, Stream& stream) {
    auto& req = ex.parser.get();
    std::string target(req.target());
    auto qpos = target.find('?');
    auto query = qpos == std::string::npos ? boost::json::object() : http::parse_query(std::string_view(target).substr(qpos + 1));
    bool keep_alive = req.keep_alive();
    bool is_upgrade = websocket::is_upgrade(req);
    auto method = req.method();

    // CORS preflight (cors module): answered before any engine.io checks.
    if (method == bhttp::verb::options) {
        bhttp::response<bhttp::string_body> res{bhttp::status::no_content, 11};
        res.set(bhttp::field::access_control_allow_methods, "GET,POST,OPTIONS");
        // upstream configures allowedHeaders ["*"], so the literal star is sent, never the request's list.
        res.set(bhttp::field::access_control_allow_headers, "*");
        co_return co_await write_http(stream, std::move(res), keep_alive);
    }

    // Verification in the reference server's order (engine.io server.ts verify / handshake).
    std::string transport = query_value(query, "transport");
    auto reject = [&](eio_error e) -> asio::awaitable<bool> {
        if (is_upgrade) {
            co_await abort_upgrade(stream, error_message(e));
            co_return false;
        }
        co_return co_await write_error(stream, e, keep_alive);
    };
    bool transport_ok = (transport == "polling" && srv.opts_.allow_polling) || (transport == "websocket" && srv.opts_.allow_websocket);
    if (!transport_ok) {
        co_return co_await reject(eio_error::unknown_transport);
    }
    std::string sid = query_value(query, "sid");
    std::shared_ptr<socket> existing;
    if (has_query(query, "sid")) {
        existing = srv.find(sid);
        if (!existing) {
            co_return co_await reject(eio_error::unknown_sid);
        }
        bool existing_polling = existing->impl_->kind == socket::impl::transport::polling;  // read-only race is benign
        if (!is_upgrade && transport != (existing_polling ? "polling" : "websocket")) {
            co_return co_await reject(eio_error::bad_request);
        }
    } else {
        if (method != bhttp::verb::get) {
            co_return co_await reject(eio_error::bad_handshake_method);
        }
        if (transport == "websocket" && !is_upgrade) {
            co_return co_await reject(eio_error::bad_request);
        }
        // engine.io checks the protocol revision (a missing EIO counts as 3, and only 4 is allowed) in handshake(),
        // after verify(): a polling handshake gets code 5, while a WebSocket handshake has been answered 101 by
        // then, so ws_session() completes it and then sends the raw 400 (see there).
        if (query_value(query, "EIO") != "4" && !is_upgrade) {
            co_return co_await reject(eio_error::unsupported_protocol_version);
        }
    }
    const bool supported_protocol = query_value(query, "EIO") == "4";

    open_info info;
    info.remote_address = ex.remote_address;
    info.query = qpos == std::string::npos ? std::string() : target.substr(qpos + 1);
    // Only the headers the layers above read are kept: every copy is per-connection memory.
    if (auto h = req.find("x-happy-client"); h != req.end()) {
        info.headers.emplace_back("x-happy-client", std::string(h->value()));
    }

    if (is_upgrade) {
        if (transport != "websocket") {
            co_await abort_upgrade(stream, error_message(eio_error::bad_request));
            co_return false;
        }
        if constexpr (std::is_same_v<Stream, http::tls_stream>) {
            // A TLS stream cannot be moved onto another strand as a bare socket can: a new session keeps the
            // connection's own strand (the TLS listener accepts onto a strand<any_io_executor> for this), and a
            // polling session, which has a strand of its own, is not upgraded: the client keeps polling, as after
            // any failed probe. First-party clients open WebSocket sessions directly.
            auto* own = stream.get_executor().template target<socket::strand_type>();
            if (existing || !own) {
                co_await abort_upgrade(stream, error_message(eio_error::bad_request));
                co_return false;
            }
            socket::strand_type strand = *own;
            auto ws = std::make_shared<ws_tls_stream>(std::move(stream));
            ex.taken = true;
            auto request = ex.parser.release();
            asio::co_spawn(strand, ws_session(srv, strand, std::move(ws), std::move(request), std::move(info),
                                              supported_protocol, take_slots(ex)),
                           asio::detached);
            co_return false;
        } else {
            // Move the connection onto the session strand: every WebSocket operation of a session then runs on
            // one strand, and the HTTP connection coroutine is done with it.
            socket::strand_type strand =
                existing ? existing->strand() : socket::strand_type(asio::any_io_executor(srv.ioc_.get_executor()));
            auto native = stream.release_socket();
            auto protocol = native.local_endpoint().protocol();
            tcp::socket sock(strand, protocol, native.release());
            ex.taken = true;
            auto request = ex.parser.release();
            if (existing) {
                asio::co_spawn(strand, ws_upgrade(srv, existing, std::move(sock), std::move(request), take_slots(ex)),
                               asio::detached);
            } else {
                auto ws = std::make_shared<ws_stream>(drain::eio_stream(std::move(sock)));
                asio::co_spawn(strand,
                               ws_session(srv, strand, std::move(ws), std::move(request), std::move(info),
                                          supported_protocol, take_slots(ex)),
                               asio::detached);
            }
            co_return false;
        }
    }

    if (!existing) {
        // Polling handshake: the response body is the OPEN packet.
        auto s = std::make_shared<socket>(srv, make_sid(), socket::strand_type(asio::any_io_executor(srv.ioc_.get_executor())));
        srv.add(s);
        // The lambda must be a named local, not a temporary inside the co_await expression: g++ 12 miscompiles a
        // capturing lambda temporary there (the closure is moved from a bogus address and its captures are destroyed
        // twice; asio issues #858/#1135), which crashed the first polling handshake with a double free of `info`.
        auto open_on_strand = [&srv, s, info = std::move(info)]() -> asio::awaitable<void> {
            schedule_ping(srv, s);
            srv.handler_.on_open(s, info);
            co_return;
        };
        co_await asio::co_spawn(s->strand(), std::move(open_on_strand), asio::use_awaitable);
        bhttp::response<bhttp::string_body> res{bhttp::status::ok, 11};
        res.set(bhttp::field::content_type, "text/plain; charset=UTF-8");
        res.set(bhttp::field::cache_control, "no-store");
        res.body() = open_packet(s->id(), srv.opts_.allow_websocket, static_cast<int>(srv.opts_.ping_interval.count()),
                                 static_cast<int>(srv.opts_.ping_timeout.count()), srv.opts_.max_payload);
        co_return co_await write_http(stream, std::move(res), keep_alive);
    }

    if (method == bhttp::verb::get) {
        auto payload = co_await asio::co_spawn(existing->strand(), poll_get(srv, existing), asio::use_awaitable);
        if (!payload) {
            co_return co_await write_error(stream, eio_error::bad_request, false);
        }
        bhttp::response<bhttp::string_body> res{bhttp::status::ok, 11};
        res.set(bhttp::field::content_type, "text/plain; charset=UTF-8");
        res.set(bhttp::field::cache_control, "no-store");
        // engine.io polling.ts doWrite with the default httpCompression {threshold: 1024}: a payload of 1024 bytes
        // or more goes out gzip- or deflate-compressed when the request accepts one of them.
        std::optional<http::content_coding> coding;
        if (payload->size() >= compression_threshold) {
            if (auto ae = req.find(bhttp::field::accept_encoding); ae != req.end()) {
                coding = http::choose_coding(ae->value());
            }
        }
        if (coding) {
            res.set(bhttp::field::content_encoding, http::coding_name(*coding));
            res.body() = http::compress(*payload, *coding);
        } else {
            res.body() = std::move(*payload);
        }
        co_return co_await write_http(stream, std::move(res), keep_alive);
    }

    if (method == bhttp::verb::post) {
        auto cl = req.find(bhttp::field::content_length);
        if (cl != req.end()) {
            std::uint64_t n = 0;
            auto sv = cl->value();
            auto [p, e] = std::from_chars(sv.data(), sv.data() + sv.size(), n);
            if (e == std::errc() && n > srv.opts_.max_payload) {
                // engine.io polling.ts: "payload too large" → 413, and the session errors out.
                existing->close("transport error");
                bhttp::response<bhttp::string_body> res{bhttp::status::payload_too_large, 11};
                co_return co_await write_http(stream, std::move(res), false);
            }
        }
        ex.parser.body_limit(srv.opts_.max_payload);
        beast::get_lowest_layer(stream).expires_after(std::chrono::seconds(30));
        auto [ec, n] = co_await bhttp::async_read(stream, ex.buffer, ex.parser, asio::as_tuple(asio::use_awaitable));
        beast::get_lowest_layer(stream).expires_never();
        if (ec) {
            if (ec == bhttp::error::body_limit) {
                existing->close("transport error");
                bhttp::response<bhttp::string_body> res{bhttp::status::payload_too_large, 11};
                co_return co_await write_http(stream, std::move(res), false);
            }
            co_return false;
        }
        std::string body = std::move(ex.parser.get().body());
        co_await asio::co_spawn(existing->strand(), poll_post(srv, existing, std::move(body)), asio::use_awaitable);
        bhttp::response<bhttp::string_body> res{bhttp::status::ok, 11};
        res.set(bhttp::field::content_type, "text/html");
        res.body() = "ok";
        co_return co_await write_http(stream, std::move(res), keep_alive);
    }

    co_return co_await write_error(stream, eio_error::bad_request, keep_alive);
}

asio::awaitable<bool> server::serve(http::exchange& ex) {
    return ex.visit([&](auto& stream) { return impl::serve_on(*this, ex, stream); });
}

}  // namespace happy::engineio
