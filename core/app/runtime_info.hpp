/// @file
/// What the start-up code knows about the running process that an operator's view shows (the admin console):
/// the version, the start time and the scheduled jobs. Process-wide like metrics::global(): start-up fills it in
/// (modules read it at request time, after start), and clears what it owns before that goes away.
#pragma once
#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

#include "core/sched/scheduler.hpp"

namespace happy {

class runtime_info {
public:
    void set_version(std::string v);
    std::string version() const;
    /// Wall-clock ms of the process start (when this object was first used).
    std::int64_t started_at_ms() const { return started_at_ms_; }
    /// The scheduler whose jobs status() lists; nullptr clears it.
    void set_scheduler(const sched::scheduler* s);
    std::vector<sched::job_status> jobs() const;

private:
    friend runtime_info& runtime();
    runtime_info();
    mutable std::mutex mutex_;
    std::string version_;
    std::int64_t started_at_ms_ = 0;
    const sched::scheduler* scheduler_ = nullptr;
};

runtime_info& runtime();

}  // namespace happy
