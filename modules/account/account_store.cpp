#include "modules/account/account_store.hpp"

#include <soci/soci.h>

#include <algorithm>
#include <boost/json.hpp>
#include <vector>

namespace happy::mod::account {

namespace json = boost::json;

namespace {

std::optional<std::string> opt(const std::string& v, soci::indicator ind) {
    return ind == soci::i_ok ? std::optional<std::string>(v) : std::nullopt;
}

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

bool account_connect_tables_exist(soci::session& s) {
    int n = 0;
    s << "SELECT count(*) FROM sqlite_master WHERE type = 'table' "
         "AND name IN ('github_user', 'service_account_token')",
        soci::into(n);
    return n == 2;
}

std::optional<profile> account_profile_get(soci::session& s, std::string_view account_id, bool with_connect) {
    std::string id(account_id);
    std::string first, last, user, avatar, github;
    soci::indicator fi = soci::i_null, li = soci::i_null, ui = soci::i_null, ai = soci::i_null, gi = soci::i_null;
    s << "SELECT first_name, last_name, username, avatar, github_user_id FROM account WHERE id = :id", soci::use(id),
        soci::into(first, fi), soci::into(last, li), soci::into(user, ui), soci::into(avatar, ai),
        soci::into(github, gi);
    if (!s.got_data()) {
        return std::nullopt;
    }
    profile p{opt(first, fi), opt(last, li), opt(user, ui), opt(avatar, ai), opt(github, gi), std::nullopt, {}};
    if (!with_connect) {
        return p;
    }
    if (p.github_user_id) {
        std::string gh_profile;
        s << "SELECT profile FROM github_user WHERE id = :g", soci::use(*p.github_user_id), soci::into(gh_profile);
        if (s.got_data()) {
            p.github_profile = std::move(gh_profile);
        }
    }
    // upstream: `new Set(tokens.map(t => t.vendor))` over a findMany without ORDER BY; oldest first here.
    std::string vendor;
    soci::statement st = (s.prepare << "SELECT vendor FROM service_account_token WHERE account_id = :a "
                                       "ORDER BY created_at, rowid",
                          soci::use(id), soci::into(vendor));
    if (st.execute(true)) {
        do {
            p.connected_services.push_back(vendor);
        } while (st.fetch());
    }
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

std::optional<settings> account_settings_get(soci::session& s, std::string_view account_id) {
    std::string id(account_id);
    std::string value;
    soci::indicator vi = soci::i_null;
    settings out;
    s << "SELECT settings, settings_version FROM account WHERE id = :id", soci::use(id), soci::into(value, vi),
        soci::into(out.version);
    if (!s.got_data()) {
        return std::nullopt;
    }
    out.value = opt(value, vi);
    return out;
}

settings_update_result account_settings_update(soci::session& s, std::string_view account_id,
                                               std::int64_t expected_version, const std::optional<std::string>& value,
                                               std::int64_t now) {
    settings_update_result r;
    auto current = account_settings_get(s, account_id);
    if (!current) {
        return r;
    }
    if (current->version != expected_version) {
        r.st = settings_update_result::status::version_mismatch;
        r.version = current->version;
        r.current = current->value;
        return r;
    }
    std::string id(account_id);
    std::string v = value.value_or("");
    soci::indicator vi = value ? soci::i_ok : soci::i_null;
    std::int64_t next = expected_version + 1;
    s << "UPDATE account SET settings = :s, settings_version = :n, updated_at = :u "
         "WHERE id = :id AND settings_version = :e",
        soci::use(v, vi), soci::use(next), soci::use(now), soci::use(id), soci::use(expected_version);
    r.st = settings_update_result::status::success;
    r.version = next;
    return r;
}

}  // namespace happy::mod::account
