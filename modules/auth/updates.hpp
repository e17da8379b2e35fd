/// @file
/// Persistent `update` events: each emitted update takes the next per-account sequence number and travels in
/// upstream's envelope {id, seq, body, createdAt} (realtime.md §3.1; upstream eventRouter.ts buildUpdate*).
#pragma once
#include <boost/asio/awaitable.hpp>
#include <boost/json/object.hpp>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/events/types.hpp"

namespace happy::db {
class database;
}

namespace happy::mod::auth {

/// The envelope: a random 12-character [A-Za-z0-9] id, the account seq, the body and the emit time.
boost::json::object update_envelope_build(std::int64_t seq, boost::json::object body, std::int64_t now_ms);

/// Allocates the account's next seq (one write transaction), then emits the update to `to`, optionally skipping
/// the sending socket. Like upstream, a seq is consumed even when nobody is connected to receive the update.
boost::asio::awaitable<std::int64_t> update_emit(db::database& db, events::emitter& out, std::string account_id,
                                                 events::recipients to, boost::json::object body,
                                                 std::string skip_socket_id = {});

}  // namespace happy::mod::auth
