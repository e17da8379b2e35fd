#include "core/ops/admin_socket.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/json.hpp>
#include <cerrno>
#include <cstring>
#include <fmt/format.h>

#include "core/log/log.hpp"

namespace happy::ops {

namespace asio = boost::asio;
namespace json = boost::json;
namespace fs = std::filesystem;
using local = asio::local::stream_protocol;

namespace {
constexpr std::size_t max_request = 64 * 1024;
constexpr std::size_t max_answer = 1024 * 1024;

json::object error_answer(std::string_view msg) { return {{"ok", false}, {"error", msg}}; }

/// A raw client socket connected to `path`, or -1 with errno set.
int connect_unix(const fs::path& path) {
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    if (path.native().size() >= sizeof(addr.sun_path)) {
        errno = ENAMETOOLONG;
        return -1;
    }
    std::memcpy(addr.sun_path, path.c_str(), path.native().size());
    int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        return -1;
    }
    if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
        int e = errno;
        ::close(fd);
        errno = e;
        return -1;
    }
    return fd;
}
}  // namespace

fs::path admin_socket_path(const fs::path& data_dir) { return data_dir / "admin.sock"; }

struct admin_server::impl : std::enable_shared_from_this<impl> {
    impl(asio::io_context& ioc, fs::path p) : ioc(ioc), path(std::move(p)), acceptor(ioc) {}

    asio::io_context& ioc;
    fs::path path;
    local::acceptor acceptor;
    std::map<std::string, admin_handler, std::less<>> handlers;
    bool listening = false;

    asio::awaitable<void> accept_loop() {
        auto self = shared_from_this();
        for (;;) {
            auto [ec, sock] = co_await acceptor.async_accept(asio::as_tuple(asio::use_awaitable));
            if (ec) {
                if (ec == asio::error::operation_aborted || !acceptor.is_open()) {
                    co_return;
                }
                continue;
            }
            asio::co_spawn(ioc, serve(std::move(sock)), asio::detached);
        }
    }

