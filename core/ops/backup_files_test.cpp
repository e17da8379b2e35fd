#include "core/ops/backup_files.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>

namespace happy::ops {
namespace {

namespace fs = std::filesystem;

struct temp_dir {
    fs::path path;
    temp_dir() {
        char t[] = "/tmp/happy-backup-files-XXXXXX";
        path = ::mkdtemp(t);
    }
    ~temp_dir() { fs::remove_all(path); }
};

void touch(const fs::path& p) { std::ofstream(p) << "x"; }

TEST(backup_files, timestamps_sort_by_time_as_text) {
    EXPECT_EQ(backup_timestamp(0), "19700101T000000.000Z");
    EXPECT_EQ(backup_timestamp(1735787045678), "20250102T030405.678Z");
    EXPECT_LT(backup_timestamp(1735787045678), backup_timestamp(1735787045679));
    EXPECT_LT(backup_timestamp(999), backup_timestamp(1000));
}

TEST(backup_files, prune_keeps_the_newest_by_name_and_touches_nothing_else) {
    temp_dir d;
    for (auto ms : {3000, 1000, 2000, 4000}) {
        touch(d.path / ("happy-" + backup_timestamp(ms) + ".sqlite"));
    }
    touch(d.path / "happy-notes.txt");
    touch(d.path / "other.sqlite");
    fs::create_directory(d.path / "happy-dir.sqlite");
    auto removed = prune_backups(d.path, "happy-", ".sqlite", 2);
    ASSERT_EQ(removed.size(), 2u);
    EXPECT_EQ(removed[0].filename(), "happy-" + backup_timestamp(1000) + ".sqlite");
    EXPECT_EQ(removed[1].filename(), "happy-" + backup_timestamp(2000) + ".sqlite");
    auto left = list_backups(d.path, "happy-", ".sqlite");
    ASSERT_EQ(left.size(), 2u);
    EXPECT_EQ(left[1].filename(), "happy-" + backup_timestamp(4000) + ".sqlite");
    EXPECT_TRUE(fs::exists(d.path / "happy-notes.txt"));
    EXPECT_TRUE(fs::exists(d.path / "other.sqlite"));
    EXPECT_TRUE(fs::is_directory(d.path / "happy-dir.sqlite"));
    EXPECT_EQ(prune_backups(d.path, "happy-", ".sqlite", 5).size(), 0u);
}

TEST(backup_files, private_files_are_owner_only_and_replace_atomically) {
    temp_dir d;
    auto p = d.path / "secret";
    ::umask(0);  // the most permissive umask must not widen the mode
    write_private_file(p, "one");
    ::umask(022);
    struct stat st {};
    ASSERT_EQ(::stat(p.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u);
    write_private_file(p, "two");
    std::ifstream in(p);
    std::string s;
    in >> s;
    EXPECT_EQ(s, "two");
    EXPECT_EQ(std::distance(fs::directory_iterator(d.path), fs::directory_iterator()), 1) << "no temporary left";
}

TEST(backup_files, copy_is_byte_identical) {
    temp_dir d;
    std::string data(200000, '\0');
    for (std::size_t i = 0; i < data.size(); ++i) {
        data[i] = static_cast<char>(i * 7);
    }
    std::ofstream(d.path / "a", std::ios::binary) << data;
    copy_file_synced(d.path / "a", d.path / "b");
    std::ifstream in(d.path / "b", std::ios::binary);
    std::string back((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    EXPECT_EQ(back, data);
}

}  // namespace
}  // namespace happy::ops
