/// @file
/// A small Redis client on Asio coroutines (RESP2, resp.hpp): one TCP connection, commands pipelined — callers
/// from any thread queue them, one writer coroutine sends everything queued in one write, one reader coroutine
/// matches replies to them in order. No thread per command, no blocking. A connection in subscriber mode hands
/// every incoming Pub/Sub push to a callback instead.
///
/// `rediss://` runs the same over TLS (OpenSSL through Asio: SNI, certificate and host-name verification against the
/// system store plus an optional CA file).
///
/// Not hiredis: Debian's libhiredis 0.14 has no TLS and no Asio integration. The connection does not reconnect by
/// itself; its owner (the Redis bus) opens a new one with back-off, so every outage is seen and logged in one place.
#pragma once
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "plugins/bus_redis/resp.hpp"

namespace happy::plugin::bus_redis {

/// `redis://[[user]:password@]host[:port][/db]` (upstream's REDIS_URL; ioredis reads the same form), or
/// `rediss://…` for TLS.
struct redis_url {
    bool tls = false;
    std::string host = "127.0.0.1";
    std::uint16_t port = 6379;
    std::string user;
    std::string password;
    int db = 0;

    /// Throws std::invalid_argument with a readable message.
    static redis_url parse(std::string_view text);
    /// For logs and errors: the password is replaced by ***.
    std::string masked() const;
};

class redis_connection : public std::enable_shared_from_this<redis_connection> {
public:
    using strand = boost::asio::strand<boost::asio::any_io_executor>;
    /// Gets the reply, or an error value ("ERR connection lost") when the connection died first. Runs on the strand.
    using reply_fn = std::function<void(resp::value)>;
    /// A Pub/Sub push (subscriber mode): the array ["message", channel, payload] and friends. Runs on the strand.
    using push_fn = std::function<void(resp::value&)>;

    /// `ca_file`: an extra PEM CA bundle trusted for `rediss://` besides the system store (a private CA).
    explicit redis_connection(strand s, std::string ca_file = {});
    ~redis_connection();

    /// Connects (and, for `rediss://`, runs the TLS handshake) and runs the Redis handshake — AUTH and SELECT from the URL, then PING, or SUBSCRIBE to `channels`
    /// (subscriber mode) — all pipelined in one write, within `timeout`. Throws std::runtime_error with the cause
    /// ("Connection refused", "WRONGPASS invalid username-password pair…", "timed out"). Run on the strand.
    boost::asio::awaitable<void> open(const redis_url& url, std::chrono::milliseconds timeout,
                                      std::vector<std::string> channels = {});

    /// Queues an encoded command (resp::command). Thread-safe. When the connection is closed, `on_reply` gets the
    /// error at once.
    void send(std::string encoded, reply_fn on_reply = {});
    /// Queues a command and waits for its reply at most `timeout` (then an error value "ERR timed out").
    boost::asio::awaitable<resp::value> call(std::string encoded, std::chrono::milliseconds timeout);

    /// Reads and writes until the connection fails or close() is called, then fails what is still queued and
    /// returns the reason. Run on the strand, once, after open().
    boost::asio::awaitable<std::string> run(push_fn on_push = {});

    /// Closes the socket (thread-safe); run() returns soon after.
    void close();
    bool is_open() const;

private:
    struct tls_stream;  ///< the OpenSSL stream over socket_, for rediss:// (defined in the .cpp: no OpenSSL here)

    boost::asio::awaitable<std::size_t> read_some(char* data, std::size_t size);
    boost::asio::awaitable<void> write_all(const std::string& data);
    boost::asio::awaitable<void> reader(push_fn& on_push);
    boost::asio::awaitable<void> writer();
    void fail_all(std::string_view why);

    strand strand_;
    std::string ca_file_;
    boost::asio::ip::tcp::socket socket_;  ///< the TCP connection (under tls_ for rediss://)
    std::unique_ptr<tls_stream> tls_;
    boost::asio::steady_timer wake_;  ///< the writer sleeps on it; send() cancels it
    resp::parser parser_;
    bool subscriber_ = false;

    mutable std::mutex mutex_;
    bool open_ = false;
    bool wake_posted_ = false;
    std::string outbox_;                ///< encoded commands not written yet
    std::deque<reply_fn> waiting_;      ///< one per command sent or queued, in order
};

}  // namespace happy::plugin::bus_redis
