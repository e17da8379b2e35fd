#include "modules/push/push_store.hpp"

#include <soci/soci.h>

#include "core/crypto/ids.hpp"

namespace happy::mod::push {

void push_token_upsert(soci::session& s, std::string_view account_id, std::string_view token, std::int64_t now) {
    std::string id = crypto::cuid();
    std::string a(account_id), t(token);
    s << "INSERT INTO account_push_token (id, account_id, token, created_at, updated_at) VALUES (:id, :a, :t, :c, :u) "
         "ON CONFLICT (account_id, token) DO UPDATE SET updated_at = excluded.updated_at",
        soci::use(id), soci::use(a), soci::use(t), soci::use(now), soci::use(now);
}

int push_token_delete(soci::session& s, std::string_view account_id, std::string_view token) {
    std::string a(account_id), t(token);
    soci::statement st = (s.prepare << "DELETE FROM account_push_token WHERE account_id = :a AND token = :t",
                          soci::use(a), soci::use(t));
    st.execute(true);
    return static_cast<int>(st.get_affected_rows());
}

void push_token_delete_by_id(soci::session& s, std::string_view id) {
    std::string i(id);
    s << "DELETE FROM account_push_token WHERE id = :id", soci::use(i);
}

std::vector<push_token> push_token_list(soci::session& s, std::string_view account_id) {
    std::string a(account_id);
    std::vector<push_token> out;
    push_token row;
    soci::statement st = (s.prepare << "SELECT id, token, created_at, updated_at FROM account_push_token "
                                       "WHERE account_id = :a ORDER BY created_at DESC, id DESC",
                          soci::use(a), soci::into(row.id), soci::into(row.token), soci::into(row.created_at),
                          soci::into(row.updated_at));
    st.execute();
    while (st.fetch()) {
        out.push_back(row);
    }
    return out;
}

bool push_session_owned(soci::session& s, std::string_view account_id, std::string_view session_id) {
    // The session table belongs to the sessions module; a plain query keeps this module free of its symbols.
    std::string a(account_id), sid(session_id);
    int n = 0;
    s << "SELECT count(*) FROM session WHERE id = :id AND account_id = :a", soci::use(sid), soci::use(a),
        soci::into(n);
    return n > 0;
}

}  // namespace happy::mod::push
