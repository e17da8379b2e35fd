// Unit tests for happy::http::router and parse_query: find-my-way's and fast-querystring's observable rules
// (shared/spec/http-api.md §2.1).

#include "core/http/router.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include <string>
#include <string_view>

namespace happy::http {
namespace {

namespace json = boost::json;

route make_route(verb method, std::string path) {
    route r;
    r.method = method;
    r.path = std::move(path);
    return r;
}

class router_test : public ::testing::Test {
protected:
    void SetUp() override {
        for (const char* p : {"/v1/user/search", "/v1/user/:id", "/v1/connect/github", "/v1/connect/:vendor",
                              "/v1/sessions", "/v1/sessions/:sessionId/messages",
                              "/v1/sessions/:sessionId/attachments/:attachmentFile", "/files/*", "/"}) {
            r.add(make_route(verb::get, p));
        }
        r.add(make_route(verb::post, "/v1/sessions"));
        r.add(make_route(verb::del, "/v1/sessions/:sessionId"));
    }

    /// The matched route's path, or "" for no match.
    std::string route_of(verb m, std::string_view path) const {
        auto found = r.find(m, path);
        return found.r ? found.r->path : std::string();
    }

    std::string param(verb m, std::string_view path, std::string_view name) const {
        auto found = r.find(m, path);
        EXPECT_NE(found.r, nullptr) << path;
        for (const auto& [k, v] : found.params) {
            if (k == name) {
                return v;
            }
        }
        ADD_FAILURE() << "no param " << name << " for " << path;
        return {};
    }

