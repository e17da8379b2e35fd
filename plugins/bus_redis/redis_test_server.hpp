/// @file
/// For tests only: a real `redis-server` (Debian's package, installed by scripts/setup.sh) started by the test
/// itself on a free loopback port with a temporary directory and no persistence, stopped when the object goes.
/// Never a system service, never a fixed port.
#pragma once
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace happy::plugin::bus_redis::testing {

inline std::string find_redis_server() {
    for (const char* p : {"/usr/bin/redis-server", "/usr/local/bin/redis-server"}) {
        if (::access(p, X_OK) == 0) {
            return p;
        }
    }
    return {};
}

class redis_test_server {
public:
    /// `password` non-empty: started with --requirepass.
    explicit redis_test_server(std::string password = {}) : password_(std::move(password)) {
        bin_ = find_redis_server();
        if (bin_.empty()) {
            throw std::runtime_error("redis-server not found (scripts/setup.sh installs it)");
        }
        char tmpl[] = "/tmp/happy-redis-XXXXXX";
        if (!::mkdtemp(tmpl)) {
            throw std::runtime_error("mkdtemp failed");
        }
        dir_ = tmpl;
        for (int attempt = 0; attempt < 5; ++attempt) {
            port_ = free_port();
            if (launch()) {
                return;
            }
        }
        throw std::runtime_error("redis-server did not start");
    }
    ~redis_test_server() {
        kill_now();
        std::error_code ec;
        std::filesystem::remove_all(dir_, ec);
    }
    redis_test_server(const redis_test_server&) = delete;
    redis_test_server& operator=(const redis_test_server&) = delete;

    std::uint16_t port() const { return port_; }
    std::string url(int db = 0) const {
        std::string auth = password_.empty() ? "" : ":" + password_ + "@";
        return "redis://" + auth + "127.0.0.1:" + std::to_string(port_) + (db ? "/" + std::to_string(db) : "");
    }

    /// SIGKILL, as a crash would.
    void kill_now() {
        if (pid_ > 0) {
            ::kill(pid_, SIGKILL);
            ::waitpid(pid_, nullptr, 0);
            pid_ = -1;
        }
    }
    /// Starts again on the same port (after kill_now()).
    void restart() {
        for (int attempt = 0; attempt < 50; ++attempt) {
            if (launch()) {
                return;
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(100));
        }
        throw std::runtime_error("redis-server did not restart");
    }

private:
    static std::uint16_t free_port() {
        int fd = ::socket(AF_INET, SOCK_STREAM, 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        a.sin_port = 0;
        ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
        socklen_t len = sizeof a;
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
        ::close(fd);
        return ntohs(a.sin_port);
    }

    static bool can_connect(std::uint16_t port) {
        int fd = ::socket(AF_INET, SOCK_STREAM, 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        a.sin_port = htons(port);
        bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
        ::close(fd);
        return ok;
    }

    bool launch() {
        std::vector<std::string> args{bin_,         "--port",       std::to_string(port_), "--bind", "127.0.0.1",
                                      "--dir",      dir_,           "--save",              "",       "--appendonly",
                                      "no",         "--daemonize",  "no",                  "--logfile", dir_ + "/redis.log"};
        if (!password_.empty()) {
            args.push_back("--requirepass");
            args.push_back(password_);
        }
        pid_t pid = ::fork();
        if (pid == 0) {
            std::vector<char*> argv;
            for (auto& a : args) {
                argv.push_back(a.data());
            }
            argv.push_back(nullptr);
            ::execv(bin_.c_str(), argv.data());
            ::_exit(127);
        }
        pid_ = pid;
        for (int i = 0; i < 200; ++i) {
            if (can_connect(port_)) {
                return true;
            }
            int status = 0;
            if (::waitpid(pid_, &status, WNOHANG) == pid_) {
                pid_ = -1;  // exited: port taken, most likely
                return false;
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(25));
        }
        kill_now();
        return false;
    }

    std::string bin_;
    std::string dir_;
    std::string password_;
    std::uint16_t port_ = 0;
    pid_t pid_ = -1;
};

}  // namespace happy::plugin::bus_redis::testing
