#include "core/net/resolve.hpp"

#include <sodium.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/udp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <charconv>
#include <fstream>
#include <optional>
#include <sstream>

namespace happy::net {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using udp = asio::ip::udp;
using boost::system::error_code;
using boost::system::system_error;
using clock = std::chrono::steady_clock;
using namespace asio::experimental::awaitable_operators;

namespace {

constexpr auto nothrow = asio::as_tuple(asio::use_awaitable);

std::string read_text_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        return {};  // a missing /etc/hosts or /etc/resolv.conf means "nothing there", as for glibc
    }
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

std::uint16_t random_id() {
    std::uint16_t id = 0;
    randombytes_buf(&id, sizeof id);  // unpredictable ids (with the kernel's random source port) against spoofing
    return id;
}

/// One query over UDP to one server; nullopt when it gave no usable answer before `until` (timeout, ICMP refusal,
/// only stray datagrams).
asio::awaitable<std::optional<dns::answer>> ask_udp(udp::endpoint server, const std::string& query, std::uint16_t id,
                                                    const std::string& name, std::uint16_t type, clock::time_point until) {
    auto ex = co_await asio::this_coro::executor;
    udp::socket sock(ex);
    error_code ec;
    sock.open(server.protocol(), ec);
    if (!ec) {
        sock.connect(server, ec);  // connected: only this server's datagrams arrive, and a refusal is reported
    }
    if (ec) {
        co_return std::nullopt;
    }
    asio::steady_timer timer(ex);
    timer.expires_at(until);
    auto sent = co_await (sock.async_send(asio::buffer(query), nothrow) || timer.async_wait(nothrow));
    if (sent.index() == 1 || std::get<0>(std::get<0>(sent))) {
        co_return std::nullopt;
    }
    std::vector<char> buf(65536);  // on the heap: not in the coroutine frame
    while (true) {
        auto got = co_await (sock.async_receive(asio::buffer(buf), nothrow) || timer.async_wait(nothrow));
        if (got.index() == 1) {
            co_return std::nullopt;
        }
        auto [rec, n] = std::get<0>(got);
        if (rec) {
            co_return std::nullopt;
        }
        try {
            co_return dns::response_parse(std::string_view(buf.data(), n), id, name, type);
        } catch (const dns::format_error&) {
            // Not the answer to this query: keep listening until the deadline.
        }
    }
}

/// The same over TCP (RFC 1035 4.2.2: a two-byte length before each message), for answers too big for UDP.
asio::awaitable<std::optional<dns::answer>> ask_tcp(udp::endpoint server, const std::string& query, std::uint16_t id,
                                                    const std::string& name, std::uint16_t type, clock::time_point until) {
    auto ex = co_await asio::this_coro::executor;
    tcp::socket sock(ex);
    asio::steady_timer timer(ex);
    timer.expires_at(until);
    auto connected =
        co_await (sock.async_connect(tcp::endpoint(server.address(), server.port()), nothrow) || timer.async_wait(nothrow));
    if (connected.index() == 1 || std::get<0>(std::get<0>(connected))) {
        co_return std::nullopt;
    }
    std::string framed;
    framed += static_cast<char>(query.size() >> 8);
    framed += static_cast<char>(query.size() & 0xFF);
    framed += query;
    auto written = co_await (asio::async_write(sock, asio::buffer(framed), nothrow) || timer.async_wait(nothrow));
    if (written.index() == 1 || std::get<0>(std::get<0>(written))) {
        co_return std::nullopt;
    }
    std::vector<char> buf(2);
    auto len = co_await (asio::async_read(sock, asio::buffer(buf), nothrow) || timer.async_wait(nothrow));
    if (len.index() == 1 || std::get<0>(std::get<0>(len))) {
        co_return std::nullopt;
    }
    buf.resize((static_cast<unsigned char>(buf[0]) << 8) | static_cast<unsigned char>(buf[1]));
    auto body = co_await (asio::async_read(sock, asio::buffer(buf), nothrow) || timer.async_wait(nothrow));
    if (body.index() == 1 || std::get<0>(std::get<0>(body))) {
        co_return std::nullopt;
    }
    try {
        co_return dns::response_parse(std::string_view(buf.data(), buf.size()), id, name, type);
    } catch (const dns::format_error&) {
        co_return std::nullopt;
    }
}

asio::awaitable<std::optional<dns::answer>> ask(udp::endpoint server, std::string name, std::uint16_t type,
                                                clock::time_point until) {
    const std::uint16_t id = random_id();
    const std::string query = dns::query_encode(id, name, type);
    auto a = co_await ask_udp(server, query, id, name, type, until);
    if (a && a->truncated) {
        a = co_await ask_tcp(server, query, id, name, type, until);
    }
    co_return a;
}

enum class status { found, nxdomain, nodata, no_answer };

struct lookup_result {
    status st = status::no_answer;
    std::vector<dns::address> addresses;
};

/// A and AAAA for one name: each server in turn, `attempts` rounds, until one answers (an answer that the name
/// does not exist is an answer; a server failure or silence moves on to the next server).
asio::awaitable<lookup_result> lookup(const dns::resolv_conf& conf, const std::string& name, clock::time_point deadline) {
    for (int attempt = 0; attempt < conf.attempts; ++attempt) {
        for (const auto& server : conf.nameservers) {
            const auto now = clock::now();
            if (now >= deadline) {
                co_return lookup_result{};
            }
            const auto until = std::min(deadline, now + conf.timeout);
            auto [a, aaaa] = co_await (ask(server, name, dns::type_a, until) && ask(server, name, dns::type_aaaa, until));
            lookup_result r;
            bool answered = false;
            bool nxdomain = false;
            for (const auto* ans : {&a, &aaaa}) {
                if (!*ans) {
                    continue;
                }
                const auto& v = **ans;
                if (v.rcode == dns::rcode_noerror || v.rcode == dns::rcode_nxdomain) {
                    answered = true;
                    nxdomain = nxdomain || v.rcode == dns::rcode_nxdomain;
                    r.addresses.insert(r.addresses.end(), v.addresses.begin(), v.addresses.end());
                }
            }
            if (!r.addresses.empty()) {
                r.st = status::found;
                co_return r;
            }
            if (answered) {
                r.st = nxdomain ? status::nxdomain : status::nodata;
                co_return r;
            }
        }
    }
    co_return lookup_result{};
}

std::uint16_t parse_port(std::string_view port) {
    unsigned v = 0;
    auto [p, ec] = std::from_chars(port.data(), port.data() + port.size(), v);
    if (ec != std::errc{} || p != port.data() + port.size() || v > 65535) {
        throw system_error(asio::error::service_not_found, "port " + std::string(port));
    }
    return static_cast<std::uint16_t>(v);
}

endpoint_list endpoints_of(const std::vector<dns::address>& addrs, std::uint16_t port) {
    endpoint_list out;
    for (const auto& a : addrs) {
        out.emplace_back(a, port);
    }
    return out;
}

#if !HAPPY_BUILTIN_RESOLVER
asio::awaitable<endpoint_list> resolve_system(std::string host, std::string port, clock::time_point deadline) {
    auto ex = co_await asio::this_coro::executor;
    tcp::resolver resolver(ex);  // getaddrinfo on Asio's resolver thread
    asio::steady_timer timer(ex);
    timer.expires_at(deadline);
    auto r = co_await (resolver.async_resolve(host, port, nothrow) || timer.async_wait(nothrow));
    if (r.index() == 1) {
        throw system_error(asio::error::timed_out, "resolving " + host);
    }
    auto [ec, results] = std::get<0>(std::move(r));
    if (ec) {
        throw system_error(ec, "resolving " + host);
    }
    endpoint_list out;
    for (const auto& e : results) {
        out.push_back(e.endpoint());
    }
    co_return out;
}
#endif

}  // namespace

