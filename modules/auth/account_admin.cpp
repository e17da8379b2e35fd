#include "modules/auth/account_admin.hpp"

#include <unordered_map>

#include "core/auth/token_service.hpp"
#include "core/db/database.hpp"
#include "core/events/types.hpp"
#include "core/files/file_store.hpp"
#include "core/log/log.hpp"
#include "core/util/time.hpp"
#include "modules/auth/auth_store.hpp"

namespace happy::mod::auth {

std::optional<std::string> account_find_by_key(db::tx& t, std::string_view public_key_hex) {
    return t.one_text("SELECT id FROM account WHERE public_key = ?", {public_key_hex});
}

std::optional<bool> registration_request_state(db::tx& t, std::string_view public_key_hex) {
    std::optional<bool> out;
    t.query("SELECT approved_at FROM registration_request WHERE public_key = ?", {public_key_hex},
            [&](const db::row_view& r) { out = r.opt_i64(0).has_value(); });
    return out;
}

void registration_request_record(db::tx& t, std::string_view public_key_hex, std::int64_t now) {
    t.exec("INSERT INTO registration_request (public_key, attempts, created_at, updated_at) VALUES (?, 1, ?, ?) "
           "ON CONFLICT (public_key) DO UPDATE SET attempts = registration_request.attempts + 1, "
           "updated_at = excluded.updated_at",
           {public_key_hex, now, now});
}

std::int64_t registration_request_count_pending(db::tx& t) {
    return t.one_i64("SELECT COUNT(*) FROM registration_request WHERE approved_at IS NULL").value_or(0);
}

bool registration_request_approve(db::tx& t, std::string_view public_key_hex, std::int64_t now) {
    if (account_find_by_key(t, public_key_hex)) {
        return false;
    }
    t.exec("INSERT INTO registration_request (public_key, attempts, approved_at, created_at, updated_at) "
           "VALUES (?, 0, ?, ?, ?) ON CONFLICT (public_key) DO UPDATE SET "
           "approved_at = COALESCE(registration_request.approved_at, excluded.approved_at), "
           "updated_at = excluded.updated_at",
           {public_key_hex, now, now, now});
    return true;
}

bool registration_request_delete(db::tx& t, std::string_view public_key_hex) {
    return t.exec("DELETE FROM registration_request WHERE public_key = ?", {public_key_hex}) > 0;
}

std::vector<registration_request> registration_request_list(db::tx& t) {
    std::vector<registration_request> out;
    t.query("SELECT public_key, attempts, approved_at, created_at, updated_at FROM registration_request "
            "ORDER BY created_at, public_key",
            {}, [&](const db::row_view& r) {
                out.push_back({r.str(0), r.i64(1), r.opt_i64(2), r.i64(3), r.i64(4)});
            });
    return out;
}

std::vector<account_block> account_blocks(db::tx& t) {
    std::vector<account_block> out;
    t.query("SELECT account_id, deleted FROM account_disabled ORDER BY account_id", {},
            [&](const db::row_view& r) { out.push_back({r.str(0), r.i64(1) != 0}); });
    return out;
}

bool account_disable(db::tx& t, std::string_view account_id, std::int64_t now) {
    if (!t.exists("SELECT 1 FROM account WHERE id = ?", {account_id})) {
        return false;
    }
    t.exec("INSERT INTO account_disabled (account_id, disabled_at) VALUES (?, ?) ON CONFLICT (account_id) DO NOTHING",
           {account_id, now});
    return true;
}

bool account_enable(db::tx& t, std::string_view account_id) {
    if (!t.exists("SELECT 1 FROM account WHERE id = ?", {account_id})) {
        return false;
    }
    t.exec("DELETE FROM account_disabled WHERE account_id = ?", {account_id});
    return true;
}

boost::asio::awaitable<void> account_blocks_refresh(db::database& db, happy::auth::token_service& tokens,
                                                    events::emitter& events) {
    std::vector<account_block> rows;
    co_await db.read([&](db::tx& t) { rows = account_blocks(t); });
    std::unordered_map<std::string, happy::auth::account_block> blocked;
    std::vector<std::string> newly;
    for (auto& r : rows) {
        if (tokens.blocked(r.account_id) == happy::auth::account_block::none) {
            newly.push_back(r.account_id);
        }
        blocked.emplace(std::move(r.account_id),
                        r.deleted ? happy::auth::account_block::deleted : happy::auth::account_block::disabled);
    }
    tokens.set_blocked(std::move(blocked));
    for (const auto& id : newly) {
        events.disconnect_account(id);
    }
}

boost::asio::awaitable<bool> account_disable_now(db::database& db, happy::auth::token_service& tokens,
                                                 events::emitter& events, std::string account_id) {
    bool found = false;
    co_await db.write([&](db::tx& t) { found = account_disable(t, account_id, now_ms()); });
    if (found) {
        // Tokens first: a socket reconnecting right after the disconnect is refused.
        tokens.block(account_id, happy::auth::account_block::disabled);
        events.disconnect_account(account_id);
        log::info("account disabled", {{"account", account_id}});
    }
    co_return found;
}

boost::asio::awaitable<bool> account_enable_now(db::database& db, happy::auth::token_service& tokens,
                                                std::string account_id) {
    bool found = false;
    co_await db.write([&](db::tx& t) { found = account_enable(t, account_id); });
    if (found) {
        tokens.block(account_id, happy::auth::account_block::none);
        log::info("account enabled", {{"account", account_id}});
    }
    co_return found;
}

boost::asio::awaitable<bool> account_delete_now(db::database& db, happy::auth::token_service& tokens,
                                                events::emitter& events, files::file_store& files,
                                                std::string account_id) {
    bool found = false;
    std::vector<std::string> sessions;
    co_await db.write([&](db::tx& t) {
        sessions = account_session_ids(t, account_id);
        found = account_delete(t, account_id, now_ms());
    });
    if (!found) {
        co_return false;
    }
    tokens.block(account_id, happy::auth::account_block::deleted);
    events.disconnect_account(account_id);
    log::info("account deleted", {{"account", account_id}, {"sessions", sessions.size()}});
    co_await account_files_remove(files, std::move(sessions));
    co_return true;
}

boost::asio::awaitable<void> account_files_remove(files::file_store& files, std::vector<std::string> session_ids) {
    for (const auto& sid : session_ids) {
        try {
            co_await files.remove_prefix("sessions/" + sid);
        } catch (const std::exception& e) {
            log::warn("session files not removed", {{"sid", sid}, {"error", e.what()}});
        }
    }
}

namespace {

constexpr std::string_view summary_select =
    "SELECT a.id, a.public_key, a.created_at, a.updated_at, d.disabled_at, "
    "(SELECT COUNT(*) FROM session s WHERE s.account_id = a.id), "
    "(SELECT COUNT(*) FROM machine m WHERE m.account_id = a.id) "
    "FROM account a LEFT JOIN account_disabled d ON d.account_id = a.id ";

account_summary summary_of(const db::row_view& r) {
    return {r.str(0), r.str(1), r.i64(2), r.i64(3), r.opt_i64(4), r.i64(5), r.i64(6)};
}

}  // namespace

std::vector<account_summary> account_list(db::tx& t, std::int64_t limit) {
    std::vector<account_summary> out;
    t.query(std::string(summary_select) + "ORDER BY a.created_at DESC, a.id DESC LIMIT ?", {limit},
            [&](const db::row_view& r) { out.push_back(summary_of(r)); });
    return out;
}

std::optional<account_summary> account_get(db::tx& t, std::string_view account_id) {
    std::optional<account_summary> out;
    t.query(std::string(summary_select) + "WHERE a.id = ?", {account_id},
            [&](const db::row_view& r) { out = summary_of(r); });
    return out;
}

std::int64_t account_count(db::tx& t) { return t.one_i64("SELECT COUNT(*) FROM account").value_or(0); }

std::vector<std::string> account_session_ids(db::tx& t, std::string_view account_id) {
    std::vector<std::string> out;
    t.query("SELECT id FROM session WHERE account_id = ? ORDER BY id", {account_id},
            [&](const db::row_view& r) { out.push_back(r.str(0)); });
    return out;
}

bool account_delete(db::tx& t, std::string_view account_id, std::int64_t now) {
    if (!t.exists("SELECT 1 FROM account WHERE id = ?", {account_id})) {
        return false;
    }
    auto github = t.one_text("SELECT github_user_id FROM account WHERE id = ?", {account_id});
    // Children before parents: most references to account and session are ON DELETE RESTRICT (as upstream's
    // Prisma schema), so each table is emptied explicitly rather than by cascade.
    for (std::string_view sql : {
             "DELETE FROM access_key WHERE account_id = ?",
             "DELETE FROM usage_report WHERE account_id = ?",
             "DELETE FROM session_message WHERE session_id IN (SELECT id FROM session WHERE account_id = ?)",
             "DELETE FROM usage_report WHERE session_id IN (SELECT id FROM session WHERE account_id = ?)",
             "DELETE FROM access_key WHERE session_id IN (SELECT id FROM session WHERE account_id = ?)",
             "DELETE FROM session WHERE account_id = ?",
             "DELETE FROM machine WHERE account_id = ?",
             "DELETE FROM artifact WHERE account_id = ?",
             "DELETE FROM user_kv WHERE account_id = ?",
             "DELETE FROM account_push_token WHERE account_id = ?",
             "DELETE FROM user_relationship WHERE from_user_id = ?",
             "DELETE FROM user_relationship WHERE to_user_id = ?",
             "DELETE FROM user_feed_item WHERE user_id = ?",
             "DELETE FROM service_account_token WHERE account_id = ?",
             "DELETE FROM voice_conversation WHERE account_id = ?",
             // Pairing answers this account gave carry its (encrypted) key material: they go, not just the link.
             "DELETE FROM terminal_auth_request WHERE response_account_id = ?",
             "DELETE FROM account_auth_request WHERE response_account_id = ?",
         }) {
        t.exec(sql, {account_id});
    }
    t.exec("DELETE FROM registration_request WHERE public_key = (SELECT public_key FROM account WHERE id = ?)",
           {account_id});
    t.exec("DELETE FROM account WHERE id = ?", {account_id});
    // The tombstone: tokens minted for the account stay valid signatures, and must stay refused.
    t.exec("INSERT INTO account_disabled (account_id, deleted, disabled_at) VALUES (?, 1, ?) "
           "ON CONFLICT (account_id) DO UPDATE SET deleted = 1, disabled_at = excluded.disabled_at",
           {account_id, now});
    if (github) {
        t.exec("DELETE FROM github_user WHERE id = ?", {*github});
    }
    return true;
}

sign_in_outcome account_sign_in(db::tx& t, const happy::auth::registration_policy& policy, std::string_view hex,
                            std::int64_t now) {
    using happy::auth::registration_verdict;
    if (policy.mode == happy::auth::registration_mode::open) {
        return {account_upsert(t, hex, now), {}};  // upstream's single upsert, no extra lookups
    }
    if (account_find_by_key(t, hex)) {
        return {account_upsert(t, hex, now), {}};
    }
    switch (happy::auth::registration_decide(policy, hex, registration_request_state(t, hex))) {
        case registration_verdict::create:
            registration_request_delete(t, hex);  // an approval is used up by the account it created
            return {account_upsert(t, hex, now), {}};
        case registration_verdict::refuse_closed:
            return {{}, happy::auth::registration_closed_message};
        case registration_verdict::record_pending:
            // Keys cost nothing to make: a bound keeps a flood of sign-ups from growing the table without limit.
            if (registration_request_count_pending(t) >= policy.max_pending) {
                return {{}, "Registration is pending approval and the server's queue of pending sign-ups is full"};
            }
            registration_request_record(t, hex, now);
            return {{}, happy::auth::registration_pending_message};
        case registration_verdict::still_pending:
            registration_request_record(t, hex, now);
            return {{}, happy::auth::registration_pending_message};
    }
    return {{}, happy::auth::registration_closed_message};
}


}  // namespace happy::mod::auth
