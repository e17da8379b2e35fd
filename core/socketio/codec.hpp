#pragma once

// Socket.IO v5 packet codec: the text form that travels inside an Engine.IO
// message packet (after its '4'), with the acceptance rules of socket.io-parser
// 4.2.5 (the version upstream pins). Pure functions, no session state.
//
// Wire format: <type>[<attachments>-][<nsp>,][<ack id>][<JSON payload>]

#include "core/engineio/codec.hpp"

#include <boost/json/value.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace happy::socketio {

enum class packet_type : int {
    connect = 0,
    disconnect = 1,
    event = 2,
    ack = 3,
    connect_error = 4,
    binary_event = 5,
    binary_ack = 6,
};

struct packet {
    packet_type type;
    std::string nsp = "/";
    // Explicit {} so that packet{.type = t} is warning-free under -Wextra.
    std::optional<std::uint64_t> id{};
    std::optional<boost::json::value> data{};  // absent when the packet has no payload
    std::size_t attachments = 0;               // binary packets: number of attachments announced

    friend bool operator==(const packet&, const packet&) = default;
};

struct decode_error {
    std::string reason;
};

// socket.io-parser 4.2.5 has no limit; 4.2.6 added this one (default 10) because
// a header can otherwise make the server buffer an unbounded number of frames.
inline constexpr std::size_t max_attachments = 10;

// Decodes the text of one Socket.IO packet. Rules, in wire order:
//  * type: one digit 0-6;
//  * binary types: decimal attachment count (<= max_attachments) followed by '-';
//  * namespace: when the next char is '/', everything up to the first ',' (the
//    comma is consumed) or to the end of the text ("40/admin" is valid);
//  * ack id: a run of decimal digits (must fit in uint64);
//  * payload: the rest, which must be one JSON text (surrounding JSON whitespace
//    allowed, nothing else after it). Boost.JSON default options: depth <= 32.
// Payload checks: CONNECT object (or none); DISCONNECT none; EVENT/BINARY_EVENT
// a non-empty array whose first element is a number or a non-reserved string;
// ACK/BINARY_ACK an array; CONNECT_ERROR an object or string. EVENT, ACK and
// CONNECT_ERROR require a payload. Binary packets with attachments > 0 must
// only contain valid placeholders (see check_placeholders).
std::variant<packet, decode_error> decode(std::string_view text);

// Text form of p. Binary types write p.attachments; the namespace is omitted
// when it is "/" or empty. The namespace must not contain ','.
std::string encode(const packet& p);

// Same, appended to `out` (e.g. after the Engine.IO '4'), saving a copy per message.
void append_encoded(std::string& out, const packet& p);

// Binary payloads: JSON cannot carry bytes, so each binary value in the data is
// a placeholder object {"_placeholder":true,"num":<index>} and the bytes travel
// as separate (binary) Engine.IO messages after the header, in index order.
struct binary_packet {
    packet header;
    std::vector<std::string> attachments;  // header.attachments == attachments.size()
};

// {"_placeholder":true,"num":num}
boost::json::value make_placeholder(std::size_t num);

// Header text of a binary packet, e.g. 51-["ev",{"_placeholder":true,"num":0}].
// The count written is p.attachments.size(); an EVENT/ACK header is written as
// BINARY_EVENT/BINARY_ACK, like socket.io-parser's encoder does for binary data.
std::string encode_binary_header(const binary_packet& p);

// Collects the attachments that follow a decoded binary header.
class binary_reassembler {
public:
    // `header` as returned by decode(); header.attachments frames are expected.
    explicit binary_reassembler(packet header);

    // Adds the next attachment; true when all announced attachments have arrived.
    // Calling it once complete() is a caller bug (std::logic_error): an extra
    // binary frame is a protocol error the connection layer must detect first.
    bool add(std::string bytes);

    bool complete() const noexcept { return attachments_.size() == header_.attachments; }
    std::size_t expected() const noexcept { return header_.attachments; }
    std::size_t received() const noexcept { return attachments_.size(); }

    // Move out the header (type stays BINARY_EVENT/BINARY_ACK, placeholders stay
    // in the data) and the attachments, indexed by placeholder num.
    packet take();
    std::vector<std::string> take_attachments();

private:
    packet header_;
    std::vector<std::string> attachments_;
};

// Every object whose "_placeholder" is true must have a "num" that is an integer
// with 0 <= num < attachments. Other objects and arrays are searched recursively.
std::optional<decode_error> check_placeholders(const boost::json::value& data, std::size_t attachments);

// What a socket.io server sends when it re-emits a value it received with binary attachments: socket.io-parser
// rebuilds the buffers into the value and deconstructs them again, numbering them in depth-first order (array
// elements, then object members, in order). Rewrites the (already checked) placeholders in `data` to that
// numbering and returns the attachments they now refer to, in order; attachments `data` does not refer to are
// left out.
std::vector<std::string> renumber_attachments(boost::json::value& data, const std::vector<std::string>& attachments);

// 20-char random socket id (same generator as the Engine.IO session id).
using engineio::make_sid;

}  // namespace happy::socketio
