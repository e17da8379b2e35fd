#include "modules/social/social_store.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "modules/auth/auth_store.hpp"
#include "modules/testing/store_fixture.hpp"

namespace {

namespace json = boost::json;
namespace db = happy::db;
using namespace happy::mod::social;
using rs = relationship_status;
using happy::mod::feed::feed_item;

constexpr std::int64_t day = 24LL * 60 * 60 * 1000;

class social_store : public happy::test::store_fixture {
protected:
    void SetUp() override {
        open_store({"0001_auth", "0010_social", "0011_feed", "0012_connect"});
        a_ = create_account("A1");
        b_ = create_account("B1");
        c_ = create_account("C1");
    }
    friend_result add(const std::string& from, const std::string& to, std::int64_t now = t0) {
        friend_result r;
        db_->write_sync([&](db::tx& t) { r = friend_add(t, from, to, now); });
        return r;
    }
    friend_result remove(const std::string& from, const std::string& to, std::int64_t now = t0) {
        friend_result r;
        db_->write_sync([&](db::tx& t) { r = friend_remove(t, from, to, now); });
        return r;
    }
    rs rel(const std::string& from, const std::string& to) {
        rs r = rs::none;
        db_->read_sync([&](db::tx& t) { r = relationship_get(t, from, to); });
        return r;
    }
    std::optional<relationship_row> row(const std::string& from, const std::string& to) {
        std::optional<relationship_row> r;
        db_->read_sync([&](db::tx& t) { r = relationship_row_get(t, from, to); });
        return r;
    }
    /// Both directions at once: {a→b, b→a}.
    std::pair<rs, rs> pair(const std::string& x, const std::string& y) { return {rel(x, y), rel(y, x)}; }
    std::vector<std::string> feed(const std::string& account) {
        std::vector<std::string> out;
        // The items as feed_get lists them (newest first), read directly: this test needs only what was stored.
        db_->read_sync([&](db::tx& t) {
            t.query("SELECT body, repeat_key FROM user_feed_item WHERE user_id = ? ORDER BY counter DESC", {account},
                    [&](const db::row_view& r) { out.push_back(r.str(0) + "|" + r.opt_str(1).value_or("-")); });
        });
        return out;
    }
    std::vector<std::pair<std::string, rs>> friends(const std::string& account) {
        std::vector<std::pair<std::string, rs>> out;
        db_->read_sync([&](db::tx& t) {
            for (auto& [u, st] : friend_list(t, account)) {
                out.emplace_back(u.id, st);
            }
        });
        return out;
    }
    void set_profile(const std::string& id, const char* username, const char* first = nullptr,
                     const char* last = nullptr, const char* avatar = nullptr) {
        db_->write_sync([&](db::tx& t) {
            auto text = [](const char* v) { return v ? db::param(std::string_view(v)) : db::param(nullptr); };
            t.exec("UPDATE account SET username = ?, first_name = ?, last_name = ?, avatar = ? WHERE id = ?",
                   {text(username), text(first), text(last), text(avatar), id});
        });
    }
    std::string request_body(const std::string& uid) {
        return R"({"uid":")" + uid + R"(","kind":"friend_request"})";
    }
    std::string accepted_body(const std::string& uid) {
        return R"({"uid":")" + uid + R"(","kind":"friend_accepted"})";
    }
    static constexpr std::int64_t t0 = 10 * day;
    std::string a_, b_, c_;
};

TEST_F(social_store, self_and_unknown_accounts) {
    auto r = add(a_, a_);
    EXPECT_FALSE(r.user);
    EXPECT_TRUE(r.posted.empty());
    EXPECT_FALSE(add(a_, "nobody").user);
    EXPECT_FALSE(add("nobody", a_).user);
    EXPECT_FALSE(remove(a_, "nobody").user);
    EXPECT_FALSE(remove("nobody", a_).user);
    // Removing oneself is allowed and changes nothing.
    r = remove(a_, a_);
    ASSERT_TRUE(r.user);
    EXPECT_EQ(r.user->id, a_);
    EXPECT_EQ(r.status, rs::none);
    EXPECT_FALSE(row(a_, a_));
    EXPECT_FALSE(row(a_, b_));
    EXPECT_TRUE(feed(a_).empty());
}

TEST_F(social_store, request_then_accept) {
    auto r = add(a_, b_, t0);
    ASSERT_TRUE(r.user);
    EXPECT_EQ(r.user->id, b_);
    EXPECT_EQ(r.status, rs::requested);
    EXPECT_EQ(pair(a_, b_), std::make_pair(rs::requested, rs::pending));
    ASSERT_EQ(r.posted.size(), 1u);
    EXPECT_EQ(r.posted[0].user_id, b_);
    EXPECT_EQ(r.posted[0].body, request_body(a_));
    EXPECT_EQ(feed(b_), (std::vector<std::string>{request_body(a_) + "|friend_request_" + a_}));
    EXPECT_TRUE(feed(a_).empty());
    EXPECT_EQ(row(b_, a_)->last_notified_at, t0);
    EXPECT_FALSE(row(a_, b_)->last_notified_at);
    EXPECT_FALSE(row(a_, b_)->accepted_at);

    // Asking again changes nothing and posts nothing.
    r = add(a_, b_, t0 + 1);
    EXPECT_EQ(r.status, rs::requested);
    EXPECT_TRUE(r.posted.empty());

    // B accepts. B was notified just now, so only A gets a friend_accepted item.
    r = add(b_, a_, t0 + 2);
    ASSERT_TRUE(r.user);
    EXPECT_EQ(r.user->id, a_);
    EXPECT_EQ(r.status, rs::friend_);
    EXPECT_EQ(pair(a_, b_), std::make_pair(rs::friend_, rs::friend_));
    EXPECT_EQ(row(a_, b_)->accepted_at, t0 + 2);
    EXPECT_EQ(row(b_, a_)->accepted_at, t0 + 2);
    ASSERT_EQ(r.posted.size(), 1u);
    EXPECT_EQ(r.posted[0].user_id, a_);
    EXPECT_EQ(feed(a_), (std::vector<std::string>{accepted_body(b_) + "|friend_accepted_" + b_}));
    EXPECT_EQ(feed(b_).size(), 1u);
    EXPECT_EQ(row(a_, b_)->last_notified_at, t0 + 2);
    EXPECT_EQ(row(b_, a_)->last_notified_at, t0);  // kept by relationship_set

    // Friends adding each other again: unchanged.
    r = add(a_, b_, t0 + 3);
    EXPECT_EQ(r.status, rs::friend_);
    EXPECT_TRUE(r.posted.empty());
    EXPECT_EQ(add(b_, a_, t0 + 3).status, rs::friend_);
    EXPECT_EQ(friends(a_), (std::vector<std::pair<std::string, rs>>{{b_, rs::friend_}}));
    EXPECT_EQ(friends(b_), (std::vector<std::pair<std::string, rs>>{{a_, rs::friend_}}));
}

TEST_F(social_store, accept_after_the_cooldown_notifies_both_caller_first) {
    add(a_, b_, t0);
    auto r = add(b_, a_, t0 + day + 1);
    EXPECT_EQ(r.status, rs::friend_);
    ASSERT_EQ(r.posted.size(), 2u);
    EXPECT_EQ(r.posted[0].user_id, b_);
    EXPECT_EQ(r.posted[0].body, accepted_body(a_));
    EXPECT_EQ(r.posted[1].user_id, a_);
    EXPECT_EQ(r.posted[1].body, accepted_body(b_));
    EXPECT_EQ(feed(b_), (std::vector<std::string>{accepted_body(a_) + "|friend_accepted_" + a_,
                                                  request_body(a_) + "|friend_request_" + a_}));
    // Exactly 24 h is not enough (strictly older than 24 h).
    add(a_, c_, t0);
    r = add(c_, a_, t0 + day);
    EXPECT_EQ(r.posted.size(), 1u);
    EXPECT_EQ(r.posted[0].user_id, a_);
}

TEST_F(social_store, cancel_a_sent_request_marks_it_rejected) {
    add(a_, b_, t0);
    auto r = remove(a_, b_, t0 + 1);
    ASSERT_TRUE(r.user);
    EXPECT_EQ(r.user->id, b_);
    EXPECT_EQ(r.status, rs::rejected);
    EXPECT_TRUE(r.posted.empty());
    EXPECT_EQ(pair(a_, b_), std::make_pair(rs::rejected, rs::pending));
    EXPECT_EQ(friends(a_), (std::vector<std::pair<std::string, rs>>{}));
    EXPECT_EQ(friends(b_), (std::vector<std::pair<std::string, rs>>{{a_, rs::pending}}));
    // B cannot accept a withdrawn request: B's own row is pending, A's is not `requested`.
    r = add(b_, a_, t0 + 2);
    EXPECT_EQ(r.status, rs::pending);
    EXPECT_EQ(pair(a_, b_), std::make_pair(rs::rejected, rs::pending));
    // Removing again is a no-op that reports rejected.
    EXPECT_EQ(remove(a_, b_, t0 + 3).status, rs::rejected);
    // B declines: B's row goes to none, A's rejected row stays.
    r = remove(b_, a_, t0 + 4);
    EXPECT_EQ(r.status, rs::none);
    EXPECT_EQ(pair(a_, b_), std::make_pair(rs::rejected, rs::none));
    // A asks again: requested / pending, but B was notified within 24 h, so no new item.
    r = add(a_, b_, t0 + 5);
    EXPECT_EQ(r.status, rs::requested);
    EXPECT_EQ(pair(a_, b_), std::make_pair(rs::requested, rs::pending));
    EXPECT_TRUE(r.posted.empty());
    EXPECT_EQ(feed(b_).size(), 1u);
    // A day later it is due again, and the repeat key replaces the first item.
    remove(b_, a_, t0 + day + 10);
    EXPECT_EQ(pair(a_, b_), std::make_pair(rs::none, rs::none));
    r = add(a_, b_, t0 + day + 11);
    ASSERT_EQ(r.posted.size(), 1u);
    EXPECT_EQ(r.posted[0].counter, 2);
    EXPECT_EQ(feed(b_), (std::vector<std::string>{request_body(a_) + "|friend_request_" + a_}));
    EXPECT_EQ(row(b_, a_)->last_notified_at, t0 + day + 11);
}

TEST_F(social_store, a_request_to_someone_who_withdrew_theirs_is_not_notified) {
    // B asked A, then withdrew: B→A rejected, A→B pending.
    add(b_, a_, t0);
    remove(b_, a_, t0 + 1);
    // A asks B: A→B was pending (not none/rejected) ⇒ nothing happens.
    auto r = add(a_, b_, t0 + 2);
    EXPECT_EQ(r.status, rs::pending);
    EXPECT_EQ(pair(a_, b_), std::make_pair(rs::pending, rs::rejected));
    // A declines instead: A→B none, B→A stays rejected.
    EXPECT_EQ(remove(a_, b_, t0 + 3).status, rs::none);
    EXPECT_EQ(pair(a_, b_), std::make_pair(rs::none, rs::rejected));
    // Now A asks B: requested, B's rejected row stays rejected, and a rejected row is never notified.
    r = add(a_, b_, t0 + 2 * day);
    EXPECT_EQ(r.status, rs::requested);
    EXPECT_EQ(pair(a_, b_), std::make_pair(rs::requested, rs::rejected));
    EXPECT_TRUE(r.posted.empty());
    EXPECT_TRUE(feed(b_).empty());
    // B (rejected) asks A back: A's row is `requested` ⇒ accepted at once; both are friends.
    r = add(b_, a_, t0 + 2 * day + 1);
    EXPECT_EQ(r.status, rs::friend_);
    EXPECT_EQ(pair(a_, b_), std::make_pair(rs::friend_, rs::friend_));
    // B's row was never notified ⇒ B gets an item; A's was notified at t0 (B's first request), long ago ⇒ A too.
    ASSERT_EQ(r.posted.size(), 2u);
    EXPECT_EQ(r.posted[0].user_id, b_);
    EXPECT_EQ(r.posted[1].user_id, a_);
}

TEST_F(social_store, unfriend_leaves_the_other_side_asking) {
    add(a_, b_, t0);
    add(b_, a_, t0 + 1);
    auto r = remove(a_, b_, t0 + 2);
    ASSERT_TRUE(r.user);
    EXPECT_EQ(r.status, rs::requested);  // sic: A's row is pending
    EXPECT_EQ(pair(a_, b_), std::make_pair(rs::pending, rs::requested));
    EXPECT_FALSE(row(a_, b_)->accepted_at);
    EXPECT_FALSE(row(b_, a_)->accepted_at);
    EXPECT_EQ(friends(a_), (std::vector<std::pair<std::string, rs>>{{b_, rs::pending}}));
    EXPECT_EQ(friends(b_), (std::vector<std::pair<std::string, rs>>{{a_, rs::requested}}));
    // A re-adds: B's row is requested ⇒ friends again, no items within the cooldown.
    r = add(a_, b_, t0 + 3);
    EXPECT_EQ(r.status, rs::friend_);
    EXPECT_TRUE(r.posted.empty());
    // B unfriends in turn, then declines A's standing request: both rows end at none.
    remove(b_, a_, t0 + 4);
    EXPECT_EQ(pair(a_, b_), std::make_pair(rs::requested, rs::pending));
    EXPECT_EQ(remove(b_, a_, t0 + 5).status, rs::none);
    EXPECT_EQ(pair(a_, b_), std::make_pair(rs::none, rs::none));
    // Rows set to none stay (and keep their notification stamp).
    EXPECT_TRUE(row(a_, b_));
    EXPECT_EQ(row(b_, a_)->last_notified_at, t0);
    // Removing with no relation reports none.
    EXPECT_EQ(remove(a_, b_, t0 + 6).status, rs::none);
    EXPECT_EQ(remove(a_, c_, t0 + 6).status, rs::none);
    EXPECT_FALSE(row(a_, c_));
}

TEST_F(social_store, three_accounts_are_independent) {
    add(a_, b_, t0);
    add(a_, c_, t0 + 1);
    add(c_, a_, t0 + 2);  // C accepts
    add(b_, c_, t0 + 3);  // B asks C
    EXPECT_EQ(pair(a_, b_), std::make_pair(rs::requested, rs::pending));
    EXPECT_EQ(pair(a_, c_), std::make_pair(rs::friend_, rs::friend_));
    EXPECT_EQ(pair(b_, c_), std::make_pair(rs::requested, rs::pending));
    EXPECT_EQ(friends(a_), (std::vector<std::pair<std::string, rs>>{{b_, rs::requested}, {c_, rs::friend_}}));
    EXPECT_EQ(friends(b_), (std::vector<std::pair<std::string, rs>>{{a_, rs::pending}, {c_, rs::requested}}));
    EXPECT_EQ(friends(c_), (std::vector<std::pair<std::string, rs>>{{a_, rs::friend_}, {b_, rs::pending}}));
    EXPECT_EQ(feed(a_), (std::vector<std::string>{accepted_body(c_) + "|friend_accepted_" + c_}));
    EXPECT_EQ(feed(b_), (std::vector<std::string>{request_body(a_) + "|friend_request_" + a_}));
    EXPECT_EQ(feed(c_), (std::vector<std::string>{request_body(b_) + "|friend_request_" + b_,
                                                  request_body(a_) + "|friend_request_" + a_}));
    // Unfriending A–C leaves B's relations alone.
    remove(c_, a_, t0 + 4);
    EXPECT_EQ(pair(a_, c_), std::make_pair(rs::requested, rs::pending));
    EXPECT_EQ(pair(b_, c_), std::make_pair(rs::requested, rs::pending));
    EXPECT_EQ(pair(a_, b_), std::make_pair(rs::requested, rs::pending));
}

// Every (caller → target, target → caller) combination, each on a fresh pair with never-notified rows, against a
// hand-written transcription of friendAdd.ts / friendRemove.ts. `none` is "no row".
TEST_F(social_store, every_state_pair_under_add_and_remove) {
    struct row_t {
        rs mine, theirs;
        rs add_mine, add_theirs, add_ret;
        std::size_t add_posts;
        rs rm_mine, rm_theirs, rm_ret;
    };
    constexpr rs n = rs::none, q = rs::requested, p = rs::pending, f = rs::friend_, r = rs::rejected;
    const std::vector<row_t> table = {
        // mine theirs | add: mine theirs returns posts | remove: mine theirs returns
        {n, n, q, p, q, 1, n, n, n},
        {n, q, f, f, f, 2, n, q, n},
        {n, p, q, p, q, 1, n, p, n},
        {n, f, q, f, q, 1, n, f, n},
        {n, r, q, r, q, 0, n, r, n},
        {q, n, q, n, q, 0, r, n, r},
        {q, q, f, f, f, 2, r, q, r},
        {q, p, q, p, q, 0, r, p, r},
        {q, f, q, f, q, 0, r, f, r},
        {q, r, q, r, q, 0, r, r, r},
        {p, n, p, n, p, 0, n, n, n},
        {p, q, f, f, f, 2, n, n, n},
        {p, p, p, p, p, 0, n, n, n},
        {p, f, p, f, p, 0, n, n, n},
        {p, r, p, r, p, 0, n, r, n},
        {f, n, f, n, f, 0, p, q, q},
        {f, q, f, f, f, 2, p, q, q},
        {f, p, f, p, f, 0, p, q, q},
        {f, f, f, f, f, 0, p, q, q},
        {f, r, f, r, f, 0, p, q, q},
        {r, n, q, p, q, 1, r, n, r},
        {r, q, f, f, f, 2, r, q, r},
        {r, p, q, p, q, 1, r, p, r},
        {r, f, q, f, q, 1, r, f, r},
        {r, r, q, r, q, 0, r, r, r},
    };
    int k = 0;
    auto fresh_pair = [&](rs mine, rs theirs) {
        std::string x, y;
        db_->write_sync([&](db::tx& t) {
            x = happy::mod::auth::account_upsert(t, "T" + std::to_string(++k), 1);
            y = happy::mod::auth::account_upsert(t, "T" + std::to_string(++k), 1);
            if (mine != n) {
                relationship_set(t, x, y, mine, 1);
            }
            if (theirs != n) {
                relationship_set(t, y, x, theirs, 1);
            }
        });
        return std::make_pair(x, y);
    };
    for (const auto& t : table) {
        const std::string name = std::string(relationship_status_name(t.mine)) + "/" +
                                 std::string(relationship_status_name(t.theirs));
        {
            auto [x, y] = fresh_pair(t.mine, t.theirs);
            auto res = add(x, y);
            ASSERT_TRUE(res.user) << name;
            EXPECT_EQ(res.user->id, y) << name;
            EXPECT_EQ(res.status, t.add_ret) << "add " << name;
            EXPECT_EQ(pair(x, y), std::make_pair(t.add_mine, t.add_theirs)) << "add " << name;
            EXPECT_EQ(res.posted.size(), t.add_posts) << "add " << name;
        }
        {
            auto [x, y] = fresh_pair(t.mine, t.theirs);
            auto res = remove(x, y);
            ASSERT_TRUE(res.user) << name;
            EXPECT_EQ(res.status, t.rm_ret) << "remove " << name;
            EXPECT_EQ(pair(x, y), std::make_pair(t.rm_mine, t.rm_theirs)) << "remove " << name;
            EXPECT_TRUE(res.posted.empty()) << name;
        }
    }
}

TEST_F(social_store, search_is_a_case_insensitive_prefix_match) {
    set_profile(a_, "alice");
    set_profile(b_, "Alfred");
    set_profile(c_, "bob");
    std::vector<std::string> more;
    db_->write_sync([&](db::tx& t) {
        for (int i = 0; i < 12; ++i) {
            more.push_back(happy::mod::auth::account_upsert(t, "X" + std::to_string(i), 1));
        }
    });
    for (int i = 0; i < 12; ++i) {
        set_profile(more[i], ("zed" + std::string(i < 10 ? "0" : "") + std::to_string(i)).c_str());
    }
    auto names = [&](std::string_view q) {
        std::vector<std::string> out;
        db_->read_sync([&](db::tx& t) {
            for (const auto& u : user_search(t, q)) {
                out.push_back(*u.username);
            }
        });
        return out;
    };
    EXPECT_EQ(names("al"), (std::vector<std::string>{"Alfred", "alice"}));  // bytewise order
    EXPECT_EQ(names("AL"), (std::vector<std::string>{"Alfred", "alice"}));
    EXPECT_EQ(names("alice"), (std::vector<std::string>{"alice"}));
    EXPECT_EQ(names("alices"), (std::vector<std::string>{}));
    EXPECT_EQ(names("lic"), (std::vector<std::string>{}));
    EXPECT_EQ(names("zed").size(), 10u);
    EXPECT_EQ(names("zed").front(), "zed00");
    EXPECT_EQ(names("zed").back(), "zed09");
    EXPECT_EQ(names("").size(), 10u);  // every account with a username, first 10
    EXPECT_EQ(names("").front(), "Alfred");
    // Unescaped LIKE: `_` and `%` are wildcards, `\` escapes.
    EXPECT_EQ(names("a_i"), (std::vector<std::string>{"alice"}));
    EXPECT_EQ(names("%ob"), (std::vector<std::string>{"bob"}));
    EXPECT_EQ(names("a\\_"), (std::vector<std::string>{}));
    set_profile(c_, "a_b");
    EXPECT_EQ(names("a\\_"), (std::vector<std::string>{"a_b"}));
    EXPECT_EQ(names("b"), (std::vector<std::string>{}));
    // Accounts without a username never match.
    set_profile(c_, nullptr);
    EXPECT_EQ(names("").size(), 10u);
    EXPECT_EQ(names("%").front(), "Alfred");
}

TEST_F(social_store, profile_json) {
    std::optional<user_row> u;
    db_->read_sync([&](db::tx& t) { u = user_get(t, a_); });
    ASSERT_TRUE(u);
    EXPECT_EQ(json::serialize(user_profile_json(*u, rs::none, "http://h/files")),
              R"({"id":")" + a_ + R"(","firstName":"","lastName":null,"avatar":null,"username":"","bio":null,"status":"none"})");
    set_profile(a_, "alice", "Alice", "Liddell", R"({"thumbhash":"th","width":10,"path":"public/a.png","height":20})");
    db_->read_sync([&](db::tx& t) { u = user_get(t, a_); });
    EXPECT_EQ(json::serialize(user_profile_json(*u, rs::friend_, "http://h/files")),
              R"({"id":")" + a_ +
                  R"(","firstName":"Alice","lastName":"Liddell","avatar":{"path":"public/a.png","url":"http://h/files/public/a.png","width":10,"height":20,"thumbhash":"th"},"username":"alice","bio":null,"status":"friend"})");
    // Optional ImageRef fields are omitted when absent; the GitHub login and bio fill in when linked.
    u->avatar = R"({"path":"p"})";
    u->username = std::nullopt;
    u->github_login = "octo";
    u->github_bio = "hi";
    EXPECT_EQ(json::serialize(user_profile_json(*u, rs::pending, "B")),
              R"({"id":")" + a_ +
                  R"(","firstName":"Alice","lastName":"Liddell","avatar":{"path":"p","url":"B/p"},"username":"octo","bio":"hi","status":"pending"})");
    EXPECT_FALSE(relationship_status_parse("accepted"));
    EXPECT_EQ(relationship_status_parse("rejected"), rs::rejected);
}

