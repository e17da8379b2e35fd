#include "core/http/pipeline.hpp"

#include <boost/json.hpp>
#include <cctype>
#include <fmt/format.h>

#include "core/auth/token_service.hpp"
#include "core/json/js_value.hpp"
#include "core/json/json_writer.hpp"
#include "core/json/v8_json_error.hpp"
#include "core/limits/rate_limiter.hpp"
#include "core/log/log.hpp"

namespace happy::http {

namespace json = boost::json;

namespace {

std::string lower(std::string_view s) {
    std::string r(s);
    for (auto& c : r) {
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
    return r;
}

std::optional<std::string_view> find_header(const header_list& h, std::string_view name) {
    for (const auto& [k, v] : h) {
        if (k == name) {
            return std::string_view(v);
        }
    }
    return std::nullopt;
}

response fastify_error(unsigned status, std::string_view name, std::string_view message) {
    return response::json(json::object{{"error", name}, {"message", message}, {"statusCode", status}}, status);
}

bool is_json_space_only(std::string_view s) {
    for (char c : s) {
        if (c != ' ' && c != '\t' && c != '\n' && c != '\r') {
            return false;
        }
    }
    return true;
}

/// Keeps only the keys a route's response schema declares for this status (fastify re-serializes error
/// bodies through the declared schema).
void filter_response(const route& r, response& res) {
    for (const auto& [status, keys] : r.response_keys) {
        if (status != res.status) {
            continue;
        }
        boost::system::error_code ec;
        json::value v = json::parse(res.text(), ec);
        if (ec || !v.is_object()) {
            return;
        }
        json::object out;
        for (const auto& k : keys) {
            if (auto* x = v.get_object().if_contains(k)) {
                out[k] = *x;
            }
        }
        res.body = json_text::stringify(out);
        res.shared_body.reset();
        return;
    }
}

}  // namespace

void pipeline::add_rate_limit(std::string name, limits::rate_limiter& limiter, std::string what) {
    rate_limits_.push_back({std::move(name), &limiter, std::move(what)});
}

response pipeline::body_too_large() {
    return fastify_error(413, "FastifyError", "Request body is too large");
}

response pipeline::body_too_large_for(std::string_view method, std::string_view target) const {
    response r = body_too_large();
    auto path = target.substr(0, target.find('?'));
    if (percent_decode(path)) {
        auto match = router_.find(parse_verb(method), path);
        if (match.r) {
            filter_response(*match.r, r);
        }
    }
    return r;
}

response pipeline::not_found(std::string_view method, std::string_view target) {
    return response::json(json::object{{"error", "Not found"}, {"path", target}, {"method", method}}, 404);
}

boost::asio::awaitable<response> pipeline::handle(incoming& in) const {
    verb method = parse_verb(in.method);

    // 1. CORS preflight (@fastify/cors with strictPreflight): any path, before routing.
    if (method == verb::options) {
        if (find_header(in.headers, "origin") && find_header(in.headers, "access-control-request-method")) {
            response r;
            r.status = 204;
            r.headers = {{"access-control-allow-methods", "GET, POST, PUT, DELETE"},
                         {"access-control-allow-headers", "*"}};
            co_return r;
        }
        co_return response::text("Invalid Preflight Request", 400, "text/plain");
    }

    // 2. Route lookup.
    auto qpos = in.target.find('?');
    std::string path = in.target.substr(0, qpos);
    // find-my-way decodes the whole path first; a malformed escape is fastify's FST_ERR_BAD_URL, before routing.
    if (!percent_decode(path)) {
        co_return response::json(json::object{{"error", "Bad Request"},
                                              {"code", "FST_ERR_BAD_URL"},
                                              {"message", "'" + path + "' is not a valid url component"},
                                              {"statusCode", 400}},
                                 400);
    }
    auto match = router_.find(method, path);
    if (!match.r) {
        co_return not_found(in.method, in.target);
    }
    const route& rt = *match.r;

    // Rate limits (ours, not upstream's): before the body is parsed or anything is looked up.
    if (!rt.rate_limit.empty() && !in.limit_key.empty()) {
        for (const auto& l : rate_limits_) {
            if (l.name != rt.rate_limit) {
                continue;
            }
            auto d = l.limiter->take(in.limit_key);
            if (!d.allowed) {
                response r = response::error(429, fmt::format("Too many {} from this address; try again in {} second{}",
                                                              l.what, d.retry_after_s, d.retry_after_s == 1 ? "" : "s"));
                r.headers.emplace_back("retry-after", std::to_string(d.retry_after_s));
                co_return r;
            }
        }
    }

    request req;
    req.method = method;
    req.target = in.target;
    req.path = path;
    req.headers = std::move(in.headers);
    req.remote_address = in.remote_address;

    // 3. Body parsing, for the methods fastify parses.
    std::optional<json::value> body;  // nullopt = undefined
    bool parses_body = method == verb::post || method == verb::put || method == verb::del || method == verb::patch;
    if (parses_body) {
        auto ct = find_header(req.headers, "content-type");
        if (!ct) {
            if (in.body_declared) {
                co_return fastify_error(415, "FastifyError", "Unsupported Media Type: undefined");
            }
            // No body at all: the validator is handed null.
            body = json::value(nullptr);
        } else {
            req.content_type = std::string(*ct);
            std::string media = lower(trim_ows(ct->substr(0, ct->find(';'))));
            if (media == "application/json") {
                // Node reads the body as UTF-8 text first: ill-formed bytes are U+FFFD from here on, so that nothing
                // stored or echoed holds them (found by tests/fuzz/http_fuzz.cpp: a 0x86 in a tag came back raw).
                in.body = happy::json::utf8_decode_lossy(in.body);
                if (rt.keep_raw_json) {
                    req.raw_body = in.body;
                }
                if (is_json_space_only(in.body)) {
                    // upstream connectRoutes.ts replaces the JSON parser: empty POST/PUT bodies become {}.
                    if (method == verb::post || method == verb::put || method == verb::patch) {
                        body = json::value(json::object());
                    }
                } else {
                    boost::system::error_code ec;
                    json::parse_options opts;
                    opts.max_depth = 10000;
                    json::value v = json::parse(in.body, ec, {}, opts);
                    if (ec) {
                        auto msg = happy::json::v8_json_syntax_error(in.body);
                        response r = fastify_error(400, "SyntaxError", msg.value_or("Unexpected end of JSON input"));
                        r.close = true;
                        filter_response(rt, r);
                        co_return r;
                    }
                    body = std::move(v);
                }
            } else if (media == "text/plain") {
                body = json::value(happy::json::utf8_decode_lossy(in.body));
            } else if (media == "application/octet-stream") {
                req.raw_body = std::move(in.body);
                body = json::value(nullptr);
            } else {
                co_return fastify_error(415, "FastifyError", "Unsupported Media Type: " + std::string(*ct));
            }
        }
    }

    // 4. Validation: params → body → querystring → headers; the first failing part is reported.
    std::vector<validate::issue> issues;
    auto fail = [&](std::string_view part) {
        response r = fastify_error(400, "Error", validate::format_issues(part, issues));
        filter_response(rt, r);
        return r;
    };
    json::object raw_params;
    for (auto& [k, v] : match.params) {
        raw_params[k] = v;
    }
    if (rt.params) {
        json::value pv = raw_params;
        auto out = validate::parse(*rt.params, &pv, issues);
        if (!out) {
            co_return fail("params");
        }
        req.params = std::move(out->get_object());
    } else {
        req.params = std::move(raw_params);
    }
    if (rt.body) {
        // fastify's validateParam hands the validator null for an undefined part (e.g. a DELETE whose empty JSON
        // body parsed to undefined), so a body schema reports "received null", never "received undefined".
        const json::value null_body;
        auto out = validate::parse(*rt.body, body ? &*body : &null_body, issues);
        if (!out) {
            co_return fail("body");
        }
        req.body = std::move(*out);
    } else if (body) {
        req.body = std::move(*body);
    }
    // After validation (zod reports Infinity itself): what handlers keep or echo must serialize as JavaScript
    // would, where a literal like 1e400 becomes null.
    happy::json::sanitize_non_finite(req.body);
    json::object raw_query =
        qpos == std::string::npos ? json::object() : parse_query(std::string_view(in.target).substr(qpos + 1));
    if (rt.query) {
        json::value qv = raw_query;
        auto out = validate::parse(*rt.query, &qv, issues);
        if (!out) {
            co_return fail("querystring");
        }
        req.query = std::move(out->get_object());
    } else {
        req.query = std::move(raw_query);
    }
    if (rt.headers) {
        json::object hv;
        for (const auto& [k, v] : req.headers) {
            hv[k] = v;
        }
        json::value hval = std::move(hv);
        auto out = validate::parse(*rt.headers, &hval, issues);
        if (!out) {
            co_return fail("headers");
        }
    }

    // 5. Authentication (upstream authenticate preHandler).
    if (rt.auth == auth_mode::bearer) {
        auto h = find_header(req.headers, "authorization");
        // Node trims the header value, so "Bearer " alone fails the prefix check (observed.md).
        std::string_view value = h ? trim_ows(*h) : std::string_view();
        if (!h || value.substr(0, 7) != "Bearer ") {
            co_return response::error(401, "Missing authorization header");
        }
        auto checked = tokens_.check(value.substr(7));
        if (checked.blocked != auth::account_block::none) {
            // Not upstream (it cannot disable accounts): a valid token of a disabled or deleted account.
            co_return response::error(403, auth::account_block_message(checked.blocked));
        }
        if (!checked.token) {
            co_return response::error(401, "Invalid token");
        }
        req.account_id = std::move(checked.token->sub);
        req.token_claims = std::move(checked.token->payload);
    }

    // 6. Handler.
    response res;
    try {
        res = co_await rt.fn(req);
    } catch (http_error& e) {
        res = std::move(e.res);
    } catch (const std::exception& e) {
        log::error("handler failed", {{"method", in.method}, {"path", path}, {"error", e.what()}});
        res = response::internal_error();
    }
    filter_response(rt, res);
    co_return res;
}

}  // namespace happy::http
