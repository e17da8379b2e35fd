#include "modules/connect/connect_module.hpp"

#include <boost/json.hpp>
#include <cctype>
#include <future>
#include <thread>

#include "core/crypto/ids.hpp"
#include "core/crypto/key_tree.hpp"
#include "core/crypto/token.hpp"
#include "core/auth/token_service.hpp"
#include "core/db/database.hpp"
#include "core/http/client.hpp"
#include "core/json/js_value.hpp"
#include "core/log/log.hpp"
#include "core/util/time.hpp"
#include "modules/auth/updates.hpp"
#include "modules/connect/connect_store.hpp"
#include "modules/connect/github_webhook.hpp"

namespace happy::mod::connect {

namespace json = boost::json;
namespace v = validate;
using http::response;

namespace {

/// The keys derived from the master secret (PBKDF2, slow by design: once, off the request path).
struct secrets {
    crypto::key_tree tree;       ///< encrypt.ts: KeyTree(deriveSecureKey(secret, 'happy-server-tokens'))
    crypto::token_keys github;   ///< auth.ts githubGenerator: ephemeral tokens of service 'github-happy'
};

constexpr std::string_view k_github_issuer = "github-happy";

/// URLSearchParams serialization (application/x-www-form-urlencoded): the unreserved set is A–Z a–z 0–9 * - . _
/// and a space becomes '+'.
std::string form_encode(std::string_view s) {
    static constexpr char hex[] = "0123456789ABCDEF";
    std::string out;
    for (unsigned char c : s) {
        if (std::isalnum(c) || c == '*' || c == '-' || c == '.' || c == '_') {
            out += static_cast<char>(c);
        } else if (c == ' ') {
            out += '+';
        } else {
            out += '%';
            out += hex[c >> 4];
            out += hex[c & 15];
        }
    }
    return out;
}

/// JavaScript encodeURIComponent (input is valid UTF-8: it comes from JSON or a decoded query).
std::string uri_component(std::string_view s) {
    static constexpr char hex[] = "0123456789ABCDEF";
    std::string out;
    for (unsigned char c : s) {
        if (std::isalnum(c) || std::string_view("-_.!~*'()").find(static_cast<char>(c)) != std::string_view::npos) {
            out += static_cast<char>(c);
        } else {
            out += '%';
            out += hex[c >> 4];
            out += hex[c & 15];
        }
    }
    return out;
}

bool is_json_media(std::string_view content_type) {
    auto media = content_type.substr(0, content_type.find(';'));
    while (!media.empty() && (media.back() == ' ' || media.back() == '\t')) {
        media.remove_suffix(1);
    }
    while (!media.empty() && (media.front() == ' ' || media.front() == '\t')) {
        media.remove_prefix(1);
    }
    if (media.size() != 16) {
        return false;
    }
    for (std::size_t i = 0; i < media.size(); ++i) {
        if (std::tolower(static_cast<unsigned char>(media[i])) != "application/json"[i]) {
            return false;
        }
    }
    return true;
}

}  // namespace

struct connect_state {
    db::database* db = nullptr;
    events::emitter* out = nullptr;
    std::string app_url;
    struct {
        std::string client_id, client_secret, redirect_url, redirect_uri, app_id, private_key, webhook_secret;
        std::string oauth_url, api_url;
    } github;
    std::shared_future<secrets> keys;

    const secrets& derived() const { return keys.get(); }

    /// upstream modules/github.ts initGithub: webhooks exist only when all six variables are set.
    bool webhooks_configured() const {
        return !github.app_id.empty() && !github.private_key.empty() && !github.client_id.empty() &&
               !github.client_secret.empty() && !github.redirect_uri.empty() && !github.webhook_secret.empty();
    }

