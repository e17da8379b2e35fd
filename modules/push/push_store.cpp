#include "modules/push/push_store.hpp"

#include "core/crypto/ids.hpp"

namespace happy::mod::push {

void push_token_upsert(db::tx& t, std::string_view account_id, std::string_view token, std::int64_t now) {
    std::string id = crypto::cuid();
    t.exec("INSERT INTO account_push_token (id, account_id, token, created_at, updated_at) VALUES (?, ?, ?, ?, ?) "
           "ON CONFLICT (account_id, token) DO UPDATE SET updated_at = excluded.updated_at",
           {id, account_id, token, now, now});
}

int push_token_delete(db::tx& t, std::string_view account_id, std::string_view token) {
    return static_cast<int>(
        t.exec("DELETE FROM account_push_token WHERE account_id = ? AND token = ?", {account_id, token}));
}

void push_token_delete_by_id(db::tx& t, std::string_view id) {
    t.exec("DELETE FROM account_push_token WHERE id = ?", {id});
}

std::vector<push_token> push_token_list(db::tx& t, std::string_view account_id) {
    std::vector<push_token> out;
    t.query("SELECT id, token, created_at, updated_at FROM account_push_token "
            "WHERE account_id = ? ORDER BY created_at DESC, id DESC",
            {account_id},
            [&](const db::row_view& r) { out.push_back(push_token{r.str(0), r.str(1), r.i64(2), r.i64(3)}); });
    return out;
}

bool push_session_owned(db::tx& t, std::string_view account_id, std::string_view session_id) {
    // The session table belongs to the sessions module; a plain query keeps this module free of its symbols.
    return t.exists("SELECT 1 FROM session WHERE id = ? AND account_id = ?", {session_id, account_id});
}

}  // namespace happy::mod::push
