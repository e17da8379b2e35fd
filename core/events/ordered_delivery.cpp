#include "core/events/ordered_delivery.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <mutex>

namespace happy::events {

namespace asio = boost::asio;
using clock = std::chrono::steady_clock;

struct ordered_delivery::state : std::enable_shared_from_this<state> {
    state(reorder_options o, deliver_fn d) : buffer(o), deliver(std::move(d)) {}

    mutable std::mutex mutex;
    seq_reorder<delivery> buffer;
    deliver_fn deliver;
    bool running = false;
    std::vector<delivery> out;  ///< what the last step released, delivered before the lock is let go
    std::optional<asio::strand<asio::any_io_executor>> strand;
    std::optional<asio::steady_timer> timer;  ///< touched on the strand only
    std::optional<clock::time_point> armed;   ///< the deadline the timer loop waits for (nullopt: none)

    void deliver_out() {
        for (const auto& d : out) {
            deliver(d);
        }
        out.clear();
    }

    /// After a hold: wakes the timer loop when the next deadline is earlier than the one it waits for. Holds end
    /// in the order they began, so this happens once per idle period of the loop, not once per update.
    void wake_if_sooner() {
        auto next = buffer.next_deadline();
        if (next && (!armed || *next < *armed)) {
            armed = next;
            asio::post(*strand, [self = shared_from_this()] { self->timer->cancel(); });
        }
    }

    /// Sleeps until the next deadline (or a wake), then lets the buffer give up what has waited long enough.
    static asio::awaitable<void> run_timer(std::shared_ptr<state> s) {
        for (;;) {
            {
                std::lock_guard lock(s->mutex);
                if (!s->running) {
                    co_return;
                }
                s->armed = s->buffer.next_deadline();
                s->timer->expires_at(s->armed.value_or(clock::time_point::max()));
            }
            co_await s->timer->async_wait(asio::as_tuple(asio::use_awaitable));
            std::lock_guard lock(s->mutex);
            if (!s->running) {
                co_return;
            }
            s->buffer.expire(clock::now(), s->out);
            s->deliver_out();
        }
    }
};

ordered_delivery::ordered_delivery(reorder_options o, deliver_fn deliver)
    : state_(std::make_shared<state>(o, std::move(deliver))) {}

ordered_delivery::~ordered_delivery() {
    stop();
}

void ordered_delivery::start(asio::any_io_executor ex) {
    {
        std::lock_guard lock(state_->mutex);
        if (state_->strand) {
            return;  // once per process: a stopped loop may still be winding down on the old timer
        }
        state_->strand.emplace(asio::make_strand(ex));
        state_->timer.emplace(*state_->strand);
        state_->running = true;
    }
    // Outside the lock: from a thread of the io_context, co_spawn may run the loop's first step right here.
    asio::co_spawn(*state_->strand, state::run_timer(state_), asio::detached);
}

void ordered_delivery::stop() {
    std::lock_guard lock(state_->mutex);
    if (!state_->running) {
        return;
    }
    state_->running = false;
    state_->buffer.flush(state_->out);
    state_->deliver_out();
    asio::post(*state_->strand, [s = state_] { s->timer->cancel(); });
}

void ordered_delivery::update(std::string_view account, std::int64_t seq, std::optional<delivery> d) {
    auto& s = *state_;
    std::lock_guard lock(s.mutex);
    if (!s.running) {
        if (d) {
            s.deliver(*d);
        }
        return;
    }
    s.buffer.offer(std::string(account), seq, std::move(d), clock::now(), s.out);
    s.deliver_out();
    s.wake_if_sooner();
}

void ordered_delivery::now(const delivery& d) {
    state_->deliver(d);
}

reorder_counters ordered_delivery::counters() const {
    std::lock_guard lock(state_->mutex);
    return state_->buffer.counters();
}

std::size_t ordered_delivery::held() const {
    std::lock_guard lock(state_->mutex);
    return state_->buffer.held();
}

}  // namespace happy::events
