/// @file
/// The pure parts of upstream's voice routes (sources/app/api/routes/voiceRoutes.ts): the ElevenLabs user id, the
/// usage sum, the gating of a new conversation and the conversation id hidden in ElevenLabs' token.
#pragma once
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace happy::mod::voice {

constexpr std::int64_t free_limit_seconds = 1200;    ///< VOICE_FREE_LIMIT_SECONDS: 20 minutes per 30 days
constexpr std::int64_t hard_limit_seconds = 18000;   ///< VOICE_HARD_LIMIT_SECONDS: 5 hours per 30 days
constexpr std::int64_t max_conversations = 100;      ///< VOICE_MAX_CONVERSATIONS (ElevenLabs page_size)

/// deriveElevenUserId: "u_" + unpadded base64url(HMAC-SHA256(key = master secret, msg = user id)).
std::string eleven_user_id(std::string_view master_secret, std::string_view user_id);

struct usage {
    double used_seconds = 0;  ///< sum of call_duration_secs (a JavaScript number)
    std::int64_t conversation_count = 0;
};

/// getVoiceUsage on a 2xx answer of GET /conversations: `conversations || []`, summing `call_duration_secs ?? 0`.
usage usage_from_conversations(const boost::json::value& body);

/// A JavaScript number as JSON.stringify writes it (integral values without a fraction).
boost::json::value js_number(double v);

/// The denial for a new conversation, checked in upstream's order (count cap, hard cap, then the free tier when
/// `subscribed` is false), or nullopt when the conversation may start. `subscribed` is only consulted once the
/// free tier is used up, as upstream asks RevenueCat only then.
std::optional<boost::json::object> conversation_denial(const usage& u, std::string_view agent_id,
                                                       const std::optional<bool>& subscribed);

/// True when the subscription check is needed (used ≥ free tier, below the caps).
bool needs_subscription_check(const usage& u);

/// The `conv_[a-zA-Z0-9]+` in the JWT payload's `video.room`. `error` is set when upstream's code would throw
/// (no payload part, payload not JSON): that is "Failed to get voice credentials"; a missing id is nullopt
/// without `error` ("Failed to get conversation ID").
std::optional<std::string> conversation_id_from_token(std::string_view token, bool& error);

/// The 200 body of a granted conversation, in the wire schema's key order.
boost::json::object conversation_granted(std::string_view token, std::string_view conversation_id,
                                         std::string_view agent_id, std::string_view eleven_user,
                                         const usage& u);

}  // namespace happy::mod::voice
