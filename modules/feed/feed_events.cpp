#include "modules/feed/feed_events.hpp"

#include <boost/json.hpp>

#include "core/log/log.hpp"
#include "modules/auth/updates.hpp"

namespace happy::mod::feed {

boost::asio::awaitable<void> feed_posts_emit(db::database& db, events::emitter& out, std::vector<feed_item> items) {
    for (const auto& item : items) {
        try {
            co_await auth::update_emit(db, out, item.user_id, events::recipients::user_scoped_only(),
                                       feed_post_update_body(item));
        } catch (const std::exception& e) {
            log::error("new-feed-post emit failed", {{"error", e.what()}});
        }
    }
}

}  // namespace happy::mod::feed
