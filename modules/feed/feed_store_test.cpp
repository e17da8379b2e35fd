#include "modules/feed/feed_store.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "modules/testing/store_fixture.hpp"

namespace {

namespace json = boost::json;
using namespace happy::mod::feed;

class feed_store : public happy::test::store_fixture {
protected:
    void SetUp() override {
        open_store({"0001_auth", "0011_feed"});
        create_alice_and_bob();
    }
    feed_item post(const std::string& account, const json::object& body, std::optional<std::string> key,
                   std::int64_t now = 1000) {
        feed_item item;
        db_->write_sync([&](happy::db::tx& t) { item = feed_post(t, account, body, key, now); });
        return item;
    }
    feed_page get(const std::string& account, std::optional<std::string> before = {},
                  std::optional<std::string> after = {}, std::int64_t limit = 50) {
        feed_page p;
        db_->read_sync([&](happy::db::tx& t) { p = feed_get(t, account, before, after, limit); });
        return p;
    }
    static std::vector<std::int64_t> counters(const feed_page& p) {
        std::vector<std::int64_t> out;
        for (const auto& i : p.items) {
            out.push_back(i.counter);
        }
        return out;
    }
};

TEST_F(feed_store, post_takes_the_next_counter_per_account) {
    auto a1 = post(alice_, feed_body_friend_request(bob_), std::nullopt, 1000);
    auto a2 = post(alice_, feed_body_friend_request(bob_), std::nullopt, 1001);
    auto b1 = post(bob_, feed_body_friend_accepted(alice_), std::nullopt, 1002);
    EXPECT_EQ(a1.counter, 1);
    EXPECT_EQ(a2.counter, 2);
    EXPECT_EQ(b1.counter, 1);
    EXPECT_EQ(a1.id.size(), 25u);
    EXPECT_EQ(a1.id[0], 'c');
    EXPECT_NE(a1.id, a2.id);
    EXPECT_EQ(a1.user_id, alice_);
    EXPECT_EQ(a1.created_at, 1000);
    EXPECT_FALSE(a1.repeat_key);
    // JSONB key order as stored.
    EXPECT_EQ(a1.body, R"({"uid":")" + bob_ + R"(","kind":"friend_request"})");
    EXPECT_EQ(counters(get(alice_)), (std::vector<std::int64_t>{2, 1}));
    EXPECT_EQ(counters(get(bob_)), (std::vector<std::int64_t>{1}));
}

TEST_F(feed_store, repeat_key_replaces_the_earlier_item_and_still_advances_the_counter) {
    auto first = post(alice_, feed_body_friend_request(bob_), "friend_request_" + bob_);
    post(alice_, feed_body_friend_accepted(bob_), "other");
    auto again = post(alice_, feed_body_friend_request(bob_), "friend_request_" + bob_, 2000);
    EXPECT_EQ(again.counter, 3);
    EXPECT_NE(again.id, first.id);
    auto page = get(alice_);
    ASSERT_EQ(counters(page), (std::vector<std::int64_t>{3, 2}));
    EXPECT_EQ(page.items[0].repeat_key, "friend_request_" + bob_);
    EXPECT_EQ(page.items[0].created_at, 2000);
    // The same key on another account is independent.
    post(bob_, feed_body_friend_request(alice_), "friend_request_" + bob_);
    EXPECT_EQ(get(alice_).items.size(), 2u);
    EXPECT_EQ(get(bob_).items.size(), 1u);
    // Items without a key never replace one another.
    post(bob_, feed_body_friend_request(alice_), std::nullopt);
    post(bob_, feed_body_friend_request(alice_), std::nullopt);
    EXPECT_EQ(get(bob_).items.size(), 3u);
}

TEST_F(feed_store, post_to_a_missing_account_throws) {
    EXPECT_ANY_THROW(post("nobody", feed_body_friend_request(bob_), std::nullopt));
    EXPECT_TRUE(get("nobody").items.empty());
}

TEST_F(feed_store, pages_newest_first_with_before_and_after) {
    for (int i = 0; i < 7; ++i) {
        post(alice_, feed_body_friend_request(bob_), std::nullopt, 1000 + i);
    }
    auto p = get(alice_, {}, {}, 3);
    EXPECT_EQ(counters(p), (std::vector<std::int64_t>{7, 6, 5}));
    EXPECT_TRUE(p.has_more);
    p = get(alice_, "0-5", {}, 3);
    EXPECT_EQ(counters(p), (std::vector<std::int64_t>{4, 3, 2}));
    EXPECT_TRUE(p.has_more);
    p = get(alice_, "0-2", {}, 3);
    EXPECT_EQ(counters(p), (std::vector<std::int64_t>{1}));
    EXPECT_FALSE(p.has_more);
    p = get(alice_, "0-4", {}, 3);
    EXPECT_EQ(counters(p), (std::vector<std::int64_t>{3, 2, 1}));
    EXPECT_FALSE(p.has_more);  // exactly limit left
    // `after` is still newest first: the newest items above the cursor, not those right after it.
    p = get(alice_, {}, "0-2", 2);
    EXPECT_EQ(counters(p), (std::vector<std::int64_t>{7, 6}));
    EXPECT_TRUE(p.has_more);
    p = get(alice_, {}, "0-5", 2);
    EXPECT_EQ(counters(p), (std::vector<std::int64_t>{7, 6}));
    EXPECT_FALSE(p.has_more);
    // `before` wins over `after`.
    p = get(alice_, "0-3", "0-6", 10);
    EXPECT_EQ(counters(p), (std::vector<std::int64_t>{2, 1}));
    // Lenient parseInt forms.
    EXPECT_EQ(counters(get(alice_, "0-3abc", {}, 10)), (std::vector<std::int64_t>{2, 1}));
    EXPECT_EQ(counters(get(alice_, "0- +2", {}, 10)), (std::vector<std::int64_t>{1}));
    EXPECT_TRUE(get(alice_, "0--1", {}, 10).items.empty());
    EXPECT_TRUE(get(alice_, "0-0", {}, 10).items.empty());
}

TEST_F(feed_store, malformed_cursors_throw) {
    for (const char* c : {"", "0", "1-2", "0-", "0-abc", "0-+", "x0-1", "0-99999999999999999999"}) {
        EXPECT_THROW(get(alice_, std::string(c)), invalid_cursor) << c;
        EXPECT_THROW(get(alice_, {}, std::string(c)), invalid_cursor) << c;
    }
}

TEST_F(feed_store, cursor_parse_follows_parse_int) {
    EXPECT_EQ(feed_cursor_parse("0-12"), 12);
    EXPECT_EQ(feed_cursor_parse("0-012"), 12);
    EXPECT_EQ(feed_cursor_parse("0-1e3"), 1);
    EXPECT_EQ(feed_cursor_parse("0-\t7"), 7);
    EXPECT_EQ(feed_cursor_parse("0--7"), -7);
    EXPECT_EQ(feed_cursor_parse("0-9223372036854775807"), 9223372036854775807LL);
    EXPECT_FALSE(feed_cursor_parse("0-9223372036854775808"));
    EXPECT_FALSE(feed_cursor_parse("0-"));
    EXPECT_FALSE(feed_cursor_parse("1-1"));
    EXPECT_EQ(feed_cursor(42), "0-42");
}

TEST_F(feed_store, json_shapes) {
    auto item = post(alice_, feed_body_friend_accepted(bob_), "friend_accepted_" + bob_, 1234);
    auto rest = feed_item_json(item);
    EXPECT_EQ(json::serialize(rest), R"({"id":")" + item.id + R"(","body":{"kind":"friend_accepted","uid":")" +
                                         bob_ + R"("},"repeatKey":"friend_accepted_)" + bob_ +
                                         R"(","cursor":"0-1","createdAt":1234})");
    auto upd = feed_post_update_body(item);
    EXPECT_EQ(json::serialize(upd), R"({"t":"new-feed-post","id":")" + item.id + R"(","body":{"uid":")" + bob_ +
                                        R"(","kind":"friend_accepted"},"cursor":"0-1","createdAt":1234})");
    auto plain = post(alice_, json::object{{"kind", "text"}, {"text", "hi"}}, std::nullopt, 5);
    EXPECT_EQ(json::serialize(feed_item_json(plain)),
              R"({"id":")" + plain.id + R"(","body":{"kind":"text","text":"hi"},"repeatKey":null,"cursor":"0-2","createdAt":5})");
}

}  // namespace
