#include "core/ops/ops_cli.hpp"

#include <unistd.h>

#include <boost/json.hpp>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fmt/format.h>
#include <iostream>

#include "core/app/bootstrap.hpp"
#include "core/ops/copy.hpp"
#include "core/ops/tool_env.hpp"
#include "core/ops/upstream_import.hpp"

namespace happy::ops {

namespace json = boost::json;

namespace {

int usage_error(std::string_view what, std::string_view command) {
    return report_failure(fmt::format("{} (see happy-server {} --help)", what, command), exit_usage);
}

int failure(std::string_view what) { return report_failure(what, exit_failed); }

/// `--flag VALUE` / `--flag=VALUE` at rest[i] (advancing i); nullopt when rest[i] is another flag.
std::optional<std::string> flag_value(std::string_view flag, std::size_t& i, const std::vector<std::string>& rest) {
    std::string_view a = rest[i];
    if (a == flag) {
        if (i + 1 >= rest.size()) {
            throw std::invalid_argument(fmt::format("{} needs a value", flag));
        }
        return rest[++i];
    }
    if (a.size() > flag.size() && a.starts_with(flag) && a[flag.size()] == '=') {
        return std::string(a.substr(flag.size() + 1));
    }
    return std::nullopt;
}

/// One line on stderr, redrawn at most ten times a second, when stderr is a terminal; nothing in pipes.
class progress_line {
public:
    explicit progress_line(bool enabled) : enabled_(enabled && ::isatty(STDERR_FILENO) == 1) {}
    ~progress_line() { clear(); }

