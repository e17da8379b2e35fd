// Micro-benchmarks of hot paths in core/: token verification, request validation, id generation.
#include <benchmark/benchmark.h>

#include <boost/json.hpp>

#include "core/crypto/ids.hpp"
#include "core/crypto/token.hpp"
#include "core/http/router.hpp"
#include "core/validate/schema.hpp"

namespace {

const happy::crypto::token_keys& keys() {
    static auto k = happy::crypto::token_keys_derive("bench-secret", "handy Persistent Token");
    return k;
}

void token_verify_uncached(benchmark::State& st) {
    std::string tok = happy::crypto::token_mint(keys(), "handy", "cmbenchaccount000000000000", {}, 1700000000,
                                                happy::crypto::uuid_v4());
    for (auto _ : st) {
        auto r = happy::crypto::token_verify(keys(), "handy", tok, 1800000000);
        benchmark::DoNotOptimize(r);
    }
}
BENCHMARK(token_verify_uncached);

void token_mint(benchmark::State& st) {
    for (auto _ : st) {
        auto t = happy::crypto::token_mint(keys(), "handy", "cmbenchaccount000000000000", {}, 1700000000,
                                           "00000000-0000-4000-8000-000000000000");
        benchmark::DoNotOptimize(t);
    }
}
BENCHMARK(token_mint);

void cuid(benchmark::State& st) {
    for (auto _ : st) {
        benchmark::DoNotOptimize(happy::crypto::cuid());
    }
}
BENCHMARK(cuid);

void validate_auth_body(benchmark::State& st) {
    namespace v = happy::validate;
    auto schema = v::object({{"publicKey", v::string()}, {"challenge", v::string()}, {"signature", v::string()}});
    auto body = boost::json::parse(R"({"publicKey":"AAAA","challenge":"BBBB","signature":"CCCC","extra":1})");
    for (auto _ : st) {
        std::vector<v::issue> issues;
        auto out = v::parse(schema, &body, issues);
        benchmark::DoNotOptimize(out);
    }
}
BENCHMARK(validate_auth_body);

void router_find(benchmark::State& st) {
    happy::http::router r;
    for (const char* p : {"/", "/health", "/v1/auth", "/v1/auth/request", "/v1/sessions", "/v1/sessions/:id/messages",
                          "/v3/sessions/:id/messages", "/v1/machines/:id", "/v1/kv/:key", "/v1/user/search"}) {
        r.add({.method = happy::http::verb::get, .path = p});
    }
    for (auto _ : st) {
        auto m = r.find(happy::http::verb::get, "/v3/sessions/cmabcdefghijklmnopqrstuvw/messages");
        benchmark::DoNotOptimize(m);
    }
}
BENCHMARK(router_find);

}  // namespace
