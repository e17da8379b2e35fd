#include "plugins/bus_redis/resp.hpp"

#include <gtest/gtest.h>

namespace happy::plugin::bus_redis::resp {
namespace {

std::vector<value> parse_all(std::string_view bytes, parser& p) {
    p.feed(bytes);
    std::vector<value> out;
    while (auto v = p.next()) {
        out.push_back(std::move(*v));
    }
    return out;
}

std::vector<value> parse_all(std::string_view bytes) {
    parser p;
    return parse_all(bytes, p);
}

TEST(resp, scalar_replies) {
    auto v = parse_all("+OK\r\n-ERR unknown command 'x'\r\n:-42\r\n:0\r\n$5\r\nhello\r\n$0\r\n\r\n$-1\r\n*-1\r\n");
    ASSERT_EQ(v.size(), 8u);
    EXPECT_TRUE(v[0].is_ok());
    EXPECT_TRUE(v[1].is_error());
    EXPECT_EQ(v[1].str, "ERR unknown command 'x'");
    EXPECT_EQ(v[2].k, value::kind::integer);
    EXPECT_EQ(v[2].integer, -42);
    EXPECT_EQ(v[3].integer, 0);
    EXPECT_EQ(v[4].k, value::kind::bulk);
    EXPECT_EQ(v[4].str, "hello");
    EXPECT_EQ(v[5].k, value::kind::bulk);
    EXPECT_EQ(v[5].str, "");
    EXPECT_EQ(v[6].k, value::kind::null);
    EXPECT_EQ(v[7].k, value::kind::null);
}

TEST(resp, bulk_strings_are_binary_safe) {
    std::string payload("a\r\nb\0c\r\n", 8);
    std::string wire = "$8\r\n" + payload + "\r\n";
    auto v = parse_all(wire);
    ASSERT_EQ(v.size(), 1u);
    EXPECT_EQ(v[0].str, payload);
}

TEST(resp, partial_frames_byte_by_byte) {
    const std::string wire = "*3\r\n$7\r\nmessage\r\n$9\r\nhappy:all\r\n$11\r\nhello world\r\n:7\r\n";
    parser p;
    std::vector<value> got;
    for (std::size_t i = 0; i < wire.size(); ++i) {
        p.feed(wire.substr(i, 1));
        while (auto v = p.next()) {
            got.push_back(std::move(*v));
            // The array is complete only with its last byte; the integer with its own.
            if (got.size() == 1) {
                EXPECT_EQ(i, wire.find(":7") - 1);
            }
        }
    }
    ASSERT_EQ(got.size(), 2u);
    ASSERT_TRUE(got[0].is_array());
    ASSERT_EQ(got[0].elements.size(), 3u);
    EXPECT_EQ(got[0].elements[0].str, "message");
    EXPECT_EQ(got[0].elements[1].str, "happy:all");
    EXPECT_EQ(got[0].elements[2].str, "hello world");
    EXPECT_EQ(got[1].integer, 7);
    EXPECT_EQ(p.buffered(), 0u);
}

TEST(resp, split_inside_crlf_and_header) {
    parser p;
    EXPECT_TRUE(parse_all("$3\r", p).empty());
    EXPECT_TRUE(parse_all("\nab", p).empty());
    EXPECT_TRUE(parse_all("c\r", p).empty());
    auto v = parse_all("\n+PONG\r", p);
    ASSERT_EQ(v.size(), 1u);
    EXPECT_EQ(v[0].str, "abc");
    v = parse_all("\n", p);
    ASSERT_EQ(v.size(), 1u);
    EXPECT_EQ(v[0].str, "PONG");
}

TEST(resp, nested_arrays) {
    auto v = parse_all("*2\r\n*2\r\n:1\r\n*1\r\n$1\r\nx\r\n*0\r\n");
    ASSERT_EQ(v.size(), 1u);
    ASSERT_TRUE(v[0].is_array());
    ASSERT_EQ(v[0].elements.size(), 2u);
    const auto& inner = v[0].elements[0];
    ASSERT_EQ(inner.elements.size(), 2u);
    EXPECT_EQ(inner.elements[0].integer, 1);
    EXPECT_EQ(inner.elements[1].elements.at(0).str, "x");
    EXPECT_TRUE(v[0].elements[1].is_array());
    EXPECT_TRUE(v[0].elements[1].elements.empty());
}

TEST(resp, array_with_errors_and_nulls_inside) {
    auto v = parse_all("*3\r\n-WRONGTYPE bad\r\n$-1\r\n+QUEUED\r\n");
    ASSERT_EQ(v.size(), 1u);
    EXPECT_TRUE(v[0].elements[0].is_error());
    EXPECT_EQ(v[0].elements[1].k, value::kind::null);
    EXPECT_EQ(v[0].elements[2].str, "QUEUED");
}

TEST(resp, big_bulk_string_in_chunks) {
    std::string payload(5u << 20, '\0');
    for (std::size_t i = 0; i < payload.size(); ++i) {
        payload[i] = static_cast<char>(i * 131 % 251);
    }
    std::string wire = "*3\r\n$7\r\nmessage\r\n$1\r\nc\r\n$" + std::to_string(payload.size()) + "\r\n" + payload + "\r\n";
    parser p;
    int replies = 0;
    for (std::size_t at = 0; at < wire.size(); at += 65536) {
        p.feed(std::string_view(wire).substr(at, 65536));
        while (auto v = p.next()) {
            ++replies;
            ASSERT_EQ(v->elements.size(), 3u);
            EXPECT_EQ(v->elements[2].str.size(), payload.size());
            EXPECT_TRUE(v->elements[2].str == payload);
        }
    }
    EXPECT_EQ(replies, 1);
}

TEST(resp, many_replies_in_one_read_then_compaction) {
    std::string wire;
    for (int i = 0; i < 20000; ++i) {
        wire += ":" + std::to_string(i) + "\r\n";
    }
    wire += "$4\r\nta";  // a partial one at the end
    parser p;
    auto v = parse_all(wire, p);
    ASSERT_EQ(v.size(), 20000u);
    EXPECT_EQ(v.back().integer, 19999);
    v = parse_all("il\r\n", p);
    ASSERT_EQ(v.size(), 1u);
    EXPECT_EQ(v[0].str, "tail");
}

TEST(resp, malformed_input_throws) {
    for (std::string bad : {"?x\r\n", ":12a\r\n", ":\r\n", "$abc\r\n", "$-2\r\n", "*-5\r\n", "$3\r\nabcd\r\n", "\r\n"}) {
        parser p;
        p.feed(bad);
        EXPECT_THROW(p.next(), protocol_error) << bad;
    }
}

TEST(resp, limits_are_enforced) {
    limits l;
    l.max_bulk = 10;
    l.max_depth = 2;
    l.max_elements = 3;
    {
        parser p(l);
        p.feed("$11\r\n");
        EXPECT_THROW(p.next(), protocol_error);
    }
    {
        parser p(l);
        p.feed("*1\r\n*1\r\n*1\r\n:1\r\n");
        EXPECT_THROW(p.next(), protocol_error);
    }
    {
        parser p(l);
        p.feed("*4\r\n");
        EXPECT_THROW(p.next(), protocol_error);
    }
    {
        parser p(l);
        p.feed("*1\r\n*1\r\n:1\r\n");  // depth 2 is fine
        auto v = p.next();
        ASSERT_TRUE(v);
        EXPECT_EQ(v->elements[0].elements[0].integer, 1);
    }
}

TEST(resp, command_encoding) {
    EXPECT_EQ(command({"PUBLISH", "happy:all", "hi"}), "*3\r\n$7\r\nPUBLISH\r\n$9\r\nhappy:all\r\n$2\r\nhi\r\n");
    std::string bin("\0\r\n", 3);
    EXPECT_EQ(command({"SET", bin}), std::string("*2\r\n$3\r\nSET\r\n$3\r\n\0\r\n\r\n", 22));
    EXPECT_EQ(command({"PING"}), "*1\r\n$4\r\nPING\r\n");
    // What we encode, we parse back.
    parser p;
    p.feed(command({"a", "", "ccc"}));
    auto v = p.next();
    ASSERT_TRUE(v);
    ASSERT_EQ(v->elements.size(), 3u);
    EXPECT_EQ(v->elements[1].str, "");
}

}  // namespace
}  // namespace happy::plugin::bus_redis::resp
