#include "core/http/compression.hpp"

#include <gtest/gtest.h>
#include <zlib.h>

#include <random>

namespace happy::http {
namespace {

std::string name_of(std::string_view header) {
    auto c = choose_coding(header);
    return c ? std::string(coding_name(*c)) : "none";
}

// The answers of negotiator 0.6 (accepts 1.3, used by engine.io) for encodings(["gzip", "deflate"]).
TEST(compression, chooses_like_negotiator) {
    EXPECT_EQ(name_of(""), "none");
    EXPECT_EQ(name_of("identity"), "none");
    EXPECT_EQ(name_of("br"), "none");
    EXPECT_EQ(name_of("gzip"), "gzip");
    EXPECT_EQ(name_of("deflate"), "deflate");
    EXPECT_EQ(name_of("gzip, deflate"), "gzip");
    EXPECT_EQ(name_of("deflate, gzip"), "deflate");  // equal q: first in the header
    EXPECT_EQ(name_of("gzip, deflate, br"), "gzip");
    EXPECT_EQ(name_of("gzip;q=0.5, deflate"), "deflate");
    EXPECT_EQ(name_of("gzip;q=0, deflate;q=0"), "none");
    EXPECT_EQ(name_of("*"), "gzip");
    EXPECT_EQ(name_of("*;q=0.5, deflate;q=0.4"), "gzip");
    EXPECT_EQ(name_of("*, gzip;q=0"), "deflate");  // the exact name overrides the wildcard
    EXPECT_EQ(name_of("GZIP"), "gzip");
    EXPECT_EQ(name_of(" gzip ; q=0.8 ,deflate;q=0.9"), "deflate");
}

std::string inflate_all(std::string_view data, int window_bits) {
    z_stream zs{};
    EXPECT_EQ(inflateInit2(&zs, window_bits), Z_OK);
    std::string out(1 << 20, '\0');
    zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
    zs.avail_in = static_cast<uInt>(data.size());
    zs.next_out = reinterpret_cast<Bytef*>(out.data());
    zs.avail_out = static_cast<uInt>(out.size());
    EXPECT_EQ(inflate(&zs, Z_FINISH), Z_STREAM_END);
    out.resize(zs.total_out);
    inflateEnd(&zs);
    return out;
}

TEST(compression, gzip_and_deflate_round_trip_with_their_framing) {
    std::mt19937 rng(3);
    for (std::size_t n : {0u, 1u, 1024u, 5000u, 200000u}) {
        std::string data(n, '\0');
        for (auto& ch : data) {
            ch = "AAAAB42[\"x\"]"[rng() % 12];
        }
        std::string gz = compress(data, content_coding::gzip);
        ASSERT_GE(gz.size(), 18u);
        EXPECT_EQ(static_cast<unsigned char>(gz[0]), 0x1f);  // gzip magic
        EXPECT_EQ(static_cast<unsigned char>(gz[1]), 0x8b);
        EXPECT_EQ(inflate_all(gz, 15 + 16), data);
        std::string zl = compress(data, content_coding::deflate);
        EXPECT_EQ(static_cast<unsigned char>(zl[0]) & 0x0f, 8);  // zlib header: CM = deflate
        EXPECT_EQ(inflate_all(zl, 15), data);
        if (n >= 1024) {
            EXPECT_LT(gz.size(), n / 2);
        }
    }
}

}  // namespace
}  // namespace happy::http
