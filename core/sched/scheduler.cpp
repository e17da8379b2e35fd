#include "core/sched/scheduler.hpp"

#include <algorithm>
#include <atomic>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/system_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/system/system_error.hpp>
#include <mutex>
#include <optional>
#include <stdexcept>

#include "core/log/log.hpp"

namespace happy::sched {

namespace asio = boost::asio;
using namespace std::chrono;

namespace {

/// One job's runtime state. Everything but the counters is touched only on the job's strand: the timer loop,
/// the runs and stop() all go through it.
struct job_state {
    job_state(job jj, asio::any_io_executor ex) : j(std::move(jj)), strand(asio::make_strand(ex)), timer(strand) {}
    job j;
    asio::strand<asio::any_io_executor> strand;
    asio::system_timer timer;  // wall clock: cron instants are calendar times
    asio::cancellation_signal cancel;
    bool running = false;
    std::atomic<std::uint64_t> runs{0};
    std::atomic<std::uint64_t> failures{0};
    std::atomic<std::uint64_t> skipped{0};
    // The last run, for status(): read from other threads, so under a lock of its own.
    mutable std::mutex last_mutex;
    std::int64_t last_start_ms = 0;
    std::int64_t last_duration_ms = 0;
    bool last_ok = true;
    std::string last_error;
    std::atomic<bool> busy{false};
};

std::int64_t wall_ms() {
    return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

}  // namespace

struct scheduler::state {
    explicit state(asio::any_io_executor e) : ex(std::move(e)) {}
    asio::any_io_executor ex;
    std::vector<std::unique_ptr<job_state>> jobs;
    std::atomic<bool> stopping{false};
    std::atomic<int> running{0};
    bool started = false;

