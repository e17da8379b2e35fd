/// @file
/// The cluster bus: how instances of the server that share clients (behind one load balancer) reach each other.
/// The realtime hub publishes each `update`/`ephemeral` once and every other instance delivers it to its own
/// sockets; RPC requests, their results and "who has this room?" questions travel over it too
/// (core/events/cluster.hpp). Plugins: `local` (one instance, nothing crosses) and `redis` (Pub/Sub).
///
/// Delivery is at most once and unordered across publishers; the messages of one publisher reach each receiver
/// in publish order. Nothing is replayed to an instance that was away: clients refetch over REST after every
/// reconnect (upstream runs Socket.IO with connection-state recovery off, spec/realtime.md §7).
#pragma once
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace happy::bus {

/// What /health and the logs say about the bus.
struct status {
    bool ok = true;
    std::string detail;  ///< why not ok, e.g. "redis redis://:***@10.0.0.5:6379/0 unreachable: Connection refused"
};

/// A message from another instance. Runs on the bus's own executor, in the sender's publish order; it must not
/// block (post longer work elsewhere).
using message_handler = std::function<void(std::string_view origin, std::string_view payload)>;
/// An instance stopped (said goodbye) or went silent for longer than the liveness timeout.
using peer_handler = std::function<void(std::string_view instance)>;

struct counters {
    std::uint64_t published = 0;  ///< messages handed to the broker
    std::uint64_t received = 0;   ///< messages from other instances
    std::uint64_t dropped = 0;    ///< not sent: the broker was unreachable
    std::uint64_t lost = 0;       ///< gaps seen in other instances' sequence numbers
};

class bus {
public:
    virtual ~bus() = default;

    /// This process's id, random per start (a restarted instance is a new peer).
    virtual const std::string& instance_id() const = 0;
    /// False for the single-instance bus: callers skip all cross-instance work.
    virtual bool clustered() const = 0;

    /// Handlers, set before start().
    virtual void on_message(message_handler h) = 0;
    virtual void on_peer_down(peer_handler h) = 0;

    /// Connects. Throws std::runtime_error with a message naming the broker (password masked) when it cannot be
    /// reached: a cluster member that cannot join must not start.
    virtual boost::asio::awaitable<void> start(boost::asio::any_io_executor ex) = 0;
    /// Says goodbye to the peers and disconnects (bounded).
    virtual boost::asio::awaitable<void> stop() = 0;

    /// To every other instance. Thread-safe, never blocks; dropped (and counted) while the broker is unreachable.
    virtual void publish(std::string payload) = 0;
    /// To one instance (answers, RPC requests). Same guarantees as publish().
    virtual void send_to(std::string_view instance, std::string payload) = 0;

    /// Other instances heard from within the liveness timeout.
    virtual std::vector<std::string> peers() const = 0;
    virtual bool peer_alive(std::string_view instance) const = 0;

    virtual status health() const = 0;
    virtual counters stats() const = 0;

    /// True on exactly one instance per `key` while the key lives (`ttl`): a job that must run once per cluster
    /// claims its fire time. The local bus always grants. Fails open (true) when the broker cannot answer, for
    /// jobs that are idempotent anyway.
    virtual boost::asio::awaitable<bool> claim(std::string key, std::chrono::milliseconds ttl) = 0;
};

}  // namespace happy::bus
