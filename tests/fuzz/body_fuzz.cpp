// libFuzzer target for JSON request bodies: every route of the real route table that takes a body (POST, PUT,
// PATCH, DELETE) gets the fuzzed JSON through the pipeline with a valid bearer token and its path parameters set
// to account A's entities, so that the input goes through JSON parsing, the route's validator (core/validate) and,
// when it validates, into the handler and the database (app_fixture.hpp: in-memory server on SQLite).
//
// Input: byte 0 picks the route (index modulo the number of such routes) and, with its top bit, account B's token
// instead of A's (another account's request against A's ids); the rest is the body, in which the placeholders of
// app_fixture::expand() (@S, @M, @R, @A, @B, ...) stand for real ids.
//
// Invariants: no sanitizer report, a status between 100 and 599, JSON answers that parse, and a body the route's
// schema refuses is answered 400 before any handler runs (the validator and the pipeline agree).
#include <boost/json/parse.hpp>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <iostream>
#include <string>
#include <string_view>
#include <vector>

#include "core/log/log.hpp"
#include "core/validate/schema.hpp"
#include "tests/fuzz/app_fixture.hpp"

namespace http = happy::http;
using happy::fuzz::app_fixture;

namespace {

std::vector<const http::route*>& body_routes() {
    static std::vector<const http::route*> routes = [] {
        std::vector<const http::route*> out;
        for (const auto& r : app_fixture::get().router().routes()) {
            if (r.method == http::verb::post || r.method == http::verb::put || r.method == http::verb::patch ||
                r.method == http::verb::del) {
                out.push_back(&r);
            }
        }
        return out;
    }();
    return routes;
}

[[noreturn]] void fail(const http::route& r, const std::string& body, const http::response& res, const char* why) {
    std::cerr << why << ": " << http::verb_name(r.method) << " " << r.path << " body " << body << " answered "
              << res.status << " " << res.text() << "\n";
    std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
    body_routes();
    if (const char* v = std::getenv("FUZZ_LOG"); v && *v == '1') {
        happy::log::configure(happy::log::level::warn, happy::log::format::console);
    }
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) {
        return 0;
    }
    auto& app = app_fixture::get();
    const auto& routes = body_routes();
    const http::route& r = *routes[(data[0] & 0x7f) % routes.size()];
    bool as_b = data[0] & 0x80;
    std::string body = app.expand(std::string_view(reinterpret_cast<const char*>(data + 1), size - 1));

    http::incoming in;
    in.method = std::string(http::verb_name(r.method));
    in.target = app.fill_path(r);
    in.headers = {{"authorization", "Bearer " + (as_b ? app.token_b : app.token_a)},
                  {"content-type", "application/json"}};
    in.body = body;
    in.body_declared = !body.empty();
    in.remote_address = "127.0.0.1";
    auto res = app.handle(std::move(in));

    if (res.status < 100 || res.status > 599) {
        fail(r, body, res, "status out of range");
    }
    if (res.content_type.starts_with("application/json")) {
        boost::system::error_code ec;
        boost::json::parse(res.text(), ec);
        if (ec) {
            fail(r, body, res, "invalid JSON answer");
        }
    }
    // What the schema refuses never reaches the handler: the answer is the validator's 400. (Only for well-formed
    // JSON objects: other bodies fail earlier, at parsing.)
    if (r.body) {
        boost::system::error_code ec;
        auto parsed = boost::json::parse(body, ec);
        std::vector<happy::validate::issue> issues;
        if (!ec && !happy::validate::parse(*r.body, &parsed, issues) && res.status != 400) {
            fail(r, body, res, "refused by its schema but not answered 400");
        }
    }
    if (r.method == http::verb::del && res.status / 100 == 2) {
        app.reseed();
    }
    return 0;
}
