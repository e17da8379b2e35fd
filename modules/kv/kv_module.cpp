#include "modules/kv/kv_module.hpp"

#include <boost/json.hpp>

#include "core/crypto/base64.hpp"
#include "core/db/database.hpp"
#include "core/log/log.hpp"
#include "core/util/time.hpp"
#include "modules/auth/updates.hpp"
#include "modules/kv/kv_store.hpp"

namespace happy::mod::kv {

namespace json = boost::json;
namespace v = validate;
using http::response;

namespace {

json::object item_json(const kv_item& i) {
    return json::object{{"key", i.key}, {"value", crypto::base64_encode(i.value)}, {"version", i.version}};
}

json::array items_json(const std::vector<kv_item>& items) {
    json::array out;
    out.reserve(items.size());
    for (const auto& i : items) {
        out.push_back(item_json(i));
    }
    return out;
}

// Every handler catches its own failures and answers its route's literal 500 body, as kvRoutes.ts does.

boost::asio::awaitable<response> get_value(db::database& db, http::request& req) {
    std::string account = req.account_id;
    std::string key(req.param("key"));
    std::optional<kv_item> item;
    bool failed = false;
    try {
        co_await db.read([&](db::tx& t) { item = kv_get(t, account, key); });
    } catch (const std::exception& e) {
        log::error("kv get failed", {{"error", e.what()}});
        failed = true;
    }
    if (failed) {
        co_return response::error(500, "Failed to get value");
    }
    if (!item) {
        co_return response::error(404, "Key not found");
    }
    co_return response::json(item_json(*item));
}

boost::asio::awaitable<response> list_values(db::database& db, http::request& req) {
    std::string account = req.account_id;
    std::string prefix;
    if (const auto* p = req.query.if_contains("prefix")) {
        prefix = std::string(p->as_string());
    }
    int limit = static_cast<int>(req.query.at("limit").to_number<double>());
    std::vector<kv_item> items;
    bool failed = false;
    try {
        co_await db.read([&](db::tx& t) { items = kv_list(t, account, prefix, limit); });
    } catch (const std::exception& e) {
        log::error("kv list failed", {{"error", e.what()}});
        failed = true;
    }
    if (failed) {
        co_return response::error(500, "Failed to list items");
    }
    json::array out = items_json(items);
    co_return response::json(json::object{{"items", std::move(out)}});
}

boost::asio::awaitable<response> bulk_get(db::database& db, http::request& req) {
    std::string account = req.account_id;
    std::vector<std::string> keys;
    for (const auto& k : req.body.at("keys").as_array()) {
        keys.emplace_back(k.as_string());
    }
    std::vector<kv_item> items;
    bool failed = false;
    try {
        co_await db.read([&](db::tx& t) { items = kv_bulk_get(t, account, keys); });
    } catch (const std::exception& e) {
        log::error("kv bulk get failed", {{"error", e.what()}});
        failed = true;
    }
    if (failed) {
        co_return response::error(500, "Failed to get values");
    }
    json::array out = items_json(items);
    co_return response::json(json::object{{"values", std::move(out)}});
}

boost::asio::awaitable<response> mutate(db::database& db, events::emitter& out, http::request& req) {
    std::string account = req.account_id;
    std::vector<kv_mutation> mutations;
    for (const auto& m : req.body.at("mutations").as_array()) {
        const auto& o = m.as_object();
        kv_mutation mu;
        mu.key = std::string(o.at("key").as_string());
        if (const auto& value = o.at("value"); value.is_string()) {
            mu.value = std::string(value.get_string());
        }
        mu.version = o.at("version").to_number<double>();
        mutations.push_back(std::move(mu));
    }
    kv_mutate_result r;
    bool failed = false;
    try {
        co_await db.write([&](db::tx& t) { r = kv_mutate(t, account, mutations, now_ms()); });
    } catch (const std::exception& e) {
        log::error("kv mutate failed", {{"error", e.what()}});
        failed = true;
    }
    if (failed) {
        co_return response::error(500, "Failed to mutate values");
    }
    if (!r.success) {
        json::array errors;
        for (const auto& c : r.errors) {
            // kvMutate.ts: `existing?.value ? encode : null` — an empty buffer is truthy, so it encodes to "".
            errors.push_back(json::object{{"key", c.key},
                                          {"error", "version-mismatch"},
                                          {"version", c.version},
                                          {"value", c.value ? json::value(crypto::base64_encode(*c.value))
                                                            : json::value(nullptr)}});
        }
        co_return response::json(json::object{{"success", false}, {"errors", std::move(errors)}}, 409);
    }
    // After the commit (upstream afterTx): one seq and one kv-batch-update with the values as sent.
    json::array changes;
    json::array results;
    for (std::size_t i = 0; i < mutations.size(); ++i) {
        const auto& [key, version] = r.results[i];
        changes.push_back(json::object{
            {"key", key},
            {"value", mutations[i].value ? json::value(*mutations[i].value) : json::value(nullptr)},
            {"version", version}});
        results.push_back(json::object{{"key", key}, {"version", version}});
    }
    json::object body{{"t", "kv-batch-update"}, {"changes", std::move(changes)}};
    try {
        co_await auth::update_emit(db, out, account, events::recipients::user_scoped_only(), std::move(body));
    } catch (const std::exception& e) {
        // Upstream's afterTx callbacks swallow their errors: the committed batch still answers success.
        log::error("kv-batch-update emit failed", {{"error", e.what()}});
    }
    co_return response::json(json::object{{"success", true}, {"results", std::move(results)}});
}

}  // namespace

void kv_module::setup(module_context& ctx) {
    auto& db = ctx.db();
    auto& out = ctx.events();

    ctx.add_route({
        .method = http::verb::get,
        .path = "/v1/kv/:key",
        .auth = http::auth_mode::bearer,
        .params = v::object({{"key", v::string()}}),
        .fn = [&db](http::request& req) { return get_value(db, req); },
    });
    ctx.add_route({
        .method = http::verb::get,
        .path = "/v1/kv",
        .auth = http::auth_mode::bearer,
        .query = v::object({{"prefix", v::string().optional()},
                            {"limit", v::number().coerce().integer().min(1).max(1000).default_value(100)}}),
        .fn = [&db](http::request& req) { return list_values(db, req); },
    });
    ctx.add_route({
        .method = http::verb::post,
        .path = "/v1/kv/bulk",
        .auth = http::auth_mode::bearer,
        .body = v::object({{"keys", v::array(v::string()).min(1).max(100)}}),
        .fn = [&db](http::request& req) { return bulk_get(db, req); },
    });
    ctx.add_route({
        .method = http::verb::post,
        .path = "/v1/kv",
        .auth = http::auth_mode::bearer,
        // version: any JSON number ("use -1 for new keys").
        .body = v::object({{"mutations", v::array(v::object({{"key", v::string()},
                                                              {"value", v::string().nullable()},
                                                              {"version", v::number()}}))
                                             .min(1)
                                             .max(100)}}),
        .fn = [&db, &out](http::request& req) { return mutate(db, out, req); },
    });
}

}  // namespace happy::mod::kv
