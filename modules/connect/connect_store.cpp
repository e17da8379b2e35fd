#include "modules/connect/connect_store.hpp"

#include "core/crypto/ids.hpp"
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

/// githubDisconnect for a link read earlier in the transaction: a compare-and-set on account.github_user_id, so that
/// a link another writer changed meanwhile (several server processes) is not cleared; then the transaction is run
/// again from the start.
github_change github_unlink(db::tx& t, std::string_view account_id, std::string_view github_id, std::int64_t now) {
    std::int64_t changed = t.exec("UPDATE account SET github_user_id = NULL, username = NULL, updated_at = ? "
                                  "WHERE id = ? AND github_user_id = ?",
                                  {now, account_id, github_id});
    if (changed != 1) {
        throw db::error(db::error_kind::retryable,
                        "github link of " + std::string(account_id) + " changed concurrently");
    }
    t.exec("DELETE FROM github_user WHERE id = ?", {github_id});
    return github_change{std::string(account_id), auth::account_seq_allocate(t, account_id, now)};
}

}  // namespace

std::vector<std::string> vendor_token_path(std::string_view account_id, std::string_view vendor) {
    return {"user", std::string(account_id), "vendors", std::string(vendor), "token"};
}

std::vector<std::string> github_token_path(std::string_view account_id) {
    return {"user", std::string(account_id), "github", "token"};
}

void vendor_token_upsert(db::tx& t, std::string_view account_id, std::string_view vendor,
                         std::string_view encrypted, std::int64_t now) {
    std::string id = crypto::cuid();
    t.exec("INSERT INTO service_account_token (id, account_id, vendor, token, created_at, updated_at) "
           "VALUES (?, ?, ?, ?, ?, ?) "
           "ON CONFLICT (account_id, vendor) DO UPDATE SET token = excluded.token, updated_at = excluded.updated_at",
           {id, account_id, vendor, db::blob{encrypted}, now, now});
}

std::optional<std::string> vendor_token_get(db::tx& t, std::string_view account_id, std::string_view vendor) {
    // Bytes, not text: the ciphertext starts with a NUL byte.
    std::optional<std::string> out;
    t.query("SELECT token FROM service_account_token WHERE account_id = ? AND vendor = ?", {account_id, vendor},
            [&](const db::row_view& r) { out = std::string(r.bytes(0)); });
    return out;
}

bool vendor_token_delete(db::tx& t, std::string_view account_id, std::string_view vendor) {
    return t.exec("DELETE FROM service_account_token WHERE account_id = ? AND vendor = ?", {account_id, vendor}) > 0;
}

std::vector<std::pair<std::string, std::string>> vendor_token_list(db::tx& t, std::string_view account_id) {
    std::vector<std::pair<std::string, std::string>> out;
    t.query("SELECT vendor, token FROM service_account_token WHERE account_id = ? ORDER BY created_at, id",
            {account_id}, [&](const db::row_view& r) { out.emplace_back(r.str(0), std::string(r.bytes(1))); });
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

std::optional<github_change> github_disconnect(db::tx& t, std::string_view account_id, std::int64_t now) {
    auto github_id = t.one_text("SELECT github_user_id FROM account WHERE id = ?", {account_id});
    if (!github_id) {
        return std::nullopt;
    }
    return github_unlink(t, account_id, *github_id, now);
}

github_connect_result github_connect(db::tx& t, std::string_view account_id, const github_profile& profile,
                                     std::string_view encrypted_token, std::int64_t now) {
    github_connect_result r;
    bool found = false;
    std::optional<std::string> current;
    t.query("SELECT github_user_id FROM account WHERE id = ?", {account_id}, [&](const db::row_view& row) {
        found = true;
        current = row.opt_str(0);
    });
    if (!found) {
        throw db::not_found("account not found");  // upstream findFirstOrThrow
    }
    if (current == profile.id) {
        return r;
    }
    if (auto other =
            t.one_text("SELECT id FROM account WHERE github_user_id = ? AND id <> ?", {profile.id, account_id})) {
        r.displaced = github_unlink(t, *other, profile.id, now);
    }
    t.exec("INSERT INTO github_user (id, profile, token, created_at, updated_at) VALUES (?, ?, ?, ?, ?) "
           "ON CONFLICT (id) DO UPDATE SET profile = excluded.profile, token = excluded.token, "
           "updated_at = excluded.updated_at",
           {profile.id, profile.profile_json, db::blob{encrypted_token}, now, now});
    auto [first, last] = profile.name ? name_separate(*profile.name)
                                      : std::pair<std::optional<std::string>, std::optional<std::string>>{};
    r.first_name = first;
    r.last_name = last;
    // Another account holding the login as its username makes the link fail (upstream: a unique-constraint error).
    // Any other unique violation is a link or username another writer set since the reads above: run again.
    const bool username_taken =
        t.exists("SELECT 1 FROM account WHERE username = ? AND id <> ?", {profile.login, account_id});
    std::int64_t linked = 0;
    try {
        // A compare-and-set on the link read above: another writer may have linked the caller meanwhile.
        linked = current ? t.exec("UPDATE account SET github_user_id = ?, username = ?, first_name = ?, "
                                  "last_name = ?, updated_at = ? WHERE id = ? AND github_user_id = ?",
                                  {profile.id, profile.login, db::opt(first), db::opt(last), now, account_id,
                                   *current})
                         : t.exec("UPDATE account SET github_user_id = ?, username = ?, first_name = ?, "
                                  "last_name = ?, updated_at = ? WHERE id = ? AND github_user_id IS NULL",
                                  {profile.id, profile.login, db::opt(first), db::opt(last), now, account_id});
    } catch (const db::error& e) {
        if (e.kind != db::error_kind::unique_violation || username_taken) {
            throw;
        }
        throw db::error(db::error_kind::retryable, "github link of " + profile.id + " changed concurrently");
    }
    if (linked != 1) {
        throw db::error(db::error_kind::retryable,
                        "github link of " + std::string(account_id) + " changed concurrently");
    }
    r.connected = github_change{std::string(account_id), auth::account_seq_allocate(t, account_id, now)};
    return r;
}

}  // namespace happy::mod::connect
