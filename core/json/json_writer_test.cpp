#include "core/json/json_writer.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>
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
    boost::json::value expected = {
        {"sessions",
         {{{"id", "s0"}, {"seq", -9007199254740991LL}, {"active", true}, {"agentState", nullptr},
           {"content", {{"t", "encrypted"}, {"c", "x"}}}, {"empty", boost::json::array()}},
          {{"id", "s1"}, {"seq", -9007199254740990LL}, {"active", false}, {"agentState", nullptr},
           {"content", {{"t", "encrypted"}, {"c", "x"}}}, {"empty", boost::json::array()}}}},
        {"hasMore", false}};
    EXPECT_EQ(out, boost::json::serialize(expected));
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
    auto v = boost::json::parse(R"({"b":[1,-2,1.0,0.5,2e-7,18446744073709551615,"x\u0001"],"a":{"t":true,"f":false,"n":null}})");
    EXPECT_EQ(stringify(v),
              R"({"b":[1,-2,1,0.5,2e-7,18446744073709551615,"x\u0001"],"a":{"t":true,"f":false,"n":null}})");
    // Everything that is not a double comes out as Boost.JSON writes it.
    auto w = boost::json::parse(R"({"k":["s",1,-9,{"z":[]},null,true]})");
    EXPECT_EQ(stringify(w), boost::json::serialize(w));
}

}  // namespace
}  // namespace happy::json_text
