/// @file
/// The file-store interface: where attachment blobs and public files (avatars) live. A plugin chosen by name in
/// the config (`files.kind`) implements it: `local` (plugins/files_local, a directory under data_dir) or `s3`
/// (plugins/files_s3, a bucket clients reach directly through presigned URLs). Keys are relative paths such as
/// `sessions/<sid>/attachments/<file>`.
#pragma once
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace happy::files {

/// A key the store refuses: empty, absolute, with an empty, `.` or `..` segment, a backslash or a NUL.
struct invalid_key : std::invalid_argument {
    using std::invalid_argument::invalid_argument;
};

/// An object larger than the store's size limit (on put, or on get when reading it would exceed the bound).
struct too_large : std::runtime_error {
    using std::runtime_error::runtime_error;
};

/// A key that names a directory-like prefix rather than an object (e.g. `get("sessions")`).
struct not_a_file : std::runtime_error {
    using std::runtime_error::runtime_error;
};

/// True when `key` is a valid object key: '/'-separated non-empty segments, none `.` or `..`, no leading '/',
/// no backslash, no NUL. Traversal is impossible by construction for keys that pass.
bool valid_key(std::string_view key);

struct file_stat {
    std::uint64_t size = 0;
};

/// A browser-style upload (S3 POST Object): a multipart/form-data POST to `url` with `fields` first, in this
/// order, and the file last (field `file`).
struct upload_form {
    std::string url;
    std::vector<std::pair<std::string, std::string>> fields;
};

/**
 * @brief A blob store. Calls may run on the store's own threads; each resumes the caller on its executor.
 * Memory is bounded by max_size(): put() takes at most that many bytes, get() refuses bigger objects.
 */
class file_store {
public:
    virtual ~file_store() = default;
    /// One line for logs ("local /data/files").
    virtual std::string describe() const = 0;
    /// True when this server itself stores and serves the bytes (upstream isLocalStorage(): `GET /files/*` is
    /// routed and attachments are PUT to this server); false for stores clients reach directly (S3).
    virtual bool serves_directly() const = 0;
    /// Largest object put() accepts and get() returns.
    virtual std::uint64_t max_size() const = 0;
    /// Stores `data` under `key`, replacing any previous object atomically (readers see the old or the new
    /// bytes, never a partial file). Throws invalid_key, too_large, or std::system_error on I/O failure.
    virtual boost::asio::awaitable<void> put(std::string key, std::string data) = 0;
    /// The object's bytes; nullopt when there is none. Throws invalid_key, too_large, not_a_file.
    virtual boost::asio::awaitable<std::optional<std::string>> get(std::string key) = 0;
    /// Size of the object; nullopt when there is none (a prefix with objects below it is not an object).
    virtual boost::asio::awaitable<std::optional<file_stat>> stat(std::string key) = 0;
    /// Removes one object; false when there was none.
    virtual boost::asio::awaitable<bool> remove(std::string key) = 0;
    /// Removes every object under `prefix` (a key; `a/b` removes `a/b/...`, never `a/bc`). Returns how many
    /// objects were removed.
    virtual boost::asio::awaitable<std::uint64_t> remove_prefix(std::string prefix) = 0;

    // Calls for stores that clients reach directly. The defaults are the answers of a store that serves its
    // bytes through this server (local): nothing to presign, public files under `<public URL>/files`.

    /// A URL anyone holding it may GET the object from until `ttl` passes (upstream presignedGetObject), or
    /// nullopt when the store has none (the server then serves the bytes itself). Local computation, no I/O.
    virtual std::optional<std::string> presign_get(const std::string& key, std::chrono::seconds ttl) const {
        return std::nullopt;
    }
    /// An upload form for `key` that the store accepts for `ttl` and only with 0..max_bytes bytes (upstream
    /// presignedPostPolicy with content-length-range), or nullopt when unsupported. Local computation, no I/O.
    virtual std::optional<upload_form> presign_post(const std::string& key, std::uint64_t max_bytes,
                                                    std::chrono::seconds ttl) const {
        return std::nullopt;
    }
    /// Base of public objects' URLs (`<base>/<key>`, upstream getPublicUrl: S3_PUBLIC_URL), or nullopt when this
    /// server publishes them itself at `<public URL>/files`.
    virtual std::optional<std::string> public_base_url() const { return std::nullopt; }

    /// Health (/health, doctor): returns when the store can be used, throws saying why not. The default asks for
    /// a key that does not exist (S3: a HEAD request, which also checks the credentials).
    virtual boost::asio::awaitable<void> check() {
        std::string key = "happy-health-probe";  // a named local: g++ 12 destroys temporaries of a co_await twice
        co_await stat(std::move(key));
    }
};

}  // namespace happy::files
