/// @file
/// Wall-clock helpers: the wire uses integer milliseconds since the Unix epoch almost everywhere.
#pragma once
#include <cstdint>
#include <string>

namespace happy {

/// Milliseconds since the Unix epoch (system clock).
std::int64_t now_ms();

/// ISO-8601 UTC with milliseconds, as JavaScript's Date.toISOString(): 2026-11-22T22:56:20.483Z
std::string iso8601_ms(std::int64_t ms);

/// RFC 7231 IMF-fixdate for the HTTP Date header.
std::string http_date(std::int64_t ms);

}  // namespace happy
