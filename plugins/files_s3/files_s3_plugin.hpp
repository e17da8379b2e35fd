/// @file
/// S3 file store (upstream storage/files.ts S3 mode, minio-js against `S3_HOST`): objects live in one bucket of
/// an S3-compatible store, addressed path-style (`http(s)://host[:port]/bucket/key`, as minio-js does for any
/// endpoint other than AWS's own). Requests are signed with our SigV4 (sigv4.hpp) and sent with the coroutine
/// HTTP client (core/http/client.hpp, one connection per request). Clients upload and download attachments
/// directly with presigned POST policies and GET URLs; the server itself only lists and deletes (session
/// deletion) and checks the bucket at start.
#pragma once
#include <chrono>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>

#include "core/app/registry.hpp"
#include "core/files/file_store.hpp"

namespace happy::plugin::files_s3 {

struct options {
    std::string host;                   ///< S3_HOST: a name or an IP literal, no scheme
    int port = 0;                       ///< S3_PORT; 0 = the scheme's default (443 or 80)
    bool use_ssl = true;                ///< S3_USE_SSL (upstream: only the string "true" enables it when set)
    std::string region = "us-east-1";   ///< S3_REGION
    std::string access_key;             ///< S3_ACCESS_KEY
    std::string secret_key;             ///< S3_SECRET_KEY
    std::string bucket;                 ///< S3_BUCKET
    std::string public_url;             ///< S3_PUBLIC_URL: base of public objects' URLs (avatars)
    std::uint64_t max_file_size = 10485760;  ///< largest object put() sends and get() reads into memory
    std::chrono::milliseconds timeout{30000};  ///< bound on one request to the store
    std::string ca_file;                ///< extra PEM CA bundle for a store with a private CA
    int list_page_size = 1000;          ///< ListObjectsV2 max-keys (S3's own maximum; tests page with less)
};

/// An S3 error response (or a response the plugin cannot use): the HTTP status and S3's error code and message.
class s3_error : public std::runtime_error {
public:
    s3_error(unsigned status, std::string code, const std::string& what)
        : std::runtime_error(what), status_(status), code_(std::move(code)) {}
    unsigned status() const { return status_; }
    const std::string& code() const { return code_; }

private:
    unsigned status_;
    std::string code_;
};

/// The S3 store's own calls besides file_store's.
class store : public files::file_store {
public:
    /// HeadBucket: returns when the bucket exists and the credentials may use it; otherwise throws a
    /// std::runtime_error whose message is one line naming the endpoint, the bucket and the reason.
    virtual boost::asio::awaitable<void> verify_bucket() = 0;
    /// `http(s)://host[:port]` as used in requests and presigned URLs.
    virtual std::string endpoint() const = 0;
};

/// Creates the store without contacting it (tests, tools). Throws std::invalid_argument for missing settings.
std::unique_ptr<store> make_store(options o);

/// Registers the "s3" file-store factory; the factory checks the bucket before it returns (a private
/// io_context, bounded by the request timeout) so that start-up fails with one clear line.
void register_plugin(registry& reg);

}  // namespace happy::plugin::files_s3