    void operator()(const progress& p) {
        if (!enabled_) {
            return;
        }
        auto now = std::chrono::steady_clock::now();
        if (shown_ && now - last_ < std::chrono::milliseconds(100) && p.done != p.total) {
            return;
        }
        last_ = now;
        double secs = std::chrono::duration<double>(now - start_).count();
        double rate = secs > 0 ? static_cast<double>(p.done) / secs : 0;
        std::string eta = rate > 0 && p.total > p.done
                              ? fmt::format("ETA {:.0f} s", static_cast<double>(p.total - p.done) / rate)
                              : "";
        int pct = p.total > 0 ? static_cast<int>(100 * p.done / p.total) : 100;
        std::string line = fmt::format("{:>3}% {} of {} rows  {:.0f} rows/s  {}  {}", pct, p.done, p.total, rate, eta,
                                       p.table);
        std::fprintf(stderr, "\r\033[K%s", line.c_str());
        std::fflush(stderr);
        shown_ = true;
    }
    void clear() {
        if (shown_) {
            std::fprintf(stderr, "\r\033[K");
            std::fflush(stderr);
            shown_ = false;
        }
    }

private:
    bool enabled_;
    bool shown_ = false;
    std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
    std::chrono::steady_clock::time_point last_{};
};

/// Both locations name one database (a SQLite file by its path; PostgreSQL by its masked URL).
bool same_database(const db::database& a, const db::database& b) {
    auto canon = [](std::string d) {
        if (d.starts_with("sqlite:")) {
            std::error_code ec;
            auto p = std::filesystem::weakly_canonical(d.substr(7), ec);
            return "sqlite:" + (ec ? d.substr(7) : p.string());
        }
        return d;
    };
    return canon(a.describe()) == canon(b.describe());
}

json::object copy_json(const copy_report& r, const db::database& from, const db::database& to) {
    json::array tables;
    for (const auto& t : r.tables) {
        tables.push_back(json::object{{"table", t.table},
                                      {"source_rows", t.source_rows},
                                      {"target_rows", t.target_rows},
                                      {"source_checksum", t.source_checksum},
                                      {"target_checksum", t.target_checksum},
                                      {"match", t.match()}});
    }
    json::array migrated;
    for (int v : r.migrated) {
        migrated.push_back(v);
    }
    return {{"from", from.describe()},  {"to", to.describe()},           {"schema_version", r.schema_version},
            {"migrated", migrated},     {"replaced_rows", r.replaced_rows}, {"tables", std::move(tables)},
            {"rows", r.rows},           {"verified", true},              {"seconds", r.seconds}};
}

void print_copy(const copy_report& r, const db::database& from, const db::database& to) {
    std::cout << fmt::format("copied {} -> {}\n", from.describe(), to.describe());
    std::cout << fmt::format("schema version {}{}\n", r.schema_version,
                             r.migrated.empty() ? std::string()
                                                : fmt::format(" ({} migrations applied to the target)",
                                                              r.migrated.size()));
    if (r.replaced_rows > 0) {
        std::cout << fmt::format("replaced {} rows the target held (--force)\n", r.replaced_rows);
    }
    std::cout << fmt::format("{:<24} {:>10}  {:<32}  {}\n", "table", "rows", "checksum", "verified");
    for (const auto& t : r.tables) {
        std::cout << fmt::format("{:<24} {:>10}  {:<32}  {}\n", t.table, t.target_rows, t.target_checksum,
                                 t.match() ? "ok" : "MISMATCH");
    }
    std::cout << fmt::format("{} tables, {} rows copied and verified in {:.2f} s\n", r.tables.size(), r.rows,
                             r.seconds);
    std::cout << "The master secret is not in the database: run the server on the copy with the same\n"
                 "HANDY_MASTER_SECRET (or <data_dir>/master-secret), or every token and encrypted token is invalid.\n";
}

}  // namespace

int run_copy(command_args& args) {
    std::optional<std::string> from_loc, to_loc;
    bool force = false;
    try {
        for (std::size_t i = 0; i < args.rest.size(); ++i) {
            if (auto v = flag_value("--from", i, args.rest)) {
                from_loc = std::move(*v);
            } else if (auto w = flag_value("--to", i, args.rest)) {
                to_loc = std::move(*w);
            } else if (args.rest[i] == "--force") {
                force = true;
            } else {
                return usage_error(fmt::format("copy: unknown argument {}", args.rest[i]), "copy");
            }
        }
    } catch (const std::invalid_argument& e) {
        return usage_error(fmt::format("copy: {}", e.what()), "copy");
    }
    if (!from_loc && !to_loc) {
        return usage_error("copy: name the target with --to (or the source with --from)", "copy");
    }
    std::unique_ptr<tool_env> env;
    try {
        env = std::make_unique<tool_env>(args);
    } catch (const config::error& e) {
        return report_failure(std::string("configuration error: ") + e.what(), exit_usage);
    } catch (const std::exception& e) {
        return report_failure(e.what(), exit_failed);
    }
    try {
        auto from = from_loc ? env->open_at(*from_loc, false) : env->open_configured(false);
        auto to = to_loc ? env->open_at(*to_loc, true) : env->open_configured(true);
        if (same_database(*from, *to)) {
            return failure(fmt::format("copy: the source and the target are the same database ({})", from->describe()));
        }
        progress_line line(!args.json);
        copy_options opts;
        opts.force = force;
        opts.on_progress = [&](const progress& p) { line(p); };
        auto report = copy_database(*from, *to, env->migrations(to->kind()), opts);
        line.clear();
        if (args.json) {
            std::cout << json::serialize(copy_json(report, *from, *to)) << "\n";
        } else {
            print_copy(report, *from, *to);
        }
        return exit_ok;
    } catch (const std::exception& e) {
        return failure(fmt::format("copy: {}", e.what()));
    }
}

namespace {

json::object import_json(const import_report& r, std::string_view from, std::string_view to) {
    json::array tables, skipped, migrated;
    for (const auto& t : r.tables) {
        tables.push_back(
            json::object{{"upstream", t.upstream}, {"table", t.target}, {"rows", t.rows}, {"written", t.written}});
    }
    for (const auto& s : r.skipped) {
        skipped.push_back(json::object{{"what", s.what}, {"rows", s.rows}, {"why", s.why}, {"blocking", s.blocking}});
    }
    for (int v : r.migrated) {
        migrated.push_back(v);
    }
    return {{"dry_run", r.dry_run},
            {"from", from},
            {"to", to},
            {"upstream_migration", r.upstream_migration},
            {"migrated", migrated},
            {"tables", std::move(tables)},
            {"skipped", std::move(skipped)},
            {"files", r.files},
            {"file_bytes", r.file_bytes},
            {"master_secret", json::object{{"check", r.secret_check}, {"tokens_decrypted", r.secret_tokens}}},
            {"rows", r.rows},
            {"seconds", r.seconds}};
}

std::string_view secret_line(const import_report& r) {
    if (r.secret_check == "match") {
        return "the configured master secret decrypts upstream's encrypted tokens";
    }
    if (r.secret_check == "mismatch") {
        return "the configured master secret does NOT decrypt upstream's encrypted tokens";
    }
    if (r.secret_check == "missing") {
        return "no master secret configured: set HANDY_MASTER_SECRET to upstream's value";
    }
    return "upstream holds no encrypted token to check the master secret against; it must equal upstream's "
           "HANDY_MASTER_SECRET";
}

void print_import(const import_report& r, std::string_view from, std::string_view to) {
    std::cout << fmt::format("{} {} -> {}\n", r.dry_run ? "dry run: would import" : "imported", from, to);
    if (!r.upstream_migration.empty()) {
        std::cout << fmt::format("upstream schema at {}\n", r.upstream_migration);
    }
    std::cout << fmt::format("{:<22} {:<24} {:>10}\n", "upstream", "table", r.dry_run ? "rows" : "written");
    for (const auto& t : r.tables) {
        std::cout << fmt::format("{:<22} {:<24} {:>10}\n", t.upstream, t.target, r.dry_run ? t.rows : t.written);
    }
    if (r.files > 0 || r.file_bytes > 0) {
        std::cout << fmt::format("files: {} ({} bytes){}\n", r.files, r.file_bytes, r.dry_run ? " would be copied" : " copied");
    }
    for (const auto& s : r.skipped) {
        std::cout << fmt::format("{}: {} ({} rows){}: {}\n", s.blocking ? "not importable" : "left behind", s.what,
                                 s.rows, s.blocking ? ", blocks the import" : "", s.why);
    }
    if (!r.secret_check.empty()) {
        std::cout << "master secret: " << secret_line(r) << "\n";
    }
    std::cout << fmt::format("{} rows {} in {:.2f} s\n", r.rows, r.dry_run ? "to import" : "imported", r.seconds);
}

}  // namespace

int run_import_upstream(command_args& args) {
    std::optional<std::string> from_loc, files_dir;
    import_options opts;
    try {
        for (std::size_t i = 0; i < args.rest.size(); ++i) {
            if (auto v = flag_value("--from", i, args.rest)) {
                from_loc = std::move(*v);
            } else if (auto w = flag_value("--files", i, args.rest)) {
                files_dir = std::move(*w);
            } else if (args.rest[i] == "--dry-run") {
                opts.dry_run = true;
            } else if (args.rest[i] == "--skip-unknown") {
                opts.skip_unknown = true;
            } else {
                return usage_error(fmt::format("import-upstream: unknown argument {}", args.rest[i]),
                                   "import-upstream");
            }
        }
    } catch (const std::invalid_argument& e) {
        return usage_error(fmt::format("import-upstream: {}", e.what()), "import-upstream");
    }
    if (!from_loc) {
        return usage_error("import-upstream: --from URL (upstream's DATABASE_URL) is required", "import-upstream");
    }
    if (!tool_env::is_postgres_location(*from_loc)) {
        return usage_error("import-upstream: --from must be a postgresql:// URL (upstream runs on PostgreSQL)",
                           "import-upstream");
    }
    std::unique_ptr<tool_env> env;
    try {
        env = std::make_unique<tool_env>(args);
    } catch (const config::error& e) {
        return report_failure(std::string("configuration error: ") + e.what(), exit_usage);
    } catch (const std::exception& e) {
        return report_failure(e.what(), exit_failed);
    }
    std::string from_desc = *from_loc, to_desc;
    try {
        auto upstream = env->open_at(*from_loc, false, true);
        from_desc = upstream->describe();
        // A dry run writes nothing, so it does not create the configured SQLite file either: a missing one is empty.
        std::unique_ptr<db::database> target;
        auto sqlite_file = env->configured_sqlite_file();
        if (!opts.dry_run || !sqlite_file || std::filesystem::exists(*sqlite_file)) {
            target = env->open_configured(true);
            to_desc = target->describe();
            if (same_database(*upstream, *target)) {
                return failure("import-upstream: --from names the configured storage itself");
            }
        } else {
            to_desc = "sqlite:" + *sqlite_file + " (does not exist yet)";
        }
        std::unique_ptr<files::file_store> store;
        if (files_dir) {
            store = env->open_file_store();
            opts.files_dir = files_dir;
        }
        opts.master_secret = env->master_secret();
        progress_line line(!args.json);
        opts.on_progress = [&](const progress& p) { line(p); };
        auto report = import_upstream(*upstream, target.get(), store.get(),
                                      target ? env->migrations(target->kind()) : std::vector<db::migration>{}, opts);
        line.clear();
        if (args.json) {
            std::cout << json::serialize(import_json(report, from_desc, to_desc)) << "\n";
        } else {
            print_import(report, from_desc, to_desc);
        }
        return exit_ok;
    } catch (const import_refused& e) {
        if (args.json) {
            auto o = import_json(e.report, from_desc, to_desc);
            o["error"] = e.what();
            std::cout << json::serialize(o) << "\n";
        }
        return failure(fmt::format("import-upstream: {}", e.what()));
    } catch (const std::exception& e) {
        return failure(fmt::format("import-upstream: {}", e.what()));
    }
}

}  // namespace happy::ops
