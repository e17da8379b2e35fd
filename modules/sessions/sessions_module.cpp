#include "modules/sessions/sessions_module.hpp"

#include <boost/asio.hpp>
#include <boost/json.hpp>
#include <atomic>
#include <cmath>
#include <unordered_set>

#include "core/json/js_value.hpp"
#include "core/json/json_writer.hpp"
#include "core/crypto/base64.hpp"
#include "core/db/database.hpp"
#include "core/events/socket_serializer.hpp"
#include "core/files/file_store.hpp"
#include "core/log/log.hpp"
#include "core/presence/activity_cache.hpp"
#include "core/util/time.hpp"
#include "modules/auth/auth_store.hpp"
#include "modules/auth/updates.hpp"
#include "modules/sessions/session_list_cache.hpp"
#include "modules/sessions/sessions_store.hpp"

namespace happy::mod::sessions {

namespace asio = boost::asio;
namespace json = boost::json;
namespace v = validate;
using http::response;
using events::recipients;

// --- helpers ------------------------------------------------------------------------------------------------

namespace {

json::value nullable(const std::optional<std::string>& s) {
    return s ? json::value(*s) : json::value(nullptr);
}

json::value key_json(const session_row& r) {
    return r.data_encryption_key ? json::value(crypto::base64_encode(*r.data_encryption_key)) : json::value(nullptr);
}

/// Initial capacity of a list body: a page of CLI sessions is tens of KB; growing from empty would copy it ~10 times.
constexpr std::size_t list_body_reserve = 16 * 1024;

/// GET /v1/sessions item (lastMessage always null) and, without it, the /v2 item; written straight from the row.
void session_list_item(json_text::writer& w, const session_view& v, bool last_message) {
    w.begin_object();
    w.member("id", v.id);
    w.member("seq", v.seq);
    w.member("createdAt", v.created_at);
    w.member("updatedAt", v.updated_at);
    w.member("active", v.active);
    w.member("activeAt", v.last_active_at);
    w.member("metadata", v.metadata);
    w.member("metadataVersion", v.metadata_version);
    w.member("agentState", v.agent_state);
    w.member("agentStateVersion", v.agent_state_version);
    w.key("dataEncryptionKey");
    if (v.data_encryption_key) {
        const std::string_view key = *v.data_encryption_key;
        w.safe_string(crypto::base64_size(key.size()), [&](char* p) { return crypto::base64_write(p, key); });
    } else {
        w.null();
    }
    if (last_message) {
        w.key("lastMessage");
        w.null();
    }
    w.end_object();
}

/// `{"sessions":[…]}` with one item per row `list(item)` visits (the two unpaginated list routes).
template <class List>
std::string sessions_array_json(List&& list, bool last_message) {
    std::string body;
    body.reserve(list_body_reserve);
    json_text::writer w(body);
    w.begin_object();
    w.key("sessions");
    w.begin_array();
    list([&](const session_view& v) { session_list_item(w, v, last_message); });
    w.end_array();
    w.end_object();
    w.finish();  // before the return moves `body` out
    return body;
}

/// POST /v1/sessions answer; the new-session update body has the same fields after `t`.
json::object session_create_json(const session_row& r) {
    json::object o;
    o["id"] = r.id;
    o["seq"] = r.seq;
    o["metadata"] = r.metadata;
    o["metadataVersion"] = r.metadata_version;
    o["agentState"] = nullable(r.agent_state);
    o["agentStateVersion"] = r.agent_state_version;
    o["dataEncryptionKey"] = key_json(r);
    o["active"] = r.active;
    o["activeAt"] = r.last_active_at;
    o["createdAt"] = r.created_at;
    o["updatedAt"] = r.updated_at;
    return o;
}

json::object new_session_body(const session_row& r) {
    json::object o{{"t", "new-session"}};
    for (auto& kv : session_create_json(r)) {
        o[kv.key()] = kv.value();
    }
    return o;
}

json::object message_json(const message_row& m, bool with_content = true) {
    json::object o;
    o["id"] = m.id;
    o["seq"] = m.seq;
    if (with_content) {
        o["content"] = m.content;
    }
    o["localId"] = nullable(m.local_id);
    o["createdAt"] = m.created_at;
    o["updatedAt"] = m.updated_at;
    return o;
}

json::object new_message_body(const std::string& sid, const message_row& m) {
    return json::object{{"t", "new-message"}, {"sid", sid}, {"message", message_json(m)}};
}

json::object activity_event(const std::string& sid, bool active, json::value at, json::value thinking) {
    return json::object{
        {"type", "activity"}, {"id", sid}, {"active", active}, {"activeAt", std::move(at)}, {"thinking", std::move(thinking)}};
}

bool truthy(const json::value* v) { return happy::json::js_truthy(v); }

const json::value* field(const json::array& args, std::string_view key) {
    if (args.empty() || !args[0].is_object()) {
        return nullptr;
    }
    return args[0].get_object().if_contains(key);
}

/// `sid` as upstream can use it: a non-empty string (anything else is falsy or makes Prisma throw).
std::optional<std::string> sid_of(const json::array& args) {
    const json::value* v = field(args, "sid");
    if (!v || !v->is_string() || v->get_string().empty()) {
        return std::nullopt;
    }
    return std::string(v->get_string());
}

std::int64_t int_of(const json::value& v) { return static_cast<std::int64_t>(v.to_number<double>()); }

/// Heartbeat time rules shared by session-alive and session-end: clamp future times to now, drop times older than
/// 10 minutes. Returns the time to use and its JSON form (the client's number as sent unless clamped).
std::optional<std::pair<std::int64_t, json::value>> heartbeat_time(const json::value* time, std::int64_t now) {
    if (!time || !time->is_number()) {
        return std::nullopt;
    }
    double t = time->to_number<double>();
    json::value out = *time;
    if (t > static_cast<double>(now)) {
        t = static_cast<double>(now);
        out = now;
    }
    if (t < static_cast<double>(now - 10 * 60 * 1000)) {
        return std::nullopt;
    }
    return std::pair{static_cast<std::int64_t>(t), std::move(out)};
}

std::vector<std::string> v3_query_refine(const json::object& q) {
    if (q.contains("after_seq") && q.contains("before_seq")) {
        return {"after_seq and before_seq are mutually exclusive"};
    }
    return {};
}

v::node session_params() { return v::object({{"sessionId", v::string()}}); }

}  // namespace

// --- module ---------------------------------------------------------------------------------------------------

struct sessions_module::impl {
    db::database* db = nullptr;
    events::emitter* ev = nullptr;
    files::file_store* files = nullptr;
    presence::activity_cache activity;
    session_list_cache list_cache;  ///< GET /v1/sessions answers; sized in setup()
    /// Committed changes of session_list_version, when the backend counts them (db::database::watch_changes).
    const std::atomic<std::uint64_t>* list_changes = nullptr;
    /// upstream sessionUpdateHandler.ts serialises `message` per socket (AsyncLock).
    events::socket_serializer message_lock;

