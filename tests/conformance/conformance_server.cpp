/// @file
/// Stand-alone server for the official protocol conformance suites (see tests/conformance/README.md):
///   * engine.io-protocol/test-suite  — `--mode engineio`: Engine.IO on /engine.io/, every message echoed back;
///   * socket.io-protocol/test-suite  — `--mode socketio`: Socket.IO on /socket.io/ with the namespaces "/" and
///     "/custom", the "auth" event on connection, "message" → "message-back" and "message-with-ack" → ack.
/// Both use the configuration the suites' READMEs give for the reference server: pingInterval 300 ms,
/// pingTimeout 200 ms, maxPayload 1e6, CORS origin "*" (always on in core/engineio), and for Socket.IO a
/// connectTimeout of 1000 ms. Nothing here is Happy-specific: an empty router and our core transport only.
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/json.hpp>
#include <charconv>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <boost/asio/steady_timer.hpp>

#include "core/auth/token_service.hpp"
#include "core/engineio/server.hpp"
#include "core/http/pipeline.hpp"
#include "core/http/router.hpp"
#include "core/http/server.hpp"
#include "core/log/log.hpp"
#include "core/socketio/server.hpp"

namespace {

namespace asio = boost::asio;
namespace json = boost::json;
using namespace happy;

struct cli {
    std::string mode;
    std::string host = "127.0.0.1";
    std::uint16_t port = 3000;
    unsigned threads = 1;
    log::level level = log::level::warn;
};

[[noreturn]] void usage(const char* msg) {
    std::fprintf(stderr,
                 "%s\nusage: happy-conformance-server --mode engineio|socketio --port N [--host 127.0.0.1]\n"
                 "                                [--threads 1] [--log-level warn]\n",
                 msg);
    std::exit(2);
}

template <class T>
T parse_number(std::string_view s, const char* what) {
    T v{};
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || p != s.data() + s.size()) {
        usage(what);
    }
    return v;
}

cli parse_cli(int argc, char** argv) {
    cli c;
    bool have_port = false;
    for (int i = 1; i < argc; ++i) {
        std::string_view a = argv[i];
        auto value = [&]() -> std::string_view {
            if (i + 1 >= argc) {
                usage("missing value");
            }
            return argv[++i];
        };
        if (a == "--mode") {
            c.mode = value();
        } else if (a == "--port") {
            c.port = parse_number<std::uint16_t>(value(), "invalid --port");
            have_port = true;
        } else if (a == "--host") {
            c.host = value();
        } else if (a == "--threads") {
            c.threads = parse_number<unsigned>(value(), "invalid --threads");
        } else if (a == "--log-level") {
            auto l = log::parse_level(value());
            if (!l) {
                usage("invalid --log-level");
            }
            c.level = *l;
        } else if (a == "-h" || a == "--help") {
            usage("Engine.IO / Socket.IO conformance server");
        } else {
            usage("unknown argument");
        }
    }
    if (c.mode != "engineio" && c.mode != "socketio") {
        usage("--mode must be engineio or socketio");
    }
    if (!have_port) {
        usage("--port is required");
    }
    if (c.threads == 0) {
        c.threads = 1;
    }
    return c;
}

/// Reference configuration shared by both suites.
engineio::options engine_options(std::string path) {
    engineio::options o;
    o.path = std::move(path);
    o.ping_interval = std::chrono::milliseconds(300);
    o.ping_timeout = std::chrono::milliseconds(200);
    o.max_payload = 1000000;
    return o;
}

/// engine.io-protocol: `socket.on("data", (...args) => socket.send(...args))` — echo with the same binary flag.
class echo_handler final : public engineio::handler {
public:
    void on_open(const std::shared_ptr<engineio::socket>&, const engineio::open_info&) override {}
    void on_message(const std::shared_ptr<engineio::socket>& s, std::string data, bool binary) override {
        // A text frame is the whole engine packet ("4…"); a binary frame is the raw bytes.
        if (!binary) {
            data.insert(data.begin(), '4');
        }
        s->send(engineio::frame{std::make_shared<const std::string>(std::move(data)), binary});
    }
    void on_close(const std::shared_ptr<engineio::socket>&, std::string_view) override {}
};

