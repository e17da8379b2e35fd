#include "modules/account/account_module.hpp"

#include <boost/json.hpp>
#include <string>

#include "core/db/database.hpp"
#include "core/log/log.hpp"
#include "core/util/time.hpp"
#include "modules/account/account_store.hpp"
#include "modules/auth/auth_store.hpp"
#include "modules/auth/updates.hpp"

namespace happy::mod::account {

namespace json = boost::json;
namespace v = validate;
using http::response;

namespace {

boost::asio::awaitable<response> get_profile(db::database& db, const server_settings& settings, http::request& req) {
    std::string account = req.account_id;
    std::optional<profile> p;
    co_await db.read([&](db::tx& t) { p = account_profile_get(t, account); });
    if (!p) {
        // upstream findUniqueOrThrow: a token whose account is gone gets the generic 500.
        co_return response::internal_error();
    }
    co_return response::json(account_profile_json(account, *p, now_ms(), settings.files_base_url()));
}

boost::asio::awaitable<response> get_settings(db::database& db, http::request& req) {
    std::string account = req.account_id;
    std::optional<settings> row;
    bool failed = false;
    try {
        co_await db.read([&](db::tx& t) { row = account_settings_get(t, account); });
    } catch (const std::exception& e) {
        log::error("account settings read failed", {{"error", e.what()}});
        failed = true;
    }
    if (failed || !row) {
        co_return response::error(500, "Failed to get account settings");
    }
    co_return response::json(json::object{
        {"settings", row->value ? json::value(*row->value) : json::value(nullptr)}, {"settingsVersion", row->version}});
}

response update_failed() {
    return response::json(json::object{{"success", false}, {"error", "Failed to update account settings"}}, 500);
}

boost::asio::awaitable<response> post_settings(db::database& db, events::emitter& out, http::request& req) {
    const auto& body = req.body.as_object();
    std::optional<std::string> value;
    if (const auto& s = body.at("settings"); s.is_string()) {
        value = std::string(s.get_string());
    }
    // z.number().int().min(0): an integral JSON number up to 2^53 − 1 (possibly written as 3.0).
    const auto expected = static_cast<std::int64_t>(body.at("expectedVersion").to_number<double>());
    std::string account = req.account_id;
    settings_update_result r;
    std::int64_t seq = 0;
    bool failed = false;
    try {
        // The seq is allocated in the same transaction as the change (upstream: right after it); a token whose
        // account is gone fails either way.
        co_await db.write([&](db::tx& t) {
            const std::int64_t now = now_ms();
            seq = 0;  // a rerun after a lost compare-and-set starts afresh
            r = account_settings_update(t, account, expected, value, now);
            if (r.st == settings_update_result::status::success) {
                seq = auth::account_seq_allocate(t, account, now);
            }
        });
    } catch (const std::exception& e) {
        log::error("account settings update failed", {{"error", e.what()}});
        failed = true;
    }
    if (failed) {
        co_return update_failed();
    }
    switch (r.st) {
        case settings_update_result::status::not_found:
            co_return update_failed();
        case settings_update_result::status::version_mismatch:
            // HTTP 200, not 409 (accountRoutes.ts).
            co_return response::json(json::object{
                {"success", false},
                {"error", "version-mismatch"},
                {"currentVersion", r.version},
                {"currentSettings", r.current ? json::value(*r.current) : json::value(nullptr)}});
        case settings_update_result::status::success:
            break;
    }
    // eventRouter.ts buildUpdateAccountUpdate: {t, id, ...changed fields}; `avatar: undefined` vanishes.
    json::object update{{"t", "update-account"},
                        {"id", account},
                        {"settings", json::object{{"value", value ? json::value(*value) : json::value(nullptr)},
                                                  {"version", r.version}}}};
    out.emit_update(account, events::recipients::user_scoped_only(),
                    auth::update_envelope_build(seq, std::move(update), now_ms()));
    co_return response::json(json::object{{"success", true}, {"version", r.version}});
}

}  // namespace

void account_module::setup(module_context& ctx) {
    auto& db = ctx.db();
    auto& out = ctx.events();
    // The bound port is known only after setup; the settings object lives for the whole run.
    const server_settings& settings = ctx.settings();

    ctx.add_route({
        .method = http::verb::get,
        .path = "/v1/account/profile",
        .auth = http::auth_mode::bearer,
        .fn = [&db, &settings](http::request& req) { return get_profile(db, settings, req); },
    });
    ctx.add_route({
        .method = http::verb::get,
        .path = "/v1/account/settings",
        .auth = http::auth_mode::bearer,
        .fn = [&db](http::request& req) { return get_settings(db, req); },
    });
    ctx.add_route({
        .method = http::verb::post,
        .path = "/v1/account/settings",
        .auth = http::auth_mode::bearer,
        .body = v::object({{"settings", v::string().nullable()},
                           {"expectedVersion", v::number().integer().min(0)}}),
        .fn = [&db, &out](http::request& req) { return post_settings(db, out, req); },
    });
}

}  // namespace happy::mod::account