    void emit_account_update(const std::string& account, std::int64_t seq, json::object fields) const {
        // eventRouter.ts buildUpdateAccountUpdate: {t, id, ...profile}; an undefined avatar vanishes.
        json::object body{{"t", "update-account"}, {"id", account}};
        for (auto& kv : fields) {
            body[kv.key()] = std::move(kv.value());
        }
        out->emit_update(account, events::recipients::user_scoped_only(),
                         auth::update_envelope_build(seq, std::move(body), now_ms()));
    }
};

namespace {

// --- GitHub -----------------------------------------------------------------------------------------------

boost::asio::awaitable<response> github_params(const connect_state& m, http::request& req) {
    if (m.github.client_id.empty() || m.github.redirect_url.empty()) {
        co_return response::error(400, "GitHub OAuth not configured");
    }
    // auth.createGithubToken: privacy-kit ephemeral token, TTL 5 minutes (`purpose` is dropped by the library).
    const std::int64_t now = now_ms();
    std::string state = crypto::token_mint(m.derived().github, k_github_issuer, req.account_id, {}, now / 1000,
                                           crypto::uuid_v4(), (now + 300000) / 1000);
    std::string url = m.github.oauth_url + "/authorize?client_id=" + form_encode(m.github.client_id) +
                      "&redirect_uri=" + form_encode(m.github.redirect_url) +
                      "&scope=" + form_encode("read:user,user:email,read:org,codespace") + "&state=" + form_encode(state);
    co_return response::json(json::object{{"url", std::move(url)}});
}

/// A parsed JSON body, as `await res.json()`: throws on anything that is not JSON.
json::value parse_json_body(const std::string& body) {
    boost::system::error_code ec;
    json::value v = json::parse(body, ec);
    if (ec) {
        throw std::runtime_error("response is not JSON");
    }
    return v;
}

/// `String(x)` of a JSON value, for the error code GitHub returns.
std::string js_string(const json::value& v) {
    return v.is_string() ? std::string(v.get_string()) : json::serialize(v);
}

void emit_connect_updates(const connect_state& m, const github_connect_result& r, const std::string& account,
                          const json::value& user, const std::string& login) {
    if (r.displaced) {
        m.emit_account_update(r.displaced->account_id, r.displaced->seq, {{"github", nullptr}, {"username", nullptr}});
    }
    if (r.connected) {
        // githubConnect sends the profile as GitHub returned it. Upstream also downloads the avatar into its file
        // store; that import is not built here (README, compatibility table), so no `avatar` is sent.
        auto nullable = [](const std::optional<std::string>& v) { return v ? json::value(*v) : json::value(nullptr); };
        m.emit_account_update(account, r.connected->seq,
                              {{"github", user},
                               {"username", login},
                               {"firstName", nullable(r.first_name)},
                               {"lastName", nullable(r.last_name)}});
    }
}

void log_connected(const std::string& account, const std::string& github_user) {
    log::info("github connected", {{"account", account}, {"github_user", github_user}});
}

/// The rest of connectRoutes.ts's callback after the configuration check: exchange the code, fetch the GitHub user,
/// link it (githubConnect). Returns the redirect location; throws where upstream's try block would catch.
boost::asio::awaitable<std::optional<std::string>> github_oauth_complete(const connect_state& m, std::string account,
                                                                         std::string code) {
    using namespace std::chrono_literals;
    json::object exchange;
    exchange["client_id"] = m.github.client_id;
    exchange["client_secret"] = m.github.client_secret;
    exchange["code"] = code;
    std::string body = json::serialize(exchange);
    // Requests are built in named variables: g++ 12 miscompiles braced temporaries inside co_await expressions.
    http::client::header_list token_headers;
    token_headers.emplace_back("Accept", "application/json");
    token_headers.emplace_back("Content-Type", "application/json");
    std::string token_url = m.github.oauth_url + "/access_token";
    std::string post = "POST";
    auto token_res = co_await http::client::request(post, token_url, token_headers, std::move(body), 10s);
    json::value token_data = parse_json_body(token_res.body);  // upstream does not look at the status
    const json::value* access = nullptr;
    if (const auto* o = token_data.if_object()) {
        if (const auto* err = o->if_contains("error"); err && happy::json::js_truthy(err)) {
            std::string location = m.app_url + "?error=" + uri_component(js_string(*err));
            co_return location;
        }
        access = o->if_contains("access_token");
    }
    std::string access_token = access && access->is_string() ? std::string(access->get_string()) : "undefined";

    http::client::header_list user_headers;
    user_headers.emplace_back("Authorization", "Bearer " + access_token);
    user_headers.emplace_back("Accept", "application/vnd.github.v3+json");
    std::string user_url = m.github.api_url + "/user";
    std::string get = "GET";
    auto user_res = co_await http::client::request(get, user_url, user_headers, std::string(), 10s);
    json::value user = parse_json_body(user_res.body);  // parsed before the status check, as upstream
    if (!user_res.ok()) {
        std::string location = m.app_url + "?error=github_user_fetch_failed";
        co_return location;
    }
    const auto* uo = user.if_object();
    const json::value* id = uo ? uo->if_contains("id") : nullptr;
    const json::value* login = uo ? uo->if_contains("login") : nullptr;
    if (!id || id->is_null() || !login || !login->is_string() || !access || !access->is_string()) {
        // githubProfile.id.toString() / encryptString(undefined) throw upstream.
        throw std::runtime_error("GitHub user or token incomplete");
    }
    github_profile profile;
    profile.id = id->is_string() ? std::string(id->get_string()) : json::serialize(*id);
    profile.login = std::string(login->get_string());
    if (const auto* n = uo->if_contains("name"); n && n->is_string()) {
        profile.name = std::string(n->get_string());
    }
    profile.profile_json = json::serialize(user);
    std::string sealed = m.derived().tree.encrypt(github_token_path(account), access_token);
    github_connect_result r;
    co_await m.db->write([&](db::tx& t) { r = github_connect(t, account, profile, sealed, now_ms()); });
    emit_connect_updates(m, r, account, user, profile.login);
    log_connected(account, profile.id);
    std::string done = m.app_url + "?github=connected&user=" + uri_component(profile.login);
    co_return done;
}

boost::asio::awaitable<response> github_callback(const connect_state& m, http::request& req) {
    std::string code(req.query.at("code").as_string());
    std::string state(req.query.at("state").as_string());
    auto claims = crypto::token_verify(m.derived().github, k_github_issuer, state, now_ms() / 1000);
    if (!claims) {
        log::info("github oauth: invalid state token");
        co_return response::redirect(m.app_url + "?error=invalid_state");
    }
    if (m.github.client_id.empty() || m.github.client_secret.empty()) {
        co_return response::redirect(m.app_url + "?error=server_config");
    }
    std::string account(claims->sub);
    std::optional<std::string> location;
    try {
        location = co_await github_oauth_complete(m, account, code);
    } catch (const std::exception& e) {
        // upstream: any exception (network, non-JSON answer, failed write) ends here.
        log::warn("github oauth callback failed", {{"error", e.what()}});
    }
    co_return response::redirect(location.value_or(m.app_url + "?error=server_error"));
}

boost::asio::awaitable<response> github_webhook(const connect_state& m, http::request& req) {
    // connectRoutes.ts keeps `rawBody` only from its JSON parser, and an empty body leaves it falsy.
    if (!is_json_media(req.content_type) || req.raw_body.empty()) {
        log::error("github webhook: raw body not available for signature verification");
        co_return response::error(500, "Server configuration error");
    }
    if (!m.webhooks_configured()) {
        log::error("github webhook: webhooks not configured");
        co_return response::error(500, "Webhooks not configured");
    }
    auto sig = req.header("x-hub-signature-256").value_or("");
    auto event = req.header("x-github-event").value_or("");
    auto id = req.header("x-github-delivery").value_or("unknown");
    if (github_webhook_receive(m.github.webhook_secret, event, id, req.raw_body, sig) != webhook_result::received) {
        co_return response::error(500, "Internal server error");
    }
    co_return response::json(json::object{{"received", true}});
}

boost::asio::awaitable<response> github_delete(const connect_state& m, http::request& req) {
    std::string account = req.account_id;
    std::optional<github_change> change;
    bool failed = false;
    try {
        co_await m.db->write([&](db::tx& t) { change = github_disconnect(t, account, now_ms()); });
    } catch (const std::exception& e) {
        log::error("github disconnect failed", {{"error", e.what()}});
        failed = true;
    }
    if (failed) {
        co_return response::error(500, "Failed to disconnect GitHub account");
    }
    if (change) {
        m.emit_account_update(change->account_id, change->seq, {{"github", nullptr}, {"username", nullptr}});
    }
    co_return response::json(json::object{{"success", true}});
}

// --- Vendor tokens ------------------------------------------------------------------------------------------

boost::asio::awaitable<response> vendor_register(const connect_state& m, http::request& req) {
    std::string account = req.account_id;
    std::string vendor(req.param("vendor"));
    std::string sealed =
        m.derived().tree.encrypt(vendor_token_path(account, vendor), req.body.at("token").as_string());
    // No handler-level catch upstream: a failure (e.g. a token whose account is gone: FK) is the generic 500.
    co_await m.db->write([&](db::tx& t) { vendor_token_upsert(t, account, vendor, sealed, now_ms()); });
    co_return response::json(json::object{{"success", true}});
}

boost::asio::awaitable<response> vendor_token(const connect_state& m, http::request& req) {
    std::string account = req.account_id;
    std::string vendor(req.param("vendor"));
    std::optional<std::string> sealed;
    co_await m.db->read([&](db::tx& t) { sealed = vendor_token_get(t, account, vendor); });
    if (!sealed) {
        co_return response::json(json::object{{"token", nullptr}});
    }
    auto plain = m.derived().tree.decrypt(vendor_token_path(account, vendor), *sealed);
    if (!plain) {
        throw std::runtime_error("vendor token does not decrypt");  // privacy-kit throws: generic 500
    }
    co_return response::json(json::object{{"token", *plain}});
}

boost::asio::awaitable<response> vendor_delete(const connect_state& m, http::request& req) {
    std::string account = req.account_id;
    std::string vendor(req.param("vendor"));
    bool deleted = false;
    co_await m.db->write([&](db::tx& t) { deleted = vendor_token_delete(t, account, vendor); });
    if (!deleted) {
        // Prisma delete of a missing row throws P2025: upstream answers the generic 500, not a 404.
        co_return response::internal_error();
    }
    co_return response::json(json::object{{"success", true}});
}

boost::asio::awaitable<response> vendor_list(const connect_state& m, http::request& req) {
    std::string account = req.account_id;
    std::vector<std::pair<std::string, std::string>> rows;
    co_await m.db->read([&](db::tx& t) { rows = vendor_token_list(t, account); });
    json::array tokens;
    for (const auto& [vendor, sealed] : rows) {
        auto plain = m.derived().tree.decrypt(vendor_token_path(account, vendor), sealed);
        if (!plain) {
            throw std::runtime_error("vendor token does not decrypt");
        }
        tokens.push_back(json::object{{"vendor", vendor}, {"token", *plain}});
    }
    co_return response::json(json::object{{"tokens", std::move(tokens)}});
}

v::node vendor_params() { return v::object({{"vendor", v::enumeration({"openai", "anthropic", "gemini"})}}); }

}  // namespace

connect_module::connect_module() : state_(std::make_unique<connect_state>()) {}
connect_module::~connect_module() = default;

std::string_view connect_module::config_schema() const {
    return R"json({
  "type": "object", "additionalProperties": false,
  "properties": {
    "app_url": {"type": "string", "minLength": 1, "default": "https://app.happy.engineering", "description": "Where the GitHub OAuth callback redirects the browser (upstream: fixed)."},
    "github": {
      "type": "object", "additionalProperties": false,
      "properties": {
        "client_id": {"type": "string", "default": "", "description": "GitHub OAuth app client id (env GITHUB_CLIENT_ID)."},
        "client_secret": {"type": "string", "default": "", "description": "GitHub OAuth app client secret (env GITHUB_CLIENT_SECRET)."},
        "redirect_url": {"type": "string", "default": "", "description": "OAuth redirect URL sent to GitHub (env GITHUB_REDIRECT_URL)."},
        "redirect_uri": {"type": "string", "default": "", "description": "Needed to enable webhooks, as upstream (env GITHUB_REDIRECT_URI)."},
        "app_id": {"type": "string", "default": "", "description": "GitHub App id; needed to enable webhooks (env GITHUB_APP_ID)."},
        "private_key": {"type": "string", "default": "", "description": "GitHub App private key; needed to enable webhooks (env GITHUB_PRIVATE_KEY)."},
        "webhook_secret": {"type": "string", "default": "", "description": "HMAC secret of webhook deliveries (env GITHUB_WEBHOOK_SECRET)."},
        "oauth_url": {"type": "string", "minLength": 1, "default": "https://github.com/login/oauth", "description": "Base of the authorize and access_token endpoints."},
        "api_url": {"type": "string", "minLength": 1, "default": "https://api.github.com", "description": "GitHub REST API base (GET /user)."}
      }
    }
  }
})json";
}

