#include "core/ops/copy.hpp"

#include <algorithm>
#include <chrono>
#include <fmt/format.h>
#include <map>
#include <set>

#include "core/ops/tables.hpp"

namespace happy::ops {

namespace {

constexpr std::string_view migrations_table = "schema_migrations";

/// Tables whose rows are not copied: the migrations (compared, not copied) and what the target's triggers derive
/// from the copied rows (session_list_version, migration 0017: every session insert bumps it, so copying it too
/// would collide with what the inserts wrote; its values only need to be consistent within one database).
bool copied(std::string_view table) { return table != migrations_table && table != "session_list_version"; }

bool has_migrations_table(db::tx& t) {
    return t.kind() == db::dialect::sqlite
               ? t.exists("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'")
               : t.exists("SELECT 1 FROM pg_catalog.pg_tables WHERE schemaname = current_schema() AND "
                          "tablename = 'schema_migrations'");
}

std::string join(const std::vector<std::string>& parts, std::string_view sep = ", ") {
    std::string out;
    for (const auto& p : parts) {
        out += (out.empty() ? "" : std::string(sep)) + p;
    }
    return out;
}

/// Rows per data table of `t` (schema_migrations left out), only tables that hold some.
std::vector<std::pair<std::string, std::int64_t>> non_empty_tables(db::tx& t, const std::vector<table_info>& tables) {
    std::vector<std::pair<std::string, std::int64_t>> out;
    for (const auto& ti : tables) {
        if (!copied(ti.name)) {
            continue;
        }
        if (auto n = count_rows(t, ti.name); n > 0) {
            out.emplace_back(ti.name, n);
        }
    }
    return out;
}

std::string describe_rows(const std::vector<std::pair<std::string, std::int64_t>>& tables) {
    std::vector<std::string> parts;
    for (const auto& [name, n] : tables) {
        parts.push_back(fmt::format("{} ({} rows)", name, n));
    }
    return join(parts);
}

/// A table as both sides see it: the target's columns, each with the kind both agree on (json when either side
/// stores JSON: SQLite keeps it as TEXT).
struct plan {
    std::string name;
    std::vector<column> columns;
    std::vector<column_kind> kinds;
    std::vector<std::string> key;
};

std::vector<plan> plan_tables(const std::vector<table_info>& source, const std::vector<table_info>& target) {
    std::map<std::string, const table_info*> by_name;
    for (const auto& t : source) {
        if (copied(t.name)) {
            by_name[t.name] = &t;
        }
    }
    std::vector<std::string> problems;
    std::vector<plan> out;
    std::set<std::string> seen;
    for (const auto& dst : dependency_order(target)) {
        if (!copied(dst.name)) {
            continue;
        }
        seen.insert(dst.name);
        auto it = by_name.find(dst.name);
        if (it == by_name.end()) {
            problems.push_back(fmt::format("table {} exists only in the target", dst.name));
            continue;
        }
        const table_info& src = *it->second;
        plan p{dst.name, {}, {}, src.primary_key};
        for (const auto& c : dst.columns) {
            const column* sc = src.find(c.name);
            if (!sc) {
                problems.push_back(fmt::format("column {}.{} exists only in the target", dst.name, c.name));
                continue;
            }
            column_kind k = c.kind;
            if (sc->kind != c.kind) {
                bool texty = (sc->kind == column_kind::json || sc->kind == column_kind::text) &&
                             (c.kind == column_kind::json || c.kind == column_kind::text);
                if (!texty) {
                    problems.push_back(fmt::format("column {}.{} is {} in the source and {} in the target", dst.name,
                                                   c.name, kind_name(sc->kind), kind_name(c.kind)));
                    continue;
                }
                k = column_kind::json;
            }
            p.columns.push_back({c.name, k, c.nullable});
            p.kinds.push_back(k);
        }
        for (const auto& c : src.columns) {
            if (!dst.find(c.name)) {
                problems.push_back(fmt::format("column {}.{} exists only in the source", src.name, c.name));
            }
        }
        if (p.key.empty()) {
            problems.push_back(fmt::format("table {} has no primary key to read it in order by", src.name));
        }
        out.push_back(std::move(p));
    }
    for (const auto& [name, t] : by_name) {
        if (!seen.count(name)) {
            problems.push_back(fmt::format("table {} exists only in the source", name));
        }
    }
    if (!problems.empty()) {
        throw copy_refused("the source and target schemas differ: " + join(problems, "; "));
    }
    return out;
}

paged_select select_of(const plan& p, std::size_t page_rows) {
    paged_select q;
    q.from = quote_ident(p.name);
    q.page_rows = page_rows;
    // The key first (for the next page's start), then the columns in the target's order.
    for (const auto& k : p.key) {
        q.key.push_back(quote_ident(k));
        q.select += (q.select.empty() ? "" : ", ") + quote_ident(k);
        const auto it = std::find_if(p.columns.begin(), p.columns.end(), [&](const column& c) { return c.name == k; });
        q.kinds.push_back(it == p.columns.end() ? column_kind::text : it->kind);
    }
    for (const auto& c : p.columns) {
        q.select += ", " + quote_ident(c.name);
        q.kinds.push_back(c.kind);
    }
    return q;
}

}  // namespace

std::vector<int> applied_migrations(db::database& db) {
    std::vector<int> out;
    db.read_sync([&](db::tx& t) {
        if (!has_migrations_table(t)) {
            return;
        }
        t.query("SELECT version FROM schema_migrations ORDER BY version", {},
                [&](const db::row_view& r) { out.push_back(static_cast<int>(r.i64(0))); });
    });
    return out;
}

copy_report copy_database(db::database& from, db::database& to, const std::vector<db::migration>& known,
                          const copy_options& opts) {
    auto started = std::chrono::steady_clock::now();
    copy_report report;

    auto src_versions = applied_migrations(from);
    if (src_versions.empty()) {
        throw copy_refused(fmt::format("{} holds no happy-server database (no schema_migrations table)",
                                       from.describe()));
    }
    std::set<int> known_versions;
    for (const auto& m : known) {
        known_versions.insert(m.version);
    }
    for (int v : src_versions) {
        if (!known_versions.count(v)) {
            throw copy_refused(fmt::format(
                "the source schema has migration {}, which this happy-server binary does not know: copy with the "
                "binary that wrote it (or a newer one)",
                v));
        }
    }
    std::set<int> src_set(src_versions.begin(), src_versions.end());
    auto dst_versions = applied_migrations(to);
    for (int v : dst_versions) {
        if (!src_set.count(v)) {
            throw copy_refused(fmt::format(
                "the target schema has migration {}, which the source does not: migrate the source first "
                "(happy-server migrate, or start the server on it once)",
                v));
        }
    }
    // Refuse a target holding data before migrating it: a refused copy leaves the target untouched.
    if (!dst_versions.empty() && !opts.force) {
        std::vector<std::pair<std::string, std::int64_t>> held;
        to.read_sync([&](db::tx& t) { held = non_empty_tables(t, describe_tables(t)); });
        if (!held.empty()) {
            throw copy_refused(fmt::format("the target {} already holds data: {}; pass --force to replace it",
                                           to.describe(), describe_rows(held)));
        }
    }
    std::vector<db::migration> wanted;
    for (const auto& m : known) {
        if (src_set.count(m.version)) {
            wanted.push_back(m);
        }
    }
    std::set<int> dst_set(dst_versions.begin(), dst_versions.end());
    for (int v : src_versions) {
        if (!dst_set.count(v)) {
            report.migrated.push_back(v);
        }
    }
    to.migrate(std::move(wanted));
    report.schema_version = src_versions.back();

    from.read_sync([&](db::tx& src) {
        in_snapshot(src, [&] {
            auto source_tables = describe_tables(src);
            std::map<std::string, std::int64_t> totals;
            std::int64_t total = 0;
            for (const auto& t : source_tables) {
                if (copied(t.name)) {
                    total += totals[t.name] = count_rows(src, t.name);
                }
            }
            to.write_sync([&](db::tx& dst) {
                report.tables.clear();
                report.replaced_rows = 0;
                auto plans = plan_tables(source_tables, describe_tables(dst));
                auto held = non_empty_tables(dst, describe_tables(dst));
                if (!held.empty()) {
                    if (!opts.force) {
                        throw copy_refused(fmt::format("the target {} already holds data: {}; pass --force to replace it",
                                                       to.describe(), describe_rows(held)));
                    }
                    for (auto it = plans.rbegin(); it != plans.rend(); ++it) {
                        report.replaced_rows += dst.exec("DELETE FROM " + quote_ident(it->name));
                    }
                }
                progress prog;
                prog.total = total;
                for (const auto& p : plans) {
                    table_report tr{p.name};
                    auto q = select_of(p, opts.page_rows);
                    const std::size_t skip = p.key.size();
                    table_checksum sum;
                    bulk_insert out(dst, p.name, p.columns);
                    prog.table = p.name;
                    prog.table_done = 0;
                    prog.table_total = totals[p.name];
                    if (opts.on_progress) {
                        opts.on_progress(prog);
                    }
                    read_paged(src, q, [&](row& r) {
                        r.erase(r.begin(), r.begin() + static_cast<std::ptrdiff_t>(skip));
                        sum.add(r, p.kinds);
                        out.add(std::move(r));
                        ++prog.table_done;
                        ++prog.done;
                        if (opts.on_progress && prog.done % 1000 == 0) {
                            opts.on_progress(prog);
                        }
                    });
                    out.flush();
                    tr.source_rows = sum.rows();
                    tr.source_checksum = sum.hex();
                    report.tables.push_back(std::move(tr));
                }
                if (opts.on_progress) {
                    opts.on_progress(prog);
                }
                // Verification: every table read back inside the transaction, compared with what was read from the
                // source; a difference rolls everything back.
                std::vector<std::string> mismatched;
                for (std::size_t i = 0; i < plans.size(); ++i) {
                    const auto& p = plans[i];
                    auto q = select_of(p, opts.page_rows);
                    const std::size_t skip = p.key.size();
                    table_checksum sum;
                    read_paged(dst, q, [&](row& r) {
                        r.erase(r.begin(), r.begin() + static_cast<std::ptrdiff_t>(skip));
                        sum.add(r, p.kinds);
                    });
                    auto& tr = report.tables[i];
                    tr.target_rows = sum.rows();
                    tr.target_checksum = sum.hex();
                    if (!tr.match()) {
                        mismatched.push_back(fmt::format("{} (source {} rows {}, target {} rows {})", tr.table,
                                                         tr.source_rows, tr.source_checksum, tr.target_rows,
                                                         tr.target_checksum));
                    }
                }
                if (!mismatched.empty()) {
                    throw std::runtime_error("verification failed, nothing was written: " + join(mismatched, "; "));
                }
            });
        });
    });
    for (const auto& t : report.tables) {
        report.rows += t.target_rows;
    }
    report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    return report;
}

}  // namespace happy::ops
