// libFuzzer target for the configuration loader (core/config: JSON with comments and trailing commas, the schema
// of the core and of every compiled-in module and job, environment overrides) and for the whole of
// `happy-server --check-config` (cron schedules, plugin and module checks), which runs the code start-up runs.
//
// Input: the config file's text, optionally followed by a NUL byte and environment lines (NAME=value) set for
// this input only. Invariants: the loader refuses a bad configuration only with config::error (anything else would
// reach the operator as a library's internal message, or crash start-up), and --check-config exits 0 or 2,
// never with a library exception's text as its message.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "core/app/bootstrap.hpp"
#include "core/app/command.hpp"
#include "core/config/config.hpp"
#include "core/util/resources.hpp"

namespace {

namespace fs = std::filesystem;

/// The file each input is written to: in memory (/dev/shm) where there is one, since ext4 flushes a file that is
/// truncated and rewritten when it is closed, once per input.
const fs::path& config_path() {
    static const fs::path p = (fs::is_directory("/dev/shm") ? fs::path("/dev/shm") : fs::temp_directory_path()) /
                              ("happy-config-fuzz-" + std::to_string(::getpid()) + ".json");
    return p;
}

bool env_name_ok(std::string_view n) {
    if (n.empty() || n.size() > 64) {
        return false;
    }
    for (char c : n) {
        if (!((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_')) {
            return false;
        }
    }
    // Variables of the process itself (sanitizers, the temp directory) stay as they are.
    return !n.starts_with("ASAN") && !n.starts_with("UBSAN") && !n.starts_with("LSAN") && n != "TMPDIR" &&
           n != "HOME" && n != "PATH";
}

/// A Boost exception's what() ends with its source location ("... [boost.json:31 at ...]"): reported as the
/// configuration error, it would mean some check read the tree without checking its type first. Messages quote
/// the offending value, so an input that itself holds the marker cannot be judged this way.
bool shows_library_text(std::string_view message, std::string_view input) {
    constexpr std::string_view marker = "[boost";
    return message.find(marker) != std::string_view::npos && input.find(marker) == std::string_view::npos;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    // What start-up composes: every compiled-in module's, plugin's and job's declarations.
    static const happy::app_config parts = happy::collect_parts();
    static std::ostringstream captured;
    std::string_view input(reinterpret_cast<const char*>(data), size);
    auto nul = input.find('\0');
    std::string_view file_text = input.substr(0, nul);
    std::string_view env_text = nul == std::string_view::npos ? std::string_view() : input.substr(nul + 1);

    std::ofstream(config_path(), std::ios::binary | std::ios::trunc).write(file_text.data(), file_text.size());
    happy::config::env_map env;
    // The variables set for this input only, unset whichever way it returns.
    struct env_reset {
        std::vector<std::string> names;
        ~env_reset() {
            for (const auto& n : names) {
                ::unsetenv(n.c_str());
            }
        }
    } set_env;
    while (!env_text.empty()) {
        auto nl = env_text.find('\n');
        std::string_view line = env_text.substr(0, nl);
        env_text = nl == std::string_view::npos ? std::string_view() : env_text.substr(nl + 1);
        auto eq = line.find('=');
        if (eq == std::string_view::npos || !env_name_ok(line.substr(0, eq)) ||
            line.find('\0') != std::string_view::npos) {
            continue;
        }
        std::string name(line.substr(0, eq)), value(line.substr(eq + 1));
        env[name] = value;
        ::setenv(name.c_str(), value.c_str(), 1);
        set_env.names.push_back(name);
    }

    // 1. The loader itself. A configuration it refuses is refused by --check-config at this same call (its
    // first step, same file and environment), so only what it accepts goes on to step 2: the checks after it.
    bool refused = false;
    try {
        happy::load_declared_config(parts, env, config_path().string());
    } catch (const happy::config::error& e) {
        refused = true;
        if (shows_library_text(e.what(), input)) {
            std::cerr << "config::load refused with a library's message: " << e.what() << "\n";
            std::abort();
        }
    } catch (const std::exception& e) {
        std::cerr << "config::load threw a non-config exception: " << e.what() << "\n";
        std::abort();
    }

    if (refused) {
        return 0;
    }
    // 2. --check-config, end to end (its messages go to a buffer instead of the terminal).
    std::string path = config_path().string();
    const char* argv[] = {"happy-server", "--check-config", "--config", path.c_str(), nullptr};
    auto* out = std::cout.rdbuf(captured.rdbuf());
    auto* err = std::cerr.rdbuf(captured.rdbuf());
    int rc = happy::run_command_line(4, const_cast<char**>(argv));
    std::cout.rdbuf(out);
    std::cerr.rdbuf(err);
    std::string message = captured.str();
    captured.str({});
    if ((rc != 0 && rc != 2) || shows_library_text(message, input)) {
        std::cerr << "--check-config exited " << rc << ": " << message << "\n";
        std::abort();
    }
    return 0;
}
