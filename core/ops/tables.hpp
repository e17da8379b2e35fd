/// @file
/// Table-level tools over the storage API for the operations commands (copy, import-upstream): a backend-neutral
/// description of a table read from either catalog, owned row values, paged reads in key order, multi-row
/// inserts, and an order-independent checksum that gives the same answer for the same data on SQLite and
/// PostgreSQL. Nothing here knows Happy's tables; callers name them.
#pragma once
#include <array>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "core/db/query.hpp"

namespace happy::ops {

/// How a column's values are read, written and checksummed. `json` is text whose meaning is the JSON it holds:
/// PostgreSQL's JSONB keeps neither key order nor spacing, so two copies of one document compare by content.
enum class column_kind { integer, text, json, blob };

std::string_view kind_name(column_kind k);

struct column {
    std::string name;
    column_kind kind = column_kind::text;
    bool nullable = true;
};

struct table_info {
    std::string name;
    std::vector<column> columns;          ///< in the catalog's order
    std::vector<std::string> primary_key; ///< column names, in key order
    std::vector<std::string> references;  ///< tables this one has foreign keys to (itself excluded)

    const column* find(std::string_view col) const;
};

/// Every table of the connection's schema (SQLite: the main database; PostgreSQL: current_schema()), by name,
/// with its columns, primary key and foreign-key targets. SQLite's internal tables are left out.
std::vector<table_info> describe_tables(db::tx& t);

/// `tables` ordered so that every table comes after the tables it references (ties by name). Throws
/// std::runtime_error naming the tables of a reference cycle.
std::vector<table_info> dependency_order(std::vector<table_info> tables);

/// One value of a row, owned (a page of rows outlives the statement that read it).
struct value {
    enum class type : std::uint8_t { null, integer, text, blob };
    type t = type::null;
    std::int64_t i = 0;
    std::string s;  ///< text or bytes

    static value null() { return {}; }
    static value integer(std::int64_t v) { return {type::integer, v, {}}; }
    static value text(std::string v) { return {type::text, 0, std::move(v)}; }
    static value bytes(std::string v) { return {type::blob, 0, std::move(v)}; }
    bool operator==(const value&) const = default;
};
using row = std::vector<value>;

/// Column `col` of `r` read as `k` (json and text as text, blob as bytes).
value read_value(const db::row_view& r, int col, column_kind k);

/// `v` as a statement parameter (a view of it: `v` must outlive the statement).
db::param as_param(const value& v);

/// A JSON document with object keys sorted (bytewise) and no spacing, as Boost.JSON prints numbers and strings;
/// text that does not parse is returned unchanged. Two JSON texts that PostgreSQL's JSONB would store alike give
/// the same canonical text (key order, spacing, escapes, duplicate keys: the last wins as in JSONB).
std::string canonical_json(std::string_view text);

/// Row count and an order-independent checksum of a table's rows: each row is hashed (BLAKE2b over a typed
/// encoding of its values; json columns in canonical form) and the hashes are summed, so the same rows give the
/// same result whatever order they were read in and whichever backend holds them.
class table_checksum {
public:
    void add(const row& r, const std::vector<column_kind>& kinds);
    std::int64_t rows() const { return rows_; }
    /// 32 hex digits.
    std::string hex() const;
    bool operator==(const table_checksum& o) const { return rows_ == o.rows_ && sum_ == o.sum_; }

private:
    std::int64_t rows_ = 0;
    std::array<std::uint64_t, 2> sum_{};
};

/// A paged read in key order: `SELECT <select> FROM <from> [WHERE (<key>) > (last key)] ORDER BY <key> LIMIT n`
/// until a page comes back short. The first `key.size()` selected expressions must be the key, so a page's last
/// row gives the next page's start. Keyset pages cost one index range scan each, and a PostgreSQL page is held in
/// memory whole, so `page_rows` bounds memory.
struct paged_select {
    std::string select;             ///< comma-separated expressions, key first
    std::string from;               ///< table (quoted as needed) with any joins
    std::vector<std::string> key;   ///< key expressions (unique, ordered), also the first selected
    std::vector<column_kind> kinds; ///< one per selected expression
    std::size_t page_rows = 2000;
};

/// Runs `q` on `t`, calling `fn` per row (values in `q.kinds` order) after each page has been read.
void read_paged(db::tx& t, const paged_select& q, const std::function<void(row&)>& fn);

/// A multi-row INSERT into one table: rows are buffered and written `VALUES (…), (…)` in statements of at most
/// `max_params` parameters. On PostgreSQL a nullable integer or bytes column is bound as
/// `CASE WHEN ? = 1 THEN NULL ELSE ? END`: PostgreSQL fixes parameter types when a statement is prepared, and a
/// NULL would otherwise make each NULL pattern of a batch a statement of its own.
class bulk_insert {
public:
    bulk_insert(db::tx& t, std::string table, std::vector<column> columns, std::size_t max_params = 4000);
    /// Buffers one row (one value per column); writes a batch when the buffer is full.
    void add(row r);
    /// Writes what is buffered.
    void flush();
    std::int64_t rows() const { return rows_; }

private:
    std::string statement(std::size_t rows) const;

    db::tx& t_;
    std::string table_;
    std::vector<column> columns_;
    std::vector<bool> flagged_;  ///< bound with a NULL flag (see above)
    std::size_t batch_rows_;
    std::vector<row> buffer_;
    std::string full_sql_;  ///< the statement of a full batch, built once
    std::int64_t rows_ = 0;
};

/// Runs `fn` inside a read-only snapshot on `t` (PostgreSQL REPEATABLE READ READ ONLY; a SQLite read
/// transaction, which in WAL mode sees one moment while a server may go on writing), so that every table is read
/// as of one moment.
void in_snapshot(db::tx& t, const std::function<void()>& fn);

/// `name` as a quoted SQL identifier ("a""b").
std::string quote_ident(std::string_view name);

/// Rows in `table` (SELECT COUNT(*)).
std::int64_t count_rows(db::tx& t, std::string_view table);

}  // namespace happy::ops
