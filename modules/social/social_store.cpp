#include "modules/social/social_store.hpp"

#include <boost/json.hpp>
#include <stdexcept>

namespace happy::mod::social {

namespace json = boost::json;
using rs = relationship_status;

namespace {

constexpr std::int64_t notification_cooldown_ms = 24LL * 60 * 60 * 1000;

/// The columns of a user_row (read_user) and where they come from: account `a` and, through github_user_join, the
/// linked GitHub user `g`. upstream includes `githubUser` to read its profile; github_user belongs to the connect
/// module, whose migration is applied even when that module is disabled.
constexpr std::string_view user_columns = "a.id, a.first_name, a.last_name, a.username, a.avatar, g.profile";
constexpr std::string_view github_user_join = "LEFT JOIN github_user g ON g.id = a.github_user_id";

/// SELECT <user_columns> FROM account a <github_user_join> <tail>.
std::string user_select(std::string_view tail) {
    return "SELECT " + std::string(user_columns) + " FROM account a " + std::string(github_user_join) + " " +
           std::string(tail);
}

/// The GitHub login and bio of a linked profile (GithubUser.profile, the GitHub user object): string values only.
void github_fill(user_row& u, std::string_view profile) {
    boost::system::error_code ec;
    json::value v = json::parse(profile, ec);
    const json::object* o = ec ? nullptr : v.if_object();
    if (!o) {
        return;
    }
    if (const auto* login = o->if_contains("login"); login && login->is_string()) {
        u.github_login = std::string(login->get_string());
    }
    if (const auto* bio = o->if_contains("bio"); bio && bio->is_string()) {
        u.github_bio = std::string(bio->get_string());
    }
}

/// A row starting with user_columns (columns 0-5).
user_row read_user(const db::row_view& r) {
    user_row u{r.str(0), r.opt_str(1), r.opt_str(2), r.opt_str(3), r.opt_str(4), {}, {}};
    if (!r.is_null(5)) {
        github_fill(u, r.text(5));
    }
    return u;
}

rs parse_status(std::string_view name) {
    auto parsed = relationship_status_parse(name);
    if (!parsed) {
        throw std::runtime_error("user_relationship: unknown status " + std::string(name));
    }
    return *parsed;
}

db::error changed_concurrently(std::string_view from, std::string_view to) {
    return db::error(db::error_kind::retryable,
                     "user_relationship " + std::string(from) + " -> " + std::string(to) + " changed concurrently");
}

/// relationship_set as a compare-and-set: applies only while (from → to) is still `expected` as read earlier in the
/// transaction (none: no row, or a `none` row). Otherwise another writer (another server process) changed it, and
/// the decision taken on the old state is re-evaluated by running the transaction again.
void relationship_move(db::tx& t, std::string_view from, std::string_view to, rs expected, rs status,
                       std::int64_t now) {
    std::int64_t changed =
        t.exec("INSERT INTO user_relationship (from_user_id, to_user_id, status, created_at, updated_at, accepted_at) "
               "VALUES (?, ?, ?, ?, ?, ?) "
               "ON CONFLICT (from_user_id, to_user_id) DO UPDATE SET status = excluded.status, "
               "updated_at = excluded.updated_at, accepted_at = excluded.accepted_at "
               "WHERE user_relationship.status = ?",
               {from, to, relationship_status_name(status), now, now,
                status == rs::friend_ ? db::param(now) : db::param(nullptr), relationship_status_name(expected)});
    if (changed != 1) {
        throw changed_concurrently(from, to);
    }
}

/// For a decision that rests on an existing row it does not change: checks (from → to) is still `expected` and,
/// on PostgreSQL, locks it until commit (a no-op UPDATE), so that a concurrent change of it waits and then sees ours.
void relationship_hold(db::tx& t, std::string_view from, std::string_view to, rs expected) {
    std::int64_t held = t.exec("UPDATE user_relationship SET status = status "
                               "WHERE from_user_id = ? AND to_user_id = ? AND status = ?",
                               {from, to, relationship_status_name(expected)});
    if (held != 1) {
        throw changed_concurrently(from, to);
    }
}

/// friendNotification.ts: posts `body(other)` to `owner`'s feed, repeat key `<kind>_<other>`, unless `owner`'s row
/// towards `other` is missing, rejected or notified within the cooldown; the row then records the time (a
/// compare-and-set on the status and stamp read, so that two writers cannot both notify).
void notify(db::tx& t, std::string_view owner, std::string_view other, std::string_view kind,
            json::object (*body)(std::string_view), std::int64_t now, std::vector<feed::feed_item>& posted) {
    auto row = relationship_row_get(t, owner, other);
    if (!row || !notification_due(row->last_notified_at, row->status, now)) {
        return;
    }
    const std::string_view status = relationship_status_name(row->status);
    std::int64_t stamped =
        row->last_notified_at
            ? t.exec("UPDATE user_relationship SET last_notified_at = ?, updated_at = ? "
                     "WHERE from_user_id = ? AND to_user_id = ? AND status = ? AND last_notified_at = ?",
                     {now, now, owner, other, status, *row->last_notified_at})
            : t.exec("UPDATE user_relationship SET last_notified_at = ?, updated_at = ? "
                     "WHERE from_user_id = ? AND to_user_id = ? AND status = ? AND last_notified_at IS NULL",
                     {now, now, owner, other, status});
    if (stamped != 1) {
        throw changed_concurrently(owner, other);
    }
    posted.push_back(feed::feed_post(t, owner, body(other), std::string(kind) + "_" + std::string(other), now));
}

/// What friend_add and friend_remove decide on: the target user and the relationship both ways.
struct friend_pair {
    user_row target;
    rs mine;    ///< caller → target
    rs theirs;  ///< target → caller
};

/// nullopt when either account does not exist.
std::optional<friend_pair> friend_pair_get(db::tx& t, std::string_view caller, std::string_view uid) {
    auto current = user_get(t, caller);
    auto target = user_get(t, uid);
    if (!current || !target) {
        return std::nullopt;
    }
    // Braced initialisation runs left to right: mine is read before theirs.
    return friend_pair{std::move(*target), relationship_get(t, caller, uid), relationship_get(t, uid, caller)};
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

std::optional<user_row> user_get(db::tx& t, std::string_view id) {
    static const std::string sql = user_select("WHERE a.id = ?");
    std::optional<user_row> out;
    t.query(sql, {id}, [&](const db::row_view& r) { out = read_user(r); });
    return out;
}

std::vector<user_row> user_search(db::tx& t, std::string_view query, int limit) {
    // upstream: Prisma `startsWith` + `mode: 'insensitive'`, i.e. `username ILIKE '<query>%'` with `\` as ILIKE's
    // default escape character. SQLite's LIKE ignores ASCII case as ILIKE does; the whole pattern is one bound
    // parameter so that SQLite can range-scan account_username_nocase (0010_social.sql) for a pattern without a
    // leading wildcard (it re-plans for each bound value). PostgreSQL's ILIKE on a UTF-8 database is lower() of
    // both sides then LIKE, written out so that an index on lower(username) can serve it. Both order bytewise.
    static const std::string sqlite_sql =
        user_select("WHERE a.username LIKE ? ESCAPE '\\' ORDER BY a.username LIMIT ?");
    static const std::string pg_sql = user_select(
        "WHERE lower(a.username) LIKE lower(CAST(? AS TEXT)) ESCAPE '\\' ORDER BY a.username COLLATE \"C\" LIMIT ?");
    const std::string pattern = std::string(query) + "%";
    std::vector<user_row> out;
    t.query(db::sql_pair{sqlite_sql, pg_sql}, {std::string_view(pattern), std::int64_t{limit}},
            [&](const db::row_view& r) { out.push_back(read_user(r)); });
    return out;
}

std::optional<relationship_row> relationship_row_get(db::tx& t, std::string_view from, std::string_view to) {
    std::optional<relationship_row> out;
    t.query("SELECT status, created_at, updated_at, accepted_at, last_notified_at FROM user_relationship "
            "WHERE from_user_id = ? AND to_user_id = ?",
            {from, to}, [&](const db::row_view& r) {
                out = relationship_row{parse_status(r.text(0)), r.i64(1), r.i64(2), r.opt_i64(3), r.opt_i64(4)};
            });
    return out;
}

relationship_status relationship_get(db::tx& t, std::string_view from, std::string_view to) {
    auto row = relationship_row_get(t, from, to);
    return row ? row->status : rs::none;
}

void relationship_set(db::tx& t, std::string_view from, std::string_view to, relationship_status status,
                      std::int64_t now) {
    t.exec("INSERT INTO user_relationship (from_user_id, to_user_id, status, created_at, updated_at, accepted_at) "
           "VALUES (?, ?, ?, ?, ?, ?) "
           "ON CONFLICT (from_user_id, to_user_id) DO UPDATE SET status = excluded.status, "
           "updated_at = excluded.updated_at, accepted_at = excluded.accepted_at",
           {from, to, relationship_status_name(status), now, now,
            status == rs::friend_ ? db::param(now) : db::param(nullptr)});
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

friend_result friend_add(db::tx& t, std::string_view caller, std::string_view uid, std::int64_t now) {
    friend_result r;
    if (caller == uid) {
        return r;
    }
    auto pair = friend_pair_get(t, caller, uid);
    if (!pair) {
        return r;
    }
    const rs mine = pair->mine;
    const rs theirs = pair->theirs;
    r.user = std::move(pair->target);

    // The target asked first: accept. Each side learns that the other accepted
    // (sendFriendshipEstablishedNotification).
    if (theirs == rs::requested) {
        relationship_move(t, uid, caller, theirs, rs::friend_, now);
        relationship_move(t, caller, uid, mine, rs::friend_, now);
        notify(t, caller, uid, "friend_accepted", feed::feed_body_friend_accepted, now, r.posted);
        notify(t, uid, caller, "friend_accepted", feed::feed_body_friend_accepted, now, r.posted);
        r.status = rs::friend_;
        return r;
    }
    // A new request (the other side is not asking): the target learns who asked (sendFriendRequestNotification).
    if (mine == rs::none || mine == rs::rejected) {
        relationship_move(t, caller, uid, mine, rs::requested, now);
        if (theirs == rs::none) {
            relationship_move(t, uid, caller, theirs, rs::pending, now);
        } else {
            relationship_hold(t, uid, caller, theirs);  // had it become `requested`, this would be an accept
        }
        notify(t, uid, caller, "friend_request", feed::feed_body_friend_request, now, r.posted);
        r.status = rs::requested;
        return r;
    }
    r.status = mine;
    return r;
}

friend_result friend_remove(db::tx& t, std::string_view caller, std::string_view uid, std::int64_t now) {
    friend_result r;
    auto pair = friend_pair_get(t, caller, uid);
    if (!pair) {
        return r;
    }
    const rs mine = pair->mine;
    const rs theirs = pair->theirs;
    r.user = std::move(pair->target);
    switch (mine) {
        case rs::requested:
            relationship_move(t, caller, uid, mine, rs::rejected, now);
            r.status = rs::rejected;
            return r;
        case rs::friend_:
            // The former friend keeps asking; upstream answers `requested` although the caller's row is `pending`.
            relationship_move(t, uid, caller, theirs, rs::requested, now);
            relationship_move(t, caller, uid, mine, rs::pending, now);
            r.status = rs::requested;
            return r;
        case rs::pending:
            relationship_move(t, caller, uid, mine, rs::none, now);
            if (theirs != rs::rejected) {
                relationship_move(t, uid, caller, theirs, rs::none, now);
            } else {
                relationship_hold(t, uid, caller, theirs);
            }
            r.status = rs::none;
            return r;
        default:
            r.status = mine;
            return r;
    }
}

std::vector<std::pair<user_row, relationship_status>> friend_list(db::tx& t, std::string_view caller) {
    // Upstream reads the rows, then each account (a row whose account is gone yields nobody). The order was SQLite's
    // rowid, i.e. insertion; created_at is that too (an upsert keeps it), with the account id for rows of one
    // millisecond.
    static const std::string sql = "SELECT " + std::string(user_columns) +
                                   ", r.status FROM user_relationship r JOIN account a ON a.id = r.to_user_id " +
                                   std::string(github_user_join) +
                                   " WHERE r.from_user_id = ? AND r.status IN ('friend', 'pending', 'requested') "
                                   "ORDER BY r.created_at, r.to_user_id";
    std::vector<std::pair<user_row, relationship_status>> out;
    t.query(sql, {caller}, [&](const db::row_view& r) { out.emplace_back(read_user(r), parse_status(r.text(6))); });
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
