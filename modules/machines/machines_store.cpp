#include "modules/machines/machines_store.hpp"

#include <soci/soci.h>

#include <cstdlib>

#include "core/crypto/base64.hpp"

namespace happy::mod::machines {

namespace {

// The key is read through hex(): a zero-length BLOB and bytes with NULs survive the text round trip through SOCI,
// and `IS NULL` keeps "no key" apart from "empty key".
constexpr const char* k_columns =
    "id, account_id, metadata, metadata_version, daemon_state, daemon_state_version, "
    "data_encryption_key IS NULL, hex(data_encryption_key), seq, active, last_active_at, created_at, updated_at";

/// Buffers one SELECT of k_columns binds into, so single-row and multi-row reads share the conversion.
struct row_buffer {
    machine m;
    std::string daemon_state;
    soci::indicator daemon_state_ind = soci::i_null;
    int key_null = 1;
    std::string key_hex;
    soci::indicator key_hex_ind = soci::i_null;
    int active = 0;

    void bind(soci::statement& st) {
        st.exchange(soci::into(m.id));
        st.exchange(soci::into(m.account_id));
        st.exchange(soci::into(m.metadata));
        st.exchange(soci::into(m.metadata_version));
        st.exchange(soci::into(daemon_state, daemon_state_ind));
        st.exchange(soci::into(m.daemon_state_version));
        st.exchange(soci::into(key_null));
        st.exchange(soci::into(key_hex, key_hex_ind));
        st.exchange(soci::into(m.seq));
        st.exchange(soci::into(active));
        st.exchange(soci::into(m.last_active_at));
        st.exchange(soci::into(m.created_at));
        st.exchange(soci::into(m.updated_at));
    }

