#include "modules/account/account_store.hpp"

#include <algorithm>
#include <boost/json.hpp>
#include <vector>

namespace happy::mod::account {

namespace json = boost::json;

namespace {

/// PostgreSQL JSONB stores object keys shorter-first, then bytewise, and returns them in that order; upstream
/// reads its Json columns back that way. Applied to every nested object.
void jsonb_order(json::value& v) {
    if (auto* a = v.if_array()) {
        for (auto& e : *a) {
            jsonb_order(e);
        }
        return;
    }
    auto* o = v.if_object();
    if (!o) {
        return;
    }
    std::vector<std::pair<std::string, json::value>> entries;
    entries.reserve(o->size());
    for (auto& kv : *o) {
        entries.emplace_back(std::string(kv.key()), std::move(kv.value()));
    }
    std::stable_sort(entries.begin(), entries.end(), [](const auto& a, const auto& b) {
        if (a.first.size() != b.first.size()) {
            return a.first.size() < b.first.size();
        }
        return a.first < b.first;  // std::string compares bytes as unsigned char
    });
    json::object sorted;
    sorted.reserve(entries.size());
    for (auto& [k, val] : entries) {
        jsonb_order(val);
        sorted[k] = std::move(val);
    }
    *o = std::move(sorted);
}

json::value nullable(const std::optional<std::string>& s) { return s ? json::value(*s) : json::value(nullptr); }

}  // namespace

std::optional<profile> account_profile_get(db::tx& t, std::string_view account_id) {
    // upstream: findUniqueOrThrow with `githubUser: true`; avatar and the GitHub profile are JSON columns, read as
    // their text.
    std::optional<profile> p;
    t.query("SELECT a.first_name, a.last_name, a.username, a.avatar, a.github_user_id, g.profile FROM account a "
            "LEFT JOIN github_user g ON g.id = a.github_user_id WHERE a.id = ?",
            {account_id}, [&](const db::row_view& r) {
                p = profile{r.opt_str(0), r.opt_str(1), r.opt_str(2), r.opt_str(3), r.opt_str(4), r.opt_str(5), {}};
            });
    if (!p) {
        return p;
    }
    // upstream: `new Set(tokens.map(t => t.vendor))` over a findMany without ORDER BY; oldest first here (cuids
    // of one process grow, so the id keeps insertion order within one millisecond). One row per vendor
    // (UNIQUE (account_id, vendor)).
    t.query("SELECT vendor FROM service_account_token WHERE account_id = ? ORDER BY created_at, id", {account_id},
            [&](const db::row_view& r) { p->connected_services.push_back(r.str(0)); });
    return p;
}

json::object account_profile_json(std::string_view account_id, const profile& p, std::int64_t now,
                                  std::string_view files_base_url) {
    json::object o;
    o["id"] = account_id;
    o["timestamp"] = now;
    o["firstName"] = nullable(p.first_name);
    o["lastName"] = nullable(p.last_name);
    o["username"] = nullable(p.username);
    // upstream: `user.avatar ? { ...user.avatar, url: getPublicUrl(user.avatar.path) } : null`.
    json::value avatar = nullptr;
    if (p.avatar) {
        boost::system::error_code ec;
        json::value stored = json::parse(*p.avatar, ec);
        if (!ec && stored.is_object()) {
            jsonb_order(stored);
            const auto* path = stored.get_object().if_contains("path");
            std::string tail = path && path->is_string() ? std::string(path->get_string()) : "undefined";
            stored.get_object()["url"] = std::string(files_base_url) + "/" + tail;
            avatar = std::move(stored);
        }
    }
    o["avatar"] = std::move(avatar);
    // upstream: `user.githubUser ? user.githubUser.profile : null`, read back from a JSONB column.
    json::value github = nullptr;
    if (p.github_profile) {
        boost::system::error_code ec;
        json::value stored = json::parse(*p.github_profile, ec);
        if (!ec) {
            jsonb_order(stored);
            github = std::move(stored);
        }
    }
    o["github"] = std::move(github);
    json::array services;
    for (const auto& v : p.connected_services) {
        services.emplace_back(v);
    }
    o["connectedServices"] = std::move(services);
    return o;
}

std::optional<settings> account_settings_get(db::tx& t, std::string_view account_id) {
    std::optional<settings> out;
    t.query("SELECT settings, settings_version FROM account WHERE id = ?", {account_id},
            [&](const db::row_view& r) { out = settings{r.opt_str(0), r.i64(1)}; });
    return out;
}

settings_update_result account_settings_update(db::tx& t, std::string_view account_id, std::int64_t expected_version,
                                               const std::optional<std::string>& value, std::int64_t now) {
    settings_update_result r;
    auto current = account_settings_get(t, account_id);
    if (!current) {
        return r;
    }
    if (current->version != expected_version) {
        r.st = settings_update_result::status::version_mismatch;
        r.version = current->version;
        r.current = current->value;
        return r;
    }
    std::int64_t next = expected_version + 1;
    std::int64_t changed = t.exec("UPDATE account SET settings = ?, settings_version = ?, updated_at = ? "
                                  "WHERE id = ? AND settings_version = ?",
                                  {db::opt(value), next, now, account_id, expected_version});
    if (changed != 1) {
        // Another writer changed the settings (or removed the account) since the read: decide again from scratch.
        throw db::error(db::error_kind::retryable, "account settings changed concurrently");
    }
    r.st = settings_update_result::status::success;
    r.version = next;
    return r;
}

}  // namespace happy::mod::account
