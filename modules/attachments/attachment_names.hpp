/// @file
/// Pure helpers of the attachment routes: name checks, refs, base URLs, the upload rate limit, and the
/// normalisation of `GET /files/*` paths. Unit-tested without I/O.
#pragma once
#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "core/http/types.hpp"

namespace happy::mod::attachments {

/// upstream attachmentRoutes.ts MAX_FILE_SIZE.
inline constexpr std::uint64_t max_file_size = 10 * 1024 * 1024;

/// upstream's path-traversal check of `:attachmentFile`: true when the name contains `..` or `/`.
bool attachment_name_rejected(std::string_view file);

/// `sessions/<sid>/attachments/<file>`.
std::string attachment_ref(std::string_view sid, std::string_view file);
/// `sessions/<sid>/attachments` (the prefix removed with the session).
std::string attachment_dir(std::string_view sid);

/// upstream resolveBaseUrl: PUBLIC_URL, else `<x-forwarded-proto or http>://<x-forwarded-host or Host>`, else
/// `http://localhost:<port>`.
std::string base_url(std::string_view public_url, const http::request& req, int port);

/// What `GET /files/*` does with its wildcard (upstream api.ts): `path.resolve(base, wildcard)` must stay strictly
/// inside the base directory. Returns the normalised relative key, or nullopt for 403 (empty, the base itself, or
/// outside it). `..` segments that stay inside are resolved, as path.resolve does.
std::optional<std::string> files_wildcard_key(std::string_view wildcard);

/// upstream checkUploadRate: 60 request-upload calls per user per 60 s window, per process. Thread-safe.
class upload_rate_limiter {
public:
    static constexpr int max_per_window = 60;
    static constexpr std::int64_t window_ms = 60'000;

    /// Counts one call at `now_ms`; false when the user is over the limit.
    bool allow(const std::string& user, std::int64_t now_ms);
    std::size_t tracked() const;

private:
    struct entry {
        int count = 0;
        std::int64_t window_start = 0;
    };
    mutable std::mutex mu_;
    std::unordered_map<std::string, entry> users_;
};

}  // namespace happy::mod::attachments