std::vector<config::env_binding> connect_module::env_bindings() const {
    // Upstream's names (connectRoutes.ts, modules/github.ts). Both GITHUB_REDIRECT_URL (OAuth params) and
    // GITHUB_REDIRECT_URI (webhook set-up) are read upstream.
    return {{"GITHUB_CLIENT_ID", "modules.connect.github.client_id", "string"},
            {"GITHUB_CLIENT_SECRET", "modules.connect.github.client_secret", "string"},
            {"GITHUB_REDIRECT_URL", "modules.connect.github.redirect_url", "string"},
            {"GITHUB_REDIRECT_URI", "modules.connect.github.redirect_uri", "string"},
            {"GITHUB_APP_ID", "modules.connect.github.app_id", "string"},
            {"GITHUB_PRIVATE_KEY", "modules.connect.github.private_key", "string"},
            {"GITHUB_WEBHOOK_SECRET", "modules.connect.github.webhook_secret", "string"}};
}

void connect_module::check_config(const boost::json::object& section) const {
    // Typos in the GitHub endpoints or the app URL stop the start instead of breaking every OAuth callback.
    http::client::check_url_settings(section, {"app_url"});
    try {
        http::client::check_url_settings(section.at("github").as_object(), {"oauth_url", "api_url"});
    } catch (const std::exception& e) {
        throw std::runtime_error(std::string("github.") + e.what());
    }
}

