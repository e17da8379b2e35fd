#include "plugins/bus_redis/redis_connection.hpp"

#include <array>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/multiple_exceptions.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <charconv>
#include <fmt/format.h>
#include <stdexcept>

#include "core/http/tls_context.hpp"
#include "core/log/log.hpp"
#include "core/net/resolve.hpp"
#include "core/util/oneshot.hpp"

#include <openssl/ssl.h>

namespace happy::plugin::bus_redis {

namespace asio = boost::asio;
using asio::ip::tcp;

namespace {

std::string percent_decode(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '%' && i + 2 < s.size()) {
            unsigned v = 0;
            auto [p, ec] = std::from_chars(s.data() + i + 1, s.data() + i + 3, v, 16);
            if (ec == std::errc() && p == s.data() + i + 3) {
                out.push_back(static_cast<char>(v));
                i += 2;
                continue;
            }
        }
        out.push_back(s[i]);
    }
    return out;
}

/// Why run() ended, from what the reader or the writer threw (`&&` wraps two failures in multiple_exceptions).
std::string failure_text(std::exception_ptr e) {
    try {
        std::rethrow_exception(e);
    } catch (const asio::multiple_exceptions& m) {
        return failure_text(m.first_exception());
    } catch (const boost::system::system_error& s) {
        // A TLS peer that closes without close_notify: stream_truncated.
        bool closed = s.code() == asio::error::eof || s.code() == asio::ssl::error::stream_truncated;
        return closed ? "connection closed by the server" : s.code().message();
    } catch (const std::exception& x) {
        return x.what();
    } catch (...) {
        return "unknown error";
    }
}

resp::value error_value(std::string text) {
    resp::value v;
    v.k = resp::value::kind::error;
    v.str = std::move(text);
    return v;
}

constexpr std::string_view url_form = "redis[s]://[[user]:password@]host[:port][/db]";

/// AUTH and SELECT from the URL, then SUBSCRIBE (subscriber mode) or a PING that proves the server speaks RESP and
/// that we are authorised before the first real command. Sets `expected` to the number of replies. (Outside the
/// coroutine: g++ 12 rejects initializer_list temporaries in coroutine bodies, "array used as initializer".)
std::string handshake(const redis_url& url, const std::vector<std::string>& channels, std::size_t& expected) {
    std::string hello;
    expected = 0;
    if (!url.password.empty()) {
        if (url.user.empty()) {
            resp::append_command(hello, {"AUTH", url.password});
        } else {
            resp::append_command(hello, {"AUTH", url.user, url.password});
        }
        ++expected;
    }
    if (url.db != 0) {
        resp::append_command(hello, {"SELECT", std::to_string(url.db)});
        ++expected;
    }
    if (!channels.empty()) {
        std::vector<std::string_view> args{"SUBSCRIBE"};
        args.insert(args.end(), channels.begin(), channels.end());
        resp::append_command(hello, args);
        expected += channels.size();
    } else {
        resp::append_command(hello, {"PING"});
        ++expected;
    }
    return hello;
}

}  // namespace

redis_url redis_url::parse(std::string_view text) {
    redis_url u;
    if (text.starts_with("rediss://")) {
        u.tls = true;
        text.remove_prefix(1);  // the rest parses as redis://
    } else if (!text.starts_with("redis://")) {
        throw std::invalid_argument(fmt::format("expected {}", url_form));
    }
    std::string_view rest = text.substr(8);
    // The last '@' ends the user info: an unencoded '@' in a password still parses.
    if (auto at = rest.rfind('@'); at != std::string_view::npos) {
        std::string_view info = rest.substr(0, at);
        rest.remove_prefix(at + 1);
        // ioredis: "user:password", ":password", or a bare user name.
        if (auto colon = info.find(':'); colon != std::string_view::npos) {
            u.user = percent_decode(info.substr(0, colon));
            u.password = percent_decode(info.substr(colon + 1));
        } else {
            u.user = percent_decode(info);
        }
    }
    if (rest.find('?') != std::string_view::npos) {
        throw std::invalid_argument(fmt::format("query parameters are not supported; expected {}", url_form));
    }
    std::string_view hostport = rest.substr(0, rest.find('/'));
    std::string_view path = hostport.size() < rest.size() ? rest.substr(hostport.size() + 1) : std::string_view{};
    std::string_view port_text;
    if (hostport.starts_with('[')) {
        auto close = hostport.find(']');
        if (close == std::string_view::npos) {
            throw std::invalid_argument("unterminated [IPv6] host");
        }
        u.host = std::string(hostport.substr(1, close - 1));
        std::string_view after = hostport.substr(close + 1);
        if (!after.empty()) {
            if (after[0] != ':') {
                throw std::invalid_argument(fmt::format("expected {}", url_form));
            }
            port_text = after.substr(1);
        }
    } else if (auto colon = hostport.rfind(':'); colon != std::string_view::npos) {
        u.host = std::string(hostport.substr(0, colon));
        port_text = hostport.substr(colon + 1);
    } else {
        u.host = std::string(hostport);
    }
    if (u.host.empty()) {
        throw std::invalid_argument(fmt::format("missing host; expected {}", url_form));
    }
    if (!port_text.empty()) {
        unsigned p = 0;
        auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), p);
        if (ec != std::errc() || end != port_text.data() + port_text.size() || p == 0 || p > 65535) {
            throw std::invalid_argument(fmt::format("invalid port \"{}\"", port_text));
        }
        u.port = static_cast<std::uint16_t>(p);
    }
    if (!path.empty()) {
        int db = 0;
        auto [end, ec] = std::from_chars(path.data(), path.data() + path.size(), db);
        if (ec != std::errc() || end != path.data() + path.size() || db < 0) {
            throw std::invalid_argument(fmt::format("invalid database number \"{}\"", path));
        }
        u.db = db;
    }
    return u;
}

