#include "core/http/tls.hpp"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>

namespace happy::http {
namespace {

namespace fs = std::filesystem;

std::int64_t now_s() {
    return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

/// A self-signed P-256 certificate for `cn` valid from now+from_s to now+to_s, written as PEM files.
struct pair_files {
    std::string cert, key;
};
pair_files make_pair(const fs::path& dir, const std::string& cn, long from_s, long to_s) {
    EVP_PKEY* pkey = EVP_EC_gen("P-256");
    X509* x = X509_new();
    ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
    X509_gmtime_adj(X509_getm_notBefore(x), from_s);
    X509_gmtime_adj(X509_getm_notAfter(x), to_s);
    X509_set_pubkey(x, pkey);
    X509_NAME* name = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0);
    X509_set_issuer_name(x, name);
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, x, x, nullptr, nullptr, 0);
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, NID_subject_alt_name, "DNS:localhost,IP:127.0.0.1");
    X509_add_ext(x, ext, -1);
    X509_EXTENSION_free(ext);
    X509_sign(x, pkey, EVP_sha256());
    pair_files out{(dir / (cn + ".pem")).string(), (dir / (cn + ".key")).string()};
    FILE* f = std::fopen(out.cert.c_str(), "w");
    PEM_write_X509(f, x);
    std::fclose(f);
    f = std::fopen(out.key.c_str(), "w");
    PEM_write_PrivateKey(f, pkey, nullptr, nullptr, 0, nullptr, nullptr);
    std::fclose(f);
    X509_free(x);
    EVP_PKEY_free(pkey);
    return out;
}

class tls : public ::testing::Test {
protected:
    void SetUp() override {
        dir_ = fs::temp_directory_path() / ("tls_test_" + std::to_string(::getpid()));
        fs::create_directories(dir_);
    }
    void TearDown() override { fs::remove_all(dir_); }
    std::string error_of(const pair_files& p) {
        try {
            tls_context_load(p.cert, p.key, now_s(), nullptr);
        } catch (const tls_error& e) {
            return e.what();
        }
        return "";
    }
    fs::path dir_;
};

TEST_F(tls, loads_a_valid_pair_and_describes_it) {
    auto p = make_pair(dir_, "good", -60, 86400 * 30);
    tls_certificate_info info;
    auto ctx = tls_context_load(p.cert, p.key, now_s(), &info);
    ASSERT_TRUE(ctx);
    EXPECT_NE(info.subject.find("CN=good"), std::string::npos) << info.subject;
    EXPECT_EQ(info.names, (std::vector<std::string>{"localhost", "127.0.0.1"}));
    EXPECT_EQ(info.chain_length, 1u);
    EXPECT_GT(info.not_after_s, now_s() + 86400 * 29);
}

TEST_F(tls, names_missing_mismatched_expired_and_future_certificates) {
    auto good = make_pair(dir_, "good", -60, 86400);
    auto other = make_pair(dir_, "other", -60, 86400);
    EXPECT_NE(error_of({(dir_ / "nope.pem").string(), good.key}).find("server.tls.cert_file: cannot read"),
              std::string::npos);
    EXPECT_NE(error_of({good.cert, ""}).find("server.tls.key_file is not set"), std::string::npos);
    EXPECT_NE(error_of({good.cert, other.key}).find("does not match the certificate"), std::string::npos);
    std::ofstream(dir_ / "garbage.pem") << "not a certificate\n";
    EXPECT_NE(error_of({(dir_ / "garbage.pem").string(), good.key}).find("holds no usable PEM certificate"),
              std::string::npos);
    EXPECT_NE(error_of({good.cert, (dir_ / "garbage.pem").string()}).find("holds no usable PEM private key"),
              std::string::npos);
    auto expired = make_pair(dir_, "expired", -86400 * 2, -86400);
    EXPECT_NE(error_of(expired).find("expired on"), std::string::npos) << error_of(expired);
    auto future = make_pair(dir_, "future", 86400, 86400 * 2);
    EXPECT_NE(error_of(future).find("is not valid before"), std::string::npos) << error_of(future);
}

TEST_F(tls, reload_swaps_the_context_and_keeps_it_on_failure) {
    auto first = make_pair(dir_, "first", -60, 86400);
    fs::copy_file(first.cert, dir_ / "live.pem");
    fs::copy_file(first.key, dir_ / "live.key");
    tls_context ctx((dir_ / "live.pem").string(), (dir_ / "live.key").string());
    auto before = ctx.current();
    auto second = make_pair(dir_, "second", -60, 86400);
    fs::copy_file(second.cert, dir_ / "live.pem", fs::copy_options::overwrite_existing);
    fs::copy_file(second.key, dir_ / "live.key", fs::copy_options::overwrite_existing);
    auto info = ctx.reload();
    EXPECT_NE(info.subject.find("CN=second"), std::string::npos);
    EXPECT_NE(ctx.current(), before);
    auto now = ctx.current();
    std::ofstream(dir_ / "live.key") << "broken\n";
    EXPECT_THROW(ctx.reload(), tls_error);
    EXPECT_EQ(ctx.current(), now);
    EXPECT_NE(ctx.info().subject.find("CN=second"), std::string::npos);
}

}  // namespace
}  // namespace happy::http
