/// @file
/// Expo push delivery: message building, the HTTP send (batches of 100 under one deadline) and the outcome the
/// push-event route reports. Upstream: packages/happy-server/sources/app/push/pushSend.ts and pushDispatch.ts.
#pragma once
#include <boost/asio/awaitable.hpp>
#include <boost/json/object.hpp>
#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace happy::mod::push {

/// Upstream's public endpoint (pushSend.ts EXPO_PUSH_URL).
inline constexpr const char* k_expo_push_url = "https://exp.host/--/api/v2/push/send";
/// Expo's documented per-request limit (pushSend.ts BATCH_SIZE).
inline constexpr std::size_t k_batch_size = 100;

/// One message for one device: the token row it came from and the JSON object sent to Expo.
struct expo_message {
    std::string token_id;
    std::string token;
    boost::json::object payload;  ///< {to, title, body, data, sound, channelId}
};

/// What Expo (or the network) said about one message.
struct ticket {
    bool ok = false;
    std::string error;                    ///< details.error || message || "unknown" (empty when ok)
    bool device_not_registered = false;  ///< details.error == "DeviceNotRegistered": the token row is deleted
    bool transient = false;              ///< network error/timeout, HTTP 429 or 5xx: worth retrying later
};

/// `data` as upstream assembles it: {sessionId, ...clientData, kind} with JavaScript's own-key order (array-index
/// keys first, ascending; later duplicates overwrite in place), applied recursively as JSON.stringify would emit it.
boost::json::object push_event_data(std::string_view session_id, const boost::json::object* client_data,
                                    std::string_view kind);

/// Reorders object keys (recursively) the way a JavaScript engine enumerates them.
boost::json::value js_key_order(const boost::json::value& v);

/// {to, title, body, data, sound: "default", channelId: "messages"} for one token.
expo_message push_message(std::string token_id, std::string token, std::string_view title, std::string_view body,
                          const boost::json::object& data);

/**
 * @brief Posts the messages to Expo in batches of 100, all under one deadline (pushSend.ts).
 * @return one ticket per message, in message order (fewer if Expo answers a shorter `data` array, as upstream)
 * Never throws for network problems: a failed batch yields "Network error" / "HTTP <status>" tickets.
 */
boost::asio::awaitable<std::vector<ticket>> expo_send(const std::vector<expo_message>& messages, std::string url,
                                                      std::chrono::milliseconds timeout);

/// The route's outcome: {result, tokens?, delivered?, reason?} (pushDispatch.ts PushOutcome).
struct outcome {
    std::string result;  ///< sent | partial | suppressed | no_tokens | failed
    std::optional<int> tokens;
    std::optional<int> delivered;
    std::optional<std::string> reason;
    /// {"success": true, result, tokens?, delivered?, reason?} — the route's 200 body, in schema key order.
    boost::json::object to_json() const;
};

/// Upstream's classification of the tickets of one send to `token_count` tokens.
outcome outcome_from_tickets(const std::vector<ticket>& tickets, std::size_t token_count);

}  // namespace happy::mod::push