void connect_module::setup(module_context& ctx) {
    connect_state& m = *state_;
    m.db = &ctx.db();
    m.out = &ctx.events();
    const auto& cfg = ctx.config();
    m.app_url = std::string(cfg.at("app_url").as_string());
    const auto& gh = cfg.at("github").as_object();
    auto str = [&](std::string_view k) { return std::string(gh.at(k).as_string()); };
    m.github = {str("client_id"), str("client_secret"), str("redirect_url"), str("redirect_uri"), str("app_id"),
                str("private_key"), str("webhook_secret"), str("oauth_url"), str("api_url")};
    while (!m.github.oauth_url.empty() && m.github.oauth_url.back() == '/') {
        m.github.oauth_url.pop_back();
    }
    while (!m.github.api_url.empty() && m.github.api_url.back() == '/') {
        m.github.api_url.pop_back();
    }
    std::string secret = ctx.tokens().master_secret();
    // A detached thread and a promise rather than std::async: the future of std::async blocks in its destructor
    // until the derivation finishes, so a server stopped within ~200 ms of starting waited for PBKDF2 to end
    // (SIGTERM-to-exit 100-230 ms instead of 4). The thread owns everything it touches (the secret, the promise).
    std::promise<secrets> derived;
    m.keys = derived.get_future().share();
    std::thread([secret, derived = std::move(derived)]() mutable {
        try {
            derived.set_value(secrets{crypto::key_tree::from_secret(secret, "happy-server-tokens"),
                                      crypto::token_keys_derive(secret, "github-happy Ephemeral Token")});
        } catch (...) {
            derived.set_exception(std::current_exception());
        }
    }).detach();

    const connect_state& c = m;
    const std::vector<std::pair<unsigned, std::vector<std::string>>> error_only = {{400, {"error"}},
                                                                                   {500, {"error"}}};
    ctx.add_route({
        .method = http::verb::get,
        .path = "/v1/connect/github/params",
        .auth = http::auth_mode::bearer,
        .response_keys = error_only,
        .fn = [&c](http::request& req) { return github_params(c, req); },
    });
    ctx.add_route({
        .method = http::verb::get,
        .path = "/v1/connect/github/callback",
        .query = v::object({{"code", v::string()}, {"state", v::string()}}),
        .fn = [&c](http::request& req) { return github_callback(c, req); },
    });
    ctx.add_route({
        .method = http::verb::post,
        .path = "/v1/connect/github/webhook",
        .body = v::any(),
        .headers = v::object({{"x-hub-signature-256", v::string()},
                              {"x-github-event", v::string()},
                              {"x-github-delivery", v::string().optional()}}),
        .response_keys = {{200, {"received"}}, {401, {"error"}}, {500, {"error"}}},
        .keep_raw_json = true,
        .fn = [&c](http::request& req) { return github_webhook(c, req); },
    });
    ctx.add_route({
        .method = http::verb::del,
        .path = "/v1/connect/github",
        .auth = http::auth_mode::bearer,
        .response_keys = {{404, {"error"}}, {500, {"error"}}},
        .fn = [&c](http::request& req) { return github_delete(c, req); },
    });
    ctx.add_route({
        .method = http::verb::post,
        .path = "/v1/connect/:vendor/register",
        .auth = http::auth_mode::bearer,
        .params = vendor_params(),
        .body = v::object({{"token", v::string()}}),
        .fn = [&c](http::request& req) { return vendor_register(c, req); },
    });
    ctx.add_route({
        .method = http::verb::get,
        .path = "/v1/connect/:vendor/token",
        .auth = http::auth_mode::bearer,
        .params = vendor_params(),
        .fn = [&c](http::request& req) { return vendor_token(c, req); },
    });
    ctx.add_route({
        .method = http::verb::del,
        .path = "/v1/connect/:vendor",
        .auth = http::auth_mode::bearer,
        .params = vendor_params(),
        .fn = [&c](http::request& req) { return vendor_delete(c, req); },
    });
    ctx.add_route({
        .method = http::verb::get,
        .path = "/v1/connect/tokens",
        .auth = http::auth_mode::bearer,
        .fn = [&c](http::request& req) { return vendor_list(c, req); },
    });
}

}  // namespace happy::mod::connect
