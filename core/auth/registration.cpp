#include "core/auth/registration.hpp"

#include <algorithm>
#include <stdexcept>

#include "core/config/config.hpp"
#include "core/crypto/base64.hpp"

namespace happy::auth {

std::string_view registration_mode_name(registration_mode m) {
    switch (m) {
        case registration_mode::open: return "open";
        case registration_mode::closed: return "closed";
        case registration_mode::approval: return "approval";
    }
    return "open";
}

bool registration_policy::allow_listed(std::string_view key_hex) const {
    return std::find(allow.begin(), allow.end(), key_hex) != allow.end();
}

std::optional<std::string> public_key_hex_parse(std::string_view text) {
    std::optional<std::string> raw;
    if (text.size() == 64) {
        raw = crypto::hex_decode(text);
    }
    if (!raw) {
        raw = crypto::base64_decode_strict(text);
    }
    if (!raw || raw->size() != 32) {
        return std::nullopt;
    }
    return crypto::hex_upper(*raw);
}

registration_policy registration_policy_parse(const boost::json::object& section) {
    registration_policy p;
    std::string_view mode = section.at("mode").as_string();
    p.mode = mode == "closed" ? registration_mode::closed
             : mode == "approval" ? registration_mode::approval
                                  : registration_mode::open;
    p.max_pending = section.at("max_pending").to_number<std::int64_t>();
    const auto& list = section.at("allow");
    if (!list.is_array()) {
        throw std::invalid_argument("allow: expected an array of public keys");
    }
    std::size_t i = 0;
    for (const auto& v : list.get_array()) {
        std::optional<std::string> hex;
        if (v.is_string()) {
            hex = public_key_hex_parse(v.get_string());
        }
        if (!hex) {
            throw std::invalid_argument("allow[" + std::to_string(i) +
                                        "]: expected a 32-byte public key as base64 or 64 hex digits");
        }
        p.allow.push_back(std::move(*hex));
        ++i;
    }
    return p;
}

registration_policy registration_policy_from_config(const boost::json::object& root) {
    try {
        return registration_policy_parse(config::at(root, "auth.registration").as_object());
    } catch (const std::invalid_argument& e) {
        throw config::error(std::string("auth.registration.") + e.what());
    }
}

registration_verdict registration_decide(const registration_policy& p, std::string_view key_hex,
                                         std::optional<bool> request_approved) {
    if (p.mode == registration_mode::open || p.allow_listed(key_hex)) {
        return registration_verdict::create;
    }
    if (p.mode == registration_mode::closed) {
        return registration_verdict::refuse_closed;
    }
    if (!request_approved) {
        return registration_verdict::record_pending;
    }
    return *request_approved ? registration_verdict::create : registration_verdict::still_pending;
}

}  // namespace happy::auth
