#include "modules/auth/auth_store.hpp"

#include <soci/soci.h>

#include "core/crypto/ids.hpp"
#include "core/db/database.hpp"

namespace happy::mod::auth {

namespace {
const char* table(pairing kind) { return kind == pairing::terminal ? "terminal_auth_request" : "account_auth_request"; }
}  // namespace

std::string account_upsert(soci::session& s, std::string_view public_key_hex, std::int64_t now) {
    std::string id = crypto::cuid();
    std::string pk(public_key_hex);
    std::string out;
    // upstream authRoutes.ts: db.account.upsert({ where: { publicKey }, update: { updatedAt: new Date() } })
    s << "INSERT INTO account (id, public_key, created_at, updated_at) VALUES (:id, :pk, :now, :now2) "
         "ON CONFLICT (public_key) DO UPDATE SET updated_at = excluded.updated_at RETURNING id",
        soci::use(id), soci::use(pk), soci::use(now), soci::use(now), soci::into(out);
    return out;
}

std::int64_t account_seq_allocate(db::database& db, soci::session& s, std::string_view account_id, std::int64_t now) {
    std::optional<std::int64_t> seq;
    db.query(s, "UPDATE account SET seq = seq + 1, updated_at = ? WHERE id = ? RETURNING seq", {now, account_id},
             [&](const db::row_view& r) { seq = r.i64(0); });
    if (!seq) {
        throw db::not_found("account not found: " + std::string(account_id));
    }
    return *seq;
}

std::int64_t account_seq_allocate(soci::session& s, std::string_view account_id, std::int64_t now) {
    std::string id(account_id);
    std::int64_t seq = 0;
    s << "UPDATE account SET seq = seq + 1, updated_at = :now WHERE id = :id RETURNING seq", soci::use(now),
        soci::use(id), soci::into(seq);
    if (!s.got_data()) {
        throw db::not_found("account not found: " + id);
    }
    return seq;
}

std::optional<pairing_request> pairing_request_find(soci::session& s, pairing kind, std::string_view public_key_hex) {
    std::string pk(public_key_hex);
    pairing_request r;
    int v2 = 0;
    std::string response, account;
    soci::indicator ri = soci::i_null, ai = soci::i_null;
    s << "SELECT id, " << (kind == pairing::terminal ? "supports_v2" : "0") << ", response, response_account_id FROM "
      << table(kind) << " WHERE public_key = :pk",
        soci::use(pk), soci::into(r.id), soci::into(v2), soci::into(response, ri), soci::into(account, ai);
    if (!s.got_data()) {
        return std::nullopt;
    }
    r.supports_v2 = v2 != 0;
    if (ri == soci::i_ok) {
        r.response = response;
    }
    if (ai == soci::i_ok) {
        r.response_account_id = account;
    }
    return r;
}

pairing_request pairing_request_upsert(soci::session& s, pairing kind, std::string_view public_key_hex,
                                       bool supports_v2, std::int64_t now) {
    std::string id = crypto::cuid();
    std::string pk(public_key_hex);
    if (kind == pairing::terminal) {
        int v2 = supports_v2 ? 1 : 0;
        s << "INSERT INTO terminal_auth_request (id, public_key, supports_v2, created_at, updated_at) "
             "VALUES (:id, :pk, :v2, :now, :now2) ON CONFLICT (public_key) DO NOTHING",
            soci::use(id), soci::use(pk), soci::use(v2), soci::use(now), soci::use(now);
    } else {
        s << "INSERT INTO account_auth_request (id, public_key, created_at, updated_at) "
             "VALUES (:id, :pk, :now, :now2) ON CONFLICT (public_key) DO NOTHING",
            soci::use(id), soci::use(pk), soci::use(now), soci::use(now);
    }
    return *pairing_request_find(s, kind, public_key_hex);
}

bool pairing_request_respond(soci::session& s, pairing kind, std::string_view public_key_hex,
                             std::string_view response, std::string_view account_id, std::int64_t now) {
    auto row = pairing_request_find(s, kind, public_key_hex);
    if (!row) {
        return false;
    }
    if (!row->response) {
        std::string resp(response), acc(account_id);
        s << "UPDATE " << table(kind)
          << " SET response = :r, response_account_id = :a, updated_at = :now WHERE id = :id AND response IS NULL",
            soci::use(resp), soci::use(acc), soci::use(now), soci::use(row->id);
    }
    return true;
}

}  // namespace happy::mod::auth
