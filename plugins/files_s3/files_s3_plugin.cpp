#include "plugins/files_s3/files_s3_plugin.hpp"

#include <fmt/format.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <charconv>
#include <exception>

#include "core/http/client.hpp"
#include "plugins/files_s3/s3_xml.hpp"
#include "plugins/files_s3/sigv4.hpp"

namespace happy::plugin::files_s3 {

namespace asio = boost::asio;
namespace client = http::client;

namespace {

/// DeleteObjects takes at most 1000 keys per request.
constexpr std::size_t delete_batch = 1000;
/// Error documents and listings are small; a listing page of 1000 long keys stays well below this.
constexpr std::size_t max_listing_bytes = 4 * 1024 * 1024;

/// S3's object-name rule (minio-js isValidObjectName): 1..1024 bytes. Presigned URLs follow it rather than
/// files::valid_key, as upstream's presignedGetObject does: the store, not this server, resolves the name.
bool valid_s3_key(std::string_view key) { return !key.empty() && key.size() <= 1024; }

class s3_store final : public store {
public:
    explicit s3_store(options o) : opts_(std::move(o)) {
        if (opts_.host.empty()) {
            throw std::invalid_argument("files.s3.host (S3_HOST) is empty");
        }
        if (opts_.host.find("://") != std::string::npos || opts_.host.find('/') != std::string::npos) {
            throw std::invalid_argument(fmt::format(
                "files.s3.host (S3_HOST) must be a host name or address without scheme or path, got \"{}\"",
                opts_.host));
        }
        if (opts_.bucket.empty()) {
            throw std::invalid_argument("files.s3.bucket (S3_BUCKET) is empty");
        }
        if (opts_.access_key.empty() || opts_.secret_key.empty()) {
            // minio-js would run anonymously and fail every presign call with AnonymousRequestError: refuse at
            // start instead.
            throw std::invalid_argument("files.s3.access_key and files.s3.secret_key (S3_ACCESS_KEY, S3_SECRET_KEY) "
                                        "are required");
        }
        bool ipv6 = opts_.host.find(':') != std::string::npos && opts_.host.front() != '[';
        std::string host = ipv6 ? "[" + opts_.host + "]" : opts_.host;
        int default_port = opts_.use_ssl ? 443 : 80;
        // As minio-js builds the Host header: the port only when it is not the scheme's default.
        authority_ = opts_.port == 0 || opts_.port == default_port ? host : host + ":" + std::to_string(opts_.port);
        endpoint_ = (opts_.use_ssl ? "https://" : "http://") + authority_;
        creds_ = {opts_.access_key, opts_.secret_key};
        scope_ = {opts_.region, "s3"};
    }

    std::string describe() const override { return "s3 " + endpoint_ + "/" + opts_.bucket; }
    bool serves_directly() const override { return false; }
    std::uint64_t max_size() const override { return opts_.max_file_size; }
    std::string endpoint() const override { return endpoint_; }

    asio::awaitable<void> put(std::string key, std::string data) override {
        check_key(key);
        if (data.size() > opts_.max_file_size) {
            throw files::too_large(
                fmt::format("{} bytes exceed the limit of {}", data.size(), opts_.max_file_size));
        }
        // minio-js putObject's default type; the store keeps it and serves it back on GET.
        // (Arguments with string literals are built outside co_await: g++ 12 rejects them inside.)
        sigv4::pairs headers{{"content-type", "application/octet-stream"}};
        auto res = co_await send("PUT", key, {}, std::move(data), std::move(headers));
        if (!res.ok()) {
            throw error_of("PUT", key, res);
        }
    }

    asio::awaitable<std::optional<std::string>> get(std::string key) override {
        check_key(key);
        client::response res;
        std::exception_ptr failed;
        try {
            res = co_await send("GET", key, {}, {}, {}, opts_.max_file_size);
        } catch (const client::error&) {
            failed = std::current_exception();
        }
        if (failed) {
            // The client reports a body over the limit like any other I/O failure: ask the object's size.
            std::optional<files::file_stat> st;
            try {
                st = co_await stat(key);
            } catch (const std::exception&) {
            }
            if (st && st->size > opts_.max_file_size) {
                throw files::too_large(fmt::format("{} has {} bytes, more than the limit of {}", key, st->size,
                                                   opts_.max_file_size));
            }
            std::rethrow_exception(failed);
        }
        if (res.status == 404) {
            co_return std::nullopt;
        }
        if (!res.ok()) {
            throw error_of("GET", key, res);
        }
        co_return std::move(res.body);
    }

