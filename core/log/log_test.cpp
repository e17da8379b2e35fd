#include "core/log/log.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <fcntl.h>
#include <filesystem>
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

std::vector<std::string> file_lines(const std::string& path) {
    std::ifstream in(path);
    std::vector<std::string> out;
    for (std::string l; std::getline(in, l);) {
        out.push_back(l);
    }
    return out;
}

TEST(log, a_log_file_rotates_by_size_and_keeps_max_files) {
    char tmpl[] = "/tmp/happy-log-rot-XXXXXX";
    std::string dir = ::mkdtemp(tmpl);
    std::string path = dir + "/server.log";
    configure(level::info, format::json);
    set_file(path, 1000, 2);
    // Each line is ~100 bytes: 50 lines fill five files' worth; only the current one and two rotated stay.
    for (int i = 0; i < 50; ++i) {
        warn("rotation test line", {{"i", i}, {"pad", std::string(30, 'x')}});  // warnings are written at once
    }
    flush();
    auto cur = file_lines(path);
    auto one = file_lines(path + ".1");
    auto two = file_lines(path + ".2");
    EXPECT_FALSE(std::ifstream(path + ".3").good()) << "max_files 2 keeps .1 and .2 only";
    ASSERT_FALSE(cur.empty());
    ASSERT_FALSE(one.empty());
    ASSERT_FALSE(two.empty());
    for (const auto* f : {&cur, &one, &two}) {
        std::size_t bytes = 0;
        for (const auto& l : *f) {
            bytes += l.size() + 1;
        }
        EXPECT_LE(bytes, 1000u);
    }
    // Order: .2 is older than .1, which is older than the current file; the last line is the last written.
    EXPECT_NE(cur.back().find(R"("i":49)"), std::string::npos) << cur.back();
    auto counter = [](const std::string& l) { return std::stoi(l.substr(l.find(R"("i":)") + 4)); };
    EXPECT_LT(counter(two.back()), counter(one.front()));
    EXPECT_LT(counter(one.back()), counter(cur.front()));
    EXPECT_EQ(counter(one.back()) + 1, counter(cur.front())) << "no line lost at a rotation";

    // reopen() after an external move starts a new file by the same name.
    std::rename(path.c_str(), (path + ".moved").c_str());
    reopen();
    warn("after reopen");
    flush();
    auto fresh = file_lines(path);
    ASSERT_EQ(fresh.size(), 1u);
    EXPECT_NE(fresh[0].find("after reopen"), std::string::npos);

    set_file("", 0, 0);  // back to stdout
    configure(level::info, format::console);
    std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace happy::log
