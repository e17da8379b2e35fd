#include "core/http/types.hpp"
#include "core/json/json_writer.hpp"

#include <boost/json/serialize.hpp>

namespace happy::http {

verb parse_verb(std::string_view m) {
    if (m == "GET") {
        return verb::get;
    }
    if (m == "HEAD") {
        return verb::head;
    }
    if (m == "POST") {
        return verb::post;
    }
    if (m == "PUT") {
        return verb::put;
    }
    if (m == "DELETE") {
        return verb::del;
    }
    if (m == "OPTIONS") {
        return verb::options;
    }
    if (m == "PATCH") {
        return verb::patch;
    }
    return verb::other;
}

std::string_view trim_ows(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) {
        s.remove_prefix(1);
    }
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) {
        s.remove_suffix(1);
    }
    return s;
}

std::string_view verb_name(verb v) {
    switch (v) {
        case verb::get:
            return "GET";
        case verb::head:
            return "HEAD";
        case verb::post:
            return "POST";
        case verb::put:
            return "PUT";
        case verb::del:
            return "DELETE";
        case verb::options:
            return "OPTIONS";
        case verb::patch:
            return "PATCH";
        default:
            return "OTHER";
    }
}

response response::json(const boost::json::value& v, unsigned status) {
    response r;
    r.status = status;
    r.content_type = "application/json; charset=utf-8";
    // JSON.stringify's number format (0.75, not Boost.JSON's 7.5E-1): the body is what fastify would send.
    r.body = json_text::stringify(v);
    return r;
}

response response::json_text(std::string body, unsigned status) {
    response r;
    r.status = status;
    r.content_type = "application/json; charset=utf-8";
    r.body = std::move(body);
    return r;
}

response response::json_shared(std::shared_ptr<const std::string> body, unsigned status) {
    response r = json_text({}, status);
    r.shared_body = std::move(body);
    return r;
}

response response::text(std::string body, unsigned status, std::string content_type) {
    response r;
    r.status = status;
    r.content_type = std::move(content_type);
    r.body = std::move(body);
    return r;
}

response response::error(unsigned status, std::string_view message) {
    return json(boost::json::object{{"error", message}}, status);
}

response response::redirect(std::string location) {
    // fastify reply.redirect(url): 302, Location, empty body, no Content-Type.
    response r;
    r.status = 302;
    r.headers.emplace_back("location", std::move(location));
    return r;
}

response response::internal_error() {
    return json(
        boost::json::object{
            {"error", "Internal Server Error"}, {"message", "An unexpected error occurred"}, {"statusCode", 500}},
        500);
}

std::optional<std::string_view> request::header(std::string_view lower_name) const {
    for (const auto& [k, v] : headers) {
        if (k == lower_name) {
            return std::string_view(v);
        }
    }
    return std::nullopt;
}

std::string_view request::param(std::string_view name) const {
    if (auto* v = params.if_contains(name); v && v->is_string()) {
        return v->get_string();
    }
    return {};
}

}  // namespace happy::http
