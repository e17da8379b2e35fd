#include "core/ops/upstream_import.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>
#include <filesystem>
#include <fmt/format.h>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "core/crypto/key_tree.hpp"
#include "core/ops/tables.hpp"

namespace happy::ops {

namespace asio = boost::asio;
namespace fs = std::filesystem;

const std::vector<std::string_view> upstream_migrations = {
    "20250713002718_initial",
    "20250713004156_add_sessions",
    "20250713032124_add_tag_to_session",
    "20250714030924_add_session_metadata",
    "20250714032124_session_timeouts",
    "20250715012822_add_metadata_version_agent_state",
    "20250718031550_add_local_id_to_session_message",
    "20250718032748_add_push_token",
    "20250719042829_add_terminal_auth_request",
    "20250719061508_add_response_account",
    "20250721073743_add_usage_report",
    "20250726092110_remove_updates",
    "20250726205102_add_settings_to_account",
    "20250726205206_add_account_settings_version",
    "20250812092041_add_machine_model",
    "20250816171155_add_app_to_app_authentication",
    "20250818044258_add_daemon_state_to_machine",
    "20250820051609_add_session_id_seq_index",
    "20250820052449_add_session_sort",
    "20250827015520_add_github_entities",
    "20250827044624_add_user_profile_fields",
    "20250827045037_add_reuse_key_to_file",
    "20250827051355_add_image_parameters",
    "20250901205028_add_service_account_tokens",
    "20250908050408_add_data_encryption_key",
    "20250908052114_add_machine_data_encryption_key",
    "20250911030241_add_version2_field",
    "20250917052000_add_artefacts",
    "20250917055002_add_access_key",
    "20250918045344_add_friendships",
    "20250919021354_fix_relationship_status",
    "20250920025406_add_username",
    "20250920035415_make_github_user_id_unique",
    "20250920213557_add_user_feed",
    "20250920215413_add_last_notified_at",
    "20250922000310_add_user_kv",
    "20260407053500_add_voice_conversation",
};

namespace {

/// How one of our columns is read from upstream's.
enum class conv {
    same,     ///< the value as stored (text, integer, boolean as 0/1, bytea, JSONB as its text)
    millis,   ///< TIMESTAMP(3) without time zone (Prisma writes UTC) → integer milliseconds since the epoch
    as_text,  ///< an enum → its label
};

struct column_map {
    std::string_view target;
    std::string_view upstream;
    column_kind kind;
    bool nullable;
    conv how = conv::same;
};

struct table_map {
    std::string_view upstream;
    std::string_view target;
    std::vector<std::string_view> key;  ///< upstream's primary key, read in this order
    std::vector<column_map> columns;
};

constexpr auto I = column_kind::integer;
constexpr auto T = column_kind::text;
constexpr auto J = column_kind::json;
constexpr auto B = column_kind::blob;

column_map col(std::string_view target, std::string_view upstream, column_kind k, bool nullable = false) {
    return {target, upstream, k, nullable, conv::same};
}
column_map ms(std::string_view target, std::string_view upstream, bool nullable = false) {
    return {target, upstream, I, nullable, conv::millis};
}

/// Every upstream table with a counterpart, in an order that satisfies our foreign keys. Upstream's columns map
/// one to one (prisma/schema.prisma; our schemas/sql were written as its twin); UserKVStore's cuid id is the one
/// column not kept (our key is (account_id, key), which upstream declares unique too).
const std::vector<table_map>& table_maps() {
    static const std::vector<table_map> maps = {
        {"Account", "account", {"id"},
         {col("id", "id", T), col("public_key", "publicKey", T), col("seq", "seq", I), col("feed_seq", "feedSeq", I),
          ms("created_at", "createdAt"), ms("updated_at", "updatedAt"), col("settings", "settings", T, true),
          col("settings_version", "settingsVersion", I), col("github_user_id", "githubUserId", T, true),
          col("first_name", "firstName", T, true), col("last_name", "lastName", T, true),
          col("username", "username", T, true), col("avatar", "avatar", J, true)}},
        {"GithubUser", "github_user", {"id"},
         {col("id", "id", T), col("profile", "profile", J), col("token", "token", B, true),
          ms("created_at", "createdAt"), ms("updated_at", "updatedAt")}},
        {"TerminalAuthRequest", "terminal_auth_request", {"id"},
         {col("id", "id", T), col("public_key", "publicKey", T), col("supports_v2", "supportsV2", I),
          col("response", "response", T, true), col("response_account_id", "responseAccountId", T, true),
          ms("created_at", "createdAt"), ms("updated_at", "updatedAt")}},
        {"AccountAuthRequest", "account_auth_request", {"id"},
         {col("id", "id", T), col("public_key", "publicKey", T), col("response", "response", T, true),
          col("response_account_id", "responseAccountId", T, true), ms("created_at", "createdAt"),
          ms("updated_at", "updatedAt")}},
        {"AccountPushToken", "account_push_token", {"id"},
         {col("id", "id", T), col("account_id", "accountId", T), col("token", "token", T),
          ms("created_at", "createdAt"), ms("updated_at", "updatedAt")}},
        {"Session", "session", {"id"},
         {col("id", "id", T), col("tag", "tag", T), col("account_id", "accountId", T), col("metadata", "metadata", T),
          col("metadata_version", "metadataVersion", I), col("agent_state", "agentState", T, true),
          col("agent_state_version", "agentStateVersion", I),
          col("data_encryption_key", "dataEncryptionKey", B, true), col("seq", "seq", I),
          col("active", "active", I), ms("last_active_at", "lastActiveAt"), ms("created_at", "createdAt"),
          ms("updated_at", "updatedAt")}},
        {"SessionMessage", "session_message", {"id"},
         {col("id", "id", T), col("session_id", "sessionId", T), col("local_id", "localId", T, true),
          col("seq", "seq", I), col("content", "content", J), ms("created_at", "createdAt"),
          ms("updated_at", "updatedAt")}},
        {"Machine", "machine", {"id"},
         {col("id", "id", T), col("account_id", "accountId", T), col("metadata", "metadata", T),
          col("metadata_version", "metadataVersion", I), col("daemon_state", "daemonState", T, true),
          col("daemon_state_version", "daemonStateVersion", I),
          col("data_encryption_key", "dataEncryptionKey", B, true), col("seq", "seq", I),
          col("active", "active", I), ms("last_active_at", "lastActiveAt"), ms("created_at", "createdAt"),
          ms("updated_at", "updatedAt")}},
        {"AccessKey", "access_key", {"id"},
         {col("id", "id", T), col("account_id", "accountId", T), col("machine_id", "machineId", T),
          col("session_id", "sessionId", T), col("data", "data", T), col("data_version", "dataVersion", I),
          ms("created_at", "createdAt"), ms("updated_at", "updatedAt")}},
        {"Artifact", "artifact", {"id"},
         {col("id", "id", T), col("account_id", "accountId", T), col("header", "header", B),
          col("header_version", "headerVersion", I), col("body", "body", B), col("body_version", "bodyVersion", I),
          col("data_encryption_key", "dataEncryptionKey", B), col("seq", "seq", I), ms("created_at", "createdAt"),
          ms("updated_at", "updatedAt")}},
        {"UsageReport", "usage_report", {"id"},
         {col("id", "id", T), col("key", "key", T), col("account_id", "accountId", T),
          col("session_id", "sessionId", T, true), col("data", "data", J), ms("created_at", "createdAt"),
          ms("updated_at", "updatedAt")}},
        {"ServiceAccountToken", "service_account_token", {"id"},
         {col("id", "id", T), col("account_id", "accountId", T), col("vendor", "vendor", T),
          col("token", "token", B), col("metadata", "metadata", J, true), ms("last_used_at", "lastUsedAt", true),
          ms("created_at", "createdAt"), ms("updated_at", "updatedAt")}},
        {"UserRelationship", "user_relationship", {"fromUserId", "toUserId"},
         {col("from_user_id", "fromUserId", T), col("to_user_id", "toUserId", T),
          {"status", "status", T, false, conv::as_text}, ms("created_at", "createdAt"),
          ms("updated_at", "updatedAt"), ms("accepted_at", "acceptedAt", true),
          ms("last_notified_at", "lastNotifiedAt", true)}},
        {"UserFeedItem", "user_feed_item", {"id"},
         {col("id", "id", T), col("user_id", "userId", T), col("counter", "counter", I),
          col("repeat_key", "repeatKey", T, true), col("body", "body", J), ms("created_at", "createdAt"),
          ms("updated_at", "updatedAt")}},
        {"UserKVStore", "user_kv", {"id"},
         {col("account_id", "accountId", T), col("key", "key", T), col("value", "value", B, true),
          col("version", "version", I), ms("created_at", "createdAt"), ms("updated_at", "updatedAt")}},
        {"VoiceConversation", "voice_conversation", {"id"},
         {col("id", "id", T), col("account_id", "accountId", T),
          col("elevenlabs_conversation_id", "elevenLabsConversationId", T),
          col("duration_secs", "durationSecs", I, true), ms("created_at", "createdAt")}},
    };
    return maps;
}

/// Upstream tables without a counterpart here, and why their rows are not needed.
const std::map<std::string_view, std::string_view>& known_skips() {
    static const std::map<std::string_view, std::string_view> skips = {
        {"GithubOrganization", "no route of upstream reads or writes it (schema.prisma only)"},
        {"GlobalLock", "upstream's lease locks for its own jobs; they expire and mean nothing to this server"},
        {"RepeatKey", "upstream's short-lived de-duplication keys; they expire"},
        {"SimpleCache", "upstream's cache of derived values; rebuilt on demand"},
        {"UploadedFile",
         "upstream's record of downloaded avatar images, kept to reuse a download; the avatar itself is in "
         "Account.avatar and its file under public/users/ (copied with --files)"},
        {"_prisma_migrations", "Prisma's bookkeeping"},
    };
    return skips;
}

std::string select_expr(const column_map& c) {
    std::string q = quote_ident(c.upstream);
    switch (c.how) {
        case conv::same: return q;
        // EXTRACT(EPOCH FROM timestamp) counts the stored wall-clock time as UTC, which is how Prisma stores
        // DateTime (TIMESTAMP(3) without time zone); the value is exact to the millisecond.
        case conv::millis: return fmt::format("(EXTRACT(EPOCH FROM {}) * 1000)::bigint", q);
        case conv::as_text: return q + "::text";
    }
    return q;
}

paged_select select_of(const table_map& m, std::size_t page_rows) {
    paged_select q;
    q.from = quote_ident(m.upstream);
    q.page_rows = page_rows;
    for (auto k : m.key) {
        q.key.push_back(quote_ident(k));
        q.select += (q.select.empty() ? "" : ", ") + quote_ident(k);
        q.kinds.push_back(T);
    }
    for (const auto& c : m.columns) {
        q.select += ", " + select_expr(c);
        q.kinds.push_back(c.kind);
    }
    return q;
}

std::vector<column> target_columns(const table_map& m) {
    std::vector<column> out;
    for (const auto& c : m.columns) {
        out.push_back({std::string(c.target), c.kind, c.nullable});
    }
    return out;
}

std::string join(const std::vector<std::string>& parts, std::string_view sep) {
    std::string out;
    for (const auto& p : parts) {
        out += (out.empty() ? "" : std::string(sep)) + p;
    }
    return out;
}

/// Upstream's applied migrations, checked against the list this importer reads. Returns the last one applied.
std::string check_migrations(db::tx& t, import_report& report) {
    if (!t.exists("SELECT 1 FROM pg_catalog.pg_tables WHERE schemaname = current_schema() AND "
                  "tablename = '_prisma_migrations'")) {
        throw import_refused(
            "this database has no _prisma_migrations table: it is not an upstream Happy server database (point "
            "--from at the database upstream's DATABASE_URL names)",
            report);
    }
    std::set<std::string> applied;
    std::string last;
    t.query("SELECT migration_name FROM _prisma_migrations WHERE finished_at IS NOT NULL AND rolled_back_at IS NULL "
            "ORDER BY migration_name COLLATE \"C\"",
            {}, [&](const db::row_view& r) {
                applied.insert(r.str(0));
                last = r.str(0);
            });
    std::vector<std::string> missing;
    for (auto name : upstream_migrations) {
        if (!applied.count(std::string(name))) {
            missing.push_back(std::string(name));
        }
    }
    if (!missing.empty()) {
        throw import_refused(
            fmt::format("upstream's database lacks {} of its {} migrations (first missing: {}): start upstream's "
                        "latest server once, or run `npx prisma migrate deploy` in packages/happy-server, then import",
                        missing.size(), upstream_migrations.size(), missing.front()),
            report);
    }
    for (const auto& name : applied) {
        if (std::find(upstream_migrations.begin(), upstream_migrations.end(), name) == upstream_migrations.end()) {
            report.skipped.push_back({"migration " + name, 0,
                                      "newer than the upstream schema this importer knows; its tables and columns are "
                                      "checked below",
                                      false});
        }
    }
    return last;
}

/// Compares upstream's tables and columns with the mapping: a missing column refuses the import, anything
/// upstream holds that has no counterpart is reported (blocking when unknown).
void check_catalog(db::tx& t, import_report& report) {
    auto tables = describe_tables(t);
    std::map<std::string, const table_info*> by_name;
    for (const auto& ti : tables) {
        by_name[ti.name] = &ti;
    }
    std::vector<std::string> missing;
    std::set<std::string> mapped;
    for (const auto& m : table_maps()) {
        mapped.insert(std::string(m.upstream));
        auto it = by_name.find(std::string(m.upstream));
        if (it == by_name.end()) {
            missing.push_back(fmt::format("table \"{}\"", m.upstream));
            continue;
        }
        std::set<std::string> used;
        for (auto k : m.key) {
            used.insert(std::string(k));
        }
        for (const auto& c : m.columns) {
            used.insert(std::string(c.upstream));
            if (!it->second->find(c.upstream)) {
                missing.push_back(fmt::format("column \"{}\".\"{}\"", m.upstream, c.upstream));
            }
        }
        for (const auto& c : it->second->columns) {
            if (!used.count(c.name)) {
                auto n = t.one_i64(fmt::format("SELECT COUNT(*) FROM {} WHERE {} IS NOT NULL", quote_ident(m.upstream),
                                               quote_ident(c.name)))
                             .value_or(0);
                report.skipped.push_back({fmt::format("column \"{}\".\"{}\"", m.upstream, c.name), n,
                                          "unknown to this importer (a newer upstream schema?): not imported", n > 0});
            }
        }
    }
    if (!missing.empty()) {
        throw import_refused("upstream's schema lacks what its latest migration creates: " + join(missing, ", "),
                             report);
    }
    for (const auto& ti : tables) {
        if (mapped.count(ti.name)) {
            continue;
        }
        std::int64_t n = ti.name == "_prisma_migrations" ? 0 : count_rows(t, ti.name);
        auto skip = known_skips().find(ti.name);
        if (skip != known_skips().end()) {
            if (n > 0) {  // an empty table leaves nothing behind
                report.skipped.push_back({fmt::format("table \"{}\"", ti.name), n, std::string(skip->second), false});
            }
        } else {
            report.skipped.push_back({fmt::format("table \"{}\"", ti.name), n,
                                      "unknown to this importer (a newer upstream schema?): not imported", n > 0});
        }
    }
}

/// Tries our master secret on upstream's encrypted tokens (GitHub and vendor tokens, encrypted with a key derived
/// from HANDY_MASTER_SECRET): the one check of the secret a database allows. Account tokens are signed with the
/// same secret, so a secret that decrypts these also keeps every client's token valid.
void check_secret(db::tx& t, const std::optional<std::string>& secret, import_report& report) {
    if (!secret) {
        report.secret_check = "missing";
        return;
    }
    struct sample {
        std::vector<std::string> path;
        std::string data;
    };
    std::vector<sample> samples;
    t.query("SELECT \"accountId\", \"vendor\", \"token\" FROM \"ServiceAccountToken\" ORDER BY \"id\" LIMIT 5", {},
            [&](const db::row_view& r) {
                samples.push_back({{"user", r.str(0), "vendors", r.str(1), "token"}, std::string(r.bytes(2))});
            });
    t.query("SELECT a.\"id\", g.\"token\" FROM \"GithubUser\" g JOIN \"Account\" a ON a.\"githubUserId\" = g.\"id\" "
            "WHERE g.\"token\" IS NOT NULL ORDER BY a.\"id\" LIMIT 5",
            {}, [&](const db::row_view& r) {
                samples.push_back({{"user", r.str(0), "github", "token"}, std::string(r.bytes(1))});
            });
    if (samples.empty()) {
        report.secret_check = "unchecked";
        return;
    }
    auto tree = crypto::key_tree::from_secret(*secret, "happy-server-tokens");  // upstream modules/encrypt.ts
    for (const auto& s : samples) {
        if (!tree.decrypt(s.path, s.data)) {
            report.secret_check = "mismatch";
            report.secret_tokens = 0;
            return;
        }
        ++report.secret_tokens;
    }
    report.secret_check = "match";
}

struct file_entry {
    fs::path path;
    std::string key;
    std::uint64_t size = 0;
};

/// Upstream's local files (storage/files.ts: DATA_DIR/files/<key>), keyed by their path below `dir`.
std::vector<file_entry> list_files(const fs::path& dir, std::uint64_t max_size, import_report& report) {
    std::error_code ec;
    if (!fs::is_directory(dir, ec)) {
        throw import_refused(fmt::format("--files {}: not a directory", dir.string()), report);
    }
    std::vector<file_entry> out;
    std::int64_t not_regular = 0, bad_key = 0, too_big = 0;
    for (auto it = fs::recursive_directory_iterator(dir); it != fs::recursive_directory_iterator(); ++it) {
        const auto st = it->symlink_status();
        if (fs::is_directory(st)) {
            continue;
        }
        if (!fs::is_regular_file(st)) {
            ++not_regular;
            continue;
        }
        std::string key = it->path().lexically_relative(dir).generic_string();
        if (!files::valid_key(key)) {
            ++bad_key;
            continue;
        }
        auto size = it->file_size();
        if (size > max_size) {
            ++too_big;
            continue;
        }
        out.push_back({it->path(), std::move(key), size});
    }
    std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.key < b.key; });
    if (not_regular) {
        report.skipped.push_back({"files that are not regular files (symbolic links, sockets, …)", not_regular,
                                  "upstream writes regular files only", false});
    }
    if (bad_key) {
        report.skipped.push_back({"files whose path is not a valid key", bad_key,
                                  "the file store refuses such names; upstream never writes them", false});
    }
    if (too_big) {
        report.skipped.push_back({fmt::format("files over {} bytes", max_size), too_big,
                                  "larger than the file store accepts (files.local.max_file_size)", true});
    }
    return out;
}

