// Unit tests for happy::sched::cron: parsing, error messages and next-fire computation (UTC).

#include "core/sched/cron.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <string>

namespace happy::sched {
namespace {

using namespace std::chrono;

sys_seconds at(int y, unsigned mo, unsigned d, int h = 0, int mi = 0, int s = 0) {
    return sys_days{year{y} / month{mo} / day{d}} + hours{h} + minutes{mi} + seconds{s};
}

sys_seconds next(std::string_view expr, sys_seconds from) {
    auto n = cron::parse(expr).next_after(from);
    EXPECT_TRUE(n.has_value()) << expr;
    return n.value_or(sys_seconds{});
}

std::string parse_error(std::string_view expr) {
    try {
        cron::parse(expr);
    } catch (const cron_error& e) {
        return e.what();
    }
    return "(no error)";
}

TEST(cron, every_minute_fires_at_second_zero) {
    EXPECT_EQ(next("* * * * *", at(2024, 5, 1, 10, 0, 0)), at(2024, 5, 1, 10, 1, 0));
    EXPECT_EQ(next("* * * * *", at(2024, 5, 1, 10, 0, 59)), at(2024, 5, 1, 10, 1, 0));
    EXPECT_EQ(next("* * * * *", at(2024, 12, 31, 23, 59, 30)), at(2025, 1, 1, 0, 0, 0));
}

TEST(cron, six_fields_have_seconds_first) {
    EXPECT_EQ(next("* * * * * *", at(2024, 5, 1, 10, 0, 0)), at(2024, 5, 1, 10, 0, 1));
    EXPECT_EQ(next("*/5 * * * * *", at(2024, 5, 1, 10, 0, 0)), at(2024, 5, 1, 10, 0, 5));
    EXPECT_EQ(next("*/5 * * * * *", at(2024, 5, 1, 10, 0, 57)), at(2024, 5, 1, 10, 1, 0));
    EXPECT_EQ(next("*/30 * * * * *", at(2024, 5, 1, 10, 0, 29)), at(2024, 5, 1, 10, 0, 30));
    EXPECT_EQ(next("15 30 2 * * *", at(2024, 5, 1, 2, 30, 15)), at(2024, 5, 2, 2, 30, 15));
}

TEST(cron, next_is_strictly_after) {
    auto t = at(2024, 5, 1, 10, 5, 0);
    EXPECT_EQ(next("5 10 * * *", t), at(2024, 5, 2, 10, 5, 0));
    EXPECT_EQ(next("5 10 * * *", t - seconds{1}), t);
}

TEST(cron, lists_ranges_and_steps) {
    EXPECT_EQ(next("0,30 * * * *", at(2024, 5, 1, 10, 0, 0)), at(2024, 5, 1, 10, 30, 0));
    EXPECT_EQ(next("0 9-17 * * *", at(2024, 5, 1, 17, 0, 0)), at(2024, 5, 2, 9, 0, 0));
    EXPECT_EQ(next("0 9-17/4 * * *", at(2024, 5, 1, 9, 0, 0)), at(2024, 5, 1, 13, 0, 0));
    EXPECT_EQ(next("0 9-17/4 * * *", at(2024, 5, 1, 17, 0, 0)), at(2024, 5, 2, 9, 0, 0));
    // `A/S` runs from A to the field's maximum.
    EXPECT_EQ(next("10/20 * * * *", at(2024, 5, 1, 10, 11, 0)), at(2024, 5, 1, 10, 30, 0));
    EXPECT_EQ(next("10/20 * * * *", at(2024, 5, 1, 10, 50, 0)), at(2024, 5, 1, 11, 10, 0));
    EXPECT_EQ(next("1-3,50-52/2 * * * *", at(2024, 5, 1, 10, 3, 0)), at(2024, 5, 1, 10, 50, 0));
    EXPECT_EQ(next("1-3,50-52/2 * * * *", at(2024, 5, 1, 10, 50, 0)), at(2024, 5, 1, 10, 52, 0));
}

// Found by tests/fuzz/cron_fuzz.cpp (UBSan: signed overflow of the field value plus the step): a step larger than
// what is left of the range means the start value only.
TEST(cron, huge_step_means_the_start_value_only) {
    EXPECT_EQ(next("59/2147483647 * * * *", at(2024, 5, 1, 10, 0, 0)), at(2024, 5, 1, 10, 59, 0));
    EXPECT_EQ(next("59/2147483647 * * * *", at(2024, 5, 1, 10, 59, 0)), at(2024, 5, 1, 11, 59, 0));
    EXPECT_EQ(next("0 0-23/2147483647 * * *", at(2024, 5, 1, 10, 0, 0)), at(2024, 5, 2, 0, 0, 0));
    EXPECT_EQ(next("* * * * 7/2147483647", at(2024, 5, 1, 10, 0, 0)), at(2024, 5, 5, 0, 0, 0));
}

TEST(cron, names_for_months_and_weekdays) {
    // 2024-05-01 is a Wednesday.
    EXPECT_EQ(next("0 0 * * MON", at(2024, 5, 1)), at(2024, 5, 6));
    EXPECT_EQ(next("0 0 * * sat,sun", at(2024, 5, 1)), at(2024, 5, 4));
    EXPECT_EQ(next("0 0 * * fri-sat", at(2024, 5, 4, 1)), at(2024, 5, 10));
    EXPECT_EQ(next("0 0 1 Jan *", at(2024, 5, 1)), at(2025, 1, 1));
    EXPECT_EQ(next("0 0 1 jun-aug *", at(2024, 6, 1)), at(2024, 7, 1));
}

TEST(cron, sunday_is_zero_or_seven) {
    EXPECT_EQ(next("0 0 * * 0", at(2024, 5, 1)), at(2024, 5, 5));
    EXPECT_EQ(next("0 0 * * 7", at(2024, 5, 1)), at(2024, 5, 5));
    EXPECT_EQ(next("0 0 * * 5-7", at(2024, 5, 4, 12)), at(2024, 5, 5));
}

TEST(cron, day_of_month_or_day_of_week_when_both_restricted) {
    // Classic cron: "the 13th, and every Friday".
    EXPECT_EQ(next("0 0 13 * 5", at(2024, 5, 1)), at(2024, 5, 3));   // Friday 3rd
    EXPECT_EQ(next("0 0 13 * 5", at(2024, 5, 11)), at(2024, 5, 13)); // Monday 13th
    // A `*`-prefixed field (even `*/2`) makes it an AND.
    EXPECT_EQ(next("0 0 */2 * 5", at(2024, 5, 1)), at(2024, 5, 3));  // Friday 3rd (odd day, */2 = 1,3,5…)
    EXPECT_EQ(next("0 0 */2 * 5", at(2024, 5, 3)), at(2024, 5, 17)); // 10th is even; 17th is the next odd Friday
    EXPECT_EQ(next("0 0 13 * *", at(2024, 5, 1)), at(2024, 5, 13));
    EXPECT_EQ(next("0 0 * * 1", at(2024, 5, 1)), at(2024, 5, 6));
}

TEST(cron, end_of_month) {
    EXPECT_EQ(next("0 0 31 * *", at(2024, 4, 1)), at(2024, 5, 31));  // April has 30 days
    EXPECT_EQ(next("0 0 31 * *", at(2024, 5, 31)), at(2024, 7, 31));
    EXPECT_EQ(next("0 0 30 * *", at(2024, 1, 30)), at(2024, 3, 30));  // February skipped
    EXPECT_EQ(next("59 23 28-31 * *", at(2024, 4, 30, 23, 59)), at(2024, 5, 28, 23, 59));
}

TEST(cron, leap_years) {
    EXPECT_EQ(next("0 0 29 2 *", at(2023, 3, 1)), at(2024, 2, 29));
    EXPECT_EQ(next("0 0 29 2 *", at(2024, 2, 29)), at(2028, 2, 29));
    // 2100 is not a leap year (divisible by 100, not by 400).
    EXPECT_EQ(next("0 0 29 2 *", at(2096, 3, 1)), at(2104, 2, 29));
    EXPECT_EQ(next("0 0 29 2 *", at(1999, 3, 1)), at(2000, 2, 29));
    // Feb 29 that is also a Sunday (AND rule through the `*/…` prefix): 2032 after 2004.
    EXPECT_EQ(next("0 0 29 2 */7", at(2004, 3, 1)), at(2032, 2, 29));
}

TEST(cron, macros) {
    EXPECT_EQ(next("@hourly", at(2024, 5, 1, 10, 0, 1)), at(2024, 5, 1, 11));
    EXPECT_EQ(next("@daily", at(2024, 5, 1, 10)), at(2024, 5, 2));
    EXPECT_EQ(next("@midnight", at(2024, 5, 1, 10)), at(2024, 5, 2));
    EXPECT_EQ(next("@weekly", at(2024, 5, 1)), at(2024, 5, 5));
    EXPECT_EQ(next("@monthly", at(2024, 5, 1)), at(2024, 6, 1));
    EXPECT_EQ(next("@yearly", at(2024, 5, 1)), at(2025, 1, 1));
    EXPECT_EQ(next("@annually", at(2024, 5, 1)), at(2025, 1, 1));
}

TEST(cron, whitespace_is_flexible) {
    EXPECT_EQ(next("  */5\t*  * * * * ", at(2024, 5, 1)), at(2024, 5, 1, 0, 0, 5));
    EXPECT_EQ(cron::parse("  @hourly ").text(), "@hourly");
}

TEST(cron, matches) {
    auto c = cron::parse("*/15 9-17 * * mon-fri");
    EXPECT_TRUE(c.matches(at(2024, 5, 1, 9, 15)));
    EXPECT_FALSE(c.matches(at(2024, 5, 1, 9, 15, 1)));
    EXPECT_FALSE(c.matches(at(2024, 5, 4, 9, 15)));  // Saturday
    EXPECT_FALSE(c.matches(at(2024, 5, 1, 18, 0)));
}

TEST(cron, sequence_of_fires_is_increasing_and_matching) {
    auto c = cron::parse("7 */3 1,15 * *");
    auto t = at(2024, 1, 1);
    for (int i = 0; i < 200; ++i) {
        auto n = c.next_after(t);
        ASSERT_TRUE(n);
        EXPECT_GT(*n, t);
        EXPECT_TRUE(c.matches(*n));
        t = *n;
    }
}

TEST(cron, invalid_expressions_say_why) {
    EXPECT_EQ(parse_error(""), "expected 5 fields (minute hour day-of-month month day-of-week) or 6 (with seconds "
                               "first), got 0");
    EXPECT_EQ(parse_error("* * * *"), "expected 5 fields (minute hour day-of-month month day-of-week) or 6 (with "
                                      "seconds first), got 4");
    EXPECT_NE(parse_error("* * * * * * *").find("got 7"), std::string::npos);
    EXPECT_EQ(parse_error("60 * * * *"), "minute field \"60\": 60 is out of range 0-59");
    EXPECT_EQ(parse_error("* 24 * * *"), "hour field \"24\": 24 is out of range 0-23");
    EXPECT_EQ(parse_error("* * 0 * *"), "day-of-month field \"0\": 0 is out of range 1-31");
    EXPECT_EQ(parse_error("* * * 13 *"), "month field \"13\": 13 is out of range 1-12");
    EXPECT_EQ(parse_error("* * * * 8"), "day-of-week field \"8\": 8 is out of range 0-7");
    EXPECT_EQ(parse_error("61 * * * * *"), "second field \"61\": 61 is out of range 0-59");
    EXPECT_EQ(parse_error("*/0 * * * *"), "minute field \"*/0\": step \"0\" must be a positive number");
    EXPECT_EQ(parse_error("*/ * * * *"), "minute field \"*/\": step \"\" must be a positive number");
    EXPECT_EQ(parse_error("5-1 * * * *"), "minute field \"5-1\": range 5-1 is reversed");
    EXPECT_EQ(parse_error("1,,2 * * * *"), "minute field \"1,,2\": empty list item");
    EXPECT_EQ(parse_error("x * * * *"), "minute field \"x\": \"x\" is not a number");
    EXPECT_EQ(parse_error("* * * foo *"), "month field \"foo\": unknown name \"foo\"");
    EXPECT_EQ(parse_error("* * * * 1-"), "day-of-week field \"1-\": empty value");
    EXPECT_EQ(parse_error("* * * * sat-sun"), "day-of-week field \"sat-sun\": range 6-0 is reversed");
    EXPECT_EQ(parse_error("@often"), "unknown macro \"@often\" (known: @yearly, @annually, @monthly, @weekly, "
                                     "@daily, @midnight, @hourly)");
    EXPECT_EQ(parse_error("0 0 30 2 *"), "the expression never fires (no such date)");
    EXPECT_EQ(parse_error("0 0 31 4,6,9,11 *"), "the expression never fires (no such date)");
    // Feb 30 OR Monday does fire (OR rule).
    EXPECT_EQ(parse_error("0 0 30 2 1"), "(no error)");
}

}  // namespace
}  // namespace happy::sched
