/// @file
/// HTTP/1.1 server on Boost.Beast: one coroutine per connection on its own strand, keep-alive, header/body
/// deadlines against slow clients, the body limit, and a bounded graceful drain at shutdown. Optionally TLS
/// (core/http/tls.hpp) on every connection.
#pragma once
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "core/limits/address.hpp"

namespace boost::asio {
class io_context;
}

namespace happy::trace {
class exporter;
}

namespace happy::http {

class pipeline;
class protocol_handler;
class tls_context;

struct server_options {
    std::string host = "0.0.0.0";
    std::uint16_t port = 3005;
    std::uint64_t body_limit = 104857600;
    std::chrono::milliseconds header_timeout{20000};
    std::chrono::milliseconds body_timeout{300000};
    std::chrono::milliseconds keep_alive_timeout{72000};
    std::size_t header_limit = 16 * 1024;  ///< Node's default max header size; larger → 431
    bool log_requests = true;
    bool metrics = true;  ///< count requests in metrics::global() (off for the metrics listener itself)
    /// Connections (HTTP keep-alive and WebSocket alike) this listener holds at most; over it a new connection is
    /// answered 503 and closed. 0 = no limit.
    std::size_t max_connections = 0;
    /// Connections one client address (IPv6: one /64) holds at most; over it: 429 and closed. 0 = no limit.
    std::size_t max_connections_per_address = 0;
    /// Peers whose X-Forwarded-For names the client (reverse proxies); any other peer is the client itself.
    limits::address_set trusted_proxies;
    /// Client addresses the per-address limits do not apply to.
    limits::address_set limit_exempt;
    /// Set: every connection speaks TLS with the context's current certificate (server.tls).
    std::shared_ptr<tls_context> tls;
    /// Receives a span per request (OTLP export) when set; must outlive the server. The trace id (the request's
    /// `traceparent`, or a new one) is on the request's log line either way.
    trace::exporter* tracer = nullptr;
};

class server {
public:
    server(boost::asio::io_context& ioc, server_options opts, const pipeline& p);
    ~server();
    server(const server&) = delete;
    server& operator=(const server&) = delete;

    /// Binds and listens; returns the bound port (useful with port 0). Throws on failure.
    std::uint16_t listen();
    /// Routes matching requests to `h` (before the REST pipeline). Call before start(); `h` must outlive the server.
    void add_protocol(protocol_handler* h);
    /// Starts accepting connections.
    void start();
    /// Stops accepting and closes idle keep-alive connections; in-flight requests finish and then close.
    void begin_shutdown();
    /// Waits until every connection is gone or `bound` elapsed, then force-closes what is left.
    boost::asio::awaitable<void> drain(std::chrono::milliseconds bound);
    std::size_t connection_count() const;
    /// accept() calls that failed for lack of file descriptors (EMFILE/ENFILE); the listener retried each later.
    std::uint64_t accept_fd_exhausted() const;
    /// Connections refused because the listener held max_connections.
    std::uint64_t refused_instance() const;
    /// Connections refused because their client address held max_connections_per_address.
    std::uint64_t refused_address() const;
    /// Turns the per-request log line on or off at run time (log.requests on SIGHUP).
    void set_log_requests(bool on);

private:
    struct impl;
    std::unique_ptr<impl> impl_;
};

}  // namespace happy::http
