/// @file
/// Puts one account's `update` events back in account-seq order before they reach this instance's sockets
/// (issue #11). Seqs are allocated in the database (`UPDATE account SET seq = seq + 1 … RETURNING seq`), so they
/// are contiguous per account, but the updates carrying them are emitted by whichever request (and instance)
/// allocated them, and reach a given instance by different paths: its own emissions at once, the others' through
/// the bus. An update whose predecessor has not arrived yet is held until it has, for at most `wait`.
///
/// Not every allocated seq is ever emitted (a duplicate socket `message`, a lost tag race, a publish lost with
/// Redis or with an instance that died): such a gap is known only by its absence, so waiting for it is bounded and
/// short, and a seq that is announced as never coming (offered with an empty item) fills its gap at once.
///
/// Pure bookkeeping with the time passed in: the caller (core/events/ordered_delivery.hpp) locks, runs the timer
/// and delivers what comes out. Memory is bounded: at most `max_held` updates wait at once (beyond that the oldest
/// wait is cut short), at most `max_accounts` accounts are remembered, and an account is forgotten `idle` after its
/// last update. An account not remembered starts afresh from the first seq that arrives: nothing lower is known to
/// be pending then.
#pragma once
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <deque>
#include <iterator>
#include <list>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

namespace happy::events {

struct reorder_options {
    /// How long an update waits for a missing lower seq of its account (bus.reorder_wait_ms); 0: never waits.
    std::chrono::milliseconds wait{30};
    /// An account's state (its last seq) is forgotten this long after its last update.
    std::chrono::milliseconds idle{60000};
    std::size_t max_held = 10000;       ///< updates waiting at once, all accounts together
    std::size_t max_accounts = 100000;  ///< accounts remembered; the least recently updated goes first
};

struct reorder_counters {
    std::uint64_t held = 0;        ///< updates that waited for a lower seq
    std::uint64_t gaps = 0;        ///< seqs given up on: the wait ran out (or the buffer was full) before they came
    std::uint64_t late = 0;        ///< updates that came after their seq had been given up: delivered at once
    std::uint64_t duplicates = 0;  ///< dropped: that seq was delivered or is waiting already
};

template <class Item>
class seq_reorder {
public:
    using clock = std::chrono::steady_clock;

    explicit seq_reorder(reorder_options o) : opts_(o) {}

    /// The update of `account` with `seq`: appends to `out` what is deliverable now, in order (it, and the held
    /// successors it unblocks; or nothing when it must wait). An empty `item` only marks the seq as done.
    void offer(const std::string& account, std::int64_t seq, std::optional<Item> item, clock::time_point now,
               std::vector<Item>& out) {
        auto [st, fresh] = touch(account, now, out);
        if (fresh) {
            st.last = st.first = seq;
            put(std::move(item), out);
        } else if (seq <= st.last) {
            behind(st, seq, std::move(item), out);
        } else if (st.held.count(seq) != 0) {
            ++counters_.duplicates;
        } else if (seq == st.last + 1) {
            st.last = seq;
            put(std::move(item), out);
            drain(st, out);
        } else {
            hold(account, st, seq, std::move(item), now, out);
        }
    }

    /// Gives up the gaps whose wait has run out and forgets idle accounts; appends what that releases to `out`.
    void expire(clock::time_point now, std::vector<Item>& out) {
        while (!deadlines_.empty() && deadlines_.front().at <= now) {
            give_up_for(deadlines_.front(), out);
            deadlines_.pop_front();
        }
        while (!lru_.empty() && accounts_.at(lru_.front()).touched + opts_.idle <= now) {
            forget(lru_.front(), out);
        }
    }

    /// Gives up every wait and forgets every account (shutting down); appends what that releases to `out`.
    void flush(std::vector<Item>& out) {
        while (!lru_.empty()) {
            forget(lru_.front(), out);
        }
        deadlines_.clear();
    }

    /// When expire() next has something to do; nullopt when nothing is remembered.
    std::optional<clock::time_point> next_deadline() const {
        std::optional<clock::time_point> next;
        if (!lru_.empty()) {
            next = accounts_.at(lru_.front()).touched + opts_.idle;
        }
        if (!deadlines_.empty() && (!next || deadlines_.front().at < *next)) {
            next = deadlines_.front().at;
        }
        return next;
    }

    const reorder_counters& counters() const { return counters_; }
    std::size_t held() const { return held_count_; }
    std::size_t accounts() const { return accounts_.size(); }

private:
    /// Given-up seqs remembered per account, so that one arriving late is told from a duplicate.
    static constexpr std::size_t max_skipped = 64;

