// libFuzzer target for the HTTP request path: raw bytes go through Beast's request parser as the server
// configures it (request line, headers, Content-Length and chunked bodies, the header and body limits), then
// through the pipeline with the real route table (router and path parameters, query strings, body parsing,
// validation, Bearer authentication) into the module handlers, on an in-memory copy of the server
// (app_fixture.hpp). Up to four pipelined requests per input, as on a keep-alive connection.
//
// Placeholders in the input stand for what only the running fixture knows: @TA / @TB are account A's / B's
// bearer tokens, @A / @B their ids, @S / @M / @R account A's session, machine and artifact (see the seeds in
// tests/fuzz/corpus/http).
//
// Invariants: no sanitizer report, a status between 100 and 599, and every JSON response body parses as JSON.
// Set FUZZ_LOG=1 to see handler errors (answered with the generic 500) on stderr.
#include <boost/asio/buffer.hpp>
#include <boost/beast/http.hpp>
#include <boost/json/parse.hpp>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <iostream>
#include <string>
#include <string_view>

#include "core/http/exchange.hpp"
#include "core/log/log.hpp"
#include "tests/fuzz/app_fixture.hpp"

namespace bhttp = boost::beast::http;
using happy::fuzz::app_fixture;

namespace {

// The server's header limit (server_options::header_limit); the body limit is lowered from 100 MiB so that inputs
// of a few kilobytes reach the 413 path.
constexpr std::uint32_t header_limit = 16 * 1024;
constexpr std::uint64_t body_limit = 2048;

void check(const happy::http::response& res, std::string_view method, std::string_view target) {
    bool bad = res.status < 100 || res.status > 599;
    if (!bad && res.content_type.starts_with("application/json")) {
        boost::system::error_code ec;
        boost::json::parse(res.text(), ec);
        bad = bool(ec);
    }
    if (bad) {
        std::cerr << method << " " << target << " answered " << res.status << " " << res.content_type << ": "
                  << res.text() << "\n";
        std::abort();
    }
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
    app_fixture::get();
    if (const char* v = std::getenv("FUZZ_LOG"); v && *v == '1') {
        happy::log::configure(happy::log::level::warn, happy::log::format::console);
    }
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    auto& app = app_fixture::get();
    std::string bytes = app.expand(std::string_view(reinterpret_cast<const char*>(data), size));
    std::string_view rest = bytes;
    for (int n = 0; n < 4 && !rest.empty(); ++n) {
        bhttp::request_parser<bhttp::string_body> parser;
        parser.header_limit(header_limit);
        parser.body_limit(body_limit);
        parser.eager(true);
        boost::beast::error_code ec;
        while (!parser.is_done()) {
            std::size_t used = parser.put(boost::asio::buffer(rest.data(), rest.size()), ec);
            rest.remove_prefix(used);
            // With the header done and the body short, a put() of no bytes may take none and report nothing: the
            // input ended there as surely as with need_more (it looped forever on such a seed).
            if (ec == bhttp::error::need_more || (!ec && used == 0)) {
                if (used == 0) {
                    parser.put_eof(ec);  // the client closed the connection here
                    break;
                }
                ec = {};
                continue;
            }
            if (ec) {
                break;
            }
        }
        if (ec) {
            // The server's answers to what the parser refuses (core/http/server.cpp), then it closes.
            if (ec == bhttp::error::body_limit) {
                const auto& h = parser.get();
                check(app.pipeline().body_too_large_for(h.method_string(), h.target()), h.method_string(), h.target());
            }
            return 0;
        }
        if (!happy::http::request_line_acceptable(parser.get().method_string(), parser.get().target())) {
            return 0;  // the server's 400 and close
        }
        auto req = parser.release();
        bool keep_alive = req.keep_alive();
        auto in = happy::http::to_incoming(std::move(req), "127.0.0.1");
        std::string method = in.method, target = in.target;
        auto res = app.handle(std::move(in));
        check(res, method, target);
        if (method == "DELETE" && res.status / 100 == 2) {
            app.reseed();
        }
        if (!keep_alive || res.close) {
            break;
        }
    }
    return 0;
}