    asio::awaitable<void> emit(const std::string& account, recipients to, json::object body,
                               std::string skip = {}) {
        co_await auth::update_emit(*db, *ev, account, std::move(to), std::move(body), std::move(skip));
    }

    // GET /v1/sessions. Every app polls it, and most polls find the list unchanged: the encoded answer is kept per
    // account with the list version it was read at, and handed out again while the database still holds that version
    // (one primary-key read instead of the list query and its encoding). When the backend counts the committed
    // changes of the version table (SQLite owning its file), not even that read is needed while nothing was
    // committed to it since the version was last found current. Otherwise the body is written straight from the
    // database's row buffers.
    asio::awaitable<response> list_v1(http::request& req) {
        // The count is read before the version: a version read after it is at least as new as the count says.
        std::uint64_t changes = list_changes ? list_changes->load(std::memory_order_acquire) : 0;
        std::shared_ptr<const std::string> body = list_cache.find_unchanged(req.account_id, changes);
        if (!body) {
            co_await db->read([&](db::tx& t) { body = list_read(t, req.account_id, changes); });
        }
        co_return response::json_shared(std::move(body));
    }

    std::shared_ptr<const std::string> list_read(db::tx& t, std::string_view account_id, std::uint64_t changes) {
        if (!list_cache.enabled()) {
            return std::make_shared<const std::string>(encode_list_v1(t, account_id));
        }
        // The version is read before the list, in its own statement: the list is then at least as new as the
        // version, and a newer list kept under an older version is only rebuilt once more, never served stale
        // (a change after the version read also bumped the version, so the next request misses).
        std::int64_t version = session_list_version(t, account_id);
        auto body = list_cache.find(account_id, version, changes);
        if (!body) {
            body = std::make_shared<const std::string>(encode_list_v1(t, account_id));
            list_cache.store(account_id, version, body, changes);
        }
        return body;
    }

