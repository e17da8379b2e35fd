#include "modules/feed/feed_module.hpp"

#include <boost/json.hpp>

#include "core/db/database.hpp"
#include "modules/feed/feed_store.hpp"

namespace happy::mod::feed {

namespace json = boost::json;
namespace v = validate;
using http::response;

namespace {

std::optional<std::string> query_string(const json::object& q, std::string_view key) {
    if (const auto* p = q.if_contains(key)) {
        return std::string(p->as_string());
    }
    return std::nullopt;
}

boost::asio::awaitable<response> get_feed(db::database& db, http::request& req) {
    std::string account = req.account_id;
    auto before = query_string(req.query, "before");
    auto after = query_string(req.query, "after");
    const auto limit = static_cast<std::int64_t>(req.query.at("limit").to_number<double>());
    // feedRoutes.ts has no try/catch: a malformed cursor (invalid_cursor) or a database error reaches fastify's
    // error handler, i.e. the generic 500 (observed.md).
    feed_page page;
    co_await db.read([&](db::tx& t) { page = feed_get(t, account, before, after, limit); });
    json::array items;
    items.reserve(page.items.size());
    for (const auto& item : page.items) {
        items.push_back(feed_item_json(item));
    }
    co_return response::json(json::object{{"items", std::move(items)}, {"hasMore", page.has_more}});
}

}  // namespace

void feed_module::setup(module_context& ctx) {
    auto& db = ctx.db();
    ctx.add_route({
        .method = http::verb::get,
        .path = "/v1/feed",
        .auth = http::auth_mode::bearer,
        .query = v::object({{"before", v::string().optional()},
                            {"after", v::string().optional()},
                            {"limit", v::number().coerce().integer().min(1).max(200).default_value(50)}}),
        .fn = [&db](http::request& req) { return get_feed(db, req); },
    });
}

}  // namespace happy::mod::feed
