#include "core/crypto/ids.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <unordered_set>
#include <vector>

namespace happy::crypto {
namespace {

bool is_base36_lower(char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z');
}

std::uint64_t parse_base36(const std::string& s) {
    std::uint64_t v = 0;
    for (const char c : s) {
        v = v * 36 + static_cast<std::uint64_t>(c <= '9' ? c - '0' : c - 'a' + 10);
    }
    return v;
}

TEST(RandomBytes, FillsBuffer) {
    std::array<unsigned char, 64> a{};
    std::array<unsigned char, 64> b{};
    random_bytes(a.data(), a.size());
    random_bytes(b.data(), b.size());
    EXPECT_NE(a, b);           // 2^-512 chance of a false failure
    random_bytes(nullptr, 0);  // n == 0 must be harmless
}

TEST(Cuid, HasPrismaV1Format) {
    const auto before_ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
            .count();
    const std::string id = cuid();
    const auto after_ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
            .count();
    ASSERT_EQ(id.size(), 25u) << id;
    EXPECT_EQ(id[0], 'c');
    EXPECT_TRUE(std::all_of(id.begin(), id.end(), is_base36_lower)) << id;
    const auto ts = static_cast<std::int64_t>(parse_base36(id.substr(1, 8)));
    EXPECT_GE(ts, before_ms);
    EXPECT_LE(ts, after_ms);
}

TEST(Cuid, UniqueAndRoughlyOrderedOver100k) {
    constexpr std::size_t n = 100000;
    std::vector<std::string> ids;
    ids.reserve(n);
    for (std::size_t i = 0; i < n; ++i) {
        ids.push_back(cuid());
    }
    std::unordered_set<std::string> seen(ids.begin(), ids.end());
    EXPECT_EQ(seen.size(), n);
    for (std::size_t i = 1; i < n; ++i) {
        ASSERT_EQ(ids[i].size(), 25u);
        // Timestamp prefix never goes backwards within a process (barring
        // a wall-clock step, which a test box does not do).
        ASSERT_LE(ids[i - 1].substr(0, 9), ids[i].substr(0, 9)) << i;
        // Same fingerprint for the whole process.
        ASSERT_EQ(ids[i].substr(13, 4), ids[0].substr(13, 4));
        // Counter advances by one (mod 36^4) between consecutive calls.
        const auto prev = parse_base36(ids[i - 1].substr(9, 4));
        const auto cur = parse_base36(ids[i].substr(9, 4));
        ASSERT_EQ(cur, (prev + 1) % (36u * 36u * 36u * 36u)) << i;
    }
}

TEST(Cuid, ThreadSafe) {
    constexpr int threads = 8;
    constexpr int per_thread = 5000;
    std::mutex mu;
    std::set<std::string> all;
    std::vector<std::thread> pool;
    for (int t = 0; t < threads; ++t) {
        pool.emplace_back([&] {
            std::vector<std::string> local;
            local.reserve(per_thread);
            for (int i = 0; i < per_thread; ++i) {
                local.push_back(cuid());
            }
            std::lock_guard lock(mu);
            all.insert(local.begin(), local.end());
        });
    }
    for (auto& th : pool) {
        th.join();
    }
    EXPECT_EQ(all.size(), static_cast<std::size_t>(threads * per_thread));
}

TEST(UuidV4, HasCanonicalFormat) {
    std::unordered_set<std::string> seen;
    for (int i = 0; i < 1000; ++i) {
        const std::string u = uuid_v4();
        ASSERT_EQ(u.size(), 36u) << u;
        for (std::size_t j = 0; j < u.size(); ++j) {
            if (j == 8 || j == 13 || j == 18 || j == 23) {
                ASSERT_EQ(u[j], '-') << u;
            } else {
                ASSERT_TRUE((u[j] >= '0' && u[j] <= '9') || (u[j] >= 'a' && u[j] <= 'f')) << u;
            }
        }
        EXPECT_EQ(u[14], '4') << u;
        EXPECT_NE(std::string("89ab").find(u[19]), std::string::npos) << u;
        seen.insert(u);
    }
    EXPECT_EQ(seen.size(), 1000u);
}

TEST(RandomAlnum, LengthAndAlphabet) {
    EXPECT_EQ(random_alnum(0), "");
    for (const std::size_t n : {1u, 7u, 32u, 63u, 64u, 65u, 1000u}) {
        const std::string s = random_alnum(n);
        ASSERT_EQ(s.size(), n);
        EXPECT_TRUE(std::all_of(s.begin(), s.end(), [](char c) {
            return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
        })) << s;
    }
}

TEST(RandomAlnum, RoughlyUniform) {
    // 620k draws: each symbol expects 10000 (sd ~ 99). A 5% band is ~50 sd,
    // loose enough never to flake, tight enough to catch a modulo bias
    // toward the first symbols (which would show up as +25%).
    const std::string s = random_alnum(620000);
    std::array<int, 256> counts{};
    for (const char c : s) {
        ++counts[static_cast<unsigned char>(c)];
    }
    const std::string alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    for (const char c : alphabet) {
        EXPECT_GT(counts[static_cast<unsigned char>(c)], 9500) << c;
        EXPECT_LT(counts[static_cast<unsigned char>(c)], 10500) << c;
    }
}

}  // namespace
}  // namespace happy::crypto
