#include "modules/system/webapp.hpp"

#include <algorithm>
#include <boost/json.hpp>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "core/http/compression.hpp"
#include "core/http/router.hpp"

namespace happy::mod::system {

namespace json = boost::json;
namespace fs = std::filesystem;

namespace {

/// Bound on the bytes of files (and their gzip forms) kept in memory; past it the cache starts over.
constexpr std::size_t cache_limit = 64 << 20;

std::string lower(std::string_view s) {
    std::string out(s);
    for (auto& c : out) {
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
    return out;
}

bool compressible(std::string_view type) {
    return type.starts_with("text/") || type.starts_with("application/javascript") ||
           type.starts_with("application/json") || type.starts_with("image/svg") ||
           type.starts_with("application/manifest") || type.starts_with("application/wasm");
}

}  // namespace

std::string_view webapp_content_type(std::string_view path) {
    auto dot = path.rfind('.');
    auto slash = path.rfind('/');
    if (dot == std::string_view::npos || (slash != std::string_view::npos && dot < slash)) {
        return "application/octet-stream";
    }
    std::string ext = lower(path.substr(dot + 1));
    static const std::unordered_map<std::string, std::string_view> types = {
        {"html", "text/html; charset=utf-8"},       {"htm", "text/html; charset=utf-8"},
        {"js", "application/javascript; charset=utf-8"}, {"mjs", "application/javascript; charset=utf-8"},
        {"css", "text/css; charset=utf-8"},         {"json", "application/json; charset=utf-8"},
        {"map", "application/json; charset=utf-8"}, {"txt", "text/plain; charset=utf-8"},
        {"xml", "application/xml"},                 {"webmanifest", "application/manifest+json"},
        {"svg", "image/svg+xml"},                   {"png", "image/png"},
        {"jpg", "image/jpeg"},                      {"jpeg", "image/jpeg"},
        {"gif", "image/gif"},                       {"webp", "image/webp"},
        {"avif", "image/avif"},                     {"ico", "image/x-icon"},
        {"woff", "font/woff"},                      {"woff2", "font/woff2"},
        {"ttf", "font/ttf"},                        {"otf", "font/otf"},
        {"wasm", "application/wasm"},               {"mp3", "audio/mpeg"},
        {"wav", "audio/wav"},                       {"mp4", "video/mp4"},
        {"webm", "video/webm"},                     {"pdf", "application/pdf"},
    };
    auto it = types.find(ext);
    return it == types.end() ? "application/octet-stream" : it->second;
}

std::string_view webapp_cache_control(std::string_view rel) {
    if (rel.empty() || rel == "index.html") {
        return "no-cache";
    }
    if (rel.starts_with("_expo/static/")) {
        return "public, max-age=31536000, immutable";
    }
    // A content hash in the file name (Expo's assets: name.<32 hex>.png; bundlers: name-<hash>.js).
    auto name = rel.substr(rel.rfind('/') == std::string_view::npos ? 0 : rel.rfind('/') + 1);
    std::size_t run = 0;
    for (char c : name) {
        run = std::isxdigit(static_cast<unsigned char>(c)) ? run + 1 : 0;
        if (run >= 16) {
            return "public, max-age=31536000, immutable";
        }
    }
    return "public, max-age=3600";
}

bool webapp_wants_html(std::string_view accept) { return lower(accept).find("text/html") != std::string::npos; }

std::optional<std::string> webapp_relative_path(std::string_view raw_path) {
    auto q = raw_path.find('?');
    raw_path = raw_path.substr(0, q);
    if (raw_path.empty() || raw_path[0] != '/') {
        return std::nullopt;
    }
    auto decoded = http::percent_decode(raw_path.substr(1));
    if (!decoded) {
        return std::nullopt;
    }
    std::string_view p = *decoded;
    if (p.find('\\') != std::string_view::npos || p.find('\0') != std::string_view::npos) {
        return std::nullopt;
    }
    if (p.empty()) {
        return std::string();
    }
    std::size_t start = 0;
    while (start <= p.size()) {
        auto end = p.find('/', start);
        auto seg = p.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start);
        // A trailing slash names the directory (its index.html is not served: the SPA fallback takes it).
        bool last = end == std::string_view::npos;
        if ((seg.empty() && !last) || seg == "." || seg == "..") {
            return std::nullopt;
        }
        if (last) {
            break;
        }
        start = end + 1;
    }
    return std::string(p);
}

bool webapp_reserved_path(std::string_view raw_path) {
    for (std::string_view prefix : {"/v1", "/v2", "/v3", "/files/", "/socket", "/metrics", "/health", "/admin"}) {
        if (raw_path.starts_with(prefix)) {
            return true;
        }
    }
    return false;
}

std::string webapp_inject(std::string_view html, std::string_view script) {
    std::string l = lower(html);
    std::size_t pos = 0;
    for (;;) {
        pos = l.find("<head", pos);
        if (pos == std::string::npos) {
            return std::string(script) + "\n" + std::string(html);
        }
        char next = pos + 5 < l.size() ? l[pos + 5] : '\0';
        if (next == '>' || next == ' ' || next == '\t' || next == '\n' || next == '\r') {
            break;  // <head> or <head attr…>, not <header>
        }
        pos += 5;
    }
    auto close = html.find('>', pos);
    if (close == std::string_view::npos) {
        return std::string(script) + "\n" + std::string(html);
    }
    std::string out;
    out.reserve(html.size() + script.size() + 1);
    out.append(html.substr(0, close + 1)).append("\n").append(script).append(html.substr(close + 1));
    return out;
}

std::string webapp_config_script(const json::object* config, std::string_view public_url) {
    std::string value;
    if (config) {
        value = json::serialize(*config);
    } else if (!public_url.empty()) {
        value = json::serialize(json::object{{"serverUrl", public_url}, {"disableAnalytics", true}});
    } else {
        value = "{\"serverUrl\":location.origin,\"disableAnalytics\":true}";
    }
    std::string escaped;
    for (char c : value) {
        if (c == '<') {
            escaped += "\\u003c";  // "</script>" inside a string cannot close the element
        } else {
            escaped += c;
        }
    }
    return "<script>window.__HAPPY_CONFIG__ = " + escaped + ";</script>";
}

webapp::webapp(fs::path dir, std::string script) : dir_(std::move(dir)), script_(std::move(script)) {
    std::error_code ec;
    dir_ = fs::canonical(dir_, ec);
    if (ec || !fs::is_regular_file(dir_ / "index.html", ec)) {
        throw std::runtime_error("static_dir: " + dir_.string() +
                                 " has no index.html (expected the web export of happy-app)");
    }
}

std::shared_ptr<webapp::cached> webapp::load(const fs::path& p, bool is_index) {
    std::error_code ec;
    auto size = fs::file_size(p, ec);
    if (ec) {
        return nullptr;
    }
    auto mtime = fs::last_write_time(p, ec).time_since_epoch().count();
    std::string key = p.string();
    {
        std::lock_guard lock(mutex_);
        if (auto it = cache_.find(key); it != cache_.end() && it->second->size == size && it->second->mtime == mtime) {
            return it->second;
        }
    }
    std::ifstream in(p, std::ios::binary);
    if (!in) {
        return nullptr;
    }
    std::ostringstream ss;
    ss << in.rdbuf();
    auto c = std::make_shared<cached>();
    c->size = size;
    c->mtime = mtime;
    c->body = is_index ? webapp_inject(ss.str(), script_) : ss.str();
    c->etag = "W/\"" + std::to_string(size) + "-" + std::to_string(mtime) + "\"";
    std::lock_guard lock(mutex_);
    if (cache_bytes_ + c->body.size() > cache_limit) {
        cache_.clear();
        cache_bytes_ = 0;
    }
    cache_bytes_ += c->body.size();
    cache_[key] = c;
    return c;
}

std::optional<http::response> webapp::file(const http::request& req, const std::string& rel, bool is_index) {
    fs::path p = dir_ / (is_index ? "index.html" : rel);
    std::error_code ec;
    auto real = fs::canonical(p, ec);
    // A symlink may not lead out of the directory.
    if (ec || !fs::is_regular_file(real, ec) ||
        std::mismatch(dir_.begin(), dir_.end(), real.begin(), real.end()).first != dir_.end()) {
        return std::nullopt;
    }
    auto c = load(real, is_index);
    if (!c) {
        return std::nullopt;
    }
    std::string_view type = is_index ? "text/html; charset=utf-8" : webapp_content_type(rel);
    http::response res;
    res.content_type = std::string(type);
    res.headers.emplace_back("cache-control", std::string(webapp_cache_control(is_index ? "index.html" : rel)));
    res.headers.emplace_back("etag", c->etag);
    res.headers.emplace_back("x-content-type-options", "nosniff");
    if (auto inm = req.header("if-none-match"); inm && *inm == c->etag) {
        res.status = 304;
        return res;
    }
    std::optional<http::content_coding> coding;
    if (compressible(type) && c->body.size() > 1024) {
        res.headers.emplace_back("vary", "Accept-Encoding");
        if (auto ae = req.header("accept-encoding")) {
            coding = http::choose_coding(*ae);
        }
    }
    if (coding == http::content_coding::gzip) {
        std::lock_guard lock(mutex_);
        if (!c->gzip) {
            c->gzip = http::compress(c->body, http::content_coding::gzip);
            cache_bytes_ += c->gzip->size();
        }
        res.headers.emplace_back("content-encoding", "gzip");
        res.body = *c->gzip;
    } else {
        res.body = c->body;
    }
    return res;
}

http::response webapp::index(const http::request& req) {
    auto res = file(req, "index.html", true);
    return res ? std::move(*res) : http::response::error(404, "Not found");
}

std::optional<http::response> webapp::serve(const http::request& req) {
    auto rel = webapp_relative_path(req.target);
    if (!rel) {
        return std::nullopt;
    }
    if (!rel->empty() && !rel->ends_with("/")) {
        if (auto res = file(req, *rel, *rel == "index.html")) {
            return res;
        }
    }
    // SPA fallback (upstream's not-found handler): a client-side route gets index.html; a missing file with an
    // extension stays a 404, so that a stale bundle name does not come back as HTML.
    auto name = std::string_view(*rel).substr(rel->rfind('/') == std::string::npos ? 0 : rel->rfind('/') + 1);
    if (webapp_reserved_path(req.path) || name.find('.') != std::string_view::npos) {
        return std::nullopt;
    }
    return index(req);
}

}  // namespace happy::mod::system
