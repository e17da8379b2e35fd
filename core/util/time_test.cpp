#include "core/util/time.hpp"

#include <gtest/gtest.h>

#include <fmt/format.h>
#include <ctime>
#include <random>

namespace happy {
namespace {

/// The C library's answer, which utc_civil replaces.
std::tm libc_tm(std::int64_t ms) {
    std::time_t secs = static_cast<std::time_t>(ms >= 0 ? ms / 1000 : (ms - 999) / 1000);
    std::tm tm{};
    gmtime_r(&secs, &tm);
    return tm;
}

void expect_same(std::int64_t ms) {
    std::tm tm = libc_tm(ms);
    civil_time c = utc_civil(ms);
    ASSERT_EQ(c.year, tm.tm_year + 1900) << ms;
    ASSERT_EQ(c.month, tm.tm_mon + 1) << ms;
    ASSERT_EQ(c.day, tm.tm_mday) << ms;
    ASSERT_EQ(c.hour, tm.tm_hour) << ms;
    ASSERT_EQ(c.minute, tm.tm_min) << ms;
    ASSERT_EQ(c.second, tm.tm_sec) << ms;
    ASSERT_EQ(c.weekday, tm.tm_wday) << ms;
    ASSERT_EQ(c.millisecond, ((ms % 1000) + 1000) % 1000) << ms;
    ASSERT_EQ(iso8601_ms(ms),
              fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                          tm.tm_hour, tm.tm_min, tm.tm_sec, ((ms % 1000) + 1000) % 1000))
        << ms;
    static constexpr const char* days[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static constexpr const char* months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                             "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    ASSERT_EQ(http_date(ms), fmt::format("{}, {:02} {} {:04} {:02}:{:02}:{:02} GMT", days[tm.tm_wday], tm.tm_mday,
                                         months[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec))
        << ms;
}

TEST(time, utc_civil_and_iso8601_match_gmtime_over_ten_thousand_years) {
    std::mt19937_64 rng(5);
    // -62135596800000 is 0001-01-01; 253402300799999 is 9999-12-31T23:59:59.999.
    std::uniform_int_distribution<std::int64_t> any(-62135596800000LL, 253402300799999LL);
    for (int i = 0; i < 200000; ++i) {
        expect_same(any(rng));
    }
    for (std::int64_t edge : {0LL, -1LL, 1LL, 999LL, -999LL, -1000LL, -1001LL, 951782400000LL /* 2000-02-29 */,
                              4107542400000LL /* 2100-03-01 */, -62135596800000LL, 253402300799999LL}) {
        expect_same(edge);
    }
}

TEST(time, known_strings) {
    EXPECT_EQ(iso8601_ms(0), "1970-01-01T00:00:00.000Z");
    EXPECT_EQ(iso8601_ms(1795474580483LL), "2026-11-23T22:56:20.483Z");
    EXPECT_EQ(iso8601_ms(-1), "1969-12-31T23:59:59.999Z");
    EXPECT_EQ(http_date(0), "Thu, 01 Jan 1970 00:00:00 GMT");
    EXPECT_EQ(http_date(951782400000LL), "Tue, 29 Feb 2000 00:00:00 GMT");
}

}  // namespace
}  // namespace happy