    static std::string encode_list_v1(db::tx& t, std::string_view account_id) {
        return sessions_array_json([&](auto item) { session_list_recent(t, account_id, 150, item); }, true);
    }

    // GET /v2/sessions/active
    asio::awaitable<response> list_active(http::request& req) {
        int limit = static_cast<int>(int_of(req.query.at("limit")));
        std::int64_t since = now_ms() - 15 * 60 * 1000;
        std::string body;
        co_await db->read([&](db::tx& t) {
            body = sessions_array_json([&](auto item) { session_list_active(t, req.account_id, since, limit, item); },
                                       false);
        });
        co_return response::json_text(std::move(body));
    }

    // GET /v2/sessions
    asio::awaitable<response> list_v2(http::request& req) {
        int limit = static_cast<int>(int_of(req.query.at("limit")));
        std::optional<std::string_view> before;
        if (auto* c = req.query.if_contains("cursor"); c && !c->get_string().empty()) {
            std::string_view cursor = c->get_string();
            constexpr std::string_view prefix = "cursor_v1_";
            if (!cursor.starts_with(prefix)) {
                co_return response::error(400, "Invalid cursor format");
            }
            // An empty id after the prefix is falsy upstream: first page (observed.md).
            if (cursor.size() > prefix.size()) {
                before = cursor.substr(prefix.size());
            }
        }
        std::optional<std::int64_t> changed;
        if (auto* c = req.query.if_contains("changedSince")) {
            changed = int_of(*c);
        }
        std::string body;
        body.reserve(list_body_reserve);
        co_await db->read([&](db::tx& t) {
            json_text::writer w(body);
            w.begin_object();
            w.key("sessions");
            w.begin_array();
            // One row more than the page: its presence is hasNext, and the cursor is the last id written.
            int seen = 0;
            std::string last_id;
            session_list_page(t, req.account_id, before, changed, limit + 1, [&](const session_view& v) {
                if (++seen > limit) {
                    return;
                }
                session_list_item(w, v, false);
                last_id = v.id;
            });
            w.end_array();
            bool has_next = seen > limit;
            w.key("nextCursor");
            if (has_next && !last_id.empty()) {
                w.string("cursor_v1_" + last_id);
            } else {
                w.null();
            }
            w.key("hasNext");
            w.boolean(has_next);
            w.end_object();
        });
        co_return response::json_text(std::move(body));
    }

    // POST /v1/sessions — create or load by tag.
    asio::awaitable<response> create(http::request& req) {
        const auto& body = req.body.as_object();
        std::string tag(body.at("tag").as_string());
        std::string metadata(body.at("metadata").as_string());
        std::string key;
        if (auto* k = body.if_contains("dataEncryptionKey"); k && k->is_string()) {
            key = k->get_string();
        }
        std::optional<session_row> found;
        co_await db->read([&](db::tx& t) { found = session_find_by_tag(t, req.account_id, tag); });
        session_row row;
        if (found) {
            // Found: returned unchanged, no event; a restarting session's heartbeats count again at once.
            activity.resume(found->id);
            row = std::move(*found);
        } else {
            auto made = co_await create_new(req.account_id, tag, metadata, key);
            if (!made.created) {
                activity.resume(made.row.id);  // found after all
            }
            row = std::move(made.row);
        }
        json::object o = session_create_json(row);
        o["lastMessage"] = nullptr;
        co_return response::json(json::object{{"session", std::move(o)}});
    }

    struct create_outcome {
        session_row row;
        bool created = true;
    };

