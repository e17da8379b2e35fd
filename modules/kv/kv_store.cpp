#include "modules/kv/kv_store.hpp"

#include <soci/soci.h>

#include "core/crypto/base64.hpp"

namespace happy::mod::kv {

namespace {

/// A row as stored: value nullopt = NULL (deleted).
struct kv_row {
    std::string key;
    std::optional<std::string> value;
    std::int64_t version = 0;
};

/// Runs `SELECT key, value IS NULL, hex(value), version FROM user_kv <where>` with string arguments bound in order.
/// The value is read through hex(): bytes with NULs and empty BLOBs survive the text round trip through SOCI.
std::vector<kv_row> select_rows(soci::session& s, const std::string& where, std::vector<std::string> args) {
    kv_row buf;
    int is_null = 1;
    std::string hex;
    soci::indicator hex_ind = soci::i_null;
    soci::statement st(s);
    st.alloc();
    st.prepare("SELECT key, value IS NULL, hex(value), version FROM user_kv " + where);
    st.exchange(soci::into(buf.key));
    st.exchange(soci::into(is_null));
    st.exchange(soci::into(hex, hex_ind));
    st.exchange(soci::into(buf.version));
    for (auto& a : args) {
        st.exchange(soci::use(a));
    }
    st.define_and_bind();
    std::vector<kv_row> out;
    if (st.execute(true)) {
        do {
            kv_row r{buf.key, std::nullopt, buf.version};
            if (is_null == 0) {
                r.value = crypto::hex_decode(hex_ind == soci::i_ok ? hex : "").value_or("");
            }
            out.push_back(std::move(r));
        } while (st.fetch());
    }
    return out;
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

std::optional<kv_item> kv_get(soci::session& s, std::string_view account_id, std::string_view key) {
    auto rows = live(select_rows(s, "WHERE account_id = :a AND key = :k", {std::string(account_id), std::string(key)}));
    if (rows.empty()) {
        return std::nullopt;
    }
    return std::move(rows.front());
}

std::vector<kv_item> kv_list(soci::session& s, std::string_view account_id, std::string_view prefix, int limit) {
    std::string tail = " AND value IS NOT NULL ORDER BY key LIMIT " + std::to_string(limit);
    if (prefix.empty()) {  // kvList.ts: `if (options?.prefix)`, so "" is no filter
        return live(select_rows(s, "WHERE account_id = :a" + tail, {std::string(account_id)}));
    }
    return live(select_rows(s, "WHERE account_id = :a AND key GLOB :p" + tail,
                            {std::string(account_id), kv_prefix_glob(prefix)}));
}

std::vector<kv_item> kv_bulk_get(soci::session& s, std::string_view account_id, const std::vector<std::string>& keys) {
    // At most 100 keys (route schema): one `IN` list of placeholders.
    std::string where = "WHERE account_id = :a AND value IS NOT NULL AND key IN (";
    std::vector<std::string> args{std::string(account_id)};
    for (std::size_t i = 0; i < keys.size(); ++i) {
        where += i ? ", :k" + std::to_string(i) : ":k0";
        args.push_back(keys[i]);
    }
    where += ") ORDER BY key";
    return live(select_rows(s, where, std::move(args)));
}

kv_mutate_result kv_mutate(soci::session& s, std::string_view account_id, const std::vector<kv_mutation>& mutations,
                           std::int64_t now) {
    kv_mutate_result out;
    std::string acc(account_id);
    // Pass 1: every version against the state before the batch.
    for (const auto& m : mutations) {
        auto rows = select_rows(s, "WHERE account_id = :a AND key = :k", {acc, m.key});
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
    // Pass 2: apply in order.
    for (const auto& m : mutations) {
        // `mutation.value ? … : null`: null and "" both store NULL.
        const bool has_value = m.value && !m.value->empty();
        std::string key = m.key;
        soci::indicator ind = has_value ? soci::i_ok : soci::i_null;
        if (m.version == -1) {
            // Insert path: Buffer.from(value, 'base64'), Node's lenient decoder.
            std::string bytes = has_value ? crypto::base64_decode_lenient(*m.value) : std::string();
            s << "INSERT INTO user_kv (account_id, key, value, version, created_at, updated_at) "
                 "VALUES (:a, :k, CAST(:v AS BLOB), 0, :c, :u)",
                soci::use(acc), soci::use(key), soci::use(bytes, ind), soci::use(now), soci::use(now);
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
            std::int64_t next = static_cast<std::int64_t>(m.version) + 1;
            s << "UPDATE user_kv SET value = CAST(:v AS BLOB), version = :n, updated_at = :u "
                 "WHERE account_id = :a AND key = :k",
                soci::use(bytes, ind), soci::use(next), soci::use(now), soci::use(acc), soci::use(key);
            out.results.emplace_back(m.key, next);
        }
    }
    out.success = true;
    return out;
}

}  // namespace happy::mod::kv
