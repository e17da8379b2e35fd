#include "core/trace/trace.hpp"

#include <sodium.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json.hpp>
#include <algorithm>
#include <cstring>

#include "core/http/client.hpp"
#include "core/log/log.hpp"

namespace happy::trace {

namespace asio = boost::asio;
namespace json = boost::json;

namespace {

int hex_value(char c) {
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    return -1;  // upper case is invalid in traceparent
}

template <std::size_t N>
bool parse_hex(std::string_view s, std::array<std::uint8_t, N>& out) {
    if (s.size() != 2 * N) {
        return false;
    }
    bool nonzero = false;
    for (std::size_t i = 0; i < N; ++i) {
        int hi = hex_value(s[2 * i]);
        int lo = hex_value(s[2 * i + 1]);
        if (hi < 0 || lo < 0) {
            return false;
        }
        out[i] = static_cast<std::uint8_t>(hi << 4 | lo);
        nonzero = nonzero || out[i] != 0;
    }
    return nonzero;
}

/// splitmix64, seeded per thread from the OS: ids must be unique, not secret.
std::uint64_t next_random() {
    thread_local std::uint64_t s = [] {
        std::uint64_t seed = 0;
        if (sodium_init() < 0) {
            seed = static_cast<std::uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count());
        } else {
            randombytes_buf(&seed, sizeof seed);
        }
        return seed;
    }();
    std::uint64_t z = (s += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

template <std::size_t N>
void fill_random(std::array<std::uint8_t, N>& a) {
    do {
        for (std::size_t i = 0; i < N; i += 8) {
            std::uint64_t r = next_random();
            std::memcpy(a.data() + i, &r, std::min<std::size_t>(8, N - i));
        }
    } while (std::all_of(a.begin(), a.end(), [](std::uint8_t b) { return b == 0; }));
}

json::object attr(std::string_view key, json::object value) { return {{"key", key}, {"value", std::move(value)}}; }

}  // namespace

std::optional<parent> parse_traceparent(std::string_view v) {
    // version "-" trace-id "-" parent-id "-" flags: 2 + 1 + 32 + 1 + 16 + 1 + 2 = 55 characters.
    if (v.size() < 55 || v[2] != '-' || v[35] != '-' || v[52] != '-') {
        return std::nullopt;
    }
    std::array<std::uint8_t, 1> version{};
    std::string_view ver = v.substr(0, 2);
    if (hex_value(ver[0]) < 0 || hex_value(ver[1]) < 0 || ver == "ff") {
        return std::nullopt;
    }
    version[0] = static_cast<std::uint8_t>(hex_value(ver[0]) << 4 | hex_value(ver[1]));
    if (v.size() > 55 && (version[0] == 0 || v[55] != '-')) {
        return std::nullopt;  // version 00 has exactly these fields; later versions may add "-..." after them
    }
    parent p;
    std::array<std::uint8_t, 1> flags{};
    if (!parse_hex(v.substr(3, 32), p.trace) || !parse_hex(v.substr(36, 16), p.span)) {
        return std::nullopt;
    }
    int hi = hex_value(v[53]);
    int lo = hex_value(v[54]);
    if (hi < 0 || lo < 0) {
        return std::nullopt;
    }
    flags[0] = static_cast<std::uint8_t>(hi << 4 | lo);
    p.sampled = flags[0] & 1;
    return p;
}

trace_id new_trace_id() {
    trace_id t;
    fill_random(t);
    return t;
}

span_id new_span_id() {
    span_id s;
    fill_random(s);
    return s;
}

std::string hex(const std::uint8_t* data, std::size_t n) {
    static constexpr char digits[] = "0123456789abcdef";
    std::string out(2 * n, '0');
    for (std::size_t i = 0; i < n; ++i) {
        out[2 * i] = digits[data[i] >> 4];
        out[2 * i + 1] = digits[data[i] & 15];
    }
    return out;
}

std::string otlp_json(const std::vector<span>& spans, std::string_view service_name) {
    json::array arr;
    for (const auto& s : spans) {
        json::array attrs{attr("http.request.method", {{"stringValue", s.method}}),
                          attr("url.path", {{"stringValue", s.path}}),
                          attr("http.response.status_code", {{"intValue", std::to_string(s.status)}})};
        if (!s.peer.empty()) {
            attrs.push_back(attr("client.address", {{"stringValue", s.peer}}));
        }
        json::object o{{"traceId", hex(s.trace)},
                       {"spanId", hex(s.id)},
                       {"name", s.method},  // OTel HTTP conventions: "{method}" when the route template is not known
                       {"kind", 2},         // SPAN_KIND_SERVER
                       {"startTimeUnixNano", std::to_string(s.start_unix_nano)},
                       {"endTimeUnixNano", std::to_string(s.end_unix_nano)},
                       {"attributes", std::move(attrs)},
                       {"status", json::object{{"code", s.status >= 500 ? 2 : 0}}}};
        if (s.parent_id) {
            o["parentSpanId"] = hex(*s.parent_id);
        }
        arr.push_back(std::move(o));
    }
    json::object body{
        {"resourceSpans",
         json::array{json::object{
             {"resource", json::object{{"attributes", json::array{attr("service.name", {{"stringValue", service_name}})}}}},
             {"scopeSpans", json::array{json::object{{"scope", json::object{{"name", "happy-server"}}},
                                                     {"spans", std::move(arr)}}}}}}}};
    return json::serialize(body);
}

struct exporter::state {
    std::mutex mutex;
    std::vector<span> queue;
    std::optional<asio::steady_timer> timer;
    bool stopping = false;
    bool failing = false;
};

exporter::exporter(exporter_options o) : opts_(std::move(o)), st_(std::make_shared<state>()) {}

exporter::~exporter() = default;

void exporter::add(span s) {
    std::lock_guard lock(st_->mutex);
    if (st_->queue.size() >= opts_.max_queue) {
        ++dropped_;
        return;
    }
    st_->queue.push_back(std::move(s));
}

asio::awaitable<void> exporter::run(std::shared_ptr<state> st) {
    for (;;) {
        st->timer->expires_after(opts_.interval);
        co_await st->timer->async_wait(asio::as_tuple(asio::use_awaitable));
        if (st->stopping) {
            co_return;
        }
        co_await send_queued();
    }
}

void exporter::start(asio::io_context& ioc) {
    st_->timer.emplace(ioc);
    asio::co_spawn(ioc, run(st_), asio::detached);
}

asio::awaitable<void> exporter::send_queued() {
    for (;;) {
        std::vector<span> batch;
        {
            std::lock_guard lock(st_->mutex);
            if (st_->queue.empty()) {
                co_return;
            }
            std::size_t n = std::min(st_->queue.size(), opts_.max_batch);
            batch.assign(std::make_move_iterator(st_->queue.begin()), std::make_move_iterator(st_->queue.begin() + n));
            st_->queue.erase(st_->queue.begin(), st_->queue.begin() + static_cast<std::ptrdiff_t>(n));
        }
        std::string error;
        // Named locals, not braced temporaries, in the co_await (g++ 12 miscompiles an initializer list of string
        // literals inside a coroutine: "array used as initializer").
        http::client::header_list headers;
        headers.emplace_back("Content-Type", "application/json");
        std::string body = otlp_json(batch, opts_.service_name);
        try {
            std::string method = "POST";
            std::string url = opts_.url;
            auto r = co_await http::client::request(std::move(method), std::move(url), std::move(headers),
                                                    std::move(body), opts_.timeout);
            if (r.ok()) {
                exported_ += batch.size();
                if (st_->failing) {
                    st_->failing = false;
                    log::info("tracing: export resumed", {{"url", opts_.url}});
                }
                continue;
            }
            error = "HTTP " + std::to_string(r.status);
        } catch (const std::exception& e) {
            error = e.what();
        }
        dropped_ += batch.size();
        if (!st_->failing) {
            st_->failing = true;
            log::warn("tracing: span export failed; spans are dropped until it succeeds",
                      {{"url", opts_.url}, {"error", error}, {"spans", batch.size()}});
        }
        co_return;  // the next interval tries again with what is queued then
    }
}

asio::awaitable<void> exporter::stop() {
    if (st_->stopping) {
        co_return;
    }
    st_->stopping = true;
    if (st_->timer) {
        st_->timer->cancel();
    }
    co_await send_queued();
}

}  // namespace happy::trace