    /// Creates the session and emits its new-session update. When a concurrent request (possibly on another server
    /// process) created a session with this tag since the caller's lookup, the UNIQUE (account_id, tag) key rejects
    /// this insert and that session is the answer: `created` false, no event.
    asio::awaitable<create_outcome> create_new(std::string account, std::string tag, std::string metadata,
                                               std::string key) {
        // Upstream allocates the update seq first, then inserts (a failed insert leaves a seq gap).
        std::int64_t seq = 0;
        co_await db->write([&](db::tx& t) { seq = auth::account_seq_allocate(t, account, now_ms()); });
        create_outcome out;
        std::exception_ptr taken;
        try {
            co_await db->write([&](db::tx& t) { out.row = session_create(t, account, tag, metadata, key, now_ms()); });
        } catch (const db::error& e) {
            ev->skip_update(account, seq);  // no new-session: the updates after it need not wait for this seq
            if (e.kind != db::error_kind::unique_violation) {
                throw;
            }
            taken = std::current_exception();
        }
        if (taken) {
            std::optional<session_row> found;
            co_await db->read([&](db::tx& t) { found = session_find_by_tag(t, account, tag); });
            if (!found) {
                std::rethrow_exception(taken);  // deleted again meanwhile: fail as the insert did
            }
            out.row = std::move(*found);
            out.created = false;
            co_return out;
        }
        ev->emit_update(account, recipients::user_scoped_only(),
                        auth::update_envelope_build(seq, new_session_body(out.row), now_ms()));
        co_return out;
    }

    asio::awaitable<bool> owned(const std::string& account, const std::string& sid) {
        bool ok = false;
        co_await db->read([&](db::tx& t) { ok = session_find(t, account, sid).has_value(); });
        co_return ok;
    }

    // GET /v1/sessions/:sessionId/messages (legacy)
    asio::awaitable<response> messages_v1(http::request& req) {
        std::string sid(req.param("sessionId"));
        std::optional<std::vector<message_row>> rows;
        co_await db->read([&](db::tx& t) {
            if (session_find(t, req.account_id, sid)) {
                rows = message_list_latest(t, sid, 150);
            }
        });
        if (!rows) {
            co_return response::error(404, "Session not found");
        }
        json::array out;
        for (const auto& m : *rows) {
            out.push_back(message_json(m));
        }
        co_return response::json(json::object{{"messages", std::move(out)}});
    }

    // POST /v1/sessions/:sessionId/archive
    asio::awaitable<response> archive(http::request& req) {
        std::string sid(req.param("sessionId"));
        std::int64_t now = now_ms();
        activity.stop(sid, now);  // before the ownership check, as upstream does
        bool ok = false;
        co_await db->write([&](db::tx& t) { ok = session_archive(t, req.account_id, sid, now); });
        if (!ok) {
            co_return response::error(404, "Session not found");
        }
        ev->emit_ephemeral(req.account_id, recipients::user_scoped_only(), activity_json(sid, false, now));
        co_return response::json(json::object{{"success", true}});
    }

    static json::object activity_json(const std::string& sid, bool active, std::int64_t at) {
        return activity_event(sid, active, at, false);
    }

    // DELETE /v1/sessions/:sessionId
    asio::awaitable<response> remove(http::request& req) {
        std::string sid(req.param("sessionId"));
        activity.stop(sid, now_ms());
        bool ok = false;
        co_await db->write([&](db::tx& t) { ok = session_delete(t, req.account_id, sid); });
        if (!ok) {
            co_return response::error(404, "Session not found or not owned by user");
        }
        // After commit (upstream sessionDelete.ts afterTx): the update, then the attachment blobs.
        // Bodies are built outside co_await expressions: g++ 12 rejects string-literal initializers inside them.
        json::object body{{"t", "delete-session"}, {"sid", sid}};
        co_await emit(req.account_id, recipients::user_scoped_only(), std::move(body));
        // upstream storage/files.ts deleteSessionAttachments: everything under the session's prefix; failures are
        // ignored (the session is gone either way). The store refuses keys that are not plain relative paths.
        try {
            co_await files->remove_prefix("sessions/" + sid + "/attachments");
        } catch (const std::exception& e) {
            log::warn("session attachments not removed", {{"sid", sid}, {"error", e.what()}});
        }
        co_return response::json(json::object{{"success", true}});
    }

    // GET /v3/sessions/:sessionId/messages
    asio::awaitable<response> messages_v3_get(http::request& req) {
        std::string sid(req.param("sessionId"));
        int limit = static_cast<int>(int_of(req.query.at("limit")));
        const json::value* before = req.query.if_contains("before_seq");
        const json::value* after = req.query.if_contains("after_seq");
        std::optional<std::vector<message_row>> rows;
        co_await db->read([&](db::tx& t) {
            if (!session_find(t, req.account_id, sid)) {
                return;
            }
            rows = before ? message_list_before(t, sid, int_of(*before), limit + 1)
                          : message_list_after(t, sid, after ? int_of(*after) : 0, limit + 1);
        });
        if (!rows) {
            co_return response::error(404, "Session not found");
        }
        bool has_more = static_cast<int>(rows->size()) > limit;
        if (has_more) {
            rows->resize(limit);
        }
        json::array out;
        for (const auto& m : *rows) {
            out.push_back(message_json(m));
        }
        co_return response::json(json::object{{"messages", std::move(out)}, {"hasMore", has_more}});
    }

