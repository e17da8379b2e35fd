#include "modules/sessions/sessions_store.hpp"

#include <algorithm>
#include <boost/json.hpp>
#include <cstring>
#include <unordered_set>

#include "core/crypto/base64.hpp"
#include "core/crypto/ids.hpp"
#include "core/db/query.hpp"
#include "core/json/json_writer.hpp"

namespace happy::mod::sessions {

namespace json = boost::json;

namespace {

constexpr std::string_view session_columns =
    "SELECT id, tag, account_id, metadata, metadata_version, agent_state, agent_state_version, data_encryption_key, "
    "seq, active, last_active_at, created_at, updated_at FROM session ";

constexpr std::string_view message_columns =
    "SELECT id, seq, content, local_id, created_at, updated_at FROM session_message ";

session_row session_from(const db::row_view& r) {
    session_row out;
    out.id = r.str(0);
    out.tag = r.str(1);
    out.account_id = r.str(2);
    out.metadata = r.str(3);
    out.metadata_version = r.i64(4);
    out.agent_state = r.opt_str(5);
    out.agent_state_version = r.i64(6);
    out.data_encryption_key = r.opt_bytes(7);
    out.seq = r.i64(8);
    out.active = r.i64(9) != 0;
    out.last_active_at = r.i64(10);
    out.created_at = r.i64(11);
    out.updated_at = r.i64(12);
    return out;
}

std::optional<session_row> select_session(db::tx& t, std::string_view sql, std::initializer_list<db::param> params) {
    std::optional<session_row> out;
    t.query(sql, params, [&](const db::row_view& r) { out = session_from(r); });
    return out;
}

message_row message_from(const db::row_view& r) {
    message_row out;
    out.id = r.str(0);
    out.seq = r.i64(1);
    out.content = jsonb_order(json::parse(r.text(2)));
    out.local_id = r.opt_str(3);
    out.created_at = r.i64(4);
    out.updated_at = r.i64(5);
    return out;
}

std::vector<message_row> select_messages(db::tx& t, std::string_view sql, std::initializer_list<db::param> params) {
    std::vector<message_row> out;
    t.query(sql, params, [&](const db::row_view& r) { out.push_back(message_from(r)); });
    return out;
}

}  // namespace

json::value jsonb_order(const json::value& v) {
    if (v.is_array()) {
        json::array out;
        out.reserve(v.get_array().size());
        for (const auto& e : v.get_array()) {
            out.push_back(jsonb_order(e));
        }
        return out;
    }
    if (!v.is_object()) {
        return v;
    }
    std::vector<std::pair<std::string_view, const json::value*>> items;
    for (const auto& kv : v.get_object()) {
        std::string_view k = kv.key();
        auto same = std::find_if(items.begin(), items.end(), [&](const auto& it) { return it.first == k; });
        if (same != items.end()) {
            same->second = &kv.value();  // JSONB keeps the last duplicate
        } else {
            items.emplace_back(k, &kv.value());
        }
    }
    std::stable_sort(items.begin(), items.end(), [](const auto& a, const auto& b) {
        if (a.first.size() != b.first.size()) {
            return a.first.size() < b.first.size();
        }
        return std::memcmp(a.first.data(), b.first.data(), a.first.size()) < 0;
    });
    json::object out;
    out.reserve(items.size());
    for (const auto& [k, val] : items) {
        out[k] = jsonb_order(*val);
    }
    return out;
}

std::optional<session_row> session_find(db::tx& t, std::string_view account_id, std::string_view id) {
    static const std::string sql = std::string(session_columns) + "WHERE id = ? AND account_id = ?";
    return select_session(t, sql, {id, account_id});
}

std::optional<session_row> session_find_by_tag(db::tx& t, std::string_view account_id, std::string_view tag) {
    static const std::string sql = std::string(session_columns) + "WHERE account_id = ? AND tag = ?";
    return select_session(t, sql, {account_id, tag});
}

session_row session_create(db::tx& t, std::string_view account_id, std::string_view tag, std::string_view metadata,
                           std::string_view data_encryption_key, std::int64_t now) {
    session_row r;
    r.id = crypto::cuid();
    r.tag = tag;
    r.account_id = account_id;
    r.metadata = metadata;
    // upstream sessionRoutes.ts: `dataEncryptionKey ? Buffer.from(key, 'base64') : undefined` — a non-empty string
    // is stored even when the lenient decoder yields no bytes.
    if (!data_encryption_key.empty()) {
        r.data_encryption_key = crypto::base64_decode_lenient(data_encryption_key);
    }
    r.last_active_at = r.created_at = r.updated_at = now;
    t.exec("INSERT INTO session (id, tag, account_id, metadata, data_encryption_key, last_active_at, created_at, "
           "updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
           {r.id, r.tag, r.account_id, r.metadata, db::opt_blob(r.data_encryption_key), now, now, now});
    return r;
}

namespace {

// The columns of session_columns the list routes write; the key is read as raw bytes.
constexpr std::string_view session_view_columns =
    "SELECT id, metadata, agent_state, data_encryption_key, metadata_version, agent_state_version, seq, active, "
    "last_active_at, created_at, updated_at FROM session ";

void visit_sessions(db::tx& t, std::string_view sql, std::initializer_list<db::param> params, session_visit fn) {
    t.query(sql, params, [&](const db::row_view& r) {
        session_view v;
        v.id = r.text(0);
        v.metadata = r.text(1);
        if (!r.is_null(2)) {
            v.agent_state = r.text(2);
        }
        if (!r.is_null(3)) {
            v.data_encryption_key = r.bytes(3);
        }
        v.metadata_version = r.i64(4);
        v.agent_state_version = r.i64(5);
        v.seq = r.i64(6);
        v.active = r.i64(7) != 0;
        v.last_active_at = r.i64(8);
        v.created_at = r.i64(9);
        v.updated_at = r.i64(10);
        fn(v);
    });
}

}  // namespace

std::int64_t session_list_version(db::tx& t, std::string_view account_id) {
    return t.one_i64("SELECT version FROM session_list_version WHERE account_id = ?", {account_id}).value_or(0);
}

// Each SQL text is a function-local constant, so the plugin's statement cache prepares each query once per
// connection.
void session_list_recent(db::tx& t, std::string_view account_id, int limit, session_visit fn) {
    static const std::string sql =
        std::string(session_view_columns) + "WHERE account_id = ? ORDER BY updated_at DESC, id DESC LIMIT ?";
    visit_sessions(t, sql, {account_id, std::int64_t{limit}}, fn);
}

void session_list_active(db::tx& t, std::string_view account_id, std::int64_t since, int limit, session_visit fn) {
    static const std::string sql = std::string(session_view_columns) +
                                   "WHERE account_id = ? AND active = 1 AND last_active_at > ? "
                                   "ORDER BY last_active_at DESC, id DESC LIMIT ?";
    visit_sessions(t, sql, {account_id, since, std::int64_t{limit}}, fn);
}

void session_list_page(db::tx& t, std::string_view account_id, std::optional<std::string_view> before_id,
                       std::optional<std::int64_t> changed_since, int limit, session_visit fn) {
    // Ids are compared as strings (cuids are roughly time ordered), as upstream's `id: { lt }` does. The flags are
    // cast so that PostgreSQL need not infer their type from the literal.
    static const std::string sql = std::string(session_view_columns) +
                                   "WHERE account_id = ? AND (CAST(? AS BIGINT) = 0 OR id < ?) "
                                   "AND (CAST(? AS BIGINT) = 0 OR updated_at > ?) ORDER BY id DESC LIMIT ?";
    visit_sessions(t, sql,
                   {account_id, std::int64_t{before_id ? 1 : 0}, before_id.value_or(std::string_view()),
                    std::int64_t{changed_since ? 1 : 0}, changed_since.value_or(0), std::int64_t{limit}},
                   fn);
}

bool session_archive(db::tx& t, std::string_view account_id, std::string_view id, std::int64_t now) {
    return t.exec("UPDATE session SET active = 0, last_active_at = ?, updated_at = ? WHERE id = ? AND account_id = ?",
                  {now, now, id, account_id}) > 0;
}

bool session_delete(db::tx& t, std::string_view account_id, std::string_view id) {
    if (!session_owned(t, account_id, id)) {
        return false;
    }
    // Messages first (the foreign key restricts). Access keys and usage reports go with the session row through
    // their ON DELETE CASCADE foreign keys (0006_access_keys.sql, 0008_usage.sql), as upstream sessionDelete.ts
    // deletes them.
    t.exec("DELETE FROM session_message WHERE session_id = ?", {id});
    try {
        // The account in the WHERE again: 0 rows when another writer deleted the session meanwhile.
        return t.exec("DELETE FROM session WHERE id = ? AND account_id = ?", {id, account_id}) > 0;
    } catch (const db::error& e) {
        if (e.kind != db::error_kind::foreign_key_violation) {
            throw;
        }
        // Another writer appended a message after ours were deleted (several server processes on PostgreSQL):
        // run the delete again from the start, which removes that message too.
        throw db::error(db::error_kind::retryable, "session " + std::string(id) + " got a message while deleted");
    }
}

bool session_metadata_cas(db::tx& t, std::string_view id, std::int64_t expected, std::string_view metadata,
                          std::int64_t now) {
    return t.exec("UPDATE session SET metadata = ?, metadata_version = ?, updated_at = ? "
                  "WHERE id = ? AND metadata_version = ?",
                  {metadata, expected + 1, now, id, expected}) > 0;
}

bool session_agent_state_cas(db::tx& t, std::string_view id, std::int64_t expected,
                             const std::optional<std::string>& agent_state, std::int64_t now) {
    return t.exec("UPDATE session SET agent_state = ?, agent_state_version = ?, updated_at = ? "
                  "WHERE id = ? AND agent_state_version = ?",
                  {db::opt(agent_state), expected + 1, now, id, expected}) > 0;
}

void session_activity_set(db::tx& t, std::string_view id, std::int64_t at, bool active, std::int64_t now) {
    t.exec("UPDATE session SET last_active_at = ?, active = ?, updated_at = ? WHERE id = ?",
           {at, std::int64_t{active ? 1 : 0}, now, id});
}

std::vector<session_timeout> session_sweep_inactive(db::tx& t, std::int64_t cutoff, std::int64_t now) {
    // Upstream reads the stale sessions, then switches each off `where: { id, active: true }`; one UPDATE …
    // RETURNING does both atomically, so with several writers a session is reported by the one that changed it.
    std::vector<session_timeout> out;
    t.query("UPDATE session SET active = 0, updated_at = ? WHERE active = 1 AND last_active_at <= ? "
            "RETURNING id, account_id, last_active_at",
            {now, cutoff}, [&](const db::row_view& r) { out.push_back({r.str(0), r.str(1), r.i64(2)}); });
    return out;
}

std::int64_t session_seq_allocate(db::tx& t, std::string_view id, std::int64_t count, std::int64_t now) {
    auto end =
        t.one_i64("UPDATE session SET seq = seq + ?, updated_at = ? WHERE id = ? RETURNING seq", {count, now, id});
    if (!end) {
        throw db::not_found("session not found: " + std::string(id));
    }
    return *end - count + 1;
}

bool session_owned(db::tx& t, std::string_view account_id, std::string_view id) {
    return t.exists("SELECT 1 FROM session WHERE id = ? AND account_id = ?", {id, account_id});
}

std::vector<message_row> message_list_latest(db::tx& t, std::string_view session_id, int limit) {
    static const std::string sql =
        std::string(message_columns) + "WHERE session_id = ? ORDER BY created_at DESC, seq DESC LIMIT ?";
    return select_messages(t, sql, {session_id, std::int64_t{limit}});
}

std::vector<message_row> message_list_after(db::tx& t, std::string_view session_id, std::int64_t after, int limit) {
    static const std::string sql =
        std::string(message_columns) + "WHERE session_id = ? AND seq > ? ORDER BY seq ASC LIMIT ?";
    return select_messages(t, sql, {session_id, after, std::int64_t{limit}});
}

std::vector<message_row> message_list_before(db::tx& t, std::string_view session_id, std::int64_t before, int limit) {
    static const std::string sql =
        std::string(message_columns) + "WHERE session_id = ? AND seq < ? ORDER BY seq DESC LIMIT ?";
    return select_messages(t, sql, {session_id, before, std::int64_t{limit}});
}

std::optional<message_row> message_find_by_local_id(db::tx& t, std::string_view session_id, std::string_view local_id) {
    static const std::string sql = std::string(message_columns) + "WHERE session_id = ? AND local_id = ?";
    std::optional<message_row> out;
    t.query(sql, {session_id, local_id}, [&](const db::row_view& r) { out = message_from(r); });
    return out;
}

std::optional<message_row> message_insert(db::tx& t, std::string_view session_id, std::int64_t seq,
                                          const std::optional<std::string>& local_id, const json::value& content,
                                          std::int64_t now) {
    message_row r;
    r.id = crypto::cuid();
    r.seq = seq;
    r.content = content;
    r.local_id = local_id;
    r.created_at = r.updated_at = now;
    std::string text = json_text::stringify(content);
    // NULL local ids never conflict; an existing (session_id, local_id) leaves the table unchanged (0 rows).
    std::int64_t inserted =
        t.exec("INSERT INTO session_message (id, session_id, local_id, seq, content, created_at, updated_at) "
               "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (session_id, local_id) DO NOTHING",
               {r.id, session_id, db::opt(local_id), seq, text, now, now});
    if (inserted == 0) {
        return std::nullopt;
    }
    return r;
}

namespace {

/// INSERT of one client message whose seq is read from its session row (after this transaction's own seq UPDATE):
/// `seq - offset`. Inserts nothing when the session is not the account's. The content is JSONB on PostgreSQL, where a
/// value of INSERT … SELECT is not typed by the column as one of VALUES is.
constexpr db::sql_pair insert_message_from_session{
    "INSERT INTO session_message (id, session_id, local_id, seq, content, created_at, updated_at) "
    "SELECT ?, id, ?, seq - ?, ?, ?, ? FROM session WHERE id = ? AND account_id = ?",
    "INSERT INTO session_message (id, session_id, local_id, seq, content, created_at, updated_at) "
    "SELECT ?, id, ?, seq - ?, CAST(? AS JSONB), ?, ? FROM session WHERE id = ? AND account_id = ?"};

/// The account's next `count` update seqs (auth's account_seq_allocate, n at once), taken only while the session is
/// the account's: a refused append leaves no gap. `*first` is set when the statement has run.
void account_seqs_for_session(db::tx& t, std::string_view account_id, std::string_view session_id,
                              std::int64_t count, std::int64_t now, std::int64_t* first) {
    t.exec_deferred("UPDATE account SET seq = seq + ?, updated_at = ? WHERE id = ? "
                    "AND EXISTS (SELECT 1 FROM session WHERE id = ? AND account_id = ?) RETURNING seq",
                    {count, now, account_id, session_id, account_id},
                    [first, count](const db::row_view& r) { *first = r.i64(0) - count + 1; });
}

}  // namespace

void message_append_new(db::tx& t, std::string_view account_id, std::string_view session_id,
                        const std::vector<std::pair<std::string, std::string>>& batch, std::int64_t now,
                        new_messages* out) {
    auto count = static_cast<std::int64_t>(batch.size());
    out->owned = false;
    out->first_update_seq = 0;
    out->rows.clear();
    out->rows.reserve(batch.size());
    for (const auto& [local_id, text] : batch) {
        message_row r;
        r.id = crypto::cuid();
        r.content = json::object{{"t", "encrypted"}, {"c", text}};
        r.local_id = local_id;
        r.created_at = r.updated_at = now;
        out->rows.push_back(std::move(r));
    }
    // Every statement is deferred: on PostgreSQL the whole transaction (BEGIN … COMMIT) is one round trip, so the
    // session's row lock is held only while the server runs it.
    t.exec_deferred("UPDATE session SET seq = seq + ?, updated_at = ? WHERE id = ? AND account_id = ? RETURNING seq",
                    {count, now, session_id, account_id}, [out, count](const db::row_view& r) {
                        out->owned = true;
                        std::int64_t seq = r.i64(0) - count + 1;
                        for (auto& m : out->rows) {
                            m.seq = seq++;
                        }
                    });
    for (std::size_t i = 0; i < batch.size(); ++i) {
        const auto& m = out->rows[i];
        t.exec_deferred(t.pick(insert_message_from_session),
                        {m.id, *m.local_id, count - 1 - static_cast<std::int64_t>(i), json_text::stringify(m.content),
                         now, now, session_id, account_id});
    }
    account_seqs_for_session(t, account_id, session_id, count, now, &out->first_update_seq);
}

void message_send(db::tx& t, std::string_view account_id, std::string_view session_id,
                  const std::optional<std::string>& local_id, const json::value& content, std::int64_t now,
                  sent_message* out) {
    out->stored = false;
    out->update_seq = 0;
    out->row = message_row{};
    out->row.id = crypto::cuid();
    out->row.content = content;
    out->row.local_id = local_id;
    out->row.created_at = out->row.updated_at = now;
    t.exec_deferred("UPDATE session SET seq = seq + 1, updated_at = ? WHERE id = ? AND account_id = ? RETURNING seq",
                    {now, session_id, account_id}, [out](const db::row_view& r) { out->row.seq = r.i64(0); });
    account_seqs_for_session(t, account_id, session_id, 1, now, &out->update_seq);
    // NULL local ids never conflict; an existing (session_id, local_id) inserts nothing, after both seqs were taken.
    static const std::string insert_pg =
        std::string(insert_message_from_session.postgres) + " ON CONFLICT (session_id, local_id) DO NOTHING RETURNING seq";
    static const std::string insert_sqlite =
        std::string(insert_message_from_session.sqlite) + " ON CONFLICT (session_id, local_id) DO NOTHING RETURNING seq";
    t.exec_deferred(t.pick({insert_sqlite, insert_pg}),
                    {out->row.id, db::opt(local_id), std::int64_t{0}, json_text::stringify(content), now, now, session_id,
                     account_id},
                    [out](const db::row_view&) { out->stored = true; });
}

append_result message_append_batch(db::tx& t, std::string_view session_id,
                                   const std::vector<std::pair<std::string, std::string>>& batch, std::int64_t now) {
    append_result out;
    std::unordered_set<std::string> seen;
    std::vector<const std::pair<std::string, std::string>*> fresh;
    for (const auto& item : batch) {
        if (!seen.insert(item.first).second) {
            continue;  // upstream v3SessionRoutes.ts: the first occurrence of a localId wins
        }
        if (auto existing = message_find_by_local_id(t, session_id, item.first)) {
            out.all.push_back(std::move(*existing));
        } else {
            fresh.push_back(&item);
        }
    }
    if (!fresh.empty()) {
        std::int64_t seq = session_seq_allocate(t, session_id, static_cast<std::int64_t>(fresh.size()), now);
        for (const auto* item : fresh) {
            json::object content;
            content["t"] = "encrypted";
            content["c"] = item->second;
            auto created = message_insert(t, session_id, seq++, item->first, content, now);
            if (!created) {
                // Another writer stored this localId since the check above (several server processes on
                // PostgreSQL): run the append again, which then returns that message as existing and keeps the
                // seqs of this batch contiguous.
                throw db::error(db::error_kind::retryable, "message localId " + item->first + " stored concurrently");
            }
            out.created.push_back(std::move(*created));
        }
    }
    out.all.insert(out.all.end(), out.created.begin(), out.created.end());
    std::sort(out.all.begin(), out.all.end(), [](const auto& a, const auto& b) { return a.seq < b.seq; });
    return out;
}

}  // namespace happy::mod::sessions
