#include "modules/feed/feed_store.hpp"

#include <boost/json.hpp>
#include <limits>

#include "core/crypto/ids.hpp"

namespace happy::mod::feed {

namespace json = boost::json;

// Bodies are built in PostgreSQL JSONB key order (shorter keys first, then bytewise), which is how upstream's
// Json column hands them back from create(): {uid, kind}.
json::object feed_body_friend_request(std::string_view uid) {
    return json::object{{"uid", uid}, {"kind", "friend_request"}};
}

json::object feed_body_friend_accepted(std::string_view uid) {
    return json::object{{"uid", uid}, {"kind", "friend_accepted"}};
}

feed_item feed_post(db::tx& t, std::string_view account_id, const json::object& body,
                    const std::optional<std::string>& repeat_key, std::int64_t now) {
    const bool keyed = repeat_key && !repeat_key->empty();
    if (keyed) {
        t.exec("DELETE FROM user_feed_item WHERE user_id = ? AND repeat_key = ?", {account_id, *repeat_key});
    }
    // One atomic statement: concurrent posts (several server processes) each get their own counter.
    auto counter =
        t.one_i64("UPDATE account SET feed_seq = feed_seq + 1 WHERE id = ? RETURNING feed_seq", {account_id});
    if (!counter) {
        // upstream: account.update on a missing row throws (P2025).
        throw db::not_found("feed_post: account not found");
    }
    feed_item item;
    item.id = crypto::cuid();
    item.user_id = std::string(account_id);
    item.counter = *counter;
    // upstream stores `repeatKey: repeatKey` as given; an empty string is stored, just never deduplicated.
    item.repeat_key = repeat_key;
    item.body = json::serialize(body);
    item.created_at = now;
    try {
        t.exec("INSERT INTO user_feed_item (id, user_id, counter, repeat_key, body, created_at, updated_at) "
               "VALUES (?, ?, ?, ?, ?, ?, ?)",
               {item.id, account_id, item.counter, db::opt(repeat_key), item.body, now, now});
    } catch (const db::error& e) {
        if (e.kind != db::error_kind::unique_violation || !keyed) {
            throw;
        }
        // UNIQUE (user_id, repeat_key): another writer posted an item with this key after the DELETE above; the
        // rerun deletes that one instead. (An empty key is never deleted first, so its duplicate stays an error.)
        throw db::error(db::error_kind::retryable, "feed_post: repeat key posted concurrently");
    }
    return item;
}

std::optional<std::int64_t> feed_cursor_parse(std::string_view cursor) {
    if (!cursor.starts_with("0-")) {
        return std::nullopt;
    }
    std::string_view rest = cursor.substr(2);
    // parseInt skips leading white space (ASCII here; the Unicode spaces it also skips cannot come from a cursor
    // this server produced).
    std::size_t i = 0;
    while (i < rest.size() && (rest[i] == ' ' || rest[i] == '\t' || rest[i] == '\n' || rest[i] == '\r' ||
                               rest[i] == '\f' || rest[i] == '\v')) {
        ++i;
    }
    bool negative = false;
    if (i < rest.size() && (rest[i] == '+' || rest[i] == '-')) {
        negative = rest[i] == '-';
        ++i;
    }
    const std::size_t digits_start = i;
    std::int64_t v = 0;
    constexpr std::int64_t max = std::numeric_limits<std::int64_t>::max();
    while (i < rest.size() && rest[i] >= '0' && rest[i] <= '9') {
        const int d = rest[i] - '0';
        if (v > (max - d) / 10) {
            // Beyond BigInt range for the column: upstream's query fails (500) as well.
            return std::nullopt;
        }
        v = v * 10 + d;
        ++i;
    }
    if (i == digits_start) {
        return std::nullopt;  // NaN
    }
    return negative ? -v : v;
}

std::string feed_cursor(std::int64_t counter) { return "0-" + std::to_string(counter); }

feed_page feed_get(db::tx& t, std::string_view account_id, const std::optional<std::string>& before,
                   const std::optional<std::string>& after, std::int64_t limit) {
    const std::int64_t take = limit + 1;
    feed_page page;
    auto read = [&](const db::row_view& r) {
        page.items.push_back({r.str(0), std::string(account_id), r.i64(1), r.opt_str(2), r.str(3), r.i64(4)});
    };
    if (before || after) {
        auto n = feed_cursor_parse(before ? *before : *after);
        if (!n) {
            throw invalid_cursor("Invalid cursor format");
        }
        if (before) {
            t.query("SELECT id, counter, repeat_key, body, created_at FROM user_feed_item "
                    "WHERE user_id = ? AND counter < ? ORDER BY counter DESC LIMIT ?",
                    {account_id, *n, take}, read);
        } else {
            t.query("SELECT id, counter, repeat_key, body, created_at FROM user_feed_item "
                    "WHERE user_id = ? AND counter > ? ORDER BY counter DESC LIMIT ?",
                    {account_id, *n, take}, read);
        }
    } else {
        t.query("SELECT id, counter, repeat_key, body, created_at FROM user_feed_item "
                "WHERE user_id = ? ORDER BY counter DESC LIMIT ?",
                {account_id, take}, read);
    }
    if (static_cast<std::int64_t>(page.items.size()) > limit) {
        page.has_more = true;
        page.items.resize(static_cast<std::size_t>(limit));
    }
    return page;
}

namespace {

json::value parse_body(const std::string& text) {
    boost::system::error_code ec;
    json::value v = json::parse(text, ec);
    return ec ? json::value(json::object{}) : v;
}

}  // namespace

json::object feed_item_json(const feed_item& item) {
    json::value stored = parse_body(item.body);
    json::value body = stored;
    // FeedBodySchema is a discriminated union on `kind`: the response serializer emits the matching variant's keys
    // in schema order and drops any others.
    if (const auto* o = stored.if_object()) {
        const auto* kind = o->if_contains("kind");
        if (kind && kind->is_string()) {
            const std::string_view k = kind->get_string();
            const char* field = nullptr;
            if (k == "text") {
                field = "text";
            } else if (k == "friend_request" || k == "friend_accepted") {
                field = "uid";
            }
            if (field) {
                json::object ordered{{"kind", *kind}};
                if (const auto* f = o->if_contains(field)) {
                    ordered[field] = *f;
                }
                body = std::move(ordered);
            }
        }
    }
    return json::object{{"id", item.id},
                        {"body", std::move(body)},
                        {"repeatKey", item.repeat_key ? json::value(*item.repeat_key) : json::value(nullptr)},
                        {"cursor", feed_cursor(item.counter)},
                        {"createdAt", item.created_at}};
}

json::object feed_post_update_body(const feed_item& item) {
    return json::object{{"t", "new-feed-post"},
                        {"id", item.id},
                        {"body", parse_body(item.body)},
                        {"cursor", feed_cursor(item.counter)},
                        {"createdAt", item.created_at}};
}

}  // namespace happy::mod::feed
