// Realtime load generator: opens N authenticated Socket.IO (Engine.IO v4, WebSocket) connections to a
// happy-server, holds them, and measures connect rate and RPC round-trip latency at a sustained rate
// (caller → server → provider → server → caller, i.e. two fan-out hops).
//
//   happy_realtime_load --port P --token T [--idle-token T2] [--connections N] [--rate R] [--seconds S]
//                       [--session SID] [--linger S] [--host H] [--port-b P2]
//
// With --port-b (a second instance of the same cluster, bench/cluster.mjs): N idle connections are held on each
// instance, the RPC provider and the fan-out receiver sit on the second one, so both measurements cross instances
// (caller/sender on A, provider/receiver on B).
//
// Idle connections use --idle-token (another account), so that the measured sockets' fan-out does not also reach
// them: the benchmark is one socket to another with many unrelated clients connected.
//
// Prints one JSON object. Used by bench/realtime.mjs, which also samples the server's RSS.
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/json.hpp>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <map>
#include <string>
#include <vector>

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
namespace json = boost::json;
using tcp = asio::ip::tcp;
using clock_type = std::chrono::steady_clock;

namespace {

struct args_t {
    std::string host = "127.0.0.1";
    std::string port;
    std::string token;
    std::string idle_token;  // account of the idle connections (default: token)
    int connections = 1000;
    int rate = 1000;
    int seconds = 10;
    int linger = 0;  // keep every connection open this long after printing the results
    std::string session;  // when set: measure `message` → `update` new-message fan-out on this session
    std::string port_b;   // a second instance: idle connections on both, provider and receiver on this one
};

struct stats_t {
    int connected = 0;
    int failed = 0;
    std::vector<double> rtt_ms;
    int sent = 0;
    int answered = 0;
    int errors = 0;  // acks with ok:false (method not available, timed out, target disconnected)
};

using ws_t = websocket::stream<beast::tcp_stream>;

/// Connects, completes the Engine.IO + Socket.IO handshakes; returns the stream or nullptr.
asio::awaitable<std::shared_ptr<ws_t>> open_socket(const args_t& a, const std::string& client_type, const std::string& extra) {
    auto ex = co_await asio::this_coro::executor;
    tcp::resolver resolver(ex);
    auto ws = std::make_shared<ws_t>(ex);
    auto [ec0, eps] = co_await resolver.async_resolve(a.host, a.port, asio::as_tuple(asio::use_awaitable));
    if (ec0) co_return nullptr;
    beast::get_lowest_layer(*ws).expires_after(std::chrono::seconds(30));
    auto [ec1, ep] = co_await beast::get_lowest_layer(*ws).async_connect(eps, asio::as_tuple(asio::use_awaitable));
    if (ec1) co_return nullptr;
    beast::get_lowest_layer(*ws).expires_never();
    // Like the server and real clients (ws sets TCP_NODELAY): Nagle would add 40 ms stalls to small frames.
    beast::get_lowest_layer(*ws).socket().set_option(tcp::no_delay(true));
    ws->set_option(websocket::stream_base::timeout::suggested(beast::role_type::client));
    auto [ec2] = co_await ws->async_handshake(a.host, "/v1/updates/?EIO=4&transport=websocket", asio::as_tuple(asio::use_awaitable));
    if (ec2) co_return nullptr;
    beast::flat_buffer buf;
    auto [ec3, n3] = co_await ws->async_read(buf, asio::as_tuple(asio::use_awaitable));  // OPEN packet
    if (ec3) co_return nullptr;
    std::string connect = "40" + json::serialize(json::object{{"token", a.token}, {"clientType", client_type}});
    if (!extra.empty()) {
        connect.pop_back();
        connect += "," + extra + "}";
    }
    auto [ec4, n4] = co_await ws->async_write(asio::buffer(connect), asio::as_tuple(asio::use_awaitable));
    if (ec4) co_return nullptr;
    buf.clear();
    auto [ec5, n5] = co_await ws->async_read(buf, asio::as_tuple(asio::use_awaitable));
    if (ec5) co_return nullptr;
    std::string reply = beast::buffers_to_string(buf.data());
    if (reply.rfind("40{", 0) != 0) co_return nullptr;
    co_return ws;
}

/// One write at a time per stream: Beast allows a single outstanding async_write, and the pump's pong can come
/// while the measuring loop is writing to the same socket (the tool runs on one thread, so a flag suffices).
std::map<const ws_t*, bool> g_writing;

asio::awaitable<void> write_one(ws_t& ws, const std::string& text) {
    asio::steady_timer wait(co_await asio::this_coro::executor);
    while (g_writing[&ws]) {
        wait.expires_after(std::chrono::microseconds(50));
        co_await wait.async_wait(asio::as_tuple(asio::use_awaitable));
    }
    g_writing[&ws] = true;
    auto [ec, n] = co_await ws.async_write(asio::buffer(text), asio::as_tuple(asio::use_awaitable));
    g_writing[&ws] = false;
}

/// Keeps a connection alive: answers pings, hands everything else to `on_text`.
template <class F>
asio::awaitable<void> pump(std::shared_ptr<ws_t> ws, F on_text) {
    beast::flat_buffer buf;
    for (;;) {
        buf.clear();
        auto [ec, n] = co_await ws->async_read(buf, asio::as_tuple(asio::use_awaitable));
        if (ec) co_return;
        std::string msg = beast::buffers_to_string(buf.data());
        if (msg == "2") {
            static const std::string pong = "3";
            co_await write_one(*ws, pong);
            continue;
        }
        co_await on_text(ws, std::move(msg));
    }
}

}  // namespace

