#include "core/net/dns.hpp"

#include "core/util/ascii.hpp"

#include <algorithm>
#include <charconv>
#include <cstring>

namespace happy::net::dns {

namespace {

/// Whitespace-separated fields of one line, without its comment ('#' or ';' as glibc accepts in resolv.conf).
std::vector<std::string_view> fields(std::string_view line, std::string_view comment_chars) {
    if (auto c = line.find_first_of(comment_chars); c != std::string_view::npos) {
        line = line.substr(0, c);
    }
    std::vector<std::string_view> out;
    std::size_t i = 0;
    while (i < line.size()) {
        while (i < line.size() && (line[i] == ' ' || line[i] == '\t' || line[i] == '\r')) {
            ++i;
        }
        std::size_t start = i;
        while (i < line.size() && line[i] != ' ' && line[i] != '\t' && line[i] != '\r') {
            ++i;
        }
        if (i > start) {
            out.push_back(line.substr(start, i - start));
        }
    }
    return out;
}

template <class Fn>
void for_each_line(std::string_view text, Fn fn) {
    while (!text.empty()) {
        auto nl = text.find('\n');
        fn(text.substr(0, nl));
        text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
    }
}

std::string_view strip_dot(std::string_view name) {
    return !name.empty() && name.back() == '.' ? name.substr(0, name.size() - 1) : name;
}

int option_value(std::string_view opt, std::string_view key, int lo, int hi, int fallback) {
    int v = 0;
    auto rest = opt.substr(key.size());
    auto [p, ec] = std::from_chars(rest.data(), rest.data() + rest.size(), v);
    if (ec != std::errc{} || p != rest.data() + rest.size()) {
        return fallback;
    }
    return std::clamp(v, lo, hi);
}

/// A name at `pos` of `msg` (compression pointers followed), lowercased, without the final dot.
std::string read_name(std::string_view msg, std::size_t& pos) {
    std::string out;
    std::size_t p = pos;
    bool jumped = false;
    int jumps = 0;
    while (true) {
        if (p >= msg.size()) {
            throw format_error("truncated name");
        }
        auto len = static_cast<unsigned char>(msg[p]);
        if (len == 0) {
            ++p;
            break;
        }
        if ((len & 0xC0) == 0xC0) {
            if (p + 1 >= msg.size()) {
                throw format_error("truncated name pointer");
            }
            if (++jumps > 32) {
                throw format_error("name pointer loop");
            }
            std::size_t target = ((len & 0x3F) << 8) | static_cast<unsigned char>(msg[p + 1]);
            if (!jumped) {
                pos = p + 2;
                jumped = true;
            }
            p = target;
            continue;
        }
        if ((len & 0xC0) != 0) {
            throw format_error("unknown label type");
        }
        if (p + 1 + len > msg.size()) {
            throw format_error("truncated label");
        }
        if (!out.empty()) {
            out += '.';
        }
        for (std::size_t i = 0; i < len; ++i) {
            out += util::ascii_lower(msg[p + 1 + i]);
        }
        if (out.size() > 255) {
            throw format_error("name too long");
        }
        p += 1 + len;
    }
    if (!jumped) {
        pos = p;
    }
    return out;
}

std::uint16_t read_u16(std::string_view msg, std::size_t pos) {
    if (pos + 2 > msg.size()) {
        throw format_error("truncated message");
    }
    return static_cast<std::uint16_t>((static_cast<unsigned char>(msg[pos]) << 8) |
                                      static_cast<unsigned char>(msg[pos + 1]));
}

std::string lower(std::string_view s) {
    std::string out(s);
    for (auto& c : out) {
        c = util::ascii_lower(c);
    }
    return out;
}

}  // namespace

resolv_conf resolv_conf_parse(std::string_view text) {
    resolv_conf conf;
    for_each_line(text, [&](std::string_view line) {
        auto f = fields(line, "#;");
        if (f.size() < 2) {
            return;
        }
        if (f[0] == "nameserver") {
            boost::system::error_code ec;
            // A link-local IPv6 server may carry its interface ("fe80::1%eth0"); make_address reads the scope.
            auto addr = boost::asio::ip::make_address(std::string(f[1]), ec);
            if (!ec && conf.nameservers.size() < 3) {
                conf.nameservers.emplace_back(addr, 53);
            }
        } else if (f[0] == "search" || f[0] == "domain") {
            conf.search.clear();
            for (std::size_t i = 1; i < f.size(); ++i) {
                auto d = strip_dot(f[i]);
                if (!d.empty()) {
                    conf.search.emplace_back(d);
                }
            }
        } else if (f[0] == "options") {
            for (std::size_t i = 1; i < f.size(); ++i) {
                auto o = f[i];
                if (o.starts_with("ndots:")) {
                    conf.ndots = option_value(o, "ndots:", 0, 15, conf.ndots);
                } else if (o.starts_with("timeout:")) {
                    conf.timeout = std::chrono::seconds(option_value(o, "timeout:", 1, 30, 5));
                } else if (o.starts_with("attempts:")) {
                    conf.attempts = option_value(o, "attempts:", 1, 5, conf.attempts);
                }
            }
        }
    });
    if (conf.nameservers.empty()) {
        conf.nameservers.emplace_back(boost::asio::ip::address_v4::loopback(), 53);
    }
    return conf;
}

std::vector<address> hosts_lookup(std::string_view hosts_text, std::string_view name) {
    std::vector<address> out;
    name = strip_dot(name);
    for_each_line(hosts_text, [&](std::string_view line) {
        auto f = fields(line, "#");
        if (f.size() < 2) {
            return;
        }
        bool match = false;
        for (std::size_t i = 1; i < f.size() && !match; ++i) {
            match = util::iequals(strip_dot(f[i]), name);
        }
        if (!match) {
            return;
        }
        boost::system::error_code ec;
        auto addr = boost::asio::ip::make_address(std::string(f[0]), ec);
        if (!ec && std::find(out.begin(), out.end(), addr) == out.end()) {
            out.push_back(addr);
        }
    });
    return out;
}

std::vector<std::string> query_names(std::string_view name, const resolv_conf& conf) {
    if (!name.empty() && name.back() == '.') {
        return {std::string(strip_dot(name))};
    }
    std::vector<std::string> out;
    const auto dots = std::count(name.begin(), name.end(), '.');
    if (dots >= conf.ndots) {
        out.emplace_back(name);
    }
    for (const auto& d : conf.search) {
        out.push_back(std::string(name) + "." + d);
    }
    if (dots < conf.ndots) {
        out.emplace_back(name);
    }
    return out;
}

std::string query_encode(std::uint16_t id, std::string_view name, std::uint16_t type) {
    name = strip_dot(name);
    if (name.empty() || name.size() > 253) {
        throw format_error("invalid host name length");
    }
    std::string m;
    m.reserve(18 + name.size());
    auto u16 = [&](std::uint16_t v) {
        m += static_cast<char>(v >> 8);
        m += static_cast<char>(v & 0xFF);
    };
    u16(id);
    u16(0x0100);  // standard query, recursion desired
    u16(1);       // one question
    u16(0);
    u16(0);
    u16(0);
    std::size_t start = 0;
    while (start <= name.size()) {
        auto dot = name.find('.', start);
        auto label = name.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start);
        if (label.empty() || label.size() > 63) {
            throw format_error("invalid label in host name");
        }
        m += static_cast<char>(label.size());
        m += label;
        if (dot == std::string_view::npos) {
            break;
        }
        start = dot + 1;
    }
    m += '\0';
    u16(type);
    u16(1);  // class IN
    return m;
}

