#include "core/db/query.hpp"

namespace happy::db {

std::optional<std::int64_t> tx::one_i64(std::string_view sql, std::initializer_list<param> params) {
    std::optional<std::int64_t> out;
    bool first = true;
    query(sql, params, [&](const row_view& r) {
        if (first) {
            first = false;
            out = r.opt_i64(0);
        }
    });
    return out;
}

std::optional<std::string> tx::one_text(std::string_view sql, std::initializer_list<param> params) {
    std::optional<std::string> out;
    bool first = true;
    query(sql, params, [&](const row_view& r) {
        if (first) {
            first = false;
            out = r.opt_str(0);
        }
    });
    return out;
}

bool tx::exists(std::string_view sql, std::initializer_list<param> params) {
    bool any = false;
    query(sql, params, [&](const row_view&) { any = true; });
    return any;
}

}  // namespace happy::db
