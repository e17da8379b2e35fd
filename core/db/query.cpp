// The generic (SOCI) implementation of backend::query, used by backends without a fast path of their own.
#include <soci/soci.h>

#include <deque>
#include <string>
#include <vector>

#include "core/db/database.hpp"

namespace happy::db {

namespace {

/// SOCI names parameters; `?` placeholders outside string literals become :p1, :p2, ….
std::string soci_placeholders(std::string_view sql) {
    std::string out;
    out.reserve(sql.size() + 16);
    char quote = 0;
    int n = 0;
    for (char c : sql) {
        if (quote) {
            if (c == quote) {
                quote = 0;
            }
            out += c;
        } else if (c == '\'' || c == '"') {
            quote = c;
            out += c;
        } else if (c == '?') {
            out += ":p" + std::to_string(++n);
        } else {
            out += c;
        }
    }
    return out;
}

class soci_row final : public row_view {
public:
    explicit soci_row(const soci::row& r) : r_(r) {}
    bool is_null(int col) const override { return r_.get_indicator(static_cast<std::size_t>(col)) == soci::i_null; }
    // SOCI's SQLite backend types a column declared INTEGER as int and truncates larger values before we see
    // them; schemas declare 64-bit columns BIGINT for that reason (the fast path has no such limit).
    std::int64_t i64(int col) const override {
        auto i = static_cast<std::size_t>(col);
        switch (r_.get_properties(i).get_data_type()) {
            case soci::dt_integer:
                return r_.get<int>(i);
            case soci::dt_long_long:
                return r_.get<long long>(i);
            case soci::dt_unsigned_long_long:
                return static_cast<std::int64_t>(r_.get<unsigned long long>(i));
            case soci::dt_double:
                return static_cast<std::int64_t>(r_.get<double>(i));
            default:
                return std::stoll(r_.get<std::string>(i));
        }
    }
    std::string_view text(int col) const override {
        if (is_null(col)) {
            return {};
        }
        // row::get returns by value; keep it alive until the next column read of this row.
        scratch_.push_back(r_.get<std::string>(static_cast<std::size_t>(col)));
        return scratch_.back();
    }
    std::string_view bytes(int col) const override { return text(col); }

private:
    const soci::row& r_;
    mutable std::deque<std::string> scratch_;
};

}  // namespace

std::int64_t backend::query(soci::session& s, std::string_view sql, std::span<const param> params, row_fn fn) {
    // Values must outlive the statement: SOCI binds by reference.
    std::vector<std::string> texts;
    std::vector<long long> ints;
    std::vector<soci::indicator> inds(params.size(), soci::i_ok);
    texts.reserve(params.size());
    ints.reserve(params.size());
    soci::statement st(s);
    for (std::size_t i = 0; i < params.size(); ++i) {
        const auto& p = params[i];
        std::string name = "p" + std::to_string(i + 1);
        if (std::holds_alternative<std::int64_t>(p)) {
            ints.push_back(std::get<std::int64_t>(p));
            st.exchange(soci::use(ints.back(), name));
        } else if (std::holds_alternative<std::string_view>(p)) {
            texts.emplace_back(std::get<std::string_view>(p));
            st.exchange(soci::use(texts.back(), name));
        } else if (std::holds_alternative<blob>(p)) {
            texts.emplace_back(std::get<blob>(p).bytes);
            st.exchange(soci::use(texts.back(), name));
        } else {
            texts.emplace_back();
            inds[i] = soci::i_null;
            st.exchange(soci::use(texts.back(), inds[i], name));
        }
    }
    soci::row row;
    if (fn) {
        st.exchange(soci::into(row));
    }
    st.alloc();
    st.prepare(soci_placeholders(sql));
    st.define_and_bind();
    bool got = st.execute(fn ? false : true);
    if (fn) {
        while (st.fetch()) {
            got = true;
            soci_row view(row);
            fn(view);
        }
    }
    (void)got;
    return st.get_affected_rows();
}

}  // namespace happy::db
