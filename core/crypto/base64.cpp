#include "core/crypto/base64.hpp"

#include <array>
#include <cstdint>

namespace happy::crypto {

namespace {

constexpr char k_std_alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
constexpr char k_url_alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

constexpr std::uint8_t k_invalid = 0xFF;

// Sextet lookup tables. `both` maps the union of the two alphabets, which is
// what Node's decoder uses ('+' and '-' are both 62, '/' and '_' both 63).
struct decode_tables {
    std::array<std::uint8_t, 256> std_only{};
    std::array<std::uint8_t, 256> url_only{};
    std::array<std::uint8_t, 256> both{};
};

constexpr decode_tables make_tables() {
    decode_tables t{};
    for (std::size_t i = 0; i < 256; ++i) {
        t.std_only[i] = k_invalid;
        t.url_only[i] = k_invalid;
        t.both[i] = k_invalid;
    }
    for (std::uint8_t i = 0; i < 64; ++i) {
        const auto s = static_cast<unsigned char>(k_std_alphabet[i]);
        const auto u = static_cast<unsigned char>(k_url_alphabet[i]);
        t.std_only[s] = i;
        t.url_only[u] = i;
        t.both[s] = i;
        t.both[u] = i;
    }
    return t;
}

constexpr decode_tables k_tables = make_tables();

std::size_t size_with(std::size_t n, bool pad) { return pad ? (n + 2) / 3 * 4 : n / 3 * 4 + (n % 3 ? n % 3 + 1 : 0); }

/// Writes the encoding of `bytes` at `p` (size_with() characters) and returns the end: raw stores, no per-character
/// string growth checks (base64_write, base64_append and both encoders share it).
char* write_with(char* p, std::string_view bytes, const char* alphabet, bool pad) {
    std::size_t i = 0;
    for (; i + 3 <= bytes.size(); i += 3) {
        const std::uint32_t v = (std::uint32_t(static_cast<unsigned char>(bytes[i])) << 16) |
                                (std::uint32_t(static_cast<unsigned char>(bytes[i + 1])) << 8) |
                                std::uint32_t(static_cast<unsigned char>(bytes[i + 2]));
        *p++ = alphabet[(v >> 18) & 63];
        *p++ = alphabet[(v >> 12) & 63];
        *p++ = alphabet[(v >> 6) & 63];
        *p++ = alphabet[v & 63];
    }
    const std::size_t rest = bytes.size() - i;
    if (rest == 1) {
        const std::uint32_t v = std::uint32_t(static_cast<unsigned char>(bytes[i])) << 16;
        *p++ = alphabet[(v >> 18) & 63];
        *p++ = alphabet[(v >> 12) & 63];
        if (pad) {
            *p++ = '=';
            *p++ = '=';
        }
    } else if (rest == 2) {
        const std::uint32_t v = (std::uint32_t(static_cast<unsigned char>(bytes[i])) << 16) |
                                (std::uint32_t(static_cast<unsigned char>(bytes[i + 1])) << 8);
        *p++ = alphabet[(v >> 18) & 63];
        *p++ = alphabet[(v >> 12) & 63];
        *p++ = alphabet[(v >> 6) & 63];
        if (pad) {
            *p++ = '=';
        }
    }
    return p;
}

void append_with(std::string& out, std::string_view bytes, const char* alphabet, bool pad) {
    std::size_t old = out.size();
    out.resize(old + size_with(bytes.size(), pad));
    write_with(out.data() + old, bytes, alphabet, pad);
}

std::string encode_with(std::string_view bytes, const char* alphabet, bool pad) {
    std::string out;
    append_with(out, bytes, alphabet, pad);
    return out;
}

// Packs a run of already-validated sextets into bytes. A trailing group of
// 2 or 3 sextets yields 1 or 2 bytes; its unused low bits are dropped, which
// is what every decoder we mirror does. A lone trailing sextet carries no
// whole byte and yields nothing.
class sextet_sink {
public:
    explicit sextet_sink(std::size_t expected_sextets) { out_.reserve(expected_sextets / 4 * 3 + 2); }

    void push(std::uint8_t sextet) {
        acc_ = (acc_ << 6) | sextet;
        bits_ += 6;
        if (bits_ >= 8) {
            bits_ -= 8;
            out_.push_back(static_cast<char>((acc_ >> bits_) & 0xFF));
        }
    }

