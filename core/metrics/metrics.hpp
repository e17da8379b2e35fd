/// @file
/// Process metrics in the Prometheus text format (version 0.0.4), served on the metrics port (upstream:
/// app/monitoring/metrics.ts, port 9090). Counting is lock-free: request counters live in a fixed table indexed
/// by method and status, so recording a request costs two atomic adds. Values owned elsewhere (open
/// connections, slow-client disconnects, RSS) are read by callbacks at scrape time.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace happy::metrics {

/// Request latency buckets, in seconds (upper bounds; +Inf is implied).
inline constexpr std::array<double, 12> latency_bounds = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                                          0.05,   0.1,   0.25,   0.5,   1.0,  2.5};

class registry {
public:
    /// One finished HTTP request on the main port.
    void http_request(std::string_view method, unsigned status, double seconds);

    /// A value read when scraped: `type` is "counter" or "gauge".
    void add_callback(std::string name, std::string help, std::string type, std::function<double()> read);

    /// Drops every callback (their owners are going away).
    void clear_callbacks();

    /// The whole exposition, every sample labelled app="happy-server" as upstream's default label.
    std::string text() const;

    /// The current value of the callback named `name`, or nullopt (the admin console reads the gauges this way).
    std::optional<double> value(std::string_view name) const;

    /// Requests on the main port so far, all methods together: the count per latency bucket (latency_bounds, then
    /// +Inf) and the sum of durations. Rates and percentiles over an interval come from the difference of two.
    struct latency_totals {
        std::array<std::uint64_t, latency_bounds.size() + 1> buckets{};
        std::uint64_t count = 0;
        double seconds = 0;
        std::uint64_t errors = 0;  ///< status 500 and above
    };
    latency_totals totals() const;

private:
    static constexpr std::size_t methods = 8;  // GET POST PUT DELETE PATCH HEAD OPTIONS other
    static constexpr std::size_t statuses = 500;  // 100..599
    static std::size_t method_index(std::string_view m);

    std::array<std::atomic<std::uint64_t>, methods * statuses> requests_{};
    std::array<std::array<std::atomic<std::uint64_t>, latency_bounds.size() + 1>, methods> buckets_{};
    std::array<std::atomic<std::uint64_t>, methods> duration_us_{};  // sum, in microseconds

    struct callback {
        std::string name, help, type;
        std::function<double()> read;
    };
    mutable std::mutex mutex_;
    std::vector<callback> callbacks_;
};

/// The process-wide registry.
registry& global();

/// Resident set size of this process in bytes (0 when /proc is unavailable).
double resident_bytes();
/// Heap bytes allocated through malloc and not yet freed (glibc mallinfo; 0 elsewhere).
double heap_in_use_bytes();

/// The latency below which a fraction `q` (0..1) of the requests between two totals() fell, interpolated linearly
/// within its bucket (as Prometheus's histogram_quantile); the last finite bound when it falls in +Inf; 0 when no
/// request was counted.
double latency_quantile(const registry::latency_totals& from, const registry::latency_totals& to, double q);

}  // namespace happy::metrics
