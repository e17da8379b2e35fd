/// @file
/// The hub's messages between instances (carried by core/bus as opaque payloads). Binary, length-prefixed: the
/// encoded Socket.IO frame of a broadcast travels as it is, so the receiving instance neither re-encodes nor
/// unescapes it (every instance delivers a broadcast with one shared frame, encoded once in the cluster).
///
///   message   := type(u8) fields…
///   u8 / u64  := little-endian; str := u32 length + bytes; list := u32 count + str…
///
/// Upstream's equivalent is the cluster adapter's BROADCAST / FETCH_SOCKETS(_RESPONSE) / BROADCAST_ACK messages
/// (socket.io-adapter cluster-adapter.ts, spec/realtime.md §7).
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace happy::events::wire {

/// `update` / `ephemeral`: deliver `frame` to the local members of `rooms`, except the socket ids in `except`.
/// An update carries its account and account seq (seq > 0), by which the receiver orders it among the account's
/// other updates (core/events/seq_reorder.hpp); one with no rooms only says that this seq will never be emitted.
/// On the wire an update has a tag of its own, so that it is never mistaken for an unordered broadcast.
struct broadcast {
    std::vector<std::string> rooms;
    std::vector<std::string> except;
    std::string frame;  ///< the engine packet text, "42[…]"
    std::string account;
    std::int64_t seq = 0;  ///< 0: not an update (an ephemeral)
};

enum class query_kind : std::uint8_t {
    first_member = 1,  ///< key: a room; answer: its first (earliest joined) connected socket
    active_ui = 2,     ///< key: an account; answer: found when a focused user-scoped app socket is connected
};

/// A question to every instance; each answers to the asker alone.
struct query {
    std::uint64_t id = 0;
    query_kind kind = query_kind::first_member;
    std::string key;
};

struct answer {
    std::uint64_t id = 0;
    bool found = false;
    std::string socket_id;
};

/// `rpc-request` to a socket of the receiving instance, acked back with rpc_result under the same id.
struct rpc_request {
    std::uint64_t id = 0;
    std::string socket_id;
    std::string room;             ///< the method's room, for the target-still-registered watchdog
    std::uint64_t timeout_ms = 0;
    std::string args_json;        ///< the rpc-request arguments (a JSON array, attachment placeholders included)
    std::vector<std::string> attachments;
};

enum class rpc_status : std::uint8_t { ok = 0, timeout = 1, disconnected = 2 };

struct rpc_result {
    std::uint64_t id = 0;
    rpc_status status = rpc_status::ok;
    std::string args_json;  ///< the target's ack arguments (a JSON array)
    std::vector<std::string> attachments;
};

using message = std::variant<broadcast, query, answer, rpc_request, rpc_result>;

std::string encode(const message& m);
/// nullopt for malformed or unknown messages (a newer peer): they are dropped, never half-applied.
std::optional<message> decode(std::string_view bytes);

}  // namespace happy::events::wire