    asio::awaitable<std::optional<files::file_stat>> stat(std::string key) override {
        check_key(key);
        auto res = co_await send("HEAD", key, {}, {}, {});
        if (res.status == 404) {
            co_return std::nullopt;
        }
        if (!res.ok()) {
            throw error_of("HEAD", key, res);
        }
        files::file_stat st;
        auto len = res.header("content-length");
        std::from_chars(len.data(), len.data() + len.size(), st.size);
        co_return st;
    }

    asio::awaitable<bool> remove(std::string key) override {
        // DeleteObject answers 204 whether or not the object existed; the interface tells the two apart.
        if (!co_await stat(key)) {
            co_return false;
        }
        auto res = co_await send("DELETE", key, {}, {}, {});
        if (!res.ok()) {
            throw error_of("DELETE", key, res);
        }
        co_return true;
    }

    asio::awaitable<std::uint64_t> remove_prefix(std::string prefix) override {
        check_key(prefix);
        // upstream deleteSessionAttachments: listObjects(bucket, prefix + '/', recursive) then removeObjects.
        auto keys = co_await list(prefix + "/");
        std::uint64_t removed = 0;
        for (std::size_t i = 0; i < keys.size(); i += delete_batch) {
            std::vector<std::string> batch(keys.begin() + static_cast<std::ptrdiff_t>(i),
                                           keys.begin() + static_cast<std::ptrdiff_t>(std::min(keys.size(), i + delete_batch)));
            removed += co_await delete_objects(batch);
        }
        co_return removed;
    }

    std::optional<std::string> presign_get(const std::string& key, std::chrono::seconds ttl) const override {
        if (!valid_s3_key(key)) {
            throw files::invalid_key(fmt::format("invalid S3 object name \"{}\"", key));
        }
        sigv4::request r;
        r.method = "GET";
        r.path = "/" + opts_.bucket + "/" + key;
        r.headers = {{"host", authority_}};
        return endpoint_ + sigv4::encoded_target(r.path, {}) + "?" +
               sigv4::presign_query(r, creds_, scope_, sigv4::clock::now(), ttl);
    }

    std::optional<files::upload_form> presign_post(const std::string& key, std::uint64_t max_bytes,
                                                   std::chrono::seconds ttl) const override {
        if (!valid_s3_key(key)) {
            throw files::invalid_key(fmt::format("invalid S3 object name \"{}\"", key));
        }
        auto now = sigv4::clock::now();
        sigv4::post_policy p;
        p.bucket = opts_.bucket;
        p.key = key;
        p.min_length = 0;
        p.max_length = max_bytes;
        p.expiration = now + ttl;
        auto form = sigv4::presign_post(p, creds_, scope_, now);
        // minio-js presignedPostPolicy: postURL = `${protocol}//${host}${port}/${bucket}` (path style).
        return files::upload_form{endpoint_ + "/" + sigv4::uri_encode(opts_.bucket, false), std::move(form.fields)};
    }

    std::optional<std::string> public_base_url() const override { return opts_.public_url; }

    asio::awaitable<void> verify_bucket() override {
        auto where = fmt::format("S3 bucket \"{}\" at {}", opts_.bucket, endpoint_);
        client::response res;
        try {
            res = co_await send("HEAD", {}, {}, {}, {});
        } catch (const client::error& e) {
            throw std::runtime_error(fmt::format("{}: unreachable: {}", where, e.what()));
        }
        if (res.ok()) {
            co_return;
        }
        std::string reason;
        switch (res.status) {
            case 404: reason = "the bucket does not exist"; break;
            case 403: reason = "access denied (check S3_ACCESS_KEY and S3_SECRET_KEY, and the bucket's policy)"; break;
            case 301: reason = fmt::format("the bucket is in another region than \"{}\" (S3_REGION)", opts_.region); break;
            case 400: reason = "the store refused the request (region or signature)"; break;
            default: reason = "unexpected answer"; break;
        }
        throw std::runtime_error(fmt::format("{}: {} (HeadBucket answered {})", where, reason, res.status));
    }

private:
    void check_key(std::string_view key) const {
        if (!files::valid_key(key)) {
            throw files::invalid_key(fmt::format("invalid file key \"{}\"", key));
        }
    }

