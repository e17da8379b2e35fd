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
