/// @file
/// Loads the configuration as the server does (core schema, environment, an optional file) with only the plugins a
/// test registers, so that a plugin's test covers the config section and the variables the plugin declares.
#pragma once
#include <unistd.h>

#include <atomic>
#include <boost/json/object.hpp>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <string_view>

#include "core/app/bootstrap.hpp"

namespace happy::test {

/// `register_fn` is a plugin's register_plugin; `file_json`, when not empty, is the config file's text.
inline boost::json::object load_plugin_config(void (*register_fn)(registry&), const config::env_map& env,
                                              std::string_view file_json = {}) {
    app_config parts;
    register_fn(parts.reg);
    if (file_json.empty()) {
        return load_declared_config(parts, env);
    }
    static std::atomic<int> counter{0};
    auto path = std::filesystem::temp_directory_path() /
                ("happy_plugin_config_" + std::to_string(::getpid()) + "_" + std::to_string(counter++) + ".json");
    std::ofstream(path) << file_json;
    struct remove_at_exit {
        std::filesystem::path p;
        ~remove_at_exit() { std::filesystem::remove(p); }
    } cleanup{path};
    return load_declared_config(parts, env, path.string());
}

}  // namespace happy::test
