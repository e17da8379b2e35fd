#include "modules/auth/auth_store.hpp"

#include "core/crypto/ids.hpp"
#include "core/db/database.hpp"

namespace happy::mod::auth {

std::string account_upsert(db::tx& t, std::string_view public_key_hex, std::int64_t now) {
    std::string id = crypto::cuid();
    // upstream authRoutes.ts: db.account.upsert({ where: { publicKey }, update: { updatedAt: new Date() } })
    auto out = t.one_text(
        "INSERT INTO account (id, public_key, created_at, updated_at) VALUES (?, ?, ?, ?) "
        "ON CONFLICT (public_key) DO UPDATE SET updated_at = excluded.updated_at RETURNING id",
        {id, public_key_hex, now, now});
    return out.value_or(id);
}

std::int64_t account_seq_allocate(db::tx& t, std::string_view account_id, std::int64_t now) {
    // One atomic statement: concurrent writers (several server processes on PostgreSQL) each get their own seq.
    auto seq = t.one_i64("UPDATE account SET seq = seq + 1, updated_at = ? WHERE id = ? RETURNING seq", {now, account_id});
    if (!seq) {
        throw db::not_found("account not found: " + std::string(account_id));
    }
    return *seq;
}

std::optional<pairing_request> pairing_request_find(db::tx& t, pairing kind, std::string_view public_key_hex) {
    std::optional<pairing_request> out;
    auto read = [&](const db::row_view& r) {
        out = pairing_request{r.str(0), r.i64(1) != 0, r.opt_str(2), r.opt_str(3)};
    };
    if (kind == pairing::terminal) {
        t.query("SELECT id, supports_v2, response, response_account_id FROM terminal_auth_request "
                "WHERE public_key = ?",
                {public_key_hex}, read);
    } else {
        t.query("SELECT id, 0, response, response_account_id FROM account_auth_request WHERE public_key = ?",
                {public_key_hex}, read);
    }
    return out;
}

pairing_request pairing_request_upsert(db::tx& t, pairing kind, std::string_view public_key_hex, bool supports_v2,
                                       std::int64_t now) {
    std::string id = crypto::cuid();
    if (kind == pairing::terminal) {
        t.exec("INSERT INTO terminal_auth_request (id, public_key, supports_v2, created_at, updated_at) "
               "VALUES (?, ?, ?, ?, ?) ON CONFLICT (public_key) DO NOTHING",
               {id, public_key_hex, std::int64_t{supports_v2 ? 1 : 0}, now, now});
    } else {
        t.exec("INSERT INTO account_auth_request (id, public_key, created_at, updated_at) "
               "VALUES (?, ?, ?, ?) ON CONFLICT (public_key) DO NOTHING",
               {id, public_key_hex, now, now});
    }
    return *pairing_request_find(t, kind, public_key_hex);
}

bool pairing_request_respond(db::tx& t, pairing kind, std::string_view public_key_hex, std::string_view response,
                             std::string_view account_id, std::int64_t now) {
    auto row = pairing_request_find(t, kind, public_key_hex);
    if (!row) {
        return false;
    }
    if (!row->response) {
        // `response IS NULL` in the WHERE: the first answer wins when two arrive at once.
        t.exec(kind == pairing::terminal
                   ? "UPDATE terminal_auth_request SET response = ?, response_account_id = ?, updated_at = ? "
                     "WHERE id = ? AND response IS NULL"
                   : "UPDATE account_auth_request SET response = ?, response_account_id = ?, updated_at = ? "
                     "WHERE id = ? AND response IS NULL",
               {response, account_id, now, row->id});
    }
    return true;
}

}  // namespace happy::mod::auth
