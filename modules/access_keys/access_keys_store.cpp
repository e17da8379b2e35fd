#include "modules/access_keys/access_keys_store.hpp"

#include "core/crypto/ids.hpp"

namespace happy::mod::access_keys {

bool access_key_scope_owned(db::tx& t, std::string_view account_id, std::string_view session_id,
                            std::string_view machine_id) {
    // Plain SQL on the sessions/machines tables (their migrations precede this module's): no link-time dependency
    // on those modules for two existence checks.
    return t.exists("SELECT 1 FROM session WHERE id = ? AND account_id = ?", {session_id, account_id}) &&
           t.exists("SELECT 1 FROM machine WHERE id = ? AND account_id = ?", {machine_id, account_id});
}

std::optional<access_key> access_key_find(db::tx& t, std::string_view account_id, std::string_view session_id,
                                          std::string_view machine_id) {
    std::optional<access_key> out;
    t.query("SELECT data, data_version, created_at, updated_at FROM access_key "
            "WHERE account_id = ? AND machine_id = ? AND session_id = ?",
            {account_id, machine_id, session_id},
            [&](const db::row_view& r) { out = access_key{r.str(0), r.i64(1), r.i64(2), r.i64(3)}; });
    return out;
}

access_key_create_result access_key_create(db::tx& t, std::string_view account_id, std::string_view session_id,
                                           std::string_view machine_id, std::string_view data, std::int64_t now) {
    access_key_create_result r;
    if (!access_key_scope_owned(t, account_id, session_id, machine_id)) {
        r.st = access_key_create_result::status::scope_not_found;
        return r;
    }
    // An existing key (also one a concurrent request just created) leaves the table unchanged: 0 rows.
    std::string id = crypto::cuid();
    std::int64_t inserted =
        t.exec("INSERT INTO access_key (id, account_id, machine_id, session_id, data, data_version, created_at, "
               "updated_at) VALUES (?, ?, ?, ?, ?, 1, ?, ?) "
               "ON CONFLICT (account_id, machine_id, session_id) DO NOTHING",
               {id, account_id, machine_id, session_id, data, now, now});
    if (inserted == 0) {
        r.st = access_key_create_result::status::exists;
        return r;
    }
    r.st = access_key_create_result::status::created;
    r.row = access_key{std::string(data), 1, now, now};
    return r;
}

access_key_update_result access_key_update(db::tx& t, std::string_view account_id, std::string_view session_id,
                                           std::string_view machine_id, std::string_view data,
                                           std::int64_t expected_version, std::int64_t now) {
    access_key_update_result r;
    auto row = access_key_find(t, account_id, session_id, machine_id);
    if (!row) {
        return r;
    }
    if (row->data_version != expected_version) {
        r.st = access_key_update_result::status::version_mismatch;
        r.version = row->data_version;
        r.data = row->data;
        return r;
    }
    std::int64_t next = expected_version + 1;
    std::int64_t changed = t.exec("UPDATE access_key SET data = ?, data_version = ?, updated_at = ? "
                                  "WHERE account_id = ? AND machine_id = ? AND session_id = ? AND data_version = ?",
                                  {data, next, now, account_id, machine_id, session_id, expected_version});
    if (changed == 0) {
        // Upstream's conditional updateMany can lose a race and re-read; here another writer (several server
        // processes on PostgreSQL) changed or deleted the key since the read: start again from the read, which
        // then reports the mismatch or the missing key.
        throw db::error(db::error_kind::retryable, "access key changed concurrently");
    }
    r.st = access_key_update_result::status::success;
    r.version = next;
    return r;
}

}  // namespace happy::mod::access_keys