    /// Signs and sends one request to `/<bucket>[/<key>]`.
    asio::awaitable<client::response> send(std::string method, std::string_view key, sigv4::pairs query,
                                           std::string body, sigv4::pairs extra_headers,
                                           std::size_t max_response = max_listing_bytes) const {
        auto now = sigv4::clock::now();
        sigv4::request r;
        r.method = method;
        r.path = "/" + opts_.bucket + (key.empty() ? "" : "/" + std::string(key));
        r.query = std::move(query);
        r.payload_hash = sigv4::sha256_hex(body);
        client::header_list headers;
        for (auto& [k, v] : extra_headers) {
            // Content-Type is left unsigned, as minio-js and the AWS SDK do (proxies may rewrite it).
            if (k != "content-type") {
                r.headers.emplace_back(k, v);
            }
            headers.emplace_back(std::move(k), std::move(v));
        }
        r.headers.emplace_back("host", authority_);
        r.headers.emplace_back("x-amz-content-sha256", r.payload_hash);
        r.headers.emplace_back("x-amz-date", sigv4::amz_date(now));
        headers.emplace_back("x-amz-content-sha256", r.payload_hash);
        headers.emplace_back("x-amz-date", sigv4::amz_date(now));
        headers.emplace_back("authorization", sigv4::authorization(r, creds_, scope_, now));

        client::options co;
        co.timeout = opts_.timeout;
        co.max_response_bytes = max_response;
        co.ca_file = opts_.ca_file;
        co_return co_await client::request(std::move(method), endpoint_ + sigv4::encoded_target(r.path, r.query),
                                           std::move(headers), std::move(body), co);
    }

    /// An S3 error document (`<Error><Code>…</Code><Message>…</Message></Error>`) as an exception.
    s3_error error_of(std::string_view method, std::string_view key, const client::response& res) const {
        std::string code = xml::text(res.body, "Code");
        std::string message = xml::text(res.body, "Message");
        if (code.empty()) {
            code = std::to_string(res.status);
        }
        return s3_error(res.status, code,
                        fmt::format("S3 {} /{}/{}: {} {}{}{}", method, opts_.bucket, key, res.status, code,
                                    message.empty() ? "" : ": ", message));
    }

    /// ListObjectsV2 of everything under `prefix` (all pages).
    asio::awaitable<std::vector<std::string>> list(std::string prefix) const {
        std::vector<std::string> keys;
        std::string token;
        // A page holds up to 1000 keys; the bound only stops a store that keeps answering "truncated".
        for (int page = 0; page < 100000; ++page) {
            sigv4::pairs q{{"list-type", "2"}, {"max-keys", std::to_string(opts_.list_page_size)}, {"prefix", prefix}};
            if (!token.empty()) {
                q.emplace_back("continuation-token", token);
            }
            auto res = co_await send("GET", {}, std::move(q), {}, {});
            if (!res.ok()) {
                throw error_of("GET", "?list-type=2&prefix=" + prefix, res);
            }
            for (auto& k : xml::texts(res.body, "Key")) {
                // A store that ignored the prefix must not make us delete other objects.
                if (k.starts_with(prefix)) {
                    keys.push_back(std::move(k));
                }
            }
            token = xml::text(res.body, "NextContinuationToken");
            if (xml::text(res.body, "IsTruncated") != "true" || token.empty()) {
                break;
            }
        }
        co_return keys;
    }

    /// DeleteObjects (`POST /bucket?delete`), or one DeleteObject per key where the store does not implement it.
    asio::awaitable<std::uint64_t> delete_objects(const std::vector<std::string>& keys) const {
        std::string body = R"(<?xml version="1.0" encoding="UTF-8"?><Delete xmlns="http://s3.amazonaws.com/doc/2006-03-01/">)";
        for (const auto& k : keys) {
            body += "<Object><Key>" + xml::escape(k) + "</Key></Object>";
        }
        body += "</Delete>";
        // AWS requires Content-MD5 (or a checksum header) on DeleteObjects.
        std::string md5 = sigv4::md5_base64(body);
        sigv4::pairs query{{"delete", ""}};
        sigv4::pairs headers{{"content-md5", md5}, {"content-type", "application/xml"}};
        auto res = co_await send("POST", {}, std::move(query), std::move(body), std::move(headers));
        if (res.status == 501) {
            std::uint64_t n = 0;
            for (const auto& k : keys) {
                auto del = co_await send("DELETE", k, {}, {}, {});
                if (!del.ok()) {
                    throw error_of("DELETE", k, del);
                }
                ++n;
            }
            co_return n;
        }
        if (!res.ok()) {
            throw error_of("POST", "?delete", res);
        }
        // Per-key failures come back inside a 200 answer.
        if (xml::count(res.body, "Error") > 0) {
            auto failed = xml::texts(res.body, "Error");
            throw s3_error(res.status, xml::text(failed.front(), "Code"),
                           fmt::format("S3 DeleteObjects on /{}: {} of {} keys not deleted, first: {} {}",
                                       opts_.bucket, failed.size(), keys.size(), xml::text(failed.front(), "Key"),
                                       xml::text(failed.front(), "Message")));
        }
        co_return xml::count(res.body, "Deleted");
    }

