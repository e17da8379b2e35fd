/// @file
/// What this binary is: version, commit, build time, target, link mode, compiler, and the modules and plugins
/// compiled in. Printed by `happy-server version` (and --version) and logged once at start, so that a bug report
/// or a log names the exact build.
#pragma once
#include <boost/json/object.hpp>
#include <string>
#include <string_view>

namespace happy::build_info {

std::string_view version();   ///< "0.1.0" (CMakeLists.txt project version)
std::string_view commit();    ///< git commit (12 hex digits, "-dirty" with uncommitted changes), or "unknown"
std::string_view date();      ///< build time, ISO 8601 UTC (SOURCE_DATE_EPOCH in release builds)
std::string_view target();    ///< "x86_64-linux-gnu", "aarch64-linux-gnu"
std::string_view link();      ///< "static" (release artifact) or "dynamic" (source build)
std::string_view compiler();  ///< "GNU 12.2.0"
std::string_view modules();   ///< space-separated, in start order
std::string_view plugins();   ///< space-separated

/// The text `happy-server version` prints: one "key: value" line each, the first "happy-server <version>".
std::string text();

/// The same as a JSON object (`version --json`).
boost::json::object fields();

/// Logs the same as one info line, "happy-server <version>" (the server's first line at start).
void log_start();

}  // namespace happy::build_info
