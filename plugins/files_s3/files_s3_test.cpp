// The S3 store against an S3-compatible server on loopback: tests/integration/s3server.mjs runs
// @20minutes/s3rver (installed by `npm ci --prefix tests`, which scripts/test.sh does first) on a free port with
// a temporary directory; s3rver checks our SigV4 signatures on every request.

#include <gtest/gtest.h>

#include "modules/testing/config_fixture.hpp"
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/json.hpp>
#include <filesystem>

#include "core/app/registry.hpp"
#include "core/http/client.hpp"
#include "plugins/files_s3/files_s3_plugin.hpp"

extern char** environ;

namespace {

namespace asio = boost::asio;
namespace fs = std::filesystem;
using namespace happy::plugin;

template <typename T>
T run(asio::awaitable<T> a) {
    asio::io_context io;
    auto f = asio::co_spawn(io, std::move(a), asio::use_future);
    io.run();
    return f.get();
}

/// The checkout holding tests/integration/s3server.mjs: from this file's path as compiled (absolute, or relative
/// to the build directory when ccache rewrites it), else from the test binary's place (build/<preset>/).
fs::path repo_root() {
    auto has_launcher = [](const fs::path& p) { return fs::exists(p / "tests/integration/s3server.mjs"); };
    fs::path from_file = fs::path(__FILE__).parent_path().parent_path().parent_path();
    std::error_code ec;
    fs::path exe_dir = fs::read_symlink("/proc/self/exe", ec).parent_path();
    for (const auto& candidate : {from_file, exe_dir / from_file, exe_dir.parent_path().parent_path()}) {
        if (has_launcher(candidate)) {
            return fs::absolute(candidate);
        }
    }
    return from_file;
}

/// `node tests/integration/s3server.mjs <buckets…>`: started once for the whole suite, stopped by closing its
/// standard input (it removes its directory on the way out).
class s3_server {
public:
    static s3_server& get() {
        static s3_server s;
        return s;
    }
    bool ok() const { return port_ > 0; }
    const std::string& why() const { return why_; }
    int port() const { return port_; }

    ~s3_server() {
        if (pid_ > 0) {
            ::close(to_child_);
            int status = 0;
            ::waitpid(pid_, &status, 0);
        }
    }

private:
    s3_server() {
        auto root = repo_root();
        if (!fs::exists(root / "tests/node_modules/@20minutes/s3rver")) {
            why_ = "tests/node_modules has no @20minutes/s3rver: run npm ci --prefix tests";
            return;
        }
        int in[2], out[2];
        if (::pipe(in) != 0 || ::pipe(out) != 0) {
            why_ = "pipe failed";
            return;
        }
        posix_spawn_file_actions_t fa;
        posix_spawn_file_actions_init(&fa);
        posix_spawn_file_actions_adddup2(&fa, in[0], 0);
        posix_spawn_file_actions_adddup2(&fa, out[1], 1);
        posix_spawn_file_actions_addclose(&fa, in[1]);
        posix_spawn_file_actions_addclose(&fa, out[0]);
        std::string script = (root / "tests/integration/s3server.mjs").string();
        // s3rver encrypts ListObjectsV2 continuation tokens with DES, which Node's OpenSSL 3 keeps in its legacy
        // provider: without it every second page is a 500.
        const char* argv[] = {"node", "--openssl-legacy-provider", script.c_str(), "happy", "second", nullptr};
        int rc = ::posix_spawnp(&pid_, "node", &fa, nullptr, const_cast<char**>(argv), environ);
        posix_spawn_file_actions_destroy(&fa);
        ::close(in[0]);
        ::close(out[1]);
        to_child_ = in[1];
        if (rc != 0) {
            why_ = "cannot start node";
            pid_ = -1;
            return;
        }
        std::string line;
        char ch = 0;
        while (::read(out[0], &ch, 1) == 1 && ch != '\n') {
            line.push_back(ch);
        }
        ::close(out[0]);
        try {
            port_ = boost::json::parse(line).at("port").to_number<int>();
        } catch (const std::exception&) {
            why_ = "s3server.mjs did not report its port: " + line;
        }
    }

