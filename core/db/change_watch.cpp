#include "core/db/change_watch.hpp"

#include <stdexcept>

namespace happy::db {

const std::atomic<std::uint64_t>& change_watch::watch(std::string_view table) {
    std::lock_guard lock(add_mutex_);
    std::size_t n = size_.load(std::memory_order_relaxed);
    for (std::size_t i = 0; i < n; ++i) {
        if (names_[i] == table) {
            return counts_[i];
        }
    }
    if (n == capacity) {
        throw std::length_error("change_watch: too many watched tables");
    }
    names_[n] = std::string(table);
    counts_[n].store(1, std::memory_order_relaxed);
    size_.store(n + 1, std::memory_order_release);
    return counts_[n];
}

change_watch::mask change_watch::bit_of(std::string_view table) const {
    std::size_t n = size_.load(std::memory_order_acquire);
    for (std::size_t i = 0; i < n; ++i) {
        if (names_[i] == table) {
            return mask{1} << i;
        }
    }
    return 0;
}

void change_watch::committed(mask changed) {
    for (std::size_t i = 0; changed != 0; ++i, changed >>= 1) {
        if (changed & 1) {
            counts_[i].fetch_add(1, std::memory_order_release);
        }
    }
}

}  // namespace happy::db
