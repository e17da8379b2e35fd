#include "modules/sessions/session_list_cache.hpp"

#include <algorithm>

namespace happy::mod::sessions {

void session_list_cache::configure(std::size_t budget_bytes) {
    std::lock_guard lock(mutex_);
    budget_ = budget_bytes;
    entries_.clear();
    bytes_ = 0;
}

std::shared_ptr<const std::string> session_list_cache::find(std::string_view account_id, std::int64_t version,
                                                            std::uint64_t changes) {
    std::lock_guard lock(mutex_);
    auto it = entries_.find(account_id);
    if (it == entries_.end() || it->second.version != version) {
        return nullptr;
    }
    it->second.confirmed = std::max(it->second.confirmed, changes);
    return it->second.body;
}

std::shared_ptr<const std::string> session_list_cache::find_unchanged(std::string_view account_id,
                                                                      std::uint64_t changes) const {
    if (changes == 0) {
        return nullptr;
    }
    std::lock_guard lock(mutex_);
    auto it = entries_.find(account_id);
    if (it == entries_.end() || it->second.confirmed != changes) {
        return nullptr;
    }
    return it->second.body;
}

void session_list_cache::store(std::string_view account_id, std::int64_t version,
                               std::shared_ptr<const std::string> body, std::uint64_t changes) {
    if (!body || body->size() > budget_) {
        return;
    }
    std::lock_guard lock(mutex_);
    auto it = entries_.find(account_id);
    if (it != entries_.end()) {
        if (it->second.version > version) {
            return;
        }
        bytes_ -= it->second.body->size();
        entries_.erase(it);
    }
    for (auto victim = entries_.begin(); bytes_ + body->size() > budget_ && victim != entries_.end();) {
        bytes_ -= victim->second.body->size();
        victim = entries_.erase(victim);
    }
    bytes_ += body->size();
    entries_.emplace(std::string(account_id), entry{version, changes, std::move(body)});
}

std::size_t session_list_cache::bytes() const {
    std::lock_guard lock(mutex_);
    return bytes_;
}

std::size_t session_list_cache::size() const {
    std::lock_guard lock(mutex_);
    return entries_.size();
}

}  // namespace happy::mod::sessions
