/// @file
/// Socket.IO v5 server over core/engineio: namespaces with a connect middleware, events with acks in both
/// directions, binary attachments, rooms (ordered by join time) and broadcasts serialized once.
#pragma once
#include <boost/asio/awaitable.hpp>
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "core/engineio/server.hpp"
#include "core/socketio/codec.hpp"

namespace happy::socketio {

class server;

enum class ack_status { ok, timeout, disconnected };
struct ack_result {
    ack_status status = ack_status::timeout;
    boost::json::array args;
    std::vector<std::string> attachments;  ///< of a BINARY_ACK: what args' placeholders refer to
};

/// The acknowledgement callback handed to an event handler; the first call sends the ACK, later ones are ignored.
using ack_fn = std::function<void(boost::json::array args, std::vector<std::string> attachments)>;

class socket : public std::enable_shared_from_this<socket> {
public:
    socket(server& srv, std::shared_ptr<engineio::socket> conn, std::string nsp, std::string id,
           boost::json::object auth, const engineio::open_info& info);

    const std::string& id() const { return id_; }
    const std::string& nsp() const { return nsp_; }
    const boost::json::object& auth() const { return auth_; }
    const engineio::open_info& handshake() const { return info_; }
    engineio::socket::strand_type& strand() { return conn_->strand(); }
    bool connected() const { return connected_.load(); }

    /// Emits an event (thread-safe). Binary attachments replace {"_placeholder":true,"num":i} in args.
    void emit(std::string_view event, boost::json::array args, std::vector<std::string> attachments = {});
    /// Sends a pre-encoded frame (broadcasts encode once and share).
    void send_frame(const engineio::frame& f) { conn_->send(f); }
    /// Emits with an ack id and waits for the client's ACK, the timeout, or the socket's disconnect.
    /// The awaiting coroutine must run on a strand (or a single-threaded executor). With attachments, the event
    /// goes out as a BINARY_EVENT whose args carry their placeholders.
    boost::asio::awaitable<ack_result> emit_with_ack(std::string_view event, boost::json::array args,
                                                     std::chrono::milliseconds timeout,
                                                     std::vector<std::string> attachments = {});
    void join(const std::string& room);
    void leave(const std::string& room);
    /// Server-side disconnect of this namespace socket (sends DISCONNECT). With `close_connection`, the underlying
    /// Engine.IO connection is closed as well once the packet is out (socket.io's `socket.disconnect(true)`).
    void disconnect(bool close_connection = false);

    /// Application state attached by the namespace owner (e.g. the Happy connection context).
    std::shared_ptr<void> data;

private:
    friend class server;
    struct pending_ack;
    server& server_;
    std::shared_ptr<engineio::socket> conn_;
    std::string nsp_;
    std::string id_;
    boost::json::object auth_;
    engineio::open_info info_;
    std::atomic<bool> connected_{false};
    std::mutex ack_mutex_;
    std::uint64_t next_ack_id_ = 0;
    std::unordered_map<std::uint64_t, std::shared_ptr<pending_ack>> acks_;
};

struct namespace_handlers {
    /// Runs before CONNECT is acknowledged; a returned message rejects with CONNECT_ERROR {"message": …}.
    std::function<boost::asio::awaitable<std::optional<std::string>>(const std::shared_ptr<socket>&)> middleware;
    /// Right before the CONNECT reply is queued, so that rooms joined here are in place when the client sees
    /// CONNECT. Must not emit to the connecting socket synchronously (that would precede CONNECT); post it.
    std::function<void(const std::shared_ptr<socket>&)> on_connect;
    /// Every EVENT/BINARY_EVENT; `ack` is empty when the client asked for none. Runs on the connection strand.
    std::function<void(const std::shared_ptr<socket>&, std::string event, boost::json::array args,
                       std::vector<std::string> attachments, ack_fn ack)>
        on_event;
    /// Once, after the socket left all rooms.
    std::function<void(const std::shared_ptr<socket>&, std::string_view reason)> on_disconnect;
};

struct options {
    std::chrono::milliseconds connect_timeout{20000};
};

class server final : public engineio::handler {
public:
    explicit server(options opts = {});
    ~server() override;

    void add_namespace(std::string name, namespace_handlers h);

    /// Encodes an event once and sends it to every connected socket of `nsp` in any of `rooms` (each at most once),
    /// except the socket ids in `except`. Thread-safe.
    void broadcast(std::string_view nsp, const std::vector<std::string>& rooms,
                   const std::unordered_set<std::string>& except, std::string_view event,
                   const boost::json::array& args);
    /// Sends an already encoded frame to the members of `rooms`.
    void broadcast_frame(std::string_view nsp, const std::vector<std::string>& rooms,
                         const std::unordered_set<std::string>& except, const engineio::frame& f);
    /// Members of a room in join order.
    std::vector<std::shared_ptr<socket>> room_members(std::string_view nsp, const std::string& room) const;
    bool in_room(std::string_view nsp, const std::string& room, const std::string& socket_id) const;
    std::size_t socket_count() const;

    /// Encodes `42[<event>, …args]` for namespace `nsp` as a shareable frame.
    static engineio::frame encode_event(std::string_view nsp, std::string_view event, const boost::json::array& args);

    // engineio::handler
    void on_open(const std::shared_ptr<engineio::socket>& s, const engineio::open_info& info) override;
    void on_message(const std::shared_ptr<engineio::socket>& s, std::string data, bool binary) override;
    void on_close(const std::shared_ptr<engineio::socket>& s, std::string_view reason) override;

private:
    friend class socket;
    struct client;
    struct room_key_hash;
    void join(socket& s, const std::string& room);
    void leave(socket& s, const std::string& room);
    void leave_all(socket& s);
    void dispatch(const std::shared_ptr<engineio::socket>& conn, client& c, packet p,
                  std::vector<std::string> attachments);
    boost::asio::awaitable<void> run_connect(const namespace_handlers* h, std::shared_ptr<socket> s,
                                             std::shared_ptr<client> c, std::shared_ptr<engineio::socket> conn);
    void remove_socket(client& c, const std::shared_ptr<socket>& s, std::string_view reason, bool notify_client);

    options opts_;
    std::map<std::string, namespace_handlers, std::less<>> namespaces_;
    mutable std::mutex rooms_mutex_;
    // room key (nsp + '\n' + room) → members in join order
    std::unordered_map<std::string, std::vector<std::shared_ptr<socket>>> rooms_;
    std::unordered_map<const socket*, std::unordered_set<std::string>> memberships_;
    std::atomic<std::size_t> sockets_{0};
};

}  // namespace happy::socketio