std::string read_file(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    if (!in) {
        throw std::runtime_error("cannot read " + p.string());
    }
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

void put_files(files::file_store& store, const std::vector<file_entry>& entries) {
    asio::io_context io;
    std::exception_ptr failed;
    asio::co_spawn(
        io,
        [&]() -> asio::awaitable<void> {
            for (const auto& e : entries) {
                co_await store.put(e.key, read_file(e.path));
            }
        },
        [&](std::exception_ptr ep) { failed = ep; });
    io.run();
    if (failed) {
        std::rethrow_exception(failed);
    }
}

}  // namespace

import_report import_upstream(db::database& upstream, db::database* target_db, files::file_store* files,
                              const std::vector<db::migration>& known, const import_options& opts) {
    auto started = std::chrono::steady_clock::now();
    import_report report;
    report.dry_run = opts.dry_run;
    if (upstream.kind() != db::dialect::postgres) {
        throw import_refused("--from must be upstream's PostgreSQL database (a postgresql:// URL)", report);
    }

    // 1. What upstream holds, read in one snapshot with everything after it.
    upstream.read_sync([&](db::tx& up) {
        in_snapshot(up, [&] {
            report.upstream_migration = check_migrations(up, report);
            check_catalog(up, report);
            for (const auto& m : table_maps()) {
                report.tables.push_back({std::string(m.upstream), std::string(m.target), count_rows(up, m.upstream), 0});
            }
            check_secret(up, opts.master_secret, report);

            std::vector<file_entry> file_list;
            if (opts.files_dir) {
                if (!files) {
                    throw std::logic_error("import_upstream: files_dir without a file store");
                }
                file_list = list_files(*opts.files_dir, files->max_size(), report);
                for (const auto& f : file_list) {
                    ++report.files;
                    report.file_bytes += static_cast<std::int64_t>(f.size);
                }
            }

            // 2. Everything that refuses the import, before anything is written.
            std::vector<std::string> blocking;
            for (const auto& s : report.skipped) {
                if (s.blocking) {
                    blocking.push_back(fmt::format("{} ({} rows): {}", s.what, s.rows, s.why));
                }
            }
            if (!blocking.empty() && !opts.skip_unknown && !opts.dry_run) {
                throw import_refused("upstream holds data this importer cannot carry: " + join(blocking, "; ") +
                                         "; pass --skip-unknown to import the rest",
                                     report);
            }
            if (!opts.dry_run && report.secret_check == "missing") {
                throw import_refused(
                    "no master secret is configured: set HANDY_MASTER_SECRET (or auth.master_secret) to upstream's "
                    "value, or every imported token stops working and GitHub and vendor tokens cannot be decrypted",
                    report);
            }
            if (!opts.dry_run && report.secret_check == "mismatch") {
                throw import_refused(
                    "the configured master secret does not decrypt upstream's encrypted tokens: set "
                    "HANDY_MASTER_SECRET to the value upstream runs with, or imported tokens will not be accepted",
                    report);
            }
            if (!target_db) {
                if (!opts.dry_run) {
                    throw std::logic_error("import_upstream: no target");
                }
                return;
            }
            db::database& target = *target_db;
            auto versions = applied_migrations(target);
            if (!versions.empty()) {
                std::vector<std::string> held;
                target.read_sync([&](db::tx& t) {
                    for (const auto& ti : describe_tables(t)) {
                        if (ti.name == "schema_migrations") {
                            continue;
                        }
                        if (auto n = count_rows(t, ti.name); n > 0) {
                            held.push_back(fmt::format("{} ({} rows)", ti.name, n));
                        }
                    }
                });
                if (!held.empty()) {
                    throw import_refused(
                        fmt::format("the target {} already holds data: {}; import-upstream writes into an empty "
                                    "database only (a second import of the same database is refused)",
                                    target.describe(), join(held, ", ")),
                        report);
                }
            }
            if (opts.dry_run) {
                return;
            }

            // 3. Files first (idempotent puts under upstream's keys), then every row in one transaction.
            if (!file_list.empty()) {
                put_files(*files, file_list);
            }
            std::set<int> had(versions.begin(), versions.end());
            for (const auto& m : known) {
                if (!had.count(m.version)) {
                    report.migrated.push_back(m.version);
                }
            }
            std::sort(report.migrated.begin(), report.migrated.end());
            target.migrate(known);

            progress prog;
            for (const auto& t : report.tables) {
                prog.total += t.rows;
            }
            target.write_sync([&](db::tx& dst) {
                prog.done = 0;
                for (const auto& ti : describe_tables(dst)) {
                    if (ti.name != "schema_migrations" && count_rows(dst, ti.name) > 0) {
                        throw import_refused(fmt::format("the target {} already holds data (table {}); "
                                                         "import-upstream writes into an empty database only",
                                                         target.describe(), ti.name),
                                             report);
                    }
                }
                for (std::size_t i = 0; i < table_maps().size(); ++i) {
                    const auto& m = table_maps()[i];
                    auto& tr = report.tables[i];
                    bulk_insert out(dst, std::string(m.target), target_columns(m));
                    const std::size_t skip = m.key.size();
                    prog.table = tr.target;
                    prog.table_done = 0;
                    prog.table_total = tr.rows;
                    if (opts.on_progress) {
                        opts.on_progress(prog);
                    }
                    read_paged(up, select_of(m, opts.page_rows), [&](row& r) {
                        r.erase(r.begin(), r.begin() + static_cast<std::ptrdiff_t>(skip));
                        out.add(std::move(r));
                        ++prog.table_done;
                        if (++prog.done % 1000 == 0 && opts.on_progress) {
                            opts.on_progress(prog);
                        }
                    });
                    out.flush();
                    tr.written = out.rows();
                    // Read back inside the transaction: a count that differs rolls everything back.
                    auto stored = count_rows(dst, m.target);
                    if (stored != tr.rows || tr.written != tr.rows) {
                        throw std::runtime_error(fmt::format(
                            "verification failed for {} → {}: upstream holds {} rows, {} were written, the target "
                            "holds {}; nothing was committed",
                            m.upstream, m.target, tr.rows, tr.written, stored));
                    }
                }
                if (opts.on_progress) {
                    opts.on_progress(prog);
                }
            });
        });
    });
    for (const auto& t : report.tables) {
        report.rows += opts.dry_run ? t.rows : t.written;
    }
    report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    return report;
}

}  // namespace happy::ops
