/// @file
/// Wall-clock helpers: the wire uses integer milliseconds since the Unix epoch almost everywhere.
#pragma once
#include <cstdint>
#include <string>

namespace happy {

/// Milliseconds since the Unix epoch (system clock).
std::int64_t now_ms();

/// A UTC calendar time (proleptic Gregorian); month 1-12, weekday 0 = Sunday.
struct civil_time {
    std::int64_t year;
    int month, day, hour, minute, second, millisecond, weekday;
};

/// The UTC calendar time of `ms` since the Unix epoch (negative: before 1970), without the C library.
civil_time utc_civil(std::int64_t ms);

/// ISO-8601 UTC with milliseconds, as JavaScript's Date.toISOString(): 2026-11-22T22:56:20.483Z
std::string iso8601_ms(std::int64_t ms);

/// RFC 7231 IMF-fixdate for the HTTP Date header.
std::string http_date(std::int64_t ms);

}  // namespace happy