    asio::awaitable<void> serve(local::socket accepted) {
        auto self = shared_from_this();
        // Shared with the deadline's handler, which may run after this coroutine has finished.
        auto sp = std::make_shared<local::socket>(std::move(accepted));
        local::socket& sock = *sp;
        // The socket's mode already limits who can connect; the peer's uid is checked too, so that a socket file
        // made accessible by mistake (a chmod, a permissive parent) still admits only this user and root.
        ucred cred{};
        socklen_t len = sizeof cred;
        json::object answer;
        if (::getsockopt(sock.native_handle(), SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0 ||
            (cred.uid != ::geteuid() && cred.uid != 0)) {
            answer = error_answer("permission denied: not the server's user");
        } else {
            asio::streambuf buf(max_request);
            asio::steady_timer deadline(ioc, std::chrono::seconds(10));
            deadline.async_wait([sp](const boost::system::error_code& e) {
                if (!e) {
                    boost::system::error_code ignored;
                    sp->close(ignored);
                }
            });
            auto [ec, n] = co_await asio::async_read_until(sock, buf, '\n', asio::as_tuple(asio::use_awaitable));
            deadline.cancel();
            if (ec) {
                co_return;
            }
            std::string line(asio::buffers_begin(buf.data()), asio::buffers_begin(buf.data()) + static_cast<long>(n));
            boost::system::error_code pec;
            json::value req = json::parse(line, pec);
            if (pec || !req.is_object() || !req.as_object().contains("op") || !req.at("op").is_string()) {
                answer = error_answer("malformed request: expected {\"op\": ...}");
            } else {
                std::string op(req.at("op").as_string());
                auto it = handlers.find(op);
                if (it == handlers.end()) {
                    answer = error_answer(fmt::format("unknown op \"{}\"", op));
                } else {
                    try {
                        answer = co_await it->second(req.as_object());
                    } catch (const std::exception& e) {
                        answer = error_answer(e.what());
                    }
                    log::info("admin request", {{"op", op}, {"ok", answer.contains("ok") ? answer.at("ok") : json::value(true)},
                                                {"uid", static_cast<std::int64_t>(cred.uid)}});
                }
            }
        }
        std::string out = json::serialize(answer);
        out.push_back('\n');
        co_await asio::async_write(sock, asio::buffer(out), asio::as_tuple(asio::use_awaitable));
        boost::system::error_code ignored;
        sock.shutdown(local::socket::shutdown_both, ignored);
        sock.close(ignored);
    }
};

admin_server::admin_server(asio::io_context& ioc, fs::path path) : impl_(std::make_shared<impl>(ioc, std::move(path))) {}

admin_server::~admin_server() { stop(); }

void admin_server::add(std::string op, admin_handler h) { impl_->handlers[std::move(op)] = std::move(h); }

void admin_server::start() {
    const fs::path& p = impl_->path;
    if (p.native().size() >= sizeof(sockaddr_un::sun_path)) {
        throw std::runtime_error(fmt::format("admin socket path {} is longer than the {} bytes a Unix socket allows",
                                             p.string(), sizeof(sockaddr_un::sun_path) - 1));
    }
    std::error_code fec;
    if (fs::exists(fs::symlink_status(p, fec))) {
        int fd = connect_unix(p);
        if (fd >= 0) {
            ::close(fd);
            throw std::runtime_error(fmt::format("another process answers on {} (another happy-server on this data "
                                                 "directory?)",
                                                 p.string()));
        }
        fs::remove(p, fec);  // left by a server that did not stop cleanly
    }
    boost::system::error_code ec;
    impl_->acceptor.open(local(), ec);
    if (!ec) {
        // Owner-only from the moment it exists: the umask decides the mode bind() gives the file.
        mode_t old = ::umask(0177);
        impl_->acceptor.bind(local::endpoint(p.string()), ec);
        ::umask(old);
    }
    if (!ec) {
        ::chmod(p.c_str(), 0600);
        impl_->acceptor.listen(16, ec);
    }
    if (ec) {
        boost::system::error_code ignored;
        impl_->acceptor.close(ignored);
        throw std::runtime_error(fmt::format("cannot listen on {}: {}", p.string(), ec.message()));
    }
    impl_->listening = true;
    asio::co_spawn(impl_->ioc, impl_->accept_loop(), asio::detached);
}

void admin_server::stop() {
    if (!impl_ || !impl_->listening) {
        return;
    }
    impl_->listening = false;
    boost::system::error_code ignored;
    impl_->acceptor.close(ignored);
    std::error_code fec;
    fs::remove(impl_->path, fec);
}

std::optional<json::object> admin_call(const fs::path& path, const json::object& request,
                                       std::chrono::milliseconds timeout) {
    int fd = connect_unix(path);
    if (fd < 0) {
        if (errno == ENOENT || errno == ECONNREFUSED || errno == ENOTSOCK) {
            return std::nullopt;
        }
        throw std::runtime_error(fmt::format("cannot connect to {}: {}", path.string(), std::strerror(errno)));
    }
    struct closer {
        int fd;
        ~closer() { ::close(fd); }
    } guard{fd};
    std::string out = json::serialize(request);
    out.push_back('\n');
    for (std::size_t off = 0; off < out.size();) {
        ssize_t n = ::send(fd, out.data() + off, out.size() - off, MSG_NOSIGNAL);
        if (n <= 0) {
            throw std::runtime_error(fmt::format("cannot send to {}: {}", path.string(), std::strerror(errno)));
        }
        off += static_cast<std::size_t>(n);
    }
    auto deadline = std::chrono::steady_clock::now() + timeout;
    std::string in;
    char buf[4096];
    while (in.find('\n') == std::string::npos) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) {
            throw std::runtime_error(fmt::format("no answer on {} within {} ms", path.string(), timeout.count()));
        }
        pollfd pfd{fd, POLLIN, 0};
        int pr = ::poll(&pfd, 1, static_cast<int>(std::min<std::int64_t>(left.count(), 1 << 30)));
        if (pr < 0 && errno == EINTR) {
            continue;
        }
        if (pr <= 0) {
            continue;  // the deadline check above ends it
        }
        ssize_t n = ::recv(fd, buf, sizeof buf, 0);
        if (n <= 0) {
            break;
        }
        in.append(buf, static_cast<std::size_t>(n));
        if (in.size() > max_answer) {
            throw std::runtime_error("answer too large");
        }
    }
    boost::system::error_code ec;
    json::value v = json::parse(in, ec);
    if (ec || !v.is_object()) {
        throw std::runtime_error(fmt::format("malformed answer on {}", path.string()));
    }
    return std::move(v.as_object());
}

}  // namespace happy::ops
