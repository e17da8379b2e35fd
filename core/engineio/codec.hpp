#pragma once

// Engine.IO v4 packet codec (engine.io-parser 5.x, as used by engine.io 6.6.x).
// Pure functions: no I/O, no timers, no session state. The transports (WebSocket
// frames, HTTP long-polling bodies) and the session logic live elsewhere.

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace happy::engineio {

// The first character of every text packet.
enum class packet_type : char {
    open = '0',
    close = '1',
    ping = '2',
    pong = '3',
    message = '4',
    upgrade = '5',
    noop = '6',
};

struct packet {
    packet_type type;
    std::string data;     // text after the type char, or the raw bytes when binary
    bool binary = false;  // only message packets carry binary data

    friend bool operator==(const packet&, const packet&) = default;
};

// One WebSocket text frame, or one packet of a polling body. A leading 'b' is a
// base64 binary message (engine.io-parser accepts that on every transport, and
// decodes the base64 as leniently as Node's Buffer.from(s, "base64")).
// nullopt when invalid: empty, or an unknown type char.
std::optional<packet> decode_text_packet(std::string_view frame);

// A WebSocket binary frame: always a message packet holding the raw bytes.
packet make_binary_packet(std::string bytes);

// "<type><data>". A binary packet has no text form of its own, so it is written
// as "b" + base64 (what engine.io sends over polling); over WebSocket the caller
// sends p.data as a binary frame instead.
std::string encode_text_packet(const packet& p);

// HTTP long-polling body: packets separated by the record separator '\x1e'.
// nullopt if any packet is invalid (including an empty body or an empty segment).
std::optional<std::vector<packet>> decode_payload(std::string_view body);

// Inverse of decode_payload; binary packets become "b" + base64.
std::string encode_payload(const std::vector<packet>& packets);

// The OPEN packet, byte-exact with engine.io's handshake:
// 0{"sid":"…","upgrades":["websocket"],"pingInterval":…,"pingTimeout":…,"maxPayload":…}
// `upgrades` is ["websocket"] when can_upgrade (polling handshake), [] otherwise.
std::string open_packet(std::string_view sid, bool can_upgrade, int ping_interval_ms, int ping_timeout_ms,
                        std::size_t max_payload);

// Engine.IO session id / Socket.IO socket id: 20 chars, 15 random bytes in
// base64 with '/' -> '_' and '+' -> '-' (the alphabet of base64id).
std::string make_sid();

}  // namespace happy::engineio
