#include "modules/admin/admin_module.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json.hpp>
#include <filesystem>
#include <span>

#include "core/app/runtime_info.hpp"
#include "core/auth/master_secret.hpp"
#include "core/auth/registration.hpp"
#include "core/auth/token_service.hpp"
#include "core/db/database.hpp"
#include "core/log/log.hpp"
#include "core/metrics/metrics.hpp"
#include "core/util/resources.hpp"
#include "core/util/time.hpp"
#include "modules/admin/admin_guard.hpp"
#include "modules/admin/admin_status.hpp"
#include "modules/auth/account_admin.hpp"

namespace happy::mod::admin {

// Generated from modules/admin/assets/ (see the module's CMakeLists.txt).
std::span<const happy::resource> assets();

namespace asio = boost::asio;
namespace json = boost::json;
namespace v = validate;
using http::response;

namespace {

std::string_view level_name(log::level l) { return l == log::level::error ? "error" : "warn"; }

/// Sum of the file sizes under `dir` (bounded walk; symlinks not followed).
std::int64_t directory_bytes(const std::filesystem::path& dir) {
    std::int64_t total = 0;
    std::size_t seen = 0;
    std::error_code ec;
    for (std::filesystem::recursive_directory_iterator it(dir, std::filesystem::directory_options::skip_permission_denied,
                                                          ec),
         end;
         !ec && it != end && seen < 200000; it.increment(ec), ++seen) {
        std::error_code fe;
        if (it->is_regular_file(fe)) {
            total += static_cast<std::int64_t>(it->file_size(fe));
        }
    }
    return total;
}

json::value opt_ms(std::optional<std::int64_t> v) { return v ? json::value(*v) : json::value(nullptr); }

/// The page's own files: no CDN, nothing fetched from elsewhere (the Content-Security-Policy says so too).
response asset_response(std::string_view name) {
    auto text = resource_find(assets(), name);
    if (!text) {
        return response::error(404, "Not found");
    }
    std::string type = name.ends_with(".js")    ? "text/javascript; charset=utf-8"
                       : name.ends_with(".css") ? "text/css; charset=utf-8"
                                                : "text/html; charset=utf-8";
    auto res = response::text(std::string(*text), 200, type);
    res.headers.emplace_back("content-security-policy",
                             "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
                             "img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'");
    res.headers.emplace_back("x-content-type-options", "nosniff");
    res.headers.emplace_back("referrer-policy", "no-referrer");
    res.headers.emplace_back("cache-control", "no-cache");
    return res;
}

}  // namespace

struct admin_module::impl {
    db::database* db = nullptr;
    happy::auth::token_service* tokens = nullptr;
    events::emitter* events = nullptr;
    files::file_store* files = nullptr;
    std::string data_dir;
    happy::auth::registration_policy registration;
    std::unique_ptr<admin_guard> guard;
    std::chrono::milliseconds refresh{2000};
    sampler rates{std::chrono::milliseconds(1000)};
    std::mutex dir_mutex;
    std::int64_t dir_bytes = -1;
    std::chrono::steady_clock::time_point dir_at;

    /// The Bearer check of every API route: nullopt when the caller holds the admin token.
    std::optional<response> refuse(const http::request& req) {
        std::string_view presented;
        if (auto h = req.header("authorization"); h && h->starts_with("Bearer ")) {
            presented = h->substr(7);
        }
        auto now = admin_guard::clock::now();
        switch (guard->check(presented, req.remote_address, now)) {
            case admin_guard::verdict::ok:
                return std::nullopt;
            case admin_guard::verdict::denied: {
                log::warn("admin console: wrong admin token", {{"remote", req.remote_address}});
                auto res = response::error(401, "Invalid admin token");
                res.headers.emplace_back("cache-control", "no-store");
                return res;
            }
            case admin_guard::verdict::limited: {
                auto res = response::error(429, "Too many failed attempts; try again later");
                res.headers.emplace_back("retry-after", std::to_string(guard->retry_after(req.remote_address, now)));
                return res;
            }
        }
        return response::error(401, "Invalid admin token");
    }

    std::int64_t data_dir_bytes() {
        std::lock_guard lock(dir_mutex);
        auto now = std::chrono::steady_clock::now();
        if (dir_bytes < 0 || now - dir_at > std::chrono::seconds(60)) {
            dir_bytes = directory_bytes(data_dir);
            dir_at = now;
        }
        return dir_bytes;
    }

