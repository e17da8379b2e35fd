/// @file
/// A single-assignment slot a coroutine can await with a deadline: the first set() wins and wakes the waiter,
/// later ones are ignored. Thread-safe: set() may run on any thread, the waiter resumes on its own executor.
/// Used where an answer arrives from elsewhere (a Redis reply, another instance's RPC result, a membership answer)
/// and the asker gives up at a deadline or when its coroutine is cancelled (asio's `||`).
#pragma once
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>
#include <memory>
#include <mutex>
#include <optional>

namespace happy::util {

template <class T>
class oneshot : public std::enable_shared_from_this<oneshot<T>> {
public:
    /// Stores `v` and wakes the waiter; false when a value was already set.
    bool set(T v) {
        std::shared_ptr<boost::asio::steady_timer> timer;
        {
            std::lock_guard lock(mutex_);
            if (value_) {
                return false;
            }
            value_.emplace(std::move(v));
            timer = timer_;
        }
        if (timer) {
            // The timer belongs to the waiter's executor: cancel it there, never from this thread.
            boost::asio::post(timer->get_executor(), [timer] { timer->cancel(); });
        }
        return true;
    }

    bool has_value() const {
        std::lock_guard lock(mutex_);
        return value_.has_value();
    }

    /// Waits until a value is set (returned) or `deadline` passes (nullopt). One waiter at a time. A cancelled
    /// waiting coroutine gets asio's operation_aborted as usual.
    boost::asio::awaitable<std::optional<T>> wait(std::chrono::steady_clock::time_point deadline) {
        auto timer = std::make_shared<boost::asio::steady_timer>(co_await boost::asio::this_coro::executor);
        {
            std::lock_guard lock(mutex_);
            if (value_) {
                co_return std::move(value_);
            }
            timer_ = timer;
        }
        for (;;) {
            if (std::chrono::steady_clock::now() >= deadline) {
                break;
            }
            timer->expires_at(deadline);
            co_await timer->async_wait(boost::asio::as_tuple(boost::asio::use_awaitable));
            std::lock_guard lock(mutex_);
            if (value_) {
                break;
            }
        }
        std::lock_guard lock(mutex_);
        timer_.reset();
        co_return value_;
    }

    boost::asio::awaitable<std::optional<T>> wait_for(std::chrono::steady_clock::duration d) {
        return wait(std::chrono::steady_clock::now() + d);
    }

private:
    mutable std::mutex mutex_;
    std::optional<T> value_;
    std::shared_ptr<boost::asio::steady_timer> timer_;
};

}  // namespace happy::util