bool builtin_resolver() {
#if HAPPY_BUILTIN_RESOLVER
    return true;
#else
    return false;
#endif
}

asio::awaitable<endpoint_list> resolve_builtin(std::string host, std::string port, clock::time_point deadline,
                                               const builtin_config& cfg) {
    const std::uint16_t port_number = parse_port(port);
    error_code ec;
    auto literal = asio::ip::make_address(host, ec);
    if (!ec) {
        co_return endpoint_list{tcp::endpoint(literal, port_number)};
    }
    if (auto from_hosts = dns::hosts_lookup(read_text_file(cfg.hosts_file), host); !from_hosts.empty()) {
        co_return endpoints_of(from_hosts, port_number);
    }
    std::string_view bare = host;
    if (bare.ends_with('.')) {
        bare.remove_suffix(1);
    }
    if (bare == "localhost" || bare.ends_with(".localhost")) {
        co_return endpoints_of({asio::ip::address_v4::loopback(), asio::ip::address_v6::loopback()}, port_number);
    }
    const dns::resolv_conf conf = cfg.conf ? *cfg.conf : dns::resolv_conf_parse(read_text_file(cfg.resolv_conf_file));
    std::vector<std::string> names;
    try {
        names = dns::query_names(host, conf);
        for (const auto& n : names) {
            dns::query_encode(0, n, dns::type_a);  // a name DNS cannot carry is not found, before any query
        }
    } catch (const dns::format_error&) {
        throw system_error(asio::error::host_not_found, "resolving " + host);
    }
    bool unanswered = false;
    for (const auto& n : names) {
        auto r = co_await lookup(conf, n, deadline);
        if (r.st == status::found) {
            co_return endpoints_of(r.addresses, port_number);
        }
        if (r.st == status::no_answer) {
            if (clock::now() >= deadline) {
                throw system_error(asio::error::timed_out, "resolving " + host);
            }
            unanswered = true;
        }
    }
    throw system_error(unanswered ? asio::error::host_not_found_try_again : asio::error::host_not_found,
                       "resolving " + host);
}

asio::awaitable<endpoint_list> resolve(std::string host, std::string port, clock::time_point deadline) {
    // Chosen when compiling, so that the static binary holds no call to getaddrinfo at all.
#if HAPPY_BUILTIN_RESOLVER
    static const builtin_config system_files;  // /etc/hosts, /etc/resolv.conf
    co_return co_await resolve_builtin(std::move(host), std::move(port), deadline, system_files);
#else
    co_return co_await resolve_system(std::move(host), std::move(port), deadline);
#endif
}

endpoint_list resolve_blocking(const std::string& host, const std::string& port, std::chrono::milliseconds timeout) {
    asio::io_context io;
    std::exception_ptr failure;
    endpoint_list out;
    asio::co_spawn(io, resolve(host, port, clock::now() + timeout), [&](std::exception_ptr e, endpoint_list r) {
        failure = e;
        out = std::move(r);
    });
    io.run();
    if (failure) {
        std::rethrow_exception(failure);
    }
    return out;
}

}  // namespace happy::net
