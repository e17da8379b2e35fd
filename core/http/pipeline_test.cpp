// Unit tests for happy::http::pipeline, driven without sockets: the observable request lifecycle of
// shared/spec/http-api.md §2.2-2.7 (preflight, 404, body parsing, validation order, Bearer auth, error bodies).

#include "core/http/pipeline.hpp"

#include <gtest/gtest.h>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/json.hpp>

#include <stdexcept>
#include <string>
#include <utility>

#include "core/auth/token_service.hpp"
#include "core/validate/schema.hpp"

namespace happy::http {
namespace {

namespace json = boost::json;
namespace v = happy::validate;
using boost::asio::awaitable;

constexpr std::string_view k_generic_500 =
    R"({"error":"Internal Server Error","message":"An unexpected error occurred","statusCode":500})";
constexpr std::string_view k_json_type = "application/json; charset=utf-8";

std::vector<std::string> mutually_exclusive(const json::object& q) {
    if (q.contains("after_seq") && q.contains("before_seq")) {
        return {"after_seq and before_seq are mutually exclusive"};
    }
    return {};
}

/// Echoes what the handler received.
awaitable<response> echo(request& req) {
    json::object o;
    o["params"] = req.params;
    o["body"] = req.body;
    o["query"] = req.query;
    o["account"] = req.account_id;
    co_return response::json(o);
}

awaitable<response> whoami(request& req) {
    json::object o;
    o["account"] = req.account_id;
    const auto* sub = req.token_claims ? req.token_claims->if_contains("sub") : nullptr;
    const auto* iss = req.token_claims ? req.token_claims->if_contains("iss") : nullptr;
    o["sub"] = sub ? *sub : json::value();
    o["iss"] = iss ? *iss : json::value();
    co_return response::json(o);
}

awaitable<response> upload(request& req) {
    json::object o;
    o["size"] = req.raw_body.size();
    o["body_is_null"] = req.body.is_null();
    o["content_type"] = req.content_type;
    co_return response::json(o);
}

awaitable<response> boom(request&) {
    throw std::runtime_error("database exploded");
    co_return response{};
}

awaitable<response> teapot(request&) {
    throw http_error(response::error(418, "I'm a teapot"));
    co_return response{};
}

route make(verb m, std::string path, handler fn) {
    route r;
    r.method = m;
    r.path = std::move(path);
    r.fn = std::move(fn);
    return r;
}

class pipeline_test : public ::testing::Test {
protected:
    static auth::token_service& tokens() {
        static auth::token_service service("pipeline-test-master-secret");
        return service;
    }

    static const std::string& token() {
        static const std::string t = tokens().mint("acc");
        return t;
    }

    void SetUp() override {
        auto named = v::object({{"name", v::string()}, {"count", v::number().optional()}});

        route post = make(verb::post, "/echo", echo);
        post.body = named;
        rt.add(post);

        route secure = make(verb::post, "/secure", whoami);
        secure.auth = auth_mode::bearer;
        secure.body = v::object({{"name", v::string()}});
        rt.add(secure);

        route me = make(verb::get, "/me", whoami);
        me.auth = auth_mode::bearer;
        rt.add(me);

        route items = make(verb::get, "/items", echo);
        items.query = v::object({{"after_seq", v::number().coerce().integer().min(0).optional()},
                                 {"before_seq", v::number().coerce().integer().min(1).optional()},
                                 {"limit", v::number().coerce().integer().min(1).max(500).default_value(100)}})
                          .refine(&mutually_exclusive);
        rt.add(items);

        rt.add(make(verb::get, "/boom", boom));
        rt.add(make(verb::get, "/teapot", teapot));

        route filtered = make(verb::post, "/filtered", echo);
        filtered.body = named;
        filtered.response_keys = {{400, {"error"}}};
        rt.add(filtered);

        route filtered_boom = make(verb::get, "/filtered-boom", boom);
        filtered_boom.response_keys = {{500, {"error"}}};
        rt.add(filtered_boom);

        route ordered = make(verb::post, "/ordered/:id", echo);
        ordered.params = v::object({{"id", v::uuid()}});
        ordered.body = v::object({{"name", v::string()}});
        ordered.query = v::object({{"n", v::number().coerce()}});
        ordered.headers = v::object({{"x-need", v::string()}});
        ordered.auth = auth_mode::bearer;
        rt.add(ordered);

        route del = make(verb::del, "/things/:id", echo);
        del.body = v::object({{"reason", v::string()}});
        rt.add(del);

        rt.add(make(verb::del, "/plain/:id", echo));
        rt.add(make(verb::get, "/users/:id", echo));
        rt.add(make(verb::post, "/upload", upload));

        route limited = make(verb::put, "/limited/:id", echo);
        limited.response_keys = {{413, {"error"}}};
        rt.add(limited);
    }

