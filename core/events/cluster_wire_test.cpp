#include "core/events/cluster_wire.hpp"

#include <gtest/gtest.h>

namespace happy::events::wire {
namespace {

template <class T>
T round_trip(const T& in) {
    auto bytes = encode(in);
    auto out = decode(bytes);
    EXPECT_TRUE(out.has_value());
    EXPECT_TRUE(std::holds_alternative<T>(*out));
    return std::get<T>(*out);
}

TEST(cluster_wire, broadcast) {
    broadcast b{{"user:U:user-scoped", "user:U:session:S"}, {"sock1"}, R"(42["update",{"id":"x","seq":3}])"};
    auto o = round_trip(b);
    EXPECT_EQ(o.rooms, b.rooms);
    EXPECT_EQ(o.except, b.except);
    EXPECT_EQ(o.frame, b.frame);
    broadcast empty;
    auto e = round_trip(empty);
    EXPECT_TRUE(e.rooms.empty());
    EXPECT_TRUE(e.frame.empty());
}

TEST(cluster_wire, update_carries_its_account_and_seq) {
    broadcast b{{"user:U:user-scoped"}, {}, R"(42["update",{"id":"x","seq":3}])", "U", 3};
    auto o = round_trip(b);
    EXPECT_EQ(o.rooms, b.rooms);
    EXPECT_EQ(o.frame, b.frame);
    EXPECT_EQ(o.account, "U");
    EXPECT_EQ(o.seq, 3);
    auto skipped = round_trip(broadcast{{}, {}, "", "U", 4});  // a seq that is never emitted: no rooms
    EXPECT_TRUE(skipped.rooms.empty());
    EXPECT_EQ(skipped.seq, 4);
    // Whole or nothing: an update cut short is not taken for an unordered broadcast.
    auto bytes = encode(b);
    for (std::size_t n = 0; n < bytes.size(); ++n) {
        EXPECT_FALSE(decode(std::string_view(bytes).substr(0, n))) << n;
    }
    auto zero = encode(broadcast{{"r"}, {}, "f", "U", 1});
    zero.replace(zero.size() - 8, 8, std::string(8, '\0'));
    EXPECT_FALSE(decode(zero));  // an update without a seq
    EXPECT_EQ(encode(broadcast{{"r"}, {}, "f", "U", 0})[0], '\x01');  // seq 0: a plain broadcast (an ephemeral)
}

TEST(cluster_wire, query_and_answer) {
    auto q = round_trip(query{0xfeedfacecafebeefull, query_kind::active_ui, "acct"});
    EXPECT_EQ(q.id, 0xfeedfacecafebeefull);
    EXPECT_EQ(q.kind, query_kind::active_ui);
    EXPECT_EQ(q.key, "acct");
    auto a = round_trip(answer{7, true, "sid-1"});
    EXPECT_EQ(a.id, 7u);
    EXPECT_TRUE(a.found);
    EXPECT_EQ(a.socket_id, "sid-1");
}

TEST(cluster_wire, rpc_request_and_result_with_binary_attachments) {
    std::string bin("\0\xff\r\n", 4);
    auto r = round_trip(rpc_request{1, "sock", "rpc:U:M:spawn", 30000, R"([{"method":"m","params":{"_placeholder":true,"num":0}}])", {bin, ""}});
    EXPECT_EQ(r.socket_id, "sock");
    EXPECT_EQ(r.room, "rpc:U:M:spawn");
    EXPECT_EQ(r.timeout_ms, 30000u);
    ASSERT_EQ(r.attachments.size(), 2u);
    EXPECT_EQ(r.attachments[0], bin);
    auto res = round_trip(rpc_result{1, rpc_status::disconnected, "[]", {}});
    EXPECT_EQ(res.status, rpc_status::disconnected);
    EXPECT_EQ(res.args_json, "[]");
}

TEST(cluster_wire, malformed_is_rejected_whole) {
    EXPECT_FALSE(decode(""));
    EXPECT_FALSE(decode("\x09"));
    auto bytes = encode(rpc_request{1, "sock", "room", 5, "[]", {"a"}});
    for (std::size_t n = 0; n < bytes.size(); ++n) {
        EXPECT_FALSE(decode(std::string_view(bytes).substr(0, n))) << n;
    }
    EXPECT_FALSE(decode(bytes + "x"));  // trailing bytes
    // A list count that cannot fit in what follows.
    std::string huge = std::string("\x01", 1) + std::string("\xff\xff\xff\x7f", 4);
    EXPECT_FALSE(decode(huge));
    // Unknown enum values.
    auto q = encode(query{1, query_kind::first_member, "k"});
    q[9] = 9;
    EXPECT_FALSE(decode(q));
}

}  // namespace
}  // namespace happy::events::wire
