/// @file
/// The master secret: HANDY_MASTER_SECRET when given, else generated once and kept in the data directory.
#pragma once
#include <filesystem>
#include <string>

namespace happy::auth {

/// Reads `<data_dir>/master-secret`, or creates it (mode 0600, exclusive create) with a random value.
/// Throws std::runtime_error with an actionable message when the file cannot be read or written.
std::string master_secret_load_or_create(const std::filesystem::path& data_dir);

}  // namespace happy::auth
