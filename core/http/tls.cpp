#include "core/http/tls.hpp"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <boost/asio/ssl/context.hpp>
#include <boost/json/array.hpp>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <ctime>
#include <fmt/format.h>
#include <fstream>

#include "core/log/log.hpp"

namespace happy::http {

namespace ssl = boost::asio::ssl;

namespace {

/// The OpenSSL error queue as one line (and emptied).
std::string openssl_errors() {
    std::string out;
    while (unsigned long e = ERR_get_error()) {
        char buf[256];
        ERR_error_string_n(e, buf, sizeof buf);
        out += (out.empty() ? "" : "; ") + std::string(buf);
    }
    return out.empty() ? "unknown OpenSSL error" : out;
}

void check_readable(const std::string& key, const std::string& file) {
    if (file.empty()) {
        throw tls_error(key + " is not set");
    }
    std::ifstream in(file);
    if (!in) {
        throw tls_error(fmt::format("{}: cannot read {}: {}", key, file, std::strerror(errno)));
    }
}

std::int64_t asn1_time_s(const ASN1_TIME* t) {
    std::tm tm{};
    if (ASN1_TIME_to_tm(t, &tm) != 1) {
        return 0;
    }
    return static_cast<std::int64_t>(timegm(&tm));
}

std::string utc_date(std::int64_t s) {
    std::time_t t = static_cast<std::time_t>(s);
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S UTC", &tm);
    return buf;
}

tls_certificate_info describe(X509* leaf) {
    tls_certificate_info info;
    if (char* s = X509_NAME_oneline(X509_get_subject_name(leaf), nullptr, 0)) {
        info.subject = s;
        OPENSSL_free(s);
    }
    info.not_before_s = asn1_time_s(X509_get0_notBefore(leaf));
    info.not_after_s = asn1_time_s(X509_get0_notAfter(leaf));
    auto* names = static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(leaf, NID_subject_alt_name, nullptr, nullptr));
    if (names) {
        for (int i = 0; i < sk_GENERAL_NAME_num(names); ++i) {
            const GENERAL_NAME* n = sk_GENERAL_NAME_value(names, i);
            if (n->type == GEN_DNS) {
                const auto* d = n->d.dNSName;
                info.names.emplace_back(reinterpret_cast<const char*>(ASN1_STRING_get0_data(d)),
                                        static_cast<std::size_t>(ASN1_STRING_length(d)));
            } else if (n->type == GEN_IPADD) {
                const auto* ip = n->d.iPAddress;
                const unsigned char* b = ASN1_STRING_get0_data(ip);
                if (ASN1_STRING_length(ip) == 4) {
                    info.names.push_back(fmt::format("{}.{}.{}.{}", b[0], b[1], b[2], b[3]));
                } else {
                    info.names.push_back("IPv6 address");
                }
            }
        }
        GENERAL_NAMES_free(names);
    }
    return info;
}

}  // namespace

