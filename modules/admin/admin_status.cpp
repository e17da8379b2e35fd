#include "modules/admin/admin_status.hpp"

#include <sys/resource.h>

#include <map>

namespace happy::mod::admin {

namespace json = boost::json;

db_counts admin_counts(db::tx& t) {
    db_counts c;
    // One round trip: a few COUNT(*) over the small tables (never session_message).
    t.query("SELECT (SELECT COUNT(*) FROM account), "
            "(SELECT COUNT(*) FROM account_disabled WHERE deleted = 0), "
            "(SELECT COUNT(*) FROM registration_request WHERE approved_at IS NULL), "
            "(SELECT COUNT(*) FROM session), (SELECT COUNT(*) FROM session WHERE active = 1), "
            "(SELECT COUNT(*) FROM machine), (SELECT COUNT(*) FROM machine WHERE active = 1)",
            {}, [&](const db::row_view& r) {
                c.accounts = r.i64(0);
                c.accounts_disabled = r.i64(1);
                c.registrations_pending = r.i64(2);
                c.sessions = r.i64(3);
                c.sessions_active = r.i64(4);
                c.machines = r.i64(5);
                c.machines_active = r.i64(6);
            });
    c.database_bytes =
        t.one_i64(t.pick({"SELECT page_count * page_size FROM pragma_page_count(), pragma_page_size()",
                          "SELECT pg_database_size(current_database())"}))
            .value_or(0);
    return c;
}

std::vector<machine_row> machines_recent(db::tx& t, std::int64_t limit) {
    std::vector<machine_row> out;
    t.query("SELECT id, account_id, active, last_active_at, created_at FROM machine "
            "ORDER BY last_active_at DESC, id LIMIT ?",
            {limit}, [&](const db::row_view& r) {
                out.push_back({r.str(0), r.str(1), r.i64(2) != 0, r.i64(3), r.i64(4)});
            });
    return out;
}

sampler::rates sampler::sample(const metrics::registry::latency_totals& now_totals, double cpu_seconds,
                               std::chrono::steady_clock::time_point now) {
    std::lock_guard lock(mutex_);
    if (!at_) {
        at_ = now;
        totals_ = now_totals;
        cpu_seconds_ = cpu_seconds;
        return last_;
    }
    if (now - *at_ < min_interval_) {
        return last_;  // too short a window to say anything new
    }
    double dt = std::chrono::duration<double>(now - *at_).count();
    rates r;
    r.window_s = dt;
    r.requests_per_s = static_cast<double>(now_totals.count - totals_.count) / dt;
    r.errors_per_s = static_cast<double>(now_totals.errors - totals_.errors) / dt;
    r.p50_ms = metrics::latency_quantile(totals_, now_totals, 0.50) * 1000;
    r.p95_ms = metrics::latency_quantile(totals_, now_totals, 0.95) * 1000;
    r.p99_ms = metrics::latency_quantile(totals_, now_totals, 0.99) * 1000;
    r.cpu_percent = (cpu_seconds - cpu_seconds_) / dt * 100;
    at_ = now;
    totals_ = now_totals;
    cpu_seconds_ = cpu_seconds;
    last_ = r;
    return r;
}

double process_cpu_seconds() {
    rusage ru{};
    if (::getrusage(RUSAGE_SELF, &ru) != 0) {
        return 0;
    }
    auto sec = [](const timeval& tv) { return static_cast<double>(tv.tv_sec) + static_cast<double>(tv.tv_usec) / 1e6; };
    return sec(ru.ru_utime) + sec(ru.ru_stime);
}

json::object connections_summary(const std::vector<events::connection_info>& conns) {
    std::map<std::string, std::int64_t> by_type, by_client;
    for (const auto& c : conns) {
        ++by_type[c.client_type.empty() ? "(none)" : c.client_type];
        ++by_client[c.happy_client.empty() ? "(unknown)" : c.happy_client];
    }
    json::object types, clients;
    for (const auto& [k, n] : by_type) {
        types[k] = n;
    }
    for (const auto& [k, n] : by_client) {
        clients[k] = n;
    }
    return json::object{{"sockets", static_cast<std::int64_t>(conns.size())},
                        {"byType", std::move(types)},
                        {"byClient", std::move(clients)}};
}

}  // namespace happy::mod::admin
