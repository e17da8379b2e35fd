/// @file
/// Blocking work off the network threads: database::read/write and the local file store run their synchronous
/// calls on a thread pool of their own and resume the awaiting coroutine where it was.
#pragma once
#include <boost/asio/awaitable.hpp>
#include <functional>

namespace boost::asio {
class thread_pool;
}

namespace happy::util {

/// Runs `fn` on `pool` and resumes the awaiting coroutine on its own executor, rethrowing fn's exception.
boost::asio::awaitable<void> run_on(boost::asio::thread_pool& pool, std::function<void()> fn);

}  // namespace happy::util
