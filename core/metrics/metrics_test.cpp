#include "core/metrics/metrics.hpp"

#include <gtest/gtest.h>

namespace happy::metrics {
namespace {

TEST(metrics, requests_and_latency_histogram_in_prometheus_text) {
    registry r;
    r.http_request("GET", 200, 0.0004);
    r.http_request("GET", 200, 0.003);
    r.http_request("GET", 404, 0.3);
    r.http_request("BREW", 418, 5.0);  // unknown method → "other"; beyond the last bound → only +Inf
    r.add_callback("socketio_connected_sockets", "Connected Socket.IO sockets", "gauge", [] { return 7.0; });
    std::string t = r.text();
    EXPECT_NE(t.find("# TYPE http_requests_total counter\n"), std::string::npos);
    EXPECT_NE(t.find(R"(http_requests_total{app="happy-server",method="GET",status="200"} 2)"), std::string::npos) << t;
    EXPECT_NE(t.find(R"(http_requests_total{app="happy-server",method="GET",status="404"} 1)"), std::string::npos);
    EXPECT_NE(t.find(R"(http_requests_total{app="happy-server",method="other",status="418"} 1)"), std::string::npos);
    // Cumulative buckets: 0.4 ms ≤ 0.0005, 3 ms ≤ 0.005, 300 ms ≤ 0.5.
    EXPECT_NE(t.find(R"(http_request_duration_seconds_bucket{app="happy-server",method="GET",le="0.0005"} 1)"),
              std::string::npos) << t;
    EXPECT_NE(t.find(R"(http_request_duration_seconds_bucket{app="happy-server",method="GET",le="0.005"} 2)"),
              std::string::npos);
    EXPECT_NE(t.find(R"(http_request_duration_seconds_bucket{app="happy-server",method="GET",le="0.25"} 2)"),
              std::string::npos);
    EXPECT_NE(t.find(R"(http_request_duration_seconds_bucket{app="happy-server",method="GET",le="0.5"} 3)"),
              std::string::npos);
    EXPECT_NE(t.find(R"(http_request_duration_seconds_bucket{app="happy-server",method="GET",le="+Inf"} 3)"),
              std::string::npos);
    EXPECT_NE(t.find(R"(http_request_duration_seconds_count{app="happy-server",method="GET"} 3)"), std::string::npos);
    EXPECT_NE(t.find(R"(http_request_duration_seconds_bucket{app="happy-server",method="other",le="2.5"} 0)"),
              std::string::npos);
    EXPECT_NE(t.find("# TYPE socketio_connected_sockets gauge\nsocketio_connected_sockets{app=\"happy-server\"} 7\n"),
              std::string::npos);
    EXPECT_EQ(t.find("method=\"POST\""), std::string::npos);  // nothing for methods never seen
}

TEST(metrics, totals_and_quantiles_over_an_interval) {
    registry r;
    auto before = r.totals();
    EXPECT_EQ(latency_quantile(before, before, 0.5), 0.0);
    r.http_request("GET", 200, 0.0004);  // bucket <= 0.0005
    r.http_request("POST", 200, 0.0004);
    r.http_request("GET", 500, 0.003);   // bucket (0.0025, 0.005]
    r.http_request("GET", 404, 0.003);
    r.add_callback("g", "help", "gauge", [] { return 3.0; });
    auto after = r.totals();
    EXPECT_EQ(after.count, 4u);
    EXPECT_EQ(after.errors, 1u);  // only the 500
    EXPECT_NEAR(after.seconds, 0.0068, 1e-6);
    EXPECT_EQ(r.value("g"), 3.0);
    EXPECT_FALSE(r.value("nope"));
    // Half the requests are in the first bucket: the median is its upper bound; p75 is midway into the third.
    EXPECT_NEAR(latency_quantile(before, after, 0.5), 0.0005, 1e-9);
    EXPECT_NEAR(latency_quantile(before, after, 0.75), 0.0025 + (0.005 - 0.0025) * 0.5, 1e-9);
    // Only what happened after `after` counts from there on.
    r.http_request("GET", 200, 10.0);  // +Inf: reported as the last finite bound
    EXPECT_EQ(latency_quantile(after, r.totals(), 0.99), 2.5);
}

TEST(metrics, resident_bytes_reads_proc) { EXPECT_GT(resident_bytes(), 1024.0 * 1024.0); }

}  // namespace
}  // namespace happy::metrics
