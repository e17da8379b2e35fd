#include "core/net/resolve.hpp"

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/udp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <map>
#include <thread>

namespace happy::net {
namespace {

namespace asio = boost::asio;
using asio::ip::make_address;
using asio::ip::tcp;
using asio::ip::udp;
using std::chrono::milliseconds;

/// How the fake server answers one name.
struct zone_entry {
    std::vector<std::string> a;
    std::vector<std::string> aaaa;
    std::string cname;            ///< answered as a CNAME to this name (whose records follow if known)
    int rcode = 0;
    bool truncate_udp = false;    ///< UDP answers carry TC and no records; TCP has the records
    bool silent = false;          ///< never answers
};

/// A DNS server on 127.0.0.1 (one port for UDP and TCP) answering A/AAAA from a table, counting queries.
class fake_dns {
public:
    fake_dns() {
        for (int i = 0; i < 50; ++i) {
            udp_.open(udp::v4());
            udp_.bind(udp::endpoint(make_address("127.0.0.1"), 0));
            boost::system::error_code ec;
            tcp_.open(tcp::v4());
            tcp_.bind(tcp::endpoint(make_address("127.0.0.1"), udp_.local_endpoint().port()), ec);
            if (!ec) {
                break;
            }
            udp_.close();
            tcp_.close();
        }
        tcp_.listen();
        asio::co_spawn(io_, serve_udp(), asio::detached);
        asio::co_spawn(io_, serve_tcp(), asio::detached);
        thread_ = std::thread([this] { io_.run(); });
    }
    ~fake_dns() {
        io_.stop();
        thread_.join();
    }
    udp::endpoint endpoint() const { return udp_.local_endpoint(); }

    std::map<std::string, zone_entry> zone;  // set before resolving
    std::atomic<int> udp_queries{0};
    std::atomic<int> tcp_queries{0};

private:
    static std::string u16(std::uint16_t v) {
        return std::string{static_cast<char>(v >> 8), static_cast<char>(v & 0xFF)};
    }
    static std::string encode_name(const std::string& name) {
        std::string out;
        std::size_t start = 0;
        while (start < name.size()) {
            auto dot = name.find('.', start);
            auto label = name.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
            out += static_cast<char>(label.size());
            out += label;
            start = dot == std::string::npos ? name.size() : dot + 1;
        }
        return out + std::string(1, '\0');
    }

    std::string answer(std::string_view query, bool over_tcp) {
        // Question: the name starts at 12 and is uncompressed in a query.
        std::string name;
        std::size_t p = 12;
        while (p < query.size() && query[p] != 0) {
            auto len = static_cast<unsigned char>(query[p]);
            if (!name.empty()) {
                name += '.';
            }
            name.append(query.substr(p + 1, len));
            p += 1 + len;
        }
        const std::uint16_t type = static_cast<std::uint16_t>((static_cast<unsigned char>(query[p + 1]) << 8) |
                                                              static_cast<unsigned char>(query[p + 2]));
        std::string head(query.substr(0, p + 5));
        auto it = zone.find(name);
        std::uint16_t flags = 0x8180;
        std::string records;
        int count = 0;
        if (it == zone.end()) {
            flags |= 3;
        } else if (it->second.truncate_udp && !over_tcp) {
            flags |= 0x0200;
        } else {
            flags |= static_cast<std::uint16_t>(it->second.rcode);
            const zone_entry* e = &it->second;
            std::string owner = name;
            if (!e->cname.empty()) {
                records += encode_name(owner) + u16(dns::type_cname) + u16(1) + std::string(4, '\0') +
                           u16(static_cast<std::uint16_t>(encode_name(e->cname).size())) + encode_name(e->cname);
                ++count;
                owner = e->cname;
                auto target = zone.find(owner);
                e = target == zone.end() ? nullptr : &target->second;
            }
            if (e != nullptr) {
                for (const auto& a : type == dns::type_a ? e->a : e->aaaa) {
                    auto addr = make_address(a);
                    std::string bytes;
                    if (addr.is_v4()) {
                        auto b = addr.to_v4().to_bytes();
                        bytes.assign(b.begin(), b.end());
                    } else {
                        auto b = addr.to_v6().to_bytes();
                        bytes.assign(b.begin(), b.end());
                    }
                    records += encode_name(owner) + u16(type) + u16(1) + std::string(4, '\0') +
                               u16(static_cast<std::uint16_t>(bytes.size())) + bytes;
                    ++count;
                }
            }
        }
        head[2] = static_cast<char>(flags >> 8);
        head[3] = static_cast<char>(flags & 0xFF);
        head[6] = static_cast<char>(count >> 8);
        head[7] = static_cast<char>(count & 0xFF);
        return head + records;
    }

