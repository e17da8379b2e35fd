#include "core/ops/tables.hpp"

#include <sodium.h>

#include <algorithm>
#include <boost/json.hpp>
#include <cmath>
#include <cstring>
#include <fmt/format.h>
#include <map>
#include <set>
#include <stdexcept>

#include "core/util/ascii.hpp"

namespace happy::ops {

namespace json = boost::json;

std::string_view kind_name(column_kind k) {
    switch (k) {
        case column_kind::integer: return "integer";
        case column_kind::text: return "text";
        case column_kind::json: return "json";
        case column_kind::blob: return "bytes";
    }
    return "?";
}

const column* table_info::find(std::string_view col) const {
    for (const auto& c : columns) {
        if (c.name == col) {
            return &c;
        }
    }
    return nullptr;
}

std::string quote_ident(std::string_view name) {
    std::string out = "\"";
    for (char c : name) {
        out += c;
        if (c == '"') {
            out += '"';
        }
    }
    out += '"';
    return out;
}

namespace {

bool contains_ci(std::string_view hay, std::string_view needle) {
    if (needle.size() > hay.size()) {
        return false;
    }
    for (std::size_t i = 0; i + needle.size() <= hay.size(); ++i) {
        if (util::iequals(hay.substr(i, needle.size()), needle)) {
            return true;
        }
    }
    return false;
}

/// SQLite's type affinity rules (https://sqlite.org/datatype3.html §3.1), reduced to our kinds.
column_kind sqlite_kind(std::string_view declared) {
    if (contains_ci(declared, "INT")) {
        return column_kind::integer;
    }
    if (contains_ci(declared, "BLOB") || declared.empty()) {
        return column_kind::blob;
    }
    return column_kind::text;
}

column_kind postgres_kind(std::string_view type) {
    if (type == "bigint" || type == "integer" || type == "smallint" || type == "boolean") {
        return column_kind::integer;
    }
    if (type == "bytea") {
        return column_kind::blob;
    }
    if (type == "jsonb" || type == "json") {
        return column_kind::json;
    }
    return column_kind::text;
}

std::vector<table_info> describe_sqlite(db::tx& t) {
    std::vector<table_info> out;
    t.query("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' "
            "ORDER BY name",
            {}, [&](const db::row_view& r) { out.push_back({r.str(0), {}, {}, {}}); });
    for (auto& ti : out) {
        std::vector<std::pair<std::int64_t, std::string>> pk;
        t.query("SELECT name, type, \"notnull\", pk FROM pragma_table_info(?) ORDER BY cid", {ti.name},
                [&](const db::row_view& r) {
                    ti.columns.push_back({r.str(0), sqlite_kind(r.text(1)), r.i64(2) == 0});
                    if (r.i64(3) > 0) {
                        pk.emplace_back(r.i64(3), r.str(0));
                    }
                });
        std::sort(pk.begin(), pk.end());
        for (auto& [pos, name] : pk) {
            ti.primary_key.push_back(std::move(name));
        }
        std::set<std::string> refs;
        t.query("SELECT \"table\" FROM pragma_foreign_key_list(?)", {ti.name}, [&](const db::row_view& r) {
            if (r.text(0) != ti.name) {
                refs.insert(r.str(0));
            }
        });
        ti.references.assign(refs.begin(), refs.end());
    }
    return out;
}

std::vector<table_info> describe_postgres(db::tx& t) {
    std::vector<table_info> out;
    t.query("SELECT tablename::text FROM pg_catalog.pg_tables WHERE schemaname = current_schema() "
            "ORDER BY tablename COLLATE \"C\"",
            {}, [&](const db::row_view& r) { out.push_back({r.str(0), {}, {}, {}}); });
    for (auto& ti : out) {
        // format_type: "bigint", "text", "bytea", "jsonb", "timestamp(3) without time zone", a user-defined type's
        // name; NOT NULL from pg_attribute (information_schema would hide columns of tables we do not own).
        t.query("SELECT a.attname::text, format_type(a.atttypid, NULL), a.attnotnull FROM pg_catalog.pg_attribute a "
                "WHERE a.attrelid = ?::regclass AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum",
                {quote_ident(ti.name)}, [&](const db::row_view& r) {
                    ti.columns.push_back({r.str(0), postgres_kind(r.text(1)), r.i64(2) == 0});
                });
        t.query("SELECT a.attname::text FROM pg_catalog.pg_index i JOIN pg_catalog.pg_attribute a "
                "ON a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey) "
                "WHERE i.indrelid = ?::regclass AND i.indisprimary ORDER BY array_position(i.indkey::int2[], a.attnum)",
                {quote_ident(ti.name)}, [&](const db::row_view& r) { ti.primary_key.push_back(r.str(0)); });
        std::set<std::string> refs;
        t.query("SELECT c.relname::text FROM pg_catalog.pg_constraint k JOIN pg_catalog.pg_class c ON c.oid = k.confrelid "
                "WHERE k.conrelid = ?::regclass AND k.contype = 'f'",
                {quote_ident(ti.name)}, [&](const db::row_view& r) {
                    if (r.text(0) != ti.name) {
                        refs.insert(r.str(0));
                    }
                });
        ti.references.assign(refs.begin(), refs.end());
    }
    return out;
}

}  // namespace

std::vector<table_info> describe_tables(db::tx& t) {
    return t.kind() == db::dialect::sqlite ? describe_sqlite(t) : describe_postgres(t);
}

std::vector<table_info> dependency_order(std::vector<table_info> tables) {
    std::sort(tables.begin(), tables.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
    std::set<std::string> names;
    for (const auto& t : tables) {
        names.insert(t.name);
    }
    std::vector<table_info> out;
    std::set<std::string> placed;
    while (!tables.empty()) {
        // The first ready table by name, then look again from the start: ties are broken by name at every step.
        bool progress = false;
        for (auto it = tables.begin(); it != tables.end(); ++it) {
            bool ready = std::all_of(it->references.begin(), it->references.end(), [&](const std::string& r) {
                return placed.count(r) || !names.count(r);  // a reference outside the set constrains nothing here
            });
            if (ready) {
                placed.insert(it->name);
                out.push_back(std::move(*it));
                tables.erase(it);
                progress = true;
                break;
            }
        }
        if (!progress) {
            std::string cycle;
            for (const auto& t : tables) {
                cycle += (cycle.empty() ? "" : ", ") + t.name;
            }
            throw std::runtime_error("foreign keys form a cycle between tables " + cycle);
        }
    }
    return out;
}

value read_value(const db::row_view& r, int col, column_kind k) {
    if (r.is_null(col)) {
        return value::null();
    }
    switch (k) {
        case column_kind::integer: return value::integer(r.i64(col));
        case column_kind::text:
        case column_kind::json: return value::text(std::string(r.text(col)));
        case column_kind::blob: return value::bytes(std::string(r.bytes(col)));
    }
    return value::null();
}

db::param as_param(const value& v) {
    switch (v.t) {
        case value::type::null: return nullptr;
        case value::type::integer: return v.i;
        case value::type::text: return std::string_view(v.s);
        case value::type::blob: return db::blob{v.s};
    }
    return nullptr;
}

namespace {

void write_canonical(const json::value& v, std::string& out) {
    switch (v.kind()) {
        case json::kind::object: {
            const auto& o = v.get_object();
            std::vector<const json::key_value_pair*> items;
            items.reserve(o.size());
            for (const auto& kv : o) {
                items.push_back(&kv);
            }
            std::sort(items.begin(), items.end(), [](auto* a, auto* b) { return a->key() < b->key(); });
            out += '{';
            for (std::size_t i = 0; i < items.size(); ++i) {
                if (i) {
                    out += ',';
                }
                out += json::serialize(json::value(items[i]->key()));
                out += ':';
                write_canonical(items[i]->value(), out);
            }
            out += '}';
            return;
        }
        case json::kind::array: {
            out += '[';
            bool first = true;
            for (const auto& e : v.get_array()) {
                if (!first) {
                    out += ',';
                }
                first = false;
                write_canonical(e, out);
            }
            out += ']';
            return;
        }
        case json::kind::double_: {
            // JSONB keeps a number's digits (1e2 reads back as 100): an integral double prints as an integer.
            double d = v.get_double();
            if (std::floor(d) == d && std::fabs(d) < 9007199254740992.0) {
                out += std::to_string(static_cast<std::int64_t>(d));
                return;
            }
            out += json::serialize(v);
            return;
        }
        default: out += json::serialize(v);
    }
}

}  // namespace

std::string canonical_json(std::string_view text) {
    boost::system::error_code ec;
    json::value v = json::parse(text, ec);
    if (ec) {
        return std::string(text);
    }
    std::string out;
    out.reserve(text.size());
    write_canonical(v, out);
    return out;
}

void table_checksum::add(const row& r, const std::vector<column_kind>& kinds) {
    crypto_generichash_state st;
    crypto_generichash_init(&st, nullptr, 0, 16);
    auto feed = [&](const void* p, std::size_t n) {
        crypto_generichash_update(&st, static_cast<const unsigned char*>(p), n);
    };
    auto feed_sized = [&](char tag, std::string_view s) {
        std::uint64_t n = s.size();
        feed(&tag, 1);
        feed(&n, sizeof n);
        feed(s.data(), s.size());
    };
    for (std::size_t i = 0; i < r.size(); ++i) {
        const value& v = r[i];
        switch (v.t) {
            case value::type::null: feed("n", 1); break;
            case value::type::integer:
                feed("i", 1);
                feed(&v.i, sizeof v.i);
                break;
            case value::type::text:
                if (i < kinds.size() && kinds[i] == column_kind::json) {
                    feed_sized('j', canonical_json(v.s));
                } else {
                    feed_sized('t', v.s);
                }
                break;
            case value::type::blob: feed_sized('b', v.s); break;
        }
    }
    std::array<unsigned char, 16> h{};
    crypto_generichash_final(&st, h.data(), h.size());
    std::uint64_t a = 0, b = 0;
    std::memcpy(&a, h.data(), 8);
    std::memcpy(&b, h.data() + 8, 8);
    sum_[0] += a;
    sum_[1] += b;
    ++rows_;
}

std::string table_checksum::hex() const { return fmt::format("{:016x}{:016x}", sum_[0], sum_[1]); }

void read_paged(db::tx& t, const paged_select& q, const std::function<void(row&)>& fn) {
    if (q.key.empty() || q.kinds.size() < q.key.size()) {
        throw std::logic_error("read_paged: a key is needed, selected first");
    }
    std::string order;
    std::string tuple;
    std::string marks;
    for (std::size_t i = 0; i < q.key.size(); ++i) {
        order += (i ? ", " : "") + q.key[i];
        marks += i ? ", ?" : "?";
    }
    tuple = q.key.size() == 1 ? order : "(" + order + ")";
    std::string placeholder = q.key.size() == 1 ? marks : "(" + marks + ")";
    std::string limit = fmt::format(" ORDER BY {} LIMIT {}", order, q.page_rows);
    std::string first = fmt::format("SELECT {} FROM {}{}", q.select, q.from, limit);
    std::string next = fmt::format("SELECT {} FROM {} WHERE {} > {}{}", q.select, q.from, tuple, placeholder, limit);

    std::vector<row> page;
    row last_key;
    bool more = true;
    bool started = false;
    while (more) {
        page.clear();
        auto collect = [&](const db::row_view& r) {
            row values;
            values.reserve(q.kinds.size());
            for (std::size_t c = 0; c < q.kinds.size(); ++c) {
                values.push_back(read_value(r, static_cast<int>(c), q.kinds[c]));
            }
            page.push_back(std::move(values));
        };
        if (!started) {
            t.query(first, {}, collect);
            started = true;
        } else {
            std::vector<db::param> params;
            for (const auto& v : last_key) {
                params.push_back(as_param(v));
            }
            t.query(next, std::span<const db::param>(params), collect);
        }
        more = page.size() == q.page_rows;
        if (!page.empty()) {
            last_key.assign(page.back().begin(), page.back().begin() + static_cast<std::ptrdiff_t>(q.key.size()));
        }
        for (auto& r : page) {
            fn(r);
        }
    }
}

bulk_insert::bulk_insert(db::tx& t, std::string table, std::vector<column> columns, std::size_t max_params)
    : t_(t), table_(std::move(table)), columns_(std::move(columns)) {
    std::size_t per_row = 0;
    for (const auto& c : columns_) {
        bool flag = t_.kind() == db::dialect::postgres && c.nullable &&
                    (c.kind == column_kind::integer || c.kind == column_kind::blob);
        flagged_.push_back(flag);
        per_row += flag ? 2 : 1;
    }
    batch_rows_ = std::max<std::size_t>(1, max_params / std::max<std::size_t>(1, per_row));
    full_sql_ = statement(batch_rows_);
}

std::string bulk_insert::statement(std::size_t rows) const {
    std::string one = "(";
    for (std::size_t i = 0; i < columns_.size(); ++i) {
        one += i ? ", " : "";
        one += flagged_[i] ? "CASE WHEN ? = 1 THEN NULL ELSE ? END" : "?";
    }
    one += ")";
    std::string sql = "INSERT INTO " + quote_ident(table_) + " (";
    for (std::size_t i = 0; i < columns_.size(); ++i) {
        sql += (i ? ", " : "") + quote_ident(columns_[i].name);
    }
    sql += ") VALUES ";
    sql.reserve(sql.size() + rows * (one.size() + 2));
    for (std::size_t r = 0; r < rows; ++r) {
        sql += r ? ", " : "";
        sql += one;
    }
    return sql;
}

void bulk_insert::add(row r) {
    if (r.size() != columns_.size()) {
        throw std::logic_error(
            fmt::format("bulk_insert into {}: {} values for {} columns", table_, r.size(), columns_.size()));
    }
    buffer_.push_back(std::move(r));
    if (buffer_.size() >= batch_rows_) {
        flush();
    }
}

void bulk_insert::flush() {
    if (buffer_.empty()) {
        return;
    }
    std::vector<db::param> params;
    params.reserve(buffer_.size() * columns_.size() * 2);
    static const value empty_blob = value::bytes({});
    for (const auto& r : buffer_) {
        for (std::size_t i = 0; i < r.size(); ++i) {
            if (flagged_[i]) {
                bool null = r[i].t == value::type::null;
                params.emplace_back(std::int64_t{null ? 1 : 0});
                if (null) {
                    params.push_back(columns_[i].kind == column_kind::integer ? db::param(std::int64_t{0})
                                                                              : as_param(empty_blob));
                } else {
                    params.push_back(as_param(r[i]));
                }
            } else {
                params.push_back(as_param(r[i]));
            }
        }
    }
    std::string partial;
    std::string_view sql = full_sql_;
    if (buffer_.size() != batch_rows_) {
        partial = statement(buffer_.size());
        sql = partial;
    }
    t_.query(sql, std::span<const db::param>(params));
    rows_ += static_cast<std::int64_t>(buffer_.size());
    buffer_.clear();
}

void in_snapshot(db::tx& t, const std::function<void()>& fn) {
    t.conn().exec_script(t.kind() == db::dialect::postgres ? "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"
                                                           : "BEGIN");
    try {
        fn();
    } catch (...) {
        try {
            t.conn().exec_script("ROLLBACK");
        } catch (...) {
            // the connection may be gone; the original error matters
        }
        throw;
    }
    t.conn().exec_script("COMMIT");
}

std::int64_t count_rows(db::tx& t, std::string_view table) {
    return t.one_i64("SELECT COUNT(*) FROM " + quote_ident(table)).value_or(0);
}

}  // namespace happy::ops
