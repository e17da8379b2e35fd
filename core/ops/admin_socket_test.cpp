#include "core/ops/admin_socket.hpp"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/json.hpp>
#include <thread>

namespace happy::ops {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;
namespace asio = boost::asio;

struct temp_dir {
    fs::path path;
    temp_dir() {
        char t[] = "/tmp/happy-admin-XXXXXX";
        path = ::mkdtemp(t);
    }
    ~temp_dir() { fs::remove_all(path); }
};

/// An io_context running on a thread for the test's lifetime.
struct running_io {
    asio::io_context ioc;
    asio::executor_work_guard<asio::io_context::executor_type> work{ioc.get_executor()};
    std::thread t{[this] { ioc.run(); }};
    ~running_io() {
        work.reset();
        ioc.stop();
        t.join();
    }
};

TEST(admin_socket, answers_ops_owner_only_and_removes_its_file) {
    temp_dir d;
    auto path = admin_socket_path(d.path);
    running_io io;
    {
        admin_server admin(io.ioc, path);
        admin.add("echo", [](const json::object& r) -> asio::awaitable<json::object> {
            co_return json::object{{"ok", true}, {"got", r.at("x")}};
        });
        admin.add("boom", [](const json::object&) -> asio::awaitable<json::object> {
            throw std::runtime_error("it broke");
            co_return json::object{};
        });
        admin.start();
        struct stat st {};
        ASSERT_EQ(::stat(path.c_str(), &st), 0);
        EXPECT_TRUE(S_ISSOCK(st.st_mode));
        EXPECT_EQ(st.st_mode & 0777, 0600u);

        auto a = admin_call(path, {{"op", "echo"}, {"x", 42}}, std::chrono::seconds(5));
        ASSERT_TRUE(a);
        EXPECT_EQ(json::serialize(*a), R"({"ok":true,"got":42})");
        a = admin_call(path, {{"op", "nope"}}, std::chrono::seconds(5));
        ASSERT_TRUE(a);
        EXPECT_EQ(json::serialize(*a), R"({"ok":false,"error":"unknown op \"nope\""})");
        a = admin_call(path, {{"op", "boom"}}, std::chrono::seconds(5));
        ASSERT_TRUE(a);
        EXPECT_EQ(a->at("error"), "it broke");

        // A second server on the same path is refused while the first answers.
        admin_server second(io.ioc, path);
        EXPECT_THROW(second.start(), std::runtime_error);
        EXPECT_TRUE(admin_call(path, {{"op", "echo"}, {"x", 1}}, std::chrono::seconds(5))) << "the first still answers";
    }
    EXPECT_FALSE(fs::exists(path)) << "stop() removes the socket file";
    EXPECT_FALSE(admin_call(path, {{"op", "echo"}}, std::chrono::seconds(1))) << "no server: nullopt";
}

TEST(admin_socket, a_stale_socket_file_is_replaced) {
    temp_dir d;
    auto path = admin_socket_path(d.path);
    // What a killed server leaves: a socket file nobody listens on.
    int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
    ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    ::close(fd);
    ASSERT_TRUE(fs::exists(path));
    EXPECT_FALSE(admin_call(path, {{"op", "x"}}, std::chrono::seconds(1)));
    running_io io;
    admin_server admin(io.ioc, path);
    admin.add("x", [](const json::object&) -> asio::awaitable<json::object> { co_return json::object{{"ok", true}}; });
    admin.start();
    auto a = admin_call(path, {{"op", "x"}}, std::chrono::seconds(5));
    ASSERT_TRUE(a);
    EXPECT_TRUE(a->at("ok").as_bool());
    admin.stop();
}

TEST(admin_socket, a_malformed_request_gets_an_error) {
    temp_dir d;
    auto path = admin_socket_path(d.path);
    running_io io;
    admin_server admin(io.ioc, path);
    admin.start();
    int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
    ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    ASSERT_EQ(::write(fd, "not json\n", 9), 9);
    char buf[256] = {};
    ssize_t n = ::read(fd, buf, sizeof buf - 1);
    ::close(fd);
    ASSERT_GT(n, 0);
    EXPECT_EQ(std::string(buf, static_cast<std::size_t>(n)), "{\"ok\":false,\"error\":\"malformed request: expected {\\\"op\\\": ...}\"}\n");
}

}  // namespace
}  // namespace happy::ops
