// Micro-benchmarks of hot paths in core/: token verification, request validation, id generation, update ordering.
#include <benchmark/benchmark.h>

#include <boost/asio/io_context.hpp>
#include <boost/json.hpp>

#include "core/crypto/base64.hpp"
#include "core/crypto/ids.hpp"
#include "core/crypto/token.hpp"
#include "core/events/ordered_delivery.hpp"
#include "core/http/router.hpp"
#include "core/json/json_writer.hpp"
#include "core/util/time.hpp"
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

// One GET /v1/sessions body of 20 CLI-shaped rows (the fields and sizes of bench/sync.mjs: 800-character
// metadata, 268-character agent state, a 61-byte data key), written the way the sessions module writes it.
void session_list_json_20_rows(benchmark::State& st) {
    std::string metadata = happy::crypto::base64_encode(std::string(600, 'm'));
    std::string agent_state = happy::crypto::base64_encode(std::string(200, 'a'));
    std::string key(61, 'k');
    std::size_t bytes = 0;
    for (auto _ : st) {
        std::string body;
        body.reserve(16 * 1024);
        happy::json_text::writer w(body);
        w.begin_object();
        w.key("sessions");
        w.begin_array();
        for (int i = 0; i < 20; ++i) {
            w.begin_object();
            w.member("id", std::string_view("cmabcdefghijklmnopqrstuvw"));
            w.member("seq", std::int64_t{40 + i});
            w.member("createdAt", std::int64_t{1795474580483});
            w.member("updatedAt", std::int64_t{1795474580483});
            w.member("active", true);
            w.member("activeAt", std::int64_t{1795474580483});
            w.member("metadata", std::string_view(metadata));
            w.member("metadataVersion", std::int64_t{3});
            w.member("agentState", std::string_view(agent_state));
            w.member("agentStateVersion", std::int64_t{7});
            w.key("dataEncryptionKey");
            w.safe_string(happy::crypto::base64_size(key.size()),
                          [&](char* p) { return happy::crypto::base64_write(p, key); });
            w.key("lastMessage");
            w.null();
            w.end_object();
        }
        w.end_array();
        w.end_object();
        w.finish();
        bytes += body.size();
        benchmark::DoNotOptimize(body);
    }
    st.SetBytesProcessed(static_cast<std::int64_t>(bytes));
}
BENCHMARK(session_list_json_20_rows);

void iso8601(benchmark::State& st) {
    std::int64_t ms = 1795474580483;
    for (auto _ : st) {
        benchmark::DoNotOptimize(happy::iso8601_ms(ms++));
    }
}
BENCHMARK(iso8601);

/// What ordering adds to each update in the usual case (its seq is the next one): one update of `accounts` (arg)
/// accounts in turn through a started ordered_delivery, the delivery itself a no-op.
void update_order_in_order(benchmark::State& st) {
    boost::asio::io_context io;
    happy::events::ordered_delivery order({}, [](const happy::events::delivery& d) { benchmark::DoNotOptimize(&d); });
    order.start(io.get_executor());
    std::vector<std::string> accounts;
    for (int i = 0; i < st.range(0); ++i) {
        accounts.push_back(happy::crypto::cuid());
    }
    const happy::events::delivery d{{"user:x:user-scoped"}, {}, {}};
    std::int64_t seq = 1;
    for (auto _ : st) {
        for (const auto& a : accounts) {
            order.update(a, seq, d);
        }
        ++seq;
    }
    st.SetItemsProcessed(st.iterations() * st.range(0));
}
BENCHMARK(update_order_in_order)->Arg(1)->Arg(1000);

/// The same updates before start(): delivered as they come (the path without ordering), for comparison.
void update_order_passthrough(benchmark::State& st) {
    happy::events::ordered_delivery order({}, [](const happy::events::delivery& d) { benchmark::DoNotOptimize(&d); });
    const happy::events::delivery d{{"user:x:user-scoped"}, {}, {}};
    std::int64_t seq = 1;
    for (auto _ : st) {
        order.update("account", seq++, d);
    }
    st.SetItemsProcessed(st.iterations());
}
BENCHMARK(update_order_passthrough);

}  // namespace
