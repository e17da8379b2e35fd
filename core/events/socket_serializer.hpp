/// @file
/// Per-socket FIFO serialisation of one event's handlers. Upstream wraps `message` (sessionUpdateHandler.ts) and
/// `usage-report` (usageHandler.ts) in an AsyncLock per socket: the next event of that kind from the same socket
/// starts only after the previous one finished, while other events keep running concurrently.
#pragma once
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

namespace happy::events {

class socket_serializer {
public:
    /// Releases an acquired socket id when destroyed: `co_await s.acquire(id); guard g(s, id);`.
    class guard {
    public:
        guard(socket_serializer& owner, std::string id) : owner_(&owner), id_(std::move(id)) {}
        guard(guard&& o) noexcept : owner_(o.owner_), id_(std::move(o.id_)) { o.owner_ = nullptr; }
        guard(const guard&) = delete;
        guard& operator=(const guard&) = delete;
        guard& operator=(guard&&) = delete;
        ~guard() {
            if (owner_) {
                owner_->release(id_);
            }
        }

    private:
        socket_serializer* owner_;
        std::string id_;
    };

    /// Waits for the socket's turn (FIFO).
    boost::asio::awaitable<void> acquire(const std::string& id);
    /// Passes the turn to the next waiter.
    void release(const std::string& id);

private:
    struct queue {
        bool busy = false;
        int users = 0;
        std::deque<std::shared_ptr<boost::asio::steady_timer>> waiters;
    };
    std::mutex mutex_;
    std::unordered_map<std::string, queue> queues_;
};

}  // namespace happy::events
