// libFuzzer target for the byte/text decoders of core/crypto/base64: the strict (@stablelib) and lenient (Node
// Buffer) base64 decoders, base64url (JWS parts) and hex. Every decoder must accept or refuse without crashing,
// and whatever it accepts must survive an encode/decode round trip; the encoders must agree with each other.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "core/crypto/base64.hpp"

namespace c = happy::crypto;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view text(reinterpret_cast<const char*>(data), size);

    // Encoders, on the raw bytes: one size, one text, and the strict decoder reads it back.
    std::string enc = c::base64_encode(text);
    std::string appended = "x";
    c::base64_append(appended, text);
    std::string written(c::base64_size(size), '\0');
    if (c::base64_write(written.data(), text) != written.data() + written.size() || enc != written ||
        appended != "x" + enc) {
        std::abort();
    }
    // @stablelib refuses inputs shorter than 4 characters (except ""), so one or two bytes do not come back.
    if (size == 0 || size > 2) {
        auto back = c::base64_decode_strict(enc);
        if (!back || *back != text) {
            std::abort();
        }
    }
    if (c::base64_decode_lenient(enc) != text) {
        std::abort();
    }
    auto url = c::base64url_decode(c::base64url_encode(text));
    if (!url || *url != text) {
        std::abort();
    }
    auto hex = c::hex_decode(c::hex_upper(text));
    if (!hex || *hex != text || c::hex_lower(text).size() != 2 * size) {
        std::abort();
    }

    // Decoders, on the text: accepted bytes encode to text that decodes to the same bytes.
    if (auto s = c::base64_decode_strict(text)) {
        if (!s->empty() && s->size() <= 2) {
            // too short to come back through the strict decoder (see above)
        } else if (auto again = c::base64_decode_strict(c::base64_encode(*s)); !again || *again != *s) {
            std::abort();
        }
        // What the strict decoder accepts, Node's lenient one reads the same way.
        if (c::base64_decode_lenient(text) != *s) {
            std::abort();
        }
    }
    std::string lenient = c::base64_decode_lenient(text);
    if (c::base64_decode_lenient(c::base64_encode(lenient)) != lenient) {
        std::abort();
    }
    if (auto u = c::base64url_decode(text)) {
        auto again = c::base64url_decode(c::base64url_encode(*u));
        if (!again || *again != *u) {
            std::abort();
        }
    }
    if (auto h = c::hex_decode(text)) {
        if (h->size() * 2 != size || c::hex_decode(c::hex_lower(*h)) != *h) {
            std::abort();
        }
    }
    return 0;
}
