#include "core/app/app.hpp"

#include <malloc.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/json.hpp>
#include <charconv>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fmt/format.h>
#include <iostream>
#include <thread>

#include "core/app/cluster.hpp"
#include "core/app/registry.hpp"
#include "core/auth/master_secret.hpp"
#include "core/auth/token_service.hpp"
#include "core/config/config.hpp"
#include "core/db/database.hpp"
#include "core/engineio/server.hpp"
#include "core/events/hub.hpp"
#include "core/http/pipeline.hpp"
#include "core/http/router.hpp"
#include "core/http/server.hpp"
#include "core/log/log.hpp"
#include "core/sched/scheduler.hpp"
#include "core/metrics/metrics.hpp"
#include "core/util/time.hpp"
#include "core/socketio/server.hpp"
#include "core/util/resources.hpp"

namespace happy {

namespace asio = boost::asio;
namespace json = boost::json;

namespace {

constexpr std::string_view version_string = "0.1.0";

struct loaded_module {
    std::string name;
    std::unique_ptr<module> impl;
    bool enabled = false;
};

/// A declared job: who declared it (a module name, or "" for the core), its default schedule, and once bound
/// its handler.
struct declared_job {
    job_decl decl;
    std::string owner;
    job_fn fn;
    bool run_at_start = false;
};

/// Jobs of the core itself.
std::vector<job_decl> core_jobs() {
    return {
        // Hand freed heap pages back to the OS now and then: connection bursts (10k sockets pinged in the same
        // second) would otherwise leave the peak resident forever.
        {"malloc-trim", "*/30 * * * * *", "return freed heap memory to the OS"},
        // Database housekeeping (SQLite WAL checkpoints) off the request path.
        {"db-maintain", "* * * * * *", "database housekeeping (SQLite WAL checkpoints)"},
    };
}

class context_impl final : public module_context {
public:
    context_impl(std::string_view module_name, const json::object& cfg, db::database& db, auth::token_service& tokens,
                 files::file_store& files, const server_settings& s, http::router& r, events::hub& hub,
                 std::vector<declared_job>& jobs)
        : module_(module_name),
          cfg_(cfg),
          db_(db),
          tokens_(tokens),
          files_(files),
          settings_(s),
          router_(r),
          hub_(hub),
          jobs_(jobs) {}
    const json::object& config() const override { return cfg_; }
    db::database& db() override { return db_; }
    auth::token_service& tokens() override { return tokens_; }
    files::file_store& files() override { return files_; }
    const server_settings& settings() const override { return settings_; }
    void add_route(http::route r) override { router_.add(std::move(r)); }
    void add_event(events::event_def e) override { hub_.add_event(std::move(e)); }
    events::emitter& events() override { return hub_; }
    void add_job(std::string_view name, job_fn fn, bool run_at_start) override {
        for (auto& j : jobs_) {
            if (j.decl.name == name && j.owner == module_) {
                j.fn = std::move(fn);
                j.run_at_start = run_at_start;
                return;
            }
        }
        throw std::logic_error(fmt::format("add_job: job {} is not declared by the module's jobs()", name));
    }

private:
    std::string_view module_;
    const json::object& cfg_;
    db::database& db_;
    auth::token_service& tokens_;
    files::file_store& files_;
    const server_settings& settings_;
    http::router& router_;
    events::hub& hub_;
    std::vector<declared_job>& jobs_;
};

void print_usage() {
    std::cout << "Usage: happy-server [--config FILE] [--check-config] [--version] [--help]\n"
                 "\n"
                 "Starts the Happy sync server. With no options it listens on 0.0.0.0:3005 and keeps its\n"
                 "SQLite database, master secret and files in ./data.\n"
                 "\n"
                 "  --config FILE    JSON config file (comments allowed); also HAPPY_CONFIG\n"
                 "  --check-config   validate the configuration and exit\n"
                 "  --version        print the version and exit\n"
                 "\n"
                 "Environment: HANDY_MASTER_SECRET, PORT, HOST, DATA_DIR, PUBLIC_URL, HAPPY_LOG_LEVEL,\n"
                 "HAPPY_LOG_FORMAT, HAPPY_THREADS. See README.md for every config key.\n";
}

int fail(std::string_view what) {
    // Before logging is configured, and for fatal start-up errors, write a plain line to stderr.
    std::cerr << "happy-server: " << what << "\n";
    return 1;
}

int migration_version(std::string_view name) {
    int v = 0;
    auto r = std::from_chars(name.data(), name.data() + name.size(), v);
    if (r.ec != std::errc() || r.ptr == name.data()) {
        return -1;
    }
    return v;
}

}  // namespace

/// Metrics port handlers (upstream app/monitoring/metrics.ts).
asio::awaitable<http::response> metrics_text(http::request&) {
    co_return http::response::text(metrics::global().text(), 200, "text/plain; version=0.0.4; charset=utf-8");
}

asio::awaitable<http::response> metrics_health(http::request&) {
    // No database check here, unlike GET /health on the API port.
    co_return http::response::json(boost::json::object{{"status", "ok"}, {"timestamp", iso8601_ms(now_ms())}});
}

int run_server(int argc, char** argv) {
    // Few arenas: this is an I/O-bound server and every arena costs resident memory.
    mallopt(M_ARENA_MAX, 2);
    // glibc gives the top of a heap back to the OS whenever a free leaves more than 128 KiB there, so under load
    // every burst of response bodies was returned and then page-faulted back in: 11% of the server's CPU on
    // GET /v1/sessions with 20 sessions (server CPU per request 66-92 us -> 48 us with these settings). Freed
    // memory now stays for reuse, up to 4 MiB per arena, and the malloc-trim job returns it every 30 s; blocks up
    // to 1 MiB (large message pages) come from the heap instead of a fresh mmap each time.
    mallopt(M_TRIM_THRESHOLD, 4 << 20);
    mallopt(M_MMAP_THRESHOLD, 1 << 20);
    std::signal(SIGPIPE, SIG_IGN);

    std::optional<std::string> config_file;
    bool check_only = false;
    for (int i = 1; i < argc; ++i) {
        std::string_view a = argv[i];
        if (a == "--help" || a == "-h") {
            print_usage();
            return 0;
        }
        if (a == "--version") {
            std::cout << "happy-server " << version_string << "\n";
            return 0;
        }
        if (a == "--check-config") {
            check_only = true;
        } else if (a == "--config" && i + 1 < argc) {
            config_file = argv[++i];
        } else if (a.starts_with("--config=")) {
            config_file = std::string(a.substr(9));
        } else {
            std::cerr << "happy-server: unknown argument " << a << "\n";
            print_usage();
            return 2;
        }
    }
    auto env = config::environment();
    if (!config_file) {
        if (auto it = env.find("HAPPY_CONFIG"); it != env.end() && !it->second.empty()) {
            config_file = it->second;
        }
    }

    // Declared before the modules so that it is destroyed after them: modules own timers and strands of it.
    std::unique_ptr<asio::io_context> io;
    registry reg;
    register_compiled_in(reg);
    std::vector<loaded_module> modules;
    std::vector<config::module_schema> schemas;
    std::vector<declared_job> jobs;
    for (const auto& d : core_jobs()) {
        jobs.push_back({d, "", {}, false});
    }
    for (const auto& [name, factory] : reg.modules()) {
        modules.push_back({name, factory(), false});
        schemas.push_back({name, modules.back().impl->config_schema()});
        for (auto& d : modules.back().impl->jobs()) {
            jobs.push_back({std::move(d), name, {}, false});
        }
    }
    std::vector<config::job_schema> job_schemas;
    for (const auto& j : jobs) {
        for (const auto& k : job_schemas) {
            if (k.name == j.decl.name) {
                return fail(fmt::format("job {} is declared twice", j.decl.name));
            }
        }
        job_schemas.push_back({j.decl.name, j.decl.schedule});
    }

    json::object cfg;
    std::vector<std::optional<sched::cron>> schedules;  // per job; empty when disabled
    try {
        auto core_schema = resource_text("config/server.json");
        cfg = config::load(config_file, env, core_schema.value_or("{}"), schemas, job_schemas);
        for (const auto& j : jobs) {
            const auto& section = config::at(cfg, "jobs").as_object().at(j.decl.name).as_object();
            std::string text(section.at("schedule").as_string());
            try {
                auto c = sched::cron::parse(text);
                schedules.push_back(section.at("enabled").as_bool() ? std::optional(std::move(c)) : std::nullopt);
            } catch (const sched::cron_error& e) {
                throw config::error(fmt::format("jobs.{}.schedule: invalid cron expression \"{}\": {}", j.decl.name,
                                                text, e.what()));
            }
        }
    } catch (const std::exception& e) {
        std::cerr << "happy-server: configuration error: " << e.what() << "\n";
        return 2;
    }
    log::configure(*log::parse_level(config::get_string(cfg, "log.level")),
                   config::get_string(cfg, "log.format") == "json" ? log::format::json : log::format::console);

    std::string storage_kind = config::get_string(cfg, "storage.kind");
    const auto* storage_factory = reg.find_storage(storage_kind);
    if (!storage_factory) {
        std::string known;
        for (const auto& n : reg.storage_names()) {
            known += (known.empty() ? "" : ", ") + n;
        }
        std::cerr << fmt::format("happy-server: configuration error: storage.kind: unknown storage plugin \"{}\" "
                                 "(compiled in: {})\n",
                                 storage_kind, known);
        return 2;
    }
    std::string files_kind = config::get_string(cfg, "files.kind");
    const auto* files_factory = reg.find_file_store(files_kind);
    if (!files_factory) {
        std::string known;
        for (const auto& n : reg.file_store_names()) {
            known += (known.empty() ? "" : ", ") + n;
        }
        std::cerr << fmt::format("happy-server: configuration error: files.kind: unknown file store plugin \"{}\" "
                                 "(compiled in: {})\n",
                                 files_kind, known);
        return 2;
    }
    std::string bus_kind = config::get_string(cfg, "bus.kind");
    const auto* bus_factory = reg.find_bus(bus_kind);
    if (!bus_factory) {
        std::string known;
        for (const auto& n : reg.bus_names()) {
            known += (known.empty() ? "" : ", ") + n;
        }
        std::cerr << fmt::format("happy-server: configuration error: bus.kind: unknown bus plugin \"{}\" "
                                 "(compiled in: {})\n",
                                 bus_kind, known);
        return 2;
    }
    for (auto& m : modules) {
        m.enabled = config::at(cfg, "modules").as_object().at(m.name).as_object().at("enabled").as_bool();
    }
    if (check_only) {
        std::cout << "configuration ok\n";
        return 0;
    }

    server_settings settings;
    settings.data_dir = config::get_string(cfg, "data_dir");
    settings.public_url = config::get_string(cfg, "server.public_url");
    try {
        std::filesystem::create_directories(settings.data_dir);
    } catch (const std::exception& e) {
        return fail(fmt::format("cannot create data directory {}: {}", settings.data_dir, e.what()));
    }

    std::string secret = config::get_string(cfg, "auth.master_secret");
    if (secret.empty()) {
        try {
            secret = auth::master_secret_load_or_create(settings.data_dir);
        } catch (const std::exception& e) {
            return fail(e.what());
        }
    }
    auth::token_service tokens(secret);

    std::unique_ptr<db::database> database;
    try {
        storage_options so;
        so.data_dir = settings.data_dir;
        if (auto* sec = config::at(cfg, "storage").as_object().if_contains(storage_kind)) {
            so.config = sec->as_object();
        }
        auto backend = (*storage_factory)(so);
        std::size_t conns = so.config.contains("connections") ? so.config.at("connections").to_number<std::size_t>() : 2;
        database = std::make_unique<db::database>(std::move(backend), conns);

        std::string dialect = database->kind() == db::dialect::sqlite ? "sqlite" : "postgres";
        std::vector<db::migration> migrations;
        for (const auto& m : modules) {
            for (const auto& name : m.impl->migrations()) {
                auto text = resource_text("sql/" + dialect + "/" + name + ".sql");
                if (!text) {
                    return fail(fmt::format("module {} declares migration {} but schemas/sql/{}/{}.sql is not embedded",
                                            m.name, name, dialect, name));
                }
                migrations.push_back({migration_version(name), name, m.name, std::string(*text)});
            }
        }
        database->migrate(std::move(migrations));
    } catch (const std::exception& e) {
        return fail(fmt::format("storage: {}", e.what()));
    }

    std::unique_ptr<files::file_store> file_store;
    try {
        file_store_options fo;
        fo.data_dir = settings.data_dir;
        if (auto* sec = config::at(cfg, "files").as_object().if_contains(files_kind)) {
            fo.config = sec->as_object();
        }
        file_store = (*files_factory)(fo);
    } catch (const std::exception& e) {
        return fail(fmt::format("files: {}", e.what()));
    }

    // Declared after `io`, so destroyed before it: its connections and timers live on it.
    std::unique_ptr<bus::bus> cluster_bus;
    try {
        bus_options bo;
        if (auto* sec = config::at(cfg, "bus").as_object().if_contains(bus_kind)) {
            bo.config = sec->as_object();
        }
        cluster_bus = (*bus_factory)(bo);
    } catch (const std::exception& e) {
        return fail(fmt::format("bus: {}", e.what()));
    }

    http::router router;
    socketio::options sio_opts;
    sio_opts.connect_timeout = std::chrono::milliseconds(config::get_int(cfg, "realtime.connect_timeout_ms"));
    socketio::server sio(sio_opts);
    events::rpc_options rpc_opts;
    rpc_opts.grace = std::chrono::milliseconds(config::get_int(cfg, "realtime.rpc_grace_ms"));
    rpc_opts.call_timeout = std::chrono::milliseconds(config::get_int(cfg, "realtime.rpc_timeout_ms"));
    rpc_opts.cluster_query = std::chrono::milliseconds(config::get_int(cfg, "realtime.cluster_query_timeout_ms"));
    events::hub hub(sio, tokens, rpc_opts, cluster_bus.get());
    for (auto& m : modules) {
        if (!m.enabled) {
            log::info("module disabled", {{"module", m.name}});
            continue;
        }
        const auto& section = config::at(cfg, "modules").as_object().at(m.name).as_object();
        context_impl ctx(m.name, section, *database, tokens, *file_store, settings, router, hub, jobs);
        try {
            m.impl->setup(ctx);
        } catch (const std::exception& e) {
            return fail(fmt::format("module {}: {}", m.name, e.what()));
        }
    }

    http::pipeline pipe(router, tokens);
    std::size_t threads = static_cast<std::size_t>(config::get_int(cfg, "server.threads"));
    if (threads == 0) {
        threads = std::max(1u, std::thread::hardware_concurrency());
    }
    io = std::make_unique<asio::io_context>(static_cast<int>(threads));
    asio::io_context& ioc = *io;

    http::server_options opts;
    opts.host = config::get_string(cfg, "server.host");
    opts.port = static_cast<std::uint16_t>(config::get_int(cfg, "server.port"));
    opts.body_limit = static_cast<std::uint64_t>(config::get_int(cfg, "server.body_limit"));
    opts.header_timeout = std::chrono::milliseconds(config::get_int(cfg, "server.header_timeout_ms"));
    opts.body_timeout = std::chrono::milliseconds(config::get_int(cfg, "server.body_timeout_ms"));
    opts.keep_alive_timeout = std::chrono::milliseconds(config::get_int(cfg, "server.keep_alive_timeout_ms"));
    opts.log_requests = config::get_bool(cfg, "log.requests");
    http::server srv(ioc, opts, pipe);

    // The metrics port: its own router and listener, not counted in its own request metrics.
    http::router metrics_router;
    metrics_router.add(http::route{.method = http::verb::get, .path = "/metrics", .fn = &metrics_text});
    metrics_router.add(http::route{.method = http::verb::get, .path = "/health", .fn = &metrics_health});
    http::pipeline metrics_pipe(metrics_router, tokens);
    http::server_options metrics_opts = opts;
    metrics_opts.host = config::get_string(cfg, "metrics.host");
    metrics_opts.port = static_cast<std::uint16_t>(config::get_int(cfg, "metrics.port"));
    metrics_opts.log_requests = false;
    metrics_opts.metrics = false;
    std::unique_ptr<http::server> metrics_srv;
    if (config::get_bool(cfg, "metrics.enabled")) {
        metrics_srv = std::make_unique<http::server>(ioc, metrics_opts, metrics_pipe);
    }

    // Core jobs; module jobs were bound in setup().
    for (auto& j : jobs) {
        if (j.decl.name == "malloc-trim") {
            j.fn = []() -> asio::awaitable<void> {
                malloc_trim(0);
                co_return;
            };
        } else if (j.decl.name == "db-maintain") {
            j.fn = [db = database.get()] { return db->maintain(); };
        }
    }
    sched::scheduler scheduler(ioc.get_executor());
    for (std::size_t i = 0; i < jobs.size(); ++i) {
        auto& j = jobs[i];
        if (!j.fn) {
            continue;  // its module is disabled
        }
        if (!schedules[i]) {
            log::info("job disabled", {{"job", j.decl.name}});
            continue;
        }
        // With one shared database, a cluster job runs once per fire; with SQLite every instance has its own.
        if (j.decl.runs_on == job_decl::scope::cluster && cluster_bus->clustered() &&
            database->kind() != db::dialect::sqlite) {
            j.fn = claimed_job(std::move(j.fn), *cluster_bus, j.decl.name);
        }
        log::debug("job scheduled", {{"job", j.decl.name}, {"schedule", schedules[i]->text()}});
        scheduler.add({j.decl.name, std::move(*schedules[i]), std::move(j.fn), j.run_at_start});
    }

    hub.install();
    engineio::options eio_opts;
    eio_opts.path = config::get_string(cfg, "realtime.path");
    if (eio_opts.path.back() != '/') {
        eio_opts.path.push_back('/');  // engine.io normalises its path with a trailing slash
    }
    eio_opts.ping_interval = std::chrono::milliseconds(config::get_int(cfg, "realtime.ping_interval_ms"));
    eio_opts.ping_timeout = std::chrono::milliseconds(config::get_int(cfg, "realtime.ping_timeout_ms"));
    eio_opts.max_payload = static_cast<std::size_t>(config::get_int(cfg, "realtime.max_payload"));
    eio_opts.max_queued_bytes = static_cast<std::size_t>(config::get_int(cfg, "realtime.max_queued_bytes"));
    eio_opts.allow_polling = config::get_bool(cfg, "realtime.polling");
    engineio::server eio(ioc, eio_opts, sio);
    srv.add_protocol(&eio);
    std::uint16_t port = 0;
    try {
        port = srv.listen();
    } catch (const std::exception& e) {
        return fail(fmt::format("cannot listen on {}:{}: {}", opts.host, opts.port, e.what()));
    }
    settings.port = port;
    std::uint16_t metrics_port = 0;
    if (metrics_srv) {
        try {
            metrics_port = metrics_srv->listen();
        } catch (const std::exception& e) {
            return fail(fmt::format("cannot listen on {}:{} (metrics): {}", metrics_opts.host, metrics_opts.port,
                                    e.what()));
        }
    }
    // Values owned by this function's objects, read at scrape time; removed before those objects go.
    auto& gauges = metrics::global();
    gauges.add_callback("http_open_connections", "Open HTTP connections on the API port", "gauge",
                     [&srv] { return static_cast<double>(srv.connection_count()); });
    gauges.add_callback("engineio_open_sessions", "Open Engine.IO sessions (WebSocket and polling)", "gauge",
                     [&eio] { return static_cast<double>(eio.session_count()); });
    gauges.add_callback("socketio_connected_sockets", "Connected Socket.IO sockets", "gauge",
                     [&sio] { return static_cast<double>(sio.socket_count()); });
    gauges.add_callback("engineio_slow_client_disconnects_total",
                     "Clients disconnected for leaving more than realtime.max_queued_bytes unread", "counter",
                     [&eio] { return static_cast<double>(eio.slow_client_disconnects()); });
    gauges.add_callback("process_resident_memory_bytes", "Resident memory size in bytes", "gauge",
                     [] { return metrics::resident_bytes(); });
    add_bus_metrics(*cluster_bus);
    struct clear_callbacks {
        ~clear_callbacks() { metrics::global().clear_callbacks(); }
    } clear_on_exit;

    auto shutdown_bound = std::chrono::milliseconds(config::get_int(cfg, "server.shutdown_timeout_ms"));
    asio::signal_set signals(ioc, SIGINT, SIGTERM);
    int exit_code = 0;

    asio::co_spawn(
        ioc,
        [&]() -> asio::awaitable<void> {
            // A cluster member that cannot reach its bus must not start serving half a cluster.
            try {
                co_await cluster_bus->start(ioc.get_executor());
            } catch (const std::exception& e) {
                std::cerr << "happy-server: bus: " << e.what() << "\n";
                exit_code = 1;
                ioc.stop();
                co_return;
            }
            for (auto& m : modules) {
                if (m.enabled) {
                    co_await m.impl->start();
                }
            }
            srv.start();
            if (metrics_srv) {
                metrics_srv->start();
                log::info("metrics listening", {{"address", metrics_opts.host}, {"port", metrics_port}});
            }
            scheduler.start();
            log::info("listening", {{"address", opts.host}, {"port", port}, {"storage", database->describe()},
                                    {"threads", threads}});

            auto [ec, sig] = co_await signals.async_wait(asio::as_tuple(asio::use_awaitable));
            if (ec) {
                co_return;
            }
            log::info("shutting down", {{"signal", sig}, {"connections", srv.connection_count()}});
            // A second signal during the drain means "now".
            signals.async_wait([](const boost::system::error_code& e, int) {
                if (!e) {
                    log::flush();
                    std::_Exit(1);
                }
            });
            srv.begin_shutdown();
            if (metrics_srv) {
                metrics_srv->begin_shutdown();
            }
            eio.close_all("server shutting down");
            // Jobs stop first (cancelled, waited for briefly): modules' stop() may flush what they batch.
            co_await scheduler.stop(std::min<std::chrono::milliseconds>(shutdown_bound, std::chrono::seconds(1)));
            co_await srv.drain(shutdown_bound);
            {
                // Give WebSocket close handshakes a moment (bounded) before the io_context stops.
                asio::steady_timer t(ioc);
                for (int i = 0; i < 40 && eio.session_count() > 0; ++i) {
                    t.expires_after(std::chrono::milliseconds(5));
                    co_await t.async_wait(asio::as_tuple(asio::use_awaitable));
                }
            }
            for (auto it = modules.rbegin(); it != modules.rend(); ++it) {
                if (it->enabled) {
                    try {
                        co_await it->impl->stop();
                    } catch (const std::exception& e) {
                        log::error("module stop failed", {{"module", it->name}, {"error", e.what()}});
                        exit_code = 1;
                    }
                }
            }
            co_await cluster_bus->stop();
            signals.cancel();
            ioc.stop();
        },
        [](std::exception_ptr ep) {
            if (ep) {
                try {
                    std::rethrow_exception(ep);
                } catch (const std::exception& e) {
                    log::error("fatal", {{"error", e.what()}});
                }
                std::_Exit(1);
            }
        });

    std::vector<std::thread> pool;
    for (std::size_t i = 1; i < threads; ++i) {
        pool.emplace_back([&] { ioc.run(); });
    }
    ioc.run();
    for (auto& t : pool) {
        t.join();
    }
    database->close();
    log::info("stopped");
    return exit_code;
}

}  // namespace happy
