/// @file
/// Engine.IO v4 server: WebSocket and HTTP long-polling transports, polling→WebSocket upgrade, server-driven
/// heartbeat, maxPayload enforcement, CORS, and the reference server's error responses.
/// Each session runs on its own strand with a bounded outgoing queue of shared, pre-serialized frames.
#pragma once
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/strand.hpp>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/http/exchange.hpp"
#include "core/http/types.hpp"

namespace boost::asio {
class io_context;
}

namespace happy::engineio {

struct options {
    std::string path = "/v1/updates/";  ///< requests whose target starts with this belong to Engine.IO
    std::chrono::milliseconds ping_interval{15000};
    std::chrono::milliseconds ping_timeout{45000};
    std::chrono::milliseconds upgrade_timeout{10000};
    std::size_t max_payload = 1000000;        ///< incoming frame / polling body limit
    std::size_t max_queued_bytes = 8 << 20;   ///< a client that lets more pile up is disconnected
    bool allow_polling = true;
    bool allow_websocket = true;
};

/// One outgoing frame, serialized once and shared by every socket it is sent to.
struct frame {
    std::shared_ptr<const std::string> data;  ///< text: the whole engine packet ("4…"); binary: raw bytes
    bool binary = false;
};

/// Request facts the layer above may need at open time.
struct open_info {
    http::header_list headers;  ///< lower-case names; only those the layers above use (x-happy-client)
    std::string remote_address;
    std::string query;          ///< raw query string of the handshake request
};

class server;

class socket : public std::enable_shared_from_this<socket> {
public:
    using strand_type = boost::asio::strand<boost::asio::any_io_executor>;

    socket(server& srv, std::string id, strand_type strand);
    ~socket();

    const std::string& id() const { return id_; }
    strand_type& strand() { return strand_; }

    /// Queues a message frame (thread-safe). Frames are delivered in order.
    void send(frame f);
    /// Closes the session (thread-safe); the layer above gets on_close once.
    void close(std::string reason);

    bool closed() const { return closed_; }

    /// Layer-above state (the Socket.IO client), owned by that layer.
    std::shared_ptr<void> user;

private:
    friend class server;
    struct impl;
    std::unique_ptr<impl> impl_;
    server& server_;
    std::string id_;
    strand_type strand_;
    bool closed_ = false;  // strand-only
};

/// The layer above Engine.IO (the Socket.IO server). Callbacks run on the session strand.
class handler {
public:
    virtual ~handler() = default;
    virtual void on_open(const std::shared_ptr<socket>& s, const open_info& info) = 0;
    virtual void on_message(const std::shared_ptr<socket>& s, std::string data, bool binary) = 0;
    virtual void on_close(const std::shared_ptr<socket>& s, std::string_view reason) = 0;
};

class server final : public http::protocol_handler {
public:
    server(boost::asio::io_context& ioc, options opts, handler& h);
    ~server() override;

    bool matches(std::string_view target) const override;
    boost::asio::awaitable<bool> serve(http::exchange& ex) override;

    /// Closes every session (server shutdown).
    void close_all(std::string_view reason);
    std::size_t session_count() const;
    /// Sessions opened since start (WebSocket and polling handshakes that got an OPEN packet): a counter, so that a
    /// test behind a balancer can tell which instance a new connection reached while others come and go.
    std::uint64_t sessions_opened() const { return opened_; }
    /// Sessions closed because their outgoing queue overflowed (slow consumers).
    std::uint64_t slow_client_disconnects() const { return slow_disconnects_; }

    const options& opts() const { return opts_; }

private:
    friend class socket;
    struct impl;
    std::shared_ptr<socket> find(const std::string& sid) const;
    void add(const std::shared_ptr<socket>& s);
    void remove(const std::string& sid);

    boost::asio::io_context& ioc_;
    options opts_;
    handler& handler_;
    mutable std::mutex mutex_;
    std::unordered_map<std::string, std::shared_ptr<socket>> sessions_;
    std::atomic<std::uint64_t> slow_disconnects_{0};
    std::atomic<std::uint64_t> opened_{0};
};

}  // namespace happy::engineio
