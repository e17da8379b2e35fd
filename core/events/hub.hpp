/// @file
/// The Happy realtime router on `/v1/updates`: the Socket.IO handshake (token, clientType, sessionId,
/// machineId), the connection registry as rooms, built-in events (ping, app-state, RPC), module events, and the
/// `update` / `ephemeral` fan-out with upstream's recipient filters. Upstream: sources/app/api/socket.ts and
/// sources/app/events/eventRouter.ts.
///
/// In a cluster (a bus other than `local`), each emit is delivered to this instance's sockets and published once
/// for the others (core/events/cluster.hpp); `rpc-call` finds its target on any instance; `has_active_ui` asks
/// every instance.
#pragma once
#include <chrono>
#include <memory>
#include <string>
#include <unordered_map>

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
    /// `bus` (may be null: one instance) must outlive the hub and start after it is constructed.
    hub(socketio::server& sio, auth::token_service& tokens, rpc_options rpc = {}, bus::bus* bus = nullptr);
    ~hub() override;

    /// Registers the "/" namespace handlers on the Socket.IO server. Call once, after all add_event calls.
    void install();
    void add_event(event_def e);

    void emit_update(std::string_view account_id, const recipients& to, const boost::json::object& envelope,
                     std::string_view skip_socket_id = {}) override;
    void emit_ephemeral(std::string_view account_id, const recipients& to, const boost::json::object& payload) override;
    boost::asio::awaitable<bool> has_active_ui(std::string_view account_id) override;
    bus::status health() const override;

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
