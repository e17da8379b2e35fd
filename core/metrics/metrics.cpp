#include "core/metrics/metrics.hpp"

#include <fmt/format.h>
#include <malloc.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>

namespace happy::metrics {

namespace {
constexpr std::array<std::string_view, 8> method_names = {"GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS",
                                                          "other"};
constexpr std::string_view app_label = R"(app="happy-server")";

/// Prometheus renders numbers in Go's strconv format; integers print plainly, others with %g-like precision.
std::string number(double v) {
    if (v == static_cast<double>(static_cast<std::int64_t>(v))) {
        return fmt::format("{}", static_cast<std::int64_t>(v));
    }
    return fmt::format("{}", v);
}
}  // namespace

std::size_t registry::method_index(std::string_view m) {
    for (std::size_t i = 0; i + 1 < method_names.size(); ++i) {
        if (method_names[i] == m) {
            return i;
        }
    }
    return method_names.size() - 1;
}

void registry::http_request(std::string_view method, unsigned status, double seconds) {
    std::size_t m = method_index(method);
    std::size_t s = std::clamp<unsigned>(status, 100, 599) - 100;
    requests_[m * statuses + s].fetch_add(1, std::memory_order_relaxed);
    auto b = static_cast<std::size_t>(std::lower_bound(latency_bounds.begin(), latency_bounds.end(), seconds) -
                                      latency_bounds.begin());
    buckets_[m][b].fetch_add(1, std::memory_order_relaxed);
    duration_us_[m].fetch_add(static_cast<std::uint64_t>(seconds * 1e6), std::memory_order_relaxed);
}

void registry::add_callback(std::string name, std::string help, std::string type, std::function<double()> read) {
    std::lock_guard lock(mutex_);
    callbacks_.push_back({std::move(name), std::move(help), std::move(type), std::move(read)});
}

void registry::clear_callbacks() {
    std::lock_guard lock(mutex_);
    callbacks_.clear();
}

std::string registry::text() const {
    std::string out;
    out += "# HELP http_requests_total Total HTTP requests on the API port\n# TYPE http_requests_total counter\n";
    for (std::size_t m = 0; m < methods; ++m) {
        for (std::size_t s = 0; s < statuses; ++s) {
            if (auto n = requests_[m * statuses + s].load(std::memory_order_relaxed)) {
                out += fmt::format("http_requests_total{{{},method=\"{}\",status=\"{}\"}} {}\n", app_label,
                                   method_names[m], s + 100, n);
            }
        }
    }
    out += "# HELP http_request_duration_seconds HTTP request duration on the API port\n"
           "# TYPE http_request_duration_seconds histogram\n";
    for (std::size_t m = 0; m < methods; ++m) {
        std::uint64_t cumulative = 0;
        std::array<std::uint64_t, latency_bounds.size() + 1> counts{};
        for (std::size_t b = 0; b < counts.size(); ++b) {
            counts[b] = buckets_[m][b].load(std::memory_order_relaxed);
        }
        std::uint64_t total = 0;
        for (auto c : counts) {
            total += c;
        }
        if (total == 0) {
            continue;
        }
        for (std::size_t b = 0; b < latency_bounds.size(); ++b) {
            cumulative += counts[b];
            out += fmt::format("http_request_duration_seconds_bucket{{{},method=\"{}\",le=\"{}\"}} {}\n", app_label,
                               method_names[m], number(latency_bounds[b]), cumulative);
        }
        out += fmt::format("http_request_duration_seconds_bucket{{{},method=\"{}\",le=\"+Inf\"}} {}\n", app_label,
                           method_names[m], total);
        out += fmt::format("http_request_duration_seconds_sum{{{},method=\"{}\"}} {}\n", app_label, method_names[m],
                           number(static_cast<double>(duration_us_[m].load(std::memory_order_relaxed)) / 1e6));
        out += fmt::format("http_request_duration_seconds_count{{{},method=\"{}\"}} {}\n", app_label,
                           method_names[m], total);
    }
    std::lock_guard lock(mutex_);
    for (const auto& c : callbacks_) {
        out += fmt::format("# HELP {} {}\n# TYPE {} {}\n{}{{{}}} {}\n", c.name, c.help, c.name, c.type, c.name,
                           app_label, number(c.read()));
    }
    return out;
}

std::optional<double> registry::value(std::string_view name) const {
    std::lock_guard lock(mutex_);
    for (const auto& c : callbacks_) {
        if (c.name == name) {
            return c.read();
        }
    }
    return std::nullopt;
}

registry::latency_totals registry::totals() const {
    latency_totals t;
    std::uint64_t us = 0;
    for (std::size_t m = 0; m < methods; ++m) {
        for (std::size_t b = 0; b < t.buckets.size(); ++b) {
            t.buckets[b] += buckets_[m][b].load(std::memory_order_relaxed);
        }
        us += duration_us_[m].load(std::memory_order_relaxed);
        for (std::size_t s = 400; s < statuses; ++s) {
            t.errors += requests_[m * statuses + s].load(std::memory_order_relaxed);
        }
    }
    for (auto c : t.buckets) {
        t.count += c;
    }
    t.seconds = static_cast<double>(us) / 1e6;
    return t;
}

double latency_quantile(const registry::latency_totals& from, const registry::latency_totals& to, double q) {
    std::uint64_t total = to.count - from.count;
    if (total == 0) {
        return 0;
    }
    double rank = q * static_cast<double>(total);
    double cumulative = 0;
    for (std::size_t b = 0; b < to.buckets.size(); ++b) {
        double n = static_cast<double>(to.buckets[b] - from.buckets[b]);
        if (n > 0 && cumulative + n >= rank) {
            if (b == latency_bounds.size()) {
                return latency_bounds.back();
            }
            double lower = b == 0 ? 0 : latency_bounds[b - 1];
            return lower + (latency_bounds[b] - lower) * ((rank - cumulative) / n);
        }
        cumulative += n;
    }
    return latency_bounds.back();
}

registry& global() {
    static registry r;
    return r;
}

double heap_in_use_bytes() {
    // mallinfo2: glibc 2.33 and later (the release build's Debian 11 root has 2.31: mallinfo, whose int fields are
    // enough below 2 GiB).
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 33))
    auto m = ::mallinfo2();
    return static_cast<double>(m.uordblks + m.hblkhd);
#elif defined(__GLIBC__)
    auto m = ::mallinfo();
    return static_cast<double>(static_cast<unsigned>(m.uordblks)) + static_cast<double>(static_cast<unsigned>(m.hblkhd));
#else
    return 0;
#endif
}

double resident_bytes() {
    long pages = 0, resident = 0;
    if (FILE* f = std::fopen("/proc/self/statm", "r")) {
        if (std::fscanf(f, "%ld %ld", &pages, &resident) != 2) {
            resident = 0;
        }
        std::fclose(f);
    }
    return static_cast<double>(resident) * static_cast<double>(::sysconf(_SC_PAGESIZE));
}

}  // namespace happy::metrics