    // POST /v3/sessions/:sessionId/messages
    asio::awaitable<response> messages_v3_post(http::request& req) {
        std::string sid(req.param("sessionId"));
        std::vector<std::pair<std::string, std::string>> batch;
        for (const auto& m : req.body.at("messages").as_array()) {
            batch.emplace_back(std::string(m.at("localId").as_string()), std::string(m.at("content").as_string()));
        }
        // Ownership check, append and one account seq per created message in one transaction (upstream allocates
        // the seqs after commit, one write each; the numbers and the updates are the same). First as if every
        // localId were new (the usual case: a fixed number of statements, on PostgreSQL one round trip); a localId
        // the session has already makes that fail on the unique key, and the general path sorts old from new.
        std::optional<append_result> result;
        std::vector<std::int64_t> update_seqs;
        std::vector<std::pair<std::string, std::string>> fresh;
        {
            std::unordered_set<std::string_view> seen;
            for (const auto& item : batch) {
                if (seen.insert(item.first).second) {  // upstream v3SessionRoutes.ts: the first occurrence wins
                    fresh.push_back(item);
                }
            }
        }
        new_messages made;
        bool existing = false;
        try {
            // Keyed by the session: appends to one session queued meanwhile share one transaction (PostgreSQL).
            co_await db->write_keyed(sid, [&](db::tx& t) {
                message_append_new(t, req.account_id, sid, fresh, now_ms(), &made);
            });
            if (made.owned) {
                result.emplace();
                for (std::size_t i = 0; i < made.rows.size(); ++i) {
                    update_seqs.push_back(made.first_update_seq + static_cast<std::int64_t>(i));
                }
                result->created = std::move(made.rows);
                result->all = result->created;
            }
        } catch (const db::error& e) {
            if (e.kind != db::error_kind::unique_violation) {
                throw;
            }
            existing = true;
        }
        if (existing) {
            co_await db->write([&](db::tx& t) {
                result.reset();
                update_seqs.clear();
                if (session_owned(t, req.account_id, sid)) {
                    std::int64_t now = now_ms();
                    result = message_append_batch(t, sid, batch, now);
                    for (std::size_t i = 0; i < result->created.size(); ++i) {
                        update_seqs.push_back(auth::account_seq_allocate(t, req.account_id, now));
                    }
                }
            });
        }
        if (!result) {
            co_return response::error(404, "Session not found");
        }
        // One update per created message, after commit; the sender gets them too (no skip).
        for (std::size_t i = 0; i < result->created.size(); ++i) {
            ev->emit_update(req.account_id, recipients::session(sid),
                            auth::update_envelope_build(update_seqs[i], new_message_body(sid, result->created[i]),
                                                        now_ms()));
        }
        json::array out;
        for (const auto& m : result->all) {
            out.push_back(message_json(m, false));
        }
        co_return response::json(json::object{{"messages", std::move(out)}});
    }

    // --- socket events (upstream sessionUpdateHandler.ts) -------------------------------------------------

    asio::awaitable<std::optional<json::value>> update_metadata(events::socket_ctx& ctx, json::array args) {
        if (args.empty()) {
            // The ack function arrived as upstream's `data` argument, so its `callback` is undefined: no reply.
            co_return std::nullopt;
        }
        try {
            auto sid = sid_of(args);
            const json::value* metadata = field(args, "metadata");
            const json::value* expected = field(args, "expectedVersion");
            if (!sid || !metadata || !metadata->is_string() || !expected || !expected->is_number()) {
                co_return json::object{{"result", "error"}};
            }
            std::optional<session_row> row;
            co_await db->read([&](db::tx& t) { row = session_find(t, ctx.account_id, *sid); });
            if (!row) {
                co_return std::nullopt;  // upstream returns without calling the ack (the caller hangs)
            }
            double want = expected->to_number<double>();
            auto mismatch = json::object{
                {"result", "version-mismatch"}, {"version", row->metadata_version}, {"metadata", row->metadata}};
            if (static_cast<double>(row->metadata_version) != want) {
                co_return mismatch;
            }
            std::string value(metadata->get_string());
            bool ok = false;
            co_await db->write(
                [&](db::tx& t) { ok = session_metadata_cas(t, *sid, row->metadata_version, value, now_ms()); });
            if (!ok) {
                co_return mismatch;  // lost the race: upstream echoes the values it read before the CAS
            }
            std::int64_t version = row->metadata_version + 1;
            json::object body{{"t", "update-session"},
                              {"id", *sid},
                              {"metadata", json::object{{"value", value}, {"version", version}}}};
            co_await emit(ctx.account_id, recipients::session(*sid), std::move(body));
            co_return json::object{{"result", "success"}, {"version", version}, {"metadata", value}};
        } catch (const std::exception& e) {
            log::error("update-metadata failed", {{"error", e.what()}});
            co_return json::object{{"result", "error"}};
        }
    }

