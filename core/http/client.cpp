#include "core/http/client.hpp"

#include "core/http/tls_context.hpp"
#include "core/net/resolve.hpp"
#include "core/util/ascii.hpp"

#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <variant>

namespace happy::http::client {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using boost::system::error_code;

namespace {

constexpr auto nothrow = asio::as_tuple(asio::use_awaitable);

using util::iequals;

[[noreturn]] void fail(error::kind k, std::string_view what, const error_code& ec) {
    throw error(k, ec ? std::string(what) + ": " + ec.message() : std::string(what));
}

/// OpenSSL looks for the system CA store where the distribution that built it keeps it (Debian: /usr/lib/ssl/certs,
/// a link to /etc/ssl/certs). The static release binary takes Debian's paths to every distribution; where they do
/// not exist (Fedora, Alpine, Arch, or a Debian root without the openssl package) this is the first CA bundle
/// found at the other usual places (the list Go's crypto/x509 reads), or nullptr. SSL_CERT_FILE / SSL_CERT_DIR,
/// when set, are OpenSSL's to honour and nothing is added.
const char* fallback_ca_bundle() {
    if (std::getenv(X509_get_default_cert_file_env()) != nullptr ||
        std::getenv(X509_get_default_cert_dir_env()) != nullptr) {
        return nullptr;
    }
    std::error_code ec;
    if (std::filesystem::exists(X509_get_default_cert_dir(), ec) ||
        std::filesystem::exists(X509_get_default_cert_file(), ec)) {
        return nullptr;
    }
    for (const char* p : {"/etc/ssl/certs/ca-certificates.crt", "/etc/pki/tls/certs/ca-bundle.crt",
                          "/etc/ssl/ca-bundle.pem", "/etc/pki/tls/cacert.pem",
                          "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem", "/etc/ssl/cert.pem"}) {
        if (std::filesystem::is_regular_file(p, ec)) {
            return p;
        }
    }
    return nullptr;
}

error::kind io_kind(const error_code& ec) { return ec == beast::error::timeout ? error::kind::timeout : error::kind::io; }

template <class Stream>
asio::awaitable<response> exchange(Stream& stream, bhttp::request<bhttp::string_body>& req, const options& opts) {
    const bool head = req.method() == bhttp::verb::head;
    auto [wec, written] = co_await bhttp::async_write(stream, req, nothrow);
    if (wec) {
        fail(io_kind(wec), "sending the request failed", wec);
    }
    beast::flat_buffer buffer;
    bhttp::response_parser<bhttp::string_body> parser;
    parser.body_limit(opts.max_response_bytes);
    parser.header_limit(64 * 1024);
    // A response to HEAD has no body whatever its Content-Length says (RFC 9110 9.3.2; S3's HeadObject and
    // HeadBucket announce the object's size): without skip() the parser would wait for bytes that never come.
    parser.skip(head);
    auto [rec, read] = co_await bhttp::async_read(stream, buffer, parser, nothrow);
    if (rec == ssl::error::stream_truncated && parser.is_header_done() && !parser.is_done()) {
        // A TLS peer that closes without close_notify ends an until-EOF body the same way a TCP FIN does.
        error_code eof_ec;
        parser.put_eof(eof_ec);
        if (!eof_ec && parser.is_done()) {
            rec = {};
        }
    }
    if (rec) {
        if (rec == bhttp::error::body_limit || rec == bhttp::error::header_limit) {
            fail(error::kind::io, "response too large", rec);
        }
        fail(io_kind(rec), "reading the response failed", rec);
    }
    auto msg = parser.release();
    response out;
    out.status = msg.result_int();
    for (const auto& f : msg) {
        out.headers.emplace_back(std::string(f.name_string()), std::string(f.value()));
    }
    out.body = std::move(msg.body());
    co_return out;
}

}  // namespace

}  // namespace happy::http::client

namespace happy::http {

// Contexts are immutable once built, and an SSL_CTX may be shared by any number of connections on any thread.
client::ssl::context& tls_client_context(const std::string& ca_file) {
    namespace ssl = client::ssl;
    static std::mutex mu;
    static std::map<std::string, std::unique_ptr<ssl::context>> contexts;
    std::lock_guard lock(mu);
    auto& slot = contexts[ca_file];
    if (!slot) {
        auto ctx = std::make_unique<ssl::context>(ssl::context::tls_client);
        ctx->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3 |
                         ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
        boost::system::error_code ec;
        ctx->set_default_verify_paths(ec);  // the system store (/etc/ssl/certs); a missing store fails verification
        if (const char* bundle = client::fallback_ca_bundle()) {
            ctx->load_verify_file(bundle, ec);
        }
        if (!ca_file.empty()) {
            ctx->load_verify_file(ca_file, ec);
            if (ec) {
                throw client::error(client::error::kind::tls, "cannot load CA file " + ca_file + ": " + ec.message());
            }
        }
        ctx->set_verify_mode(ssl::verify_peer);
        slot = std::move(ctx);
    }
    return *slot;
}

}  // namespace happy::http

