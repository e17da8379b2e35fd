#include "core/socketio/codec.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <gtest/gtest.h>

#include <limits>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

// Expected encodings come from the Socket.IO v5 protocol document, its
// test-suite (socketio/socket.io-protocol) and socket.io-parser 4.2.5's own
// tests, so a change here is a wire compatibility break.

namespace happy::socketio {
namespace {

namespace json = boost::json;
using namespace std::string_literals;

constexpr const char* k_ph0 = R"({"_placeholder":true,"num":0})";
constexpr const char* k_ph1 = R"({"_placeholder":true,"num":1})";

json::value js(std::string_view text) { return json::parse(text); }

packet ok(std::string_view text) {
    auto r = decode(text);
    if (auto* e = std::get_if<decode_error>(&r)) {
        ADD_FAILURE() << "decode(" << text << ") failed: " << e->reason;
        return packet{.type = packet_type::connect};
    }
    return std::get<packet>(std::move(r));
}

// The decode_error reason, or "" when decoding succeeded.
std::string err(std::string_view text) {
    auto r = decode(text);
    if (auto* e = std::get_if<decode_error>(&r)) {
        return e->reason.empty() ? "<empty reason>" : e->reason;
    }
    return "";
}

packet make(packet_type t, std::string nsp = "/", std::optional<std::uint64_t> id = std::nullopt,
            std::optional<std::string_view> data = std::nullopt, std::size_t attachments = 0) {
    packet p{.type = t};
    p.nsp = std::move(nsp);
    p.id = id;
    if (data) {
        p.data = js(*data);
    }
    p.attachments = attachments;
    return p;
}

// --- decode: every packet type ------------------------------------------------------------------

TEST(SioDecode, Connect) {
    EXPECT_EQ(ok("0"), make(packet_type::connect));
    EXPECT_EQ(ok(R"(0{"token":"123"})"), make(packet_type::connect, "/", {}, R"({"token":"123"})"));
    EXPECT_EQ(ok("0/admin,"), make(packet_type::connect, "/admin"));
    EXPECT_EQ(ok(R"(0/admin,{"sid":"oSO0OpakMV_3jnilAAAA"})"),
              make(packet_type::connect, "/admin", {}, R"({"sid":"oSO0OpakMV_3jnilAAAA"})"));
    EXPECT_EQ(ok(R"(0/custom,{"token":"abc"})"), make(packet_type::connect, "/custom", {}, R"({"token":"abc"})"));
    EXPECT_EQ(ok("0{}"), make(packet_type::connect, "/", {}, "{}"));
}

TEST(SioDecode, HappyClientConnect) {
    const packet p =
        ok(R"(0{"token":"t.k.n","clientType":"user-scoped","happyClient":"ios/1.7.0","appState":"active"})");
    EXPECT_EQ(p.type, packet_type::connect);
    EXPECT_EQ(p.nsp, "/");
    ASSERT_TRUE(p.data);
    EXPECT_EQ(p.data->at("clientType").as_string(), "user-scoped");
}

TEST(SioDecode, NamespaceWithoutCommaRunsToTheEnd) {
    // The protocol test-suite sends "40/random" and "41/custom" this way.
    EXPECT_EQ(ok("0/random"), make(packet_type::connect, "/random"));
    EXPECT_EQ(ok("1/custom"), make(packet_type::disconnect, "/custom"));
    EXPECT_EQ(ok("0/"), make(packet_type::connect, "/"));
    EXPECT_EQ(ok("0/,"), make(packet_type::connect, "/"));
}

TEST(SioDecode, AckIdIsSyntaxNotSemantics) {
    // socket.io-parser reads an id on any type; what it means is up to the caller.
    EXPECT_EQ(ok("01"), make(packet_type::connect, "/", 1));
    EXPECT_EQ(ok("1/admin,5"), make(packet_type::disconnect, "/admin", 5));
    EXPECT_EQ(ok(R"(09{"a":1})"), make(packet_type::connect, "/", 9, R"({"a":1})"));
}

TEST(SioDecode, Disconnect) {
    EXPECT_EQ(ok("1"), make(packet_type::disconnect));
    EXPECT_EQ(ok("1/admin,"), make(packet_type::disconnect, "/admin"));
}

TEST(SioDecode, Event) {
    EXPECT_EQ(ok(R"(2["foo"])"), make(packet_type::event, "/", {}, R"(["foo"])"));
    EXPECT_EQ(ok(R"(2/admin,["bar"])"), make(packet_type::event, "/admin", {}, R"(["bar"])"));
    EXPECT_EQ(ok(R"(2["message",1,"2",{"3":[true]}])"),
              make(packet_type::event, "/", {}, R"(["message",1,"2",{"3":[true]}])"));
    EXPECT_EQ(ok(R"(2["hey","Jude"])"), make(packet_type::event, "/", {}, R"(["hey","Jude"])"));
}

TEST(SioDecode, EventWithAckId) {
    EXPECT_EQ(ok(R"(212["foo"])"), make(packet_type::event, "/", 12, R"(["foo"])"));
    EXPECT_EQ(ok(R"(2/admin,13["foo"])"), make(packet_type::event, "/admin", 13, R"(["foo"])"));
    EXPECT_EQ(ok(R"(2456["message-with-ack",1,"2",{"3":[false]}])"),
              make(packet_type::event, "/", 456, R"(["message-with-ack",1,"2",{"3":[false]}])"));
    EXPECT_EQ(ok(R"(2/admin,1["tellme"])"), make(packet_type::event, "/admin", 1, R"(["tellme"])"));
    EXPECT_EQ(ok(R"(20["a"])"), make(packet_type::event, "/", 0, R"(["a"])"));
    EXPECT_EQ(ok(R"(2007["a"])"), make(packet_type::event, "/", 7, R"(["a"])"));  // Number("007") === 7
}

TEST(SioDecode, HappyRpcCallAndRpcRequestAck) {
    const packet call = ok(R"(212["rpc-call",{"method":"m:spawn-happy-session","params":"AAE="}])");
    EXPECT_EQ(call.id, 12u);
    EXPECT_EQ(call.data->as_array()[0].as_string(), "rpc-call");
    EXPECT_EQ(ok(R"(37["b64"])"), make(packet_type::ack, "/", 7, R"(["b64"])"));
}

TEST(SioDecode, EventNameMayBeANumber) {
    EXPECT_EQ(ok("2[1]"), make(packet_type::event, "/", {}, "[1]"));
    EXPECT_EQ(ok(R"(2[1,"a",{}])"), make(packet_type::event, "/", {}, R"([1,"a",{}])"));
    EXPECT_EQ(ok("2[-1.5]"), make(packet_type::event, "/", {}, "[-1.5]"));
}

TEST(SioDecode, Ack) {
    EXPECT_EQ(ok(R"(312["bar"])"), make(packet_type::ack, "/", 12, R"(["bar"])"));
    EXPECT_EQ(ok("312[]"), make(packet_type::ack, "/", 12, "[]"));
    EXPECT_EQ(ok(R"(3/admin,13["bar"])"), make(packet_type::ack, "/admin", 13, R"(["bar"])"));
    EXPECT_EQ(ok(R"(3456[1,"2",{"3":[false]}])"), make(packet_type::ack, "/", 456, R"([1,"2",{"3":[false]}])"));
    // An ACK's array may start with anything, reserved names included.
    EXPECT_EQ(ok(R"(31["connect",null])"), make(packet_type::ack, "/", 1, R"(["connect",null])"));
    EXPECT_EQ(ok("31[null]"), make(packet_type::ack, "/", 1, "[null]"));
}

TEST(SioDecode, ConnectError) {
    EXPECT_EQ(ok(R"(4{"message":"Not authorized"})"),
              make(packet_type::connect_error, "/", {}, R"({"message":"Not authorized"})"));
    EXPECT_EQ(ok(R"(4"Unauthorized")"), make(packet_type::connect_error, "/", {}, R"("Unauthorized")"));
    EXPECT_EQ(ok(R"(4/random,{"message":"Invalid namespace"})"),
              make(packet_type::connect_error, "/random", {}, R"({"message":"Invalid namespace"})"));
}

TEST(SioDecode, BinaryEvent) {
    const std::string one = R"(51-["baz",)"s + k_ph0 + "]";
    EXPECT_EQ(ok(one), make(packet_type::binary_event, "/", {}, one.substr(3), 1));

    const std::string two = R"(52-/admin,["baz",)"s + k_ph0 + "," + k_ph1 + "]";
    EXPECT_EQ(ok(two), make(packet_type::binary_event, "/admin", {}, two.substr(10), 2));

    const std::string with_ack = R"(52-789["message-with-ack",)"s + k_ph0 + "," + k_ph1 + "]";
    EXPECT_EQ(ok(with_ack), make(packet_type::binary_event, "/", 789, with_ack.substr(6), 2));
}

TEST(SioDecode, BinaryAck) {
    const std::string a = R"(61-15["bar",)"s + k_ph0 + "]";
    EXPECT_EQ(ok(a), make(packet_type::binary_ack, "/", 15, a.substr(5), 1));

    const std::string b = "61-/nsp,12["s + k_ph0 + "]";
    EXPECT_EQ(ok(b), make(packet_type::binary_ack, "/nsp", 12, b.substr(10), 1));

    const std::string c = "62-789["s + k_ph0 + "," + k_ph1 + "]";
    EXPECT_EQ(ok(c), make(packet_type::binary_ack, "/", 789, c.substr(6), 2));

    const std::string d = "61-/admin,1["s + k_ph0 + "]";  // protocol sample session
    EXPECT_EQ(ok(d), make(packet_type::binary_ack, "/admin", 1, d.substr(11), 1));
}

TEST(SioDecode, BinaryPlaceholdersMayBeNested) {
    const std::string s = R"(52-["up",{"file":)"s + k_ph1 + R"(,"list":[1,[)" + k_ph0 + "]]}]";
    const packet p = ok(s);
    EXPECT_EQ(p.attachments, 2u);
}

TEST(SioDecode, BinaryWithZeroAttachmentsIsComplete) {
    // socket.io-parser 4.2.5 emits such a packet at once and leaves the data alone.
    EXPECT_EQ(ok(R"(50-["a"])"), make(packet_type::binary_event, "/", {}, R"(["a"])", 0));
    const std::string s = R"(50-["a",)"s + k_ph0 + "]";
    EXPECT_EQ(ok(s).attachments, 0u);
}

TEST(SioDecode, JsonWhitespaceAroundThePayload) {
    EXPECT_EQ(ok("2[\"a\"] "), make(packet_type::event, "/", {}, R"(["a"])"));
    EXPECT_EQ(ok("2[\"a\"]\n"), make(packet_type::event, "/", {}, R"(["a"])"));
    EXPECT_EQ(ok("2[ \"a\" , 1 ]"), make(packet_type::event, "/", {}, R"(["a",1])"));
}

TEST(SioDecode, LargeNumbersAreKept) {
    const packet p = ok(R"(2["a",123456789012345678901234567890,18446744073709551615,-9223372036854775808,1e300])");
    const auto& a = p.data->as_array();
    EXPECT_TRUE(a[1].is_double());
    EXPECT_EQ(a[2].as_uint64(), std::numeric_limits<std::uint64_t>::max());
    EXPECT_EQ(a[3].as_int64(), std::numeric_limits<std::int64_t>::min());
    EXPECT_DOUBLE_EQ(a[4].as_double(), 1e300);
}

TEST(SioDecode, UnicodeInPayload) {
    const packet p = ok("2[\"\xe2\x82\xac\",\"\\u00e9\\ud83d\\ude00\"]");
    EXPECT_EQ(p.data->as_array()[0].as_string(), "\xe2\x82\xac");
    EXPECT_EQ(p.data->as_array()[1].as_string(), "\xc3\xa9\xf0\x9f\x98\x80");
}

TEST(SioDecode, MaxAckId) {
    EXPECT_EQ(ok(R"(218446744073709551615["a"])").id, std::numeric_limits<std::uint64_t>::max());
}

TEST(SioDecode, NamespaceMayContainAnythingButComma) {
    EXPECT_EQ(ok(R"(2/a b/c-1[x],["a"])"), make(packet_type::event, "/a b/c-1[x]", {}, R"(["a"])"));
    EXPECT_EQ(ok(R"(2/12,3["a"])"), make(packet_type::event, "/12", 3, R"(["a"])"));
}

// --- decode: malformed input --------------------------------------------------------------------

TEST(SioDecodeError, EmptyAndUnknownType) {
    EXPECT_EQ(err(""), "empty packet");
    EXPECT_EQ(err("9"), "unknown packet type");
    EXPECT_EQ(err("7"), "unknown packet type");
    EXPECT_EQ(err("999"), "unknown packet type");
    EXPECT_EQ(err("abc"), "unknown packet type");
    EXPECT_EQ(err(" 2[\"a\"]"), "unknown packet type");
    EXPECT_EQ(err("-1"), "unknown packet type");
    EXPECT_EQ(err("[\"a\"]"), "unknown packet type");
}

TEST(SioDecodeError, PayloadRequiredForEventAckAndConnectError) {
    EXPECT_EQ(err("2"), "invalid payload");
    EXPECT_EQ(err("212"), "invalid payload");
    EXPECT_EQ(err("2/admin,"), "invalid payload");
    EXPECT_EQ(err("3"), "invalid payload");
    EXPECT_EQ(err("312"), "invalid payload");
    EXPECT_EQ(err("4"), "invalid payload");
    EXPECT_EQ(err("51-"), "invalid payload");
    EXPECT_EQ(err("61-12"), "invalid payload");
}

TEST(SioDecodeError, InvalidEventPayloads) {
    EXPECT_EQ(err("2abc"), "invalid payload");
    EXPECT_EQ(err(R"(2abc["message-with-ack",1,"2",{"3":[false]}])"), "invalid payload");  // invalid ack id
    EXPECT_EQ(err("2[]"), "invalid payload");
    EXPECT_EQ(err("2{}"), "invalid payload");  // the protocol test-suite's "42{}"
    EXPECT_EQ(err("2/admin,{}"), "invalid payload");
    EXPECT_EQ(err(R"(2"foo")"), "invalid payload");
    EXPECT_EQ(err("2/admin,\"invalid"), "invalid payload");
    EXPECT_EQ(err("21"), "invalid payload");  // ack id 1, no payload
    EXPECT_EQ(err("2null"), "invalid payload");
    EXPECT_EQ(err("2true"), "invalid payload");
    EXPECT_EQ(err("2 "), "invalid payload");
    EXPECT_EQ(err(R"(2[{"toString":"foo"}])"), "invalid payload");
    EXPECT_EQ(err(R"(2[true,"foo"])"), "invalid payload");
    EXPECT_EQ(err(R"(2[null,"bar"])"), "invalid payload");
    EXPECT_EQ(err(R"(2[["a"]])"), "invalid payload");
}

TEST(SioDecodeError, ReservedEventNames) {
    for (const char* name : {"connect", "connect_error", "disconnect", "disconnecting", "newListener",
                             "removeListener"}) {
        EXPECT_EQ(err("2[\""s + name + "\"]"), "invalid payload") << name;
        EXPECT_EQ(err("212[\""s + name + "\",1]"), "invalid payload") << name;
        EXPECT_EQ(err("51-[\""s + name + "\"," + k_ph0 + "]"), "invalid payload") << name;
    }
    EXPECT_EQ(err(R"(2["disconnect","123"])"), "invalid payload");
    // Exact, case-sensitive match only.
    EXPECT_EQ(err(R"(2["Connect"])"), "");
    EXPECT_EQ(err(R"(2["connected"])"), "");
    EXPECT_EQ(err(R"(2["newlistener"])"), "");
}

TEST(SioDecodeError, InvalidOtherPayloads) {
    EXPECT_EQ(err("3{}"), "invalid payload");
    EXPECT_EQ(err(R"(3"x")"), "invalid payload");
    EXPECT_EQ(err("31null"), "invalid payload");
    EXPECT_EQ(err(R"(1["x"])"), "invalid payload");
    EXPECT_EQ(err("1{}"), "invalid payload");
    EXPECT_EQ(err("1/admin,{}"), "invalid payload");
    EXPECT_EQ(err("1null"), "invalid payload");
    EXPECT_EQ(err("0[]"), "invalid payload");
    EXPECT_EQ(err(R"(0"x")"), "invalid payload");
    EXPECT_EQ(err("0/admin,\"invalid\""), "invalid payload");
    EXPECT_EQ(err("0null"), "invalid payload");
}

TEST(SioDecodeError, InvalidJson) {
    EXPECT_EQ(err(R"(2["a")"), "invalid payload");                       // truncated
    EXPECT_EQ(err(R"(2["a",{"b":)"), "invalid payload");                 // truncated
    EXPECT_EQ(err(R"(442["some","data")"), "invalid payload");           // parser test: CONNECT_ERROR, id 42
    EXPECT_EQ(err(R"(2["a"]x)"), "invalid payload");                     // trailing garbage
    EXPECT_EQ(err(R"(2["a"]["b"])"), "invalid payload");                 // two JSON texts
    EXPECT_EQ(err(R"(2["a",])"), "invalid payload");                     // trailing comma
    EXPECT_EQ(err(R"(2['a'])"), "invalid payload");                      // single quotes
    EXPECT_EQ(err(R"(2["a",NaN])"), "invalid payload");
    EXPECT_EQ(err(R"(2["a",undefined])"), "invalid payload");
    EXPECT_EQ(err(R"(2["a",01])"), "invalid payload");                   // leading zero
    EXPECT_EQ(err("2[\"a\nb\"]"), "invalid payload");                    // raw control char in string
    EXPECT_EQ(err("2[\"\xff\"]"), "invalid payload");                    // invalid UTF-8
    EXPECT_EQ(err(R"(0{"a":1,})"), "invalid payload");
    EXPECT_EQ(err(R"(4{"message":)"), "invalid payload");
}

TEST(SioDecodeError, AckIdOverflow) {
    EXPECT_EQ(err(R"(218446744073709551616["a"])"), "invalid ack id");
    EXPECT_EQ(err(R"(299999999999999999999999999999["a"])"), "invalid ack id");
    EXPECT_EQ(err(R"(3/admin,99999999999999999999999[])"), "invalid ack id");
}

TEST(SioDecodeError, IllegalAttachments) {
    // socket.io-parser's own "Illegal attachments" cases.
    EXPECT_EQ(err("5"), "Illegal attachments");
    EXPECT_EQ(err("51"), "Illegal attachments");
    EXPECT_EQ(err("5a-"), "Illegal attachments");
    EXPECT_EQ(err("51.23-"), "Illegal attachments");
    EXPECT_EQ(err("6"), "Illegal attachments");
    EXPECT_EQ(err(R"(5["a"])"), "Illegal attachments");
    EXPECT_EQ(err(R"(5-["a"])"), "Illegal attachments");
    EXPECT_EQ(err(R"(5+1-["a"])"), "Illegal attachments");
    EXPECT_EQ(err(R"(51/admin,["a"])"), "Illegal attachments");
    EXPECT_EQ(err(R"(599999999999999999999999-["a"])"), "Illegal attachments");
}

TEST(SioDecodeError, TooManyAttachments) {
    EXPECT_EQ(err(R"(511-["a"])"), "too many attachments");
    EXPECT_EQ(err(R"(53000000-["a"])"), "too many attachments");
    std::string ten = R"(510-["a")";
    for (int i = 0; i < 10; ++i) {
        ten += R"(,{"_placeholder":true,"num":)" + std::to_string(i) + "}";
    }
    ten += "]";
    EXPECT_EQ(ok(ten).attachments, 10u);
}

TEST(SioDecodeError, InvalidPlaceholders) {
    const auto ev = [](std::string_view count, std::string_view ph) {
        return "5" + std::string(count) + R"(-["a",)" + std::string(ph) + "]";
    };
    EXPECT_EQ(err(ev("1", R"({"_placeholder":true,"num":1})")), "illegal attachments");
    EXPECT_EQ(err(ev("1", R"({"_placeholder":true,"num":-1})")), "illegal attachments");
    EXPECT_EQ(err(ev("1", R"({"_placeholder":true,"num":"0"})")), "illegal attachments");
    EXPECT_EQ(err(ev("1", R"({"_placeholder":true,"num":0.5})")), "illegal attachments");
    EXPECT_EQ(err(ev("1", R"({"_placeholder":true,"num":null})")), "illegal attachments");
    EXPECT_EQ(err(ev("1", R"({"_placeholder":true})")), "illegal attachments");
    EXPECT_EQ(err(ev("2", R"({"x":[{"_placeholder":true,"num":2}]})")), "illegal attachments");
    EXPECT_EQ(err(ev("1", R"({"_placeholder":true,"num":18446744073709551615})")), "illegal attachments");
    EXPECT_EQ(err("61-3["s + R"({"_placeholder":true,"num":1})" + "]"), "illegal attachments");
    // Not placeholders: only a literal `true` flag counts.
    EXPECT_EQ(err(ev("1", R"({"_placeholder":false,"num":5})")), "");
    EXPECT_EQ(err(ev("1", R"({"_placeholder":"true","num":5})")), "");
    EXPECT_EQ(err(ev("1", R"({"_placeholder":1,"num":5})")), "");
    // Integral doubles are integers in JavaScript.
    EXPECT_EQ(err(ev("2", R"({"_placeholder":true,"num":1.0})")), "");
    EXPECT_EQ(err(ev("2", R"({"_placeholder":true,"num":1e0})")), "");
}

TEST(SioDecodeError, Depth) {
    // Boost.JSON default options allow 32 levels of nesting.
    const auto nested = [](int depth) {
        std::string s = "2[\"a\",";  // the outer array is level 1
        for (int i = 1; i < depth; ++i) {
            s += "[";
        }
        s += "0";
        for (int i = 1; i < depth; ++i) {
            s += "]";
        }
        return s + "]";
    };
    EXPECT_EQ(err(nested(32)), "");
    EXPECT_EQ(err(nested(33)), "invalid payload");
    // Hostile depth fails cleanly, without recursion blowing the stack.
    EXPECT_EQ(err("2[\"a\"," + std::string(1000000, '[') + std::string(1000000, ']') + "]"), "invalid payload");
    EXPECT_EQ(err("2[\"a\"," + std::string(1000000, '[')), "invalid payload");
}

// --- encode -------------------------------------------------------------------------------------

TEST(SioEncode, ProtocolExamples) {
    EXPECT_EQ(encode(make(packet_type::connect)), "0");
    EXPECT_EQ(encode(make(packet_type::connect, "/admin", {}, R"({"sid":"oSO0OpakMV_3jnilAAAA"})")),
              R"(0/admin,{"sid":"oSO0OpakMV_3jnilAAAA"})");
    EXPECT_EQ(encode(make(packet_type::connect_error, "/", {}, R"({"message":"Not authorized"})")),
              R"(4{"message":"Not authorized"})");
    EXPECT_EQ(encode(make(packet_type::event, "/", {}, R"(["foo"])")), R"(2["foo"])");
    EXPECT_EQ(encode(make(packet_type::event, "/admin", {}, R"(["bar"])")), R"(2/admin,["bar"])");
    EXPECT_EQ(encode(make(packet_type::event, "/", 12, R"(["foo"])")), R"(212["foo"])");
    EXPECT_EQ(encode(make(packet_type::ack, "/admin", 13, R"(["bar"])")), R"(3/admin,13["bar"])");
    EXPECT_EQ(encode(make(packet_type::disconnect)), "1");
    EXPECT_EQ(encode(make(packet_type::disconnect, "/admin")), "1/admin,");
    EXPECT_EQ(encode(make(packet_type::binary_event, "/", {}, R"(["baz",)"s + k_ph0 + "]", 1)),
              R"(51-["baz",)"s + k_ph0 + "]");
    EXPECT_EQ(encode(make(packet_type::binary_event, "/admin", {}, R"(["baz",)"s + k_ph0 + "," + k_ph1 + "]", 2)),
              R"(52-/admin,["baz",)"s + k_ph0 + "," + k_ph1 + "]");
    EXPECT_EQ(encode(make(packet_type::binary_ack, "/", 15, R"(["bar",)"s + k_ph0 + "]", 1)),
              R"(61-15["bar",)"s + k_ph0 + "]");
    EXPECT_EQ(encode(make(packet_type::binary_ack, "/admin", 1, "["s + k_ph0 + "]", 1)),
              "61-/admin,1["s + k_ph0 + "]");
}

TEST(SioEncode, HappyServerMessages) {
    EXPECT_EQ(encode(make(packet_type::connect, "/", {}, R"({"sid":"k3Jd8fK2mQ9xR1tY7uWz"})")),
              R"(0{"sid":"k3Jd8fK2mQ9xR1tY7uWz"})");
    EXPECT_EQ(encode(make(packet_type::connect_error, "/", {}, R"({"message":"Invalid authentication token"})")),
              R"(4{"message":"Invalid authentication token"})");
    EXPECT_EQ(encode(make(packet_type::connect_error, "/random", {}, R"({"message":"Invalid namespace"})")),
              R"(4/random,{"message":"Invalid namespace"})");
    EXPECT_EQ(encode(make(packet_type::ack, "/", 12, R"([{"ok":true,"result":"AAE="}])")),
              R"(312[{"ok":true,"result":"AAE="}])");
    EXPECT_EQ(encode(make(packet_type::event, "/", 7, R"(["rpc-request",{"method":"m","params":"p"}])")),
              R"(27["rpc-request",{"method":"m","params":"p"}])");
    EXPECT_EQ(encode(make(packet_type::ack, "/", 3, "[]")), "33[]");
}

TEST(SioEncode, NamespaceSlashOrEmptyIsOmitted) {
    EXPECT_EQ(encode(make(packet_type::event, "", {}, R"(["a"])")), R"(2["a"])");
    EXPECT_EQ(encode(make(packet_type::connect, "")), "0");
}

TEST(SioEncode, NullDataIsOmittedLikeJsonStringifySkipsIt) {
    packet p = make(packet_type::connect);
    p.data = json::value(nullptr);
    EXPECT_EQ(encode(p), "0");
}

TEST(SioEncode, KeyOrderAndJsonStringifyEscapes) {
    packet p = make(packet_type::event);
    json::array a;
    a.emplace_back("update");
    json::object o;
    o["z"] = 1;
    o["a"] = "q\"u\\o\nte\x01\x7f\xe2\x82\xac/";
    o["m"] = json::array{true, false, nullptr};
    a.emplace_back(std::move(o));
    p.data = std::move(a);
    // Insertion order kept; only '"', '\\' and control chars escaped; '/', DEL
    // and non-ASCII written raw, as JSON.stringify does.
    EXPECT_EQ(encode(p), "2[\"update\",{\"z\":1,\"a\":\"q\\\"u\\\\o\\nte\\u0001\x7f\xe2\x82\xac/\","
                         "\"m\":[true,false,null]}]");
}

TEST(SioEncode, AckIdExtremes) {
    EXPECT_EQ(encode(make(packet_type::ack, "/", 0, "[]")), "30[]");
    EXPECT_EQ(encode(make(packet_type::ack, "/", std::numeric_limits<std::uint64_t>::max(), "[]")),
              "318446744073709551615[]");
}

TEST(SioEncode, LargePayload) {
    // Exercises the serializer's chunked writes into the output buffer.
    packet p = make(packet_type::event);
    json::array a;
    a.emplace_back("big");
    a.emplace_back(std::string(1 << 20, 'x'));
    for (int i = 0; i < 10000; ++i) {
        a.emplace_back(i);
    }
    p.data = std::move(a);
    const std::string s = encode(p);
    EXPECT_EQ(s, "2" + json::serialize(*p.data));
    EXPECT_EQ(ok(s), p);
}

TEST(SioEncode, AppendEncodedAddsAfterThePrefix) {
    std::string out = "4";
    append_encoded(out, make(packet_type::event, "/", {}, R"(["update",{"id":"x"}])"));
    EXPECT_EQ(out, R"(42["update",{"id":"x"}])");
    append_encoded(out, make(packet_type::connect));
    EXPECT_EQ(out, R"(42["update",{"id":"x"}]0)");

    std::string big(10000, 'p');
    append_encoded(big, make(packet_type::ack, "/", 1, "[1]"));
    EXPECT_EQ(big, std::string(10000, 'p') + "31[1]");
}

TEST(SioEncode, RoundTrips) {
    const std::vector<packet> packets = {
        make(packet_type::connect),
        make(packet_type::connect, "/admin"),
        make(packet_type::connect, "/", {}, R"({"token":"123","n":[1,2.5,-3]})"),
        make(packet_type::disconnect, "/admin"),
        make(packet_type::event, "/", {}, R"(["a",1,{}])"),
        make(packet_type::event, "/test", 1, R"(["a",1,{}])"),
        make(packet_type::event, "/", {}, R"([1,"a",{}])"),
        make(packet_type::ack, "/", 123, R"(["a",1,{}])"),
        make(packet_type::ack, "/", 4, "[]"),
        make(packet_type::connect_error, "/", {}, R"("Unauthorized")"),
        make(packet_type::connect_error, "/", {}, R"({"message":"Unauthorized","data":{"x":null}})"),
        make(packet_type::binary_event, "/", {}, "[\"a\","s + k_ph0 + "]", 1),
        make(packet_type::binary_event, "/x", 9, "[\"a\","s + k_ph1 + "," + k_ph0 + "]", 2),
        make(packet_type::binary_ack, "/nsp", 12, "["s + k_ph0 + "]", 1),
        make(packet_type::binary_ack, "/", 5, "[]", 0),
        make(packet_type::event, "/", {}, "[\"\xe2\x82\xac\",\"\\u0000\"]"),
    };
    for (const packet& p : packets) {
        const std::string text = encode(p);
        EXPECT_EQ(ok(text), p) << text;
        EXPECT_EQ(encode(ok(text)), text);
    }
}

// --- binary packets -----------------------------------------------------------------------------

TEST(SioBinary, MakePlaceholder) {
    EXPECT_EQ(json::serialize(make_placeholder(0)), k_ph0);
    EXPECT_EQ(json::serialize(make_placeholder(1)), k_ph1);
    EXPECT_EQ(make_placeholder(3), js(R"({"_placeholder":true,"num":3})"));
}

TEST(SioBinary, EncodeHeader) {
    binary_packet bp{make(packet_type::event), {"\x01\x02\x03\x04"s}};
    json::array a;
    a.emplace_back("baz");
    a.push_back(make_placeholder(0));
    bp.header.data = std::move(a);
    // EVENT with binary data goes out as BINARY_EVENT, with the vector's count.
    EXPECT_EQ(encode_binary_header(bp), R"(51-["baz",)"s + k_ph0 + "]");
    bp.header.type = packet_type::binary_event;
    EXPECT_EQ(encode_binary_header(bp), R"(51-["baz",)"s + k_ph0 + "]");
}

TEST(SioBinary, EncodeHeaderSpecExamples) {
    binary_packet two{make(packet_type::binary_event, "/admin", {}, "[\"baz\","s + k_ph0 + "," + k_ph1 + "]"),
                      {"\x01\x02"s, "\x03\x04"s}};
    EXPECT_EQ(encode_binary_header(two), R"(52-/admin,["baz",)"s + k_ph0 + "," + k_ph1 + "]");

    binary_packet ack{make(packet_type::ack, "/", 15, "[\"bar\","s + k_ph0 + "]"), {"\x01\x02\x03\x04"s}};
    EXPECT_EQ(encode_binary_header(ack), R"(61-15["bar",)"s + k_ph0 + "]");

    binary_packet nsp_ack{make(packet_type::ack, "/admin", 1, "["s + k_ph0 + "]"), {"bin"}};
    EXPECT_EQ("4" + encode_binary_header(nsp_ack), "461-/admin,1["s + k_ph0 + "]");  // sample session

    binary_packet test_suite{
        make(packet_type::ack, "/", 789, "["s + k_ph0 + "," + k_ph1 + "]"), {"\x01\x02\x03"s, "\x04\x05\x06"s}};
    EXPECT_EQ(encode_binary_header(test_suite), "62-789["s + k_ph0 + "," + k_ph1 + "]");
}

TEST(SioBinary, EncodedHeaderDecodesBack) {
    binary_packet bp{make(packet_type::event, "/x", 3, "[\"f\",{\"a\":"s + k_ph1 + "}," + k_ph0 + "]"), {"A", "B"}};
    const packet back = ok(encode_binary_header(bp));
    EXPECT_EQ(back.type, packet_type::binary_event);
    EXPECT_EQ(back.attachments, 2u);
    EXPECT_EQ(back.nsp, "/x");
    EXPECT_EQ(back.id, 3u);
    EXPECT_EQ(back.data, bp.header.data);
}

TEST(SioBinary, ReassemblesAttachmentsInOrder) {
    const packet header = ok("52-[\"message\","s + k_ph0 + "," + k_ph1 + "]");
    binary_reassembler r(header);
    EXPECT_FALSE(r.complete());
    EXPECT_EQ(r.expected(), 2u);
    EXPECT_FALSE(r.add("\x01\x02\x03"s));
    EXPECT_EQ(r.received(), 1u);
    EXPECT_TRUE(r.add("\x04\x05\x06"s));
    EXPECT_TRUE(r.complete());
    EXPECT_EQ(r.take(), header);
    EXPECT_EQ(r.take_attachments(), (std::vector<std::string>{"\x01\x02\x03"s, "\x04\x05\x06"s}));
}

TEST(SioBinary, ReassemblerForBinaryAck) {
    binary_reassembler r(ok("61-15[\"bar\","s + k_ph0 + "]"));
    EXPECT_TRUE(r.add(std::string("\0\xff", 2)));
    const packet p = r.take();
    EXPECT_EQ(p.type, packet_type::binary_ack);
    EXPECT_EQ(p.id, 15u);
    EXPECT_EQ(r.take_attachments(), std::vector<std::string>{std::string("\0\xff", 2)});
}

TEST(SioBinary, ReassemblerWithZeroAttachmentsIsAlreadyComplete) {
    binary_reassembler r(ok(R"(50-["a"])"));
    EXPECT_TRUE(r.complete());
    EXPECT_THROW(r.add("x"), std::logic_error);
    EXPECT_TRUE(r.take_attachments().empty());
}

TEST(SioBinary, ExtraAttachmentIsACallerBug) {
    binary_reassembler r(ok("51-[\"a\","s + k_ph0 + "]"));
    EXPECT_TRUE(r.add("x"));
    EXPECT_THROW(r.add("y"), std::logic_error);
}

TEST(SioBinary, EndToEndBinaryPacket) {
    // Sender side.
    binary_packet out{make(packet_type::event), {"\x01\x02\x03"s, "\x04\x05\x06"s}};
    json::array a;
    a.emplace_back("message");
    a.push_back(make_placeholder(0));
    a.push_back(make_placeholder(1));
    out.header.data = std::move(a);
    const std::string header_text = encode_binary_header(out);
    EXPECT_EQ(header_text, "52-[\"message\","s + k_ph0 + "," + k_ph1 + "]");

    // Receiver side.
    auto decoded = decode(header_text);
    ASSERT_TRUE(std::holds_alternative<packet>(decoded));
    binary_reassembler r(std::get<packet>(std::move(decoded)));
    bool done = false;
    for (auto& bytes : out.attachments) {
        done = r.add(bytes);
    }
    EXPECT_TRUE(done);
    const packet p = r.take();
    EXPECT_EQ(p.data, out.header.data);
    EXPECT_EQ(r.take_attachments(), out.attachments);
}

TEST(SioBinary, CheckPlaceholdersDirectly) {
    EXPECT_FALSE(check_placeholders(js("[]"), 0));
    EXPECT_FALSE(check_placeholders(js("null"), 0));
    EXPECT_FALSE(check_placeholders(js(R"(["a",1,"x",{"b":[{}]}])"), 0));
    EXPECT_FALSE(check_placeholders(js(k_ph0), 1));
    EXPECT_TRUE(check_placeholders(js(k_ph0), 0));
    EXPECT_FALSE(check_placeholders(js(R"([{"a":{"b":[{"_placeholder":true,"num":2}]}}])"), 3));
    EXPECT_TRUE(check_placeholders(js(R"([{"a":{"b":[{"_placeholder":true,"num":3}]}}])"), 3));
    // The placeholder's other keys are never inspected.
    EXPECT_FALSE(check_placeholders(js(R"({"_placeholder":true,"num":0,"x":{"_placeholder":true,"num":9}})"), 1));
    const auto e = check_placeholders(js(R"([{"_placeholder":true,"num":-1}])"), 5);
    ASSERT_TRUE(e);
    EXPECT_EQ(e->reason, "illegal attachments");

    // Deeper than the parser allows, built by hand: no recursion limit applies.
    json::value deep = make_placeholder(7);
    for (int i = 0; i < 100000; ++i) {
        json::array wrap;
        wrap.push_back(std::move(deep));
        deep = std::move(wrap);
    }
    EXPECT_TRUE(check_placeholders(deep, 7));
    EXPECT_FALSE(check_placeholders(deep, 8));
    // json::value destroys recursively; unwind by hand to keep the stack flat.
    while (deep.is_array() && !deep.as_array().empty()) {
        json::value inner = std::move(deep.as_array()[0]);
        deep = std::move(inner);
    }
}

// --- ids ----------------------------------------------------------------------------------------

TEST(SioSid, TwentyCharsUniqueAndUrlSafe) {
    std::set<std::string> seen;
    for (int i = 0; i < 1000; ++i) {
        const std::string id = make_sid();
        ASSERT_EQ(id.size(), 20u);
        EXPECT_EQ(id.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"),
                  std::string::npos);
        EXPECT_TRUE(seen.insert(id).second);
    }
}

}  // namespace
}  // namespace happy::socketio

