/// @file
/// Counters of committed changes, per watched table, kept by a backend that sees every write to its database
/// (SQLite with storage.sqlite.exclusive on: no other process can open the file). A reader that remembers a table's
/// count knows, while the count is unchanged, that nothing was committed to that table since, without asking the
/// database (the sessions list answers GET /v1/sessions this way while no session changed anywhere).
#pragma once
#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>

namespace happy::db {

class change_watch {
public:
    static constexpr std::size_t capacity = 16;
    using mask = std::uint32_t;
    static_assert(capacity <= sizeof(mask) * 8);

    /// The counter of `table` (registered on first use; later calls return the same one). Counts start at 1, so
    /// 0 can stand for "no count". Throws std::length_error past `capacity` tables.
    const std::atomic<std::uint64_t>& watch(std::string_view table);

    /// The bit of `table` when it is watched, else 0. Lock-free: called from the backend's row-change hook.
    mask bit_of(std::string_view table) const;

    /// Called once the changes of `changed` are committed and visible to new reads (never before: a reader
    /// that saw the new count must find the new rows).
    void committed(mask changed);

private:
    std::array<std::string, capacity> names_;  ///< written before size_ is published
    std::array<std::atomic<std::uint64_t>, capacity> counts_{};
    std::atomic<std::size_t> size_{0};
    std::mutex add_mutex_;
};

}  // namespace happy::db
