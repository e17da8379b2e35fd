#include "core/events/socket_serializer.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace happy::events {

namespace asio = boost::asio;

asio::awaitable<void> socket_serializer::acquire(const std::string& id) {
    auto ex = co_await asio::this_coro::executor;
    std::shared_ptr<asio::steady_timer> wait;
    {
        std::lock_guard lock(mutex_);
        auto& q = queues_[id];
        ++q.users;
        if (!q.busy) {
            q.busy = true;
            co_return;
        }
        wait = std::make_shared<asio::steady_timer>(ex, asio::steady_timer::time_point::max());
        q.waiters.push_back(wait);
    }
    co_await wait->async_wait(asio::as_tuple(asio::use_awaitable));
}

void socket_serializer::release(const std::string& id) {
    std::lock_guard lock(mutex_);
    auto it = queues_.find(id);
    if (it == queues_.end()) {
        return;
    }
    auto& q = it->second;
    --q.users;
    if (!q.waiters.empty()) {
        // Ownership passes to the next waiter; an expired timer also completes a wait not yet started.
        q.waiters.front()->expires_at(asio::steady_timer::time_point::min());
        q.waiters.pop_front();
    } else {
        q.busy = false;
    }
    if (q.users == 0) {
        queues_.erase(it);
    }
}

}  // namespace happy::events
