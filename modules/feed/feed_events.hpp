/// @file
/// The `new-feed-post` update that follows every committed feed post (upstream feedPost.ts: afterTx →
/// allocateUserSeq(owner) → emitUpdate user-scoped-only). Used by the modules that post (the friend routes).
#pragma once
#include <boost/asio/awaitable.hpp>
#include <vector>

#include "core/events/types.hpp"
#include "modules/feed/feed_store.hpp"

namespace happy::db {
class database;
}

namespace happy::mod::feed {

/// For each item in order: allocates the owner's next seq and emits `new-feed-post` to the owner's user-scoped
/// sockets. Call after the transaction that posted them committed. Failures are logged and swallowed, as upstream's
/// afterTx callbacks are: the request that posted has already succeeded.
boost::asio::awaitable<void> feed_posts_emit(db::database& db, events::emitter& out, std::vector<feed_item> items);

}  // namespace happy::mod::feed
