/// @file
/// Socket event vocabulary for modules (the transport lives in core/engineio, core/socketio, core/events/hub).
#pragma once
#include <atomic>
#include <cstdint>
#include <boost/asio/awaitable.hpp>
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/bus/bus.hpp"
#include "core/limits/counter.hpp"

namespace happy::events {

/// Who sent an event: the authenticated identity and scope fixed at the Socket.IO handshake.
struct socket_ctx {
    std::string socket_id;
    std::string account_id;
    std::string client_type;  ///< raw value from the handshake (may be empty)
    std::string session_id;   ///< session-scoped sockets
    std::string machine_id;   ///< machine-scoped sockets
    std::string happy_client;
    std::int64_t connected_at = 0;  ///< ms since the epoch
    /// Push focus: 0 unknown, 1 active, 2 background (upstream appState).
    std::atomic<int> app_state{0};
    /// The socket's place under limits.max_sockets_per_account (taken and given back by core/events/hub).
    limits::counter::slot account_slot;

    enum class scope { user, session, machine };
    scope kind() const {
        if (client_type == "session-scoped" && !session_id.empty()) {
            return scope::session;
        }
        if (client_type == "machine-scoped" && !machine_id.empty()) {
            return scope::machine;
        }
        return scope::user;
    }
};

/// One connected socket of this instance as the admin console shows it: ids, scope, client version, no content.
struct connection_info {
    std::string socket_id;
    std::string account_id;
    std::string client_type;
    std::string session_id;
    std::string machine_id;
    std::string happy_client;  ///< `auth.happyClient` or the X-Happy-Client header, e.g. "cli-daemon/1.2.5"
    std::int64_t connected_at = 0;
};

/// A client→server event handler; the returned value (if any) becomes the acknowledgement.
using handler = std::function<boost::asio::awaitable<std::optional<boost::json::value>>(socket_ctx&, boost::json::array args)>;

struct event_def {
    std::string name;
    handler fn;
};

/// Upstream's recipient filters (realtime.md §4).
struct recipients {
    enum class kind { user_scoped_only, session, machine, all_user } k = kind::user_scoped_only;
    std::string id;  ///< session or machine id
    static recipients user_scoped_only() { return {kind::user_scoped_only, {}}; }
    /// all-interested-in-session(S): the session's sockets and user-scoped sockets.
    static recipients session(std::string sid) { return {kind::session, std::move(sid)}; }
    /// machine-scoped-only(M): the machine's sockets and user-scoped sockets.
    static recipients machine(std::string mid) { return {kind::machine, std::move(mid)}; }
    static recipients all_user() { return {kind::all_user, {}}; }
};

/// What modules use to reach connected clients.
class emitter {
public:
    virtual ~emitter() = default;
    /// `update` event with a complete envelope {id, seq, body, createdAt}.
    virtual void emit_update(std::string_view account_id, const recipients& to, const boost::json::object& envelope,
                             std::string_view skip_socket_id = {}) = 0;
    /// Says that the account's update `seq`, allocated, will never be emitted (a duplicate message, a lost race),
    /// so that the updates after it need not wait for it (core/events/seq_reorder.hpp).
    virtual void skip_update(std::string_view account_id, std::int64_t seq) {}
    /// `ephemeral` event.
    virtual void emit_ephemeral(std::string_view account_id, const recipients& to, const boost::json::object& payload) = 0;
    /// True iff a socket of the account connected with clientType exactly "user-scoped" reports appState active,
    /// on any instance of the cluster. Asking the other instances is bounded and fails open (false: the push is
    /// sent), as upstream's hasActiveUiClient.
    virtual boost::asio::awaitable<bool> has_active_ui(std::string_view account_id) = 0;
    /// Whether fan-out reaches every instance right now (GET /health reports "degraded" otherwise).
    virtual bus::status health() const { return {}; }
    /// The sockets connected to this instance.
    virtual std::vector<connection_info> connections() const { return {}; }
    /// Disconnects every socket of the account on this instance and closes their connections (an account disabled
    /// or deleted); returns how many.
    virtual std::size_t disconnect_account(std::string_view account_id) { return 0; }
};

}  // namespace happy::events
