/// @file
/// `happy-server doctor`: checks what a deployment needs and says, one line per check, what is wrong and how to
/// fix it. Exit code 0 when nothing failed (warnings allowed), 1 otherwise.
#pragma once
#include <boost/json/object.hpp>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <iosfwd>
#include <optional>
#include <string>
#include <vector>

#include "core/app/registry.hpp"

namespace happy::ops {

struct check_result {
    enum class state { ok, warn, fail, skip };
    std::string name;
    state status = state::ok;
    std::string detail;
    std::string fix;  ///< what to do (empty when ok)
};

std::string_view state_name(check_result::state s);

/// The configuration as the command found it: valid (cfg set) or not (error says why).
struct doctor_input {
    std::optional<boost::json::object> cfg;
    std::string error;
    std::string source;  ///< "file /etc/happy/config.json" or "defaults and environment"
};

struct doctor_options {
    bool json = false;
    std::chrono::milliseconds timeout{5000};  ///< bound on each network check
};

int run_doctor(const doctor_input& in, const registry& reg, const doctor_options& o, std::ostream& out);

// The checks that need no network, exposed for tests.

/// Network filesystems on which SQLite's locking is unreliable (statfs f_type): name, or empty for a local one.
std::string network_filesystem(std::int64_t f_type);
/// The data directory: exists (or can be created), writable, on a local filesystem.
std::vector<check_result> check_data_dir(const std::filesystem::path& dir, bool sqlite);
/// Free space where the data lives, against the database's size (an upgrade snapshot or a backup needs as much).
check_result check_disk(const std::filesystem::path& dir, std::uint64_t database_bytes);
/// The master secret: configured, or the data directory's file (present, owner-only, owned by this user).
/// `data_exists`: a database with data is there (a missing secret then loses every token).
check_result check_master_secret(const boost::json::object& cfg, bool data_exists);
/// host:port can be bound; `running_port`: the port of a happy-server answering on this data directory.
check_result check_port(std::string_view key, const std::string& host, int port, std::optional<int> running_port);
/// The wall clock: plausible, synchronized (kernel NTP status), close to a remote Date header when one was seen.
check_result check_clock(std::int64_t now_ms, std::optional<bool> kernel_synced,
                         std::optional<std::int64_t> remote_ms, std::string_view remote_name);

}  // namespace happy::ops
