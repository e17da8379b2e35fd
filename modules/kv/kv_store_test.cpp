#include "modules/kv/kv_store.hpp"

#include <gtest/gtest.h>

#include "core/crypto/base64.hpp"
#include "modules/testing/store_fixture.hpp"

namespace {

using namespace happy::mod::kv;
using happy::crypto::base64_encode;

class kv_store : public happy::test::store_fixture {
protected:
    void SetUp() override {
        open_store({"0001_auth", "0005_kv"});
        create_alice_and_bob();
    }
    kv_mutate_result mutate(const std::string& account, std::vector<kv_mutation> m, std::int64_t now = 1000) {
        kv_mutate_result r;
        db_->write_sync([&](happy::db::tx& t) { r = kv_mutate(t, account, m, now); });
        return r;
    }
    std::optional<kv_item> get(const std::string& account, const std::string& key) {
        std::optional<kv_item> r;
        db_->read_sync([&](happy::db::tx& t) { r = kv_get(t, account, key); });
        return r;
    }
    std::vector<std::string> list_keys(const std::string& account, const std::string& prefix, int limit = 100) {
        std::vector<kv_item> items;
        db_->read_sync([&](happy::db::tx& t) { items = kv_list(t, account, prefix, limit); });
        std::vector<std::string> keys;
        for (auto& i : items) {
            keys.push_back(i.key);
        }
        return keys;
    }
};

TEST_F(kv_store, insert_update_delete_cycle_keeps_counting_versions) {
    auto r = mutate(alice_, {{"k", base64_encode("v1"), -1}});
    ASSERT_TRUE(r.success);
    ASSERT_EQ(r.results.size(), 1u);
    EXPECT_EQ(r.results[0], (std::pair<std::string, std::int64_t>{"k", 0}));
    auto g = get(alice_, "k");
    ASSERT_TRUE(g);
    EXPECT_EQ(g->value, "v1");
    EXPECT_EQ(g->version, 0);

    r = mutate(alice_, {{"k", base64_encode("v2"), 0}});
    ASSERT_TRUE(r.success);
    EXPECT_EQ(r.results[0].second, 1);
    EXPECT_EQ(get(alice_, "k")->value, "v2");

    // null deletes (row kept, version continues); "" deletes too.
    r = mutate(alice_, {{"k", std::nullopt, 1}});
    ASSERT_TRUE(r.success);
    EXPECT_EQ(r.results[0].second, 2);
    EXPECT_FALSE(get(alice_, "k"));
    r = mutate(alice_, {{"k", base64_encode("back"), 2}});
    EXPECT_EQ(r.results[0].second, 3);
    r = mutate(alice_, {{"k", std::string(), 3}});
    EXPECT_EQ(r.results[0].second, 4);
    EXPECT_FALSE(get(alice_, "k"));

    // A deleted key cannot be re-created with -1: its version is still counted.
    r = mutate(alice_, {{"k", base64_encode("x"), -1}});
    ASSERT_FALSE(r.success);
    ASSERT_EQ(r.errors.size(), 1u);
    EXPECT_EQ(r.errors[0].version, 4);
    EXPECT_FALSE(r.errors[0].value);
}

TEST_F(kv_store, any_mismatch_aborts_the_whole_batch_and_reports_every_conflict) {
    mutate(alice_, {{"a", base64_encode("A"), -1}, {"b", base64_encode("B"), -1}});
    auto r = mutate(alice_, {{"a", base64_encode("A2"), 0},
                             {"b", base64_encode("B2"), 5},
                             {"c", base64_encode("C"), 0},
                             {"a", base64_encode("A3"), 0.5}});
    ASSERT_FALSE(r.success);
    ASSERT_EQ(r.errors.size(), 3u);
    EXPECT_EQ(r.errors[0].key, "b");
    EXPECT_EQ(r.errors[0].version, 0);
    EXPECT_EQ(r.errors[0].value, std::optional<std::string>("B"));
    EXPECT_EQ(r.errors[1].key, "c");
    EXPECT_EQ(r.errors[1].version, -1);
    EXPECT_FALSE(r.errors[1].value);
    EXPECT_EQ(r.errors[2].key, "a");
    EXPECT_EQ(get(alice_, "a")->value, "A");  // nothing written
    EXPECT_EQ(get(alice_, "a")->version, 0);
}

TEST_F(kv_store, insert_decodes_leniently_update_strictly) {
    // Node's Buffer.from: URL-safe alphabet, garbage skipped; "!!!!" decodes to zero bytes (stored, not NULL).
    auto r = mutate(alice_, {{"u", std::string("-_8"), -1}, {"e", std::string("!!!!"), -1}});
    ASSERT_TRUE(r.success);
    EXPECT_EQ(get(alice_, "u")->value, std::string("\xfb\xff", 2));
    auto e = get(alice_, "e");
    ASSERT_TRUE(e);
    EXPECT_EQ(e->value, "");
    // The update path uses the strict decoder: the batch throws (the transaction rolls back).
    EXPECT_THROW(mutate(alice_, {{"u", std::string("-_8="), 0}}), invalid_base64);
    EXPECT_EQ(get(alice_, "u")->version, 0);
    // A stored empty value is reported as "" (truthy buffer upstream), not null.
    r = mutate(alice_, {{"e", base64_encode("x"), 7}});
    ASSERT_FALSE(r.success);
    EXPECT_EQ(r.errors[0].value, std::optional<std::string>(""));
}

TEST_F(kv_store, duplicate_keys_are_checked_against_the_state_before_the_batch) {
    EXPECT_ANY_THROW(mutate(alice_, {{"d", base64_encode("1"), -1}, {"d", base64_encode("2"), -1}}));
    EXPECT_FALSE(get(alice_, "d"));  // rolled back
    mutate(alice_, {{"d", base64_encode("1"), -1}});
    auto r = mutate(alice_, {{"d", base64_encode("2"), 0}, {"d", base64_encode("3"), 0}});
    ASSERT_TRUE(r.success);
    EXPECT_EQ(r.results[0].second, 1);
    EXPECT_EQ(r.results[1].second, 1);
    EXPECT_EQ(get(alice_, "d")->value, "3");
}

TEST_F(kv_store, accounts_are_separate) {
    mutate(alice_, {{"k", base64_encode("a"), -1}});
    EXPECT_FALSE(get(bob_, "k"));
    auto r = mutate(bob_, {{"k", base64_encode("b"), -1}});
    ASSERT_TRUE(r.success);
    EXPECT_EQ(get(alice_, "k")->value, "a");
    EXPECT_EQ(get(bob_, "k")->value, "b");
}

TEST_F(kv_store, list_orders_bytewise_skips_deleted_and_limits) {
    mutate(alice_, {{"b", base64_encode("1"), -1},
                    {"a", base64_encode("1"), -1},
                    {"B", base64_encode("1"), -1},
                    {"gone", base64_encode("1"), -1}});
    mutate(alice_, {{"gone", std::nullopt, 0}});
    mutate(bob_, {{"a0", base64_encode("1"), -1}});
    EXPECT_EQ(list_keys(alice_, ""), (std::vector<std::string>{"B", "a", "b"}));
    EXPECT_EQ(list_keys(alice_, "", 2), (std::vector<std::string>{"B", "a"}));
}

TEST_F(kv_store, list_prefix_is_an_unescaped_case_sensitive_like) {
    std::vector<kv_mutation> m;
    for (const char* k : {"settings/a", "settings/b", "Settings/c", "sXttings", "s%x", "s_x", "s*x", "s?x", "s[x]",
                          "other"}) {
        m.push_back({k, base64_encode("v"), -1});
    }
    ASSERT_TRUE(mutate(alice_, m).success);
    EXPECT_EQ(list_keys(alice_, "settings/"), (std::vector<std::string>{"settings/a", "settings/b"}));
    // `_` is a one-character wildcard (observed upstream): s_ttings matches settings/… and sXttings.
    EXPECT_EQ(list_keys(alice_, "s_ttings"), (std::vector<std::string>{"sXttings", "settings/a", "settings/b"}));
    // `%` matches any run.
    EXPECT_EQ(list_keys(alice_, "s%/b"), (std::vector<std::string>{"settings/b"}));
    // A backslash escapes: only the literal characters match.
    EXPECT_EQ(list_keys(alice_, "s\\_"), (std::vector<std::string>{"s_x"}));
    EXPECT_EQ(list_keys(alice_, "s\\%"), (std::vector<std::string>{"s%x"}));
    // GLOB metacharacters are literals in a LIKE pattern.
    EXPECT_EQ(list_keys(alice_, "s*"), (std::vector<std::string>{"s*x"}));
    EXPECT_EQ(list_keys(alice_, "s?"), (std::vector<std::string>{"s?x"}));
    EXPECT_EQ(list_keys(alice_, "s["), (std::vector<std::string>{"s[x]"}));
    EXPECT_EQ(kv_prefix_glob("a_b%c\\_d*"), "a?b*c_d[*]*");
    // A trailing backslash escapes the appended wildcard: an exact match on "<prefix>%".
    EXPECT_EQ(kv_prefix_glob("s\\"), "s%");
    EXPECT_EQ(list_keys(alice_, "s\\"), (std::vector<std::string>{}));
}

TEST_F(kv_store, bulk_get_returns_only_live_keys) {
    mutate(alice_, {{"a", base64_encode("1"), -1}, {"b", base64_encode("2"), -1}, {"c", base64_encode("3"), -1}});
    mutate(alice_, {{"b", std::nullopt, 0}});
    std::vector<kv_item> items;
    db_->read_sync([&](happy::db::tx& t) { items = kv_bulk_get(t, alice_, {"c", "b", "a", "zz", "a"}); });
    ASSERT_EQ(items.size(), 2u);
    EXPECT_EQ(items[0].key, "a");
    EXPECT_EQ(items[0].value, "1");
    EXPECT_EQ(items[1].key, "c");
    db_->read_sync([&](happy::db::tx& t) { items = kv_bulk_get(t, bob_, {"a"}); });
    EXPECT_TRUE(items.empty());
}

}  // namespace