    router r;
};

TEST_F(router_test, static_segment_beats_param) {
    EXPECT_EQ(route_of(verb::get, "/v1/user/search"), "/v1/user/search");
    EXPECT_EQ(route_of(verb::get, "/v1/user/searcher"), "/v1/user/:id");
    EXPECT_EQ(route_of(verb::get, "/v1/connect/github"), "/v1/connect/github");
    EXPECT_EQ(route_of(verb::get, "/v1/connect/openai"), "/v1/connect/:vendor");
    EXPECT_EQ(param(verb::get, "/v1/connect/openai", "vendor"), "openai");
    EXPECT_TRUE(r.find(verb::get, "/v1/connect/github").params.empty());
}

// Found by tests/fuzz/http_fuzz.cpp: the target "?v1/" has an empty path, which split the path out of range.
TEST_F(router_test, path_without_leading_slash_matches_nothing) {
    EXPECT_EQ(route_of(verb::get, ""), "");
    EXPECT_EQ(route_of(verb::post, "v1/sessions"), "");
    EXPECT_EQ(route_of(verb::post, "/v1/sessions"), "/v1/sessions");
}

TEST_F(router_test, static_wins_regardless_of_registration_order) {
    router late;
    late.add(make_route(verb::get, "/v1/user/:id"));
    late.add(make_route(verb::get, "/v1/user/search"));
    auto found = late.find(verb::get, "/v1/user/search");
    ASSERT_NE(found.r, nullptr);
    EXPECT_EQ(found.r->path, "/v1/user/search");
}

TEST_F(router_test, params_are_percent_decoded) {
    EXPECT_EQ(param(verb::get, "/v1/user/a%2Fb", "id"), "a/b");
    EXPECT_EQ(param(verb::get, "/v1/user/%5Bx%5D", "id"), "[x]");
    EXPECT_EQ(param(verb::get, "/v1/user/caf%C3%A9", "id"), "caf\xC3\xA9");
    EXPECT_EQ(param(verb::get, "/v1/user/a+b%20c", "id"), "a+b c");  // '+' is not a space in a path
    EXPECT_EQ(param(verb::get, "/v1/user/%252F", "id"), "%2F");      // decoded once only
    EXPECT_FALSE(r.find(verb::get, "/v1/user/a%2Fb").bad_url);
}

TEST_F(router_test, param_length_limit_is_100) {
    std::string p100(100, 'a');
    std::string p101(101, 'a');
    EXPECT_EQ(route_of(verb::get, "/v1/user/" + p100), "/v1/user/:id");
    EXPECT_EQ(param(verb::get, "/v1/user/" + p100, "id"), p100);
    EXPECT_EQ(route_of(verb::get, "/v1/user/" + p101), "");
    EXPECT_EQ(route_of(verb::get, "/v1/sessions/" + p101 + "/messages"), "");
}

TEST_F(router_test, param_length_is_measured_after_decoding) {
    // 100 "%41" escapes are 300 bytes on the wire but 100 characters decoded.
    std::string encoded;
    for (int i = 0; i < 100; ++i) {
        encoded += "%41";
    }
    EXPECT_EQ(param(verb::get, "/v1/user/" + encoded, "id"), std::string(100, 'A'));
    EXPECT_EQ(route_of(verb::get, "/v1/user/" + encoded + "%41"), "");
}

TEST_F(router_test, param_length_counts_utf16_units) {
    // 100 x U+00E9 is 200 UTF-8 bytes but 100 JavaScript characters: it matches.
    std::string e100;
    for (int i = 0; i < 100; ++i) {
        e100 += "%C3%A9";
    }
    EXPECT_EQ(route_of(verb::get, "/v1/user/" + e100), "/v1/user/:id");
    // 50 x U+1F600 is 100 UTF-16 units (matches); 51 is 102 (does not).
    std::string smile50;
    for (int i = 0; i < 50; ++i) {
        smile50 += "%F0%9F%98%80";
    }
    EXPECT_EQ(route_of(verb::get, "/v1/user/" + smile50), "/v1/user/:id");
    EXPECT_EQ(route_of(verb::get, "/v1/user/" + smile50 + "%F0%9F%98%80"), "");
}

TEST_F(router_test, wildcard_is_not_length_limited) {
    std::string long_name(500, 'z');
    EXPECT_EQ(param(verb::get, "/files/" + long_name, "*"), long_name);
}

TEST_F(router_test, trailing_slash_does_not_match) {
    EXPECT_EQ(route_of(verb::get, "/v1/sessions"), "/v1/sessions");
    EXPECT_EQ(route_of(verb::get, "/v1/sessions/"), "");
    EXPECT_EQ(route_of(verb::get, "/v1/user/search/"), "");
    EXPECT_EQ(route_of(verb::get, "/v1/sessions/abc/messages/"), "");
}

TEST_F(router_test, empty_segment_is_an_empty_param) {
    EXPECT_EQ(route_of(verb::get, "/v1/sessions//messages"), "/v1/sessions/:sessionId/messages");
    EXPECT_EQ(param(verb::get, "/v1/sessions//messages", "sessionId"), "");
    // A trailing empty segment is an empty param too (the ":id" route, not "/v1/user/search").
    EXPECT_EQ(route_of(verb::get, "/v1/user/"), "/v1/user/:id");
    EXPECT_EQ(param(verb::get, "/v1/user/", "id"), "");
}

TEST_F(router_test, multiple_params_in_order) {
    auto found = r.find(verb::get, "/v1/sessions/s1/attachments/f%2E");
    ASSERT_NE(found.r, nullptr);
    ASSERT_EQ(found.params.size(), 2u);
    EXPECT_EQ(found.params[0], (std::pair<std::string, std::string>{"sessionId", "s1"}));
    EXPECT_EQ(found.params[1], (std::pair<std::string, std::string>{"attachmentFile", "f."}));
}

TEST_F(router_test, head_uses_get_routes) {
    EXPECT_EQ(route_of(verb::head, "/v1/sessions"), "/v1/sessions");
    EXPECT_EQ(r.find(verb::head, "/v1/sessions").r->method, verb::get);
    EXPECT_EQ(route_of(verb::head, "/v1/sessions/x"), "");  // only a DELETE route has that shape
}

TEST_F(router_test, method_mismatch_is_no_match) {
    EXPECT_EQ(route_of(verb::put, "/v1/sessions"), "");
    EXPECT_EQ(route_of(verb::get, "/v1/sessions/x"), "");
    EXPECT_EQ(route_of(verb::del, "/v1/sessions/x"), "/v1/sessions/:sessionId");
    EXPECT_EQ(route_of(verb::post, "/v1/sessions"), "/v1/sessions");
    EXPECT_EQ(r.find(verb::post, "/v1/sessions").r->method, verb::post);
    EXPECT_EQ(route_of(verb::options, "/v1/sessions"), "");
}

TEST_F(router_test, wildcard_captures_the_rest) {
    EXPECT_EQ(param(verb::get, "/files/a/b/c.png", "*"), "a/b/c.png");
    EXPECT_EQ(param(verb::get, "/files/dir%20x/%2F", "*"), "dir x//");
    EXPECT_EQ(param(verb::get, "/files/", "*"), "");
    // "/files" never reaches the "/files/" prefix of the wildcard route.
    EXPECT_EQ(route_of(verb::get, "/files"), "");
}

TEST_F(router_test, root_and_unknown_paths) {
    EXPECT_EQ(route_of(verb::get, "/"), "/");
    EXPECT_EQ(route_of(verb::get, "/nope"), "");
    EXPECT_EQ(route_of(verb::get, "/v1"), "");
    EXPECT_EQ(route_of(verb::get, "/v1/user/a/b"), "");
}

TEST_F(router_test, malformed_escape_sets_bad_url) {
    auto bad = r.find(verb::get, "/v1/user/%zz");
    ASSERT_NE(bad.r, nullptr);
    EXPECT_TRUE(bad.bad_url);
    EXPECT_TRUE(r.find(verb::get, "/v1/user/abc%").bad_url);
    EXPECT_TRUE(r.find(verb::get, "/v1/user/abc%4").bad_url);
    EXPECT_TRUE(r.find(verb::get, "/v1/user/%C3").bad_url);           // truncated UTF-8
    EXPECT_TRUE(r.find(verb::get, "/v1/user/%C0%AF").bad_url);        // overlong '/'
    EXPECT_TRUE(r.find(verb::get, "/v1/user/%ED%A0%80").bad_url);     // UTF-16 surrogate
    EXPECT_TRUE(r.find(verb::get, "/v1/user/%F4%90%80%80").bad_url);  // above U+10FFFF
    EXPECT_TRUE(r.find(verb::get, "/files/a%zz").bad_url);
    EXPECT_FALSE(r.find(verb::get, "/v1/user/%F4%8F%BF%BF").bad_url);  // U+10FFFF itself
    EXPECT_FALSE(r.find(verb::get, "/v1/user/abc").bad_url);
}

TEST(http_percent_decode, decode_uri_component_semantics) {
    EXPECT_EQ(percent_decode("abc"), "abc");
    EXPECT_EQ(percent_decode("a%2Fb%2f"), "a/b/");
    EXPECT_EQ(percent_decode("%E2%82%AC"), "\xE2\x82\xAC");
    EXPECT_EQ(percent_decode("a+b"), "a+b");
    EXPECT_EQ(percent_decode("%"), std::nullopt);
    EXPECT_EQ(percent_decode("%G0"), std::nullopt);
    EXPECT_EQ(percent_decode("%FF"), std::nullopt);
    EXPECT_EQ(percent_decode("%E2%82"), std::nullopt);
}

// --- parse_query --------------------------------------------------------------------------------------

std::string q(std::string_view qs) {
    return json::serialize(parse_query(qs));
}

TEST(http_parse_query, plus_and_percent_twenty_are_spaces) {
    EXPECT_EQ(q("a=b+c&d=e%20f"), R"({"a":"b c","d":"e f"})");
    EXPECT_EQ(q("a+b=1"), R"({"a b":"1"})");
    EXPECT_EQ(q("a=%2B"), R"({"a":"+"})");  // an encoded plus stays a plus
}

TEST(http_parse_query, repeated_keys_become_arrays) {
    EXPECT_EQ(q("a=1&a=2&b=3&a=4"), R"({"a":["1","2","4"],"b":"3"})");
}

TEST(http_parse_query, key_without_equals_is_empty_string) {
    EXPECT_EQ(q("flag&x=1"), R"({"flag":"","x":"1"})");
    EXPECT_EQ(q("a="), R"({"a":""})");
    EXPECT_EQ(q("=v"), R"({"":"v"})");
}

TEST(http_parse_query, empty_parts_ignored) {
    EXPECT_EQ(q(""), "{}");
    EXPECT_EQ(q("&&a=1&&"), R"({"a":"1"})");
    EXPECT_EQ(q("&"), "{}");
}

TEST(http_parse_query, value_may_contain_equals) {
    EXPECT_EQ(q("a=b=c"), R"({"a":"b=c"})");
    EXPECT_EQ(q("cursor=abc%3D%3D"), R"({"cursor":"abc=="})");
}

TEST(http_parse_query, malformed_escape_left_as_is) {
    EXPECT_EQ(q("a=%zz"), R"({"a":"%zz"})");
    EXPECT_EQ(q("a=100%"), R"({"a":"100%"})");
    EXPECT_EQ(q("%zz=1"), R"({"%zz":"1"})");
    // fast-querystring keeps the whole component undecoded when decoding fails, but '+' is still a space.
    EXPECT_EQ(q("a=%zz%20b+c"), R"({"a":"%zz%20b c"})");
    // Invalid UTF-8 cannot be decoded either.
    EXPECT_EQ(q("a=%FF"), R"({"a":"%FF"})");
}

TEST(http_parse_query, utf8_values_decoded) {
    EXPECT_EQ(parse_query("name=caf%C3%A9").at("name").as_string(), "caf\xC3\xA9");
}

// Ranking is decided per segment from the left (literal > param > wildcard); a candidate whose parameter is too
// long drops out and the next best route that matches wins, without its rejected parameters or bad_url.
TEST(router_ranking, per_segment_from_the_left_and_fallback_past_rejected_params) {
    router r;
    for (const char* p : {"/a/*", "/a/:x/b", "/a/lit/*", "/a/:x/:y"}) {
        r.add(make_route(verb::get, p));
    }
    auto path_of = [&](std::string_view p) {
        auto m = r.find(verb::get, p);
        return m.r ? m.r->path : std::string();
    };
    EXPECT_EQ(path_of("/a/lit/b"), "/a/lit/*");   // literal in segment 2 beats a param there, whatever follows
    EXPECT_EQ(path_of("/a/other/b"), "/a/:x/b");  // param then literal beats param then param
    EXPECT_EQ(path_of("/a/other/c"), "/a/:x/:y");
    EXPECT_EQ(path_of("/a/other/c/d"), "/a/*");
    std::string long_param(101, 'z');
    auto m = r.find(verb::get, "/a/%zz" + long_param + "/b");
    ASSERT_NE(m.r, nullptr);
    EXPECT_EQ(m.r->path, "/a/*");  // both param routes reject the 104-character segment
    ASSERT_EQ(m.params.size(), 1u);
    EXPECT_EQ(m.params[0].first, "*");
    EXPECT_TRUE(m.bad_url);  // from the wildcard's own decoding of "%zz…"
    auto ok = r.find(verb::get, "/a/" + long_param + "/b");
    ASSERT_NE(ok.r, nullptr);
    EXPECT_EQ(ok.r->path, "/a/*");
    EXPECT_FALSE(ok.bad_url);
    EXPECT_EQ(ok.params.size(), 1u);
}

TEST(router_ranking, refuses_routes_longer_than_the_packed_score) {
    router r;
    std::string p;
    for (std::size_t i = 0; i < router::max_segments + 1; ++i) {
        p += "/s";
    }
    EXPECT_THROW(r.add(make_route(verb::get, p)), std::invalid_argument);
}

}  // namespace
}  // namespace happy::http
