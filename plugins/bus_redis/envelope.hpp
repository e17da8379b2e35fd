/// @file
/// What the Redis bus puts around each payload it publishes: who sent it and its place in the sender's sequence,
/// so a receiver ignores its own messages (Pub/Sub echoes them) and counts what it missed.
///
///   'H' '1' kind origin-length origin seq(8 bytes, little-endian) body
///
/// kind: 'h' heartbeat (empty body), 'm' message, 'b' goodbye (the sender is stopping).
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace happy::plugin::bus_redis {

enum class envelope_kind : char { heartbeat = 'h', message = 'm', goodbye = 'b' };

struct envelope {
    envelope_kind kind = envelope_kind::message;
    std::string_view origin;
    std::uint64_t seq = 0;
    std::string_view body;
};

/// Appends the header (everything before the body) to `out`. `origin` is at most 255 bytes.
void envelope_header(std::string& out, envelope_kind kind, std::string_view origin, std::uint64_t seq);
std::size_t envelope_header_size(std::string_view origin);
/// nullopt for anything that is not a well-formed envelope of this version.
std::optional<envelope> envelope_parse(std::string_view frame);

}  // namespace happy::plugin::bus_redis
