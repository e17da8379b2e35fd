#include "core/app/app.hpp"

#include <malloc.h>
#include <sys/resource.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
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
    std::cout << "Usage: happy-server [--config FILE] [--check-config] [--print-config-schema] [--version] [--help]\n"
                 "\n"
                 "Starts the Happy sync server. With no options it listens on 0.0.0.0:3005 and keeps its\n"
                 "SQLite database, master secret and files in ./data.\n"
                 "\n"
                 "  --config FILE    JSON config file (comments allowed); also HAPPY_CONFIG\n"
                 "  --check-config   validate the configuration as start-up does (before opening or\n"
                 "                   migrating anything) and exit: 0 if valid, 2 if not\n"
                 "  --print-config-schema\n"
                 "                   print the JSON schema of every accepted key (with defaults and the\n"
                 "                   environment variable of each) and exit\n"
                 "  --version        print the version and exit\n"
                 "\n"
                 "Environment: HANDY_MASTER_SECRET, PORT, HOST, DATA_DIR, DATABASE_URL (PostgreSQL), PUBLIC_URL,\n"
                 "HAPPY_LOG_LEVEL, HAPPY_LOG_FORMAT, HAPPY_THREADS, METRICS_ENABLED, METRICS_PORT and upstream's\n"
                 "variables of the external services (S3_*, GITHUB_*, ...). See README.md for every config key.\n";
}

int fail(std::string_view what) {
    // Before logging is configured, and for fatal start-up errors, write a plain line to stderr.
    std::cerr << "happy-server: " << what << "\n";
    return 1;
}

/// The open-file limit before and after raise_open_file_limit().
struct file_limit {
    rlim_t was = 0;
    rlim_t soft = 0;
    rlim_t hard = 0;
};

/// Every connection is a descriptor, and systemd (like most shells) starts services with a soft RLIMIT_NOFILE of
/// 1024, so without this the server would stop accepting at about a thousand sockets however high the hard
/// limit is. The soft limit may be raised up to the hard one without privileges. An unlimited hard limit is
/// capped at fs.nr_open, the most the kernel lets one process set.
file_limit raise_open_file_limit() {
    file_limit out;
    rlimit rl{};
    if (::getrlimit(RLIMIT_NOFILE, &rl) != 0) {
        return out;
    }
    out.was = out.soft = rl.rlim_cur;
    out.hard = rl.rlim_max;
    rlim_t target = rl.rlim_max;
    if (target == RLIM_INFINITY) {
        target = 1 << 20;  // the kernel's default nr_open
        if (FILE* f = std::fopen("/proc/sys/fs/nr_open", "r")) {
            unsigned long long n = 0;
            if (std::fscanf(f, "%llu", &n) == 1 && n > 0) {
                target = static_cast<rlim_t>(n);
            }
            std::fclose(f);
        }
    }
    if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < target) {
        rl.rlim_cur = target;
        if (::setrlimit(RLIMIT_NOFILE, &rl) == 0) {
            out.soft = target;
        }
    }
    return out;
}

/// A limit as a log value: a number, or "unlimited".
json::value limit_value(rlim_t v) {
    return v == RLIM_INFINITY ? json::value("unlimited") : json::value(static_cast<std::uint64_t>(v));
}

int migration_version(std::string_view name) {
    int v = 0;
    auto r = std::from_chars(name.data(), name.data() + name.size(), v);
    if (r.ec != std::errc() || r.ptr == name.data()) {
        return -1;
    }
    return v;
}

std::string join_names(const std::vector<std::string>& names) {
    std::string out;
    for (const auto& n : names) {
        out += (out.empty() ? "" : ", ") + n;
    }
    return out;
}

