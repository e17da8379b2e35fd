#include "modules/system/system_module.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/json.hpp>
#include <cmath>
#include <memory>

#include "core/db/database.hpp"
#include "core/files/file_store.hpp"
#include "core/http/pipeline.hpp"
#include "core/log/log.hpp"
#include "core/util/oneshot.hpp"
#include "core/util/time.hpp"
#include "modules/system/webapp.hpp"

namespace happy::mod::system {

namespace asio = boost::asio;
namespace json = boost::json;
using http::response;

namespace {

/// HAPPY_INJECT_HTML_CONFIG: a JSON object, or "" for the default.
std::optional<json::object> inject_config(const json::object& section) {
    std::string_view text = section.at("inject_html_config").as_string();
    if (text.empty()) {
        return std::nullopt;
    }
    json::error_code ec;
    json::value v = json::parse(text, ec);
    if (ec || !v.is_object()) {
        // Upstream ignores a malformed value; a typo here would silently point the app elsewhere.
        throw std::invalid_argument("inject_html_config: expected a JSON object such as "
                                    "{\"serverUrl\":\"https://happy.example.com\"}");
    }
    return std::move(v.get_object());
}

/// One component's line in /health: {"status":"ok"|"error", "latency_ms", "error"?}.
struct probe_result {
    bool ok = false;
    double latency_ms = 0;
    std::string error;
};

double ms_since(std::chrono::steady_clock::time_point t0) {
    double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    return std::round(ms * 1000) / 1000;
}

/// Runs one check and hands its result to `slot`. A named coroutine with its arguments by value: g++ 12
/// miscompiles coroutine lambdas that capture (see core/app/cluster.cpp).
template <class Check>
asio::awaitable<void> probe_into(std::shared_ptr<util::oneshot<probe_result>> slot,
                                 std::chrono::steady_clock::time_point t0, Check check) {
    probe_result r;
    try {
        r.ok = co_await check();
        if (!r.ok) {
            r.error = "check failed";
        }
    } catch (const std::exception& e) {
        r.error = e.what();
    }
    r.latency_ms = ms_since(t0);
    slot->set(std::move(r));
}

/// Runs `check` (true = healthy; throwing = unhealthy, saying why) detached and waits for it at most `bound`: a
/// database that stopped answering makes /health say so in time instead of hanging the balancer's probe.
template <class Check>
asio::awaitable<probe_result> timed(Check check, std::chrono::milliseconds bound) {
    auto slot = std::make_shared<util::oneshot<probe_result>>();
    auto t0 = std::chrono::steady_clock::now();
    asio::co_spawn(co_await asio::this_coro::executor, probe_into(slot, t0, std::move(check)), asio::detached);
    auto r = co_await slot->wait_for(bound);
    if (!r) {
        co_return probe_result{false, ms_since(t0), "no answer within " + std::to_string(bound.count()) + " ms"};
    }
    co_return *r;
}

json::object component(const probe_result& r) {
    json::object o{{"status", r.ok ? "ok" : "error"}, {"latency_ms", r.latency_ms}};
    if (!r.ok) {
        o["error"] = r.error;
    }
    return o;
}

}  // namespace

system_module::system_module() = default;
system_module::~system_module() = default;

std::string_view system_module::config_schema() const {
    return R"({"type": "object", "additionalProperties": false, "properties": {
        "static_dir": {"type": "string", "default": "",
                       "description": "Directory of the Happy web app (the web export of happy-app, with index.html) to serve at / (env HAPPY_STATIC_DIR); empty = API only."},
        "inject_html_config": {"type": "string", "default": "",
                               "description": "JSON object injected into index.html as window.__HAPPY_CONFIG__ (env HAPPY_INJECT_HTML_CONFIG); empty = {serverUrl: public_url or the page's origin, disableAnalytics: true}."},
        "health_timeout_ms": {"type": "integer", "minimum": 10, "maximum": 60000, "default": 2000,
                              "description": "How long GET /health waits for each component (database, file store) before reporting it down."}
    }})";
}

