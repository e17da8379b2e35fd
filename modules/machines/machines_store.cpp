#include "modules/machines/machines_store.hpp"

#include <algorithm>
#include <string>

namespace happy::mod::machines {

namespace {

constexpr std::string_view k_columns =
    "id, account_id, metadata, metadata_version, daemon_state, daemon_state_version, data_encryption_key, seq, "
    "active, last_active_at, created_at, updated_at";

/// `SELECT k_columns FROM machine <where>`, built once per statement.
std::string select_sql(std::string_view where) {
    return "SELECT " + std::string(k_columns) + " FROM machine " + std::string(where);
}

/// One row of k_columns. The key is a BLOB: NULL is "no key", a zero-length value an empty key.
machine read_machine(const db::row_view& r) {
    machine m;
    m.id = r.str(0);
    m.account_id = r.str(1);
    m.metadata = r.str(2);
    m.metadata_version = r.i64(3);
    m.daemon_state = r.opt_str(4);
    m.daemon_state_version = r.i64(5);
    m.data_encryption_key = r.opt_bytes(6);
    m.seq = r.i64(7);
    m.active = r.i64(8) != 0;
    m.last_active_at = r.i64(9);
    m.created_at = r.i64(10);
    m.updated_at = r.i64(11);
    return m;
}

/// The machine with this id, whoever owns it.
std::optional<machine> find_any(db::tx& t, std::string_view id) {
    std::optional<machine> out;
    static const std::string sql = select_sql("WHERE id = ?");
    t.query(sql, {id}, [&](const db::row_view& r) { out = read_machine(r); });
    return out;
}

/// Prisma compares Int columns with a JSON number: only an exact, integral match counts.
bool version_matches(std::int64_t stored, double expected) { return static_cast<double>(stored) == expected; }

}  // namespace

std::optional<machine> machine_find(db::tx& t, std::string_view account_id, std::string_view id) {
    std::optional<machine> out;
    static const std::string sql = select_sql("WHERE account_id = ? AND id = ?");
    t.query(sql, {account_id, id}, [&](const db::row_view& r) { out = read_machine(r); });
    return out;
}

std::vector<machine> machine_list(db::tx& t, std::string_view account_id) {
    // upstream machinesRoutes.ts: findMany({ where: { accountId }, orderBy: { lastActiveAt: 'desc' } }); ties are
    // unordered there, the id makes ours deterministic.
    static const std::string sql = select_sql("WHERE account_id = ? ORDER BY last_active_at DESC, id");
    std::vector<machine> out;
    t.query(sql, {account_id}, [&](const db::row_view& r) { out.push_back(read_machine(r)); });
    return out;
}

machine_create_result machine_create_or_load(db::tx& t, std::string_view account_id, std::string_view id,
                                             std::string_view metadata, std::optional<std::string> daemon_state,
                                             std::optional<std::string> data_encryption_key, std::int64_t now) {
    // upstream: daemonState: daemonState || null, daemonStateVersion: daemonState ? 1 : 0.
    if (daemon_state && daemon_state->empty()) {
        daemon_state.reset();
    }
    const std::int64_t ds_version = daemon_state ? 1 : 0;
    // The primary key decides who creates the id: an insert that finds it taken does nothing, and the row is read
    // back. That holds with several writers as well (two creates of one id: one inserts, the other loads).
    // No conflict target: the table has a second unique index, (account_id, id), and PostgreSQL checks a concurrent
    // insert of the same row against whichever index it reaches first; with ON CONFLICT (id) a conflict found on
    // the other one was a unique violation (a 500) instead of nothing.
    static const std::string insert_sql =
        "INSERT INTO machine (id, account_id, metadata, metadata_version, daemon_state, daemon_state_version, "
        "data_encryption_key, seq, active, last_active_at, created_at, updated_at) "
        "VALUES (?, ?, ?, 1, ?, ?, ?, 0, 0, ?, ?, ?) ON CONFLICT DO NOTHING RETURNING " +
        std::string(k_columns);
    machine_create_result out;
    bool inserted = false;
    t.query(insert_sql,
            {id, account_id, metadata, db::opt(daemon_state), ds_version, db::opt_blob(data_encryption_key), now, now,
             now},
            [&](const db::row_view& r) {
                out.row = read_machine(r);
                inserted = true;
            });
    if (inserted) {
        out.created = true;
        return out;
    }
    auto existing = find_any(t, id);
    if (!existing) {
        // Deleted between the insert and the read by another writer: decide again from scratch.
        throw db::error(db::error_kind::retryable, "machine " + std::string(id) + " deleted concurrently");
    }
    if (existing->account_id != account_id) {
        // Another account's id: upstream's create violates the primary key (answered 500).
        throw db::error(db::error_kind::unique_violation, "machine id " + std::string(id) + " is taken");
    }
    out.row = std::move(*existing);
    out.created = false;
    return out;
}

bool machine_delete(db::tx& t, std::string_view account_id, std::string_view id) {
    // Upstream also deletes the caller's AccessKey rows for this machine first (same transaction); here the
    // access_key foreign key (0006_access_keys.sql) is ON DELETE CASCADE, so this DELETE removes them.
    return t.exec("DELETE FROM machine WHERE account_id = ? AND id = ?", {account_id, id}) > 0;
}

namespace {

machine_cas_result cas_update(db::tx& t, std::string_view account_id, std::string_view id, double expected_version,
                              std::string_view value, std::int64_t now, bool daemon) {
    auto row = machine_find(t, account_id, id);
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
    // Upstream does the read and a conditional updateMany separately and answers a lost race with a re-read; here
    // the update is a compare-and-set on the version just read, and a lost race runs the whole write again, which
    // then answers from the winner's row (a version mismatch, or not found after a delete).
    std::int64_t next = stored + 1;
    std::int64_t changed = 0;
    if (daemon) {
        changed = t.exec("UPDATE machine SET daemon_state = ?, daemon_state_version = ?, active = 1, "
                         "last_active_at = ?, updated_at = ? "
                         "WHERE account_id = ? AND id = ? AND daemon_state_version = ?",
                         {value, next, now, now, account_id, id, stored});
    } else {
        changed = t.exec("UPDATE machine SET metadata = ?, metadata_version = ?, updated_at = ? "
                         "WHERE account_id = ? AND id = ? AND metadata_version = ?",
                         {value, next, now, account_id, id, stored});
    }
    if (changed != 1) {
        throw db::error(db::error_kind::retryable, "machine " + std::string(id) + " changed concurrently");
    }
    r.st = machine_cas_result::status::success;
    r.version = next;
    r.value = std::string(value);
    return r;
}

}  // namespace

machine_cas_result machine_metadata_update(db::tx& t, std::string_view account_id, std::string_view id,
                                           double expected_version, std::string_view metadata, std::int64_t now) {
    return cas_update(t, account_id, id, expected_version, metadata, now, false);
}

machine_cas_result machine_daemon_state_update(db::tx& t, std::string_view account_id, std::string_view id,
                                               double expected_version, std::string_view daemon_state,
                                               std::int64_t now) {
    return cas_update(t, account_id, id, expected_version, daemon_state, now, true);
}

void machine_activity_set(db::tx& t, std::string_view account_id, std::string_view id, std::int64_t active_at,
                          std::int64_t now) {
    t.exec("UPDATE machine SET last_active_at = ?, active = 1, updated_at = ? WHERE account_id = ? AND id = ?",
           {active_at, now, account_id, id});
}

std::vector<machine_timeout> machine_sweep_inactive(db::tx& t, std::int64_t cutoff, std::int64_t now) {
    // Upstream re-checks `active` per row (updateManyAndReturn where active: true). One UPDATE … RETURNING does the
    // select and the switch-off at once, so a row another writer reactivated or switched off meanwhile is neither
    // changed nor reported.
    std::vector<machine_timeout> out;
    t.query("UPDATE machine SET active = 0, updated_at = ? WHERE active = 1 AND last_active_at <= ? "
            "RETURNING account_id, id, last_active_at",
            {now, cutoff}, [&](const db::row_view& r) { out.push_back({r.str(0), r.str(1), r.i64(2)}); });
    // RETURNING has no order: the ephemerals go out by id, as before.
    std::sort(out.begin(), out.end(), [](const machine_timeout& a, const machine_timeout& b) { return a.id < b.id; });
    return out;
}

}  // namespace happy::mod::machines
