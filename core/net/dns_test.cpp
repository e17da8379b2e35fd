#include "core/net/dns.hpp"

#include <gtest/gtest.h>

namespace happy::net::dns {
namespace {

using boost::asio::ip::make_address;

TEST(dns_resolv_conf, reads_servers_search_and_options_like_glibc) {
    auto c = resolv_conf_parse(
        "# comment\n"
        "nameserver 10.0.0.1\n"
        "nameserver fe80::1%lo ; trailing comment\n"
        "nameserver not-an-address\n"
        "domain first.example\n"
        "search corp.example. lab.example\n"
        "options ndots:3 timeout:2 attempts:4 rotate\n"
        "nameserver 10.0.0.3\n"
        "nameserver 10.0.0.4\n");
    ASSERT_EQ(c.nameservers.size(), 3u);  // glibc's MAXNS
    EXPECT_EQ(c.nameservers[0].address(), make_address("10.0.0.1"));
    EXPECT_EQ(c.nameservers[0].port(), 53);
    EXPECT_TRUE(c.nameservers[1].address().is_v6());
    EXPECT_EQ(c.nameservers[2].address(), make_address("10.0.0.3"));
    EXPECT_EQ(c.search, (std::vector<std::string>{"corp.example", "lab.example"}));  // the last of search/domain
    EXPECT_EQ(c.ndots, 3);
    EXPECT_EQ(c.timeout, std::chrono::seconds(2));
    EXPECT_EQ(c.attempts, 4);
}

TEST(dns_resolv_conf, empty_or_missing_file_asks_the_local_server) {
    auto c = resolv_conf_parse("");
    ASSERT_EQ(c.nameservers.size(), 1u);
    EXPECT_EQ(c.nameservers[0].address(), make_address("127.0.0.1"));
    EXPECT_EQ(c.ndots, 1);
    EXPECT_EQ(c.timeout, std::chrono::seconds(5));
    EXPECT_EQ(c.attempts, 2);
    auto bad = resolv_conf_parse("options ndots:x timeout:0 attempts:99\n");
    EXPECT_EQ(bad.ndots, 1);
    EXPECT_EQ(bad.timeout, std::chrono::seconds(1));
    EXPECT_EQ(bad.attempts, 5);
}

TEST(dns_hosts, matches_names_and_aliases_case_insensitively_in_file_order) {
    const char* hosts =
        "127.0.0.1\tlocalhost\n"
        "::1 localhost ip6-localhost # v6\n"
        "10.1.2.3 db.internal DB # alias\n"
        "# 10.9.9.9 db.internal\n"
        "10.1.2.4 other db.internal.\n"
        "bogus db.internal\n"
        "10.1.2.3 db.internal\n";
    auto db = hosts_lookup(hosts, "DB.Internal");
    ASSERT_EQ(db.size(), 2u);  // duplicates once, the unparsable line skipped
    EXPECT_EQ(db[0], make_address("10.1.2.3"));
    EXPECT_EQ(db[1], make_address("10.1.2.4"));
    EXPECT_EQ(hosts_lookup(hosts, "db").size(), 1u);
    EXPECT_EQ(hosts_lookup(hosts, "db.internal.").size(), 2u);
    auto lh = hosts_lookup(hosts, "localhost");
    ASSERT_EQ(lh.size(), 2u);
    EXPECT_TRUE(lh[0].is_v4());
    EXPECT_TRUE(lh[1].is_v6());
    EXPECT_TRUE(hosts_lookup(hosts, "nowhere").empty());
    EXPECT_TRUE(hosts_lookup(hosts, "v6").empty());  // comments are not names
}

TEST(dns_query_names, ndots_decides_whether_the_search_list_comes_first) {
    resolv_conf c;
    c.search = {"a.example", "b.example"};
    EXPECT_EQ(query_names("db", c), (std::vector<std::string>{"db.a.example", "db.b.example", "db"}));
    EXPECT_EQ(query_names("s3.amazonaws.com", c),
              (std::vector<std::string>{"s3.amazonaws.com", "s3.amazonaws.com.a.example", "s3.amazonaws.com.b.example"}));
    EXPECT_EQ(query_names("api.github.com.", c), (std::vector<std::string>{"api.github.com"}));
    c.ndots = 5;
    EXPECT_EQ(query_names("x.y", c).front(), "x.y.a.example");
    c.search.clear();
    EXPECT_EQ(query_names("db", c), (std::vector<std::string>{"db"}));
}

TEST(dns_query, encodes_a_recursive_question) {
    auto q = query_encode(0xBEEF, "ab.c.", type_aaaa);
    const std::string want("\xBE\xEF\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x02"
                           "ab\x01"
                           "c\x00\x00\x1C\x00\x01",
                           22);
    EXPECT_EQ(q, want);
    EXPECT_THROW(query_encode(1, "", type_a), format_error);
    EXPECT_THROW(query_encode(1, "a..b", type_a), format_error);
    EXPECT_THROW(query_encode(1, std::string(64, 'x') + ".com", type_a), format_error);
    EXPECT_THROW(query_encode(1, std::string(254, 'x'), type_a), format_error);
    EXPECT_NO_THROW(query_encode(1, std::string(63, 'x') + ".com", type_a));
}

/// A response to query_encode(id, name, type) with the given flags and raw answer records appended.
std::string response(std::uint16_t id, std::string_view name, std::uint16_t type, std::uint16_t flags,
                     std::uint16_t ancount, std::string_view records) {
    std::string m = query_encode(id, name, type);
    m[2] = static_cast<char>(flags >> 8);
    m[3] = static_cast<char>(flags & 0xFF);
    m[6] = static_cast<char>(ancount >> 8);
    m[7] = static_cast<char>(ancount & 0xFF);
    m += records;
    return m;
}

std::string u16(std::uint16_t v) { return std::string{static_cast<char>(v >> 8), static_cast<char>(v & 0xFF)}; }

/// A record whose owner is a pointer to `owner_at`.
std::string rr(std::uint16_t owner_at, std::uint16_t type, std::string_view data) {
    return u16(0xC000 | owner_at) + u16(type) + u16(1) + std::string("\0\0\x0e\x10", 4) + u16(data.size()) +
           std::string(data);
}

TEST(dns_response, follows_a_cname_chain_with_compressed_names) {
    // Question name at offset 12: "www.example.com". Answer: www CNAME edge.cdn.net; edge.cdn.net A 192.0.2.7;
    // an unrelated A record that must not be taken.
    const std::string q = query_encode(7, "www.example.com", type_a);
    const std::uint16_t cname_rdata_at = static_cast<std::uint16_t>(q.size() + 12);
    std::string recs = rr(12, type_cname, std::string("\x04" "edge\x03" "cdn\x03" "net\x00", 14));
    recs += rr(cname_rdata_at, type_a, std::string("\xC0\x00\x02\x07", 4));
    recs += u16(0xC000 | 16) + u16(type_a) + u16(1) + std::string("\0\0\0\1", 4) + u16(4) + std::string("\x0A\0\0\x01", 4);
    auto a = response_parse(response(7, "www.example.com", type_a, 0x8180, 3, recs), 7, "WWW.example.com.", type_a);
    EXPECT_EQ(a.rcode, rcode_noerror);
    EXPECT_FALSE(a.truncated);
    ASSERT_EQ(a.addresses.size(), 1u);
    EXPECT_EQ(a.addresses[0], make_address("192.0.2.7"));
}

TEST(dns_response, reads_aaaa_nxdomain_and_truncation) {
    std::string v6(16, '\0');
    v6[0] = '\x20';
    v6[1] = '\x01';
    v6[15] = '\x05';
    auto a = response_parse(response(9, "h.example", type_aaaa, 0x8180, 1, rr(12, type_aaaa, v6)), 9, "h.example",
                            type_aaaa);
    ASSERT_EQ(a.addresses.size(), 1u);
    EXPECT_EQ(a.addresses[0], make_address("2001::5"));

    auto nx = response_parse(response(9, "h.example", type_a, 0x8183, 0, ""), 9, "h.example", type_a);
    EXPECT_EQ(nx.rcode, rcode_nxdomain);
    EXPECT_TRUE(nx.addresses.empty());

    auto tc = response_parse(response(9, "h.example", type_a, 0x8380, 0, ""), 9, "h.example", type_a);
    EXPECT_TRUE(tc.truncated);

    // A record of another type (the A asked, an AAAA given) is not an address of the asked type.
    auto other = response_parse(response(9, "h.example", type_a, 0x8180, 1, rr(12, type_aaaa, v6)), 9, "h.example",
                                type_a);
    EXPECT_TRUE(other.addresses.empty());
}

TEST(dns_response, rejects_what_answers_another_query_or_is_malformed) {
    auto ok = response(5, "h.example", type_a, 0x8180, 0, "");
    EXPECT_THROW(response_parse(ok, 6, "h.example", type_a), format_error);                 // id
    EXPECT_THROW(response_parse(ok, 5, "g.example", type_a), format_error);                 // name
    EXPECT_THROW(response_parse(ok, 5, "h.example", type_aaaa), format_error);              // type
    EXPECT_THROW(response_parse(ok.substr(0, 11), 5, "h.example", type_a), format_error);   // short
    auto query = query_encode(5, "h.example", type_a);
    EXPECT_THROW(response_parse(query, 5, "h.example", type_a), format_error);              // QR not set
    EXPECT_THROW(response_parse(response(5, "h.example", type_a, 0x8180, 1, rr(12, type_a, "\1\2")).substr(0, 40), 5,
                                "h.example", type_a),
                 format_error);  // record runs past the end
    // A pointer that points at itself.
    std::string loop = response(5, "h.example", type_a, 0x8180, 1, "");
    const auto at = static_cast<std::uint16_t>(loop.size());
    loop += u16(0xC000 | at) + u16(type_a) + u16(1) + std::string(4, '\0') + u16(4) + std::string(4, '\1');
    EXPECT_THROW(response_parse(loop, 5, "h.example", type_a), format_error);
    // A failure without its question is still this query's failure.
    std::string bare = ok.substr(0, 12);
    bare[3] = '\x82';
    bare[5] = '\0';
    EXPECT_EQ(response_parse(bare, 5, "h.example", type_a).rcode, rcode_servfail);
}

}  // namespace
}  // namespace happy::net::dns