    asio::awaitable<json::object> snapshot() {
        db_counts counts;
        std::vector<machine_row> machines;
        co_await db->read([&](db::tx& t) {
            counts = admin_counts(t);
            machines = machines_recent(t, 50);
        });
        auto conns = events->connections();
        auto& m = metrics::global();
        auto rate = rates.sample(m.totals(), process_cpu_seconds(), std::chrono::steady_clock::now());
        auto totals = m.totals();
        std::int64_t now = now_ms();

        std::unordered_map<std::string, const events::connection_info*> machine_socket;
        for (const auto& c : conns) {
            if (!c.machine_id.empty()) {
                machine_socket[c.machine_id] = &c;
            }
        }
        json::array machine_list;
        for (const auto& row : machines) {
            auto it = machine_socket.find(row.id);
            machine_list.push_back(json::object{
                {"id", row.id},
                {"accountId", row.account_id},
                {"active", row.active},
                {"lastActiveAt", row.last_active_at},
                {"createdAt", row.created_at},
                {"connected", it != machine_socket.end()},
                {"client", it != machine_socket.end() ? json::value(it->second->happy_client) : json::value(nullptr)},
            });
        }
        json::array jobs;
        for (const auto& j : runtime().jobs()) {
            jobs.push_back(json::object{
                {"name", j.name},
                {"schedule", j.schedule},
                {"runs", j.stats.runs},
                {"failures", j.stats.failures},
                {"skipped", j.stats.skipped},
                {"running", j.stats.running},
                {"lastStartAt", j.stats.last_start_ms ? json::value(j.stats.last_start_ms) : json::value(nullptr)},
                {"lastDurationMs", j.stats.last_duration_ms},
                {"lastOk", j.stats.last_ok},
                {"lastError", j.stats.last_error.empty() ? json::value(nullptr) : json::value(j.stats.last_error)},
            });
        }
        json::array warnings;
        for (const auto& w : log::recent()) {
            json::error_code ec;
            json::value fields = json::parse(w.fields, ec);
            warnings.push_back(json::object{{"at", w.time_ms},
                                            {"level", level_name(w.lvl)},
                                            {"message", w.message},
                                            {"fields", ec ? json::value(nullptr) : std::move(fields)}});
        }
        auto gauge = [&](std::string_view name) { return static_cast<std::int64_t>(m.value(name).value_or(0)); };
        auto bus = events->health();
        co_return json::object{
            {"version", runtime().version()},
            {"startedAt", runtime().started_at_ms()},
            {"now", now},
            {"uptimeMs", now - runtime().started_at_ms()},
            {"process",
             json::object{{"rssBytes", static_cast<std::int64_t>(metrics::resident_bytes())},
                          {"cpuPercent", rate.cpu_percent},
                          {"cpuSeconds", process_cpu_seconds()}}},
            {"connections",
             json::object{{"http", gauge("http_open_connections")},
                          {"engineio", gauge("engineio_open_sessions")},
                          {"sockets", gauge("socketio_connected_sockets")},
                          {"slowClientDisconnects", gauge("engineio_slow_client_disconnects_total")}}},
            {"clients", connections_summary(conns)},
            {"accounts",
             json::object{{"total", counts.accounts},
                          {"disabled", counts.accounts_disabled},
                          {"pendingRegistrations", counts.registrations_pending},
                          {"registrationMode", happy::auth::registration_mode_name(registration.mode)}}},
            {"sessions", json::object{{"total", counts.sessions}, {"active", counts.sessions_active}}},
            {"machines",
             json::object{{"total", counts.machines}, {"active", counts.machines_active}, {"recent", std::move(machine_list)}}},
            {"requests",
             json::object{{"total", totals.count},
                          {"errors", totals.errors},
                          {"perSecond", rate.requests_per_s},
                          {"errorsPerSecond", rate.errors_per_s},
                          {"p50Ms", rate.p50_ms},
                          {"p95Ms", rate.p95_ms},
                          {"p99Ms", rate.p99_ms},
                          {"windowSeconds", rate.window_s}}},
            {"jobs", std::move(jobs)},
            {"storage",
             json::object{{"kind", db->kind() == db::dialect::sqlite ? "sqlite" : "postgres"},
                          {"databaseBytes", counts.database_bytes},
                          {"dataDirBytes", data_dir_bytes()}}},
            {"bus", json::object{{"ok", bus.ok}, {"detail", bus.detail}}},
            {"warnings", std::move(warnings)},
        };
    }

