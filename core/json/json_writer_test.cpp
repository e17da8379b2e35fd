#include "core/json/json_writer.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <boost/json.hpp>
#include <cstdint>
#include <random>

namespace happy::json_text {
namespace {

TEST(json_writer, strings_match_boost_json_serialize_for_every_byte) {
    std::string all;
    for (int c = 0; c < 256; ++c) {
        all += static_cast<char>(c);
    }
    std::string out;
    append_string(out, all);
    EXPECT_EQ(out, boost::json::serialize(boost::json::string(all)));
}

TEST(json_writer, random_strings_match_boost_json_serialize) {
    std::mt19937 rng(7);
    for (int i = 0; i < 2000; ++i) {
        std::string s(rng() % 40, '\0');
        for (auto& c : s) {
            // Mostly control characters, quotes and backslashes, some ASCII and UTF-8 bytes.
            static constexpr char pool[] = "\x01\x1f\"\\\n\r\t\b\f/aZ09\xc3\xa9 ";
            c = pool[rng() % (sizeof pool - 1)];
        }
        std::string out;
        append_string(out, s);
        ASSERT_EQ(out, boost::json::serialize(boost::json::string(s))) << i;
    }
}

// One character that needs escaping (or a high byte that does not) at every position of a long clean string:
// the block scan must stop at or before it, whatever block it falls in and wherever the string ends.
TEST(json_writer, one_special_character_at_every_position_of_a_long_string) {
    for (char special : {'"', '\\', '\n', '\x01', '\x1f', '\x7f', '\x80', '\xff', ' '}) {
        for (std::size_t len = 1; len < 100; len += 7) {
            for (std::size_t at = 0; at < len; ++at) {
                std::string s(len, 'Q');
                s[at] = special;
                std::string out;
                append_string(out, s);
                ASSERT_EQ(out, boost::json::serialize(boost::json::string(s)))
                    << int(special) << " " << len << " " << at;
            }
        }
    }
}

TEST(json_writer, nested_document_matches_the_value_tree) {
    std::string out;
    writer w(out);
    w.begin_object();
    w.key("sessions");
    w.begin_array();
    for (int i = 0; i < 2; ++i) {
        w.begin_object();
        w.key("id");
        w.string("s" + std::to_string(i));
        w.key("seq");
        w.integer(-9007199254740991LL + i);
        w.key("active");
        w.boolean(i == 0);
        w.key("agentState");
        w.null();
        w.key("content");
        w.raw(R"({"t":"encrypted","c":"x"})");
        w.key("empty");
        w.begin_array();
        w.end_array();
        w.end_object();
    }
    w.end_array();
    w.key("hasMore");
    w.boolean(false);
    w.end_object();
    boost::json::value expected = {{"sessions",
                                    {{{"id", "s0"},
                                      {"seq", -9007199254740991LL},
                                      {"active", true},
                                      {"agentState", nullptr},
                                      {"content", {{"t", "encrypted"}, {"c", "x"}}},
                                      {"empty", boost::json::array()}},
                                     {{"id", "s1"},
                                      {"seq", -9007199254740990LL},
                                      {"active", false},
                                      {"agentState", nullptr},
                                      {"content", {{"t", "encrypted"}, {"c", "x"}}},
                                      {"empty", boost::json::array()}}}},
                                   {"hasMore", false}};
    w.finish();
    EXPECT_EQ(out, boost::json::serialize(expected));
}

// The writer sizes its string ahead of the text; across many growths, after a prefix already in the string and
// with escapes, safe strings and extreme integers, the finished text is exactly the value tree's serialization.
TEST(json_writer, large_document_after_a_prefix_matches_the_value_tree) {
    std::mt19937 rng(11);
    std::string out = "prefix:";
    boost::json::array expected;
    {
        writer w(out);
        w.begin_array();
        for (int i = 0; i < 3000; ++i) {
            std::string s(rng() % 300, '\0');
            for (auto& c : s) {
                static constexpr char pool[] = "ABCxyz019+/=\x01\"\\\n\xc3\xa9";
                c = pool[rng() % (sizeof pool - 1)];
            }
            std::string safe(rng() % 90, 'Q');
            std::int64_t n = i % 3 == 0 ? INT64_MIN : i % 3 == 1 ? INT64_MAX : -static_cast<std::int64_t>(rng());
            w.begin_object();
            w.member("s", std::string_view(s));
            w.member("n", n);
            w.key("safe");
            w.safe_string(safe.size() + 5, [&](char* p) { return std::copy(safe.begin(), safe.end(), p); });
            w.key(s);  // keys are escaped like values
            w.null();
            w.end_object();
            expected.push_back(boost::json::object{{"s", s}, {"n", n}, {"safe", safe}, {s, nullptr}});
        }
        w.end_array();
    }  // the destructor finishes
    EXPECT_EQ(out, "prefix:" + boost::json::serialize(expected));
    writer more(out);  // continues after finished text
    more.raw("!");
    more.finish();
    more.finish();  // idempotent
    EXPECT_EQ(out.back(), '!');
    EXPECT_EQ(out.size(), 7 + boost::json::serialize(expected).size() + 1);
}

}  // namespace
}  // namespace happy::json_text

namespace happy::json_text {
namespace {

std::string num(double v) {
    std::string out;
    append_number(out, v);
    return out;
}

TEST(json_writer, numbers_are_written_as_javascript_writes_them) {
    // Expected strings are what Node 20 prints for String(x) / JSON.stringify(x).
    EXPECT_EQ(num(0.75), "0.75");
    EXPECT_EQ(num(1.0), "1");
    EXPECT_EQ(num(-0.0), "0");
    EXPECT_EQ(num(100.0), "100");
    EXPECT_EQ(num(123.456), "123.456");
    EXPECT_EQ(num(0.1 + 0.2), "0.30000000000000004");
    EXPECT_EQ(num(1e21), "1e+21");
    EXPECT_EQ(num(1e20), "100000000000000000000");
    EXPECT_EQ(num(123456789012345680000.0), "123456789012345680000");
    EXPECT_EQ(num(1.5e-7), "1.5e-7");
    EXPECT_EQ(num(1e-7), "1e-7");
    EXPECT_EQ(num(0.000001), "0.000001");
    EXPECT_EQ(num(0.0000015), "0.0000015");
    EXPECT_EQ(num(-2.5e-10), "-2.5e-10");
    EXPECT_EQ(num(1.7976931348623157e308), "1.7976931348623157e+308");
    EXPECT_EQ(num(5e-324), "5e-324");
    EXPECT_EQ(num(9007199254740993.0), "9007199254740992");
    EXPECT_EQ(num(-1234.5), "-1234.5");
    EXPECT_EQ(num(std::nan("")), "null");
}

TEST(json_writer, values_serialize_like_json_stringify) {
    auto v = boost::json::parse(
        R"({"b":[1,-2,1.0,0.5,2e-7,18446744073709551615,"x\u0001"],"a":{"t":true,"f":false,"n":null}})");
    EXPECT_EQ(stringify(v),
              R"({"b":[1,-2,1,0.5,2e-7,18446744073709551615,"x\u0001"],"a":{"t":true,"f":false,"n":null}})");
    // Everything that is not a double comes out as Boost.JSON writes it.
    auto w = boost::json::parse(R"({"k":["s",1,-9,{"z":[]},null,true]})");
    EXPECT_EQ(stringify(w), boost::json::serialize(w));
}

}  // namespace
}  // namespace happy::json_text
