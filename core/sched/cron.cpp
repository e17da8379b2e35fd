#include "core/sched/cron.hpp"

#include <array>
#include <cctype>
#include <charconv>
#include <fmt/format.h>
#include <vector>

namespace happy::sched {

namespace {

using namespace std::chrono;

struct field_spec {
    const char* name;
    int min;
    int max;
    const std::array<std::string_view, 12>* names;  ///< names[i] stands for min + i (months) or i (weekdays)
};

constexpr std::array<std::string_view, 12> month_names{"jan", "feb", "mar", "apr", "may", "jun",
                                                       "jul", "aug", "sep", "oct", "nov", "dec"};
constexpr std::array<std::string_view, 12> weekday_names{"sun", "mon", "tue", "wed", "thu", "fri", "sat",
                                                         "",    "",    "",    "",    ""};

constexpr field_spec second_spec{"second", 0, 59, nullptr};
constexpr field_spec minute_spec{"minute", 0, 59, nullptr};
constexpr field_spec hour_spec{"hour", 0, 23, nullptr};
constexpr field_spec day_spec{"day-of-month", 1, 31, nullptr};
constexpr field_spec month_spec{"month", 1, 12, &month_names};
// 7 is accepted as Sunday and folded onto 0 after parsing.
constexpr field_spec weekday_spec{"day-of-week", 0, 7, &weekday_names};

std::vector<std::string_view> split(std::string_view s, char sep) {
    std::vector<std::string_view> out;
    std::size_t start = 0;
    for (;;) {
        auto pos = s.find(sep, start);
        out.push_back(s.substr(start, pos == std::string_view::npos ? std::string_view::npos : pos - start));
        if (pos == std::string_view::npos) {
            return out;
        }
        start = pos + 1;
    }
}

std::vector<std::string_view> split_spaces(std::string_view s) {
    std::vector<std::string_view> out;
    std::size_t i = 0;
    while (i < s.size()) {
        while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i]))) {
            ++i;
        }
        std::size_t start = i;
        while (i < s.size() && !std::isspace(static_cast<unsigned char>(s[i]))) {
            ++i;
        }
        if (i > start) {
            out.push_back(s.substr(start, i - start));
        }
    }
    return out;
}

[[noreturn]] void fail(const field_spec& f, std::string_view field, std::string_view why) {
    throw cron_error(fmt::format("{} field \"{}\": {}", f.name, field, why));
}

int parse_value(const field_spec& f, std::string_view field, std::string_view v) {
    if (v.empty()) {
        fail(f, field, "empty value");
    }
    if (f.names && std::isalpha(static_cast<unsigned char>(v[0]))) {
        std::string lower;
        for (char c : v) {
            lower.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
        }
        for (std::size_t i = 0; i < f.names->size(); ++i) {
            if (!(*f.names)[i].empty() && (*f.names)[i] == lower) {
                return f.min == 1 ? static_cast<int>(i) + 1 : static_cast<int>(i);
            }
        }
        fail(f, field, fmt::format("unknown name \"{}\"", v));
    }
    int n = 0;
    auto r = std::from_chars(v.data(), v.data() + v.size(), n);
    if (r.ec != std::errc() || r.ptr != v.data() + v.size()) {
        fail(f, field, fmt::format("\"{}\" is not a number", v));
    }
    if (n < f.min || n > f.max) {
        fail(f, field, fmt::format("{} is out of range {}-{}", n, f.min, f.max));
    }
    return n;
}

/// Parses one field into bits [min, max]; returns whether it starts with `*` (classic cron's DOM_STAR/DOW_STAR).
template <std::size_t N>
bool parse_field(const field_spec& f, std::string_view field, std::bitset<N>& bits) {
    if (field.empty()) {
        fail(f, field, "empty field");
    }
    for (std::string_view item : split(field, ',')) {
        if (item.empty()) {
            fail(f, field, "empty list item");
        }
        std::string_view range = item;
        int step = 1;
        if (auto slash = item.find('/'); slash != std::string_view::npos) {
            range = item.substr(0, slash);
            std::string_view s = item.substr(slash + 1);
            auto r = std::from_chars(s.data(), s.data() + s.size(), step);
            if (s.empty() || r.ec != std::errc() || r.ptr != s.data() + s.size() || step < 1) {
                fail(f, field, fmt::format("step \"{}\" must be a positive number", s));
            }
        }
        int lo = f.min;
        int hi = f.max;
        if (range == "*") {
            // whole range
        } else if (auto dash = range.find('-'); dash != std::string_view::npos) {
            lo = parse_value(f, field, range.substr(0, dash));
            hi = parse_value(f, field, range.substr(dash + 1));
            if (lo > hi) {
                fail(f, field, fmt::format("range {}-{} is reversed", lo, hi));
            }
        } else {
            lo = parse_value(f, field, range);
            // `A/S` means `A-max/S` (Vixie cron); a plain `A` is just A.
            hi = item.find('/') != std::string_view::npos ? f.max : lo;
        }
        // Stop before stepping past hi: a huge step (`59/2147483647`) would overflow v + step.
        for (int v = lo;; v += step) {
            bits.set(static_cast<std::size_t>(v));
            if (hi - v < step) {
                break;
            }
        }
    }
    return field.front() == '*';
}