    asio::awaitable<response> accounts(http::request& req) {
        std::int64_t limit = 200;
        if (auto* l = req.query.if_contains("limit"); l && l->is_string()) {
            limit = std::clamp<std::int64_t>(std::atoll(std::string(l->get_string()).c_str()), 1, 10000);
        }
        std::vector<auth::account_summary> list;
        std::int64_t total = 0;
        co_await db->read([&](db::tx& t) {
            list = auth::account_list(t, limit);
            total = auth::account_count(t);
        });
        std::unordered_map<std::string, std::int64_t> sockets;
        for (const auto& c : events->connections()) {
            ++sockets[c.account_id];
        }
        json::array out;
        for (const auto& a : list) {
            out.push_back(json::object{{"id", a.id},
                                       {"publicKey", a.public_key},
                                       {"createdAt", a.created_at},
                                       {"updatedAt", a.updated_at},
                                       {"disabledAt", opt_ms(a.disabled_at)},
                                       {"sessions", a.sessions},
                                       {"machines", a.machines},
                                       {"sockets", sockets[a.id]}});
        }
        co_return response::json(json::object{{"total", total}, {"accounts", std::move(out)}});
    }

    asio::awaitable<response> registrations() {
        std::vector<auth::registration_request> list;
        co_await db->read([&](db::tx& t) { list = auth::registration_request_list(t); });
        json::array out;
        for (const auto& r : list) {
            out.push_back(json::object{{"publicKey", r.public_key},
                                       {"attempts", r.attempts},
                                       {"createdAt", r.created_at},
                                       {"updatedAt", r.updated_at},
                                       {"approvedAt", opt_ms(r.approved_at)}});
        }
        co_return response::json(json::object{{"mode", happy::auth::registration_mode_name(registration.mode)},
                                              {"requests", std::move(out)}});
    }
};

admin_module::admin_module() : impl_(std::make_shared<impl>()) {}
admin_module::~admin_module() = default;

std::string_view admin_module::config_schema() const {
    return R"({"type": "object", "additionalProperties": false, "properties": {
        "token": {"type": "string", "default": "",
                  "description": "Admin token of the console and its API; empty = generated into <data_dir>/admin-token (mode 0600) on first start (env HAPPY_ADMIN_TOKEN)."},
        "refresh_ms": {"type": "integer", "minimum": 250, "maximum": 60000, "default": 2000,
                       "description": "Interval of the console's live updates."},
        "max_failures": {"type": "integer", "minimum": 1, "maximum": 1000, "default": 10,
                         "description": "Wrong tokens allowed per client address per minute (ten times that from all addresses together); then 429."}
    }})";
}

std::vector<config::env_binding> admin_module::env_bindings() const {
    return {{"HAPPY_ADMIN_TOKEN", "modules.admin.token", "string"}};
}

