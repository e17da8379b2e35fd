/// @file
/// `happy-server serve`: the server process, built in named stages (data directory and secret → storage →
/// file store → bus → realtime and modules → HTTP → jobs → listen → run until a signal), each a member function
/// of one object whose members are declared in the order they must be destroyed in reverse.
#include <malloc.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/json.hpp>
#include <csignal>
#include <cstdio>
#include <fmt/format.h>
#include <iostream>
#include <thread>

#include "core/app/bootstrap.hpp"
#include "core/app/build_info.hpp"
#include "core/app/cluster.hpp"
#include "core/app/module_context_impl.hpp"
#include "core/app/runtime_info.hpp"
#include "core/auth/registration.hpp"
#include "core/app/route_table.hpp"
#include "core/auth/master_secret.hpp"
#include "core/auth/token_service.hpp"
#include "core/config/config.hpp"
#include "core/db/database.hpp"
#include "core/engineio/server.hpp"
#include "core/events/hub.hpp"
#include "core/http/pipeline.hpp"
#include "core/http/router.hpp"
#include "core/http/server.hpp"
#include "core/http/tls.hpp"
#include "core/limits/rate_limiter.hpp"
#include "core/limits/settings.hpp"
#include "core/log/log.hpp"
#include "core/metrics/metrics.hpp"
#include "core/ops/backup.hpp"
#include "core/ops/serve.hpp"
#include "core/sched/scheduler.hpp"
#include "core/socketio/server.hpp"
#include "core/util/time.hpp"

namespace happy {

namespace asio = boost::asio;
namespace json = boost::json;

namespace {

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

void log_open_file_limit() {
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
}

/// Glibc's allocator settings for a server (before any thread starts).
void tune_allocator() {
    // One arena. With two, the hour-long soak (bench/soak.mjs) grew RSS by 6.8 % while the heap in use stayed flat:
    // the second arena's free top stays resident, because malloc_trim() trims only the main arena's top and a
    // non-main heap shrinks only past M_TRIM_THRESHOLD. One arena is trimmed whole by the malloc-trim job; the cost,
    // arena lock contention softened by the per-thread tcache, measured about 7 % of GET /v1/sessions throughput.
    mallopt(M_ARENA_MAX, 1);
    // glibc gives the top of a heap back to the OS whenever a free leaves more than 128 KiB there, so under load
    // every burst of response bodies was returned and then page-faulted back in: 11% of the server's CPU on
    // GET /v1/sessions with 20 sessions (server CPU per request 66-92 us -> 48 us with these settings). Freed
    // memory now stays for reuse, up to 4 MiB per arena, and the malloc-trim job returns it every 30 s; blocks up
    // to 1 MiB (large message pages) come from the heap instead of a fresh mmap each time.
    mallopt(M_TRIM_THRESHOLD, 4 << 20);
    mallopt(M_MMAP_THRESHOLD, 1 << 20);
}

/// Metrics port handlers (upstream app/monitoring/metrics.ts).
asio::awaitable<http::response> metrics_text(http::request&) {
    co_return http::response::text(metrics::global().text(), 200, "text/plain; version=0.0.4; charset=utf-8");
}

asio::awaitable<http::response> metrics_health(http::request&) {
    // No database check here, unlike GET /health on the API port.
    co_return http::response::json(json::object{{"status", "ok"}, {"timestamp", iso8601_ms(now_ms())}});
}

/// The section of a plugin category's chosen plugin (`storage.sqlite`, `bus.redis`, ...), empty when absent.
json::object plugin_section(const json::object& cfg, std::string_view area) {
    std::string kind = config::get_string(cfg, std::string(area) + ".kind");
    if (auto* sec = config::at(cfg, area).as_object().if_contains(kind); sec && sec->is_object()) {
        return sec->as_object();
    }
    return {};
}

/// The server process. Members are destroyed in reverse order of declaration: the io_context last (modules own
/// timers and strands of it), the listeners first.
class server_process {
public:
    server_process(app_config parts, const command_args& args)
        : parts_(std::move(parts)), config_file_(args.config_file), env_(args.env) {}