/// Everything start-up refuses in the configuration itself (beyond the schema), checked before anything is
/// created, opened or migrated. --check-config runs this same function, so the check cannot pass a configuration
/// that start-up then refuses. Marks each module enabled or not. Throws config::error naming the key.
void check_settings(const json::object& cfg, const registry& reg, std::vector<loaded_module>& modules) {
    std::string storage_kind = config::get_string(cfg, "storage.kind");
    if (!reg.find_storage(storage_kind)) {
        throw config::error(fmt::format("storage.kind: unknown storage plugin \"{}\" (compiled in: {})", storage_kind,
                                        join_names(reg.storage_names())));
    }
    std::string files_kind = config::get_string(cfg, "files.kind");
    if (!reg.find_file_store(files_kind)) {
        throw config::error(fmt::format("files.kind: unknown file store plugin \"{}\" (compiled in: {})", files_kind,
                                        join_names(reg.file_store_names())));
    }
    auto check_plugin = [&](std::string_view area, const std::string& kind, const registry::config_check* check) {
        if (!check) {
            return;
        }
        const auto* section = config::at(cfg, area).as_object().if_contains(kind);
        try {
            (*check)(section && section->is_object() ? section->get_object() : json::object());
        } catch (const std::exception& e) {
            throw config::error(fmt::format("{}.{}.{}", area, kind, e.what()));
        }
    };
    std::string bus_kind = config::get_string(cfg, "bus.kind");
    if (!reg.find_bus(bus_kind)) {
        throw config::error(fmt::format("bus.kind: unknown bus plugin \"{}\" (compiled in: {})", bus_kind,
                                        join_names(reg.bus_names())));
    }
    check_plugin("storage", storage_kind, reg.storage_check(storage_kind));
    check_plugin("files", files_kind, reg.file_store_check(files_kind));
    // The listeners bind addresses, not names (no resolver at start-up): "localhost" would fail only at listen().
    for (std::string_view key : {"server.host", "metrics.host"}) {
        std::string host = config::get_string(cfg, key);
        boost::system::error_code ec;
        asio::ip::make_address(host, ec);
        if (ec) {
            throw config::error(
                fmt::format("{}: must be an IP address such as 0.0.0.0, 127.0.0.1 or ::, got \"{}\"", key, host));
        }
    }
    for (auto& m : modules) {
        const auto& section = config::at(cfg, "modules").as_object().at(m.name).as_object();
        m.enabled = section.at("enabled").as_bool();
        if (!m.enabled) {
            continue;
        }
        try {
            m.impl->check_config(section);
        } catch (const std::exception& e) {
            throw config::error(fmt::format("modules.{}.{}", m.name, e.what()));
        }
    }
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
    bool print_schema = false;
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
        } else if (a == "--print-config-schema") {
            print_schema = true;
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

    auto core_schema = resource_text("config/server.json").value_or("{}");
    if (print_schema) {
        std::cout << json::serialize(config::compose_schema(core_schema, schemas, job_schemas)) << "\n";
        return 0;
    }

    json::object cfg;
    std::vector<std::optional<sched::cron>> schedules;  // per job; empty when disabled
    try {
        cfg = config::load(config_file, env, core_schema, schemas, job_schemas);
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
        check_settings(cfg, reg, modules);
    } catch (const std::exception& e) {
        std::cerr << "happy-server: configuration error: " << e.what() << "\n";
        return 2;
    }
    if (check_only) {
        std::cout << "configuration ok\n";
        return 0;
    }
    log::configure(*log::parse_level(config::get_string(cfg, "log.level")),
                   config::get_string(cfg, "log.format") == "json" ? log::format::json : log::format::console);
    std::string storage_kind = config::get_string(cfg, "storage.kind");
    const auto* storage_factory = reg.find_storage(storage_kind);
    std::string files_kind = config::get_string(cfg, "files.kind");
    const auto* files_factory = reg.find_file_store(files_kind);
    std::string bus_kind = config::get_string(cfg, "bus.kind");
    const auto* bus_factory = reg.find_bus(bus_kind);

    auto fds = raise_open_file_limit();
    log::info("open-file limit", {{"soft", limit_value(fds.soft)}, {"hard", limit_value(fds.hard)},
                                  {"soft_at_start", limit_value(fds.was)}});
    if (fds.soft != RLIM_INFINITY && fds.soft < 10240) {
        // Each WebSocket or HTTP connection holds one descriptor (the database and the listeners a few more):
        // below this the server cannot hold the 10,000 connections the README sizes it for.
        log::warn("the open-file limit caps the connections this server can hold; raise the hard limit "
                  "(LimitNOFILE= in the systemd unit, --ulimit nofile= for Docker)",
                  {{"limit", limit_value(fds.soft)}});
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
        // The pool's size: storage.sqlite.connections, storage.postgres.pool_size.
        std::size_t conns = 2;
        for (const char* key : {"connections", "pool_size"}) {
            if (auto* v = so.config.if_contains(key)) {
                conns = v->to_number<std::size_t>();
            }
        }
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
        settings.files_public_base = file_store->public_base_url();
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
    gauges.add_callback("http_accept_fd_exhausted_total",
                     "accept() calls on the API port that failed for lack of file descriptors (EMFILE/ENFILE); "
                     "the client waited in the backlog and existing connections were served meanwhile",
                     "counter", [&srv] { return static_cast<double>(srv.accept_fd_exhausted()); });
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
