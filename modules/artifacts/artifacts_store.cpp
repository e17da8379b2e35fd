#include "modules/artifacts/artifacts_store.hpp"

#include <soci/soci.h>

#include "core/crypto/base64.hpp"

namespace happy::mod::artifacts {

namespace {

// BLOBs are read through hex(): bytes with NULs survive the text round trip through SOCI (as in machines_store).
constexpr const char* k_columns =
    "id, account_id, hex(header), header_version, hex(body), body_version, hex(data_encryption_key), seq, "
    "created_at, updated_at";
// The list never reads bodies (upstream selects them out).
constexpr const char* k_list_columns =
    "id, account_id, hex(header), header_version, '', body_version, hex(data_encryption_key), seq, "
    "created_at, updated_at";

struct row_buffer {
    artifact a;
    std::string header_hex, body_hex, key_hex;
    soci::indicator header_ind = soci::i_ok, body_ind = soci::i_ok, key_ind = soci::i_ok;

    void bind(soci::statement& st) {
        st.exchange(soci::into(a.id));
        st.exchange(soci::into(a.account_id));
        st.exchange(soci::into(header_hex, header_ind));
        st.exchange(soci::into(a.header_version));
        st.exchange(soci::into(body_hex, body_ind));
        st.exchange(soci::into(a.body_version));
        st.exchange(soci::into(key_hex, key_ind));
        st.exchange(soci::into(a.seq));
        st.exchange(soci::into(a.created_at));
        st.exchange(soci::into(a.updated_at));
    }

    static std::string bytes(const std::string& hex, soci::indicator ind) {
        return ind == soci::i_ok ? crypto::hex_decode(hex).value_or("") : std::string();
    }

