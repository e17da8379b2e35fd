#include "core/app/bootstrap.hpp"

#include <unistd.h>

#include <boost/asio/ip/address.hpp>
#include <boost/json.hpp>
#include <charconv>
#include <filesystem>
#include <fmt/format.h>
#include <iostream>

#include "core/auth/registration.hpp"
#include "core/config/config.hpp"
#include "core/db/database.hpp"
#include "core/limits/settings.hpp"
#include "core/log/log.hpp"
#include "core/ops/serve.hpp"
#include "core/util/resources.hpp"

namespace happy {

namespace json = boost::json;

namespace {

/// Jobs of the core itself.
std::vector<job_decl> core_jobs() {
    return {
        // Hand freed heap pages back to the OS now and then: connection bursts (10k sockets pinged in the same
        // second) would otherwise leave the peak resident forever.
        {"malloc-trim", "*/30 * * * * *", "return freed heap memory to the OS"},
        // Database housekeeping (SQLite WAL checkpoints) off the request path.
        {"db-maintain", "* * * * * *", "database housekeeping (SQLite WAL checkpoints)"},
        // Scheduled backups (off by default): core/ops/backup.cpp.
        ops::backup_job_decl(),
    };
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

/// One plugin category's choice (`storage.kind`, ...): known by the registry, its section checked by the plugin.
template <class Factory>
void check_plugin_choice(const json::object& cfg, std::string_view area, std::string_view what,
                         const plugin_registry<Factory>& plugins) {
    std::string kind = config::get_string(cfg, std::string(area) + ".kind");
    if (!plugins.find(kind)) {
        throw config::error(fmt::format("{}.kind: unknown {} plugin \"{}\" (compiled in: {})", area, what, kind,
                                        join_names(plugins.names())));
    }
    if (const auto* check = plugins.check(kind)) {
        const auto* section = config::at(cfg, area).as_object().if_contains(kind);
        try {
            (*check)(section && section->is_object() ? section->get_object() : json::object());
        } catch (const std::exception& e) {
            throw config::error(fmt::format("{}.{}.{}", area, kind, e.what()));
        }
    }
}

}  // namespace

app_config collect_parts() {
    app_config parts;
    register_compiled_in(parts.reg);
    for (const auto& d : core_jobs()) {
        parts.jobs.push_back({d, "", {}, false, {}});
    }
    for (const auto& [name, factory] : parts.reg.modules()) {
        parts.modules.push_back({name, factory(), false});
        for (auto& d : parts.modules.back().impl->jobs()) {
            parts.jobs.push_back({std::move(d), name, {}, false, {}});
        }
    }
    for (std::size_t i = 0; i < parts.jobs.size(); ++i) {
        for (std::size_t k = 0; k < i; ++k) {
            if (parts.jobs[k].decl.name == parts.jobs[i].decl.name) {
                throw startup_error(fmt::format("job {} is declared twice", parts.jobs[i].decl.name));
            }
        }
    }
    return parts;
}

json::value config_schema(const app_config& parts) {
    return config::compose_schema(core_schema_text(), declared_config(parts));
}

void load_configuration(app_config& parts, const command_args& args) {
    parts.cfg = load_declared_config(parts, args.env, args.config_file);
    for (auto& j : parts.jobs) {
        const auto& section = config::at(parts.cfg, "jobs").as_object().at(j.decl.name).as_object();
        std::string text(section.at("schedule").as_string());
        try {
            auto c = sched::cron::parse(text);
            if (section.at("enabled").as_bool()) {
                j.schedule = std::move(c);
            }
        } catch (const sched::cron_error& e) {
            throw config::error(
                fmt::format("jobs.{}.schedule: invalid cron expression \"{}\": {}", j.decl.name, text, e.what()));
        }
    }
    check_settings(parts);
}

void check_settings(app_config& parts) {
    const auto& cfg = parts.cfg;
    check_plugin_choice(cfg, "storage", "storage", parts.reg.storage());
    check_plugin_choice(cfg, "files", "file store", parts.reg.file_stores());
    check_plugin_choice(cfg, "bus", "bus", parts.reg.buses());
    // The listeners bind addresses, not names (no resolver at start-up): "localhost" would fail only at listen().
    for (std::string_view key : {"server.host", "metrics.host"}) {
        std::string host = config::get_string(cfg, key);
        boost::system::error_code ec;
        boost::asio::ip::make_address(host, ec);
        if (ec) {
            throw config::error(
                fmt::format("{}: must be an IP address such as 0.0.0.0, 127.0.0.1 or ::, got \"{}\"", key, host));
        }
    }
    auth::registration_policy_from_config(cfg);
    if (config::get_string(cfg, "server.tls.cert_file").empty() != config::get_string(cfg, "server.tls.key_file").empty()) {
        throw config::error("server.tls: cert_file and key_file go together (both set for HTTPS, both empty for HTTP)");
    }
    ops::check_backup_job(cfg);
    limits::settings_from_config(cfg);  // address ranges
    for (auto& m : parts.modules) {
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

void configure_logging(const json::object& cfg) {
    log::configure(*log::parse_level(config::get_string(cfg, "log.level")),
                   config::get_string(cfg, "log.format") == "json" ? log::format::json : log::format::console);
}

app_config load_for_tool(const command_args& args) {
    auto parts = collect_parts();
    load_configuration(parts, args);
    configure_logging(parts.cfg);
    log::set_output_fd(STDERR_FILENO);
    return parts;
}

std::string prepare_data_dir(const json::object& cfg) {
    std::string dir = config::get_string(cfg, "data_dir");
    try {
        std::filesystem::create_directories(dir);
    } catch (const std::exception& e) {
        throw startup_error(fmt::format("cannot create data directory {}: {}", dir, e.what()));
    }
    return dir;
}

std::vector<db::migration> module_migrations(const app_config& parts, db::dialect d) {
    std::string dialect = d == db::dialect::sqlite ? "sqlite" : "postgres";
    std::vector<db::migration> migrations;
    for (const auto& m : parts.modules) {
        for (const auto& name : m.impl->migrations()) {
            auto text = resource_text("sql/" + dialect + "/" + name + ".sql");
            if (!text) {
                throw startup_error(fmt::format("module {} declares migration {} but schemas/sql/{}/{}.sql is not embedded",
                                                m.name, name, dialect, name));
            }
            migrations.push_back({migration_version(name), name, m.name, std::string(*text)});
        }
    }
    return migrations;
}

std::unique_ptr<db::database> open_storage(const app_config& parts, const std::string& data_dir,
                                           db::migrate_result* migrated) {
    std::string kind = config::get_string(parts.cfg, "storage.kind");
    try {
        storage_options so;
        so.data_dir = data_dir;
        if (auto* sec = config::at(parts.cfg, "storage").as_object().if_contains(kind)) {
            so.config = sec->as_object();
        }
        auto database = std::make_unique<db::database>((*parts.reg.storage().find(kind))(so));
        auto result = database->migrate(module_migrations(parts, database->kind()));
        if (migrated) {
            *migrated = std::move(result);
        }
        return database;
    } catch (const std::exception& e) {
        throw startup_error(fmt::format("storage: {}", e.what()));
    }
}

int report_failure(std::string_view what, int code) {
    // Before logging is configured, and for fatal start-up errors, write a plain line to stderr.
    std::cerr << "happy-server: " << what << "\n";
    return code;
}

}  // namespace happy
