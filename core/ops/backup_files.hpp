/// @file
/// File handling shared by backups, restores and the pre-upgrade snapshots: timestamped names, retention, and the
/// fsync/rename steps that make a written file durable and atomic.
#pragma once
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace happy::ops {

/// `20250102T030405.678Z`: UTC, sorts by time as text, safe in file names.
std::string backup_timestamp(std::int64_t ms);

/// Files of `dir` named `<prefix>…<suffix>` (regular files only), sorted by name: oldest first for names built
/// with backup_timestamp() after the prefix.
std::vector<std::filesystem::path> list_backups(const std::filesystem::path& dir, std::string_view prefix,
                                                std::string_view suffix);

/// Deletes the oldest of list_backups() until `keep` remain; returns what it deleted. `keep` 0 deletes all.
std::vector<std::filesystem::path> prune_backups(const std::filesystem::path& dir, std::string_view prefix,
                                                 std::string_view suffix, std::size_t keep);

/// fsync(2) of a file or a directory (the latter makes a rename in it durable). Throws std::system_error.
void fsync_path(const std::filesystem::path& p);

/// Renames `from` to `to` (same filesystem, replacing `to`) and syncs the directory. Throws std::system_error.
void durable_rename(const std::filesystem::path& from, const std::filesystem::path& to);

/// Writes `text` to `p` with mode 0600 (owner only) through a temporary file and durable_rename().
void write_private_file(const std::filesystem::path& p, std::string_view text);

/// Copies `from` to `to` byte for byte and fsyncs `to` (no rename). Throws std::system_error.
void copy_file_synced(const std::filesystem::path& from, const std::filesystem::path& to);

}  // namespace happy::ops
