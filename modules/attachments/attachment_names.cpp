#include "modules/attachments/attachment_names.hpp"

#include <vector>

namespace happy::mod::attachments {

bool attachment_name_rejected(std::string_view file) {
    return file.find("..") != std::string_view::npos || file.find('/') != std::string_view::npos;
}

std::string attachment_ref(std::string_view sid, std::string_view file) {
    std::string r = attachment_dir(sid);
    r += '/';
    r += file;
    return r;
}

std::string attachment_dir(std::string_view sid) {
    std::string r = "sessions/";
    r += sid;
    r += "/attachments";
    return r;
}

std::string base_url(std::string_view public_url, const http::request& req, int port) {
    if (!public_url.empty()) {
        return std::string(public_url);
    }
    auto host = req.header("x-forwarded-host");
    if (!host) {
        host = req.header("host");
    }
    auto proto = req.header("x-forwarded-proto");
    if (host && !host->empty()) {
        return std::string(proto ? *proto : "http") + "://" + std::string(*host);
    }
    return "http://localhost:" + std::to_string(port);
}

std::optional<std::string> files_wildcard_key(std::string_view wildcard) {
    // path.resolve(base, w): an absolute w replaces the base (and then cannot be strictly inside it, unless it
    // spells the base's own absolute path, which this server does not expose); otherwise segments are applied
    // one by one, '.' and empty ones skipped, '..' popping.
    if (!wildcard.empty() && wildcard.front() == '/') {
        return std::nullopt;
    }
    std::vector<std::string_view> segs;
    std::size_t start = 0;
    while (start <= wildcard.size()) {
        std::size_t end = wildcard.find('/', start);
        if (end == std::string_view::npos) {
            end = wildcard.size();
        }
        std::string_view seg = wildcard.substr(start, end - start);
        if (seg == "..") {
            if (segs.empty()) {
                return std::nullopt;  // leaves the base directory
            }
            segs.pop_back();
        } else if (!seg.empty() && seg != ".") {
            segs.push_back(seg);
        }
        start = end + 1;
    }
    if (segs.empty()) {
        return std::nullopt;  // the base directory itself is not strictly inside it
    }
    std::string key;
    for (auto s : segs) {
        if (!key.empty()) {
            key += '/';
        }
        key += s;
    }
    return key;
}

bool upload_rate_limiter::allow(const std::string& user, std::int64_t now_ms) {
    std::lock_guard lock(mu_);
    auto it = users_.find(user);
    if (it == users_.end() || now_ms - it->second.window_start >= window_ms) {
        users_[user] = entry{1, now_ms};
        // Opportunistic prune, as upstream: one-shot users must not grow the map forever.
        if (users_.size() > 10'000) {
            for (auto i = users_.begin(); i != users_.end();) {
                i = now_ms - i->second.window_start >= window_ms ? users_.erase(i) : std::next(i);
            }
        }
        return true;
    }
    if (it->second.count >= max_per_window) {
        return false;
    }
    ++it->second.count;
    return true;
}

std::size_t upload_rate_limiter::tracked() const {
    std::lock_guard lock(mu_);
    return users_.size();
}

}  // namespace happy::mod::attachments
