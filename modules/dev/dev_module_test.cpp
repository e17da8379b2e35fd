#include "modules/dev/dev_module.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <cstdlib>
#include <ctime>

namespace {

using namespace happy::mod::dev;

class dev_log : public ::testing::Test {
protected:
    void SetUp() override {
        const char* tz = std::getenv("TZ");
        old_tz_ = tz ? tz : "";
        had_tz_ = tz != nullptr;
        ::setenv("TZ", "UTC", 1);
        ::tzset();
    }
    void TearDown() override {
        if (had_tz_) {
            ::setenv("TZ", old_tz_.c_str(), 1);
        } else {
            ::unsetenv("TZ");
        }
        ::tzset();
    }
    std::string old_tz_;
    bool had_tz_ = false;
};

TEST_F(dev_log, line_matches_pino_output) {
    // 2023-11-14T22:13:20.042Z
    const std::int64_t t = 1700000000042;
    std::string platform = "ios";
    EXPECT_EQ(dev_log_line("WARNING", "hello \"x\"", "mobile", &platform, "2023-11-14T22:13:20Z", t, 42, "box"),
              R"({"level":40,"time":1700000000042,"localTime":"22:13:20.042","pid":42,"hostname":"box","source":"mobile","platform":"ios","timestamp":"2023-11-14T22:13:20Z","localTime":"22:13:20.042","msg":"hello \"x\""})");
    EXPECT_EQ(dev_log_line("verbose", "m", "cli", nullptr, "ts", t, 1, "h"),
              R"({"level":30,"time":1700000000042,"localTime":"22:13:20.042","pid":1,"hostname":"h","source":"cli","timestamp":"ts","localTime":"22:13:20.042","msg":"m"})");
    EXPECT_NE(dev_log_line("Error", "m", "cli", nullptr, "ts", t, 1, "h").find(R"("level":50)"), std::string::npos);
    EXPECT_NE(dev_log_line("debug", "m", "cli", nullptr, "ts", t, 1, "h").find(R"("level":20)"), std::string::npos);
}

TEST_F(dev_log, file_name_is_local_start_time) { EXPECT_EQ(dev_log_file_name(1700000000042), "11-14-22-13-20.log"); }

}  // namespace
