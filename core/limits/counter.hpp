/// @file
/// Bounded counts of things held per key (connections per instance, per address, Socket.IO sockets per account).
/// A slot is one held unit: it gives its count back when destroyed or released, so every way a connection can end
/// releases it. Thread-safe; slots may outlive the counter object (they share its state).
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace happy::limits {

class counter {
    struct state;

public:
    /// One unit held under a key. Move-only; empty when default-constructed or moved from.
    class slot {
    public:
        slot() = default;
        slot(slot&& o) noexcept = default;
        slot& operator=(slot&& o) noexcept;
        slot(const slot&) = delete;
        slot& operator=(const slot&) = delete;
        ~slot() { release(); }
        /// Gives the unit back now (idempotent).
        void release();
        explicit operator bool() const { return state_ != nullptr; }

    private:
        friend class counter;
        slot(std::shared_ptr<state> s, std::string key) : state_(std::move(s)), key_(std::move(key)) {}
        std::shared_ptr<state> state_;
        std::string key_;
    };

    /// `max_per_key` 0 = no limit (still counted, for the metrics).
    explicit counter(std::size_t max_per_key);
    ~counter();
    counter(const counter&) = delete;
    counter& operator=(const counter&) = delete;

    /// A slot under `key`, or nullopt (counted as a refusal) when `key` already holds max_per_key.
    std::optional<slot> try_acquire(std::string key);
    std::size_t count(std::string_view key) const;
    /// Units held under all keys together.
    std::size_t total() const;
    /// Keys holding at least one unit.
    std::size_t keys() const;
    /// try_acquire calls refused so far.
    std::uint64_t refused() const;
    std::size_t max_per_key() const { return max_; }

private:
    std::size_t max_;
    std::shared_ptr<state> state_;
};

/// What one connection holds: its unit of the instance-wide count and of its client address's.
struct connection_slots {
    counter::slot instance;
    counter::slot address;
};

}  // namespace happy::limits
