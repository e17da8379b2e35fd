#include "core/engineio/codec.hpp"

#include "core/crypto/base64.hpp"
#include "core/crypto/ids.hpp"

#include <algorithm>
#include <charconv>

namespace happy::engineio {

namespace {

constexpr char k_separator = '\x1e';  // record separator between polling packets

bool is_packet_type(char c) { return c >= '0' && c <= '6'; }

// Size of the text form of p, so callers can reserve once.
std::size_t text_size(const packet& p) {
    // base64 expands every 3 bytes (rounded up) into 4 chars.
    return 1 + (p.binary ? (p.data.size() + 2) / 3 * 4 : p.data.size());
}

void append_text_packet(std::string& out, const packet& p) {
    if (p.binary) {
        out.push_back('b');
        out.append(crypto::base64_encode(p.data));
    } else {
        out.push_back(static_cast<char>(p.type));
        out.append(p.data);
    }
}

// Minimal JSON string escaping, matching JSON.stringify for the characters it
// escapes (the sid is normally base64url, so this is only a safety net).
void append_json_string(std::string& out, std::string_view s) {
    static constexpr char k_hex[] = "0123456789abcdef";
    out.push_back('"');
    for (const char ch : s) {
        const auto c = static_cast<unsigned char>(ch);
        switch (c) {
            case '"': out.append("\\\""); break;
            case '\\': out.append("\\\\"); break;
            case '\b': out.append("\\b"); break;
            case '\f': out.append("\\f"); break;
            case '\n': out.append("\\n"); break;
            case '\r': out.append("\\r"); break;
            case '\t': out.append("\\t"); break;
            default:
                if (c < 0x20) {
                    out.append("\\u00");
                    out.push_back(k_hex[c >> 4]);
                    out.push_back(k_hex[c & 0xf]);
                } else {
                    out.push_back(ch);
                }
        }
    }
    out.push_back('"');
}

template <typename Int>
void append_int(std::string& out, Int v) {
    char buf[24];
    const auto res = std::to_chars(buf, buf + sizeof buf, v);
    out.append(buf, res.ptr);
}

}  // namespace

std::optional<packet> decode_text_packet(std::string_view frame) {
    if (frame.empty()) {
        return std::nullopt;
    }
    const char first = frame.front();
    if (first == 'b') {
        // Buffer.from(..., "base64") never fails, so neither does this.
        return packet{packet_type::message, crypto::base64_decode_lenient(frame.substr(1)), true};
    }
    if (!is_packet_type(first)) {
        return std::nullopt;
    }
    return packet{static_cast<packet_type>(first), std::string(frame.substr(1)), false};
}

packet make_binary_packet(std::string bytes) { return packet{packet_type::message, std::move(bytes), true}; }

std::string encode_text_packet(const packet& p) {
    std::string out;
    out.reserve(text_size(p));
    append_text_packet(out, p);
    return out;
}

std::optional<std::vector<packet>> decode_payload(std::string_view body) {
    std::vector<packet> packets;
    // Every separator starts one more packet; reserving avoids regrowth for big batches.
    packets.reserve(1 + static_cast<std::size_t>(std::count(body.begin(), body.end(), k_separator)));

    std::size_t start = 0;
    while (true) {
        const std::size_t end = body.find(k_separator, start);
        const std::string_view segment =
            body.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start);
        auto p = decode_text_packet(segment);
        if (!p) {
            // engine.io delivers the packets before the bad one and then closes the
            // session; rejecting the whole body is the conservative equivalent.
            return std::nullopt;
        }
        packets.push_back(std::move(*p));
        if (end == std::string_view::npos) {
            break;
        }
        start = end + 1;
    }
    return packets;
}

std::string encode_payload(const std::vector<packet>& packets) {
    std::size_t total = packets.empty() ? 0 : packets.size() - 1;
    for (const auto& p : packets) {
        total += text_size(p);
    }
    std::string out;
    out.reserve(total);
    for (std::size_t i = 0; i < packets.size(); ++i) {
        if (i != 0) {
            out.push_back(k_separator);
        }
        append_text_packet(out, packets[i]);
    }
    return out;
}

std::string open_packet(std::string_view sid, bool can_upgrade, int ping_interval_ms, int ping_timeout_ms,
                        std::size_t max_payload) {
    std::string out;
    out.reserve(128 + sid.size());
    out.append("0{\"sid\":");
    append_json_string(out, sid);
    out.append(can_upgrade ? ",\"upgrades\":[\"websocket\"]" : ",\"upgrades\":[]");
    out.append(",\"pingInterval\":");
    append_int(out, ping_interval_ms);
    out.append(",\"pingTimeout\":");
    append_int(out, ping_timeout_ms);
    out.append(",\"maxPayload\":");
    append_int(out, max_payload);
    out.push_back('}');
    return out;
}

std::string make_sid() {
    unsigned char bytes[15];
    crypto::random_bytes(bytes, sizeof bytes);
    // 15 bytes encode to exactly 20 chars with no padding; the URL-safe alphabet
    // is base64 with '+' -> '-' and '/' -> '_', which is what base64id produces.
    return crypto::base64url_encode(std::string_view(reinterpret_cast<const char*>(bytes), sizeof bytes));
}

}  // namespace happy::engineio
