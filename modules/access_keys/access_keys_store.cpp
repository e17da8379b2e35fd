#include "modules/access_keys/access_keys_store.hpp"

#include <soci/soci.h>

#include "core/crypto/ids.hpp"

namespace happy::mod::access_keys {

bool access_key_scope_owned(soci::session& s, std::string_view account_id, std::string_view session_id,
                            std::string_view machine_id) {
    // Plain SQL on the sessions/machines tables (their migrations precede this module's): no link-time dependency
    // on those modules for two existence checks.
    std::string acc(account_id), sid(session_id), mid(machine_id);
    int sessions = 0, machines = 0;
    s << "SELECT count(*) FROM session WHERE id = :s AND account_id = :a", soci::into(sessions), soci::use(sid),
        soci::use(acc);
    s << "SELECT count(*) FROM machine WHERE id = :m AND account_id = :a", soci::into(machines), soci::use(mid),
        soci::use(acc);
    return sessions > 0 && machines > 0;
}

std::optional<access_key> access_key_find(soci::session& s, std::string_view account_id, std::string_view session_id,
                                          std::string_view machine_id) {
    std::string acc(account_id), sid(session_id), mid(machine_id);
    access_key k;
    s << "SELECT data, data_version, created_at, updated_at FROM access_key "
         "WHERE account_id = :a AND machine_id = :m AND session_id = :s",
        soci::into(k.data), soci::into(k.data_version), soci::into(k.created_at), soci::into(k.updated_at),
        soci::use(acc), soci::use(mid), soci::use(sid);
    if (!s.got_data()) {
        return std::nullopt;
    }
    return k;
}

access_key_create_result access_key_create(soci::session& s, std::string_view account_id, std::string_view session_id,
                                           std::string_view machine_id, std::string_view data, std::int64_t now) {
    access_key_create_result r;
    if (!access_key_scope_owned(s, account_id, session_id, machine_id)) {
        r.st = access_key_create_result::status::scope_not_found;
        return r;
    }
    if (access_key_find(s, account_id, session_id, machine_id)) {
        r.st = access_key_create_result::status::exists;
        return r;
    }
    std::string id = crypto::cuid(), acc(account_id), sid(session_id), mid(machine_id), d(data);
    s << "INSERT INTO access_key (id, account_id, machine_id, session_id, data, data_version, created_at, updated_at) "
         "VALUES (:id, :a, :m, :s, :d, 1, :c, :u)",
        soci::use(id), soci::use(acc), soci::use(mid), soci::use(sid), soci::use(d), soci::use(now), soci::use(now);
    r.st = access_key_create_result::status::created;
    r.row = access_key{d, 1, now, now};
    return r;
}

access_key_update_result access_key_update(soci::session& s, std::string_view account_id, std::string_view session_id,
                                           std::string_view machine_id, std::string_view data,
                                           std::int64_t expected_version, std::int64_t now) {
    access_key_update_result r;
    auto row = access_key_find(s, account_id, session_id, machine_id);
    if (!row) {
        return r;
    }
    if (row->data_version != expected_version) {
        r.st = access_key_update_result::status::version_mismatch;
        r.version = row->data_version;
        r.data = row->data;
        return r;
    }
    // Upstream's conditional updateMany can lose a race and re-read; inside this serialized write transaction the
    // condition always holds.
    std::int64_t next = expected_version + 1;
    std::string acc(account_id), sid(session_id), mid(machine_id), d(data);
    s << "UPDATE access_key SET data = :d, data_version = :n, updated_at = :u "
         "WHERE account_id = :a AND machine_id = :m AND session_id = :s AND data_version = :e",
        soci::use(d), soci::use(next), soci::use(now), soci::use(acc), soci::use(mid), soci::use(sid),
        soci::use(expected_version);
    r.st = access_key_update_result::status::success;
    r.version = next;
    return r;
}

}  // namespace happy::mod::access_keys
