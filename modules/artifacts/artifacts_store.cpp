#include "modules/artifacts/artifacts_store.hpp"

#include "core/crypto/base64.hpp"

namespace happy::mod::artifacts {

namespace {

constexpr std::string_view k_columns =
    "id, account_id, header, header_version, body, body_version, data_encryption_key, seq, created_at, updated_at";
// The list never reads bodies (upstream selects them out).
constexpr std::string_view k_list_columns =
    "id, account_id, header, header_version, NULL, body_version, data_encryption_key, seq, created_at, updated_at";

/// `SELECT <columns> FROM artifact <where>`, built once per statement.
std::string select_sql(std::string_view columns, std::string_view where) {
    return "SELECT " + std::string(columns) + " FROM artifact " + std::string(where);
}

/// One row of k_columns / k_list_columns; header, body and key are BLOBs.
artifact read_artifact(const db::row_view& r) {
    artifact a;
    a.id = r.str(0);
    a.account_id = r.str(1);
    a.header = std::string(r.bytes(2));
    a.header_version = r.i64(3);
    a.body = std::string(r.bytes(4));
    a.body_version = r.i64(5);
    a.data_encryption_key = std::string(r.bytes(6));
    a.seq = r.i64(7);
    a.created_at = r.i64(8);
    a.updated_at = r.i64(9);
    return a;
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

std::vector<artifact> artifact_list(db::tx& t, std::string_view account_id, int limit) {
    // artifactsRoutes.ts: orderBy updatedAt desc, take 200; the id breaks ties deterministically.
    static const std::string sql =
        select_sql(k_list_columns, "WHERE account_id = ? ORDER BY updated_at DESC, id LIMIT ?");
    std::vector<artifact> out;
    t.query(sql, {account_id, std::int64_t{limit}}, [&](const db::row_view& r) { out.push_back(read_artifact(r)); });
    return out;
}

std::optional<artifact> artifact_find(db::tx& t, std::string_view account_id, std::string_view id) {
    static const std::string sql = select_sql(k_columns, "WHERE account_id = ? AND id = ?");
    std::optional<artifact> out;
    t.query(sql, {account_id, id}, [&](const db::row_view& r) { out = read_artifact(r); });
    return out;
}

artifact_create_result artifact_create_or_load(db::tx& t, std::string_view account_id, std::string_view id,
                                               std::string_view header_b64, std::string_view body_b64,
                                               std::string_view key_b64, std::int64_t now) {
    artifact_create_result r;
    // Upstream looks the id up globally (findUnique) before anything is decoded.
    static const std::string find_sql = select_sql(k_columns, "WHERE id = ?");
    std::optional<artifact> any;
    t.query(find_sql, {id}, [&](const db::row_view& row) { any = read_artifact(row); });
    if (any) {
        if (any->account_id != account_id) {
            r.st = artifact_create_result::status::conflict;
            return r;
        }
        r.st = artifact_create_result::status::existing;
        r.row = std::move(*any);
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
    std::int64_t inserted =
        t.exec("INSERT INTO artifact (id, account_id, header, header_version, body, body_version, "
               "data_encryption_key, seq, created_at, updated_at) VALUES (?, ?, ?, 1, ?, 1, ?, 0, ?, ?) "
               "ON CONFLICT (id) DO NOTHING",
               {a.id, a.account_id, db::blob{a.header}, db::blob{a.body}, db::blob{a.data_encryption_key}, now, now});
    if (inserted != 1) {
        // Another writer created the id since the lookup: run again, which loads it or reports the conflict.
        throw db::error(db::error_kind::retryable, "artifact " + a.id + " created concurrently");
    }
    r.st = artifact_create_result::status::created;
    r.row = std::move(a);
    return r;
}

artifact_update_result artifact_update(db::tx& t, std::string_view account_id, std::string_view id,
                                       const std::optional<artifact_part>& header,
                                       const std::optional<artifact_part>& body, std::int64_t now) {
    artifact_update_result r;
    auto row = artifact_find(t, account_id, id);
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
    std::optional<std::string> header_bytes;
    std::optional<std::string> body_bytes;
    if (header) {
        header_bytes = decode_strict(header->data_b64, "header");
    }
    if (body) {
        body_bytes = decode_strict(body->data_b64, "body");
    }
    r.header_version = header ? r.current.header_version + 1 : r.current.header_version;
    r.body_version = body ? r.current.body_version + 1 : r.current.body_version;
    // Compare-and-set on both versions as read (upstream's updateMany where the versions match); a part not given
    // binds NULL and keeps its stored bytes (both columns are NOT NULL). seq counts updates, so it is incremented in
    // place: an update that touches no part changes no version and must not lose a concurrent one's increment.
    std::int64_t changed =
        t.exec("UPDATE artifact SET header = COALESCE(?, header), header_version = ?, "
               "body = COALESCE(?, body), body_version = ?, seq = seq + 1, updated_at = ? "
               "WHERE account_id = ? AND id = ? AND header_version = ? AND body_version = ?",
               {db::opt_blob(header_bytes), r.header_version, db::opt_blob(body_bytes), r.body_version, now,
                account_id, id, r.current.header_version, r.current.body_version});
    if (changed != 1) {
        // Another writer updated or deleted the artifact since the read: run again, which answers from its row.
        throw db::error(db::error_kind::retryable, "artifact " + std::string(id) + " changed concurrently");
    }
    r.st = artifact_update_result::status::success;
    return r;
}

bool artifact_delete(db::tx& t, std::string_view account_id, std::string_view id) {
    return t.exec("DELETE FROM artifact WHERE account_id = ? AND id = ?", {account_id, id}) > 0;
}

}  // namespace happy::mod::artifacts
