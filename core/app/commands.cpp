/// @file
/// The command line: `happy-server [command] [flags]`, the common flags, `--help` for each command, and the
/// core's small commands (migrate, version).

#include <boost/json.hpp>
#include <fmt/format.h>
#include <iostream>

#include "core/app/bootstrap.hpp"
#include "core/app/build_info.hpp"
#include "core/app/command.hpp"
#include "core/db/database.hpp"
#include "core/log/log.hpp"
#include "core/ops/commands.hpp"
#include "core/ops/ops_cli.hpp"

namespace happy {

namespace {

constexpr std::string_view common_flags_help =
    "Common flags (every command):\n"
    "  --config FILE     JSON config file (comments allowed); also HAPPY_CONFIG\n"
    "  --data-dir DIR    data directory (database, master secret, files); same as DATA_DIR\n"
    "  --port N          API port (0 picks a free one); same as PORT\n"
    "  --host ADDR       listen address; same as HOST\n"
    "  --json            machine-readable output (commands that print results)\n"
    "  -h, --help        this command's help\n";

const command command_table[] = {
    {"serve", "run the server (the default command)",
     "Usage: happy-server [serve] [flags] [--check-config | --print-routes]\n"
     "\n"
     "Starts the Happy sync server. With no flags it listens on 0.0.0.0:3005 and keeps its SQLite database,\n"
     "master secret and files in ./data.\n"
     "\n"
     "  --check-config    validate the configuration as start-up does (before opening or migrating anything)\n"
     "                    and exit: 0 if valid, 2 if not\n"
     "  --print-routes    set up as for serving (data directory, database, modules), print the HTTP routes and\n"
     "                    socket events of the enabled modules as JSON and exit\n",
     &command_serve},
    {"migrate", "apply the database migrations and exit",
     "Usage: happy-server migrate [flags]\n"
     "\n"
     "Opens the configured storage, applies every migration not applied yet (as a start does) and exits.\n"
     "Prints the schema version; with --json, {\"storage\":…,\"applied\":[…]}.\n",
     &command_migrate},
    {"version", "print the version, commit, build and compiled-in parts, and exit",
     "Usage: happy-server version [--json]\n", &command_version},
    {"health", "check that the server on this configuration's port answers (container HEALTHCHECK)",
     "Usage: happy-server health [flags]\n"
     "\n"
     "GET /health on the configured host and port (0.0.0.0 and :: are asked on loopback); exits 0 when it\n"
     "answers 200 within 3 s, else 1.\n",
     &command_health},
    {"backup", "write a verified copy of the SQLite database (of a running server too)", ops::backup_usage,
     &command_backup},
    {"restore", "replace the SQLite database with a backup (the server stopped)", ops::restore_usage,
     &command_restore},
    {"copy", "copy every table into another database (SQLite <-> PostgreSQL), verified", ops::copy_usage,
     &ops::run_copy},
    {"import-upstream", "import an upstream Happy server's PostgreSQL database (and its files)",
     ops::import_upstream_usage, &ops::run_import_upstream},
    {"doctor", "check the deployment, one line per check with a fix", ops::doctor_usage, &command_doctor},
};

void print_overview() {
    std::cout << "Usage: happy-server [command] [flags]\n"
                 "\n"
                 "Commands:\n";
    for (const auto& c : commands()) {
        std::cout << fmt::format("  {:<16}{}\n", c.name, c.summary);
    }
    std::cout << "\n"
              << common_flags_help
              << "  --print-config-schema\n"
                 "                    print the JSON schema of every accepted key (with defaults and the\n"
                 "                    environment variable of each) and exit\n"
                 "  --version         print the version and exit\n"
                 "\n"
                 "`happy-server <command> --help` describes one command. Exit codes: 0 success, 1 failure,\n"
                 "2 bad flags or configuration.\n"
                 "\n"
                 "Environment: HANDY_MASTER_SECRET, PORT, HOST, DATA_DIR, DATABASE_URL (PostgreSQL), REDIS_URL,\n"
                 "PUBLIC_URL, HAPPY_LOG_LEVEL, HAPPY_LOG_FORMAT, HAPPY_THREADS, METRICS_ENABLED, METRICS_PORT and\n"
                 "upstream's variables of the external services (S3_*, GITHUB_*, ...). See README.md for every key.\n";
}

std::optional<command> find_command(std::string_view name) {
    for (const auto& c : commands()) {
        if (c.name == name) {
            return c;
        }
    }
    return std::nullopt;
}

/// The value of `--flag VALUE` or `--flag=VALUE` at argv[i] (advancing i), or nullopt when argv[i] is not `flag`.
/// Throws std::invalid_argument when the value is missing.
std::optional<std::string> flag_value(std::string_view flag, int& i, int argc, char** argv) {
    std::string_view a = argv[i];
    if (a == flag) {
        if (i + 1 >= argc) {
            throw std::invalid_argument(fmt::format("{} needs a value", flag));
        }
        return std::string(argv[++i]);
    }
    if (a.size() > flag.size() && a.starts_with(flag) && a[flag.size()] == '=') {
        return std::string(a.substr(flag.size() + 1));
    }
    return std::nullopt;
}

}  // namespace

std::vector<command> commands() {
    std::vector<command> out(std::begin(command_table), std::end(command_table));
    registry reg;
    register_compiled_in(reg);
    for (const auto& [name, factory] : reg.modules()) {
        for (const auto& c : factory()->commands()) {
            out.push_back(c);
        }
    }
    return out;
}


int run_command_line(int argc, char** argv) {
    int first = 1;
    std::optional<command> cmd = find_command("serve");
    if (argc > 1 && argv[1][0] != '-') {
        cmd = find_command(argv[1]);
        if (!cmd) {
            report_failure(fmt::format("unknown command \"{}\"", argv[1]), exit_usage);
            print_overview();
            return exit_usage;
        }
        first = 2;
    }
    command_args args;
    args.command = cmd->name;
    args.env = config::environment();
    // The common flags stand for the environment variables of the same keys.
    static constexpr std::pair<std::string_view, const char*> env_flags[] = {
        {"--port", "PORT"}, {"--host", "HOST"}, {"--data-dir", "DATA_DIR"}};
    try {
        for (int i = first; i < argc; ++i) {
            std::string_view a = argv[i];
            if (a == "--help" || a == "-h") {
                if (first == 1) {
                    print_overview();
                } else {
                    std::cout << cmd->usage << "\n" << common_flags_help;
                }
                return exit_ok;
            }
            if (a == "--version") {
                return command_version(args);
            }
            if (a == "--print-config-schema") {
                return run_stages([] {
                    std::cout << boost::json::serialize(config_schema(collect_parts())) << "\n";
                    return int(exit_ok);
                });
            }
            if (a == "--json") {
                args.json = true;
                continue;
            }
            if (auto v = flag_value("--config", i, argc, argv)) {
                args.config_file = std::move(*v);
                continue;
            }
            bool taken = false;
            for (const auto& [flag, var] : env_flags) {
                if (auto v = flag_value(flag, i, argc, argv)) {
                    args.env[var] = std::move(*v);
                    taken = true;
                    break;
                }
            }
            if (!taken) {
                args.rest.emplace_back(a);
            }
        }
    } catch (const std::invalid_argument& e) {
        return report_failure(e.what(), exit_usage);
    }
    if (!args.config_file) {
        if (auto it = args.env.find("HAPPY_CONFIG"); it != args.env.end() && !it->second.empty()) {
            args.config_file = it->second;
        }
    }
    return cmd->run(args);
}

int command_version(command_args& args) {
    if (args.json) {
        std::cout << boost::json::serialize(build_info::fields()) << "\n";
    } else {
        std::cout << build_info::text();
    }
    return exit_ok;
}

int command_migrate(command_args& args) {
    if (!args.rest.empty()) {
        return report_failure(fmt::format("unknown argument {} (see happy-server migrate --help)", args.rest[0]),
                              exit_usage);
    }
    return run_stages([&] {
        auto parts = load_for_tool(args);
        auto dir = prepare_data_dir(parts.cfg);
        db::migrate_result result;
        auto database = open_storage(parts, dir, &result);
        database->close();
        if (args.json) {
            boost::json::array names;
            for (const auto& n : result.applied_now) {
                names.emplace_back(n);
            }
            std::cout << boost::json::serialize(boost::json::object{{"storage", database->describe()},
                                                                    {"applied", std::move(names)},
                                                                    {"version", result.version}})
                      << "\n";
        } else {
            std::cout << fmt::format("{}: schema at version {} ({}); {} migration(s) applied now\n",
                                     database->describe(), result.version, result.version_name,
                                     result.applied_now.size());
        }
        return int(exit_ok);
    });
}

}  // namespace happy