    /// `serve --print-routes`: set up as for serving (data directory, database, modules), then print the HTTP routes
    /// and socket events the enabled modules registered instead of listening.
    int print_routes() {
        configure_logging(cfg());
        log::set_output_fd(STDERR_FILENO);  // stdout is the table
        open_data_dir();
        open_storage_stage();
        open_file_store();
        open_bus();
        build_realtime_and_modules();
        return print_route_table(router_, *hub_, std::cout);
    }

    int run() {
        configure_logging(cfg());
        try {
            ops::apply_log_file(cfg());
        } catch (const std::exception& e) {
            throw startup_error(fmt::format("log.file: {}", e.what()));
        }
        build_info::log_start();
        log_open_file_limit();
        open_data_dir();
        open_storage_stage();
        open_file_store();
        open_bus();
        build_realtime_and_modules();
        build_http();
        bind_jobs();
        listen();
        return run_until_signal();
    }

private:
    const json::object& cfg() const { return parts_.cfg; }
    std::chrono::milliseconds ms(std::string_view key) const {
        return std::chrono::milliseconds(config::get_int(cfg(), key));
    }

    void open_data_dir() {
        settings_.data_dir = prepare_data_dir(cfg());
        settings_.public_url = config::get_string(cfg(), "server.public_url");
        settings_.registration = auth::registration_policy_from_config(cfg());
        secret_ = config::get_string(cfg(), "auth.master_secret");
        if (secret_.empty()) {
            secret_ = auth::master_secret_load_or_create(settings_.data_dir);
        }
        tokens_ = std::make_unique<auth::token_service>(secret_);
    }

    void open_storage_stage() { database_ = open_storage(parts_, settings_.data_dir); }

    void open_file_store() {
        try {
            file_store_options fo;
            fo.data_dir = settings_.data_dir;
            fo.config = plugin_section(cfg(), "files");
            file_store_ = (*parts_.reg.file_stores().find(config::get_string(cfg(), "files.kind")))(fo);
            settings_.files_public_base = file_store_->public_base_url();
        } catch (const std::exception& e) {
            throw startup_error(fmt::format("files: {}", e.what()));
        }
    }

    void open_bus() {
        try {
            bus_options bo;
            bo.config = plugin_section(cfg(), "bus");
            bus_ = (*parts_.reg.buses().find(config::get_string(cfg(), "bus.kind")))(bo);
        } catch (const std::exception& e) {
            throw startup_error(fmt::format("bus: {}", e.what()));
        }
    }

    void build_realtime_and_modules() {
        socketio::options sio_opts;
        sio_opts.connect_timeout = ms("realtime.connect_timeout_ms");
        sio_ = std::make_unique<socketio::server>(sio_opts);
        events::rpc_options rpc_opts;
        rpc_opts.grace = ms("realtime.rpc_grace_ms");
        rpc_opts.call_timeout = ms("realtime.rpc_timeout_ms");
        rpc_opts.cluster_query = ms("realtime.cluster_query_timeout_ms");
        events::reorder_options order_opts;
        order_opts.wait = ms("bus.reorder_wait_ms");
        hub_ = std::make_unique<events::hub>(*sio_, *tokens_, rpc_opts, bus_.get(), order_opts);
        for (auto& m : parts_.modules) {
            if (!m.enabled) {
                log::info("module disabled", {{"module", m.name}});
                continue;
            }
            const auto& section = config::at(cfg(), "modules").as_object().at(m.name).as_object();
            module_context_impl ctx(m.name, section, *database_, *tokens_, *file_store_, settings_, router_, *hub_,
                                    parts_.jobs);
            try {
                m.impl->setup(ctx);
            } catch (const std::exception& e) {
                throw startup_error(fmt::format("module {}: {}", m.name, e.what()));
            }
        }
    }

