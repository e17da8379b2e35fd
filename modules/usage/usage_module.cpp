#include "modules/usage/usage_module.hpp"

#include <boost/json.hpp>
#include <string>

#include "core/json/json_writer.hpp"
#include "core/db/database.hpp"
#include "core/events/socket_serializer.hpp"
#include "core/json/js_value.hpp"
#include "core/log/log.hpp"
#include "core/util/time.hpp"
#include "modules/usage/usage_store.hpp"

namespace happy::mod::usage {

namespace json = boost::json;
namespace v = validate;
using http::response;

struct usage_module::impl {
    db::database* db = nullptr;
    events::emitter* out = nullptr;
    /// usageHandler.ts runs each socket's reports one after another (AsyncLock).
    events::socket_serializer report_lock;
};

namespace {

json::object fail(const char* error) { return json::object{{"success", false}, {"error", error}}; }

/// `typeof x === 'object' && typeof x.total === 'number'` (an array has no `total`).
bool has_number_total(const json::value* v) {
    const auto* o = v ? v->if_object() : nullptr;
    const auto* total = o ? o->if_contains("total") : nullptr;
    return total && total->is_number();
}

/// usage-report, serialised per socket. Returns the ack {success, …} (realtime.md §2.11).
boost::asio::awaitable<json::value> report(usage_module::impl& m, events::socket_ctx& ctx, const json::value& data) {
    // `const { key, sessionId, tokens, cost } = data` throws for null only; any other non-object has no fields.
    if (data.is_null()) {
        co_return fail("Internal error");
    }
    const auto* o = data.if_object();
    const json::value* key = o ? o->if_contains("key") : nullptr;
    const json::value* session_id = o ? o->if_contains("sessionId") : nullptr;
    const json::value* tokens = o ? o->if_contains("tokens") : nullptr;
    const json::value* cost = o ? o->if_contains("cost") : nullptr;
    if (!happy::json::js_truthy(key) || !key->is_string()) {
        co_return fail("Invalid key");
    }
    if (!has_number_total(tokens)) {
        co_return fail("Invalid tokens object - must include total");
    }
    if (!has_number_total(cost)) {
        co_return fail("Invalid cost object - must include total");
    }
    const bool has_session = happy::json::js_truthy(session_id);
    if (has_session && !session_id->is_string()) {
        co_return fail("Invalid sessionId");
    }
    if (!has_session) {
        // Upstream upserts with `sessionId: null` inside the compound unique key, which Prisma rejects: a report
        // without a session is never stored (observed.md).
        co_return fail("Failed to save usage report");
    }
    const std::string account = ctx.account_id;
    const std::string sid(session_id->get_string());
    const std::string k(key->get_string());
    const std::string stored = json_text::stringify(json::object{{"tokens", *tokens}, {"cost", *cost}});
    bool owned = false;
    usage_report row;
    bool failed = false;
    try {
        co_await m.db->write([&](db::tx& t) {
            owned = usage_session_owned(t, account, sid);
            if (owned) {
                row = usage_report_upsert(t, account, sid, k, stored, now_ms());
            }
        });
    } catch (const std::exception& e) {
        log::error("usage report failed", {{"sessionId", sid}, {"error", e.what()}});
        failed = true;
    }
    if (failed) {
        co_return fail("Failed to save usage report");
    }
    if (!owned) {
        co_return fail("Session not found");
    }
    // eventRouter.ts buildUsageEphemeral: tokens and cost forwarded as sent; the apps only.
    m.out->emit_ephemeral(account, events::recipients::user_scoped_only(),
                          json::object{{"type", "usage"},
                                       {"id", sid},
                                       {"key", k},
                                       {"tokens", *tokens},
                                       {"cost", *cost},
                                       {"timestamp", now_ms()}});
    co_return json::object{
        {"success", true}, {"reportId", row.id}, {"createdAt", row.created_at}, {"updatedAt", row.updated_at}};
}

/// Named coroutine (not a capturing coroutine lambda): g++ 12 miscompiles those.
boost::asio::awaitable<std::optional<json::value>> on_usage_report(usage_module::impl& m, events::socket_ctx& ctx,
                                                                   json::array args) {
    // socket.io hands the ack function to the handler as its last argument: with no data argument `data` is that
    // function (no key → "Invalid key") and there is no callback to answer; with two data arguments the second
    // sits in the callback's place, so the report is processed but no ack can be sent.
    if (args.empty()) {
        co_return std::nullopt;
    }
    const bool can_ack = args.size() == 1;
    std::string lock_id = ctx.socket_id;
    co_await m.report_lock.acquire(lock_id);
    events::socket_serializer::guard unlock(m.report_lock, lock_id);
    json::value ack = co_await report(m, ctx, args[0]);
    if (!can_ack) {
        co_return std::nullopt;
    }
    co_return ack;
}

/// JavaScript dates end at ±8.64e15 ms; `new Date(t * 1000)` beyond is Invalid Date, which Prisma rejects.
constexpr double k_max_date_ms = 8.64e15;

boost::asio::awaitable<response> post_query(db::database& db, http::request& req) {
    const auto& body = req.body.as_object();
    auto field = [&](std::string_view k) -> const json::value* {
        const auto* v = body.if_contains(k);
        return v && !v->is_null() ? v : nullptr;
    };
    const json::value* session_id = field("sessionId");
    const json::value* start = field("startTime");
    const json::value* end = field("endTime");
    const json::value* group = field("groupBy");
    // `groupBy || 'day'`
    const usage_group g = group && group->get_string() == "hour" ? usage_group::hour : usage_group::day;

    usage_filter f;
    if (session_id && !session_id->get_string().empty()) {
        f.session_id = std::string(session_id->get_string());
    }
    bool invalid_date = false;
    for (auto [v, out] : {std::pair{start, &f.from_ms}, std::pair{end, &f.to_ms}}) {
        if (!v) {
            continue;
        }
        const double ms = v->to_number<double>() * 1000;
        if (ms > k_max_date_ms) {
            invalid_date = true;
        } else {
            *out = static_cast<std::int64_t>(ms);
        }
    }
    const std::string account = req.account_id;
    bool owned = true;
    std::vector<usage_report> rows;
    bool failed = false;
    try {
        co_await db.read([&](db::tx& t) {
            if (f.session_id) {
                owned = usage_session_owned(t, account, *f.session_id);
            }
            if (owned && !invalid_date) {
                rows = usage_report_list(t, account, f);
            }
        });
    } catch (const std::exception& e) {
        log::error("usage query failed", {{"error", e.what()}});
        failed = true;
    }
    if (!failed && !owned) {
        co_return response::error(404, "Session not found");
    }
    if (failed || invalid_date) {
        co_return response::error(500, "Failed to query usage reports");
    }
    co_return response::json(usage_aggregate(rows, g));
}

}  // namespace

usage_module::usage_module() : impl_(std::make_unique<impl>()) {}
usage_module::~usage_module() = default;

void usage_module::setup(module_context& ctx) {
    impl_->db = &ctx.db();
    impl_->out = &ctx.events();
    auto& m = *impl_;
    auto& db = ctx.db();

    ctx.add_route({
        .method = http::verb::post,
        .path = "/v1/usage/query",
        .auth = http::auth_mode::bearer,
        .body = v::object({{"sessionId", v::string().nullish()},
                           {"startTime", v::number().integer().positive().nullish()},
                           {"endTime", v::number().integer().positive().nullish()},
                           {"groupBy", v::enumeration({"hour", "day"}).nullish()}}),
        .fn = [&db](http::request& req) { return post_query(db, req); },
    });
    ctx.add_event(events::event_def{"usage-report", [&m](events::socket_ctx& c, json::array a) {
                                        return on_usage_report(m, c, std::move(a));
                                    }});
}

}  // namespace happy::mod::usage
