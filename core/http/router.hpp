/// @file
/// Route lookup with find-my-way's observable rules (the router under fastify): static segments win over
/// parameters, parameters longer than 100 characters (UTF-16 units) after decoding do not match, trailing slashes are
/// significant, HEAD falls back to the GET route.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/http/types.hpp"

namespace happy::http {

/// Percent-decodes like decodeURIComponent; nullopt on a malformed escape or invalid UTF-8.
std::optional<std::string> percent_decode(std::string_view s);

/// fastify's query parser (fast-querystring via find-my-way): '&'-separated, '+' is a space, each key/value is
/// decodeURIComponent-decoded or kept as sent when that fails, repeated keys become arrays, empty parts are skipped.
boost::json::object parse_query(std::string_view qs);

class router {
public:
    struct match {
        const route* r = nullptr;
        std::vector<std::pair<std::string, std::string>> params;
        bool bad_url = false;  ///< a parameter had a malformed percent escape
    };

    void add(route r);
    /// Finds the route for method+path (path without query). HEAD uses GET routes.
    match find(verb method, std::string_view path) const;
    const std::vector<route>& routes() const { return routes_; }

    static constexpr std::size_t max_param_length = 100;
    /// Specificity is packed into 64 bits, two per segment (add() refuses longer routes).
    static constexpr std::size_t max_segments = 31;

private:
    struct segment {
        enum class kind { literal, param, wildcard } k;
        std::string text;
    };
    struct compiled {
        std::vector<segment> segs;
        bool wildcard = false;    ///< the last segment is "*"
        std::uint64_t score = 0;  ///< specificity, see add()
    };
    std::vector<route> routes_;
    std::vector<compiled> compiled_;
};

}  // namespace happy::http
