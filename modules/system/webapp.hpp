/// @file
/// Hosting the Happy web app (the web export of happy-app) from a directory the operator supplies, as upstream's
/// self-host mode does (HAPPY_STATIC_DIR, api.ts): static files with their types and caching headers, the SPA
/// fallback to index.html, and the app's configuration injected into index.html as upstream does it
/// (`<script>window.__HAPPY_CONFIG__ = {...};</script>` right after `<head>`; HAPPY_INJECT_HTML_CONFIG), so that the
/// app talks to this server. Unlike upstream (slopus/happy#501), `GET /` still answers the banner to anything but a
/// browser asking for HTML: the app's "is this a Happy server" check sends `Accept: text/plain`.
#pragma once
#include <boost/json/object.hpp>
#include <cstdint>
#include <filesystem>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "core/http/types.hpp"

namespace happy::mod::system {

/// The Content-Type of a file by its extension (application/octet-stream when unknown).
std::string_view webapp_content_type(std::string_view path);
/// Cache-Control: fingerprinted files (Expo's `_expo/static/`, or a hex hash in the name) for a year, immutable;
/// index.html and the fallback must be revalidated; everything else an hour.
std::string_view webapp_cache_control(std::string_view relative_path);
/// True when an Accept header asks for HTML (a browser navigating), as opposed to `text/plain` or `*/*`.
bool webapp_wants_html(std::string_view accept);
/// The request path (percent-decoded, without the leading slash) as a safe relative file path: nullopt for `..`,
/// `.` or empty segments, backslashes, NUL, or a path that is not valid after decoding. "" is the root.
std::optional<std::string> webapp_relative_path(std::string_view raw_path);
/// Paths that stay API 404s instead of falling back to index.html (upstream's list plus our own).
bool webapp_reserved_path(std::string_view raw_path);
/// `html` with `script` inserted right after its `<head …>` tag (case-insensitive), or at the start when it has
/// none.
std::string webapp_inject(std::string_view html, std::string_view script);
/// The injected script: `config` as given (HAPPY_INJECT_HTML_CONFIG), or by default this server's URL
/// (`public_url`, else the page's own origin) with analytics off. `<` is escaped so that the JSON cannot end the
/// script element.
std::string webapp_config_script(const boost::json::object* config, std::string_view public_url);

class webapp {
public:
    /// `dir` must hold index.html (else std::runtime_error naming the directory).
    webapp(std::filesystem::path dir, std::string script);

    /// GET/HEAD of any path the routes give it; nullopt for a path that is not the app's (the caller answers 404).
    std::optional<http::response> serve(const http::request& req);
    /// index.html with the configuration injected.
    http::response index(const http::request& req);

private:
    struct cached {
        std::int64_t mtime = 0;
        std::uintmax_t size = 0;
        std::string etag;
        std::string body;
        std::optional<std::string> gzip;
    };
    std::optional<http::response> file(const http::request& req, const std::string& rel, bool is_index);
    std::shared_ptr<cached> load(const std::filesystem::path& p, bool is_index);

    std::filesystem::path dir_;
    std::string script_;
    std::mutex mutex_;
    std::unordered_map<std::string, std::shared_ptr<cached>> cache_;
    std::size_t cache_bytes_ = 0;
};

}  // namespace happy::mod::system
