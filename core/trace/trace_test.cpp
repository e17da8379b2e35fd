#include "core/trace/trace.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <set>

namespace happy::trace {
namespace {

TEST(trace, parses_a_valid_traceparent) {
    auto p = parse_traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
    ASSERT_TRUE(p);
    EXPECT_EQ(hex(p->trace), "4bf92f3577b34da6a3ce929d0e0e4736");
    EXPECT_EQ(hex(p->span), "00f067aa0ba902b7");
    EXPECT_TRUE(p->sampled);
    auto q = parse_traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00");
    ASSERT_TRUE(q);
    EXPECT_FALSE(q->sampled);
    // A later version may append fields.
    EXPECT_TRUE(parse_traceparent("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra"));
}

TEST(trace, refuses_what_the_spec_calls_invalid) {
    for (const char* v : {
             "",
             "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",         // no flags
             "00-00000000000000000000000000000000-00f067aa0ba902b7-01",      // zero trace id
             "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",      // zero parent id
             "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",      // upper case
             "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",      // version ff
             "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-xx",   // version 00 with more fields
             "00-4bf92f3577b34da6a3ce929d0e0e473g-00f067aa0ba902b7-01",      // not hex
             "00_4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",      // separator
         }) {
        EXPECT_FALSE(parse_traceparent(v)) << v;
    }
}

TEST(trace, new_ids_are_nonzero_and_distinct) {
    std::set<std::string> seen;
    for (int i = 0; i < 1000; ++i) {
        auto t = hex(new_trace_id());
        EXPECT_EQ(t.size(), 32u);
        EXPECT_NE(t, std::string(32, '0'));
        seen.insert(t);
    }
    EXPECT_EQ(seen.size(), 1000u);
    EXPECT_EQ(hex(new_span_id()).size(), 16u);
}

TEST(trace, otlp_json_is_an_export_request_with_hex_ids_and_string_nanos) {
    span s;
    s.trace = parse_traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")->trace;
    s.id = {1, 2, 3, 4, 5, 6, 7, 8};
    s.parent_id = span_id{0, 0xf0, 0x67, 0xaa, 0x0b, 0xa9, 0x02, 0xb7};
    s.method = "GET";
    s.path = "/v1/sessions";
    s.status = 503;
    s.start_unix_nano = 1700000000000000000;
    s.end_unix_nano = 1700000000001000000;
    auto v = boost::json::parse(otlp_json({s}, "svc"));
    const auto& rs = v.at("resourceSpans").at(0);
    EXPECT_EQ(rs.at("resource").at("attributes").at(0).at("value").at("stringValue"), "svc");
    const auto& sp = rs.at("scopeSpans").at(0).at("spans").at(0);
    EXPECT_EQ(sp.at("traceId"), "4bf92f3577b34da6a3ce929d0e0e4736");
    EXPECT_EQ(sp.at("spanId"), "0102030405060708");
    EXPECT_EQ(sp.at("parentSpanId"), "00f067aa0ba902b7");
    EXPECT_EQ(sp.at("kind"), 2);
    EXPECT_EQ(sp.at("startTimeUnixNano"), "1700000000000000000");
    EXPECT_EQ(sp.at("status").at("code"), 2);
    EXPECT_EQ(sp.at("attributes").at(2).at("value").at("intValue"), "503");
}

}  // namespace
}  // namespace happy::trace
