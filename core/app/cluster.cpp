#include "core/app/cluster.hpp"

#include <chrono>

#include "core/log/log.hpp"
#include "core/metrics/metrics.hpp"

namespace happy {

namespace {

using namespace std::chrono_literals;

boost::asio::awaitable<void> run_claimed(job_fn fn, bus::bus* b, std::string name) {
    // The fire as every instance names it: cron fires on whole seconds (UTC) and every instance's timer goes off a
    // few milliseconds after, so rounding to the nearest second gives all instances whose clocks agree within
    // ±0.5 s (NTP) the same key. A fire that is late by more than that runs twice, which the idempotent sweeps
    // allow (upstream runs them on every replica: presence/timeout.ts).
    auto since_epoch = std::chrono::system_clock::now().time_since_epoch() + 500ms;
    auto second = std::chrono::duration_cast<std::chrono::seconds>(since_epoch).count();
    if (!co_await b->claim("job:" + name + ":" + std::to_string(second), 10min)) {
        log::debug("job run by another instance", {{"job", name}});
        co_return;
    }
    co_await fn();
}

}  // namespace

job_fn claimed_job(job_fn fn, bus::bus& b, std::string job_name) {
    // A plain lambda returning a named coroutine: g++ 12 miscompiles capturing coroutine lambdas.
    return [fn = std::move(fn), b = &b, name = std::move(job_name)] { return run_claimed(fn, b, name); };
}

void add_bus_metrics(const bus::bus& b) {
    auto& m = metrics::global();
    const bus::bus* p = &b;
    m.add_callback("bus_connected", "1 while the cluster bus reaches every instance (always 1 for the local bus)",
                   "gauge", [p] { return p->health().ok ? 1.0 : 0.0; });
    m.add_callback("bus_peers", "Other instances heard from within the liveness timeout", "gauge",
                   [p] { return static_cast<double>(p->peers().size()); });
    m.add_callback("bus_messages_published_total", "Messages this instance handed to the bus", "counter",
                   [p] { return static_cast<double>(p->stats().published); });
    m.add_callback("bus_messages_received_total", "Messages received from other instances", "counter",
                   [p] { return static_cast<double>(p->stats().received); });
    m.add_callback("bus_messages_dropped_total", "Messages not sent because the bus was down", "counter",
                   [p] { return static_cast<double>(p->stats().dropped); });
    m.add_callback("bus_messages_lost_total", "Messages from other instances that never arrived (sequence gaps)",
                   "counter", [p] { return static_cast<double>(p->stats().lost); });
}

void add_order_metrics(const events::hub& h) {
    auto& m = metrics::global();
    const events::hub* p = &h;
    auto counter = [p](std::uint64_t events::reorder_counters::*field) {
        return [p, field] { return static_cast<double>(p->order_counters().*field); };
    };
    m.add_callback("realtime_updates_held_total",
                   "Updates held back until a lower seq of their account arrived (bus.reorder_wait_ms at most)",
                   "counter", counter(&events::reorder_counters::held));
    m.add_callback("realtime_update_gaps_total",
                   "Account seqs given up on: not arrived within bus.reorder_wait_ms (the updates after went on)",
                   "counter", counter(&events::reorder_counters::gaps));
    m.add_callback("realtime_updates_late_total", "Updates that arrived after their seq had been given up (delivered)",
                   "counter", counter(&events::reorder_counters::late));
    m.add_callback("realtime_updates_duplicate_total", "Updates dropped because their seq had been delivered already",
                   "counter", counter(&events::reorder_counters::duplicates));
    m.add_callback("realtime_updates_waiting", "Updates waiting for a lower seq of their account right now", "gauge",
                   [p] { return static_cast<double>(p->updates_held()); });
}

}  // namespace happy
