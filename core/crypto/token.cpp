#include "core/crypto/token.hpp"

#include "core/crypto/base64.hpp"
#include "core/json/json_writer.hpp"

#include <sodium.h>

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include <algorithm>
#include <stdexcept>

namespace happy::crypto {

namespace {

constexpr int k_token_kdf_iterations = 210000;

// b64url('{"alg":"EdDSA"}'): jose emits the protected header exactly so.
constexpr std::string_view k_header_b64 = "eyJhbGciOiJFZERTQSJ9";

void ensure_sodium() {
    static const bool ready = sodium_init() >= 0;
    if (!ready) {
        throw std::runtime_error("libsodium initialisation failed");
    }
}

std::optional<boost::json::object> parse_object(std::string_view text) {
    boost::system::error_code ec;
    boost::json::value v = boost::json::parse(text, ec);
    if (ec || !v.is_object()) {
        return std::nullopt;
    }
    return std::move(v.as_object());
}

// Three-way comparison of a JSON number with `now`; nullopt when the value is
// not a number (jose rejects non-numeric iat/nbf/exp).
std::optional<int> compare_number(const boost::json::value& v, std::int64_t now) {
    if (v.is_int64()) {
        const std::int64_t x = v.get_int64();
        return x < now ? -1 : (x > now ? 1 : 0);
    }
    if (v.is_uint64()) {
        // Only reachable above INT64_MAX, so always later than any `now`.
        return 1;
    }
    if (v.is_double()) {
        // JavaScript compares as doubles; fractional seconds are legal.
        const double x = v.get_double();
        const double n = static_cast<double>(now);
        return x < n ? -1 : (x > n ? 1 : 0);
    }
    return std::nullopt;
}

}  // namespace

std::array<unsigned char, 64> pbkdf2_sha512(std::string_view password, std::string_view salt, int iterations) {
    // PBKDF2 with libsodium's HMAC-SHA-512 rather than OpenSSL: initialising OpenSSL 3's providers costs ~3.4 MB
    // of resident memory for one key derivation at start-up. dkLen (64) equals the hash length, so there is a
    // single block: T1 = U1 ^ U2 ^ … with U1 = HMAC(P, S || INT(1)), Ui = HMAC(P, Ui-1).
    // The keyed state is computed once and copied per iteration (two compressions per HMAC).
    if (sodium_init() < 0) {
        throw std::runtime_error("libsodium initialisation failed");
    }
    crypto_auth_hmacsha512_state keyed{};
    crypto_auth_hmacsha512_init(&keyed, reinterpret_cast<const unsigned char*>(password.data()), password.size());
    std::array<unsigned char, 64> out{};
    unsigned char u[64];
    const unsigned char block_index[4] = {0, 0, 0, 1};
    crypto_auth_hmacsha512_state st = keyed;
    crypto_auth_hmacsha512_update(&st, reinterpret_cast<const unsigned char*>(salt.data()), salt.size());
    crypto_auth_hmacsha512_update(&st, block_index, sizeof block_index);
    crypto_auth_hmacsha512_final(&st, u);
    std::copy(std::begin(u), std::end(u), out.begin());
    for (int i = 1; i < iterations; ++i) {
        st = keyed;
        crypto_auth_hmacsha512_update(&st, u, sizeof u);
        crypto_auth_hmacsha512_final(&st, u);
        for (std::size_t k = 0; k < out.size(); ++k) {
            out[k] ^= u[k];
        }
    }
    sodium_memzero(u, sizeof u);
    sodium_memzero(&st, sizeof st);
    sodium_memzero(&keyed, sizeof keyed);
    return out;
}

token_keys token_keys_derive(std::string_view master_secret, std::string_view salt) {
    ensure_sodium();
    auto derived = pbkdf2_sha512(master_secret, salt, k_token_kdf_iterations);
    token_keys keys{};
    std::copy_n(derived.begin(), keys.seed.size(), keys.seed.begin());
    sodium_memzero(derived.data(), derived.size());
    if (crypto_sign_seed_keypair(keys.public_key.data(), keys.secret_key.data(), keys.seed.data()) != 0) {
        throw std::runtime_error("Ed25519 key derivation failed");
    }
    return keys;
}

std::string token_mint(const token_keys& keys, std::string_view issuer, std::string_view sub,
                       const boost::json::object& extras, std::int64_t now_s, std::string_view jti,
                       std::optional<std::int64_t> exp_s) {
    ensure_sodium();
    // operator[] keeps an existing key where it is, exactly like assigning to
    // a property of the JS object `{sub, ...extras}` that jose builds up.
    boost::json::object payload;
    payload["sub"] = sub;
    for (const auto& kv : extras) {
        payload[kv.key()] = kv.value();
    }
    payload["sub"] = sub;  // an extra "sub" must not replace the subject (found by tests/fuzz/token_fuzz.cpp)
    payload["iat"] = now_s;
    payload["nbf"] = now_s;
    if (exp_s) {
        payload["exp"] = *exp_s;
    }
    payload["iss"] = issuer;
    payload["jti"] = jti;

    std::string token(k_header_b64);
    token.push_back('.');
    // As jose writes it (JSON.stringify): 1.5 not 1.5E0, and a non-finite extra becomes null, so that no minted
    // payload fails to parse back (found by tests/fuzz/token_fuzz.cpp: an extra of 1e3005).
    token += base64url_encode(json_text::stringify(payload));

    std::array<unsigned char, crypto_sign_BYTES> sig{};
    crypto_sign_detached(sig.data(), nullptr, reinterpret_cast<const unsigned char*>(token.data()), token.size(),
                         keys.secret_key.data());
    token.push_back('.');
    token += base64url_encode(std::string_view(reinterpret_cast<const char*>(sig.data()), sig.size()));
    return token;
}

std::optional<token_claims> token_verify(const token_keys& keys, std::string_view issuer, std::string_view token,
                                         std::int64_t now_s) {
    const auto dot1 = token.find('.');
    if (dot1 == std::string_view::npos) {
        return std::nullopt;
    }
    const auto dot2 = token.find('.', dot1 + 1);
    if (dot2 == std::string_view::npos || token.find('.', dot2 + 1) != std::string_view::npos) {
        return std::nullopt;
    }

    const auto header_raw = base64url_decode(token.substr(0, dot1));
    if (!header_raw) {
        return std::nullopt;
    }
    const auto header = parse_object(*header_raw);
    if (!header) {
        return std::nullopt;
    }
    const auto* alg = header->if_contains("alg");
    if (alg == nullptr || !alg->is_string() || (alg->get_string() != "EdDSA" && alg->get_string() != "Ed25519")) {
        return std::nullopt;
    }
    // jose only accepts `crit` listing extensions it understands; no token we
    // care about uses one, so refuse them all rather than half-implement b64.
    if (header->contains("crit")) {
        return std::nullopt;
    }

    const auto sig = base64url_decode(token.substr(dot2 + 1));
    if (!sig) {
        return std::nullopt;
    }
    const std::string_view public_key(reinterpret_cast<const char*>(keys.public_key.data()), keys.public_key.size());
    if (!ed25519_verify_detached(*sig, token.substr(0, dot2), public_key)) {
        return std::nullopt;
    }

    const auto payload_raw = base64url_decode(token.substr(dot1 + 1, dot2 - dot1 - 1));
    if (!payload_raw) {
        return std::nullopt;
    }
    auto payload = parse_object(*payload_raw);
    if (!payload) {
        return std::nullopt;
    }

    if (const auto* iat = payload->if_contains("iat")) {
        if (!compare_number(*iat, now_s)) {
            return std::nullopt;  // iat in the future is fine, a non-number is not
        }
    }
    if (const auto* nbf = payload->if_contains("nbf")) {
        const auto cmp = compare_number(*nbf, now_s);
        if (!cmp || *cmp > 0) {
            return std::nullopt;
        }
    }
    if (const auto* exp = payload->if_contains("exp")) {
        const auto cmp = compare_number(*exp, now_s);
        if (!cmp || *cmp <= 0) {
            return std::nullopt;
        }
    }
    const auto* iss = payload->if_contains("iss");
    if (iss == nullptr || !iss->is_string() || iss->get_string() != issuer) {
        return std::nullopt;
    }
    const auto* sub = payload->if_contains("sub");
    if (sub == nullptr || !sub->is_string()) {
        return std::nullopt;
    }

    token_claims claims;
    claims.sub = std::string(sub->get_string());
    claims.payload = std::move(*payload);
    return claims;
}

bool ed25519_verify_detached(std::string_view sig, std::string_view msg, std::string_view public_key) {
    if (sig.size() != crypto_sign_BYTES || public_key.size() != crypto_sign_PUBLICKEYBYTES) {
        return false;
    }
    ensure_sodium();
    return crypto_sign_verify_detached(reinterpret_cast<const unsigned char*>(sig.data()),
                                       reinterpret_cast<const unsigned char*>(msg.data()), msg.size(),
                                       reinterpret_cast<const unsigned char*>(public_key.data())) == 0;
}

}  // namespace happy::crypto
