// libFuzzer target for the account-token parser (core/crypto/token, core/auth/token_service): compact JWS
// splitting, base64url parts, the header and claim checks, and the verification cache. Random bytes almost never
// carry a valid Ed25519 signature, so most inputs are signed here with the server's own key first: that way the
// fuzzer reaches the header and claim rules (alg, crit, iss, sub, iat/nbf/exp of every JSON type), which only
// run after the signature check.
//
// The first byte picks the mode:
//   0  the rest is a token as a client would send it (Authorization: Bearer …, the socket handshake's auth.token);
//   1  the rest is `<header JSON>\n<payload JSON>`, signed with the server key, then verified;
//   2  the rest is `<sub>\n<extra claims JSON>`, minted as the server mints tokens, then verified: must pass.
#include <sodium.h>

#include <boost/json/parse.hpp>
#include <cctype>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "core/auth/token_service.hpp"
#include "core/crypto/base64.hpp"
#include "core/crypto/token.hpp"

namespace {

happy::auth::token_service& service() {
    static happy::auth::token_service s("fuzz master secret", 64);  // a small cache: eviction runs too
    return s;
}

std::string sign(std::string_view header, std::string_view payload) {
    std::string token = happy::crypto::base64url_encode(header) + "." + happy::crypto::base64url_encode(payload);
    unsigned char sig[crypto_sign_BYTES];
    crypto_sign_detached(sig, nullptr, reinterpret_cast<const unsigned char*>(token.data()), token.size(),
                         service().keys().secret_key.data());
    return token + "." + happy::crypto::base64url_encode(std::string_view(reinterpret_cast<char*>(sig), sizeof sig));
}

/// A verified token must really satisfy the claim rules, whichever path accepted it.
void check_claims(const happy::auth::verified_token& v) {
    const auto* sub = v.payload->if_contains("sub");
    const auto* iss = v.payload->if_contains("iss");
    if (!sub || !sub->is_string() || sub->get_string() != v.sub || !iss || !iss->is_string() ||
        iss->get_string() != happy::auth::token_service::issuer) {
        std::abort();
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) {
        return 0;
    }
    int mode = data[0] % 3;
    std::string_view rest(reinterpret_cast<const char*>(data + 1), size - 1);
    auto& tokens = service();
    if (mode == 0) {
        auto v = tokens.verify(rest);
        if (v) {
            check_claims(*v);
        }
        // The cache must answer as the first check did.
        if (tokens.verify(rest).has_value() != v.has_value()) {
            std::abort();
        }
        return 0;
    }
    auto nl = rest.find('\n');
    std::string_view first = rest.substr(0, nl);
    std::string_view second = nl == std::string_view::npos ? std::string_view() : rest.substr(nl + 1);
    if (mode == 1) {
        std::string token = sign(first, second);
        auto v = tokens.verify(token);
        if (v) {
            check_claims(*v);
            // One changed signature byte must be refused (the cache holds the untouched token only).
            std::string forged = token;
            forged[forged.size() - 2] = forged[forged.size() - 2] == 'A' ? 'B' : 'A';
            if (happy::crypto::token_verify(tokens.keys(), happy::auth::token_service::issuer, forged, 0) ||
                tokens.verify(forged)) {
                std::abort();
            }
        }
        return 0;
    }
    boost::system::error_code ec;
    auto extras = boost::json::parse(second, ec);
    if (ec || !extras.is_object()) {
        return 0;
    }
    // The server mints only for its own account ids (cuids: [a-z0-9]; tokens.md keeps claims to [A-Za-z0-9-]),
    // never for an empty one.
    if (first.empty()) {
        return 0;
    }
    for (char c : first) {
        if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-') {
            return 0;
        }
    }
    std::string token = tokens.mint(first, extras.get_object());
    auto v = tokens.verify(token);
    // An extra "exp" is kept (upstream spreads extras into the payload), so such a token may already be expired;
    // every other token the server mints it must accept.
    bool may_expire = extras.get_object().contains("exp");
    if ((!v && !may_expire) || (v && v->sub != first)) {
        std::abort();
    }
    if (!v) {
        return 0;
    }
    check_claims(*v);
    return 0;
}
