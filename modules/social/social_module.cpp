#include "modules/social/social_module.hpp"

#include <boost/json.hpp>
#include <string>

#include "core/db/database.hpp"
#include "core/util/time.hpp"
#include "modules/feed/feed_events.hpp"
#include "modules/social/social_store.hpp"

namespace happy::mod::social {

namespace json = boost::json;
namespace v = validate;
using http::response;

namespace {

// userRoutes.ts has no try/catch anywhere: database failures reach fastify's error handler (generic 500), which is
// what an exception escaping these handlers produces here too.

json::value profile_or_null(const friend_result& r, const server_settings& settings) {
    return r.user ? json::value(user_profile_json(*r.user, r.status, settings.files_base_url())) : json::value(nullptr);
}

boost::asio::awaitable<response> get_user(db::database& db, const server_settings& settings, http::request& req) {
    std::string caller = req.account_id;
    std::string id(req.param("id"));
    std::optional<user_row> user;
    relationship_status status = relationship_status::none;
    co_await db.read([&](db::tx& t) {
        user = user_get(t, id);
        if (user) {
            status = relationship_get(t, caller, id);
        }
    });
    if (!user) {
        co_return response::error(404, "User not found");
    }
    co_return response::json(json::object{{"user", user_profile_json(*user, status, settings.files_base_url())}});
}

boost::asio::awaitable<response> search_users(db::database& db, const server_settings& settings, http::request& req) {
    std::string caller = req.account_id;
    std::string query(req.query.at("query").as_string());
    std::vector<std::pair<user_row, relationship_status>> found;
    co_await db.read([&](db::tx& t) {
        for (auto& u : user_search(t, query, 10)) {
            auto st = relationship_get(t, caller, u.id);
            found.emplace_back(std::move(u), st);
        }
    });
    json::array users;
    users.reserve(found.size());
    const std::string base = settings.files_base_url();
    for (const auto& [u, st] : found) {
        users.push_back(user_profile_json(u, st, base));
    }
    co_return response::json(json::object{{"users", std::move(users)}});
}

boost::asio::awaitable<response> add_friend(db::database& db, events::emitter& out, const server_settings& settings,
                                            http::request& req) {
    std::string caller = req.account_id;
    std::string uid(req.body.at("uid").as_string());
    friend_result r;
    co_await db.write([&](db::tx& t) { r = friend_add(t, caller, uid, now_ms()); });
    // After the commit, each posted item's owner gets `new-feed-post` (feedPost.ts afterTx).
    co_await feed::feed_posts_emit(db, out, std::move(r.posted));
    co_return response::json(json::object{{"user", profile_or_null(r, settings)}});
}

boost::asio::awaitable<response> remove_friend(db::database& db, const server_settings& settings, http::request& req) {
    std::string caller = req.account_id;
    std::string uid(req.body.at("uid").as_string());
    friend_result r;
    co_await db.write([&](db::tx& t) { r = friend_remove(t, caller, uid, now_ms()); });
    co_return response::json(json::object{{"user", profile_or_null(r, settings)}});
}

boost::asio::awaitable<response> list_friends(db::database& db, const server_settings& settings, http::request& req) {
    std::string caller = req.account_id;
    std::vector<std::pair<user_row, relationship_status>> rows;
    co_await db.read([&](db::tx& t) { rows = friend_list(t, caller); });
    json::array friends;
    friends.reserve(rows.size());
    const std::string base = settings.files_base_url();
    for (const auto& [u, st] : rows) {
        friends.push_back(user_profile_json(u, st, base));
    }
    co_return response::json(json::object{{"friends", std::move(friends)}});
}

}  // namespace

void social_module::setup(module_context& ctx) {
    auto& db = ctx.db();
    auto& out = ctx.events();
    // The bound port is known only after setup; the settings object lives for the whole run.
    const server_settings& settings = ctx.settings();

    ctx.add_route({
        .method = http::verb::get,
        .path = "/v1/user/:id",
        .auth = http::auth_mode::bearer,
        .params = v::object({{"id", v::string()}}),
        .fn = [&db, &settings](http::request& req) { return get_user(db, settings, req); },
    });
    ctx.add_route({
        .method = http::verb::get,
        .path = "/v1/user/search",
        .auth = http::auth_mode::bearer,
        .query = v::object({{"query", v::string()}}),
        .fn = [&db, &settings](http::request& req) { return search_users(db, settings, req); },
    });
    ctx.add_route({
        .method = http::verb::post,
        .path = "/v1/friends/add",
        .auth = http::auth_mode::bearer,
        .body = v::object({{"uid", v::string()}}),
        .fn = [&db, &out, &settings](http::request& req) { return add_friend(db, out, settings, req); },
    });
    ctx.add_route({
        .method = http::verb::post,
        .path = "/v1/friends/remove",
        .auth = http::auth_mode::bearer,
        .body = v::object({{"uid", v::string()}}),
        .fn = [&db, &settings](http::request& req) { return remove_friend(db, settings, req); },
    });
    ctx.add_route({
        .method = http::verb::get,
        .path = "/v1/friends",
        .auth = http::auth_mode::bearer,
        .fn = [&db, &settings](http::request& req) { return list_friends(db, settings, req); },
    });
}

}  // namespace happy::mod::social