    std::string take() { return std::move(out_); }

private:
    std::string out_;
    std::uint32_t acc_ = 0;
    int bits_ = 0;
};

int hex_value(char c) {
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

std::string hex_with(std::string_view bytes, const char* digits) {
    std::string out;
    out.reserve(bytes.size() * 2);
    for (const char ch : bytes) {
        const auto b = static_cast<unsigned char>(ch);
        out.push_back(digits[b >> 4]);
        out.push_back(digits[b & 0x0F]);
    }
    return out;
}

}  // namespace

std::string base64_encode(std::string_view bytes) {
    return encode_with(bytes, k_std_alphabet, true);
}

void base64_append(std::string& out, std::string_view bytes) { append_with(out, bytes, k_std_alphabet, true); }

std::size_t base64_size(std::size_t n) { return size_with(n, true); }

char* base64_write(char* dst, std::string_view bytes) { return write_with(dst, bytes, k_std_alphabet, true); }

std::optional<std::string> base64_decode_strict(std::string_view text) {
    // Transliteration of @stablelib/base64 2.0.1 Coder.decode, quirks included
    // (verified against the package): the only length rule is "at least 4
    // chars" and at most two trailing '='; unpadded 4k+2 / 4k+3 inputs decode
    // normally, and when the unpadded length is 4k+1 the last char is never
    // read (so it is neither decoded nor validated).
    if (text.empty()) {
        return std::string{};
    }
    // A running upstream answers an unpadded challenge in POST /v1/auth with a 500 (shared/spec/observed.md),
    // so whatever privacy-kit does around stablelib, input must come in whole 4-character groups.
    if (text.size() % 4 != 0) {
        return std::nullopt;
    }
    std::size_t padding = 0;
    while (padding < text.size() && text[text.size() - 1 - padding] == '=') {
        ++padding;
    }
    if (text.size() < 4 || padding > 2) {
        return std::nullopt;
    }
    std::size_t data_len = text.size() - padding;
    if (data_len % 4 == 1) {
        --data_len;
    }
    sextet_sink sink(data_len);
    for (std::size_t i = 0; i < data_len; ++i) {
        // A '=' before the trailing run lands here and is invalid.
        const std::uint8_t v = k_tables.std_only[static_cast<unsigned char>(text[i])];
        if (v == k_invalid) {
            return std::nullopt;
        }
        sink.push(v);
    }
    return sink.take();
}

std::string base64_decode_lenient(std::string_view text) {
    sextet_sink sink(text.size());
    for (const char ch : text) {
        if (ch == '=') {
            break;
        }
        const std::uint8_t v = k_tables.both[static_cast<unsigned char>(ch)];
        if (v != k_invalid) {
            sink.push(v);
        }
    }
    return sink.take();
}

std::string base64url_encode(std::string_view bytes) {
    return encode_with(bytes, k_url_alphabet, false);
}

std::optional<std::string> base64url_decode(std::string_view text) {
    // One sextet alone cannot hold a byte: no encoder produces such a length.
    if (text.size() % 4 == 1) {
        return std::nullopt;
    }
    sextet_sink sink(text.size());
    for (const char ch : text) {
        const std::uint8_t v = k_tables.url_only[static_cast<unsigned char>(ch)];
        if (v == k_invalid) {
            return std::nullopt;
        }
        sink.push(v);
    }
    return sink.take();
}

std::string hex_upper(std::string_view bytes) {
    return hex_with(bytes, "0123456789ABCDEF");
}

std::string hex_lower(std::string_view bytes) {
    return hex_with(bytes, "0123456789abcdef");
}

std::optional<std::string> hex_decode(std::string_view text) {
    if (text.size() % 2 != 0) {
        return std::nullopt;
    }
    std::string out;
    out.reserve(text.size() / 2);
    for (std::size_t i = 0; i < text.size(); i += 2) {
        const int hi = hex_value(text[i]);
        const int lo = hex_value(text[i + 1]);
        if (hi < 0 || lo < 0) {
            return std::nullopt;
        }
        out.push_back(static_cast<char>((hi << 4) | lo));
    }
    return out;
}

}  // namespace happy::crypto