int main(int argc, char** argv) {
    args_t a;
    for (int i = 1; i + 1 < argc; i += 2) {
        std::string k = argv[i], v = argv[i + 1];
        if (k == "--host") a.host = v;
        else if (k == "--port") a.port = v;
        else if (k == "--token") a.token = v;
        else if (k == "--idle-token") a.idle_token = v;
        else if (k == "--connections") a.connections = std::stoi(v);
        else if (k == "--rate") a.rate = std::stoi(v);
        else if (k == "--seconds") a.seconds = std::stoi(v);
        else if (k == "--linger") a.linger = std::stoi(v);
        else if (k == "--session") a.session = v;
        else if (k == "--port-b") a.port_b = v;
    }
    if (a.port.empty() || a.token.empty()) {
        std::cerr << "usage: happy_realtime_load --port P --token T [--connections N] [--rate R] [--seconds S]\n";
        return 2;
    }
    asio::io_context ioc(1);
    stats_t st;
    std::vector<std::shared_ptr<ws_t>> idle;
    json::object out;

    asio::co_spawn(ioc, [&]() -> asio::awaitable<void> {
        // 1. Idle authenticated connections, opened with bounded concurrency.
        auto t0 = clock_type::now();
        int next = 0;
        const int parallel = 64;
        const int total = a.port_b.empty() ? a.connections : 2 * a.connections;
        args_t on_b = a;
        if (!a.port_b.empty()) on_b.port = a.port_b;
        auto worker = [&]() -> asio::awaitable<void> {
            while (next < total) {
                args_t idle_args = next >= a.connections ? on_b : a;
                ++next;
                if (!a.idle_token.empty()) idle_args.token = a.idle_token;
                auto ws = co_await open_socket(idle_args, "user-scoped", "");
                if (!ws) { ++st.failed; continue; }
                ++st.connected;
                idle.push_back(ws);
                asio::co_spawn(co_await asio::this_coro::executor,
                               pump(ws, [](std::shared_ptr<ws_t>, std::string) -> asio::awaitable<void> { co_return; }),
                               asio::detached);
            }
        };
        int running = parallel;
        for (int i = 0; i < parallel; ++i) {
            asio::co_spawn(ioc, worker(), [&](std::exception_ptr) { --running; });
        }
        asio::steady_timer wait(ioc);
        while (running > 0) {
            wait.expires_after(std::chrono::milliseconds(10));
            co_await wait.async_wait(asio::use_awaitable);
        }
        double connect_s = std::chrono::duration<double>(clock_type::now() - t0).count();
        out["connections"] = st.connected;
        out["connect_failures"] = st.failed;
        out["connect_seconds"] = connect_s;
        out["connect_rate_per_s"] = connect_s > 0 ? st.connected / connect_s : 0.0;
        std::printf("{\"phase\":\"connected\",\"connections\":%d}\n", st.connected);
        std::fflush(stdout);

        // Hold: the driver script samples server RSS now.
        asio::steady_timer hold(ioc, std::chrono::seconds(3));
        co_await hold.async_wait(asio::use_awaitable);

        // 2. RPC round trips at a fixed rate between two extra sockets of the same account.
        auto provider = co_await open_socket(on_b, "machine-scoped", "\"machineId\":\"bench-machine\"");
        auto caller = co_await open_socket(a, "user-scoped", "");
        if (!provider || !caller) { out["error"] = "rpc sockets failed"; ioc.stop(); co_return; }
        std::string reg = "42[\"rpc-register\",{\"method\":\"bench-machine:echo\"}]";
        co_await provider->async_write(asio::buffer(reg), asio::use_awaitable);
        std::map<std::uint64_t, clock_type::time_point> inflight;
        asio::co_spawn(ioc, pump(provider, [](std::shared_ptr<ws_t> ws, std::string msg) -> asio::awaitable<void> {
            // 42<id>["rpc-request",{...}] → 43<id>["ok"]
            if (msg.rfind("42", 0) != 0) co_return;
            std::size_t i = 2, j = 2;
            while (j < msg.size() && std::isdigit(static_cast<unsigned char>(msg[j]))) ++j;
            if (j == i) co_return;
            std::string ack = "43" + msg.substr(i, j - i) + "[\"ok\"]";
            co_await write_one(*ws, ack);
        }), asio::detached);
        asio::co_spawn(ioc, pump(caller, [&](std::shared_ptr<ws_t>, std::string msg) -> asio::awaitable<void> {
            if (msg.rfind("43", 0) != 0) co_return;
            std::size_t j = 2;
            while (j < msg.size() && std::isdigit(static_cast<unsigned char>(msg[j]))) ++j;
            auto id = std::stoull(msg.substr(2, j - 2));
            auto it = inflight.find(id);
            if (it != inflight.end()) {
                st.rtt_ms.push_back(std::chrono::duration<double, std::milli>(clock_type::now() - it->second).count());
                ++st.answered;
                if (msg.find("\"ok\":false") != std::string::npos) ++st.errors;
                inflight.erase(it);
            }
            co_return;
        }), asio::detached);
        asio::steady_timer settle(ioc, std::chrono::milliseconds(300));
        co_await settle.async_wait(asio::use_awaitable);

        auto interval = std::chrono::nanoseconds(1'000'000'000LL / std::max(1, a.rate));
        auto start = clock_type::now();
        auto next_at = start;
        asio::steady_timer tick(ioc);
        std::uint64_t id = 0;
        while (clock_type::now() - start < std::chrono::seconds(a.seconds)) {
            next_at += interval;
            tick.expires_at(next_at);
            co_await tick.async_wait(asio::use_awaitable);
            std::string call = "42" + std::to_string(id) + "[\"rpc-call\",{\"method\":\"bench-machine:echo\",\"params\":\"x\"}]";
            inflight[id] = clock_type::now();
            ++id;
            ++st.sent;
            co_await write_one(*caller, call);
        }
        // Wait for the stragglers (up to the server's 30 s RPC timeout and then some), so that a call answered late
        // shows in the maximum instead of silently missing.
        asio::steady_timer drain(ioc);
        for (auto until = clock_type::now() + std::chrono::seconds(35); !inflight.empty() && clock_type::now() < until;) {
            drain.expires_after(std::chrono::milliseconds(10));
            co_await drain.async_wait(asio::use_awaitable);
        }

        // 3. Update fan-out: a session-scoped socket sends `message` at the same rate; the server persists it,
        //    allocates the seqs and fans `update` new-message out to the other sockets (sender skipped).
        //    Latency = send → arrival at a user-scoped receiver (one hop through the server, DB write included).
        if (!a.session.empty()) {
            auto sender = co_await open_socket(a, "session-scoped", "\"sessionId\":\"" + a.session + "\"");
            auto receiver = co_await open_socket(on_b, "user-scoped", "");
            if (!sender || !receiver) { out["error"] = "fan-out sockets failed"; ioc.stop(); co_return; }
            std::map<std::uint64_t, clock_type::time_point> sent_at;
            std::vector<double> fan_ms;
            asio::co_spawn(ioc, pump(sender, [](std::shared_ptr<ws_t>, std::string) -> asio::awaitable<void> { co_return; }),
                           asio::detached);
            asio::co_spawn(ioc, pump(receiver, [&](std::shared_ptr<ws_t>, std::string msg) -> asio::awaitable<void> {
                auto pos = msg.find("\"c\":\"fan");
                if (pos == std::string::npos) co_return;
                auto id = std::stoull(msg.substr(pos + 8));
                auto it = sent_at.find(id);
                if (it != sent_at.end()) {
                    fan_ms.push_back(std::chrono::duration<double, std::milli>(clock_type::now() - it->second).count());
                    sent_at.erase(it);
                }
                co_return;
            }), asio::detached);
            asio::steady_timer settle2(ioc, std::chrono::milliseconds(300));
            co_await settle2.async_wait(asio::use_awaitable);
            auto fstart = clock_type::now();
            auto fnext = fstart;
            std::uint64_t fid = 0;
            while (clock_type::now() - fstart < std::chrono::seconds(a.seconds)) {
                fnext += interval;
                tick.expires_at(fnext);
                co_await tick.async_wait(asio::use_awaitable);
                std::string m = "42[\"message\",{\"sid\":\"" + a.session + "\",\"message\":\"fan" + std::to_string(fid) +
                                "\",\"localId\":\"l" + std::to_string(fid) + "\"}]";
                sent_at[fid++] = clock_type::now();
                co_await write_one(*sender, m);
            }
            asio::steady_timer drain2(ioc);
            for (auto until = clock_type::now() + std::chrono::seconds(5); !sent_at.empty() && clock_type::now() < until;) {
                drain2.expires_after(std::chrono::milliseconds(10));
                co_await drain2.async_wait(asio::use_awaitable);
            }
            std::sort(fan_ms.begin(), fan_ms.end());
            auto fp = [&](double p) {
                return fan_ms.empty() ? 0.0 : fan_ms[std::min(fan_ms.size() - 1, static_cast<std::size_t>(p * fan_ms.size()))];
            };
            out["fanout_rate_per_s"] = a.rate;
            out["fanout_sent"] = fid;
            out["fanout_received"] = fan_ms.size();
            out["fanout_p50_ms"] = fp(0.50);
            out["fanout_p99_ms"] = fp(0.99);
            out["fanout_max_ms"] = fan_ms.empty() ? 0.0 : fan_ms.back();
        }

        auto& v = st.rtt_ms;
        std::sort(v.begin(), v.end());
        auto pct = [&](double p) { return v.empty() ? 0.0 : v[std::min(v.size() - 1, static_cast<std::size_t>(p * v.size()))]; };
        out["rpc_rate_per_s"] = a.rate;
        out["rpc_sent"] = st.sent;
        out["rpc_answered"] = st.answered;
        out["rpc_errors"] = st.errors;
        out["rpc_rtt_p50_ms"] = pct(0.50);
        out["rpc_rtt_p99_ms"] = pct(0.99);
        out["rpc_rtt_max_ms"] = v.empty() ? 0.0 : v.back();
        std::printf("%s\n", json::serialize(out).c_str());
        std::fflush(stdout);
        asio::steady_timer linger(ioc, std::chrono::seconds(a.linger));
        co_await linger.async_wait(asio::use_awaitable);
        ioc.stop();
    }, asio::detached);
    ioc.run();
    // Exit without unwinding: coroutine frames still parked in the io_context reference this function's locals.
    std::fflush(stdout);
    std::_Exit(0);
}