    bool silent_for(std::string_view query) {
        for (const auto& [name, e] : zone) {
            if (e.silent && query.find(encode_name(name)) != std::string_view::npos) {
                return true;
            }
        }
        return false;
    }

    asio::awaitable<void> serve_udp() {
        std::vector<char> buf(4096);
        while (true) {
            udp::endpoint from;
            auto n = co_await udp_.async_receive_from(asio::buffer(buf), from, asio::use_awaitable);
            ++udp_queries;
            std::string_view q(buf.data(), n);
            if (silent_for(q)) {
                continue;
            }
            auto reply = answer(q, false);
            co_await udp_.async_send_to(asio::buffer(reply), from, asio::use_awaitable);
        }
    }

    asio::awaitable<void> serve_tcp() {
        while (true) {
            auto sock = co_await tcp_.async_accept(asio::use_awaitable);
            ++tcp_queries;
            std::vector<char> len(2);
            co_await asio::async_read(sock, asio::buffer(len), asio::use_awaitable);
            std::vector<char> q((static_cast<unsigned char>(len[0]) << 8) | static_cast<unsigned char>(len[1]));
            co_await asio::async_read(sock, asio::buffer(q), asio::use_awaitable);
            auto reply = answer(std::string_view(q.data(), q.size()), true);
            std::string framed = u16(static_cast<std::uint16_t>(reply.size())) + reply;
            co_await asio::async_write(sock, asio::buffer(framed), asio::use_awaitable);
        }
    }