namespace happy::http::client {

std::string_view response::header(std::string_view name) const {
    for (const auto& [k, v] : headers) {
        if (iequals(k, name)) {
            return v;
        }
    }
    return {};
}

url_parts parse_url(std::string_view url) {
    auto bad = [&](std::string_view why) -> error {
        return error(error::kind::invalid_url, "invalid URL \"" + std::string(url) + "\": " + std::string(why));
    };
    url_parts p;
    auto sep = url.find("://");
    if (sep == std::string_view::npos) {
        throw bad("missing scheme");
    }
    auto scheme = url.substr(0, sep);
    if (iequals(scheme, "https")) {
        p.tls = true;
    } else if (!iequals(scheme, "http")) {
        throw bad("only http and https are supported");
    }
    auto rest = url.substr(sep + 3);
    auto frag = rest.find('#');
    if (frag != std::string_view::npos) {
        rest = rest.substr(0, frag);
    }
    auto auth_end = rest.find_first_of("/?");
    auto authority = rest.substr(0, auth_end);
    std::string_view target = auth_end == std::string_view::npos ? std::string_view{} : rest.substr(auth_end);
    if (authority.empty()) {
        throw bad("missing host");
    }
    if (authority.find('@') != std::string_view::npos) {
        throw bad("credentials in URLs are not supported");
    }
    std::string_view host;
    std::string_view port;
    if (authority.front() == '[') {
        auto close = authority.find(']');
        if (close == std::string_view::npos) {
            throw bad("unterminated IPv6 literal");
        }
        host = authority.substr(1, close - 1);
        auto after = authority.substr(close + 1);
        if (!after.empty()) {
            if (after.front() != ':') {
                throw bad("garbage after IPv6 literal");
            }
            port = after.substr(1);
        }
    } else {
        auto colon = authority.rfind(':');
        host = authority.substr(0, colon);
        if (colon != std::string_view::npos) {
            port = authority.substr(colon + 1);
        }
    }
    if (host.empty()) {
        throw bad("missing host");
    }
    if (!port.empty()) {
        if (port.size() > 5 || port.find_first_not_of("0123456789") != std::string_view::npos ||
            std::stoi(std::string(port)) < 1 || std::stoi(std::string(port)) > 65535) {
            throw bad("invalid port");
        }
    }
    p.host = std::string(host);
    p.port = port.empty() ? (p.tls ? "443" : "80") : std::string(port);
    p.host_header = std::string(authority);
    p.target = target.empty() ? "/" : (target.front() == '?' ? "/" + std::string(target) : std::string(target));
    return p;
}

void check_url_settings(const boost::json::object& section, std::initializer_list<std::string_view> keys,
                        bool empty_ok) {
    for (auto key : keys) {
        std::string_view url = section.at(key).as_string();
        if (empty_ok && url.empty()) {
            continue;
        }
        try {
            parse_url(url);
        } catch (const std::exception& e) {
            throw std::runtime_error(std::string(key) + ": " + e.what());
        }
    }
}

asio::awaitable<response> request(std::string method, std::string url, header_list headers, std::string body,
                                  std::chrono::milliseconds timeout) {
    options opts;
    opts.timeout = timeout;
    co_return co_await request(std::move(method), std::move(url), std::move(headers), std::move(body), opts);
}

asio::awaitable<response> request(std::string method, std::string url, header_list headers, std::string body,
                                  const options& opts) {
    const url_parts parts = parse_url(url);
    const auto deadline = std::chrono::steady_clock::now() + opts.timeout;
    auto ex = co_await asio::this_coro::executor;

    // DNS bounded by the deadline (core/net/resolve.hpp: the system's resolver, or the built-in one in the static
    // release binary).
    net::endpoint_list endpoints;
    try {
        endpoints = co_await net::resolve(parts.host, parts.port, deadline);
    } catch (const boost::system::system_error& e) {
        if (e.code() == asio::error::timed_out) {
            throw error(error::kind::timeout, "resolving " + parts.host + " timed out");
        }
        fail(error::kind::resolve, "cannot resolve " + parts.host, e.code());
    }

    bhttp::request<bhttp::string_body> req;
    req.version(11);
    req.method_string(method);
    req.target(parts.target);
    req.set(bhttp::field::host, parts.host_header);
    bool has_agent = false;
    for (auto& [k, v] : headers) {
        has_agent = has_agent || iequals(k, "user-agent");
        req.set(k, v);
    }
    if (!has_agent) {
        req.set(bhttp::field::user_agent, "happy-server");
    }
    req.set(bhttp::field::connection, "close");
    req.body() = std::move(body);
    if (!req.body().empty() || !(iequals(method, "GET") || iequals(method, "HEAD"))) {
        req.content_length(req.body().size());
    }

    beast::tcp_stream tcp_stream(ex);
    tcp_stream.expires_at(deadline);
    auto [cec, ep] = co_await tcp_stream.async_connect(endpoints, nothrow);
    if (cec) {
        if (cec == beast::error::timeout) {
            fail(error::kind::timeout, "connecting to " + parts.host_header + " timed out", {});
        }
        fail(error::kind::connect, "cannot connect to " + parts.host_header, cec);
    }
    if (!parts.tls) {
        co_return co_await exchange(tcp_stream, req, opts);
    }

    beast::ssl_stream<beast::tcp_stream> tls(std::move(tcp_stream), tls_client_context(opts.ca_file));
    error_code addr_ec;
    asio::ip::make_address(parts.host, addr_ec);
    if (addr_ec) {
        // SNI only for names (RFC 6066 forbids IP literals).
        if (!SSL_set_tlsext_host_name(tls.native_handle(), parts.host.c_str())) {
            throw error(error::kind::tls, "cannot set SNI for " + parts.host);
        }
    }
    tls.set_verify_callback(ssl::host_name_verification(parts.host));
    auto [hec] = co_await tls.async_handshake(ssl::stream_base::client, nothrow);
    if (hec) {
        if (hec == beast::error::timeout) {
            fail(error::kind::timeout, "TLS handshake with " + parts.host_header + " timed out", {});
        }
        fail(error::kind::tls, "TLS handshake with " + parts.host_header + " failed", hec);
    }
    // No TLS shutdown: the response is complete, and waiting for the peer's close_notify only adds latency.
    co_return co_await exchange(tls, req, opts);
}

}  // namespace happy::http::client
