/// @file
/// The Happy realtime router on `/v1/updates`: the Socket.IO handshake (token, clientType, sessionId,
/// machineId), the connection registry as rooms, built-in events (ping, app-state, RPC), module events, and the
/// `update` / `ephemeral` fan-out with upstream's recipient filters. Upstream: sources/app/api/socket.ts and
/// sources/app/events/eventRouter.ts.
///
/// In a cluster (a bus other than `local`), each emit is delivered to this instance's sockets and published once
/// for the others (core/events/cluster.hpp); `rpc-call` finds its target on any instance; `has_active_ui` asks
/// every instance. Every instance delivers one account's updates to its sockets in account-seq order, its own
/// emissions and the others' alike (core/events/ordered_delivery.hpp): the requests that allocate consecutive
/// seqs run concurrently, here and on other instances, and emit in whatever order they finish.
#pragma once
#include <boost/asio/any_io_executor.hpp>
#include <chrono>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/events/seq_reorder.hpp"
#include "core/events/types.hpp"

namespace happy::socketio {
class server;
class socket;
}
namespace happy::auth {
class token_service;
}

namespace happy::events {

struct rpc_options {
    std::chrono::milliseconds grace{15000};       ///< wait for a registrant to (re)appear
    std::chrono::milliseconds grace_poll{200};
    std::chrono::milliseconds call_timeout{30000};
    std::chrono::milliseconds presence_poll{2000};
    /// Bound on asking the other instances who holds a method's room or a focused app (upstream: 2 s).
    std::chrono::milliseconds cluster_query{2000};
};

class hub final : public emitter {
public:
    /// `bus` (may be null: one instance) must outlive the hub and start after it is constructed. `order`: how
    /// long an update waits for a missing lower seq of its account, and the bounds of that bookkeeping.
    hub(socketio::server& sio, auth::token_service& tokens, rpc_options rpc = {}, bus::bus* bus = nullptr,
        reorder_options order = {});
    ~hub() override;

    /// From here on, each account's updates reach this instance's sockets in seq order, wherever they were emitted
    /// (the gap timer runs on `ex`). Until then (tools, fixtures) each is delivered as it comes.
    void start(boost::asio::any_io_executor ex);
    /// Delivers the updates still waiting for a predecessor and stops ordering.
    void stop();
    reorder_counters order_counters() const;
    /// Updates waiting for a lower seq right now.
    std::size_t updates_held() const;

    /// Registers the "/" namespace handlers on the Socket.IO server. Call once, after all add_event calls.
    void install();
    /// Sockets one account may hold on this instance (0 = no limit); a connect over it is refused with a
    /// CONNECT_ERROR naming the limit. Call before install().
    void limit_sockets_per_account(std::size_t max);
    /// Connects refused by that limit so far.
    std::uint64_t sockets_refused() const;
    void add_event(event_def e);
    /// Every event name a client may send: the hub's own (ping, app-state, rpc-*) and the modules', sorted.
    std::vector<std::string> event_names() const;

    void emit_update(std::string_view account_id, const recipients& to, const boost::json::object& envelope,
                     std::string_view skip_socket_id = {}) override;
    void skip_update(std::string_view account_id, std::int64_t seq) override;
    void emit_ephemeral(std::string_view account_id, const recipients& to, const boost::json::object& payload) override;
    boost::asio::awaitable<bool> has_active_ui(std::string_view account_id) override;
    bus::status health() const override;
    std::vector<connection_info> connections() const override;
    std::size_t disconnect_account(std::string_view account_id) override;

    /// Rooms, as upstream names them.
    static std::string user_room(std::string_view u);
    static std::string user_scoped_room(std::string_view u);
    static std::string session_room(std::string_view u, std::string_view s);
    static std::string machine_room(std::string_view u, std::string_view m);
    static std::string rpc_room(std::string_view u, std::string_view method);

private:
    struct impl;
    std::unique_ptr<impl> impl_;
};

}  // namespace happy::events
