#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>
#include <thread>

#include "core/files/file_store.hpp"
#include "plugins/files_local/files_local_plugin.hpp"

namespace {

namespace asio = boost::asio;
namespace fs = std::filesystem;
using happy::files::file_store;

struct temp_dir {
    fs::path path;
    temp_dir() {
        path = fs::temp_directory_path() / ("happy-files-test-" + std::to_string(::getpid()) + "-" +
                                            std::to_string(reinterpret_cast<std::uintptr_t>(this)));
        fs::create_directories(path);
    }
    ~temp_dir() { fs::remove_all(path); }
};

/// Runs one awaitable to completion on a private io_context and returns its result (rethrowing).
template <typename T>
T run(asio::awaitable<T> a) {
    asio::io_context io;
    auto f = asio::co_spawn(io, std::move(a), asio::use_future);
    io.run();
    return f.get();
}

std::string slurp(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

std::unique_ptr<file_store> make(const fs::path& root, std::uint64_t max = 1024) {
    return happy::plugin::files_local::make_store({(root / "files").string(), max});
}

TEST(files_valid_key, accepts_relative_paths_and_rejects_traversal) {
    using happy::files::valid_key;
    EXPECT_TRUE(valid_key("a"));
    EXPECT_TRUE(valid_key("sessions/s1/attachments/x.enc"));
    EXPECT_TRUE(valid_key("a/.b/c..d/...e"));  // dots inside names are fine, only `.`/`..` segments are not
    EXPECT_FALSE(valid_key(""));
    EXPECT_FALSE(valid_key("/etc/passwd"));
    EXPECT_FALSE(valid_key(".."));
    EXPECT_FALSE(valid_key("."));
    EXPECT_FALSE(valid_key("a/../../b"));
    EXPECT_FALSE(valid_key("a/./b"));
    EXPECT_FALSE(valid_key("a//b"));
    EXPECT_FALSE(valid_key("a/"));
    EXPECT_FALSE(valid_key("a\\..\\b"));
    EXPECT_FALSE(valid_key(std::string("a\0b", 3)));
}

TEST(files_local, round_trips_binary_bytes) {
    temp_dir d;
    auto st = make(d.path);
    std::string bytes;
    for (int i = 0; i < 256; ++i) {
        bytes.push_back(static_cast<char>(i));
    }
    run(st->put("sessions/s1/attachments/a.enc", bytes));
    EXPECT_EQ(slurp(d.path / "files/sessions/s1/attachments/a.enc"), bytes);
    auto got = run(st->get("sessions/s1/attachments/a.enc"));
    ASSERT_TRUE(got);
    EXPECT_EQ(*got, bytes);
    auto info = run(st->stat("sessions/s1/attachments/a.enc"));
    ASSERT_TRUE(info);
    EXPECT_EQ(info->size, 256u);
    EXPECT_FALSE(run(st->get("sessions/s1/attachments/missing")));
    EXPECT_FALSE(run(st->stat("sessions/s1/attachments")));  // a prefix is no object
    EXPECT_TRUE(run(st->remove("sessions/s1/attachments/a.enc")));
    EXPECT_FALSE(run(st->remove("sessions/s1/attachments/a.enc")));
    EXPECT_FALSE(run(st->get("sessions/s1/attachments/a.enc")));
}

TEST(files_local, empty_object_and_overwrite) {
    temp_dir d;
    auto st = make(d.path);
    run(st->put("k", std::string()));
    EXPECT_EQ(run(st->get("k")).value(), "");
    run(st->put("k", std::string("second")));
    EXPECT_EQ(run(st->get("k")).value(), "second");
}

TEST(files_local, rejects_traversal_keys_without_touching_the_disk) {
    temp_dir d;
    auto st = make(d.path);
    for (std::string key : {"../escape", "/abs", "a/../../escape", "a/./b", "", "a//b", "..\\escape"}) {
        EXPECT_THROW(run(st->put(key, std::string("x"))), happy::files::invalid_key) << key;
        EXPECT_THROW(run(st->get(key)), happy::files::invalid_key) << key;
        EXPECT_THROW(run(st->remove_prefix(key)), happy::files::invalid_key) << key;
    }
    EXPECT_FALSE(fs::exists(d.path / "escape"));
    EXPECT_FALSE(fs::exists("/abs"));
}

TEST(files_local, symlink_below_root_cannot_lead_outside) {
    temp_dir d;
    auto st = make(d.path);
    fs::create_directories(d.path / "outside");
    std::ofstream(d.path / "outside" / "secret") << "secret";
    fs::create_directory_symlink(d.path / "outside", d.path / "files" / "link");
    EXPECT_THROW(run(st->get("link/secret")), happy::files::invalid_key);
    EXPECT_THROW(run(st->put("link/new", std::string("x"))), happy::files::invalid_key);
    EXPECT_FALSE(fs::exists(d.path / "outside" / "new"));
    // A symlinked file is not followed either.
    fs::create_symlink(d.path / "outside" / "secret", d.path / "files" / "file-link");
    EXPECT_ANY_THROW(run(st->get("file-link")));
}

TEST(files_local, enforces_the_size_limit_on_put_and_get) {
    temp_dir d;
    auto st = make(d.path, 10);
    run(st->put("ok", std::string(10, 'a')));
    EXPECT_THROW(run(st->put("big", std::string(11, 'a'))), happy::files::too_large);
    EXPECT_FALSE(fs::exists(d.path / "files" / "big"));
    // A bigger file placed there by hand is not read into memory.
    std::ofstream(d.path / "files" / "manual", std::ios::binary) << std::string(11, 'b');
    EXPECT_THROW(run(st->get("manual")), happy::files::too_large);
    EXPECT_THROW(run(st->get("")), happy::files::invalid_key);
}

TEST(files_local, a_directory_is_not_a_file) {
    temp_dir d;
    auto st = make(d.path);
    run(st->put("dir/x", std::string("x")));
    EXPECT_THROW(run(st->get("dir")), happy::files::not_a_file);
}

TEST(files_local, failed_write_leaves_no_partial_or_temp_file) {
    temp_dir d;
    auto st = make(d.path);
    run(st->put("dir/x", std::string("old")));
    // The target is a directory: rename fails after the temp file was written; the temp file is removed.
    fs::create_directories(d.path / "files" / "dir" / "sub");
    std::ofstream(d.path / "files" / "dir" / "sub" / "inner") << "keep";
    EXPECT_ANY_THROW(run(st->put("dir/sub", std::string("new"))));
    std::size_t entries = 0;
    for (const auto& e : fs::directory_iterator(d.path / "files" / "dir")) {
        (void)e;
        ++entries;
    }
    EXPECT_EQ(entries, 2u);  // x and sub, no leftover .sub.tmp-*
    EXPECT_EQ(run(st->get("dir/x")).value(), "old");
}

TEST(files_local, readers_never_see_a_partial_object) {
    temp_dir d;
    auto st = make(d.path, 4 << 20);
    std::string a(2 << 20, 'a'), b(3 << 20, 'b');
    run(st->put("k", a));
    std::atomic<bool> stop{false};
    std::atomic<int> bad{0}, reads{0};
    // A reader on another thread reads the file directly while the store rewrites it.
    std::thread reader([&] {
        while (!stop) {
            auto s = slurp(d.path / "files" / "k");
            if (s != a && s != b) {
                ++bad;
            }
            ++reads;
        }
    });
    for (int i = 0; i < 20; ++i) {
        run(st->put("k", i % 2 ? a : b));
    }
    stop = true;
    reader.join();
    EXPECT_EQ(bad.load(), 0);
    EXPECT_GT(reads.load(), 0);
}

TEST(files_local, remove_prefix_removes_only_that_subtree) {
    temp_dir d;
    auto st = make(d.path);
    run(st->put("sessions/s1/attachments/a", std::string("1")));
    run(st->put("sessions/s1/attachments/b", std::string("2")));
    run(st->put("sessions/s10/attachments/c", std::string("3")));
    EXPECT_EQ(run(st->remove_prefix("sessions/s1/attachments")), 3u);  // two files and the directory
    EXPECT_FALSE(run(st->get("sessions/s1/attachments/a")));
    EXPECT_EQ(run(st->get("sessions/s10/attachments/c")).value(), "3");
    EXPECT_EQ(run(st->remove_prefix("sessions/none/attachments")), 0u);
}

TEST(files_local, plugin_factory_resolves_dir_against_data_dir) {
    temp_dir d;
    happy::registry reg;
    happy::plugin::files_local::register_plugin(reg);
    const auto* f = reg.file_stores().find("local");
    ASSERT_NE(f, nullptr);
    happy::file_store_options fo{d.path.string(), boost::json::object{{"dir", "blobs"}, {"max_file_size", 3}}};
    auto st = (*f)(fo);
    EXPECT_TRUE(st->serves_directly());
    EXPECT_EQ(st->max_size(), 3u);
    run(st->put("x", std::string("abc")));
    EXPECT_TRUE(fs::exists(d.path / "blobs" / "x"));
}

}  // namespace