std::string_view expand_macro(std::string_view text) {
    struct macro {
        std::string_view name;
        std::string_view expansion;
    };
    static constexpr macro macros[] = {
        {"@yearly", "0 0 1 1 *"}, {"@annually", "0 0 1 1 *"}, {"@monthly", "0 0 1 * *"}, {"@weekly", "0 0 * * 0"},
        {"@daily", "0 0 * * *"},  {"@midnight", "0 0 * * *"}, {"@hourly", "0 * * * *"},
    };
    for (const auto& m : macros) {
        if (m.name == text) {
            return m.expansion;
        }
    }
    throw cron_error(fmt::format("unknown macro \"{}\" (known: @yearly, @annually, @monthly, @weekly, @daily, "
                                 "@midnight, @hourly)",
                                 text));
}

std::string_view trim(std::string_view s) {
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) {
        s.remove_prefix(1);
    }
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) {
        s.remove_suffix(1);
    }
    return s;
}

}  // namespace

cron cron::parse(std::string_view text) {
    cron c;
    c.text_ = std::string(trim(text));
    std::string_view body = c.text_;
    if (body.starts_with('@')) {
        body = expand_macro(body);
    }
    auto fields = split_spaces(body);
    if (fields.size() != 5 && fields.size() != 6) {
        throw cron_error(fmt::format("expected 5 fields (minute hour day-of-month month day-of-week) or 6 (with "
                                     "seconds first), got {}",
                                     fields.size()));
    }
    std::size_t i = 0;
    if (fields.size() == 6) {
        parse_field(second_spec, fields[i++], c.seconds_);
    } else {
        c.seconds_.set(0);
    }
    parse_field(minute_spec, fields[i++], c.minutes_);
    parse_field(hour_spec, fields[i++], c.hours_);
    c.days_star_ = parse_field(day_spec, fields[i++], c.days_);
    parse_field(month_spec, fields[i++], c.months_);
    std::bitset<8> wd;
    c.weekdays_star_ = parse_field(weekday_spec, fields[i++], wd);
    for (std::size_t d = 0; d < 7; ++d) {
        c.weekdays_[d] = wd[d];
    }
    if (wd[7]) {
        c.weekdays_.set(0);
    }
    // Syntactically fine but impossible dates (`0 0 30 2 *`, `0 0 31 4 *`) would silently never run.
    if (!c.next_after(sys_seconds{})) {
        throw cron_error("the expression never fires (no such date)");
    }
    return c;
}

bool cron::day_matches(sys_days d) const {
    year_month_day ymd{d};
    if (!months_[static_cast<unsigned>(ymd.month())]) {
        return false;
    }
    bool dom = days_[static_cast<unsigned>(ymd.day())];
    bool dow = weekdays_[weekday{d}.c_encoding()];
    // Classic cron (Vixie entry.c DOM_STAR/DOW_STAR): OR when both fields are restricted, else AND.
    if (days_star_ || weekdays_star_) {
        return dom && dow;
    }
    return dom || dow;
}

std::optional<seconds> cron::first_time_from(seconds tod) const {
    auto total = tod.count();
    int h0 = static_cast<int>(total / 3600);
    int m0 = static_cast<int>(total / 60 % 60);
    int s0 = static_cast<int>(total % 60);
    for (int h = h0; h < 24; ++h) {
        if (!hours_[h]) {
            continue;
        }
        for (int m = (h == h0 ? m0 : 0); m < 60; ++m) {
            if (!minutes_[m]) {
                continue;
            }
            for (int s = (h == h0 && m == m0 ? s0 : 0); s < 60; ++s) {
                if (seconds_[s]) {
                    return hours{h} + minutes{m} + seconds{s};
                }
            }
        }
    }
    return std::nullopt;
}

std::optional<sys_seconds> cron::next_after(sys_seconds t) const {
    sys_seconds c = t + seconds{1};
    sys_days day = floor<days>(c);
    seconds tod = c - day;
    // A day-of-month/day-of-week/month combination may recur only every 28 years (Feb 29 on a given weekday) or
    // never (Feb 30); past a century there is none.
    const auto limit = year_month_day{day}.year() + years{100};
    while (year_month_day{day}.year() <= limit) {
        year_month_day ymd{day};
        if (!months_[static_cast<unsigned>(ymd.month())]) {
            // Skip to the first day of the next month.
            year_month ym = ymd.year() / ymd.month() + months{1};
            day = sys_days{ym / 1};
            tod = seconds{0};
            continue;
        }
        if (day_matches(day)) {
            if (auto s = first_time_from(tod)) {
                return day + *s;
            }
        }
        day += days{1};
        tod = seconds{0};
    }
    return std::nullopt;
}

bool cron::matches(sys_seconds t) const {
    sys_days day = floor<days>(t);
    if (!day_matches(day)) {
        return false;
    }
    auto tod = t - day;
    auto s = first_time_from(tod);
    return s && *s == tod;
}

}  // namespace happy::sched
