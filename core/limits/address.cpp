#include "core/limits/address.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <stdexcept>

#include "core/http/types.hpp"

namespace happy::limits {

namespace ip = boost::asio::ip;

namespace {

/// The address as 16 bytes (IPv4 as its mapped IPv6 form) and the number of bits that belong to it.
struct bits {
    std::array<unsigned char, 16> bytes{};
    unsigned offset = 0;  ///< 96 for IPv4 (the ::ffff: prefix), 0 for IPv6
};

bits bits_of(const ip::address& a) {
    bits b;
    if (a.is_v4()) {
        auto v4 = a.to_v4().to_bytes();
        b.bytes[10] = b.bytes[11] = 0xff;
        std::copy(v4.begin(), v4.end(), b.bytes.begin() + 12);
        b.offset = 96;
    } else {
        b.bytes = a.to_v6().to_bytes();
    }
    return b;
}

/// True when the first `n` bits of x and y are equal.
bool same_prefix(const std::array<unsigned char, 16>& x, const std::array<unsigned char, 16>& y, unsigned n) {
    unsigned whole = n / 8;
    if (!std::equal(x.begin(), x.begin() + whole, y.begin())) {
        return false;
    }
    unsigned rest = n % 8;
    if (rest == 0) {
        return true;
    }
    auto mask = static_cast<unsigned char>(0xff << (8 - rest));
    return (x[whole] & mask) == (y[whole] & mask);
}

/// One X-Forwarded-For entry: an address, possibly "[v6]:port" or "v4:port" (some proxies add the port).
std::optional<ip::address> parse_forwarded_entry(std::string_view s) {
    s = http::trim_ows(s);
    if (s.starts_with('[')) {
        auto end = s.find(']');
        if (end == std::string_view::npos) {
            return std::nullopt;
        }
        s = s.substr(1, end - 1);
    } else if (auto colon = s.find(':');
               colon != std::string_view::npos && s.find(':', colon + 1) == std::string_view::npos) {
        s = s.substr(0, colon);  // a.b.c.d:port (a single colon cannot be IPv6)
    }
    boost::system::error_code ec;
    auto a = ip::make_address(std::string(s), ec);
    if (ec) {
        return std::nullopt;
    }
    return address_normalize(a);
}

}  // namespace

std::optional<address_range> address_range_parse(std::string_view text) {
    std::string_view addr = text;
    std::optional<unsigned> prefix;
    if (auto slash = text.find('/'); slash != std::string_view::npos) {
        addr = text.substr(0, slash);
        auto p = text.substr(slash + 1);
        unsigned n = 0;
        auto [end, ec] = std::from_chars(p.data(), p.data() + p.size(), n);
        if (ec != std::errc() || end != p.data() + p.size() || p.empty()) {
            return std::nullopt;
        }
        prefix = n;
    }
    boost::system::error_code ec;
    auto a = ip::make_address(std::string(addr), ec);
    if (ec) {
        return std::nullopt;
    }
    a = address_normalize(a);
    unsigned max = a.is_v4() ? 32 : 128;
    if (prefix && *prefix > max) {
        return std::nullopt;
    }
    address_range r{a, prefix.value_or(max)};
    // Clear the host bits, so that "10.1.2.3/8" means 10.0.0.0/8.
    auto b = bits_of(a);
    unsigned keep = b.offset + r.prefix;
    for (unsigned i = keep; i < 128; ++i) {
        b.bytes[i / 8] &= static_cast<unsigned char>(~(0x80u >> (i % 8)));
    }
    if (a.is_v4()) {
        ip::address_v4::bytes_type v4;
        std::copy(b.bytes.begin() + 12, b.bytes.end(), v4.begin());
        r.first = ip::address_v4(v4);
    } else {
        r.first = ip::address_v6(b.bytes);
    }
    return r;
}

bool address_range_contains(const address_range& r, const ip::address& a) {
    auto n = address_normalize(a);
    if (n.is_v4() != r.first.is_v4()) {
        return false;
    }
    auto x = bits_of(r.first);
    return same_prefix(x.bytes, bits_of(n).bytes, x.offset + r.prefix);
}

address_set address_set::parse(const std::vector<std::string>& entries) {
    address_set out;
    for (const auto& e : entries) {
        auto r = address_range_parse(e);
        if (!r) {
            throw std::invalid_argument("\"" + e + "\" is not an IP address or CIDR range (such as 10.0.0.0/8)");
        }
        out.ranges_.push_back(*r);
    }
    return out;
}

bool address_set::contains(const ip::address& a) const {
    return std::any_of(ranges_.begin(), ranges_.end(), [&](const auto& r) { return address_range_contains(r, a); });
}

ip::address address_normalize(const ip::address& a) {
    if (a.is_v6() && a.to_v6().is_v4_mapped()) {
        return ip::make_address_v4(ip::v4_mapped, a.to_v6());
    }
    return a;
}

ip::address client_address(const ip::address& peer, std::string_view forwarded_for, const address_set& trusted) {
    ip::address client = address_normalize(peer);
    if (!trusted.contains(client)) {
        return client;
    }
    // Right to left: each entry was appended by the hop to its right.
    std::string_view rest = forwarded_for;
    while (!http::trim_ows(rest).empty()) {
        auto comma = rest.rfind(',');
        std::string_view entry = comma == std::string_view::npos ? rest : rest.substr(comma + 1);
        rest = comma == std::string_view::npos ? std::string_view() : rest.substr(0, comma);
        if (http::trim_ows(entry).empty()) {
            continue;
        }
        auto a = parse_forwarded_entry(entry);
        if (!a) {
            break;
        }
        client = *a;
        if (!trusted.contains(client)) {
            break;
        }
    }
    return client;
}

std::string address_limit_key(const ip::address& a) {
    auto n = address_normalize(a);
    if (n.is_v4()) {
        return n.to_string();
    }
    auto b = n.to_v6().to_bytes();
    std::fill(b.begin() + 8, b.end(), 0);
    return ip::address_v6(b).to_string() + "/64";
}

}  // namespace happy::limits