TEST_F(social_store, linked_github_profile_fills_login_and_bio) {
    db_->write_sync([&](db::tx& t) {
        t.exec("INSERT INTO github_user (id, profile, created_at, updated_at) VALUES ('42', ?, 1, 1)",
               {R"({"id":42,"login":"octo","bio":"hi","name":null})"});
        t.exec("INSERT INTO github_user (id, profile, created_at, updated_at) VALUES ('43', ?, 1, 1)",
               {R"({"id":43,"login":"cat","bio":null})"});
        t.exec("UPDATE account SET github_user_id = '42' WHERE id = ?", {a_});
        t.exec("UPDATE account SET github_user_id = '43' WHERE id = ?", {b_});
    });
    std::optional<user_row> a, b, c;
    db_->read_sync([&](db::tx& t) {
        a = user_get(t, a_);
        b = user_get(t, b_);
        c = user_get(t, c_);
    });
    ASSERT_TRUE(a && b && c);
    EXPECT_EQ(a->github_login, "octo");
    EXPECT_EQ(a->github_bio, "hi");
    EXPECT_EQ(b->github_login, "cat");
    EXPECT_FALSE(b->github_bio);
    EXPECT_FALSE(c->github_login);
    EXPECT_FALSE(c->github_bio);
    // Search and the friend list read the same columns.
    set_profile(a_, "alice");
    std::vector<user_row> found;
    db_->read_sync([&](db::tx& t) { found = user_search(t, "ali"); });
    ASSERT_EQ(found.size(), 1u);
    EXPECT_EQ(found[0].github_login, "octo");
    add(a_, b_);
    std::vector<std::pair<user_row, rs>> list;
    db_->read_sync([&](db::tx& t) { list = friend_list(t, a_); });
    ASSERT_EQ(list.size(), 1u);
    EXPECT_EQ(list[0].first.github_login, "cat");
    EXPECT_EQ(list[0].second, rs::requested);
}

}  // namespace
