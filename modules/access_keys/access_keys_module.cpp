#include "modules/access_keys/access_keys_module.hpp"

#include <boost/json.hpp>

#include "core/db/database.hpp"
#include "core/json/js_value.hpp"
#include "core/log/log.hpp"
#include "core/util/time.hpp"
#include "modules/access_keys/access_keys_store.hpp"

namespace happy::mod::access_keys {

namespace json = boost::json;
namespace v = validate;
using http::response;

namespace {

json::object key_json(const access_key& k) {
    return json::object{
        {"data", k.data}, {"dataVersion", k.data_version}, {"createdAt", k.created_at}, {"updatedAt", k.updated_at}};
}

const json::value* field(const json::value& data, std::string_view key) {
    const auto* o = data.if_object();
    return o ? o->if_contains(key) : nullptr;
}

// --- REST handlers (accessKeysRoutes.ts) ------------------------------------------------------------------------
// Every handler catches its own failures and answers its route's literal 500 body, as upstream does.

boost::asio::awaitable<response> get_key(db::database& db, http::request& req) {
    std::string account = req.account_id;
    std::string sid(req.param("sessionId"));
    std::string mid(req.param("machineId"));
    bool owned = false;
    std::optional<access_key> key;
    bool failed = false;
    try {
        co_await db.read([&](db::tx& t) {
            owned = access_key_scope_owned(t, account, sid, mid);
            if (owned) {
                key = access_key_find(t, account, sid, mid);
            }
        });
    } catch (const std::exception& e) {
        log::error("access key get failed", {{"error", e.what()}});
        failed = true;
    }
    if (failed) {
        co_return response::error(500, "Failed to get access key");
    }
    if (!owned) {
        co_return response::error(404, "Session or machine not found");
    }
    co_return response::json(json::object{{"accessKey", key ? json::value(key_json(*key)) : json::value(nullptr)}});
}

boost::asio::awaitable<response> create_key(db::database& db, http::request& req) {
    std::string account = req.account_id;
    std::string sid(req.param("sessionId"));
    std::string mid(req.param("machineId"));
    std::string data(req.body.at("data").as_string());
    access_key_create_result r;
    bool failed = false;
    try {
        co_await db.write([&](db::tx& t) { r = access_key_create(t, account, sid, mid, data, now_ms()); });
    } catch (const std::exception& e) {
        log::error("access key create failed", {{"error", e.what()}});
        failed = true;
    }
    if (failed) {
        co_return response::error(500, "Failed to create access key");
    }
    switch (r.st) {
        case access_key_create_result::status::scope_not_found:
            co_return response::error(404, "Session or machine not found");
        case access_key_create_result::status::exists:
            co_return response::error(409, "Access key already exists");
        case access_key_create_result::status::created:
            break;
    }
    co_return response::json(json::object{{"success", true}, {"accessKey", key_json(r.row)}});
}

boost::asio::awaitable<response> update_key(db::database& db, http::request& req) {
    std::string account = req.account_id;
    std::string sid(req.param("sessionId"));
    std::string mid(req.param("machineId"));
    std::string data(req.body.at("data").as_string());
    // z.number().int().min(0): an integral double up to 2^53 - 1.
    auto expected = static_cast<std::int64_t>(req.body.at("expectedVersion").to_number<double>());
    access_key_update_result r;
    bool failed = false;
    try {
        co_await db.write([&](db::tx& t) { r = access_key_update(t, account, sid, mid, data, expected, now_ms()); });
    } catch (const std::exception& e) {
        log::error("access key update failed", {{"error", e.what()}});
        failed = true;
    }
    if (failed) {
        co_return response::json(json::object{{"success", false}, {"error", "Failed to update access key"}}, 500);
    }
    switch (r.st) {
        case access_key_update_result::status::not_found:
            co_return response::error(404, "Access key not found");
        case access_key_update_result::status::version_mismatch:
            co_return response::json(json::object{{"success", false},
                                                  {"error", "version-mismatch"},
                                                  {"currentVersion", r.version},
                                                  {"currentData", r.data}});
        case access_key_update_result::status::success:
            break;
    }
    co_return response::json(json::object{{"success", true}, {"version", r.version}});
}

// --- socket event (accessKeyHandler.ts) -------------------------------------------------------------------------

/// access-key-get, ack dialect {ok, error?}. As for the other handlers ported from upstream: with no data argument
/// the ack function lands in `data` and nothing is answered; with two or more data arguments the second one takes
/// the callback's place and nothing can be answered either. A non-string truthy id makes Prisma throw.
boost::asio::awaitable<std::optional<json::value>> on_access_key_get(db::database& db, events::socket_ctx& ctx,
                                                                     json::array args) {
    if (args.size() != 1) {
        co_return std::nullopt;  // read-only: nothing to do when no answer can be sent
    }
    const json::value& data = args[0];
    auto error = [](const char* message) -> std::optional<json::value> {
        return json::value(json::object{{"ok", false}, {"error", message}});
    };
    if (data.is_null()) {
        co_return error("Internal error");  // `const {…} = null` throws inside upstream's try
    }
    const json::value* sid = field(data, "sessionId");
    const json::value* mid = field(data, "machineId");
    if (!happy::json::js_truthy(sid) || !happy::json::js_truthy(mid)) {
        co_return error("Invalid parameters: sessionId and machineId are required");
    }
    if (!sid->is_string() || !mid->is_string()) {
        co_return error("Internal error");
    }
    std::string account = ctx.account_id;
    std::string session_id(sid->get_string());
    std::string machine_id(mid->get_string());
    bool owned = false;
    std::optional<access_key> key;
    bool failed = false;
    try {
        co_await db.read([&](db::tx& t) {
            owned = access_key_scope_owned(t, account, session_id, machine_id);
            if (owned) {
                key = access_key_find(t, account, session_id, machine_id);
            }
        });
    } catch (const std::exception& e) {
        log::error("access-key-get failed", {{"error", e.what()}});
        failed = true;
    }
    if (failed) {
        co_return error("Internal error");
    }
    if (!owned) {
        co_return error("Session or machine not found");
    }
    co_return json::value(
        json::object{{"ok", true}, {"accessKey", key ? json::value(key_json(*key)) : json::value(nullptr)}});
}

v::node key_params() { return v::object({{"sessionId", v::string()}, {"machineId", v::string()}}); }

}  // namespace

void access_keys_module::setup(module_context& ctx) {
    auto& db = ctx.db();
    constexpr const char* path = "/v1/access-keys/:sessionId/:machineId";

    ctx.add_route({
        .method = http::verb::get,
        .path = path,
        .auth = http::auth_mode::bearer,
        .params = key_params(),
        .fn = [&db](http::request& req) { return get_key(db, req); },
    });
    ctx.add_route({
        .method = http::verb::post,
        .path = path,
        .auth = http::auth_mode::bearer,
        .params = key_params(),
        .body = v::object({{"data", v::string()}}),
        .fn = [&db](http::request& req) { return create_key(db, req); },
    });
    ctx.add_route({
        .method = http::verb::put,
        .path = path,
        .auth = http::auth_mode::bearer,
        .params = key_params(),
        .body = v::object({{"data", v::string()}, {"expectedVersion", v::number().integer().min(0)}}),
        .fn = [&db](http::request& req) { return update_key(db, req); },
    });

    ctx.add_event(events::event_def{"access-key-get", [&db](events::socket_ctx& c, json::array a) {
                                        return on_access_key_get(db, c, std::move(a));
                                    }});
}

}  // namespace happy::mod::access_keys
