#pragma once

// Auth tokens compatible with upstream's privacy-kit persistent/ephemeral
// token generators (jose SignJWT + Ed25519). See shared/spec/tokens.md.

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <boost/json/object.hpp>

namespace happy::crypto {

struct token_keys {
    std::array<unsigned char, 32> seed;
    std::array<unsigned char, 32> public_key;
    std::array<unsigned char, 64> secret_key;  // libsodium layout: seed || public key
};

// PBKDF2-HMAC-SHA512 with a 64-byte output.
std::array<unsigned char, 64> pbkdf2_sha512(std::string_view password, std::string_view salt, int iterations);

// seed = pbkdf2_sha512(master_secret, salt, 210000)[0:32]; Ed25519 key pair
// from that seed. Slow by design (~0.2 s): derive once at start-up.
// Salts: "handy Persistent Token" (account tokens),
// "github-happy Ephemeral Token" (GitHub OAuth state).
token_keys token_keys_derive(std::string_view master_secret, std::string_view salt);

// Compact JWS with header {"alg":"EdDSA"} and payload in jose's key order:
// {"sub", ...extras, "iat", "nbf", ["exp",] "iss", "jti"}. An extra whose key
// collides with a standard claim keeps its position but takes the standard
// value, like the JS object spread it mirrors. Claim values should stay within
// [A-Za-z0-9-] because the mobile app decodes the payload with plain atob.
std::string token_mint(const token_keys& keys, std::string_view issuer, std::string_view sub,
                       const boost::json::object& extras, std::int64_t now_s, std::string_view jti,
                       std::optional<std::int64_t> exp_s = std::nullopt);

struct token_claims {
    std::string sub;
    boost::json::object payload;  // the whole payload, standard claims included
};

// Upstream's acceptance rules: valid Ed25519 signature, alg EdDSA/Ed25519,
// no `crit`, iss == issuer, nbf <= now, exp > now (no clock tolerance),
// numeric iat/nbf/exp when present, string sub. nullopt on any failure.
std::optional<token_claims> token_verify(const token_keys& keys, std::string_view issuer, std::string_view token,
                                         std::int64_t now_s);

// Ed25519 detached signature check; false (not a throw) on wrong sizes.
bool ed25519_verify_detached(std::string_view sig, std::string_view msg, std::string_view public_key);

}  // namespace happy::crypto
