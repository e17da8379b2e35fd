// libFuzzer target for the cron parser (core/sched/cron): any text is parsed or refused with cron_error (nothing
// else may escape, since start-up reports only that as a configuration error), and an accepted expression keeps
// its promises: it fires at least once (parse checks that), every next_after() is strictly later and matches, and
// the following fire is later still.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string_view>

#include "core/sched/cron.hpp"

using namespace std::chrono;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    // The first four bytes (when there are more) pick the instant to search from, within 1970..2106; the rest is
    // the expression.
    std::uint32_t start = 1700000000;
    if (size > 4) {
        std::memcpy(&start, data, 4);
        data += 4;
        size -= 4;
    }
    std::string_view text(reinterpret_cast<const char*>(data), size);
    std::optional<happy::sched::cron> c;
    try {
        c = happy::sched::cron::parse(text);
    } catch (const happy::sched::cron_error&) {
        return 0;
    }
    sys_seconds t{seconds{start}};
    for (int i = 0; i < 3; ++i) {
        auto next = c->next_after(t);
        if (!next) {
            // Allowed only for a date that recurs rarely (Feb 29 on a weekday recurs every 28 years, so a century
            // always holds one): an expression that fired once must fire again within the 100-year window.
            std::abort();
        }
        if (*next <= t || !c->matches(*next)) {
            std::abort();
        }
        t = *next;
    }
    return 0;
}
