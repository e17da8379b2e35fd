#include "modules/push/push_module.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json.hpp>
#include <algorithm>
#include <atomic>
#include <mutex>
#include <set>

#include "core/db/database.hpp"
#include "core/http/client.hpp"
#include "core/log/log.hpp"
#include "core/util/time.hpp"
#include "modules/push/push_send.hpp"
#include "modules/push/push_store.hpp"

namespace happy::mod::push {

namespace asio = boost::asio;
namespace json = boost::json;
namespace v = validate;
using http::response;

struct push_module::impl {
    db::database* db = nullptr;
    events::emitter* out = nullptr;
    std::string expo_url;  ///< empty: delivery turned off by the operator
    // Reloadable (SIGHUP): read once per push or per retry run.
    std::atomic<std::int64_t> timeout_ms{8000};
    std::atomic<int> retries{3};
    std::atomic<std::int64_t> retry_delay_ms{5000};
    std::chrono::milliseconds timeout() const { return std::chrono::milliseconds(timeout_ms.load()); }

    // Background retries: stop() ends them (no new attempt starts; sleeping ones wake up and return).
    std::atomic<bool> stopping{false};
    std::mutex timers_mu;
    std::set<std::shared_ptr<asio::steady_timer>> timers;

    // Counters (logged with each failure; there is no metrics endpoint yet).
    std::atomic<std::int64_t> sent{0}, failed{0}, suppressed{0}, no_tokens{0}, retried{0}, gave_up{0};
};

namespace {

std::int64_t count(std::size_t n) { return static_cast<std::int64_t>(n); }

// Each handler catches its own DB failures and answers its route's literal 500 body, as pushRoutes.ts does.

asio::awaitable<response> register_token(db::database& db, http::request& req) {
    std::string account = req.account_id;
    std::string token(req.body.at("token").as_string());
    bool failed = false;
    try {
        co_await db.write([&](db::tx& t) { push_token_upsert(t, account, token, now_ms()); });
    } catch (const std::exception& e) {
        log::error("push token register failed", {{"error", e.what()}});
        failed = true;
    }
    if (failed) {
        co_return response::error(500, "Failed to register push token");
    }
    co_return response::json(json::object{{"success", true}});
}

asio::awaitable<response> delete_token(db::database& db, http::request& req) {
    std::string account = req.account_id;
    std::string token(req.param("token"));
    bool failed = false;
    try {
        co_await db.write([&](db::tx& t) { push_token_delete(t, account, token); });
    } catch (const std::exception& e) {
        log::error("push token delete failed", {{"error", e.what()}});
        failed = true;
    }
    if (failed) {
        co_return response::error(500, "Failed to delete push token");
    }
    co_return response::json(json::object{{"success", true}});
}

asio::awaitable<response> list_tokens(db::database& db, http::request& req) {
    std::string account = req.account_id;
    std::vector<push_token> tokens;
    bool failed = false;
    try {
        co_await db.read([&](db::tx& t) { tokens = push_token_list(t, account); });
    } catch (const std::exception& e) {
        log::error("push token list failed", {{"error", e.what()}});
        failed = true;
    }
    if (failed) {
        co_return response::error(500, "Failed to get push tokens");
    }
    json::array out;
    for (const auto& t : tokens) {
        out.push_back(json::object{
            {"id", t.id}, {"token", t.token}, {"createdAt", t.created_at}, {"updatedAt", t.updated_at}});
    }
    co_return response::json(json::object{{"tokens", std::move(out)}});
}

/// Deletes the rows of tokens Expo reported as DeviceNotRegistered (pushDispatch.ts; errors only logged).
asio::awaitable<void> forget_unregistered(db::database& db, std::vector<std::string> ids) {
    if (ids.empty()) {
        co_return;
    }
    try {
        co_await db.write([&](db::tx& t) {
            for (const auto& id : ids) {
                push_token_delete_by_id(t, id);
            }
        });
        log::info("push tokens removed (DeviceNotRegistered)", {{"count", count(ids.size())}});
    } catch (const std::exception& e) {
        log::error("push token cleanup failed", {{"error", e.what()}});
    }
}

/// Sleeps `delay` unless the module stops first. Returns false when stopping.
asio::awaitable<bool> retry_sleep(std::shared_ptr<push_module::impl> m, std::chrono::milliseconds delay) {
    auto timer = std::make_shared<asio::steady_timer>(co_await asio::this_coro::executor);
    timer->expires_after(delay);
    {
        std::lock_guard lock(m->timers_mu);
        if (m->stopping) {
            co_return false;
        }
        m->timers.insert(timer);
    }
    co_await timer->async_wait(asio::as_tuple(asio::use_awaitable));
    {
        std::lock_guard lock(m->timers_mu);
        m->timers.erase(timer);
    }
    co_return !m->stopping;
}

/// Not upstream (it sends once): messages that failed for a transient reason (network, timeout, HTTP 429/5xx) are
/// sent again in the background with doubling delays, so a short Expo or network outage does not lose the push.
/// The route has already answered with the first attempt's outcome. A retry is dropped when the user has since
/// focused an app (the push would be suppressed now).
asio::awaitable<void> retry_attempts(std::shared_ptr<push_module::impl> m, std::string account, std::string session_id,
                                     std::vector<expo_message> pending) {
    auto delay = std::chrono::milliseconds(m->retry_delay_ms.load());
    for (int attempt = 1; attempt <= m->retries.load() && !pending.empty(); ++attempt) {
        if (!co_await retry_sleep(m, delay)) {
            co_return;
        }
        delay *= 2;
        if (co_await m->out->has_active_ui(account)) {
            log::info("push retry dropped: user active", {{"sessionId", session_id}});
            m->suppressed += 1;
            co_return;
        }
        // Only tokens still registered: a device unregistered meanwhile (logout) gets nothing more.
        std::vector<push_token> current;
        co_await m->db->read([&](db::tx& t) { current = push_token_list(t, account); });
        std::erase_if(pending, [&](const expo_message& msg) {
            return std::none_of(current.begin(), current.end(), [&](const push_token& t) { return t.id == msg.token_id; });
        });
        if (pending.empty()) {
            co_return;
        }
        m->retried += count(pending.size());
        auto tickets = co_await expo_send(pending, m->expo_url, m->timeout());
        std::vector<expo_message> again;
        std::vector<std::string> unregistered;
        std::size_t ok = 0;
        for (std::size_t i = 0; i < pending.size(); ++i) {
            const ticket* t = i < tickets.size() ? &tickets[i] : nullptr;
            if (t && t->ok) {
                ++ok;
            } else if (t && t->device_not_registered) {
                unregistered.push_back(pending[i].token_id);
            } else if (t && t->transient) {
                again.push_back(std::move(pending[i]));
            }
        }
        m->sent += count(ok);
        co_await forget_unregistered(*m->db, std::move(unregistered));
        log::info("push retry",
                  {{"sessionId", session_id}, {"attempt", attempt}, {"delivered", count(ok)},
                   {"pending", count(again.size())}});
        pending = std::move(again);
    }
    if (!pending.empty()) {
        m->gave_up += count(pending.size());
        log::error("push delivery gave up",
                   {{"sessionId", session_id}, {"messages", count(pending.size())}, {"gaveUp", m->gave_up.load()}});
    }
}

/// Detached entry of the re-sends: nothing may escape a detached coroutine.
asio::awaitable<void> retry_loop(std::shared_ptr<push_module::impl> m, std::string account, std::string session_id,
                                 std::vector<expo_message> pending) {
    try {
        co_await retry_attempts(m, account, session_id, std::move(pending));
    } catch (const std::exception& e) {
        log::error("push retry failed", {{"sessionId", session_id}, {"error", e.what()}});
    }
}

asio::awaitable<outcome> dispatch(std::shared_ptr<push_module::impl> m, std::string account, std::string session_id,
                                  std::string title, std::string body, json::object data) {
    // focusTracker.ts: suppressed only on positive proof of a focused app; asking the other instances of a cluster
    // is bounded and fails open (the push is sent).
    if (co_await m->out->has_active_ui(account)) {
        log::info("push suppressed: user active", {{"sessionId", session_id}});
        m->suppressed += 1;
        co_return outcome{"suppressed", std::nullopt, std::nullopt, "active-ui-client"};
    }
    std::vector<push_token> tokens;
    co_await m->db->read([&](db::tx& t) { tokens = push_token_list(t, account); });
    if (tokens.empty()) {
        log::info("push skipped: no tokens", {{"sessionId", session_id}});
        m->no_tokens += 1;
        co_return outcome{"no_tokens", std::nullopt, std::nullopt, std::nullopt};
    }
    if (m->expo_url.empty()) {
        m->failed += count(tokens.size());
        co_return outcome{"failed", std::nullopt, std::nullopt, "Push delivery disabled"};
    }
    std::vector<expo_message> messages;
    messages.reserve(tokens.size());
    for (auto& t : tokens) {
        messages.push_back(push_message(t.id, t.token, title, body, data));
    }
    auto tickets = co_await expo_send(messages, m->expo_url, m->timeout());
    outcome res = outcome_from_tickets(tickets, tokens.size());

    std::vector<std::string> unregistered;
    std::vector<expo_message> transient;
    std::size_t ok = 0;
    for (std::size_t i = 0; i < tickets.size() && i < messages.size(); ++i) {
        if (tickets[i].ok) {
            ++ok;
        } else if (tickets[i].device_not_registered) {
            unregistered.push_back(messages[i].token_id);
        } else if (tickets[i].transient) {
            transient.push_back(messages[i]);
        }
    }
    m->sent += count(ok);
    m->failed += count(tickets.size() - ok);
    if (res.result == "sent") {
        log::info("push sent", {{"sessionId", session_id}, {"tokens", count(ok)}});
    } else {
        log::warn("push not delivered to every device",
                  {{"sessionId", session_id}, {"result", res.result}, {"reason", res.reason.value_or("")},
                   {"failedTotal", m->failed.load()}});
    }
    co_await forget_unregistered(*m->db, std::move(unregistered));
    if (!transient.empty() && m->retries.load() > 0 && !m->stopping) {
        asio::co_spawn(co_await asio::this_coro::executor, retry_loop(m, account, session_id, std::move(transient)),
                       asio::detached);
    }
    co_return res;
}

asio::awaitable<response> push_event(std::shared_ptr<push_module::impl> m, http::request& req) {
    std::string account = req.account_id;
    std::string session_id(req.param("sessionId"));
    const auto& b = req.body.as_object();
    std::string kind(b.at("kind").as_string());
    std::string title(b.at("title").as_string());
    std::string body(b.at("body").as_string());
    const json::value* client_data = b.if_contains("data");

    bool owned = false;
    co_await m->db->read([&](db::tx& t) { owned = push_session_owned(t, account, session_id); });
    if (!owned) {
        co_return response::error(404, "Session not found");
    }
    // eventRouter.ts buildSessionEventEphemeral, before the push and whatever happens to it.
    m->out->emit_ephemeral(account, events::recipients::session(session_id),
                           json::object{{"type", "session-event"},
                                        {"sessionId", session_id},
                                        {"kind", kind},
                                        {"title", title},
                                        {"body", body},
                                        {"timestamp", now_ms()}});
    json::object data =
        push_event_data(session_id, client_data && client_data->is_object() ? &client_data->get_object() : nullptr, kind);
    outcome res;
    try {
        res = co_await dispatch(m, account, session_id, title, body, std::move(data));
    } catch (const std::exception& e) {
        // pushDispatch.ts: an unexpected error still answers 200 with the message as the reason.
        log::error("push dispatch failed", {{"sessionId", session_id}, {"error", e.what()}});
        res = outcome{"failed", std::nullopt, std::nullopt, std::string(e.what())};
    }
    co_return response::json(res.to_json());
}

}  // namespace

push_module::push_module() : impl_(std::make_shared<impl>()) {}
push_module::~push_module() = default;

std::string_view push_module::config_schema() const {
    return R"({"type": "object", "additionalProperties": false, "properties": {
        "expo_url": {"type": "string", "default": "https://exp.host/--/api/v2/push/send",
                     "description": "Expo push API endpoint the session-event pushes are posted to (upstream's, the default); an empty string turns delivery off (the routes keep answering)."},
        "timeout_ms": {"type": "integer", "minimum": 100, "maximum": 60000, "default": 8000, "reloadable": true,
                       "description": "One deadline for all batches of one push (upstream: 8 s)."},
        "retries": {"type": "integer", "minimum": 0, "maximum": 10, "default": 3, "reloadable": true,
                    "description": "Background re-sends of messages that failed transiently (0 = upstream behaviour)."},
        "retry_delay_ms": {"type": "integer", "minimum": 10, "maximum": 3600000, "default": 5000, "reloadable": true,
                           "description": "Delay before the first re-send; doubles each time."}
    }})";
}

