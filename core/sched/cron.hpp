/// @file
/// Cron expressions: parsing and next-fire computation as pure functions (no clock, no I/O).
///
/// Syntax (Vixie cron, plus an optional leading seconds field):
///  - 5 fields `minute hour day-of-month month day-of-week` (fires at second 0), or
///  - 6 fields `second minute hour day-of-month month day-of-week`.
///  Each field is a comma-separated list of `*`, `N`, `A-B`, `*/S`, `A-B/S` or `A/S` (= `A-max/S`). Months accept
///  `jan`…`dec`, days of the week `sun`…`sat` (case-insensitive); day-of-week 0 and 7 are both Sunday.
///  Macros: `@yearly` (`@annually`), `@monthly`, `@weekly`, `@daily` (`@midnight`), `@hourly`.
///  Day-of-month and day-of-week follow classic cron's rule: when both are restricted (neither field starts with
///  `*`) a day matches if *either* matches; otherwise both must match.
///
/// Times are evaluated in UTC: the server's jobs are intervals, and UTC has no DST gaps or repeated hours, so
/// every schedule fires exactly once per matching instant whatever the host's time zone.
#pragma once
#include <bitset>
#include <chrono>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

namespace happy::sched {

/// An invalid cron expression; what() says which field and why.
struct cron_error : std::invalid_argument {
    using std::invalid_argument::invalid_argument;
};

class cron {
public:
    /// Parses a 5- or 6-field expression or a macro. Throws cron_error.
    static cron parse(std::string_view text);

    /// The first matching instant strictly after `t` (UTC), or nullopt when none exists within the next 100 years
    /// (e.g. `0 0 30 2 *`).
    std::optional<std::chrono::sys_seconds> next_after(std::chrono::sys_seconds t) const;

    /// Whether the instant `t` matches (seconds resolution).
    bool matches(std::chrono::sys_seconds t) const;

    const std::string& text() const { return text_; }

private:
    bool day_matches(std::chrono::sys_days d) const;
    std::optional<std::chrono::seconds> first_time_from(std::chrono::seconds tod) const;

    std::string text_;
    std::bitset<60> seconds_;
    std::bitset<60> minutes_;
    std::bitset<24> hours_;
    std::bitset<32> days_;    ///< 1..31
    std::bitset<13> months_;  ///< 1..12
    std::bitset<7> weekdays_; ///< 0 = Sunday
    bool days_star_ = false;
    bool weekdays_star_ = false;
};

}  // namespace happy::sched
