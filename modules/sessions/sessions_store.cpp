#include "modules/sessions/sessions_store.hpp"

#include <soci/soci.h>

#include <algorithm>
#include <boost/json.hpp>
#include <cstring>
#include <unordered_set>

#include "core/json/json_writer.hpp"
#include "core/crypto/base64.hpp"
#include "core/crypto/ids.hpp"
#include "core/db/database.hpp"

namespace happy::mod::sessions {

namespace json = boost::json;

namespace {

// The key is selected as hex text plus a null flag: SOCI's row API has no portable BLOB-to-string read.
constexpr const char* session_columns =
    "id, tag, account_id, metadata, metadata_version, agent_state, agent_state_version, "
    "hex(data_encryption_key), data_encryption_key IS NULL, seq, active, last_active_at, created_at, updated_at";

constexpr const char* message_columns = "id, seq, content, local_id, created_at, updated_at";

/// SOCI reports INTEGER columns as int, long long or (for expressions) double depending on the declared type.
std::int64_t get_i64(const soci::row& r, std::size_t i) {
    switch (r.get_properties(i).get_data_type()) {
        case soci::dt_integer:
            return r.get<int>(i);
        case soci::dt_long_long:
            return r.get<long long>(i);
        case soci::dt_unsigned_long_long:
            return static_cast<std::int64_t>(r.get<unsigned long long>(i));
        case soci::dt_double:
            return static_cast<std::int64_t>(r.get<double>(i));
        default:
            return std::stoll(r.get<std::string>(i));
    }
}

std::optional<std::string> get_opt_str(const soci::row& r, std::size_t i) {
    if (r.get_indicator(i) == soci::i_null) {
        return std::nullopt;
    }
    return r.get<std::string>(i);
}

session_row session_from(const soci::row& r) {
    session_row out;
    out.id = r.get<std::string>(0);
    out.tag = r.get<std::string>(1);
    out.account_id = r.get<std::string>(2);
    out.metadata = r.get<std::string>(3);
    out.metadata_version = get_i64(r, 4);
    out.agent_state = get_opt_str(r, 5);
    out.agent_state_version = get_i64(r, 6);
    if (get_i64(r, 8) == 0) {
        out.data_encryption_key = crypto::hex_decode(get_opt_str(r, 7).value_or("")).value_or("");
    }
    out.seq = get_i64(r, 9);
    out.active = get_i64(r, 10) != 0;
    out.last_active_at = get_i64(r, 11);
    out.created_at = get_i64(r, 12);
    out.updated_at = get_i64(r, 13);
    return out;
}

message_row message_from(const soci::row& r) {
    message_row out;
    out.id = r.get<std::string>(0);
    out.seq = get_i64(r, 1);
    out.content = jsonb_order(json::parse(r.get<std::string>(2)));
    out.local_id = get_opt_str(r, 3);
    out.created_at = get_i64(r, 4);
    out.updated_at = get_i64(r, 5);
    return out;
}

template <class Row, class Conv>
std::vector<Row> collect(soci::rowset<soci::row>& rs, Conv conv) {
    std::vector<Row> out;
    for (const auto& r : rs) {
        out.push_back(conv(r));
    }
    return out;
}

/// Binary values are written as an X'…' literal built from our own hex digits (nothing user-controlled reaches
/// the SQL text): binding a std::string would go through SQLite's text path.
std::string blob_literal(const std::optional<std::string>& bytes) {
    return bytes ? "X'" + crypto::hex_upper(*bytes) + "'" : "NULL";
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

std::optional<session_row> session_find(soci::session& s, std::string_view account_id, std::string_view id) {
    std::string a(account_id), i(id);
    soci::rowset<soci::row> rs = (s.prepare << "SELECT " << session_columns
                                            << " FROM session WHERE id = :id AND account_id = :a",
                                  soci::use(i), soci::use(a));
    auto rows = collect<session_row>(rs, session_from);
    if (rows.empty()) {
        return std::nullopt;
    }
    return rows.front();
}

std::optional<session_row> session_find_by_tag(soci::session& s, std::string_view account_id, std::string_view tag) {
    std::string a(account_id), t(tag);
    soci::rowset<soci::row> rs = (s.prepare << "SELECT " << session_columns
                                            << " FROM session WHERE account_id = :a AND tag = :t",
                                  soci::use(a), soci::use(t));
    auto rows = collect<session_row>(rs, session_from);
    if (rows.empty()) {
        return std::nullopt;
    }
    return rows.front();
}

session_row session_create(soci::session& s, std::string_view account_id, std::string_view tag,
                           std::string_view metadata, std::string_view data_encryption_key, std::int64_t now) {
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
    s << "INSERT INTO session (id, tag, account_id, metadata, data_encryption_key, last_active_at, created_at, "
         "updated_at) VALUES (:id, :tag, :a, :m, "
      << blob_literal(r.data_encryption_key) << ", :t1, :t2, :t3)",
        soci::use(r.id), soci::use(r.tag), soci::use(r.account_id), soci::use(r.metadata), soci::use(now),
        soci::use(now), soci::use(now);
    return r;
}

namespace {

// Same columns as session_columns, with the key as a BLOB: the fast path reads raw bytes.
constexpr std::string_view session_view_columns =
    "SELECT id, metadata, agent_state, data_encryption_key, metadata_version, agent_state_version, seq, active, "
    "last_active_at, created_at, updated_at FROM session ";

void visit_sessions(db::database& db, soci::session& s, std::string_view sql, std::initializer_list<db::param> params,
                    session_visit fn) {
    db.query(s, sql, params, [&](const db::row_view& r) {
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

// Each SQL text is a function-local constant, so the plugin's statement cache prepares each query once per
// connection.
void session_list_recent(db::database& db, soci::session& s, std::string_view account_id, int limit,
                         session_visit fn) {
    static const std::string sql =
        std::string(session_view_columns) + "WHERE account_id = ? ORDER BY updated_at DESC, id DESC LIMIT ?";
    visit_sessions(db, s, sql, {account_id, std::int64_t{limit}}, fn);
}

void session_list_active(db::database& db, soci::session& s, std::string_view account_id, std::int64_t since,
                         int limit, session_visit fn) {
    static const std::string sql = std::string(session_view_columns) +
                                   "WHERE account_id = ? AND active = 1 AND last_active_at > ? "
                                   "ORDER BY last_active_at DESC, id DESC LIMIT ?";
    visit_sessions(db, s, sql, {account_id, since, std::int64_t{limit}}, fn);
}

void session_list_page(db::database& db, soci::session& s, std::string_view account_id,
                       std::optional<std::string_view> before_id, std::optional<std::int64_t> changed_since,
                       int limit, session_visit fn) {
    // Ids are compared as strings (cuids are roughly time ordered), as upstream's `id: { lt }` does.
    static const std::string sql = std::string(session_view_columns) +
                                   "WHERE account_id = ? AND (? = 0 OR id < ?) AND (? = 0 OR updated_at > ?) "
                                   "ORDER BY id DESC LIMIT ?";
    visit_sessions(db, s, sql,
                   {account_id, std::int64_t{before_id ? 1 : 0}, before_id.value_or(std::string_view()),
                    std::int64_t{changed_since ? 1 : 0}, changed_since.value_or(0), std::int64_t{limit}},
                   fn);
}

bool session_archive(soci::session& s, std::string_view account_id, std::string_view id, std::int64_t now) {
    std::string a(account_id), i(id);
    soci::statement st = (s.prepare << "UPDATE session SET active = 0, last_active_at = :t, updated_at = :u "
                                       "WHERE id = :id AND account_id = :a",
                          soci::use(now), soci::use(now), soci::use(i), soci::use(a));
    st.execute(true);
    return st.get_affected_rows() > 0;
}

bool session_delete(soci::session& s, std::string_view account_id, std::string_view id) {
    if (!session_find(s, account_id, id)) {
        return false;
    }
    std::string i(id);
    // Messages first (the foreign key restricts). Access keys and usage reports go with the session row through
    // their ON DELETE CASCADE foreign keys (0006_access_keys.sql, 0008_usage.sql), as upstream sessionDelete.ts
    // deletes them.
    s << "DELETE FROM session_message WHERE session_id = :id", soci::use(i);
    s << "DELETE FROM session WHERE id = :id", soci::use(i);
    return true;
}

bool session_metadata_cas(soci::session& s, std::string_view id, std::int64_t expected, std::string_view metadata,
                          std::int64_t now) {
    std::string i(id), m(metadata);
    std::int64_t next = expected + 1;
    soci::statement st = (s.prepare << "UPDATE session SET metadata = :m, metadata_version = :n, updated_at = :u "
                                       "WHERE id = :id AND metadata_version = :e",
                          soci::use(m), soci::use(next), soci::use(now), soci::use(i), soci::use(expected));
    st.execute(true);
    return st.get_affected_rows() > 0;
}

bool session_agent_state_cas(soci::session& s, std::string_view id, std::int64_t expected,
                             const std::optional<std::string>& agent_state, std::int64_t now) {
    std::string i(id);
    std::string value = agent_state.value_or("");
    soci::indicator ind = agent_state ? soci::i_ok : soci::i_null;
    std::int64_t next = expected + 1;
    soci::statement st = (s.prepare << "UPDATE session SET agent_state = :v, agent_state_version = :n, updated_at = :u "
                                       "WHERE id = :id AND agent_state_version = :e",
                          soci::use(value, ind), soci::use(next), soci::use(now), soci::use(i), soci::use(expected));
    st.execute(true);
    return st.get_affected_rows() > 0;
}

void session_activity_set(soci::session& s, std::string_view id, std::int64_t t, bool active, std::int64_t now) {
    std::string i(id);
    int a = active ? 1 : 0;
    s << "UPDATE session SET last_active_at = :t, active = :a, updated_at = :u WHERE id = :id", soci::use(t),
        soci::use(a), soci::use(now), soci::use(i);
}

std::vector<session_timeout> session_sweep_inactive(soci::session& s, std::int64_t cutoff, std::int64_t now) {
    std::vector<session_timeout> candidates;
    {
        soci::rowset<soci::row> rs = (s.prepare << "SELECT id, account_id, last_active_at FROM session "
                                                   "WHERE active = 1 AND last_active_at <= :c",
                                      soci::use(cutoff));
        for (const auto& r : rs) {
            candidates.push_back({r.get<std::string>(0), r.get<std::string>(1), get_i64(r, 2)});
        }
    }
    std::vector<session_timeout> out;
    for (auto& c : candidates) {
        soci::statement st = (s.prepare << "UPDATE session SET active = 0, updated_at = :u WHERE id = :id AND active = 1",
                              soci::use(now), soci::use(c.id));
        st.execute(true);
        if (st.get_affected_rows() > 0) {
            out.push_back(std::move(c));
        }
    }
    return out;
}

std::int64_t session_seq_allocate(db::database& db, soci::session& s, std::string_view id, std::int64_t count,
                                  std::int64_t now) {
    std::optional<std::int64_t> end;
    db.query(s, "UPDATE session SET seq = seq + ?, updated_at = ? WHERE id = ? RETURNING seq", {count, now, id},
             [&](const db::row_view& r) { end = r.i64(0); });
    if (!end) {
        throw db::not_found("session not found: " + std::string(id));
    }
    return *end - count + 1;
}

bool session_owned(db::database& db, soci::session& s, std::string_view account_id, std::string_view id) {
    bool found = false;
    db.query(s, "SELECT 1 FROM session WHERE id = ? AND account_id = ?", {id, account_id},
             [&](const db::row_view&) { found = true; });
    return found;
}

std::vector<message_row> message_list_latest(soci::session& s, std::string_view session_id, int limit) {
    std::string i(session_id);
    soci::rowset<soci::row> rs = (s.prepare << "SELECT " << message_columns
                                            << " FROM session_message WHERE session_id = :s "
                                               "ORDER BY created_at DESC, seq DESC LIMIT :l",
                                  soci::use(i), soci::use(limit));
    return collect<message_row>(rs, message_from);
}

std::vector<message_row> message_list_after(soci::session& s, std::string_view session_id, std::int64_t after,
                                            int limit) {
    std::string i(session_id);
    soci::rowset<soci::row> rs = (s.prepare << "SELECT " << message_columns
                                            << " FROM session_message WHERE session_id = :s AND seq > :q "
                                               "ORDER BY seq ASC LIMIT :l",
                                  soci::use(i), soci::use(after), soci::use(limit));
    return collect<message_row>(rs, message_from);
}

std::vector<message_row> message_list_before(soci::session& s, std::string_view session_id, std::int64_t before,
                                             int limit) {
    std::string i(session_id);
    soci::rowset<soci::row> rs = (s.prepare << "SELECT " << message_columns
                                            << " FROM session_message WHERE session_id = :s AND seq < :q "
                                               "ORDER BY seq DESC LIMIT :l",
                                  soci::use(i), soci::use(before), soci::use(limit));
    return collect<message_row>(rs, message_from);
}

std::optional<message_row> message_find_by_local_id(db::database& db, soci::session& s, std::string_view session_id,
                                                    std::string_view local_id) {
    std::optional<message_row> out;
    db.query(s,
             "SELECT id, seq, content, local_id, created_at, updated_at FROM session_message "
             "WHERE session_id = ? AND local_id = ?",
             {session_id, local_id}, [&](const db::row_view& r) {
                 message_row m;
                 m.id = r.text(0);
                 m.seq = r.i64(1);
                 m.content = jsonb_order(json::parse(r.text(2)));
                 if (!r.is_null(3)) {
                     m.local_id = std::string(r.text(3));
                 }
                 m.created_at = r.i64(4);
                 m.updated_at = r.i64(5);
                 out = std::move(m);
             });
    return out;
}

message_row message_insert(db::database& db, soci::session& s, std::string_view session_id, std::int64_t seq,
                           const std::optional<std::string>& local_id, const json::value& content, std::int64_t now) {
    message_row r;
    r.id = crypto::cuid();
    r.seq = seq;
    r.content = content;
    r.local_id = local_id;
    r.created_at = r.updated_at = now;
    std::string text = json_text::stringify(content);
    db.query(s,
             "INSERT INTO session_message (id, session_id, local_id, seq, content, created_at, updated_at) "
             "VALUES (?, ?, ?, ?, ?, ?, ?)",
             {r.id, session_id, local_id ? db::param(std::string_view(*local_id)) : db::param(nullptr), seq, text, now,
              now});
    return r;
}

append_result message_append_batch(db::database& db, soci::session& s, std::string_view session_id,
                                   const std::vector<std::pair<std::string, std::string>>& batch, std::int64_t now) {
    append_result out;
    std::unordered_set<std::string> seen;
    std::vector<const std::pair<std::string, std::string>*> fresh;
    for (const auto& item : batch) {
        if (!seen.insert(item.first).second) {
            continue;  // upstream v3SessionRoutes.ts: the first occurrence of a localId wins
        }
        if (auto existing = message_find_by_local_id(db, s, session_id, item.first)) {
            out.all.push_back(std::move(*existing));
        } else {
            fresh.push_back(&item);
        }
    }
    if (!fresh.empty()) {
        std::int64_t seq = session_seq_allocate(db, s, session_id, static_cast<std::int64_t>(fresh.size()), now);
        for (const auto* item : fresh) {
            json::object content;
            content["t"] = "encrypted";
            content["c"] = item->second;
            out.created.push_back(message_insert(db, s, session_id, seq++, item->first, content, now));
        }
    }
    out.all.insert(out.all.end(), out.created.begin(), out.created.end());
    std::sort(out.all.begin(), out.all.end(), [](const auto& a, const auto& b) { return a.seq < b.seq; });
    return out;
}

}  // namespace happy::mod::sessions
