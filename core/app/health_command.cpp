/// @file
/// `happy-server health`: the container HEALTHCHECK (deploy/Dockerfile) without curl or a shell in the image.
/// It reads the configuration as `serve` does (file, environment, flags), so it asks the port the server listens
/// on, and runs one GET /health (which checks the database) through the outbound HTTP client.
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <fmt/format.h>
#include <iostream>

#include "core/app/bootstrap.hpp"
#include "core/http/client.hpp"

namespace happy {

int command_health(command_args& args) {
    if (!args.rest.empty()) {
        return report_failure(fmt::format("unknown argument {} (see happy-server health --help)", args.rest[0]),
                              exit_usage);
    }
    return run_stages([&] {
        auto parts = collect_parts();
        load_configuration(parts, args);
        std::string host = config::get_string(parts.cfg, "server.host");
        const auto port = config::get_int(parts.cfg, "server.port");
        if (port == 0) {
            return report_failure("server.port is 0 (a free port picked at start): nothing to check", exit_usage);
        }
        auto addr = boost::asio::ip::make_address(host);  // server.host is an IP address (checked by the schema)
        if (addr.is_unspecified()) {
            addr = addr.is_v4() ? boost::asio::ip::address(boost::asio::ip::address_v4::loopback())
                                : boost::asio::ip::address(boost::asio::ip::address_v6::loopback());
        }
        const std::string url = addr.is_v6() ? fmt::format("http://[{}]:{}/health", addr.to_string(), port)
                                              : fmt::format("http://{}:{}/health", addr.to_string(), port);
        boost::asio::io_context io;
        std::exception_ptr failure;
        http::client::response r;
        boost::asio::co_spawn(io, http::client::request("GET", url, {}, "", std::chrono::seconds(3)),
                              [&](std::exception_ptr e, http::client::response got) {
                                  failure = e;
                                  r = std::move(got);
                              });
        io.run();
        if (failure) {
            std::rethrow_exception(failure);  // "happy-server: connecting to …: Connection refused", exit 1
        }
        if (r.status != 200) {
            return report_failure(fmt::format("GET {}: {} {}", url, r.status, r.body), exit_failed);
        }
        std::cout << "ok\n";
        return int(exit_ok);
    });
}

}  // namespace happy