    void build_http() {
        const auto limit = limits::settings_from_config(cfg());
        auth_rate_ = std::make_unique<limits::rate_limiter>(limit.auth_requests_per_minute, limit.auth_burst);
        pipe_ = std::make_unique<http::pipeline>(router_, *tokens_);
        pipe_->add_rate_limit("auth", *auth_rate_, "authentication requests");
        threads_ = static_cast<std::size_t>(config::get_int(cfg(), "server.threads"));
        if (threads_ == 0) {
            threads_ = std::max(1u, std::thread::hardware_concurrency());
        }
        io_ = std::make_unique<asio::io_context>(static_cast<int>(threads_));
        // SIGHUP reloads (see reload_on_sighup) from here on; its default action would end the process.
        hup_ = std::make_unique<asio::signal_set>(*io_, SIGHUP);
        opts_.host = config::get_string(cfg(), "server.host");
        opts_.port = static_cast<std::uint16_t>(config::get_int(cfg(), "server.port"));
        opts_.body_limit = static_cast<std::uint64_t>(config::get_int(cfg(), "server.body_limit"));
        opts_.header_timeout = ms("server.header_timeout_ms");
        opts_.body_timeout = ms("server.body_timeout_ms");
        opts_.keep_alive_timeout = ms("server.keep_alive_timeout_ms");
        opts_.log_requests = config::get_bool(cfg(), "log.requests");
        opts_.max_connections = limit.max_connections;
        opts_.max_connections_per_address = limit.max_connections_per_ip;
        opts_.trusted_proxies = limit.trusted_proxies;
        opts_.limit_exempt = limit.exempt;
        if (auto cert = config::get_string(cfg(), "server.tls.cert_file"); !cert.empty()) {
            try {
                opts_.tls = std::make_shared<http::tls_context>(cert, config::get_string(cfg(), "server.tls.key_file"));
            } catch (const http::tls_error& e) {
                throw startup_error(e.what());
            }
            http::tls_log_certificate("TLS certificate loaded", opts_.tls->info());
        }
        tracer_ = ops::make_tracer(cfg());
        opts_.tracer = tracer_.get();
        srv_ = std::make_unique<http::server>(*io_, opts_, *pipe_);

        // The metrics port: its own router and listener, not counted in its own request metrics.
        metrics_router_.add(http::route{.method = http::verb::get, .path = "/metrics", .fn = &metrics_text});
        metrics_router_.add(http::route{.method = http::verb::get, .path = "/health", .fn = &metrics_health});
        metrics_pipe_ = std::make_unique<http::pipeline>(metrics_router_, *tokens_);
        metrics_opts_ = opts_;
        metrics_opts_.tls = nullptr;  // Prometheus scrapes plain HTTP on loopback
        metrics_opts_.host = config::get_string(cfg(), "metrics.host");
        metrics_opts_.port = static_cast<std::uint16_t>(config::get_int(cfg(), "metrics.port"));
        metrics_opts_.log_requests = false;
        metrics_opts_.metrics = false;
        metrics_opts_.tracer = nullptr;
        metrics_opts_.max_connections = 0;  // the scraper's port: the API port's limits do not apply
        metrics_opts_.max_connections_per_address = 0;
        if (config::get_bool(cfg(), "metrics.enabled")) {
            metrics_srv_ = std::make_unique<http::server>(*io_, metrics_opts_, *metrics_pipe_);
        }

        engineio::options eio_opts;
        eio_opts.path = config::get_string(cfg(), "realtime.path");
        if (eio_opts.path.back() != '/') {
            eio_opts.path.push_back('/');  // engine.io normalises its path with a trailing slash
        }
        eio_opts.ping_interval = ms("realtime.ping_interval_ms");
        eio_opts.ping_timeout = ms("realtime.ping_timeout_ms");
        eio_opts.max_payload = static_cast<std::size_t>(config::get_int(cfg(), "realtime.max_payload"));
        eio_opts.max_queued_bytes = static_cast<std::size_t>(config::get_int(cfg(), "realtime.max_queued_bytes"));
        eio_opts.allow_polling = config::get_bool(cfg(), "realtime.polling");
        eio_ = std::make_unique<engineio::server>(*io_, eio_opts, *sio_);
        srv_->add_protocol(eio_.get());
    }

