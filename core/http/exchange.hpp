/// @file
/// Hand-over of a raw HTTP exchange to a protocol that shares the REST port (Engine.IO on /v1/updates/).
/// Beast-heavy: included only by core transport code, never by modules.
#pragma once
#include <boost/asio/awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <string>
#include <string_view>
#include <variant>

#include "core/http/pipeline.hpp"

#include "core/limits/counter.hpp"

namespace happy::http {

/// A connection of the TLS listener (server.tls): TLS over the same TCP stream type.
using tls_stream = boost::beast::ssl_stream<boost::beast::tcp_stream>;

/// The connection a request came on: plain TCP, or TLS (its executor is then a strand<any_io_executor>, so that
/// a protocol taking the stream can keep running on it).
using stream_ref = std::variant<boost::beast::tcp_stream*, tls_stream*>;

/// Whether Node's HTTP parser (llhttp, under upstream's fastify) would take this request line: a method of Node's
/// http.METHODS and a target of visible ASCII only (0x21-0x7E; a raw byte such as 0xD1 is not). Node answers any
/// other request 400 with an empty body and closes the connection, before routing; so does the server. Beast
/// accepts more (any token as the method, obs-text in the target), which would otherwise reach the 404 body raw
/// and make it invalid UTF-8 JSON (found by tests/fuzz/http_fuzz.cpp).
bool request_line_acceptable(std::string_view method, std::string_view target);

/// A request read off the wire as the pipeline takes it: header names in lower case, and fastify's notion of a
/// declared body (Transfer-Encoding present, or a Content-Length other than 0). The server uses it for every
/// request; the HTTP fuzz target (tests/fuzz/http_fuzz.cpp) feeds it from an in-memory parser.
incoming to_incoming(boost::beast::http::request<boost::beast::http::string_body>&& req, std::string remote_address);

/// A request whose header has been read; the body (if any) is still on the wire.
struct exchange {
    stream_ref stream;
    boost::beast::flat_buffer& buffer;
    boost::beast::http::request_parser<boost::beast::http::string_body>& parser;
    std::string remote_address;  ///< the client's (core/limits/address.hpp client_address)
    /// The connection's counts under the connection limits. A handler that takes the stream takes these too and
    /// holds them as long as the connection lives.
    limits::connection_slots* slots = nullptr;
    bool taken = false;  ///< set by a handler that moved the stream out (WebSocket)

    /// Calls `f` with the stream itself (beast::tcp_stream& or tls_stream&).
    template <class F>
    decltype(auto) visit(F&& f) {
        return std::visit([&](auto* s) -> decltype(auto) { return f(*s); }, stream);
    }
};

class protocol_handler {
public:
    virtual ~protocol_handler() = default;
    /// True when the request target belongs to this protocol (checked right after the header is read).
    virtual bool matches(std::string_view target) const = 0;
    /// Serves the exchange: reads the body if needed and writes the response itself. Returns true to keep
    /// the connection for further HTTP requests; false to end it (or when the handler took the stream).
    virtual boost::asio::awaitable<bool> serve(exchange& ex) = 0;
};

}  // namespace happy::http
