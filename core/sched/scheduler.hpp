/// @file
/// The process's one job scheduler: named jobs on cron schedules (core/sched/cron.hpp, UTC), each run as a
/// coroutine on the io_context.
///
/// Guarantees: a job never overlaps itself (a fire that finds the previous run still going is skipped and
/// counted); a failing run is logged and the schedule goes on; stop() cancels the timers and the running jobs
/// (asio terminal cancellation) and waits for them only up to a bound, so it never holds up a graceful shutdown.
#pragma once
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/sched/cron.hpp"

namespace happy::sched {

using job_fn = std::function<boost::asio::awaitable<void>()>;

struct job {
    std::string name;
    cron schedule;
    job_fn fn;
    bool run_at_start = false;  ///< also run once as soon as the scheduler starts
};

struct job_stats {
    std::uint64_t runs = 0;      ///< completed runs, successful or not
    std::uint64_t failures = 0;  ///< runs that threw
    std::uint64_t skipped = 0;   ///< fires dropped because the previous run was still going
    std::int64_t last_start_ms = 0;     ///< wall clock of the last run's start (0: never ran)
    std::int64_t last_duration_ms = 0;  ///< of the last completed run
    bool last_ok = true;                ///< the last completed run did not throw
    std::string last_error;             ///< what the last failed run threw
    bool running = false;
};

/// A job as the admin console shows it.
struct job_status {
    std::string name;
    std::string schedule;  ///< the cron expression
    job_stats stats;
};

class scheduler {
public:
    explicit scheduler(boost::asio::any_io_executor ex);
    ~scheduler();
    scheduler(const scheduler&) = delete;
    scheduler& operator=(const scheduler&) = delete;

    /// Adds a job (before start()). Throws std::invalid_argument for a duplicate name.
    void add(job j);
    /// Starts every job's timer (and the run_at_start runs).
    void start();
    /// Fires a job now, as its timer would (skipped if it is still running). False for an unknown name.
    bool fire(std::string_view name);
    /// Stops the timers, cancels running jobs and waits for them at most `bound`. Idempotent.
    boost::asio::awaitable<void> stop(std::chrono::milliseconds bound);

    std::vector<std::string> names() const;
    job_stats stats(std::string_view name) const;
    /// Every job with its schedule and stats, in the order added.
    std::vector<job_status> status() const;
    /// Number of jobs running right now.
    int running() const;

    struct state;

private:
    std::shared_ptr<state> state_;
};

}  // namespace happy::sched
