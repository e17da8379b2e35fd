/// @file
/// The local admin channel: a Unix-domain socket in the data directory (`<data_dir>/admin.sock`, mode 0600) on
/// which the running server answers one-line JSON requests from `happy-server backup`, `doctor` and `restore`.
///
/// Why a socket file rather than an HTTP endpoint: nothing is exposed on the network (the API port is often
/// public), and the filesystem does the authentication — only the user the server runs as (or root) can open a
/// 0600 socket in its data directory, which is exactly who may read the database anyway; the server checks the
/// peer's uid (SO_PEERCRED) as well. No token to provision, rotate or leak.
///
/// Wire: the client sends one JSON object and a newline (`{"op":"backup",...}`); the server answers one JSON object
/// and a newline (`{"ok":true,...}` or `{"ok":false,"error":"..."}`) and closes.
#pragma once
#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/json/object.hpp>
#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>

namespace happy::ops {

/// `<data_dir>/admin.sock`.
std::filesystem::path admin_socket_path(const std::filesystem::path& data_dir);

using admin_handler = std::function<boost::asio::awaitable<boost::json::object>(const boost::json::object& request)>;

class admin_server {
public:
    admin_server(boost::asio::io_context& ioc, std::filesystem::path path);
    ~admin_server();
    admin_server(const admin_server&) = delete;
    admin_server& operator=(const admin_server&) = delete;

    /// Registers the handler of `op` (before start()).
    void add(std::string op, admin_handler h);
    /// Binds the socket (replacing a stale file left by a server that died; refusing when another process answers
    /// on it), makes it owner-only and starts accepting. Throws std::runtime_error.
    void start();
    /// Stops accepting and removes the socket file. Idempotent.
    void stop();

private:
    struct impl;
    std::shared_ptr<impl> impl_;
};

/// Sends `request` to the server listening on `path` and waits up to `timeout` for its answer. nullopt when no
/// server listens there (no socket file, connection refused); throws std::runtime_error on a timeout or a
/// malformed answer.
std::optional<boost::json::object> admin_call(const std::filesystem::path& path, const boost::json::object& request,
                                              std::chrono::milliseconds timeout);

}  // namespace happy::ops
