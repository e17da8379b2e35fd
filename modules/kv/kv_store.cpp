#include "modules/kv/kv_store.hpp"

#include <algorithm>
#include <string>

#include "core/crypto/base64.hpp"
#include "core/db/query.hpp"

namespace happy::mod::kv {

namespace {

/// A row as stored: value nullopt = NULL (deleted).
struct kv_row {
    std::string key;
    std::optional<std::string> value;
    std::int64_t version = 0;
};

constexpr std::string_view select_columns = "SELECT key, value, version FROM user_kv ";

std::vector<kv_row> select_rows(db::tx& t, std::string_view sql, std::span<const db::param> params) {
    std::vector<kv_row> out;
    t.query(sql, params, [&](const db::row_view& r) { out.push_back({r.str(0), r.opt_bytes(1), r.i64(2)}); });
    return out;
}

std::vector<kv_row> select_rows(db::tx& t, std::string_view sql, std::initializer_list<db::param> params) {
    return select_rows(t, sql, std::span<const db::param>(params.begin(), params.size()));
}

std::vector<kv_item> live(std::vector<kv_row> rows) {
    std::vector<kv_item> out;
    out.reserve(rows.size());
    for (auto& r : rows) {
        if (r.value) {
            out.push_back({std::move(r.key), std::move(*r.value), r.version});
        }
    }
    return out;
}

}  // namespace

std::string kv_prefix_glob(std::string_view prefix) {
    std::string like(prefix);
    like += '%';  // Prisma startsWith appends the wildcard to the unescaped value
    std::string glob;
    glob.reserve(like.size() + 8);
    for (std::size_t i = 0; i < like.size(); ++i) {
        char c = like[i];
        bool literal = false;
        if (c == '\\' && i + 1 < like.size()) {
            c = like[++i];  // PostgreSQL's default LIKE escape: the next character is literal
            literal = true;
        }
        if (!literal && c == '%') {
            glob += '*';
        } else if (!literal && c == '_') {
            glob += '?';
        } else if (c == '*' || c == '?' || c == '[') {
            glob += '[';
            glob += c;
            glob += ']';
        } else {
            glob += c;
        }
    }
    return glob;
}

std::optional<kv_item> kv_get(db::tx& t, std::string_view account_id, std::string_view key) {
    static const std::string sql = std::string(select_columns) + "WHERE account_id = ? AND key = ?";
    auto rows = live(select_rows(t, sql, {account_id, key}));
    if (rows.empty()) {
        return std::nullopt;
    }
    return std::move(rows.front());
}

std::vector<kv_item> kv_list(db::tx& t, std::string_view account_id, std::string_view prefix, int limit) {
    const std::int64_t n = limit;
    if (prefix.empty()) {  // kvList.ts: `if (options?.prefix)`, so "" is no filter
        static const std::string sql = std::string(select_columns) +
                                       "WHERE account_id = ? AND value IS NOT NULL ORDER BY key LIMIT ?";
        return live(select_rows(t, sql, {account_id, n}));
    }
    // Prisma's startsWith is `LIKE '<prefix>%'` with PostgreSQL's semantics: case-sensitive, `\` escapes. PostgreSQL
    // runs exactly that (keys are COLLATE "C"); SQLite's LIKE folds ASCII case, so there the pattern becomes a GLOB.
    static const std::string sqlite_sql = std::string(select_columns) +
                                          "WHERE account_id = ? AND key GLOB ? AND value IS NOT NULL ORDER BY key "
                                          "LIMIT ?";
    static const std::string pg_sql = std::string(select_columns) +
                                      "WHERE account_id = ? AND key LIKE ? AND value IS NOT NULL ORDER BY key LIMIT ?";
    if (t.kind() == db::dialect::sqlite) {
        std::string glob = kv_prefix_glob(prefix);
        return live(select_rows(t, sqlite_sql, {account_id, std::string_view(glob), n}));
    }
    std::string like = std::string(prefix) + '%';
    return live(select_rows(t, pg_sql, {account_id, std::string_view(like), n}));
}

std::vector<kv_item> kv_bulk_get(db::tx& t, std::string_view account_id, const std::vector<std::string>& keys) {
    // At most 100 keys (route schema): one `IN` list of placeholders.
    std::string sql = std::string(select_columns) + "WHERE account_id = ? AND value IS NOT NULL AND key IN (";
    std::vector<db::param> params{account_id};
    for (std::size_t i = 0; i < keys.size(); ++i) {
        sql += i ? ", ?" : "?";
        params.emplace_back(std::string_view(keys[i]));
    }
    sql += ") ORDER BY key";
    return live(select_rows(t, sql, params));
}

kv_mutate_result kv_mutate(db::tx& t, std::string_view account_id, const std::vector<kv_mutation>& mutations,
                           std::int64_t now) {
    kv_mutate_result out;
    static const std::string find_sql = std::string(select_columns) + "WHERE account_id = ? AND key = ?";
    // Pass 1: every version against the state before the batch.
    for (const auto& m : mutations) {
        auto rows = select_rows(t, find_sql, {account_id, m.key});
        std::int64_t current = rows.empty() ? -1 : rows.front().version;
        if (static_cast<double>(current) != m.version) {
            kv_conflict c{m.key, current, std::nullopt};
            if (!rows.empty()) {
                c.value = rows.front().value;
            }
            out.errors.push_back(std::move(c));
        }
    }
    if (!out.errors.empty()) {
        return out;
    }
    // Pass 2: apply in order. Each write is a compare-and-set against the version pass 1 saw: another server
    // process may have changed the row since (PostgreSQL, several instances). Then the whole transaction is run
    // again (db::error retryable), and pass 1 reports the conflict as upstream's serializable transaction would.
    auto lost_race = [&](const kv_mutation& m) {
        return db::error(db::error_kind::retryable, "kv: key " + m.key + " changed concurrently");
    };
    // True when mutation i's key already came up earlier in this batch.
    auto seen_earlier = [&](std::size_t i) {
        return std::any_of(mutations.begin(), mutations.begin() + static_cast<std::ptrdiff_t>(i),
                           [&](const kv_mutation& o) { return o.key == mutations[i].key; });
    };
    for (std::size_t i = 0; i < mutations.size(); ++i) {
        const auto& m = mutations[i];
        // `mutation.value ? … : null`: null and "" both store NULL.
        const bool has_value = m.value && !m.value->empty();
        if (m.version == -1) {
            // Insert path: Buffer.from(value, 'base64'), Node's lenient decoder.
            std::string bytes = has_value ? crypto::base64_decode_lenient(*m.value) : std::string();
            try {
                t.exec("INSERT INTO user_kv (account_id, key, value, version, created_at, updated_at) "
                       "VALUES (?, ?, ?, 0, ?, ?)",
                       {account_id, m.key, has_value ? db::param(db::blob{bytes}) : db::param(nullptr), now, now});
            } catch (const db::error& e) {
                if (e.kind != db::error_kind::unique_violation || seen_earlier(i)) {
                    throw;  // a key twice in one batch violates the primary key, as upstream
                }
                throw lost_race(m);
            }
            out.results.emplace_back(m.key, 0);
        } else {
            // Update path: privacyKit.decodeBase64, the strict decoder.
            std::string bytes;
            if (has_value) {
                auto decoded = crypto::base64_decode_strict(*m.value);
                if (!decoded) {
                    throw invalid_base64("invalid base64 value for key " + m.key);
                }
                bytes = std::move(*decoded);
            }
            // The version matched an Int column, so it is integral.
            const auto expected = static_cast<std::int64_t>(m.version);
            std::int64_t next = expected + 1;
            const db::param value = has_value ? db::param(db::blob{bytes}) : db::param(nullptr);
            std::int64_t changed = t.exec("UPDATE user_kv SET value = ?, version = ?, updated_at = ? "
                                          "WHERE account_id = ? AND key = ? AND version = ?",
                                          {value, next, now, account_id, m.key, expected});
            if (changed != 1) {
                if (!seen_earlier(i)) {
                    throw lost_race(m);
                }
                // The same key updated twice in one batch: upstream's second update matches no version check of
                // its own (it updates by key), so it applies on top of the first.
                t.exec("UPDATE user_kv SET value = ?, version = ?, updated_at = ? WHERE account_id = ? AND key = ?",
                       {value, next, now, account_id, m.key});
            }
            out.results.emplace_back(m.key, next);
        }
    }
    out.success = true;
    return out;
}

}  // namespace happy::mod::kv
