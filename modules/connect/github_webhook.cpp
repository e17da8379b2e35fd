#include "modules/connect/github_webhook.hpp"

#include <boost/json.hpp>

#include "core/crypto/base64.hpp"
#include "core/crypto/key_tree.hpp"
#include "core/log/log.hpp"

namespace happy::mod::connect {

namespace json = boost::json;

namespace {

/// JavaScript `payload.a.b` would throw: `payload.a` is undefined or null. Reading a property of any other
/// value (a string, a number) just gives undefined.
bool throws_reading(const json::value& payload, std::string_view field) {
    const auto* o = payload.if_object();
    if (!o) {
        return true;  // arrays: the property is undefined
    }
    const auto* v = o->if_contains(field);
    return !v || v->is_null();
}

std::string text_at(const json::value& payload, std::string_view a, std::string_view b) {
    if (throws_reading(payload, a)) {
        return "undefined";
    }
    const auto& inner = payload.as_object().at(a);
    if (const auto* o = inner.if_object()) {
        if (const auto* v = o->if_contains(b)) {
            return v->is_string() ? std::string(v->get_string()) : json::serialize(*v);
        }
    }
    return "undefined";
}

}  // namespace

std::string github_webhook_signature(std::string_view secret, std::string_view payload) {
    auto mac = crypto::hmac_sha256(secret, payload);
    return "sha256=" + crypto::hex_lower(std::string_view(reinterpret_cast<const char*>(mac.data()), mac.size()));
}

webhook_result github_webhook_receive(std::string_view secret, std::string_view event, std::string_view delivery_id,
                                      std::string_view payload, std::string_view signature) {
    // @octokit/webhooks-methods verify(): same length and timingSafeEqual over the header as sent; an empty
    // signature or payload throws, which ends the same way.
    if (signature.empty() || payload.empty() ||
        !crypto::equal_constant_time(signature, github_webhook_signature(secret, payload))) {
        log::warn("github webhook signature mismatch", {{"event", event}, {"id", delivery_id}});
        return webhook_result::invalid_signature;
    }
    boost::system::error_code ec;
    json::value v = json::parse(payload, ec);
    // receiverHandle: a falsy payload is "Event payload not passed"; `"action" in payload` throws on primitives.
    if (ec || !(v.is_object() || v.is_array())) {
        return webhook_result::handler_error;
    }
    std::string action;
    if (const auto* o = v.if_object()) {
        if (const auto* a = o->if_contains("action"); a && a->is_string()) {
            action = a->get_string();
        }
    }
    // The fields each typed handler of sources/modules/github.ts dereferences.
    struct handler {
        std::string_view event;
        std::string_view action;  // empty: any
        std::string_view first, second;
    };
    static constexpr handler handlers[] = {
        {"push", "", "repository", "pusher"},
        {"pull_request", "", "repository", "pull_request"},
        {"issues", "", "repository", "issue"},
        {"star", "created", "repository", "sender"},
        {"star", "deleted", "repository", "sender"},
        {"repository", "", "repository", "repository"},
    };
    for (const auto& h : handlers) {
        if (h.event != event || (!h.action.empty() && h.action != action)) {
            continue;
        }
        if (throws_reading(v, h.first) || throws_reading(v, h.second)) {
            log::error("github webhook handler error", {{"event", event}, {"id", delivery_id}});
            return webhook_result::handler_error;
        }
        log::info("github webhook", {{"event", event},
                                     {"action", action},
                                     {"repository", text_at(v, "repository", "full_name")}});
    }
    log::info("github webhook received", {{"event", event}, {"id", delivery_id}});
    return webhook_result::received;
}

}  // namespace happy::mod::connect