    asio::awaitable<std::optional<json::value>> update_state(events::socket_ctx& ctx, json::array args) {
        if (args.empty()) {
            // The ack function arrived as upstream's `data` argument, so its `callback` is undefined: no reply.
            co_return std::nullopt;
        }
        try {
            auto sid = sid_of(args);
            const json::value* state = field(args, "agentState");
            const json::value* expected = field(args, "expectedVersion");
            if (!sid || !state || !(state->is_string() || state->is_null()) || !expected || !expected->is_number()) {
                co_return json::object{{"result", "error"}};
            }
            std::optional<session_row> row;
            co_await db->read([&](db::tx& t) { row = session_find(t, ctx.account_id, *sid); });
            if (!row) {
                co_return json::object{{"result", "error"}};  // unlike update-metadata, an ack is sent
            }
            auto mismatch = json::object{{"result", "version-mismatch"},
                                         {"version", row->agent_state_version},
                                         {"agentState", nullable(row->agent_state)}};
            if (static_cast<double>(row->agent_state_version) != expected->to_number<double>()) {
                co_return mismatch;
            }
            std::optional<std::string> value;
            if (state->is_string()) {
                value = std::string(state->get_string());
            }
            bool ok = false;
            co_await db->write(
                [&](db::tx& t) { ok = session_agent_state_cas(t, *sid, row->agent_state_version, value, now_ms()); });
            if (!ok) {
                co_return mismatch;
            }
            std::int64_t version = row->agent_state_version + 1;
            json::object body{{"t", "update-session"},
                              {"id", *sid},
                              {"agentState", json::object{{"value", nullable(value)}, {"version", version}}}};
            co_await emit(ctx.account_id, recipients::session(*sid), std::move(body));
            co_return json::object{{"result", "success"}, {"version", version}, {"agentState", nullable(value)}};
        } catch (const std::exception& e) {
            log::error("update-state failed", {{"error", e.what()}});
            co_return json::object{{"result", "error"}};
        }
    }

    asio::awaitable<std::optional<json::value>> message(events::socket_ctx& ctx, json::array args) {
        std::string lock_id = ctx.socket_id;
        co_await message_lock.acquire(lock_id);
        events::socket_serializer::guard unlock(message_lock, lock_id);
        try {
            auto sid = sid_of(args);
            const json::value* text = field(args, "message");
            // upstream reads `message.length` first: a missing/null message throws and the event is dropped.
            if (!sid || !text || text->is_null()) {
                co_return std::nullopt;
            }
            std::optional<std::string> local_id;
            if (auto* l = field(args, "localId"); l && l->is_string()) {
                local_id = std::string(l->get_string());
            }
            // Both seqs are taken before the duplicate check, so a duplicate leaves gaps (as upstream). Another
            // account's session, or an unknown one, changes nothing and gets no answer.
            sent_message sent;
            co_await db->write_keyed(*sid, [&](db::tx& t) {
                message_send(t, ctx.account_id, *sid, local_id, json::object{{"t", "encrypted"}, {"c", *text}}, now_ms(),
                             &sent);
            });
            if (!sent.stored) {
                if (sent.update_seq != 0) {
                    ev->skip_update(ctx.account_id, sent.update_seq);  // a duplicate: its seq is never emitted
                }
                co_return std::nullopt;
            }
            std::optional<message_row> created = std::move(sent.row);
            std::int64_t update_seq = sent.update_seq;
            // This path re-reads the row upstream, so the content comes back in JSONB order ({c, t}).
            created->content = jsonb_order(created->content);
            ev->emit_update(ctx.account_id, recipients::session(*sid),
                            auth::update_envelope_build(update_seq, new_message_body(*sid, *created), now_ms()),
                            ctx.socket_id);
        } catch (const std::exception& e) {
            log::error("message handler failed", {{"error", e.what()}});
        }
        co_return std::nullopt;
    }

