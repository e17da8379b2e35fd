#include "modules/system/webapp.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <filesystem>
#include <fstream>
#include <unistd.h>

namespace happy::mod::system {
namespace {

namespace fs = std::filesystem;

TEST(webapp, content_types_by_extension) {
    EXPECT_EQ(webapp_content_type("index.html"), "text/html; charset=utf-8");
    EXPECT_EQ(webapp_content_type("_expo/static/js/web/entry-abc.js"), "application/javascript; charset=utf-8");
    EXPECT_EQ(webapp_content_type("a/b.CSS"), "text/css; charset=utf-8");
    EXPECT_EQ(webapp_content_type("icon.png"), "image/png");
    EXPECT_EQ(webapp_content_type("f.woff2"), "font/woff2");
    EXPECT_EQ(webapp_content_type("canvaskit.wasm"), "application/wasm");
    EXPECT_EQ(webapp_content_type("manifest.webmanifest"), "application/manifest+json");
    EXPECT_EQ(webapp_content_type("dir.d/file"), "application/octet-stream");
    EXPECT_EQ(webapp_content_type("README"), "application/octet-stream");
}

TEST(webapp, cache_control_keeps_fingerprinted_files_and_revalidates_the_page) {
    EXPECT_EQ(webapp_cache_control("index.html"), "no-cache");
    EXPECT_EQ(webapp_cache_control(""), "no-cache");
    EXPECT_EQ(webapp_cache_control("_expo/static/js/web/entry-1234.js"), "public, max-age=31536000, immutable");
    EXPECT_EQ(webapp_cache_control("assets/icon.0123456789abcdef0123456789abcdef.png"),
              "public, max-age=31536000, immutable");
    EXPECT_EQ(webapp_cache_control("favicon.ico"), "public, max-age=3600");
}

TEST(webapp, html_is_wanted_by_browsers_only) {
    EXPECT_TRUE(webapp_wants_html("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"));
    EXPECT_FALSE(webapp_wants_html("text/plain"));  // the app's server check
    EXPECT_FALSE(webapp_wants_html("*/*"));         // curl, fetch()
    EXPECT_FALSE(webapp_wants_html(""));
}

TEST(webapp, relative_paths_refuse_traversal) {
    EXPECT_EQ(webapp_relative_path("/"), "");
    EXPECT_EQ(webapp_relative_path("/a/b.js?x=1"), "a/b.js");
    EXPECT_EQ(webapp_relative_path("/a%20b.png"), "a b.png");
    EXPECT_EQ(webapp_relative_path("/settings/"), "settings/");
    EXPECT_FALSE(webapp_relative_path("/../etc/passwd"));
    EXPECT_FALSE(webapp_relative_path("/a/%2e%2e/b"));
    EXPECT_FALSE(webapp_relative_path("/a//b"));
    EXPECT_FALSE(webapp_relative_path("/a/./b"));
    EXPECT_FALSE(webapp_relative_path("/a%5cb"));
    EXPECT_FALSE(webapp_relative_path("/a%00b"));
    EXPECT_FALSE(webapp_relative_path("/%zz"));
}

TEST(webapp, reserved_paths_stay_api) {
    EXPECT_TRUE(webapp_reserved_path("/v1/sessions"));
    EXPECT_TRUE(webapp_reserved_path("/v3/x"));
    EXPECT_TRUE(webapp_reserved_path("/files/a"));
    EXPECT_TRUE(webapp_reserved_path("/health"));
    EXPECT_TRUE(webapp_reserved_path("/admin/api/status"));
    EXPECT_FALSE(webapp_reserved_path("/settings"));
    EXPECT_FALSE(webapp_reserved_path("/terminal/connect"));
}

TEST(webapp, injects_after_the_head_tag) {
    EXPECT_EQ(webapp_inject("<html><head><title>x</title></head></html>", "<s/>"),
              "<html><head>\n<s/><title>x</title></head></html>");
    EXPECT_EQ(webapp_inject("<HTML><HEAD lang=\"en\"><meta></HEAD>", "<s/>"), "<HTML><HEAD lang=\"en\">\n<s/><meta></HEAD>");
    // <header> is not <head>.
    EXPECT_EQ(webapp_inject("<body><header>h</header></body>", "<s/>"), "<s/>\n<body><header>h</header></body>");
}

TEST(webapp, config_script_has_upstreams_shape) {
    auto cfg = boost::json::parse(R"({"serverUrl":"https://h.example","x":"</script>"})").as_object();
    EXPECT_EQ(webapp_config_script(&cfg, "ignored"),
              R"(<script>window.__HAPPY_CONFIG__ = {"serverUrl":"https://h.example","x":"\u003c/script>"};</script>)");
    EXPECT_EQ(webapp_config_script(nullptr, "https://pub.example"),
              R"(<script>window.__HAPPY_CONFIG__ = {"serverUrl":"https://pub.example","disableAnalytics":true};</script>)");
    EXPECT_EQ(webapp_config_script(nullptr, ""),
              R"(<script>window.__HAPPY_CONFIG__ = {"serverUrl":location.origin,"disableAnalytics":true};</script>)");
}

class webapp_dir : public ::testing::Test {
protected:
    void SetUp() override {
        dir_ = fs::temp_directory_path() / ("webapp_test_" + std::to_string(::getpid()));
        fs::remove_all(dir_);
        fs::create_directories(dir_ / "_expo/static/js");
        write("index.html", "<!doctype html><html><head><title>Happy</title></head><body></body></html>");
        write("_expo/static/js/entry-0123456789abcdef.js", std::string(4000, 'x'));
        fs::create_directories(dir_.parent_path() / "webapp_outside");
        std::ofstream(dir_.parent_path() / "webapp_outside/secret.txt") << "secret";
        fs::create_symlink(dir_.parent_path() / "webapp_outside/secret.txt", dir_ / "link.txt");
    }
    void TearDown() override {
        fs::remove_all(dir_);
        fs::remove_all(dir_.parent_path() / "webapp_outside");
    }
    void write(const std::string& rel, const std::string& text) { std::ofstream(dir_ / rel) << text; }
    http::request get(std::string target, std::vector<std::pair<std::string, std::string>> headers = {}) {
        http::request r;
        r.method = http::verb::get;
        r.target = target;
        r.path = target.substr(0, target.find('?'));
        r.headers = std::move(headers);
        return r;
    }
    fs::path dir_;
};

TEST_F(webapp_dir, serves_files_falls_back_to_the_page_and_refuses_escapes) {
    webapp app(dir_, "<script>window.__HAPPY_CONFIG__ = {};</script>");
    auto page = app.index(get("/"));
    EXPECT_EQ(page.status, 200u);
    EXPECT_NE(page.body.find("<head>\n<script>window.__HAPPY_CONFIG__ = {};</script><title>"), std::string::npos);

    auto js = app.serve(get("/_expo/static/js/entry-0123456789abcdef.js", {{"accept-encoding", "gzip"}}));
    ASSERT_TRUE(js);
    EXPECT_EQ(js->content_type, "application/javascript; charset=utf-8");
    auto header = [](const http::response& r, std::string_view k) -> std::string {
        for (const auto& [n, v] : r.headers) {
            if (n == k) {
                return v;
            }
        }
        return {};
    };
    EXPECT_EQ(header(*js, "cache-control"), "public, max-age=31536000, immutable");
    EXPECT_EQ(header(*js, "content-encoding"), "gzip");
    EXPECT_LT(js->body.size(), 4000u);
    auto etag = header(*js, "etag");
    auto again = app.serve(get("/_expo/static/js/entry-0123456789abcdef.js", {{"if-none-match", etag}}));
    ASSERT_TRUE(again);
    EXPECT_EQ(again->status, 304u);
    EXPECT_TRUE(again->body.empty());

    auto route = app.serve(get("/settings/account?x=1"));
    ASSERT_TRUE(route);
    EXPECT_NE(route->body.find("__HAPPY_CONFIG__"), std::string::npos);
    EXPECT_EQ(header(*route, "cache-control"), "no-cache");

    EXPECT_FALSE(app.serve(get("/missing.js")));   // a file name: 404, not the page
    EXPECT_FALSE(app.serve(get("/v1/nothing")));   // API paths stay 404
    EXPECT_FALSE(app.serve(get("/link.txt")));     // a symlink out of the directory
    EXPECT_FALSE(app.serve(get("/../secret.txt")));
}

TEST_F(webapp_dir, a_directory_without_index_html_is_refused) {
    fs::remove(dir_ / "index.html");
    EXPECT_THROW(webapp(dir_, ""), std::runtime_error);
}

}  // namespace
}  // namespace happy::mod::system