void push_module::check_config(const boost::json::object& section) const {
    // A typo stops the server at start-up (and fails --check-config) instead of failing every push later; an
    // empty URL is the operator turning delivery off.
    http::client::check_url_settings(section, {"expo_url"}, /*empty_ok=*/true);
}

void push_module::reload(const boost::json::object& cfg) {
    impl_->timeout_ms = cfg.at("timeout_ms").to_number<std::int64_t>();
    impl_->retries = static_cast<int>(cfg.at("retries").to_number<std::int64_t>());
    impl_->retry_delay_ms = cfg.at("retry_delay_ms").to_number<std::int64_t>();
}

void push_module::setup(module_context& ctx) {
    auto m = impl_;
    m->db = &ctx.db();
    m->out = &ctx.events();
    const auto& cfg = ctx.config();
    m->expo_url = std::string(cfg.at("expo_url").as_string());
    reload(cfg);
    // Said once at start, because otherwise the only sign of undelivered pushes is a reason in a response that
    // only the CLI reads.
    if (m->expo_url.empty()) {
        log::info("push delivery off: modules.push.expo_url is empty; push-event answers \"Push delivery disabled\"");
    } else {
        log::info("push delivery on", {{"expo_url", m->expo_url}});
    }
    auto& db = ctx.db();

    ctx.add_route({
        .method = http::verb::post,
        .path = "/v1/push-tokens",
        .auth = http::auth_mode::bearer,
        .body = v::object({{"token", v::string()}}),
        .fn = [&db](http::request& req) { return register_token(db, req); },
    });
    ctx.add_route({
        .method = http::verb::del,
        .path = "/v1/push-tokens/:token",
        .auth = http::auth_mode::bearer,
        .params = v::object({{"token", v::string()}}),
        .fn = [&db](http::request& req) { return delete_token(db, req); },
    });
    ctx.add_route({
        .method = http::verb::get,
        .path = "/v1/push-tokens",
        .auth = http::auth_mode::bearer,
        .fn = [&db](http::request& req) { return list_tokens(db, req); },
    });
    ctx.add_route({
        .method = http::verb::post,
        .path = "/v1/sessions/:sessionId/push-event",
        .auth = http::auth_mode::bearer,
        .params = v::object({{"sessionId", v::string()}}),
        .body = v::object({{"kind", v::enumeration({"done", "permission", "question"})},
                           {"title", v::string().min(1).max(200)},
                           {"body", v::string().min(1).max(500)},
                           {"data", v::record(v::any()).optional()}}),
        .fn = [m](http::request& req) { return push_event(m, req); },
    });
}

asio::awaitable<void> push_module::stop() {
    std::set<std::shared_ptr<asio::steady_timer>> timers;
    {
        std::lock_guard lock(impl_->timers_mu);
        impl_->stopping = true;
        timers.swap(impl_->timers);
    }
    for (const auto& t : timers) {
        asio::post(t->get_executor(), [t] { t->cancel(); });
    }
    co_return;
}

}  // namespace happy::mod::push
