#include "core/crypto/ids.hpp"

#include <sodium.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <stdexcept>

namespace happy::crypto {

namespace {

void ensure_sodium() {
    // Function-local static: initialised exactly once even under concurrent
    // first calls. sodium_init() returns 1 when already initialised.
    static const bool ready = sodium_init() >= 0;
    if (!ready) {
        throw std::runtime_error("libsodium initialisation failed");
    }
}

constexpr std::uint32_t k_cuid_block = 36u * 36u * 36u * 36u;  // one 4-char base36 block
constexpr char k_base36[] = "0123456789abcdefghijklmnopqrstuvwxyz";

// Base36 of `value`, left-padded with '0' and truncated to the last `width`
// chars, like cuid's pad(): "('000000000' + s).substr(-width)".
void append_base36(std::string& out, std::uint64_t value, std::size_t width) {
    char buf[16];
    std::size_t len = 0;
    do {
        buf[len++] = k_base36[value % 36];
        value /= 36;
    } while (value != 0 && len < sizeof buf);
    for (std::size_t i = len; i < width; ++i) {
        out.push_back('0');
    }
    const std::size_t keep = len < width ? len : width;
    for (std::size_t i = 0; i < keep; ++i) {
        out.push_back(buf[keep - 1 - i]);
    }
}

// cuid's node fingerprint: 2 base36 chars of the pid + 2 of a hostname sum.
// It only reduces cross-host collisions; the random block carries the rest.
std::string make_fingerprint() {
    std::string fp;
    append_base36(fp, static_cast<std::uint64_t>(::getpid()), 2);
    char host[256] = {};
    if (::gethostname(host, sizeof host - 1) != 0) {
        host[0] = '\0';
    }
    std::uint64_t sum = 36;
    std::size_t len = 0;
    for (; host[len] != '\0'; ++len) {
        sum += static_cast<unsigned char>(host[len]);
    }
    sum += len;
    append_base36(fp, sum, 2);
    return fp;
}

// Uniform in [0, bound) from one 64-bit draw (one syscall per cuid instead
// of two randombytes_uniform calls); rejection keeps it unbiased.
std::uint64_t random_below(std::uint64_t bound) {
    const std::uint64_t limit = UINT64_MAX - UINT64_MAX % bound;
    std::uint64_t v = 0;
    do {
        randombytes_buf(&v, sizeof v);
    } while (v >= limit);
    return v % bound;
}

std::atomic<std::uint32_t>& cuid_counter() {
    // Start at a random point so that processes sharing pid and hostname
    // (containers are usually pid 1) do not walk the same counter sequence.
    static std::atomic<std::uint32_t> counter{[] {
        ensure_sodium();
        return randombytes_uniform(k_cuid_block);
    }()};
    return counter;
}

}  // namespace

void random_bytes(void* out, std::size_t n) {
    // randombytes_buf's pointer is declared nonnull, so (nullptr, 0) would be UB.
    if (n == 0) {
        return;
    }
    ensure_sodium();
    randombytes_buf(out, n);
}

std::string cuid() {
    ensure_sodium();
    static const std::string fingerprint = make_fingerprint();

    const auto now_ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
            .count();
    // CAS loop rather than fetch_add so the counter wraps exactly at 36^4
    // (a plain uint32 wrap would jump the sequence).
    auto& counter = cuid_counter();
    std::uint32_t count = counter.load(std::memory_order_relaxed);
    while (!counter.compare_exchange_weak(count, (count + 1) % k_cuid_block, std::memory_order_relaxed)) {
    }

    std::string id;
    id.reserve(25);
    id.push_back('c');
    append_base36(id, static_cast<std::uint64_t>(now_ms), 8);
    append_base36(id, count, 4);
    id += fingerprint;
    append_base36(id, random_below(std::uint64_t{k_cuid_block} * k_cuid_block), 8);
    return id;
}

std::string uuid_v4() {
    std::array<unsigned char, 16> b{};
    random_bytes(b.data(), b.size());
    b[6] = static_cast<unsigned char>((b[6] & 0x0F) | 0x40);  // version 4
    b[8] = static_cast<unsigned char>((b[8] & 0x3F) | 0x80);  // RFC 4122 variant
    static constexpr char digits[] = "0123456789abcdef";
    std::string out;
    out.reserve(36);
    for (std::size_t i = 0; i < b.size(); ++i) {
        if (i == 4 || i == 6 || i == 8 || i == 10) {
            out.push_back('-');
        }
        out.push_back(digits[b[i] >> 4]);
        out.push_back(digits[b[i] & 0x0F]);
    }
    return out;
}

std::string random_alnum(std::size_t n) {
    static constexpr char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    // 248 = 4 * 62: bytes below it map onto the 62 symbols exactly 4 times
    // each; bytes 248..255 are rejected so no symbol is favoured.
    constexpr unsigned k_limit = 248;
    std::string out;
    out.reserve(n);
    std::array<unsigned char, 64> pool{};
    while (out.size() < n) {
        random_bytes(pool.data(), pool.size());
        for (const unsigned char b : pool) {
            if (b < k_limit) {
                out.push_back(alphabet[b % 62]);
                if (out.size() == n) {
                    break;
                }
            }
        }
    }
    return out;
}

}  // namespace happy::crypto