    artifact take() {
        artifact out = a;
        out.header = bytes(header_hex, header_ind);
        out.body = bytes(body_hex, body_ind);
        out.data_encryption_key = bytes(key_hex, key_ind);
        return out;
    }
};

std::vector<artifact> select_artifacts(soci::session& s, const char* columns, const std::string& where,
                                       std::vector<std::string> args, std::optional<int> limit) {
    row_buffer buf;
    soci::statement st(s);
    st.alloc();
    std::string sql = std::string("SELECT ") + columns + " FROM artifact " + where;
    if (limit) {
        sql += " LIMIT " + std::to_string(*limit);
    }
    st.prepare(sql);
    buf.bind(st);
    for (auto& a : args) {
        st.exchange(soci::use(a));
    }
    st.define_and_bind();
    std::vector<artifact> out;
    if (st.execute(true)) {
        do {
            out.push_back(buf.take());
        } while (st.fetch());
    }
    return out;
}

std::string decode_strict(std::string_view b64, const char* what) {
    auto bytes = crypto::base64_decode_strict(b64);
    if (!bytes) {
        throw invalid_base64(std::string("invalid base64 in ") + what);
    }
    return std::move(*bytes);
}

/// Prisma compares Int columns with a JSON number: only an exact, integral match counts.
bool version_matches(std::int64_t stored, double expected) { return static_cast<double>(stored) == expected; }

}  // namespace

std::vector<artifact> artifact_list(soci::session& s, std::string_view account_id, int limit) {
    // artifactsRoutes.ts: orderBy updatedAt desc, take 200; the id breaks ties deterministically.
    return select_artifacts(s, k_list_columns, "WHERE account_id = :a ORDER BY updated_at DESC, id",
                            {std::string(account_id)}, limit);
}

std::optional<artifact> artifact_find(soci::session& s, std::string_view account_id, std::string_view id) {
    auto rows = select_artifacts(s, k_columns, "WHERE account_id = :a AND id = :id",
                                 {std::string(account_id), std::string(id)}, std::nullopt);
    if (rows.empty()) {
        return std::nullopt;
    }
    return std::move(rows.front());
}

artifact_create_result artifact_create_or_load(soci::session& s, std::string_view account_id, std::string_view id,
                                               std::string_view header_b64, std::string_view body_b64,
                                               std::string_view key_b64, std::int64_t now) {
    artifact_create_result r;
    // Upstream looks the id up globally (findUnique) before anything is decoded.
    auto any = select_artifacts(s, k_columns, "WHERE id = :id", {std::string(id)}, std::nullopt);
    if (!any.empty()) {
        if (any.front().account_id != account_id) {
            r.st = artifact_create_result::status::conflict;
            return r;
        }
        r.st = artifact_create_result::status::existing;
        r.row = std::move(any.front());
        return r;
    }
    artifact a;
    a.id = std::string(id);
    a.account_id = std::string(account_id);
    a.header = decode_strict(header_b64, "header");
    a.header_version = 1;
    a.body = decode_strict(body_b64, "body");
    a.body_version = 1;
    a.data_encryption_key = decode_strict(key_b64, "dataEncryptionKey");
    a.seq = 0;
    a.created_at = now;
    a.updated_at = now;
    s << "INSERT INTO artifact (id, account_id, header, header_version, body, body_version, data_encryption_key, "
         "seq, created_at, updated_at) "
         "VALUES (:id, :a, CAST(:h AS BLOB), 1, CAST(:b AS BLOB), 1, CAST(:k AS BLOB), 0, :c, :u)",
        soci::use(a.id), soci::use(a.account_id), soci::use(a.header), soci::use(a.body),
        soci::use(a.data_encryption_key), soci::use(now), soci::use(now);
    r.st = artifact_create_result::status::created;
    r.row = std::move(a);
    return r;
}

artifact_update_result artifact_update(soci::session& s, std::string_view account_id, std::string_view id,
                                       const std::optional<artifact_part>& header,
                                       const std::optional<artifact_part>& body, std::int64_t now) {
    artifact_update_result r;
    auto row = artifact_find(s, account_id, id);
    if (!row) {
        return r;
    }
    r.current = std::move(*row);
    r.header_mismatch = header && !version_matches(r.current.header_version, header->expected_version);
    r.body_mismatch = body && !version_matches(r.current.body_version, body->expected_version);
    if (r.header_mismatch || r.body_mismatch) {
        r.st = artifact_update_result::status::version_mismatch;
        return r;
    }
    // Decoded only after the version check, header first (as upstream): a mismatch never reports bad base64.
    std::string header_bytes = header ? decode_strict(header->data_b64, "header") : std::string();
    std::string body_bytes = body ? decode_strict(body->data_b64, "body") : std::string();
    r.header_version = header ? r.current.header_version + 1 : r.current.header_version;
    r.body_version = body ? r.current.body_version + 1 : r.current.body_version;
    std::int64_t seq = r.current.seq + 1;
    int header_set = header ? 1 : 0;
    int body_set = body ? 1 : 0;
    std::string aid(id), acc(account_id);
    s << "UPDATE artifact SET "
         "header = CASE WHEN :hs = 1 THEN CAST(:h AS BLOB) ELSE header END, header_version = :hv, "
         "body = CASE WHEN :bs = 1 THEN CAST(:b AS BLOB) ELSE body END, body_version = :bv, "
         "seq = :seq, updated_at = :now WHERE account_id = :a AND id = :id",
        soci::use(header_set), soci::use(header_bytes), soci::use(r.header_version), soci::use(body_set),
        soci::use(body_bytes), soci::use(r.body_version), soci::use(seq), soci::use(now), soci::use(acc),
        soci::use(aid);
    r.st = artifact_update_result::status::success;
    return r;
}

bool artifact_delete(soci::session& s, std::string_view account_id, std::string_view id) {
    std::string aid(id), acc(account_id);
    soci::statement st = (s.prepare << "DELETE FROM artifact WHERE account_id = :a AND id = :id", soci::use(acc),
                          soci::use(aid));
    st.execute(true);
    return st.get_affected_rows() > 0;
}

}  // namespace happy::mod::artifacts
