#include "core/socketio/codec.hpp"
#include "core/json/js_value.hpp"
#include "core/json/json_writer.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serializer.hpp>

#include <array>
#include <charconv>
#include <cmath>
#include <stdexcept>
#include <utility>

namespace happy::socketio {

namespace json = boost::json;

namespace {

// Event names socket.io-parser refuses: they would collide with the events the
// client, the server socket or Node's EventEmitter emit themselves.
constexpr std::array<std::string_view, 6> k_reserved_events = {
    "connect", "connect_error", "disconnect", "disconnecting", "newListener", "removeListener",
};

decode_error error(const char* reason) {
    return decode_error{reason};
}

bool is_digit(char c) {
    return c >= '0' && c <= '9';
}

bool is_binary_type(packet_type t) {
    return t == packet_type::binary_event || t == packet_type::binary_ack;
}

// Parses the run of decimal digits starting at `i`; advances `i` past it.
// nullopt on overflow. The caller guarantees at least one digit.
std::optional<std::uint64_t> parse_digits(std::string_view text, std::size_t& i) {
    std::uint64_t value = 0;
    const char* first = text.data() + i;
    const char* last = text.data() + text.size();
    const auto res = std::from_chars(first, last, value);
    // from_chars stops at the first non-digit either way; on overflow it still
    // reports where the digits end, but the value is unusable.
    i += static_cast<std::size_t>(res.ptr - first);
    if (res.ec != std::errc{}) {
        return std::nullopt;
    }
    return value;
}

bool is_valid_event_name(const json::value& v) {
    // socket.io-parser: typeof name === "number" || (string && not reserved).
    if (v.is_number()) {
        return true;
    }
    const json::string* s = v.if_string();
    if (s == nullptr) {
        return false;
    }
    const std::string_view name(s->data(), s->size());
    for (const std::string_view reserved : k_reserved_events) {
        if (name == reserved) {
            return false;
        }
    }
    return true;
}

bool is_payload_valid(packet_type type, const json::value& payload) {
    switch (type) {
        case packet_type::connect:
            return payload.is_object();
        case packet_type::disconnect:
            return false;  // DISCONNECT never carries a payload
        case packet_type::event:
        case packet_type::binary_event: {
            const json::array* arr = payload.if_array();
            return arr != nullptr && !arr->empty() && is_valid_event_name(arr->front());
        }
        case packet_type::ack:
        case packet_type::binary_ack:
            return payload.is_array();
        case packet_type::connect_error:
            return payload.is_object() || payload.is_string();
    }
    return false;
}

// socket.io-parser accepts EVENT/ACK/CONNECT_ERROR without a payload (it only
// validates payloads that are present). Such packets carry nothing usable and
// no real client sends them, so they are rejected here to keep the invariant
// "EVENT/ACK data is an array" that handlers rely on.
bool requires_payload(packet_type type) {
    return type == packet_type::event || type == packet_type::ack || type == packet_type::binary_event ||
           type == packet_type::binary_ack || type == packet_type::connect_error;
}

bool is_valid_placeholder_index(const json::value* num, std::size_t attachments) {
    if (num == nullptr) {
        return false;
    }
    switch (num->kind()) {
        case json::kind::int64: {
            const std::int64_t n = num->get_int64();
            return n >= 0 && static_cast<std::uint64_t>(n) < attachments;
        }
        case json::kind::uint64:
            return num->get_uint64() < attachments;
        case json::kind::double_: {
            // "1e0" or "1.0" is the integer 1 in JavaScript. Fractions are refused
            // (socket.io-parser would silently substitute `undefined`).
            const double d = num->get_double();
            return d >= 0 && d < static_cast<double>(attachments) && std::floor(d) == d;
        }
        default:
            return false;
    }
}

template <typename Int>
void append_int(std::string& out, Int v) {
    char buf[24];
    const auto res = std::to_chars(buf, buf + sizeof buf, v);
    out.append(buf, res.ptr);
}

// Socket.IO payloads are JSON.stringify output upstream: numbers as JavaScript writes them (json_writer).
void append_json(std::string& out, const json::value& v) {
    json_text::append_value(out, v);
}

void append_packet(std::string& out, packet_type type, std::size_t attachments, const packet& p) {
    out.push_back(static_cast<char>('0' + static_cast<int>(type)));
    if (is_binary_type(type)) {
        append_int(out, attachments);
        out.push_back('-');
    }
    if (!p.nsp.empty() && p.nsp != "/") {
        out.append(p.nsp);
        out.push_back(',');
    }
    if (p.id) {
        append_int(out, *p.id);
    }
    // JSON.stringify is skipped for null data too (`null != obj.data`).
    if (p.data && !p.data->is_null()) {
        append_json(out, *p.data);
    }
}

}  // namespace

std::variant<packet, decode_error> decode(std::string_view text) {
    const std::size_t n = text.size();
    // socket.io-parser reads "" (and a whitespace type char) as CONNECT, because
    // Number("") === 0; that is an accident, not protocol, so it is refused here.
    if (n == 0) {
        return error("empty packet");
    }
    const char type_char = text[0];
    if (type_char < '0' || type_char > '6') {
        return error("unknown packet type");
    }
    packet p{.type = static_cast<packet_type>(type_char - '0')};
    std::size_t i = 1;

    const bool binary = is_binary_type(p.type);
    if (binary) {
        if (i >= n || !is_digit(text[i])) {
            return error("Illegal attachments");
        }
        const auto count = parse_digits(text, i);
        if (!count || i >= n || text[i] != '-') {
            return error("Illegal attachments");
        }
        if (*count > max_attachments) {
            return error("too many attachments");
        }
        p.attachments = static_cast<std::size_t>(*count);
        ++i;  // the '-'
    }

    if (i < n && text[i] == '/') {
        // No comma means the namespace runs to the end ("40/admin" is valid).
        const std::size_t comma = text.find(',', i);
        const std::size_t end = comma == std::string_view::npos ? n : comma;
        p.nsp.assign(text.data() + i, end - i);
        i = comma == std::string_view::npos ? n : comma + 1;
    }

    if (i < n && is_digit(text[i])) {
        const auto id = parse_digits(text, i);
        if (!id) {
            // JavaScript would turn it into an imprecise double and ack a different id.
            return error("invalid ack id");
        }
        p.id = *id;
    }

    if (i < n) {
        boost::system::error_code ec;
        json::value payload = json::parse(text.substr(i), ec);
        if (ec || !is_payload_valid(p.type, payload)) {
            return error("invalid payload");
        }
        happy::json::sanitize_non_finite(payload);  // 1e400 → null, as JavaScript would re-serialize it
        // socket.io-parser 4.2.5 emits a "0-" binary packet at once without
        // touching its placeholders, so only announced attachments are checked.
        if (binary && p.attachments > 0) {
            if (auto e = check_placeholders(payload, p.attachments)) {
                return std::move(*e);
            }
        }
        p.data = std::move(payload);
    } else if (requires_payload(p.type)) {
        return error("invalid payload");
    }
    return p;
}

std::string encode(const packet& p) {
    std::string out;
    append_encoded(out, p);
    return out;
}

void append_encoded(std::string& out, const packet& p) {
    append_packet(out, p.type, p.attachments, p);
}

json::value make_placeholder(std::size_t num) {
    json::object o;
    o.reserve(2);
    o.emplace("_placeholder", true);
    // int64, because that is what parsing "num":0 yields: keeps values comparable.
    o.emplace("num", static_cast<std::int64_t>(num));
    return o;
}

std::string encode_binary_header(const binary_packet& p) {
    packet_type type = p.header.type;
    if (type == packet_type::event) {
        type = packet_type::binary_event;
    } else if (type == packet_type::ack) {
        type = packet_type::binary_ack;
    }
    std::string out;
    append_packet(out, type, p.attachments.size(), p.header);
    return out;
}

binary_reassembler::binary_reassembler(packet header) : header_(std::move(header)) {
    // Bounded: a header from decode() never announces more than max_attachments.
    attachments_.reserve(header_.attachments < max_attachments ? header_.attachments : max_attachments);
}

bool binary_reassembler::add(std::string bytes) {
    if (complete()) {
        throw std::logic_error("binary_reassembler: attachment received after the packet was complete");
    }
    attachments_.push_back(std::move(bytes));
    return complete();
}

packet binary_reassembler::take() {
    return std::move(header_);
}

std::vector<std::string> binary_reassembler::take_attachments() {
    return std::move(attachments_);
}

std::optional<decode_error> check_placeholders(const json::value& data, std::size_t attachments) {
    // Explicit stack: a caller-built value is not bounded by the parser's depth limit.
    std::vector<const json::value*> pending;
    pending.push_back(&data);
    while (!pending.empty()) {
        const json::value* v = pending.back();
        pending.pop_back();
        if (const json::array* arr = v->if_array()) {
            for (const json::value& e : *arr) {
                if (e.is_structured()) {
                    pending.push_back(&e);
                }
            }
        } else if (const json::object* obj = v->if_object()) {
            const json::value* flag = obj->if_contains("_placeholder");
            if (flag != nullptr && flag->is_bool() && flag->get_bool()) {
                if (!is_valid_placeholder_index(obj->if_contains("num"), attachments)) {
                    return decode_error{"illegal attachments"};
                }
                // The whole object stands for one attachment; its other keys are
                // never looked at (socket.io-parser replaces it wholesale).
                continue;
            }
            for (const auto& kv : *obj) {
                if (kv.value().is_structured()) {
                    pending.push_back(&kv.value());
                }
            }
        }
    }
    return std::nullopt;
}

namespace {

// Recursive: the order must be socket.io-parser's depth-first one. Depth is bounded by the JSON parser's limit for
// received values and by construction for values the server builds.
void renumber(json::value& v, const std::vector<std::string>& in, std::vector<std::string>& out) {
    if (json::array* arr = v.if_array()) {
        for (json::value& e : *arr) {
            renumber(e, in, out);
        }
    } else if (json::object* obj = v.if_object()) {
        const json::value* flag = obj->if_contains("_placeholder");
        if (flag != nullptr && flag->is_bool() && flag->get_bool()) {
            const json::value* num = obj->if_contains("num");
            if (is_valid_placeholder_index(num, in.size())) {
                auto index = static_cast<std::size_t>(num->to_number<double>());
                out.push_back(in[index]);
                v = make_placeholder(out.size() - 1);
            }
            return;
        }
        for (auto& kv : *obj) {
            renumber(kv.value(), in, out);
        }
    }
}

}  // namespace

std::vector<std::string> renumber_attachments(json::value& data, const std::vector<std::string>& attachments) {
    std::vector<std::string> out;
    if (!attachments.empty()) {
        renumber(data, attachments, out);
    }
    return out;
}

}  // namespace happy::socketio
