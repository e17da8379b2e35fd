// Unit tests for the client-address helpers: CIDR ranges, X-Forwarded-For behind trusted proxies, limit keys.

#include "core/limits/address.hpp"

#include <gtest/gtest.h>

#include <stdexcept>

namespace happy::limits {
namespace {

namespace ip = boost::asio::ip;

ip::address addr(const char* s) {
    return ip::make_address(s);
}

TEST(AddressRange, ParsesAddressesAndRanges) {
    auto one = address_range_parse("127.0.0.1");
    ASSERT_TRUE(one);
    EXPECT_EQ(one->prefix, 32u);
    auto net = address_range_parse("10.1.2.3/8");
    ASSERT_TRUE(net);
    EXPECT_EQ(net->first.to_string(), "10.0.0.0");  // host bits cleared
    EXPECT_EQ(net->prefix, 8u);
    auto v6 = address_range_parse("fd00::/8");
    ASSERT_TRUE(v6);
    EXPECT_EQ(v6->prefix, 8u);
    EXPECT_TRUE(address_range_parse("::1"));
    EXPECT_TRUE(address_range_parse("0.0.0.0/0"));
}

TEST(AddressRange, RefusesMalformedText) {
    for (const char* bad : {"", "localhost", "10.0.0.0/33", "::/129", "10.0.0.0/", "10.0.0.0/x", "10.0.0.0/8/8",
                            "1.2.3", "10.0.0.0 /8"}) {
        EXPECT_FALSE(address_range_parse(bad)) << bad;
    }
}

TEST(AddressRange, Contains) {
    auto net = *address_range_parse("10.0.0.0/8");
    EXPECT_TRUE(address_range_contains(net, addr("10.255.1.2")));
    EXPECT_FALSE(address_range_contains(net, addr("11.0.0.1")));
    EXPECT_FALSE(address_range_contains(net, addr("::1")));
    // An IPv4-mapped IPv6 peer (dual-stack listener) is its IPv4 address.
    EXPECT_TRUE(address_range_contains(net, addr("::ffff:10.0.0.7")));
    auto odd = *address_range_parse("192.168.1.128/25");
    EXPECT_TRUE(address_range_contains(odd, addr("192.168.1.200")));
    EXPECT_FALSE(address_range_contains(odd, addr("192.168.1.127")));
    auto v6 = *address_range_parse("2001:db8::/32");
    EXPECT_TRUE(address_range_contains(v6, addr("2001:db8:1::5")));
    EXPECT_FALSE(address_range_contains(v6, addr("2001:db9::5")));
    EXPECT_FALSE(address_range_contains(v6, addr("10.0.0.1")));
    auto all = *address_range_parse("0.0.0.0/0");
    EXPECT_TRUE(address_range_contains(all, addr("8.8.8.8")));
    EXPECT_FALSE(address_range_contains(all, addr("2001:db8::1")));
}

TEST(AddressSet, ParseNamesTheBadEntry) {
    auto s = address_set::parse({"127.0.0.0/8", "::1"});
    EXPECT_TRUE(s.contains(addr("127.0.0.5")));
    EXPECT_TRUE(s.contains(addr("::1")));
    EXPECT_FALSE(s.contains(addr("192.0.2.1")));
    try {
        address_set::parse({"127.0.0.1", "nginx"});
        FAIL() << "expected invalid_argument";
    } catch (const std::invalid_argument& e) {
        EXPECT_NE(std::string(e.what()).find("\"nginx\""), std::string::npos);
    }
}

TEST(ClientAddress, UntrustedPeerIsTheClientWhateverTheHeaderSays) {
    auto trusted = address_set::parse({"10.0.0.0/8"});
    EXPECT_EQ(client_address(addr("192.0.2.9"), "203.0.113.1", trusted).to_string(), "192.0.2.9");
    EXPECT_EQ(client_address(addr("192.0.2.9"), "", address_set()).to_string(), "192.0.2.9");
    EXPECT_EQ(client_address(addr("::ffff:192.0.2.9"), "", address_set()).to_string(), "192.0.2.9");
}

TEST(ClientAddress, TrustedProxyRightmostUntrustedEntryWins) {
    auto trusted = address_set::parse({"10.0.0.0/8", "127.0.0.1"});
    // The client forged the first entry; the proxies appended the real one.
    EXPECT_EQ(client_address(addr("127.0.0.1"), "1.1.1.1, 203.0.113.7, 10.0.0.2", trusted).to_string(), "203.0.113.7");
    EXPECT_EQ(client_address(addr("127.0.0.1"), "203.0.113.7", trusted).to_string(), "203.0.113.7");
    EXPECT_EQ(client_address(addr("127.0.0.1"), " 203.0.113.7 ,", trusted).to_string(), "203.0.113.7");
    // Ports and brackets some proxies add.
    EXPECT_EQ(client_address(addr("127.0.0.1"), "203.0.113.7:5555", trusted).to_string(), "203.0.113.7");
    EXPECT_EQ(client_address(addr("127.0.0.1"), "[2001:db8::1]:443", trusted).to_string(), "2001:db8::1");
    EXPECT_EQ(client_address(addr("127.0.0.1"), "2001:db8::1", trusted).to_string(), "2001:db8::1");
}

TEST(ClientAddress, TrustedProxyWithoutUsableHeader) {
    auto trusted = address_set::parse({"10.0.0.0/8", "127.0.0.1"});
    // No header: the proxy itself.
    EXPECT_EQ(client_address(addr("127.0.0.1"), "", trusted).to_string(), "127.0.0.1");
    // Garbage in the rightmost entry: the walk stops at the hop that wrote it.
    EXPECT_EQ(client_address(addr("127.0.0.1"), "203.0.113.7, garbage", trusted).to_string(), "127.0.0.1");
    EXPECT_EQ(client_address(addr("127.0.0.1"), "garbage, 10.0.0.3", trusted).to_string(), "10.0.0.3");
    // Every hop trusted: the leftmost.
    EXPECT_EQ(client_address(addr("127.0.0.1"), "10.0.0.9, 10.0.0.3", trusted).to_string(), "10.0.0.9");
}

TEST(AddressLimitKey, Ipv4ItselfIpv6ItsSlash64) {
    EXPECT_EQ(address_limit_key(addr("192.0.2.1")), "192.0.2.1");
    EXPECT_EQ(address_limit_key(addr("::ffff:192.0.2.1")), "192.0.2.1");
    EXPECT_EQ(address_limit_key(addr("2001:db8:1:2:aaaa::1")), "2001:db8:1:2::/64");
    EXPECT_EQ(address_limit_key(addr("2001:db8:1:2:bbbb::9")), address_limit_key(addr("2001:db8:1:2::")));
    EXPECT_NE(address_limit_key(addr("2001:db8:1:3::1")), address_limit_key(addr("2001:db8:1:2::1")));
}

}  // namespace
}  // namespace happy::limits