    asio::io_context io_;
    udp::socket udp_{io_};
    tcp::acceptor tcp_{io_};
    std::thread thread_;
};

class temp_file {
public:
    explicit temp_file(const std::string& text) {
        path_ = std::filesystem::temp_directory_path() /
                ("happy-resolve-test-" + std::to_string(::getpid()) + "-" + std::to_string(counter_++));
        std::ofstream(path_) << text;
    }
    ~temp_file() { std::filesystem::remove(path_); }
    std::string path() const { return path_.string(); }

private:
    static inline int counter_ = 0;
    std::filesystem::path path_;
};

/// Runs resolve_builtin to completion; the error code when it throws.
struct outcome {
    endpoint_list endpoints;
    boost::system::error_code ec;
    milliseconds took{};
};

outcome run(std::string host, std::string port, const builtin_config& cfg, milliseconds timeout = milliseconds(3000)) {
    asio::io_context io;
    outcome out;
    const auto start = std::chrono::steady_clock::now();
    asio::co_spawn(io, resolve_builtin(host, port, start + timeout, cfg),
                   [&](std::exception_ptr e, endpoint_list r) {
                       out.endpoints = std::move(r);
                       if (e) {
                           try {
                               std::rethrow_exception(e);
                           } catch (const boost::system::system_error& se) {
                               out.ec = se.code();
                           }
                       }
                   });
    io.run();
    out.took = std::chrono::duration_cast<milliseconds>(std::chrono::steady_clock::now() - start);
    return out;
}

class resolve_builtin_test : public ::testing::Test {
protected:
    resolve_builtin_test() : hosts_("127.0.0.1 localhost\n10.9.8.7 pinned.test db\n") {
        conf_.nameservers = {server_.endpoint()};
        conf_.timeout = milliseconds(300);
        conf_.attempts = 1;
        cfg_.hosts_file = hosts_.path();
        cfg_.conf = &conf_;
    }
    fake_dns server_;
    temp_file hosts_;
    dns::resolv_conf conf_;
    builtin_config cfg_;
};

TEST_F(resolve_builtin_test, asks_the_server_for_a_and_aaaa_and_puts_ipv4_first) {
    server_.zone["api.example.com"] = {.a = {"192.0.2.1", "192.0.2.2"}, .aaaa = {"2001:db8::1"}};
    auto r = run("api.example.com", "443", cfg_);
    ASSERT_FALSE(r.ec) << r.ec.message();
    ASSERT_EQ(r.endpoints.size(), 3u);
    EXPECT_EQ(r.endpoints[0], tcp::endpoint(make_address("192.0.2.1"), 443));
    EXPECT_EQ(r.endpoints[1], tcp::endpoint(make_address("192.0.2.2"), 443));
    EXPECT_EQ(r.endpoints[2], tcp::endpoint(make_address("2001:db8::1"), 443));
    EXPECT_EQ(server_.udp_queries, 2);
}

TEST_F(resolve_builtin_test, hosts_file_literals_and_localhost_need_no_server) {
    auto pinned = run("PINNED.test", "5432", cfg_);
    ASSERT_FALSE(pinned.ec);
    ASSERT_EQ(pinned.endpoints.size(), 1u);
    EXPECT_EQ(pinned.endpoints[0], tcp::endpoint(make_address("10.9.8.7"), 5432));
    auto literal = run("::1", "80", cfg_);
    ASSERT_EQ(literal.endpoints.size(), 1u);
    EXPECT_EQ(literal.endpoints[0], tcp::endpoint(make_address("::1"), 80));
    temp_file empty_hosts("");
    builtin_config no_hosts = cfg_;
    no_hosts.hosts_file = empty_hosts.path();
    auto lh = run("localhost", "6379", no_hosts);  // RFC 6761 even without a hosts entry
    ASSERT_EQ(lh.endpoints.size(), 2u);
    EXPECT_EQ(lh.endpoints[0].address(), make_address("127.0.0.1"));
    EXPECT_EQ(server_.udp_queries, 0);
}

TEST_F(resolve_builtin_test, follows_cnames_and_the_search_list) {
    server_.zone["www.example.com"] = {.cname = "edge.example.net"};
    server_.zone["edge.example.net"] = {.a = {"198.51.100.4"}};
    auto r = run("www.example.com", "443", cfg_);
    ASSERT_FALSE(r.ec) << r.ec.message();
    ASSERT_EQ(r.endpoints.size(), 1u);
    EXPECT_EQ(r.endpoints[0].address(), make_address("198.51.100.4"));

    conf_.search = {"svc.cluster.local"};
    server_.zone["redis.svc.cluster.local"] = {.a = {"10.0.0.9"}};
    auto s = run("redis", "6379", cfg_);
    ASSERT_FALSE(s.ec) << s.ec.message();
    EXPECT_EQ(s.endpoints.at(0).address(), make_address("10.0.0.9"));
}

TEST_F(resolve_builtin_test, unknown_names_and_names_dns_cannot_carry_are_not_found) {
    auto r = run("nowhere.example.com", "443", cfg_);
    EXPECT_EQ(r.ec, asio::error::host_not_found);
    auto bad = run("a..b", "443", cfg_);
    EXPECT_EQ(bad.ec, asio::error::host_not_found);
    auto port = run("pinned.test", "https", cfg_);
    EXPECT_EQ(port.ec, asio::error::service_not_found);
}

TEST_F(resolve_builtin_test, a_truncated_udp_answer_is_asked_again_over_tcp) {
    server_.zone["big.example.com"] = {.a = {"192.0.2.10", "192.0.2.11"}, .truncate_udp = true};
    auto r = run("big.example.com", "443", cfg_);
    ASSERT_FALSE(r.ec) << r.ec.message();
    EXPECT_EQ(r.endpoints.size(), 2u);
    EXPECT_EQ(server_.tcp_queries, 2);  // A and AAAA
}

TEST_F(resolve_builtin_test, a_failing_or_silent_server_is_skipped_for_the_next) {
    fake_dns second;
    second.zone["api.example.com"] = {.a = {"192.0.2.99"}};
    server_.zone["api.example.com"] = {.rcode = dns::rcode_servfail};
    conf_.nameservers = {server_.endpoint(), second.endpoint()};
    auto r = run("api.example.com", "443", cfg_);
    ASSERT_FALSE(r.ec) << r.ec.message();
    EXPECT_EQ(r.endpoints.at(0).address(), make_address("192.0.2.99"));

    server_.zone["api.example.com"] = {.silent = true};
    auto s = run("api.example.com", "443", cfg_);
    ASSERT_FALSE(s.ec) << s.ec.message();
    EXPECT_EQ(s.endpoints.at(0).address(), make_address("192.0.2.99"));
    EXPECT_GE(s.took, milliseconds(250));  // the first server's timeout, then the second
}

TEST_F(resolve_builtin_test, silence_everywhere_is_try_again_or_the_deadline) {
    server_.zone["slow.example.com"] = {.silent = true};
    auto r = run("slow.example.com", "443", cfg_);
    EXPECT_EQ(r.ec, asio::error::host_not_found_try_again);
    conf_.timeout = milliseconds(5000);
    auto d = run("slow.example.com", "443", cfg_, milliseconds(200));
    EXPECT_EQ(d.ec, asio::error::timed_out);
    EXPECT_LT(d.took, milliseconds(2000));
}

TEST(resolve_blocking, resolves_a_literal_and_localhost_on_its_own_io_context) {
    auto r = resolve_blocking("127.0.0.1", "5432", milliseconds(1000));
    ASSERT_EQ(r.size(), 1u);
    EXPECT_EQ(r[0], tcp::endpoint(make_address("127.0.0.1"), 5432));
    auto lh = resolve_blocking("localhost", "5432", milliseconds(3000));
    ASSERT_FALSE(lh.empty());
    EXPECT_TRUE(lh[0].address().is_loopback());
}

}  // namespace
}  // namespace happy::net
