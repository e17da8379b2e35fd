/// @file
/// The storage API modules see: one placeholder style (`?`), typed parameters (integers, text, bytes, null), rows
/// read through views, "rows affected", RETURNING. A storage plugin implements `connection`; `tx` is what
/// `database::read`/`write` hand to module code. Nothing here names SOCI or a driver, so modules stay
/// backend-neutral; SQL that must differ by dialect is written as a `sql_pair` next to the statement.
#pragma once

#include <cstdint>
#include <functional>
#include <initializer_list>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <variant>

#include "core/util/function_ref.hpp"

namespace happy::db {

enum class dialect { sqlite, postgres };

/// Binary data, bound as a BLOB (SQLite) or bytea (PostgreSQL); a plain string_view binds as TEXT.
struct blob {
    std::string_view bytes;
};

/// One positional parameter (`?` in the SQL text, in order).
using param = std::variant<std::nullptr_t, std::int64_t, std::string_view, blob>;

/// An optional text value as a parameter: NULL when empty.
inline param opt(const std::optional<std::string>& v) {
    return v ? param(std::string_view(*v)) : param(nullptr);
}
/// An optional byte value as a parameter: NULL when empty.
inline param opt_blob(const std::optional<std::string>& v) {
    return v ? param(blob{*v}) : param(nullptr);
}

/// The current row of a query. Views stay valid until the callback returns.
class row_view {
public:
    virtual ~row_view() = default;
    virtual bool is_null(int col) const = 0;
    /// An integer column (SQLite INTEGER; PostgreSQL int2/4/8 or boolean).
    virtual std::int64_t i64(int col) const = 0;
    /// A text column (PostgreSQL JSON/JSONB read as its text). Empty for NULL.
    virtual std::string_view text(int col) const = 0;
    /// Raw bytes of a BLOB / bytea column (empty for NULL).
    virtual std::string_view bytes(int col) const = 0;

    std::string str(int col) const { return std::string(text(col)); }
    std::optional<std::string> opt_str(int col) const {
        return is_null(col) ? std::nullopt : std::optional<std::string>(std::string(text(col)));
    }
    std::optional<std::string> opt_bytes(int col) const {
        return is_null(col) ? std::nullopt : std::optional<std::string>(std::string(bytes(col)));
    }
    std::optional<std::int64_t> opt_i64(int col) const {
        return is_null(col) ? std::nullopt : std::optional<std::int64_t>(i64(col));
    }
};

using row_fn = util::function_ref<void(const row_view&)>;
/// The row callback of a deferred statement (connection::query_deferred): kept until the statement has run.
using deferred_fn = std::function<void(const row_view&)>;

/// SQL text per dialect, for the few statements that cannot be written once (e.g. GLOB vs LIKE … COLLATE "C").
struct sql_pair {
    std::string_view sqlite;
    std::string_view postgres;
};

/// What went wrong, in terms module code can act on (SQLSTATE classes on PostgreSQL, result codes on SQLite).
enum class error_kind {
    other,
    unique_violation,       ///< a UNIQUE / PRIMARY KEY constraint
    foreign_key_violation,  ///< a REFERENCES constraint
    retryable,              ///< serialization failure or deadlock: the whole transaction may be run again
    unavailable,            ///< the database cannot be reached (connection lost, server down)
};

/// Every storage failure reaches module code as this type.
struct error : std::runtime_error {
    error(error_kind k, const std::string& what) : std::runtime_error(what), kind(k) {}
    error_kind kind;
    /// Set when the transaction's BEGIN itself failed although the error surfaced from a later statement (a backend
    /// that sends BEGIN together with the first statement, connection::begin): nothing of the transaction ran.
    bool not_begun = false;
};

/// Thrown by storage code for "row not found" conditions handlers map to 404s.
struct not_found : std::runtime_error {
    using std::runtime_error::runtime_error;
};

/// One connection of a storage plugin. Used by one thread at a time.
class connection {
public:
    virtual ~connection() = default;
    /// Runs one statement with positional `?` parameters, calling `fn` (if any) per result row; returns the number
    /// of rows changed by an INSERT/UPDATE/DELETE. Statements are prepared once per connection and SQL text.
    virtual std::int64_t query(std::string_view sql, std::span<const param> params, row_fn fn) = 0;
    /// Runs a multi-statement script without parameters (migrations, BEGIN/COMMIT).
    virtual void exec_script(std::string_view sql) = 0;
    /// Starts a write transaction with `sql` (BEGIN, BEGIN IMMEDIATE). A backend may send it together with the
    /// transaction's first statement instead (PostgreSQL pipelines them: one round trip fewer per write); a failure
    /// of the BEGIN then surfaces from that statement, as a db::error with `not_begun` set. A COMMIT or ROLLBACK with
    /// no statement in between then ends a transaction the server never saw.
    virtual void begin(std::string_view sql) { exec_script(sql); }
    /// Runs `sql` as query() does, or, on a backend that pipelines statements (PostgreSQL), later: sent in one round
    /// trip with the transaction's next statement or with its COMMIT. Either way it runs before that next statement,
    /// `fn` has seen its rows by then, and an error it raises is thrown from there (a COMMIT then commits nothing).
    /// For the statements of a write transaction whose outcome is needed only at its end: an INSERT whose failure
    /// must abort the transaction, an UPDATE … RETURNING whose values are used after the commit. Only inside
    /// database::write; `fn` must not run statements. The parameters are copied.
    virtual void query_deferred(std::string_view sql, std::span<const param> params, deferred_fn fn) {
        if (fn) {
            query(sql, params, fn);
        } else {
            query(sql, params, {});
        }
    }
    /// True once the connection is known to be unusable (the server went away): the pool drops it and opens a
    /// new one on demand instead of handing it out again.
    virtual bool broken() const { return false; }
};

/// A connection inside `database::read` (a consistent read) or `database::write` (one atomic transaction).
class tx {
public:
    tx(connection& c, dialect d) : c_(c), d_(d) {}
    tx(const tx&) = delete;
    tx& operator=(const tx&) = delete;

