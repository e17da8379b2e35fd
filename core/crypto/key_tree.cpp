#include "core/crypto/key_tree.hpp"

#include <openssl/evp.h>
#include <sodium.h>

#include <memory>
#include <stdexcept>

#include "core/crypto/ids.hpp"
#include "core/crypto/token.hpp"

namespace happy::crypto {

namespace {

constexpr int k_kdf_iterations = 210000;
constexpr unsigned char k_package_aes = 0;  // privacy-kit PACKAGE_AES_BUFFER
constexpr std::size_t k_nonce = 12;
constexpr std::size_t k_tag = 16;

const unsigned char* bytes(std::string_view s) { return reinterpret_cast<const unsigned char*>(s.data()); }

struct cipher_ctx_free {
    void operator()(EVP_CIPHER_CTX* c) const { EVP_CIPHER_CTX_free(c); }
};
using cipher_ctx = std::unique_ptr<EVP_CIPHER_CTX, cipher_ctx_free>;

cipher_ctx new_ctx() {
    cipher_ctx c(EVP_CIPHER_CTX_new());
    if (!c) {
        throw std::runtime_error("EVP_CIPHER_CTX_new failed");
    }
    return c;
}

}  // namespace

std::array<unsigned char, 64> hmac_sha512(std::string_view key, std::string_view data) {
    std::array<unsigned char, 64> out{};
    crypto_auth_hmacsha512_state st;
    crypto_auth_hmacsha512_init(&st, bytes(key), key.size());
    crypto_auth_hmacsha512_update(&st, bytes(data), data.size());
    crypto_auth_hmacsha512_final(&st, out.data());
    return out;
}

std::array<unsigned char, 32> hmac_sha256(std::string_view key, std::string_view data) {
    std::array<unsigned char, 32> out{};
    crypto_auth_hmacsha256_state st;
    crypto_auth_hmacsha256_init(&st, bytes(key), key.size());
    crypto_auth_hmacsha256_update(&st, bytes(data), data.size());
    crypto_auth_hmacsha256_final(&st, out.data());
    return out;
}

bool equal_constant_time(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) {
        return false;
    }
    return a.empty() || sodium_memcmp(a.data(), b.data(), a.size()) == 0;
}

key_tree key_tree::from_secret(std::string_view secret, std::string_view usage) {
    auto m = pbkdf2_sha512(secret, usage, k_kdf_iterations);
    return key_tree(std::string(reinterpret_cast<const char*>(m.data()), m.size()));
}

std::array<unsigned char, 32> key_tree::symmetric_key(const std::vector<std::string>& path) const {
    for (const auto& p : path) {
        if (!p.empty() && p.front() == '#') {
            throw std::invalid_argument("Path element cannot start with #");
        }
    }
    std::string state = master_;
    std::array<unsigned char, 64> i{};
    auto step = [&](std::string_view element) {
        std::string data(1, '\0');
        data += element;
        i = hmac_sha512(state, data);
        state.assign(reinterpret_cast<const char*>(i.data()) + 32, 32);
    };
    for (const auto& p : path) {
        step(p);
    }
    step("#aes256");
    std::array<unsigned char, 32> key{};
    std::copy(i.begin(), i.begin() + 32, key.begin());
    sodium_memzero(i.data(), i.size());
    return key;
}

std::string key_tree::encrypt(const std::vector<std::string>& path, std::string_view plaintext) const {
    unsigned char nonce[k_nonce];
    random_bytes(nonce, sizeof nonce);
    return encrypt(path, plaintext, std::string_view(reinterpret_cast<const char*>(nonce), sizeof nonce));
}

std::string key_tree::encrypt(const std::vector<std::string>& path, std::string_view plaintext,
                              std::string_view nonce) const {
    if (nonce.size() != k_nonce) {
        throw std::invalid_argument("AES-GCM nonce must be 12 bytes");
    }
    auto key = symmetric_key(path);
    std::string out(1 + k_nonce + plaintext.size() + k_tag, '\0');
    out[0] = static_cast<char>(k_package_aes);
    std::copy(nonce.begin(), nonce.end(), out.begin() + 1);
    auto* dst = reinterpret_cast<unsigned char*>(out.data()) + 1 + k_nonce;
    auto c = new_ctx();
    int len = 0;
    int fin = 0;
    bool ok = EVP_EncryptInit_ex(c.get(), EVP_aes_256_gcm(), nullptr, nullptr, nullptr) == 1 &&
              EVP_CIPHER_CTX_ctrl(c.get(), EVP_CTRL_GCM_SET_IVLEN, static_cast<int>(k_nonce), nullptr) == 1 &&
              EVP_EncryptInit_ex(c.get(), nullptr, nullptr, key.data(), bytes(nonce)) == 1 &&
              EVP_EncryptUpdate(c.get(), dst, &len, bytes(plaintext), static_cast<int>(plaintext.size())) == 1 &&
              EVP_EncryptFinal_ex(c.get(), dst + len, &fin) == 1 &&
              EVP_CIPHER_CTX_ctrl(c.get(), EVP_CTRL_GCM_GET_TAG, static_cast<int>(k_tag),
                                  dst + plaintext.size()) == 1;
    sodium_memzero(key.data(), key.size());
    if (!ok) {
        throw std::runtime_error("AES-256-GCM encryption failed");
    }
    return out;
}

std::optional<std::string> key_tree::decrypt(const std::vector<std::string>& path, std::string_view data) const {
    if (data.size() < 1 + k_nonce + k_tag || static_cast<unsigned char>(data[0]) != k_package_aes) {
        return std::nullopt;
    }
    auto key = symmetric_key(path);
    std::string_view nonce = data.substr(1, k_nonce);
    std::string_view body = data.substr(1 + k_nonce, data.size() - 1 - k_nonce - k_tag);
    std::string tag(data.substr(data.size() - k_tag));
    std::string out(body.size(), '\0');
    auto* dst = reinterpret_cast<unsigned char*>(out.data());
    auto c = new_ctx();
    int len = 0;
    int fin = 0;
    bool ok = EVP_DecryptInit_ex(c.get(), EVP_aes_256_gcm(), nullptr, nullptr, nullptr) == 1 &&
              EVP_CIPHER_CTX_ctrl(c.get(), EVP_CTRL_GCM_SET_IVLEN, static_cast<int>(k_nonce), nullptr) == 1 &&
              EVP_DecryptInit_ex(c.get(), nullptr, nullptr, key.data(), bytes(nonce)) == 1 &&
              EVP_DecryptUpdate(c.get(), dst, &len, bytes(body), static_cast<int>(body.size())) == 1 &&
              EVP_CIPHER_CTX_ctrl(c.get(), EVP_CTRL_GCM_SET_TAG, static_cast<int>(k_tag), tag.data()) == 1 &&
              EVP_DecryptFinal_ex(c.get(), dst + len, &fin) == 1;
    sodium_memzero(key.data(), key.size());
    if (!ok) {
        return std::nullopt;
    }
    return out;
}

}  // namespace happy::crypto
