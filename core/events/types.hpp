/// @file
/// Socket event vocabulary for modules (the transport lives in core/engineio, core/socketio).
#pragma once
#include <boost/asio/awaitable.hpp>
#include <boost/json/array.hpp>
#include <boost/json/value.hpp>
#include <functional>
#include <optional>
#include <string>

namespace happy::events {

/// Who sent an event: the authenticated identity and scope fixed at the Socket.IO handshake.
struct socket_ctx {
    std::string socket_id;
    std::string account_id;
    std::string client_type;  ///< "user-scoped" | "session-scoped" | "machine-scoped"
    std::string session_id;   ///< for session-scoped sockets
    std::string machine_id;   ///< for machine-scoped sockets
};

/// A client→server event handler; the returned value (if any) becomes the acknowledgement.
using handler = std::function<boost::asio::awaitable<std::optional<boost::json::value>>(socket_ctx&, boost::json::array args)>;

struct event_def {
    std::string name;
    handler fn;
};

}  // namespace happy::events
