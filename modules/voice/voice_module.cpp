#include "modules/voice/voice_module.hpp"

#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/json.hpp>
#include <chrono>
#include <optional>

#include "core/auth/token_service.hpp"
#include "core/http/client.hpp"
#include "core/log/log.hpp"
#include "core/util/time.hpp"
#include "modules/voice/voice_logic.hpp"

namespace happy::mod::voice {

namespace json = boost::json;
namespace v = validate;
using http::response;

struct voice_state {
    std::string master_secret;
    std::string elevenlabs_key;
    std::string elevenlabs_url;
    std::string revenuecat_key;
    std::string revenuecat_url;
};

namespace {

using namespace std::chrono_literals;

/// What `fetch()` does to a URL built by string interpolation: the WHATWG parser cuts a fragment at '#' and
/// percent-encodes controls, space, `"`, `<`, `>` and (special schemes) `'` plus non-ASCII bytes in the query.
std::string fetch_url(std::string_view url) {
    static constexpr char hex[] = "0123456789ABCDEF";
    url = url.substr(0, url.find('#'));
    std::string out;
    for (unsigned char c : url) {
        if (c <= 0x20 || c >= 0x7f || c == '"' || c == '<' || c == '>' || c == '\'') {
            out += '%';
            out += hex[c >> 4];
            out += hex[c & 15];
        } else {
            out += static_cast<char>(c);
        }
    }
    return out;
}

/// getVoiceUsage: a non-2xx answer counts as no usage; a network error or a non-JSON body throws.
boost::asio::awaitable<usage> voice_usage(const voice_state& m, std::string eleven_user) {
    std::string since = iso8601_ms(now_ms() - 30LL * 86400 * 1000);
    // Requests are built in named variables: g++ 12 miscompiles braced temporaries inside co_await expressions.
    std::string url = fetch_url(m.elevenlabs_url + "/conversations?user_id=" + eleven_user + "&created_after=" + since +
                                "&page_size=100");
    http::client::header_list headers;
    headers.emplace_back("xi-api-key", m.elevenlabs_key);
    std::string get = "GET";
    auto res = co_await http::client::request(get, url, headers, std::string(), 10s);
    if (!res.ok()) {
        log::info("voice: ElevenLabs conversations query failed", {{"status", res.status}});
        co_return usage{};
    }
    boost::system::error_code ec;
    json::value body = json::parse(res.body, ec);
    if (ec) {
        throw std::runtime_error("ElevenLabs answered non-JSON");
    }
    co_return usage_from_conversations(body);
}

/// hasActiveSubscription: false without a key, on any failure, or with no active entitlement.
boost::asio::awaitable<bool> has_subscription(const voice_state& m, std::string account) {
    if (m.revenuecat_key.empty()) {
        co_return false;
    }
    std::optional<http::client::response> res;
    try {
        std::string url = fetch_url(m.revenuecat_url + "/customers/" + account + "/active_entitlements");
        http::client::header_list headers;
        headers.emplace_back("Authorization", "Bearer " + m.revenuecat_key);
        std::string get = "GET";
        res = co_await http::client::request(get, url, headers, std::string(), 10s);
    } catch (const std::exception& e) {
        log::info("voice: RevenueCat request failed", {{"error", e.what()}});
        co_return false;
    }
    if (!res->ok()) {
        log::info("voice: RevenueCat check failed", {{"status", res->status}});
        co_return false;
    }
    boost::system::error_code ec;
    json::value body = json::parse(res->body, ec);
    const auto* o = ec ? nullptr : body.if_object();
    const auto* items = o ? o->if_contains("items") : nullptr;
    co_return items && items->is_array() && !items->get_array().empty();
}

/// The conversation token request; nullopt body means "Failed to get voice credentials".
boost::asio::awaitable<std::optional<std::string>> conversation_token(const voice_state& m, std::string agent,
                                                                      std::string eleven_user) {
    std::optional<http::client::response> res;
    try {
        std::string url =
            fetch_url(m.elevenlabs_url + "/conversation/token?agent_id=" + agent + "&participant_name=" + eleven_user);
        http::client::header_list headers;
        headers.emplace_back("xi-api-key", m.elevenlabs_key);
        std::string get = "GET";
        res = co_await http::client::request(get, url, headers, std::string(), 10s);
    } catch (const std::exception& e) {
        log::info("voice: ElevenLabs token request failed", {{"error", e.what()}});
        co_return std::nullopt;
    }
    if (!res->ok()) {
        log::info("voice: ElevenLabs token request failed", {{"status", res->status}});
        co_return std::nullopt;
    }
    co_return std::move(res->body);
}

boost::asio::awaitable<response> post_conversation(const voice_state& m, http::request& req) {
    std::string agent(req.body.at("agentId").as_string());
    std::string account = req.account_id;
    log::info("voice token request", {{"account", account}});
    if (m.elevenlabs_key.empty()) {
        co_return response::error(500, "ELEVENLABS_API_KEY not configured");
    }
    if (m.revenuecat_key.empty()) {
        co_return response::error(500, "REVENUECAT_API_KEY not configured");
    }
    std::string eleven_user = eleven_user_id(m.master_secret, account);
    // Not caught upstream: a network error here is the route's generic 500 ({"error":"Internal Server Error"}).
    usage u = co_await voice_usage(m, eleven_user);
    std::optional<bool> subscribed;
    if (needs_subscription_check(u)) {
        subscribed = co_await has_subscription(m, account);
    }
    if (auto denial = conversation_denial(u, agent, subscribed)) {
        co_return response::json(*denial);
    }
    auto body = co_await conversation_token(m, agent, eleven_user);
    if (!body) {
        co_return response::error(500, "Failed to get voice credentials");
    }
    // `const { token } = await tokenRes.json()`, then the id from the JWT payload; throws are credentials errors.
    boost::system::error_code ec;
    json::value parsed = json::parse(*body, ec);
    const json::value* token = nullptr;
    if (!ec && parsed.is_object()) {
        token = parsed.get_object().if_contains("token");
    }
    if (!token || !token->is_string()) {
        co_return response::error(500, "Failed to get voice credentials");
    }
    bool failed = false;
    auto conversation = conversation_id_from_token(token->get_string(), failed);
    if (failed) {
        co_return response::error(500, "Failed to get voice credentials");
    }
    if (!conversation) {
        log::info("voice: no conversation id in the token", {{"account", account}});
        co_return response::error(500, "Failed to get conversation ID");
    }
    log::info("voice token issued", {{"account", account}, {"conversation", *conversation}});
    co_return response::json(conversation_granted(token->get_string(), *conversation, agent, eleven_user, u));
}

boost::asio::awaitable<response> get_usage(const voice_state& m, http::request& req) {
    if (m.elevenlabs_key.empty()) {
        co_return response::error(500, "ELEVENLABS_API_KEY not configured");
    }
    std::string account = req.account_id;
    std::string eleven_user = eleven_user_id(m.master_secret, account);
    std::optional<usage> u;
    bool subscribed = false;
    try {
        // Both at once, as upstream's Promise.all([getVoiceUsage, hasActiveSubscription]); has_subscription never
        // throws, so a failure is ElevenLabs' and fails the whole answer, as there.
        using namespace boost::asio::experimental::awaitable_operators;
        auto usage_query = voice_usage(m, eleven_user);
        auto subscription_query = has_subscription(m, account);
        auto [used, sub] = co_await (std::move(usage_query) && std::move(subscription_query));
        u = used;
        subscribed = sub;
    } catch (const std::exception& e) {
        log::info("voice: usage query failed", {{"error", e.what()}});
    }
    if (!u) {
        co_return response::error(500, "Failed to get voice usage");
    }
    co_return response::json(json::object{
        {"usedSeconds", js_number(u->used_seconds)},
        {"limitSeconds", subscribed ? hard_limit_seconds : free_limit_seconds},
        {"conversationCount", u->conversation_count},
        {"conversationLimit", max_conversations},
        {"elevenUserId", eleven_user},
    });
}

std::string without_trailing_slash(std::string s) {
    while (!s.empty() && s.back() == '/') {
        s.pop_back();
    }
    return s;
}

}  // namespace

voice_module::voice_module() : state_(std::make_unique<voice_state>()) {}
voice_module::~voice_module() = default;

std::string_view voice_module::config_schema() const {
    return R"json({
  "type": "object", "additionalProperties": false,
  "properties": {
    "elevenlabs_api_key": {"type": "string", "default": "", "description": "ElevenLabs API key; empty = voice not configured (env ELEVENLABS_API_KEY)."},
    "elevenlabs_url": {"type": "string", "minLength": 1, "default": "https://api.elevenlabs.io/v1/convai", "description": "ElevenLabs Conversational AI API base."},
    "revenuecat_api_key": {"type": "string", "default": "", "description": "RevenueCat secret key for the subscription check (env REVENUECAT_API_KEY)."},
    "revenuecat_url": {"type": "string", "minLength": 1, "default": "https://api.revenuecat.com/v2/projects/proj493735ad", "description": "RevenueCat project API base (customers/<id>/active_entitlements)."}
  }
})json";
}

