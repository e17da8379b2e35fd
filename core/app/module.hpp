/// @file
/// The module interface: a feature area declares its routes, socket events, SQL migrations and config schema.
/// Lifecycle (userver-style): construct (no I/O) → setup() when enabled → start() → … → stop() in reverse order.
#pragma once
#include <boost/asio/awaitable.hpp>
#include <boost/json/object.hpp>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/app/command.hpp"
#include "core/auth/registration.hpp"
#include "core/config/config.hpp"
#include "core/events/types.hpp"
#include "core/http/types.hpp"

namespace happy {

namespace db {
class database;
}
namespace auth {
class token_service;
}
namespace files {
class file_store;
}

/// Process-wide settings modules may need (resolved from the config).
struct server_settings {
    std::string data_dir;
    std::string public_url;  ///< may be empty: then URLs are built from the request's Host
    int port = 0;
    /// auth.registration: who may create an account (the auth module's POST /v1/auth).
    auth::registration_policy registration;

    /// Set when the file store publishes public files itself (S3: S3_PUBLIC_URL); see files_base_url().
    std::optional<std::string> files_public_base;

    /// storage/files.ts getPublicUrl (avatar URLs of the account profile and of user profiles): the store's own
    /// base (S3_PUBLIC_URL) when it has one, else local-storage mode's `${PUBLIC_URL || 'http://localhost:' +
    /// PORT}/files`.
    std::string files_base_url() const {
        if (files_public_base) {
            return *files_public_base;
        }
        return (public_url.empty() ? "http://localhost:" + std::to_string(port) : public_url) + "/files";
    }
};

/// A scheduled job a module runs (core/sched): its name is its config key (`jobs.<name>.schedule`,
/// `jobs.<name>.enabled`), the schedule a cron expression evaluated in UTC (5 fields, or 6 with seconds first).
struct job_decl {
    std::string name;
    std::string schedule;     ///< default cron expression
    std::string description;  ///< one line, for logs and docs
    /// `cluster`: with several instances on one shared database, each fire runs on one instance only (it is
    /// claimed on the bus). `instance`: every instance runs it (flushes of its own batches, memory trimming).
    enum class scope { instance, cluster } runs_on = scope::instance;
    /// `jobs.<name>.enabled` when the config does not say (off for jobs that need setting up, e.g. backups).
    bool enabled_by_default = true;
    /// JSON text of the job's own settings under `jobs.<name>` (schema properties), or empty.
    std::string_view extra_properties = {};
};

using job_fn = std::function<boost::asio::awaitable<void>()>;

/// What a module gets in setup(): its config section, core services, and registration hooks.
class module_context {
public:
    virtual ~module_context() = default;
    virtual const boost::json::object& config() const = 0;  ///< this module's validated section
    virtual db::database& db() = 0;
    virtual auth::token_service& tokens() = 0;
    /// The file store chosen by `files.kind` (attachment blobs, public files).
    virtual files::file_store& files() = 0;
    virtual const server_settings& settings() const = 0;
    virtual void add_route(http::route r) = 0;
    virtual void add_event(events::event_def e) = 0;
    /// Fan-out to connected clients (update / ephemeral events).
    virtual events::emitter& events() = 0;
    /// Binds the handler of a job the module declared in jobs(). It runs on the configured schedule (never
    /// overlapping itself) from after start() until shutdown begins, unless the config disables it;
    /// `run_at_start` also runs it once right after start-up.
    virtual void add_job(std::string_view name, job_fn fn, bool run_at_start = false) = 0;
};

class module {
public:
    virtual ~module() = default;
    /// Names of this module's migrations, embedded from schemas/sql/<dialect>/<name>.sql; the numeric prefix is
    /// the global schema version. They are applied even when the module is disabled, so that enabling it later
    /// needs no migration step and versions stay monotonic.
    virtual std::vector<std::string> migrations() const { return {}; }
    /// Scheduled jobs the module runs (bound in setup() with add_job). Declared here, before setup, so that the
    /// configuration can name them.
    virtual std::vector<job_decl> jobs() const { return {}; }
    /// JSON Schema (subset) of the module's config section; `enabled` is always accepted. Empty = no options.
    virtual std::string_view config_schema() const { return {}; }
    /// Subcommands the module adds to `happy-server` (`accounts …`), listed after the core's. A command runs the
    /// start-up stages it needs itself (core/app/bootstrap.hpp).
    virtual std::vector<command> commands() const { return {}; }
    /// Environment variables that set keys of this module's section (upstream's names; keys dotted from the root,
    /// e.g. `modules.connect.github.client_id`).
    virtual std::vector<config::env_binding> env_bindings() const { return {}; }
    /// Checks what the schema cannot express in the module's validated section (a URL's syntax, say) and throws
    /// std::exception naming the key relative to the section ("expo_url: invalid URL ..."). Runs for every enabled
    /// module before anything is opened or migrated, in --check-config exactly as at start-up, so setup() may rely
    /// on a section that passed it.
    virtual void check_config(const boost::json::object& section) const {}
    /// Reads config and registers routes and events. Called only when the module is enabled.
    virtual void setup(module_context& ctx) = 0;
    /// SIGHUP: the module's new validated section, when keys its schema marks `"reloadable": true` changed (only
    /// those take effect; the server logs the others as needing a restart). Runs on a network thread.
    virtual void reload(const boost::json::object& section) {}
    virtual boost::asio::awaitable<void> start() { co_return; }
    virtual boost::asio::awaitable<void> stop() { co_return; }
};

}  // namespace happy
