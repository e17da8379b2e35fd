#include "core/util/time.hpp"

#include <fmt/format.h>
#include <chrono>

namespace happy {

std::int64_t now_ms() {
    using namespace std::chrono;
    return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

civil_time utc_civil(std::int64_t ms) {
    std::int64_t secs = ms >= 0 ? ms / 1000 : (ms - 999) / 1000;
    std::int64_t days = secs >= 0 ? secs / 86400 : (secs - 86399) / 86400;
    std::int64_t sod = secs - days * 86400;
    civil_time c;
    c.hour = static_cast<int>(sod / 3600);
    c.minute = static_cast<int>(sod / 60 % 60);
    c.second = static_cast<int>(sod % 60);
    c.millisecond = static_cast<int>(ms - secs * 1000);
    c.weekday = static_cast<int>(((days + 4) % 7 + 7) % 7);  // 1970-01-01 was a Thursday
    // Howard Hinnant's civil_from_days (proleptic Gregorian): plain arithmetic instead of gmtime_r, which takes
    // glibc's time-zone lock on every call (two calls per request: the Date header and the log line).
    std::int64_t z = days + 719468;
    std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    auto doe = static_cast<std::int64_t>(z - era * 146097);
    std::int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    std::int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    std::int64_t mp = (5 * doy + 2) / 153;
    c.day = static_cast<int>(doy - (153 * mp + 2) / 5 + 1);
    c.month = static_cast<int>(mp < 10 ? mp + 3 : mp - 9);
    c.year = yoe + era * 400 + (c.month <= 2 ? 1 : 0);
    return c;
}

namespace {

void two(char* p, int v) {
    p[0] = static_cast<char>('0' + v / 10);
    p[1] = static_cast<char>('0' + v % 10);
}

}  // namespace

std::string iso8601_ms(std::int64_t ms) {
    civil_time c = utc_civil(ms);
    if (c.year < 0 || c.year > 9999) {
        return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z", c.year, c.month, c.day, c.hour, c.minute,
                           c.second, c.millisecond);
    }
    std::string s = "0000-00-00T00:00:00.000Z";
    two(&s[0], static_cast<int>(c.year / 100));
    two(&s[2], static_cast<int>(c.year % 100));
    two(&s[5], c.month);
    two(&s[8], c.day);
    two(&s[11], c.hour);
    two(&s[14], c.minute);
    two(&s[17], c.second);
    s[20] = static_cast<char>('0' + c.millisecond / 100);
    two(&s[21], c.millisecond % 100);
    return s;
}

std::string http_date(std::int64_t ms) {
    static constexpr const char* days[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static constexpr const char* months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                             "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    civil_time c = utc_civil(ms);
    if (c.year < 0 || c.year > 9999) {
        return fmt::format("{}, {:02} {} {:04} {:02}:{:02}:{:02} GMT", days[c.weekday], c.day, months[c.month - 1],
                           c.year, c.hour, c.minute, c.second);
    }
    std::string s = "Thu, 01 Jan 1970 00:00:00 GMT";
    s.replace(0, 3, days[c.weekday]);
    two(&s[5], c.day);
    s.replace(8, 3, months[c.month - 1]);
    two(&s[12], static_cast<int>(c.year / 100));
    two(&s[14], static_cast<int>(c.year % 100));
    two(&s[17], c.hour);
    two(&s[20], c.minute);
    two(&s[23], c.second);
    return s;
}

}  // namespace happy
