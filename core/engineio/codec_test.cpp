#include "core/engineio/codec.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

// Expected encodings come from the Engine.IO v4 protocol document and its
// test-suite (socketio/engine.io-protocol), and from engine.io-parser 5.x
// behaviour, so a change here is a wire compatibility break.

namespace happy::engineio {
namespace {

using namespace std::string_literals;

packet text(packet_type t, std::string data = {}) { return packet{t, std::move(data), false}; }

std::string all_bytes() {
    std::string s;
    for (int i = 0; i < 256; ++i) {
        s.push_back(static_cast<char>(i));
    }
    return s;
}

// --- decode_text_packet -----------------------------------------------------------------------

TEST(EngineDecodeText, EveryPacketTypeWithoutData) {
    const std::vector<std::pair<char, packet_type>> types = {
        {'0', packet_type::open},    {'1', packet_type::close},   {'2', packet_type::ping},
        {'3', packet_type::pong},    {'4', packet_type::message}, {'5', packet_type::upgrade},
        {'6', packet_type::noop},
    };
    for (const auto& [c, t] : types) {
        const auto p = decode_text_packet(std::string(1, c));
        ASSERT_TRUE(p.has_value()) << c;
        EXPECT_EQ(p->type, t);
        EXPECT_EQ(p->data, "");
        EXPECT_FALSE(p->binary);
    }
}

TEST(EngineDecodeText, DataFollowsTheTypeChar) {
    EXPECT_EQ(decode_text_packet("4hello"), text(packet_type::message, "hello"));
    EXPECT_EQ(decode_text_packet("2probe"), text(packet_type::ping, "probe"));
    EXPECT_EQ(decode_text_packet("3probe"), text(packet_type::pong, "probe"));
    EXPECT_EQ(decode_text_packet("42[\"hey\",\"Jude\"]"), text(packet_type::message, "2[\"hey\",\"Jude\"]"));
    EXPECT_EQ(decode_text_packet("0{\"sid\":\"x\"}"), text(packet_type::open, "{\"sid\":\"x\"}"));
    // Data is opaque: UTF-8, separators of other layers and NUL bytes pass through.
    EXPECT_EQ(decode_text_packet("4\xe2\x82\xac"), text(packet_type::message, "\xe2\x82\xac"));
    EXPECT_EQ(decode_text_packet("4a\0b"s), text(packet_type::message, "a\0b"s));
    EXPECT_EQ(decode_text_packet("44"), text(packet_type::message, "4"));
}

TEST(EngineDecodeText, RejectsEmptyAndUnknownTypes) {
    EXPECT_FALSE(decode_text_packet(""));
    EXPECT_FALSE(decode_text_packet("7"));
    EXPECT_FALSE(decode_text_packet("9"));
    EXPECT_FALSE(decode_text_packet("abc"));  // the protocol test-suite's "invalid packet format"
    EXPECT_FALSE(decode_text_packet("x4hello"));
    EXPECT_FALSE(decode_text_packet(" 4"));
    EXPECT_FALSE(decode_text_packet("\x1e"));
    EXPECT_FALSE(decode_text_packet("B"));
    EXPECT_FALSE(decode_text_packet("\0"s));
}

TEST(EngineDecodeText, BPrefixIsABase64BinaryMessage) {
    const auto p = decode_text_packet("bAQIDBA==");
    ASSERT_TRUE(p);
    EXPECT_EQ(p->type, packet_type::message);
    EXPECT_TRUE(p->binary);
    EXPECT_EQ(p->data, "\x01\x02\x03\x04"s);
}

TEST(EngineDecodeText, BinaryBase64IsLenientLikeNodeBuffer) {
    // Buffer.from(s, "base64"): padding optional, URL-safe alphabet accepted,
    // junk skipped, never an error.
    EXPECT_EQ(decode_text_packet("bAQIDBA")->data, "\x01\x02\x03\x04"s);
    EXPECT_EQ(decode_text_packet("b-_8")->data, "\xfb\xff"s);
    EXPECT_EQ(decode_text_packet("bAQ ID\nBA==")->data, "\x01\x02\x03\x04"s);
    const auto empty = decode_text_packet("b");
    ASSERT_TRUE(empty);
    EXPECT_TRUE(empty->binary);
    EXPECT_EQ(empty->data, "");
}

// --- make_binary_packet / encode_text_packet --------------------------------------------------

TEST(EngineBinary, MakeBinaryPacketIsAMessage) {
    const auto p = make_binary_packet("\x01\x02\x03"s);
    EXPECT_EQ(p.type, packet_type::message);
    EXPECT_TRUE(p.binary);
    EXPECT_EQ(p.data, "\x01\x02\x03"s);
    EXPECT_EQ(make_binary_packet("").data, "");
}

TEST(EngineEncodeText, EveryPacketType) {
    EXPECT_EQ(encode_text_packet(text(packet_type::open, "{}")), "0{}");
    EXPECT_EQ(encode_text_packet(text(packet_type::close)), "1");
    EXPECT_EQ(encode_text_packet(text(packet_type::ping)), "2");
    EXPECT_EQ(encode_text_packet(text(packet_type::ping, "probe")), "2probe");
    EXPECT_EQ(encode_text_packet(text(packet_type::pong, "probe")), "3probe");
    EXPECT_EQ(encode_text_packet(text(packet_type::message, "hello")), "4hello");
    EXPECT_EQ(encode_text_packet(text(packet_type::message)), "4");
    EXPECT_EQ(encode_text_packet(text(packet_type::upgrade)), "5");
    EXPECT_EQ(encode_text_packet(text(packet_type::noop)), "6");
}

TEST(EngineEncodeText, BinaryPacketIsBPlusStandardBase64) {
    EXPECT_EQ(encode_text_packet(make_binary_packet("\x01\x02\x03\x04"s)), "bAQIDBA==");
    EXPECT_EQ(encode_text_packet(make_binary_packet("\xfb\xff\xbf"s)), "b+/+/");  // standard alphabet
    EXPECT_EQ(encode_text_packet(make_binary_packet("")), "b");
}

TEST(EngineEncodeText, RoundTripsTextAndBinary) {
    const std::vector<packet> packets = {
        text(packet_type::open, "{\"sid\":\"abc\"}"),
        text(packet_type::close),
        text(packet_type::ping, "probe"),
        text(packet_type::pong),
        text(packet_type::message, "2[\"a\",{\"b\":[1,2]}]"),
        text(packet_type::upgrade),
        text(packet_type::noop),
        make_binary_packet(all_bytes()),
        make_binary_packet("x"),
    };
    for (const auto& p : packets) {
        const auto back = decode_text_packet(encode_text_packet(p));
        ASSERT_TRUE(back);
        EXPECT_EQ(*back, p);
    }
}

// --- polling payloads -------------------------------------------------------------------------

TEST(EnginePayload, DecodesProtocolExample) {
    const auto ps = decode_payload("4hello\x1e"
                                   "2\x1e"
                                   "4world");
    ASSERT_TRUE(ps);
    ASSERT_EQ(ps->size(), 3u);
    EXPECT_EQ((*ps)[0], text(packet_type::message, "hello"));
    EXPECT_EQ((*ps)[1], text(packet_type::ping));
    EXPECT_EQ((*ps)[2], text(packet_type::message, "world"));
}

TEST(EnginePayload, DecodesSeveralMessages) {
    const auto ps = decode_payload("4test1\x1e"
                                   "4test2\x1e"
                                   "4test3");
    ASSERT_TRUE(ps);
    ASSERT_EQ(ps->size(), 3u);
    EXPECT_EQ((*ps)[0].data, "test1");
    EXPECT_EQ((*ps)[1].data, "test2");
    EXPECT_EQ((*ps)[2].data, "test3");
}

TEST(EnginePayload, DecodesMixedTextAndBinary) {
    const auto ps = decode_payload("4hello\x1e"
                                   "bAQIDBA==");
    ASSERT_TRUE(ps);
    ASSERT_EQ(ps->size(), 2u);
    EXPECT_EQ((*ps)[0], text(packet_type::message, "hello"));
    EXPECT_EQ((*ps)[1], make_binary_packet("\x01\x02\x03\x04"s));
}

TEST(EnginePayload, DecodesSinglePackets) {
    EXPECT_EQ(decode_payload("4hello"), (std::vector<packet>{text(packet_type::message, "hello")}));
    EXPECT_EQ(decode_payload("3"), (std::vector<packet>{text(packet_type::pong)}));
    EXPECT_EQ(decode_payload("1"), (std::vector<packet>{text(packet_type::close)}));
    EXPECT_EQ(decode_payload("4"), (std::vector<packet>{text(packet_type::message)}));
}

TEST(EnginePayload, DecodesSocketIoBatch) {
    // Socket.IO sample session, request 5.
    const auto ps = decode_payload("42[\"hello\"]\x1e"
                                   "42[\"world\"]");
    ASSERT_TRUE(ps);
    ASSERT_EQ(ps->size(), 2u);
    EXPECT_EQ((*ps)[0].data, "2[\"hello\"]");
    EXPECT_EQ((*ps)[1].data, "2[\"world\"]");
}

TEST(EnginePayload, KeepsMultiByteUtf8Intact) {
    // v4 dropped length prefixes precisely because of characters like this.
    const auto ps = decode_payload("4\xe2\x82\xac\x1e"
                                   "4\xf0\x9f\x98\x80");
    ASSERT_TRUE(ps);
    ASSERT_EQ(ps->size(), 2u);
    EXPECT_EQ((*ps)[0].data, "\xe2\x82\xac");
    EXPECT_EQ((*ps)[1].data, "\xf0\x9f\x98\x80");
}

TEST(EnginePayload, RejectsAnyInvalidPacket) {
    EXPECT_FALSE(decode_payload(""));
    EXPECT_FALSE(decode_payload("abc"));
    EXPECT_FALSE(decode_payload("\x1e"));
    EXPECT_FALSE(decode_payload("4a\x1e"));       // trailing separator = empty packet
    EXPECT_FALSE(decode_payload("\x1e"
                                "4a"));           // leading separator
    EXPECT_FALSE(decode_payload("4a\x1e\x1e"
                                "4b"));           // empty packet in the middle
    EXPECT_FALSE(decode_payload("4a\x1e"
                                "9"));
    EXPECT_FALSE(decode_payload("4a\x1e"
                                "x\x1e"
                                "4b"));
}

TEST(EnginePayload, EncodesWithRecordSeparator) {
    EXPECT_EQ(encode_payload({}), "");
    EXPECT_EQ(encode_payload({text(packet_type::ping)}), "2");
    EXPECT_EQ(encode_payload({text(packet_type::message, "test1"), text(packet_type::message, "test2"),
                              text(packet_type::message, "test3")}),
              "4test1\x1e"
              "4test2\x1e"
              "4test3");
    EXPECT_EQ(encode_payload({text(packet_type::message, "hello"), make_binary_packet("\x01\x02\x03\x04"s)}),
              "4hello\x1e"
              "bAQIDBA==");
    EXPECT_EQ(encode_payload({make_binary_packet(""), text(packet_type::noop)}),
              "b\x1e"
              "6");
}

TEST(EnginePayload, RoundTrips) {
    const std::vector<packet> packets = {
        text(packet_type::message, "0{\"sid\":\"abc\"}"),
        make_binary_packet(all_bytes()),
        text(packet_type::ping),
        text(packet_type::message, "\xe2\x82\xac"),
        make_binary_packet(""),
        text(packet_type::noop),
        text(packet_type::message),
    };
    const std::string body = encode_payload(packets);
    const auto back = decode_payload(body);
    ASSERT_TRUE(back);
    EXPECT_EQ(*back, packets);
    EXPECT_EQ(encode_payload(*back), body);
}

TEST(EnginePayload, ManyPackets) {
    std::vector<packet> packets;
    for (int i = 0; i < 1000; ++i) {
        packets.push_back(text(packet_type::message, "2[\"e\"," + std::to_string(i) + "]"));
    }
    const auto back = decode_payload(encode_payload(packets));
    ASSERT_TRUE(back);
    EXPECT_EQ(*back, packets);
}

// --- open packet ------------------------------------------------------------------------------

TEST(EngineOpenPacket, ProtocolExampleIsByteExact) {
    EXPECT_EQ(open_packet("lv_VI97HAXpY6yYWAAAC", true, 25000, 5000, 1000000),
              "0{\"sid\":\"lv_VI97HAXpY6yYWAAAC\",\"upgrades\":[\"websocket\"],\"pingInterval\":25000,"
              "\"pingTimeout\":5000,\"maxPayload\":1000000}");
}

TEST(EngineOpenPacket, HappyWebSocketHandshakeHasNoUpgrades) {
    EXPECT_EQ(open_packet("k3Jd8fK2mQ9xR1tY7uWz", false, 15000, 45000, 1000000),
              "0{\"sid\":\"k3Jd8fK2mQ9xR1tY7uWz\",\"upgrades\":[],\"pingInterval\":15000,"
              "\"pingTimeout\":45000,\"maxPayload\":1000000}");
}

TEST(EngineOpenPacket, IsValidJsonWithTheExpectedKeys) {
    const std::string open = open_packet(make_sid(), true, 300, 200, 1000000);
    ASSERT_EQ(open.front(), '0');
    const boost::json::value v = boost::json::parse(std::string_view(open).substr(1));
    const auto& o = v.as_object();
    EXPECT_EQ(o.size(), 5u);
    EXPECT_EQ(o.at("sid").as_string().size(), 20u);
    EXPECT_EQ(o.at("upgrades").as_array().size(), 1u);
    EXPECT_EQ(o.at("upgrades").as_array()[0].as_string(), "websocket");
    EXPECT_EQ(o.at("pingInterval").as_int64(), 300);
    EXPECT_EQ(o.at("pingTimeout").as_int64(), 200);
    EXPECT_EQ(o.at("maxPayload").as_int64(), 1000000);
}

TEST(EngineOpenPacket, EscapesTheSid) {
    // Never happens with make_sid(); the output must still be valid JSON.
    const std::string open = open_packet("a\"b\\c\n\x01", false, 1, 2, 3);
    EXPECT_EQ(open, "0{\"sid\":\"a\\\"b\\\\c\\n\\u0001\",\"upgrades\":[],\"pingInterval\":1,\"pingTimeout\":2,"
                    "\"maxPayload\":3}");
    const boost::json::value v = boost::json::parse(std::string_view(open).substr(1));
    EXPECT_EQ(v.at("sid").as_string(), "a\"b\\c\n\x01");
}

TEST(EngineOpenPacket, LargeMaxPayload) {
    EXPECT_EQ(open_packet("s", false, 0, 0, 100000000000ull),
              "0{\"sid\":\"s\",\"upgrades\":[],\"pingInterval\":0,\"pingTimeout\":0,\"maxPayload\":100000000000}");
}

// --- ids --------------------------------------------------------------------------------------

TEST(EngineSid, TwentyUrlSafeBase64Chars) {
    for (int i = 0; i < 200; ++i) {
        const std::string sid = make_sid();
        ASSERT_EQ(sid.size(), 20u);
        for (const char c : sid) {
            const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
                            c == '_';
            EXPECT_TRUE(ok) << sid;
        }
    }
}

TEST(EngineSid, Unique) {
    std::set<std::string> seen;
    for (int i = 0; i < 10000; ++i) {
        EXPECT_TRUE(seen.insert(make_sid()).second);
    }
}

}  // namespace
}  // namespace happy::engineio
