/// @file
/// Local file store: objects are files under one directory (upstream storage/files.ts local mode,
/// `<DATA_DIR>/files`). Writes go to a temporary file in the target directory, are fsynced and renamed over the
/// target, so a reader or a crash never sees a partial object. Blocking file I/O runs on the plugin's own thread.
#pragma once
#include <cstdint>
#include <memory>
#include <string>

#include "core/app/registry.hpp"
#include "core/files/file_store.hpp"

namespace happy::plugin::files_local {

struct options {
    std::string root;                        ///< directory holding the objects (created when missing)
    std::uint64_t max_file_size = 10485760;  ///< upstream attachmentRoutes.ts MAX_FILE_SIZE (10 MiB)
};

/// Creates the store directly (tests, tools).
std::unique_ptr<files::file_store> make_store(options o);

/// Registers the "local" file-store factory.
void register_plugin(registry& reg);

}  // namespace happy::plugin::files_local
