/// @file
/// Storage functions of the feed module (business logic callable without sockets) on `user_feed_item` and the
/// account's `feed_seq`. Upstream: packages/happy-server/sources/app/feed/feedPost.ts, feedGet.ts, types.ts.
#pragma once
#include <boost/json/object.hpp>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "core/db/query.hpp"

namespace happy::mod::feed {

/// One feed item as stored.
struct feed_item {
    std::string id;  ///< cuid
    std::string user_id;
    std::int64_t counter = 0;
    std::optional<std::string> repeat_key;
    std::string body;  ///< FeedBody JSON text, keys in PostgreSQL JSONB order
    std::int64_t created_at = 0;
};

/// The FeedBody variants upstream posts (feed/types.ts; only the friend flows post, never `text`).
boost::json::object feed_body_friend_request(std::string_view uid);
boost::json::object feed_body_friend_accepted(std::string_view uid);

/// feedPost.ts, inside the caller's write transaction: deletes the account's item with the same non-empty
/// `repeat_key` (an empty key counts as none, as upstream's `if (repeatKey)`), takes counter = ++account.feed_seq
/// and inserts the item. Throws db::not_found (a std::runtime_error) when the account does not exist, and
/// db::error retryable when another writer posted an item with the same key in between (database::write then runs
/// the caller's function again).
feed_item feed_post(db::tx& t, std::string_view account_id, const boost::json::object& body,
                    const std::optional<std::string>& repeat_key, std::int64_t now);

/// Thrown by feed_get for a cursor upstream cannot read (answered with the generic 500, observed.md).
struct invalid_cursor : std::runtime_error {
    using std::runtime_error::runtime_error;
};

/// The counter of a cursor "0-<n>": JavaScript parseInt(rest, 10) semantics (leading whitespace and a sign are
/// accepted, trailing garbage ignored). nullopt when it does not start with "0-", has no digits (NaN) or does not
/// fit an int64.
std::optional<std::int64_t> feed_cursor_parse(std::string_view cursor);

/// "0-<counter>".
std::string feed_cursor(std::int64_t counter);

struct feed_page {
    std::vector<feed_item> items;
    bool has_more = false;
};

/// feedGet.ts: the account's items newest first (counter descending), at most `limit`; `before` (which wins when
/// both are given) keeps counters below its value, `after` counters above it — still newest first, so `after`
/// returns the newest items, not those right after the cursor. Throws invalid_cursor.
feed_page feed_get(db::tx& t, std::string_view account_id, const std::optional<std::string>& before,
                   const std::optional<std::string>& after, std::int64_t limit);

/// One item of GET /v1/feed: {id, body, repeatKey, cursor, createdAt}, `body` in FeedBodySchema key order
/// ({kind, uid} / {kind, text}) because fastify re-serializes it through the response schema.
boost::json::object feed_item_json(const feed_item& item);

/// The `new-feed-post` update body {t, id, body, cursor, createdAt} (eventRouter.ts buildNewFeedPostUpdate); `body`
/// keeps the stored JSONB order ({uid, kind}, observed.md) and there is no repeatKey (realtime.md §3.2).
boost::json::object feed_post_update_body(const feed_item& item);

}  // namespace happy::mod::feed