    options opts_;
    std::string authority_;
    std::string endpoint_;
    sigv4::credentials creds_;
    sigv4::scope scope_;
};

}  // namespace

std::unique_ptr<store> make_store(options o) { return std::make_unique<s3_store>(std::move(o)); }

namespace {

/// The plugin's config section, files.s3.
constexpr std::string_view config_schema = R"json({
  "type": "object", "additionalProperties": false,
  "properties": {
    "host": {"type": "string", "default": "", "description": "S3 endpoint host name or address, no scheme (env S3_HOST; setting it selects files.kind s3)."},
    "port": {"type": "integer", "minimum": 0, "maximum": 65535, "default": 0, "description": "Endpoint port; 0 = 443 with TLS, 80 without (env S3_PORT)."},
    "use_ssl": {"type": "boolean", "default": true, "description": "HTTPS to the endpoint (env S3_USE_SSL: only \"true\" enables it, as upstream)."},
    "region": {"type": "string", "minLength": 1, "default": "us-east-1", "description": "Signing region (env S3_REGION)."},
    "access_key": {"type": "string", "default": "", "description": "Access key id (env S3_ACCESS_KEY)."},
    "secret_key": {"type": "string", "default": "", "description": "Secret access key (env S3_SECRET_KEY)."},
    "bucket": {"type": "string", "default": "", "description": "Bucket holding attachments and public files (env S3_BUCKET)."},
    "public_url": {"type": "string", "default": "", "description": "Base URL of public objects such as avatars: <public_url>/<key> (env S3_PUBLIC_URL)."},
    "timeout_ms": {"type": "integer", "minimum": 1, "default": 30000, "description": "Bound on one request to the store."},
    "max_file_size": {"type": "integer", "minimum": 1, "default": 10485760, "description": "Largest object the server itself writes or reads into memory, in bytes."},
    "ca_file": {"type": "string", "default": "", "description": "Extra PEM CA bundle for an endpoint with a private CA (the system store is always trusted)."}
  }
})json";

}  // namespace

void register_plugin(registry& reg) {
    reg.add_file_store("s3", [](const file_store_options& fo) -> std::unique_ptr<files::file_store> {
        const auto& c = fo.config;
        auto str = [&](const char* k, std::string def = {}) {
            auto* v = c.if_contains(k);
            return v && v->is_string() ? std::string(v->get_string()) : def;
        };
        options o;
        o.host = str("host");
        o.port = c.contains("port") ? c.at("port").to_number<int>() : 0;
        o.use_ssl = c.contains("use_ssl") ? c.at("use_ssl").as_bool() : true;
        o.region = str("region", "us-east-1");
        o.access_key = str("access_key");
        o.secret_key = str("secret_key");
        o.bucket = str("bucket");
        o.public_url = str("public_url");
        o.ca_file = str("ca_file");
        if (auto* v = c.if_contains("max_file_size")) {
            o.max_file_size = v->to_number<std::uint64_t>();
        }
        if (auto* v = c.if_contains("timeout_ms")) {
            o.timeout = std::chrono::milliseconds(v->to_number<std::int64_t>());
        }
        auto st = make_store(std::move(o));
        // upstream loadFiles() awaits bucketExists before serving; here a missing bucket stops start-up.
        asio::io_context io;
        auto done = asio::co_spawn(io, st->verify_bucket(), asio::use_future);
        io.run();
        done.get();
        return st;
    },
    {.schema = config_schema,
     // upstream storage/files.ts: S3 mode whenever S3_HOST is set, with minio's settings from these.
     .env = {{"S3_HOST", "files.kind", "select:s3"},
             {"S3_HOST", "files.s3.host", "string"},
             {"S3_PORT", "files.s3.port", "integer"},
             {"S3_USE_SSL", "files.s3.use_ssl", "js_true"},
             {"S3_REGION", "files.s3.region", "string"},
             {"S3_ACCESS_KEY", "files.s3.access_key", "string"},
             {"S3_SECRET_KEY", "files.s3.secret_key", "string"},
             {"S3_BUCKET", "files.s3.bucket", "string"},
             {"S3_PUBLIC_URL", "files.s3.public_url", "string"}},
     // What start-up needs before it can even ask the endpoint, checked by --check-config too.
     .check = [](const boost::json::object& c) {
         static constexpr std::pair<const char*, const char*> required[] = {{"host", "S3_HOST"},
                                                                            {"bucket", "S3_BUCKET"},
                                                                            {"access_key", "S3_ACCESS_KEY"},
                                                                            {"secret_key", "S3_SECRET_KEY"}};
         for (const auto& [key, env] : required) {
             const auto* v = c.if_contains(key);
             if (!v || !v->is_string() || v->get_string().empty()) {
                 throw std::runtime_error(fmt::format("{}: required when files.kind is \"s3\" ({})", key, env));
             }
         }
     }});
}

}  // namespace happy::plugin::files_s3