std::vector<config::env_binding> system_module::env_bindings() const {
    // Upstream's self-host variables (standalone.ts).
    return {{"HAPPY_STATIC_DIR", "modules.system.static_dir", "string"},
            {"HAPPY_INJECT_HTML_CONFIG", "modules.system.inject_html_config", "string"}};
}

void system_module::check_config(const json::object& section) const { inject_config(section); }

void system_module::setup(module_context& ctx) {
    const auto& cfg = ctx.config();
    if (std::string dir(cfg.at("static_dir").as_string()); !dir.empty()) {
        auto injected = inject_config(cfg);
        webapp_ = std::make_shared<webapp>(dir, webapp_config_script(injected ? &*injected : nullptr,
                                                                     ctx.settings().public_url));
        log::info("serving the web app", {{"dir", dir}});
    }
    auto app = webapp_;
    ctx.add_route({
        .method = http::verb::get,
        .path = "/",
        .fn = [app](http::request& req) -> boost::asio::awaitable<response> {
            if (!app) {
                co_return response::text("Welcome to Happy Server!");
            }
            // A browser navigating here asks for HTML and gets the app; the app's server check (Accept:
            // text/plain), curl and monitors get the banner, as without the app.
            auto accept = req.header("accept");
            response res = accept && webapp_wants_html(*accept) ? app->index(req)
                                                                : response::text("Welcome to Happy Server!");
            res.headers.emplace_back("vary", "Accept");
            co_return res;
        },
    });
    if (app) {
        ctx.add_route({
            .method = http::verb::get,
            .path = "/*",
            .fn = [app](http::request& req) -> boost::asio::awaitable<response> {
                if (auto res = app->serve(req)) {
                    co_return std::move(*res);
                }
                co_return http::pipeline::not_found(http::verb_name(req.method), req.target);
            },
        });
    }
    auto& db = ctx.db();
    auto& fanout = ctx.events();
    auto& files = ctx.files();
    std::chrono::milliseconds bound(ctx.config().at("health_timeout_ms").to_number<std::int64_t>());
    ctx.add_route({
        .method = http::verb::get,
        .path = "/health",
        .fn = [&db, &fanout, &files, bound](http::request&) -> boost::asio::awaitable<response> {
            // Upstream's fields first (status, timestamp, service, and error when the database is down), then each
            // component with the time its check took.
            auto ping_db = [&db]() { return db.ping(); };
            auto check_files = [&files]() -> asio::awaitable<bool> {
                co_await files.check();
                co_return true;
            };
            auto database = co_await timed(std::move(ping_db), bound);
            auto store = co_await timed(std::move(check_files), bound);
            auto t0 = std::chrono::steady_clock::now();
            auto bus = fanout.health();
            probe_result bus_r{bus.ok, ms_since(t0), bus.detail};
            json::object components{{"database", component(database)}, {"bus", component(bus_r)},
                                    {"files", component(store)}};
            std::string ts = iso8601_ms(now_ms());
            if (!database.ok || !store.ok) {
                co_return response::json(
                    json::object{{"status", "error"},
                                 {"timestamp", ts},
                                 {"service", "happy-server"},
                                 {"error", !database.ok ? "Database connectivity failed" : "File store unavailable"},
                                 {"components", std::move(components)}},
                    503);
            }
            // Not upstream (one Redis outage there fails its adapter): an instance whose cluster bus is down still
            // serves its own sockets, so it stays in the balancer (200) and says why it is degraded.
            if (!bus.ok) {
                co_return response::json(json::object{{"status", "degraded"},
                                                      {"timestamp", ts},
                                                      {"service", "happy-server"},
                                                      {"bus", bus.detail},
                                                      {"components", std::move(components)}});
            }
            co_return response::json(json::object{{"status", "ok"},
                                                  {"timestamp", ts},
                                                  {"service", "happy-server"},
                                                  {"components", std::move(components)}});
        },
    });
}

}  // namespace happy::mod::system
