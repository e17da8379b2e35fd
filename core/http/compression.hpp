/// @file
/// HTTP response compression as engine.io's polling transport does it (httpCompression): gzip or deflate, chosen
/// from the request's Accept-Encoding the way the `accepts`/`negotiator` packages choose.
#pragma once
#include <optional>
#include <string>
#include <string_view>

namespace happy::http {

enum class content_coding { gzip, deflate };

/// "gzip" or "deflate", the Content-Encoding value.
std::string_view coding_name(content_coding c);

/// negotiator's preferredEncodings(header, ["gzip", "deflate"])[0]: the coding with the highest q-value (an exact
/// name beats "*"; ties go to the one named first in the header, then to gzip); nullopt when neither is acceptable
/// or there is no header.
std::optional<content_coding> choose_coding(std::string_view accept_encoding);

/// `data` compressed with zlib's defaults (level 6, 32 KiB window), as Node's zlib.createGzip/createDeflate:
/// gzip framing or zlib (RFC 1950) framing for deflate.
std::string compress(std::string_view data, content_coding c);

}  // namespace happy::http
