#include "modules/social/social_store.hpp"

#include <soci/soci.h>

#include <boost/json.hpp>
#include <stdexcept>

#include "core/db/database.hpp"

namespace happy::mod::social {

namespace json = boost::json;
using rs = relationship_status;

namespace {

std::optional<std::string> opt(const std::string& v, soci::indicator ind) {
    return ind == soci::i_ok ? std::optional<std::string>(v) : std::nullopt;
}

constexpr std::int64_t notification_cooldown_ms = 24LL * 60 * 60 * 1000;

/// Runs `SELECT id, first_name, last_name, username, avatar FROM account <tail>` with string arguments bound in
/// order, then `extra` (the limit) when non-negative.
std::vector<user_row> select_users(soci::session& s, const std::string& tail, std::vector<std::string> args,
                                   std::int64_t extra = -1) {
    std::string id, first, last, user, avatar;
    soci::indicator fi = soci::i_null, li = soci::i_null, ui = soci::i_null, ai = soci::i_null;
    soci::statement st(s);
    st.alloc();
    st.prepare("SELECT id, first_name, last_name, username, avatar FROM account " + tail);
    st.exchange(soci::into(id));
    st.exchange(soci::into(first, fi));
    st.exchange(soci::into(last, li));
    st.exchange(soci::into(user, ui));
    st.exchange(soci::into(avatar, ai));
    for (auto& a : args) {
        st.exchange(soci::use(a));
    }
    if (extra >= 0) {
        st.exchange(soci::use(extra));
    }
    st.define_and_bind();
    std::vector<user_row> out;
    if (st.execute(true)) {
        do {
            out.push_back(user_row{id, opt(first, fi), opt(last, li), opt(user, ui), opt(avatar, ai), {}, {}});
        } while (st.fetch());
    }
    return out;
}

/// The GitHub login and bio of each user linked to a GitHub user (upstream reads `githubUser.profile`). The
/// github_user table belongs to the connect module, which may be compiled out: then nobody is linked.
void fill_github(soci::session& s, std::vector<user_row>& rows) {
    if (rows.empty()) {
        return;
    }
    int tables = 0;
    s << "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'github_user'", soci::into(tables);
    if (tables == 0) {
        return;
    }
    for (auto& u : rows) {
        std::string login, bio;
        soci::indicator li = soci::i_null, bi = soci::i_null;
        s << "SELECT json_extract(g.profile, '$.login'), json_extract(g.profile, '$.bio') FROM account a "
             "JOIN github_user g ON g.id = a.github_user_id WHERE a.id = :id",
            soci::use(u.id), soci::into(login, li), soci::into(bio, bi);
        if (s.got_data()) {
            u.github_login = opt(login, li);
            u.github_bio = opt(bio, bi);
        }
    }
}

/// friendNotification.ts: posts `body(other)` to `owner`'s feed, repeat key `<kind>_<other>`, unless `owner`'s row
/// towards `other` is missing, rejected or notified within the cooldown; the row then records the time.
void notify(soci::session& s, std::string_view owner, std::string_view other, std::string_view kind,
            json::object (*body)(std::string_view), std::int64_t now, std::vector<feed::feed_item>& posted) {
    auto row = relationship_row_get(s, owner, other);
    if (!row || !notification_due(row->last_notified_at, row->status, now)) {
        return;
    }
    posted.push_back(
        feed::feed_post(db::legacy_tx(), owner, body(other), std::string(kind) + "_" + std::string(other), now));
    std::string from(owner), to(other);
    s << "UPDATE user_relationship SET last_notified_at = :n, updated_at = :u "
         "WHERE from_user_id = :f AND to_user_id = :t",
        soci::use(now), soci::use(now), soci::use(from), soci::use(to);
}

/// What friend_add and friend_remove decide on: the target user and the relationship both ways.
struct friend_pair {
    user_row target;
    rs mine;    ///< caller → target
    rs theirs;  ///< target → caller
};

/// nullopt when either account does not exist.
std::optional<friend_pair> friend_pair_get(soci::session& s, std::string_view caller, std::string_view uid) {
    auto current = user_get(s, caller);
    auto target = user_get(s, uid);
    if (!current || !target) {
        return std::nullopt;
    }
    // Braced initialisation runs left to right: mine is read before theirs.
    return friend_pair{std::move(*target), relationship_get(s, caller, uid), relationship_get(s, uid, caller)};
}

}  // namespace

std::string_view relationship_status_name(relationship_status s) {
    switch (s) {
        case rs::none:
            return "none";
        case rs::requested:
            return "requested";
        case rs::pending:
            return "pending";
        case rs::friend_:
            return "friend";
        case rs::rejected:
            return "rejected";
    }
    return "none";
}

std::optional<relationship_status> relationship_status_parse(std::string_view name) {
    for (auto s : {rs::none, rs::requested, rs::pending, rs::friend_, rs::rejected}) {
        if (relationship_status_name(s) == name) {
            return s;
        }
    }
    return std::nullopt;
}

std::optional<user_row> user_get(soci::session& s, std::string_view id) {
    auto rows = select_users(s, "WHERE id = :id", {std::string(id)});
    if (rows.empty()) {
        return std::nullopt;
    }
    fill_github(s, rows);
    return std::move(rows.front());
}

std::vector<user_row> user_search(soci::session& s, std::string_view query, int limit) {
    // SQLite's LIKE ignores ASCII case, as PostgreSQL's ILIKE does; `\` is ILIKE's default escape character. The
    // whole pattern is one bound parameter so that SQLite can range-scan account_username_nocase (0010_social.sql)
    // for a pattern without a leading wildcard (it re-plans for each bound value).
    auto rows = select_users(s, "WHERE username LIKE :p ESCAPE '\\' ORDER BY username LIMIT :l",
                             {std::string(query) + "%"}, limit);
    fill_github(s, rows);
    return rows;
}

std::optional<relationship_row> relationship_row_get(soci::session& s, std::string_view from, std::string_view to) {
    std::string f(from), t(to), status;
    relationship_row row;
    std::int64_t accepted = 0, notified = 0;
    soci::indicator ai = soci::i_null, ni = soci::i_null;
    s << "SELECT status, created_at, updated_at, accepted_at, last_notified_at FROM user_relationship "
         "WHERE from_user_id = :f AND to_user_id = :t",
        soci::use(f), soci::use(t), soci::into(status), soci::into(row.created_at), soci::into(row.updated_at),
        soci::into(accepted, ai), soci::into(notified, ni);
    if (!s.got_data()) {
        return std::nullopt;
    }
    auto parsed = relationship_status_parse(status);
    if (!parsed) {
        throw std::runtime_error("user_relationship: unknown status " + status);
    }
    row.status = *parsed;
    if (ai == soci::i_ok) {
        row.accepted_at = accepted;
    }
    if (ni == soci::i_ok) {
        row.last_notified_at = notified;
    }
    return row;
}

relationship_status relationship_get(soci::session& s, std::string_view from, std::string_view to) {
    auto row = relationship_row_get(s, from, to);
    return row ? row->status : rs::none;
}

void relationship_set(soci::session& s, std::string_view from, std::string_view to, relationship_status status,
                      std::int64_t now) {
    std::string f(from), t(to), name(relationship_status_name(status));
    std::int64_t accepted = now;
    soci::indicator accepted_ind = status == rs::friend_ ? soci::i_ok : soci::i_null;
    s << "INSERT INTO user_relationship (from_user_id, to_user_id, status, created_at, updated_at, accepted_at) "
         "VALUES (:f, :t, :s, :c, :u, :a) "
         "ON CONFLICT (from_user_id, to_user_id) DO UPDATE SET status = excluded.status, "
         "updated_at = excluded.updated_at, accepted_at = excluded.accepted_at",
        soci::use(f), soci::use(t), soci::use(name), soci::use(now), soci::use(now), soci::use(accepted, accepted_ind);
}

bool notification_due(std::optional<std::int64_t> last_notified_at, relationship_status status, std::int64_t now) {
    if (status == rs::rejected) {
        return false;
    }
    if (!last_notified_at) {
        return true;
    }
    return *last_notified_at < now - notification_cooldown_ms;
}

friend_result friend_add(soci::session& s, std::string_view caller, std::string_view uid, std::int64_t now) {
    friend_result r;
    if (caller == uid) {
        return r;
    }
    auto pair = friend_pair_get(s, caller, uid);
    if (!pair) {
        return r;
    }
    const rs mine = pair->mine;
    const rs theirs = pair->theirs;
    r.user = std::move(pair->target);

    // The target asked first: accept. Each side learns that the other accepted
    // (sendFriendshipEstablishedNotification).
    if (theirs == rs::requested) {
        relationship_set(s, uid, caller, rs::friend_, now);
        relationship_set(s, caller, uid, rs::friend_, now);
        notify(s, caller, uid, "friend_accepted", feed::feed_body_friend_accepted, now, r.posted);
        notify(s, uid, caller, "friend_accepted", feed::feed_body_friend_accepted, now, r.posted);
        r.status = rs::friend_;
        return r;
    }
    // A new request (the other side is not asking): the target learns who asked (sendFriendRequestNotification).
    if (mine == rs::none || mine == rs::rejected) {
        relationship_set(s, caller, uid, rs::requested, now);
        if (theirs == rs::none) {
            relationship_set(s, uid, caller, rs::pending, now);
        }
        notify(s, uid, caller, "friend_request", feed::feed_body_friend_request, now, r.posted);
        r.status = rs::requested;
        return r;
    }
    r.status = mine;
    return r;
}

friend_result friend_remove(soci::session& s, std::string_view caller, std::string_view uid, std::int64_t now) {
    friend_result r;
    auto pair = friend_pair_get(s, caller, uid);
    if (!pair) {
        return r;
    }
    const rs mine = pair->mine;
    const rs theirs = pair->theirs;
    r.user = std::move(pair->target);
    switch (mine) {
        case rs::requested:
            relationship_set(s, caller, uid, rs::rejected, now);
            r.status = rs::rejected;
            return r;
        case rs::friend_:
            // The former friend keeps asking; upstream answers `requested` although the caller's row is `pending`.
            relationship_set(s, uid, caller, rs::requested, now);
            relationship_set(s, caller, uid, rs::pending, now);
            r.status = rs::requested;
            return r;
        case rs::pending:
            relationship_set(s, caller, uid, rs::none, now);
            if (theirs != rs::rejected) {
                relationship_set(s, uid, caller, rs::none, now);
            }
            r.status = rs::none;
            return r;
        default:
            r.status = mine;
            return r;
    }
}

std::vector<std::pair<user_row, relationship_status>> friend_list(soci::session& s, std::string_view caller) {
    std::string c(caller);
    std::string status;
    std::string to;
    std::vector<std::pair<std::string, rs>> rels;
    soci::statement st = (s.prepare << "SELECT to_user_id, status FROM user_relationship "
                                       "WHERE from_user_id = :c AND status IN ('friend', 'pending', 'requested') "
                                       "ORDER BY rowid",
                          soci::use(c), soci::into(to), soci::into(status));
    if (st.execute(true)) {
        do {
            rels.emplace_back(to, relationship_status_parse(status).value_or(rs::none));
        } while (st.fetch());
    }
    std::vector<std::pair<user_row, relationship_status>> out;
    out.reserve(rels.size());
    for (auto& [id, st_] : rels) {
        if (auto u = user_get(s, id)) {
            out.emplace_back(std::move(*u), st_);
        }
    }
    return out;
}

json::object user_profile_json(const user_row& u, relationship_status status, std::string_view files_base_url) {
    json::value avatar = nullptr;
    if (u.avatar) {
        boost::system::error_code ec;
        json::value stored = json::parse(*u.avatar, ec);
        if (!ec && stored.is_object()) {
            const auto& o = stored.get_object();
            const auto* path = o.if_contains("path");
            std::string p = path && path->is_string() ? std::string(path->get_string()) : std::string();
            // storage/files.ts getPublicUrl; the schema keeps path, url, width, height, thumbhash (absent ones
            // omitted) in that order.
            json::object a{{"path", p}, {"url", std::string(files_base_url) + "/" + p}};
            for (const char* k : {"width", "height", "thumbhash"}) {
                if (const auto* x = o.if_contains(k); x && !x->is_null()) {
                    a[k] = *x;
                }
            }
            avatar = std::move(a);
        }
    }
    std::string username;
    if (u.username && !u.username->empty()) {
        username = *u.username;
    } else if (u.github_login) {
        username = *u.github_login;
    }
    json::object o;
    o["id"] = u.id;
    o["firstName"] = u.first_name.value_or("");
    o["lastName"] = u.last_name ? json::value(*u.last_name) : json::value(nullptr);
    o["avatar"] = std::move(avatar);
    o["username"] = username;
    o["bio"] = u.github_bio && !u.github_bio->empty() ? json::value(*u.github_bio) : json::value(nullptr);
    o["status"] = relationship_status_name(status);
    return o;
}

}  // namespace happy::mod::social
