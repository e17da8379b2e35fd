#include "core/crypto/token.hpp"

#include "core/crypto/base64.hpp"

#include <gtest/gtest.h>

#include <limits>
#include <sodium.h>

#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <string>

namespace happy::crypto {
namespace {

constexpr std::string_view k_secret = "test-master-secret";
constexpr std::string_view k_handy_salt = "handy Persistent Token";
constexpr std::string_view k_github_salt = "github-happy Ephemeral Token";
constexpr std::int64_t k_now = 1700000000;

// From shared/spec/tokens.md (verified against upstream).
constexpr std::string_view k_spec_token =
    "eyJhbGciOiJFZERTQSJ9."
    "eyJzdWIiOiJjbXZlY3RvciIsImlhdCI6MTcwMDAwMDAwMCwibmJmIjoxNzAwMDAwMDAwLCJpc3MiOiJoYW5keSIsImp0"
    "aSI6IjAwMDAwMDAwLTAwMDAtNDAwMC04MDAwLTAwMDAwMDAwMDAwMCJ9."
    "i64k__E-8XR5NaCU1iAQzLRYjA0Iel_fSS2K_RwUotWCoA5kW58Vk7K4lIB5R_xfRuWllOy_SZt8NrkQKn2KDg";

// Minted by jose 6 SignJWT exactly as privacy-kit's generators call it:
// ({sub, session}) .setIssuedAt .setNotBefore .setIssuer .setJti
constexpr std::string_view k_jose_session_token =
    "eyJhbGciOiJFZERTQSJ9."
    "eyJzdWIiOiJjbXZlY3RvciIsInNlc3Npb24iOiJjbXRlcm1pbmFscmVxIiwiaWF0IjoxNzAwMDAwMDAwLCJuYmYiOjE3"
    "MDAwMDAwMDAsImlzcyI6ImhhbmR5IiwianRpIjoiMDAwMDAwMDAtMDAwMC00MDAwLTgwMDAtMDAwMDAwMDAwMDAwIn0."
    "F9DZ7qmcDqZV0aT-fFzDUWpgJN3145DCK0A7jx9H8q4q0eVGC0Ir40_3jKrfH8H2z9FyONP8-wA_O_FW7TJpAQ";

// ({sub}) .setIssuedAt .setNotBefore .setExpirationTime(+300) .setIssuer
// ("github-happy") .setJti: the ephemeral generator, showing `exp` sits
// between `nbf` and `iss`.
constexpr std::string_view k_jose_github_token =
    "eyJhbGciOiJFZERTQSJ9."
    "eyJzdWIiOiJjbWdpdGh1YnVzZXIiLCJpYXQiOjE3MDAwMDAwMDAsIm5iZiI6MTcwMDAwMDAwMCwiZXhwIjoxNzAwMDAw"
    "MzAwLCJpc3MiOiJnaXRodWItaGFwcHkiLCJqdGkiOiIxMTExMTExMS0yMjIyLTQzMzMtODQ0NC01NTU1NTU1NTU1NTUi"
    "fQ."
    "kar_ERWWMMVzMO73ai8rBTijeWMzrSj72Aqk51r2OSzJryAltzzgfwclqnO8y6XxLRJ5wRqIAH19BPqKvPj7BA";

// jose-signed, header {"alg":"Ed25519"}, payload {"sub":"x","iss":"handy"}.
constexpr std::string_view k_jose_ed25519_alg_token =
    "eyJhbGciOiJFZDI1NTE5In0.eyJzdWIiOiJ4IiwiaXNzIjoiaGFuZHkifQ."
    "wg6EmV66K7ZgcQxzOs_5Y0BR_Ud-MPNQmT8AXwpCfdqZKoy4LRlaqy7Ge2k8UpJFBU45Xw9r-tf3uaRYQmRgAw";

// 210k PBKDF2 iterations each: derive once per test binary.
const token_keys& handy_keys() {
    static const token_keys keys = token_keys_derive(k_secret, k_handy_salt);
    return keys;
}

const token_keys& github_keys() {
    static const token_keys keys = token_keys_derive(k_secret, k_github_salt);
    return keys;
}

std::string as_hex(const auto& bytes) {
    return hex_lower(std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
}

// Signs arbitrary header/payload text, to build tokens token_mint never would.
std::string sign_raw(const token_keys& keys, std::string_view header_json, std::string_view payload_json) {
    std::string input = base64url_encode(header_json) + "." + base64url_encode(payload_json);
    unsigned char sig[crypto_sign_BYTES];
    crypto_sign_detached(sig, nullptr, reinterpret_cast<const unsigned char*>(input.data()), input.size(),
                         keys.secret_key.data());
    return input + "." + base64url_encode(std::string_view(reinterpret_cast<char*>(sig), sizeof sig));
}

std::string sign_payload(std::string_view payload_json) {
    return sign_raw(handy_keys(), R"({"alg":"EdDSA"})", payload_json);
}

// Replaces the character at `pos` with a different base64url character.
std::string flip_char(std::string s, std::size_t pos) {
    s[pos] = s[pos] == 'A' ? 'B' : 'A';
    return s;
}

TEST(Pbkdf2Sha512, KnownVectors) {
    EXPECT_EQ(as_hex(pbkdf2_sha512("password", "salt", 1)),
              "867f70cf1ade02cff3752599a3a53dc4af34c7a669815ae5d513554e1c8cf252"
              "c02d470a285a0501bad999bfe943c08f050235d7d68b1da55e63f73b60a57fce");
    EXPECT_EQ(as_hex(pbkdf2_sha512("password", "salt", 2)),
              "e1d9c16aa681708a45f5c7c4e215ceb66e011a2e9f0040713f18aefdb866d53c"
              "f76cab2868a39b9f7840edce4fef5a82be67335c77a6068e04112754f27ccf4e");
}

TEST(TokenKeys, SpecVectors) {
    const auto& keys = handy_keys();
    EXPECT_EQ(as_hex(keys.seed), "8a4d3e06c079028cd5c0451b9d981e387b6313f8ab66af45a3179f6f7d141cc7");
    EXPECT_EQ(as_hex(keys.public_key), "c4cd5f21e5de528864eb985b57566bf50b92435ae8c09cd29f4ece7010529033");
    // libsodium secret key layout is seed || public key.
    EXPECT_EQ(as_hex(keys.secret_key), as_hex(keys.seed) + as_hex(keys.public_key));
    EXPECT_EQ(as_hex(github_keys().public_key), "41172dba07110247dfd217a3b1beb397e3b05a150101f1c87b19469841d1c188");
}

TEST(TokenMint, ReproducesSpecVectorByteExactly) {
    const std::string token =
        token_mint(handy_keys(), "handy", "cmvector", {}, k_now, "00000000-0000-4000-8000-000000000000");
    EXPECT_EQ(token, k_spec_token);
}

TEST(TokenMint, ReproducesJoseExtrasOrder) {
    boost::json::object extras;
    extras["session"] = "cmterminalreq";
    EXPECT_EQ(token_mint(handy_keys(), "handy", "cmvector", extras, k_now, "00000000-0000-4000-8000-000000000000"),
              k_jose_session_token);
}

TEST(TokenMint, ReproducesJoseEphemeralWithExp) {
    EXPECT_EQ(token_mint(github_keys(), "github-happy", "cmgithubuser", {}, k_now,
                         "11111111-2222-4333-8444-555555555555", k_now + 300),
              k_jose_github_token);
}

TEST(TokenMint, ExtraCollidingWithStandardClaimKeepsPositionTakesStandardValue) {
    boost::json::object extras;
    extras["iss"] = "evil";
    extras["a"] = "b";
    const std::string token = token_mint(handy_keys(), "handy", "u", extras, k_now, "j");
    const auto parts_payload = token.substr(token.find('.') + 1, token.rfind('.') - token.find('.') - 1);
    EXPECT_EQ(base64url_decode(parts_payload),
              R"({"sub":"u","iss":"handy","a":"b","iat":1700000000,"nbf":1700000000,"jti":"j"})");
}

// Found by tests/fuzz/token_fuzz.cpp: an extra of 1e3005 (infinite) was written as Boost.JSON writes it, which no
// JSON parser reads back, so the server refused its own token. jose writes extras with JSON.stringify.
TEST(TokenMint, NumbersAsJsonStringifyWritesThem) {
    boost::json::object extras;
    extras["x"] = 1.5;
    extras["y"] = std::numeric_limits<double>::infinity();
    const std::string token = token_mint(handy_keys(), "handy", "u", extras, k_now, "j");
    const auto parts_payload = token.substr(token.find('.') + 1, token.rfind('.') - token.find('.') - 1);
    EXPECT_EQ(base64url_decode(parts_payload),
              R"({"sub":"u","x":1.5,"y":null,"iat":1700000000,"nbf":1700000000,"iss":"handy","jti":"j"})");
    EXPECT_TRUE(token_verify(handy_keys(), "handy", token, k_now));
}

// Found by tests/fuzz/token_fuzz.cpp: an extra named "sub" replaced the subject, so the token named another account.
TEST(TokenMint, ExtraSubDoesNotReplaceTheSubject) {
    boost::json::object extras;
    extras["sub"] = "other";
    extras["a"] = "b";
    const std::string token = token_mint(handy_keys(), "handy", "u", extras, k_now, "j");
    const auto parts_payload = token.substr(token.find('.') + 1, token.rfind('.') - token.find('.') - 1);
    EXPECT_EQ(base64url_decode(parts_payload),
              R"({"sub":"u","a":"b","iat":1700000000,"nbf":1700000000,"iss":"handy","jti":"j"})");
    const auto claims = token_verify(handy_keys(), "handy", token, k_now);
    ASSERT_TRUE(claims);
    EXPECT_EQ(claims->sub, "u");
}

TEST(TokenVerify, AcceptsSpecVector) {
    const auto claims = token_verify(handy_keys(), "handy", k_spec_token, k_now);
    ASSERT_TRUE(claims);
    EXPECT_EQ(claims->sub, "cmvector");
    EXPECT_EQ(boost::json::serialize(claims->payload),
              R"({"sub":"cmvector","iat":1700000000,"nbf":1700000000,"iss":"handy",)"
              R"("jti":"00000000-0000-4000-8000-000000000000"})");
    // Tokens never expire without exp: still valid far in the future.
    EXPECT_TRUE(token_verify(handy_keys(), "handy", k_spec_token, k_now + 100LL * 365 * 86400));
}

TEST(TokenVerify, AcceptsJoseTokens) {
    const auto session = token_verify(handy_keys(), "handy", k_jose_session_token, k_now);
    ASSERT_TRUE(session);
    EXPECT_EQ(session->payload.at("session").as_string(), "cmterminalreq");

    const auto gh = token_verify(github_keys(), "github-happy", k_jose_github_token, k_now + 299);
    ASSERT_TRUE(gh);
    EXPECT_EQ(gh->sub, "cmgithubuser");

    const auto ed = token_verify(handy_keys(), "handy", k_jose_ed25519_alg_token, k_now);
    ASSERT_TRUE(ed);
    EXPECT_EQ(ed->sub, "x");
}

TEST(TokenVerify, RoundTrip) {
    boost::json::object extras;
    extras["session"] = "cm123";
    const std::string jti = "6f1c2b9e-0d4a-4b7e-9c1f-2a3b4c5d6e7f";
    const std::string token = token_mint(handy_keys(), "handy", "cmuser", extras, k_now, jti);
    const auto claims = token_verify(handy_keys(), "handy", token, k_now);
    ASSERT_TRUE(claims);
    EXPECT_EQ(claims->sub, "cmuser");
    EXPECT_EQ(claims->payload.at("session").as_string(), "cm123");
    EXPECT_EQ(claims->payload.at("jti").as_string(), jti);
    EXPECT_EQ(claims->payload.at("iat").as_int64(), k_now);
}

TEST(TokenVerify, RejectsWrongKeyOrIssuer) {
    EXPECT_FALSE(token_verify(github_keys(), "handy", k_spec_token, k_now));
    EXPECT_FALSE(token_verify(handy_keys(), "github-happy", k_spec_token, k_now));
    EXPECT_FALSE(token_verify(handy_keys(), "Handy", k_spec_token, k_now));
    EXPECT_FALSE(token_verify(handy_keys(), "", k_spec_token, k_now));
    // Missing or non-string iss.
    EXPECT_FALSE(token_verify(handy_keys(), "handy", sign_payload(R"({"sub":"u"})"), k_now));
    EXPECT_FALSE(token_verify(handy_keys(), "", sign_payload(R"({"sub":"u"})"), k_now));
    EXPECT_FALSE(token_verify(handy_keys(), "handy", sign_payload(R"({"sub":"u","iss":null})"), k_now));
    EXPECT_FALSE(token_verify(handy_keys(), "1", sign_payload(R"({"sub":"u","iss":1})"), k_now));
}

TEST(TokenVerify, RejectsTampering) {
    const std::string token(k_spec_token);
    const auto dot1 = token.find('.');
    const auto dot2 = token.rfind('.');

    // Every single-character change anywhere in the token must fail.
    for (std::size_t i = 0; i < token.size(); ++i) {
        if (token[i] == '.') {
            continue;
        }
        ASSERT_FALSE(token_verify(handy_keys(), "handy", flip_char(token, i), k_now)) << i;
    }

    // A well-formed payload swapped in under the original signature.
    const std::string forged_payload =
        base64url_encode(R"({"sub":"admin","iat":1700000000,"nbf":1700000000,"iss":"handy","jti":"x"})");
    EXPECT_FALSE(
        token_verify(handy_keys(), "handy", token.substr(0, dot1 + 1) + forged_payload + token.substr(dot2), k_now));
    // Signature truncated / extended / empty.
    EXPECT_FALSE(token_verify(handy_keys(), "handy", token.substr(0, token.size() - 2), k_now));
    EXPECT_FALSE(token_verify(handy_keys(), "handy", token + "AA", k_now));
    EXPECT_FALSE(token_verify(handy_keys(), "handy", token.substr(0, dot2 + 1), k_now));
    // Signature encoded with padding or the standard alphabet.
    EXPECT_FALSE(token_verify(handy_keys(), "handy", token + "==", k_now));
    std::string std_alphabet = token;
    for (std::size_t i = dot2; i < std_alphabet.size(); ++i) {
        if (std_alphabet[i] == '-') {
            std_alphabet[i] = '+';
        } else if (std_alphabet[i] == '_') {
            std_alphabet[i] = '/';
        }
    }
    ASSERT_NE(std_alphabet, token);
    EXPECT_FALSE(token_verify(handy_keys(), "handy", std_alphabet, k_now));
}

TEST(TokenVerify, TimeClaims) {
    // nbf: reject nbf > now, accept nbf == now.
    EXPECT_FALSE(token_verify(handy_keys(), "handy", k_spec_token, k_now - 1));
    EXPECT_TRUE(token_verify(handy_keys(), "handy", k_spec_token, k_now));

    // exp: reject exp <= now.
    const std::string with_exp = token_mint(handy_keys(), "handy", "u", {}, k_now, "j", k_now + 300);
    EXPECT_TRUE(token_verify(handy_keys(), "handy", with_exp, k_now));
    EXPECT_TRUE(token_verify(handy_keys(), "handy", with_exp, k_now + 299));
    EXPECT_FALSE(token_verify(handy_keys(), "handy", with_exp, k_now + 300));
    EXPECT_FALSE(token_verify(handy_keys(), "handy", with_exp, k_now + 301));

    // iat in the future is accepted (jose only checks it is a number).
    EXPECT_TRUE(
        token_verify(handy_keys(), "handy", sign_payload(R"({"sub":"u","iat":1800000000,"iss":"handy"})"), k_now));
    EXPECT_FALSE(token_verify(handy_keys(), "handy", sign_payload(R"({"sub":"u","iat":"1","iss":"handy"})"), k_now));
    EXPECT_FALSE(token_verify(handy_keys(), "handy", sign_payload(R"({"sub":"u","iat":null,"iss":"handy"})"), k_now));

    // Non-numeric nbf/exp are rejected; fractional and huge values compare
    // numerically.
    EXPECT_FALSE(token_verify(handy_keys(), "handy", sign_payload(R"({"sub":"u","nbf":"0","iss":"handy"})"), k_now));
    EXPECT_FALSE(
        token_verify(handy_keys(), "handy", sign_payload(R"({"sub":"u","exp":"9999999999","iss":"handy"})"), k_now));
    EXPECT_TRUE(
        token_verify(handy_keys(), "handy", sign_payload(R"({"sub":"u","nbf":1699999999.5,"iss":"handy"})"), k_now));
    EXPECT_FALSE(
        token_verify(handy_keys(), "handy", sign_payload(R"({"sub":"u","nbf":1700000000.5,"iss":"handy"})"), k_now));
    EXPECT_TRUE(
        token_verify(handy_keys(), "handy", sign_payload(R"({"sub":"u","exp":1700000000.5,"iss":"handy"})"), k_now));
    EXPECT_TRUE(token_verify(handy_keys(), "handy",
                             sign_payload(R"({"sub":"u","exp":18446744073709551615,"iss":"handy"})"), k_now));
    EXPECT_FALSE(token_verify(handy_keys(), "handy",
                              sign_payload(R"({"sub":"u","nbf":18446744073709551615,"iss":"handy"})"), k_now));
    EXPECT_FALSE(token_verify(handy_keys(), "handy", sign_payload(R"({"sub":"u","exp":-1,"iss":"handy"})"), k_now));
}

TEST(TokenVerify, SubMustBeString) {
    EXPECT_TRUE(token_verify(handy_keys(), "handy", sign_payload(R"({"sub":"","iss":"handy"})"), k_now));
    EXPECT_FALSE(token_verify(handy_keys(), "handy", sign_payload(R"({"iss":"handy"})"), k_now));
    EXPECT_FALSE(token_verify(handy_keys(), "handy", sign_payload(R"({"sub":5,"iss":"handy"})"), k_now));
    EXPECT_FALSE(token_verify(handy_keys(), "handy", sign_payload(R"({"sub":null,"iss":"handy"})"), k_now));
    EXPECT_FALSE(token_verify(handy_keys(), "handy", sign_payload(R"({"sub":["a"],"iss":"handy"})"), k_now));
}

TEST(TokenVerify, HeaderRules) {
    const std::string payload = R"({"sub":"u","iss":"handy"})";
    EXPECT_TRUE(token_verify(handy_keys(), "handy", sign_raw(handy_keys(), R"({"alg":"EdDSA"})", payload), k_now));
    EXPECT_TRUE(token_verify(handy_keys(), "handy", sign_raw(handy_keys(), R"({"alg":"Ed25519"})", payload), k_now));
    // Other header parameters are fine...
    EXPECT_TRUE(token_verify(handy_keys(), "handy",
                             sign_raw(handy_keys(), R"({"typ":"JWT","alg":"EdDSA","kid":"k"})", payload), k_now));
    // ...but not crit, and alg must be present and one of the two names.
    EXPECT_FALSE(token_verify(handy_keys(), "handy",
                              sign_raw(handy_keys(), R"({"alg":"EdDSA","crit":["b64"],"b64":true})", payload), k_now));
    EXPECT_FALSE(
        token_verify(handy_keys(), "handy", sign_raw(handy_keys(), R"({"alg":"EdDSA","crit":[]})", payload), k_now));
    EXPECT_FALSE(token_verify(handy_keys(), "handy", sign_raw(handy_keys(), R"({})", payload), k_now));
    EXPECT_FALSE(token_verify(handy_keys(), "handy", sign_raw(handy_keys(), R"({"alg":"none"})", payload), k_now));
    EXPECT_FALSE(token_verify(handy_keys(), "handy", sign_raw(handy_keys(), R"({"alg":"HS256"})", payload), k_now));
    EXPECT_FALSE(token_verify(handy_keys(), "handy", sign_raw(handy_keys(), R"({"alg":"eddsa"})", payload), k_now));
    EXPECT_FALSE(token_verify(handy_keys(), "handy", sign_raw(handy_keys(), R"({"alg":null})", payload), k_now));
    EXPECT_FALSE(token_verify(handy_keys(), "handy", sign_raw(handy_keys(), R"(["EdDSA"])", payload), k_now));
    EXPECT_FALSE(token_verify(handy_keys(), "handy", sign_raw(handy_keys(), R"("EdDSA")", payload), k_now));
    EXPECT_FALSE(token_verify(handy_keys(), "handy", sign_raw(handy_keys(), "not json", payload), k_now));
    EXPECT_FALSE(token_verify(handy_keys(), "handy", sign_raw(handy_keys(), "", payload), k_now));
}

TEST(TokenVerify, RejectsGarbage) {
    const auto& k = handy_keys();
    EXPECT_FALSE(token_verify(k, "handy", "", k_now));
    EXPECT_FALSE(token_verify(k, "handy", ".", k_now));
    EXPECT_FALSE(token_verify(k, "handy", "..", k_now));
    EXPECT_FALSE(token_verify(k, "handy", "...", k_now));
    EXPECT_FALSE(token_verify(k, "handy", "abc", k_now));
    EXPECT_FALSE(token_verify(k, "handy", "eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJ4In0", k_now));
    EXPECT_FALSE(token_verify(k, "handy", std::string(k_spec_token) + ".", k_now));
    EXPECT_FALSE(token_verify(k, "handy", std::string(k_spec_token) + ".AAAA", k_now));
    EXPECT_FALSE(token_verify(k, "handy", "." + std::string(k_spec_token), k_now));
    EXPECT_FALSE(token_verify(k, "handy", " " + std::string(k_spec_token), k_now));
    EXPECT_FALSE(token_verify(k, "handy", std::string(k_spec_token) + " ", k_now));
    EXPECT_FALSE(token_verify(k, "handy", "Bearer " + std::string(k_spec_token), k_now));
    EXPECT_FALSE(token_verify(k, "handy", "!!!.@@@.###", k_now));
    EXPECT_FALSE(token_verify(k, "handy", std::string("\0\0\0", 3), k_now));

    // Properly signed, but the payload is not a JSON object.
    EXPECT_FALSE(token_verify(k, "handy", sign_payload("not json"), k_now));
    EXPECT_FALSE(token_verify(k, "handy", sign_payload(""), k_now));
    EXPECT_FALSE(token_verify(k, "handy", sign_payload(R"(["sub","iss"])"), k_now));
    EXPECT_FALSE(token_verify(k, "handy", sign_payload(R"([{"sub":"u","iss":"handy"}])"), k_now));
    EXPECT_FALSE(token_verify(k, "handy", sign_payload("null"), k_now));
    EXPECT_FALSE(token_verify(k, "handy", sign_payload(R"("string")"), k_now));
    EXPECT_FALSE(token_verify(k, "handy", sign_payload("42"), k_now));
    EXPECT_FALSE(token_verify(k, "handy", sign_payload(R"({"sub":"u","iss":"handy"} trailing)"), k_now));
    EXPECT_FALSE(token_verify(k, "handy", sign_payload(R"({"sub":"u","iss":"handy")"), k_now));
}

TEST(Ed25519VerifyDetached, SizesAndValidity) {
    const auto& k = handy_keys();
    const std::string_view pk(reinterpret_cast<const char*>(k.public_key.data()), k.public_key.size());
    const std::string msg = "hello";
    unsigned char sig_bytes[crypto_sign_BYTES];
    crypto_sign_detached(sig_bytes, nullptr, reinterpret_cast<const unsigned char*>(msg.data()), msg.size(),
                         k.secret_key.data());
    const std::string sig(reinterpret_cast<char*>(sig_bytes), sizeof sig_bytes);

    EXPECT_TRUE(ed25519_verify_detached(sig, msg, pk));
    EXPECT_FALSE(ed25519_verify_detached(sig, "hellO", pk));
    EXPECT_FALSE(ed25519_verify_detached(flip_char(sig, 10), msg, pk));
    EXPECT_FALSE(ed25519_verify_detached(sig.substr(0, 63), msg, pk));
    EXPECT_FALSE(ed25519_verify_detached(sig + "x", msg, pk));
    EXPECT_FALSE(ed25519_verify_detached("", msg, pk));
    EXPECT_FALSE(ed25519_verify_detached(sig, msg, pk.substr(0, 31)));
    EXPECT_FALSE(ed25519_verify_detached(sig, msg, std::string(pk) + "x"));
    const std::string_view other_pk(reinterpret_cast<const char*>(github_keys().public_key.data()), 32);
    EXPECT_FALSE(ed25519_verify_detached(sig, msg, other_pk));
}

}  // namespace
}  // namespace happy::crypto
