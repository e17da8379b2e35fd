#include "core/app/build_info.hpp"

#include <gtest/gtest.h>

namespace happy::build_info {
namespace {

TEST(build_info, names_this_build) {
    EXPECT_FALSE(version().empty());
    // A commit from git (12 hex digits, maybe "-dirty") or "unknown" outside a repository.
    const auto c = commit();
    EXPECT_TRUE(c == "unknown" || (c.size() >= 12 && c.substr(0, 12).find_first_not_of("0123456789abcdef") ==
                                                          std::string_view::npos))
        << c;
    EXPECT_EQ(date().size(), 20u) << date();  // 2025-01-02T03:04:05Z
    EXPECT_EQ(date().back(), 'Z');
    EXPECT_TRUE(link() == "static" || link() == "dynamic");
    EXPECT_NE(modules().find("auth"), std::string_view::npos);
    EXPECT_NE(plugins().find("storage_sqlite"), std::string_view::npos);
    const auto t = text();
    EXPECT_EQ(t.rfind("happy-server " + std::string(version()) + "\n", 0), 0u) << t;
    for (const char* key : {"\ncommit: ", "\nbuilt: ", "\ntarget: ", "\ncompiler: ", "\nmodules: ", "\nplugins: ",
                            "\nlibraries: "}) {
        EXPECT_NE(t.find(key), std::string::npos) << key;
    }
    EXPECT_EQ(fields().at("commit").as_string(), c);
}

}  // namespace
}  // namespace happy::build_info
