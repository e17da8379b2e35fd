/// @file
/// Encryption at rest compatible with upstream's privacy-kit KeyTree (modules/encrypt.ts): a master key derived
/// from the master secret, per-path AES-256-GCM keys derived by an HMAC-SHA512 chain, and privacy-kit's
/// ciphertext layout. A database written by upstream with the same HANDY_MASTER_SECRET decrypts here, and back.
#pragma once
#include <array>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace happy::crypto {

/// HMAC-SHA512 / HMAC-SHA256 with a key of any length (libsodium).
std::array<unsigned char, 64> hmac_sha512(std::string_view key, std::string_view data);
std::array<unsigned char, 32> hmac_sha256(std::string_view key, std::string_view data);

/// Constant-time equality of two byte strings (false when the lengths differ).
bool equal_constant_time(std::string_view a, std::string_view b);

/// privacy-kit 0.0.25 KeyTree over a 64-byte master key.
class key_tree {
public:
    /// `master` is used as given (privacy-kit `new KeyTree(master)`).
    explicit key_tree(std::string master) : master_(std::move(master)) {}

    /// upstream encrypt.ts: `new KeyTree(deriveSecureKey({key: secret, usage}))`, i.e. master =
    /// PBKDF2-HMAC-SHA512(secret, usage, 210000 iterations, 64 bytes). Slow by design: derive once.
    static key_tree from_secret(std::string_view secret, std::string_view usage);

    /// The AES-256 key of `path`: state = master; for each element e of path + ["#aes256"]:
    /// I = HMAC-SHA512(state, 0x00 || e); state = I[32..64) while elements remain, the key is I[0..32) of the
    /// last. Throws std::invalid_argument for an element starting with '#' (privacy-kit throws too).
    std::array<unsigned char, 32> symmetric_key(const std::vector<std::string>& path) const;

    /// `0x00 || nonce(12) || AES-256-GCM(plaintext) || tag(16)` with a random nonce.
    std::string encrypt(const std::vector<std::string>& path, std::string_view plaintext) const;
    /// The same with a given 12-byte nonce (tests).
    std::string encrypt(const std::vector<std::string>& path, std::string_view plaintext,
                        std::string_view nonce) const;
    /// Plaintext, or nullopt when the layout byte, the length or the tag is wrong (privacy-kit throws).
    std::optional<std::string> decrypt(const std::vector<std::string>& path, std::string_view data) const;

private:
    std::string master_;
};

}  // namespace happy::crypto