std::vector<config::env_binding> voice_module::env_bindings() const {
    // Upstream's names (voiceRoutes.ts).
    return {{"ELEVENLABS_API_KEY", "modules.voice.elevenlabs_api_key", "string"},
            {"REVENUECAT_API_KEY", "modules.voice.revenuecat_api_key", "string"}};
}

void voice_module::check_config(const boost::json::object& section) const {
    // A typo in a vendor endpoint stops the start instead of failing every voice request.
    http::client::check_url_settings(section, {"elevenlabs_url", "revenuecat_url"});
}

void voice_module::setup(module_context& ctx) {
    voice_state& m = *state_;
    const auto& cfg = ctx.config();
    auto str = [&](std::string_view k) { return std::string(cfg.at(k).as_string()); };
    // upstream deriveElevenUserId keys the HMAC with HANDY_MASTER_SECRET (here: the configured or generated one).
    m.master_secret = ctx.tokens().master_secret();
    m.elevenlabs_key = str("elevenlabs_api_key");
    m.elevenlabs_url = without_trailing_slash(str("elevenlabs_url"));
    m.revenuecat_key = str("revenuecat_api_key");
    m.revenuecat_url = without_trailing_slash(str("revenuecat_url"));

    const voice_state& c = m;
    ctx.add_route({
        .method = http::verb::post,
        .path = "/v1/voice/conversations",
        .auth = http::auth_mode::bearer,
        .body = v::object({{"agentId", v::string()}}),
        .response_keys = {{500, {"error"}}},
        .fn = [&c](http::request& req) { return post_conversation(c, req); },
    });
    ctx.add_route({
        .method = http::verb::get,
        .path = "/v1/voice/usage",
        .auth = http::auth_mode::bearer,
        .response_keys = {{500, {"error"}}},
        .fn = [&c](http::request& req) { return get_usage(c, req); },
    });
}

}  // namespace happy::mod::voice