    dialect kind() const { return d_; }
    /// The connection underneath, for plugin-level code (migrations, tools); module code uses the calls below.
    connection& conn() { return c_; }

    /// Runs `sql`, calling `fn` per row; returns the rows affected (0 for a SELECT).
    std::int64_t query(std::string_view sql, std::span<const param> params, row_fn fn = {}) {
        return c_.query(sql, params, fn);
    }
    std::int64_t query(std::string_view sql, std::initializer_list<param> params, row_fn fn = {}) {
        return c_.query(sql, std::span<const param>(params.begin(), params.size()), fn);
    }
    std::int64_t query(sql_pair sql, std::initializer_list<param> params, row_fn fn = {}) {
        return query(pick(sql), params, fn);
    }
    std::int64_t query(sql_pair sql, std::span<const param> params, row_fn fn = {}) {
        return query(pick(sql), params, fn);
    }
    /// A statement without result rows; returns the rows affected.
    std::int64_t exec(std::string_view sql, std::initializer_list<param> params = {}) { return query(sql, params); }
    /// connection::query_deferred: `sql` runs no later than the next statement or the COMMIT, which throw its error.
    void exec_deferred(std::string_view sql, std::initializer_list<param> params, deferred_fn fn = {}) {
        c_.query_deferred(sql, std::span<const param>(params.begin(), params.size()), std::move(fn));
    }

    /// The first column of the first row as an integer (nullopt: no row or NULL).
    std::optional<std::int64_t> one_i64(std::string_view sql, std::initializer_list<param> params = {});
    /// The first column of the first row as text (nullopt: no row or NULL).
    std::optional<std::string> one_text(std::string_view sql, std::initializer_list<param> params = {});
    /// True when `sql` yields at least one row.
    bool exists(std::string_view sql, std::initializer_list<param> params = {});

    std::string_view pick(sql_pair sql) const { return d_ == dialect::sqlite ? sql.sqlite : sql.postgres; }

private:
    connection& c_;
    dialect d_;
};

}  // namespace happy::db
