/// @file
/// The last step of every broadcast before this instance's sockets: `update`s go through a seq_reorder
/// (core/events/seq_reorder.hpp), so that one account's updates reach each socket in ascending seq whether they were
/// emitted here or by another instance; everything else (ephemerals) is delivered at once. Thread-safe: the hub's
/// local emissions (any network thread), the bus's messages (its executor) and the gap timer meet under one lock,
/// under which deliveries happen, so that what leaves in order is queued to the sockets in that order.
#pragma once
#include <boost/asio/any_io_executor.hpp>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "core/engineio/server.hpp"
#include "core/events/seq_reorder.hpp"

namespace happy::events {

/// An encoded event for the local members of `rooms`, except the socket ids in `except`.
struct delivery {
    std::vector<std::string> rooms;
    std::unordered_set<std::string> except;
    engineio::frame frame;
};

class ordered_delivery {
public:
    using deliver_fn = std::function<void(const delivery&)>;

    ordered_delivery(reorder_options o, deliver_fn deliver);
    ~ordered_delivery();
    ordered_delivery(const ordered_delivery&) = delete;
    ordered_delivery& operator=(const ordered_delivery&) = delete;

    /// Orders updates from here on, with the gap timer on `ex`. Before (a server that is not serving: tools, fuzz
    /// fixtures) every update is delivered at once, as it comes.
    void start(boost::asio::any_io_executor ex);
    /// Delivers what is held and goes back to delivering at once. Idempotent.
    void stop();

    /// An update of `account` with its account `seq`, delivered in seq order; nullopt: that seq will never come
    /// (allocated, not emitted), so nothing waits for it.
    void update(std::string_view account, std::int64_t seq, std::optional<delivery> d);
    /// Anything without a seq: delivered now.
    void now(const delivery& d);

    reorder_counters counters() const;
    std::size_t held() const;

private:
    struct state;
    std::shared_ptr<state> state_;
};

}  // namespace happy::events
