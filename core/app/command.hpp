/// @file
/// Subcommands (`happy-server <command> [flags]`): the arguments every command gets and the table they are
/// listed in. `serve` is the default when the first argument is a flag or absent.
#pragma once
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/config/config.hpp"

namespace happy {

/// The server's version (`happy-server version`, the admin console).
inline constexpr std::string_view version_string = "0.1.0";

/// Exit codes every command uses (documented in README "Operations").
enum exit_code : int {
    exit_ok = 0,
    exit_failed = 1,  ///< the command ran and failed (a check failed, the database was unreachable, ...)
    exit_usage = 2,   ///< bad flags or an invalid configuration; nothing was changed
};

/// What a command gets: the common flags already applied, the rest left for the command.
struct command_args {
    std::string_view command;
    /// --config FILE, else HAPPY_CONFIG.
    std::optional<std::string> config_file;
    /// The process environment with the common flags applied as the variables they stand for (--port is PORT,
    /// --host HOST, --data-dir DATA_DIR), so a flag and its variable can never mean different keys.
    config::env_map env;
    /// --json: machine-readable output for scripts.
    bool json = false;
    /// Everything the common flags did not take, in order.
    std::vector<std::string> rest;
};

struct command {
    std::string_view name;
    std::string_view summary;  ///< one line for `happy-server --help`
    std::string_view usage;    ///< the command's own `--help` text (flags beyond the common ones)
    int (*run)(command_args&);
};

/// Every command compiled in, `serve` first: the core's, then those the modules add (module::commands()).
std::vector<command> commands();

/// The process entry: picks the command, applies the common flags, runs it; returns the exit code.
int run_command_line(int argc, char** argv);

/// Commands of the core (core/app/*.cpp).
int command_serve(command_args& args);
int command_migrate(command_args& args);
int command_version(command_args& args);
/// core/app/ops_commands.cpp
int command_backup(command_args& args);
int command_restore(command_args& args);
int command_doctor(command_args& args);

int command_health(command_args& args);  // core/app/health_command.cpp

}  // namespace happy
