/// @file
/// Request tracing: W3C Trace Context (`traceparent`) accepted on every HTTP request, its trace id written on the
/// request's log line, and optionally each request exported as an OTLP span (OTLP/HTTP with the JSON encoding) to a
/// collector (`tracing.otlp_url`).
#pragma once
#include <array>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace happy::trace {

using trace_id = std::array<std::uint8_t, 16>;
using span_id = std::array<std::uint8_t, 8>;

/// A parsed `traceparent`: version-format `00-<32 hex trace id>-<16 hex parent id>-<2 hex flags>`.
struct parent {
    trace_id trace{};
    span_id span{};
    bool sampled = false;
};

/// Parses a traceparent header value per W3C Trace Context: lower-case hex, ids not all zero, version not `ff`;
/// a future version may append fields after the flags (`-...`), version 00 may not. nullopt when invalid (the
/// request then starts a trace of its own, as the spec says).
std::optional<parent> parse_traceparent(std::string_view v);

/// Random ids from a per-thread generator seeded from the OS once (no system call per request).
trace_id new_trace_id();
span_id new_span_id();

/// Lower-case hex of an id.
std::string hex(const std::uint8_t* data, std::size_t n);
template <std::size_t N>
std::string hex(const std::array<std::uint8_t, N>& a) {
    return hex(a.data(), N);
}

/// One finished server span (an HTTP request).
struct span {
    trace_id trace{};
    span_id id{};
    std::optional<span_id> parent_id;
    std::string method;
    std::string path;
    unsigned status = 0;
    std::int64_t start_unix_nano = 0;
    std::int64_t end_unix_nano = 0;
    std::string peer;
};

/// OTLP/HTTP JSON body (ExportTraceServiceRequest) for `spans`: ids as hex, 64-bit integers as strings, kind SERVER,
/// status ERROR for 5xx responses.
std::string otlp_json(const std::vector<span>& spans, std::string_view service_name);

struct exporter_options {
    std::string url;  ///< the collector's traces endpoint, e.g. http://127.0.0.1:4318/v1/traces
    std::string service_name = "happy-server";
    std::chrono::milliseconds interval{1000};  ///< how often queued spans are sent
    std::size_t max_queue = 8192;              ///< spans beyond this are dropped (and counted)
    std::size_t max_batch = 512;
    std::chrono::milliseconds timeout{5000};   ///< bound on one POST
};

/// Queues spans from any thread and posts them in batches from a coroutine on the server's io_context. Never
/// blocks a request: a full queue drops the span; a failed POST drops its batch and is logged (once per run of
/// failures).
class exporter {
public:
    explicit exporter(exporter_options o);
    ~exporter();
    void add(span s);
    /// Starts the periodic sender on `ioc`.
    void start(boost::asio::io_context& ioc);
    /// Sends what is queued (bounded by the timeout) and stops.
    boost::asio::awaitable<void> stop();

    std::uint64_t exported() const { return exported_.load(); }
    std::uint64_t dropped() const { return dropped_.load(); }

private:
    struct state;
    boost::asio::awaitable<void> send_queued();
    /// The export loop: a named coroutine (g++ 12 miscompiles capturing coroutine lambdas).
    boost::asio::awaitable<void> run(std::shared_ptr<state> st);
    exporter_options opts_;
    std::shared_ptr<state> st_;
    std::atomic<std::uint64_t> exported_{0};
    std::atomic<std::uint64_t> dropped_{0};
};

}  // namespace happy::trace
