/// @file
/// The TLS client context of the server's outbound connections (core/http/client, the Redis bus): TLS 1.2 or
/// newer, peer verification against the system store plus an optional extra PEM CA bundle. Light on purpose (no
/// OpenSSL, no Asio SSL headers): callers that make the stream include <boost/asio/ssl.hpp> themselves.
#pragma once
#include <string>

namespace boost::asio::ssl {
class context;
}

namespace happy::http {

/// One context per extra CA file (almost always just the default, ""), built on first use and shared by every
/// connection on any thread. Throws client::error (kind tls) when `ca_file` cannot be loaded.
boost::asio::ssl::context& tls_client_context(const std::string& ca_file);

}  // namespace happy::http
