// The "raw Beast hello" baseline of the sync benchmarks: the smallest useful HTTP/1.1 server built the same
// way as happy-server's core (one io_context run by N threads, a coroutine per connection on its own strand,
// keep-alive, Beast's parser and serializer), answering every request with a fixed 200 "hello". It has no
// routing, auth, JSON, database or logging, so the ratio happy-server/hello says what those cost.
//
//   happy_beast_hello --port N [--threads T] [--body-bytes B | --body-file F [--content-type T]]
//   (prints "listening on PORT" once ready)
// --body-bytes answers with B bytes instead of "hello": the same payload size as a measured route, to separate
// the cost of moving the bytes from the cost of producing them. --body-file answers with the bytes of F, e.g. the very
// body a route answered, so that the anchor moves exactly what the route does.
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>
#include <thread>
#include <vector>

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {

std::string body_text = "hello";
std::string content_type = "text/plain; charset=utf-8";

asio::awaitable<void> serve(tcp::socket socket) {
    beast::tcp_stream stream(std::move(socket));
    beast::flat_buffer buffer;
    try {
        for (;;) {
            http::request<http::string_body> req;
            co_await http::async_read(stream, buffer, req, asio::use_awaitable);
            http::response<http::string_body> res{http::status::ok, req.version()};
            res.set(http::field::content_type, content_type);
            res.keep_alive(req.keep_alive());
            res.body() = body_text;
            res.prepare_payload();
            co_await http::async_write(stream, res, asio::use_awaitable);
            if (!res.keep_alive()) {
                break;
            }
        }
    } catch (const std::exception&) {
        // Client went away: nothing to report in a benchmark baseline.
    }
    beast::error_code ec;
    stream.socket().shutdown(tcp::socket::shutdown_send, ec);
}

asio::awaitable<void> listen(tcp::acceptor& acceptor) {
    for (;;) {
        auto socket = co_await acceptor.async_accept(asio::make_strand(acceptor.get_executor()), asio::use_awaitable);
        socket.set_option(tcp::no_delay(true));
        asio::co_spawn(socket.get_executor(), serve(std::move(socket)), asio::detached);
    }
}

}  // namespace

int main(int argc, char** argv) {
    unsigned short port = 0;
    int threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    for (int i = 1; i + 1 < argc; i += 2) {
        if (std::strcmp(argv[i], "--port") == 0) {
            port = static_cast<unsigned short>(std::atoi(argv[i + 1]));
        } else if (std::strcmp(argv[i], "--threads") == 0) {
            threads = std::max(1, std::atoi(argv[i + 1]));
        } else if (std::strcmp(argv[i], "--body-bytes") == 0) {
            body_text.assign(static_cast<std::size_t>(std::max(1, std::atoi(argv[i + 1]))), 'x');
        } else if (std::strcmp(argv[i], "--body-file") == 0) {
            std::ifstream in(argv[i + 1], std::ios::binary);
            if (!in) {
                std::fprintf(stderr, "cannot read %s\n", argv[i + 1]);
                return 2;
            }
            body_text.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
        } else if (std::strcmp(argv[i], "--content-type") == 0) {
            content_type = argv[i + 1];
        }
    }
    asio::io_context ioc(threads);
    tcp::acceptor acceptor(ioc, {asio::ip::make_address("127.0.0.1"), port});
    std::printf("listening on %u\n", acceptor.local_endpoint().port());
    std::fflush(stdout);
    asio::co_spawn(ioc, listen(acceptor), asio::detached);
    asio::signal_set signals(ioc, SIGINT, SIGTERM);
    signals.async_wait([&](auto, auto) { ioc.stop(); });
    std::vector<std::thread> pool;
    for (int i = 1; i < threads; ++i) {
        pool.emplace_back([&] { ioc.run(); });
    }
    ioc.run();
    for (auto& t : pool) {
        t.join();
    }
    return 0;
}