    /// Core jobs get their handlers (module jobs were bound in setup()); cluster-wide jobs are claimed per fire.
    void bind_jobs() {
        scheduler_ = std::make_unique<sched::scheduler>(io_->get_executor());
        runtime().set_version(std::string(version_string));
        runtime().set_scheduler(scheduler_.get());
        for (auto& j : parts_.jobs) {
            if (j.decl.name == "malloc-trim") {
                j.fn = []() -> asio::awaitable<void> {
                    malloc_trim(0);
                    co_return;
                };
            } else if (j.decl.name == "db-maintain") {
                j.fn = [db = database_.get()] { return db->maintain(); };
            } else if (j.decl.name == "backup" && j.owner.empty()) {
                j.fn = [db = database_.get(), s = ops::backup_job_settings_from(cfg()), secret = secret_] {
                    return ops::run_backup_job(*db, s, secret);
                };
            }
            if (!j.fn) {
                continue;  // its module is disabled
            }
            if (!j.schedule) {
                log::info("job disabled", {{"job", j.decl.name}});
                continue;
            }
            // With one shared database, a cluster job runs once per fire; with SQLite every instance has its own.
            if (j.decl.runs_on == job_decl::scope::cluster && bus_->clustered() &&
                database_->kind() != db::dialect::sqlite) {
                j.fn = claimed_job(std::move(j.fn), *bus_, j.decl.name);
            }
            log::debug("job scheduled", {{"job", j.decl.name}, {"schedule", j.schedule->text()}});
            scheduler_->add({j.decl.name, std::move(*j.schedule), std::move(j.fn), j.run_at_start});
        }
        hub_->limit_sockets_per_account(limits::settings_from_config(cfg()).max_sockets_per_account);
        hub_->install();
    }

    void listen() {
        try {
            settings_.port = srv_->listen();
        } catch (const std::exception& e) {
            throw startup_error(fmt::format("cannot listen on {}:{}: {}", opts_.host, opts_.port, e.what()));
        }
        if (metrics_srv_) {
            try {
                metrics_port_ = metrics_srv_->listen();
            } catch (const std::exception& e) {
                throw startup_error(fmt::format("cannot listen on {}:{} (metrics): {}", metrics_opts_.host,
                                                metrics_opts_.port, e.what()));
            }
        }
        add_gauges();
        open_admin_socket();
    }

    /// `<data_dir>/admin.sock`: `backup` (of the running server), `status` and `integrity` (doctor, restore). Its
    /// absence costs those commands, not the service: a failure is logged and start-up goes on.
    void open_admin_socket() {
        admin_ = std::make_unique<ops::admin_server>(*io_, ops::admin_socket_path(settings_.data_dir));
        ops::add_admin_ops(*admin_, *database_, secret_, [this] {
            return ops::server_status{settings_.port, metrics_srv_ ? metrics_port_ : 0, database_->describe(),
                                      std::string(build_info::version())};
        });
        try {
            admin_->start();
        } catch (const std::exception& e) {
            log::warn("admin socket unavailable: `happy-server backup` of the running server and doctor's database "
                      "check will not reach it",
                      {{"error", e.what()}});
            admin_.reset();
        }
    }

