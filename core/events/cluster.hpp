/// @file
/// The hub's reach into the other instances over the bus (core/bus/bus.hpp), with the wire of cluster_wire.hpp:
/// broadcasts delivered by every instance to its own sockets, room-membership and focus questions answered by the
/// instance that holds the sockets, and RPC requests relayed to the instance of the target socket.
///
/// No registry is replicated. Upstream's earlier Redis TTL registry of RPC methods was reverted for racing
/// registrations, silently expiring entries and a 30 s hang when the target's pod died
/// (deploy/integration-tests/POSTMORTEM.md, spec/scaleout.md §2); here membership is only ever answered by the
/// instance that holds the socket, at the moment it is asked, so rpc-register/unregister stay plain local room
/// operations and cannot race with anything. An instance that goes away (goodbye or silence past the bus's
/// liveness timeout) fails the calls waiting on it at once with "RPC target disconnected".
#pragma once
#include <atomic>
#include <boost/asio/awaitable.hpp>
#include <boost/json/array.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "core/bus/bus.hpp"
#include "core/engineio/server.hpp"
#include "core/events/cluster_wire.hpp"
#include "core/events/ordered_delivery.hpp"
#include "core/socketio/server.hpp"
#include "core/util/oneshot.hpp"

namespace happy::events {

/// A socket held by another instance.
struct remote_socket {
    std::string instance;
    std::string socket_id;
};

struct cluster_options {
    /// How long a membership or focus question waits for the other instances' answers (upstream's fetchSockets
    /// timeout in rpcHandler.ts and hasActiveUiClient: 2 s). An instance that does not answer in time counts as
    /// "none here".
    std::chrono::milliseconds query_timeout{2000};
};

class cluster {
public:
    /// What the hub answers for its own sockets.
    struct local_hooks {
        /// Is a focused user-scoped app of this account connected here?
        std::function<bool(const std::string& account)> active_ui;
        /// Deliver `rpc-request` to a local socket and report with reply_rpc(origin, …). Runs on the bus executor:
        /// post the waiting elsewhere.
        std::function<void(std::string origin, wire::rpc_request req)> serve_rpc;
        /// Deliver another instance's broadcast to the local sockets (updates in seq order). Runs on the bus
        /// executor.
        std::function<void(wire::broadcast b)> deliver;
    };

    /// `b` may be null (no bus): then enabled() is false and nothing crosses.
    cluster(socketio::server& sio, bus::bus* b, cluster_options o = {});
    ~cluster();

    /// Installs the bus handlers; call once, before the bus starts.
    void attach(local_hooks hooks);
    bool enabled() const { return bus_ != nullptr && bus_->clustered(); }
    bus::bus* bus_ptr() const { return bus_; }

    /// The bus message that takes an already encoded event to its rooms' members on every other instance; an update
    /// (`seq` > 0) with its account and seq, by which they order it (with no rooms: that seq will never be emitted).
    /// Empty when there are no other instances.
    std::string encode_broadcast(const delivery& d, std::string_view account = {}, std::int64_t seq = 0) const;
    /// Sends what encode_broadcast() made to every other instance (nothing when it is empty).
    void publish(std::string message);

    /// The first connected member of `room` on another instance (the first answer wins), or nullopt when none
    /// answered "here" within the query timeout.
    boost::asio::awaitable<std::optional<remote_socket>> first_member(std::string room);
    /// Whether any other instance holds a focused app socket of `account`; false when none said so in time
    /// (fail open: the push is sent).
    boost::asio::awaitable<bool> active_ui(std::string account);

    /// Emits `rpc-request` with `args` to a socket on another instance and waits for its ack: ok with the ack
    /// arguments, timeout after `timeout`, disconnected when the socket left (its method room or its connection)
    /// or its instance went away.
    boost::asio::awaitable<socketio::ack_result> call(remote_socket target, std::string room, boost::json::array args,
                                                      std::vector<std::string> attachments,
                                                      std::chrono::milliseconds timeout);
    /// Sends the outcome of a served rpc_request back to its asker.
    void reply_rpc(const std::string& origin, std::uint64_t id, const socketio::ack_result& r);

private:
    struct pending_query;
    struct pending_call {
        std::string instance;
        std::shared_ptr<util::oneshot<socketio::ack_result>> slot;
    };

    boost::asio::awaitable<std::optional<remote_socket>> ask(wire::query_kind kind, std::string key);
    void on_message(std::string_view origin, std::string_view payload);
    void on_peer_down(std::string_view peer);
    void answer_query(std::string_view origin, const wire::query& q);

    socketio::server& sio_;
    bus::bus* bus_;
    cluster_options opts_;
    local_hooks hooks_;
    std::atomic<std::uint64_t> next_id_{1};
    std::mutex mutex_;
    std::unordered_map<std::uint64_t, std::shared_ptr<pending_query>> queries_;
    std::unordered_map<std::uint64_t, pending_call> calls_;
};

}  // namespace happy::events
