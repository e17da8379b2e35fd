#include "modules/voice/voice_module.hpp"

#include <boost/json.hpp>

#include "core/auth/token_service.hpp"
#include "core/log/log.hpp"
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

boost::asio::awaitable<response> post_conversation(const voice_state& m, http::request& req) {
    std::string agent(req.body.at("agentId").as_string());
    log::info("voice token request", {{"account", req.account_id}});
    if (m.elevenlabs_key.empty()) {
        co_return response::error(500, "ELEVENLABS_API_KEY not configured");
    }
    if (m.revenuecat_key.empty()) {
        co_return response::error(500, "REVENUECAT_API_KEY not configured");
    }
    // TODO(voice): usage and token requests need the outbound HTTP client (core/http/client).
    co_return response::error(500, "Failed to get voice credentials");
}

boost::asio::awaitable<response> get_usage(const voice_state& m, http::request& req) {
    if (m.elevenlabs_key.empty()) {
        co_return response::error(500, "ELEVENLABS_API_KEY not configured");
    }
    // TODO(voice): needs the outbound HTTP client (core/http/client).
    co_return response::error(500, "Failed to get voice usage");
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
