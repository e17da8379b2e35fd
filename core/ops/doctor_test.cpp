#include "core/ops/doctor.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/json.hpp>
#include <fstream>

namespace happy::ops {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;
using state = check_result::state;

struct temp_dir {
    fs::path path;
    temp_dir() {
        char t[] = "/tmp/happy-doctor-XXXXXX";
        path = ::mkdtemp(t);
    }
    ~temp_dir() { fs::remove_all(path); }
};

json::object cfg_for(const fs::path& data_dir, std::string secret = "") {
    return json::object{{"data_dir", data_dir.string()}, {"auth", json::object{{"master_secret", secret}}}};
}

TEST(doctor, master_secret_must_be_owner_only_and_present_when_data_exists) {
    temp_dir d;
    EXPECT_EQ(check_master_secret(cfg_for(d.path, "configured"), true).status, state::ok);
    auto missing = check_master_secret(cfg_for(d.path), false);
    EXPECT_EQ(missing.status, state::ok) << missing.detail;  // the first start generates it
    auto lost = check_master_secret(cfg_for(d.path), true);
    EXPECT_EQ(lost.status, state::fail);
    EXPECT_NE(lost.detail.find("no existing token will verify"), std::string::npos);

    auto p = d.path / "master-secret";
    std::ofstream(p) << "secret";
    ::chmod(p.c_str(), 0644);
    auto open = check_master_secret(cfg_for(d.path), true);
    EXPECT_EQ(open.status, state::fail);
    EXPECT_NE(open.detail.find("mode 0644"), std::string::npos) << open.detail;
    EXPECT_EQ(open.fix, "chmod 600 " + p.string());
    ::chmod(p.c_str(), 0600);
    EXPECT_EQ(check_master_secret(cfg_for(d.path), true).status, state::ok);
    std::ofstream(p, std::ios::trunc).flush();
    EXPECT_EQ(check_master_secret(cfg_for(d.path), true).status, state::fail) << "empty";
}

TEST(doctor, port_in_use_fails_unless_it_is_the_running_servers) {
    boost::asio::io_context ioc;
    boost::asio::ip::tcp::acceptor a(ioc, {boost::asio::ip::make_address("127.0.0.1"), 0});
    int port = a.local_endpoint().port();
    auto busy = check_port("port", "127.0.0.1", port, std::nullopt);
    EXPECT_EQ(busy.status, state::fail);
    EXPECT_NE(busy.detail.find("in use by another program"), std::string::npos);
    EXPECT_EQ(check_port("port", "127.0.0.1", port, port).status, state::ok);
    EXPECT_EQ(check_port("port", "127.0.0.1", 0, std::nullopt).status, state::ok);
    a.close();
    EXPECT_EQ(check_port("port", "127.0.0.1", port, std::nullopt).status, state::ok);
    EXPECT_EQ(check_port("port", "localhost", 1, std::nullopt).status, state::fail);
}

TEST(doctor, clock_checks_plausibility_sync_and_skew) {
    std::int64_t now = 1750000000000;
    EXPECT_EQ(check_clock(now, true, std::nullopt, "").status, state::ok);
    EXPECT_EQ(check_clock(86400000, true, std::nullopt, "").status, state::fail) << "1970";
    EXPECT_EQ(check_clock(now, false, std::nullopt, "").status, state::warn) << "not synchronized";
    EXPECT_EQ(check_clock(now, true, now - 30000, "x").status, state::ok);
    EXPECT_EQ(check_clock(now, true, now - 120000, "x").status, state::warn);
    auto far = check_clock(now, std::nullopt, now + 600000, "https://api.github.com");
    EXPECT_EQ(far.status, state::fail);
    EXPECT_NE(far.detail.find("-600 s off https://api.github.com's clock"), std::string::npos) << far.detail;
}

TEST(doctor, data_dir_checks) {
    temp_dir d;
    auto r = check_data_dir(d.path, true);
    ASSERT_EQ(r.size(), 1u);
    EXPECT_EQ(r[0].status, state::ok) << r[0].detail;
    EXPECT_EQ(check_data_dir(d.path / "new", true)[0].status, state::ok) << "created at first start";
    EXPECT_EQ(check_data_dir(d.path / "no" / "such", true)[0].status, state::fail);
    EXPECT_EQ(network_filesystem(0x6969), "nfs");
    EXPECT_EQ(network_filesystem(0xEF53), "") << "ext4 is local";
    EXPECT_EQ(check_disk(d.path, 0).name, "disk");
    EXPECT_NE(check_disk(d.path, 0).status, state::skip);
    EXPECT_EQ(check_disk(d.path, std::uint64_t(1) << 60).status, state::warn) << "twice an exabyte is not free";
}

}  // namespace
}  // namespace happy::ops
