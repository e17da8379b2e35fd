/// @file
/// The master secret: HANDY_MASTER_SECRET when given, else generated once and kept in the data directory.
#pragma once
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

namespace happy::auth {

/// Reads `<data_dir>/master-secret`, or creates it (mode 0600, exclusive create) with a random value.
/// Throws std::runtime_error with an actionable message when the file cannot be read or written.
std::string master_secret_load_or_create(const std::filesystem::path& data_dir);

/// The same for any generated secret: reads `file` (trimmed), or creates it (mode 0600, exclusive create, so two
/// processes starting at once agree) with 32 random bytes in base64url. `what` names it in errors ("master secret"),
/// `setting` says how to provide it instead ("set HANDY_MASTER_SECRET").
std::string secret_file_load_or_create(const std::filesystem::path& file, std::string_view what,
                                       std::string_view setting);

/// Reads `<data_dir>/master-secret` without creating it: nullopt when there is no such file (tools that must not
/// invent a secret, e.g. import-upstream). Throws std::runtime_error when the file is empty.
std::optional<std::string> master_secret_load(const std::filesystem::path& data_dir);

}  // namespace happy::auth