    job_state* find(std::string_view name) const {
        for (const auto& j : jobs) {
            if (j->j.name == name) {
                return j.get();
            }
        }
        return nullptr;
    }
};

namespace {

using state_ptr = std::shared_ptr<scheduler::state>;

asio::awaitable<void> run_once(state_ptr st, job_state* js) {
    std::int64_t started = wall_ms();
    {
        std::lock_guard lock(js->last_mutex);
        js->last_start_ms = started;
    }
    js->busy = true;
    std::optional<std::string> error;
    try {
        co_await js->j.fn();
    } catch (const boost::system::system_error& e) {
        js->failures.fetch_add(1, std::memory_order_relaxed);
        error = e.what();
        if (st->stopping && e.code() == asio::error::operation_aborted) {
            log::debug("scheduled job cancelled by shutdown", {{"job", js->j.name}});
        } else {
            log::error("scheduled job failed", {{"job", js->j.name}, {"error", e.what()}});
        }
    } catch (const std::exception& e) {
        js->failures.fetch_add(1, std::memory_order_relaxed);
        error = e.what();
        log::error("scheduled job failed", {{"job", js->j.name}, {"error", e.what()}});
    } catch (...) {
        js->failures.fetch_add(1, std::memory_order_relaxed);
        error = "unknown exception";
        log::error("scheduled job failed", {{"job", js->j.name}, {"error", "unknown exception"}});
    }
    {
        std::lock_guard lock(js->last_mutex);
        js->last_duration_ms = wall_ms() - started;
        js->last_ok = !error;
        js->last_error = error.value_or("");
    }
    js->busy = false;
    js->runs.fetch_add(1, std::memory_order_relaxed);
    js->running = false;
    st->running.fetch_sub(1);
}

/// On the job's strand: starts a run unless one is going (then the fire is skipped and counted).
void launch(const state_ptr& st, job_state* js) {
    if (st->stopping) {
        return;
    }
    if (js->running) {
        auto n = js->skipped.fetch_add(1, std::memory_order_relaxed) + 1;
        log::warn("scheduled job still running, fire skipped", {{"job", js->j.name}, {"skipped", n}});
        return;
    }
    js->running = true;
    st->running.fetch_add(1);
    asio::co_spawn(js->strand, run_once(st, js), asio::bind_cancellation_slot(js->cancel.slot(), asio::detached));
}

asio::awaitable<void> timer_loop(state_ptr st, job_state* js) {
    if (js->j.run_at_start) {
        launch(st, js);
    }
    sys_seconds last = floor<seconds>(system_clock::now());
    for (;;) {
        // Never before the previous fire: a wall clock stepped back must not repeat instants already run.
        sys_seconds base = std::max(floor<seconds>(system_clock::now()), last);
        auto next = js->j.schedule.next_after(base);
        if (!next) {
            co_return;
        }
        js->timer.expires_at(system_clock::time_point(*next));
        auto [ec] = co_await js->timer.async_wait(asio::as_tuple(asio::use_awaitable));
        if (ec || st->stopping) {
            co_return;
        }
        last = *next;
        launch(st, js);
    }
}

}  // namespace

scheduler::scheduler(asio::any_io_executor ex) : state_(std::make_shared<state>(std::move(ex))) {}

scheduler::~scheduler() {
    // Timers not stopped by stop() keep the state alive through their coroutines; make them exit.
    if (state_->started && !state_->stopping.exchange(true)) {
        for (auto& js : state_->jobs) {
            asio::post(js->strand, [st = state_, p = js.get()] { p->timer.cancel(); });
        }
    }
}

void scheduler::add(job j) {
    if (state_->find(j.name)) {
        throw std::invalid_argument("duplicate scheduled job " + j.name);
    }
    state_->jobs.push_back(std::make_unique<job_state>(std::move(j), state_->ex));
}

void scheduler::start() {
    if (state_->started) {
        return;
    }
    state_->started = true;
    for (auto& js : state_->jobs) {
        asio::co_spawn(js->strand, timer_loop(state_, js.get()), asio::detached);
    }
}

bool scheduler::fire(std::string_view name) {
    job_state* js = state_->find(name);
    if (!js) {
        return false;
    }
    asio::post(js->strand, [st = state_, js] { launch(st, js); });
    return true;
}

asio::awaitable<void> scheduler::stop(milliseconds bound) {
    auto st = state_;
    if (!st->stopping.exchange(true)) {
        for (auto& js : st->jobs) {
            asio::post(js->strand, [st, p = js.get()] {
                p->timer.cancel();
                if (p->running) {
                    p->cancel.emit(asio::cancellation_type::terminal);
                }
            });
        }
    }
    // Jobs usually finish within milliseconds of the cancellation; one stuck in uncancellable work (a database
    // statement) is left behind after `bound` rather than holding up the shutdown.
    asio::steady_timer t(co_await asio::this_coro::executor);
    auto deadline = steady_clock::now() + bound;
    while (st->running.load() > 0 && steady_clock::now() < deadline) {
        t.expires_after(std::min<steady_clock::duration>(milliseconds(5), deadline - steady_clock::now()));
        co_await t.async_wait(asio::as_tuple(asio::use_awaitable));
    }
    if (int n = st->running.load(); n > 0) {
        log::warn("scheduler stopped with jobs still running", {{"running", n}});
    }
}

std::vector<std::string> scheduler::names() const {
    std::vector<std::string> out;
    for (const auto& js : state_->jobs) {
        out.push_back(js->j.name);
    }
    return out;
}

job_stats scheduler::stats(std::string_view name) const {
    job_stats s;
    if (const job_state* js = state_->find(name)) {
        s.runs = js->runs.load(std::memory_order_relaxed);
        s.failures = js->failures.load(std::memory_order_relaxed);
        s.skipped = js->skipped.load(std::memory_order_relaxed);
        s.running = js->busy.load();
        std::lock_guard lock(js->last_mutex);
        s.last_start_ms = js->last_start_ms;
        s.last_duration_ms = js->last_duration_ms;
        s.last_ok = js->last_ok;
        s.last_error = js->last_error;
    }
    return s;
}

std::vector<job_status> scheduler::status() const {
    std::vector<job_status> out;
    for (const auto& js : state_->jobs) {
        out.push_back({js->j.name, js->j.schedule.text(), stats(js->j.name)});
    }
    return out;
}

int scheduler::running() const { return state_->running.load(); }

}  // namespace happy::sched
