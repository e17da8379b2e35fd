#include "core/limits/counter.hpp"

#include <atomic>
#include <mutex>
#include <unordered_map>

namespace happy::limits {

struct counter::state {
    mutable std::mutex mutex;
    std::unordered_map<std::string, std::size_t> counts;  // keys with a count of 0 are erased
    std::size_t total = 0;
    std::atomic<std::uint64_t> refused{0};
};

counter::slot& counter::slot::operator=(slot&& o) noexcept {
    if (this != &o) {
        release();
        state_ = std::move(o.state_);
        key_ = std::move(o.key_);
    }
    return *this;
}

void counter::slot::release() {
    if (!state_) {
        return;
    }
    {
        std::lock_guard lock(state_->mutex);
        auto it = state_->counts.find(key_);
        if (it != state_->counts.end() && --it->second == 0) {
            state_->counts.erase(it);
        }
        --state_->total;
    }
    state_.reset();
}

counter::counter(std::size_t max_per_key) : max_(max_per_key), state_(std::make_shared<state>()) {}

counter::~counter() = default;

std::optional<counter::slot> counter::try_acquire(std::string key) {
    {
        std::lock_guard lock(state_->mutex);
        auto& n = state_->counts[key];
        if (max_ != 0 && n >= max_) {
            state_->refused.fetch_add(1, std::memory_order_relaxed);
            return std::nullopt;  // n >= max_ > 0, so the entry is not a fresh zero left behind
        }
        ++n;
        ++state_->total;
    }
    return slot(state_, std::move(key));
}

std::size_t counter::count(std::string_view key) const {
    std::lock_guard lock(state_->mutex);
    auto it = state_->counts.find(std::string(key));
    return it == state_->counts.end() ? 0 : it->second;
}

std::size_t counter::total() const {
    std::lock_guard lock(state_->mutex);
    return state_->total;
}

std::size_t counter::keys() const {
    std::lock_guard lock(state_->mutex);
    return state_->counts.size();
}

std::uint64_t counter::refused() const {
    return state_->refused.load(std::memory_order_relaxed);
}

}  // namespace happy::limits
