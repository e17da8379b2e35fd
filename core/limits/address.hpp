/// @file
/// Client addresses for the per-address limits: address ranges (`10.0.0.0/8`, `::1`), the client address of a
/// request behind trusted reverse proxies (X-Forwarded-For), and the key an address is counted under.
#pragma once
#include <boost/asio/ip/address.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace happy::limits {

/// One address or a CIDR range of them.
struct address_range {
    boost::asio::ip::address first;  ///< the network address (host bits cleared)
    unsigned prefix = 0;             ///< leading bits that must match (32 / 128 for a single address)
};

/// Parses "127.0.0.1", "::1", "10.0.0.0/8" or "fd00::/8"; nullopt when malformed (bad address, prefix out of range).
std::optional<address_range> address_range_parse(std::string_view text);

/// True when `a` lies in `r`. An IPv4-mapped IPv6 address (::ffff:a.b.c.d) counts as the IPv4 address.
bool address_range_contains(const address_range& r, const boost::asio::ip::address& a);

/// A list of ranges (server.trusted_proxies, limits.exempt).
class address_set {
public:
    address_set() = default;
    /// Throws std::invalid_argument naming the first malformed entry.
    static address_set parse(const std::vector<std::string>& entries);
    bool contains(const boost::asio::ip::address& a) const;
    bool empty() const { return ranges_.empty(); }

private:
    std::vector<address_range> ranges_;
};

/// ::ffff:a.b.c.d as a.b.c.d (a dual-stack listener sees IPv4 peers this way); any other address unchanged.
boost::asio::ip::address address_normalize(const boost::asio::ip::address& a);

/// The client's address: `peer` itself unless `peer` is a trusted proxy; then X-Forwarded-For is read from the right,
/// skipping trusted hops, and the first untrusted entry is the client (entries further left were written by the
/// client and prove nothing). A malformed entry ends the walk at the hop to its right; when every hop is trusted the
/// leftmost is taken. `forwarded_for` is the header's value (repeated headers joined with ","), empty when absent.
boost::asio::ip::address client_address(const boost::asio::ip::address& peer, std::string_view forwarded_for,
                                        const address_set& trusted);

/// The key an address is counted under: the address itself for IPv4, its /64 network for IPv6 (one subscriber
/// usually holds a whole /64, so a per-/128 limit would not limit anything).
std::string address_limit_key(const boost::asio::ip::address& a);

}  // namespace happy::limits
