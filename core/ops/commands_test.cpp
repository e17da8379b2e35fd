#include "core/ops/commands.hpp"

#include <gtest/gtest.h>

#include <vector>

namespace happy::ops {
namespace {

template <class T>
std::string error_of(const parsed<T>& p) {
    return std::holds_alternative<std::string>(p) ? std::get<std::string>(p) : "";
}

TEST(commands, backup_takes_one_file_and_its_flags) {
    std::vector<std::string_view> a{"out.sqlite", "--include-secret", "--force"};
    auto p = parse_backup_args(a, false);
    ASSERT_TRUE(std::holds_alternative<backup_options>(p)) << error_of(p);
    auto o = std::get<backup_options>(p);
    EXPECT_EQ(o.file, "out.sqlite");
    EXPECT_TRUE(o.include_secret);
    EXPECT_TRUE(o.force);
    EXPECT_FALSE(o.json);
    EXPECT_TRUE(std::get<backup_options>(parse_backup_args(std::vector<std::string_view>{"x"}, true)).json);

    EXPECT_EQ(error_of(parse_backup_args({}, false)), "backup: FILE is missing");
    EXPECT_EQ(error_of(parse_backup_args(std::vector<std::string_view>{"a", "b"}, false)),
              "backup: one FILE only (got a and b)");
    EXPECT_EQ(error_of(parse_backup_args(std::vector<std::string_view>{"a", "--secret"}, false)),
              "backup: unknown flag --secret");
    EXPECT_TRUE(std::holds_alternative<std::monostate>(parse_backup_args(std::vector<std::string_view>{"--help"}, false)));
}

TEST(commands, restore_takes_one_file) {
    auto p = parse_restore_args(std::vector<std::string_view>{"b.sqlite", "--json"}, false);
    ASSERT_TRUE(std::holds_alternative<restore_options>(p));
    EXPECT_EQ(std::get<restore_options>(p).file, "b.sqlite");
    EXPECT_TRUE(std::get<restore_options>(p).json);
    EXPECT_EQ(error_of(parse_restore_args(std::vector<std::string_view>{"b", "--force"}, false)),
              "restore: unknown flag --force");
}

TEST(commands, doctor_timeout_is_bounded_milliseconds) {
    auto p = parse_doctor_args(std::vector<std::string_view>{"--timeout-ms", "1500"}, true);
    ASSERT_TRUE(std::holds_alternative<doctor_options>(p)) << error_of(p);
    EXPECT_EQ(std::get<doctor_options>(p).timeout.count(), 1500);
    EXPECT_TRUE(std::get<doctor_options>(p).json);
    EXPECT_EQ(std::get<doctor_options>(parse_doctor_args(std::vector<std::string_view>{"--timeout-ms=20"}, false)).timeout.count(), 20);
    EXPECT_NE(error_of(parse_doctor_args(std::vector<std::string_view>{"--timeout-ms", "0"}, false)), "");
    EXPECT_NE(error_of(parse_doctor_args(std::vector<std::string_view>{"--timeout-ms", "5s"}, false)), "");
    EXPECT_NE(error_of(parse_doctor_args(std::vector<std::string_view>{"--timeout-ms"}, false)), "");
    EXPECT_EQ(error_of(parse_doctor_args(std::vector<std::string_view>{"extra"}, false)), "doctor: unexpected argument extra");
}

}  // namespace
}  // namespace happy::ops
