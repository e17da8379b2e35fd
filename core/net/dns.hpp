/// @file
/// The pure half of the built-in resolver (core/net/resolve.hpp): /etc/hosts and /etc/resolv.conf as glibc reads
/// them, the search-list order, and DNS messages (RFC 1035) for A and AAAA queries. No I/O here.
#pragma once
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/udp.hpp>
#include <chrono>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace happy::net::dns {

using address = boost::asio::ip::address;

/// What /etc/resolv.conf says (resolv.conf(5)); defaults are glibc's.
struct resolv_conf {
    std::vector<boost::asio::ip::udp::endpoint> nameservers;  ///< at most 3; 127.0.0.1:53 when none is listed
    std::vector<std::string> search;                          ///< `search` / `domain` (the last line wins)
    int ndots = 1;
    std::chrono::milliseconds timeout{5000};  ///< per query and server
    int attempts = 2;                         ///< rounds over the server list
};

/// Parses resolv.conf text. Unknown lines and options are ignored, as glibc does.
resolv_conf resolv_conf_parse(std::string_view text);

/// Addresses /etc/hosts gives `name` (case-insensitive, canonical name or alias), in file order.
std::vector<address> hosts_lookup(std::string_view hosts_text, std::string_view name);

/// The names to query for `name`, in order: as given first when it has at least `ndots` dots, else the search
/// domains first (glibc's res_search). A name ending in '.' is queried as given only (without the dot).
std::vector<std::string> query_names(std::string_view name, const resolv_conf& conf);

constexpr std::uint16_t type_a = 1;
constexpr std::uint16_t type_aaaa = 28;
constexpr std::uint16_t type_cname = 5;

constexpr int rcode_noerror = 0;
constexpr int rcode_servfail = 2;
constexpr int rcode_nxdomain = 3;

/// A malformed name to query, or a malformed or unrelated response.
class format_error : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

/// A standard recursive query for (name, type, IN). Throws format_error for a name DNS cannot carry
/// (empty label, label over 63 bytes, name over 253).
std::string query_encode(std::uint16_t id, std::string_view name, std::uint16_t type);

struct answer {
    int rcode = 0;
    bool truncated = false;          ///< TC: ask again over TCP
    std::vector<address> addresses;  ///< records of the asked type for the name or its CNAME chain
};

/// Reads the response to query_encode(id, name, type). Throws format_error when it is malformed or answers
/// another query (id, question), so that a stray datagram is skipped, not believed.
answer response_parse(std::string_view msg, std::uint16_t id, std::string_view name, std::uint16_t type);

}  // namespace happy::net::dns
