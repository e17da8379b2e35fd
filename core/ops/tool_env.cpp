#include "core/ops/tool_env.hpp"

#include <unistd.h>

#include <filesystem>
#include <fmt/format.h>

#include "core/auth/master_secret.hpp"
#include "core/log/log.hpp"

namespace happy::ops {

namespace json = boost::json;

namespace {

json::object section(const json::object& cfg, std::string_view area, const std::string& kind) {
    const auto* v = config::at(cfg, area).as_object().if_contains(kind);
    return v && v->is_object() ? v->get_object() : json::object();
}

/// A SQLite location is opened only when the file exists, unless it is to be written (then its directory is made).
void check_sqlite_file(const std::string& path, bool create) {
    std::filesystem::path p(path);
    if (create) {
        std::filesystem::create_directories(std::filesystem::absolute(p).parent_path());
    } else if (!std::filesystem::exists(p)) {
        throw std::runtime_error(fmt::format("no SQLite database at {}", path));
    }
}

template <class Factory>
const Factory& plugin(const plugin_registry<Factory>& reg, const std::string& kind, std::string_view what) {
    const auto* f = reg.find(kind);
    if (!f) {
        throw std::runtime_error(fmt::format("{} plugin \"{}\" is not compiled into this binary", what, kind));
    }
    return *f;
}

}  // namespace

tool_env::tool_env(const command_args& args) : parts_(collect_parts()) {
    load_configuration(parts_, args);
    configure_logging(parts_.cfg);
    log::set_output_fd(STDERR_FILENO);  // stdout is the result
    data_dir_ = config::get_string(parts_.cfg, "data_dir");
}

std::optional<std::string> tool_env::configured_sqlite_file() const {
    if (config::get_string(parts_.cfg, "storage.kind") != "sqlite") {
        return std::nullopt;
    }
    auto sec = section(parts_.cfg, "storage", "sqlite");
    std::filesystem::path file(sec.contains("file") ? std::string(sec.at("file").as_string()) : "happy.sqlite");
    return (file.is_absolute() ? file : std::filesystem::path(data_dir_) / file).string();
}

std::unique_ptr<db::database> tool_env::open_configured(bool create) const {
    if (auto file = configured_sqlite_file()) {
        check_sqlite_file(*file, create);
    }
    std::string kind = config::get_string(parts_.cfg, "storage.kind");
    storage_options so;
    so.data_dir = data_dir_;
    so.config = section(parts_.cfg, "storage", kind);
    // One connection: a tool runs one transaction at a time.
    return std::make_unique<db::database>(plugin(parts_.reg.storage(), kind, "storage")(so), 1);
}

bool tool_env::is_postgres_location(std::string_view location) {
    return location.starts_with("postgres://") || location.starts_with("postgresql://") ||
           location.find('=') != std::string_view::npos;
}

std::unique_ptr<db::database> tool_env::open_at(std::string_view location, bool create, bool foreign_schema) const {
    storage_options so;
    so.foreign_schema = foreign_schema;
    std::string kind;
    if (is_postgres_location(location)) {
        kind = "postgres";
        so.config = section(parts_.cfg, "storage", kind);
        so.config["url"] = location;
    } else {
        kind = "sqlite";
        auto path = std::filesystem::absolute(std::filesystem::path(location)).lexically_normal();
        check_sqlite_file(path.string(), create);
        so.data_dir = path.parent_path().string();
        so.config = section(parts_.cfg, "storage", kind);
        so.config["file"] = path.string();
    }
    return std::make_unique<db::database>(plugin(parts_.reg.storage(), kind, "storage")(so), 1);
}

std::unique_ptr<files::file_store> tool_env::open_file_store() const {
    std::string kind = config::get_string(parts_.cfg, "files.kind");
    file_store_options fo;
    fo.data_dir = data_dir_;
    fo.config = section(parts_.cfg, "files", kind);
    return plugin(parts_.reg.file_stores(), kind, "file store")(fo);
}

std::optional<std::string> tool_env::master_secret() const {
    std::string s = config::get_string(parts_.cfg, "auth.master_secret");
    if (!s.empty()) {
        return s;
    }
    return auth::master_secret_load(data_dir_);
}

}  // namespace happy::ops