    struct waiting {
        std::optional<Item> item;
        clock::time_point since;
    };
    struct account_state {
        std::int64_t last = 0;   ///< the highest seq delivered or given up
        std::int64_t first = 0;  ///< the first seq seen since remembered: lower ones predate what is known
        std::map<std::int64_t, waiting> held;
        std::set<std::int64_t> skipped;
        clock::time_point touched;
        std::list<std::string>::iterator lru;
    };
    /// A hold's end. Holds are made in time order, so the queue is in deadline order.
    struct deadline {
        clock::time_point at;
        std::string account;
        std::int64_t seq = 0;
    };

    static void put(std::optional<Item>&& item, std::vector<Item>& out) {
        if (item) {
            out.push_back(std::move(*item));
        }
    }

    /// The account's state, created (fresh) when not remembered; it becomes the most recently used.
    std::pair<account_state&, bool> touch(const std::string& account, clock::time_point now, std::vector<Item>& out) {
        auto it = accounts_.find(account);
        const bool fresh = it == accounts_.end();
        if (fresh) {
            if (accounts_.size() >= opts_.max_accounts && !lru_.empty()) {
                forget(lru_.front(), out);
            }
            it = accounts_.emplace(account, account_state{}).first;
            it->second.lru = lru_.insert(lru_.end(), account);
        } else {
            lru_.splice(lru_.end(), lru_, it->second.lru);
        }
        it->second.touched = now;
        return {it->second, fresh};
    }

    /// A seq at or below the last one: late (its gap was given up, or it predates the state) or a duplicate.
    void behind(account_state& st, std::int64_t seq, std::optional<Item>&& item, std::vector<Item>& out) {
        if (seq < st.first || st.skipped.erase(seq) != 0) {
            ++counters_.late;
            put(std::move(item), out);
        } else {
            ++counters_.duplicates;
        }
    }

    void hold(const std::string& account, account_state& st, std::int64_t seq, std::optional<Item>&& item,
              clock::time_point now, std::vector<Item>& out) {
        if (item) {
            ++counters_.held;
        }
        st.held.emplace(seq, waiting{std::move(item), now});
        ++held_count_;
        if (opts_.wait.count() <= 0) {
            give_up_through(st, seq, out);
            return;
        }
        deadlines_.push_back(deadline{now + opts_.wait, account, seq});
        while (held_count_ > opts_.max_held && !deadlines_.empty()) {
            give_up_for(deadlines_.front(), out);  // the oldest wait is cut short
            deadlines_.pop_front();
        }
    }

    /// Delivers the held successors of `last` that are contiguous with it.
    void drain(account_state& st, std::vector<Item>& out) {
        while (!st.held.empty() && st.held.begin()->first == st.last + 1) {
            release_first(st, out);
        }
    }

    void release_first(account_state& st, std::vector<Item>& out) {
        auto it = st.held.begin();
        st.last = it->first;
        put(std::move(it->second.item), out);
        st.held.erase(it);
        --held_count_;
    }

    /// A hold whose time is up, if it is still waiting (it may have been delivered, or its account forgotten).
    void give_up_for(const deadline& d, std::vector<Item>& out) {
        auto it = accounts_.find(d.account);
        if (it != accounts_.end() && it->second.held.count(d.seq) != 0) {
            give_up_through(it->second, d.seq, out);
        }
    }

    /// Stops waiting for the missing seqs up to `seq`: delivers what is held up to there, then what follows on.
    void give_up_through(account_state& st, std::int64_t seq, std::vector<Item>& out) {
        while (!st.held.empty() && st.held.begin()->first <= seq) {
            skip(st, st.last + 1, st.held.begin()->first);
            release_first(st, out);
        }
        drain(st, out);
    }

    /// Records the seqs [from, to) as given up (the latest max_skipped of them, for late arrivals).
    void skip(account_state& st, std::int64_t from, std::int64_t to) {
        if (to <= from) {
            return;
        }
        counters_.gaps += static_cast<std::uint64_t>(to - from);
        for (auto s = std::max(from, to - static_cast<std::int64_t>(max_skipped)); s < to; ++s) {
            st.skipped.insert(s);
        }
        while (st.skipped.size() > max_skipped) {
            st.skipped.erase(st.skipped.begin());
        }
    }

    /// Drops an account's state, first delivering whatever it still holds.
    void forget(const std::string& account, std::vector<Item>& out) {
        auto it = accounts_.find(account);
        auto& st = it->second;
        if (!st.held.empty()) {
            give_up_through(st, std::prev(st.held.end())->first, out);
        }
        lru_.erase(st.lru);
        accounts_.erase(it);
    }

    reorder_options opts_;
    std::unordered_map<std::string, account_state> accounts_;
    std::list<std::string> lru_;  ///< least recently updated first
    std::deque<deadline> deadlines_;
    std::size_t held_count_ = 0;
    reorder_counters counters_;
};

}  // namespace happy::events
