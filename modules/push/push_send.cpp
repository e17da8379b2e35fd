#include "modules/push/push_send.hpp"

#include <algorithm>
#include <boost/json.hpp>

#include "core/http/client.hpp"
#include "core/log/log.hpp"

namespace happy::mod::push {

namespace json = boost::json;

namespace {

/// ECMAScript array index: canonical decimal without leading zeros, below 2^32 - 1.
bool is_array_index(std::string_view k) {
    if (k.empty() || k.size() > 10 || (k.size() > 1 && k.front() == '0')) {
        return false;
    }
    if (!std::all_of(k.begin(), k.end(), [](char c) { return c >= '0' && c <= '9'; })) {
        return false;
    }
    return std::stoull(std::string(k)) < 4294967295ULL;
}

/// Object.assign-style: existing keys keep their position and take the new value.
void assign(json::object& to, std::string_view key, const json::value& v) { to[key] = v; }

std::vector<ticket> batch_failure(std::size_t n, std::string error, bool transient) {
    std::vector<ticket> out(n);
    for (auto& t : out) {
        t.error = error;
        t.transient = transient;
    }
    return out;
}

}  // namespace

json::value js_key_order(const json::value& v) {
    if (const auto* a = v.if_array()) {
        json::array out;
        out.reserve(a->size());
        for (const auto& e : *a) {
            out.push_back(js_key_order(e));
        }
        return out;
    }
    const auto* o = v.if_object();
    if (!o) {
        return v;
    }
    std::vector<std::pair<unsigned long long, const json::key_value_pair*>> indices;
    for (const auto& kv : *o) {
        if (is_array_index(kv.key())) {
            indices.emplace_back(std::stoull(std::string(kv.key())), &kv);
        }
    }
    std::sort(indices.begin(), indices.end(), [](const auto& x, const auto& y) { return x.first < y.first; });
    json::object out;
    out.reserve(o->size());
    for (const auto& [n, kv] : indices) {
        out.emplace(kv->key(), js_key_order(kv->value()));
    }
    for (const auto& kv : *o) {
        if (!is_array_index(kv.key())) {
            out.emplace(kv.key(), js_key_order(kv.value()));
        }
    }
    return out;
}

json::object push_event_data(std::string_view session_id, const json::object* client_data, std::string_view kind) {
    // pushRoutes.ts: `{ ...(data ?? {}), kind }`, then pushDispatch.ts: `{ sessionId, ...(that) }`.
    json::object inner;
    if (client_data) {
        for (const auto& kv : *client_data) {
            assign(inner, kv.key(), kv.value());
        }
    }
    assign(inner, "kind", json::string(kind));
    json::object data;
    data["sessionId"] = json::string(session_id);
    for (const auto& kv : inner) {
        assign(data, kv.key(), kv.value());
    }
    return js_key_order(data).as_object();
}

expo_message push_message(std::string token_id, std::string token, std::string_view title, std::string_view body,
                          const json::object& data) {
    expo_message m;
    m.token_id = std::move(token_id);
    m.token = std::move(token);
    m.payload = json::object{{"to", m.token}, {"title", title},    {"body", body},
                             {"data", data},  {"sound", "default"}, {"channelId", "messages"}};
    return m;
}

namespace {

/// Reads a ticket's error text as upstream does: `ticket.details?.error || ticket.message || 'unknown'`
/// (JavaScript truthiness: an empty string falls through).
std::string ticket_error(const json::object* to) {
    auto text = [](const json::value* v) -> std::string {
        if (!v || v->is_null()) {
            return {};
        }
        if (v->is_string()) {
            return std::string(v->get_string());
        }
        if (v->is_bool()) {
            return v->get_bool() ? "true" : "";
        }
        return json::serialize(*v);
    };
    const json::value* details = to ? to->if_contains("details") : nullptr;
    const json::object* dobj = details ? details->if_object() : nullptr;
    std::string e = text(dobj ? dobj->if_contains("error") : nullptr);
    if (e.empty()) {
        e = text(to ? to->if_contains("message") : nullptr);
    }
    return e.empty() ? std::string("unknown") : e;
}

/// The tickets of one batch of `n` messages from Expo's answer (or the lack of one). Kept out of the coroutine:
/// g++ 12 miscompiles some of this inside a coroutine frame.
std::vector<ticket> batch_tickets(std::size_t n, const std::optional<http::client::response>& res,
                                  const std::string& failure) {
    if (!res) {
        log::warn("expo push request failed", {{"error", failure}, {"messages", static_cast<std::int64_t>(n)}});
        return batch_failure(n, "Network error", true);
    }
    if (!res->ok()) {
        log::warn("expo push request refused",
                  {{"status", static_cast<std::int64_t>(res->status)}, {"body", res->body.substr(0, 500)}});
        return batch_failure(n, "HTTP " + std::to_string(res->status), res->status == 429 || res->status >= 500);
    }
    // `(await response.json()).data` spread into the tickets: anything else throws into the catch, which reports
    // the whole batch as a network error.
    boost::system::error_code ec;
    json::value parsed = json::parse(res->body, ec);
    const json::object* root = ec ? nullptr : parsed.if_object();
    const json::value* data = root ? root->if_contains("data") : nullptr;
    if (!data || !data->is_array()) {
        log::warn("expo push response unreadable", {{"body", res->body.substr(0, 500)}});
        return batch_failure(n, "Network error", true);
    }
    std::vector<ticket> out;
    for (const auto& tv : data->get_array()) {
        ticket t;
        const json::object* to = tv.if_object();
        const json::value* status = to ? to->if_contains("status") : nullptr;
        t.ok = status && status->is_string() && status->get_string() == "ok";
        if (!t.ok) {
            t.error = ticket_error(to);
            const json::value* details = to ? to->if_contains("details") : nullptr;
            const json::object* dobj = details ? details->if_object() : nullptr;
            const json::value* derr = dobj ? dobj->if_contains("error") : nullptr;
            t.device_not_registered = derr && derr->is_string() && derr->get_string() == "DeviceNotRegistered";
        }
        out.push_back(std::move(t));
    }
    return out;
}

std::string batch_body(const std::vector<expo_message>& messages, std::size_t from, std::size_t n) {
    json::array batch;
    batch.reserve(n);
    for (std::size_t j = from; j < from + n; ++j) {
        batch.push_back(messages[j].payload);
    }
    return json::serialize(batch);
}

}  // namespace

boost::asio::awaitable<std::vector<ticket>> expo_send(const std::vector<expo_message>& messages, std::string url,
                                                      std::chrono::milliseconds timeout) {
    std::vector<ticket> tickets;
    // One deadline across every batch (pushSend.ts SEND_TIMEOUT_MS), so a large fan-out cannot hold the awaiting
    // request open longer.
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (std::size_t i = 0; i < messages.size(); i += k_batch_size) {
        const std::size_t n = std::min(k_batch_size, messages.size() - i);
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
        std::optional<http::client::response> res;
        std::string failure = "deadline passed";  // fetch with an already aborted signal
        if (left.count() > 0) {
            http::client::header_list headers{{"Content-Type", "application/json"}};
            try {
                res = co_await http::client::request("POST", url, std::move(headers), batch_body(messages, i, n), left);
            } catch (const std::exception& e) {
                failure = e.what();
            }
        }
        auto got = batch_tickets(n, res, failure);
        tickets.insert(tickets.end(), std::make_move_iterator(got.begin()), std::make_move_iterator(got.end()));
    }
    co_return tickets;
}

json::object outcome::to_json() const {
    json::object o{{"success", true}, {"result", result}};
    if (tokens) {
        o["tokens"] = *tokens;
    }
    if (delivered) {
        o["delivered"] = *delivered;
    }
    if (reason) {
        o["reason"] = *reason;
    }
    return o;
}

outcome outcome_from_tickets(const std::vector<ticket>& tickets, std::size_t token_count) {
    int ok = 0;
    std::string errors;
    for (const auto& t : tickets) {
        if (t.ok) {
            ++ok;
            continue;
        }
        errors += errors.empty() ? t.error : ", " + t.error;
    }
    bool any_error = std::any_of(tickets.begin(), tickets.end(), [](const ticket& t) { return !t.ok; });
    if (!any_error) {
        return {"sent", ok, std::nullopt, std::nullopt};
    }
    if (ok == 0) {
        return {"failed", std::nullopt, std::nullopt, errors};
    }
    return {"partial", static_cast<int>(token_count), ok, errors};
}

}  // namespace happy::mod::push
