/// @file
/// Outbound HTTP(S) client for modules that call external services (Expo push, GitHub, voice vendors).
/// One request per connection (`Connection: close`), run as a coroutine on the caller's executor: nothing
/// blocks a thread (names are resolved by core/net/resolve.hpp), and one deadline bounds the whole exchange.
/// `https://` uses OpenSSL with the system CA store, SNI and peer/host-name verification.
/// This header is deliberately light (no Beast, no OpenSSL): include it anywhere.
#pragma once
#include <boost/asio/awaitable.hpp>
#include <boost/json/object.hpp>
#include <chrono>
#include <initializer_list>
#include <cstddef>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace happy::http::client {

using header_list = std::vector<std::pair<std::string, std::string>>;

struct response {
    unsigned status = 0;
    header_list headers;  ///< as received (names in the server's case)
    std::string body;

    /// First header with this name (case-insensitive), empty when absent.
    std::string_view header(std::string_view name) const;
    bool ok() const { return status >= 200 && status < 300; }
};

/// Why a request produced no response. Any HTTP status (including 4xx/5xx) is a response, not an error.
class error : public std::runtime_error {
public:
    enum class kind {
        invalid_url,  ///< not http(s)://host[:port][/path]
        resolve,      ///< DNS failure
        connect,      ///< TCP connect failed (refused, unreachable)
        tls,          ///< TLS handshake or certificate verification failed
        timeout,      ///< the deadline passed before the response was complete
        io,           ///< connection reset / closed early, malformed response, response too large
    };
    error(kind k, const std::string& what) : std::runtime_error(what), kind_(k) {}
    kind code() const { return kind_; }

private:
    kind kind_;
};

struct options {
    std::chrono::milliseconds timeout{10000};  ///< bound on resolve + connect + TLS + write + read
    std::size_t max_response_bytes = 8 * 1024 * 1024;
    std::string ca_file;  ///< extra PEM CA bundle (tests, private CAs); the system store is always loaded
};

/**
 * @brief Sends one request and reads the whole response.
 * @param method  "GET", "POST", ... (sent as given)
 * @param url     `http://` or `https://` URL; the path and query are sent as they are
 * @param headers extra request headers; Host, Content-Length, Connection and (unless given) User-Agent are set
 * @param body    request body (Content-Length is always sent for non-GET/HEAD methods)
 * @param timeout one deadline for the whole exchange
 * @throws client::error when no complete response arrived in time
 */
boost::asio::awaitable<response> request(std::string method, std::string url, header_list headers, std::string body,
                                         std::chrono::milliseconds timeout);

/// The same with more knobs.
boost::asio::awaitable<response> request(std::string method, std::string url, header_list headers, std::string body,
                                         const options& opts);

/// Parts of an absolute http(s) URL (exposed for tests).
struct url_parts {
    bool tls = false;
    std::string host;    ///< without brackets for IPv6 literals
    std::string port;    ///< explicit or the scheme's default
    std::string target;  ///< path + query, at least "/"
    std::string host_header;  ///< host[:port] as written in the URL
};
/// @throws client::error(kind::invalid_url)
url_parts parse_url(std::string_view url);

/// Config check of the URL settings of a section (modules' check_config): each `keys` entry must hold an absolute
/// http(s) URL that parse_url() accepts; with `empty_ok`, an empty string (the feature turned off) passes too.
/// @throws std::runtime_error "<key>: invalid URL ..."
void check_url_settings(const boost::json::object& section, std::initializer_list<std::string_view> keys,
                        bool empty_ok = false);

}  // namespace happy::http::client
