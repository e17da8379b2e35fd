/// @file
/// The request pipeline between the socket layer and module handlers, in upstream's observable order:
/// CORS preflight → route lookup (404) → body parsing (415/400/413) → validation params→body→query→headers
/// (400) → Bearer authentication (401) → handler (exceptions → generic 500).
/// Pure with respect to I/O, so unit tests drive it without sockets.
#pragma once
#include <boost/asio/awaitable.hpp>
#include <string>
#include <vector>

#include "core/http/router.hpp"
#include "core/http/types.hpp"

namespace happy::auth {
class token_service;
}
namespace happy::limits {
class rate_limiter;
}

namespace happy::http {

/// A request as read off the wire.
struct incoming {
    std::string method;
    std::string target;
    header_list headers;  ///< lower-case names
    std::string body;
    bool body_declared = false;  ///< Content-Length > 0 or Transfer-Encoding present
    std::string remote_address;  ///< the client's (behind a trusted proxy: from X-Forwarded-For)
    /// The key the client is counted under by per-address rate limits (limits::address_limit_key); empty when the
    /// client is exempt from them (limits.exempt).
    std::string limit_key;
};

class pipeline {
public:
    pipeline(const router& r, auth::token_service& tokens) : router_(r), tokens_(tokens) {}
    boost::asio::awaitable<response> handle(incoming& in) const;

    /// Routes whose rate_limit is `name` take a token of `limiter` per request, keyed by the client's address
    /// (incoming::limit_key); when refused: 429 {"error": "Too many <what> from this address; try again in N
    /// seconds"} with Retry-After. `limiter` must outlive the pipeline. A route naming no added limit is unlimited.
    void add_rate_limit(std::string name, limits::rate_limiter& limiter, std::string what);

    /// fastify's 413 body for an oversized request.
    static response body_too_large();
    /// The same, filtered through the 413 response schema of the route the request was headed for (upstream's
    /// attachment routes declare one, so their body-limit error is just `{"error":"FastifyError"}`).
    response body_too_large_for(std::string_view method, std::string_view target) const;
    /// The 404 body: {"error":"Not found","path":<raw url>,"method":<method>}.
    static response not_found(std::string_view method, std::string_view target);

private:
    struct rate_limit {
        std::string name;
        limits::rate_limiter* limiter;
        std::string what;
    };
    const router& router_;
    auth::token_service& tokens_;
    std::vector<rate_limit> rate_limits_;
};

}  // namespace happy::http
