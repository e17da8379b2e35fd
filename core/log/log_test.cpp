#include "core/log/log.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <fcntl.h>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace happy::log {
namespace {

/// Points stdout (the fd the logger writes to) at a temporary file for the lifetime of the object.
class capture_stdout {
public:
    capture_stdout() {
        flush();  // lines logged before belong to the real stdout
        char name[] = "/tmp/happy-log-test-XXXXXX";
        int fd = ::mkstemp(name);
        path_ = name;
        saved_ = ::dup(STDOUT_FILENO);
        ::dup2(fd, STDOUT_FILENO);
        ::close(fd);
    }
    ~capture_stdout() {
        restore();
        std::remove(path_.c_str());
    }
    void restore() {
        if (saved_ >= 0) {
            ::dup2(saved_, STDOUT_FILENO);
            ::close(saved_);
            saved_ = -1;
        }
    }
    std::vector<std::string> lines() const {
        std::ifstream in(path_);
        std::vector<std::string> out;
        for (std::string l; std::getline(in, l);) {
            out.push_back(l);
        }
        return out;
    }

private:
    std::string path_;
    int saved_ = -1;
};

TEST(log, buffered_info_and_immediate_warnings_keep_each_threads_order_and_lose_nothing) {
    configure(level::info, format::console);
    capture_stdout cap;
    constexpr int per_thread = 3000;
    std::vector<std::thread> threads;
    for (int t = 0; t < 3; ++t) {
        threads.emplace_back([t] {
            for (int i = 0; i < per_thread; ++i) {
                // Every 100th line is a warning, written through at once after whatever is buffered.
                if (i % 100 == 0) {
                    warn("line", {{"t", t}, {"i", i}});
                } else {
                    info("line", {{"t", t}, {"i", i}});
                }
            }
        });
    }
    for (auto& th : threads) {
        th.join();
    }
    flush();
    cap.restore();
    std::map<int, int> next;
    int count = 0;
    for (const auto& l : cap.lines()) {
        auto tp = l.find(" t="), ip = l.find(" i=");
        ASSERT_NE(tp, std::string::npos) << l;
        int t = std::stoi(l.substr(tp + 3)), i = std::stoi(l.substr(ip + 3));
        EXPECT_EQ(i, next[t]) << "thread " << t << " out of order: " << l;
        next[t] = i + 1;
        ++count;
    }
    EXPECT_EQ(count, 3 * per_thread);
}

TEST(log, info_lines_reach_stdout_without_an_explicit_flush) {
    configure(level::info, format::json);
    capture_stdout cap;
    info("background", {{"k", "v"}});
    std::vector<std::string> lines;
    for (int i = 0; i < 200 && lines.empty(); ++i) {  // the writer runs every 10 ms
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
        lines = cap.lines();
    }
    cap.restore();
    configure(level::info, format::console);
    ASSERT_EQ(lines.size(), 1u);
    EXPECT_NE(lines[0].find(R"("msg":"background","k":"v")"), std::string::npos) << lines[0];
}

}  // namespace
}  // namespace happy::log
