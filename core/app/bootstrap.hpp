/// @file
/// The start-up stages every command shares: collect the compiled-in modules, plugins and jobs, load and check the
/// configuration, open storage and migrate it. `serve` continues from there (core/app/serve.cpp); `migrate`,
/// `backup`, `copy` and the other tools stop where they have what they need.
#pragma once
#include <boost/json/object.hpp>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/app/command.hpp"
#include "core/app/module.hpp"
#include "core/app/registry.hpp"
#include "core/db/database.hpp"
#include "core/sched/cron.hpp"

namespace happy {

/// A stage that cannot go on: the message is printed as `happy-server: <what>` and the process exits 1.
struct startup_error : std::runtime_error {
    using std::runtime_error::runtime_error;
};

struct loaded_module {
    std::string name;
    std::unique_ptr<module> impl;
    bool enabled = false;
};

/// A declared job: who declared it (a module name, or "" for the core), its default schedule, and once bound
/// its handler and its schedule (empty when disabled in the config).
struct declared_job {
    job_decl decl;
    std::string owner;
    job_fn fn;
    bool run_at_start = false;
    std::optional<sched::cron> schedule;
};

/// What the configuration stage produces: the compiled-in parts and the validated configuration tree.
struct app_config {
    registry reg;
    std::vector<loaded_module> modules;
    std::vector<declared_job> jobs;
    boost::json::object cfg;
};

/// Stage 1: every compiled-in module (constructed, no I/O), plugin and job. Throws startup_error when two parts
/// declare the same job.
app_config collect_parts();

/// What the parts declare about the configuration: module and plugin sections, their variables, the jobs.
config::parts_schema declared_config(const app_config& parts);
/// The core's own schema (schemas/config/server.json, embedded).
std::string core_schema_text();
/// config::load with the core's schema and what `parts` declare (file, then environment, then the schema check).
boost::json::object load_declared_config(const app_config& parts, const config::env_map& env,
                                         const std::optional<std::string>& file = std::nullopt);

/// The JSON schema of every accepted key (`--print-config-schema`).
boost::json::value config_schema(const app_config& parts);

/// Stage 2: loads the configuration (file, then environment) into `parts.cfg`, resolves every job's schedule and
/// runs check_settings(). Throws config::error naming the key.
void load_configuration(app_config& parts, const command_args& args);

/// Everything start-up refuses in the configuration itself (beyond the schema), checked before anything is
/// created, opened or migrated. `--check-config` runs this same function, so the check cannot pass a
/// configuration that start-up then refuses. Marks each module enabled or not. Throws config::error.
void check_settings(app_config& parts);

/// Log level and format from the configuration.
void configure_logging(const boost::json::object& cfg);

/// Stages 1-2 for a command that prints a result: parts and configuration loaded, logging configured and sent to
/// stderr (stdout is the result).
app_config load_for_tool(const command_args& args);

/// The data directory, created when missing. Throws startup_error.
std::string prepare_data_dir(const boost::json::object& cfg);

/// Every module's migrations (enabled or not) written for `d`, from the embedded schemas/sql/<dialect>/. Throws
/// startup_error when a declared migration is not embedded.
std::vector<db::migration> module_migrations(const app_config& parts, db::dialect d);

/// Stage 3: opens the configured storage plugin and applies every module's migrations (enabled or not: a module
/// switched on later finds its tables); `migrated`, when given, receives what was applied. Throws startup_error.
std::unique_ptr<db::database> open_storage(const app_config& parts, const std::string& data_dir,
                                           db::migrate_result* migrated = nullptr);

/// Runs a command's stage function, turning config::error into exit 2 and startup_error (or any other
/// exception) into exit 1 with one line on stderr.
template <class Fn>
int run_stages(Fn&& fn);

int report_failure(std::string_view what, int code);

template <class Fn>
int run_stages(Fn&& fn) {
    try {
        return fn();
    } catch (const config::error& e) {
        return report_failure(std::string("configuration error: ") + e.what(), exit_usage);
    } catch (const std::exception& e) {
        return report_failure(e.what(), exit_failed);
    }
}

}  // namespace happy