std::string redis_url::masked() const {
    std::string out = tls ? "rediss://" : "redis://";
    if (!password.empty()) {
        out += user + ":***@";
    } else if (!user.empty()) {
        out += user + "@";
    }
    out += host.find(':') != std::string::npos ? "[" + host + "]" : host;
    out += fmt::format(":{}/{}", port, db);
    return out;
}

// ---------------------------------------------------------------------------------------------

struct redis_connection::tls_stream {
    tls_stream(tcp::socket& s, asio::ssl::context& ctx) : stream(s, ctx) {}
    asio::ssl::stream<tcp::socket&> stream;
};

redis_connection::redis_connection(strand s, std::string ca_file)
    : strand_(s), ca_file_(std::move(ca_file)), socket_(s), wake_(s) {}

redis_connection::~redis_connection() = default;

asio::awaitable<void> redis_connection::open(const redis_url& url, std::chrono::milliseconds timeout,
                                             std::vector<std::string> channels) {
    subscriber_ = !channels.empty();
    // A deadline for the whole open: the resolver stops at it (core/net/resolve.hpp), and on expiry the timer closes
    // the socket, which fails the pending step. Its state is shared so that a late expiry (queued while we finish)
    // does nothing.
    struct guard {
        bool done = false;
        bool fired = false;
    };
    auto g = std::make_shared<guard>();
    auto deadline = std::make_shared<asio::steady_timer>(strand_);
    deadline->expires_after(timeout);
    deadline->async_wait([g, self = shared_from_this()](const boost::system::error_code& ec) {
        if (ec || g->done) {
            return;
        }
        g->fired = true;
        boost::system::error_code ignored;
        self->socket_.close(ignored);
    });
    std::string failure;
    try {
        auto endpoints = co_await net::resolve(url.host, std::to_string(url.port), deadline->expiry());
        co_await asio::async_connect(socket_, endpoints, asio::use_awaitable);
        socket_.set_option(tcp::no_delay(true));  // pipelined small commands must not wait for Nagle
        socket_.set_option(asio::socket_base::keep_alive(true));
        if (url.tls) {
            tls_ = std::make_unique<tls_stream>(socket_, http::tls_client_context(ca_file_));
            boost::system::error_code not_ip;
            asio::ip::make_address(url.host, not_ip);
            // SNI only for names (RFC 6066 forbids IP literals); the certificate must name the host either way.
            if (not_ip && !SSL_set_tlsext_host_name(tls_->stream.native_handle(), url.host.c_str())) {
                throw std::runtime_error("cannot set TLS SNI for " + url.host);
            }
            tls_->stream.set_verify_callback(asio::ssl::host_name_verification(url.host));
            try {
                co_await tls_->stream.async_handshake(asio::ssl::stream_base::client, asio::use_awaitable);
            } catch (const boost::system::system_error& e) {
                if (g->fired) {
                    throw;
                }
                // OpenSSL's reason ("certificate verify failed", "wrong version number" for a plain-text port).
                throw std::runtime_error("TLS handshake failed: " + e.code().message());
            }
        }

        std::size_t expected = 0;
        std::string hello = handshake(url, channels, expected);
        co_await write_all(hello);
        std::vector<char> buf(4096);  // on the heap: a big coroutine frame trips g++ 12's -Wmismatched-new-delete
        while (expected > 0) {
            while (expected > 0) {
                auto v = parser_.next();
                if (!v) {
                    break;
                }
                if (v->is_error()) {
                    throw std::runtime_error(v->str);
                }
                --expected;
            }
            if (expected > 0) {
                auto n = co_await read_some(buf.data(), buf.size());
                parser_.feed(std::string_view(buf.data(), n));
            }
        }
    } catch (const boost::system::system_error& e) {
        failure = g->fired || e.code() == asio::error::timed_out ? fmt::format("timed out after {} ms", timeout.count())
                                                                   : e.code().message();
    } catch (const std::exception& e) {
        failure = e.what();
    }
    g->done = true;
    deadline->cancel();
    if (!failure.empty()) {
        boost::system::error_code ignored;
        socket_.close(ignored);
        throw std::runtime_error(failure);
    }
    std::lock_guard lock(mutex_);
    open_ = true;
}

