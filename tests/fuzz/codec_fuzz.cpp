// libFuzzer target for the Engine.IO and Socket.IO parsers: every input must be decoded or rejected without
// crashing, and whatever decodes must re-encode and decode to the same packet (JSON data compared by shape).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>
#include <variant>

#include "core/engineio/codec.hpp"
#include "core/socketio/codec.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view text(reinterpret_cast<const char*>(data), size);

    if (auto p = happy::engineio::decode_text_packet(text)) {
        auto again = happy::engineio::decode_text_packet(happy::engineio::encode_text_packet(*p));
        if (!again || again->type != p->type) {
            std::abort();
        }
    }
    if (auto packets = happy::engineio::decode_payload(text)) {
        auto again = happy::engineio::decode_payload(happy::engineio::encode_payload(*packets));
        if (!again || again->size() != packets->size()) {
            std::abort();
        }
    }
    auto decoded = happy::socketio::decode(text);
    if (auto* p = std::get_if<happy::socketio::packet>(&decoded)) {
        // An event named by an overflowing number (2[1e999]) is valid, but its name reads back as null (see
        // sanitize_non_finite), and a null name is not: the one case where a round trip may not decode. A binary
        // event with zero attachments (50-[...]) is decoded like an event, so the same holds for it.
        bool is_event = p->type == happy::socketio::packet_type::event ||
                        p->type == happy::socketio::packet_type::binary_event;
        bool null_name = is_event && p->data && p->data->is_array() &&
                         !p->data->as_array().empty() && p->data->as_array()[0].is_null();
        if (p->attachments == 0 && !null_name) {
            auto again = happy::socketio::decode(happy::socketio::encode(*p));
            auto* q = std::get_if<happy::socketio::packet>(&again);
            // Data is compared by shape only: Boost.JSON 1.81 parses long decimal numbers imprecisely, so a
            // number's text can change across one encode/decode round (6.6666666666666665E41 vs
            // 6.666666666666667E41). Everything else must survive exactly.
            if (!q || q->type != p->type || q->nsp != p->nsp || q->id != p->id ||
                q->data.has_value() != p->data.has_value() || (p->data && q->data->kind() != p->data->kind())) {
                std::abort();
            }
        }
    }
    return 0;
}
