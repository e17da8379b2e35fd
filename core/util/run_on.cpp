#include "core/util/run_on.hpp"

#include <boost/asio/async_result.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <exception>

namespace happy::util {

namespace asio = boost::asio;

asio::awaitable<void> run_on(asio::thread_pool& pool, std::function<void()> fn) {
    // The initiation is a named local, not a temporary inside the co_await expression: g++ 12 destroys the
    // captures of such temporaries twice (asio issues #858/#1135).
    auto initiation = [&pool, fn = std::move(fn)](auto handler) mutable {
        asio::post(pool, [fn = std::move(fn), handler = std::move(handler)]() mutable {
            std::exception_ptr ep;
            try {
                fn();
            } catch (...) {
                ep = std::current_exception();
            }
            auto ex = asio::get_associated_executor(handler);
            asio::post(ex, [handler = std::move(handler), ep]() mutable { std::move(handler)(ep); });
        });
    };
    co_await asio::async_initiate<const asio::use_awaitable_t<>&, void(std::exception_ptr)>(std::move(initiation),
                                                                                            asio::use_awaitable);
}

}  // namespace happy::util