void redis_connection::send(std::string encoded, reply_fn on_reply) {
    {
        std::lock_guard lock(mutex_);
        if (open_) {
            outbox_ += encoded;
            waiting_.push_back(std::move(on_reply));
            if (!wake_posted_) {
                wake_posted_ = true;
                asio::post(strand_, [self = shared_from_this()] { self->wake_.cancel(); });
            }
            return;
        }
    }
    if (on_reply) {
        asio::post(strand_, [f = std::move(on_reply)] { f(error_value("ERR not connected")); });
    }
}

asio::awaitable<resp::value> redis_connection::call(std::string encoded, std::chrono::milliseconds timeout) {
    auto slot = std::make_shared<util::oneshot<resp::value>>();
    send(std::move(encoded), [slot](resp::value v) { slot->set(std::move(v)); });
    auto v = co_await slot->wait_for(timeout);
    if (!v) {
        co_return error_value("ERR timed out");
    }
    co_return std::move(*v);
}

asio::awaitable<void> redis_connection::writer() {
    for (;;) {
        std::string batch;
        {
            std::lock_guard lock(mutex_);
            batch.swap(outbox_);
            wake_posted_ = false;
        }
        if (batch.empty()) {
            // send() cancels this wait from the strand, so a command queued after the swap above still wakes us.
            wake_.expires_at(std::chrono::steady_clock::time_point::max());
            co_await wake_.async_wait(asio::as_tuple(asio::use_awaitable));
            continue;
        }
        co_await write_all(batch);
    }
}

asio::awaitable<std::size_t> redis_connection::read_some(char* data, std::size_t size) {
    if (tls_) {
        co_return co_await tls_->stream.async_read_some(asio::buffer(data, size), asio::use_awaitable);
    }
    co_return co_await socket_.async_read_some(asio::buffer(data, size), asio::use_awaitable);
}

asio::awaitable<void> redis_connection::write_all(const std::string& data) {
    // The reader and the writer run at once: OpenSSL streams allow one read and one write in flight.
    if (tls_) {
        co_await asio::async_write(tls_->stream, asio::buffer(data), asio::use_awaitable);
    } else {
        co_await asio::async_write(socket_, asio::buffer(data), asio::use_awaitable);
    }
}

asio::awaitable<void> redis_connection::reader(push_fn& on_push) {
    std::vector<char> buf(65536);
    bool warned = false;
    for (;;) {
        while (auto v = parser_.next()) {
            if (subscriber_) {
                if (on_push) {
                    on_push(*v);
                }
                continue;
            }
            reply_fn f;
            {
                std::lock_guard lock(mutex_);
                if (waiting_.empty()) {
                    throw resp::protocol_error("a reply nobody asked for");
                }
                f = std::move(waiting_.front());
                waiting_.pop_front();
            }
            if (f) {
                f(std::move(*v));
            } else if (v->is_error() && !warned) {
                // Fire-and-forget commands (PUBLISH): say it once per connection, not once per message.
                warned = true;
                log::warn("redis command failed", {{"error", v->str}});
            }
        }
        auto n = co_await read_some(buf.data(), buf.size());
        parser_.feed(std::string_view(buf.data(), n));
    }
}

asio::awaitable<std::string> redis_connection::run(push_fn on_push) {
    using namespace asio::experimental::awaitable_operators;
    std::string reason = "closed";
    try {
        // Both loop until an error; `&&` cancels the other one at the first.
        co_await (reader(on_push) && writer());
    } catch (...) {
        reason = failure_text(std::current_exception());
    }
    boost::system::error_code ignored;
    socket_.close(ignored);
    fail_all(reason);
    co_return reason;
}

void redis_connection::fail_all(std::string_view why) {
    std::deque<reply_fn> waiting;
    {
        std::lock_guard lock(mutex_);
        open_ = false;
        outbox_.clear();
        waiting.swap(waiting_);
    }
    for (auto& f : waiting) {
        if (f) {
            f(error_value(fmt::format("ERR connection lost: {}", why)));
        }
    }
}

void redis_connection::close() {
    asio::post(strand_, [self = shared_from_this()] {
        boost::system::error_code ignored;
        self->socket_.shutdown(tcp::socket::shutdown_both, ignored);
        self->socket_.close(ignored);
    });
}

bool redis_connection::is_open() const {
    std::lock_guard lock(mutex_);
    return open_;
}

}  // namespace happy::plugin::bus_redis
