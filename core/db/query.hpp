/// @file
/// Prepared, cached statements for hot paths. `database::read/write` hand modules a SOCI session, and SOCI's
/// dynamic row API costs more than the query itself for list routes (a prepare per call, a heap string per
/// column). `database::query` runs SQL through the storage plugin instead: SQLite keeps one prepared statement
/// per connection and SQL text and exposes columns as views into its own buffers, so a handler can write its
/// response without intermediate copies. Backends without a fast path get a generic SOCI implementation.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>
#include <variant>

#include "core/util/function_ref.hpp"

namespace happy::db {

/// Binary data bound as a BLOB (a plain string_view binds as TEXT).
struct blob {
    std::string_view bytes;
};

/// One positional parameter (`?` in the SQL text, in order).
using param = std::variant<std::nullptr_t, std::int64_t, std::string_view, blob>;

/// The current row of a query. Views stay valid until the callback returns.
class row_view {
public:
    virtual ~row_view() = default;
    virtual bool is_null(int col) const = 0;
    virtual std::int64_t i64(int col) const = 0;
    virtual std::string_view text(int col) const = 0;
    /// Raw bytes of a BLOB column (empty for NULL).
    virtual std::string_view bytes(int col) const = 0;
};

using row_fn = util::function_ref<void(const row_view&)>;

}  // namespace happy::db
