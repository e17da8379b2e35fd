#include "modules/system/system_module.hpp"

#include <boost/json.hpp>

#include "core/db/database.hpp"
#include "core/util/time.hpp"

namespace happy::mod::system {

namespace json = boost::json;
using http::response;

void system_module::setup(module_context& ctx) {
    ctx.add_route({
        .method = http::verb::get,
        .path = "/",
        .fn = [](http::request&) -> boost::asio::awaitable<response> {
            co_return response::text("Welcome to Happy Server!");
        },
    });
    auto& db = ctx.db();
    auto& fanout = ctx.events();
    ctx.add_route({
        .method = http::verb::get,
        .path = "/health",
        .fn = [&db, &fanout](http::request&) -> boost::asio::awaitable<response> {
            bool ok = co_await db.ping();
            std::string ts = iso8601_ms(now_ms());
            if (ok) {
                // Not upstream (one Redis outage there fails its adapter): an instance whose cluster bus is down
                // still serves its own sockets, so it stays in the balancer (200) and says why it is degraded.
                if (auto bus = fanout.health(); !bus.ok) {
                    co_return response::json(json::object{
                        {"status", "degraded"}, {"timestamp", ts}, {"service", "happy-server"}, {"bus", bus.detail}});
                }
                co_return response::json(json::object{{"status", "ok"}, {"timestamp", ts}, {"service", "happy-server"}});
            }
            co_return response::json(json::object{{"status", "error"},
                                                  {"timestamp", ts},
                                                  {"service", "happy-server"},
                                                  {"error", "Database connectivity failed"}},
                                     503);
        },
    });
}

}  // namespace happy::mod::system
