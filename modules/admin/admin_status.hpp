/// @file
/// What the admin console shows, gathered: counts, ids and timestamps from the database, the process's own
/// figures (memory, CPU, connections, request rates and latency, jobs, recent warnings). Never user content:
/// no metadata, no messages, no keys beyond public keys, nothing decrypted.
#pragma once
#include <boost/json/object.hpp>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "core/db/query.hpp"
#include "core/events/types.hpp"
#include "core/metrics/metrics.hpp"

namespace happy::mod::admin {

struct db_counts {
    std::int64_t accounts = 0;
    std::int64_t accounts_disabled = 0;
    std::int64_t registrations_pending = 0;
    std::int64_t sessions = 0;
    std::int64_t sessions_active = 0;
    std::int64_t machines = 0;
    std::int64_t machines_active = 0;
    std::int64_t database_bytes = 0;
};
db_counts admin_counts(db::tx& t);

struct machine_row {
    std::string id;
    std::string account_id;
    bool active = false;
    std::int64_t last_active_at = 0;
    std::int64_t created_at = 0;
};
/// The machines seen last, most recent first.
std::vector<machine_row> machines_recent(db::tx& t, std::int64_t limit);

/// Request rates, latency and CPU over the interval between two samples. Shared by every viewer: a sample older
/// than `min_interval` is replaced by the next snapshot, so the figures cover the last few seconds.
class sampler {
public:
    struct rates {
        double requests_per_s = 0;
        double errors_per_s = 0;
        double p50_ms = 0, p95_ms = 0, p99_ms = 0;
        double cpu_percent = 0;
        double window_s = 0;
    };
    explicit sampler(std::chrono::milliseconds min_interval) : min_interval_(min_interval) {}
    rates sample(const metrics::registry::latency_totals& now_totals, double cpu_seconds,
                 std::chrono::steady_clock::time_point now);

private:
    std::chrono::milliseconds min_interval_;
    std::mutex mutex_;
    std::optional<std::chrono::steady_clock::time_point> at_;
    metrics::registry::latency_totals totals_;
    double cpu_seconds_ = 0;
    rates last_;
};

/// Process CPU time (user + system) in seconds.
double process_cpu_seconds();

/// The sockets of this instance per client type and per client version ("cli-daemon/1.2.5": 3).
boost::json::object connections_summary(const std::vector<events::connection_info>& conns);

}  // namespace happy::mod::admin