    pid_t pid_ = -1;
    int to_child_ = -1;
    int port_ = 0;
    std::string why_;
};

files_s3::options opts(std::string bucket = "happy") {
    files_s3::options o;
    o.host = "127.0.0.1";
    o.port = s3_server::get().port();
    o.use_ssl = false;
    o.access_key = "S3RVER";
    o.secret_key = "S3RVER";
    o.bucket = std::move(bucket);
    o.public_url = "https://cdn.example.com/happy";
    o.max_file_size = 1024;
    o.timeout = std::chrono::seconds(10);
    return o;
}

class files_s3_store : public ::testing::Test {
protected:
    void SetUp() override {
        // The S3-compatible server comes from tests/node_modules (scripts/test.sh installs it before ctest): without
        // it these tests fail rather than pass unseen.
        if (!s3_server::get().ok()) {
            FAIL() << s3_server::get().why();
        }
    }
};

TEST_F(files_s3_store, put_get_stat_remove_round_trip_binary_bytes) {
    auto st = files_s3::make_store(opts());
    EXPECT_FALSE(st->serves_directly());
    EXPECT_EQ(st->describe(), "s3 http://127.0.0.1:" + std::to_string(s3_server::get().port()) + "/happy");
    run(st->verify_bucket());
    std::string bytes;
    for (int i = 0; i < 256; ++i) {
        bytes.push_back(static_cast<char>(i));
    }
    run(st->put("sessions/s1/attachments/a.enc", bytes));
    EXPECT_EQ(run(st->get("sessions/s1/attachments/a.enc")).value(), bytes);
    EXPECT_EQ(run(st->stat("sessions/s1/attachments/a.enc")).value().size, 256u);
    EXPECT_FALSE(run(st->get("sessions/s1/attachments/missing.enc")));
    EXPECT_FALSE(run(st->stat("sessions/s1/attachments")));  // a prefix is no object
    run(st->put("sessions/s1/attachments/a.enc", std::string()));  // overwrite, and an empty object
    EXPECT_EQ(run(st->get("sessions/s1/attachments/a.enc")).value(), "");
    EXPECT_TRUE(run(st->remove("sessions/s1/attachments/a.enc")));
    EXPECT_FALSE(run(st->remove("sessions/s1/attachments/a.enc")));
    EXPECT_FALSE(run(st->get("sessions/s1/attachments/a.enc")));
}

TEST_F(files_s3_store, keys_with_spaces_and_unicode_are_signed_and_encoded) {
    auto st = files_s3::make_store(opts());
    std::string key = "public/users/u 1/\xC3\xA9t\xC3\xA9+(1)!.png";
    run(st->put(key, std::string("img")));
    EXPECT_EQ(run(st->get(key)).value(), "img");
    EXPECT_TRUE(run(st->remove(key)));
}

TEST_F(files_s3_store, remove_prefix_removes_only_that_subtree_across_pages) {
    auto o = opts();
    o.list_page_size = 2;  // five objects: three ListObjectsV2 pages joined by continuation tokens
    auto st = files_s3::make_store(o);
    for (int i = 0; i < 5; ++i) {
        run(st->put("sessions/p1/attachments/" + std::to_string(i) + ".enc", std::string("x")));
    }
    run(st->put("sessions/p10/attachments/keep.enc", std::string("k")));
    run(st->put("sessions/p1/attachmentsX", std::string("k")));
    EXPECT_EQ(run(st->remove_prefix("sessions/p1/attachments")), 5u);
    EXPECT_FALSE(run(st->stat("sessions/p1/attachments/0.enc")));
    EXPECT_EQ(run(st->get("sessions/p10/attachments/keep.enc")).value(), "k");
    EXPECT_EQ(run(st->get("sessions/p1/attachmentsX")).value(), "k");
    EXPECT_EQ(run(st->remove_prefix("sessions/none/attachments")), 0u);
}

TEST_F(files_s3_store, refuses_bad_keys_and_oversize_objects) {
    auto st = files_s3::make_store(opts());
    for (std::string key : {"../escape", "/abs", "a//b", ""}) {
        EXPECT_THROW(run(st->put(key, std::string("x"))), happy::files::invalid_key) << key;
        EXPECT_THROW(run(st->remove_prefix(key)), happy::files::invalid_key) << key;
    }
    EXPECT_THROW(run(st->put("big", std::string(1025, 'a'))), happy::files::too_large);
    // An object bigger than the limit, written by someone else, is not read into memory.
    auto big = opts();
    big.max_file_size = 4096;
    run(files_s3::make_store(big)->put("bigger", std::string(2000, 'b')));
    EXPECT_THROW(run(st->get("bigger")), happy::files::too_large);
}

TEST_F(files_s3_store, presigned_get_is_fetchable_and_expires_as_asked) {
    auto st = files_s3::make_store(opts());
    run(st->put("sessions/s2/attachments/b.enc", std::string("presigned bytes")));
    auto url = st->presign_get("sessions/s2/attachments/b.enc", std::chrono::seconds(900)).value();
    EXPECT_TRUE(url.starts_with("http://127.0.0.1:" + std::to_string(s3_server::get().port()) +
                                "/happy/sessions/s2/attachments/b.enc?X-Amz-Algorithm=AWS4-HMAC-SHA256&"
                                "X-Amz-Credential=S3RVER%2F"))
        << url;
    EXPECT_NE(url.find("&X-Amz-Expires=900&X-Amz-SignedHeaders=host&X-Amz-Signature="), std::string::npos) << url;
    auto res = run(happy::http::client::request("GET", url, {}, {}, std::chrono::seconds(5)));
    EXPECT_EQ(res.status, 200u);
    EXPECT_EQ(res.body, "presigned bytes");
    // A tampered signature is refused by the store (s3rver checks query signatures).
    auto bad = url;
    bad.back() = bad.back() == '0' ? '1' : '0';
    EXPECT_EQ(run(happy::http::client::request("GET", bad, {}, {}, std::chrono::seconds(5))).status, 403u);
}

TEST_F(files_s3_store, presigned_post_names_bucket_key_and_public_base) {
    auto st = files_s3::make_store(opts());
    auto form = st->presign_post("sessions/s3/attachments/c.enc", 10485760, std::chrono::seconds(900)).value();
    EXPECT_EQ(form.url, "http://127.0.0.1:" + std::to_string(s3_server::get().port()) + "/happy");
    ASSERT_EQ(form.fields.size(), 7u);
    EXPECT_EQ(form.fields[0], (std::pair<std::string, std::string>{"bucket", "happy"}));
    EXPECT_EQ(form.fields[1], (std::pair<std::string, std::string>{"key", "sessions/s3/attachments/c.enc"}));
    EXPECT_EQ(st->public_base_url().value(), "https://cdn.example.com/happy");
}

TEST_F(files_s3_store, verify_bucket_explains_what_is_wrong_in_one_line) {
    auto expect_failure = [](files_s3::options o, std::string_view needle) {
        auto st = files_s3::make_store(std::move(o));
        try {
            run(st->verify_bucket());
            ADD_FAILURE() << "no error";
        } catch (const std::runtime_error& e) {
            std::string what = e.what();
            EXPECT_NE(what.find(needle), std::string::npos) << what;
            EXPECT_EQ(what.find('\n'), std::string::npos) << what;
        }
    };
    expect_failure(opts("missing-bucket"), "S3 bucket \"missing-bucket\" at http://127.0.0.1:");
    expect_failure(opts("missing-bucket"), "the bucket does not exist (HeadBucket answered 404)");
    auto wrong_secret = opts();
    wrong_secret.secret_key = "wrong";
    expect_failure(wrong_secret, "access denied");
    auto closed = opts();
    closed.port = 1;
    expect_failure(closed, "unreachable: cannot connect to 127.0.0.1:1");
}

TEST_F(files_s3_store, factory_reads_its_section_and_checks_the_bucket) {
    happy::registry reg;
    files_s3::register_plugin(reg);
    const auto* f = reg.file_stores().find("s3");
    ASSERT_NE(f, nullptr);
    boost::json::object section{{"host", "127.0.0.1"},  {"port", s3_server::get().port()}, {"use_ssl", false},
                                {"region", "us-east-1"}, {"access_key", "S3RVER"},           {"secret_key", "S3RVER"},
                                {"bucket", "second"},    {"public_url", "https://files.example"}};
    auto st = (*f)(happy::file_store_options{"/nonexistent", section});
    EXPECT_EQ(st->public_base_url().value(), "https://files.example");
    run(st->put("x", std::string("y")));
    section["bucket"] = "nope";
    EXPECT_THROW((*f)(happy::file_store_options{"/nonexistent", section}), std::runtime_error);
    section["bucket"] = "";
    EXPECT_THROW((*f)(happy::file_store_options{"/nonexistent", section}), std::invalid_argument);
}

TEST(files_s3_config, upstream_s3_variables_select_and_configure_the_s3_store) {
    using happy::config::get_bool;
    using happy::config::get_int;
    using happy::config::get_string;
    const auto reg = happy::plugin::files_s3::register_plugin;
    auto cfg = happy::test::load_plugin_config(reg, {});
    EXPECT_EQ(get_string(cfg, "files.kind"), "local");
    EXPECT_TRUE(get_bool(cfg, "files.s3.use_ssl"));
    EXPECT_EQ(get_string(cfg, "files.s3.region"), "us-east-1");
    cfg = happy::test::load_plugin_config(reg, {{"S3_HOST", "minio.internal"},
                    {"S3_PORT", "9000"},
                    {"S3_USE_SSL", "false"},
                    {"S3_REGION", "eu-west-1"},
                    {"S3_ACCESS_KEY", "ak"},
                    {"S3_SECRET_KEY", "sk"},
                    {"S3_BUCKET", "happy"},
                    {"S3_PUBLIC_URL", "https://cdn.example/happy"}});
    EXPECT_EQ(get_string(cfg, "files.kind"), "s3");
    EXPECT_EQ(get_string(cfg, "files.s3.host"), "minio.internal");
    EXPECT_EQ(get_int(cfg, "files.s3.port"), 9000);
    EXPECT_FALSE(get_bool(cfg, "files.s3.use_ssl"));
    EXPECT_EQ(get_string(cfg, "files.s3.region"), "eu-west-1");
    EXPECT_EQ(get_string(cfg, "files.s3.access_key"), "ak");
    EXPECT_EQ(get_string(cfg, "files.s3.secret_key"), "sk");
    EXPECT_EQ(get_string(cfg, "files.s3.bucket"), "happy");
    EXPECT_EQ(get_string(cfg, "files.s3.public_url"), "https://cdn.example/happy");
    // upstream compares S3_USE_SSL with 'true' and nothing else.
    EXPECT_TRUE(get_bool(happy::test::load_plugin_config(reg, {{"S3_USE_SSL", "true"}}), "files.s3.use_ssl"));
    EXPECT_FALSE(get_bool(happy::test::load_plugin_config(reg, {{"S3_USE_SSL", "1"}}), "files.s3.use_ssl"));
    // Without S3_HOST the other variables only fill the section.
    EXPECT_EQ(get_string(happy::test::load_plugin_config(reg, {{"S3_BUCKET", "b"}}), "files.kind"), "local");
}

}  // namespace