    /// SIGHUP: the configuration again (file and environment as at start), what may change applied.
    asio::awaitable<void> reload_on_sighup() {
        json::value schema = config_schema(parts_);
        json::object current = cfg();
        for (;;) {
            auto [ec, sig] = co_await hup_->async_wait(asio::as_tuple(asio::use_awaitable));
            if (ec) {
                co_return;
            }
            // Named locals (g++ 12 and temporaries in coroutines, see core/util/run_on.cpp).
            std::function<json::object()> load = [this] {
                auto next = load_declared_config(parts_, env_, config_file_);
                ops::check_backup_job(next);
                return next;
            };
            std::function<void(const ops::reload_plan&, const json::object&)> apply =
                [this](const ops::reload_plan& plan, const json::object& next) { apply_reload(plan, next); };
            ops::handle_sighup(schema, current, load, apply);
            // Renewed certificates replace the files, not the configuration: reread them on every SIGHUP.
            if (opts_.tls) {
                http::tls_reload_logged(*opts_.tls);
            }
        }
    }

    void apply_reload(const ops::reload_plan& plan, const json::object& next) {
        bool log_file = false;
        std::vector<std::string> modules;
        for (const auto& key : plan.apply) {
            if (key == "log.file" || key == "log.max_size_mb" || key == "log.max_files") {
                log_file = true;
            } else if (key.starts_with("modules.")) {
                auto name = key.substr(8, key.find('.', 8) - 8);
                if (std::find(modules.begin(), modules.end(), name) == modules.end()) {
                    modules.push_back(name);
                }
            }
        }
        if (log_file) {
            ops::apply_log_file(next);  // throws when the new file cannot be opened: nothing else is applied
        }
        ops::apply_log_format(next);
        srv_->set_log_requests(config::get_bool(next, "log.requests"));
        for (const auto& name : modules) {
            for (auto& m : parts_.modules) {
                if (m.name == name && m.enabled) {
                    m.impl->reload(config::at(next, "modules").as_object().at(name).as_object());
                }
            }
        }
    }

    /// Values owned by this object's members, read at scrape time; removed in the destructor, before they go.
    void add_gauges() {
        auto& gauges = metrics::global();
        auto* srv = srv_.get();
        auto* eio = eio_.get();
        auto* sio = sio_.get();
        gauges.add_callback("http_open_connections", "Open HTTP connections on the API port", "gauge",
                            [srv] { return static_cast<double>(srv->connection_count()); });
        gauges.add_callback("engineio_open_sessions", "Open Engine.IO sessions (WebSocket and polling)", "gauge",
                            [eio] { return static_cast<double>(eio->session_count()); });
        gauges.add_callback("engineio_sessions_opened_total", "Engine.IO sessions opened since start", "counter",
                            [eio] { return static_cast<double>(eio->sessions_opened()); });
        gauges.add_callback("socketio_connected_sockets", "Connected Socket.IO sockets", "gauge",
                            [sio] { return static_cast<double>(sio->socket_count()); });
        gauges.add_callback("engineio_slow_client_disconnects_total",
                            "Clients disconnected for leaving more than realtime.max_queued_bytes unread", "counter",
                            [eio] { return static_cast<double>(eio->slow_client_disconnects()); });
        gauges.add_callback("http_accept_fd_exhausted_total",
                            "accept() calls on the API port that failed for lack of file descriptors (EMFILE/ENFILE); "
                            "the client waited in the backlog and existing connections were served meanwhile",
                            "counter", [srv] { return static_cast<double>(srv->accept_fd_exhausted()); });
        auto* hub = hub_.get();
        auto* auth_rate = auth_rate_.get();
        gauges.add_callback("http_connections_refused_instance_total",
                            "Connections refused because the API port held limits.max_connections (503)", "counter",
                            [srv] { return static_cast<double>(srv->refused_instance()); });
        gauges.add_callback("http_connections_refused_address_total",
                            "Connections refused because their client address held limits.max_connections_per_ip (429)",
                            "counter", [srv] { return static_cast<double>(srv->refused_address()); });
        gauges.add_callback("socketio_connects_refused_account_total",
                            "Socket.IO connects refused because the account held limits.max_sockets_per_account",
                            "counter", [hub] { return static_cast<double>(hub->sockets_refused()); });
        gauges.add_callback("http_auth_rate_limited_total",
                            "Requests to the /v1/auth routes refused by limits.auth_requests_per_minute (429)",
                            "counter", [auth_rate] { return static_cast<double>(auth_rate->refused()); });
        gauges.add_callback("process_resident_memory_bytes", "Resident memory size in bytes", "gauge",
                            [] { return metrics::resident_bytes(); });
        // RSS alone cannot tell a leak from caches filling up or freed memory the allocator keeps: these two can.
        gauges.add_callback("process_heap_in_use_bytes", "Heap memory allocated and not freed (malloc)", "gauge",
                            [] { return metrics::heap_in_use_bytes(); });
        if (database_->memory_bytes() >= 0) {
            gauges.add_callback("storage_memory_bytes",
                                "Memory of the embedded database (SQLite page caches and statements)", "gauge",
                                [db = database_.get()] { return static_cast<double>(db->memory_bytes()); });
        }
        add_bus_metrics(*bus_);
        add_order_metrics(*hub);
        gauges_added_ = true;
    }