answer response_parse(std::string_view msg, std::uint16_t id, std::string_view name, std::uint16_t type) {
    if (msg.size() < 12) {
        throw format_error("short message");
    }
    if (read_u16(msg, 0) != id) {
        throw format_error("other query id");
    }
    const std::uint16_t flags = read_u16(msg, 2);
    if ((flags & 0x8000) == 0) {
        throw format_error("not a response");
    }
    answer out;
    out.truncated = (flags & 0x0200) != 0;
    out.rcode = flags & 0x000F;
    const std::uint16_t qdcount = read_u16(msg, 4);
    const std::uint16_t ancount = read_u16(msg, 6);
    std::size_t pos = 12;
    const std::string want = lower(strip_dot(name));
    if (qdcount != 1) {
        // A truncated or failed response may come without its question; then only the id ties it to ours.
        if (qdcount == 0 && (out.truncated || out.rcode != rcode_noerror)) {
            return out;
        }
        throw format_error("unexpected question count");
    }
    if (read_name(msg, pos) != want || read_u16(msg, pos) != type || read_u16(msg, pos + 2) != 1) {
        throw format_error("response to another question");
    }
    pos += 4;

    struct record {
        std::string owner;
        std::uint16_t type;
        std::string_view data;
        std::size_t data_pos;
    };
    std::vector<record> records;
    for (std::uint16_t i = 0; i < ancount; ++i) {
        std::string owner = read_name(msg, pos);
        const std::uint16_t rtype = read_u16(msg, pos);
        const std::uint16_t rclass = read_u16(msg, pos + 2);
        const std::uint16_t rdlength = read_u16(msg, pos + 8);
        pos += 10;
        if (pos + rdlength > msg.size()) {
            throw format_error("truncated record");
        }
        if (rclass == 1) {
            records.push_back({std::move(owner), rtype, msg.substr(pos, rdlength), pos});
        }
        pos += rdlength;
    }
    // The addresses of the asked name, or of the name its CNAME chain ends at (a recursive server answers
    // "www.example.com CNAME edge.example.net; edge.example.net A …" in one response).
    std::string current = want;
    for (int hop = 0; hop < 16; ++hop) {
        std::string next;
        for (const auto& r : records) {
            if (r.owner != current) {
                continue;
            }
            if (r.type == type && type == type_a && r.data.size() == 4) {
                boost::asio::ip::address_v4::bytes_type b;
                std::memcpy(b.data(), r.data.data(), 4);
                out.addresses.emplace_back(boost::asio::ip::address_v4(b));
            } else if (r.type == type && type == type_aaaa && r.data.size() == 16) {
                boost::asio::ip::address_v6::bytes_type b;
                std::memcpy(b.data(), r.data.data(), 16);
                out.addresses.emplace_back(boost::asio::ip::address_v6(b));
            } else if (r.type == type_cname && next.empty()) {
                std::size_t p = r.data_pos;
                next = read_name(msg, p);
            }
        }
        if (!out.addresses.empty() || next.empty()) {
            break;
        }
        current = std::move(next);
    }
    return out;
}

}  // namespace happy::net::dns