    asio::awaitable<std::optional<json::value>> session_alive(events::socket_ctx& ctx, json::array args) {
        std::int64_t now = now_ms();
        auto at = heartbeat_time(field(args, "time"), now);
        auto sid = sid_of(args);
        if (!at || !sid) {
            co_return std::nullopt;
        }
        if (activity.stopped(*sid, now)) {
            co_return std::nullopt;
        }
        if (!activity.cached_valid(*sid, ctx.account_id, now)) {
            std::optional<session_row> row;
            co_await db->read([&](db::tx& t) { row = session_find(t, ctx.account_id, *sid); });
            if (!row || activity.stopped(*sid, now_ms())) {
                co_return std::nullopt;
            }
            // The cache entry is stamped with the time validation started, as upstream's `now`.
            activity.remember(*sid, ctx.account_id, row->last_active_at, row->active, now);
        }
        // Queued (only past the 30 s threshold) and written by the next session-activity-flush; the write
        // re-activates a session that was marked inactive.
        activity.queue(*sid, at->first, now_ms());
        const json::value* thinking = field(args, "thinking");
        ev->emit_ephemeral(ctx.account_id, recipients::user_scoped_only(),
                           activity_event(*sid, true, at->second, truthy(thinking) ? *thinking : json::value(false)));
        co_return std::nullopt;
    }

    /// session-activity-flush (and the final flush at shutdown): lastActiveAt := t, active := true for every
    /// queued heartbeat, in one transaction. Upstream updates `where: { id }` only, so does this; a session deleted
    /// meanwhile updates no row.
    asio::awaitable<void> flush() {
        // Taken writes must reach the database: shutdown's cancellation must not abort this between the take and
        // the write (the module's final flush only sees what is still queued).
        co_await asio::this_coro::throw_if_cancelled(false);
        auto writes = activity.take_pending(now_ms());
        if (writes.empty()) {
            co_return;
        }
        try {
            co_await db->write([&](db::tx& t) {
                std::int64_t now = now_ms();
                for (const auto& w : writes) {
                    session_activity_set(t, w.key, w.t, true, now);
                }
            });
            log::debug("session activity flushed", {{"sessions", writes.size()}});
        } catch (const std::exception& e) {
            // Dropped, as upstream does: the next heartbeats past the threshold queue a newer time.
            log::error("session activity flush failed", {{"sessions", writes.size()}, {"error", e.what()}});
        }
    }

    /// session-inactivity-sweep (upstream presence/timeout.ts, session half).
    asio::awaitable<void> sweep() {
        constexpr std::int64_t inactive_after_ms = 10 * 60 * 1000;
        std::vector<session_timeout> swept;
        co_await db->write([&](db::tx& t) {
            std::int64_t now = now_ms();
            swept = session_sweep_inactive(t, now - inactive_after_ms, now);
        });
        for (const auto& t : swept) {
            ev->emit_ephemeral(t.account_id, recipients::user_scoped_only(),
                               activity_event(t.id, false, t.last_active_at, false));
        }
    }

    asio::awaitable<std::optional<json::value>> session_end(events::socket_ctx& ctx, json::array args) {
        std::int64_t now = now_ms();
        auto at = heartbeat_time(field(args, "time"), now);
        auto sid = sid_of(args);
        if (!at || !sid) {
            co_return std::nullopt;
        }
        try {
            bool ok = false;
            co_await db->read([&](db::tx& t) { ok = session_find(t, ctx.account_id, *sid).has_value(); });
            if (!ok) {
                co_return std::nullopt;
            }
            activity.stop(*sid, now_ms());
            co_await db->write([&](db::tx& t) { session_activity_set(t, *sid, at->first, false, now_ms()); });
            ev->emit_ephemeral(ctx.account_id, recipients::user_scoped_only(),
                               activity_event(*sid, false, at->second, false));
        } catch (const std::exception& e) {
            log::error("session-end failed", {{"error", e.what()}});
        }
        co_return std::nullopt;
    }
};

sessions_module::sessions_module() : impl_(std::make_unique<impl>()) {}
sessions_module::~sessions_module() = default;

std::vector<job_decl> sessions_module::jobs() const {
    return {
        {"session-activity-flush", "*/5 * * * * *", "write the lastActiveAt of session heartbeats in batches"},
        {"session-inactivity-sweep", "0 * * * * *", "mark sessions idle for 10 minutes inactive",
         job_decl::scope::cluster},
    };
}

asio::awaitable<void> sessions_module::stop() { co_await impl_->flush(); }

std::string_view sessions_module::config_schema() const {
    return R"({"type": "object", "additionalProperties": false, "properties": {
        "list_cache_mb": {"type": "integer", "minimum": 0, "maximum": 4096, "default": 16,
                          "description": "Memory for encoded GET /v1/sessions answers, kept per account while its sessions are unchanged (0 = off)."}
    }})";
}