    machine take() {
        machine out = m;
        out.daemon_state = daemon_state_ind == soci::i_ok ? std::optional<std::string>(daemon_state) : std::nullopt;
        if (key_null == 0) {
            out.data_encryption_key = crypto::hex_decode(key_hex_ind == soci::i_ok ? key_hex : "").value_or("");
        } else {
            out.data_encryption_key = std::nullopt;
        }
        out.active = active != 0;
        return out;
    }
};

/// Runs `SELECT k_columns FROM machine <where>` with the account (and optionally the id) bound.
std::vector<machine> select_machines(soci::session& s, const std::string& where, std::string account_id,
                                     std::optional<std::string> id) {
    row_buffer buf;
    soci::statement st(s);
    st.alloc();
    st.prepare(std::string("SELECT ") + k_columns + " FROM machine " + where);
    buf.bind(st);
    st.exchange(soci::use(account_id));
    if (id) {
        st.exchange(soci::use(*id));
    }
    st.define_and_bind();
    std::vector<machine> out;
    if (st.execute(true)) {
        do {
            out.push_back(buf.take());
        } while (st.fetch());
    }
    return out;
}

/// Prisma compares Int columns with a JSON number: only an exact, integral match counts.
bool version_matches(std::int64_t stored, double expected) { return static_cast<double>(stored) == expected; }

}  // namespace

std::optional<machine> machine_find(soci::session& s, std::string_view account_id, std::string_view id) {
    auto rows = select_machines(s, "WHERE account_id = :a AND id = :id", std::string(account_id), std::string(id));
    if (rows.empty()) {
        return std::nullopt;
    }
    return std::move(rows.front());
}

std::vector<machine> machine_list(soci::session& s, std::string_view account_id) {
    // upstream machinesRoutes.ts: findMany({ where: { accountId }, orderBy: { lastActiveAt: 'desc' } }); ties are
    // unordered there, the id makes ours deterministic.
    return select_machines(s, "WHERE account_id = :a ORDER BY last_active_at DESC, id", std::string(account_id),
                           std::nullopt);
}

machine_create_result machine_create_or_load(soci::session& s, std::string_view account_id, std::string_view id,
                                             std::string_view metadata, std::optional<std::string> daemon_state,
                                             std::optional<std::string> data_encryption_key, std::int64_t now) {
    if (auto existing = machine_find(s, account_id, id)) {
        return {std::move(*existing), false};
    }
    // upstream: daemonState: daemonState || null, daemonStateVersion: daemonState ? 1 : 0.
    if (daemon_state && daemon_state->empty()) {
        daemon_state.reset();
    }
    std::string mid(id), acc(account_id), meta(metadata);
    std::string ds = daemon_state.value_or("");
    soci::indicator ds_ind = daemon_state ? soci::i_ok : soci::i_null;
    std::int64_t ds_version = daemon_state ? 1 : 0;
    std::string key = data_encryption_key.value_or("");
    soci::indicator key_ind = data_encryption_key ? soci::i_ok : soci::i_null;
    // No "ON CONFLICT": an id taken by another account must fail like upstream's unique violation.
    s << "INSERT INTO machine (id, account_id, metadata, metadata_version, daemon_state, daemon_state_version, "
         "data_encryption_key, seq, active, last_active_at, created_at, updated_at) "
         "VALUES (:id, :a, :m, 1, :ds, :dsv, CAST(:k AS BLOB), 0, 0, :t1, :t2, :t3)",
        soci::use(mid), soci::use(acc), soci::use(meta), soci::use(ds, ds_ind), soci::use(ds_version),
        soci::use(key, key_ind), soci::use(now), soci::use(now), soci::use(now);
    return {*machine_find(s, account_id, id), true};
}

bool machine_delete(soci::session& s, std::string_view account_id, std::string_view id) {
    if (!machine_find(s, account_id, id)) {
        return false;
    }
    // Upstream also deletes the caller's AccessKey rows for this machine first (same transaction); here the
    // access_key foreign key (0006_access_keys.sql) is ON DELETE CASCADE, so this DELETE removes them.
    std::string mid(id), acc(account_id);
    s << "DELETE FROM machine WHERE account_id = :a AND id = :id", soci::use(acc), soci::use(mid);
    return true;
}

namespace {

machine_cas_result cas_update(soci::session& s, std::string_view account_id, std::string_view id,
                              double expected_version, std::string_view value, std::int64_t now, bool daemon) {
    auto row = machine_find(s, account_id, id);
    machine_cas_result r;
    if (!row) {
        return r;
    }
    std::int64_t stored = daemon ? row->daemon_state_version : row->metadata_version;
    if (!version_matches(stored, expected_version)) {
        r.st = machine_cas_result::status::version_mismatch;
        r.version = stored;
        r.value = daemon ? row->daemon_state : std::optional<std::string>(row->metadata);
        return r;
    }
    // Upstream does the read and a conditional updateMany separately and answers a lost race with a re-read;
    // here both run in one serialized write transaction, so the condition always holds.
    std::int64_t next = stored + 1;
    std::string mid(id), acc(account_id), val(value);
    if (daemon) {
        s << "UPDATE machine SET daemon_state = :v, daemon_state_version = :n, active = 1, last_active_at = :t, "
             "updated_at = :t2 WHERE account_id = :a AND id = :id AND daemon_state_version = :e",
            soci::use(val), soci::use(next), soci::use(now), soci::use(now), soci::use(acc), soci::use(mid),
            soci::use(stored);
    } else {
        s << "UPDATE machine SET metadata = :v, metadata_version = :n, updated_at = :t "
             "WHERE account_id = :a AND id = :id AND metadata_version = :e",
            soci::use(val), soci::use(next), soci::use(now), soci::use(acc), soci::use(mid), soci::use(stored);
    }
    r.st = machine_cas_result::status::success;
    r.version = next;
    r.value = val;
    return r;
}

}  // namespace

machine_cas_result machine_metadata_update(soci::session& s, std::string_view account_id, std::string_view id,
                                           double expected_version, std::string_view metadata, std::int64_t now) {
    return cas_update(s, account_id, id, expected_version, metadata, now, false);
}

machine_cas_result machine_daemon_state_update(soci::session& s, std::string_view account_id, std::string_view id,
                                               double expected_version, std::string_view daemon_state,
                                               std::int64_t now) {
    return cas_update(s, account_id, id, expected_version, daemon_state, now, true);
}

void machine_activity_set(soci::session& s, std::string_view account_id, std::string_view id, std::int64_t t,
                          std::int64_t now) {
    std::string mid(id), acc(account_id);
    s << "UPDATE machine SET last_active_at = :t, active = 1, updated_at = :now WHERE account_id = :a AND id = :id",
        soci::use(t), soci::use(now), soci::use(acc), soci::use(mid);
}

std::vector<machine_timeout> machine_sweep_inactive(soci::session& s, std::int64_t cutoff, std::int64_t now) {
    std::vector<machine_timeout> out;
    {
        machine_timeout buf;
        soci::statement st = (s.prepare << "SELECT account_id, id, last_active_at FROM machine "
                                           "WHERE active = 1 AND last_active_at <= :c ORDER BY id",
                              soci::into(buf.account_id), soci::into(buf.id), soci::into(buf.last_active_at),
                              soci::use(cutoff));
        if (st.execute(true)) {
            do {
                out.push_back(buf);
            } while (st.fetch());
        }
    }
    // Upstream re-checks `active` per row (updateManyAndReturn where active: true); inside this write transaction
    // nothing can change in between, so every selected row is switched off.
    for (const auto& m : out) {
        std::string id = m.id;
        s << "UPDATE machine SET active = 0, updated_at = :now WHERE id = :id AND active = 1", soci::use(now),
            soci::use(id);
    }
    return out;
}

}  // namespace happy::mod::machines
