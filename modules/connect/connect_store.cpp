#include "modules/connect/connect_store.hpp"

#include <soci/soci.h>

#include "core/crypto/base64.hpp"
#include "core/crypto/ids.hpp"
#include "core/db/database.hpp"
#include "modules/auth/auth_store.hpp"

namespace happy::mod::connect {

namespace {

/// Length of the UTF-8 whitespace sequence at `s[i]` as JavaScript's `\s` / String.prototype.trim see it
/// (ASCII TAB..CR and space, U+00A0, U+1680, U+2000–U+200A, U+2028, U+2029, U+202F, U+205F, U+3000, U+FEFF),
/// or 0.
std::size_t js_space(std::string_view s, std::size_t i) {
    auto b = [&](std::size_t k) { return i + k < s.size() ? static_cast<unsigned char>(s[i + k]) : 0u; };
    unsigned c = b(0);
    if (c == ' ' || (c >= 0x09 && c <= 0x0d)) {
        return 1;
    }
    if (c == 0xc2 && b(1) == 0xa0) {
        return 2;
    }
    if (c == 0xe1 && b(1) == 0x9a && b(2) == 0x80) {
        return 3;
    }
    if (c == 0xe2 && b(1) == 0x80 && ((b(2) >= 0x80 && b(2) <= 0x8a) || b(2) == 0xa8 || b(2) == 0xa9 || b(2) == 0xaf)) {
        return 3;
    }
    if (c == 0xe2 && b(1) == 0x81 && b(2) == 0x9f) {
        return 3;
    }
    if (c == 0xe3 && b(1) == 0x80 && b(2) == 0x80) {
        return 3;
    }
    if (c == 0xef && b(1) == 0xbb && b(2) == 0xbf) {
        return 3;
    }
    return 0;
}

}  // namespace

std::vector<std::string> vendor_token_path(std::string_view account_id, std::string_view vendor) {
    return {"user", std::string(account_id), "vendors", std::string(vendor), "token"};
}

std::vector<std::string> github_token_path(std::string_view account_id) {
    return {"user", std::string(account_id), "github", "token"};
}

void vendor_token_upsert(soci::session& s, std::string_view account_id, std::string_view vendor,
                         std::string_view encrypted, std::int64_t now) {
    std::string id = crypto::cuid();
    std::string acc(account_id);
    std::string ven(vendor);
    std::string tok(encrypted);
    s << "INSERT INTO service_account_token (id, account_id, vendor, token, created_at, updated_at) "
         "VALUES (:id, :a, :v, CAST(:t AS BLOB), :c, :u) "
         "ON CONFLICT (account_id, vendor) DO UPDATE SET token = excluded.token, updated_at = excluded.updated_at",
        soci::use(id), soci::use(acc), soci::use(ven), soci::use(tok), soci::use(now), soci::use(now);
}

std::optional<std::string> vendor_token_get(soci::session& s, std::string_view account_id, std::string_view vendor) {
    std::string acc(account_id);
    std::string ven(vendor);
    std::string hex;
    // Read through hex(): the ciphertext starts with a NUL byte, which a text column round trip would cut.
    s << "SELECT hex(token) FROM service_account_token WHERE account_id = :a AND vendor = :v", soci::use(acc),
        soci::use(ven), soci::into(hex);
    if (!s.got_data()) {
        return std::nullopt;
    }
    return crypto::hex_decode(hex).value_or("");
}

bool vendor_token_delete(soci::session& s, std::string_view account_id, std::string_view vendor) {
    std::string acc(account_id);
    std::string ven(vendor);
    soci::statement st = (s.prepare << "DELETE FROM service_account_token WHERE account_id = :a AND vendor = :v",
                          soci::use(acc), soci::use(ven));
    st.execute(true);
    return st.get_affected_rows() > 0;
}

std::vector<std::pair<std::string, std::string>> vendor_token_list(soci::session& s, std::string_view account_id) {
    std::string acc(account_id);
    std::string vendor;
    std::string hex;
    soci::statement st = (s.prepare << "SELECT vendor, hex(token) FROM service_account_token WHERE account_id = :a "
                                       "ORDER BY created_at, rowid",
                          soci::use(acc), soci::into(vendor), soci::into(hex));
    std::vector<std::pair<std::string, std::string>> out;
    if (st.execute(true)) {
        do {
            out.emplace_back(vendor, crypto::hex_decode(hex).value_or(""));
        } while (st.fetch());
    }
    return out;
}

std::pair<std::optional<std::string>, std::optional<std::string>> name_separate(std::string_view full) {
    std::vector<std::string> parts;
    std::string cur;
    for (std::size_t i = 0; i < full.size();) {
        if (std::size_t n = js_space(full, i)) {
            if (!cur.empty()) {
                parts.push_back(std::move(cur));
                cur.clear();
            }
            i += n;
        } else {
            cur += full[i++];
        }
    }
    if (!cur.empty()) {
        parts.push_back(std::move(cur));
    }
    if (parts.empty()) {
        return {std::nullopt, std::nullopt};
    }
    if (parts.size() == 1) {
        return {parts[0], std::nullopt};
    }
    std::string last;
    for (std::size_t i = 1; i < parts.size(); ++i) {
        last += (i > 1 ? " " : "") + parts[i];
    }
    return {parts[0], last};
}

std::optional<github_change> github_disconnect(soci::session& s, std::string_view account_id, std::int64_t now) {
    std::string acc(account_id);
    std::string gh;
    soci::indicator gi = soci::i_null;
    s << "SELECT github_user_id FROM account WHERE id = :id", soci::use(acc), soci::into(gh, gi);
    if (!s.got_data() || gi != soci::i_ok) {
        return std::nullopt;
    }
    s << "UPDATE account SET github_user_id = NULL, username = NULL, updated_at = :u WHERE id = :id", soci::use(now),
        soci::use(acc);
    s << "DELETE FROM github_user WHERE id = :g", soci::use(gh);
    return github_change{acc, auth::account_seq_allocate(s, acc, now)};
}

github_connect_result github_connect(soci::session& s, std::string_view account_id, const github_profile& profile,
                                     std::string_view encrypted_token, std::int64_t now) {
    github_connect_result r;
    std::string acc(account_id);
    std::string current;
    soci::indicator ci = soci::i_null;
    s << "SELECT github_user_id FROM account WHERE id = :id", soci::use(acc), soci::into(current, ci);
    if (!s.got_data()) {
        throw db::not_found("account not found");  // upstream findFirstOrThrow
    }
    if (ci == soci::i_ok && current == profile.id) {
        return r;
    }
    std::string other;
    s << "SELECT id FROM account WHERE github_user_id = :g AND id <> :id", soci::use(profile.id), soci::use(acc),
        soci::into(other);
    if (s.got_data()) {
        r.displaced = github_disconnect(s, other, now);
    }
    std::string tok(encrypted_token);
    s << "INSERT INTO github_user (id, profile, token, created_at, updated_at) "
         "VALUES (:id, :p, CAST(:t AS BLOB), :c, :u) "
         "ON CONFLICT (id) DO UPDATE SET profile = excluded.profile, token = excluded.token, "
         "updated_at = excluded.updated_at",
        soci::use(profile.id), soci::use(profile.profile_json), soci::use(tok), soci::use(now), soci::use(now);
    auto [first, last] = profile.name ? name_separate(*profile.name)
                                      : std::pair<std::optional<std::string>, std::optional<std::string>>{};
    r.first_name = first;
    r.last_name = last;
    std::string f = first.value_or("");
    std::string l = last.value_or("");
    soci::indicator fi = first ? soci::i_ok : soci::i_null;
    soci::indicator li = last ? soci::i_ok : soci::i_null;
    s << "UPDATE account SET github_user_id = :g, username = :n, first_name = :f, last_name = :l, updated_at = :u "
         "WHERE id = :id",
        soci::use(profile.id), soci::use(profile.login), soci::use(f, fi), soci::use(l, li), soci::use(now),
        soci::use(acc);
    r.connected = github_change{acc, auth::account_seq_allocate(s, acc, now)};
    return r;
}

}  // namespace happy::mod::connect
