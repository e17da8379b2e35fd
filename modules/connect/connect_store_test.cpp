#include "modules/connect/connect_store.hpp"

#include <gtest/gtest.h>

#include "core/crypto/key_tree.hpp"
#include "modules/connect/github_webhook.hpp"
#include "modules/testing/store_fixture.hpp"

namespace {

using namespace happy::mod::connect;
namespace db = happy::db;

class connect_store : public happy::test::store_fixture {
protected:
    void SetUp() override {
        open_store({"0001_auth", "0012_connect"});
        create_alice_and_bob();
    }
    template <class F>
    void write(F f) {
        db_->write_sync([&](db::tx& t) { f(t); });
    }
    struct account_row {
        std::string github, username, first, last;
        std::int64_t seq = 0;
    };
    account_row account(const std::string& id) {
        account_row r;
        db_->read_sync([&](db::tx& t) {
            t.query("SELECT github_user_id, username, first_name, last_name, seq FROM account WHERE id = ?", {id},
                    [&](const db::row_view& row) {
                        r.github = row.opt_str(0).value_or("<null>");
                        r.username = row.opt_str(1).value_or("<null>");
                        r.first = row.opt_str(2).value_or("<null>");
                        r.last = row.opt_str(3).value_or("<null>");
                        r.seq = row.i64(4);
                    });
        });
        return r;
    }
    int count(const std::string& sql) {
        std::int64_t n = 0;
        db_->read_sync([&](db::tx& t) { n = t.one_i64(sql).value_or(0); });
        return static_cast<int>(n);
    }
};

TEST_F(connect_store, vendor_tokens_upsert_get_list_delete) {
    // Binary ciphertext with NULs must survive the round trip.
    const std::string sealed1("\0\x01secret\0\xff", 10);
    const std::string sealed2("\0second", 7);
    write([&](db::tx& t) { vendor_token_upsert(t, alice_, "openai", sealed1, 10); });
    write([&](db::tx& t) { vendor_token_upsert(t, alice_, "gemini", sealed2, 11); });
    std::optional<std::string> got;
    db_->read_sync([&](db::tx& t) { got = vendor_token_get(t, alice_, "openai"); });
    EXPECT_EQ(got, sealed1);
    db_->read_sync([&](db::tx& t) { got = vendor_token_get(t, bob_, "openai"); });
    EXPECT_FALSE(got);

    // Upsert replaces the token of the same (account, vendor), keeps the row.
    write([&](db::tx& t) { vendor_token_upsert(t, alice_, "openai", sealed2, 12); });
    EXPECT_EQ(count("SELECT count(*) FROM service_account_token"), 2);
    std::vector<std::pair<std::string, std::string>> list;
    db_->read_sync([&](db::tx& t) { list = vendor_token_list(t, alice_); });
    ASSERT_EQ(list.size(), 2u);
    EXPECT_EQ(list[0], (std::pair<std::string, std::string>{"openai", sealed2}));
    EXPECT_EQ(list[1], (std::pair<std::string, std::string>{"gemini", sealed2}));

    bool deleted = false;
    write([&](db::tx& t) { deleted = vendor_token_delete(t, alice_, "openai"); });
    EXPECT_TRUE(deleted);
    write([&](db::tx& t) { deleted = vendor_token_delete(t, alice_, "openai"); });
    EXPECT_FALSE(deleted);
    db_->read_sync([&](db::tx& t) { list = vendor_token_list(t, bob_); });
    EXPECT_TRUE(list.empty());
}

TEST_F(connect_store, vendor_tokens_cascade_with_account) {
    write([&](db::tx& t) { vendor_token_upsert(t, alice_, "openai", std::string("\0x", 2), 10); });
    write([&](db::tx& t) { t.exec("DELETE FROM account WHERE id = ?", {alice_}); });
    EXPECT_EQ(count("SELECT count(*) FROM service_account_token"), 0);
}

TEST_F(connect_store, name_separate_like_upstream) {
    using P = std::pair<std::optional<std::string>, std::optional<std::string>>;
    EXPECT_EQ(name_separate(""), (P{std::nullopt, std::nullopt}));
    EXPECT_EQ(name_separate("   "), (P{std::nullopt, std::nullopt}));
    EXPECT_EQ(name_separate("Ada"), (P{"Ada", std::nullopt}));
    EXPECT_EQ(name_separate("  Ada   King \t Lovelace "), (P{"Ada", "King Lovelace"}));
    EXPECT_EQ(name_separate("Jos\xc3\xa9\xc2\xa0P\xc3\xa9rez"), (P{"Jos\xc3\xa9", "P\xc3\xa9rez"}));  // NBSP
}

TEST_F(connect_store, github_connect_disconnect_and_takeover) {
    github_profile p{"42", "octo", "Octo Cat", R"({"id":42,"login":"octo","name":"Octo Cat"})"};
    github_connect_result r;
    write([&](db::tx& t) { r = github_connect(t, alice_, p, std::string("\0tok", 4), 100); });
    ASSERT_TRUE(r.connected);
    EXPECT_FALSE(r.displaced);
    EXPECT_EQ(r.connected->seq, 1);
    EXPECT_EQ(r.first_name, "Octo");
    EXPECT_EQ(r.last_name, "Cat");
    auto a = account(alice_);
    EXPECT_EQ(a.github, "42");
    EXPECT_EQ(a.username, "octo");
    EXPECT_EQ(a.first, "Octo");
    EXPECT_EQ(a.last, "Cat");

    // Same GitHub user again: nothing changes, no seq.
    write([&](db::tx& t) { r = github_connect(t, alice_, p, "x", 101); });
    EXPECT_FALSE(r.connected);
    EXPECT_EQ(account(alice_).seq, 1);

    // Bob links the same GitHub user: Alice is disconnected first.
    write([&](db::tx& t) { r = github_connect(t, bob_, p, "y", 102); });
    ASSERT_TRUE(r.displaced);
    EXPECT_EQ(r.displaced->account_id, alice_);
    EXPECT_EQ(r.displaced->seq, 2);
    ASSERT_TRUE(r.connected);
    EXPECT_EQ(r.connected->account_id, bob_);
    a = account(alice_);
    EXPECT_EQ(a.github, "<null>");
    EXPECT_EQ(a.username, "<null>");
    EXPECT_EQ(a.first, "Octo");  // names stay (githubDisconnect clears only the link and username)
    EXPECT_EQ(account(bob_).github, "42");
    EXPECT_EQ(count("SELECT count(*) FROM github_user"), 1);

    std::optional<github_change> d;
    write([&](db::tx& t) { d = github_disconnect(t, bob_, 103); });
    ASSERT_TRUE(d);
    EXPECT_EQ(count("SELECT count(*) FROM github_user"), 0);
    write([&](db::tx& t) { d = github_disconnect(t, bob_, 104); });
    EXPECT_FALSE(d);
    EXPECT_THROW(write([&](db::tx& t) { github_connect(t, "nobody", p, "z", 105); }), std::exception);
}

TEST_F(connect_store, github_connect_fails_when_the_login_is_another_accounts_username) {
    write([&](db::tx& t) { t.exec("UPDATE account SET username = 'octo' WHERE id = ?", {bob_}); });
    github_profile p{"42", "octo", std::nullopt, R"({"id":42,"login":"octo"})"};
    try {
        write([&](db::tx& t) { github_connect(t, alice_, p, "x", 100); });
        ADD_FAILURE() << "github_connect succeeded";
    } catch (const db::error& e) {
        EXPECT_EQ(e.kind, db::error_kind::unique_violation);  // not retried: running it again cannot succeed
    }
    EXPECT_EQ(account(alice_).github, "<null>");
    EXPECT_EQ(account(alice_).seq, 0);
    EXPECT_EQ(count("SELECT count(*) FROM github_user"), 0);
}

TEST(github_webhook, signature_and_handlers) {
    const std::string secret = "It's a Secret to Everybody";
    const std::string payload = "Hello, World!";
    // GitHub's documented example delivery signature.
    EXPECT_EQ(github_webhook_signature(secret, payload),
              "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17");
    auto sig = [&](const std::string& body) { return github_webhook_signature(secret, body); };
    std::string ping = R"({"zen":"hi","hook_id":1})";
    EXPECT_EQ(github_webhook_receive(secret, "ping", "d1", ping, sig(ping)), webhook_result::received);
    EXPECT_EQ(github_webhook_receive(secret, "ping", "d1", ping, sig(ping + " ")), webhook_result::invalid_signature);
    EXPECT_EQ(github_webhook_receive("other", "ping", "d1", ping, sig(ping)), webhook_result::invalid_signature);
    EXPECT_EQ(github_webhook_receive(secret, "ping", "d1", ping, ""), webhook_result::invalid_signature);
    std::string upper = sig(ping);
    for (auto& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    EXPECT_EQ(github_webhook_receive(secret, "ping", "d1", ping, upper), webhook_result::invalid_signature);
    // Handlers that dereference missing fields throw upstream.
    std::string push_ok = R"({"repository":{"full_name":"a/b"},"pusher":{"name":"x"}})";
    std::string push_bad = R"({"repository":{"full_name":"a/b"}})";
    EXPECT_EQ(github_webhook_receive(secret, "push", "d", push_ok, sig(push_ok)), webhook_result::received);
    EXPECT_EQ(github_webhook_receive(secret, "push", "d", push_bad, sig(push_bad)), webhook_result::handler_error);
    std::string star_other = R"({"action":"other"})";
    EXPECT_EQ(github_webhook_receive(secret, "star", "d", star_other, sig(star_other)), webhook_result::received);
    std::string star_created = R"({"action":"created"})";
    EXPECT_EQ(github_webhook_receive(secret, "star", "d", star_created, sig(star_created)),
              webhook_result::handler_error);
    EXPECT_EQ(github_webhook_receive(secret, "ping", "d", "5", sig("5")), webhook_result::handler_error);
    EXPECT_EQ(github_webhook_receive(secret, "ping", "d", "null", sig("null")), webhook_result::handler_error);
    EXPECT_EQ(github_webhook_receive(secret, "ping", "d", "  ", sig("  ")), webhook_result::handler_error);
}

}  // namespace
