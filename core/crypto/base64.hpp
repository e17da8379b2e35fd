#pragma once

// Byte <-> text encodings used on the wire. Each decoder reproduces the exact
// acceptance rules of the JavaScript code the upstream server runs, because
// clients rely on those (a payload the Node server accepts must be accepted
// here, and vice versa).

#include <optional>
#include <string>
#include <string_view>

namespace happy::crypto {

// Standard alphabet, '=' padded: what Node's Buffer.toString('base64') emits.
std::string base64_encode(std::string_view bytes);
/// Appends the padded standard base64 of `bytes` to `out` (no temporary string; hot JSON writers use it).
void base64_append(std::string& out, std::string_view bytes);
/// Length of the padded standard base64 of `n` bytes.
std::size_t base64_size(std::size_t n);
/// Writes the padded standard base64 of `bytes` (base64_size() characters) at `dst`; returns the end.
char* base64_write(char* dst, std::string_view bytes);

// @stablelib/base64 2.0.1 `decode` (privacy-kit's decodeBase64), exactly:
// only A-Z a-z 0-9 + / are accepted as data, at most two trailing '=', and
// the input must be at least 4 chars. The library does NOT require a length
// that is a multiple of 4: unpadded "YWJjZA" decodes to "abcd", and when the
// unpadded length is 4k+1 the last char is ignored unread ("YWJj!" -> "abc").
// Unused trailing bits are ignored. Anything else yields nullopt; the empty
// string decodes to the empty string.
std::optional<std::string> base64_decode_strict(std::string_view text);

// Node's Buffer.from(text, 'base64'): accepts both the standard and the
// URL-safe alphabet (even mixed), skips every other character (whitespace,
// garbage), stops at the first '=', padding optional. Never fails.
std::string base64_decode_lenient(std::string_view text);

// Unpadded URL-safe alphabet, as used by compact JWS (JWT).
std::string base64url_encode(std::string_view bytes);

// Unpadded URL-safe only: rejects '+', '/', '=', whitespace and impossible
// lengths (len % 4 == 1). Unused trailing bits are ignored (like jose).
std::optional<std::string> base64url_decode(std::string_view text);

std::string hex_upper(std::string_view bytes);
std::string hex_lower(std::string_view bytes);

// Case-insensitive; odd length or a non-hex digit yields nullopt.
std::optional<std::string> hex_decode(std::string_view text);

}  // namespace happy::crypto
