#include "core/crypto/key_tree.hpp"

#include <gtest/gtest.h>

#include "core/crypto/base64.hpp"

namespace happy::crypto {
namespace {

std::string str(const auto& a) { return std::string(reinterpret_cast<const char*>(a.data()), a.size()); }

/// privacy-kit deriveSecretKeyTreeRoot(seed, usage).chainCode, the master its own tests use.
key_tree test_tree(std::string_view seed, std::string_view usage) {
    auto i = hmac_sha512(std::string(usage) + " Master Seed", seed);
    return key_tree(str(i).substr(32));
}

// Vectors from privacy-kit 0.0.25 src/modules/tree/keyTree.spec.ts.
TEST(KeyTree, PrivacyKitVectors) {
    auto tree = test_tree("some test seed", "test usage");
    EXPECT_EQ(hex_upper(str(tree.symmetric_key({"child1"}))),
              "F0F068E3D385210FF36440342EA073EDA97C7592B58A13A7C6CDF5448B789669");
    EXPECT_EQ(hex_upper(str(tree.symmetric_key({"child1", "child2"}))),
              "B632B72A54C4E8C4735D27954BB1385395F6FEB003B8BFD6C3FAAE57C238F454");
    auto upstream = hex_decode("0033930C22DD4609D03AD1F9B9FB4770AF015E718AB7AFB7D661D356770EE8AC25");
    ASSERT_TRUE(upstream);
    EXPECT_EQ(tree.decrypt({"child1", "child2"}, *upstream), "test");
    // Same nonce ⇒ the same bytes upstream produced.
    EXPECT_EQ(tree.encrypt({"child1", "child2"}, "test", upstream->substr(1, 12)), *upstream);
}

TEST(KeyTree, PrivacyKitSnapshot) {
    auto key = test_tree("test", "testcase").symmetric_key({"test", "path"});
    const unsigned char expected[] = {204, 200, 9,  210, 192, 96,  247, 86, 247, 115, 87,  84,  121, 113, 31, 63,
                                      39,  132, 22, 79,  142, 71,  89,  89, 158, 57,  109, 229, 125, 67,  100, 20};
    EXPECT_EQ(str(key), std::string(reinterpret_cast<const char*>(expected), sizeof expected));
}

TEST(KeyTree, RoundTripAndTamper) {
    auto tree = test_tree("test", "testcase");
    std::string plain("sk-\0secret", 10);
    auto a = tree.encrypt({"user", "u1", "vendors", "openai", "token"}, plain);
    auto b = tree.encrypt({"user", "u1", "vendors", "openai", "token"}, plain);
    EXPECT_NE(a, b);  // random nonce
    EXPECT_EQ(a.size(), 1 + 12 + plain.size() + 16);
    EXPECT_EQ(a[0], '\0');
    EXPECT_EQ(tree.decrypt({"user", "u1", "vendors", "openai", "token"}, a), plain);
    EXPECT_FALSE(tree.decrypt({"user", "u2", "vendors", "openai", "token"}, a));
    auto t = a;
    t[20] ^= 1;
    EXPECT_FALSE(tree.decrypt({"user", "u1", "vendors", "openai", "token"}, t));
    t = a;
    t[0] = 1;
    EXPECT_FALSE(tree.decrypt({"user", "u1", "vendors", "openai", "token"}, t));
    EXPECT_FALSE(tree.decrypt({"user", "u1", "vendors", "openai", "token"}, "short"));
    EXPECT_EQ(tree.decrypt({"x"}, tree.encrypt({"x"}, "")), "");
    EXPECT_THROW(tree.symmetric_key({"#aes256"}), std::invalid_argument);
}

TEST(Hmac, KnownAnswers) {
    // RFC 4231 test case 2.
    EXPECT_EQ(hex_lower(str(hmac_sha256("Jefe", "what do ya want for nothing?"))),
              "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    EXPECT_EQ(hex_lower(str(hmac_sha512("Jefe", "what do ya want for nothing?"))).substr(0, 32),
              "164b7a7bfcf819e2e395fbe73b56e0a3");
    EXPECT_TRUE(equal_constant_time("abc", "abc"));
    EXPECT_FALSE(equal_constant_time("abc", "abd"));
    EXPECT_FALSE(equal_constant_time("abc", "ab"));
    EXPECT_TRUE(equal_constant_time("", ""));
}

}  // namespace
}  // namespace happy::crypto
