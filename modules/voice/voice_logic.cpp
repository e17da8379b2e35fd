#include "modules/voice/voice_logic.hpp"

#include <boost/json.hpp>
#include <cctype>
#include <cmath>

#include "core/crypto/base64.hpp"
#include "core/crypto/key_tree.hpp"

namespace happy::mod::voice {

namespace json = boost::json;

std::string eleven_user_id(std::string_view master_secret, std::string_view user_id) {
    auto mac = crypto::hmac_sha256(master_secret, user_id);
    return "u_" + crypto::base64url_encode(std::string_view(reinterpret_cast<const char*>(mac.data()), mac.size()));
}

usage usage_from_conversations(const json::value& body) {
    usage u;
    const auto* o = body.if_object();
    const json::value* list = o ? o->if_contains("conversations") : nullptr;
    const auto* arr = list ? list->if_array() : nullptr;
    if (!arr) {
        return u;
    }
    u.conversation_count = static_cast<std::int64_t>(arr->size());
    for (const auto& c : *arr) {
        if (const auto* co = c.if_object()) {
            if (const auto* d = co->if_contains("call_duration_secs"); d && d->is_number()) {
                u.used_seconds += d->to_number<double>();
            }
        }
    }
    return u;
}

json::value js_number(double v) {
    if (std::isfinite(v) && v == std::floor(v) && std::fabs(v) < 9007199254740992.0) {
        return static_cast<std::int64_t>(v);
    }
    if (!std::isfinite(v)) {
        return nullptr;  // JSON.stringify(Infinity) is null
    }
    return v;
}

bool needs_subscription_check(const usage& u) {
    return u.conversation_count < max_conversations && u.used_seconds < hard_limit_seconds &&
           u.used_seconds >= free_limit_seconds;
}

std::optional<json::object> conversation_denial(const usage& u, std::string_view agent_id,
                                                const std::optional<bool>& subscribed) {
    auto deny = [&](std::string_view reason, std::int64_t limit) {
        return json::object{{"allowed", false},
                            {"reason", reason},
                            {"usedSeconds", js_number(u.used_seconds)},
                            {"limitSeconds", limit},
                            {"agentId", agent_id}};
    };
    if (u.conversation_count >= max_conversations) {
        return deny("voice_conversation_limit_reached", hard_limit_seconds);
    }
    if (u.used_seconds >= hard_limit_seconds) {
        return deny("voice_hard_limit_reached", hard_limit_seconds);
    }
    if (u.used_seconds >= free_limit_seconds && !subscribed.value_or(false)) {
        return deny("subscription_required", free_limit_seconds);
    }
    return std::nullopt;
}

std::optional<std::string> conversation_id_from_token(std::string_view token, bool& error) {
    error = false;
    // `conversationToken.split('.')[1]`: undefined without a dot, and Buffer.from(undefined) throws.
    auto dot = token.find('.');
    if (dot == std::string_view::npos) {
        error = true;
        return std::nullopt;
    }
    auto rest = token.substr(dot + 1);
    auto part = rest.substr(0, rest.find('.'));
    // Buffer.from(part, 'base64'): the lenient decoder (accepts the URL-safe alphabet of a JWT).
    boost::system::error_code ec;
    json::value payload = json::parse(crypto::base64_decode_lenient(part), ec);
    if (ec) {
        error = true;
        return std::nullopt;
    }
    // `(jwtPayload.video?.room || '').match(/(conv_[a-zA-Z0-9]+)/)?.[0]`
    const json::value* room = nullptr;
    if (const auto* o = payload.if_object()) {
        if (const auto* video = o->if_contains("video"); video && video->is_object()) {
            room = video->get_object().if_contains("room");
        }
    } else if (payload.is_null()) {
        error = true;  // null.video throws
        return std::nullopt;
    }
    if (!room || !room->is_string()) {
        // `room || ''`: a falsy room matches nothing; any other non-string has no .match() and throws.
        bool falsy = !room || room->is_null() || (room->is_bool() && !room->get_bool()) ||
                     (room->is_number() && room->to_number<double>() == 0);
        error = !falsy;
        return std::nullopt;
    }
    std::string_view r = room->get_string();
    for (std::size_t at = r.find("conv_"); at != std::string_view::npos; at = r.find("conv_", at + 1)) {
        std::size_t end = at + 5;
        while (end < r.size() && std::isalnum(static_cast<unsigned char>(r[end]))) {
            ++end;
        }
        if (end > at + 5) {
            return std::string(r.substr(at, end - at));
        }
    }
    return std::nullopt;
}

json::object conversation_granted(std::string_view token, std::string_view conversation_id, std::string_view agent_id,
                                  std::string_view eleven_user, const usage& u) {
    return json::object{
        {"allowed", true},
        {"conversationToken", token},
        {"conversationId", conversation_id},
        {"agentId", agent_id},
        {"elevenUserId", eleven_user},
        {"usedSeconds", js_number(u.used_seconds)},
        {"limitSeconds", u.used_seconds >= free_limit_seconds ? hard_limit_seconds : free_limit_seconds},
    };
}

}  // namespace happy::mod::voice