    int run_until_signal() {
        signals_ = std::make_unique<asio::signal_set>(*io_, SIGINT, SIGTERM);
        asio::co_spawn(*io_, reload_on_sighup(), asio::detached);
        asio::co_spawn(*io_, serve(), [](std::exception_ptr ep) {
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
        for (std::size_t i = 1; i < threads_; ++i) {
            pool.emplace_back([this] { io_->run(); });
        }
        io_->run();
        for (auto& t : pool) {
            t.join();
        }
        database_->close();
        log::info("stopped");
        return exit_code_;
    }

    /// Starts the bus, the modules, the listeners and the jobs; then waits for SIGINT/SIGTERM and drains.
    asio::awaitable<void> serve() {
        // A cluster member that cannot reach its bus must not start serving half a cluster.
        // Before the bus delivers anything and before any request can emit.
        hub_->start(io_->get_executor());
        try {
            co_await bus_->start(io_->get_executor());
        } catch (const std::exception& e) {
            std::cerr << "happy-server: bus: " << e.what() << "\n";
            exit_code_ = exit_failed;
            io_->stop();
            co_return;
        }
        for (auto& m : parts_.modules) {
            if (m.enabled) {
                co_await m.impl->start();
            }
        }
        srv_->start();
        if (metrics_srv_) {
            metrics_srv_->start();
            log::info("metrics listening", {{"address", metrics_opts_.host}, {"port", metrics_port_}});
        }
        scheduler_->start();
        if (tracer_) {
            tracer_->start(*io_);
            log::info("tracing: exporting spans", {{"otlp_url", config::get_string(cfg(), "tracing.otlp_url")}});
        }
        log::info("listening", {{"address", opts_.host}, {"port", settings_.port},
                                {"storage", database_->describe()}, {"threads", threads_}, {"tls", opts_.tls != nullptr}});

        auto [ec, sig] = co_await signals_->async_wait(asio::as_tuple(asio::use_awaitable));
        if (ec) {
            co_return;
        }
        log::info("shutting down", {{"signal", sig}, {"connections", srv_->connection_count()}});
        co_await drain();
    }

    /// The bounded shutdown: listeners stop, sockets close, jobs stop, requests drain, modules stop (reverse).
    asio::awaitable<void> drain() {
        auto bound = ms("server.shutdown_timeout_ms");
        // A second signal during the drain means "now".
        signals_->async_wait([](const boost::system::error_code& e, int) {
            if (!e) {
                log::flush();
                std::_Exit(1);
            }
        });
        srv_->begin_shutdown();
        if (metrics_srv_) {
            metrics_srv_->begin_shutdown();
        }
        hup_->cancel();
        if (admin_) {
            admin_->stop();
        }
        eio_->close_all("server shutting down");
        // Jobs stop first (cancelled, waited for briefly): modules' stop() may flush what they batch.
        co_await scheduler_->stop(std::min<std::chrono::milliseconds>(bound, std::chrono::seconds(1)));
        co_await srv_->drain(bound);
        if (tracer_) {
            co_await tracer_->stop();  // the spans of the last requests
        }
        {
            // Give WebSocket close handshakes a moment (bounded) before the io_context stops.
            asio::steady_timer t(*io_);
            for (int i = 0; i < 40 && eio_->session_count() > 0; ++i) {
                t.expires_after(std::chrono::milliseconds(5));
                co_await t.async_wait(asio::as_tuple(asio::use_awaitable));
            }
        }
        for (auto it = parts_.modules.rbegin(); it != parts_.modules.rend(); ++it) {
            if (it->enabled) {
                try {
                    co_await it->impl->stop();
                } catch (const std::exception& e) {
                    log::error("module stop failed", {{"module", it->name}, {"error", e.what()}});
                    exit_code_ = exit_failed;
                }
            }
        }
        hub_->stop();
        co_await bus_->stop();
        signals_->cancel();
        io_->stop();
    }

public:
    ~server_process() {
        if (gauges_added_) {
            metrics::global().clear_callbacks();
        }
        runtime().set_scheduler(nullptr);
    }

private:
    // Destroyed last: the modules (in parts_) own timers and strands of it.
    std::unique_ptr<asio::io_context> io_;
    app_config parts_;
    server_settings settings_;
    std::unique_ptr<auth::token_service> tokens_;
    std::unique_ptr<db::database> database_;
    std::unique_ptr<files::file_store> file_store_;
    std::unique_ptr<bus::bus> bus_;  // its connections and timers live on io_
    http::router router_;
    std::unique_ptr<socketio::server> sio_;
    std::unique_ptr<events::hub> hub_;
    std::unique_ptr<limits::rate_limiter> auth_rate_;  // outlives pipe_, which holds a reference to it
    std::unique_ptr<http::pipeline> pipe_;
    std::size_t threads_ = 1;
    http::server_options opts_;
    std::unique_ptr<trace::exporter> tracer_;  // outlives srv_, which holds a pointer to it
    std::unique_ptr<http::server> srv_;
    http::router metrics_router_;
    std::unique_ptr<http::pipeline> metrics_pipe_;
    http::server_options metrics_opts_;
    std::unique_ptr<http::server> metrics_srv_;
    std::uint16_t metrics_port_ = 0;
    std::unique_ptr<sched::scheduler> scheduler_;
    std::unique_ptr<engineio::server> eio_;
    std::unique_ptr<asio::signal_set> signals_;
    std::unique_ptr<asio::signal_set> hup_;
    std::unique_ptr<ops::admin_server> admin_;
    std::optional<std::string> config_file_;
    config::env_map env_;
    std::string secret_;
    bool gauges_added_ = false;
    int exit_code_ = exit_ok;
};

}  // namespace

int command_serve(command_args& args) {
    tune_allocator();
    std::signal(SIGPIPE, SIG_IGN);
    bool check_only = false;
    bool print_routes = false;
    for (const auto& a : args.rest) {
        if (a == "--check-config") {
            check_only = true;
        } else if (a == "--print-routes") {
            print_routes = true;
        } else {
            return report_failure(fmt::format("unknown argument {} (see happy-server serve --help)", a), exit_usage);
        }
    }
    return run_stages([&] {
        auto parts = collect_parts();
        load_configuration(parts, args);
        if (check_only) {
            std::cout << "configuration ok\n";
            return int(exit_ok);
        }
        server_process server(std::move(parts), args);
        return print_routes ? server.print_routes() : server.run();
    });
}

}  // namespace happy