// A number literal that overflows a double must not come back out as `Infinity` (not JSON): JavaScript's
// JSON.parse gives Infinity and JSON.stringify writes null, so the decoded value holds null.
TEST(SocketioDecodeNonFinite, OverflowingNumbersBecomeNull) {
    auto d = happy::socketio::decode(R"(2["ev",1e400,{"x":-1e999},[66666666666e6666]])");
    auto* p = std::get_if<happy::socketio::packet>(&d);
    ASSERT_NE(p, nullptr);
    EXPECT_EQ(boost::json::serialize(*p->data), R"(["ev",null,{"x":null},[null]])");
    EXPECT_EQ(happy::socketio::encode(*p), R"(2["ev",null,{"x":null},[null]])");
}

namespace happy::socketio {
namespace {

// socket.io-parser numbers buffers depth-first when it deconstructs a value; a re-emitted value keeps only the
// buffers it still holds, renumbered in that order.
TEST(renumber_attachments, follows_socket_io_parser_order_and_drops_unreferenced_buffers) {
    auto ph = [](int n) { return make_placeholder(static_cast<std::size_t>(n)); };
    boost::json::value v = boost::json::object{
        {"method", "m"},
        {"params", boost::json::object{{"b", ph(2)}, {"list", boost::json::array{ph(0), 7, ph(2)}}}},
        {"other", boost::json::object{{"_placeholder", false}, {"num", 1}}}};
    std::vector<std::string> in{"zero", "one", "two"};
    auto out = renumber_attachments(v, in);
    EXPECT_EQ(out, (std::vector<std::string>{"two", "zero", "two"}));
    EXPECT_EQ(v.at("params").at("b"), ph(0));
    EXPECT_EQ(v.at("params").at("list").at(0), ph(1));
    EXPECT_EQ(v.at("params").at("list").at(2), ph(2));
    EXPECT_EQ(v.at("other").at("num"), 1);  // not a placeholder: untouched

    boost::json::value plain = boost::json::array{1, "x"};
    EXPECT_TRUE(renumber_attachments(plain, in).empty());
    boost::json::value none = boost::json::array{ph(0)};
    EXPECT_TRUE(renumber_attachments(none, {}).empty());  // no attachments: nothing is a buffer
    EXPECT_EQ(none.at(0), ph(0));
    boost::json::value as_double = boost::json::array{boost::json::object{{"_placeholder", true}, {"num", 1.0}}};
    EXPECT_EQ(renumber_attachments(as_double, in), (std::vector<std::string>{"one"}));
    EXPECT_EQ(as_double.at(0), ph(0));
}

}  // namespace
}  // namespace happy::socketio
