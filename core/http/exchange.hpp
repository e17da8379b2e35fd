/// @file
/// Hand-over of a raw HTTP exchange to a protocol that shares the REST port (Engine.IO on /v1/updates/).
/// Beast-heavy: included only by core transport code, never by modules.
#pragma once
#include <boost/asio/awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <string>
#include <string_view>

namespace happy::http {

/// A request whose header has been read; the body (if any) is still on the wire.
struct exchange {
    boost::beast::tcp_stream& stream;
    boost::beast::flat_buffer& buffer;
    boost::beast::http::request_parser<boost::beast::http::string_body>& parser;
    std::string remote_address;
    bool taken = false;  ///< set by a handler that moved the stream out (WebSocket)
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
