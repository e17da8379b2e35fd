#include "modules/usage/usage_store.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <cstdlib>
#include <ctime>

#include "modules/sessions/sessions_store.hpp"
#include "modules/testing/store_fixture.hpp"

namespace {

namespace json = boost::json;
using namespace happy::mod::usage;

class usage_store : public happy::test::store_fixture {
protected:
    void SetUp() override {
        open_store({"0001_auth", "0002_sessions", "0008_usage"});
        create_alice_and_bob();
        db_->write_sync([&](happy::db::tx& t) {
            s1_ = happy::mod::sessions::session_create(t, alice_, "t1", "m", "", 1).id;
            s2_ = happy::mod::sessions::session_create(t, alice_, "t2", "m", "", 1).id;
            bob_s_ = happy::mod::sessions::session_create(t, bob_, "t1", "m", "", 1).id;
        });
    }
    usage_report upsert(const std::string& account, const std::string& sid, const std::string& key,
                        const std::string& data, std::int64_t now) {
        usage_report r;
        db_->write_sync([&](happy::db::tx& t) { r = usage_report_upsert(t, account, sid, key, data, now); });
        return r;
    }
    std::vector<usage_report> list(const std::string& account, usage_filter f = {}) {
        std::vector<usage_report> r;
        db_->read_sync([&](happy::db::tx& t) { r = usage_report_list(t, account, f); });
        return r;
    }
    std::string s1_, s2_, bob_s_;
};

TEST_F(usage_store, session_ownership) {
    db_->read_sync([&](happy::db::tx& t) {
        EXPECT_TRUE(usage_session_owned(t, alice_, s1_));
        EXPECT_FALSE(usage_session_owned(t, alice_, bob_s_));
        EXPECT_FALSE(usage_session_owned(t, alice_, "nope"));
    });
}

TEST_F(usage_store, upsert_per_account_session_and_key_keeps_id_and_created_at) {
    auto a = upsert(alice_, s1_, "claude-session", R"({"tokens":{"total":1},"cost":{"total":0.5}})", 1000);
    EXPECT_EQ(a.id.size(), 25u);
    EXPECT_EQ(a.created_at, 1000);
    EXPECT_EQ(a.updated_at, 1000);
    auto b = upsert(alice_, s1_, "claude-session", R"({"tokens":{"total":2},"cost":{"total":1}})", 2000);
    EXPECT_EQ(b.id, a.id);
    EXPECT_EQ(b.created_at, 1000);
    EXPECT_EQ(b.updated_at, 2000);
    auto other_key = upsert(alice_, s1_, "other", R"({"tokens":{"total":3},"cost":{"total":0}})", 3000);
    auto other_session = upsert(alice_, s2_, "claude-session", R"({"tokens":{"total":4},"cost":{"total":0}})", 4000);
    EXPECT_NE(other_key.id, a.id);
    EXPECT_NE(other_session.id, a.id);
    auto rows = list(alice_);
    ASSERT_EQ(rows.size(), 3u);
    EXPECT_EQ(rows[0].id, other_session.id);  // newest first
    EXPECT_EQ(rows[2].id, a.id);
    // As written on SQLite; PostgreSQL's JSONB (upstream's Json column) keeps its own key order.
    EXPECT_EQ(rows[2].data, db_->kind() == happy::db::dialect::sqlite ? R"({"tokens":{"total":2},"cost":{"total":1}})"
                                                                       : R"({"cost":{"total":1},"tokens":{"total":2}})");
    EXPECT_EQ(rows[2].session_id, s1_);
    EXPECT_TRUE(list(bob_).empty());
}

TEST_F(usage_store, list_filters_by_session_and_inclusive_time_window) {
    upsert(alice_, s1_, "k1", "{}", 1000);
    upsert(alice_, s1_, "k2", "{}", 2000);
    upsert(alice_, s2_, "k1", "{}", 3000);
    EXPECT_EQ(list(alice_, {.session_id = s1_}).size(), 2u);
    EXPECT_EQ(list(alice_, {.session_id = s2_}).size(), 1u);
    EXPECT_EQ(list(alice_, {.from_ms = 2000}).size(), 2u);
    EXPECT_EQ(list(alice_, {.to_ms = 2000}).size(), 2u);
    EXPECT_EQ(list(alice_, {.from_ms = 2000, .to_ms = 2000}).size(), 1u);
    EXPECT_EQ(list(alice_, {.session_id = s2_, .to_ms = 2999}).size(), 0u);
}

TEST_F(usage_store, session_delete_removes_its_reports) {
    upsert(alice_, s1_, "k", "{}", 1000);
    upsert(alice_, s2_, "k", "{}", 1000);
    bool deleted = false;
    db_->write_sync([&](happy::db::tx& t) { deleted = happy::mod::sessions::session_delete(t, alice_, s1_); });
    ASSERT_TRUE(deleted);
    auto rows = list(alice_);
    ASSERT_EQ(rows.size(), 1u);
    EXPECT_EQ(rows[0].session_id, s2_);
}

/// Sets TZ for one test and restores it afterwards.
class scoped_tz {
public:
    explicit scoped_tz(const char* tz) {
        if (const char* old = std::getenv("TZ")) {
            old_ = old;
        }
        ::setenv("TZ", tz, 1);
        ::tzset();
    }
    ~scoped_tz() {
        if (old_) {
            ::setenv("TZ", old_->c_str(), 1);
        } else {
            ::unsetenv("TZ");
        }
        ::tzset();
    }

private:
    std::optional<std::string> old_;
};

TEST(usage_bucket, truncates_in_local_time) {
    // 2025-03-04T05:06:07.890Z
    const std::int64_t t = 1741064767890;
    {
        scoped_tz utc("UTC0");
        EXPECT_EQ(usage_bucket_start(t, usage_group::hour), 1741064400);  // 05:00Z
        EXPECT_EQ(usage_bucket_start(t, usage_group::day), 1741046400);   // 00:00Z
    }
    {
        // UTC+5:30: local 10:36:07 → hour bucket 10:00 local = 04:30Z, day bucket 00:00 local = 03-03T18:30Z.
        scoped_tz india("IST-5:30");
        EXPECT_EQ(usage_bucket_start(t, usage_group::hour), 1741062600);
        EXPECT_EQ(usage_bucket_start(t, usage_group::day), 1741026600);
    }
}

TEST(usage_aggregate, sums_per_bucket_in_js_key_order) {
    scoped_tz utc("UTC0");
    const std::int64_t day1 = 1741046400'000, day2 = day1 + 86'400'000;
    std::vector<usage_report> newest_first = {
        {"r3", "k", "s", R"({"tokens":{"total":5,"zeta":1,"input":2},"cost":{"total":0.25}})", day2 + 10, day2 + 10},
        // The CLI's key order; stored and read back in JSONB order (input, total, output, cache_read, cache_creation).
        {"r2", "k", "s",
         R"({"tokens":{"total":10,"input":3,"output":4,"cache_creation":1,"cache_read":2},"cost":{"total":0.5,"input":0.25,"output":0.25}})",
         day1 + 7200'000, day1 + 7200'000},
        {"r1", "k", "s",
         R"({"tokens":{"total":20,"input":6,"output":8,"cache_creation":2,"cache_read":4,"note":"x","10":1,"9":2},"cost":{"total":1,"input":0.5,"output":0.5,"nested":{"a":1}}})",
         day1 + 10, day1 + 10},
    };
    auto day = usage_aggregate(newest_first, usage_group::day);
    EXPECT_EQ(json::serialize(day),
              R"({"usage":[)"
              R"({"timestamp":1741046400,"tokens":{"9":2,"10":1,"input":9,"total":30,"output":12,"cache_read":6,"cache_creation":3},)"
              R"("cost":{"input":7.5E-1,"total":1.5E0,"output":7.5E-1},"reportCount":2},)"
              R"({"timestamp":1741132800,"tokens":{"zeta":1,"input":2,"total":5},"cost":{"total":2.5E-1},"reportCount":1}],)"
              R"("groupBy":"day","totalReports":3})");
    auto hour = usage_aggregate(newest_first, usage_group::hour);
    EXPECT_EQ(hour["groupBy"], "hour");
    ASSERT_EQ(hour["usage"].as_array().size(), 3u);
    EXPECT_EQ(hour["usage"].as_array()[0].as_object().at("timestamp"), 1741046400);
    EXPECT_EQ(hour["usage"].as_array()[1].as_object().at("timestamp"), 1741046400 + 7200);
    EXPECT_EQ(hour["usage"].as_array()[1].as_object().at("reportCount"), 1);

    auto empty = usage_aggregate({}, usage_group::day);
    EXPECT_EQ(json::serialize(empty), R"({"usage":[],"groupBy":"day","totalReports":0})");
}

}  // namespace
