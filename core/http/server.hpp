/// @file
/// HTTP/1.1 server on Boost.Beast: one coroutine per connection on its own strand, keep-alive, header/body
/// deadlines against slow clients, the body limit, and a bounded graceful drain at shutdown.
#pragma once
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

namespace boost::asio {
class io_context;
}

namespace happy::http {

class pipeline;
class protocol_handler;

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

private:
    struct impl;
    std::unique_ptr<impl> impl_;
};

}  // namespace happy::http