    response handle(incoming in) const {
        pipeline p(rt, tokens());
        boost::asio::io_context ioc;
        auto fut = boost::asio::co_spawn(ioc, p.handle(in), boost::asio::use_future);
        ioc.run();
        return fut.get();
    }

    static incoming req(std::string method, std::string target, header_list headers = {}, std::string body = {}) {
        incoming in;
        in.method = std::move(method);
        in.target = std::move(target);
        in.headers = std::move(headers);
        in.body_declared = !body.empty();
        in.body = std::move(body);
        in.remote_address = "127.0.0.1";
        return in;
    }

    static incoming json_post(std::string target, std::string body, header_list extra = {}) {
        extra.emplace_back("content-type", "application/json");
        return req("POST", std::move(target), std::move(extra), std::move(body));
    }

    router rt;
};

// --- CORS preflight -----------------------------------------------------------------------------------

TEST_F(pipeline_test, preflight_answers_204_on_any_path) {
    for (const char* path : {"/echo", "/does/not/exist?x=1"}) {
        auto res = handle(req("OPTIONS", path, {{"origin", "https://app.example"}, {"access-control-request-method", "POST"}}));
        EXPECT_EQ(res.status, 204u) << path;
        EXPECT_EQ(res.body, "") << path;
        EXPECT_EQ(res.content_type, "") << path;
        EXPECT_EQ(res.headers, (header_list{{"access-control-allow-methods", "GET, POST, PUT, DELETE"},
                                            {"access-control-allow-headers", "*"}}))
            << path;
    }
}

TEST_F(pipeline_test, preflight_without_both_headers_is_400_text) {
    for (const header_list& h : {header_list{}, header_list{{"origin", "x"}},
                                 header_list{{"access-control-request-method", "GET"}}}) {
        auto res = handle(req("OPTIONS", "/echo", h));
        EXPECT_EQ(res.status, 400u);
        EXPECT_EQ(res.body, "Invalid Preflight Request");
        EXPECT_EQ(res.content_type, "text/plain");
        EXPECT_TRUE(res.headers.empty());
    }
}

// --- 404 ----------------------------------------------------------------------------------------------

TEST_F(pipeline_test, not_found_echoes_raw_url_and_method) {
    auto res = handle(req("GET", "/nope?a=1&b=%20"));
    EXPECT_EQ(res.status, 404u);
    EXPECT_EQ(res.content_type, k_json_type);
    EXPECT_EQ(res.body, R"({"error":"Not found","path":"/nope?a=1&b=%20","method":"GET"})");
}

TEST_F(pipeline_test, not_found_for_method_mismatch_and_trailing_slash) {
    EXPECT_EQ(handle(req("PUT", "/echo")).body, R"({"error":"Not found","path":"/echo","method":"PUT"})");
    EXPECT_EQ(handle(req("GET", "/echo")).body, R"({"error":"Not found","path":"/echo","method":"GET"})");
    EXPECT_EQ(handle(json_post("/echo/", "{}")).body, R"({"error":"Not found","path":"/echo/","method":"POST"})");
    EXPECT_EQ(handle(req("HEAD", "/nope")).status, 404u);
}

TEST_F(pipeline_test, not_found_comes_before_body_parsing) {
    auto res = handle(req("POST", "/nope", {{"content-type", "image/png"}}, "xx"));
    EXPECT_EQ(res.status, 404u);
    EXPECT_EQ(res.body, R"({"error":"Not found","path":"/nope","method":"POST"})");
}

// --- body parsing ---------------------------------------------------------------------------------------

TEST_F(pipeline_test, valid_json_body_is_validated_and_stripped) {
    auto res = handle(json_post("/echo", R"({"junk":1,"count":2,"name":"n"})"));
    EXPECT_EQ(res.status, 200u);
    EXPECT_EQ(res.body, R"({"params":{},"body":{"name":"n","count":2},"query":{},"account":""})");
}

TEST_F(pipeline_test, empty_json_body_on_post_becomes_empty_object) {
    const std::string expected =
        R"({"error":"Error","message":"body/name Invalid input: expected string, received undefined","statusCode":400})";
    for (const char* body : {"", " \r\n\t"}) {
        auto res = handle(json_post("/echo", body));
        EXPECT_EQ(res.status, 400u);
        EXPECT_EQ(res.body, expected);
    }
    auto charset = handle(req("POST", "/echo", {{"content-type", "Application/JSON; charset=utf-8"}}, ""));
    EXPECT_EQ(charset.body, expected);
}

TEST_F(pipeline_test, invalid_json_is_syntax_error_and_closes) {
    auto res = handle(json_post("/echo", "{bad"));
    EXPECT_EQ(res.status, 400u);
    EXPECT_EQ(res.content_type, k_json_type);
    EXPECT_EQ(res.body,
              R"({"error":"SyntaxError","message":"Expected property name or '}' in JSON at position 1","statusCode":400})");
    EXPECT_TRUE(res.close);
    EXPECT_FALSE(handle(json_post("/echo", R"({"name":"x"})")).close);
}

TEST_F(pipeline_test, syntax_error_comes_before_auth) {
    auto res = handle(json_post("/secure", "abc"));
    EXPECT_EQ(res.status, 400u);
    EXPECT_EQ(res.body,
              R"({"error":"SyntaxError","message":"Unexpected token 'a', \"abc\" is not valid JSON","statusCode":400})");
}

TEST_F(pipeline_test, text_plain_body_fails_object_validation) {
    auto res = handle(req("POST", "/echo", {{"content-type", "text/plain"}}, "hello"));
    EXPECT_EQ(res.status, 400u);
    EXPECT_EQ(res.body,
              R"({"error":"Error","message":"body/ Invalid input: expected object, received string","statusCode":400})");
}

TEST_F(pipeline_test, unsupported_media_type_echoes_content_type_as_sent) {
    auto form = handle(req("POST", "/echo", {{"content-type", "application/x-www-form-urlencoded"}}, "a=1"));
    EXPECT_EQ(form.status, 415u);
    EXPECT_EQ(form.body,
              R"({"error":"FastifyError","message":"Unsupported Media Type: application/x-www-form-urlencoded","statusCode":415})");
    auto png = handle(req("PUT", "/nope-but-put", {{"content-type", "image/png"}}, "x"));
    EXPECT_EQ(png.status, 404u);  // routing first
    auto vnd = handle(req("POST", "/echo", {{"content-type", "Application/VND.api+json; Charset=UTF-8"}}, "{}"));
    EXPECT_EQ(vnd.status, 415u);
    EXPECT_EQ(vnd.body,
              R"({"error":"FastifyError","message":"Unsupported Media Type: Application/VND.api+json; Charset=UTF-8","statusCode":415})");
}

TEST_F(pipeline_test, unsupported_media_type_comes_before_auth) {
    auto res = handle(req("POST", "/secure", {{"content-type", "image/png"}}, "x"));
    EXPECT_EQ(res.status, 415u);
}

TEST_F(pipeline_test, body_without_content_type_is_415_undefined) {
    auto res = handle(req("POST", "/echo", {}, R"({"name":"x"})"));
    EXPECT_EQ(res.status, 415u);
    EXPECT_EQ(res.body,
              R"({"error":"FastifyError","message":"Unsupported Media Type: undefined","statusCode":415})");
}

TEST_F(pipeline_test, no_body_and_no_content_type_validates_null) {
    auto res = handle(req("POST", "/echo"));
    EXPECT_EQ(res.status, 400u);
    EXPECT_EQ(res.body,
              R"({"error":"Error","message":"body/ Invalid input: expected object, received null","statusCode":400})");
}

TEST_F(pipeline_test, empty_json_body_on_delete_validates_null) {
    // The JSON parser leaves a DELETE's empty body undefined; fastify hands the validator null.
    auto res = handle(req("DELETE", "/things/1", {{"content-type", "application/json"}}));
    EXPECT_EQ(res.status, 400u);
    EXPECT_EQ(res.body,
              R"({"error":"Error","message":"body/ Invalid input: expected object, received null","statusCode":400})");
    auto ok = handle(req("DELETE", "/things/1", {{"content-type", "application/json"}}, R"({"reason":"r"})"));
    EXPECT_EQ(ok.status, 200u);
    EXPECT_EQ(ok.body, R"({"params":{"id":"1"},"body":{"reason":"r"},"query":{},"account":""})");
}

TEST_F(pipeline_test, delete_without_body_schema_gets_null_body) {
    auto res = handle(req("DELETE", "/plain/x%20y"));
    EXPECT_EQ(res.status, 200u);
    EXPECT_EQ(res.body, R"({"params":{"id":"x y"},"body":null,"query":{},"account":""})");
}

TEST_F(pipeline_test, get_body_is_ignored) {
    auto res = handle(req("GET", "/users/u1?x=1", {{"content-type", "image/png"}}, "binary"));
    EXPECT_EQ(res.status, 200u);
    EXPECT_EQ(res.body, R"({"params":{"id":"u1"},"body":null,"query":{"x":"1"},"account":""})");
}

TEST_F(pipeline_test, octet_stream_body_is_raw) {
    std::string raw("\x00\xff{", 3);
    auto res = handle(req("POST", "/upload", {{"content-type", "application/octet-stream"}}, raw));
    EXPECT_EQ(res.status, 200u);
    auto v = json::parse(res.body);
    EXPECT_EQ(v.at("size").to_number<int>(), 3);
    EXPECT_EQ(v.at("body_is_null").as_bool(), true);
    EXPECT_EQ(v.at("content_type").as_string(), "application/octet-stream");
}

// --- validation ---------------------------------------------------------------------------------------

TEST_F(pipeline_test, validation_comes_before_auth) {
    auto res = handle(json_post("/secure", "{}"));
    EXPECT_EQ(res.status, 400u);
    EXPECT_EQ(res.body,
              R"({"error":"Error","message":"body/name Invalid input: expected string, received undefined","statusCode":400})");
}

TEST_F(pipeline_test, validation_order_params_body_query_headers) {
    const std::string good_id = "/ordered/0e2b8a4c-3f1d-4c5e-9a7b-1d2e3f4a5b6c";
    auto message = [&](incoming in) {
        auto res = handle(std::move(in));
        EXPECT_EQ(res.status, 400u);
        return std::string(json::parse(res.body).at("message").as_string());
    };
    EXPECT_EQ(message(json_post("/ordered/bad?n=abc", "{}")), "params/id Invalid UUID");
    EXPECT_EQ(message(json_post(good_id + "?n=abc", "{}")),
              "body/name Invalid input: expected string, received undefined");
    EXPECT_EQ(message(json_post(good_id + "?n=abc", R"({"name":"x"})")),
              "querystring/n Invalid input: expected number, received NaN");
    EXPECT_EQ(message(json_post(good_id + "?n=1", R"({"name":"x"})")),
              "headers/x-need Invalid input: expected string, received undefined");
    // Everything valid: now authentication.
    auto res = handle(json_post(good_id + "?n=1", R"({"name":"x"})", {{"x-need", "y"}}));
    EXPECT_EQ(res.status, 401u);
    EXPECT_EQ(res.body, R"({"error":"Missing authorization header"})");
}

TEST_F(pipeline_test, query_coercion_defaults_and_refinement) {
    EXPECT_EQ(handle(req("GET", "/items")).body, R"({"params":{},"body":null,"query":{"limit":100},"account":""})");
    EXPECT_EQ(handle(req("GET", "/items?limit=1e2&junk=1")).body,
              R"({"params":{},"body":null,"query":{"limit":100},"account":""})");
    EXPECT_EQ(handle(req("GET", "/items?after_seq=0x10")).body,
              R"({"params":{},"body":null,"query":{"after_seq":16,"limit":100},"account":""})");

    auto too_small = handle(req("GET", "/items?limit="));
    EXPECT_EQ(too_small.status, 400u);
    EXPECT_EQ(too_small.body,
              R"({"error":"Error","message":"querystring/limit Too small: expected number to be >=1","statusCode":400})");

    auto repeated = handle(req("GET", "/items?limit=1&limit=2"));
    EXPECT_EQ(repeated.body,
              R"({"error":"Error","message":"querystring/limit Invalid input: expected number, received NaN","statusCode":400})");

    auto exclusive = handle(req("GET", "/items?after_seq=1&before_seq=5"));
    EXPECT_EQ(exclusive.status, 400u);
    EXPECT_EQ(exclusive.body,
              R"({"error":"Error","message":"querystring/ after_seq and before_seq are mutually exclusive","statusCode":400})");
}

TEST_F(pipeline_test, head_runs_the_get_route) {
    auto res = handle(req("HEAD", "/items?limit=3"));
    EXPECT_EQ(res.status, 200u);
    EXPECT_EQ(res.body, R"({"params":{},"body":null,"query":{"limit":3},"account":""})");
}

// --- authentication -----------------------------------------------------------------------------------

TEST_F(pipeline_test, missing_or_malformed_authorization_header) {
    const std::string missing = R"({"error":"Missing authorization header"})";
    for (const header_list& h : {header_list{}, header_list{{"authorization", "Bearer "}},
                                 header_list{{"authorization", "Bearer"}}, header_list{{"authorization", "Basic x"}},
                                 header_list{{"authorization", "bearer " + token()}},
                                 header_list{{"authorization", token()}}}) {
        auto res = handle(req("GET", "/me", h));
        EXPECT_EQ(res.status, 401u);
        EXPECT_EQ(res.content_type, k_json_type);
        EXPECT_EQ(res.body, missing);
    }
}

TEST_F(pipeline_test, invalid_token) {
    const std::string invalid = R"({"error":"Invalid token"})";
    for (const std::string& value : {std::string("Bearer garbage"), "Bearer " + token() + "x",
                                     "Bearer  " + token()}) {  // an extra space becomes part of the token
        auto res = handle(req("GET", "/me", {{"authorization", value}}));
        EXPECT_EQ(res.status, 401u) << value;
        EXPECT_EQ(res.body, invalid) << value;
    }
}

TEST_F(pipeline_test, valid_token_reaches_handler_with_account) {
    auto res = handle(req("GET", "/me", {{"authorization", "Bearer " + token()}}));
    EXPECT_EQ(res.status, 200u);
    EXPECT_EQ(res.body, R"({"account":"acc","sub":"acc","iss":"handy"})");
    // Surrounding whitespace of the header value is not part of the token.
    auto padded = handle(req("GET", "/me", {{"authorization", "Bearer " + token() + " \t"}}));
    EXPECT_EQ(padded.status, 200u);
    auto post = handle(json_post("/secure", R"({"name":"x"})", {{"authorization", "Bearer " + token()}}));
    EXPECT_EQ(post.body, R"({"account":"acc","sub":"acc","iss":"handy"})");
}

TEST_F(pipeline_test, token_from_another_secret_is_invalid) {
    auth::token_service other("a-different-secret");
    auto res = handle(req("GET", "/me", {{"authorization", "Bearer " + other.mint("acc")}}));
    EXPECT_EQ(res.status, 401u);
    EXPECT_EQ(res.body, R"({"error":"Invalid token"})");
}

// --- handler errors and response filtering ------------------------------------------------------------

TEST_F(pipeline_test, runtime_error_is_generic_500) {
    auto res = handle(req("GET", "/boom"));
    EXPECT_EQ(res.status, 500u);
    EXPECT_EQ(res.content_type, k_json_type);
    EXPECT_EQ(res.body, k_generic_500);
}

TEST_F(pipeline_test, http_error_becomes_its_response) {
    auto res = handle(req("GET", "/teapot"));
    EXPECT_EQ(res.status, 418u);
    EXPECT_EQ(res.body, R"({"error":"I'm a teapot"})");
}

TEST_F(pipeline_test, response_keys_filter_validation_error) {
    auto res = handle(json_post("/filtered", "{}"));
    EXPECT_EQ(res.status, 400u);
    EXPECT_EQ(res.body, R"({"error":"Error"})");
    auto syntax = handle(json_post("/filtered", "{bad"));
    EXPECT_EQ(syntax.status, 400u);
    EXPECT_EQ(syntax.body, R"({"error":"SyntaxError"})");
    EXPECT_TRUE(syntax.close);
    // Other statuses are not filtered.
    auto ok = handle(json_post("/filtered", R"({"name":"n"})"));
    EXPECT_EQ(ok.status, 200u);
    EXPECT_EQ(ok.body, R"({"params":{},"body":{"name":"n"},"query":{},"account":""})");
}

TEST_F(pipeline_test, response_keys_filter_handler_500) {
    auto res = handle(req("GET", "/filtered-boom"));
    EXPECT_EQ(res.status, 500u);
    EXPECT_EQ(res.body, R"({"error":"Internal Server Error"})");
}

TEST_F(pipeline_test, body_too_large_is_filtered_by_the_target_route) {
    pipeline p(rt, tokens());
    EXPECT_EQ(p.body_too_large_for("PUT", "/limited/x?q=1").body, R"({"error":"FastifyError"})");
    auto full = R"({"error":"FastifyError","message":"Request body is too large","statusCode":413})";
    EXPECT_EQ(p.body_too_large_for("POST", "/limited/x").body, full);  // no such route: unfiltered
    EXPECT_EQ(p.body_too_large_for("PUT", "/upload").body, full);
    EXPECT_EQ(p.body_too_large_for("PUT", "/limited/%zz").body, full);
}

TEST_F(pipeline_test, static_helpers) {
    auto big = pipeline::body_too_large();
    EXPECT_EQ(big.status, 413u);
    EXPECT_EQ(big.body, R"({"error":"FastifyError","message":"Request body is too large","statusCode":413})");
    auto nf = pipeline::not_found("DELETE", "/x?y");
    EXPECT_EQ(nf.status, 404u);
    EXPECT_EQ(nf.body, R"({"error":"Not found","path":"/x?y","method":"DELETE"})");
}

}  // namespace
}  // namespace happy::http
