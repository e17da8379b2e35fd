#include "plugins/storage_sqlite/storage_sqlite_plugin.hpp"

#include <filesystem>
#include <fmt/format.h>
#include <soci/soci.h>
#include <soci/sqlite3/soci-sqlite3.h>
#include <stdexcept>

namespace happy::plugin::storage_sqlite {

namespace {

class sqlite_backend final : public db::backend {
public:
    explicit sqlite_backend(options o) : opts_(std::move(o)) {}

    db::dialect kind() const override { return db::dialect::sqlite; }

    std::unique_ptr<soci::session> open() override {
        // timeout is in seconds for SOCI; the pragma below sets the precise value.
        auto s = std::make_unique<soci::session>(soci::sqlite3, fmt::format("db=\"{}\" shared_cache=false", opts_.path));
        *s << fmt::format("PRAGMA busy_timeout = {}", opts_.busy_timeout_ms);
        std::string mode;
        *s << "PRAGMA journal_mode = WAL", soci::into(mode);
        *s << "PRAGMA foreign_keys = ON";
        *s << fmt::format("PRAGMA synchronous = {}", opts_.synchronous);
        // Small page cache per connection: the working set of this server is small and RSS matters more.
        *s << "PRAGMA cache_size = -2000";
        *s << "PRAGMA temp_store = MEMORY";
        // No checkpoint inside COMMIT: an automatic checkpoint stalls whichever request commits the 1000th WAL
        // page. maintain() checkpoints from a database thread every second instead.
        *s << "PRAGMA wal_autocheckpoint = 0";
        return s;
    }

    void maintain(soci::session& s) override {
        // PASSIVE never blocks readers or writers; the WAL is rewound once a checkpoint completes with no reader.
        int busy = 0, log_frames = 0, checkpointed = 0;
        s << "PRAGMA wal_checkpoint(PASSIVE)", soci::into(busy), soci::into(log_frames), soci::into(checkpointed);
    }

    void exec_script(soci::session& s, std::string_view sql) override {
        auto* be = static_cast<soci::sqlite3_session_backend*>(s.get_backend());
        char* err = nullptr;
        std::string text(sql);
        if (sqlite_api::sqlite3_exec(be->conn_, text.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
            std::string msg = err ? err : "unknown error";
            sqlite_api::sqlite3_free(err);
            throw std::runtime_error(msg);
        }
    }

    std::string_view begin_write_sql() const override { return "BEGIN IMMEDIATE"; }

    std::string describe() const override { return "sqlite:" + opts_.path; }

private:
    options opts_;
};

}  // namespace

std::unique_ptr<db::backend> make_backend(options o) { return std::make_unique<sqlite_backend>(std::move(o)); }

void register_plugin(registry& reg) {
    reg.add_storage("sqlite", [](const storage_options& so) {
        options o;
        std::string file = so.config.contains("file") ? std::string(so.config.at("file").as_string()) : "happy.sqlite";
        std::filesystem::path p(file);
        o.path = p.is_absolute() ? p.string() : (std::filesystem::path(so.data_dir) / p).string();
        if (auto* v = so.config.if_contains("busy_timeout_ms")) {
            o.busy_timeout_ms = v->to_number<int>();
        }
        if (auto* v = so.config.if_contains("synchronous")) {
            o.synchronous = std::string(v->as_string());
        }
        return make_backend(std::move(o));
    });
}

}  // namespace happy::plugin::storage_sqlite
