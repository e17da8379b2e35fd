#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace happy::json {

/// Returns the exact message Node.js 20 (V8 11.3) `JSON.parse(text)` throws as SyntaxError for `text`,
/// or std::nullopt when `text` is valid JSON per JSON.parse.
///
/// `text` is UTF-8 bytes (the HTTP body as Node decodes it: every ill-formed UTF-8 subsequence becomes one
/// U+FFFD, WHATWG "maximal subpart" rule). Positions and context snippets in the message are counted in UTF-16
/// code units of that decoded string, exactly like V8.
///
/// The returned message is valid UTF-8. V8 can put a lone surrogate into the message (the unexpected "token"
/// is a single UTF-16 unit, and the 10-unit context window may cut a surrogate pair); such a unit is written
/// as U+FFFD, which is what Node itself emits when it encodes the message as UTF-8 (console.log, Buffer).
///
/// Never throws on malformed input, runs in linear time and uses no recursion (deep nesting is safe).
std::optional<std::string> v8_json_syntax_error(std::string_view text);

/// `text` as Node's `buffer.toString('utf8')` gives it (how fastify reads a JSON body): every ill-formed UTF-8
/// subsequence replaced by U+FFFD (WHATWG maximal subpart rule). Well-formed text comes back unchanged.
std::string utf8_decode_lossy(std::string_view text);

}  // namespace happy::json
