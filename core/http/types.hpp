/// @file
/// The HTTP vocabulary modules see: plain request/response values and route declarations.
/// Modules never touch Beast types; core/http/server.cpp converts at the socket boundary.
#pragma once
#include <boost/asio/awaitable.hpp>
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/validate/schema.hpp"

namespace happy::http {

enum class verb { get, head, post, put, del, options, patch, other };

verb parse_verb(std::string_view method);
std::string_view verb_name(verb v);
/// `s` without leading and trailing spaces and tabs (HTTP's optional whitespace around header values and list items).
std::string_view trim_ows(std::string_view s);

using header_list = std::vector<std::pair<std::string, std::string>>;  ///< names in lower case

struct response {
    unsigned status = 200;
    std::string content_type;  ///< empty = no Content-Type header
    std::string body;
    /// A body kept by a cache (the sessions list) and shared with it: sent as it is, never copied. When set it is
    /// the body and `body` stays empty; read the body through text().
    std::shared_ptr<const std::string> shared_body;
    header_list headers;  ///< extra headers
    bool close = false;   ///< send `Connection: close` and end the connection
    /// A body produced piece by piece (Server-Sent Events), sent with chunked transfer coding after `body` (if
    /// any): each call returns the next piece, nullopt ends the response. The server stops calling it when the
    /// client has gone or shutdown begins; the connection then closes.
    std::function<boost::asio::awaitable<std::optional<std::string>>()> stream;

    /// `application/json; charset=utf-8` with the serialized value (key order preserved).
    static response json(const boost::json::value& v, unsigned status = 200);
    /// The same headers for a body that is already serialized JSON (core/json/json_writer.hpp).
    static response json_text(std::string body, unsigned status = 200);
    /// The same for serialized JSON kept by a cache: the response shares it (shared_body).
    static response json_shared(std::shared_ptr<const std::string> body, unsigned status = 200);
    /// The body, wherever it is kept.
    std::string_view text() const { return shared_body ? std::string_view(*shared_body) : std::string_view(body); }
    static response text(std::string body, unsigned status = 200,
                         std::string content_type = "text/plain; charset=utf-8");
    /// `{"error": message}` — the shape most upstream handlers use for their own errors.
    static response error(unsigned status, std::string_view message);
    /// fastify's reply.redirect(url): 302 with a Location header and an empty body.
    static response redirect(std::string location);
    /// The generic 500 body of upstream's error handler (never leaks internals).
    static response internal_error();
};

/// Throw from a handler to answer with a specific response (e.g. a 404 deep inside a helper).
struct http_error : std::exception {
    explicit http_error(response r) : res(std::move(r)) {}
    const char* what() const noexcept override { return "http_error"; }
    response res;
};

struct request {
    verb method = verb::other;
    std::string target;          ///< raw request target including the query string
    std::string path;            ///< raw path (no query)
    boost::json::object params;  ///< validated path parameters (percent-decoded strings)
    boost::json::value body;     ///< validated JSON body (null when the route has no body schema and none was sent)
    boost::json::object query;   ///< validated query
    std::string raw_body;        ///< raw bytes (application/octet-stream uploads; JSON when route::keep_raw_json)
    std::string content_type;
    header_list headers;
    std::string remote_address;
    std::string account_id;            ///< set by the Bearer middleware
    std::shared_ptr<const boost::json::object> token_claims;  ///< the verified token payload (null: no token)

    std::optional<std::string_view> header(std::string_view lower_name) const;
    std::string_view param(std::string_view name) const;
};

using handler = std::function<boost::asio::awaitable<response>(request&)>;

enum class auth_mode { none, bearer };

/// A route declaration. Validation runs in upstream's order (params → body → querystring → headers)
/// before authentication, as fastify does.
struct route {
    verb method = verb::get;
    std::string path;  ///< "/v1/sessions/:sessionId/messages", "/files/*"
    auth_mode auth = auth_mode::none;
    /// The per-client-address rate limit the route counts against (pipeline::add_rate_limit), checked right after
    /// the route is found; empty = none.
    std::string rate_limit;
    std::optional<validate::node> params;
    std::optional<validate::node> body;
    std::optional<validate::node> query;
    std::optional<validate::node> headers;
    /// Response schemas that filter error bodies for a status (fastify re-serializes through them):
    /// status → the keys kept, in that order.
    std::vector<std::pair<unsigned, std::vector<std::string>>> response_keys;
    /// Also keep the bytes of an `application/json` body in request::raw_body (webhook signatures are computed
    /// over the body as sent; upstream connectRoutes.ts keeps `rawBody` from its JSON parser).
    bool keep_raw_json = false;
    handler fn;
};

}  // namespace happy::http