void admin_module::setup(module_context& ctx) {
    auto m = impl_;
    m->db = &ctx.db();
    m->tokens = &ctx.tokens();
    m->events = &ctx.events();
    m->files = &ctx.files();
    m->data_dir = ctx.settings().data_dir;
    m->registration = ctx.settings().registration;
    const auto& cfg = ctx.config();
    m->refresh = std::chrono::milliseconds(cfg.at("refresh_ms").to_number<std::int64_t>());
    std::string token(cfg.at("token").as_string());
    std::string where = "modules.admin.token";
    if (token.empty()) {
        auto file = std::filesystem::path(m->data_dir) / "admin-token";
        token = happy::auth::secret_file_load_or_create(file, "admin token", "set HAPPY_ADMIN_TOKEN");
        where = file.string();
    }
    m->guard = std::make_unique<admin_guard>(std::move(token), cfg.at("max_failures").to_number<std::size_t>(),
                                             std::chrono::seconds(60));
    // Where the token is, never the token.
    log::info("admin console at /admin", {{"token", where}});

    for (std::string_view path : {"/admin", "/admin/"}) {
        ctx.add_route({.method = http::verb::get,
                       .path = std::string(path),
                       .fn = [](http::request&) -> asio::awaitable<response> { co_return asset_response("index.html"); }});
    }
    ctx.add_route({.method = http::verb::get,
                   .path = "/admin/:file",
                   .fn = [](http::request& req) -> asio::awaitable<response> {
                       co_return asset_response(req.param("file"));
                   }});

    auto api = [m](auto fn) {
        return [m, fn](http::request& req) -> asio::awaitable<response> {
            if (auto refused = m->refuse(req)) {
                co_return std::move(*refused);
            }
            response res = co_await fn(req);
            res.headers.emplace_back("cache-control", "no-store");
            co_return res;
        };
    };

    ctx.add_route({.method = http::verb::get,
                   .path = "/admin/api/status",
                   .fn = api([m](http::request&) -> asio::awaitable<response> {
                       co_return response::json(co_await m->snapshot());
                   })});

    // Server-Sent Events: a `status` event now and then every refresh_ms, until the page goes away. The page reads
    // it with fetch() (EventSource cannot send the Authorization header, and a token in the URL would end up in
    // proxies' logs).
    ctx.add_route({.method = http::verb::get,
                   .path = "/admin/api/events",
                   .fn = api([m](http::request&) -> asio::awaitable<response> {
                       response res;
                       res.content_type = "text/event-stream; charset=utf-8";
                       res.headers.emplace_back("x-accel-buffering", "no");  // nginx: pass each event on at once
                       auto first = std::make_shared<bool>(true);
                       res.stream = [m, first]() -> asio::awaitable<std::optional<std::string>> {
                           if (!*first) {
                               asio::steady_timer t(co_await asio::this_coro::executor, m->refresh);
                               co_await t.async_wait(asio::as_tuple(asio::use_awaitable));
                           }
                           *first = false;
                           co_return "event: status\ndata: " + json::serialize(co_await m->snapshot()) + "\n\n";
                       };
                       co_return res;
                   })});

    ctx.add_route({.method = http::verb::get,
                   .path = "/admin/api/accounts",
                   .query = v::object({{"limit", v::string().optional()}}),
                   .fn = api([m](http::request& req) { return m->accounts(req); })});

    auto account_action = [m](std::string_view what) {
        return [m, what](http::request& req) -> asio::awaitable<response> {
            std::string id(req.param("id"));
            bool found = what == "disable" ? co_await auth::account_disable_now(*m->db, *m->tokens, *m->events, id)
                                           : co_await auth::account_enable_now(*m->db, *m->tokens, id);
            if (!found) {
                co_return response::error(404, "Account not found");
            }
            log::info("admin console: account action", {{"action", what}, {"account", id}});
            co_return response::json(json::object{{"success", true}});
        };
    };
    for (std::string_view what : {"disable", "enable"}) {
        ctx.add_route({.method = http::verb::post,
                       .path = "/admin/api/accounts/:id/" + std::string(what),
                       .fn = api(account_action(what))});
    }
    // Deleting needs the id typed again: the page asks for it, and so does the API.
    ctx.add_route({.method = http::verb::del,
                   .path = "/admin/api/accounts/:id",
                   .body = v::object({{"confirm", v::string()}}),
                   .fn = api([m](http::request& req) -> asio::awaitable<response> {
                       std::string id(req.param("id"));
                       if (req.body.at("confirm").as_string() != id) {
                           co_return response::error(400, "Confirmation does not match the account id");
                       }
                       if (!co_await auth::account_delete_now(*m->db, *m->tokens, *m->events, *m->files, id)) {
                           co_return response::error(404, "Account not found");
                       }
                       log::info("admin console: account deleted", {{"account", id}});
                       co_return response::json(json::object{{"success", true}});
                   })});

    ctx.add_route({.method = http::verb::get,
                   .path = "/admin/api/registrations",
                   .fn = api([m](http::request&) { return m->registrations(); })});
    auto registration_action = [m](bool approve) {
        return [m, approve](http::request& req) -> asio::awaitable<response> {
            auto hex = happy::auth::public_key_hex_parse(req.param("key"));
            if (!hex) {
                co_return response::error(400, "Expected a 32-byte public key as 64 hex digits");
            }
            bool done = false;
            co_await m->db->write([&](db::tx& t) {
                done = approve ? auth::registration_request_approve(t, *hex, now_ms())
                               : auth::registration_request_delete(t, *hex);
            });
            if (!done) {
                co_return response::error(404, approve ? "This key already has an account" : "Request not found");
            }
            log::info("admin console: registration", {{"action", approve ? "approve" : "reject"}, {"publicKey", *hex}});
            co_return response::json(json::object{{"success", true}});
        };
    };
    ctx.add_route({.method = http::verb::post,
                   .path = "/admin/api/registrations/:key/approve",
                   .fn = api(registration_action(true))});
    ctx.add_route({.method = http::verb::del,
                   .path = "/admin/api/registrations/:key",
                   .fn = api(registration_action(false))});
}

}  // namespace happy::mod::admin
