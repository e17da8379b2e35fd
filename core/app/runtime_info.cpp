#include "core/app/runtime_info.hpp"

#include "core/util/time.hpp"

namespace happy {

runtime_info::runtime_info() : started_at_ms_(now_ms()) {}

void runtime_info::set_version(std::string v) {
    std::lock_guard lock(mutex_);
    version_ = std::move(v);
}

std::string runtime_info::version() const {
    std::lock_guard lock(mutex_);
    return version_;
}

void runtime_info::set_scheduler(const sched::scheduler* s) {
    std::lock_guard lock(mutex_);
    scheduler_ = s;
}

std::vector<sched::job_status> runtime_info::jobs() const {
    std::lock_guard lock(mutex_);
    return scheduler_ ? scheduler_->status() : std::vector<sched::job_status>{};
}

runtime_info& runtime() {
    static runtime_info r;
    return r;
}

}  // namespace happy