/// socket.io-protocol: the reference `io.on("connection")` / `io.of("/custom")` handlers.
void add_reference_namespaces(socketio::server& io) {
    auto emit_auth = [](const std::shared_ptr<socketio::socket>& s) {
        // socket.emit("auth", socket.handshake.auth), a few milliseconds after the CONNECT reply. The suite's pinned
        // ws@8.5.0 client hands every frame of one TCP read to its listeners at once, and the suite's waitFor() only
        // re-subscribes after a promise callback, so an `auth` frame that shares a read with the CONNECT reply is
        // lost (the reference server loses it too, less often). The gap keeps the two frames in separate reads.
        auto timer = std::make_shared<boost::asio::steady_timer>(s->strand(), std::chrono::milliseconds(5));
        timer->async_wait([timer, s](const boost::system::error_code&) {
            s->emit("auth", json::array{json::value(s->auth())});
        });
    };

    socketio::namespace_handlers main_ns;
    main_ns.on_connect = emit_auth;
    main_ns.on_event = [](const std::shared_ptr<socketio::socket>& s, std::string event, json::array args,
                          std::vector<std::string> attachments, socketio::ack_fn ack) {
        if (event == "message") {
            // socket.emit("message-back", ...args): placeholders stay in args, attachments keep their indexes.
            s->emit("message-back", std::move(args), std::move(attachments));
        } else if (event == "message-with-ack") {
            // const ack = args.pop(); ack(...args)
            if (ack) {
                ack(std::move(args), std::move(attachments));
            }
        }
    };
    io.add_namespace("/", std::move(main_ns));

    socketio::namespace_handlers custom_ns;
    custom_ns.on_connect = emit_auth;
    io.add_namespace("/custom", std::move(custom_ns));
}

}  // namespace

int main(int argc, char** argv) {
    cli c = parse_cli(argc, argv);
    std::signal(SIGPIPE, SIG_IGN);
    log::configure(c.level, log::format::console);

    // No REST routes: every request outside the protocol path gets the pipeline's 404.
    http::router router;
    auth::token_service tokens("happy-conformance-server");  // required by the pipeline, never used
    http::pipeline pipe(router, tokens);

    asio::io_context ioc(static_cast<int>(c.threads));
    http::server_options opts;
    opts.host = c.host;
    opts.port = c.port;
    opts.log_requests = false;
    http::server srv(ioc, opts, pipe);

    std::unique_ptr<engineio::handler> handler;
    if (c.mode == "engineio") {
        handler = std::make_unique<echo_handler>();
    } else {
        socketio::options so;
        so.connect_timeout = std::chrono::milliseconds(1000);
        auto io = std::make_unique<socketio::server>(so);
        add_reference_namespaces(*io);
        handler = std::move(io);
    }
    engineio::server engine(ioc, engine_options(c.mode == "engineio" ? "/engine.io/" : "/socket.io/"), *handler);
    srv.add_protocol(&engine);

    std::uint16_t port = 0;
    try {
        port = srv.listen();
    } catch (const std::exception& e) {
        std::fprintf(stderr, "cannot listen on %s:%u: %s\n", c.host.c_str(), static_cast<unsigned>(c.port), e.what());
        return 1;
    }
    srv.start();
    std::cout << "happy-conformance-server: " << c.mode << " listening on " << c.host << ':' << port << std::endl;

    asio::signal_set signals(ioc, SIGINT, SIGTERM);
    signals.async_wait([&](const boost::system::error_code& ec, int) {
        if (ec) {
            return;
        }
        srv.begin_shutdown();
        engine.close_all("server shutting down");
        ioc.stop();
    });

    std::vector<std::thread> pool;
    for (unsigned i = 1; i < c.threads; ++i) {
        pool.emplace_back([&] { ioc.run(); });
    }
    ioc.run();
    for (auto& t : pool) {
        t.join();
    }
    return 0;
}