void sessions_module::setup(module_context& ctx) {
    impl* self = impl_.get();
    self->list_cache.configure(static_cast<std::size_t>(ctx.config().at("list_cache_mb").to_number<std::int64_t>()) *
                               1024 * 1024);
    self->db = &ctx.db();
    self->list_changes = self->db->watch_changes("session_list_version");
    self->ev = &ctx.events();
    self->files = &ctx.files();

    // Handlers are plain lambdas returning a member coroutine (no capturing coroutine lambdas: g++ 12 bug).
    auto route = [&](http::verb m, std::string path, auto fn, std::optional<v::node> params = std::nullopt,
                     std::optional<v::node> body = std::nullopt, std::optional<v::node> query = std::nullopt) {
        ctx.add_route({
            .method = m,
            .path = std::move(path),
            .auth = http::auth_mode::bearer,
            .params = std::move(params),
            .body = std::move(body),
            .query = std::move(query),
            .fn = [self, fn](http::request& req) { return (self->*fn)(req); },
        });
    };

    route(http::verb::get, "/v1/sessions", &impl::list_v1);
    route(http::verb::get, "/v2/sessions/active", &impl::list_active, std::nullopt, std::nullopt,
          v::object({{"limit", v::number().coerce().integer().min(1).max(500).default_value(150)}}));
    route(http::verb::get, "/v2/sessions", &impl::list_v2, std::nullopt, std::nullopt,
          v::object({{"cursor", v::string().optional()},
                     {"limit", v::number().coerce().integer().min(1).max(200).default_value(50)},
                     {"changedSince", v::number().coerce().integer().positive().optional()}}));
    route(http::verb::post, "/v1/sessions", &impl::create, std::nullopt,
          v::object({{"tag", v::string()},
                     {"metadata", v::string()},
                     {"agentState", v::string().nullish()},
                     {"dataEncryptionKey", v::string().nullish()}}));
    route(http::verb::get, "/v1/sessions/:sessionId/messages", &impl::messages_v1, session_params());
    route(http::verb::post, "/v1/sessions/:sessionId/archive", &impl::archive, session_params());
    route(http::verb::del, "/v1/sessions/:sessionId", &impl::remove, session_params());
    route(http::verb::get, "/v3/sessions/:sessionId/messages", &impl::messages_v3_get, session_params(), std::nullopt,
          v::object({{"after_seq", v::number().coerce().integer().min(0).optional()},
                     {"before_seq", v::number().coerce().integer().min(1).optional()},
                     {"limit", v::number().coerce().integer().min(1).max(500).default_value(100)}})
              .refine(&v3_query_refine));
    route(http::verb::post, "/v3/sessions/:sessionId/messages", &impl::messages_v3_post, session_params(),
          v::object({{"messages",
                      v::array(v::object({{"content", v::string()}, {"localId", v::string().min(1)}})).min(1).max(100)}}));

    auto event = [&](std::string name, auto fn) {
        ctx.add_event({std::move(name), [self, fn](events::socket_ctx& c, json::array args) {
                           return (self->*fn)(c, std::move(args));
                       }});
    };
    event("update-metadata", &impl::update_metadata);
    event("update-state", &impl::update_state);
    event("message", &impl::message);
    event("session-alive", &impl::session_alive);
    event("session-end", &impl::session_end);

    ctx.add_job("session-activity-flush", [self] { return self->flush(); });
    ctx.add_job("session-inactivity-sweep", [self] { return self->sweep(); }, true);
}

}  // namespace happy::mod::sessions