std::shared_ptr<ssl::context> tls_context_load(const std::string& cert_file, const std::string& key_file,
                                               std::int64_t now_s, tls_certificate_info* info) {
    check_readable("server.tls.cert_file", cert_file);
    check_readable("server.tls.key_file", key_file);
    auto ctx = std::make_shared<ssl::context>(ssl::context::tls_server);
    SSL_CTX* native = ctx->native_handle();
    ERR_clear_error();
    // TLS 1.2 and 1.3 only; for 1.2 the forward-secret AEAD suites of Mozilla's "intermediate" profile (1.3's
    // defaults are all AEAD). No renegotiation, no compression.
    SSL_CTX_set_min_proto_version(native, TLS1_2_VERSION);
    SSL_CTX_set_options(native, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION);
    if (SSL_CTX_set_cipher_list(native,
                                "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
                                "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
                                "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305") != 1) {
        throw tls_error("TLS cipher configuration refused: " + openssl_errors());
    }
    if (SSL_CTX_use_certificate_chain_file(native, cert_file.c_str()) != 1) {
        throw tls_error(fmt::format("server.tls.cert_file: {} holds no usable PEM certificate ({})", cert_file,
                                    openssl_errors()));
    }
    // The key is read on its own first, so that "not a key" and "not this certificate's key" get their own messages
    // (SSL_CTX_use_PrivateKey_file reports both as a load failure).
    EVP_PKEY* pkey = nullptr;
    if (BIO* bio = BIO_new_file(key_file.c_str(), "r")) {
        pkey = PEM_read_bio_PrivateKey(bio, nullptr, nullptr, nullptr);
        BIO_free(bio);
    }
    if (!pkey) {
        throw tls_error(fmt::format("server.tls.key_file: {} holds no usable PEM private key (an encrypted key is not "
                                    "supported) ({})",
                                    key_file, openssl_errors()));
    }
    X509* leaf = SSL_CTX_get0_certificate(native);
    bool matches = X509_check_private_key(leaf, pkey) == 1;
    bool used = matches && SSL_CTX_use_PrivateKey(native, pkey) == 1;
    EVP_PKEY_free(pkey);
    if (!matches) {
        ERR_clear_error();
        throw tls_error(fmt::format("server.tls.key_file: the key in {} does not match the certificate in {}",
                                    key_file, cert_file));
    }
    if (!used) {
        throw tls_error(fmt::format("server.tls.key_file: {} cannot be used ({})", key_file, openssl_errors()));
    }
    tls_certificate_info got = describe(leaf);
    STACK_OF(X509)* chain = nullptr;
    SSL_CTX_get0_chain_certs(native, &chain);
    got.chain_length = 1 + (chain ? static_cast<std::size_t>(sk_X509_num(chain)) : 0);
    if (got.not_after_s != 0 && got.not_after_s < now_s) {
        throw tls_error(fmt::format("server.tls.cert_file: the certificate in {} ({}) expired on {}", cert_file,
                                    got.subject, utc_date(got.not_after_s)));
    }
    if (got.not_before_s > now_s) {
        throw tls_error(fmt::format("server.tls.cert_file: the certificate in {} ({}) is not valid before {}",
                                    cert_file, got.subject, utc_date(got.not_before_s)));
    }
    // HTTP/1.1 is all this server speaks; ALPN lets clients that offer h2 know at once.
    SSL_CTX_set_alpn_select_cb(
        native,
        [](SSL*, const unsigned char** out, unsigned char* outlen, const unsigned char* in, unsigned int inlen,
           void*) -> int {
            static const unsigned char http11[] = {8, 'h', 't', 't', 'p', '/', '1', '.', '1'};
            unsigned char* sel = nullptr;
            if (SSL_select_next_proto(&sel, outlen, http11, sizeof http11, in, inlen) != OPENSSL_NPN_NEGOTIATED) {
                return SSL_TLSEXT_ERR_NOACK;
            }
            *out = sel;
            return SSL_TLSEXT_ERR_OK;
        },
        nullptr);
    if (info) {
        *info = std::move(got);
    }
    return ctx;
}

namespace {
std::int64_t unix_now() {
    return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
}
}  // namespace

tls_context::tls_context(std::string cert_file, std::string key_file)
    : cert_file_(std::move(cert_file)), key_file_(std::move(key_file)) {
    ctx_ = tls_context_load(cert_file_, key_file_, unix_now(), &info_);
}

tls_context::~tls_context() = default;

tls_certificate_info tls_context::reload() {
    tls_certificate_info info;
    auto fresh = tls_context_load(cert_file_, key_file_, unix_now(), &info);
    std::lock_guard lock(mutex_);
    ctx_ = std::move(fresh);
    info_ = info;
    return info;
}

std::shared_ptr<ssl::context> tls_context::current() const {
    std::lock_guard lock(mutex_);
    return ctx_;
}

tls_certificate_info tls_context::info() const {
    std::lock_guard lock(mutex_);
    return info_;
}

void tls_log_certificate(std::string_view what, const tls_certificate_info& info) {
    boost::json::array names;
    for (const auto& n : info.names) {
        names.emplace_back(n);
    }
    std::int64_t days_left = (info.not_after_s - unix_now()) / 86400;
    log::info(what, {{"subject", info.subject},
                     {"names", std::move(names)},
                     {"expires", utc_date(info.not_after_s)},
                     {"days_left", days_left},
                     {"chain", info.chain_length}});
    if (days_left < 14) {
        log::warn("the TLS certificate expires soon; renew it and send SIGHUP to load the new one",
                  {{"expires", utc_date(info.not_after_s)}, {"days_left", days_left}});
    }
}

void tls_reload_logged(tls_context& tls) {
    try {
        tls_log_certificate("TLS certificate reloaded", tls.reload());
    } catch (const tls_error& e) {
        log::error("TLS certificate reload failed; the previous certificate stays in use", {{"error", e.what()}});
    }
}

}  // namespace happy::http
